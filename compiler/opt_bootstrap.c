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
    dsp_status st = opt_score_baseline(b, a, val, n_val, out, err);
    if (st != DSP_OK)
        return st;
    opt_bootstrap_args args = opt_bootstrap_args_from(p);
    if (b->progress)
        b->progress(b->ctx, "bootstrapping demos on the trainset");
    st = opt_bootstrap(b, a, &args, &out->best, err);
    if (st != DSP_OK)
        return st;
    if (b->progress)
        b->progress(b->ctx, "bootstrapped program on the valset");
    return opt_score_final(b, a, val, n_val,
                           arena_printf(a, "bootstrap %d + labeled %d", p->max_bootstrapped_demos,
                                        p->max_labeled_demos),
                           out, err);
}
