/* interp_sample.c — best_of_n, refine and majority in the interpreter:
 * libdsprt's dsp_sample_run, with the reward tool called through libffi
 * (interp_tools.c). The generated C runs the same function and calls the
 * reward directly (cg_sample.c). */
#include "interp_int.h"

#include <stdlib.h>

typedef struct reward_ctx {
    const ex_runner *r;
    const ir_sampling *sm;
    ex_usage *usage;
} reward_ctx;

static dsp_status reward(void *ctx, const dsp_value *in, const dsp_value *out, double *score, dsp_error *err)
{
    const reward_ctx *x = ctx;
    const ir_sampling *sm = x->sm;
    dsp_value *args = calloc(sm->n_reward_args + 1, sizeof *args);
    if (!args)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    dsp_status st = DSP_OK;
    size_t done = 0;
    for (; done < sm->n_reward_args && st == DSP_OK; done++) {
        const ir_reward_arg *a = &sm->reward_args[done];
        st = it_convert(a->from_output ? &out[a->index] : &in[a->index], a->from, a->to, &args[done], err);
    }
    dsp_value res = { 0 };
    if (st == DSP_OK)
        st = it_tool_call(x->r, sm->reward, args, &res, err);
    dsp_values_free(args, done);
    free(args);
    if (st != DSP_OK)
        return st;
    ir_type_kind k = sm->reward->type->kind;
    *score = k == IR_FLOAT ? res.as.f : k == IR_BOOL ? (res.as.b ? 1.0 : 0.0) : (double)res.as.i;
    dsp_value_free(&res);
    return DSP_OK;
}

static dsp_status observe(void *ctx, const dsp_predictor *p, dsp_status status, const dsp_value *in,
                          const dsp_value *out, const dsp_predict_trace *tr, dsp_error *err)
{
    (void)p, (void)status, (void)in, (void)out, (void)err;
    it_usage_add_trace(((reward_ctx *)ctx)->usage, tr);
    return DSP_OK;
}

dsp_status it_sample_run(const ex_runner *r, const ir_sampling *sm, const dsp_predictor *p,
                         const dsp_predict_options *opts, ex_usage *usage, const dsp_value *in, dsp_value *out,
                         dsp_error *err)
{
    reward_ctx x = { r, sm, usage };
    dsp_sampling s = { (dsp_pick)sm->pick, (int)sm->n, sm->reward ? reward : NULL, sm->has_threshold != 0,
                       sm->threshold, sm->field };
    dsp_sample_options so = { opts, &x, observe, &x };
    return dsp_sample_run(r->client, p, &s, &so, in, out, err);
}
