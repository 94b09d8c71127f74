/* test_opt_gepa.c — gepa's search against a fake backend: the budget, the
 * Pareto frontier, acceptance on the minibatch, merges of two branches,
 * determinism and the arguments. optimize_gepa_e2e.sh runs the same code
 * against the reference server (a test fixture). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "opt.h"

/* Two predictors and ROWS rows in both splits. Row r is predictor r % 2's
 * job: it scores 1 when that predictor's instruction names "fix<r>". The
 * reflection adds "fix<r>" for the first failing row of the predictor it
 * is asked about, so each reflection solves one more row. */
enum { ROWS = 6 };

typedef struct fake {
    int forgetful;           /* a reflection's fix replaces the earlier ones */
    long calls;              /* scored program runs */
    int reflections;
    int combinations;        /* fake_combine calls */
    int can_combine;         /* the backend has combine */
    uint64_t rollouts[256];
    arena mem;
} fake;

static const char *const names[] = { "M.a", "M.b" };
static const char *const base[] = { "Do a.", "Do b." };

static double row_score(const opt_program *prog, size_t r)
{
    char tag[16];
    snprintf(tag, sizeof tag, "fix%zu;", r);
    const char *instr = prog->instructions[r % 2];
    return instr && strstr(instr, tag) ? 1 : 0;
}

static dsp_status fake_each(void *ctx, const opt_program *prog, const size_t *rows, size_t n, double *scores,
                            opt_score *out, dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->calls += (long)n;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i] < ROWS);
        scores[i] = row_score(prog, rows[i]);
        sum += scores[i];
    }
    *out = (opt_score){ .mean = sum / (double)n, .n = n };
    return DSP_OK;
}

/* evaluate, as every backend has it (the final rescoring scores with it). */
static dsp_status fake_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                                dsp_error *err)
{
    double *scores = calloc(n + 1, sizeof *scores);
    assert_non_null(scores);
    dsp_status st = fake_each(ctx, prog, rows, n, scores, out, err);
    free(scores);
    return st;
}

static dsp_status fake_feedback(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                                opt_run *runs, dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->calls += (long)n;
    for (size_t i = 0; i < n; i++) {
        opt_step *steps = arena_array(a, 2, sizeof *steps);
        for (size_t p = 0; p < 2; p++) {
            steps[p].pred = p;
            steps[p].demo.row = rows[i];
        }
        double s = row_score(prog, rows[i]);
        runs[i] = (opt_run){ 1, s, steps, 2, arena_printf(a, "row %zu %s", rows[i], s > 0 ? "right" : "wrong"), NULL };
    }
    return DSP_OK;
}

static dsp_status fake_reflect(void *ctx, arena *a, const opt_reflection *req, const char **instruction,
                               dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    assert_true(f->reflections < 256);
    f->rollouts[f->reflections++] = req->rollout;
    assert_non_null(req->current_instruction);
    *instruction = req->current_instruction;
    for (size_t i = 0; i < req->n_runs; i++) {
        size_t r = req->runs[i].steps[0].demo.row;
        assert_non_null(req->runs[i].feedback);
        if (r % 2 == req->pred && strstr(req->runs[i].feedback, "wrong")) {
            *instruction = arena_printf(a, "%s fix%zu;", f->forgetful ? base[req->pred] : req->current_instruction, r);
            break;
        }
    }
    return DSP_OK;
}

/* A careful combination: a's text, then b's fixes that a lacks. */
static dsp_status fake_combine(void *ctx, arena *a, const opt_combination *req, const char **instruction,
                               dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->combinations++;
    assert_string_not_equal(req->instruction_a, req->instruction_b);
    char *s = arena_strdup(a, req->instruction_a);
    for (const char *p = strstr(req->instruction_b, "fix"); p; p = strstr(p + 1, "fix")) {
        const char *e = strchr(p, ';');
        char *tag = arena_strndup(a, p, (size_t)(e - p + 1));
        if (!strstr(s, tag))
            s = arena_printf(a, "%s %s", s, tag);
    }
    *instruction = s;
    return DSP_OK;
}

static opt_backend backend(fake *f)
{
    opt_backend b;
    memset(&b, 0, sizeof b);
    b.ctx = f;
    b.n_preds = 2;
    b.pred_names = names;
    b.base_instructions = base;
    b.n_train = ROWS;
    b.n_val = ROWS;
    b.evaluate = fake_evaluate;
    b.evaluate_each = fake_each;
    b.run_feedback = fake_feedback;
    b.reflect = fake_reflect;
    b.combine = f->can_combine ? fake_combine : NULL;
    return b;
}

static opt_params params(int budget, int merge, const char *selection)
{
    opt_params p;
    memset(&p, 0, sizeof p);
    p.optimizer = "gepa";
    p.seed = 7;
    p.max_metric_calls = budget;
    p.reflection_minibatch_size = 2;
    p.candidate_selection = selection;
    p.use_merge = merge;
    p.max_merge_invocations = 5;
    return p;
}

static void run(const opt_params *p, fake *f, arena *a, opt_result *res)
{
    int forgetful = f->forgetful, can_combine = f->can_combine;
    memset(f, 0, sizeof *f);
    f->forgetful = forgetful;
    f->can_combine = can_combine;
    opt_backend b = backend(f);
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(p, &b, a, res, &err), DSP_OK);
}

/* Reflections solve the task row by row; the budget holds; the baseline
 * is the program as written; the kept program is the best candidate. */
static void test_improves_within_budget(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f = { 0 };
    opt_result res;
    opt_params p = params(200, 1, "pareto");
    run(&p, &f, &a, &res);
    assert_true(f.calls <= 200);
    assert_true(f.calls >= 150); /* stops only when the next step would not fit */
    assert_true(res.baseline_score == 0);
    assert_true(res.final_score == 1.0);
    assert_true(res.n_trials >= 2);
    assert_string_equal(res.trials[0].config, "candidate 0: the program as written (baseline)");
    /* Every stage is a candidate, the kept one scored highest. */
    assert_int_equal(res.n_stages, res.n_instruction_candidates);
    for (size_t i = 0; i < res.n_stages; i++)
        assert_true(res.stages[i].score <= res.final_score);
    /* Proposals have distinct rollouts, so a cache keeps them apart. */
    for (int i = 1; i < f.reflections; i++)
        assert_true(f.rollouts[i] != f.rollouts[i - 1]);
    arena_free(&a);
}

/* When a fix replaces the earlier ones, branches that fixed different
 * rows stay on the frontier, and a merge combines one that changed M.a
 * with one that changed M.b. */
static void test_merge_combines_branches(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f = { .forgetful = 1 };
    opt_result res;
    opt_params p = params(400, 1, "pareto");
    run(&p, &f, &a, &res);
    int merged = 0;
    for (size_t i = 0; i < res.n_trials; i++)
        merged |= strstr(res.trials[i].config, "merge of ") != NULL;
    assert_true(merged);
    arena_free(&a);
}

/* Without combine, a merge takes each predictor from the side that
 * changed it, so forgetful branches (one fix per predictor) never solve
 * more than one row per predictor; with it, a predictor both branches
 * changed gets both fixes, and the merge solves more than either. */
static void test_merge_combines_one_predictor(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f = { .forgetful = 1 };
    opt_result plain, comb;
    opt_params p = params(400, 1, "pareto");
    run(&p, &f, &a, &plain);
    assert_int_equal(f.combinations, 0);
    assert_true(plain.final_score <= 2.0 / ROWS);
    f.can_combine = 1;
    run(&p, &f, &a, &comb);
    assert_true(f.combinations > 0);
    int combined = 0;
    for (size_t i = 0; i < comb.n_trials; i++)
        combined |= strstr(comb.trials[i].config, "; combined: M.") != NULL;
    assert_true(combined);
    assert_true(comb.final_score > plain.final_score);
    /* Each pair is merged once at most. */
    for (size_t i = 0; i < comb.n_trials; i++)
        for (size_t j = i + 1; j < comb.n_trials; j++)
            if (strstr(comb.trials[i].config, "merge of "))
                assert_string_not_equal(comb.trials[i].config, comb.trials[j].config);
    arena_free(&a);
}

/* The same seed gives the same search; current_best still improves. */
static void test_deterministic_and_current_best(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f = { 0 };
    opt_result r1, r2;
    opt_params p = params(120, 1, "pareto");
    run(&p, &f, &a, &r1);
    run(&p, &f, &a, &r2);
    assert_int_equal(r1.n_trials, r2.n_trials);
    for (size_t i = 0; i < r1.n_trials; i++) {
        assert_string_equal(r1.trials[i].config, r2.trials[i].config);
        assert_true(r1.trials[i].score == r2.trials[i].score);
    }
    opt_params q = params(120, 0, "current_best");
    opt_result r3;
    run(&q, &f, &a, &r3);
    assert_true(r3.final_score > r3.baseline_score);
    for (size_t i = 0; i < r3.n_trials; i++)
        assert_null(strstr(r3.trials[i].config, "merge of "));
    arena_free(&a);
}

/* A capped Pareto set (a preset's): the search scores candidates on a
 * seeded sample of the valset, then the program as written and the best
 * candidates on all of it; the kept program's score is its whole-valset
 * mean, and the baseline is the program as written on all rows. */
static void test_sampled_pareto_set_rescored_on_all(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f = { 0 };
    opt_result res;
    opt_params p = params(120, 0, "pareto");
    p.valset_cap = 3;
    run(&p, &f, &a, &res);
    assert_int_equal(res.n_search, 3);
    assert_true(res.n_rescored >= 1 && res.n_rescored <= 3);
    double whole = 0;
    for (size_t r = 0; r < ROWS; r++)
        whole += row_score(&res.best, r);
    assert_true(res.final_score == whole / ROWS);
    assert_true(res.baseline_score == 0);
    assert_true(res.final_score > 0);
    int noted = 0;
    for (size_t i = 0; i < res.n_notes; i++)
        noted |= strstr(res.notes[i], "gepa searched on 3 of 6") != NULL;
    assert_true(noted);
    /* The rescoring trials are whole-valset scores of candidates. */
    assert_non_null(strstr(res.trials[res.n_trials - 1].config, ", on the whole valset"));
    arena_free(&a);
}

/* A budget below one valset pass, and the presets' budgets. */
static void test_budget_errors_and_presets(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f;
    memset(&f, 0, sizeof f);
    opt_backend b = backend(&f);
    opt_params p = params(ROWS - 1, 1, "pareto");
    opt_result res;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b, &a, &res, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "below the valset's 6 rows"));
    assert_int_equal(f.calls, 0);
    /* Room for the baseline but not for one candidate (2 x 2 minibatch
     * rows, then 6): refused with the least budget that proposes one,
     * rather than a run that scores the program as written and stops. */
    dsp_error_clear(&err);
    p = params(ROWS + 2 * 2 + ROWS - 1, 1, "pareto");
    assert_int_equal(opt_optimize(&p, &b, &a, &res, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "nothing would be proposed; raise it to at least 16"));
    assert_int_equal(f.calls, 0);
    dsp_error_clear(&err);
    p = params(ROWS + 2 * 2 + ROWS, 1, "pareto");
    memset(&res, 0, sizeof res);
    assert_int_equal(opt_optimize(&p, &b, &a, &res, &err), DSP_OK);
    assert_true(res.n_instruction_candidates >= 2);
    /* DSPy's light budget for one predictor and 100 valset rows:
     * trials max(2*2*log2(6), 9) = 10, 100 + 30 + 350 + 3 * 100. */
    assert_int_equal(opt_gepa_budget("light", 1, 100), 780);
    assert_true(opt_gepa_budget("medium", 1, 100) > 780);
    assert_true(opt_gepa_budget("heavy", 1, 100) > opt_gepa_budget("medium", 1, 100));
    assert_int_equal(opt_gepa_budget("huge", 1, 100), -1);
    arena_free(&a);
}

/* Minibatches cover every training row once per epoch, in a seeded order
 * that differs between epochs and streams and repeats for a seed. */
static void test_batcher_epochs(void **state)
{
    (void)state;
    arena a = { 0 };
    opt_batcher x, y, z;
    opt_batcher_init(&x, &a, 7, 5, 1);
    opt_batcher_init(&y, &a, 7, 5, 1);
    opt_batcher_init(&z, &a, 7, 5, 2);
    size_t r1[14], r2[14], r3[14];
    opt_batcher_next(&x, r1, 3); /* batches that straddle an epoch */
    opt_batcher_next(&x, r1 + 3, 11);
    opt_batcher_next(&y, r2, 14);
    opt_batcher_next(&z, r3, 14);
    int seen[2][7] = { { 0 } }, same_stream = 1, same_epochs = 1;
    for (size_t i = 0; i < 14; i++) {
        seen[i / 7][r1[i]]++;
        same_stream &= r1[i] == r3[i];
        same_epochs &= r1[i % 7] == r1[7 + i % 7];
        assert_int_equal(r1[i], r2[i]);
    }
    for (size_t e = 0; e < 2; e++)
        for (size_t i = 0; i < 7; i++)
            assert_int_equal(seen[e][i], 1);
    assert_false(same_stream);
    assert_false(same_epochs);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batcher_epochs),
        cmocka_unit_test(test_improves_within_budget),
        cmocka_unit_test(test_sampled_pareto_set_rescored_on_all),
        cmocka_unit_test(test_merge_combines_branches),
        cmocka_unit_test(test_merge_combines_one_predictor),
        cmocka_unit_test(test_deterministic_and_current_best),
        cmocka_unit_test(test_budget_errors_and_presets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
