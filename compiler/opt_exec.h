/* opt_exec.h — the optimizers' backend (opt_backend) on top of the
 * interpreter: candidate programs become ex_configs and run through
 * ex_evaluate, so every LM call is a dsp_predict_ex call with the same
 * adapter, parsing and cache the generated code uses.
 *
 * The backend sees the trainset and the valset through row maps, so
 * `--trainset-limit`, `--valset-limit` and a valset held out of the
 * trainset need no copies of the data.
 */
#ifndef DSPCC_OPT_EXEC_H
#define DSPCC_OPT_EXEC_H

#include "exec.h"
#include "opt.h"
#include "opt_finetune.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct opt_exec {
    opt_backend b;
    const ir_program *prog;
    const ir_optimize *o;
    ex_runner *runner;           /* borrowed */
    const ex_dataset *train, *val;
    const size_t *train_rows;    /* n_train rows of train */
    const size_t *val_rows;      /* n_val rows of val */
    const dsp_lm_config *teacher;
    int concurrency;
    const ir_predictor **preds;  /* b.n_preds, in the runner's order */
    arena mem;                   /* descriptions, names, the proposal predictor */
    dsp_signature propose_sig;
    dsp_predictor propose_pred;
    int bar;                     /* draw a progress bar per evaluation (only on a terminal) */
    void (*progress)(void *ctx, const char *msg);
    void *progress_ctx;
    const char *ft_data_path;    /* better_together: the fine-tuning JSONL (borrowed) */
    const char *ft_jobs_path;    /* and the sidecar of its jobs (opt_finetune_job.c) */
    const char *ft_base_url;     /* the client's base URL override, NULL: none (part of a job's key) */
    const char *ft_adapters_dir; /* a local trainer's adapters (opt_finetune_local.c) */
    int quiet;                   /* a local trainer's output is not copied to stderr */
    const ir_lm *student;        /* what the w stage fine-tunes: the block's student, else its lm */
    opt_finetune_outcome ft;     /* the w stage's result (model NULL: none yet) */
    size_t n_teacher_runs;       /* teacher runs on training rows (bootstrapping, fine-tuning data) */
    size_t n_teacher_failed;     /* of which failed */
    pthread_mutex_t lock;        /* the counts above: opt_parallel's tasks run at once */
    atomic_int splits;           /* evaluations running now; only a lone one draws its bar */
    dsp_usage_totals metered;    /* the client's totals when the last scoring ended */
    double metered_at;           /* and the time then (monotonic seconds) */
    /* optimize --batch: the teacher's runs over training rows (bootstrapping)
     * go through the provider's batch API first (eval_batch.h); NULL: not. */
    struct dsp_lm_batch *batch;
    struct dsp_client *batch_client;
    double batch_poll_s;
    double batch_max_wait_s; /* for each bootstrapping's batches; <= 0: 25 h */
} opt_exec;

/* Fills x->b. train_rows/val_rows are borrowed and must outlive x. */
dsp_status opt_exec_init(opt_exec *x, const ir_program *p, const ir_optimize *o, ex_runner *r,
                         const ex_dataset *train, const size_t *train_rows, size_t n_train, const ex_dataset *val,
                         const size_t *val_rows, size_t n_val, int concurrency, dsp_error *err);
void opt_exec_free(opt_exec *x);

/* Prints to stderr, for the optimizers that build demos (labeled_fewshot,
 * bootstrap_fewshot, knn_fewshot, random_search, mipro, better_together
 * with a prompt stage), a note naming each predictor prog (the optimizer's
 * answer) has no demos for and why (opt_exec_nodemos.c); others: none. */
void opt_exec_note_no_demos(const opt_exec *x, const opt_params *params, const opt_program *prog, arena *a);

/* The backend's propose_copro (opt_exec_copro.c); ctx is the opt_exec. */
dsp_status opt_exec_propose_copro(void *ctx, arena *a, const opt_copro_proposal *req, const char **instruction,
                                  dsp_error *err);

/* The backend's reflect (opt_exec_gepa.c); ctx is the opt_exec. */
dsp_status opt_exec_reflect(void *ctx, arena *a, const opt_reflection *req, const char **instruction, dsp_error *err);
/* The backend's combine (opt_exec_gepa.c); ctx is the opt_exec. */
dsp_status opt_exec_combine(void *ctx, arena *a, const opt_combination *req, const char **instruction,
                            dsp_error *err);

/* knn_fewshot (opt_exec_knn.c). The backend's embed_demos; ctx is the
 * opt_exec. */
dsp_status opt_exec_embed_demos(void *ctx, arena *a, size_t pred, const opt_demo *demos, size_t n, float **vectors,
                                size_t *dim, dsp_error *err);
/* The runtime knn of a candidate's pool (in a), on the block's embedder. */
const dsp_knn *opt_exec_knn(const opt_exec *x, arena *a, const opt_knn *kn);
/* The optimize block's `dimensions:` argument, 0 when not given. */
int opt_exec_knn_dimensions(const ir_optimize *o);

/* ensemble (opt_exec_knn.c): the runtime ensemble of e's members' prompts
 * of its predictor (in a). */
const dsp_ensemble *opt_exec_ensemble(arena *a, const opt_ensemble *e);
/* ensemble(states: ...): opt_backend.state_program. */
dsp_status opt_exec_state_program(void *ctx, arena *a, const char *path, opt_program *out, dsp_error *err);

/* The optimized state for a result: every predictor (sorted by name) with
 * its instructions (absent when the signature's) and demos. Strings live in
 * a; do not st_free the result. */
void opt_exec_state(const opt_exec *x, const opt_result *r, arena *a, st_state *out);

/* Per-class scores of prog on the whole valset (exec.h), when the metric
 * compares an enum output; else out->field stays NULL. The program's calls
 * were made when it was scored, so the cache answers them. */
dsp_status opt_exec_class_report(opt_exec *x, const opt_program *prog, ex_class_report *out, dsp_error *err);

/* Training rows whose module inputs repeat those of a valset row
 * (opt_overlap.c): how many opt_drop_overlap left out, and the line of the
 * first in the trainset's file. */
typedef struct opt_overlap {
    size_t n_dropped;
    int first_line;
} opt_overlap;

/* Removes from rows[*n] (rows of train) those whose inputs, as the
 * adapter writes them, equal those of one of val's rows val_rows[n_val];
 * the rest keep their order. A demo of such a row shows the valset its own
 * answer, so every valset score would be optimistic. */
dsp_status opt_drop_overlap(const ex_dataset *train, size_t *rows, size_t *n, const ex_dataset *val,
                            const size_t *val_rows, size_t n_val, opt_overlap *out, dsp_error *err);

#endif
