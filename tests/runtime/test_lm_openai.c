/* test_lm_openai.c — OpenAI chat completions: request bodies, replies, error
 * bodies, model strings and endpoint URLs. Fixtures follow the shapes in
 * OpenAI's API reference for POST /v1/chat/completions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/lm_wire.h"

static const dsp_message two_msgs[] = {
    {.role = DSP_ROLE_SYSTEM, .content = "You are terse."},
    {.role = DSP_ROLE_USER, .content = "Say \"hi\"\nplease"},
};

static cJSON *body_of(const dsp_lm_params *p)
{
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "gpt-4o-mini", two_msgs, 2, p, &body, &err), DSP_OK);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    free(body);
    return j;
}

static void test_body_minimal_sends_no_unset_params(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    cJSON *j = body_of(&p);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "gpt-4o-mini");
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "system");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "role")->valuestring, "user");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring,
                        "Say \"hi\"\nplease");
    const char *unset[] = {"temperature", "max_tokens", "n", "seed", "stop", "response_format"};
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++)
        assert_null(cJSON_GetObjectItem(j, unset[i]));
    cJSON_Delete(j);
}

/* dsp_chat_request_body: the lm's defaults merged with the call's, the
 * provider's writer picked from the model string; Anthropic's n > 1 goes
 * as n requests of one choice each. */
static void test_chat_request_body(void **state)
{
    (void)state;
    dsp_lm_config lm = { .model = "openai/gpt-4o-mini", .api_key_env = "OPENAI_API_KEY", .params = dsp_lm_params_default() };
    lm.params.max_tokens = 64;
    dsp_chat_request req = { .messages = two_msgs, .n_messages = 2, .params = dsp_lm_params_default() };
    req.params.temperature = 0.5;
    char *body = NULL, *direct = NULL;
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_request_body(&lm, &req, &body, &err), DSP_OK);
    dsp_lm_params merged = dsp_params_merge(&lm.params, &req.params);
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "gpt-4o-mini", two_msgs, 2, &merged, &direct, &err), DSP_OK);
    assert_string_equal(body, direct);
    assert_null(strstr(body, "OPENAI_API_KEY"));
    free(body);
    free(direct);
    lm.model = "anthropic/claude-x";
    req.params.n = 3;
    assert_int_equal(dsp_chat_request_body(&lm, &req, &body, &err), DSP_OK);
    merged = dsp_params_merge(&lm.params, &req.params);
    merged.n = 1;
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_ANTHROPIC, "claude-x", two_msgs, 2, &merged, &direct, &err), DSP_OK);
    assert_string_equal(body, direct);
    free(body);
    free(direct);
    lm.model = "nope";
    assert_int_not_equal(dsp_chat_request_body(&lm, &req, &body, &err), DSP_OK);
    assert_null(body);
}

static void test_body_all_params(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    p.temperature = 0.7;
    p.max_tokens = 256;
    p.n = 3;
    p.has_seed = true;
    p.seed = INT64_C(9007199254740993); /* 2^53 + 1: not representable as a double */
    p.stop[0] = "[[ ## completed ## ]]";
    p.stop[1] = "\n\n";
    p.json_schema = "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}}}";
    p.has_top_p = true;
    p.top_p = 0.25;
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "m", two_msgs, 2, &p, &body, &err), DSP_OK);
    assert_non_null(strstr(body, "\"seed\":9007199254740993"));
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 0.7);
    assert_true(cJSON_GetObjectItem(j, "top_p")->valuedouble == 0.25);
    assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 256);
    assert_int_equal(cJSON_GetObjectItem(j, "n")->valueint, 3);
    cJSON *stop = cJSON_GetObjectItem(j, "stop");
    assert_int_equal(cJSON_GetArraySize(stop), 2);
    assert_string_equal(cJSON_GetArrayItem(stop, 0)->valuestring, "[[ ## completed ## ]]");
    cJSON *rf = cJSON_GetObjectItem(j, "response_format");
    assert_string_equal(cJSON_GetObjectItem(rf, "type")->valuestring, "json_schema");
    cJSON *js = cJSON_GetObjectItem(rf, "json_schema");
    assert_string_equal(cJSON_GetObjectItem(js, "name")->valuestring, "output");
    cJSON *schema = cJSON_GetObjectItem(js, "schema");
    assert_string_equal(cJSON_GetObjectItem(schema, "type")->valuestring, "object");
    assert_null(cJSON_GetObjectItem(js, "strict"));
    cJSON_Delete(j);

    /* strict: true when the schema allows it (every object closed). */
    p.json_strict = true;
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "m", two_msgs, 2, &p, &body, &err), DSP_OK);
    j = cJSON_Parse(body);
    free(body);
    js = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "response_format"), "json_schema");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(js, "strict")));
    cJSON_Delete(j);
}

static void test_body_rejects_bad_schema_and_no_messages(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    p.json_schema = "{not json";
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "m", two_msgs, 2, &p, &body, &err), DSP_ERR_INVALID);
    assert_null(body);
    assert_non_null(strstr(err.message, "json_schema"));
    p.json_schema = NULL;
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "m", two_msgs, 0, &p, &body, &err), DSP_ERR_INVALID);
}

/* From the API reference's example response. */
static const char reply_doc[] =
    "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion\",\"created\":1677652288,"
    "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\\n\\nHello there, how may I "
    "assist you today?\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21,"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";

static void test_parse_documented_reply(void **state)
{
    (void)state;
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_openai_parse_reply(reply_doc, strlen(reply_doc), &r, &err), DSP_OK);
    assert_int_equal(r.n_choices, 1);
    assert_string_equal(r.choices[0], "\n\nHello there, how may I assist you today?");
    assert_int_equal(r.usage.prompt_tokens, 9);
    assert_int_equal(r.usage.completion_tokens, 12);
    assert_false(r.cache_hit);
    dsp_chat_response_free(&r);
}

static void test_parse_choices_by_index(void **state)
{
    (void)state;
    const char *body = "{\"choices\":[{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":\"second\"}},"
                       "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"first\"}}]}";
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_openai_parse_reply(body, strlen(body), &r, &err), DSP_OK);
    assert_int_equal(r.n_choices, 2);
    assert_string_equal(r.choices[0], "first");
    assert_string_equal(r.choices[1], "second");
    assert_int_equal(r.usage.prompt_tokens, 0); /* no usage: zero, not garbage */
    dsp_chat_response_free(&r);
}

static void expect_protocol_error(const char *body, const char *needle)
{
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_openai_parse_reply(body, strlen(body), &r, &err), DSP_ERR_PROTOCOL);
    assert_int_equal(err.status, DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, needle));
    assert_non_null(err.raw);
    assert_string_equal(err.raw, body);
    assert_null(r.choices);
    assert_int_equal(r.n_choices, 0);
    dsp_error_clear(&err);
}

static void test_parse_bad_replies(void **state)
{
    (void)state;
    expect_protocol_error("{\"choices\":[{\"index\":0,\"message\":{\"content\":\"cut", "not JSON");
    expect_protocol_error("{\"object\":\"chat.completion\"}", "choices");
    expect_protocol_error("{\"choices\":[]}", "choices");
    expect_protocol_error("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                          "\"refusal\":\"I can't help with that.\"}}]}",
                          "I can't help with that.");
    expect_protocol_error("{\"choices\":[{\"index\":0,\"message\":{\"content\":42}}]}", "content");
    expect_protocol_error("{\"choices\":[{\"index\":0,\"message\":{\"content\":\"a\"}},"
                          "{\"index\":0,\"message\":{\"content\":\"b\"}}]}",
                          "index");
}

static void test_error_bodies(void **state)
{
    (void)state;
    char msg[256];
    const char *openai = "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
                         "\"param\":null,\"code\":\"invalid_api_key\"}}";
    dsp_provider_error_message(openai, strlen(openai), msg, sizeof msg);
    assert_string_equal(msg, "invalid_request_error: Incorrect API key provided.");
    const char *no_type = "{\"error\":{\"message\":\"model not found\"}}";
    dsp_provider_error_message(no_type, strlen(no_type), msg, sizeof msg);
    assert_string_equal(msg, "model not found");
    const char *plain = "<html>\n502 Bad Gateway\n</html>";
    dsp_provider_error_message(plain, strlen(plain), msg, sizeof msg);
    assert_string_equal(msg, "<html> 502 Bad Gateway </html>");
    dsp_provider_error_message("", 0, msg, sizeof msg);
    assert_string_equal(msg, "(empty body)");
}

static void test_parse_model(void **state)
{
    (void)state;
    dsp_provider p;
    const char *name;
    dsp_error err = {0};
    assert_int_equal(dsp_parse_model("openai/gpt-4o-mini", &p, &name, &err), DSP_OK);
    assert_int_equal(p, DSP_PROVIDER_OPENAI);
    assert_string_equal(name, "gpt-4o-mini");
    assert_int_equal(dsp_parse_model("ollama/llama3.2:3b", &p, &name, &err), DSP_OK);
    assert_int_equal(p, DSP_PROVIDER_OLLAMA);
    assert_string_equal(name, "llama3.2:3b");
    /* Model names may hold slashes themselves (Hugging Face ids on vLLM). */
    assert_int_equal(dsp_parse_model("vllm/meta-llama/Llama-3.1-8B", &p, &name, &err), DSP_OK);
    assert_int_equal(p, DSP_PROVIDER_VLLM);
    assert_string_equal(name, "meta-llama/Llama-3.1-8B");
    assert_int_equal(dsp_parse_model("anthropic/claude-3-5-haiku-latest", &p, &name, &err), DSP_OK);
    assert_int_equal(p, DSP_PROVIDER_ANTHROPIC);
    /* A compatible server keeps its name: messages say compatible/... */
    assert_int_equal(dsp_parse_model("compatible/qwen2.5-7b", &p, &name, &err), DSP_OK);
    assert_int_equal(p, DSP_PROVIDER_COMPATIBLE);
    assert_string_equal(dsp_provider_name(p), "compatible");
    assert_int_equal(dsp_parse_model("gpt-4o", &p, &name, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "provider/model"));
    assert_int_equal(dsp_parse_model("mistrall/large", &p, &name, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "unknown provider \"mistrall\""));
    assert_int_equal(dsp_parse_model("openai/", &p, &name, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_parse_model(NULL, &p, &name, &err), DSP_ERR_INVALID);
}

/* Which endpoints must have a key: providers with a key variable, and not on
 * this machine. */
static void test_provider_needs_key(void **state)
{
    (void)state;
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, NULL));
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, "https://api.openai.com/v1"));
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_ANTHROPIC, "https://api.anthropic.com"));
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, "http://127.example.com/v1"));
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, "http://localhost.example.com/v1"));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, "http://127.0.0.1:8080/v1"));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, "http://127.1.2.3/v1"));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_ANTHROPIC, "http://localhost:9000"));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_OPENAI, "http://[::1]:8080/v1"));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_OLLAMA, NULL));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_VLLM, "https://vllm.example.com/v1"));
    assert_false(dsp_provider_needs_key(DSP_PROVIDER_COMPATIBLE, "https://llm.example.com/v1"));
}

static void expect_url(dsp_provider p, const char *base, const char *want)
{
    char *url = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_endpoint_url(p, base, &url, &err), DSP_OK);
    assert_string_equal(url, want);
    free(url);
}

static void test_endpoint_urls(void **state)
{
    (void)state;
    expect_url(DSP_PROVIDER_OPENAI, NULL, "https://api.openai.com/v1/chat/completions");
    expect_url(DSP_PROVIDER_OLLAMA, NULL, "http://127.0.0.1:11434/v1/chat/completions");
    expect_url(DSP_PROVIDER_VLLM, NULL, "http://localhost:8000/v1/chat/completions");
    expect_url(DSP_PROVIDER_ANTHROPIC, NULL, "https://api.anthropic.com/v1/messages");
    expect_url(DSP_PROVIDER_COMPATIBLE, "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/chat/completions");
    /* One override URL serves both providers, with or without /v1. */
    expect_url(DSP_PROVIDER_OPENAI, "http://127.0.0.1:9999", "http://127.0.0.1:9999/v1/chat/completions");
    expect_url(DSP_PROVIDER_OPENAI, "http://127.0.0.1:9999/v1/", "http://127.0.0.1:9999/v1/chat/completions");
    expect_url(DSP_PROVIDER_ANTHROPIC, "http://127.0.0.1:9999", "http://127.0.0.1:9999/v1/messages");
    expect_url(DSP_PROVIDER_ANTHROPIC, "http://127.0.0.1:9999/v1", "http://127.0.0.1:9999/v1/messages");
    expect_url(DSP_PROVIDER_OPENAI, "https://example.test/openai/v1", "https://example.test/openai/v1/chat/completions");
    char *url = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_endpoint_url(DSP_PROVIDER_OPENAI, "ftp://x", &url, &err), DSP_ERR_INVALID);
    assert_null(url);
}

/* Each OpenAI-compatible preset: its documented base URL and key variable,
 * the chat endpoint under it, and whether a key is demanded. */
static void test_presets(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *url, *key_env;
        bool needs_key;
    } want[] = {
        {"mistral/mistral-small-latest", "https://api.mistral.ai/v1/chat/completions", "MISTRAL_API_KEY", true},
        {"groq/llama-3.1-8b-instant", "https://api.groq.com/openai/v1/chat/completions", "GROQ_API_KEY", true},
        {"together/meta-llama/Llama-3.3-70B-Instruct-Turbo", "https://api.together.xyz/v1/chat/completions",
         "TOGETHER_API_KEY", true},
        {"deepseek/deepseek-chat", "https://api.deepseek.com/v1/chat/completions", "DEEPSEEK_API_KEY", true},
        {"openrouter/openai/gpt-4o-mini", "https://openrouter.ai/api/v1/chat/completions", "OPENROUTER_API_KEY",
         true},
        {"fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct",
         "https://api.fireworks.ai/inference/v1/chat/completions", "FIREWORKS_API_KEY", true},
        {"cohere/command-r7b-12-2024", "https://api.cohere.ai/compatibility/v1/chat/completions", "CO_API_KEY",
         true},
        {"lmstudio/qwen2.5-7b-instruct", "http://localhost:1234/v1/chat/completions", NULL, false},
        {"llamacpp/default", "http://localhost:8080/v1/chat/completions", NULL, false},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        dsp_provider p;
        const char *name = NULL;
        dsp_error err = {0};
        assert_int_equal(dsp_parse_model(want[i].spec, &p, &name, &err), DSP_OK);
        assert_string_equal(name, strchr(want[i].spec, '/') + 1);
        size_t plen = (size_t)(strchr(want[i].spec, '/') - want[i].spec);
        const dsp_provider_info *info = dsp_provider_find(want[i].spec, plen);
        assert_non_null(info);
        assert_int_equal(info->provider, p);
        assert_int_equal(strlen(dsp_provider_name(p)), plen);
        assert_memory_equal(dsp_provider_name(p), want[i].spec, plen);
        if (want[i].key_env)
            assert_string_equal(info->api_key_env, want[i].key_env);
        else
            assert_null(info->api_key_env);
        expect_url(p, NULL, want[i].url);
        assert_true(dsp_provider_needs_key(p, NULL) == want[i].needs_key);
        /* An lm's own base URL wins: the preset is only a default. */
        expect_url(p, "http://127.0.0.1:9999/v1", "http://127.0.0.1:9999/v1/chat/completions");
        dsp_error_clear(&err);
    }
    /* Every table entry parses back to itself. */
    size_t n = 0;
    const dsp_provider_info *all = dsp_provider_table(&n);
    assert_true(n >= 14);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(dsp_provider_find(all[i].name, strlen(all[i].name)), &all[i]);
    assert_null(dsp_provider_find("mistra", 6));
}

static void expect_model_url(dsp_provider p, const char *base, const char *model, const char *want)
{
    char *url = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_model_endpoint_url(p, base, model, &url, &err), DSP_OK);
    assert_string_equal(url, want);
    free(url);
}

/* Azure: the deployment as one escaped path segment, api-version from
 * OPENAI_API_VERSION or the default; no default resource endpoint. */
static void test_azure_urls(void **state)
{
    (void)state;
    unsetenv("OPENAI_API_VERSION");
    expect_model_url(DSP_PROVIDER_AZURE, "https://res.openai.azure.com/", "gpt-4o-mini",
                     "https://res.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions?api-version="
                     DSP_AZURE_API_VERSION);
    expect_model_url(DSP_PROVIDER_AZURE, "https://res.openai.azure.com/openai", "my dep/x",
                     "https://res.openai.azure.com/openai/deployments/my%20dep%2Fx/chat/completions?api-version="
                     DSP_AZURE_API_VERSION);
    setenv("OPENAI_API_VERSION", "2025-01-01-preview", 1);
    expect_model_url(DSP_PROVIDER_AZURE, "http://127.0.0.1:9/v1", "d",
                     "http://127.0.0.1:9/v1/openai/deployments/d/chat/completions?api-version=2025-01-01-preview");
    char *url = NULL;
    dsp_error err = {0};
    setenv("OPENAI_API_VERSION", "2024&x=1", 1);
    assert_int_equal(dsp_model_endpoint_url(DSP_PROVIDER_AZURE, "https://r.openai.azure.com", "d", &url, &err),
                     DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "OPENAI_API_VERSION"));
    unsetenv("OPENAI_API_VERSION");
    assert_int_equal(dsp_model_endpoint_url(DSP_PROVIDER_AZURE, NULL, "d", &url, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "resource endpoint"));
    assert_null(url);
    /* Other providers keep their paths. */
    expect_model_url(DSP_PROVIDER_GROQ, NULL, "llama", "https://api.groq.com/openai/v1/chat/completions");
    assert_true(dsp_provider_needs_key(DSP_PROVIDER_AZURE, "https://res.openai.azure.com"));
    assert_string_equal(dsp_provider_find("azure", 5)->api_key_env, "AZURE_OPENAI_API_KEY");
    dsp_error_clear(&err);
}

static void test_params_merge(void **state)
{
    (void)state;
    dsp_lm_params lm = dsp_lm_params_default();
    lm.temperature = 0.0;
    lm.max_tokens = 512;
    lm.stop[0] = "END";
    dsp_lm_params call = dsp_lm_params_default();
    call.temperature = 1.0;
    call.has_seed = true;
    call.seed = 7;
    dsp_lm_params m = dsp_params_merge(&lm, &call);
    assert_true(m.temperature == 1.0);
    assert_int_equal(m.max_tokens, 512);
    assert_true(m.has_seed);
    assert_int_equal(m.seed, 7);
    assert_string_equal(m.stop[0], "END");
    assert_null(m.json_schema);
    /* A call's schema comes with its strictness. */
    call.json_schema = "{\"type\":\"object\"}";
    call.json_strict = true;
    m = dsp_params_merge(&lm, &call);
    assert_string_equal(m.json_schema, call.json_schema);
    assert_true(m.json_strict);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_minimal_sends_no_unset_params),
        cmocka_unit_test(test_body_all_params),
        cmocka_unit_test(test_provider_needs_key),
        cmocka_unit_test(test_chat_request_body),
        cmocka_unit_test(test_body_rejects_bad_schema_and_no_messages),
        cmocka_unit_test(test_parse_documented_reply),
        cmocka_unit_test(test_parse_choices_by_index),
        cmocka_unit_test(test_parse_bad_replies),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_parse_model),
        cmocka_unit_test(test_endpoint_urls),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_azure_urls),
        cmocka_unit_test(test_params_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
