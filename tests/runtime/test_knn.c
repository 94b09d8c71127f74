/* test_knn.c — dsp/knn.h without a server: the text a call embeds, unit
 * vectors, the nearest pool rows in order with ties to the earlier row, and
 * a pool or k of nothing choosing nothing without a call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/knn.h"

static const dsp_field in_fields[] = { { "subject", &dsp_type_string, NULL }, { "body", &dsp_type_string, NULL } };
static const dsp_field out_fields[] = { { "queue", &dsp_type_string, NULL } };
static const dsp_signature sig = { "Route", NULL, in_fields, 2, out_fields, 1 };

static void test_the_text_is_name_colon_value_joined_by_bars(void **state)
{
    (void)state;
    const char *both[] = { "Refund", "I was charged twice" };
    char *t = dsp_knn_text(&sig, both);
    assert_string_equal(t, "subject: Refund | body: I was charged twice");
    free(t);
    const char *one[] = { NULL, "no subject" };
    t = dsp_knn_text(&sig, one);
    assert_string_equal(t, "body: no subject");
    free(t);
    const char *none[] = { NULL, NULL };
    assert_null(dsp_knn_text(&sig, none));
}

static void test_normalize_gives_unit_length_and_keeps_zero(void **state)
{
    (void)state;
    float v[3] = { 3, 0, 4 };
    dsp_knn_normalize(v, 3);
    assert_true(v[0] == 0.6f && v[1] == 0.0f && v[2] == 0.8f);
    float z[2] = { 0, 0 };
    dsp_knn_normalize(z, 2);
    assert_true(z[0] == 0.0f && z[1] == 0.0f);
}

/* Rows 1 and 3 hold the same vector: the tie goes to row 1. */
static void test_nearest_are_in_order_with_ties_to_the_earlier_row(void **state)
{
    (void)state;
    static const float pool[] = { 0, 1, 0.6f, 0.8f, -1, 0, 0.6f, 0.8f, 1, 0 };
    const float q[2] = { 0.8f, 0.6f };
    /* scores: 0.6, 0.96, -0.8, 0.96, 0.8 -> rows 1, 3, 4, 0, 2 */
    size_t want[] = { 1, 3, 4, 0, 2 };
    for (size_t k = 1; k <= 6; k++) {
        dsp_knn knn = { NULL, 0, k, 2, pool, NULL, 5 };
        size_t idx[6];
        size_t m = dsp_knn_nearest(&knn, q, idx);
        assert_int_equal(m, k < 5 ? k : 5);
        for (size_t i = 0; i < m; i++)
            assert_int_equal(idx[i], want[i]);
    }
}

static void test_an_empty_pool_or_k_0_chooses_nothing_without_a_call(void **state)
{
    (void)state;
    dsp_demo demos[2];
    size_t n = 9;
    dsp_error err = { 0 };
    dsp_knn none = { NULL, 0, 3, 2, NULL, NULL, 0 };
    /* No client: a call would fail; none is made. */
    assert_int_equal(dsp_knn_choose(NULL, &none, NULL, &sig, NULL, demos, &n, &err), DSP_OK);
    assert_int_equal(n, 0);
    static const float pool[] = { 1, 0 };
    dsp_knn k0 = { NULL, 0, 0, 2, pool, NULL, 1 };
    n = 9;
    assert_int_equal(dsp_knn_choose(NULL, &k0, NULL, &sig, NULL, demos, &n, &err), DSP_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_text_is_name_colon_value_joined_by_bars),
        cmocka_unit_test(test_normalize_gives_unit_length_and_keeps_zero),
        cmocka_unit_test(test_nearest_are_in_order_with_ties_to_the_earlier_row),
        cmocka_unit_test(test_an_empty_pool_or_k_0_chooses_nothing_without_a_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
