/* opt_random_search.c — random_search(num_candidates): the candidate
 * programs of DSPy's BootstrapFewShotWithRandomSearch (zero-shot, labelled
 * only, unshuffled bootstrap, then shuffled bootstraps of random sizes,
 * each on the trainset shuffled with its own seed, so its traces, its
 * teacher's demos and its labelled demos all differ), all scored on the
 * whole valset at once; the best (earliest on ties) wins. A candidate that sends
 * the very prompts of an earlier one (on a hard task, several shuffles can
 * bootstrap nothing and fall back to the same labels) is not scored
 * again: the progress and the result's notes say which. */
#include "opt.h"

const char *opt_candidate_label(arena *a, size_t c)
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
    /* The distinct candidates, scored at once (opt_evaluate_distinct): each
     * depends on nothing but its program, and the trials are added in
     * candidate order, so the result is the one scoring them in turn
     * gives. */
    size_t *same = arena_array(a, n, sizeof *same), *scored = arena_array(a, n, sizeof *scored), n_scored = 0;
    opt_score *scores = arena_array(a, n, sizeof *scores);
    st = opt_evaluate_distinct(b, a, cands, n, val, n_val, 1, same, scored, scores, &n_scored, err);
    if (st != DSP_OK)
        return st;
    size_t skipped = 0;
    const char *which = "";
    for (size_t c = 0; c < n; c++)
        if (same[c] != c)
            which = arena_printf(a, "%s%s%zu", which, skipped++ ? ", " : "", c + 1);
    size_t best = 0;
    for (size_t i = 0; i < n_scored; i++) {
        size_t c = scored[i];
        opt_result_add_trial(out, a, &scores[i], 1, opt_candidate_label(a, c));
        if (c == 0)
            out->baseline_score = scores[i].mean;
        if (c == 0 || scores[i].mean > out->final_score) {
            out->final_score = scores[i].mean;
            best = c;
        }
    }
    if (skipped)
        opt_result_add_note(out, a,
                            arena_printf(a, "random_search: %zu of %zu candidates (%s) were the same program as an "
                                            "earlier one and were not scored again",
                                         skipped, n, which));
    out->best = cands[best];
    out->n_demo_candidates = n - skipped;
    return DSP_OK;
}
