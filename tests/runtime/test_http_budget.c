/* The transport's one bound on the memory of replies in flight: a reply
 * that would pass the budget while others are held fails (and is worth
 * another try), one that fits after they are freed goes through, and the
 * budget comes back whole; a streamed reply's bytes count too. Against an in-process stub (tests/support/
 * stub_http.c) that answers every POST with a 40 KiB body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../runtime/src/http.h"
#include "../support/stub_http.h"

#define BODY_BYTES (40 * 1024)

static char g_body[BODY_BYTES];

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    enum MHD_Result more;
    if (!stub_http_body(con_cls, data, data_size, &more))
        return more;
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof g_body, g_body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* The stub, and the URL it answers at. */
static struct MHD_Daemon *start_stub(char *url, size_t n)
{
    memset(g_body, 'x', sizeof g_body);
    unsigned port = 0;
    struct MHD_Daemon *d = stub_http_start(handle, NULL, &port);
    assert_non_null(d);
    snprintf(url, n, "http://127.0.0.1:%u/v1/chat/completions", port);
    return d;
}

static void test_replies_in_flight_share_one_budget(void **state)
{
    (void)state;
    char url[64];
    struct MHD_Daemon *d = start_stub(url, sizeof url);
    /* Room for one 40 KiB body (held in a 64 KiB buffer), not two. */
    dsp_http *h = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_http_new(5, 5, 4, 100 * 1024, &h, &err), DSP_OK);
    dsp_http_reply a, b;
    assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, NULL, &a, &err), DSP_OK);
    assert_int_equal(a.len, BODY_BYTES);
    /* a is still held: b does not fit, and may be tried again later. */
    assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, NULL, &b, &err), DSP_ERR_NETWORK);
    assert_false(b.permanent);
    assert_non_null(strstr(err.message, "replies in flight would hold more than 100 KiB"));
    dsp_http_reply_free(&b);
    dsp_http_reply_free(&a);
    /* Freed: the whole budget is back, again and again. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, NULL, &b, &err), DSP_OK);
        assert_int_equal(b.len, BODY_BYTES);
        dsp_http_reply_free(&b);
    }
    dsp_error_clear(&err);
    dsp_http_free(h);
    MHD_stop_daemon(d);
}

static bool count_piece(void *ctx, const char *data, size_t n)
{
    (void)data;
    *(size_t *)ctx += n;
    return true;
}

/* A streamed reply's bytes count against the same budget while it
 * streams (its reader keeps their text): beside a held reply, a 40 KiB
 * stream does not fit in 100 KiB, and alone it does, its share given back
 * with the reply. */
static void test_streams_count_against_the_budget(void **state)
{
    (void)state;
    char url[64];
    struct MHD_Daemon *d = start_stub(url, sizeof url);
    dsp_http *h = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_http_new(5, 5, 4, 100 * 1024, &h, &err), DSP_OK);
    size_t seen = 0;
    dsp_http_limits lim = {.connect_ms = 5000, .total_ms = 5000, .on_body = count_piece, .body_ctx = &seen};
    dsp_http_reply a, s;
    assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, NULL, &a, &err), DSP_OK);
    assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, &lim, &s, &err), DSP_ERR_NETWORK);
    assert_non_null(strstr(err.message, "replies in flight would hold more than 100 KiB"));
    dsp_http_reply_free(&s);
    dsp_http_reply_free(&a);
    for (int i = 0; i < 3; i++) {
        seen = 0;
        assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, &lim, &s, &err), DSP_OK);
        assert_int_equal(seen, BODY_BYTES);
        dsp_http_reply_free(&s);
    }
    /* Given back whole: a plain reply fits again. */
    assert_int_equal(dsp_http_post(h, url, NULL, 0, "{}", 2, NULL, &a, &err), DSP_OK);
    dsp_http_reply_free(&a);
    dsp_error_clear(&err);
    dsp_http_free(h);
    MHD_stop_daemon(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies_in_flight_share_one_budget),
        cmocka_unit_test(test_streams_count_against_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
