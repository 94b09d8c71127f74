/* test_sigv4.c — Bedrock's requests are signed by libcurl
 * (CURLOPT_AWS_SIGV4 with "ACCESS_KEY_ID:SECRET", as client.c sets them
 * through the transport). libcurl takes the signing time from an
 * X-Amz-Date header when the request carries one, so a fixed clock checks
 * the signature against AWS's documented Signature Version 4 test suite
 * (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html):
 * its post-vanilla and post-header-key-case requests, example credentials
 * AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z.
 * Against an in-process stub (tests/support/stub_http.c) that records the
 * Authorization header it gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../runtime/src/http.h"
#include "../support/stub_http.h"

static char g_auth[512];

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
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    snprintf(g_auth, sizeof g_auth, "%s", a ? a : "(none)");
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* POSTs an empty body to the stub as example.amazonaws.com, signed at the
 * suite's time; returns the Authorization the stub received. */
static const char *signed_post(const char *const *extra, size_t n_extra)
{
    unsigned port = 0;
    struct MHD_Daemon *d = stub_http_start(handle, NULL, &port);
    assert_non_null(d);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
    const char *headers[4] = {"Host: example.amazonaws.com", "X-Amz-Date: 20150830T123600Z"};
    for (size_t i = 0; i < n_extra; i++)
        headers[2 + i] = extra[i];
    dsp_http *h = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_http_new(5, 5, 4, 0, &h, &err), DSP_OK);
    dsp_http_limits lim = {.connect_ms = 5000, .total_ms = 5000, .aws_sigv4 = "aws:amz:us-east-1:service",
                           .aws_userpwd = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    dsp_http_reply r;
    g_auth[0] = '\0';
    if (dsp_http_post(h, url, headers, 2 + n_extra, "", 0, &lim, &r, &err) != DSP_OK)
        fail_msg("%s", err.message);
    assert_int_equal(r.status, 200);
    dsp_http_reply_free(&r);
    dsp_http_free(h);
    MHD_stop_daemon(d);
    return g_auth;
}

static void test_post_vanilla(void **state)
{
    (void)state;
    assert_string_equal(signed_post(NULL, 0),
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                        "SignedHeaders=host;x-amz-date, "
                        "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

/* The suite's post-header-key-sort: a header of the request is signed,
 * its name lower-cased and sorted into SignedHeaders. */
static void test_post_header_key_sort(void **state)
{
    (void)state;
    static const char *const extra[] = {"My-Header1: value1"};
    assert_string_equal(signed_post(extra, 1),
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                        "SignedHeaders=host;my-header1;x-amz-date, "
                        "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_vanilla),
        cmocka_unit_test(test_post_header_key_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
