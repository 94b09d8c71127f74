/* cg.h — the C backend: a checked program (ir.h) plus an optional
 * optimized state (state.h) in, a generated .c and .h out.
 *
 * Internal to the compiler. cg_text.c holds the C literal and comment
 * escapers and identifier names (the output buffer is strbuf.h),
 * cg_types.c the C types of program fields, cg_tables.c the static const
 * runtime tables, cg_module.c module bodies as straight C, cg_tool.c tool
 * calls, cg_header.c the .h and cg_source.c the .c. Everything generated is a
 * function of the inputs only: no dates, no absolute paths, stable order.
 */
#ifndef DSPCC_CG_H
#define DSPCC_CG_H

#include <stddef.h>

#include "arena.h"
#include "dsp/error.h"
#include "ir.h"
#include "state.h"
#include "strbuf.h"


/* What the backend is asked to generate. */
typedef struct cg_input {
    const ir_program *prog;
    const ir_module *module;    /* the program: its run function */
    const st_state *state;      /* NULL: unoptimized */
    const st_state *shadow_state; /* a second variant for shadow mode (--shadow-state); NULL: none */
    const char *source_path;    /* the .dsp as named in the output (relative) */
    const char *source_sha256;  /* hex */
    const char *version;        /* dspcc version */
    const char *c_name;         /* OUT.c file name, no directories */
    const char *h_name;         /* OUT.h file name, no directories */
    int embed_runtime;          /* put libdsprt into OUT.c/OUT.h (an amalgamation) */
} cg_input;

/* libdsprt as text (cg_rt_blob.c, made by compiler/tools/rt_amalgam.c at
 * build time): the public headers, and the internal headers and sources
 * with internal functions static. */
extern const char cg_rt_public[];
extern const size_t cg_rt_public_len;
extern const char cg_rt_private[];
extern const size_t cg_rt_private_len;
/* " name name ... ": the embedded runtime's statics that keep their names
 * (they are also member names, which a renaming #define would hit). */
extern const char cg_rt_kept_statics[];

/* The generator's working state. */
typedef struct cg_ctx {
    const cg_input *in;
    arena *a;
    const char *prefix;         /* snake_case of the module: ticket_classifier */
    const char *PREFIX;         /* TICKET_CLASSIFIER */
    strbuf pool;                /* long strings as char arrays, emitted first */
    int n_pool;
    /* Boundary types (fields of the input and output structs). */
    const ir_type **types;
    size_t n_types, cap_types;
    /* Helpers used by module bodies (emitted only when used: -Wunused-function). */
    int use_limits;             /* a range check names <limits.h> bounds */
    struct rt_types *rt;        /* cg_tables.c's runtime types, while it runs */
    /* cg_tables.c's, made once on first use (generation is linear in the
     * program): the modules the program runs, and its predictors' names
     * sorted, each with its table index. */
    const ir_module **mods;
    size_t n_mods;
    struct cg_pred_index *pred_index;
    size_t n_pred_index;
    /* cg_tool.c's, made once: the C structs the called tools take or
     * give, nested ones first; struct i's table is k_cstruct<i>. */
    const struct ir_cstruct **cstructs;
    size_t n_cstructs;
    int cstructs_done;
    struct cg_share *share;     /* cg_share.c's tables emitted so far */
    dsp_error *err;
    int failed;
} cg_ctx;

/* Emits a C expression of type `const char *` for bytes s[0..len): a
 * string literal split over lines (any byte escaped, `?` escaped so no
 * trigraph forms), or, past what C17 promises for one literal (4095), the
 * name of a char array added to the pool. indent: spaces for continuation
 * lines. */
void cg_cstr(cg_ctx *g, strbuf *b, const char *s, size_t len, int indent);
/* Same, or NULL for a NULL string. */
void cg_cstr_or_null(cg_ctx *g, strbuf *b, const char *s, int indent);
/* Text for inside a comment: printable ASCII, no comment terminators or
 * trigraphs, newlines continued with `prefix`. */
void cg_comment_text(strbuf *b, const char *s, const char *prefix);
/* An identifier made of s: [A-Za-z0-9_] kept, others `_`; upper: uppercased. */
char *cg_ident(arena *a, const char *s, int upper);
/* snake_case of a CamelCase name. */
char *cg_snake(arena *a, const char *s);

/* cg_types.c: the C type of a field type, e.g. "char *", "int64_t",
 * "ticket_classifier_category", "ticket_classifier_list_string".
 * Registers the type for typedefs and converters. */
const char *cg_ctype(cg_ctx *g, const ir_type *t);
/* The mangled suffix of a type (string, int, list_string, ...). */
const char *cg_mangle(cg_ctx *g, const ir_type *t);
/* The converter `what` ("in", "out" or "free") of type t: libdsprt's
 * dsp_glue_WHAT_string for a plain string, else the generated WHAT_MANGLE. */
const char *cg_fn(cg_ctx *g, const char *what, const ir_type *t);
/* Does the C form hold a pointer the caller must free (output side)? */
/* Whether a value of type t owns memory that output_free must release
 * (strings, lists, maps, and records or optionals holding any). */
int cg_type_has_free(const ir_type *t);
int cg_type_is_string(const ir_type *t);
/* Typedefs for the registered types (enums, lists, optionals) into the header. */
void cg_emit_type_decls(cg_ctx *g, strbuf *h);
/* Enum name tables and converters (dsp_value <-> C) into the source. */
void cg_emit_type_defs(cg_ctx *g, strbuf *c);

/* cg_tables.c: the runtime tables of every predictor of the program. */
void cg_emit_tables(cg_ctx *g, strbuf *c);
/* The table name of a predictor's dsp_predictor. */
const char *cg_predictor_sym(cg_ctx *g, const ir_predictor *p);
/* knn_fewshot: the static dsp_predict_options a call of p passes (its
 * knn, and the shadow state's as .shadow), or NULL when neither state
 * gives p one or the call goes through an ensemble. */
const char *cg_knn_opts_sym(cg_ctx *g, const ir_predictor *p);
/* Whether the state gives any predictor a knn (the C includes dsp/knn.h). */
int cg_has_knn(cg_ctx *g);
/* ensemble: the static dsp_ensemble a call of p runs, or NULL when neither
 * the state nor the shadow state gives p one (a side without one runs a
 * plain call through it); whether any predictor of either has one. */
const char *cg_ensemble_sym(cg_ctx *g, const ir_predictor *p);
int cg_has_ensemble(cg_ctx *g);
/* The modules the program runs, callees first (the program last). */
size_t cg_modules(cg_ctx *g, const ir_module ***out);

/* cg_module.c: `static dsp_status m_NAME(...)` for each module. */
void cg_emit_modules(cg_ctx *g, strbuf *c);

/* cg_tool.c: the call of tool t, its IN parameters already in args[0..]
 * (C order): range checks and C arrays for the arguments, the call, the
 * status check, the results into dst[0..n_slots) (the variable's slots),
 * and frees of every temporary and output. Leaves st set on failure. */
void cg_emit_tool_call(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const char *dst, size_t n_slots);
/* Does the program (its module and callees) call t? Only those tools are
 * declared, and named in the header: linking must not need the others. */
int cg_tool_called(cg_ctx *g, const ir_tool *t);
/* The name a module function calls tool t by: its C name, or, when a
 * parameter or local of the generated function (c, err, st, args, r, ...)
 * would hide that name, "cg_fn_NAME", a file-scope pointer to it that
 * cg_source.c emits beside the prototype. */
const char *cg_tool_callee(cg_ctx *g, const ir_tool *t);

/* cg_tables.c: a `static const dsp_field sym[n]` table (runtime types
 * shared with the predictors' tables); only while cg_emit_tables runs.
 * Returns the symbol to use: sym, or that of an equal table emitted
 * before (cg_share_emit); NULL when n is 0. */
const char *cg_emit_field_table(cg_ctx *g, strbuf *c, const char *sym, const ir_field *f, size_t n);
/* The runtime type of t ("&k_type3"), emitting its table into c when it is
 * new; only while cg_emit_tables runs. */
const char *cg_rt_type(cg_ctx *g, strbuf *c, const ir_type *t);

/* cg_tool.c: the C structs of the called tools (docs/c-headers.md). Their
 * definitions, member for member as the headers lay them out, go beside
 * the tool prototypes (returns whether one names ssize_t); their
 * dsp_cstruct tables (dsp/cstruct.h) with the other tables. */
size_t cg_tool_cstructs(cg_ctx *g, const struct ir_cstruct ***out);
int cg_emit_cstruct_defs(cg_ctx *g, strbuf *c);
void cg_emit_cstruct_tables(cg_ctx *g, strbuf *c);
/* Whether a tool called passes or returns a map (dsp_cmap_in/out). */
int cg_tool_uses_cmap(cg_ctx *g);

/* cg_share.c: emits pre, then `static const TYPE SYM` and body (the text
 * after the symbol: "[2] = {...};\n"), unless an equal table (same type,
 * pre and body) was emitted before; returns the symbol to use, sym or the
 * earlier table's. body is freed. */
const char *cg_share_emit(cg_ctx *g, strbuf *c, const char *pre, const char *type, const char *sym, strbuf *body);
/* The lookup behind it: the symbol of an equal entry, or NULL after
 * remembering this one under sym. Also a memo by any bytes (type names
 * the kind of key): cg_tables.c finds a signature's tables by its address
 * without rendering them again. */
const char *cg_share_sym(cg_ctx *g, const char *type, const char *pre, const char *body, size_t body_len,
                         const char *sym);
/* The same lookup, remembering nothing. */
const char *cg_share_find(cg_ctx *g, const char *type, const char *pre, const char *body, size_t body_len);

/* cg_react.c: react call sites. The tables (tool prototypes, each tool's
 * fields, the dsp_tool array and the dsp_react) after the predictors'; the
 * typed tool functions with the modules. */
void cg_emit_react_tables(cg_ctx *g, strbuf *c);
void cg_emit_react_glue(cg_ctx *g, strbuf *c);
/* The table name of a react site's dsp_react. */
const char *cg_react_sym(cg_ctx *g, const ir_react *r);
int cg_has_react(cg_ctx *g);
int cg_react_uses_tool(cg_ctx *g, const ir_tool *t);

/* cg_sample.c: best_of_n, refine and majority call sites: a static
 * dsp_sampling each (after the predictors' tables) and reward functions
 * (with the modules). */
void cg_emit_sampling_tables(cg_ctx *g, strbuf *c);
void cg_emit_sampling_glue(cg_ctx *g, strbuf *c);
const char *cg_sampling_sym(cg_ctx *g, const ir_sampling *sm);
int cg_has_sampling(cg_ctx *g);
int cg_sampling_uses_tool(cg_ctx *g, const ir_tool *t);

/* cg_header.c / cg_source.c */
void cg_emit_header(cg_ctx *g, strbuf *h);
void cg_emit_source(cg_ctx *g, strbuf *c);

/* Generates both files' text. On failure fills err. */
dsp_status cg_generate(const cg_input *in, strbuf *c_out, strbuf *h_out, dsp_error *err);

#endif
