/* test_lm_anthropic.c — Anthropic Messages: request bodies (system field,
 * content blocks, required max_tokens), replies and error bodies. Fixtures
 * follow the shapes in Anthropic's API reference for POST /v1/messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/lm_wire.h"

static const dsp_message convo[] = {
    {.role = DSP_ROLE_SYSTEM, .content = "Your input fields are:"},
    {.role = DSP_ROLE_USER, .content = "demo question"},
    {.role = DSP_ROLE_ASSISTANT, .content = "demo answer"},
    {.role = DSP_ROLE_SYSTEM, .content = "Second system part."},
    {.role = DSP_ROLE_USER, .content = "real question"},
};

static void test_body_shape(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    p.temperature = 0.0;
    p.stop[0] = "[[ ## completed ## ]]";
    p.has_seed = true; /* not part of the Messages API: must not be sent */
    p.seed = 3;
    p.n = 2;
    p.json_schema = "{\"type\":\"object\"}";
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "claude-3-5-haiku-latest", convo, 5, &p, &body, &err), DSP_OK);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "claude-3-5-haiku-latest");
    assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, DSP_ANTHROPIC_DEFAULT_MAX_TOKENS);
    assert_string_equal(cJSON_GetObjectItem(j, "system")->valuestring,
                        "Your input fields are:\n\nSecond system part.");
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    const char *roles[] = {"user", "assistant", "user"};
    const char *texts[] = {"demo question", "demo answer", "real question"};
    for (int i = 0; i < 3; i++) {
        cJSON *m = cJSON_GetArrayItem(msgs, i);
        assert_string_equal(cJSON_GetObjectItem(m, "role")->valuestring, roles[i]);
        cJSON *blocks = cJSON_GetObjectItem(m, "content");
        assert_int_equal(cJSON_GetArraySize(blocks), 1);
        cJSON *b = cJSON_GetArrayItem(blocks, 0);
        assert_string_equal(cJSON_GetObjectItem(b, "type")->valuestring, "text");
        assert_string_equal(cJSON_GetObjectItem(b, "text")->valuestring, texts[i]);
    }
    assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 0.0);
    cJSON *stop = cJSON_GetObjectItem(j, "stop_sequences");
    assert_int_equal(cJSON_GetArraySize(stop), 1);
    assert_null(cJSON_GetObjectItem(j, "stop"));
    assert_null(cJSON_GetObjectItem(j, "seed"));
    assert_null(cJSON_GetObjectItem(j, "n"));
    assert_null(cJSON_GetObjectItem(j, "response_format"));
    /* The schema is a tool the model must call (Anthropic's structured output). */
    cJSON *tools = cJSON_GetObjectItem(j, "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 1);
    cJSON *tool = cJSON_GetArrayItem(tools, 0);
    assert_string_equal(cJSON_GetObjectItem(tool, "name")->valuestring, "output");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tool, "input_schema"), "type")->valuestring, "object");
    cJSON *choice = cJSON_GetObjectItem(j, "tool_choice");
    assert_string_equal(cJSON_GetObjectItem(choice, "type")->valuestring, "tool");
    assert_string_equal(cJSON_GetObjectItem(choice, "name")->valuestring, "output");
    cJSON_Delete(j);
}

static void test_body_max_tokens_and_no_system(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    p.max_tokens = 77;
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "m", convo + 4, 1, &p, &body, &err), DSP_OK);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 77);
    assert_null(cJSON_GetObjectItem(j, "system"));
    assert_null(cJSON_GetObjectItem(j, "temperature"));
    cJSON_Delete(j);
    /* Only a system message: the API needs a user turn. */
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "m", convo, 1, &p, &body, &err), DSP_ERR_INVALID);
    assert_null(body);
}

/* From the API reference's example response. */
static const char reply_doc[] =
    "{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-3-5-haiku-latest\",\"content\":[{\"type\":\"text\",\"text\":\"Hi! My name is Claude.\"}],"
    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":2095,\"output_tokens\":503}}";

static void test_parse_documented_reply(void **state)
{
    (void)state;
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_anthropic_parse_reply(reply_doc, strlen(reply_doc), &r, &err), DSP_OK);
    assert_int_equal(r.n_choices, 1);
    assert_string_equal(r.choices[0], "Hi! My name is Claude.");
    assert_int_equal(r.usage.prompt_tokens, 2095);
    assert_int_equal(r.usage.completion_tokens, 503);
    dsp_chat_response_free(&r);
}

static void test_parse_joins_text_blocks_skips_others(void **state)
{
    (void)state;
    const char *body = "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"[[ ## a ## ]]\\n\"},"
                       "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}},"
                       "{\"type\":\"text\",\"text\":\"1\"}],\"usage\":{\"input_tokens\":5,\"output_tokens\":2}}";
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_anthropic_parse_reply(body, strlen(body), &r, &err), DSP_OK);
    assert_string_equal(r.choices[0], "[[ ## a ## ]]\n1");
    dsp_chat_response_free(&r);
}

/* The forced tool's call is the reply: its input as JSON text (a text
 * block beside it, which models sometimes add, is not the answer). */
static void test_parse_tool_use_is_the_answer(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
                       "{\"type\":\"text\",\"text\":\"Here it is.\"},"
                       "{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"output\","
                       "\"input\":{\"entities\":[{\"text\":\"Oslo\",\"type\":\"location\"}]}}],"
                       "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":9,\"output_tokens\":4}}";
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_anthropic_parse_reply(body, strlen(body), &r, &err), DSP_OK);
    assert_string_equal(r.choices[0], "{\"entities\":[{\"text\":\"Oslo\",\"type\":\"location\"}]}");
    assert_int_equal(r.usage.completion_tokens, 4);
    dsp_chat_response_free(&r);
}

static void expect_protocol_error(const char *body, const char *needle)
{
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_anthropic_parse_reply(body, strlen(body), &r, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, needle));
    assert_string_equal(err.raw, body);
    assert_null(r.choices);
    dsp_error_clear(&err);
}

static void test_parse_bad_replies(void **state)
{
    (void)state;
    expect_protocol_error("{\"content\":[{\"type\":\"text\",", "not JSON");
    expect_protocol_error("{\"type\":\"message\"}", "content");
    expect_protocol_error("{\"content\":[]}", "no text");
    expect_protocol_error("{\"content\":[{\"type\":\"text\"}]}", "text");
    expect_protocol_error("{\"content\":[{\"type\":\"tool_use\",\"name\":\"output\",\"input\":[1]}]}",
                          "no \"input\" object");
}

static void test_error_body(void **state)
{
    (void)state;
    const char *body = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    char msg[128];
    dsp_provider_error_message(body, strlen(body), msg, sizeof msg);
    assert_string_equal(msg, "overloaded_error: Overloaded");
    const char *nf = "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model: claude-x\"}}";
    dsp_provider_error_message(nf, strlen(nf), msg, sizeof msg);
    assert_string_equal(msg, "not_found_error: model: claude-x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_shape),
        cmocka_unit_test(test_body_max_tokens_and_no_system),
        cmocka_unit_test(test_parse_documented_reply),
        cmocka_unit_test(test_parse_joins_text_blocks_skips_others),
        cmocka_unit_test(test_parse_tool_use_is_the_answer),
        cmocka_unit_test(test_parse_bad_replies),
        cmocka_unit_test(test_error_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
