/* test_text_check.c — the rule for text (dsp/value.h: UTF-8 without NUL
 * characters) and where libdsprt applies it: input values
 * (dsp_value_check), provider reply bodies, the JSON adapter and JSON-typed
 * fields. `billing\u0000hacked` is refused, never read as `billing`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "../../runtime/src/lm_wire.h"
#include "../../runtime/src/text_check.h"

#define INVALID_AT(lit) dsp_text_invalid_at(lit, sizeof lit - 1)
#define NUL_AT(lit) dsp_json_nul_at(lit, sizeof lit - 1)
#define ALL_VALID(lit) assert_int_equal(INVALID_AT(lit), sizeof lit - 1)
#define NO_NUL(lit) assert_int_equal(NUL_AT(lit), sizeof lit - 1)

static void test_utf8_rule(void **state)
{
    (void)state;
    assert_int_equal(INVALID_AT(""), 0);
    ALL_VALID("plain ascii text, longer than eight");
    ALL_VALID("caf\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82");
    assert_int_equal(INVALID_AT("\xff"), 0);
    assert_int_equal(INVALID_AT("0123456789ab\xffz"), 12); /* past the 8-byte fast path */
    assert_int_equal(INVALID_AT("ab\xc3"), 2);             /* cut short */
    assert_int_equal(INVALID_AT("\xc0\xaf"), 0);           /* overlong '/' */
    assert_int_equal(INVALID_AT("x\xed\xa0\x80"), 1);      /* a surrogate */
    assert_int_equal(INVALID_AT("\xf4\x90\x80\x80"), 0);   /* past U+10FFFF */
    assert_int_equal(INVALID_AT("\xc3\xa9\x80"), 2);       /* a stray continuation byte */
    assert_int_equal(INVALID_AT("ab\0cd"), 2);             /* NUL */
    assert_int_equal(INVALID_AT("0123456789\0"), 10);
    /* A NUL, a stray continuation byte, a cut sequence and a valid é at
     * every place in 70 ASCII bytes, across the 16- and 8-byte runs. */
    for (size_t at = 0; at < 70; at++) {
        char t[72];
        memset(t, 'a', sizeof t);
        t[at] = '\0';
        assert_int_equal(dsp_text_invalid_at(t, 70), at);
        t[at] = (char)0x80;
        assert_int_equal(dsp_text_invalid_at(t, 70), at);
        t[at] = (char)0xc3;
        assert_int_equal(dsp_text_invalid_at(t, at + 1), at);
        t[at + 1] = (char)0xa9;
        assert_int_equal(dsp_text_invalid_at(t, 70), at + 1 < 70 ? 70 : at);
    }
}

static void test_json_nul(void **state)
{
    (void)state;
    assert_int_equal(NUL_AT("{\"a\":\"billing\\u0000hacked\"}"), 13);
    NO_NUL("{\"a\":\"an escaped backslash: \\\\u0000\"}");
    assert_int_equal(NUL_AT("{\"a\":\"\\\\\\u0000\"}"), 8);
    assert_int_equal(NUL_AT("{\"a\":\"\\u00001\"}"), 6);
    NO_NUL("{\"a\":\"\\u0001\"}");
    assert_int_equal(NUL_AT("{\"a\":1}\0"), 7);
    NO_NUL("\"cut \\");
}

static void test_replies_with_nul(void **state)
{
    (void)state;
    static const char openai[] = "{\"choices\":[{\"index\":0,\"message\":{\"content\":"
                                 "\"[[ ## category ## ]]\\nbilling\\u0000hacked\\n\\n[[ ## completed ## ]]\"}}]}";
    static const char anthropic[] = "{\"content\":[{\"type\":\"text\",\"text\":\"billing\\u0000hacked\"}]}";
    static const char latin1[] = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"caf\xe9\"}}]}";
    dsp_chat_response r = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_openai_parse_reply(openai, sizeof openai - 1, &r, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "a NUL character (\\u0000) at byte"));
    assert_int_equal(r.n_choices, 0);
    assert_int_equal(dsp_anthropic_parse_reply(anthropic, sizeof anthropic - 1, &r, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "NUL character"));
    assert_int_equal(dsp_openai_parse_reply(latin1, sizeof latin1 - 1, &r, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "not valid UTF-8 at byte"));
    dsp_error_clear(&err);
}

static const char *const queues[] = {"billing", "account"};
static const dsp_type queue_t = {.kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 2};
static const dsp_type words_t = {.kind = DSP_TYPE_LIST, .elem = &dsp_type_string};
static const dsp_field ins[] = {{.name = "text", .type = &dsp_type_string}};
static const dsp_field outs[] = {{.name = "note", .type = &dsp_type_string}, {.name = "queue", .type = &queue_t},
                                 {.name = "words", .type = &words_t}};
static const dsp_signature sig = {.name = "S", .inputs = ins, .n_inputs = 1, .outputs = outs, .n_outputs = 3};

static void test_adapters_refuse_nul(void **state)
{
    (void)state;
    dsp_predictor pred = {.name = "p", .signature = &sig, .strategy = DSP_STRATEGY_PREDICT};
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    dsp_value out[3];
    memset(out, 0, sizeof out);
    dsp_error err = {0};
    static const char json[] = "{\"note\":\"billing\\u0000hacked\",\"queue\":\"billing\",\"words\":[]}";
    assert_int_equal(dsp_json_adapter_parse(&spec, json, sizeof json - 1, out, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "NUL character"));
    /* A list field of the chat format is JSON too. */
    static const char chat[] = "[[ ## note ## ]]\nfine\n\n[[ ## queue ## ]]\nbilling\n\n[[ ## words ## ]]\n"
                               "[\"a\\u0000b\"]\n\n[[ ## completed ## ]]";
    assert_int_equal(dsp_chat_adapter_parse(&spec, chat, sizeof chat - 1, out, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "NUL character"));
    /* Escaped text that only looks like one is kept exactly. */
    static const char kept[] = "[[ ## note ## ]]\nbilling\\u0000hacked\n\n[[ ## queue ## ]]\nbilling\n\n"
                               "[[ ## words ## ]]\n[\"a\\\\u0000b\"]\n\n[[ ## completed ## ]]";
    assert_int_equal(dsp_chat_adapter_parse(&spec, kept, sizeof kept - 1, out, &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(&out[0]), "billing\\u0000hacked");
    assert_string_equal(dsp_value_cstr(&out[2].as.list.items[0]), "a\\u0000b");
    dsp_values_free(out, 3);
    dsp_error_clear(&err);
}

/* Inputs are checked when the prompt is rendered, before any request, in
 * eval and in generated programs alike (both render through here). */
static void test_inputs_refused_at_render(void **state)
{
    (void)state;
    dsp_predictor pred = {.name = "p", .signature = &sig, .strategy = DSP_STRATEGY_PREDICT};
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = {0};
    dsp_value in = {0};
    assert_int_equal(dsp_value_set_string(&in, "ok caf\xc3\xa9", 8, &err), DSP_OK);
    assert_int_equal(dsp_chat_adapter_render(&spec, &in, &m, &err), DSP_OK);
    dsp_messages_free(&m);
    dsp_value_free(&in);
    assert_int_equal(dsp_value_set_string(&in, "abc\xff", 4, &err), DSP_OK);
    assert_int_equal(dsp_chat_adapter_render(&spec, &in, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "input `text`: not valid UTF-8 at byte 3 (0xff)"));
    assert_int_equal(dsp_json_adapter_render(&spec, &in, &m, &err), DSP_ERR_INVALID);
    assert_int_equal(m.len, 0); /* nothing left behind */
    dsp_messages_free(&m);
    dsp_value_free(&in);
    dsp_error_clear(&err);
}

/* Error messages are printed and written into JSON: they are UTF-8 even
 * when they quote bytes that are not, or are cut inside a sequence. */
static void test_error_messages_are_utf8(void **state)
{
    (void)state;
    dsp_error err = {0};
    dsp_error_set(&err, DSP_ERR_PARSE, "reply \"%s\" caf\xc3\xa9", "a\xe9" "b\xff");
    assert_string_equal(err.message, "reply \"a?b?\" caf\xc3\xa9");
    char long_text[DSP_ERROR_MESSAGE_MAX + 8];
    memset(long_text, 'x', sizeof long_text);
    /* "é" straddles the end of the message buffer: its first byte is kept
     * by vsnprintf, its second is cut. */
    long_text[DSP_ERROR_MESSAGE_MAX - 2] = '\xc3';
    long_text[DSP_ERROR_MESSAGE_MAX - 1] = '\xa9';
    long_text[sizeof long_text - 1] = '\0';
    dsp_error_set(&err, DSP_ERR_PARSE, "%s", long_text);
    size_t len = strlen(err.message);
    assert_int_equal(len, DSP_ERROR_MESSAGE_MAX - 1);
    assert_int_equal(dsp_text_invalid_at(err.message, len), len);
    assert_int_equal(err.message[len - 1], '?');
    dsp_error_clear(&err);
}

/* A message quoting a hostile server (an HTTP error's message, a reply
 * that did not parse) is printed on a terminal: its escape sequences, CRs
 * and other control bytes become '?', tabs and newlines stay. */
static void test_error_messages_hold_no_escapes(void **state)
{
    (void)state;
    dsp_error err = {0};
    dsp_error_set(&err, DSP_ERR_HTTP, "HTTP 500: %s",
                  "\x1b[2J\x1b]0;owned\x07ok\rfake line\x7f\tend\nnext\x01");
    assert_string_equal(err.message, "HTTP 500: ?[2J?]0;owned?ok?fake line?\tend\nnext?");
    dsp_error_clear(&err);
}

/* The one-pass check of a reply body says "plain" exactly when neither
 * dsp_json_nul_at nor dsp_text_invalid_at finds anything: on the cases
 * that tell the escapes apart, placed at every offset of the 16-byte
 * blocks it reads at once, and on random strings of the bytes that
 * matter. */
static bool plain_by_both(const char *s, size_t n)
{
    return dsp_json_nul_at(s, n) == n && dsp_text_invalid_at(s, n) == n;
}

static void test_one_pass_agrees(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "\\\\u0000",   /* an escaped backslash, then the letters u0000: plain */
        "\\\\\\u0000", /* an escaped backslash, then a \u0000 escape: a NUL */
        "\\u0000", "\\n\\u0000", "\\u00000", "\\u0001", "\\\\", "\\", "\\\\\\", "\\u000",
        "\\\xc3\xa9", "\\\xff", "\\\xc3", "\xc3\xa9\\n", "caf\xc3\xa9", "\xe2\x9c", "\xf0\x9f\x99\x82",
        "\\\"", "\\u00e9",
    };
    char buf[64];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t k = strlen(cases[c]);
        for (size_t pad = 0; pad < 20; pad++) {
            memset(buf, 'a', pad);
            memcpy(buf + pad, cases[c], k);
            for (size_t tail = 0; tail < 3; tail++) {
                size_t n = pad + k + tail;
                memset(buf + pad + k, 'b', tail);
                assert_int_equal(dsp_json_text_plain(buf, n), plain_by_both(buf, n));
            }
        }
    }
    /* A raw NUL after a backslash is a NUL either way. */
    assert_false(dsp_json_text_plain("ab\\\0cd", 6));
    assert_false(plain_by_both("ab\\\0cd", 6));
    static const char alphabet[] = {'a', '\\', 'u', '0', '\0', '"', (char)0xc3, (char)0xa9, (char)0xff, (char)0xe2,
                                    (char)0x80};
    uint32_t x = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 48);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = alphabet[(x >> 16) % sizeof alphabet];
        }
        assert_int_equal(dsp_json_text_plain(buf, n), plain_by_both(buf, n));
    }
    assert_true(dsp_json_text_plain("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_rule),
        cmocka_unit_test(test_json_nul),
        cmocka_unit_test(test_replies_with_nul),
        cmocka_unit_test(test_adapters_refuse_nul),
        cmocka_unit_test(test_inputs_refused_at_render),
        cmocka_unit_test(test_error_messages_are_utf8),
        cmocka_unit_test(test_error_messages_hold_no_escapes),
        cmocka_unit_test(test_one_pass_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
