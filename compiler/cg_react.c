/* cg_react.c — react call sites in generated C: static tables (each tool's
 * JSON arguments and results as dsp_field tables, a dsp_tool array, the
 * dsp_react) and one small typed function per tool that calls the C
 * function directly (cg_tool.c's call). The loop itself is libdsprt's
 * dsp_react_run, the same the interpreter runs (interp_react.c). */
#include <string.h>

#include "cg.h"

static void ind(strbuf *c, int n)
{
    for (int i = 0; i < n; i++) sb_puts(c, "    ");
}

typedef void (*react_fn)(cg_ctx *g, strbuf *c, const ir_react *r, size_t idx, void *ctx);

/* Calls fn for every react site of the emitted modules, in a fixed order
 * (its index names its tables). */
static void walk_steps(cg_ctx *g, strbuf *c, const ir_step *s, size_t n, size_t *idx, react_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == IR_STEP_REACT) fn(g, c, s[i].react, (*idx)++, ctx);
        walk_steps(g, c, s[i].body, s[i].n_body, idx, fn, ctx);
        walk_steps(g, c, s[i].else_body, s[i].n_else, idx, fn, ctx);
    }
}

static void each_react(cg_ctx *g, strbuf *c, react_fn fn, void *ctx)
{
    const ir_module **mods;
    size_t nm = cg_modules(g, &mods), idx = 0;
    for (size_t m = 0; m < nm; m++) walk_steps(g, c, mods[m]->steps, mods[m]->n_steps, &idx, fn, ctx);
}

typedef struct find_ctx {
    const ir_react *want;
    size_t found;
} find_ctx;

static void find_fn(cg_ctx *g, strbuf *c, const ir_react *r, size_t idx, void *ctx)
{
    (void)g;
    (void)c;
    find_ctx *f = ctx;
    if (r == f->want) f->found = idx;
}

const char *cg_react_sym(cg_ctx *g, const ir_react *r)
{
    find_ctx f = { r, 0 };
    each_react(g, NULL, find_fn, &f);
    return arena_printf(g->a, "k_react%zu", f.found);
}

static void any_fn(cg_ctx *g, strbuf *c, const ir_react *r, size_t idx, void *ctx)
{
    (void)g, (void)c, (void)r, (void)idx;
    *(int *)ctx = 1;
}

int cg_has_react(cg_ctx *g)
{
    int any = 0;
    each_react(g, NULL, any_fn, &any);
    return any;
}

typedef struct tool_set {
    const ir_tool **t;
    size_t n;
} tool_set;

static void collect_fn(cg_ctx *g, strbuf *c, const ir_react *r, size_t idx, void *ctx)
{
    (void)g, (void)c, (void)idx;
    tool_set *ts = ctx;
    for (size_t k = 0; k < r->n_tools; k++) {
        size_t i = 0;
        while (i < ts->n && ts->t[i] != r->tools[k]) i++;
        if (i == ts->n) ts->t[ts->n++] = r->tools[k];
    }
}

/* The tools react sites use, each once, in first-use order. */
static tool_set react_tools(cg_ctx *g)
{
    tool_set ts = { arena_array(g->a, g->in->prog->n_tools + 1, sizeof *ts.t), 0 };
    each_react(g, NULL, collect_fn, &ts);
    return ts;
}

int cg_react_uses_tool(cg_ctx *g, const ir_tool *t)
{
    tool_set ts = react_tools(g);
    for (size_t i = 0; i < ts.n; i++)
        if (ts.t[i] == t) return 1;
    return 0;
}

static const char *glue_name(cg_ctx *g, const ir_tool *t)
{
    return arena_printf(g->a, "cg_react_tool_%s", cg_ident(g->a, t->name, 0));
}

static void glue_proto(cg_ctx *g, strbuf *c, const ir_tool *t)
{
    sb_printf(c, "static dsp_status %s(void *ctx, const dsp_tool *tool, const dsp_value *args, dsp_value *out,\n"
                 "    dsp_error *err)", glue_name(g, t));
}

static void tables_fn(cg_ctx *g, strbuf *c, const ir_react *r, size_t idx, void *ctx)
{
    (void)ctx;
    const char *sym = arena_printf(g->a, "k_react%zu", idx);
    sb_printf(c, "/* ---- react %s: its tools, then the loop's settings ---- */\n\n", r->step->name);
    /* Each tool's tables, or an equal one's (cg_share.c). */
    const char **args = arena_array(g->a, r->n_tools + 1, sizeof *args);
    const char **results = arena_array(g->a, r->n_tools + 1, sizeof *results);
    for (size_t k = 0; k < r->n_tools; k++) {
        const ir_tool *t = r->tools[k];
        ir_field *ps = arena_array(g->a, t->n_params + 1, sizeof *ps);
        size_t np = 0;
        for (size_t i = 0; i < t->n_params; i++)
            if (t->params[i].role == IR_PARAM_IN) {
                ps[np].name = t->params[i].name;
                ps[np++].type = t->params[i].type;
            }
        ir_field one = { "result", t->type, NULL };
        const ir_field *rs = t->n_outputs ? t->outputs : &one;
        size_t nr = t->n_outputs ? t->n_outputs : 1;
        args[k] = cg_emit_field_table(g, c, arena_printf(g->a, "%s_t%zu_args", sym, k), ps, np);
        results[k] = cg_emit_field_table(g, c, arena_printf(g->a, "%s_t%zu_results", sym, k), rs, nr);
    }
    sb_printf(c, "static const dsp_tool %s_tools[%zu] = {\n", sym, r->n_tools);
    for (size_t k = 0; k < r->n_tools; k++) {
        const ir_tool *t = r->tools[k];
        size_t np = 0;
        for (size_t i = 0; i < t->n_params; i++) np += t->params[i].role == IR_PARAM_IN;
        const char *doc = r->tool_docs ? r->tool_docs[k] : NULL;
        sb_puts(c, "    { ");
        cg_cstr(g, c, t->name, strlen(t->name), 6);
        sb_puts(c, ", ");
        cg_cstr_or_null(g, c, doc, 6);
        sb_printf(c, ", %s, %zu, %s, %zu, %s, NULL },\n", np ? args[k] : "NULL", np, results[k],
                  t->n_outputs ? t->n_outputs : 1, glue_name(g, t));
    }
    sb_puts(c, "};\n");
    sb_printf(c, "static const dsp_react %s = {\n    &%s, &%s, %s_tools, %zu, %lld, %lld\n};\n\n", sym,
               cg_predictor_sym(g, r->step), cg_predictor_sym(g, r->extract), sym, r->n_tools, r->max_iters,
               r->max_observation);
}

void cg_emit_react_tables(cg_ctx *g, strbuf *c)
{
    tool_set ts = react_tools(g);
    if (!ts.n) return;
    sb_puts(c, "/* Tools the react steps call (defined with the modules). */\n");
    for (size_t i = 0; i < ts.n; i++) {
        glue_proto(g, c, ts.t[i]);
        sb_puts(c, ";\n");
    }
    sb_puts(c, "\n");
    each_react(g, c, tables_fn, NULL);
}

void cg_emit_react_glue(cg_ctx *g, strbuf *c)
{
    tool_set ts = react_tools(g);
    for (size_t i = 0; i < ts.n; i++) {
        const ir_tool *t = ts.t[i];
        sb_printf(c, "/* %s for react: args holds its arguments, checked against their types. */\n", t->name);
        glue_proto(g, c, t);
        sb_puts(c, "\n{\n");
        ind(c, 1);
        sb_puts(c, "dsp_status st = DSP_OK;\n");
        ind(c, 1);
        sb_puts(c, "(void)ctx;\n");
        ind(c, 1);
        sb_puts(c, "(void)tool;\n");
        ind(c, 1);
        sb_puts(c, "(void)args;\n");
        ind(c, 1);
        sb_puts(c, "(void)err;\n");
        cg_emit_tool_call(g, c, 1, t, "out", t->n_outputs ? t->n_outputs : 1);
        ind(c, 1);
        sb_puts(c, "return st;\n}\n\n");
    }
}
