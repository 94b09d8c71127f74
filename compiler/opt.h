/* opt.h — the optimizers: labeled_fewshot, knn_fewshot, bootstrap_fewshot,
 * random_search, mipro (MIPROv2), copro and better_together (prompts,
 * then fine-tuning, then prompts again).
 *
 * The search logic (which demos, which instructions, which trial next) is
 * kept apart from running the program: it talks to an opt_backend, a small
 * table of functions that evaluate a candidate program on the valset, run
 * the teacher on training rows, build labelled demos and ask the teacher for
 * instructions. opt_exec.c implements the backend with the interpreter
 * (exec.h, so every call goes through dsp_predict_ex exactly as the
 * generated code will); the unit tests plug in a fake one.
 *
 * Everything an optimizer allocates (demos, instructions, trial labels) lives
 * in the arena it is given and is freed with it.
 *
 * Determinism: every random choice comes from rng streams derived from the
 * optimize block's seed, and every backend call is keyed by what it asks
 * (config, rows, round), so a warm cache replays a run exactly.
 *
 * The trainset is only used for demos and proposals. The headline scores
 * (baseline_score, optimized_score, final_score) are means over the WHOLE
 * valset, what `dspcc eval --data VALSET --state STATE` prints: an
 * optimizer that searches on a sample (mipro's auto presets) scores the
 * unoptimized program and its best candidates on the whole valset at the
 * end and chooses by that. opt_optimize then ships the optimizer's program
 * only if it beats the unoptimized one (see opt_guard).
 */
#ifndef DSPCC_OPT_H
#define DSPCC_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "dsp/error.h"
#include "ir.h"
#include "state.h"

/* A demo of one predictor: the texts the chat adapter writes in each
 * `[[ ## field ## ]]` block. A NULL entry leaves the field out. */
typedef struct opt_demo {
    const char *const *inputs;   /* one per signature input */
    size_t n_inputs;
    const char *const *outputs;  /* one per predictor output (reasoning first for CoT) */
    size_t n_outputs;
    size_t row;                  /* the training row it came from */
    int bootstrapped;            /* 1: a teacher trace; 0: the row's labels */
} opt_demo;

typedef struct opt_demos {
    const opt_demo *items;
    size_t n;
} opt_demos;

/* knn_fewshot's per-predictor pool: the k nearest of its examples become
 * each call's demos (dsp/knn.h). */
typedef struct opt_knn {
    size_t k;                        /* 0: no knn (the predictor's demos apply) */
    opt_demos pool;                  /* labelled demos of training rows */
    const float *vectors;            /* pool.n rows of dim floats, unit length */
    size_t dim;
} opt_knn;

/* ensemble's members: programs voting at predictor `pred` on its output
 * `field` (dsp/ensemble.h); each member's instructions and demos of that
 * predictor, the other predictors running as the program's own. */
typedef struct opt_ensemble {
    size_t pred;
    size_t field;
    const struct opt_program *members;
    size_t n;
    size_t size;                     /* members each call runs, drawn per input (dsp/ensemble.h); 0: all */
    uint64_t seed;
} opt_ensemble;

/* A candidate program: per predictor (in program order) its instructions
 * and its demos. Demos always override the predictor's own (zero demos is
 * zero-shot). */
typedef struct opt_program {
    const char *const *instructions; /* n_preds; NULL entry: the signature's */
    const opt_demos *demos;          /* n_preds */
    const char *model;               /* NULL: the lm's model; else a fine-tuned model (the
                                        provider's name, e.g. "ft:gpt-4o-mini:dspcc:7") that
                                        every predictor runs on in place of the lm's */
    const opt_knn *knn;              /* n_preds, or NULL: none; a predictor with k > 0
                                        chooses its demos per input in place of demos */
    const opt_ensemble *ensemble;    /* NULL: none; else the members that vote at its predictor */
} opt_program;

/* One predictor call of a teacher run. */
typedef struct opt_step {
    size_t pred;
    opt_demo demo;
} opt_step;

/* The outcome of running the teacher on one training row. */
typedef struct opt_run {
    int ok;                      /* the run and the scoring succeeded */
    double score;
    const opt_step *steps;
    size_t n_steps;
    const char *feedback;        /* run_feedback only: the metric's text, or a caption with the score */
    const char *const *pred_feedback; /* run_feedback only: n_preds texts (NULL: none), the metric's
                                    feedback aimed at each predictor; NULL when it aims none */
} opt_run;

/* What fine-tuning asks for (better_together's weight step). */
typedef struct opt_finetune_args {
    int n_epochs;                /* <= 0: the provider's default */
    uint64_t seed;
    size_t n_examples;           /* lines of the JSONL */
    double max_wait_s;           /* give up waiting for the job after this; <= 0: a day */
} opt_finetune_args;

/* What a fine-tuning run gave. */
typedef struct opt_finetune_outcome {
    const char *model;           /* the fine-tuned model, as the provider names it */
    const char *job_id;
    int resumed;                 /* 1: the job (or its model) came from an earlier run */
    /* A local LoRA adapter (a trainer on the lm; NULL: a provider's job).
     * model is then adapter_name, the name the server serves it by. */
    const char *adapter_name;    /* "dspcc-" and the first 16 hex digits of its SHA-256 */
    const char *adapter_path;    /* relative to the .dsp's directory */
    const char *adapter_abs;     /* absolute, for a server loading it */
    const char *adapter_sha256;
} opt_finetune_outcome;

/* What the teacher is asked when proposing an instruction for a predictor
 * (the fields of the proposal signature, see opt_propose.c). */
typedef struct opt_proposal {
    size_t pred;
    const char *dataset_description;
    const char *program_description;
    const char *basic_instruction;
    const char *task_demos;      /* lines `input -> label` */
    const char *tip;
    uint64_t rollout;            /* distinct per candidate so replies differ */
} opt_proposal;

/* What COPRO asks the teacher for one instruction candidate (opt_copro.c):
 * the signature's instruction, labelled training rows and, after the first
 * round, the best attempts so far with their valset scores. */
typedef struct opt_copro_proposal {
    size_t pred;
    const char *basic_instruction;
    const char *task_demos;      /* lines `input -> label` */
    const char *attempts;        /* NULL in round 1; else `Instruction #i:` / `Resulting Score #i:` lines, best last */
    double temperature;          /* sampling temperature of the proposal */
    uint64_t rollout;            /* distinct per candidate so replies differ */
} opt_copro_proposal;

/* What scoring a program on rows gave (backend evaluate). */
/* LM usage since the previous scoring ended, this scoring included: what
 * one trial cost (its proposals, bootstrapping and evaluation). Calls the
 * cache answered count with what they used when first made, so tokens and
 * cost are the same on a warm re-run; seconds is wall time and is not. */
typedef struct opt_usage {
    int known;                   /* 0: the backend does not meter */
    long long lm_calls, prompt_tokens, completion_tokens;
    double cost_usd;             /* at the lms' prices; see priced */
    int priced;                  /* every call that reached an LM had a price */
    double seconds;
} opt_usage;

typedef struct opt_score {
    double mean;                 /* failed examples score 0 */
    size_t n;                    /* examples scored */
    size_t n_failed;             /* of which failed: the LM call, parsing or the metric */
    opt_usage usage;             /* filled by backends that meter (opt_exec.c) */
    /* The tokens of this scoring alone, replies from the cache included
     * (usage also holds what came before it: proposals, bootstrapping). */
    double eval_prompt_tokens, eval_completion_tokens;
} opt_score;
/* What GEPA asks the reflection LM (the teacher) for one predictor: an
 * improved instruction, given the current one and the predictor's calls on
 * a minibatch with each run's score and feedback (opt_gepa.c). */
/* The most predictor calls a reflection prompt shows (opt_exec_gepa.c),
 * and the reflection minibatch of gepa's presets (opt.c). */
enum { OPT_REFLECTION_SHOWN = 16 };

typedef struct opt_reflection {
    size_t pred;
    const char *current_instruction;
    const opt_run *runs;         /* the minibatch's runs; their steps of `pred` are shown */
    size_t n_runs;
    uint64_t rollout;            /* distinct per proposal so replies differ */
} opt_reflection;

/* What GEPA's merge asks the reflection LM for a predictor that both
 * merged candidates changed: one instruction that keeps what each says. */
typedef struct opt_combination {
    size_t pred;
    const char *instruction_a;   /* the better parent's */
    const char *instruction_b;
    uint64_t rollout;            /* distinct per merge */
} opt_combination;

typedef struct opt_backend {
    void *ctx;
    size_t n_preds;
    const char *const *pred_names;       /* n_preds, stable "Module.var" */
    const char *const *base_instructions;/* n_preds: the signatures' instructions (never NULL) */
    /* n_preds flags (NULL: none): a predictor called several times in one
     * run whose last call's demo holds the whole run: a react step, whose
     * `trajectory` input holds every step before and whose outputs are the
     * final choice. Bootstrapping takes only that call: a demo is a whole
     * successful trajectory, not a partial one. */
    const unsigned char *whole_run_demo;
    const char *program_description;     /* the module's structure, for proposals (no " -> ": that marks demos) */
    const char *dataset_description;     /* a summary of the trainset, for proposals */
    size_t n_train, n_val;
    const char *valset_name;             /* for messages ("dev"); NULL: "valset" */
    /* How many independent tasks of a phase (demo sets, instruction
     * proposals) opt_parallel may run at once; <= 1: one at a time. A
     * backend that sets it more takes run_train, labeled_demo and propose
     * calls from several jobs of an event loop at once, interleaved
     * wherever one waits for the LM (each with an arena of its own). */
    int max_parallel;
    /* Scores prog over valset rows (failures score 0 and are counted). */
    dsp_status (*evaluate)(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                           dsp_error *err);
    /* Scores progs[k] over the same rows at once, outs[k] as k calls of
     * evaluate one after another would fill them, usage included: each
     * evaluation's calls are counted apart (dsp_usage_group), and what was
     * spent since the last scoring counts with the first. The status of
     * the failed evaluation with the lowest index. NULL: call evaluate k
     * times (a wrapping backend that overrides evaluate sets it NULL). */
    dsp_status (*evaluate_many)(void *ctx, const opt_program *progs, size_t k, const size_t *rows, size_t n,
                                opt_score *outs, dsp_error *err);
    /* Runs prog (the teacher) on training rows; round 0 is the plain call,
     * later rounds sample at temperature 1 with a distinct rollout. Fills
     * runs[n] (allocated in a). */
    dsp_status (*run_train)(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                            unsigned round, opt_run *runs, dsp_error *err);
    /* The demo a training row's own values make for a predictor; *ok is 0
     * when the row lacks the predictor's inputs or every output. */
    dsp_status (*labeled_demo)(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok,
                               dsp_error *err);
    /* One instruction proposal (allocated in a). */
    dsp_status (*propose)(void *ctx, arena *a, const opt_proposal *req, const char **instruction, dsp_error *err);
    /* One COPRO proposal (allocated in a); NULL: copro is unavailable. */
    dsp_status (*propose_copro)(void *ctx, arena *a, const opt_copro_proposal *req, const char **instruction,
                                dsp_error *err);
    /* GEPA only (NULL: gepa is unavailable). evaluate, and each valset
     * row's score of prog (failures score 0) in scores[n]. */
    dsp_status (*evaluate_each)(void *ctx, const opt_program *prog, const size_t *rows, size_t n, double *scores,
                                opt_score *out, dsp_error *err);
    /* Runs prog as it is (not the teacher) on training rows with traces
     * and the metric's feedback; fills runs[n] (allocated in a). */
    dsp_status (*run_feedback)(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                               opt_run *runs, dsp_error *err);
    /* SIMBA only: runs prog as it is on training rows with traces and
     * feedback, sampling at `temperature` (< 0: the lm's own) with the
     * rollout id (0: none); fills runs[n] (allocated in a). */
    dsp_status (*run_sampled)(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                              double temperature, uint64_t rollout, opt_run *runs, dsp_error *err);
    /* One reflective instruction proposal (allocated in a). */
    dsp_status (*reflect)(void *ctx, arena *a, const opt_reflection *req, const char **instruction,
                          dsp_error *err);
    /* GEPA's merge: one instruction combining two (allocated in a); NULL:
     * a predictor both sides changed is taken from the better side. */
    dsp_status (*combine)(void *ctx, arena *a, const opt_combination *req, const char **instruction,
                          dsp_error *err);
    /* ensemble only: the predictor that votes and the output it votes on
     * (the module's last predictor call and its last output). */
    size_t vote_pred, vote_field;
    /* ensemble(states: ...) only (NULL: unavailable): the program of the
     * saved state at path (relative to the .dsp's directory): each
     * predictor's instructions and demos (allocated in a). */
    dsp_status (*state_program)(void *ctx, arena *a, const char *path, opt_program *out, dsp_error *err);
    /* knn_fewshot only (NULL: unavailable). The embedder's vectors of
     * demos[0..n) of predictor pred (their inputs as dsp_knn_text writes
     * them), unit length, n rows of *dim floats (allocated in a). */
    dsp_status (*embed_demos)(void *ctx, arena *a, size_t pred, const opt_demo *demos, size_t n, float **vectors,
                              size_t *dim, dsp_error *err);
    /* Progress: a short message per phase or trial; may be NULL. */
    void (*progress)(void *ctx, const char *msg);
    /* better_together only (NULL for the other optimizers). One predictor
     * call of a teacher trace as a fine-tuning example: a JSONL line
     * {"messages":[system, user, assistant]} rendered exactly as the chat
     * adapter renders the call with prog's instructions and no demos, the
     * assistant turn being the outputs that parsed (allocated in a). */
    dsp_status (*finetune_example)(void *ctx, arena *a, const opt_program *prog, const opt_step *step,
                                   const char **line, dsp_error *err);
    /* Fine-tunes the program lm's base model on jsonl (len bytes) and waits
     * for the model. The same data and arguments never start a second job:
     * an interrupted run, started again, waits for the job it started. */
    dsp_status (*finetune)(void *ctx, arena *a, const char *jsonl, size_t len, const opt_finetune_args *args,
                           opt_finetune_outcome *out, dsp_error *err);
} opt_backend;

/* One task of a phase: its work allocated in a (an arena of its own). */
typedef dsp_status (*opt_task_fn)(void *ctx, size_t i, arena *a, dsp_error *err);

/* Runs fn(ctx, i, ...) for every i in [0, n): up to b->max_parallel at once
 * as jobs of the calling thread's event loop, else one after another. Each task gets an arena of
 * its own, adopted into a (in index order) when all are done, and an error
 * of its own; the result is the status (and err the error) of the failed
 * task with the lowest index, so it does not depend on which finished
 * first. */
dsp_status opt_parallel(const opt_backend *b, arena *a, size_t n, opt_task_fn fn, void *ctx, dsp_error *err);

/* Scores progs[k] on the same rows: at once through b->evaluate_many when
 * the backend has it (each evaluation's usage counted apart), else one
 * after another; outs[k] are the same either way, and the status (and
 * err) is that of the failed evaluation with the lowest index. The final
 * phases of the optimizers (random_search's and ensemble's candidates,
 * simba's finalists, mipro's and gepa's whole-valset rescoring) go
 * through it. */
dsp_status opt_evaluate_all(const opt_backend *b, const opt_program *progs, size_t k, const size_t *rows, size_t n,
                            opt_score *outs, dsp_error *err);

/* The optimizer's arguments, defaults filled in (opt_params_from_ir). */
typedef struct opt_params {
    const char *optimizer;       /* labeled_fewshot, bootstrap_fewshot, random_search, mipro, copro,
                                    better_together */
    uint64_t seed;
    int k;                       /* labeled_fewshot */
    int max_bootstrapped_demos;  /* 4 */
    int max_labeled_demos;       /* 16 */
    int max_rounds;              /* 1 */
    int has_threshold;
    double metric_threshold;
    int num_candidates;          /* random_search: 16; mipro: from the preset */
    int num_trials;              /* mipro: 0 = from the preset */
    int minibatch;               /* mipro: 1 */
    int minibatch_size;          /* 35 */
    int full_eval_steps;         /* 5 */
    const char *preset;          /* mipro auto: light, medium, heavy */
    size_t valset_cap;           /* mipro: the preset's valset size; 0 = all */
    int breadth;                 /* copro: candidates per predictor and round (10) */
    int depth;                   /* copro: rounds (3) */
    double init_temperature;     /* copro: temperature of the proposals (1.4) */
    const char *strategy;        /* better_together: "p -> w -> p" (p: prompts, w: weights) */
    const char *prompt_optimizer;/* better_together's p: random_search (default), bootstrap_fewshot, mipro */
    int n_epochs;                /* better_together's w: 0 = the provider's default */
    double ft_wait_minutes;      /* better_together's w: how long to wait for the job; 0 = a day */
    int allow_regression;        /* ship the optimizer's program even when it does not beat the
                                    unoptimized one (optimize --allow-regression) */
    int max_metric_calls;        /* gepa: the budget of program runs scored; 0 = from the preset */
    int reflection_minibatch_size; /* gepa: training rows per reflection (3) */
    const char *candidate_selection; /* gepa: pareto (default) or current_best */
    int use_merge;               /* gepa: 1 (default): also merge candidates of different frontier branches */
    int max_merge_invocations;   /* gepa: 5 */
    int bsize;                   /* simba: training rows per minibatch (32) */
    int max_steps;               /* simba: steps (8) */
    int max_demos;               /* simba: demos per predictor at most (4) */
    double temperature_for_sampling; /* simba: softmax temperature of the pool draws (0.2) */
    int dimensions;              /* knn_fewshot: vector length asked of the embedder; 0: the model's */
    int knn_bootstrap;           /* knn_fewshot: 1 (default): the pool's rows are the teacher's passing traces */
    int members;                 /* ensemble: programs kept (3, or size when larger) */
    int size;                    /* ensemble: members each call runs, drawn per input (0: all) */
    const char *field;           /* ensemble: the output voted on (NULL: the module's last predictor's last) */
    const char *const *states;   /* ensemble: saved states as the members (n_states), no search; NULL: none */
    size_t n_states;
} opt_params;

/* Reads an optimize block's optimizer name, arguments and seed. Unknown
 * optimizers are an error naming the ones supported. */
dsp_status opt_params_from_ir(const ir_optimize *o, opt_params *out, dsp_error *err);

typedef struct opt_trial {
    int trial;
    double score;
    int full_eval;               /* every row the search scores on (the valset or its sample), not a minibatch */
    const char *config;          /* e.g. "instr 2, demos 1" */
    size_t n_examples;           /* examples scored */
    size_t n_failed;             /* of which failed */
    opt_usage usage;             /* what the trial cost (opt_score.usage) */
} opt_trial;

/* A stage of better_together and the valset score of its program. */
typedef struct opt_stage {
    const char *label;           /* e.g. "p (random_search) on the base model" */
    double score;
    /* better_together: the candidate runs on the fine-tuned model (the
     * student), and what its valset evaluation cost (opt_cost.h). */
    int on_finetuned;
    size_t n;
    double prompt_tokens, completion_tokens;
    int kept;                    /* the one shipped, when not simply the best score (gepa's sampled search) */
} opt_stage;

/* What opt_optimize shipped (opt_guard). */
typedef enum opt_shipped {
    OPT_SHIPPED_OPTIMIZED,       /* the optimizer's program: it beat the unoptimized one */
    OPT_SHIPPED_UNOPTIMIZED,     /* the unoptimized program: the optimizer's did not beat it */
    OPT_SHIPPED_REGRESSION,      /* the optimizer's program, not better, shipped on request (allow_regression) */
} opt_shipped;

typedef struct opt_result {
    opt_program best;            /* what ships */
    double baseline_score;       /* the unoptimized (zero-shot) program on the whole valset */
    double final_score;          /* best, on the whole valset */
    opt_program optimized;       /* the optimizer's answer (best, unless the guard kept the unoptimized) */
    double optimized_score;      /* and its score on the whole valset */
    opt_shipped shipped;
    const char *shipped_reason;  /* one line when shipped != OPT_SHIPPED_OPTIMIZED, else NULL */
    size_t n_val;                /* examples behind the three scores above: the whole valset */
    size_t n_search;             /* examples the search chose on: n_val, or a sample (mipro's presets) */
    size_t n_rescored;           /* sampled search: candidates scored again on the whole valset */
    opt_trial *trials;
    size_t n_trials;
    size_t n_failed;             /* failed examples over all trials */
    size_t n_failed_trials;      /* trials with at least one failed example */
    const char **notes;          /* lines for the summary and the report (skipped candidates, ...) */
    size_t n_notes;
    size_t n_instruction_candidates; /* mipro, copro: per predictor */
    /* mipro, copro: every instruction candidate of each predictor, in the
     * order proposed (the labels trials use: mipro's "instr i" is
     * candidates[p][i]); a NULL text is the signature's own. NULL: none. */
    const char *const *const *candidates;
    const size_t *n_candidates;  /* per predictor */
    size_t n_demo_candidates;
    /* better_together: the candidates in the order scored (the first is
     * the zero-shot baseline), and the fine-tuning it did; copro: the
     * baseline, then each round's best. The summary prints them. */
    opt_stage *stages;
    size_t n_stages;
    size_t n_finetune_examples;
    opt_finetune_outcome finetune; /* model NULL: no fine-tuning ran */
} opt_result;

/* Runs the optimizer p->optimizer (opt_search), then opt_guard. */
dsp_status opt_optimize(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);

/* Runs the optimizer p->optimizer alone: out->best is its answer, scored
 * on the whole valset, baseline_score the unoptimized program's. */
dsp_status opt_search(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);

/* No silent regression: unless out->final_score beats out->baseline_score
 * (both on the whole valset), the unoptimized program replaces out->best
 * (p->allow_regression: it does not, and the result says so). Sets
 * optimized, optimized_score, shipped and shipped_reason. */
void opt_guard(const opt_params *p, const opt_backend *b, arena *a, opt_result *out);

/* Whether two programs send the same prompts (instructions, demo texts,
 * model): a candidate identical to one already scored need not be scored. */
int opt_program_same(const opt_backend *b, const opt_program *x, const opt_program *y);

/* Scores at once (opt_evaluate_all) the candidates that are not the same
 * program as an earlier one, after a progress line saying how many:
 * scored[i] is the i-th of them and scores[i] its score, *n_scored their
 * count (both arrays hold n). same[c] is the earlier candidate c repeats,
 * or c; with say_same, each repeat is a progress line first. */
dsp_status opt_evaluate_distinct(const opt_backend *b, arena *a, const opt_program *cands, size_t n,
                                 const size_t *rows, size_t n_rows, int say_same, size_t *same, size_t *scored,
                                 opt_score *scores, size_t *n_scored, dsp_error *err);

/* ---- building blocks (shared by the optimizers, tested on their own) -- */

/* A program with every predictor zero-shot and the signatures' instructions. */
opt_program opt_program_zero_shot(const opt_backend *b, arena *a);
/* The program as written, scored on val[0..n_val): out->baseline_score and
 * the trial "zero-shot". */
dsp_status opt_score_baseline(const opt_backend *b, arena *a, const size_t *val, size_t n_val, opt_result *out,
                              dsp_error *err);
/* out->best scored on val[0..n_val): out->final_score and a trial labelled
 * label; one demo candidate. */
dsp_status opt_score_final(const opt_backend *b, arena *a, const size_t *val, size_t n_val, const char *label,
                           opt_result *out, dsp_error *err);

/* Whether predictor p's demos are whole runs (opt_backend.whole_run_demo). */
int opt_whole_run_demo(const opt_backend *b, size_t p);
/* Whether run r calls step s's predictor again after step s. */
int opt_later_step(const opt_run *r, size_t s);

/* LabeledFewShot: k training rows drawn with the seed, as labelled demos
 * for every predictor (rows in `exclude`, a flag per training row or NULL,
 * are skipped). */
dsp_status opt_labeled(const opt_backend *b, arena *a, uint64_t seed, size_t k, const unsigned char *exclude,
                       opt_program *out, dsp_error *err);

/* BootstrapFewShot over training rows in `order` (all rows when NULL):
 * runs the teacher (labelled demos) and keeps up to max_bootstrapped
 * passing traces per predictor, then fills up to max_labeled with
 * labelled demos of rows that were not bootstrapped. */
typedef struct opt_bootstrap_args {
    const size_t *order;
    size_t n_order;
    int max_bootstrapped;
    int max_labeled;
    int max_rounds;
    int has_threshold;
    double threshold;
    uint64_t seed;               /* picks the labelled demos */
    uint64_t teacher_seed;       /* picks the teacher's labelled demos */
} opt_bootstrap_args;

dsp_status opt_bootstrap(const opt_backend *b, arena *a, const opt_bootstrap_args *args, opt_program *out,
                         dsp_error *err);

/* The arguments an optimize block's parameters give: its demo limits,
 * rounds, threshold, and its seed for both the demos and the teacher; no
 * order (the trainset as it is). */
opt_bootstrap_args opt_bootstrap_args_from(const opt_params *p);

/* DSPy's candidate seeds for random search and MIPRO's demo sets:
 * -3 zero-shot, -2 labelled only, -1 unshuffled bootstrap, then shuffled
 * bootstraps with seeds 0, 1, ... Fills out[n] with n candidate programs. */
dsp_status opt_demo_candidates(const opt_backend *b, arena *a, const opt_params *p, size_t n, opt_program *out,
                               dsp_error *err);

/* The label of opt_demo_candidates' candidate c: "zero-shot", "labeled
 * only", "bootstrap (unshuffled)", "bootstrap (shuffled, seed N)" (in a). */
const char *opt_candidate_label(arena *a, size_t c);

/* The valset rows in order (0..n_val-1), or a seeded sample of cap rows. */
size_t *opt_val_rows(const opt_backend *b, arena *a, uint64_t seed, size_t cap, size_t *n);

/* MIPRO presets: auto -> (candidates, valset cap); trials for n_vars and
 * n candidates: max(2 * n_vars * log2(n), 1.5 * n), DSPy's rule. */
int opt_mipro_preset(const char *name, int *num_candidates, size_t *valset_cap);
int opt_mipro_num_trials(size_t n_vars, size_t n_candidates);

/* Training rows in minibatches, epoch by epoch: each epoch a fresh
 * shuffle of all n rows from (seed, epoch, stream), so every row is used
 * once per epoch (gepa's and simba's minibatches). */
typedef struct opt_batcher {
    size_t *order;
    size_t n, pos;
    unsigned epoch;
    uint64_t seed, stream;
} opt_batcher;

void opt_batcher_init(opt_batcher *bt, arena *a, size_t n, uint64_t seed, uint64_t stream);
/* The next k rows (k may exceed n: an epoch ends inside the batch). */
void opt_batcher_next(opt_batcher *bt, size_t *rows, size_t k);

/* GEPA's budget of metric calls for a preset (DSPy's auto_budget: the
 * preset's candidates give MIPRO-like trials of a minibatch each, plus
 * periodic full valset evaluations); -1 for an unknown preset. */
long opt_gepa_budget(const char *preset, size_t n_preds, size_t n_val);

/* The tips MIPRO varies proposals with. */
extern const char *const opt_tips[];
extern const size_t opt_n_tips;

/* `input -> label` lines of demos (inputs joined with " | ", the last
 * output as the label), newlines in values folded to spaces. */
char *opt_demos_text(arena *a, const opt_demos *d, size_t max);

/* Records a trial (the array grows in the arena) and counts its failures. */
void opt_result_add_trial(opt_result *r, arena *a, const opt_score *s, int full_eval, const char *config);

/* The backend's valset name for messages: "dev", or "valset". */
const char *opt_valset_name(const opt_backend *b);

/* Adds a line to r->notes (copied into a). */
void opt_result_add_note(opt_result *r, arena *a, const char *note);

/* " (3 of 60 examples failed)" when s has failures, else "" (in a). */
const char *opt_failed_text(arena *a, const opt_score *s);

/* The individual optimizers (opt_optimize dispatches). */
dsp_status opt_labeled_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                               dsp_error *err);
dsp_status opt_knn_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);
dsp_status opt_ensemble_search(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                               dsp_error *err);
dsp_status opt_bootstrap_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                                 dsp_error *err);
dsp_status opt_random_search(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                             dsp_error *err);
dsp_status opt_mipro(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);
dsp_status opt_copro(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);
dsp_status opt_simba(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);
dsp_status opt_gepa(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err);
dsp_status opt_better_together(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                               dsp_error *err);

#endif
