/* cg_types.c — C types for the fields of a program's input and output
 * structs, and the converters between them and libdsprt's dsp_value.
 *
 *   string            const char * (input) / char * (output, malloc'ed)
 *   int, float, bool  int64_t, double, bool
 *   enum              PREFIX_NAME enum, with a name table
 *   list<T>           struct { T *items; size_t len; }
 *   optional<string>  char *, NULL when absent
 *   optional<T>       struct { bool present; T value; }
 *   record R          PREFIX_r struct, one member per field, named like it
 *   map<string, T>    struct { char **keys; T *values; size_t len; }
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

int cg_type_has_free(const ir_type *t)
{
    switch (t->kind) {
    case IR_STRING: return 1;
    case IR_LIST: return 1;
    case IR_OPTIONAL: return t->elem->kind == IR_STRING || cg_type_has_free(t->elem);
    case IR_MAP: return 1;
    case IR_RECORD:
        for (size_t i = 0; i < t->n_fields; i++)
            if (cg_type_has_free(t->fields[i].type)) return 1;
        return 0;
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
    case IR_MAP: {
        cg_tentry *el = reg(g, t->elem);
        m = arena_printf(g->a, "map_%s", el->mangle);
        ct = arena_printf(g->a, "%s_%s", g->prefix, m);
        break;
    }
    case IR_RECORD:
        /* Fields first: their types are declared before the struct. */
        for (size_t i = 0; i < t->n_fields; i++) reg(g, t->fields[i].type);
        m = cg_snake(g->a, t->name);
        ct = arena_printf(g->a, "%s_%s", g->prefix, m);
        break;
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
    if (t->kind == IR_LIST || t->kind == IR_OPTIONAL || t->kind == IR_MAP) mark(g, t->elem, out);
    for (size_t i = 0; t->kind == IR_RECORD && i < t->n_fields; i++) mark(g, t->fields[i].type, out);
}

/* `T name;` with the pointer star against the name. */
static void member(strbuf *h, const char *ct, const char *name)
{
    sb_printf(h, "    %s%s%s;\n", ct, ct[strlen(ct) - 1] == '*' ? "" : " ", name);
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
        } else if (t->kind == IR_MAP) {
            const char *ect = cg_ctype(g, t->elem);
            sb_printf(h, "/* A map from strings to %s: keys[i] holds values[i], for i in [0, len). */\n",
                       cg_mangle(g, t->elem));
            sb_printf(h, "typedef struct %s {\n    char **keys;\n    %s%s*values;\n    size_t len;\n} %s;\n\n",
                       e->ctype, ect, cg_type_is_string(t->elem) ? "" : " ", e->ctype);
        } else if (t->kind == IR_RECORD) {
            sb_printf(h, "/* record %s", t->name);
            if (t->desc) {
                sb_puts(h, ": ");
                cg_comment_text(h, t->desc, "   ");
            }
            sb_printf(h, ".\n * In an output every string, list and map inside is malloc'ed and freed\n"
                          " * by %s_output_free; in an input everything is borrowed for the call. */\n",
                       g->prefix);
            sb_printf(h, "typedef struct %s {\n", e->ctype);
            for (size_t k = 0; k < t->n_fields; k++) {
                const ir_field *f = &t->fields[k];
                char buf[256];
                sb_printf(h, "    /* %s", ir_type_str(f->type, buf, sizeof buf));
                if (f->desc) {
                    sb_puts(h, ": ");
                    cg_comment_text(h, f->desc, "       ");
                }
                if (f->type->kind == IR_OPTIONAL && cg_type_is_string(f->type)) sb_puts(h, ". NULL when absent");
                sb_puts(h, " */\n");
                member(h, cg_ctype(g, f->type), cg_ident(g->a, f->name, 0));
            }
            sb_printf(h, "} %s;\n\n", e->ctype);
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

const char *cg_fn(cg_ctx *g, const char *what, const ir_type *t)
{
    if (t->kind == IR_STRING) return arena_printf(g->a, "dsp_glue_%s_string", what);
    return arena_printf(g->a, "%s_%s", what, cg_mangle(g, t));
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
        const char *em = cg_fn(g, "in", t->elem);
        sb_printf(c,
                   "    *v = dsp_value_list();\n"
                   "    for (size_t i = 0; i < x->len; i++) {\n"
                   "        dsp_value item = {0};\n"
                   "        dsp_status st = %s(%s, &item, err);\n"
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
        const char *em = cg_fn(g, "in", t->elem);
        const int s = t->elem->kind == IR_STRING;
        sb_printf(c,
                   "    if (%s) {\n        *v = dsp_value_none();\n        return DSP_OK;\n    }\n"
                   "    dsp_value inner = {0};\n"
                   "    dsp_status st = %s(%s, &inner, err);\n"
                   "    if (st == DSP_OK) st = dsp_value_some(v, &inner, err);\n"
                   "    dsp_value_free(&inner);\n    return st;\n",
                   s ? "!x" : "!x->present", em, s ? "x" : in_arg(t->elem, "x->value", g->a));
        break;
    }
    case IR_MAP:
        sb_printf(c,
                   "    *v = dsp_value_map();\n"
                   "    for (size_t i = 0; i < x->len; i++) {\n"
                   "        dsp_value item = {0};\n"
                   "        dsp_status st = x->keys[i] ? %s(%s, &item, err)\n"
                   "                                   : dsp_error_set(err, DSP_ERR_INVALID, \"map key %%zu is NULL\", i);\n"
                   "        if (st == DSP_OK) st = dsp_value_map_append(v, x->keys[i], &item, err);\n"
                   "        if (st != DSP_OK) {\n"
                   "            dsp_value_free(&item);\n"
                   "            dsp_value_free(v);\n"
                   "            return st;\n"
                   "        }\n"
                   "    }\n"
                   "    /* keys[] may repeat: the last value wins, as with puts (in O(n log n)) */\n"
                   "    dsp_status st = dsp_value_map_merge_repeats(v, err);\n"
                   "    if (st != DSP_OK) dsp_value_free(v);\n"
                   "    return st;\n",
                   cg_fn(g, "in", t->elem), in_arg(t->elem, "x->values[i]", g->a));
        break;
    case IR_RECORD:
        sb_printf(c, "    dsp_status st = dsp_value_record(v, %zu, err);\n", t->n_fields);
        for (size_t k = 0; k < t->n_fields; k++) {
            const ir_type *ft = t->fields[k].type;
            sb_printf(c, "    if (st == DSP_OK) st = %s(%s, &v->as.record.fields[%zu], err);\n", cg_fn(g, "in", ft),
                       in_arg(ft, arena_printf(g->a, "x->%s", cg_ident(g->a, t->fields[k].name, 0)), g->a), k);
        }
        sb_puts(c, "    if (st != DSP_OK) dsp_value_free(v);\n    return st;\n");
        break;
    }
    sb_puts(c, "}\n\n");
}

static void emit_free(cg_ctx *g, strbuf *c, const cg_tentry *e)
{
    const ir_type *t = e->t;
    if (!cg_type_has_free(t)) return;
    sb_printf(c, "static void free_%s(%s%s*x)\n{\n", e->mangle, e->ctype, cg_type_is_string(t) ? "" : " ");
    if (cg_type_is_string(t)) {
        sb_puts(c, "    free(*x);\n    *x = NULL;\n");
    } else if (t->kind == IR_LIST) {
        if (cg_type_has_free(t->elem))
            sb_printf(c, "    for (size_t i = 0; i < x->len; i++) %s(&x->items[i]);\n", cg_fn(g, "free", t->elem));
        sb_puts(c, "    free(x->items);\n    x->items = NULL;\n    x->len = 0;\n");
    } else if (t->kind == IR_MAP) {
        sb_puts(c, "    for (size_t i = 0; i < x->len; i++) {\n        if (x->keys) free(x->keys[i]);\n");
        if (cg_type_has_free(t->elem))
            sb_printf(c, "        if (x->values) %s(&x->values[i]);\n", cg_fn(g, "free", t->elem));
        sb_puts(c, "    }\n    free(x->keys);\n    free(x->values);\n"
                   "    x->keys = NULL;\n    x->values = NULL;\n    x->len = 0;\n");
    } else if (t->kind == IR_RECORD) {
        for (size_t k = 0; k < t->n_fields; k++)
            if (cg_type_has_free(t->fields[k].type))
                sb_printf(c, "    %s(&x->%s);\n", cg_fn(g, "free", t->fields[k].type),
                           cg_ident(g->a, t->fields[k].name, 0));
    } else {
        sb_printf(c, "    if (x->present) %s(&x->value);\n    x->present = false;\n", cg_fn(g, "free", t->elem));
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
        const char *em = cg_fn(g, "out", t->elem);
        sb_printf(c,
                   "    x->len = 0;\n"
                   "    x->items = calloc(v->as.list.len ? v->as.list.len : 1, sizeof *x->items);\n"
                   "    if (!x->items) return dsp_error_set(err, DSP_ERR_NOMEM, \"out of memory copying an output\");\n"
                   "    for (size_t i = 0; i < v->as.list.len; i++) {\n"
                   "        dsp_status st = %s(&v->as.list.items[i], &x->items[i], err);\n"
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
        const char *em = cg_fn(g, "out", t->elem);
        if (t->elem->kind == IR_STRING)
            sb_printf(c, "    *x = NULL;\n    if (v->kind != DSP_TYPE_OPTIONAL || !v->as.some) return DSP_OK;\n"
                          "    return %s(v->as.some, x, err);\n", em);
        else
            sb_printf(c,
                       "    x->present = v->kind == DSP_TYPE_OPTIONAL && v->as.some;\n"
                       "    if (!x->present) return DSP_OK;\n"
                       "    return %s(v->as.some, &x->value, err);\n",
                       em);
        break;
    }
    case IR_MAP: {
        const char *em = cg_fn(g, "out", t->elem);
        sb_printf(c,
                   "    size_t n = v->as.map.len ? v->as.map.len : 1;\n"
                   "    x->len = 0;\n"
                   "    x->keys = calloc(n, sizeof *x->keys);\n"
                   "    x->values = calloc(n, sizeof *x->values);\n"
                   "    if (!x->keys || !x->values) {\n"
                   "        free_%s(x);\n"
                   "        return dsp_error_set(err, DSP_ERR_NOMEM, \"out of memory copying an output\");\n"
                   "    }\n"
                   "    for (size_t i = 0; i < v->as.map.len; i++) {\n"
                   "        size_t kn = strlen(v->as.map.keys[i]);\n"
                   "        x->len = i + 1;\n"
                   "        x->keys[i] = malloc(kn + 1);\n"
                   "        dsp_status st = x->keys[i] ? %s(&v->as.map.vals[i], &x->values[i], err)\n"
                   "                                   : dsp_error_set(err, DSP_ERR_NOMEM, \"out of memory copying an output\");\n"
                   "        if (x->keys[i]) memcpy(x->keys[i], v->as.map.keys[i], kn + 1);\n"
                   "        if (st != DSP_OK) {\n"
                   "            free_%s(x);\n"
                   "            return st;\n"
                   "        }\n"
                   "    }\n    return DSP_OK;\n",
                   e->mangle, em, e->mangle);
        break;
    }
    case IR_RECORD: {
        sb_printf(c, "    memset(x, 0, sizeof *x);\n"
                      "    if (v->kind != DSP_TYPE_RECORD || v->as.record.len != %zu)\n"
                      "        return dsp_error_set(err, DSP_ERR_INVALID, \"internal: a %s value has the wrong shape\");\n"
                      "    dsp_status st = DSP_OK;\n", t->n_fields, t->name);
        for (size_t k = 0; k < t->n_fields; k++)
            sb_printf(c, "    if (st == DSP_OK) st = %s(&v->as.record.fields[%zu], &x->%s, err);\n",
                       cg_fn(g, "out", t->fields[k].type), k, cg_ident(g->a, t->fields[k].name, 0));
        if (cg_type_has_free(t))
            sb_printf(c, "    if (st != DSP_OK) free_%s(x);\n", e->mangle);
        sb_puts(c, "    return st;\n");
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
        /* A plain string's converters are libdsprt's (dsp/glue.h). */
        if (e->need_in && e->t->kind != IR_STRING) emit_in(g, c, e);
    }
    for (size_t i = 0; i < g->n_types; i++) {
        const cg_tentry *e = &entries(g)[i];
        /* free before out: out_list uses free_list on failure */
        if (e->need_out && e->t->kind != IR_STRING) emit_free(g, c, e);
        if (e->need_out && e->t->kind != IR_STRING) emit_out(g, c, e);
    }
}
