/* test_lm_stream.c — streamed replies of the four streaming APIs, in the
 * shapes their docs show (OpenAI chat.completion.chunk with include_usage,
 * Anthropic's message_start ... message_stop, Gemini's alt=sse chunks,
 * Bedrock's ConverseStream events in AWS's binary event-stream encoding):
 * the text, handed on as it arrives, and the usage equal what the plain
 * reply parses to, whatever the chunk boundaries; a stream cut off, an
 * error event (a Bedrock exception message), a damaged Bedrock message, a
 * cancel and an echoed key each end it with an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/lm_stream.h"
#include "../../runtime/src/lm_wire.h"
#include "../support/es_build.h"

/* "Hé €!" split so that a UTF-8 sequence is also cut between chunks of
 * the network (the JSON strings themselves are whole). */
static const char openai_stream[] =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"H\xC3\xA9 \"},\"finish_reason\":null}],\"usage\":null}\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xE2\x82\xAC!\"},\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}\n\n"
    "data: [DONE]\n\n";
static const char openai_plain[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"H\xC3\xA9 \xE2\x82\xAC!\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}";

static const char anthropic_stream[] =
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"H\xC3\xA9 \"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\xE2\x82\xAC!\"}}\r\n\r\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
    "event: message_delta\r\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":4}}\r\n\r\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
static const char anthropic_plain[] =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[{\"type\":\"text\","
    "\"text\":\"H\xC3\xA9 \xE2\x82\xAC!\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":9,\"output_tokens\":4}}";

/* The JSON adapter's forced tool, its input in pieces. */
static const char anthropic_tool_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[],\"model\":\"claude\",\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\","
    "\"name\":\"output\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"label\\\": \\\"Bi\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"lling\\\", \\\"n\\\": 2}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":12}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
static const char anthropic_tool_plain[] =
    "{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[{\"type\":\"tool_use\","
    "\"id\":\"toolu_1\",\"name\":\"output\",\"input\":{\"label\":\"Billing\",\"n\":2}}],\"stop_reason\":\"tool_use\","
    "\"usage\":{\"input_tokens\":20,\"output_tokens\":12}}";

static const char gemini_stream[] =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"H\xC3\xA9 \"}],\"role\": \"model\"},\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 2,\"totalTokenCount\": 11},"
    "\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\xE2\x82\xAC!\"}],\"role\": \"model\"},"
    "\"finishReason\": \"STOP\",\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 4,\"totalTokenCount\": 13},"
    "\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n";
static const char gemini_plain[] =
    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"H\xC3\xA9 \xE2\x82\xAC!\"}],\"role\": \"model\"},"
    "\"finishReason\": \"STOP\",\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 4,\"totalTokenCount\": 13}}";

typedef struct got {
    char text[512];
    size_t len;
    int pieces;
    int cancel_at; /* > 0: cancel on this piece */
} got;

static int on_text(void *ctx, const char *s, size_t n)
{
    got *g = ctx;
    assert_true(g->len + n < sizeof g->text);
    memcpy(g->text + g->len, s, n);
    g->len += n;
    g->text[g->len] = '\0';
    g->pieces++;
    return g->cancel_at && g->pieces >= g->cancel_at;
}

/* Reads stream in pieces of step bytes (0: whole); returns finish's status. */
static dsp_status read_stream(dsp_provider p, const char *stream, size_t n, size_t step, got *g,
                              dsp_chat_response *resp, dsp_error *err, const char *key)
{
    dsp_stream_reader r;
    dsp_stream_reader_init(&r, p, on_text, g);
    r.keys[0] = key;
    if (step == 0)
        step = n;
    for (size_t i = 0; i < n; i += step)
        if (!dsp_stream_reader_feed(&r, stream + i, i + step <= n ? step : n - i))
            break;
    memset(resp, 0, sizeof *resp);
    dsp_status st = dsp_stream_reader_finish(&r, "http://test/", resp, err);
    dsp_stream_reader_free(&r);
    return st;
}

typedef dsp_status (*parse_fn)(const char *, size_t, dsp_chat_response *, dsp_error *);

static void equals_plain(dsp_provider p, const char *stream, size_t n, parse_fn parse, const char *plain)
{
    dsp_chat_response want = {0};
    dsp_error err = {0};
    assert_int_equal(parse(plain, strlen(plain), &want, &err), DSP_OK);
    for (size_t step = 0; step <= 13; step++) {
        got g = {0};
        dsp_chat_response resp;
        dsp_status st = read_stream(p, stream, n, step, &g, &resp, &err, NULL);
        if (st != DSP_OK)
            fail_msg("step %zu: %s", step, err.message);
        assert_int_equal(resp.n_choices, 1);
        assert_string_equal(resp.choices[0], want.choices[0]);
        assert_string_equal(g.text, want.choices[0]); /* the pieces handed on make the whole */
        assert_true(g.pieces >= 1);
        assert_int_equal(resp.usage.prompt_tokens, want.usage.prompt_tokens);
        assert_int_equal(resp.usage.completion_tokens, want.usage.completion_tokens);
        dsp_chat_response_free(&resp);
    }
    /* Every cut in two, through "data:" markers and UTF-8 sequences. */
    for (size_t cut = 1; cut < n; cut++) {
        dsp_stream_reader r;
        got g = {0};
        dsp_stream_reader_init(&r, p, on_text, &g);
        assert_true(dsp_stream_reader_feed(&r, stream, cut));
        assert_true(dsp_stream_reader_feed(&r, stream + cut, n - cut));
        dsp_chat_response resp = {0};
        assert_int_equal(dsp_stream_reader_finish(&r, "http://test/", &resp, &err), DSP_OK);
        assert_string_equal(resp.choices[0], want.choices[0]);
        dsp_chat_response_free(&resp);
        dsp_stream_reader_free(&r);
    }
    dsp_chat_response_free(&want);
}

static void test_openai_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    equals_plain(DSP_PROVIDER_OPENAI, openai_stream, sizeof openai_stream - 1, dsp_openai_parse_reply, openai_plain);
}

static void test_anthropic_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    equals_plain(DSP_PROVIDER_ANTHROPIC, anthropic_stream, sizeof anthropic_stream - 1, dsp_anthropic_parse_reply,
                 anthropic_plain);
}

static void test_anthropic_forced_tool_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    equals_plain(DSP_PROVIDER_ANTHROPIC, anthropic_tool_stream, sizeof anthropic_tool_stream - 1,
                 dsp_anthropic_parse_reply, anthropic_tool_plain);
}

static void test_gemini_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    equals_plain(DSP_PROVIDER_GEMINI, gemini_stream, sizeof gemini_stream - 1, dsp_gemini_parse_reply, gemini_plain);
}

/* Bedrock: built at run time (binary); "Hé €!" in two text deltas, the
 * second piece cut inside the UTF-8 of "€" by the network's chunks. */
static const char bedrock_plain[] =
    "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"H\xC3\xA9 \xE2\x82\xAC!\"}]}},"
    "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":9,\"outputTokens\":4,\"totalTokens\":13},"
    "\"metrics\":{\"latencyMs\":12}}";
static const char bedrock_tool_plain[] =
    "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"tooluse_1\","
    "\"name\":\"output\",\"input\":{\"label\":\"Billing\",\"n\":2}}}]}},\"stopReason\":\"tool_use\","
    "\"usage\":{\"inputTokens\":20,\"outputTokens\":12,\"totalTokens\":32}}";

static size_t bedrock_text_stream(unsigned char *b)
{
    size_t n = 0;
    es_event(b, &n, "messageStart", "{\"role\":\"assistant\"}");
    es_event(b, &n, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"H\xC3\xA9 \"}}");
    es_event(b, &n, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"\xE2\x82\xAC!\"}}");
    es_event(b, &n, "contentBlockStop", "{\"contentBlockIndex\":0}");
    es_event(b, &n, "messageStop", "{\"stopReason\":\"end_turn\"}");
    es_event(b, &n, "metadata", "{\"usage\":{\"inputTokens\":9,\"outputTokens\":4,\"totalTokens\":13},"
                                "\"metrics\":{\"latencyMs\":12}}");
    return n;
}

static size_t bedrock_tool_stream(unsigned char *b)
{
    size_t n = 0;
    es_event(b, &n, "messageStart", "{\"role\":\"assistant\"}");
    es_event(b, &n, "contentBlockStart",
             "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"output\"}}}");
    es_event(b, &n, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{\\\"label\\\": \\\"Bi\"}}}");
    es_event(b, &n, "contentBlockDelta",
             "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"lling\\\", \\\"n\\\": 2}\"}}}");
    es_event(b, &n, "contentBlockStop", "{\"contentBlockIndex\":0}");
    es_event(b, &n, "messageStop", "{\"stopReason\":\"tool_use\"}");
    es_event(b, &n, "metadata", "{\"usage\":{\"inputTokens\":20,\"outputTokens\":12,\"totalTokens\":32}}");
    return n;
}

static void test_bedrock_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    unsigned char b[2048];
    size_t n = bedrock_text_stream(b);
    equals_plain(DSP_PROVIDER_BEDROCK, (const char *)b, n, dsp_bedrock_parse_reply, bedrock_plain);
}

static void test_bedrock_forced_tool_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    unsigned char b[2048];
    size_t n = bedrock_tool_stream(b);
    equals_plain(DSP_PROVIDER_BEDROCK, (const char *)b, n, dsp_bedrock_parse_reply, bedrock_tool_plain);
}

/* An exception message ends the stream with its type and message; a
 * validationException would come back the same, so it is not retryable. */
static void test_a_bedrock_exception_ends_the_stream_with_its_message(void **state)
{
    (void)state;
    unsigned char b[1024];
    size_t n = 0;
    es_event(b, &n, "messageStart", "{\"role\":\"assistant\"}");
    es_event(b, &n, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}");
    size_t at = n;
    n += es_build(b + n, "exception", "throttlingException", "{\"message\":\"Too many tokens, please wait.\"}", NULL, 0);
    for (size_t step = 0; step <= 5; step += 5) {
        got g = {0};
        dsp_chat_response resp;
        dsp_error err = {0};
        assert_int_equal(read_stream(DSP_PROVIDER_BEDROCK, (const char *)b, n, step, &g, &resp, &err, NULL),
                         DSP_ERR_NETWORK);
        assert_non_null(strstr(err.message, "throttlingException: Too many tokens, please wait."));
        assert_string_equal(g.text, "Hi");
        assert_null(resp.choices);
        dsp_error_clear(&err);
    }
    n = at + es_build(b + at, "exception", "validationException", "{\"message\":\"Bad input.\"}", NULL, 0);
    got g = {0};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(read_stream(DSP_PROVIDER_BEDROCK, (const char *)b, n, 0, &g, &resp, &err, NULL), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "validationException: Bad input."));
    dsp_error_clear(&err);
    /* An error message (:message-type error) carries code and message in headers. */
    unsigned char extra[128];
    size_t e = es_str_header(extra, ":error-code", "InternalFailure");
    e += es_str_header(extra + e, ":error-message", "the model went away");
    n = at + es_build(b + at, "error", "", "", extra, e);
    assert_int_equal(read_stream(DSP_PROVIDER_BEDROCK, (const char *)b, n, 3, &g, &resp, &err, NULL), DSP_ERR_NETWORK);
    assert_non_null(strstr(err.message, "InternalFailure: the model went away"));
    dsp_error_clear(&err);
}

/* A message damaged on the way (its CRC fails) ends the stream: nothing
 * after it is read, no reply. */
static void test_a_damaged_bedrock_message_ends_the_stream(void **state)
{
    (void)state;
    unsigned char b[2048];
    size_t n = bedrock_text_stream(b);
    size_t first = (size_t)b[3] | (size_t)b[2] << 8;
    for (size_t at = first + 1; at < n; at += 9) {
        unsigned char bad[2048];
        memcpy(bad, b, n);
        bad[at] ^= 0x20;
        got g = {0};
        dsp_chat_response resp;
        dsp_error err = {0};
        dsp_status st = read_stream(DSP_PROVIDER_BEDROCK, (const char *)bad, n, 4, &g, &resp, &err, NULL);
        if (st != DSP_ERR_NETWORK)
            fail_msg("byte %zu: %d %s", at, st, err.message);
        assert_non_null(strstr(err.message, "event-stream message"));
        assert_non_null(strstr(err.message, "CRC"));
        assert_null(resp.choices);
        dsp_error_clear(&err);
    }
}

static void test_a_bedrock_callback_cancels(void **state)
{
    (void)state;
    unsigned char b[2048];
    size_t n = bedrock_text_stream(b);
    got g = {.cancel_at = 1};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(read_stream(DSP_PROVIDER_BEDROCK, (const char *)b, n, 1, &g, &resp, &err, NULL), DSP_ERR_CANCELLED);
    assert_int_equal(g.pieces, 1);
    assert_string_equal(g.text, "H\xC3\xA9 ");
    assert_null(resp.choices);
    dsp_error_clear(&err);
}

/* Each stream cut off before its end (at every point past its first
 * event): an error naming the missing end, and no reply. */
static void cut_off(dsp_provider p, const char *stream, size_t n, size_t end_len, const char *marker)
{
    for (size_t cut = 0; cut + end_len < n; cut += 7) {
        got g = {0};
        dsp_chat_response resp;
        dsp_error err = {0};
        assert_int_equal(read_stream(p, stream, cut, 1, &g, &resp, &err, NULL), DSP_ERR_NETWORK);
        assert_non_null(strstr(err.message, "was cut off"));
        assert_non_null(strstr(err.message, marker));
        assert_null(resp.choices);
        dsp_error_clear(&err);
    }
}

static void test_a_stream_cut_off_half_way_is_an_error(void **state)
{
    (void)state;
    cut_off(DSP_PROVIDER_OPENAI, openai_stream, sizeof openai_stream - 1, strlen("data: [DONE]\n\n"), "[DONE]");
    cut_off(DSP_PROVIDER_ANTHROPIC, anthropic_stream, sizeof anthropic_stream - 1,
            strlen("event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"), "message_stop");
    /* Gemini's end is its last chunk, the one with finishReason. */
    const char *last = strstr(gemini_stream, "\r\n\r\n") + 4;
    cut_off(DSP_PROVIDER_GEMINI, gemini_stream, sizeof gemini_stream - 1, strlen(last), "finishReason");
    /* Bedrock's end is its metadata event (the usage), after messageStop:
     * cut anywhere before its last byte, inside a message or between two. */
    unsigned char b[2048];
    size_t n = bedrock_text_stream(b);
    for (size_t cut = 0; cut < n; cut++) {
        got g = {0};
        dsp_chat_response resp;
        dsp_error err = {0};
        assert_int_equal(read_stream(DSP_PROVIDER_BEDROCK, (const char *)b, cut, 1, &g, &resp, &err, NULL),
                         DSP_ERR_NETWORK);
        assert_non_null(strstr(err.message, "was cut off"));
        assert_non_null(strstr(err.message, "metadata event after messageStop"));
        assert_null(resp.choices);
        dsp_error_clear(&err);
    }
}

static void test_a_callback_cancels(void **state)
{
    (void)state;
    got g = {.cancel_at = 1};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(read_stream(DSP_PROVIDER_OPENAI, openai_stream, sizeof openai_stream - 1, 5, &g, &resp, &err, NULL),
                     DSP_ERR_CANCELLED);
    assert_int_equal(g.pieces, 1);
    assert_string_equal(g.text, "H\xC3\xA9 ");
    assert_non_null(strstr(err.message, "cancelled"));
    assert_null(resp.choices);
    dsp_error_clear(&err);
}

static void test_an_error_event_ends_the_stream_with_the_providers_message(void **state)
{
    (void)state;
    static const char s[] =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n"
        "event: error\n"
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    got g = {0};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(read_stream(DSP_PROVIDER_ANTHROPIC, s, sizeof s - 1, 0, &g, &resp, &err, NULL), DSP_ERR_NETWORK);
    assert_non_null(strstr(err.message, "overloaded_error"));
    assert_non_null(strstr(err.message, "Overloaded"));
    dsp_error_clear(&err);
}

static void test_a_chunk_that_is_not_json_is_a_protocol_error(void **state)
{
    (void)state;
    static const char s[] = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[\n\n";
    got g = {0};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(read_stream(DSP_PROVIDER_OPENAI, s, sizeof s - 1, 0, &g, &resp, &err, NULL), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "not JSON"));
    dsp_error_clear(&err);
    /* A \u0000 or bytes that are not UTF-8 are refused as in plain replies. */
    static const char nul[] = "data: {\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}\n\n";
    assert_int_equal(read_stream(DSP_PROVIDER_OPENAI, nul, sizeof nul - 1, 0, &g, &resp, &err, NULL), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "NUL"));
    dsp_error_clear(&err);
    static const char bad[] = "data: {\"choices\":[{\"delta\":{\"content\":\"a\xC3\"}}]}\n\n";
    assert_int_equal(read_stream(DSP_PROVIDER_OPENAI, bad, sizeof bad - 1, 0, &g, &resp, &err, NULL), DSP_ERR_PROTOCOL);
    dsp_error_clear(&err);
}

/* A key echoed across two pieces: the piece that completes 8 characters of
 * it is never handed on. */
static void test_an_echoed_key_stops_the_stream_before_it_is_handed_on(void **state)
{
    (void)state;
    static const char s[] = "data: {\"choices\":[{\"delta\":{\"content\":\"key is sk-ab\"}}]}\n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\"cdefgh and more\"}}]}\n\n"
                            "data: [DONE]\n\n";
    got g = {0};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(read_stream(DSP_PROVIDER_OPENAI, s, sizeof s - 1, 3, &g, &resp, &err, "sk-abcdefgh123456"),
                     DSP_ERR_PROTOCOL);
    assert_string_equal(g.text, "key is sk-ab");
    assert_non_null(strstr(err.message, "API key"));
    assert_null(strstr(err.message, "sk-abcdefgh"));
    dsp_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_stream_equals_the_plain_reply),
        cmocka_unit_test(test_anthropic_stream_equals_the_plain_reply),
        cmocka_unit_test(test_anthropic_forced_tool_stream_equals_the_plain_reply),
        cmocka_unit_test(test_gemini_stream_equals_the_plain_reply),
        cmocka_unit_test(test_bedrock_stream_equals_the_plain_reply),
        cmocka_unit_test(test_bedrock_forced_tool_stream_equals_the_plain_reply),
        cmocka_unit_test(test_a_bedrock_exception_ends_the_stream_with_its_message),
        cmocka_unit_test(test_a_damaged_bedrock_message_ends_the_stream),
        cmocka_unit_test(test_a_bedrock_callback_cancels),
        cmocka_unit_test(test_a_stream_cut_off_half_way_is_an_error),
        cmocka_unit_test(test_a_callback_cancels),
        cmocka_unit_test(test_an_error_event_ends_the_stream_with_the_providers_message),
        cmocka_unit_test(test_a_chunk_that_is_not_json_is_a_protocol_error),
        cmocka_unit_test(test_an_echoed_key_stops_the_stream_before_it_is_handed_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
