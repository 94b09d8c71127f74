/* test_sample.c — dsp_sample_run's selection rules on scripted replies
 * (tests/support/stub_script.c): best_of_n stops at the first sample that
 * reaches the threshold and else keeps the best (the earliest on ties);
 * refine tells the next attempt about the one that fell short; majority
 * keeps the most common value (the earliest on ties) with the rest of that
 * sample's outputs; unreadable samples are skipped, all unreadable is an
 * error; every sample is its own request (seed and temperature); and
 * multi_chain_comparison shows the compare step every attempt, an
 * unreadable one as such. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/sample.h"
#include "../support/stub_script.h"

static const dsp_field in[] = { { "question", &dsp_type_string, NULL } };
static const dsp_field out[] = { { "answer", &dsp_type_string, NULL }, { "note", &dsp_type_string, NULL } };
static const dsp_signature sig = { "QA", "Answer.", in, 1, out, 2 };
static dsp_lm_config lm;
static const dsp_predictor pred = { "M.a", &sig, DSP_STRATEGY_PREDICT, NULL, 0, &lm };

#define R(a, n) "[[ ## answer ## ]]\n" a "\n\n[[ ## note ## ]]\n" n "\n\n[[ ## completed ## ]]"

/* The reward: the answer's length. */
static dsp_status length(void *ctx, const dsp_value *inputs, const dsp_value *outputs, double *r, dsp_error *err)
{
    (void)ctx, (void)inputs, (void)err;
    *r = (double)outputs[0].as.s.len;
    return DSP_OK;
}

static dsp_status run(const dsp_sampling *s, dsp_value *outs, dsp_error *err)
{
    dsp_client *c = stub_script_client(&lm);
    assert_non_null(c);
    dsp_value q;
    assert_int_equal(dsp_value_set_string(&q, "q?", 2, NULL), DSP_OK);
    dsp_status st = dsp_sample_run(c, &pred, s, NULL, &q, outs, err);
    dsp_value_free(&q);
    dsp_client_free(c);
    return st;
}

static void test_best_of_n_stops_at_the_threshold(void **state)
{
    (void)state;
    const char *script[] = { R("ab", "1"), R("abcd", "2"), R("abcdef", "3") };
    stub_script_play(script, 3);
    dsp_sampling s = { DSP_PICK_BEST_OF_N, 3, length, true, 4.0, 0 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 2);
    assert_string_equal(dsp_value_cstr(&outs[1]), "2");
    dsp_values_free(outs, 2);
    /* Each sample is its own request: its seed, and temperature 1 when the lm has none. */
    assert_non_null(strstr(stub_script_body(0), "\"seed\":1"));
    assert_non_null(strstr(stub_script_body(1), "\"seed\":2"));
    assert_non_null(strstr(stub_script_body(0), "\"temperature\":1"));
}

static void test_best_of_n_keeps_the_best_earliest_on_ties(void **state)
{
    (void)state;
    const char *script[] = { R("abc", "1"), R("abcde", "2"), R("vwxyz", "3"), R("a", "4") };
    stub_script_play(script, 4);
    dsp_sampling s = { DSP_PICK_BEST_OF_N, 4, length, false, 0, 0 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 4);
    assert_string_equal(dsp_value_cstr(&outs[1]), "2");
    dsp_values_free(outs, 2);
}

static void test_refine_tells_the_next_attempt(void **state)
{
    (void)state;
    const char *script[] = { R("ab", "1"), R("abcdef", "2") };
    stub_script_play(script, 2);
    dsp_sampling s = { DSP_PICK_REFINE, 3, length, true, 5.0, 0 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 2);
    assert_string_equal(dsp_value_cstr(&outs[0]), "abcdef");
    assert_null(strstr(stub_script_body(0), "previous attempt"));
    assert_non_null(strstr(stub_script_body(1), "A previous attempt scored 2, below the 5 needed. It answered:"));
    assert_non_null(strstr(stub_script_body(1), "answer: ab"));
    dsp_values_free(outs, 2);
}

static void test_majority_keeps_the_most_common(void **state)
{
    (void)state;
    /* note is voted on: " Yes" and "yes" are one value; "no" ties with it
     * until the last sample. */
    const char *script[] = { R("first", "no"), R("second", " Yes"), R("third", "no"), R("fourth", "yes"),
                             "unreadable", "{}", R("sixth", "YES") };
    stub_script_play(script, 7);
    dsp_sampling s = { DSP_PICK_MAJORITY, 6, NULL, false, 0, 1 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 7); /* the unreadable one was asked again as JSON */
    assert_string_equal(dsp_value_cstr(&outs[0]), "second");
    dsp_values_free(outs, 2);
}

static void test_majority_ties_go_to_the_earliest(void **state)
{
    (void)state;
    const char *script[] = { R("a", "x"), R("b", "y"), R("c", "y"), R("d", "x") };
    stub_script_play(script, 4);
    dsp_sampling s = { DSP_PICK_MAJORITY, 4, NULL, false, 0, 1 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&outs[0]), "a");
    dsp_values_free(outs, 2);
    const char *texts[] = { NULL, "b", " B ", "c" };
    assert_int_equal(dsp_majority_index(texts, 4), 1);
    const char *none[] = { NULL, NULL };
    assert_int_equal(dsp_majority_index(none, 2), 2);
}

static void test_all_unreadable_is_an_error(void **state)
{
    (void)state;
    const char *script[] = { "prose", "{}", "more prose", "{}" };
    stub_script_play(script, 4);
    dsp_sampling s = { DSP_PICK_BEST_OF_N, 2, length, false, 0, 0 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_ERR_PARSE);
    assert_null(outs[0].as.s.data);
    dsp_error_clear(&err);
}

static void test_transport_failure_fails_at_once(void **state)
{
    (void)state;
    const char *script[] = { R("ab", "1"), "HTTP500", R("abc", "3") };
    stub_script_play(script, 3);
    dsp_sampling s = { DSP_PICK_MAJORITY, 3, NULL, false, 0, 0 };
    dsp_value outs[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(&s, outs, &err), DSP_ERR_HTTP);
    assert_int_equal(stub_script_requests(), 2);
    dsp_error_clear(&err);
}

static const dsp_field cmp_in[] = { { "question", &dsp_type_string, NULL },
                                    { "reasoning_attempt_1", &dsp_type_string, NULL },
                                    { "reasoning_attempt_2", &dsp_type_string, NULL } };
static const dsp_field cmp_out[] = { { "rationale", &dsp_type_string, NULL }, { "answer", &dsp_type_string, NULL },
                                     { "note", &dsp_type_string, NULL } };
static const dsp_signature cmp_sig = { "QA.compare", "Answer.", cmp_in, 3, cmp_out, 3 };

static dsp_status run_mcc(dsp_value *outs, dsp_error *err)
{
    static const dsp_predictor attempt = { "M.a.attempt", &sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, 0, &lm };
    static const dsp_predictor compare = { "M.a.compare", &cmp_sig, DSP_STRATEGY_PREDICT, NULL, 0, &lm };
    dsp_client *c = stub_script_client(&lm);
    assert_non_null(c);
    dsp_value q;
    assert_int_equal(dsp_value_set_string(&q, "q?", 2, NULL), DSP_OK);
    dsp_mcc x = { &attempt, &compare, 2 };
    dsp_status st = dsp_mcc_run(c, &x, NULL, NULL, &q, outs, err);
    dsp_value_free(&q);
    dsp_client_free(c);
    return st;
}

#define A(r, a, n) "[[ ## reasoning ## ]]\n" r "\n\n" R(a, n)

static void test_mcc_compares_the_attempts(void **state)
{
    (void)state;
    const char *script[] = { A("It is 4.", "4", "sure"), "prose", "{}",
                             "[[ ## rationale ## ]]\nThe first is right.\n\n" R("4", "checked") };
    stub_script_play(script, 4);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run_mcc(outs, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&outs[0]), "The first is right.");
    assert_string_equal(dsp_value_cstr(&outs[2]), "checked");
    const char *body = stub_script_body(3);
    assert_non_null(strstr(body, "reasoning_attempt_1 ## ]]\\n\u00abIt is 4. I'm not sure but my prediction is 4; sure\u00bb"));
    assert_non_null(strstr(body, "reasoning_attempt_2 ## ]]\\n\u00abthis attempt could not be read\u00bb"));
    dsp_values_free(outs, 3);

    const char *none[] = { "prose", "{}", "prose", "{}" };
    stub_script_play(none, 4);
    assert_int_equal(run_mcc(outs, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "none of the 2 attempts could be read"));
    assert_int_equal(stub_script_requests(), 4);
    dsp_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_of_n_stops_at_the_threshold),
        cmocka_unit_test(test_best_of_n_keeps_the_best_earliest_on_ties),
        cmocka_unit_test(test_refine_tells_the_next_attempt),
        cmocka_unit_test(test_majority_keeps_the_most_common),
        cmocka_unit_test(test_majority_ties_go_to_the_earliest),
        cmocka_unit_test(test_all_unreadable_is_an_error),
        cmocka_unit_test(test_transport_failure_fails_at_once),
        cmocka_unit_test(test_mcc_compares_the_attempts),
    };
    return cmocka_run_group_tests(tests, stub_script_setup, stub_script_teardown);
}
