/* test_react_native.c — dsp_react_run with native tool calling
 * (tool_calling NATIVE) against a stub LM that replays replies in
 * OpenAI's chat completions shape (message.tool_calls) and Anthropic's
 * Messages shape (tool_use blocks): a malformed call (an unknown tool,
 * arguments that are not JSON, no id, no name) becomes an observation and
 * never fails the call; the requests carry the tools and the earlier turns
 * in each API's documented shape (goldens); a reply without a tool call
 * ends the loop like finish; the trajectory is the text loop's. */
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

static dsp_status add(void *ctx, const dsp_tool *tool, const dsp_value *args, dsp_value *out, dsp_error *err)
{
    (void)ctx, (void)tool, (void)err;
    out[0] = dsp_value_int(args[0].as.i + args[1].as.i);
    return DSP_OK;
}

static const dsp_field add_args[] = { { "a", &dsp_type_int, NULL }, { "b", &dsp_type_int, NULL } };
static const dsp_field int_result[] = { { "result", &dsp_type_int, NULL } };
static const dsp_tool tools[] = { { "add", "Adds two integers.", add_args, 2, int_result, 1, add, NULL } };
/* A tool whose name is the JSON adapter's forced tool's on Anthropic. */
static const dsp_tool output_tool[] = { { "output", "Adds two integers.", add_args, 2, int_result, 1, add, NULL } };
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

#define EXTRACT "[[ ## reasoning ## ]]\nfrom the sum\n\n[[ ## answer ## ]]\n5\n\n[[ ## completed ## ]]"
#define ANTHROPIC_EXTRACT                                                                                            \
    "BODY:{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":" \
    "\"[[ ## reasoning ## ]]\\nfrom the sum\\n\\n[[ ## answer ## ]]\\n5\\n\\n[[ ## completed ## ]]\"}],"           \
    "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}"

/* An OpenAI reply whose message has content and the tool_calls given. */
static const char *oa(const char *content, const char *calls)
{
    static char buf[16][768];
    static size_t k;
    char *b = buf[k++ % 16];
    snprintf(b, 768,
             "BODY:{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{"
             "\"role\":\"assistant\",\"content\":%s,\"tool_calls\":[%s]},\"finish_reason\":\"tool_calls\"}],"
             "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}",
             content, calls);
    return b;
}

/* An Anthropic reply: a thought, then the tool_use block given. */
static const char *an(const char *block)
{
    static char buf[16][768];
    static size_t k;
    char *b = buf[k++ % 16];
    snprintf(b, 768,
             "BODY:{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
             "\"text\":\"thinking\"},%s],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}",
             block);
    return b;
}

static dsp_status run_with(const char *model, int max_iters, const dsp_tool *with, const dsp_react_options *o,
                           dsp_value *outs, dsp_error *err)
{
    dsp_client *c = stub_script_client(&lm);
    assert_non_null(c);
    lm.model = model;
    lm.tool_calling = DSP_TOOL_CALLING_NATIVE;
    dsp_react r = { &step_p, &ext_p, with, 1, max_iters, 0 };
    dsp_value q;
    assert_int_equal(dsp_value_set_string(&q, "What is 2 + 3?", 14, NULL), DSP_OK);
    dsp_status st = dsp_react_run(c, &r, o, &q, outs, err);
    dsp_value_free(&q);
    dsp_client_free(c);
    return st;
}

static dsp_status run(const char *model, int max_iters, dsp_value *outs, dsp_error *err)
{
    return run_with(model, max_iters, tools, NULL, outs, err);
}

static void expect_in(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing:\n%s\n--- in:\n%s", want[i], text);
}

/* The first request, whole: the system turn, the inputs, and the tools in
 * OpenAI's function shape with finish last, one call a turn. */
static const char *const openai_first_body =
    "{\"model\":\"stub\",\"messages\":[{\"role\":\"system\",\"content\":\"Your input fields are:\\n1. `question` "
    "(string):\\n\\nCall the tools to gather what you need, one call at a time: each result comes back to you. Call "
    "`finish` once you have what is needed.\\n\\nYour objective is: Answer.\"},{\"role\":\"user\",\"content\":"
    "\"[[ ## question ## ]]\\nWhat is 2 + 3?\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"add\","
    "\"description\":\"Adds two integers.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
    "\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"],\"additionalProperties\":false}}},{\"type\":"
    "\"function\",\"function\":{\"name\":\"finish\",\"description\":\"Ends the task: call it once you have gathered "
    "what is needed to produce the outputs.\",\"parameters\":{\"type\":\"object\",\"properties\":{},"
    "\"additionalProperties\":false}}}],\"parallel_tool_calls\":false}";

static void test_openai_malformed_calls_are_observations(void **state)
{
    (void)state;
    const char *script[] = {
        oa("\"thinking\"", "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"nosuch\",\"arguments\":\"{}\"}}"),
        oa("null", "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\": 1,\"}}"),
        oa("null", "{\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":1,\\\"b\\\":1}\"}}"),
        oa("null", "{\"id\":\"call_4\",\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}"),
        oa("\"adding\"", "{\"id\":\"call_5\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2,\\\"b\\\":3}\"}}"),
        oa("null", "{\"id\":\"call_6\",\"type\":\"function\",\"function\":{\"name\":\"finish\",\"arguments\":\"{}\"}}"),
        EXTRACT,
    };
    stub_script_play(script, 7);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run("openai/stub", 10, outs, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&outs[1]), "5");
    const char *want[] = {
        "[[ ## thought_0 ## ]]\nthinking\n\n[[ ## tool_name_0 ## ]]\nnosuch\n\n[[ ## tool_args_0 ## ]]\n{}\n\n"
        "[[ ## observation_0 ## ]]\nError: there is no tool `nosuch`. The tools are: add, finish.",
        "[[ ## observation_1 ## ]]\nError: the arguments do not fit tool `add`: they must be a JSON object, not "
        "`{\\\"a\\\": 1,`",
        "[[ ## observation_2 ## ]]\nError: the call of tool `add` had no id, so it was not run.",
        "[[ ## tool_name_3 ## ]]\n\n\n[[ ## tool_args_3 ## ]]\n{}\n\n[[ ## observation_3 ## ]]\nError: there is no tool ``.",
        "[[ ## thought_4 ## ]]\nadding\n\n[[ ## tool_name_4 ## ]]\nadd\n\n[[ ## tool_args_4 ## ]]\n{\"a\":2,\"b\":3}\n\n"
        "[[ ## observation_4 ## ]]\n5",
        "[[ ## tool_name_5 ## ]]\nfinish\n\n[[ ## tool_args_5 ## ]]\n{}\n\n[[ ## observation_5 ## ]]\nCompleted.",
    };
    expect_in(dsp_value_cstr(&outs[2]), want, sizeof want / sizeof want[0]);
    assert_string_equal(stub_script_body(0), openai_first_body);
    /* Each later request carries the turns so far: the assistant's calls as
     * sent, each answered by a tool message with its id; a call that had
     * no id is answered under the id the loop gave it. */
    const char *turns[] = {
        "{\"role\":\"assistant\",\"content\":\"thinking\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"nosuch\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
        "\"content\":\"Error: there is no tool `nosuch`. The tools are: add, finish.\"}",
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_2_0\",\"type\":\"function\","
        "\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":1,\\\"b\\\":1}\"}}]},{\"role\":\"tool\","
        "\"tool_call_id\":\"call_2_0\",\"content\":\"Error: the call of tool `add` had no id",
    };
    expect_in(stub_script_body(5), turns, 2);
    /* The extract step reads the trajectory as text: no tools. */
    assert_null(strstr(stub_script_body(6), "\"tools\""));
    assert_non_null(strstr(stub_script_body(6), "observation_5"));
    dsp_values_free(outs, 3);
}

/* The step's default instructions are written for the text loop (they
 * name `next_tool_name`); the native conversation states the signature's
 * own objective instead, and an optimizer's rewrite as it stands. */
static void test_objective_is_the_signatures_or_the_optimizers(void **state)
{
    (void)state;
    const char *script[] = {
        oa("null", "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"finish\",\"arguments\":\"{}\"}}"),
        EXTRACT,
    };
    stub_script_play(script, 2);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run("openai/stub", 3, outs, &err), DSP_OK);
    assert_non_null(strstr(stub_script_body(0), "Your objective is: Answer.\"}"));
    assert_null(strstr(stub_script_body(0), "Use the tools."));
    dsp_values_free(outs, 3);

    stub_script_play(script, 2);
    dsp_predict_options step_opts = { .instructions = "Add, then finish." };
    dsp_react_options o = { .step_opts = &step_opts };
    assert_int_equal(run_with("openai/stub", 3, tools, &o, outs, &err), DSP_OK);
    assert_non_null(strstr(stub_script_body(0), "Your objective is: Add, then finish.\"}"));
    dsp_values_free(outs, 3);
}

static void test_anthropic_tool_use_blocks(void **state)
{
    (void)state;
    const char *script[] = {
        an("{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"add\",\"input\":{\"a\":1}}"),
        an("{\"type\":\"tool_use\",\"name\":\"add\",\"input\":{\"a\":1,\"b\":1}}"),
        an("{\"type\":\"tool_use\",\"id\":\"toolu_3\",\"name\":\"add\",\"input\":{\"a\":2,\"b\":3}}"),
        an("{\"type\":\"tool_use\",\"id\":\"toolu_4\",\"name\":\"finish\",\"input\":{}}"),
        ANTHROPIC_EXTRACT,
    };
    stub_script_play(script, 5);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run("anthropic/stub", 10, outs, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&outs[1]), "5");
    const char *want[] = {
        "[[ ## tool_args_0 ## ]]\n{\"a\":1}\n\n[[ ## observation_0 ## ]]\nError: the arguments do not fit tool `add`: "
        "`b` is missing.",
        "[[ ## observation_1 ## ]]\nError: the call of tool `add` had no id",
        "[[ ## observation_2 ## ]]\n5",
        "[[ ## tool_name_3 ## ]]\nfinish",
    };
    expect_in(dsp_value_cstr(&outs[2]), want, sizeof want / sizeof want[0]);
    /* Tools with an input_schema, one call a turn; the assistant's turn is
     * its text and tool_use blocks; the result goes back in a user turn as
     * a tool_result block, marked is_error when it reports an error. */
    const char *body[] = {
        "\"tools\":[{\"name\":\"add\",\"description\":\"Adds two integers.\",\"input_schema\":{\"type\":\"object\","
        "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"],"
        "\"additionalProperties\":false}},{\"name\":\"finish\",",
        "\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":true}",
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"thinking\"},{\"type\":\"tool_use\","
        "\"id\":\"toolu_1\",\"name\":\"add\",\"input\":{\"a\":1}}]},{\"role\":\"user\",\"content\":[{\"type\":"
        "\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"Error: the arguments do not fit tool `add`: `b` is "
        "missing.",
        "\"is_error\":true}]}",
        "{\"type\":\"tool_use\",\"id\":\"toolu_3\",\"name\":\"add\",\"input\":{\"a\":2,\"b\":3}}]},{\"role\":\"user\","
        "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_3\",\"content\":\"5\"}]}",
    };
    expect_in(stub_script_body(3), body, sizeof body / sizeof body[0]);
    assert_null(strstr(stub_script_body(3), "\"tool_use_id\":\"toolu_3\",\"content\":\"5\",\"is_error\""));
    dsp_values_free(outs, 3);
}

/* On Anthropic the JSON adapter forces a tool named `output` and reads the
 * answer from its call; in a native loop a user's tool of that name is
 * called like any other. */
static void test_anthropic_tool_named_output_is_a_call(void **state)
{
    (void)state;
    const char *script[] = {
        an("{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"output\",\"input\":{\"a\":2,\"b\":3}}"),
        an("{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"finish\",\"input\":{}}"),
        ANTHROPIC_EXTRACT,
    };
    stub_script_play(script, 3);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run_with("anthropic/stub", 5, output_tool, NULL, outs, &err), DSP_OK);
    const char *want[] = {
        "[[ ## tool_name_0 ## ]]\noutput\n\n[[ ## tool_args_0 ## ]]\n{\"a\":2,\"b\":3}\n\n[[ ## observation_0 ## ]]\n5",
        "[[ ## tool_name_1 ## ]]\nfinish",
    };
    expect_in(dsp_value_cstr(&outs[2]), want, sizeof want / sizeof want[0]);
    assert_int_equal(stub_script_requests(), 3);
    dsp_values_free(outs, 3);
}

/* A turn with no tool call is the model's answer: the loop ends as after finish. */
static void test_text_reply_ends_the_loop(void **state)
{
    (void)state;
    const char *script[] = { "The answer is 5.", EXTRACT, "HTTP500" };
    stub_script_play(script, 3);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run("openai/stub", 5, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 2);
    const char *want[] = { "[[ ## thought_0 ## ]]\nThe answer is 5.\n\n[[ ## tool_name_0 ## ]]\nfinish" };
    expect_in(dsp_value_cstr(&outs[2]), want, 1);
    dsp_values_free(outs, 3);
}

/* max_iters bounds the turns; a transport failure fails the call. */
static void test_bounds_and_failures(void **state)
{
    (void)state;
    const char *call = oa("null", "{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":"
                                  "\"{\\\"a\\\":1,\\\"b\\\":1}\"}}");
    const char *script[] = { call, call, EXTRACT };
    stub_script_play(script, 3);
    dsp_value outs[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(run("openai/stub", 2, outs, &err), DSP_OK);
    assert_int_equal(stub_script_requests(), 3);
    assert_null(strstr(dsp_value_cstr(&outs[2]), "thought_2"));
    dsp_values_free(outs, 3);
    const char *fails[] = { call, "HTTP500" };
    stub_script_play(fails, 2);
    assert_int_equal(run("openai/stub", 5, outs, &err), DSP_ERR_HTTP);
    assert_null(outs[2].as.s.data);
    dsp_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_malformed_calls_are_observations),
        cmocka_unit_test(test_objective_is_the_signatures_or_the_optimizers),
        cmocka_unit_test(test_anthropic_tool_use_blocks),
        cmocka_unit_test(test_anthropic_tool_named_output_is_a_call),
        cmocka_unit_test(test_text_reply_ends_the_loop),
        cmocka_unit_test(test_bounds_and_failures),
    };
    return cmocka_run_group_tests(tests, stub_script_setup, stub_script_teardown);
}
