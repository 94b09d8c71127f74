/* test_lm_bedrock.c — Amazon Bedrock's Converse API: request bodies,
 * replies and error bodies in the shapes the API reference documents,
 * the region a call is signed for, and the endpoint URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/lm_wire.h"

static const dsp_message msgs[] = {
    {.role = DSP_ROLE_SYSTEM, .content = "You are terse."},
    {.role = DSP_ROLE_USER, .content = "Say \"hi\""},
    {.role = DSP_ROLE_ASSISTANT, .content = "hi"},
    {.role = DSP_ROLE_USER, .content = "again"},
};

static cJSON *body_of(const dsp_lm_params *p)
{
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_BEDROCK, NULL, msgs, 4, p, &body, &err), DSP_OK);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    free(body);
    return j;
}

static const cJSON *get(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static void test_request_body(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    cJSON *j = body_of(&p);
    const cJSON *m = get(j, "messages", NULL);
    assert_int_equal(cJSON_GetArraySize(m), 3);
    assert_string_equal(get(cJSON_GetArrayItem(m, 1), "role", NULL)->valuestring, "assistant");
    assert_string_equal(get(cJSON_GetArrayItem(get(cJSON_GetArrayItem(m, 0), "content", NULL), 0), "text", NULL)->valuestring,
                        "Say \"hi\"");
    assert_string_equal(get(cJSON_GetArrayItem(get(j, "system", NULL), 0), "text", NULL)->valuestring, "You are terse.");
    assert_null(get(j, "inferenceConfig", NULL));
    assert_null(get(j, "toolConfig", NULL));
    assert_null(get(j, "modelId", NULL));
    cJSON_Delete(j);

    p.max_tokens = 200;
    p.temperature = 0.5;
    p.has_top_p = true;
    p.top_p = 0.9;
    p.stop[0] = "END";
    p.has_seed = true;
    p.seed = 7;
    p.json_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"]}";
    j = body_of(&p);
    assert_int_equal(get(j, "inferenceConfig", "maxTokens")->valueint, 200);
    assert_true(get(j, "inferenceConfig", "temperature")->valuedouble == 0.5);
    assert_true(get(j, "inferenceConfig", "topP")->valuedouble == 0.9);
    assert_string_equal(cJSON_GetArrayItem(get(j, "inferenceConfig", "stopSequences"), 0)->valuestring, "END");
    const cJSON *spec = get(cJSON_GetArrayItem(get(j, "toolConfig", "tools"), 0), "toolSpec", NULL);
    assert_string_equal(get(spec, "name", NULL)->valuestring, "output");
    assert_string_equal(get(get(spec, "inputSchema", "json"), "type", NULL)->valuestring, "object");
    assert_string_equal(get(get(get(j, "toolConfig", "toolChoice"), "tool", NULL), "name", NULL)->valuestring, "output");
    char *text = cJSON_PrintUnformatted(j);
    assert_null(strstr(text, "seed"));
    cJSON_free(text);
    cJSON_Delete(j);

    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_BEDROCK, NULL, msgs, 1, &p, &body, &err), DSP_ERR_INVALID);
    dsp_error_clear(&err);
}

/* The API reference's Converse response example. */
static const char documented[] =
    "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Hello! \"},{\"text\":\"How can I help?\"}]}},"
    "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":12,\"outputTokens\":9,\"totalTokens\":21},"
    "\"metrics\":{\"latencyMs\":321}}";

static void test_parse_reply(void **state)
{
    (void)state;
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_bedrock_parse_reply(documented, strlen(documented), &r, &err), DSP_OK);
    assert_int_equal(r.n_choices, 1);
    assert_string_equal(r.choices[0], "Hello! How can I help?");
    assert_int_equal(r.usage.prompt_tokens, 12);
    assert_int_equal(r.usage.completion_tokens, 9);
    dsp_chat_response_free(&r);

    const char *tool = "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Sure.\"},"
                       "{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"output\",\"input\":{\"a\":\"x\"}}}]}},"
                       "\"stopReason\":\"tool_use\",\"usage\":{\"inputTokens\":1,\"outputTokens\":2}}";
    memset(&r, 0, sizeof r);
    assert_int_equal(dsp_bedrock_parse_reply(tool, strlen(tool), &r, &err), DSP_OK);
    assert_string_equal(r.choices[0], "{\"a\":\"x\"}");
    dsp_chat_response_free(&r);

    const char *bad[] = {
        "{\"output\":{}}",
        "{\"output\":{\"message\":{\"content\":[]}},\"stopReason\":\"content_filtered\"}",
        "{\"output\":",
    };
    const char *why[] = {"output.message.content", "stopReason content_filtered", "not JSON"};
    for (int i = 0; i < 3; i++) {
        memset(&r, 0, sizeof r);
        assert_int_equal(dsp_bedrock_parse_reply(bad[i], strlen(bad[i]), &r, &err), DSP_ERR_PROTOCOL);
        assert_non_null(strstr(err.message, why[i]));
        assert_null(r.choices);
        dsp_error_clear(&err);
    }
    /* AWS's error body. */
    char msg[200];
    const char *e = "{\"message\":\"The security token included in the request is invalid.\"}";
    dsp_provider_error_message(e, strlen(e), msg, sizeof msg);
    assert_string_equal(msg, "The security token included in the request is invalid.");
}

static void test_region_and_url(void **state)
{
    (void)state;
    char region[DSP_AWS_REGION_MAX];
    dsp_error err = {0};
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    assert_int_equal(dsp_bedrock_region("https://bedrock-runtime.eu-central-1.amazonaws.com", region, &err), DSP_OK);
    assert_string_equal(region, "eu-central-1");
    assert_int_equal(dsp_bedrock_region("https://bedrock-runtime-fips.us-west-2.amazonaws.com/", region, &err), DSP_OK);
    assert_string_equal(region, "us-west-2");
    assert_int_equal(dsp_bedrock_region("http://127.0.0.1:9", region, &err), DSP_OK);
    assert_string_equal(region, "us-east-1");
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    assert_int_equal(dsp_bedrock_region("http://127.0.0.1:9", region, &err), DSP_OK);
    assert_string_equal(region, "ap-south-1");
    setenv("AWS_REGION", "eu-west-3", 1);
    assert_int_equal(dsp_bedrock_region("http://127.0.0.1:9", region, &err), DSP_OK);
    assert_string_equal(region, "eu-west-3");
    /* The default endpoint follows AWS_REGION; a model id's ':' is escaped. */
    char *url = NULL;
    assert_int_equal(dsp_model_endpoint_url(DSP_PROVIDER_BEDROCK, NULL, "anthropic.claude-3-haiku-20240307-v1:0", &url,
                                            &err), DSP_OK);
    assert_string_equal(url, "https://bedrock-runtime.eu-west-3.amazonaws.com/model/"
                             "anthropic.claude-3-haiku-20240307-v1%3A0/converse");
    free(url);
    assert_int_equal(dsp_model_endpoint_url(DSP_PROVIDER_BEDROCK, "http://127.0.0.1:9/", "m", &url, &err), DSP_OK);
    assert_string_equal(url, "http://127.0.0.1:9/model/m/converse");
    free(url);
    setenv("AWS_REGION", "eu west\n", 1);
    assert_int_equal(dsp_bedrock_region("http://127.0.0.1:9", region, &err), DSP_ERR_ENV);
    assert_non_null(strstr(err.message, "AWS_REGION"));
    dsp_error_clear(&err);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_BEDROCK, NULL));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_BEDROCK, "http://127.0.0.1:9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_region_and_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
