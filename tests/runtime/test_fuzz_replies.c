/* test_fuzz_replies.c — untrusted replies, mutated: OpenAI and Anthropic
 * reply bodies (lm_openai.c, lm_anthropic.c), provider error bodies, and
 * LM replies to the chat and JSON adapters (adapter_chat.c,
 * adapter_json.c). Deterministic (a fixed seed, so a failure replays by its
 * case number), a few thousand cases each. Every case must end in a value
 * that is whole and sane, or in a clear error (a known status and a
 * message); the copies handed to the parsers are heap blocks of exactly
 * their size, so ASan reports a read past the end, and LeakSanitizer what a
 * failed parse forgets to free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "../../runtime/src/lm_wire.h"

#ifndef CASES /* more by hand: -DCASES=300000 */
#define CASES 3000
#endif

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Tokens a mutation likes to insert: JSON and chat-format punctuation,
 * numbers at and past the edges of int64 and double, escapes, UTF-8 (also
 * cut), NUL and the section markers. */
static const char *const tokens[] = {
    "\"", "\\", "{", "}", "[", "]", ",", ":", "null", "true", "1e999", "-1e999", "9223372036854775808",
    "-9223372036854775809", "1e308", "-0", "0.5", "\\u0000", "\\ud800", "\\u00e9", "\xc3", "\xe2\x82", "\xff",
    "\x00", "\n", "\r\n", "[[ ## ", " ## ]]", "[[ ## answer ## ]]\n", "[[ ## n ## ]]\n", "[[ ## completed ## ]]",
    "\"index\":", "\"content\":", "\"text\":", "\"type\":\"text\"", "\"usage\":{\"prompt_tokens\":1e300}",
    "\"input_tokens\":-5", "```json\n", "```", "None", "[1, 2", "nan", "inf",
};

/* One mutation of seed into out (at most cap bytes); returns the length. */
static size_t mutate(const char *seed, size_t n, char *out, size_t cap, uint64_t *rng)
{
    size_t len = n < cap ? n : cap;
    memcpy(out, seed, len);
    int edits = 1 + (int)(next(rng) % 3);
    for (int e = 0; e < edits; e++) {
        size_t at = len ? next(rng) % (len + 1) : 0;
        switch (next(rng) % 6) {
        case 0: /* a byte flipped */
            if (at < len)
                out[at] = (char)next(rng);
            break;
        case 1: /* cut */
            len = at;
            break;
        case 2: { /* a span dropped */
            size_t k = next(rng) % 24;
            if (at + k > len)
                k = len - at;
            memmove(out + at, out + at + k, len - at - k);
            len -= k;
            break;
        }
        case 3: { /* a span repeated */
            size_t k = next(rng) % 64;
            if (at + k > len)
                k = len - at;
            if (len + k <= cap) {
                memmove(out + at + k, out + at, len - at);
                len += k;
            }
            break;
        }
        default: { /* a token inserted */
            const char *t = tokens[next(rng) % (sizeof tokens / sizeof tokens[0])];
            size_t k = t[0] ? strlen(t) : 1; /* "\x00" is one NUL byte */
            if (len + k <= cap) {
                memmove(out + at + k, out + at, len - at);
                memcpy(out + at, t, k);
                len += k;
            }
        }
        }
    }
    return len;
}

/* An exact-size heap copy (not NUL-terminated: the parsers take a length). */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static void assert_clear_error(dsp_status st, const dsp_error *err, int i)
{
    if (st != DSP_ERR_PROTOCOL && st != DSP_ERR_PARSE && st != DSP_ERR_INVALID)
        fail_msg("case %d: status %s", i, dsp_status_name(st));
    if (err->status != st || err->message[0] == '\0')
        fail_msg("case %d: no error message for status %s", i, dsp_status_name(st));
}

/* ---- provider replies --------------------------------------------------- */

static const char *const openai_seeds[] = {
    ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
     "\"assistant\",\"content\":\"[[ ## answer ## ]]\\nhi \\u00e9\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}"),
    ("{\"choices\":[{\"index\":1,\"message\":{\"content\":\"b\"}},{\"index\":0,\"message\":{\"content\":\"a\"}}],"
    "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}"),
    "{\"choices\":[{\"index\":0,\"message\":{\"content\":null,\"refusal\":\"I can't help with that.\"}}]}",
    ("{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":1e300,"
     "\"completion_tokens\":92233720368547758070}}"),
};

static const char *const anthropic_seeds[] = {
    ("{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
    "\"[[ ## answer ## ]]\\n\"},{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"x\",\"input\":{}},{\"type\":"
    "\"text\",\"text\":\"yes\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}"),
    "{\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\"},{\"type\":\"text\",\"text\":\"ok\"}]}",
    ("{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"usage\":{\"input_tokens\":1e300,"
     "\"output_tokens\":92233720368547758070}}"),
};

typedef dsp_status (*reply_parser)(const char *, size_t, dsp_chat_response *, dsp_error *);

static void fuzz_replies(reply_parser parse, const char *const *seeds, size_t n_seeds, uint64_t rng)
{
    /* The seeds themselves parse. */
    for (size_t s = 0; s < n_seeds; s++) {
        dsp_chat_response resp = {0};
        dsp_error err = {0};
        dsp_status st = parse(seeds[s], strlen(seeds[s]), &resp, &err);
        assert_true(st == DSP_OK || st == DSP_ERR_PROTOCOL); /* the refusal is an error */
        dsp_chat_response_free(&resp);
        dsp_error_clear(&err);
    }
    char buf[2048];
    size_t ok = 0, refused = 0;
    for (int i = 0; i < CASES; i++) {
        const char *seed = seeds[next(&rng) % n_seeds];
        size_t len = mutate(seed, strlen(seed), buf, sizeof buf, &rng);
        char *body = exact(buf, len);
        dsp_chat_response resp = {0};
        dsp_error err = {0};
        dsp_status st = parse(body, len, &resp, &err);
        if (st == DSP_OK) {
            ok++;
            assert_true(resp.n_choices >= 1);
            for (size_t c = 0; c < resp.n_choices; c++)
                assert_non_null(resp.choices[c]);
            /* Counts from the wire are never negative, whatever the number
             * said (1e300, -5, 1e999). */
            if (resp.usage.prompt_tokens < 0 || resp.usage.completion_tokens < 0)
                fail_msg("case %d: usage %lld/%lld from %.*s", i, (long long)resp.usage.prompt_tokens,
                         (long long)resp.usage.completion_tokens, (int)len, body);
        } else {
            refused++;
            assert_clear_error(st, &err, i);
            assert_int_equal(resp.n_choices, 0);
            assert_null(resp.choices);
        }
        dsp_chat_response_free(&resp);
        dsp_error_clear(&err);
        free(body);
    }
    print_message("%zu parsed, %zu refused\n", ok, refused);
    assert_true(ok > 0 && refused > 0);
}

static void test_fuzz_openai_replies(void **state)
{
    (void)state;
    fuzz_replies(dsp_openai_parse_reply, openai_seeds, sizeof openai_seeds / sizeof openai_seeds[0],
                 0x9E3779B97F4A7C15ull);
}

static void test_fuzz_anthropic_replies(void **state)
{
    (void)state;
    fuzz_replies(dsp_anthropic_parse_reply, anthropic_seeds, sizeof anthropic_seeds / sizeof anthropic_seeds[0],
                 0xD1B54A32D192ED03ull);
}

/* Error bodies become one line of at most the buffer's size. */
static void test_fuzz_error_bodies(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"error\":{\"message\":\"Rate limit reached\\nretry\",\"type\":\"rate_limit_error\",\"code\":null}}",
        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
        "{\"error\":\"plain text\"}",
        "<html><body>502 Bad Gateway\r\n</body></html>",
    };
    uint64_t rng = 0x94D049BB133111EBull;
    char buf[1024];
    for (int i = 0; i < CASES; i++) {
        const char *seed = seeds[next(&rng) % 4];
        size_t len = mutate(seed, strlen(seed), buf, sizeof buf, &rng);
        char *body = exact(buf, len);
        size_t outsz = 1 + next(&rng) % 120;
        char *out = malloc(outsz);
        assert_non_null(out);
        dsp_provider_error_message(body, len, out, outsz);
        assert_true(memchr(out, '\0', outsz) != NULL);
        free(out);
        free(body);
    }
}

/* ---- adapter replies ---------------------------------------------------- */

static const char *const colors[] = {"red", "green", "blue"};
static const dsp_type color_t = { .kind = DSP_TYPE_ENUM, .enum_values = colors, .n_enum_values = 3 };
static const dsp_type ints_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_int };
static const dsp_type maybe_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_string };
static const dsp_type maybe_f_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_float };
static const dsp_field ent_fields[] = {
    {"text", &dsp_type_string, NULL}, {"kind", &color_t, NULL}, {"score", &maybe_f_t, NULL}, {"ids", &ints_t, NULL},
};
static const dsp_type ent_t = { .kind = DSP_TYPE_RECORD, .fields = ent_fields, .n_fields = 4, .name = "Ent" };
static const dsp_type ents_t = { .kind = DSP_TYPE_LIST, .elem = &ent_t };
static const dsp_type counts_t = { .kind = DSP_TYPE_MAP, .elem = &ints_t };
static const dsp_field outs[] = {
    {"answer", &dsp_type_string, NULL}, {"n", &dsp_type_int, NULL},   {"f", &dsp_type_float, NULL},
    {"b", &dsp_type_bool, NULL},        {"color", &color_t, NULL},     {"ids", &ints_t, NULL},
    {"note", &maybe_t, NULL},           {"ents", &ents_t, NULL},       {"counts", &counts_t, NULL},
};
#define N_OUT (sizeof outs / sizeof outs[0])
static const dsp_field ins[] = {{"q", &dsp_type_string, NULL}};
static const dsp_signature sig = {"Fuzz", "Answer.", ins, 1, outs, N_OUT};
static const dsp_predictor pred = {"fuzz", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL};

/* A parsed value is whole: its kind is the field's, strings are
 * NUL-terminated at their length, enum indexes are in range, floats finite. */
static void assert_value_sane(const dsp_type *t, const dsp_value *v, int i)
{
    if (v->kind != t->kind)
        fail_msg("case %d: kind %d for a field of kind %d", i, (int)v->kind, (int)t->kind);
    switch (t->kind) {
    case DSP_TYPE_STRING:
        if (v->as.s.len)
            assert_int_equal(v->as.s.data[v->as.s.len], '\0');
        break;
    case DSP_TYPE_ENUM: assert_true(v->as.e < t->n_enum_values); break;
    case DSP_TYPE_FLOAT: assert_true(v->as.f == v->as.f && v->as.f - v->as.f == 0); break;
    case DSP_TYPE_LIST:
        for (size_t k = 0; k < v->as.list.len; k++)
            assert_value_sane(t->elem, &v->as.list.items[k], i);
        break;
    case DSP_TYPE_OPTIONAL:
        if (v->as.some)
            assert_value_sane(t->elem, v->as.some, i);
        break;
    case DSP_TYPE_RECORD:
        assert_int_equal(v->as.record.len, t->n_fields);
        for (size_t k = 0; k < t->n_fields; k++)
            assert_value_sane(t->fields[k].type, &v->as.record.fields[k], i);
        break;
    case DSP_TYPE_MAP:
        for (size_t k = 0; k < v->as.map.len; k++) {
            assert_non_null(v->as.map.keys[k]);
            for (size_t j = 0; j < k; j++) /* keys are distinct */
                assert_true(strcmp(v->as.map.keys[j], v->as.map.keys[k]) != 0);
            assert_value_sane(t->elem, &v->as.map.vals[k], i);
        }
        break;
    default: break;
    }
}

typedef dsp_status (*adapter_parser)(const dsp_prompt_spec *, const char *, size_t, dsp_value *, dsp_error *);

static void fuzz_adapter(adapter_parser parse, const char *seed, uint64_t rng)
{
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    dsp_value got[N_OUT];
    memset(got, 0, sizeof got);
    dsp_error err = {0};
    assert_int_equal(parse(&spec, seed, strlen(seed), got, &err), DSP_OK);
    dsp_values_free(got, N_OUT);
    char buf[2048];
    size_t ok = 0, refused = 0;
    for (int i = 0; i < CASES; i++) {
        size_t len = mutate(seed, strlen(seed), buf, sizeof buf, &rng);
        char *reply = exact(buf, len);
        memset(got, 0, sizeof got);
        dsp_status st = parse(&spec, reply, len, got, &err);
        if (st == DSP_OK) {
            ok++;
            for (size_t k = 0; k < N_OUT; k++)
                assert_value_sane(outs[k].type, &got[k], i);
            dsp_values_free(got, N_OUT);
        } else {
            refused++;
            assert_clear_error(st, &err, i);
            /* A failed parse leaves the outputs empty (nothing to free). */
            for (size_t k = 0; k < N_OUT; k++)
                assert_int_equal(got[k].kind == DSP_TYPE_STRING ? got[k].as.s.len : 0, 0);
        }
        dsp_error_clear(&err);
        free(reply);
    }
    print_message("%zu parsed, %zu refused\n", ok, refused);
    assert_true(ok > 0 && refused > 0);
}

static void test_fuzz_chat_adapter_replies(void **state)
{
    (void)state;
    fuzz_adapter(dsp_chat_adapter_parse,
                 "[[ ## answer ## ]]\nhello \xc3\xa9\n\n[[ ## n ## ]]\n42\n\n[[ ## f ## ]]\n3.5\n\n[[ ## b ## ]]\n"
                 "true\n\n[[ ## color ## ]]\nred\n\n[[ ## ids ## ]]\n[1, 2, 3]\n\n[[ ## note ## ]]\nfine\n\n"
                 "[[ ## ents ## ]]\n[{\"text\": \"a\", \"kind\": \"blue\", \"ids\": [4]}, "
                 "{\"text\": \"b\", \"kind\": \"red\", \"score\": 0.5, \"ids\": []}]\n\n"
                 "[[ ## counts ## ]]\n{\"x\": [1], \"y\": [2, 3]}\n\n"
                 "[[ ## completed ## ]]",
                 0x2545F4914F6CDD1Dull);
}

static void test_fuzz_json_adapter_replies(void **state)
{
    (void)state;
    fuzz_adapter(dsp_json_adapter_parse,
                 "{\"answer\":\"hello \\u00e9\",\"n\":42,\"f\":3.5,\"b\":true,\"color\":\"red\",\"ids\":[1,2,3],"
                 "\"note\":null,\"ents\":[{\"text\":\"a\",\"kind\":\"green\",\"score\":null,\"ids\":[1]}],"
                 "\"counts\":{\"k\":[7]}}",
                 0xBF58476D1CE4E5B9ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_openai_replies),
        cmocka_unit_test(test_fuzz_anthropic_replies),
        cmocka_unit_test(test_fuzz_error_bodies),
        cmocka_unit_test(test_fuzz_chat_adapter_replies),
        cmocka_unit_test(test_fuzz_json_adapter_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
