/* interp_int.h — what the interpreter's files share: the runner, tool
 * calls and value conversions. Internal to compiler/interp*.c, metric*.c
 * and eval.c. */
#ifndef DSPCC_INTERP_INT_H
#define DSPCC_INTERP_INT_H

#include <ffi.h>
#include <pthread.h>

#include "exec.h"
#include "dsp/cstruct.h"
#include "dsp/react.h"
#include "dsp/sample.h"

/* Opened shared objects, shared by every thread of a runner. */
typedef struct it_library {
    char *path;
    void *handle;
} it_library;

typedef struct it_tools {
    pthread_mutex_t lock;
    it_library *libs;
    size_t n_libs;
} it_tools;

/* A judge in the metric: its runtime predictor. */
typedef struct it_judge {
    const ir_expr *expr;
    const dsp_predictor *pred;
} it_judge;

/* A react call site's runtime descriptors (interp_react.c). */
typedef struct it_react {
    const ir_react *ir;
    dsp_react rt;
} it_react;

struct ex_runner {
    arena mem;
    const ir_program *prog;
    const ir_module *module;
    dsp_client *client;
    const dsp_lm_config *lm;
    const dsp_lm_config *judge_lm;
    const ir_metric *metric;
    bool bypass_cache;
    const ir_predictor **preds;     /* every predictor of the program */
    dsp_predictor **rt_preds;
    size_t n_preds;
    const ir_lm **lms;
    dsp_lm_config **rt_lms;
    size_t n_lms;
    it_judge *judges;
    size_t n_judges;
    it_tools tools;
    it_react *reacts;               /* every react call site of the program */
    size_t n_reacts;
};

/* ---- tools (interp_tools.c) ---- */
void it_tools_init(it_tools *t);
void it_tools_free(it_tools *t);
/* Calls tool with args, one per IN parameter in C order (LEN and OUT
 * parameters are not arguments: lengths come from the lists, outputs are
 * written by the tool). The results go to outs[0..it_tool_n_results)
 * (zeroed first): the outputs in tool->outputs order, or the single return
 * value of a tool without outputs. Everything the tool allocated is freed,
 * also when the call fails; on failure outs is left empty. A library or
 * symbol that cannot be loaded is an error naming both; a nonzero status,
 * a NULL output, or an integer that does not fit its C type (either way) is
 * an error naming the tool and what failed. */
dsp_status it_tool_call(const ex_runner *r, const ir_tool *tool, const dsp_value *args, dsp_value *outs,
                        dsp_error *err);
/* C structs a tool call takes or gives, laid out with libffi
 * (interp_cstruct.c) into the tables libdsprt converts by. */
#define IT_MAX_CSTRUCTS 64
typedef struct it_cstruct {
    const dsp_cstruct *cs;
    ffi_type *ft;               /* for passing or returning one by value */
} it_cstruct;
typedef struct it_cstructs {
    arena *a;                   /* holds the tables */
    const ir_cstruct *from[IT_MAX_CSTRUCTS];
    it_cstruct built[IT_MAX_CSTRUCTS];
    size_t n;
} it_cstructs;
dsp_status it_cstruct_layout(it_cstructs *x, const ir_cstruct *ic, const it_cstruct **out, dsp_error *err);

/* How many arguments it_tool_call takes, and how many results it gives. */
size_t it_tool_n_args(const ir_tool *tool);
size_t it_tool_n_results(const ir_tool *tool);

/* ---- react (interp_react.c) ---- */
/* Builds the runtime descriptors of every react call site of the program
 * (after the predictors), in r->mem. */
dsp_status it_react_build(ex_runner *r, dsp_error *err);
/* Runs the react call site with the inputs of its signature; out gets the
 * extract's outputs, then the trajectory. observe sees every LM call. */
dsp_status it_react_run(const ex_runner *r, const ir_react *ir, const dsp_react_options *o, const dsp_value *in,
                        dsp_value *out, dsp_error *err);

/* ---- best_of_n, refine, majority (interp_sample.c) ---- */
/* Runs predictor p n times per sm (dsp_sample_run) with opts, the reward
 * tool called through libffi; every sample's usage is added to usage. out
 * gets the kept sample's outputs. */
dsp_status it_sample_run(const ex_runner *r, const ir_sampling *sm, const dsp_predictor *p,
                         const dsp_predict_options *opts, ex_usage *usage, const dsp_value *in, dsp_value *out,
                         dsp_error *err);

/* ---- values (interp_values.c) ---- */
/* A deep copy of src (of type `from`) as a value of type `to`: wraps into
 * and out of optionals, maps enums by name, widens int to float. */
dsp_status it_convert(const dsp_value *src, const ir_type *from, const ir_type *to, dsp_value *dst,
                      dsp_error *err);
/* The value n fields into records from v (of type t): `path` as in
 * ir_value/ir_expr. Sets *t_out to its type; NULL if v does not have that
 * shape (sema makes sure it does). Borrowed from v. */
const dsp_value *it_value_at(const dsp_value *v, const ir_type *t, const char *const *path, size_t n,
                             const ir_type **t_out);
/* A literal IR value (STRING, INT, FLOAT, BOOL, ENUM) as a runtime value. */
dsp_status it_literal(const ir_value *v, dsp_value *out, dsp_error *err);

/* The options a call of ip runs with under cfg (instructions, demos, lm,
 * temperature, rollout) and the runner's cache setting. */
dsp_predict_options it_predict_options(const ex_runner *r, const ex_config *cfg, const ir_predictor *ip);

/* ---- usage ---- */
void it_usage_add_trace(ex_usage *u, const dsp_predict_trace *t);

const dsp_lm_config *it_lm_of(const ex_runner *r, const ir_lm *lm);
const it_judge *it_judge_of(const ex_runner *r, const ir_expr *e);

/* ---- metric (metric_eval.c) ---- */
/* Scores module outputs on row of d with the runner's metric. */
dsp_status it_metric_score(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                           double *score, ex_usage *usage, ex_item_counts *counts, dsp_error *err);
/* The same, with the feedback text a scoring C tool wrote (malloc'd, or
 * NULL) in *tool_feedback when that is not NULL, and its `feedback_NAME`
 * outputs in tool_pred[k] (k: the metric's pred_feedback entry that names
 * the output) when tool_pred is not NULL. */
dsp_status it_metric_score_feedback(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                                    double *score, char **tool_feedback, char **tool_pred, ex_usage *usage,
                                    ex_item_counts *counts, dsp_error *err);
/* A micro-averaged set metric: the gold items of row (for a failed run,
 * whose gold items all count as missed); counts->counted false otherwise. */
dsp_status it_metric_gold_count(const ex_runner *r, const ex_dataset *d, size_t row, ex_item_counts *counts,
                                dsp_error *err);
/* The metric's feedback for the same (malloc'ed), or NULL when it has none
 * or no arm applies; an arm that fails gives a text saying so. */
char *it_metric_feedback(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                         ex_usage *usage);
/* The same for the metric's pred_feedback[k]'s arms. */
char *it_metric_pred_feedback(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                              ex_usage *usage, size_t k);

#endif
