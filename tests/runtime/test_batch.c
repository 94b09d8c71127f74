/* test_batch.c — dsp_run_each, the thread pool behind dsp_chat_batch and
 * every generated NAME_run_batch: it runs as many jobs at once as it is
 * asked to (past 64 too), never more, each job exactly once, and reports
 * the failure with the lowest index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "dsp/batch.h"

typedef struct probe {
    atomic_int now, peak;
    atomic_int *runs; /* how often each index ran */
    int gather;       /* a job waits until this many ran at once (or 200 ms pass) */
    int fail_from;    /* jobs at or past this index fail with their index + 100 */
} probe;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int job(void *ctx, size_t i)
{
    probe *p = ctx;
    atomic_fetch_add(&p->runs[i], 1);
    int now = atomic_fetch_add(&p->now, 1) + 1;
    int peak = atomic_load(&p->peak);
    while (now > peak && !atomic_compare_exchange_weak(&p->peak, &peak, now)) {
    }
    /* Hold the thread until the pool could have filled up: the peak then
     * measures the pool, not the scheduler. */
    for (int t = 0; t < 40 && atomic_load(&p->peak) < p->gather; t++)
        sleep_ms(5);
    sleep_ms(5);
    atomic_fetch_sub(&p->now, 1);
    return (int)i >= p->fail_from ? (int)i + 100 : 0;
}

static int run(size_t n, int max_threads, int gather, int fail_from, probe *p)
{
    atomic_init(&p->now, 0);
    atomic_init(&p->peak, 0);
    p->runs = calloc(n ? n : 1, sizeof *p->runs);
    assert_non_null(p->runs);
    p->gather = gather;
    p->fail_from = fail_from;
    int rc = dsp_run_each(n, max_threads, job, p);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(atomic_load(&p->runs[i]), 1);
    free(p->runs);
    return rc;
}

/* max_threads 100 runs 100 at once: the old generated code stopped at 65. */
static void honours_max_threads_past_64(void **state)
{
    (void)state;
    probe p;
    assert_int_equal(run(300, 100, 100, 1 << 30, &p), 0);
    assert_int_equal(atomic_load(&p.peak), 100);
}

static void never_more_than_max_threads(void **state)
{
    (void)state;
    probe p;
    /* Jobs wait for a 5th that must never come: the peak stays at 4. */
    assert_int_equal(run(8, 4, 5, 1 << 30, &p), 0);
    assert_int_equal(atomic_load(&p.peak), 4);
}

static void default_is_8_and_never_more_than_jobs(void **state)
{
    (void)state;
    probe p;
    assert_int_equal(run(16, 0, 9, 1 << 30, &p), 0);
    assert_int_equal(atomic_load(&p.peak), 8);
    assert_int_equal(run(3, 64, 4, 1 << 30, &p), 0);
    assert_int_equal(atomic_load(&p.peak), 3);
}

static void first_failure_by_index(void **state)
{
    (void)state;
    probe p;
    assert_int_equal(run(30, 6, 6, 17, &p), 117);
    assert_int_equal(run(0, 6, 6, 0, &p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(honours_max_threads_past_64),
        cmocka_unit_test(never_more_than_max_threads),
        cmocka_unit_test(default_is_8_and_never_more_than_jobs),
        cmocka_unit_test(first_failure_by_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
