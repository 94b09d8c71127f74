/* ast.h — the syntax tree the parser builds.
 *
 * Every node carries the source location of its first token. All nodes,
 * strings and vectors live in the front end's arena; nothing here is freed
 * individually. The tree is untyped: sema.c resolves names and types and
 * builds the checked IR (ir.h), which is what later stages consume.
 */
#ifndef DSPCC_AST_H
#define DSPCC_AST_H

#include "arena.h"
#include "diag.h"

typedef struct ast_ident {
    const char *name;
    src_loc loc;
    int quoted;              /* an enum value written as a string: "HR Support" */
} ast_ident;

typedef enum ast_type_kind { AT_NAME, AT_LIST, AT_OPTIONAL, AT_MAP, AT_ENUM, AT_GENERIC } ast_type_kind;

/* `string`, `Category`, `Entity`, `list<T>`, `optional<T>`, `map<K, V>`,
 * `enum { a, b }`. AT_GENERIC is an unknown `name<T>` (or `name<K, V>`)
 * kept for a good error message. */
typedef struct ast_type {
    ast_type_kind kind;
    src_loc loc;
    const char *name;        /* AT_NAME, AT_GENERIC */
    struct ast_type *elem;   /* AT_LIST, AT_OPTIONAL, AT_GENERIC; AT_MAP: the value type */
    struct ast_type *key;    /* AT_MAP (and a two-argument AT_GENERIC): the key type */
    ptr_vec values;          /* AT_ENUM: ast_ident *, names or strings */
} ast_type;

typedef enum ast_value_kind {
    AV_STRING, AV_INT, AV_FLOAT, AV_BOOL, AV_NAME, AV_FIELD, AV_LIST
} ast_value_kind;

/* A literal or a reference: option values, call arguments in modules,
 * operands of `if`. */
typedef struct ast_value {
    ast_value_kind kind;
    src_loc loc;
    const char *s;           /* AV_STRING text; AV_NAME/AV_FIELD: the name */
    long long i;             /* AV_INT, AV_BOOL */
    double f;                /* AV_FLOAT */
    ast_ident field;         /* AV_FIELD: `name.field` */
    ptr_vec path;            /* AV_FIELD into records: `name.field.a.b`: ast_ident * a, b */
    ptr_vec items;           /* AV_LIST: `["a", "b"]`, ast_value * (AV_STRING) each */
} ast_value;

/* `key: value` in lm blocks, optimizer arguments and optimize bodies. */
typedef struct ast_kv {
    ast_ident key;
    ast_value *value;
} ast_kv;

typedef struct ast_field {
    ast_ident name;
    int is_output;
    ast_type *type;
    const char *desc;        /* NULL when absent */
} ast_field;

typedef struct ast_param {
    ast_ident name;
    ast_type *type;
} ast_param;

/* `name: value` in a call. */
typedef struct ast_binding {
    ast_ident name;
    ast_value *value;
} ast_binding;

typedef enum ast_call_kind { CALL_STRATEGY, CALL_PLAIN } ast_call_kind;

/* An option of a strategy: `max_iters: 6` or `tools: [search, lookup]`. */
typedef struct ast_sopt {
    ast_ident key;
    ast_value *value;        /* NULL for a list */
    int is_list;
    ptr_vec names;           /* the list: ast_ident * */
    src_loc loc;             /* of the value or the `[` */
} ast_sopt;

/* `strategy(Sig, opts)(bindings)` or `callee(bindings)` (module or tool). */
typedef struct ast_call {
    ast_call_kind kind;
    src_loc loc;
    ast_ident callee;        /* the strategy, module or tool */
    ast_ident sig;           /* CALL_STRATEGY */
    ptr_vec opts;            /* CALL_STRATEGY: ast_sopt * */
    ptr_vec bindings;        /* ast_binding * */
} ast_call;

typedef enum ast_stmt_kind { ST_ASSIGN, ST_REPEAT, ST_IF, ST_RETURN } ast_stmt_kind;

typedef struct ast_stmt {
    ast_stmt_kind kind;
    src_loc loc;
    ast_ident var;           /* ST_ASSIGN target; ST_RETURN `return var` */
    ast_call *call;          /* ST_ASSIGN */
    long long count;         /* ST_REPEAT */
    src_loc count_loc;
    ptr_vec body;            /* ST_REPEAT, ST_IF then-branch: ast_stmt * */
    ast_value *lhs, *rhs;    /* ST_IF */
    int negate;              /* ST_IF: `!=` */
    ptr_vec else_body;       /* ST_IF */
    int has_else;
    int returns_record;      /* ST_RETURN: `return (a: x, ...)` */
    ptr_vec bindings;        /* ST_RETURN record */
} ast_stmt;

typedef enum ast_expr_kind {
    AE_INT, AE_FLOAT, AE_STRING, AE_BOOL, AE_NAME, AE_FIELD, AE_CALL, AE_LIST,
    AE_UNARY, AE_BINARY
} ast_expr_kind;

typedef enum ast_op {
    OP_NONE, OP_OR, OP_AND, OP_NOT, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG
} ast_op;

typedef struct ast_expr {
    ast_expr_kind kind;
    src_loc loc;
    ast_op op;
    long long i;             /* AE_INT, AE_BOOL */
    double f;                /* AE_FLOAT */
    const char *s;           /* AE_STRING, AE_NAME, AE_FIELD (field name) */
    struct ast_expr *a, *b;  /* operands; AE_FIELD/AE_CALL: a is the object/callee */
    ptr_vec args;            /* AE_CALL: ast_arg *; AE_LIST: ast_expr * */
    int depth;               /* nesting depth, bounded by the parser */
} ast_expr;

/* One arm of a metric's feedback: `if cond: text`, `else: text`, or a
 * lone `text` (cond NULL for the last two). */
typedef struct ast_feedback {
    ast_expr *cond;
    ast_expr *text;
    src_loc loc;
} ast_feedback;

/* A metric's feedback clause: `feedback ARMS` (target NULL: the general
 * feedback) or `feedback NAME: ARMS`, aimed at one predictor of the
 * module scored (NAME: its binding, `q1`, or `Module.binding`). */
typedef struct ast_pred_feedback {
    ast_expr *target;        /* AE_NAME or AE_FIELD; NULL: the general feedback */
    ptr_vec arms;            /* ast_feedback *, in order */
    src_loc loc;             /* the word `feedback` */
} ast_pred_feedback;

typedef struct ast_arg {
    ast_ident name;          /* name.name == NULL for a positional argument */
    ast_expr *value;
} ast_arg;

/* One word of a C declaration: an identifier or `*`. */
typedef struct ast_cword {
    const char *text;
    src_loc loc;
} ast_cword;

/* `const char *query`: the type text (normalized) and the name. */
typedef struct ast_cdecl {
    const char *ctype;
    ast_ident name;
    src_loc loc;
} ast_cdecl;

typedef struct ast_mapping {
    const char *column;
    src_loc loc;
    ast_ident field;
    struct ast_type *type;   /* `column -> field: type`, or NULL (typed from the data) */
} ast_mapping;

typedef enum ast_decl_kind {
    D_IMPORT, D_LM, D_ENUM, D_RECORD, D_SIGNATURE, D_TOOL, D_MODULE, D_METRIC, D_DATA, D_OPTIMIZE
} ast_decl_kind;

typedef struct ast_decl {
    ast_decl_kind kind;
    src_loc loc;
    ast_ident name;          /* D_OPTIMIZE: the module optimized */
    const char *str;         /* import path, lm model, instructions, record description,
                                data path, tool library */
    src_loc str_loc;
    ptr_vec kvs;             /* D_LM options, D_OPTIMIZE body: ast_kv * */
    ptr_vec values;          /* D_ENUM: ast_ident * */
    ptr_vec fields;          /* D_SIGNATURE, D_RECORD: ast_field * */
    ptr_vec params, results; /* D_MODULE: ast_param *; D_TOOL params: ast_cdecl * */
    ptr_vec body;            /* D_MODULE: ast_stmt * */
    ast_cdecl *cfunc;        /* D_TOOL: return type and name; NULL with a header */
    src_loc proto_end;       /* D_TOOL inline: the `)` that ends the prototype, which
                                starts at cfunc->loc (sema re-reads it as C) */
    const char *header;      /* D_TOOL `from "lib.so" header "x.h"`: the header */
    src_loc header_loc;
    ast_ident ex, pred;      /* D_METRIC parameter names */
    ast_expr *expr;          /* D_METRIC */
    ptr_vec feedback;        /* D_METRIC: ast_feedback *, in order (empty: none) */
    src_loc feedback_loc;    /* D_METRIC: the word `feedback` */
    ptr_vec pred_feedback;   /* D_METRIC: ast_pred_feedback * after the general one, in order */
    ast_ident format;        /* D_DATA: jsonl or csv */
    ast_ident optimizer;     /* D_OPTIMIZE: bootstrap_fewshot, mipro, ... */
    ptr_vec mapping;         /* D_DATA: ast_mapping * */
    int has_mapping;
    ptr_vec opt_args;        /* D_OPTIMIZE optimizer arguments: ast_kv * */
} ast_decl;

typedef struct ast_comment {
    src_loc loc;
    const char *text;        /* including the comment markers */
    int is_block;
} ast_comment;

typedef struct ast_file {
    const source_file *src;
    ptr_vec decls;           /* ast_decl * */
    ptr_vec comments;        /* ast_comment *, in source order */
} ast_file;

/* Turns C declaration words (`const char * name`) into a cdecl: the last
 * identifier is the name, the rest the normalized type text ("const char *").
 * Returns NULL and reports an error when there is no name. */
ast_cdecl *ast_cdecl_from_words(arena *a, diag *d, const ptr_vec *words, src_loc loc);

const char *ast_op_text(ast_op op);

#endif
