/* ir.h — the checked program: the contract between the front end and the
 * interpreter, the optimizers and the C backend.
 *
 * Everything here has been resolved and type-checked: names point at their
 * declarations, every field flow has matching types, every call binds its
 * inputs explicitly and in declaration order, paths are resolved. Consumers
 * walk plain arrays and never need the AST.
 *
 * Ownership: the whole program lives in the arena passed to sema_check()
 * and is freed with it. All strings are NUL-terminated UTF-8. Optional
 * strings are NULL when absent. Arrays come with their length.
 */
#ifndef DSPCC_IR_H
#define DSPCC_IR_H

#include <stddef.h>

/* ---- types --------------------------------------------------------- */

typedef enum ir_type_kind {
    IR_STRING, IR_INT, IR_FLOAT, IR_BOOL, IR_ENUM, IR_LIST, IR_OPTIONAL,
    IR_RECORD,                    /* `record Name { field: T ... }`: named, nominal */
    IR_MAP                        /* `map<string, T>`: string keys, elem values */
} ir_type_kind;

struct ir_field;

typedef struct ir_type {
    ir_type_kind kind;
    const char *name;             /* IR_ENUM declared as `enum Name {..}`, IR_RECORD; else NULL */
    const char *const *values;    /* IR_ENUM: the values, in declaration order */
    size_t n_values;
    const struct ir_type *elem;   /* IR_LIST, IR_OPTIONAL; IR_MAP: the value type */
    const struct ir_field *fields;/* IR_RECORD: in declaration order */
    size_t n_fields;
    const char *desc;             /* IR_RECORD: its description, NULL if none */
} ir_type;

typedef struct ir_field {
    const char *name;
    const ir_type *type;
    const char *desc;             /* NULL when the field has no description */
} ir_field;

/* Where a construct was written, for run-time error messages. `file` is
 * relative to the main .dsp file's directory. */
typedef struct ir_loc {
    const char *file;
    int line, col;
} ir_loc;

/* ---- declarations -------------------------------------------------- */

typedef struct ir_signature {
    const char *name;
    const char *instructions;     /* the task description; NULL if none */
    const ir_field *inputs;
    size_t n_inputs;
    const ir_field *outputs;
    size_t n_outputs;
    ir_loc loc;
} ir_signature;

/* A value of an lm option or an optimizer argument. */
typedef enum ir_option_kind { IR_OPT_INT, IR_OPT_FLOAT, IR_OPT_BOOL, IR_OPT_STRING, IR_OPT_NAME, IR_OPT_LIST } ir_option_kind;

typedef struct ir_option {
    const char *key;
    ir_option_kind kind;
    long long i;                  /* IR_OPT_INT, IR_OPT_BOOL */
    double f;                     /* IR_OPT_FLOAT */
    const char *s;                /* IR_OPT_STRING, IR_OPT_NAME */
    const char **list;            /* IR_OPT_LIST: n_list strings */
    size_t n_list;
} ir_option;

typedef struct ir_lm {
    const char *name;
    const char *provider;         /* openai, anthropic, ollama, vllm, compatible */
    const char *model;            /* the model name after "provider/" */
    const char *base_url;         /* explicit or the provider's default */
    const char *api_key_env;      /* NAME of the env var holding the key; NULL: no key */
    const ir_option *params;      /* sampling and client options, sorted by key */
    size_t n_params;
    ir_loc loc;
} ir_lm;

/* What a C parameter of a tool is for (docs/c-headers.md). */
typedef enum ir_param_role {
    IR_PARAM_IN,                  /* a .dsp argument: a scalar, a string, or a list
                                     (pointer to const elements, then its LEN) */
    IR_PARAM_OUT,                 /* a result the tool writes through this pointer */
    IR_PARAM_LEN,                 /* the length of the list parameter just before it:
                                     `size_t` after an input list, `size_t *` after
                                     an output list; filled in by the caller; or of
                                     the map two before it */
    IR_PARAM_VALUES               /* the values array of the map parameter just before
                                     it (whose name is the .dsp one and whose elem_ctype
                                     is one value's C type): `const T *x_values` in,
                                     `T **x_values` out */
} ir_param_role;

/* A C struct a tool takes or gives back (docs/c-headers.md, "Records and
 * C structs"): the .dsp record it holds and its members in C order. The
 * interpreter lays it out with libffi, the generated C declares it; both
 * convert through libdsprt's dsp_cstruct (dsp/cstruct.h). */
struct ir_cstruct;

typedef struct ir_cmember {
    const char *name;             /* the C member's name, also the field's */
    const char *ctype;            /* "double", "char *", "Point", "struct place *" */
    const char *elem_ctype;       /* a list's element or an optional's struct: "double", "Point" */
    long field;                   /* index of the record field it holds; -1: a list's or map's
                                     count, an optional scalar's flag (is_flag), a map's values
                                     (is_values) */
    int is_flag;                  /* `bool has_x;` before an optional<int|float|bool> member x */
    int is_values;                /* `T *x_values;` after the keys `char **x_keys;` of map x
                                     (which holds field x; elem_ctype and sub describe one value) */
    int borrowed;                 /* a pointer to const: in results the tool's, never freed */
    int elem_borrowed;            /* a list of `const char *` */
    const struct ir_cstruct *sub; /* a nested struct, an optional one, or a list's element */
} ir_cmember;

typedef struct ir_cstruct {
    const char *c_name;           /* "struct place", or "Point" for `typedef struct {...} Point;` */
    int tagged;                   /* c_name is `struct TAG` */
    const ir_type *record;
    const ir_cmember *members;
    size_t n_members;
} ir_cstruct;

typedef struct ir_tool_param {
    const char *name;
    const char *ctype;            /* the C type as called, normalized and with
                                     typedefs resolved: "const char *", "int64_t",
                                     "const char *const *", "char ***", "size_t *" */
    const ir_type *type;          /* IN, OUT: the .dsp type of the value; LEN: NULL */
    ir_param_role role;
    const char *elem_ctype;       /* a list (IN or OUT) or a scalar OUT: the C type of
                                     one element or of the pointee: "const char *",
                                     "char *", "int64_t", "double", "bool"; else NULL */
    const ir_cstruct *cstruct;    /* a record, list of records or optional record: its struct */
} ir_tool_param;

/* An external C function loaded from a shared object, declared inline or
 * by its header; both go through the same mapping (grammar/cheader.h,
 * docs/c-headers.md).
 *
 * A call passes the IN parameters by name. What it yields:
 *   - n_outputs == 0: one value, the return value (`type`); `v` in .dsp.
 *     A `char *` result is malloc'ed by the tool and freed by the caller;
 *     a `const char *` result is borrowed (copied, never freed).
 *   - n_outputs > 0: a record of the OUT parameters, in C order (`outputs`,
 *     named like the parameters); `v.name` in .dsp. The function returns
 *     `int` (ret_status: 0 is success, anything else fails the call) or
 *     `void`, and `type` is NULL. Output strings and arrays are malloc'ed by
 *     the tool and freed by the caller, also when the status is nonzero. */
typedef struct ir_tool {
    const char *name;             /* the C symbol */
    const char *c_return;         /* "char *", "int64_t", "int" (a status), "void" */
    const ir_type *type;          /* the .dsp type of the return value; NULL with outputs */
    const ir_cstruct *ret_cstruct;/* a struct returned by value (type is its record) */
    int ret_status;               /* returns an int status; results come through outputs */
    const ir_tool_param *params;  /* every C parameter, in C order */
    size_t n_params;
    const ir_field *outputs;      /* the OUT parameters as a record, in C order */
    size_t n_outputs;
    const char *library;          /* shared object path, relative to the main .dsp dir */
    /* A tool read from its header: that header and each one its structs
     * are defined in, as opened (relative to the working directory, as
     * `dspcc build -MD` writes paths); none for an inline prototype. */
    const char *const *headers;
    size_t n_headers;
    ir_loc loc;
} ir_tool;

/* ---- modules ------------------------------------------------------- */

struct ir_module;

/* One LM-backed call site: what the optimizer tunes. `name` is stable and
 * unique in the program ("Module.var"), the key for optimized prompts. */
typedef struct ir_predictor {
    const char *name;
    const char *module;
    const char *strategy;         /* predict, chain_of_thought */
    const ir_signature *signature;
    const ir_field *outputs;      /* what the LM produces: the signature's
                                     outputs, after `reasoning` for chain_of_thought */
    size_t n_outputs;
    const char *adapter;          /* "chat" or "json" from `predict(Sig, adapter: json)`;
                                     NULL: the lm's (its `adapter` option, else chat) */
    int has_temperature;          /* `predict(Sig, temperature: 0.7)`: this call's sampling
                                     temperature, over the lm's (best_of_n, refine, majority:
                                     their samples'); 0: the lm's */
    double temperature;
} ir_predictor;

typedef enum ir_value_kind {
    IR_VAL_PARAM,                 /* a module parameter: `name` */
    IR_VAL_FIELD,                 /* a field of a call's result: `var.field` */
    IR_VAL_VAR,                   /* a tool's single result: `var` */
    IR_VAL_STRING, IR_VAL_INT, IR_VAL_FLOAT, IR_VAL_BOOL,
    IR_VAL_ENUM                   /* an enum value: `s` */
} ir_value_kind;

typedef struct ir_value {
    ir_value_kind kind;
    const ir_type *type;          /* the value's own type (at the end of the path) */
    const char *name;             /* PARAM, VAR: the name; FIELD: the variable */
    const char *field;            /* FIELD */
    const char *const *path;      /* PARAM, FIELD, VAR: fields read further into records
                                     (`v.person.name`: path = {"name"}); NULL when none */
    size_t n_path;
    const char *s;                /* STRING, ENUM */
    long long i;                  /* INT, BOOL */
    double f;                     /* FLOAT */
} ir_value;

/* `field: value`. In a call, bindings follow the callee's input order; an
 * optional input that was not bound is simply absent. */
typedef struct ir_binding {
    const char *field;
    ir_value value;
} ir_binding;

typedef enum ir_step_kind {
    IR_STEP_PREDICT, IR_STEP_MODULE, IR_STEP_TOOL, IR_STEP_REPEAT, IR_STEP_IF, IR_STEP_RETURN,
    IR_STEP_REACT, IR_STEP_MCC
} ir_step_kind;

/* `multi_chain_comparison(Sig, m: 3)` (DSPy's MultiChainComparison;
 * dsp_mcc in dsp/sample.h): `attempt` ("Module.var.attempt", chain of
 * thought over Sig) is sampled m times, then `compare` ("Module.var.compare")
 * takes Sig's inputs and reasoning_attempt_1..m and gives `rationale` and
 * Sig's outputs, which the variable holds. */
typedef struct ir_mcc {
    const ir_predictor *attempt;
    const ir_predictor *compare;
    long long m;                  /* 1 to 20, default 3 */
} ir_mcc;

/* A `react(Sig, tools: [...])` call site (DSPy's ReAct; dsp/react.h): two
 * predictors the optimizers tune like any other, and the tools the LM may
 * pick. `step` ("Module.var.react") takes Sig's inputs and `trajectory` and
 * gives next_thought, next_tool_name, next_tool_args; `extract`
 * ("Module.var.extract", chain of thought) takes the same inputs and gives
 * Sig's outputs. The variable holds the extract's outputs, then
 * `trajectory`. */
typedef struct ir_react {
    const ir_predictor *step;
    const ir_predictor *extract;
    const ir_tool *const *tools;
    const char *const *tool_docs; /* each tool's doc comment, or NULL: its description */
    size_t n_tools;
    long long max_iters;          /* 1 to 100, default 8 */
    long long max_observation;    /* bytes of one observation, default 4000 */
} ir_react;

/* best_of_n, refine or majority over a predictor call (dsp/sample.h): n
 * samples, one kept. The reward is a C tool returning a number whose input
 * parameters are named like the signature's inputs or the predictor's
 * outputs; reward_args says where each comes from, in C order. */
typedef enum ir_pick { IR_PICK_BEST_OF_N, IR_PICK_REFINE, IR_PICK_MAJORITY } ir_pick;

typedef struct ir_reward_arg {
    int from_output;              /* 0: a signature input; 1: a predictor output */
    size_t index;
    const ir_type *from;          /* the field's type */
    const ir_type *to;            /* the parameter's: the same, or string for an enum,
                                     float for an int */
} ir_reward_arg;

typedef struct ir_sampling {
    ir_pick pick;
    const char *name;             /* best_of_n, refine, majority */
    long long n;                  /* 1 to 100, default 5 */
    const ir_tool *reward;        /* BEST_OF_N, REFINE */
    const ir_reward_arg *reward_args;
    size_t n_reward_args;
    int has_threshold;
    double threshold;
    size_t field;                 /* MAJORITY: the voted output (predictor output index) */
    int has_temperature;          /* `temperature:` of the call, copied to its predictor */
    double temperature;
} ir_sampling;

typedef struct ir_step {
    ir_step_kind kind;
    ir_loc loc;
    const char *var;              /* PREDICT, MODULE, TOOL, REACT: the result variable */
    const ir_predictor *predictor;/* PREDICT */
    const struct ir_module *module; /* MODULE */
    const ir_tool *tool;          /* TOOL */
    const ir_react *react;        /* REACT (the bindings bind Sig's inputs) */
    const ir_mcc *mcc;            /* MCC (the bindings bind Sig's inputs) */
    const ir_sampling *sampling;  /* PREDICT: n samples, one kept; NULL: one call */
    const ir_binding *bindings;   /* PREDICT, MODULE, TOOL, REACT: inputs; RETURN: results */
    size_t n_bindings;
    long long count;              /* REPEAT: iterations, >= 1 */
    const struct ir_step *body;   /* REPEAT body; IF then-branch */
    size_t n_body;
    ir_value lhs, rhs;            /* IF: lhs == rhs (or != when negate) */
    int negate;
    const struct ir_step *else_body; /* IF */
    size_t n_else;
} ir_step;

typedef enum ir_var_kind { IR_VAR_PREDICT, IR_VAR_MODULE, IR_VAR_TOOL } ir_var_kind;

/* A local of a module: every variable any step assigns, once. */
typedef struct ir_var {
    const char *name;
    ir_var_kind kind;
    const ir_field *fields;       /* PREDICT, MODULE, and TOOL with outputs: the
                                     record's fields (a tool's: its outputs) */
    size_t n_fields;              /* 0 for a TOOL var that holds one value */
    const ir_type *type;          /* TOOL without outputs: the value's type */
} ir_var;

typedef struct ir_module {
    const char *name;
    const ir_field *params;
    size_t n_params;
    const ir_field *results;
    size_t n_results;
    const ir_step *steps;         /* the last step is the RETURN */
    size_t n_steps;
    const ir_var *vars;
    size_t n_vars;
    const ir_predictor *const *predictors; /* its own call sites, in order */
    size_t n_predictors;
    ir_loc loc;
} ir_module;

/* ---- metrics ------------------------------------------------------- */

typedef enum ir_expr_kind {
    IR_E_NUMBER, IR_E_STRING, IR_E_BOOL, IR_E_ENUM,
    IR_E_FIELD,                   /* ex.field or pred.field */
    IR_E_LIST,                    /* [a, b, ...] */
    IR_E_BUILTIN,                 /* exact_match(a, b), f1, ... (stdlib/metric_functions.c) */
    IR_E_TOOL,                    /* a C function from a shared object */
    IR_E_JUDGE,                   /* judge(Sig, lm: x)(in: ...).out */
    IR_E_UNARY, IR_E_BINARY,
    IR_E_FORMAT                   /* a feedback text: args' texts joined ("{ex.f}" in a string) */
} ir_expr_kind;

typedef enum ir_source { IR_SRC_EXAMPLE, IR_SRC_PREDICTION } ir_source;

typedef enum ir_op {
    IR_OP_OR, IR_OP_AND, IR_OP_NOT, IR_OP_EQ, IR_OP_NE, IR_OP_LT, IR_OP_LE, IR_OP_GT,
    IR_OP_GE, IR_OP_IN, IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV, IR_OP_NEG
} ir_op;

typedef struct ir_expr_arg {
    const char *name;             /* JUDGE: the signature input; TOOL: the C parameter */
    const struct ir_expr *value;
} ir_expr_arg;

typedef struct ir_expr {
    ir_expr_kind kind;
    const ir_type *type;          /* bool, float (every number), string, enum, list */
    ir_op op;                     /* UNARY, BINARY */
    double number;                /* NUMBER */
    const char *s;                /* STRING, ENUM value; BUILTIN name */
    int b;                        /* BOOL */
    ir_source source;             /* FIELD */
    const char *field;            /* FIELD; JUDGE: the output read */
    const char *const *path;      /* FIELD: fields read further into records
                                     (`pred.person.name`: field "person", path {"name"}) */
    size_t n_path;
    const ir_tool *tool;          /* TOOL */
    const ir_signature *judge;    /* JUDGE */
    const ir_lm *judge_lm;        /* JUDGE: NULL means the optimize block's lm */
    const ir_expr_arg *args;      /* BUILTIN, TOOL, JUDGE, LIST, UNARY (1), BINARY (2) */
    size_t n_args;
    int micro;                    /* BUILTIN set_f1/set_precision/set_recall with `average: micro`:
                                     the whole metric; a data set scores the pooled items
                                     (ex_evaluate), an example its own */
} ir_expr;

/* A metric checked against the module it scores: `ex` holds the example
 * (module inputs and gold results), `pred` the module's results. */
/* One arm of a metric's feedback: the first whose cond holds gives text. */
typedef struct ir_feedback {
    const ir_expr *cond;          /* bool; NULL: always */
    const ir_expr *text;          /* string */
} ir_feedback;

/* Feedback aimed at one predictor (`feedback q1: ...`, or a scoring tool's
 * output `char **feedback_q1`): what gepa's reflection on it reads in
 * place of the general feedback, when it gives a text. */
typedef struct ir_pred_feedback {
    const char *target;           /* as written: `q1`, `Module.q1` */
    const char *const *preds;     /* n_preds full predictor names (a react call's steps: each) */
    size_t n_preds;
    const ir_feedback *arms;      /* n_arms arms, as the general feedback's */
    size_t n_arms;
    const char *tool_output;      /* else: the scoring tool's output parameter that writes it */
} ir_pred_feedback;

typedef struct ir_metric {
    const char *name;
    const char *module;
    const ir_expr *expr;          /* type bool or float; a bool scores 1 or 0 */
    const ir_feedback *feedback;  /* n_feedback arms, in order; none: no feedback */
    size_t n_feedback;
    const ir_pred_feedback *pred_feedback; /* n_pred_feedback, each for other predictors */
    size_t n_pred_feedback;
    ir_loc loc;
} ir_metric;

/* ---- data and optimization ----------------------------------------- */

typedef struct ir_column {
    const char *column;           /* in the file */
    const char *field;            /* in the program */
    const struct ir_type *type;   /* declared (`column -> field: T`), or NULL: a module field
                                     has the module's type, a gold-only one the data's */
} ir_column;

typedef struct ir_data {
    const char *name;
    const char *format;           /* jsonl, csv */
    const char *path;             /* relative to the main .dsp file's directory */
    const ir_column *columns;     /* what to read; other columns are ignored */
    size_t n_columns;
    ir_loc loc;
} ir_data;

typedef struct ir_optimize {
    const ir_module *module;
    const char *optimizer;        /* bootstrap_fewshot, mipro, ... (stdlib/optimizers.c) */
    const ir_option *params;      /* sorted by key */
    size_t n_params;
    const ir_metric *metric;
    const ir_data *trainset;
    const ir_data *valset;        /* NULL: the optimizer holds out part of trainset */
    const ir_lm *lm;              /* runs the program */
    const ir_lm *teacher;         /* proposes demos and instructions; NULL: lm */
    const ir_lm *student;         /* better_together's w stage fine-tunes it; NULL: lm */
    const ir_lm *embedder;        /* knn_fewshot's embedding model; NULL: none */
    long long seed;
    long long concurrency;        /* examples in flight; 0: not set (the commands' default, 8) */
    ir_loc loc;
} ir_optimize;

typedef struct ir_program {
    const char *source;           /* the main file's name, without directories */
    const char *base_dir;         /* its directory as given on the command line
                                     (not in dump-ir): join it with relative paths */
    const ir_type *const *enums;  /* named enums */
    size_t n_enums;
    const ir_type *const *records;/* records, each after the records its fields use */
    size_t n_records;
    const ir_signature *const *signatures;
    size_t n_signatures;
    const ir_lm *const *lms;
    size_t n_lms;
    const ir_tool *const *tools;
    size_t n_tools;
    const ir_module *const *modules; /* callees before callers */
    size_t n_modules;
    const ir_metric *const *metrics;
    size_t n_metrics;
    const ir_data *const *data;
    size_t n_data;
    const ir_optimize *const *optimizes;
    size_t n_optimizes;
} ir_program;

/* ---- helpers (ir.c) ------------------------------------------------ */

int ir_type_equal(const ir_type *a, const ir_type *b);
/* "enum {billing, account, \"HR Support\"}", "list<string>", the enum's name if it has one. */
const char *ir_type_str(const ir_type *t, char *buf, size_t size);
int ir_enum_has(const ir_type *t, const char *value);
/* Whether s is spelled like a name ([A-Za-z_][A-Za-z0-9_]*); enum values
 * that are not are shown quoted, as the .dsp writes them. */
int ir_is_name(const char *s);
/* The identifier an enum value gets in generated C, after the enum's
 * `NAME_` prefix: ASCII letters and digits upper-cased, `_` kept, and each
 * run of other bytes (spaces, punctuation, non-ASCII) one `_`:
 * "HR Support" -> HR_SUPPORT, "C++" -> C_. buf holds strlen(value) + 1
 * bytes. Sema refuses an enum whose values derive the same identifier. */
char *ir_enum_ident(const char *value, char *buf);
const ir_field *ir_field_find(const ir_field *fields, size_t n, const char *name);
const ir_module *ir_module_find(const ir_program *p, const char *name);
const ir_signature *ir_signature_find(const ir_program *p, const char *name);
const ir_predictor *ir_predictor_find(const ir_program *p, const char *name);
/* Whether module m is top or called from it, directly or not (through
 * `repeat` and `if` bodies too). Modules cannot recurse (sema). */
int ir_module_reaches(const ir_module *top, const ir_module *m);
/* Calls fn(ctx, judge) on each judge call in e (NULL: none), a judge
 * before those in its arguments. Stops at the first nonzero fn returns and
 * returns it; else 0. */
typedef int (*ir_judge_fn)(void *ctx, const ir_expr *judge);
int ir_expr_judges(const ir_expr *e, ir_judge_fn fn, void *ctx);
/* The same over every expression of metric m: its score, then each arm
 * (condition, text) of its general feedback, then of each predictor's.
 * The one walk the interpreter (which builds the judges), eval (which
 * needs an lm for them) and --estimate (which counts their calls) share. */
int ir_metric_judges(const ir_metric *m, ir_judge_fn fn, void *ctx);
/* An LM call site m runs (its own, else one of a module it calls), or
 * NULL: m runs C tools only and needs no lm. */
const ir_predictor *ir_module_first_predictor(const ir_module *m);
/* How many values a variable holds: its fields, or 1 for a tool's single value. */
size_t ir_var_slots(const ir_var *v);

#endif
