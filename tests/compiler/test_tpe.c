/* test_tpe.c — the categorical TPE that drives MIPROv2's search. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "tpe.h"

/* A noisy-free objective with one best configuration: (3, 1). */
static double objective(const size_t *c)
{
    return (c[0] == 3 ? 0.6 : 0.1 * (double)c[0] / 5.0) + (c[1] == 1 ? 0.3 : 0.0);
}

static size_t run_hits(uint64_t seed, int use_model, size_t n_trials, size_t last)
{
    static const size_t k[] = { 6, 4 };
    tpe_options o = tpe_options_default();
    if (!use_model)
        o.n_startup = (size_t)-1; /* never leaves the random phase */
    tpe t;
    assert_int_equal(tpe_init(&t, k, 2, seed, &o), 0);
    size_t hits = 0;
    for (size_t i = 0; i < n_trials; i++) {
        size_t c[2];
        tpe_suggest(&t, c);
        assert_true(c[0] < 6 && c[1] < 4);
        if (i >= n_trials - last && c[0] == 3 && c[1] == 1)
            hits++;
        assert_int_equal(tpe_tell(&t, c, objective(c)), 0);
    }
    tpe_free(&t);
    return hits;
}

static void finds_the_best_more_often_than_random(void **state)
{
    (void)state;
    size_t model = 0, random = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        model += run_hits(seed, 1, 60, 30);
        random += run_hits(seed, 0, 60, 30);
    }
    /* Random hits 1/24 of the time (about 6 of 150); TPE should exploit. */
    assert_true(model > 3 * random);
    assert_true(model >= 60);
}

static void same_seed_same_suggestions(void **state)
{
    (void)state;
    static const size_t k[] = { 5, 3, 7 };
    tpe a, b, c;
    assert_int_equal(tpe_init(&a, k, 3, 42, NULL), 0);
    assert_int_equal(tpe_init(&b, k, 3, 42, NULL), 0);
    assert_int_equal(tpe_init(&c, k, 3, 43, NULL), 0);
    int differs = 0;
    for (int i = 0; i < 30; i++) {
        size_t x[3], y[3], z[3];
        tpe_suggest(&a, x);
        tpe_suggest(&b, y);
        tpe_suggest(&c, z);
        assert_memory_equal(x, y, sizeof x);
        differs |= x[0] != z[0] || x[1] != z[1] || x[2] != z[2];
        double s = (double)(x[0] + x[1] * x[2]) / 20.0;
        assert_int_equal(tpe_tell(&a, x, s), 0);
        assert_int_equal(tpe_tell(&b, y, s), 0);
        assert_int_equal(tpe_tell(&c, z, (double)(z[0] + z[1] * z[2]) / 20.0), 0);
    }
    assert_true(differs);
    tpe_free(&a);
    tpe_free(&b);
    tpe_free(&c);
}

static void rejects_bad_input(void **state)
{
    (void)state;
    static const size_t k[] = { 2, 0 };
    tpe t;
    assert_int_equal(tpe_init(&t, k, 2, 1, NULL), -1);
    tpe_free(&t);
    assert_int_equal(tpe_init(&t, k, 1, 1, NULL), 0);
    size_t bad[] = { 2 }, good[] = { 1 };
    assert_int_equal(tpe_tell(&t, bad, 0.5), -1);
    assert_int_equal(tpe_tell(&t, good, NAN), -1);
    assert_int_equal(tpe_tell(&t, good, INFINITY), -1);
    assert_int_equal(tpe_tell(&t, good, 0.5), 0);
    assert_int_equal(t.n_trials, 1);
    tpe_free(&t);
}

static void single_option_params_are_always_zero(void **state)
{
    (void)state;
    static const size_t k[] = { 1, 1 };
    tpe t;
    assert_int_equal(tpe_init(&t, k, 2, 9, NULL), 0);
    for (int i = 0; i < 20; i++) {
        size_t c[2] = { 7, 7 };
        tpe_suggest(&t, c);
        assert_int_equal(c[0], 0);
        assert_int_equal(c[1], 0);
        assert_int_equal(tpe_tell(&t, c, i), 0);
    }
    tpe_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_best_more_often_than_random),
        cmocka_unit_test(same_seed_same_suggestions),
        cmocka_unit_test(rejects_bad_input),
        cmocka_unit_test(single_option_params_are_always_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
