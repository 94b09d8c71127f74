/* test_eventstream.c — the AWS event-stream reader: the SDKs' published
 * test vectors, messages built here and cut at every byte (inside the
 * prelude, a header, the payload, the CRC), a corrupted prelude or
 * message CRC, lengths that do not fit, header types, a stop from the
 * callback, and a stream that ends inside a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../runtime/src/eventstream.h"
#include "../support/es_build.h"

typedef struct seen {
    char log[8192]; /* "message-type|event-type|exception-type|content-type|payload\n" per message */
    size_t len;
    int n;
    int stop_after; /* > 0: stop the stream after this many messages */
} seen;

static int record(void *ctx, const dsp_es_message *m)
{
    seen *s = ctx;
    assert_int_equal(m->payload[m->len], '\0');
    s->len += (size_t)snprintf(s->log + s->len, sizeof s->log - s->len, "%s|%s|%s|%s|%.*s\n", m->message_type,
                               m->event_type, m->exception_type, m->content_type, (int)m->len, m->payload);
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

/* The vectors of the AWS SDKs' event-stream test suite. */
static const unsigned char empty_message[] = {0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 125, 152, 200, 255};
static const unsigned char payload_no_headers[] = {0,   0,   0,   29,  0,   0,   0,  0,   253, 82,
                                                   140, 90,  123, 39,  102, 111, 111, 39, 58,  39,
                                                   98,  97,  114, 39,  125, 195, 101, 57, 54};
static const unsigned char int32_header[] = {0,   0,   0,   45,  0,   0,   0,   16,  65,  196, 36,  184,
                                             10,  101, 118, 101, 110, 116, 45,  116, 121, 112, 101, 4,
                                             0,   0,   160, 12,  123, 39,  102, 111, 111, 39,  58,  39,
                                             98,  97,  114, 39,  125, 54,  244, 128, 160};
static const unsigned char one_str_header[] = {
    0,   0,   0,   61,  0,   0,   0,   32,  7,   253, 131, 150, 12,  99,  111, 110, 116, 101, 110, 116,
    45,  116, 121, 112, 101, 7,   0,   16,  97,  112, 112, 108, 105, 99,  97,  116, 105, 111, 110, 47,
    106, 115, 111, 110, 123, 39,  102, 111, 111, 39,  58,  39,  98,  97,  114, 39,  125, 141, 156, 8,
    177};

/* Feeds bytes in pieces of `step` (0: all at once); returns the last
 * feed's result. */
static int feed(const unsigned char *bytes, size_t n, size_t step, seen *out, size_t *pending, char *why,
                size_t why_size)
{
    dsp_es p;
    int stop = out->stop_after;
    memset(out, 0, sizeof *out);
    dsp_es_init(&p, record, out);
    out->stop_after = stop;
    if (step == 0)
        step = n ? n : 1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += step)
        rc = dsp_es_feed(&p, (const char *)bytes + i, i + step <= n ? step : n - i);
    if (pending)
        *pending = dsp_es_pending(&p);
    if (why)
        snprintf(why, why_size, "%s", p.why);
    dsp_es_free(&p);
    return rc;
}

static void test_published_vectors(void **state)
{
    (void)state;
    seen s = {.n = 0};
    size_t pending;
    assert_int_equal(feed(empty_message, sizeof empty_message, 0, &s, &pending, NULL, 0), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.log, "||||\n");
    assert_int_equal(pending, 0);
    assert_int_equal(feed(payload_no_headers, sizeof payload_no_headers, 0, &s, NULL, NULL, 0), 0);
    assert_string_equal(s.log, "||||{'foo':'bar'}\n");
    /* A non-string header is skipped by its size. */
    assert_int_equal(feed(int32_header, sizeof int32_header, 0, &s, NULL, NULL, 0), 0);
    assert_string_equal(s.log, "||||{'foo':'bar'}\n");
    /* "content-type", without the colon, is not :content-type. */
    assert_int_equal(feed(one_str_header, sizeof one_str_header, 0, &s, NULL, NULL, 0), 0);
    assert_string_equal(s.log, "||||{'foo':'bar'}\n");
}

/* A ConverseStream reply: every split point, every piece size. */
static void test_every_split(void **state)
{
    (void)state;
    unsigned char buf[2048];
    size_t n = 0;
    n += es_build(buf + n, "event", "messageStart", "{\"p\":\"abcd\",\"role\":\"assistant\"}", NULL, 0);
    n += es_build(buf + n, "event", "contentBlockDelta",
               "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"caf\xC3\xA9 \"}}", NULL, 0);
    n += es_build(buf + n, "event", "contentBlockStop", "{\"contentBlockIndex\":0}", NULL, 0);
    n += es_build(buf + n, "event", "messageStop", "{\"stopReason\":\"end_turn\"}", NULL, 0);
    n += es_build(buf + n, "event", "metadata", "{\"usage\":{\"inputTokens\":3,\"outputTokens\":2}}", NULL, 0);
    seen whole = {.stop_after = 0};
    assert_int_equal(feed(buf, n, 0, &whole, NULL, NULL, 0), 0);
    assert_int_equal(whole.n, 5);
    assert_non_null(strstr(whole.log, "event|messageStart||application/json|{\"p\":\"abcd\",\"role\":\"assistant\"}\n"));
    assert_non_null(strstr(whole.log, "event|metadata||application/json|{\"usage\""));
    for (size_t step = 1; step <= 40; step++) {
        seen s = {.n = 0};
        size_t pending;
        assert_int_equal(feed(buf, n, step, &s, &pending, NULL, 0), 0);
        assert_string_equal(s.log, whole.log);
        assert_int_equal(pending, 0);
    }
    /* Two pieces, cut at every byte. */
    for (size_t cut = 1; cut < n; cut++) {
        seen s = {.n = 0};
        memset(&s, 0, sizeof s);
        dsp_es p;
        dsp_es_init(&p, record, &s);
        assert_int_equal(dsp_es_feed(&p, (const char *)buf, cut), 0);
        assert_int_equal(dsp_es_feed(&p, (const char *)buf + cut, n - cut), 0);
        assert_int_equal(dsp_es_pending(&p), 0);
        dsp_es_free(&p);
        assert_string_equal(s.log, whole.log);
    }
}

/* Headers of every type are skipped by their sizes; long values are cut
 * to their field. */
static void test_header_types(void **state)
{
    (void)state;
    unsigned char extra[128];
    size_t e = 0;
    static const unsigned char sizes[] = {0, 0, 1, 2, 4, 8, 0, 0, 8, 16};
    for (unsigned t = 0; t <= 9; t++) {
        if (t == 6 || t == 7)
            continue;
        extra[e++] = 1;
        extra[e++] = (unsigned char)('a' + t);
        extra[e++] = (unsigned char)t;
        memset(extra + e, 0xAB, sizes[t]);
        e += sizes[t];
    }
    extra[e++] = 2;
    memcpy(extra + e, "ba", 2);
    e += 2;
    extra[e++] = 6;
    extra[e++] = 0;
    extra[e++] = 3;
    memcpy(extra + e, "\0\1\2", 3);
    e += 3;
    unsigned char buf[1024];
    size_t n = es_build(buf, "event", "contentBlockStop", "{}", extra, e);
    seen s = {.n = 0};
    assert_int_equal(feed(buf, n, 1, &s, NULL, NULL, 0), 0);
    assert_string_equal(s.log, "event|contentBlockStop||application/json|{}\n");
    /* An exception names its type; an error carries code and message. */
    n = es_build(buf, "exception", "throttlingException", "{\"message\":\"Too many tokens\"}", NULL, 0);
    assert_int_equal(feed(buf, n, 3, &s, NULL, NULL, 0), 0);
    assert_string_equal(s.log, "exception||throttlingException|application/json|{\"message\":\"Too many tokens\"}\n");
    char long_type[200];
    memset(long_type, 'x', sizeof long_type - 1);
    long_type[sizeof long_type - 1] = '\0';
    n = es_build(buf, "event", long_type, "{}", NULL, 0);
    assert_int_equal(feed(buf, n, 0, &s, NULL, NULL, 0), 0);
    assert_int_equal(strchr(s.log + 6, '|') - (s.log + 6), 63);
}

static void test_bad_crc(void **state)
{
    (void)state;
    unsigned char buf[512];
    size_t n = es_build(buf, "event", "contentBlockDelta", "{\"delta\":{\"text\":\"hi\"}}", NULL, 0);
    char why[200];
    seen s = {.n = 0};
    /* A flipped bit in the payload: the message CRC. */
    unsigned char bad[512];
    memcpy(bad, buf, n);
    bad[n - 8] ^= 0x01;
    for (size_t step = 0; step <= 7; step += 7) {
        assert_int_equal(feed(bad, n, step, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
        assert_int_equal(s.n, 0);
        assert_non_null(strstr(why, "event-stream message 1: its CRC is"));
    }
    /* In the total length: the prelude CRC. */
    memcpy(bad, buf, n);
    bad[3] ^= 0x10;
    assert_int_equal(feed(bad, n, 1, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    assert_non_null(strstr(why, "its prelude's CRC"));
    /* In the prelude CRC itself. */
    memcpy(bad, buf, n);
    bad[9] ^= 0x80;
    assert_int_equal(feed(bad, n, 0, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    /* The second of two messages: the first is handed on, then the stop. */
    unsigned char two[1024];
    memcpy(two, buf, n);
    memcpy(two + n, buf, n);
    two[2 * n - 1] ^= 0xFF;
    assert_int_equal(feed(two, 2 * n, 5, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(why, "event-stream message 2"));
}

/* Lengths that do not fit, with good CRCs: refused, never read past. */
static void test_bad_lengths(void **state)
{
    (void)state;
    unsigned char buf[64];
    char why[200];
    seen s = {.n = 0};
    /* total 8 < 16 */
    memset(buf, 0, sizeof buf);
    es_put32(buf, 8);
    es_put32(buf + 8, (uint32_t)crc32(0, buf, 8));
    assert_int_equal(feed(buf, 16, 0, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    assert_non_null(strstr(why, "total length 8"));
    /* total past the 16 MiB cap */
    es_put32(buf, DSP_ES_MAX_MESSAGE + 1);
    es_put32(buf + 8, (uint32_t)crc32(0, buf, 8));
    assert_int_equal(feed(buf, 12, 0, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    /* headers longer than the message */
    es_put32(buf, 20);
    es_put32(buf + 4, 5);
    es_put32(buf + 8, (uint32_t)crc32(0, buf, 8));
    assert_int_equal(feed(buf, 20, 0, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    assert_non_null(strstr(why, "headers' length 5"));
    /* a header whose string runs past the headers (good CRCs) */
    unsigned char h[] = {2, ':', 'a', 7, 0, 50};
    es_put32(buf, 16 + sizeof h);
    es_put32(buf + 4, sizeof h);
    es_put32(buf + 8, (uint32_t)crc32(0, buf, 8));
    memcpy(buf + 12, h, sizeof h);
    es_put32(buf + 12 + sizeof h, (uint32_t)crc32(0, buf, 12 + sizeof h));
    assert_int_equal(feed(buf, 16 + sizeof h, 1, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    assert_non_null(strstr(why, "runs past the headers"));
    /* an undefined value type */
    h[3] = 12;
    es_put32(buf + 12 + sizeof h, (uint32_t)crc32(0, buf, 12 + sizeof h));
    memcpy(buf + 12, h, sizeof h);
    es_put32(buf + 12 + sizeof h, (uint32_t)crc32(0, buf, 12 + sizeof h));
    assert_int_equal(feed(buf, 16 + sizeof h, 0, &s, NULL, why, sizeof why), DSP_ES_MALFORMED);
    assert_non_null(strstr(why, "value type 12"));
}

/* A stream that ends inside a message leaves its bytes pending, at every
 * cut; the callback's verdict stops the stream and sticks. */
static void test_truncated_and_stop(void **state)
{
    (void)state;
    unsigned char buf[1024];
    size_t one = es_build(buf, "event", "messageStart", "{\"role\":\"assistant\"}", NULL, 0);
    size_t n = one + es_build(buf + one, "event", "messageStop", "{\"stopReason\":\"end_turn\"}", NULL, 0);
    for (size_t cut = 1; cut < n; cut++) {
        seen s = {.n = 0};
        size_t pending;
        assert_int_equal(feed(buf, cut, 0, &s, &pending, NULL, 0), 0);
        assert_int_equal(s.n, cut >= one ? 1 : 0);
        assert_int_equal(pending, cut >= one ? cut - one : cut);
    }
    seen s = {.n = 0};
    s.stop_after = 1;
    assert_int_equal(feed(buf, n, 0, &s, NULL, NULL, 0), 7);
    assert_int_equal(s.n, 1);
    dsp_es p;
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    dsp_es_init(&p, record, &s);
    assert_int_equal(dsp_es_feed(&p, (const char *)buf, n), 7);
    assert_int_equal(dsp_es_feed(&p, (const char *)buf, n), 7);
    assert_int_equal(s.n, 1);
    dsp_es_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors), cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_header_types),      cmocka_unit_test(test_bad_crc),
        cmocka_unit_test(test_bad_lengths),       cmocka_unit_test(test_truncated_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
