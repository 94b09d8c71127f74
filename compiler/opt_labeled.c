/* opt_labeled.c — labeled_fewshot(k): k training examples, drawn with the
 * seed, as demos for every predictor. */
#include <stdio.h>

#include "opt.h"

dsp_status opt_labeled_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                               dsp_error *err)
{
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    dsp_status st = opt_score_baseline(b, a, val, n_val, out, err);
    if (st != DSP_OK)
        return st;
    st = opt_labeled(b, a, p->seed, p->k > 0 ? (size_t)p->k : 0, NULL, &out->best, err);
    if (st != DSP_OK)
        return st;
    return opt_score_final(b, a, val, n_val, arena_printf(a, "labeled k=%d", p->k), out, err);
}
