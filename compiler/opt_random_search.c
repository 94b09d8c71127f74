/* opt_random_search.c — random_search(num_candidates): the candidate
 * programs of DSPy's BootstrapFewShotWithRandomSearch (zero-shot, labelled
 * only, unshuffled bootstrap, then shuffled bootstraps of random sizes),
 * each scored on the whole valset; the best (earliest on ties) wins. */
#include <stdio.h>

#include "opt.h"

static const char *candidate_label(arena *a, size_t c)
{
    switch (c) {
    case 0: return "zero-shot";
    case 1: return "labeled only";
    case 2: return "bootstrap (unshuffled)";
    default: return arena_printf(a, "bootstrap (shuffled, seed %zu)", c - 3);
    }
}

dsp_status opt_random_search(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                             dsp_error *err)
{
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    size_t n = (size_t)(p->num_candidates > 0 ? p->num_candidates : 16) + 3;
    opt_program *cands = arena_array(a, n, sizeof *cands);
    dsp_status st = opt_demo_candidates(b, a, p, n, cands, err);
    if (st != DSP_OK)
        return st;
    size_t best = 0;
    for (size_t c = 0; c < n; c++) {
        double score;
        if (b->progress) {
            char msg[96];
            snprintf(msg, sizeof msg, "candidate %zu/%zu on the valset", c + 1, n);
            b->progress(b->ctx, msg);
        }
        st = b->evaluate(b->ctx, &cands[c], val, n_val, &score, err);
        if (st != DSP_OK)
            return st;
        opt_result_add_trial(out, a, score, 1, candidate_label(a, c));
        if (c == 0)
            out->baseline_score = score;
        if (c == 0 || score > out->final_score) {
            out->final_score = score;
            best = c;
        }
    }
    out->best = cands[best];
    out->n_demo_candidates = n;
    return DSP_OK;
}
