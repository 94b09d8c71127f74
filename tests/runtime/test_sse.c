/* test_sse.c — the server-sent events parser: events as the WHATWG
 * standard defines them, whatever the chunk boundaries (one byte at a
 * time, inside "data:", inside CR LF, inside a UTF-8 sequence). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../runtime/src/sse.h"

typedef struct seen {
    char log[4096]; /* "event|data\n" per event */
    size_t len;
    int n;
    int stop_after; /* > 0: stop the stream after this many events */
} seen;

static int record(void *ctx, const char *event, const char *data, size_t len)
{
    seen *s = ctx;
    s->len += (size_t)snprintf(s->log + s->len, sizeof s->log - s->len, "%s|%.*s\n", event, (int)len, data);
    assert_int_equal(data[len], '\0');
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

/* Feeds text in pieces of `step` bytes (0: all at once). */
static void feed(const char *text, size_t n, size_t step, seen *out)
{
    dsp_sse p;
    memset(out, 0, sizeof *out);
    dsp_sse_init(&p, record, out);
    if (step == 0)
        step = n ? n : 1;
    for (size_t i = 0; i < n; i += step)
        assert_int_equal(dsp_sse_feed(&p, text + i, i + step <= n ? step : n - i), 0);
    dsp_sse_free(&p);
}

static const char spec_stream[] =
    "\xEF\xBB\xBF: a comment, ignored\n"
    "data: first\n"
    "\n"
    "event: add\r\n"
    "data:second\r\n"
    "data:  two spaces keep one\r\n"
    "id: 7\r\n"
    "retry: 100\r\n"
    "\r\n"
    "event: empty-is-not-sent\r"
    "\r"
    "data\n"
    "\n"
    "data: caf\xC3\xA9 \xE2\x82\xAC\n"
    "unknown: field\n"
    "\n"
    "data: dropped: the stream ends before its blank line\n";

static const char spec_events[] =
    "message|first\n"
    "add|second\n two spaces keep one\n"
    "message|\n"
    "message|caf\xC3\xA9 \xE2\x82\xAC\n";

static void test_events_as_the_standard_says(void **state)
{
    (void)state;
    seen s;
    feed(spec_stream, sizeof spec_stream - 1, 0, &s);
    assert_string_equal(s.log, spec_events);
}

static void test_any_chunk_size_gives_the_same_events(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 17; step++) {
        seen s;
        feed(spec_stream, sizeof spec_stream - 1, step, &s);
        assert_string_equal(s.log, spec_events);
    }
}

/* Every split point in two: inside "data:", between CR and LF, inside the
 * BOM and inside each UTF-8 sequence. */
static void test_every_split_in_two(void **state)
{
    (void)state;
    size_t n = sizeof spec_stream - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        seen s;
        memset(&s, 0, sizeof s);
        dsp_sse p;
        dsp_sse_init(&p, record, &s);
        assert_int_equal(dsp_sse_feed(&p, spec_stream, cut), 0);
        assert_int_equal(dsp_sse_feed(&p, spec_stream + cut, n - cut), 0);
        dsp_sse_free(&p);
        assert_string_equal(s.log, spec_events);
    }
}

static void test_a_callback_stops_the_stream(void **state)
{
    (void)state;
    seen s;
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    dsp_sse p;
    dsp_sse_init(&p, record, &s);
    assert_int_equal(dsp_sse_feed(&p, "data: a\n\ndata: b\n\n", 18), 7);
    assert_int_equal(dsp_sse_feed(&p, "data: c\n\n", 9), 7); /* and stays stopped */
    dsp_sse_free(&p);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.log, "message|a\n");
}

static void test_a_lone_cr_before_lf_in_the_next_chunk_is_one_line_end(void **state)
{
    (void)state;
    seen s;
    memset(&s, 0, sizeof s);
    dsp_sse p;
    dsp_sse_init(&p, record, &s);
    assert_int_equal(dsp_sse_feed(&p, "data: x\r", 8), 0);
    assert_int_equal(dsp_sse_feed(&p, "\ndata: y\r", 9), 0);
    assert_int_equal(dsp_sse_feed(&p, "\n\r\n", 3), 0);
    dsp_sse_free(&p);
    assert_string_equal(s.log, "message|x\ny\n");
}

static void test_a_long_event_grows_its_buffer(void **state)
{
    (void)state;
    static char big[100000];
    memcpy(big, "data: ", 6);
    memset(big + 6, 'z', sizeof big - 9);
    memcpy(big + sizeof big - 3, "\n\n", 2);
    big[sizeof big - 1] = '\0';
    seen s;
    memset(&s, 0, sizeof s);
    dsp_sse q;
    dsp_sse_init(&q, record, &s);
    for (size_t i = 0; i < sizeof big - 1; i += 1000)
        assert_int_equal(dsp_sse_feed(&q, big + i, i + 1000 <= sizeof big - 1 ? 1000 : sizeof big - 1 - i), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len, 8 + sizeof big - 9 + 1); /* "message|" + the z's + "\n" */
    dsp_sse_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_as_the_standard_says),
        cmocka_unit_test(test_any_chunk_size_gives_the_same_events),
        cmocka_unit_test(test_every_split_in_two),
        cmocka_unit_test(test_a_callback_stops_the_stream),
        cmocka_unit_test(test_a_lone_cr_before_lf_in_the_next_chunk_is_one_line_end),
        cmocka_unit_test(test_a_long_event_grows_its_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
