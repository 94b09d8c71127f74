/* cg_tool.c — the call of an external C tool in generated code, for every
 * convention of docs/c-headers.md: scalars and strings in, lists in as a
 * temporary C array plus its length, one result returned or several written
 * through output parameters, an int status.
 *
 * The caller (cg_module.c) has filled `args[0..]` with the tool's IN
 * parameters in C order and wraps what we emit in a block that frees args
 * and reports a failure with the .dsp call site. We emit: range checks and
 * C arrays for the arguments, zeroed output slots, the call, the status
 * check, the conversion of each result into the variable's slots, and
 * frees of every temporary and every output (also when the call failed).
 *
 * Integers: a .dsp int is int64_t. Passing one to a C type that may be
 * narrower (or unsigned) is checked against that type's <limits.h> or
 * <stdint.h> bounds, spelled by name so the generated file is the same on
 * every machine; reading back an unsigned type that may exceed INT64_MAX
 * is checked too. The helpers are emitted only when a call uses them, so
 * programs without such tools generate the same bytes as before. */
#include <stdio.h>
#include <string.h>

#include "cg.h"
#include "cheader.h"
#include "ir_runtime.h"

static const char *cstruct_sym(cg_ctx *g, const ir_cstruct *cs);
static void emit_cmap_tables(cg_ctx *g, strbuf *c);

static void ind(strbuf *c, int n)
{
    for (int i = 0; i < n; i++) sb_puts(c, "    ");
}

/* "T *name" / "T name" for a C type that may end in '*'. */
static void decl(strbuf *c, const char *ctype, const char *name)
{
    sb_printf(c, "%s%s%s", ctype, ctype[strlen(ctype) - 1] == '*' ? "" : " ", name);
}

/* A scalar C type without a leading `const` (as an element or pointee). */
static const char *unconst(const char *ctype)
{
    return strncmp(ctype, "const ", 6) == 0 && ctype[strlen(ctype) - 1] != '*' ? ctype + 6 : ctype;
}

/* How to spell an integer type's bounds in portable C. */
typedef struct int_bounds {
    const char *lo, *hi;      /* C expressions; NULL lo/hi: no check needed */
    int needs_limits;         /* the macros live in <limits.h> */
    int check_out;            /* an unsigned type that may exceed INT64_MAX */
} int_bounds;

/* The bounds of the integer type ctype (a name ch_scalar_find knows).
 * Signed types that C guarantees are at least 64 bits wide take any int64
 * unchecked; the others are checked whatever their size on this machine,
 * so generated code does not depend on where dspcc ran. */
static int int_bounds_of(cg_ctx *g, const char *ctype, int_bounds *b)
{
    memset(b, 0, sizeof *b);
    ctype = unconst(ctype);
    const ch_scalar *s = ch_scalar_find(ctype);
    if (!s || (s->cls != CH_SIGNED && s->cls != CH_UNSIGNED)) return 0;
    int uns = s->cls == CH_UNSIGNED;
    if (strcmp(ctype, "int64_t") == 0 || strcmp(ctype, "long long") == 0 || strcmp(ctype, "intmax_t") == 0)
        return 1;
    if (strcmp(ctype, "ssize_t") == 0) {
        /* SSIZE_MAX is POSIX, not C17; ssize_t has size_t's width. */
        b->lo = "-(int64_t)(SIZE_MAX / 2) - 1";
        b->hi = "SIZE_MAX / 2";
        return 1;
    }
    const char *base = ctype;
    if (uns && strncmp(base, "unsigned ", 9) == 0) base += 9;
    const char *stem;
    size_t bl = strlen(base);
    if (bl > 2 && strcmp(base + bl - 2, "_t") == 0) {
        stem = cg_ident(g->a, arena_printf(g->a, "%.*s", (int)(bl - 2), base), 1); /* uint32_t -> UINT32 */
    } else {
        stem = strcmp(base, "short") == 0 ? "SHRT" : strcmp(base, "long long") == 0 ? "LLONG"
             : strcmp(base, "long") == 0 ? "LONG" : "INT";
        if (uns) stem = arena_printf(g->a, "U%s", stem);
        b->needs_limits = 1;
    }
    b->lo = uns ? "0" : arena_printf(g->a, "%s_MIN", stem);
    b->hi = arena_printf(g->a, "%s_MAX", stem);
    b->check_out = uns && strcmp(ctype, "uint8_t") != 0 && strcmp(ctype, "uint16_t") != 0 &&
                   strcmp(ctype, "uint32_t") != 0;
    return 1;
}

/* Emits the range check of the int64 expression `v` against the C type of
 * a parameter (idx: the list element's index expression, or NULL). */
static void emit_int_in(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const ir_tool_param *p, const char *ctype,
                        const char *v, const char *idx)
{
    int_bounds b;
    if (!int_bounds_of(g, ctype, &b) || !b.lo) return;
    if (b.needs_limits) g->use_limits = 1;
    ind(c, lvl);
    /* In a list's loop, st is already DSP_OK. */
    sb_printf(c, "%sst = dsp_glue_int_in(%s, %s, %s, \"%s\", \"%s\", \"%s\", %s, err);\n",
               idx ? "" : "if (st == DSP_OK) ", v, b.lo, b.hi, t->name, p->name, ctype, idx ? idx : "-1");
}

/* Emits the check of the double expression `v` passed as a C float. */
static void emit_float_in(strbuf *c, int lvl, const ir_tool *t, const ir_tool_param *p, const char *v,
                          const char *idx)
{
    ind(c, lvl);
    sb_printf(c, "%sst = dsp_glue_float_in(%s, \"%s\", \"%s\", %s, err);\n", idx ? "" : "if (st == DSP_OK) ", v, t->name,
               p->name, idx ? idx : "-1");
}

/* The C value of an IN scalar argument args[i]. */
static const char *scalar_arg(cg_ctx *g, const ir_tool_param *p, size_t i)
{
    switch (p->type->kind) {
    case IR_STRING: return arena_printf(g->a, "args[%zu].as.s.data ? args[%zu].as.s.data : \"\"", i, i);
    case IR_INT: return arena_printf(g->a, "(%s)args[%zu].as.i", p->ctype, i);
    case IR_FLOAT: return arena_printf(g->a, "(%s)args[%zu].as.f", p->ctype, i);
    case IR_BOOL: return arena_printf(g->a, "(%s)args[%zu].as.b", p->ctype, i);
    case IR_ENUM: return arena_printf(g->a, "(%s)args[%zu].as.e", p->ctype, i);
    default: return arena_printf(g->a, "args[%zu]", i);
    }
}

static const ir_type *list_elem(const ir_type *t)
{
    return t && t->kind == IR_LIST ? t->elem : NULL;
}

/* A list argument args[i] as a temporary C array `a_NAME` of elem_ctype:
 * strings point into the values (no copies), numbers are converted. */
static void emit_list_in(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const ir_tool_param *p, size_t i)
{
    const ir_type *e = list_elem(p->type);
    const char *et = unconst(p->elem_ctype);
    const char *name = cg_ident(g->a, p->name, 0);
    const char *arr = arena_printf(g->a, "a_%s", name);
    const char *item = arena_printf(g->a, "args[%zu].as.list.items[i]", i);
    ind(c, lvl);
    decl(c, et, arena_printf(g->a, "*%s", arr));
    sb_printf(c, " = st == DSP_OK ? dsp_glue_array(args[%zu].as.list.len, sizeof *%s, &st, err) : NULL;\n", i, arr);
    ind(c, lvl);
    sb_printf(c, "for (size_t i = 0; %s && st == DSP_OK && i < args[%zu].as.list.len; i++)", arr, i);
    int_bounds b;
    int narrow_int = e && e->kind == IR_INT && int_bounds_of(g, et, &b) && b.lo;
    int narrow_float = e && e->kind == IR_FLOAT && strcmp(et, "float") == 0;
    if (narrow_int || narrow_float) {
        const char *field = narrow_int ? "i" : "f";
        sb_puts(c, " {\n");
        if (narrow_int)
            emit_int_in(g, c, lvl + 1, t, p, et, arena_printf(g->a, "%s.as.i", item), "(long long)i");
        else
            emit_float_in(c, lvl + 1, t, p, arena_printf(g->a, "%s.as.f", item), "(long long)i");
        ind(c, lvl + 1);
        sb_printf(c, "if (st == DSP_OK) %s[i] = (%s)%s.as.%s;\n", arr, et, item, field);
        ind(c, lvl);
        sb_puts(c, "}\n");
        return;
    }
    sb_puts(c, "\n");
    ind(c, lvl + 1);
    if (!e || e->kind == IR_STRING)
        sb_printf(c, "%s[i] = dsp_value_cstr(&%s);\n", arr, item);
    else if (e->kind == IR_INT)
        sb_printf(c, "%s[i] = (%s)%s.as.i;\n", arr, et, item);
    else if (e->kind == IR_FLOAT)
        sb_printf(c, "%s[i] = (%s)%s.as.f;\n", arr, et, item);
    else
        sb_printf(c, "%s[i] = %s.as.b;\n", arr, item);
}

static int is_map(const ir_tool_param *p)
{
    return p->type && p->type->kind == IR_MAP && (p->role == IR_PARAM_IN || p->role == IR_PARAM_OUT);
}

/* The parameter a LEN or VALUES parameter i belongs to: the list just
 * before it, or the map before its values. */
static const ir_tool_param *owner_of(const ir_tool *t, size_t i)
{
    if (i > 1 && t->params[i].role == IR_PARAM_LEN && t->params[i - 1].role == IR_PARAM_VALUES) return &t->params[i - 2];
    return i > 0 ? &t->params[i - 1] : NULL;
}

/* The table of map parameter p of t: "k_cmap_tool_x" (its type: "..._type"). */
static const char *cmap_sym(cg_ctx *g, const ir_tool *t, const ir_tool_param *p)
{
    return arena_printf(g->a, "k_cmap_%s_%s", cg_ident(g->a, t->name, 0), cg_ident(g->a, p->name, 0));
}

/* The zeroed local an OUT (or an output list's LEN) parameter writes to. */
static void emit_out_slot(cg_ctx *g, strbuf *c, int lvl, const ir_tool_param *p)
{
    const char *slot = arena_printf(g->a, "o_%s", cg_ident(g->a, p->name, 0));
    ind(c, lvl);
    if (is_map(p)) {
        sb_printf(c, "char **%s = NULL;\n", slot); /* `char ***x_keys` */
    } else if (p->role == IR_PARAM_VALUES) {
        /* `T **x_values`: the tool mallocs the values. */
        const ir_tool_param *k = p - 1;
        decl(c, k->cstruct ? k->cstruct->c_name : unconst(k->elem_ctype), arena_printf(g->a, "*%s", slot));
        sb_puts(c, " = NULL;\n");
    } else if (p->cstruct && p->type->kind == IR_RECORD) {
        /* `T *out`: the tool fills our zeroed struct. */
        decl(c, p->cstruct->c_name, slot);
        sb_printf(c, ";\n");
        ind(c, lvl);
        sb_printf(c, "memset(&%s, 0, sizeof %s);\n", slot, slot);
    } else if (p->cstruct) {
        /* `T **out`: an array, or one struct, the tool mallocs. */
        decl(c, p->cstruct->c_name, arena_printf(g->a, "*%s", slot));
        sb_puts(c, " = NULL;\n");
    } else if (p->role == IR_PARAM_LEN) {
        sb_printf(c, "size_t %s = 0;\n", slot);
    } else if (list_elem(p->type)) {
        decl(c, unconst(p->elem_ctype), arena_printf(g->a, "*%s", slot));
        sb_puts(c, " = NULL;\n");
    } else {
        decl(c, unconst(p->elem_ctype), slot);
        sb_puts(c, p->type->kind == IR_STRING ? " = NULL;\n" : " = 0;\n");
    }
}

/* An output the tool mallocs: a string or an array. */
static int allocated_output(const ir_tool_param *p)
{
    return p->role == IR_PARAM_OUT && (list_elem(p->type) || p->type->kind == IR_STRING || p->cstruct || is_map(p));
}

/* The index in args of IN parameter i. */
static size_t in_index(const ir_tool *t, size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < i; j++) k += t->params[j].role == IR_PARAM_IN;
    return k;
}

/* The LEN parameter after parameter i, if any. */
static const ir_tool_param *len_of(const ir_tool *t, size_t i)
{
    if (is_map(&t->params[i])) i++; /* after its values */
    return i + 1 < t->n_params && t->params[i + 1].role == IR_PARAM_LEN ? &t->params[i + 1] : NULL;
}

/* OUT parameter p (with its LEN) into slot, e.g. `v_r[1]`, of the variable. */
static void emit_out_convert(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const ir_tool_param *p,
                             const ir_tool_param *len, const char *slot)
{
    const char *dst = arena_printf(g->a, "&%s", slot);
    const char *o = arena_printf(g->a, "o_%s", cg_ident(g->a, p->name, 0));
    const ir_type *e = list_elem(p->type);
    if (is_map(p)) {
        const char *sym = cmap_sym(g, t, p);
        ind(c, lvl);
        sb_printf(c, "if (st == DSP_OK)\n");
        ind(c, lvl + 1);
        sb_printf(c, "st = dsp_cmap_out(%s, %s_type, %s, o_%s, o_%s, %s, \"%s\", \"output `%s`\", err);\n", sym, sym, o,
                  cg_ident(g->a, p[1].name, 0), cg_ident(g->a, len->name, 0), dst, t->name, p->name);
        return;
    }
    if (p->cstruct) {
        const char *sym = cstruct_sym(g, p->cstruct);
        ind(c, lvl);
        if (p->type->kind == IR_RECORD)
            sb_printf(c, "if (st == DSP_OK) st = dsp_cstruct_out(&%s, &%s, %s, \"%s\", \"output `%s`\", err);\n", sym, o,
                      dst, t->name, p->name);
        else if (e)
            sb_printf(c, "if (st == DSP_OK) st = dsp_cstruct_array_out(&%s, %s, o_%s, %s, \"%s\", \"output `%s`\", err);\n",
                      sym, o, cg_ident(g->a, len->name, 0), dst, t->name, p->name);
        else
            sb_printf(c, "if (st == DSP_OK) st = dsp_cstruct_optional_out(&%s, %s, %s, \"%s\", \"output `%s`\", err);\n",
                      sym, o, dst, t->name, p->name);
        return;
    }
    int_bounds b;
    int uns_check = int_bounds_of(g, p->elem_ctype, &b) && b.check_out;
    if (!e) {
        ind(c, lvl);
        switch (p->type->kind) {
        case IR_STRING:
            sb_printf(c, "if (st == DSP_OK) st = dsp_glue_out_str(%s, %s, \"%s\", \"%s\", err);\n", dst, o, t->name,
                       p->name);
            return;
        case IR_INT:
            if (uns_check) {
                sb_printf(c, "if (st == DSP_OK) st = dsp_glue_u64_out(%s, (uint64_t)%s, \"%s\", \"%s\", \"%s\", -1, err);\n",
                           dst, o, t->name, p->name, unconst(p->elem_ctype));
            } else {
                sb_printf(c, "if (st == DSP_OK) %s = dsp_value_int((int64_t)%s);\n", slot, o);
            }
            return;
        case IR_FLOAT: sb_printf(c, "if (st == DSP_OK) %s = dsp_value_float((double)%s);\n", slot, o); return;
        default: sb_printf(c, "if (st == DSP_OK) %s = dsp_value_bool(%s);\n", slot, o); return;
        }
    }
    const char *n = len ? arena_printf(g->a, "o_%s", cg_ident(g->a, len->name, 0)) : "0";
    ind(c, lvl);
    if (e->kind == IR_STRING) {
        sb_printf(c, "if (st == DSP_OK) st = dsp_glue_out_strs(%s, %s, %s, \"%s\", \"%s\", err);\n", dst, o, n, t->name,
                   p->name);
        return;
    }
    sb_printf(c, "if (st == DSP_OK) st = dsp_glue_out_list(%s, %s, %s, \"%s\", \"%s\", err);\n", dst, o, n, t->name,
               p->name);
    ind(c, lvl);
    sb_printf(c, "for (size_t i = 0; st == DSP_OK && i < %s; i++) ", n);
    if (e->kind == IR_INT && uns_check) {
        sb_puts(c, "{\n");
        ind(c, lvl + 1);
        sb_puts(c, "dsp_value v = dsp_value_int(0);\n");
        ind(c, lvl + 1);
        sb_printf(c, "st = dsp_glue_u64_out(&v, (uint64_t)%s[i], \"%s\", \"%s\", \"%s\", (long long)i, err);\n", o, t->name,
                   p->name, unconst(p->elem_ctype));
        ind(c, lvl + 1);
        sb_printf(c, "if (st == DSP_OK) st = dsp_value_list_append(%s, &v, err);\n", dst);
        ind(c, lvl);
        sb_puts(c, "}\n");
        return;
    }
    sb_puts(c, "{\n");
    ind(c, lvl + 1);
    if (e->kind == IR_INT)
        sb_printf(c, "dsp_value v = dsp_value_int((int64_t)%s[i]);\n", o);
    else if (e->kind == IR_FLOAT)
        sb_printf(c, "dsp_value v = dsp_value_float((double)%s[i]);\n", o);
    else
        sb_printf(c, "dsp_value v = dsp_value_bool(%s[i]);\n", o);
    ind(c, lvl + 1);
    sb_printf(c, "st = dsp_value_list_append(%s, &v, err);\n", dst);
    ind(c, lvl);
    sb_puts(c, "}\n");
}

/* A tool without outputs: its return value is the variable's one slot. */
static void emit_return_value(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const char *dst)
{
    if (!t->type || strcmp(t->c_return, "void") == 0) return;
    ind(c, lvl);
    if (t->ret_cstruct) {
        /* A struct by value: read, then free what the tool malloc'ed in it. */
        const char *sym = cstruct_sym(g, t->ret_cstruct);
        sb_printf(c, "st = dsp_cstruct_out(&%s, &r, &%s[0], \"%s\", \"its result\", err);\n", sym, dst, t->name);
        ind(c, lvl);
        sb_printf(c, "dsp_cstruct_release(&%s, &r, DSP_CSTRUCT_FROM_TOOL);\n", sym);
        return;
    }
    switch (t->type->kind) {
    case IR_STRING: {
        int owned = strstr(t->c_return, "const") == NULL;
        sb_printf(c,
                   "if (!r)\n"
                   "%*sst = dsp_error_set(err, DSP_ERR_INVALID, \"tool `%s` returned NULL\");\n"
                   "%*selse\n"
                   "%*sst = dsp_value_set_string(&%s[0], r, strlen(r), err);\n",
                   4 * (lvl + 1), "", t->name, 4 * lvl, "", 4 * (lvl + 1), "", dst);
        if (owned) {
            ind(c, lvl);
            sb_puts(c, "free(r); /* the tool's result is malloc'ed and ours to free */\n");
        }
        return;
    }
    case IR_INT: {
        int_bounds b;
        if (int_bounds_of(g, t->c_return, &b) && b.check_out) {
            sb_printf(c, "st = dsp_glue_u64_out(&%s[0], (uint64_t)r, \"%s\", NULL, \"%s\", -1, err);\n", dst, t->name,
                       unconst(t->c_return));
        } else {
            sb_printf(c, "%s[0] = dsp_value_int((int64_t)r);\n", dst);
        }
        return;
    }
    case IR_FLOAT: sb_printf(c, "%s[0] = dsp_value_float((double)r);\n", dst); return;
    case IR_BOOL: sb_printf(c, "%s[0] = dsp_value_bool(r != 0);\n", dst); return;
    default: sb_printf(c, "(void)r;\n"); return;
    }
}

/* ---- C structs (docs/c-headers.md, "Records and C structs") ---- */

static void add_cstruct(cg_ctx *g, const ir_cstruct *cs, size_t *cap)
{
    if (!cs) return;
    for (size_t i = 0; i < g->n_cstructs; i++)
        if (g->cstructs[i] == cs) return;
    /* The structs it holds first: a definition needs theirs. */
    for (size_t i = 0; i < cs->n_members; i++) add_cstruct(g, cs->members[i].sub, cap);
    if (g->n_cstructs == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        const ir_cstruct **n = arena_array(g->a, *cap, sizeof *n);
        if (g->n_cstructs) memcpy(n, g->cstructs, g->n_cstructs * sizeof *n);
        g->cstructs = n;
    }
    g->cstructs[g->n_cstructs++] = cs;
}

size_t cg_tool_cstructs(cg_ctx *g, const ir_cstruct ***out)
{
    if (!g->cstructs_done) {
        g->cstructs_done = 1;
        size_t cap = 0;
        const ir_program *p = g->in->prog;
        for (size_t i = 0; i < p->n_tools; i++) {
            const ir_tool *t = p->tools[i];
            if (!cg_tool_called(g, t)) continue;
            for (size_t k = 0; k < t->n_params; k++) add_cstruct(g, t->params[k].cstruct, &cap);
            add_cstruct(g, t->ret_cstruct, &cap);
        }
    }
    *out = (const ir_cstruct **)g->cstructs;
    return g->n_cstructs;
}

/* The table of struct cs: "k_cstruct2". */
static const char *cstruct_sym(cg_ctx *g, const ir_cstruct *cs)
{
    const ir_cstruct **all;
    size_t n = cg_tool_cstructs(g, &all);
    for (size_t i = 0; i < n; i++)
        if (all[i] == cs) return arena_printf(g->a, "k_cstruct%zu", i);
    return "k_cstruct_missing";
}

int cg_emit_cstruct_defs(cg_ctx *g, strbuf *c)
{
    const ir_cstruct **all;
    size_t n = cg_tool_cstructs(g, &all);
    int ssize = 0;
    if (!n) return 0;
    sb_puts(c, "/* The tools' C structs, member for member as their headers declare them (the same layout). */\n");
    for (size_t i = 0; i < n; i++) {
        const ir_cstruct *cs = all[i];
        sb_printf(c, "%s {\n", cs->tagged ? cs->c_name : "typedef struct");
        for (size_t k = 0; k < cs->n_members; k++) {
            const char *ct = cs->members[k].ctype;
            if (strstr(ct, "ssize_t")) ssize = 1;
            ind(c, 1);
            decl(c, ct, cs->members[k].name);
            sb_puts(c, ";\n");
        }
        sb_printf(c, "}%s%s;\n", cs->tagged ? "" : " ", cs->tagged ? "" : cs->c_name);
    }
    sb_puts(c, "\n");
    return ssize;
}

static const char *cm_kind_name(dsp_cm_kind k)
{
    switch (k) {
    case DSP_CM_SIGNED: return "DSP_CM_SIGNED";
    case DSP_CM_UNSIGNED: return "DSP_CM_UNSIGNED";
    case DSP_CM_FLOAT: return "DSP_CM_FLOAT";
    case DSP_CM_BOOL: return "DSP_CM_BOOL";
    case DSP_CM_STRING: return "DSP_CM_STRING";
    case DSP_CM_STRUCT: return "DSP_CM_STRUCT";
    case DSP_CM_STRUCT_PTR: return "DSP_CM_STRUCT_PTR";
    case DSP_CM_LIST: return "DSP_CM_LIST";
    case DSP_CM_PRESENT: return "DSP_CM_PRESENT";
    case DSP_CM_MAP: return "DSP_CM_MAP";
    case DSP_CM_MAP_VALUES: return "DSP_CM_MAP_VALUES";
    default: return "DSP_CM_COUNT";
    }
}

void cg_emit_cstruct_tables(cg_ctx *g, strbuf *c)
{
    const ir_cstruct **all;
    size_t n = cg_tool_cstructs(g, &all);
    for (size_t i = 0; i < n; i++) {
        const ir_cstruct *cs = all[i];
        const char *rec = cg_rt_type(g, c, cs->record);
        const char *sym = cstruct_sym(g, cs);
        sb_printf(c, "/* %s, the tools' record %s: each member, where it is, and the field it holds. */\n",
                  cs->c_name, cs->record->name);
        sb_printf(c, "static const dsp_cmember %s_m[%zu] = {\n", sym, cs->n_members);
        for (size_t k = 0; k < cs->n_members; k++) {
            const ir_cmember *m = &cs->members[k];
            dsp_cm_kind kind, elem;
            const char *sized;
            if (!irt_cmember_kind(cs, m, &kind, &elem, &sized)) {
                g->failed = 1;
                dsp_error_set(g->err, DSP_ERR_INVALID, "internal: member `%s` of `%s` has no conversion", m->name,
                              cs->c_name);
                continue;
            }
            sb_printf(c, "    { .name = \"%s\", .kind = %s, .offset = offsetof(%s, %s)", m->name, cm_kind_name(kind),
                      cs->c_name, m->name);
            if (sized) sb_printf(c, ", .size = sizeof(%s)", sized);
            if (kind != DSP_CM_COUNT && kind != DSP_CM_PRESENT && kind != DSP_CM_MAP_VALUES)
                sb_printf(c, ", .field = %ld", m->field);
            if (k > 0 && cs->members[k - 1].is_flag) /* an optional scalar: its flag */
                sb_printf(c, ", .count_offset = offsetof(%s, %s)", cs->c_name, cs->members[k - 1].name);
            if (m->borrowed) sb_puts(c, ", .borrowed = true");
            if (kind == DSP_CM_LIST || kind == DSP_CM_MAP_VALUES) {
                sb_printf(c, ", .elem = %s", cm_kind_name(elem));
                if (m->elem_borrowed) sb_puts(c, ", .elem_borrowed = true");
            }
            if (kind == DSP_CM_MAP && m->elem_borrowed) sb_puts(c, ", .elem_borrowed = true"); /* const keys */
            /* A list's count is right after it, a map's after its values. */
            size_t cnt = k + (kind == DSP_CM_LIST ? 1 : 2);
            if ((kind == DSP_CM_LIST || kind == DSP_CM_MAP) && cnt < cs->n_members)
                sb_printf(c, ", .count_offset = offsetof(%s, %s)", cs->c_name, cs->members[cnt].name);
            if (m->sub) sb_printf(c, ", .sub = &%s", cstruct_sym(g, m->sub));
            int listed = kind == DSP_CM_LIST || kind == DSP_CM_MAP_VALUES;
            if (sized && (kind == DSP_CM_SIGNED || kind == DSP_CM_UNSIGNED || kind == DSP_CM_FLOAT ||
                          (listed && elem != DSP_CM_STRUCT && elem != DSP_CM_STRING)))
                sb_printf(c, ", .ctype = \"%s\"", sized);
            sb_puts(c, " },\n");
        }
        sb_printf(c, "};\nstatic const dsp_cstruct %s = { \"%s\", sizeof(%s), %s, %s_m, %zu };\n\n", sym, cs->c_name,
                  cs->c_name, rec, sym, cs->n_members);
    }
    emit_cmap_tables(g, c);
}

int cg_tool_uses_cmap(cg_ctx *g)
{
    const ir_program *prog = g->in->prog;
    for (size_t i = 0; i < prog->n_tools; i++)
        for (size_t k = 0; k < prog->tools[i]->n_params; k++)
            if (is_map(&prog->tools[i]->params[k]) && cg_tool_called(g, prog->tools[i])) return 1;
    return 0;
}

/* The tables of the map parameters of the tools called: the keys and one
 * value (dsp_cmap_in, dsp_cmap_out), and the map's type. */
static void emit_cmap_tables(cg_ctx *g, strbuf *c)
{
    const ir_program *prog = g->in->prog;
    for (size_t i = 0; i < prog->n_tools; i++) {
        const ir_tool *t = prog->tools[i];
        if (!cg_tool_called(g, t)) continue;
        for (size_t k = 0; k + 1 < t->n_params; k++) {
            const ir_tool_param *p = &t->params[k];
            if (!is_map(p)) continue;
            const char *sym = cmap_sym(g, t, p), *type = cg_rt_type(g, c, p->type), *sized = NULL;
            dsp_cm_kind elem = DSP_CM_STRING;
            if (!irt_celem_kind(p->elem_ctype, p->cstruct, &elem, &sized)) {
                g->failed = 1;
                dsp_error_set(g->err, DSP_ERR_INVALID, "internal: map `%s` of tool `%s` has no conversion", p->name,
                              t->name);
                continue;
            }
            sb_printf(c, "/* Map `%s` of tool %s: its keys, and one value. */\n", p->name, t->name);
            sb_printf(c, "static const dsp_cmember %s[2] = {\n    { .name = \"%s\", .kind = DSP_CM_MAP },\n", sym, p->name);
            sb_printf(c, "    { .name = \"%s\", .kind = DSP_CM_MAP_VALUES, .elem = %s, .size = sizeof(%s)", p[1].name,
                      cm_kind_name(elem), sized);
            if (p->cstruct) sb_printf(c, ", .sub = &%s", cstruct_sym(g, p->cstruct));
            if (elem != DSP_CM_STRUCT && elem != DSP_CM_STRING) sb_printf(c, ", .ctype = \"%s\"", sized);
            sb_printf(c, " },\n};\nstatic const dsp_type *const %s_type = %s;\n\n", sym, type);
        }
    }
}

/* What a struct parameter is called in messages: "parameter `a`". */
static const char *what_of(cg_ctx *g, const ir_tool_param *p)
{
    return arena_printf(g->a, p->role == IR_PARAM_OUT ? "output `%s`" : "parameter `%s`", p->name);
}

/* A map argument args[i] as the arrays `a_NAME` (keys) and `a_VALUES`. */
static void emit_map_in(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const ir_tool_param *p, size_t i)
{
    const char *id = cg_ident(g->a, p->name, 0), *vid = cg_ident(g->a, p[1].name, 0);
    const char *sym = cmap_sym(g, t, p);
    ind(c, lvl);
    sb_printf(c, "const char **a_%s = NULL;\n", id);
    ind(c, lvl);
    sb_printf(c, "void *a_%s = NULL;\n", vid);
    ind(c, lvl);
    sb_printf(c, "size_t n_a_%s = 0;\n", id);
    ind(c, lvl);
    sb_printf(c, "if (st == DSP_OK)\n");
    ind(c, lvl + 1);
    sb_printf(c, "st = dsp_cmap_in(%s, %s_type, &args[%zu], &a_%s, &a_%s, &n_a_%s, \"%s\", \"parameter `%s`\", err);\n",
              sym, sym, i, id, vid, id, t->name, p->name);
}

/* A record (or list of records) argument args[i] as the struct `a_NAME`. */
static void emit_struct_in(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const ir_tool_param *p, size_t i)
{
    const char *id = cg_ident(g->a, p->name, 0);
    const char *sym = cstruct_sym(g, p->cstruct);
    ind(c, lvl);
    if (list_elem(p->type)) {
        sb_printf(c, "void *a_%s = NULL;\n", id);
        ind(c, lvl);
        sb_printf(c, "if (st == DSP_OK) st = dsp_cstruct_array_in(&%s, &args[%zu], &a_%s, \"%s\", \"%s\", err);\n", sym,
                  i, id, t->name, p->name);
        return;
    }
    decl(c, p->cstruct->c_name, arena_printf(g->a, "a_%s", id));
    sb_puts(c, ";\n");
    ind(c, lvl);
    sb_printf(c, "memset(&a_%s, 0, sizeof a_%s);\n", id, id);
    ind(c, lvl);
    if (p->type->kind == IR_OPTIONAL) {
        /* `const T *p` marked optional: &a_NAME when present, else NULL. */
        sb_printf(c, "bool h_%s = false;\n", id);
        ind(c, lvl);
        sb_printf(c, "if (st == DSP_OK)\n");
        ind(c, lvl + 1);
        sb_printf(c, "st = dsp_cstruct_optional_in(&%s, &args[%zu], &a_%s, &h_%s, \"%s\", \"%s\", err);\n", sym, i, id,
                  id, t->name, what_of(g, p));
        return;
    }
    sb_printf(c, "if (st == DSP_OK) st = dsp_cstruct_in(&%s, &args[%zu], &a_%s, \"%s\", \"%s\", err);\n", sym, i, id,
              t->name, what_of(g, p));
}

void cg_emit_tool_call(cg_ctx *g, strbuf *c, int lvl, const ir_tool *t, const char *dst, size_t n_slots)
{
    /* Arguments: range checks of scalars, C arrays of lists. */
    size_t ai = 0;
    for (size_t i = 0; i < t->n_params; i++) {
        const ir_tool_param *p = &t->params[i];
        if (p->role != IR_PARAM_IN) continue;
        if (is_map(p))
            emit_map_in(g, c, lvl, t, p, ai);
        else if (p->cstruct)
            emit_struct_in(g, c, lvl, t, p, ai);
        else if (list_elem(p->type))
            emit_list_in(g, c, lvl, t, p, ai);
        else if (p->type->kind == IR_INT)
            emit_int_in(g, c, lvl, t, p, p->ctype, arena_printf(g->a, "args[%zu].as.i", ai), NULL);
        else if (p->type->kind == IR_FLOAT && strcmp(unconst(p->ctype), "float") == 0)
            emit_float_in(c, lvl, t, p, arena_printf(g->a, "args[%zu].as.f", ai), NULL);
        ai++;
    }
    for (size_t i = 0; i < t->n_params; i++)
        if (t->params[i].role == IR_PARAM_OUT || (t->params[i].role != IR_PARAM_IN && owner_of(t, i) &&
                                                   owner_of(t, i)->role == IR_PARAM_OUT))
            emit_out_slot(g, c, lvl, &t->params[i]);

    /* The call. */
    ind(c, lvl);
    sb_puts(c, "if (st == DSP_OK) {\n");
    const char *head = t->n_outputs && t->ret_status ? "int r = "
                     : !t->n_outputs && strcmp(t->c_return, "void") != 0
                         ? arena_printf(g->a, "%s%sr = ", t->c_return,
                                        t->c_return[strlen(t->c_return) - 1] == '*' ? "" : " ")
                         : "";
    head = arena_printf(g->a, "%s%s(", head, cg_tool_callee(g, t));
    const char **argv = arena_array(g->a, t->n_params + 1, sizeof *argv);
    int wrap = t->n_outputs > 0;
    size_t width = 4 * (size_t)(lvl + 1) + strlen(head) + 2;
    ai = 0;
    for (size_t i = 0; i < t->n_params; i++) {
        const ir_tool_param *p = &t->params[i];
        const char *id = cg_ident(g->a, p->name, 0);
        const ir_tool_param *own = p->role == IR_PARAM_IN || p->role == IR_PARAM_OUT ? NULL : owner_of(t, i);
        if (p->role == IR_PARAM_IN && is_map(p)) {
            /* The keys: `const char **` as the prototype's `const char *const *`. */
            wrap = 1;
            argv[i] = arena_printf(g->a, "(%s)a_%s", p->ctype, id);
            ai++;
        } else if (own && is_map(own) && own->role == IR_PARAM_IN) {
            argv[i] = p->role == IR_PARAM_VALUES ? arena_printf(g->a, "a_%s", id)
                                                 : arena_printf(g->a, "n_a_%s", cg_ident(g->a, own->name, 0));
        } else if (p->role == IR_PARAM_IN && p->cstruct) {
            wrap = 1;
            argv[i] = p->type->kind == IR_OPTIONAL ? arena_printf(g->a, "h_%s ? &a_%s : NULL", id, id)
                    : arena_printf(g->a, "%sa_%s", list_elem(p->type) || !strchr(p->ctype, '*') ? "" : "&", id);
            ai++;
        } else if (p->role == IR_PARAM_IN) {
            wrap |= list_elem(p->type) != NULL;
            argv[i] = list_elem(p->type) ? arena_printf(g->a, "a_%s", id) : scalar_arg(g, p, ai);
            ai++;
        } else if (p->role == IR_PARAM_OUT || (own && own->role == IR_PARAM_OUT)) {
            argv[i] = arena_printf(g->a, "&o_%s", id);
        } else {
            argv[i] = arena_printf(g->a, "args[%zu].as.list.len", ai - 1); /* the list just before */
        }
        width += strlen(argv[i]) + 2;
    }
    /* Calls of the list and output forms wrap at 110 columns; the scalar
     * form stays on one line, as it always was. */
    wrap = wrap && width > 110;
    ind(c, lvl + 1);
    sb_puts(c, head);
    size_t col = 4 * (size_t)(lvl + 1) + strlen(head);
    for (size_t i = 0; i < t->n_params; i++) {
        size_t need = strlen(argv[i]) + (i + 1 < t->n_params ? 1 : 2);
        if (i && wrap && col + 1 + need > 110) {
            sb_puts(c, ",\n");
            ind(c, lvl + 2);
            col = 4 * (size_t)(lvl + 2);
        } else if (i) {
            sb_puts(c, ", ");
            col += 2;
        }
        sb_puts(c, argv[i]);
        col += strlen(argv[i]);
    }
    sb_puts(c, ");\n");
    ind(c, lvl + 1);
    sb_printf(c, "dsp_values_free(%s, %zu);\n", dst, n_slots);
    if (!t->n_outputs) {
        emit_return_value(g, c, lvl + 1, t, dst);
    } else {
        if (t->ret_status) {
            ind(c, lvl + 1);
            sb_printf(c, "if (r != 0) st = dsp_glue_tool_status(\"%s\", r, err);\n", t->name);
        }
        size_t k = 0;
        for (size_t i = 0; i < t->n_params; i++) {
            if (t->params[i].role != IR_PARAM_OUT) continue;
            const char *slot = arena_printf(g->a, "%s[%zu]", dst, k++);
            emit_out_convert(g, c, lvl + 1, t, &t->params[i], len_of(t, i), slot);
        }
    }
    ind(c, lvl);
    sb_puts(c, "}\n");

    /* Every temporary and every output, once, whatever happened. */
    for (size_t i = 0; i < t->n_params; i++)
        if (allocated_output(&t->params[i])) {
            ind(c, lvl);
            sb_puts(c, "/* The tool malloc'ed its outputs: ours to free, also after a failure. */\n");
            break;
        }
    for (size_t i = 0; i < t->n_params; i++) {
        const ir_tool_param *p = &t->params[i];
        const char *id = cg_ident(g->a, p->name, 0);
        const ir_type *e = list_elem(p->type);
        if (is_map(p)) {
            const char *vid = cg_ident(g->a, p[1].name, 0);
            ind(c, lvl);
            if (p->role == IR_PARAM_IN)
                sb_printf(c, "dsp_cmap_release(%s, a_%s, a_%s, n_a_%s, DSP_CSTRUCT_PASSED);\n", cmap_sym(g, t, p), id, vid,
                          id);
            else
                sb_printf(c, "dsp_cmap_release(%s, o_%s, o_%s, o_%s, DSP_CSTRUCT_FROM_TOOL);\n", cmap_sym(g, t, p), id, vid,
                          cg_ident(g->a, len_of(t, i)->name, 0));
        } else if (p->cstruct) {
            const char *sym = cstruct_sym(g, p->cstruct);
            const ir_tool_param *len = len_of(t, i);
            ind(c, lvl);
            if (p->role == IR_PARAM_IN && e)
                sb_printf(c, "dsp_cstruct_array_free(&%s, a_%s, args[%zu].as.list.len, DSP_CSTRUCT_PASSED);\n", sym, id,
                          in_index(t, i));
            else if (p->role == IR_PARAM_IN)
                sb_printf(c, "dsp_cstruct_release(&%s, &a_%s, DSP_CSTRUCT_PASSED);\n", sym, id);
            else if (p->type->kind == IR_RECORD)
                sb_printf(c, "dsp_cstruct_release(&%s, &o_%s, DSP_CSTRUCT_FROM_TOOL);\n", sym, id);
            else
                sb_printf(c, "dsp_cstruct_array_free(&%s, o_%s, %s%s, DSP_CSTRUCT_FROM_TOOL);\n", sym, id,
                          len ? "o_" : "1", len ? cg_ident(g->a, len->name, 0) : "");
        } else if (p->role == IR_PARAM_IN && e) {
            ind(c, lvl);
            sb_printf(c, "free(a_%s);\n", id);
        } else if (p->role == IR_PARAM_OUT && e && e->kind == IR_STRING) {
            const ir_tool_param *len = len_of(t, i);
            ind(c, lvl);
            sb_printf(c, "dsp_glue_free_strs(o_%s, %s%s);\n", id, len ? "o_" : "0", len ? cg_ident(g->a, len->name, 0) : "");
        } else if (p->role == IR_PARAM_OUT && (e || p->type->kind == IR_STRING)) {
            ind(c, lvl);
            sb_printf(c, "free(o_%s);\n", id);
        }
    }
}

/* Whether name is a digit run after prefix ("i2", "cv0"): a generated local. */
static int numbered(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !name[n]) return 0;
    return strspn(name + n, "0123456789") == strlen(name + n);
}

const char *cg_tool_callee(cg_ctx *g, const ir_tool *t)
{
    /* What a module function (cg_module.c) and a call (above) declare. */
    static const char *const locals[] = { "c", "in", "out", "err", "st", "args", "r", "i", "v", "lhs", "rhs", "cond",
                                          "ctx", "tool", "outs", "score", "res" };
    const char *n = t->name;
    int hidden = strncmp(n, "v_", 2) == 0 || strncmp(n, "a_", 2) == 0 || strncmp(n, "o_", 2) == 0 ||
                 numbered(n, "i") || strncmp(n, "cv", 2) == 0;
    for (size_t k = 0; !hidden && k < sizeof locals / sizeof locals[0]; k++) hidden = strcmp(n, locals[k]) == 0;
    return hidden ? arena_printf(g->a, "cg_fn_%s", n) : n;
}

static int steps_call(const ir_step *s, size_t n, const ir_tool *t)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == IR_STEP_TOOL && s[i].tool == t) return 1;
        if (steps_call(s[i].body, s[i].n_body, t) || steps_call(s[i].else_body, s[i].n_else, t)) return 1;
    }
    return 0;
}

int cg_tool_called(cg_ctx *g, const ir_tool *t)
{
    const ir_module **mods;
    size_t nm = cg_modules(g, &mods);
    for (size_t m = 0; m < nm; m++)
        if (steps_call(mods[m]->steps, mods[m]->n_steps, t)) return 1;
    return cg_react_uses_tool(g, t) || cg_sampling_uses_tool(g, t);
}

