/* exec.h — running a checked program: data sets, program configurations,
 * the interpreter, metrics and evaluation.
 *
 * The contract between the interpreter (compiler/interp*.c, dataset*.c,
 * metric_eval.c, eval*.c) and its users (`dspcc eval`, the optimizers).
 * Every predictor call goes through dsp_predict_ex with the same adapter,
 * parsing and client the generated C uses, so what is measured here is what
 * ships.
 *
 * Typical use (the optimizer):
 *
 *     ex_dataset train;                      // examples typed per the module
 *     ex_dataset_load(prog, opt->module, opt->trainset, &train, &err);
 *     ex_runner *r;                          // program + client + lm + metric
 *     ex_runner_options ro = ex_runner_options_default();
 *     ro.client = client; ro.lm = opt->lm; ro.metric = opt->metric;
 *     ex_runner_new(prog, opt->module, &ro, &r, &err);
 *     ex_config cfg;                         // one entry per predictor
 *     ex_config_init(r, &cfg);
 *     ex_pred_config *pc = ex_config_find(&cfg, "TicketClassifier.r");
 *     pc->instructions = "...";  pc->override_demos = true; pc->demos = ...;
 *     ex_eval_options eo = ex_eval_options_default();
 *     eo.indices = idx; eo.n_indices = n; eo.concurrency = 8;
 *     ex_eval_result res;
 *     ex_evaluate(r, &cfg, &train, &eo, &res, &err);   // res.mean, res.results[i].score
 *     ex_eval_result_free(&res); ex_config_free(&cfg); ex_runner_free(r);
 *     ex_dataset_free(&train);
 *
 * Threads: an ex_runner and an ex_config are read-only while examples run,
 * so any number of threads may call ex_run / ex_evaluate on them at once
 * (the dsp_client is thread-safe). Building a config is single-threaded.
 *
 * Determinism: the same program, config, data and a warm cache give the
 * same outputs and scores; nothing here draws random numbers.
 */
#ifndef DSPCC_EXEC_H
#define DSPCC_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "ir.h"
#include "state.h"
#include "dsp/client.h"
#include "dsp/ensemble.h"
#include "dsp/error.h"
#include "dsp/knn.h"
#include "dsp/predict.h"
#include "dsp/signature.h"
#include "dsp/value.h"

/* ---- data sets (dataset*.c) ----------------------------------------- */

/* One example: a value per field of the module, in the order
 * module params, then module results (gold labels). A field whose column is
 * absent or null in the row has present[i] == false (and a zeroed value). */
typedef struct ex_example {
    dsp_value *values;          /* n_fields */
    bool *present;              /* n_fields */
    int line;                   /* 1-based line (JSONL) or record start line (CSV) */
} ex_example;

typedef struct ex_dataset {
    char *name;                 /* the `data` name, or the path as given */
    char *path;                 /* the file read */
    const ir_module *module;
    const ir_field *const *fields; /* n_fields: params, results, then the gold-only fields the
                                      module's metrics read (ex.answers); borrowed from the IR */
    const dsp_type *const *types;  /* n_fields: their runtime types */
    const char *const *columns; /* n_fields: the column each is read from; NULL when unmapped */
    bool csv;                   /* read as CSV (else JSONL) */
    size_t n_fields;
    size_t n_inputs;            /* = module->n_params; values[0 .. n_inputs-1] are the inputs */
    ex_example *rows;
    size_t n_rows;
    arena mem;                  /* field tables, types, names */
} ex_dataset;

/* Loads a declared data set for module m: JSONL (one JSON object a line)
 * or CSV (RFC 4180: header row, quoted fields, "" inside quotes, CRLF).
 * Values are typed per the module's fields, and per the metrics' types for
 * gold-only fields a metric of m reads; enum values must be declared.
 * A bad row is DSP_ERR_INVALID naming file:line and the column. */
dsp_status ex_dataset_load(const ir_program *p, const ir_module *m, const ir_data *d, ex_dataset *out,
                           dsp_error *err);

/* Loads a file that no `data` declaration names: the format comes from
 * the extension (.jsonl, .json, .csv) and columns map to fields of the
 * same name. */
dsp_status ex_dataset_load_path(const ir_program *p, const ir_module *m, const char *path, ex_dataset *out,
                                dsp_error *err);

/* `--data NAME|PATH|NAME=PATH`: a declared data set by name; a file read
 * with declaration NAME's column mapping (PATH as given, its format from
 * its extension, else NAME's); else a file path whose columns are named
 * like the fields. */
dsp_status ex_dataset_open(const ir_program *p, const ir_module *m, const char *name_or_path, ex_dataset *out,
                           dsp_error *err);

/* One example from a JSON object given as text (fields named like the
 * module's; gold fields may be left out), e.g. `--input '{"q": "..."}'`;
 * errors name label (e.g. "--input"). */
dsp_status ex_dataset_from_json(const ir_module *m, const char *label, const char *json, ex_dataset *out,
                                dsp_error *err);

/* Before the first LM call: every example must hold each field the metric
 * reads from `ex` (module results and gold-only fields), unless optional.
 * DSP_ERR_INVALID names the field, the first row without it and the
 * columns that row has. A NULL metric checks nothing. (The module's
 * inputs are checked as the rows load.) */
dsp_status ex_dataset_require(const ex_dataset *d, const ir_metric *metric, dsp_error *err);

void ex_dataset_free(ex_dataset *d);

/* The index of a field in the example's values, or -1. */
int ex_dataset_field(const ex_dataset *d, const char *name);

/* ---- program configuration ------------------------------------------- */

/* What the optimizer tunes for one predictor. Every pointer is borrowed:
 * it must outlive every run that uses the config (the config's own arena
 * `mem` is there for callers who want the config to own them). */
typedef struct ex_pred_config {
    const ir_predictor *predictor;
    const char *instructions;   /* NULL: the signature's */
    bool override_demos;        /* true: use demos/n_demos (possibly none) */
    const dsp_demo *demos;      /* input_texts: one per signature input; output_texts: one per predictor output */
    size_t n_demos;
    const dsp_lm_config *lm;    /* NULL: the runner's lm; see ex_runner_lm() */
    bool has_temperature;
    double temperature;
    uint64_t rollout_id;        /* 0: none; distinct ids sample distinct cached replies */
    const dsp_knn *knn;         /* knn_fewshot: demos chosen per call (override_demos false); NULL: none */
    const dsp_ensemble *ensemble; /* ensemble: members' instructions and demos, voting; NULL: none */
} ex_pred_config;

typedef struct ex_config {
    ex_pred_config *preds;      /* one per predictor of the program, in program order */
    size_t n_preds;
    arena mem;                  /* free for the config's owner to allocate in */
} ex_config;

/* ---- the runner (interp*.c) ------------------------------------------ */

typedef struct ex_runner ex_runner;

typedef struct ex_runner_options {
    dsp_client *client;         /* required, borrowed */
    const ir_lm *lm;            /* runs every predictor without an override; NULL only for a
                                   module that calls no LM (C tools only) */
    const ir_lm *judge_lm;      /* judges without their own lm; NULL: lm */
    const ir_metric *metric;    /* NULL: runs score 0 and ex_score fails */
    bool bypass_cache;          /* every call: neither read nor write the cache */
} ex_runner_options;

ex_runner_options ex_runner_options_default(void);

/* Builds the runtime descriptors of every signature, predictor and lm of
 * the program (ir_runtime.c) for running module m. Tool libraries are
 * opened lazily on first use and cached for the runner's lifetime. */
dsp_status ex_runner_new(const ir_program *p, const ir_module *m, const ex_runner_options *opts, ex_runner **out,
                         dsp_error *err);
void ex_runner_free(ex_runner *r);

dsp_client *ex_runner_client(const ex_runner *r);
/* The runtime config of a declared lm (for ex_pred_config.lm), valid for
 * the runner's lifetime; NULL when lm is not one of the program's. */
const dsp_lm_config *ex_runner_lm(const ex_runner *r, const ir_lm *lm);
/* The runtime predictor (signature, strategy, no demos) of an IR predictor. */
const dsp_predictor *ex_runner_predictor(const ex_runner *r, const ir_predictor *p);

/* A config with defaults (signature instructions, no demo override, the
 * runner's lm) for every predictor of the program. */
dsp_status ex_config_init(const ex_runner *r, ex_config *cfg, dsp_error *err);
/* Applies an optimized state (instructions, demos, lm) on top of cfg; the
 * strings are copied into cfg->mem. A predictor the program lacks, or a demo
 * whose field count does not match, is an error naming it. */
dsp_status ex_config_apply_state(const ex_runner *r, ex_config *cfg, const st_state *s, dsp_error *err);
/* A knn (dsp/knn.h) in a over pool[0..n_pool) and its vectors (borrowed:
 * they must outlive it), choosing k demos with embedder. */
const dsp_knn *ex_knn_new(arena *a, const dsp_demo *pool, size_t n_pool, const float *vectors, size_t dim, size_t k,
                          const dsp_lm_config *embedder, int dimensions);
/* An ensemble (dsp/ensemble.h) in a of n members, each running with
 * instructions[i] (NULL: the signature's) and demos[i][0..n_demos[i]),
 * voting on output field; size (0: all) members a call, drawn with seed.
 * The texts are borrowed. */
const dsp_ensemble *ex_ensemble_new(arena *a, size_t n, const char *const *instructions,
                                    const dsp_demo *const *demos, const size_t *n_demos, size_t field, size_t size,
                                    uint64_t seed);
ex_pred_config *ex_config_find(ex_config *cfg, const char *predictor_name);
const ex_pred_config *ex_config_get(const ex_config *cfg, const ir_predictor *p);
void ex_config_free(ex_config *cfg);

/* One predictor call of a run, as adapter text (dsp_value_format): exactly
 * what a dsp_demo holds, so a passing trace becomes a demo as is. */
typedef struct ex_trace_step {
    const ir_predictor *predictor;
    char **inputs;              /* one per signature input */
    size_t n_inputs;
    char **outputs;             /* one per predictor output (reasoning first for CoT) */
    size_t n_outputs;
} ex_trace_step;

typedef struct ex_trace {
    ex_trace_step *steps;
    size_t n_steps, cap;
} ex_trace;

void ex_trace_free(ex_trace *t);

/* LM usage of one run or an evaluation. */
typedef struct ex_usage {
    int64_t lm_calls;           /* predictor and judge calls made */
    int64_t cache_hits;         /* of those, answered from the cache */
    int64_t prompt_tokens, completion_tokens;
} ex_usage;

/* A micro-averaged set metric's items in one example (`set_f1(...,
 * average: micro)`): predicted, gold and matched, pooled over the data set
 * by ex_evaluate. counted: false when the metric is not one. */
typedef struct ex_item_counts {
    bool counted;
    size_t matched, predicted, gold;
} ex_item_counts;

/* The outcome of one example. */
typedef struct ex_result {
    dsp_status status;          /* DSP_OK, or why the run or the scoring failed */
    char *error;                /* malloc'ed message when status != DSP_OK */
    dsp_value *outputs;         /* the module's results (n_outputs = module->n_results); NULL on failure */
    size_t n_outputs;
    double score;               /* the metric; 0 on failure */
    char *feedback;             /* malloc'ed: the metric's feedback text; NULL when it gives none */
    char **pred_feedback;       /* malloc'ed, one per entry of the metric's pred_feedback (NULL when
                                   it has none): that entry's text, or NULL when it gives none */
    size_t n_pred_feedback;
    const ir_pred_feedback *pred_feedback_of; /* borrowed: the metric's entries */
    ex_trace trace;             /* every predictor call that succeeded, in order */
    ex_usage usage;
    double seconds;             /* wall time of running and scoring it (ex_evaluate) */
    ex_item_counts counts;      /* a micro-averaged metric's items (a failed run: its gold ones) */
} ex_result;

void ex_result_free(ex_result *res);

/* Runs module m on one example (its input values) with cfg, then scores
 * it when the runner has a metric. Always fills *out (status, error,
 * trace of what ran); returns out->status. */
dsp_status ex_run(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, size_t row, ex_result *out);

/* Scores module results against an example with the runner's metric. */
dsp_status ex_score(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                    double *score, ex_usage *usage, dsp_error *err);

/* ---- prompts (interp_prompt.c) ---------------------------------------- */

/* An input a prompt could not fill in: known only when the program runs. */
typedef struct ex_placeholder {
    const char *name;           /* the signature input */
    const ir_binding *binding;  /* where the call site takes it from (an earlier step's
                                   result); NULL: nothing binds it (a react trajectory) */
} ex_placeholder;

/* What the first call of a predictor sends: the messages of its adapter
 * (the chat adapter, or the JSON one for an lm with `adapter: json`) and
 * the request (sampling parameters, the JSON schema) for lm. */
typedef struct ex_prompt {
    dsp_messages messages;
    dsp_chat_request request;   /* messages point into `messages` */
    const dsp_lm_config *lm;    /* borrowed from the runner or the config */
    size_t n_placeholders;      /* inputs shown as `{name}` */
    ex_placeholder *placeholders; /* n_placeholders, in signature order */
    const ir_step *site;        /* the call site rendered (predict, react or
                                   multi_chain_comparison step); NULL: none found */
    char *schema;               /* the JSON adapter's reply schema (request.params.json_schema), or NULL */
} ex_prompt;

/* Renders predictor ip's first call site with cfg (instructions, demos,
 * lm), without calling the LM. Inputs bound from literals, or from the run
 * module's parameters when params (one value per module parameter) is not
 * NULL, are filled in; every other input is the placeholder `{name}`. */
dsp_status ex_prompt_render(const ex_runner *r, const ex_config *cfg, const ir_predictor *ip,
                            const dsp_value *params, ex_prompt *out, dsp_error *err);
void ex_prompt_free(ex_prompt *pr);

/* The first step in steps (depth first, in source order) that calls ip: a
 * predict step, or the react / multi_chain_comparison site ip is part of. */
const ir_step *ex_prompt_call_site(const ir_step *steps, size_t n, const ir_predictor *ip);

/* ---- evaluation (eval*.c) --------------------------------------------- */

typedef void (*ex_progress_fn)(void *ctx, size_t done, size_t total, double mean_so_far);

typedef struct ex_eval_options {
    const size_t *indices;      /* rows to run; NULL: every row */
    size_t n_indices;
    int concurrency;            /* worker threads; <= 0: 8 */
    bool keep_outputs;          /* keep each result's outputs (else freed) */
    bool keep_traces;           /* keep each result's trace (else freed) */
    ex_progress_fn progress;    /* called from the workers, serialized; may be NULL */
    void *progress_ctx;
} ex_eval_options;

ex_eval_options ex_eval_options_default(void);

typedef struct ex_eval_result {
    ex_result *results;         /* n, in the order of the indices */
    size_t *rows;               /* n: the dataset row of each result */
    size_t n;
    double mean;                /* mean score; failures count as 0. With a micro-averaged metric
                                   (`average: micro`): the metric over the pooled items */
    ex_item_counts counts;      /* those pooled items (counted false: not such a metric) */
    size_t n_failed;
    ex_usage usage;             /* summed over the results */
    double seconds;
} ex_eval_result;

/* Evaluates cfg on the rows. Failed examples score 0 and are listed;
 * only a setup problem (bad index, no threads) makes it fail. */
dsp_status ex_evaluate(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *o,
                       ex_eval_result *out, dsp_error *err);
void ex_eval_result_free(ex_eval_result *res);

/* res->mean (and res->counts) from res's results: the mean score, or with
 * a micro-averaged metric the metric over the pooled items. */
void ex_eval_score(const ir_metric *metric, ex_eval_result *res);

/* set_f1, set_precision or set_recall (fn) over pooled item counts. */
double ex_micro_score(const char *fn, const ex_item_counts *t);

/* Writes one JSON line per result of res (run with keep_outputs), in its
 * order: row, line, inputs and gold fields (those the row has), outputs
 * (null on failure), score, status, error (null on success), lm_calls,
 * cache_hits, cache_hit (every call answered from the cache),
 * prompt_tokens, completion_tokens, seconds. Written atomically; returns 0,
 * or -1 with why filled. */
int ex_write_predictions(const char *path, const ex_dataset *d, const ex_eval_result *res, char why[1024]);

/* ---- per-class scores (eval_classes.c) --------------------------------- */

/* When the metric reads a module output of (optional) enum type, the first
 * such output: per class precision, recall, F1 and support, and the
 * confusion matrix of gold label against prediction. */
typedef struct ex_class_report {
    const char *field;          /* the enum output; NULL: the metric compares none */
    const char *const *labels;  /* n_labels: the enum's values, in declaration order */
    size_t n_labels;
    size_t *confusion;          /* n_labels rows (gold) x n_labels + 1 columns
                                 * (predicted; the last: no valid prediction) */
    size_t *support;            /* per class: examples with that gold label */
    double *precision, *recall, *f1; /* per class; 0 where undefined */
    double accuracy, macro_f1;  /* macro F1 over the classes with support */
    size_t n;                   /* examples with a gold label */
    size_t n_unlabelled;        /* examples left out: no gold label */
} ex_class_report;

/* Builds the report from res (run with keep_outputs) over d. Leaves
 * out->field NULL, and succeeds, when the metric compares no enum output. */
dsp_status ex_class_report_build(const ir_metric *metric, const ex_dataset *d, const ex_eval_result *res,
                                 ex_class_report *out, dsp_error *err);
void ex_class_report_free(ex_class_report *cr);
/* A table per class and the confusion matrix, for people; nothing when the
 * report has no field. */
void ex_class_report_print(FILE *f, const ex_class_report *cr);
/* {field, n, accuracy, macro_f1, classes: [{label, precision, recall, f1,
 * support}], columns: [labels..., "(failed)"], confusion: [[...]]}, or
 * NULL when the report has no field. */
struct cJSON *ex_class_report_json(const ex_class_report *cr);

/* ---- progress on stderr (progress.c) ---------------------------------- */

typedef struct ex_progress {
    const char *label;
    bool enabled;               /* stderr is a terminal */
    double started;
    size_t last_drawn;
} ex_progress;

void ex_progress_init(ex_progress *pg, const char *label);
/* An ex_progress_fn: ctx is the ex_progress. */
void ex_progress_update(void *ctx, size_t done, size_t total, double mean_so_far);
void ex_progress_done(ex_progress *pg);

#endif
