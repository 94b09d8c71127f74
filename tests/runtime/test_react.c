/* test_react.c — dsp_react_run against a stub LM on 127.0.0.1 that replays
 * a script of replies: an unknown tool, arguments that are not JSON, of the
 * wrong type, missing or extra, a tool that fails, a good call and finish
 * each leave the observation the LM sees next, never a failed call;
 * max_iters bounds the loop; a step that cannot be parsed ends it and the
 * extract step still answers; an HTTP failure fails the call. And the
 * helpers: argument binding, observations, truncation at a character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/react.h"
#include "../support/stub_script.h"

/* ---- the program: Answer(question) -> answer, with add and fail ---- */

static dsp_status add(void *ctx, const dsp_tool *tool, const dsp_value *args, dsp_value *out, dsp_error *err)
{
    (void)ctx, (void)tool, (void)err;
    out[0] = dsp_value_int(args[0].as.i + args[1].as.i);
    return DSP_OK;
}

static dsp_status fails(void *ctx, const dsp_tool *tool, const dsp_value *args, dsp_value *out, dsp_error *err)
{
    (void)ctx, (void)tool, (void)args, (void)out;
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `fail` returned status 3");
}

static const dsp_field add_args[] = { { "a", &dsp_type_int, NULL }, { "b", &dsp_type_int, NULL } };
static const dsp_field int_result[] = { { "result", &dsp_type_int, NULL } };
static const dsp_tool tools[] = {
    { "add", NULL, add_args, 2, int_result, 1, add, NULL },
    { "fail", NULL, NULL, 0, int_result, 1, fails, NULL },
};
static const dsp_field in[] = { { "question", &dsp_type_string, NULL }, { "trajectory", &dsp_type_string, NULL } };
static const dsp_field step_out[] = { { "next_thought", &dsp_type_string, NULL },
                                      { "next_tool_name", &dsp_type_string, NULL },
                                      { "next_tool_args", &dsp_type_string, NULL } };
static const dsp_field ext_out[] = { { "answer", &dsp_type_string, NULL } };
static const dsp_signature step_sig = { "Answer.react", "Use the tools.", in, 2, step_out, 3 };
static const dsp_signature ext_sig = { "Answer.extract", "Answer.", in, 2, ext_out, 1 };
static dsp_lm_config lm;
static dsp_predictor step_p = { "A.r.react", &step_sig, DSP_STRATEGY_PREDICT, NULL, 0, &lm };
static dsp_predictor ext_p = { "A.r.extract", &ext_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, 0, &lm };

static const char *step_reply(const char *tool, const char *args)
{
    static char buf[16][512];
    static size_t k;
    char *b = buf[k++ % 16];
    snprintf(b, 512, "[[ ## next_thought ## ]]\nthinking\n\n[[ ## next_tool_name ## ]]\n%s\n\n"
                     "[[ ## next_tool_args ## ]]\n%s\n\n[[ ## completed ## ]]", tool, args);
    return b;
}
#define EXTRACT "[[ ## reasoning ## ]]\nfrom the sum\n\n[[ ## answer ## ]]\n5\n\n[[ ## completed ## ]]"

static dsp_status run(int max_iters, dsp_value *outs, dsp_error *err)
{
    dsp_client *c = stub_script_client(&lm);
    assert_non_null(c);
    dsp_react r = { &step_p, &ext_p, tools, 2, max_iters, 0 };
    dsp_value q;
    assert_int_equal(dsp_value_set_string(&q, "What is 2 + 3?", 14, NULL), DSP_OK);
    dsp_status st = dsp_react_run(c, &r, NULL, &q, outs, err);
    dsp_value_free(&q);
    dsp_client_free(c);
    return st;
}

static void test_every_misstep_is_an_observation(void **state)
{
    (void)state;
    const char *script[] = {
        step_reply("nosuch", "{}"),
        step_reply("add", "not json"),
        step_reply("add", "{\"a\": \"x\", \"b\": 2}"),
        step_reply("add", "{\"a\": 1}"),
        step_reply("add", "{\"a\": 1, \"b\": 2, \"c\": 3}"),
        step_reply("fail", ""),
        step_reply("`add`", "{\"a\": 2, \"b\": 3}"),
        step_reply("finish", "{}"),
        EXTRACT,
    };
    stub_script_play(script, 9);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(10, outs, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&outs[1]), "5");
    const char *t = dsp_value_cstr(&outs[2]);
    const char *want[] = {
        "[[ ## thought_0 ## ]]\nthinking\n\n[[ ## tool_name_0 ## ]]\nnosuch\n\n[[ ## tool_args_0 ## ]]\n{}\n\n"
        "[[ ## observation_0 ## ]]\nError: there is no tool `nosuch`. The tools are: add, fail, finish.",
        "[[ ## observation_1 ## ]]\nError: the arguments do not fit tool `add`: they must be a JSON object, not "
        "`not json`. It takes {\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}}",
        "[[ ## observation_2 ## ]]\nError: the arguments do not fit tool `add`: `a` must be int.",
        "[[ ## observation_3 ## ]]\nError: the arguments do not fit tool `add`: `b` is missing.",
        "[[ ## observation_4 ## ]]\nError: the arguments do not fit tool `add`: it has no parameter `c`.",
        "[[ ## observation_5 ## ]]\nExecution error in fail: tool `fail` returned status 3",
        "[[ ## tool_name_6 ## ]]\nadd\n\n[[ ## tool_args_6 ## ]]\n{\"a\": 2, \"b\": 3}\n\n[[ ## observation_6 ## ]]\n5",
        "[[ ## tool_name_7 ## ]]\nfinish\n\n[[ ## tool_args_7 ## ]]\n{}\n\n[[ ## observation_7 ## ]]\nCompleted.",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i]))
            fail_msg("the trajectory lacks:\n%s\n--- it is:\n%s", want[i], t);
    /* The extract step saw the whole trajectory; each step the part before it. */
    assert_non_null(strstr(stub_script_body(8), "observation_7"));
    assert_null(strstr(stub_script_body(1), "observation_1"));
    assert_non_null(strstr(stub_script_body(1), "observation_0"));
    dsp_values_free(outs, 3);
}

static void test_max_iters_bounds_the_loop(void **state)
{
    (void)state;
    const char *script[] = { step_reply("add", "{\"a\": 1, \"b\": 1}"), step_reply("add", "{\"a\": 1, \"b\": 2}"),
                             EXTRACT, step_reply("add", "{}") };
    stub_script_play(script, 4);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(2, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 3); /* two steps, then the extract */
    assert_non_null(strstr(dsp_value_cstr(&outs[2]), "observation_1 ## ]]\n3"));
    assert_null(strstr(dsp_value_cstr(&outs[2]), "thought_2"));
    dsp_values_free(outs, 3);
}

static void test_unreadable_step_ends_the_loop(void **state)
{
    (void)state;
    const char *script[] = { step_reply("add", "{\"a\": 1, \"b\": 1}"), "I refuse to use the format.",
                             "{\"bad\": true}", EXTRACT };
    stub_script_play(script, 4);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(5, outs, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&outs[1]), "5");
    assert_non_null(strstr(dsp_value_cstr(&outs[2]), "observation_0 ## ]]\n2"));
    assert_null(strstr(dsp_value_cstr(&outs[2]), "thought_1"));
    dsp_values_free(outs, 3);
}

static void test_http_failure_fails_the_call(void **state)
{
    (void)state;
    const char *script[] = { step_reply("add", "{\"a\": 1, \"b\": 1}"), "HTTP500" };
    stub_script_play(script, 2);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run(5, outs, &err), DSP_ERR_HTTP);
    assert_null(outs[0].as.s.data);
    assert_null(outs[2].as.s.data);
    dsp_error_clear(&err);
}

static void test_bind_args(void **state)
{
    (void)state;
    dsp_value args[2] = { 0 };
    char *problem = NULL;
    assert_int_equal(dsp_tool_bind_args(&tools[0], " {\"b\": 4, \"a\": \"3\"} ", 21, args, &problem), DSP_OK);
    assert_null(problem);
    assert_int_equal(args[0].as.i, 3); /* a number written as a string is read leniently, as replies are */
    assert_int_equal(args[1].as.i, 4);
    assert_int_equal(dsp_tool_bind_args(&tools[0], "[1, 2]", 6, args, &problem), DSP_ERR_PARSE);
    assert_non_null(strstr(problem, "must be a JSON object"));
    free(problem);
    assert_int_equal(dsp_tool_bind_args(&tools[0], "{\"a\": 1.5, \"b\": 1}", 18, args, &problem), DSP_ERR_PARSE);
    assert_non_null(strstr(problem, "`a` must be int"));
    free(problem);
    assert_int_equal(dsp_tool_bind_args(&tools[1], "", 0, args, &problem), DSP_OK);
    char *schema = dsp_tool_args_schema(&tools[1]);
    assert_string_equal(schema, "{}");
    free(schema);
}

/* A record argument (a C tool's struct, docs/c-headers.md): what does not
 * fit deep inside is named by its path, and the tool's schema follows. */
static void test_bind_record_args(void **state)
{
    (void)state;
    static const dsp_field pt_f[] = { { "lat", &dsp_type_float, NULL }, { "lon", &dsp_type_float, NULL } };
    static const dsp_type pt = { .kind = DSP_TYPE_RECORD, .fields = pt_f, .n_fields = 2, .name = "Point" };
    static const dsp_type pts = { .kind = DSP_TYPE_LIST, .elem = &pt };
    static const dsp_field ps[] = { { "near", &pt, NULL }, { "hops", &pts, NULL } };
    static const dsp_field one[] = { { "result", &dsp_type_string, NULL } };
    dsp_tool t = { "route", NULL, ps, 2, one, 1, add, NULL };
    dsp_value args[2] = { 0 };
    char *problem = NULL;
    const char *good = "{\"near\": {\"lat\": 1, \"lon\": 2.5}, \"hops\": []}";
    assert_int_equal(dsp_tool_bind_args(&t, good, strlen(good), args, &problem), DSP_OK);
    assert_true(args[0].as.record.fields[1].as.f == 2.5);
    dsp_values_free(args, 2);
    const char *missing = "{\"near\": {\"lat\": 1}, \"hops\": []}";
    assert_int_equal(dsp_tool_bind_args(&t, missing, strlen(missing), args, &problem), DSP_ERR_PARSE);
    assert_non_null(strstr(problem, "Error: the arguments do not fit tool `route`: `near.lon`: missing, but it is a "
                                    "required field of Point. It takes {\"near\":{\"type\":\"object\""));
    free(problem);
    const char *deep = "{\"near\": {\"lat\": 1, \"lon\": 2}, \"hops\": [{\"lat\": 1, \"lon\": 2}, {\"lat\": \"north\", "
                       "\"lon\": 0}]}";
    assert_int_equal(dsp_tool_bind_args(&t, deep, strlen(deep), args, &problem), DSP_ERR_PARSE);
    assert_non_null(strstr(problem, "`hops[1].lat`: "));
    assert_non_null(strstr(problem, "\"north\""));
    free(problem);
}

static void test_truncate_keeps_characters_whole(void **state)
{
    (void)state;
    char *s = strdup("ab\xc3\xa9\xc3\xa9");  /* "abéé": 6 bytes */
    s = dsp_react_truncate(s, 3);             /* byte 3 is inside the first é */
    assert_string_equal(s, "ab\n[... observation truncated: the first 2 of 6 bytes shown]");
    free(s);
    char *t = strdup("short");
    t = dsp_react_truncate(t, 100);
    assert_string_equal(t, "short");
    free(t);
}

static void test_observation_of_several_results(void **state)
{
    (void)state;
    static const dsp_field two[] = { { "n", &dsp_type_int, NULL }, { "word", &dsp_type_string, NULL } };
    dsp_tool t = { "t", NULL, NULL, 0, two, 2, add, NULL };
    dsp_value res[2] = { dsp_value_int(7), { 0 } };
    assert_int_equal(dsp_value_set_string(&res[1], "x", 1, NULL), DSP_OK);
    char *o = dsp_tool_observation(&t, res);
    assert_string_equal(o, "{\"n\":7,\"word\":\"x\"}");
    free(o);
    dsp_values_free(res, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_misstep_is_an_observation),
        cmocka_unit_test(test_max_iters_bounds_the_loop),
        cmocka_unit_test(test_unreadable_step_ends_the_loop),
        cmocka_unit_test(test_http_failure_fails_the_call),
        cmocka_unit_test(test_bind_args),
        cmocka_unit_test(test_bind_record_args),
        cmocka_unit_test(test_truncate_keeps_characters_whole),
        cmocka_unit_test(test_observation_of_several_results),
    };
    return cmocka_run_group_tests(tests, stub_script_setup, stub_script_teardown);
}
