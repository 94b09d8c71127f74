/* test_lm_request.c — lm_request.c: what the request writers share: the
 * checks of the Anthropic, Bedrock and Gemini writers (a turn to send;
 * native tool calling where it is not spoken yet), with the errors a user
 * sees, and the stop sequences of all four, alone and through each writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../runtime/src/lm_wire.h"

static const dsp_message convo[] = {
    {.role = DSP_ROLE_SYSTEM, .content = "You are terse."},
    {.role = DSP_ROLE_USER, .content = "Say hi"},
    {.role = DSP_ROLE_SYSTEM, .content = "Be kind."},
    {.role = DSP_ROLE_ASSISTANT, .content = "hi"},
};
static const dsp_message system_only[] = {
    {.role = DSP_ROLE_SYSTEM, .content = "You are terse."},
};
static const char tools[] =
    "[{\"name\":\"search\",\"description\":\"Search.\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}]";

static void test_count_turns(void **state)
{
    (void)state;
    dsp_error err = {0};
    size_t n_sys = 99;
    assert_int_equal(dsp_wire_count_turns(convo, 4, "a Test request", &n_sys, &err), DSP_OK);
    assert_int_equal(n_sys, 2);
    assert_int_equal(dsp_wire_count_turns(system_only, 1, "a Test request", &n_sys, &err), DSP_ERR_INVALID);
    assert_int_equal(n_sys, 1);
    assert_string_equal(err.message, "a Test request needs at least one user message");
    dsp_error_clear(&err);
    assert_int_equal(dsp_wire_count_turns(NULL, 0, "a Test request", &n_sys, &err), DSP_ERR_INVALID);
    assert_int_equal(n_sys, 0);
    dsp_error_clear(&err);
}

static void test_no_native_tools(void **state)
{
    (void)state;
    dsp_error err = {0};
    dsp_lm_params p = dsp_lm_params_default();
    assert_int_equal(dsp_wire_no_native_tools(&p, "Test", &err), DSP_OK);
    p.tools = tools;
    assert_int_equal(dsp_wire_no_native_tools(&p, "Test", &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "native tool calling (tool_calling: native) is spoken with OpenAI-compatible "
                                     "and Anthropic lms, not Test yet; use tool_calling: text");
    dsp_error_clear(&err);
}

/* Each writer: its own name in the errors; Anthropic speaks native tools. */
static void test_writers_share_the_checks(void **state)
{
    (void)state;
    dsp_error err = {0};
    char *body = NULL;
    dsp_lm_params p = dsp_lm_params_default();
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_GEMINI, NULL, system_only, 1, &p, &body, &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "a Gemini request needs at least one user message");
    assert_null(body);
    dsp_error_clear(&err);
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_BEDROCK, NULL, system_only, 1, &p, &body, &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "a Bedrock Converse request needs at least one user message");
    dsp_error_clear(&err);
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "claude-x", system_only, 1, &p, &body, &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "an Anthropic request needs at least one user message");
    dsp_error_clear(&err);

    p.tools = tools;
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_GEMINI, NULL, convo, 4, &p, &body, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "not Gemini yet; use tool_calling: text"));
    dsp_error_clear(&err);
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_BEDROCK, NULL, convo, 4, &p, &body, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "not Bedrock yet; use tool_calling: text"));
    dsp_error_clear(&err);
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "claude-x", convo, 4, &p, &body, &err), DSP_OK);
    assert_non_null(strstr(body, "\"tools\""));
    free(body);
}

static void test_stops(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    p.stop[0] = "END";
    p.stop[1] = "say \"x\"";
    dsp_jw w;
    dsp_jw_init(&w, 16);
    dsp_wire_stops(&w, ",\"stop\":", &p);
    assert_true(dsp_jw_finish(&w));
    assert_string_equal(w.buf, ",\"stop\":[\"END\",\"say \\\"x\\\"\"]");
    dsp_jw_free(&w);
    /* Each writer under its API's key. */
    static const struct {
        const char *want;
        int api;
    } apis[] = { { "\"stop\":[\"END\",", 0 }, { "\"stop_sequences\":[\"END\",", 1 },
                 { "\"stopSequences\":[\"END\",", 2 }, { "\"stopSequences\":[\"END\",", 3 } };
    for (size_t i = 0; i < sizeof apis / sizeof *apis; i++) {
        char *body = NULL;
        dsp_error err = {0};
        dsp_status st = apis[i].api == 0   ? dsp_wire_request_body(DSP_PROVIDER_OPENAI, "m", convo, 4, &p, &body, &err)
                        : apis[i].api == 1 ? dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "m", convo, 4, &p, &body, &err)
                        : apis[i].api == 2 ? dsp_wire_request_body(DSP_PROVIDER_BEDROCK, NULL, convo, 4, &p, &body, &err)
                                           : dsp_wire_request_body(DSP_PROVIDER_GEMINI, NULL, convo, 4, &p, &body, &err);
        assert_int_equal(st, DSP_OK);
        if (!strstr(body, apis[i].want))
            fail_msg("writer %d: no %s in %s", apis[i].api, apis[i].want, body);
        free(body);
    }
}

/* Counts read from JSON (replies' usage, cache rows, fine-tuning jobs):
 * bounded before the cast, -1 (0 for a usage field) when not a count. */
static void test_json_counts(void **state)
{
    (void)state;
    cJSON *u = cJSON_Parse("{\"n\":42,\"neg\":-3,\"huge\":1e300,\"inf\":1e999,\"s\":\"7\",\"z\":0}");
    assert_non_null(u);
    assert_int_equal(dsp_json_count(cJSON_GetObjectItem(u, "n")), 42);
    assert_int_equal(dsp_json_count(cJSON_GetObjectItem(u, "z")), 0);
    const char *bad[] = { "neg", "huge", "inf", "s", "missing" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dsp_json_count(cJSON_GetObjectItem(u, bad[i])), -1);
        assert_int_equal(dsp_reply_count(u, bad[i]), 0);
    }
    assert_int_equal(dsp_reply_count(u, "n"), 42);
    assert_int_equal(dsp_reply_count(NULL, "n"), 0);
    assert_int_equal(dsp_json_count(NULL), -1);
    cJSON_Delete(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_turns),
        cmocka_unit_test(test_no_native_tools),
        cmocka_unit_test(test_writers_share_the_checks),
        cmocka_unit_test(test_stops),
        cmocka_unit_test(test_json_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
