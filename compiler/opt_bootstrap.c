/* opt_bootstrap.c — bootstrap_fewshot: the teacher (the program with
 * labelled demos) runs over the trainset in order; traces that pass the
 * metric become demos, topped up with labelled examples. */
#include <stdio.h>

#include "opt.h"

dsp_status opt_bootstrap_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                                 dsp_error *err)
{
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    opt_program zero = opt_program_zero_shot(b, a);
    if (b->progress)
        b->progress(b->ctx, "baseline (zero-shot) on the valset");
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &zero, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->baseline_score = s.mean;
    opt_result_add_trial(out, a, &s, 1, "zero-shot");
    opt_bootstrap_args args = opt_bootstrap_args_from(p);
    if (b->progress)
        b->progress(b->ctx, "bootstrapping demos on the trainset");
    st = opt_bootstrap(b, a, &args, &out->best, err);
    if (st != DSP_OK)
        return st;
    if (b->progress)
        b->progress(b->ctx, "bootstrapped program on the valset");
    st = b->evaluate(b->ctx, &out->best, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->final_score = s.mean;
    char label[96];
    snprintf(label, sizeof label, "bootstrap %d + labeled %d", p->max_bootstrapped_demos, p->max_labeled_demos);
    opt_result_add_trial(out, a, &s, 1, label);
    out->n_demo_candidates = 1;
    return DSP_OK;
}
