/* test_lm_gemini.c — Gemini's generateContent: request bodies (system
 * instruction, contents, generationConfig, structured output), replies and
 * error bodies, in the shapes ai.google.dev/api/generate-content documents,
 * and the endpoint URL. */
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

static cJSON *body_of(const dsp_lm_params *p, size_t n)
{
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_GEMINI, NULL, msgs, n, p, &body, &err), DSP_OK);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    free(body);
    return j;
}

static const cJSON *at(const cJSON *j, const char *path)
{
    /* "a.b.0.c": keys and array indexes */
    char buf[256];
    strncpy(buf, path, sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    const cJSON *cur = j;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = (*tok >= '0' && *tok <= '9') ? cJSON_GetArrayItem(cur, atoi(tok))
                                           : cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cur;
}

static void test_request_body(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    cJSON *j = body_of(&p, 4);
    assert_string_equal(at(j, "systemInstruction.parts.0.text")->valuestring, "You are terse.");
    assert_int_equal(cJSON_GetArraySize(at(j, "contents")), 3);
    assert_string_equal(at(j, "contents.0.role")->valuestring, "user");
    assert_string_equal(at(j, "contents.0.parts.0.text")->valuestring, "Say \"hi\"");
    assert_string_equal(at(j, "contents.1.role")->valuestring, "model");
    assert_string_equal(at(j, "contents.2.role")->valuestring, "user");
    /* Nothing set: no generationConfig, no model field (it is in the URL). */
    assert_null(at(j, "generationConfig"));
    assert_null(at(j, "model"));
    cJSON_Delete(j);

    p.temperature = 0.25;
    p.max_tokens = 300;
    p.n = 3;
    p.has_top_p = true;
    p.top_p = 0.5;
    p.has_seed = true;
    p.seed = 42;
    p.stop[0] = "END";
    j = body_of(&p, 2);
    assert_true(at(j, "generationConfig.temperature")->valuedouble == 0.25);
    assert_true(at(j, "generationConfig.topP")->valuedouble == 0.5);
    assert_int_equal(at(j, "generationConfig.maxOutputTokens")->valueint, 300);
    assert_int_equal(at(j, "generationConfig.candidateCount")->valueint, 3);
    assert_int_equal(at(j, "generationConfig.seed")->valueint, 42);
    assert_string_equal(at(j, "generationConfig.stopSequences.0")->valuestring, "END");
    assert_null(at(j, "generationConfig.responseMimeType"));
    cJSON_Delete(j);

    /* No user turn: refused before anything is sent. */
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_GEMINI, NULL, msgs, 1, &p, &body, &err), DSP_ERR_INVALID);
    assert_null(body);
    dsp_error_clear(&err);
}

/* The JSON adapter's schema becomes responseMimeType + responseSchema in
 * Gemini's OpenAPI subset: additionalProperties dropped, ["T","null"] as
 * nullable, the declared key order kept in propertyOrdering. */
static void test_structured_output(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    p.json_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"reasoning\",\"label\"],"
                    "\"properties\":{\"reasoning\":{\"type\":\"string\"},\"label\":{\"type\":\"string\","
                    "\"enum\":[\"a\",\"b\"]},\"note\":{\"type\":[\"string\",\"null\"]},\"tags\":{\"type\":\"array\","
                    "\"items\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"k\":"
                    "{\"type\":\"integer\"}}}}}}";
    p.json_strict = true;
    cJSON *j = body_of(&p, 2);
    assert_string_equal(at(j, "generationConfig.responseMimeType")->valuestring, "application/json");
    const cJSON *s = at(j, "generationConfig.responseSchema");
    assert_non_null(s);
    assert_string_equal(at(s, "type")->valuestring, "object");
    assert_null(at(s, "additionalProperties"));
    assert_null(at(s, "properties.tags.items.additionalProperties"));
    assert_string_equal(at(s, "properties.tags.items.properties.k.type")->valuestring, "integer");
    assert_string_equal(at(s, "properties.label.enum.1")->valuestring, "b");
    assert_string_equal(at(s, "properties.note.type")->valuestring, "string");
    assert_true(cJSON_IsTrue(at(s, "properties.note.nullable")));
    assert_string_equal(at(s, "propertyOrdering.0")->valuestring, "reasoning");
    assert_string_equal(at(s, "propertyOrdering.1")->valuestring, "label");
    assert_string_equal(at(s, "required.1")->valuestring, "label");
    cJSON_Delete(j);

    char *body = NULL;
    dsp_error err = {0};
    p.json_schema = "[1]";
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_GEMINI, NULL, msgs, 2, &p, &body, &err), DSP_ERR_INVALID);
    dsp_error_clear(&err);
}

/* The reply of the API reference's text example. */
static const char documented_reply[] =
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Once upon \"},{\"text\":\"a time\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0,\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
    "\"probability\":\"NEGLIGIBLE\"}]}],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":5,"
    "\"totalTokenCount\":13},\"modelVersion\":\"gemini-2.0-flash\"}";

static void test_parse_reply(void **state)
{
    (void)state;
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_gemini_parse_reply(documented_reply, strlen(documented_reply), &r, &err), DSP_OK);
    assert_int_equal(r.n_choices, 1);
    assert_string_equal(r.choices[0], "Once upon a time");
    assert_int_equal(r.usage.prompt_tokens, 8);
    assert_int_equal(r.usage.completion_tokens, 5);
    dsp_chat_response_free(&r);

    /* Candidates placed by index; thought parts are not the answer;
     * thinking tokens count as output. */
    const char *two = "{\"candidates\":[{\"index\":1,\"content\":{\"parts\":[{\"text\":\"B\"}]}},"
                      "{\"index\":0,\"content\":{\"parts\":[{\"text\":\"plan\",\"thought\":true},{\"text\":\"A\"}]}}],"
                      "\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":4}}";
    memset(&r, 0, sizeof r);
    assert_int_equal(dsp_gemini_parse_reply(two, strlen(two), &r, &err), DSP_OK);
    assert_int_equal(r.n_choices, 2);
    assert_string_equal(r.choices[0], "A");
    assert_string_equal(r.choices[1], "B");
    assert_int_equal(r.usage.completion_tokens, 6);
    dsp_chat_response_free(&r);

    static const struct {
        const char *body, *why;
    } bad[] = {
        {"{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}", "blockReason SAFETY"},
        {"{\"candidates\":[]}", "no candidates"},
        {"{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0}]}", "finishReason SAFETY"},
        {"{\"candidates\":[{\"index\":5,\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}", "indexes"},
        /* No int holds it: was cast anyway, undefined behaviour (UBSan). */
        {"{\"candidates\":[{\"index\":7.3e39,\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}", "indexes"},
        {"{\"candidates\":[{\"index\":-1e30,\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}", "indexes"},
        {"{\"candidates\":[", "not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&r, 0, sizeof r);
        assert_int_equal(dsp_gemini_parse_reply(bad[i].body, strlen(bad[i].body), &r, &err), DSP_ERR_PROTOCOL);
        assert_non_null(strstr(err.message, bad[i].why));
        assert_non_null(err.raw);
        assert_null(r.choices);
        dsp_error_clear(&err);
    }
}

/* Gemini's error shape: {"error":{"code","message","status"}}. */
static void test_error_body(void **state)
{
    (void)state;
    const char *body = "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\","
                       "\"status\":\"INVALID_ARGUMENT\"}}";
    char msg[300];
    dsp_provider_error_message(body, strlen(body), msg, sizeof msg);
    assert_string_equal(msg, "INVALID_ARGUMENT: API key not valid. Please pass a valid API key.");
}

static void expect_url(const char *base, const char *model, const char *want)
{
    char *url = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_model_endpoint_url(DSP_PROVIDER_GEMINI, base, model, &url, &err), DSP_OK);
    assert_string_equal(url, want);
    free(url);
}

static void test_urls(void **state)
{
    (void)state;
    expect_url(NULL, "gemini-2.0-flash",
               "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
    expect_url("http://127.0.0.1:9", "gemini-2.0-flash", "http://127.0.0.1:9/v1beta/models/gemini-2.0-flash:generateContent");
    expect_url("http://127.0.0.1:9/v1/", "m", "http://127.0.0.1:9/v1/models/m:generateContent");
    expect_url("https://proxy.example/google/v1beta", "a/b", "https://proxy.example/google/v1beta/models/a%2Fb:generateContent");
    dsp_provider p;
    const char *name;
    dsp_error err = {0};
    assert_int_equal(dsp_parse_model("gemini/gemini-2.0-flash", &p, &name, &err), DSP_OK);
    assert_int_equal(p, DSP_PROVIDER_GEMINI);
    assert_string_equal(dsp_provider_find("gemini", 6)->api_key_env, "GEMINI_API_KEY");
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_GEMINI, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_structured_output),
        cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
