/* opt_labeled.c — labeled_fewshot(k): k training examples, drawn with the
 * seed, as demos for every predictor. */
#include <stdio.h>

#include "opt.h"

dsp_status opt_labeled_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                               dsp_error *err)
{
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    opt_program zero = opt_program_zero_shot(b, a);
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &zero, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->baseline_score = s.mean;
    opt_result_add_trial(out, a, &s, 1, "zero-shot");
    st = opt_labeled(b, a, p->seed, p->k > 0 ? (size_t)p->k : 0, NULL, &out->best, err);
    if (st != DSP_OK)
        return st;
    st = b->evaluate(b->ctx, &out->best, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->final_score = s.mean;
    char label[64];
    snprintf(label, sizeof label, "labeled k=%d", p->k);
    opt_result_add_trial(out, a, &s, 1, label);
    out->n_demo_candidates = 1;
    return DSP_OK;
}
