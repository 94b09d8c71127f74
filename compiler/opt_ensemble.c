/* opt_ensemble.c — ensemble(members, size, field, num_candidates): DSPy's
 * Ensemble over the candidate programs of random search (its usual use).
 * The candidates (zero-shot, labelled only, bootstraps on shuffled
 * trainsets) are scored on the whole valset; the `members` best (earliest
 * on ties, repeats skipped) become members voting, for each valset row, on
 * output `field` (default: the module's last output) at the last predictor
 * producing it (dsp/ensemble.h, majority); with `size`, each call runs
 * that many of them, drawn per input from the seed. With `states`, saved
 * states of the program are the members instead, with no search. The
 * ensemble is the search's answer; the no-regression guard compares it
 * with the program as written. */

#include "opt.h"

/* Scores members voting (n of them, `size` a call when fewer) as the
 * search's answer: out->best is the first member's program with the
 * ensemble (the predictors that do not vote run as its), and its score is
 * the final one and the last trial, labelled "ensemble of KIND WHICH". */
static dsp_status vote(const opt_params *p, const opt_backend *b, arena *a, opt_program *members, size_t n,
                       const char *kind, const char *which, const size_t *val, size_t n_val, opt_result *out,
                       dsp_error *err)
{
    size_t per_call = p->size > 0 && (size_t)p->size < n ? (size_t)p->size : 0;
    opt_ensemble *e = arena_alloc(a, sizeof *e);
    *e = (opt_ensemble){ b->vote_pred, b->vote_field, members, n, per_call, p->seed };
    out->best = members[0];
    out->best.ensemble = e;
    if (b->progress)
        b->progress(b->ctx, "the ensemble on the valset");
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &out->best, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->final_score = s.mean;
    opt_result_add_trial(out, a, &s, 1,
                         per_call ? arena_printf(a, "ensemble of %s %s (majority of %zu drawn per input)", kind, which,
                                                 per_call)
                                  : arena_printf(a, "ensemble of %s %s (majority)", kind, which));
    return DSP_OK;
}

/* ensemble(states: [...]): the saved states are the members, in the order
 * given (majority ties go to the earlier), with no search; each is scored
 * on the valset as a trial, then the ensemble. */
static dsp_status from_states(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    if (!b->state_program)
        return dsp_error_set(err, DSP_ERR_INVALID, "ensemble: this backend cannot read states");
    size_t n_val, n = p->n_states;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    opt_program *members = arena_array(a, n + 1, sizeof *members);
    for (size_t i = 0; i < n; i++) {
        dsp_status st = b->state_program(b->ctx, a, p->states[i], &members[i], err);
        if (st != DSP_OK)
            return st;
    }
    dsp_status st = opt_score_baseline(b, a, val, n_val, out, err);
    if (st != DSP_OK)
        return st;
    /* Each member scored on its own, all at once (opt_evaluate_all). */
    if (b->progress)
        b->progress(b->ctx, arena_printf(a, "%zu states on the valset", n));
    opt_score *scores = arena_array(a, n + 1, sizeof *scores);
    st = opt_evaluate_all(b, members, n, val, n_val, scores, err);
    if (st != DSP_OK)
        return st;
    const char *which = "";
    for (size_t i = 0; i < n; i++) {
        opt_result_add_trial(out, a, &scores[i], 1, arena_printf(a, "state %s", p->states[i]));
        which = arena_printf(a, "%s%s%s", which, i ? ", " : "", p->states[i]);
    }
    st = vote(p, b, a, members, n, "states", which, val, n_val, out, err);
    if (st != DSP_OK)
        return st;
    out->n_demo_candidates = n;
    return DSP_OK;
}

dsp_status opt_ensemble_search(const opt_params *p, const opt_backend *b, arena *a, opt_result *out,
                               dsp_error *err)
{
    if (p->n_states)
        return from_states(p, b, a, out, err);
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    size_t n = (size_t)(p->num_candidates > 0 ? p->num_candidates : 8) + 3;
    opt_program *cands = arena_array(a, n, sizeof *cands);
    dsp_status st = opt_demo_candidates(b, a, p, n, cands, err);
    if (st != DSP_OK)
        return st;
    double *score = arena_array(a, n, sizeof *score);
    size_t *order = arena_array(a, n, sizeof *order), m = 0;
    /* The distinct candidates, scored at once (opt_evaluate_distinct); their
     * trials are added in candidate order, as scoring them in turn would. */
    size_t *same = arena_array(a, n, sizeof *same), *scored = arena_array(a, n, sizeof *scored), n_scored = 0;
    opt_score *scores = arena_array(a, n, sizeof *scores);
    st = opt_evaluate_distinct(b, a, cands, n, val, n_val, 0, same, scored, scores, &n_scored, err);
    if (st != DSP_OK)
        return st;
    for (size_t i = 0; i < n_scored; i++) {
        size_t c = scored[i];
        opt_result_add_trial(out, a, &scores[i], 1,
                             arena_printf(a, "candidate %zu: %s", c + 1, opt_candidate_label(a, c)));
        if (c == 0)
            out->baseline_score = scores[i].mean;
        score[c] = scores[i].mean;
        /* Insertion by score, after equal ones: ties keep the earlier. */
        size_t at = m;
        while (at > 0 && score[order[at - 1]] < scores[i].mean)
            at--;
        for (size_t k = m; k > at; k--)
            order[k] = order[k - 1];
        order[at] = c;
        m++;
    }
    size_t size = (size_t)(p->members > 0 ? p->members : 3);
    if (size > m)
        size = m;
    opt_program *members = arena_array(a, size + 1, sizeof *members);
    const char *which = "";
    for (size_t i = 0; i < size; i++) {
        members[i] = cands[order[i]];
        which = arena_printf(a, "%s%s%zu", which, i ? ", " : "", order[i] + 1);
    }
    /* The members' own programs run the predictors that do not vote: the
     * best candidate's. */
    st = vote(p, b, a, members, size, "candidates", which, val, n_val, out, err);
    if (st != DSP_OK)
        return st;
    out->n_demo_candidates = m;
    return DSP_OK;
}
