/* builtins.h — what the checker knows about dspcc's standard library:
 * predictor strategies, metric functions, optimizers, LM providers and
 * options. Each table lives in its own file; adding a strategy or an
 * optimizer is one row there (and its implementation in the runtime or
 * the optimizer).
 */
#ifndef DSPCC_BUILTINS_H
#define DSPCC_BUILTINS_H

#include <stddef.h>

/* ---- predictor strategies (strategies.c) ---- */
typedef struct bi_strategy {
    const char *name;
    int adds_reasoning;           /* prepends an output `reasoning: string` */
    const char *doc;
} bi_strategy;

extern const bi_strategy bi_strategies[];
extern const size_t bi_n_strategies;
const bi_strategy *bi_strategy_find(const char *name);

/* ---- metric functions (metric_functions.c) ---- */
typedef enum bi_arg_kind {
    BI_TEXT,                      /* string or enum (optional allowed) */
    BI_TEXTS,                     /* string or list<string> */
    BI_NUMBER,                    /* int, float or bool */
    BI_ANY,                       /* any type; all BI_ANY arguments must match */
    BI_SIZED,                     /* string, list or map */
    BI_LIST                       /* any list; all BI_LIST arguments must match. A function
                                     whose name starts with set_ also takes `by: field` or
                                     `by: [f1, f2]` naming the record fields that match */
} bi_arg_kind;

typedef enum bi_result { BI_RESULT_BOOL, BI_RESULT_NUMBER } bi_result;

#define BI_MAX_ARGS 3
typedef struct bi_function {
    const char *name;
    size_t n_args;
    bi_arg_kind args[BI_MAX_ARGS];
    bi_result result;
    const char *doc;
} bi_function;

extern const bi_function bi_functions[];
extern const size_t bi_n_functions;
const bi_function *bi_function_find(const char *name);

/* ---- options of optimizers and lms (optimizers.c, lm_options.c) ---- */
/* BI_OPT_FIELD: a field's name, bare or quoted (`field: category`);
 * BI_OPT_STRINGS: a list of strings (`states: ["a.json", "b.json"]`). */
typedef enum bi_opt_kind {
    BI_OPT_INT, BI_OPT_FLOAT, BI_OPT_BOOL, BI_OPT_STRING, BI_OPT_CHOICE, BI_OPT_FIELD, BI_OPT_STRINGS
} bi_opt_kind;

typedef struct bi_option {
    const char *name;
    bi_opt_kind kind;
    double min, max;              /* numbers: the accepted range */
    const char *const *choices;   /* BI_OPT_CHOICE, NULL-terminated */
    const char *doc;
} bi_option;

#define BI_MAX_OPTIONS 10
typedef struct bi_optimizer {
    const char *name;
    bi_option options[BI_MAX_OPTIONS]; /* ends at the first NULL name */
    const char *doc;
} bi_optimizer;

extern const bi_optimizer bi_optimizers[];
extern const size_t bi_n_optimizers;
const bi_optimizer *bi_optimizer_find(const char *name);
const bi_option *bi_option_find(const bi_option *opts, size_t n, const char *name);

extern const bi_option bi_lm_options[];
/* The values of the lm option lora_serving. */
extern const char *const bi_lora_servings[];
extern const size_t bi_n_lm_options;

#endif
