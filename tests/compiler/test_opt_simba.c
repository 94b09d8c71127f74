/* test_opt_simba.c — simba's steps against a fake backend: sampled runs,
 * the two moves, the demo cap, the finalists on the valset, determinism
 * and the arguments. optimize_simba_e2e.sh runs the same code against the
 * reference server (a test fixture). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "opt.h"

/* One predictor, ROWS rows in both splits. A run of row r scores 1 when
 * the program has a demo of row r or its instruction names "rule<r>;";
 * otherwise a sampled run (rollout != 0) scores 1 on odd rows only when
 * (rollout + r) is even, so the runs disagree and there is something to
 * learn. */
enum { ROWS = 10, MAX_EVALS = 64 };

typedef struct fake {
    int reflections;
    int evals;
    size_t max_demos_seen;
} fake;

static const char *const names[] = { "M.a" };
static const char *const base[] = { "Do it." };

static int solves(const opt_program *prog, size_t r)
{
    char tag[16];
    snprintf(tag, sizeof tag, "rule%zu;", r);
    if (prog->instructions[0] && strstr(prog->instructions[0], tag))
        return 1;
    for (size_t i = 0; i < prog->demos[0].n; i++)
        if (prog->demos[0].items[i].row == r)
            return 1;
    return 0;
}

static dsp_status fake_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                                dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->evals++;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += solves(prog, rows[i]);
    *out = (opt_score){ .mean = s / (double)n, .n = n };
    return DSP_OK;
}

static dsp_status fake_sampled(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                               double temperature, uint64_t rollout, opt_run *runs, dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    /* The plain run has no rollout; sampled ones have distinct ones. */
    if (rollout == 0)
        assert_true(temperature < 0);
    if (prog->demos[0].n > f->max_demos_seen)
        f->max_demos_seen = prog->demos[0].n;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        int ok = solves(prog, r) || (rollout && r % 2 == 1 && (rollout + r) % 2 == 0);
        opt_step *st = arena_array(a, 1, sizeof *st);
        st->pred = 0;
        st->demo.row = r;
        st->demo.bootstrapped = 1;
        runs[i] = (opt_run){ 1, ok ? 1.0 : 0.0, st, 1, arena_printf(a, "row %zu", r), NULL };
    }
    return DSP_OK;
}

static dsp_status fake_reflect(void *ctx, arena *a, const opt_reflection *req, const char **instruction,
                               dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->reflections++;
    /* The worse run first, then the better; both of the same row. */
    assert_int_equal(req->n_runs, 2);
    assert_non_null(strstr(req->runs[0].feedback, "The worse run"));
    assert_non_null(strstr(req->runs[1].feedback, "The better run"));
    size_t r = req->runs[1].steps[0].demo.row;
    *instruction = arena_printf(a, "%s rule%zu;", req->current_instruction, r);
    return DSP_OK;
}

static opt_backend backend(fake *f)
{
    opt_backend b;
    memset(&b, 0, sizeof b);
    b.ctx = f;
    b.n_preds = 1;
    b.pred_names = names;
    b.base_instructions = base;
    b.n_train = ROWS;
    b.n_val = ROWS;
    b.evaluate = fake_evaluate;
    b.run_sampled = fake_sampled;
    b.reflect = fake_reflect;
    return b;
}

static opt_params params(int max_demos)
{
    opt_params p;
    memset(&p, 0, sizeof p);
    p.optimizer = "simba";
    p.seed = 3;
    p.bsize = 4;
    p.num_candidates = 3;
    p.max_steps = 6;
    p.max_demos = max_demos;
    p.temperature_for_sampling = 0.2;
    return p;
}

static void run(const opt_params *p, fake *f, arena *a, opt_result *res)
{
    memset(f, 0, sizeof *f);
    opt_backend b = backend(f);
    dsp_error err = { 0 };
    assert_int_equal(opt_search(p, &b, a, res, &err), DSP_OK);
}

/* Both moves make candidates; demos stay within max_demos; the program as
 * written and at most num_candidates finalists are scored on the valset;
 * the result is the best of them. */
static void test_moves_and_finalists(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f;
    opt_result res;
    opt_params p = params(2);
    run(&p, &f, &a, &res);
    int demos = 0, rules = 0, full = 0;
    double best = 0;
    for (size_t i = 0; i < res.n_trials; i++) {
        demos |= strstr(res.trials[i].config, ": demo of training row") != NULL;
        rules |= strstr(res.trials[i].config, ": rule from training row") != NULL;
        if (res.trials[i].full_eval) {
            full++;
            best = res.trials[i].score > best ? res.trials[i].score : best;
        }
    }
    assert_true(demos && rules);
    assert_true(f.reflections > 0);
    assert_true(f.max_demos_seen <= 2);
    assert_int_equal(full, f.evals);
    assert_true(full >= 2 && full <= p.num_candidates + 1);
    assert_string_equal(res.trials[res.n_trials - full].config, "candidate 0: the program as written");
    assert_true(res.baseline_score == 0);
    assert_true(res.final_score == best);
    assert_true(res.final_score > res.baseline_score);
    arena_free(&a);
}

/* max_demos: 0 makes rules only; the same seed gives the same search. */
static void test_rules_only_and_deterministic(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f;
    opt_result r1, r2;
    opt_params p = params(0);
    run(&p, &f, &a, &r1);
    assert_int_equal(f.max_demos_seen, 0);
    run(&p, &f, &a, &r2);
    assert_int_equal(r1.n_trials, r2.n_trials);
    for (size_t i = 0; i < r1.n_trials; i++) {
        assert_null(strstr(r1.trials[i].config, ": demo of"));
        assert_string_equal(r1.trials[i].config, r2.trials[i].config);
        assert_true(r1.trials[i].score == r2.trials[i].score);
    }
    arena_free(&a);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    arena a = { 0 };
    fake f = { 0 };
    opt_backend b = backend(&f);
    opt_params p = params(2);
    p.num_candidates = 0;
    opt_result res;
    dsp_error err = { 0 };
    assert_int_equal(opt_search(&p, &b, &a, &res, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "at least 1"));
    b.run_sampled = NULL;
    p.num_candidates = 2;
    assert_int_equal(opt_search(&p, &b, &a, &res, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "cannot sample"));
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moves_and_finalists),
        cmocka_unit_test(test_rules_only_and_deterministic),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
