/* cg_sample.c — best_of_n, refine and majority in generated C: a static
 * dsp_sampling per call site and, for a reward, one small function that
 * passes the sample's fields to the C tool directly (cg_tool.c's call) and
 * returns its number. The sampling itself is libdsprt's dsp_sample_run,
 * the same the interpreter runs (interp_sample.c). */
#include <string.h>

#include "cg.h"

typedef void (*sample_fn)(cg_ctx *g, strbuf *c, const ir_step *s, size_t idx, void *ctx);

static void walk(cg_ctx *g, strbuf *c, const ir_step *s, size_t n, size_t *idx, sample_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].kind == IR_STEP_PREDICT && s[i].sampling) fn(g, c, &s[i], (*idx)++, ctx);
        walk(g, c, s[i].body, s[i].n_body, idx, fn, ctx);
        walk(g, c, s[i].else_body, s[i].n_else, idx, fn, ctx);
    }
}

static void each_sampling(cg_ctx *g, strbuf *c, sample_fn fn, void *ctx)
{
    const ir_module **mods;
    size_t nm = cg_modules(g, &mods), idx = 0;
    for (size_t m = 0; m < nm; m++) walk(g, c, mods[m]->steps, mods[m]->n_steps, &idx, fn, ctx);
}

typedef struct find_ctx {
    const ir_sampling *want;
    size_t found;
    const ir_tool *tool;
    int any;
} find_ctx;

static void find_fn(cg_ctx *g, strbuf *c, const ir_step *s, size_t idx, void *ctx)
{
    (void)g, (void)c;
    find_ctx *f = ctx;
    if (s->sampling == f->want) f->found = idx;
    if (f->tool && s->sampling->reward == f->tool) f->any = 1;
    f->any |= !f->tool && !f->want;
}

const char *cg_sampling_sym(cg_ctx *g, const ir_sampling *sm)
{
    find_ctx f = { sm, 0, NULL, 0 };
    each_sampling(g, NULL, find_fn, &f);
    return arena_printf(g->a, "k_sample%zu", f.found);
}

static int has_mcc(const ir_step *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == IR_STEP_MCC || has_mcc(s[i].body, s[i].n_body) || has_mcc(s[i].else_body, s[i].n_else))
            return 1;
    return 0;
}

int cg_has_sampling(cg_ctx *g)
{
    find_ctx f = { NULL, 0, NULL, 0 };
    each_sampling(g, NULL, find_fn, &f);
    const ir_module **mods;
    size_t nm = cg_modules(g, &mods);
    for (size_t m = 0; m < nm && !f.any; m++) f.any = has_mcc(mods[m]->steps, mods[m]->n_steps);
    return f.any;
}

int cg_sampling_uses_tool(cg_ctx *g, const ir_tool *t)
{
    find_ctx f = { NULL, 0, t, 0 };
    each_sampling(g, NULL, find_fn, &f);
    return f.any;
}

static void proto(strbuf *c, size_t idx)
{
    sb_printf(c, "static dsp_status cg_reward%zu(void *ctx, const dsp_value *in, const dsp_value *outs, double *score,\n"
                 "    dsp_error *err)", idx);
}

static const char *pick_name(ir_pick p)
{
    return p == IR_PICK_MAJORITY ? "DSP_PICK_MAJORITY" : p == IR_PICK_REFINE ? "DSP_PICK_REFINE" : "DSP_PICK_BEST_OF_N";
}

static void table_fn(cg_ctx *g, strbuf *c, const ir_step *s, size_t idx, void *ctx)
{
    (void)g, (void)ctx;
    const ir_sampling *sm = s->sampling;
    sb_printf(c, "/* %s: %s of %lld samples%s%s */\n", s->predictor->name, sm->name, sm->n,
               sm->reward ? ", reward " : "", sm->reward ? sm->reward->name : "");
    if (sm->reward) {
        proto(c, idx);
        sb_puts(c, ";\n");
    }
    sb_printf(c, "static const dsp_sampling k_sample%zu = { %s, %lld, ", idx, pick_name(sm->pick), sm->n);
    if (sm->reward)
        sb_printf(c, "cg_reward%zu, ", idx);
    else
        sb_puts(c, "NULL, ");
    sb_printf(c, "%s, ", sm->has_threshold ? "true" : "false");
    sb_put_double(c, sm->threshold);
    sb_printf(c, ", %zu };\n\n", sm->field);
}

void cg_emit_sampling_tables(cg_ctx *g, strbuf *c)
{
    each_sampling(g, c, table_fn, NULL);
}

static void glue_fn(cg_ctx *g, strbuf *c, const ir_step *s, size_t idx, void *ctx)
{
    (void)ctx;
    const ir_sampling *sm = s->sampling;
    if (!sm->reward) return;
    const ir_tool *t = sm->reward;
    sb_printf(c, "/* The reward of %s: %s(", s->predictor->name, t->name);
    for (size_t i = 0, k = 0; i < t->n_params; i++)
        if (t->params[i].role == IR_PARAM_IN) sb_printf(c, "%s%s", k++ ? ", " : "", t->params[i].name);
    sb_puts(c, ") over a sample's fields. */\n");
    proto(c, idx);
    sb_puts(c, "\n{\n    dsp_status st = DSP_OK;\n    (void)ctx;\n    (void)in;\n    (void)outs;\n    (void)err;\n");
    sb_printf(c, "    dsp_value args[%zu], res[1];\n    memset(args, 0, sizeof args);\n    memset(res, 0, sizeof res);\n",
               sm->n_reward_args ? sm->n_reward_args : 1);
    for (size_t i = 0; i < sm->n_reward_args; i++) {
        const ir_reward_arg *a = &sm->reward_args[i];
        const char *src = arena_printf(g->a, "%s[%zu]", a->from_output ? "outs" : "in", a->index);
        if (a->from->kind == IR_ENUM && a->to->kind == IR_STRING) {
            /* An enum passes its value's name, as the interpreter converts it. */
            sb_printf(c, "    static const char *const names%zu[] = { ", i);
            for (size_t k = 0; k < a->from->n_values; k++) {
                if (k) sb_puts(c, ", ");
                cg_cstr(g, c, a->from->values[k], strlen(a->from->values[k]), 8);
            }
            sb_puts(c, " };\n");
            sb_printf(c, "    if (st == DSP_OK) {\n        const char *s = %s.as.e < %zu ? names%zu[%s.as.e] : \"\";\n"
                         "        st = dsp_value_set_string(&args[%zu], s, strlen(s), err);\n    }\n",
                       src, a->from->n_values, i, src, i);
        } else if (a->from->kind == IR_INT && a->to->kind == IR_FLOAT) {
            sb_printf(c, "    args[%zu] = dsp_value_float((double)%s.as.i);\n", i, src);
        } else {
            sb_printf(c, "    if (st == DSP_OK) st = dsp_value_copy(&args[%zu], &%s, err);\n", i, src);
        }
    }
    cg_emit_tool_call(g, c, 1, t, "res", 1);
    sb_printf(c, "    dsp_values_free(args, %zu);\n", sm->n_reward_args);
    const char *v = t->type->kind == IR_FLOAT ? "res[0].as.f" : t->type->kind == IR_BOOL ? "(res[0].as.b ? 1.0 : 0.0)"
                                                                                        : "(double)res[0].as.i";
    sb_printf(c, "    if (st == DSP_OK) *score = %s;\n    dsp_values_free(res, 1);\n    return st;\n}\n\n", v);
}

void cg_emit_sampling_glue(cg_ctx *g, strbuf *c)
{
    each_sampling(g, c, glue_fn, NULL);
}
