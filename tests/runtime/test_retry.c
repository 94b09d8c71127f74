/* test_retry.c — the retry policy: which failures are transient, backoff
 * growth, jitter and cap, Retry-After in both of its forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "../../runtime/src/retry.h"

static void test_transient_statuses(void **state)
{
    (void)state;
    assert_true(dsp_retry_is_transient(DSP_ERR_NETWORK, 0));
    assert_true(dsp_retry_is_transient(DSP_ERR_TIMEOUT, 0));
    assert_true(dsp_retry_is_transient(DSP_ERR_PROTOCOL, 200));
    const int again[] = {408, 409, 429, 500, 502, 503, 504, 599};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        assert_true(dsp_retry_is_transient(DSP_ERR_HTTP, again[i]));
    const int never[] = {400, 401, 403, 404, 405, 413, 422, 600};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        assert_false(dsp_retry_is_transient(DSP_ERR_HTTP, never[i]));
    assert_false(dsp_retry_is_transient(DSP_ERR_ENV, 0));
    assert_false(dsp_retry_is_transient(DSP_ERR_INVALID, 0));
    assert_false(dsp_retry_is_transient(DSP_ERR_NOMEM, 0));
}

static void test_retry_after_seconds(void **state)
{
    (void)state;
    assert_true(dsp_retry_after_parse("2", 0) == 2.0);
    assert_true(dsp_retry_after_parse(" 120 ", 0) == 120.0);
    assert_true(dsp_retry_after_parse("0", 0) == 0.0);
    assert_true(dsp_retry_after_parse(NULL, 0) < 0);
    assert_true(dsp_retry_after_parse("", 0) < 0);
    assert_true(dsp_retry_after_parse("soon", 0) < 0);
    assert_true(dsp_retry_after_parse("5x", 0) < 0);
}

static void test_retry_after_http_date(void **state)
{
    (void)state;
    /* Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 since the epoch. */
    const time_t date = 1445412480;
    assert_true(dsp_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", date - 7) == 7.0);
    /* A date in the past means "now". */
    assert_true(dsp_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", date + 100) == 0.0);
}

static void test_backoff_grows_with_jitter_and_cap(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    double prev_max = 0;
    for (int k = 0; k < 5; k++) {
        double lo = 0.5 * (double)(1 << k), hi = lo * 1.5;
        double seen_min = 1e9, seen_max = 0;
        for (int i = 0; i < 200; i++) {
            double d = dsp_retry_delay(k, 0.5, -1, &rng);
            assert_true(d >= lo && d <= hi);
            seen_min = d < seen_min ? d : seen_min;
            seen_max = d > seen_max ? d : seen_max;
        }
        assert_true(seen_max - seen_min > (hi - lo) * 0.5); /* jitter spreads */
        assert_true(seen_max > prev_max);
        prev_max = seen_max;
    }
    assert_true(dsp_retry_delay(20, 0.5, -1, &rng) == DSP_RETRY_MAX_DELAY_S);
    /* Retry-After replaces the backoff, within the cap. */
    assert_true(dsp_retry_delay(4, 0.5, 1.0, &rng) == 1.0);
    assert_true(dsp_retry_delay(0, 0.5, 3600.0, &rng) == DSP_RETRY_MAX_DELAY_S);
}

static void test_sleep(void **state)
{
    (void)state;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    dsp_sleep_s(0.05);
    dsp_sleep_s(-1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double dt = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(dt >= 0.05 && dt < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_statuses),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_http_date),
        cmocka_unit_test(test_backoff_grows_with_jitter_and_cap),
        cmocka_unit_test(test_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
