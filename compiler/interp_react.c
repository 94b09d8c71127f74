/* interp_react.c — react call sites in the interpreter: the libdsprt loop
 * (dsp/react.h) over the program's predictors, with tools called through
 * libffi (interp_tools.c). The generated C runs the same loop and calls the
 * tools directly (cg_react.c). */
#include "interp_int.h"
#include "ir_runtime.h"

#include <string.h>

static size_t count_reacts(const ir_step *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (s[i].kind == IR_STEP_REACT) + count_reacts(s[i].body, s[i].n_body) +
             count_reacts(s[i].else_body, s[i].n_else);
    return k;
}

static const dsp_predictor *rt_pred(const ex_runner *r, const ir_predictor *p)
{
    for (size_t i = 0; i < r->n_preds; i++)
        if (r->preds[i] == p)
            return r->rt_preds[i];
    return NULL;
}

static dsp_status call_tool(void *ctx, const dsp_tool *tool, const dsp_value *args, dsp_value *results,
                            dsp_error *err)
{
    return it_tool_call(ctx, tool->data, args, results, err);
}

/* The dsp_tool of an IR tool: its IN parameters are the JSON arguments;
 * its outputs (or its one return value, named `result`) the results. */
static void tool_of(arena *a, const ir_tool *t, dsp_tool *d)
{
    memset(d, 0, sizeof *d);
    d->name = t->name;
    dsp_field *ps = arena_array(a, t->n_params + 1, sizeof *ps);
    for (size_t i = 0; i < t->n_params; i++)
        if (t->params[i].role == IR_PARAM_IN) {
            ps[d->n_params].name = t->params[i].name;
            ps[d->n_params++].type = irt_type(a, t->params[i].type);
        }
    d->params = ps;
    if (t->n_outputs) {
        d->results = irt_fields(a, t->outputs, t->n_outputs);
        d->n_results = t->n_outputs;
    } else {
        dsp_field *f = arena_alloc(a, sizeof *f);
        f->name = "result";
        f->type = irt_type(a, t->type);
        d->results = f;
        d->n_results = 1;
    }
    d->call = call_tool;
    d->data = t;
}

static dsp_status add_reacts(ex_runner *r, const ir_step *s, size_t n, dsp_error *err)
{
    for (size_t i = 0; i < n; i++) {
        dsp_status rc = add_reacts(r, s[i].body, s[i].n_body, err);
        if (rc == DSP_OK)
            rc = add_reacts(r, s[i].else_body, s[i].n_else, err);
        if (rc != DSP_OK)
            return rc;
        if (s[i].kind != IR_STEP_REACT)
            continue;
        const ir_react *ir = s[i].react;
        it_react *x = &r->reacts[r->n_reacts++];
        x->ir = ir;
        x->rt.step = rt_pred(r, ir->step);
        x->rt.extract = rt_pred(r, ir->extract);
        if (!x->rt.step || !x->rt.extract)
            return dsp_error_set(err, DSP_ERR_INVALID, "internal: react `%s` has no runtime predictors", ir->step->name);
        dsp_tool *tools = arena_array(&r->mem, ir->n_tools + 1, sizeof *tools);
        for (size_t k = 0; k < ir->n_tools; k++) {
            tool_of(&r->mem, ir->tools[k], &tools[k]);
            tools[k].description = ir->tool_docs ? ir->tool_docs[k] : NULL;
        }
        x->rt.tools = tools;
        x->rt.n_tools = ir->n_tools;
        x->rt.max_iters = (int)ir->max_iters;
        x->rt.max_observation = (size_t)ir->max_observation;
    }
    return DSP_OK;
}

dsp_status it_react_build(ex_runner *r, dsp_error *err)
{
    const ir_program *p = r->prog;
    size_t n = 0;
    for (size_t i = 0; i < p->n_modules; i++)
        n += count_reacts(p->modules[i]->steps, p->modules[i]->n_steps);
    r->reacts = arena_array(&r->mem, n + 1, sizeof *r->reacts);
    for (size_t i = 0; i < p->n_modules; i++) {
        dsp_status rc = add_reacts(r, p->modules[i]->steps, p->modules[i]->n_steps, err);
        if (rc != DSP_OK)
            return rc;
    }
    return DSP_OK;
}

dsp_status it_react_run(const ex_runner *r, const ir_react *ir, const dsp_react_options *o, const dsp_value *in,
                        dsp_value *out, dsp_error *err)
{
    for (size_t i = 0; i < r->n_reacts; i++)
        if (r->reacts[i].ir == ir) {
            dsp_react_options oo = *o;
            oo.tool_ctx = (void *)r;
            return dsp_react_run(r->client, &r->reacts[i].rt, &oo, in, out, err);
        }
    return dsp_error_set(err, DSP_ERR_INVALID, "internal: react `%s` was not built", ir->step->name);
}
