/* test_ensemble.c — dsp/ensemble.h without a server: which members a call
 * runs. Every member without `size`; with it, `size` members in member
 * order, the same for the same inputs and seed (so eval and generated code
 * agree), another draw for another seed or input, and every member drawn
 * for some input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dsp/ensemble.h"

static const dsp_field in_fields[] = { { "subject", &dsp_type_string, NULL }, { "body", &dsp_type_string, NULL } };
static const dsp_field out_fields[] = { { "queue", &dsp_type_string, NULL } };
static const dsp_signature sig = { "Route", NULL, in_fields, 2, out_fields, 1 };
static const dsp_predict_options members[5];

/* The members chosen for inputs (subject, body) into idx; returns how many. */
static size_t choose(const dsp_ensemble *e, const char *subject, const char *body, size_t *idx)
{
    dsp_value in[2];
    memset(in, 0, sizeof in);
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_set_string(&in[0], subject, strlen(subject), &err), DSP_OK);
    assert_int_equal(dsp_value_set_string(&in[1], body, strlen(body), &err), DSP_OK);
    size_t m = dsp_ensemble_choose(e, &sig, in, idx, &err);
    dsp_values_free(in, 2);
    return m;
}

static void test_without_size_every_member_runs(void **state)
{
    (void)state;
    size_t idx[5];
    dsp_ensemble e = { .members = members, .n = 5, .field = 0 };
    assert_int_equal(choose(&e, "refund", "I was charged twice", idx), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(idx[i], i);
    e.size = 5; /* as many as there are: all of them */
    assert_int_equal(choose(&e, "refund", "I was charged twice", idx), 5);
}

static void test_a_subset_is_in_member_order_and_the_same_for_the_same_input(void **state)
{
    (void)state;
    dsp_ensemble e = { .members = members, .n = 5, .field = 0, .size = 3, .seed = 7 };
    size_t a[5], b[5];
    assert_int_equal(choose(&e, "refund", "I was charged twice", a), 3);
    assert_int_equal(choose(&e, "refund", "I was charged twice", b), 3);
    assert_memory_equal(a, b, 3 * sizeof *a);
    assert_true(a[0] < a[1] && a[1] < a[2] && a[2] < 5);
}

/* The subsets of 40 inputs, as one string, for seed. */
static void draws(uint64_t seed, char *out, size_t size, int *seen)
{
    dsp_ensemble e = { .members = members, .n = 5, .field = 0, .size = 2, .seed = seed };
    out[0] = '\0';
    for (int i = 0; i < 40; i++) {
        char body[32];
        snprintf(body, sizeof body, "message %d", i);
        size_t idx[5];
        assert_int_equal(choose(&e, "subject", body, idx), 2);
        snprintf(out + strlen(out), size - strlen(out), "%zu%zu ", idx[0], idx[1]);
        seen[idx[0]]++;
        seen[idx[1]]++;
    }
}

static void test_inputs_and_seeds_draw_differently_and_every_member_is_drawn(void **state)
{
    (void)state;
    char s7[256], s8[256], again[256];
    int seen[5] = { 0 }, ignored[5] = { 0 };
    draws(7, s7, sizeof s7, seen);
    draws(8, s8, sizeof s8, ignored);
    draws(7, again, sizeof again, ignored);
    assert_string_equal(s7, again);
    assert_string_not_equal(s7, s8);
    /* 40 draws of 2 of 5: each member comes up (the inputs matter). */
    for (int i = 0; i < 5; i++)
        assert_true(seen[i] > 0);
}

static void test_fields_are_kept_apart(void **state)
{
    (void)state;
    /* ("ab", "c") and ("a", "bc") are other inputs: over many seeds they
     * must draw differently at least once. */
    int differ = 0;
    for (uint64_t seed = 0; seed < 20 && !differ; seed++) {
        dsp_ensemble e = { .members = members, .n = 5, .field = 0, .size = 2, .seed = seed };
        size_t x[5], y[5];
        choose(&e, "ab", "c", x);
        choose(&e, "a", "bc", y);
        differ = x[0] != y[0] || x[1] != y[1];
    }
    assert_true(differ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_size_every_member_runs),
        cmocka_unit_test(test_a_subset_is_in_member_order_and_the_same_for_the_same_input),
        cmocka_unit_test(test_inputs_and_seeds_draw_differently_and_every_member_is_drawn),
        cmocka_unit_test(test_fields_are_kept_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
