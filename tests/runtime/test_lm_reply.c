/* test_lm_reply.c — lm_reply.c: what every API's reply parser shares (the
 * text rule checked before parsing, protocol errors carrying the body,
 * bounded token counts), alone and through the OpenAI and Anthropic
 * parsers, which use it in place of copies of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/lm_wire.h"

static void test_reply_json(void **state)
{
    (void)state;
    dsp_error err = {0};
    cJSON *j = dsp_reply_json("{\"a\":1}", 7, "X", &err);
    assert_non_null(j);
    assert_int_equal(err.status, DSP_OK);
    cJSON_Delete(j);

    assert_null(dsp_reply_json("{\"a\":", 5, "X reply does not follow", &err));
    assert_int_equal(err.status, DSP_ERR_PROTOCOL);
    assert_string_equal(err.message, "X reply does not follow: the body is not JSON");
    assert_string_equal(err.raw, "{\"a\":");
    dsp_error_clear(&err);

    static const char nul[] = "{\"a\":\"x\\u0000y\"}";
    assert_null(dsp_reply_json(nul, strlen(nul), "X", &err));
    assert_non_null(strstr(err.message, "X: a NUL character (\\u0000) at byte"));
    dsp_error_clear(&err);

    static const char latin1[] = "{\"a\":\"caf\xe9\"}";
    assert_null(dsp_reply_json(latin1, strlen(latin1), "X", &err));
    assert_string_equal(err.message, "X: not valid UTF-8 at byte 9 (0xe9)");
    dsp_error_clear(&err);

    assert_null(dsp_reply_json(NULL, 0, "X", &err));
    assert_string_equal(err.message, "X: the body is not JSON");
    dsp_error_clear(&err);
}

static void test_reply_count(void **state)
{
    (void)state;
    cJSON *u = cJSON_Parse("{\"ok\":12,\"neg\":-1,\"huge\":1e300,\"inf\":1e999,\"text\":\"3\",\"frac\":2.5}");
    assert_non_null(u);
    assert_int_equal(dsp_reply_count(u, "ok"), 12);
    assert_int_equal(dsp_reply_count(u, "frac"), 2);
    assert_int_equal(dsp_reply_count(u, "neg"), 0);
    assert_int_equal(dsp_reply_count(u, "huge"), 0);
    assert_int_equal(dsp_reply_count(u, "inf"), 0);
    assert_int_equal(dsp_reply_count(u, "text"), 0);
    assert_int_equal(dsp_reply_count(u, "absent"), 0);
    assert_int_equal(dsp_reply_count(NULL, "ok"), 0);
    cJSON_Delete(u);
}

/* The parsers' errors read as they did with their own copies. */
static void test_parsers_share_it(void **state)
{
    (void)state;
    dsp_error err = {0};
    dsp_chat_response r;
    memset(&r, 0, sizeof r);
    assert_int_equal(dsp_openai_parse_reply("nope", 4, &r, &err), DSP_ERR_PROTOCOL);
    assert_string_equal(err.message, "OpenAI-compatible reply does not follow the API: the body is not JSON");
    assert_string_equal(err.raw, "nope");
    dsp_error_clear(&err);
    assert_int_equal(dsp_openai_parse_reply("{}", 2, &r, &err), DSP_ERR_PROTOCOL);
    assert_string_equal(err.message, "OpenAI-compatible reply does not follow the API: no \"choices\" array");
    dsp_error_clear(&err);
    assert_int_equal(dsp_anthropic_parse_reply("{}", 2, &r, &err), DSP_ERR_PROTOCOL);
    assert_string_equal(err.message, "Anthropic reply does not follow the Messages API: no \"content\" array");
    dsp_error_clear(&err);

    static const char big[] = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"hi\"}}],"
                              "\"usage\":{\"prompt_tokens\":1e300,\"completion_tokens\":7}}";
    assert_int_equal(dsp_openai_parse_reply(big, strlen(big), &r, &err), DSP_OK);
    assert_int_equal(r.usage.prompt_tokens, 0);
    assert_int_equal(r.usage.completion_tokens, 7);
    dsp_chat_response_free(&r);
    static const char anth[] = "{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],"
                               "\"usage\":{\"input_tokens\":-4,\"output_tokens\":9}}";
    memset(&r, 0, sizeof r);
    assert_int_equal(dsp_anthropic_parse_reply(anth, strlen(anth), &r, &err), DSP_OK);
    assert_int_equal(r.usage.prompt_tokens, 0);
    assert_int_equal(r.usage.completion_tokens, 9);
    dsp_chat_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_json),
        cmocka_unit_test(test_reply_count),
        cmocka_unit_test(test_parsers_share_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
