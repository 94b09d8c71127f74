/* cg_types.c — C types for the fields of a program's input and output
 * structs, and the converters between them and libdsprt's dsp_value.
 *
 *   string            const char * (input) / char * (output, malloc'ed)
 *   int, float, bool  int64_t, double, bool
 *   enum              PREFIX_NAME enum, with a name table
 *   list<T>           struct { T *items; size_t len; }
 *   optional<string>  char *, NULL when absent
 *   optional<T>       struct { bool present; T value; }
 */
#include <string.h>

#include "cg.h"

typedef struct cg_tentry {
    const ir_type *t;
    const char *mangle;
    const char *ctype;
    int need_in, need_out;
} cg_tentry;

static cg_tentry *entries(cg_ctx *g) { return (cg_tentry *)(void *)g->types; }

int cg_type_is_string(const ir_type *t)
{
    return t->kind == IR_STRING || (t->kind == IR_OPTIONAL && t->elem->kind == IR_STRING);
}

static int has_free(const ir_type *t)
{
    switch (t->kind) {
    case IR_STRING: return 1;
    case IR_LIST: return 1;
    case IR_OPTIONAL: return t->elem->kind == IR_STRING || has_free(t->elem);
    default: return 0;
    }
}

static cg_tentry *find(cg_ctx *g, const ir_type *t)
{
    cg_tentry *e = entries(g);
    for (size_t i = 0; i < g->n_types; i++)
        if (e[i].t == t || ir_type_equal(e[i].t, t)) return &e[i];
    return NULL;
}

static cg_tentry *reg(cg_ctx *g, const ir_type *t)
{
    cg_tentry *e = find(g, t);
    if (e) return e;
    const char *m = NULL, *ct = NULL;
    switch (t->kind) {
    case IR_STRING: m = "string"; ct = "char *"; break;
    case IR_INT: m = "int"; ct = "int64_t"; break;
    case IR_FLOAT: m = "float"; ct = "double"; break;
    case IR_BOOL: m = "bool"; ct = "bool"; break;
    case IR_ENUM: {
        size_t n_enums = 0;
        for (size_t i = 0; i < g->n_types; i++)
            if (entries(g)[i].t->kind == IR_ENUM) n_enums++;
        m = t->name ? cg_snake(g->a, t->name) : arena_printf(g->a, "enum%zu", n_enums + 1);
        ct = arena_printf(g->a, "%s_%s", g->prefix, m);
        break;
    }
    case IR_LIST: {
        cg_tentry *el = reg(g, t->elem);
        m = arena_printf(g->a, "list_%s", el->mangle);
        ct = arena_printf(g->a, "%s_%s", g->prefix, m);
        break;
    }
    case IR_OPTIONAL: {
        cg_tentry *el = reg(g, t->elem);
        m = arena_printf(g->a, "opt_%s", el->mangle);
        ct = t->elem->kind == IR_STRING ? "char *" : arena_printf(g->a, "%s_%s", g->prefix, m);
        break;
    }
    }
    if (g->n_types == g->cap_types) {
        size_t cap = g->cap_types ? 2 * g->cap_types : 16;
        cg_tentry *ne = arena_array(g->a, cap, sizeof *ne);
        if (g->n_types) memcpy(ne, entries(g), g->n_types * sizeof *ne);
        g->types = (const ir_type **)(void *)ne;
        g->cap_types = cap;
    }
    e = &entries(g)[g->n_types++];
    memset(e, 0, sizeof *e);
    e->t = t;
    e->mangle = m;
    e->ctype = ct;
    return e;
}

const char *cg_ctype(cg_ctx *g, const ir_type *t) { return reg(g, t)->ctype; }
const char *cg_mangle(cg_ctx *g, const ir_type *t) { return reg(g, t)->mangle; }

static void mark(cg_ctx *g, const ir_type *t, int out)
{
    cg_tentry *e = reg(g, t);
    if (out)
        e->need_out = 1;
    else
        e->need_in = 1;
    if (t->kind == IR_LIST || t->kind == IR_OPTIONAL) mark(g, t->elem, out);
}

/* An enumerator's suffix: "HR Support" -> HR_SUPPORT (ir_enum_ident's rule). */
static const char *value_ident(cg_ctx *g, const char *value)
{
    return ir_enum_ident(value, arena_alloc(g->a, strlen(value) + 1));
}

void cg_emit_type_decls(cg_ctx *g, strbuf *h)
{
    const ir_module *m = g->in->module;
    for (size_t i = 0; i < m->n_params; i++) mark(g, m->params[i].type, 0);
    for (size_t i = 0; i < m->n_results; i++) mark(g, m->results[i].type, 1);
    for (size_t i = 0; i < g->n_types; i++) {
        const cg_tentry *e = &entries(g)[i];
        const ir_type *t = e->t;
        if (t->kind == IR_ENUM) {
            const char *up = cg_ident(g->a, e->ctype, 1);
            char buf[256];
            sb_printf(h, "/* %s: the values the LM may answer, in declaration order. */\n",
                       ir_type_str(t, buf, sizeof buf));
            sb_printf(h, "typedef enum %s {\n", e->ctype);
            for (size_t k = 0; k < t->n_values; k++)
                sb_printf(h, "    %s_%s = %zu,\n", up, value_ident(g, t->values[k]), k);
            sb_printf(h, "} %s;\n", e->ctype);
            sb_printf(h, "#define %s_COUNT %zu\n", up, t->n_values);
            sb_printf(h, "/* Each value's name as the LM writes it, e.g. %s_names[%s_%s] is \"",
                       e->ctype, up, value_ident(g, t->values[0]));
            cg_comment_text(h, t->values[0], "");
            sb_printf(h, "\". */\nextern const char *const %s_names[%s_COUNT];\n\n", e->ctype, up);
        } else if (t->kind == IR_LIST) {
            sb_printf(h, "/* A list of %s: items[0..len). */\n", cg_mangle(g, t->elem));
            sb_printf(h, "typedef struct %s {\n    %s%s*items;\n    size_t len;\n} %s;\n\n", e->ctype,
                       cg_ctype(g, t->elem), cg_type_is_string(t->elem) ? "" : " ", e->ctype);
        } else if (t->kind == IR_OPTIONAL && t->elem->kind != IR_STRING) {
            sb_printf(h, "/* An optional %s: value is meaningful only when present. */\n", cg_mangle(g, t->elem));
            const char *ect = cg_ctype(g, t->elem);
            sb_printf(h, "typedef struct %s {\n    bool present;\n    %s%svalue;\n} %s;\n\n", e->ctype, ect,
                       cg_type_is_string(t->elem) ? "" : " ", e->ctype);
        }
    }
}

/* How a converter of type t takes its C value: strings by value. */
static const char *in_param(cg_ctx *g, const ir_type *t)
{
    if (cg_type_is_string(t)) return "const char *x";
    return arena_printf(g->a, "const %s *x", cg_ctype(g, t));
}

static const char *in_arg(const ir_type *t, const char *expr, arena *a)
{
    return cg_type_is_string(t) ? expr : arena_printf(a, "&%s", expr);
}

static void emit_in(cg_ctx *g, strbuf *c, const cg_tentry *e)
{
    const ir_type *t = e->t;
    sb_printf(c, "static dsp_status in_%s(%s, dsp_value *v, dsp_error *err)\n{\n", e->mangle, in_param(g, t));
    switch (t->kind) {
    case IR_STRING:
        sb_puts(c, "    if (!x) return dsp_error_set(err, DSP_ERR_INVALID, \"a string input is NULL\");\n"
                    "    return dsp_value_set_string(v, x, strlen(x), err);\n");
        break;
    case IR_INT: sb_puts(c, "    (void)err;\n    *v = dsp_value_int(*x);\n    return DSP_OK;\n"); break;
    case IR_FLOAT: sb_puts(c, "    (void)err;\n    *v = dsp_value_float(*x);\n    return DSP_OK;\n"); break;
    case IR_BOOL: sb_puts(c, "    (void)err;\n    *v = dsp_value_bool(*x);\n    return DSP_OK;\n"); break;
    case IR_ENUM: {
        const char *up = cg_ident(g->a, e->ctype, 1);
        sb_printf(c,
                   "    if ((unsigned)*x >= %s_COUNT)\n"
                   "        return dsp_error_set(err, DSP_ERR_INVALID, \"%s value %%u is out of range\", (unsigned)*x);\n"
                   "    *v = dsp_value_enum((size_t)*x);\n    return DSP_OK;\n",
                   up, e->ctype);
        break;
    }
    case IR_LIST: {
        const char *em = cg_mangle(g, t->elem);
        sb_printf(c,
                   "    *v = dsp_value_list();\n"
                   "    for (size_t i = 0; i < x->len; i++) {\n"
                   "        dsp_value item = {0};\n"
                   "        dsp_status st = in_%s(%s, &item, err);\n"
                   "        if (st == DSP_OK) st = dsp_value_list_append(v, &item, err);\n"
                   "        if (st != DSP_OK) {\n"
                   "            dsp_value_free(&item);\n"
                   "            dsp_value_free(v);\n"
                   "            return st;\n"
                   "        }\n"
                   "    }\n    return DSP_OK;\n",
                   em, in_arg(t->elem, "x->items[i]", g->a));
        break;
    }
    case IR_OPTIONAL: {
        const char *em = cg_mangle(g, t->elem);
        const int s = t->elem->kind == IR_STRING;
        sb_printf(c,
                   "    if (%s) {\n        *v = dsp_value_none();\n        return DSP_OK;\n    }\n"
                   "    dsp_value inner = {0};\n"
                   "    dsp_status st = in_%s(%s, &inner, err);\n"
                   "    if (st == DSP_OK) st = dsp_value_some(v, &inner, err);\n"
                   "    dsp_value_free(&inner);\n    return st;\n",
                   s ? "!x" : "!x->present", em, s ? "x" : in_arg(t->elem, "x->value", g->a));
        break;
    }
    }
    sb_puts(c, "}\n\n");
}

static void emit_free(cg_ctx *g, strbuf *c, const cg_tentry *e)
{
    const ir_type *t = e->t;
    if (!has_free(t)) return;
    sb_printf(c, "static void free_%s(%s%s*x)\n{\n", e->mangle, e->ctype, cg_type_is_string(t) ? "" : " ");
    if (cg_type_is_string(t)) {
        sb_puts(c, "    free(*x);\n    *x = NULL;\n");
    } else if (t->kind == IR_LIST) {
        if (has_free(t->elem))
            sb_printf(c, "    for (size_t i = 0; i < x->len; i++) free_%s(&x->items[i]);\n", cg_mangle(g, t->elem));
        sb_puts(c, "    free(x->items);\n    x->items = NULL;\n    x->len = 0;\n");
    } else {
        sb_printf(c, "    if (x->present) free_%s(&x->value);\n    x->present = false;\n", cg_mangle(g, t->elem));
    }
    sb_puts(c, "}\n\n");
}

static void emit_out(cg_ctx *g, strbuf *c, const cg_tentry *e)
{
    const ir_type *t = e->t;
    sb_printf(c, "static dsp_status out_%s(const dsp_value *v, %s%s*x, dsp_error *err)\n{\n", e->mangle, e->ctype,
               cg_type_is_string(t) ? "" : " ");
    switch (t->kind) {
    case IR_STRING:
        sb_puts(c, "    *x = malloc(v->as.s.len + 1);\n"
                    "    if (!*x) return dsp_error_set(err, DSP_ERR_NOMEM, \"out of memory copying an output\");\n"
                    "    if (v->as.s.len) memcpy(*x, v->as.s.data, v->as.s.len);\n"
                    "    (*x)[v->as.s.len] = '\\0';\n    return DSP_OK;\n");
        break;
    case IR_INT: sb_puts(c, "    (void)err;\n    *x = v->as.i;\n    return DSP_OK;\n"); break;
    case IR_FLOAT: sb_puts(c, "    (void)err;\n    *x = v->as.f;\n    return DSP_OK;\n"); break;
    case IR_BOOL: sb_puts(c, "    (void)err;\n    *x = v->as.b;\n    return DSP_OK;\n"); break;
    case IR_ENUM: sb_printf(c, "    (void)err;\n    *x = (%s)v->as.e;\n    return DSP_OK;\n", e->ctype); break;
    case IR_LIST: {
        const char *em = cg_mangle(g, t->elem);
        sb_printf(c,
                   "    x->len = 0;\n"
                   "    x->items = calloc(v->as.list.len ? v->as.list.len : 1, sizeof *x->items);\n"
                   "    if (!x->items) return dsp_error_set(err, DSP_ERR_NOMEM, \"out of memory copying an output\");\n"
                   "    for (size_t i = 0; i < v->as.list.len; i++) {\n"
                   "        dsp_status st = out_%s(&v->as.list.items[i], &x->items[i], err);\n"
                   "        x->len = i + 1;\n"
                   "        if (st != DSP_OK) {\n"
                   "            free_%s(x);\n"
                   "            return st;\n"
                   "        }\n"
                   "    }\n    return DSP_OK;\n",
                   em, e->mangle);
        break;
    }
    case IR_OPTIONAL: {
        const char *em = cg_mangle(g, t->elem);
        if (t->elem->kind == IR_STRING)
            sb_printf(c, "    *x = NULL;\n    if (v->kind != DSP_TYPE_OPTIONAL || !v->as.some) return DSP_OK;\n"
                          "    return out_%s(v->as.some, x, err);\n", em);
        else
            sb_printf(c,
                       "    x->present = v->kind == DSP_TYPE_OPTIONAL && v->as.some;\n"
                       "    if (!x->present) return DSP_OK;\n"
                       "    return out_%s(v->as.some, &x->value, err);\n",
                       em);
        break;
    }
    }
    sb_puts(c, "}\n\n");
}

void cg_emit_type_defs(cg_ctx *g, strbuf *c)
{
    for (size_t i = 0; i < g->n_types; i++) {
        const cg_tentry *e = &entries(g)[i];
        if (e->t->kind != IR_ENUM) continue;
        sb_printf(c, "const char *const %s_names[%s_COUNT] = {", e->ctype, cg_ident(g->a, e->ctype, 1));
        for (size_t k = 0; k < e->t->n_values; k++) {
            sb_puts(c, k ? ", " : " ");
            cg_cstr(g, c, e->t->values[k], strlen(e->t->values[k]), 4);
        }
        sb_puts(c, " };\n\n");
    }
    for (size_t i = 0; i < g->n_types; i++) {
        const cg_tentry *e = &entries(g)[i];
        if (e->need_in) emit_in(g, c, e);
    }
    for (size_t i = 0; i < g->n_types; i++) {
        const cg_tentry *e = &entries(g)[i];
        /* free before out: out_list uses free_list on failure */
        if (e->need_out) emit_free(g, c, e);
        if (e->need_out) emit_out(g, c, e);
    }
}
