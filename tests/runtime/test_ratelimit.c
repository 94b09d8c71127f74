/* test_ratelimit.c — the client's pacing per endpoint (ratelimit.h) on a
 * clock of the test's own: rpm spacing, the tpm bucket, the window halved
 * by a 429 once per round and raised by one per window of good replies,
 * Retry-After holding every request; and the base URL list and failover
 * state of endpoints.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "../../runtime/src/endpoints.h"
#include "../../runtime/src/ratelimit.h"

static dsp_rate rate(int rpm, int tpm, int max_window)
{
    dsp_rate r;
    memset(&r, 0, sizeof r);
    r.rpm = rpm;
    r.tpm = tpm;
    r.max_window = max_window;
    r.window = max_window;
    r.tokens = tpm / 60.0; /* a full bucket: one second's worth */
    return r;
}

static void rpm_spaces_requests_evenly(void **state)
{
    (void)state;
    dsp_rate r = rate(120, 0, 16); /* one every 0.5 s */
    uint64_t t;
    double at = 0;
    assert_true(dsp_rate_try(&r, 10, 100.0, &t, &at));
    assert_false(dsp_rate_try(&r, 10, 100.1, &t, &at));
    assert_true(fabs(at - 100.5) < 1e-9);
    assert_true(dsp_rate_try(&r, 10, 100.5, &t, &at));
    assert_false(dsp_rate_try(&r, 10, 100.9, &t, &at));
    assert_true(fabs(at - 101.0) < 1e-9);
    /* After a quiet spell there is no burst: the next waits its turn. */
    assert_true(dsp_rate_try(&r, 10, 200.0, &t, &at));
    assert_false(dsp_rate_try(&r, 10, 200.0, &t, &at));
    assert_true(fabs(at - 200.5) < 1e-9);
}

static void tpm_bucket_holds_one_seconds_worth(void **state)
{
    (void)state;
    dsp_rate r = rate(0, 6000, 16); /* 100 tokens a second, bucket 100 */
    r.tokens_at = 0;
    uint64_t t;
    double at = 0;
    assert_true(dsp_rate_try(&r, 60, 0.0, &t, &at));
    assert_false(dsp_rate_try(&r, 60, 0.0, &t, &at)); /* 40 left, 60 wanted */
    assert_true(fabs(at - 0.2) < 1e-9);
    assert_true(dsp_rate_try(&r, 60, 0.2, &t, &at));
    /* A request larger than the bucket waits for a full one and leaves it
     * in debt, which later requests wait out. */
    assert_false(dsp_rate_try(&r, 500, 0.2, &t, &at));
    assert_true(fabs(at - 1.2) < 1e-9);
    assert_true(dsp_rate_try(&r, 500, 1.2, &t, &at));
    assert_false(dsp_rate_try(&r, 10, 1.2, &t, &at));
    assert_true(fabs(at - (1.2 + 4.1)) < 1e-9); /* from -400 to 10 at 100/s */
    /* The tokens the endpoint reports replace the estimate. */
    dsp_rate_done(&r, t, 200, -1, 500, 100, 1.2);
    assert_true(fabs(r.tokens - 0.0) < 1e-9);
}

static void a_429_halves_the_window_once_per_round(void **state)
{
    (void)state;
    dsp_rate r = rate(0, 0, 16);
    uint64_t t[40];
    double at = 0;
    for (int i = 0; i < 16; i++)
        assert_true(dsp_rate_try(&r, 1, 0, &t[i], &at));
    /* All 16 refused at once: one cut, not 16. */
    for (int i = 0; i < 16; i++)
        dsp_rate_done(&r, t[i], 429, -1, 1, 0, 0);
    assert_true(r.window == 8);
    assert_int_equal(r.cuts, 1);
    for (int i = 0; i < 8; i++)
        assert_true(dsp_rate_try(&r, 1, 0, &t[i], &at));
    /* The window is full: the 9th waits for one to end. */
    assert_false(dsp_rate_try(&r, 1, 0, &t[8], &at));
    assert_true(isinf(at));
    dsp_rate_done(&r, t[0], 429, -1, 1, 0, 0); /* sent after the cut: cuts again */
    assert_true(r.window == 4);
    for (int i = 1; i < 8; i++)
        dsp_rate_done(&r, t[i], 429, -1, 1, 0, 0); /* same round: no more cuts */
    assert_true(r.window == 4);
    assert_int_equal(r.cuts, 2);
}

static void good_replies_raise_the_window_by_one_per_window(void **state)
{
    (void)state;
    dsp_rate r = rate(0, 0, 8);
    r.window = 4;
    uint64_t t;
    double at = 0;
    for (int i = 0; i < 4; i++) {
        assert_true(dsp_rate_try(&r, 1, 0, &t, &at));
        dsp_rate_done(&r, t, 200, -1, 1, 0, 0);
    }
    assert_int_equal((int)r.window, 5);
    assert_int_equal(r.raises, 1);
    for (int i = 0; i < 200; i++) {
        assert_true(dsp_rate_try(&r, 1, 0, &t, &at));
        dsp_rate_done(&r, t, 200, -1, 1, 0, 0);
    }
    assert_true(r.window == 8); /* never past max_in_flight */
}

static void retry_after_holds_every_request(void **state)
{
    (void)state;
    dsp_rate r = rate(0, 0, 16);
    uint64_t t, u;
    double at = 0;
    assert_true(dsp_rate_try(&r, 1, 10.0, &t, &at));
    assert_true(dsp_rate_try(&r, 1, 10.0, &u, &at));
    dsp_rate_done(&r, t, 429, 2.0, 1, 0, 10.5);
    assert_false(dsp_rate_try(&r, 1, 11.0, &t, &at));
    assert_true(fabs(at - 12.5) < 1e-9);
    assert_true(dsp_rate_try(&r, 1, 12.5, &t, &at));
    dsp_rate_done(&r, u, 200, -1, 1, 0, 12.5);
}

static void base_url_lists_split_at_spaces(void **state)
{
    (void)state;
    char buf[256];
    const char *u[DSP_MAX_BASE_URLS];
    assert_int_equal(dsp_base_urls_split("http://a/v1", buf, sizeof buf, u), 1);
    assert_string_equal(u[0], "http://a/v1");
    assert_int_equal(dsp_base_urls_split("  http://a/v1   https://b:8000/v1 ", buf, sizeof buf, u), 2);
    assert_string_equal(u[0], "http://a/v1");
    assert_string_equal(u[1], "https://b:8000/v1");
    assert_int_equal(dsp_base_urls_split("   ", buf, sizeof buf, u), 0);
    assert_int_equal(dsp_base_urls_split("http://a/v1", buf, 5, u), 0); /* does not fit */
}

static void endpoints_take_turns_and_skip_one_that_is_down(void **state)
{
    (void)state;
    dsp_endpoints e;
    dsp_endpoints_init(&e);
    const char *urls[] = {"http://a/v1/chat/completions", "http://b/v1/chat/completions"};
    int seen[2] = {0, 0};
    for (int i = 0; i < 10; i++)
        seen[dsp_endpoints_pick(&e, urls, 2, 0)]++;
    assert_int_equal(seen[0], 5);
    assert_int_equal(seen[1], 5);
    /* a is down: every pick is b, until a's time is up. */
    dsp_endpoints_report(&e, urls[0], true, 100.0);
    assert_false(dsp_endpoints_other_up(&e, urls, 2, 1, 100.5));
    assert_true(dsp_endpoints_other_up(&e, urls, 2, 0, 100.5));
    for (int i = 0; i < 6; i++)
        assert_int_equal(dsp_endpoints_pick(&e, urls, 2, 100.5), 1);
    seen[0] = seen[1] = 0;
    for (int i = 0; i < 10; i++)
        seen[dsp_endpoints_pick(&e, urls, 2, 100.0 + DSP_ENDPOINT_DOWN_S)]++;
    assert_int_equal(seen[0], 5);
    /* A second failure in a row keeps it down twice as long. */
    dsp_endpoints_report(&e, urls[0], true, 200.0);
    assert_int_equal(dsp_endpoints_pick(&e, urls, 2, 200.0 + 1.5 * DSP_ENDPOINT_DOWN_S), 1);
    assert_int_equal(dsp_endpoints_pick(&e, urls, 2, 200.0 + 1.5 * DSP_ENDPOINT_DOWN_S), 1);
    /* Both down: the one back soonest. */
    dsp_endpoints_report(&e, urls[1], true, 200.0);
    assert_int_equal(dsp_endpoints_pick(&e, urls, 2, 200.1), 1);
    /* A reply brings it back. */
    dsp_endpoints_report(&e, urls[0], false, 200.2);
    assert_int_equal(dsp_endpoints_pick(&e, urls, 2, 200.2), 0);
    dsp_endpoints_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rpm_spaces_requests_evenly),
        cmocka_unit_test(tpm_bucket_holds_one_seconds_worth),
        cmocka_unit_test(a_429_halves_the_window_once_per_round),
        cmocka_unit_test(good_replies_raise_the_window_by_one_per_window),
        cmocka_unit_test(retry_after_holds_every_request),
        cmocka_unit_test(base_url_lists_split_at_spaces),
        cmocka_unit_test(endpoints_take_turns_and_skip_one_that_is_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
