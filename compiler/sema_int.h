/* sema_int.h — state shared by the sema_*.c files (not a public API). */
#ifndef DSPCC_SEMA_INT_H
#define DSPCC_SEMA_INT_H

#include "ast.h"
#include "builtins.h"
#include "ir.h"
#include "sema.h"

typedef enum sym_kind {
    SYM_ENUM, SYM_SIGNATURE, SYM_LM, SYM_TOOL, SYM_MODULE, SYM_METRIC, SYM_DATA, SYM_RECORD
} sym_kind;

typedef struct sym {
    const char *name;
    sym_kind kind;
    ast_decl *decl;
    int from_import;
    int used;
    int state;                /* modules: 0 new, 1 header done, 3 body checked;
                                 records: 0 new, 1 being resolved, 2 done */
    int body_ok;              /* modules: the body checked without errors */
    ptr_vec calls;            /* modules: call_edge * to the modules the body calls */
    void *ir;                 /* the resolved IR object, NULL if it had errors */
    ptr_vec instances;        /* metrics: ir_metric * checked per module */
    const diag_msg *unfit;    /* metrics no optimize block uses: why the last module's check failed */
} sym;

typedef struct sema {
    arena *a;
    diag *d;
    const source_file *main;
    ptr_vec files;            /* ast_file * in load order */
    ptr_vec import_stack;     /* const char * canonical paths being loaded */
    ptr_vec loaded;           /* const char * canonical paths already loaded */
    ptr_vec syms;             /* sym * in declaration order */
    sym **table;              /* open addressing over syms */
    size_t table_cap;
    ptr_vec optimizes;        /* ast_decl * of the main file */
    ptr_vec modules_done;     /* ir_module * in dependency order */
    ptr_vec records_done;     /* ir_type * of records, each after those it uses */
    ir_type t_string, t_int, t_float, t_bool;
    ptr_vec cstructs;         /* ir_cstruct * of the tools' C structs, one per C name
                                 (the generated C defines each once) */
    /* Where each line of one source file starts, for reading inline tool
     * prototypes by position (sema_tool_header.c); rebuilt per file. */
    const source_file *lines_of;
    size_t *line_starts;
    size_t n_lines;
} sema;

/* sema.c */
sym *sema_lookup(sema *s, const char *name);
/* Finds a declaration of the given kind; reports unknown names (with a
 * suggestion) and names of another kind. Marks it used. */
sym *sema_expect(sema *s, const ast_ident *id, sym_kind kind);
const char *sym_kind_name(sym_kind k);
const char *sym_kind_article(sym_kind k); /* "a" or "an" */
ir_loc sema_loc(sema *s, src_loc l);
const char *sema_type_str(sema *s, const ir_type *t);
/* Suggestion over a vector of names, as " did you mean `x`?" or "". */
const char *sema_did_you_mean(sema *s, const char *name, const char *const *names, size_t n);
/* The same for an enum value: the suggestion is one of t's values, quoted
 * when it is not spelled like a name ("HR Support"). */
const char *sema_enum_did_you_mean(sema *s, const char *value, const ir_type *t);
const char *sema_field_names_hint(sema *s, const char *name, const ir_field *f, size_t n);
char *sema_path_join(arena *a, const char *dir, const char *rel);
int sema_vec_has(const ptr_vec *v, const char *str);

/* sema_decls.c: enums, signatures, lms, tools, data, module headers. */
const ir_type *sema_resolve_type(sema *s, const ast_type *t);
void sema_check_enum(sema *s, sym *sy);
/* The field `name` of a value of type t that `what` (e.g. "`p.person`")
 * names, reporting at loc when t is not a record or has no such field. */
const ir_field *sema_record_field(sema *s, const ir_type *t, const char *name, src_loc loc, const char *what);
/* Whether name is a keyword of C17 or C23 (or a <stdbool.h> macro). */
int sema_is_c_keyword(const char *name);
/* Resolves a record declaration (once; on first use or in declaration
 * order) and refuses recursive ones. NULL after an error. */
const ir_type *sema_check_record(sema *s, sym *sy);
void sema_check_signature(sema *s, sym *sy);
void sema_check_lm(sema *s, sym *sy);
void sema_check_tool(sema *s, sym *sy);
/* Fills t's prototype from the C header the declaration names
 * (sema_tool_header.c); 0 after reporting why it cannot. */
int sema_tool_from_header(sema *s, sym *sy, ir_tool *t);
/* Fills t's parameters (every C parameter with its role), outputs and
 * return from a mapped prototype: the one mapping for headers and inline
 * prototypes. 0 when the tool yields nothing (returns void and has no
 * outputs); the caller reports that where the prototype is. */
/* The same for a prototype written in the .dsp file. */
int sema_tool_from_inline(sema *s, sym *sy, ir_tool *t);
struct ch_prototype;
int sema_tool_from_prototype(sema *s, const struct ch_prototype *p, ir_tool *t);
void sema_check_data(sema *s, sym *sy);

/* A call from one module to another, for ordering and cycle detection. */
typedef struct call_edge {
    struct sym *callee;
    src_loc loc;
} call_edge;

/* sema_module.c */
void sema_check_module_header(sema *s, sym *sy);
void sema_check_module_body(sema *s, sym *sy);
/* After every body: orders modules callees first into s->modules_done and
 * reports call cycles. Iterative, so a long chain cannot exhaust the stack. */
void sema_order_modules(sema *s);
/* Is a value of type `from` accepted where `to` is expected? */
int sema_assignable(const ir_type *from, const ir_type *to);

/* sema_react.c: the options of `react(Sig, tools: [...], ...)` and its step
 * and extract predictors, named base + ".react" / ".extract"; NULL after
 * reporting errors. */
ir_react *sema_react_build(sema *s, const ast_call *c, const ir_signature *sig, const char *base,
                           const char *module);

/* sema_sample.c: best_of_n, refine and majority. sema_sampling_options
 * checks the options (*reasoning: sample with chain of thought);
 * sema_sampling_bind binds the reward tool's parameters to the signature's
 * inputs and the predictor's outputs (or majority's field). Both report
 * errors and return NULL / 0. */
int sema_is_sampling(const char *strategy);
ir_sampling *sema_sampling_options(sema *s, const ast_call *c, int *reasoning);
int sema_sampling_bind(sema *s, ir_sampling *sm, const ast_call *c, const ir_signature *sig, const ir_field *outs,
                       size_t n_outs);
/* multi_chain_comparison's options and its attempt and compare predictors,
 * named base + ".attempt" / ".compare"; NULL after reporting errors. */
ir_mcc *sema_mcc_build(sema *s, const ast_call *c, const ir_signature *sig, const char *base, const char *module);

/* sema_metric.c: a metric checked against the module it scores; NULL on error. */
/* The full names of the predictors a metric's feedback for `target`
 * (`q1`, `Module.q1`) is aimed at, when module m is scored (*n of them);
 * NULL after reporting an unknown one at `at`, with m's predictors and a
 * suggestion (sema_feedback.c). */
const char *const *sema_feedback_target(sema *s, const ir_module *m, const char *target, src_loc at,
                                        const char *metric, size_t *n);
const ir_metric *sema_check_metric(sema *s, sym *metric, const ir_module *m, const ir_data *train,
                                   const ast_ident *use);

/* sema_optimize.c */
ir_optimize *sema_check_optimize(sema *s, ast_decl *d);
/* Checks values of options against a table; fills out[] sorted by key. */
size_t sema_check_options(sema *s, const ptr_vec *kvs, const bi_option *table, size_t n_table,
                          const char *what, ir_option **out);

/* sema_data.c: columns a data file has, and enum values it uses. */
int sema_data_columns(sema *s, const ir_data *data, src_loc at, ptr_vec *columns);
void sema_data_check_enums(sema *s, const ir_data *data, const ir_module *m, src_loc at);
const ir_type *sema_data_field_type(sema *s, const ir_data *data, const char *field);
/* sema_data_shapes.c: the first rows' values of record and map fields
 * against their declared types; a CSV data set with such a field. */
void sema_data_check_shapes(sema *s, const ir_data *data, const ir_module *m, src_loc at);

#endif
