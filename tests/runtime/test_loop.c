/* test_loop.c — dsp_loop_run_each, the event loop behind dsp_chat_batch
 * and every generated NAME_run_batch: each job exactly once, all on the
 * calling thread, max_jobs of them waiting at once (thousands too), the
 * failure with the lowest index reported, batches inside jobs, each job's
 * own trace context, the client's max_in_flight kept by jobs that wait
 * for a request slot, jobs waiting on sockets of their own, and deep calls
 * run aside on the loop's stack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/batch.h"
#include "dsp/trace.h"

#include "../../runtime/src/fiber.h"
#include "../../runtime/src/loop.h"
#include "../../runtime/src/retry.h"
#include "../../runtime/src/trace_int.h"

typedef struct probe {
    pthread_t caller;
    int other_thread;   /* jobs that ran on a thread other than the caller's */
    int now, peak;      /* jobs between their start and their end */
    int *runs;          /* how often each index ran */
    double sleep_s;     /* each job sleeps this long (dsp_sleep_s) */
    size_t fail_from;   /* jobs at or past this index fail with their index + 100 */
    int active_inside;  /* jobs that saw dsp_loop_active() */
} probe;

static int job(void *ctx, size_t i)
{
    probe *p = ctx;
    p->runs[i]++;
    if (!pthread_equal(pthread_self(), p->caller))
        p->other_thread++;
    p->active_inside += dsp_loop_active();
    if (++p->now > p->peak)
        p->peak = p->now;
    dsp_sleep_s(p->sleep_s);
    p->now--;
    return i >= p->fail_from ? (int)i + 100 : 0;
}

static int run(size_t n, int max_jobs, double sleep_s, size_t fail_from, probe *p)
{
    memset(p, 0, sizeof *p);
    p->caller = pthread_self();
    p->runs = calloc(n ? n : 1, sizeof *p->runs);
    assert_non_null(p->runs);
    p->sleep_s = sleep_s;
    p->fail_from = fail_from;
    int rc = dsp_loop_run_each(n, max_jobs, job, p);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p->runs[i], 1);
    free(p->runs);
    assert_int_equal(p->other_thread, 0);
    return rc;
}

/* 2,000 jobs that each wait 100 ms, 2,000 at once, on one thread: every
 * job waits at the same time (one after another they would take 200 s). */
static void thousands_wait_at_once_on_one_thread(void **state)
{
    (void)state;
    probe p;
    assert_int_equal(run(2000, 2000, 0.1, SIZE_MAX, &p), 0);
    assert_int_equal(p.peak, 2000);
    assert_int_equal(p.active_inside, 2000);
}

static void never_more_than_max_jobs(void **state)
{
    (void)state;
    probe p;
    assert_int_equal(run(50, 7, 0.01, SIZE_MAX, &p), 0);
    assert_int_equal(p.peak, 7);
}

static void reports_the_lowest_failed_index(void **state)
{
    (void)state;
    probe p;
    assert_int_equal(run(40, 6, 0.002, 17, &p), 117);
    assert_int_equal(run(5, 0, 0, 0, &p), 100); /* max_jobs <= 0: 8 */
    assert_int_equal(run(0, 4, 0, 0, &p), 0);
}

/* A job that runs a batch of its own (dsp_chat_batch inside a module):
 * the inner jobs join the same loop and thread, and the outer job goes on
 * once all of them are done. */
typedef struct nest {
    pthread_t caller;
    int other_thread;
    int inner_runs[8][5];
    int inner_done_before_return[8];
    int now, peak;
} nest;

typedef struct inner_ctx {
    nest *n;
    size_t outer;
} inner_ctx;

static int inner(void *ctx, size_t i)
{
    inner_ctx *c = ctx;
    if (!pthread_equal(pthread_self(), c->n->caller))
        c->n->other_thread++;
    if (++c->n->now > c->n->peak)
        c->n->peak = c->n->now;
    dsp_sleep_s(0.05);
    c->n->now--;
    c->n->inner_runs[c->outer][i]++;
    return i == 3 ? 7 : 0;
}

static int outer(void *ctx, size_t i)
{
    nest *n = ctx;
    inner_ctx c = {n, i};
    int rc = dsp_loop_run_each(5, 5, inner, &c);
    int done = 0;
    for (int k = 0; k < 5; k++)
        done += n->inner_runs[i][k];
    n->inner_done_before_return[i] = done;
    return rc;
}

static void batches_inside_jobs_share_the_loop(void **state)
{
    (void)state;
    nest n;
    memset(&n, 0, sizeof n);
    n.caller = pthread_self();
    assert_int_equal(dsp_loop_run_each(8, 8, outer, &n), 7);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(n.inner_done_before_return[i], 5);
        for (int k = 0; k < 5; k++)
            assert_int_equal(n.inner_runs[i][k], 1);
    }
    assert_int_equal(n.other_thread, 0);
    assert_int_equal(n.peak, 40); /* 8 outer jobs x 5 inner ones, all waiting at once */
}

/* Each job keeps its own trace context (the module call its LM calls
 * belong to) across its waits, though all share one thread; the caller's
 * is back when the batch returns. */
typedef struct spans {
    dsp_span own[16];
    int kept;
    int started_in_callers;
    const dsp_span *callers;
} spans;

static int span_job(void *ctx, size_t i)
{
    spans *s = ctx;
    s->started_in_callers += dsp_trace_current() == s->callers;
    dsp_trace_set_current(&s->own[i]);
    dsp_sleep_s(0.01 * (double)(16 - i));
    s->kept += dsp_trace_current() == &s->own[i];
    return 0;
}

static void each_job_keeps_its_trace_context(void **state)
{
    (void)state;
    spans s;
    memset(&s, 0, sizeof s);
    dsp_span mine;
    memset(&mine, 0, sizeof mine);
    s.callers = &mine;
    dsp_trace_set_current(&mine);
    assert_int_equal(dsp_loop_run_each(16, 16, span_job, &s), 0);
    assert_int_equal(s.kept, 16);
    assert_int_equal(s.started_in_callers, 16);
    assert_ptr_equal(dsp_trace_current(), &mine);
    dsp_trace_set_current(NULL);
}

/* Slot waits: a job parked in dsp_loop_wait wakes when another job of the
 * loop wakes it, oldest first, or at its time limit. */
typedef struct slots {
    int free_slots;
    int order[6], n_order;
    int timed_out;
} slots;

static int slot_job(void *ctx, size_t i)
{
    slots *s = ctx;
    if (i == 5) {
        /* The last job waits only 20 ms and gives up: nobody wakes it. */
        double until = dsp_monotonic_s() + 0.02;
        dsp_loop_wait(until);
        s->timed_out += dsp_monotonic_s() >= until;
        return 0;
    }
    while (s->free_slots == 0)
        dsp_loop_wait(dsp_monotonic_s() + 10.0);
    s->free_slots--;
    s->order[s->n_order++] = (int)i;
    dsp_sleep_s(0.01);
    s->free_slots++;
    dsp_loop_wake_waiter();
    return 0;
}

static void waiters_wake_oldest_first(void **state)
{
    (void)state;
    slots s;
    memset(&s, 0, sizeof s);
    s.free_slots = 1;
    double t0 = dsp_monotonic_s();
    assert_int_equal(dsp_loop_run_each(6, 6, slot_job, &s), 0);
    assert_int_equal(s.n_order, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s.order[i], i);
    assert_int_equal(s.timed_out, 1);
    /* Woken by each other, not by their 10 s limits. */
    assert_true(dsp_monotonic_s() - t0 < 5.0);
}

static void outside_a_loop_nothing_is_active(void **state)
{
    (void)state;
    assert_false(dsp_loop_active());
    dsp_loop_wake_waiter(); /* no loop: does nothing */
    dsp_sleep_s(0.001);     /* an ordinary sleep */
}

/* Timers: 200 jobs sleep for lengths that do not follow their order
 * ((7 * i) mod 200 ms); they wake in the order of their deadlines, not of
 * their starts. */
typedef struct timer_probe {
    double deadline[200];
    size_t woke[200], n;
} timer_probe;

static int sleeper(void *ctx, size_t i)
{
    timer_probe *t = ctx;
    double d = (double)((7 * i) % 200) / 1000.0;
    t->deadline[i] = dsp_monotonic_s() + d;
    dsp_sleep_s(d);
    t->woke[t->n++] = i;
    return 0;
}

static void timers_wake_in_deadline_order(void **state)
{
    (void)state;
    static timer_probe t;
    memset(&t, 0, sizeof t);
    assert_int_equal(dsp_loop_run_each(200, 200, sleeper, &t), 0);
    assert_int_equal(t.n, 200);
    for (size_t k = 1; k < 200; k++) /* deadlines taken a moment before the loop's own */
        assert_true(t.deadline[t.woke[k - 1]] <= t.deadline[t.woke[k]] + 1e-4);
}

/* Jobs waiting on sockets of their own (dsp_loop_wait_fd) over pipes:
 * each reader waits for its pipe while writers sleep and then write, in
 * the reverse order; a reader whose pipe stays empty gets false at its
 * deadline; all on one thread, every wait at once. */
enum { FD_PAIRS = 50 };
typedef struct fd_probe {
    int fds[FD_PAIRS + 1][2]; /* the last pipe is never written */
    bool ready[FD_PAIRS + 1];
    int order[FD_PAIRS], n_read;
} fd_probe;

static int fd_job(void *ctx, size_t i)
{
    fd_probe *p = ctx;
    if (i <= FD_PAIRS) { /* a reader */
        double until = dsp_monotonic_s() + (i == FD_PAIRS ? 0.2 : 10.0);
        double queued = -1;
        p->ready[i] = dsp_loop_wait_fd(p->fds[i][0], false, until, &queued);
        assert_true(queued >= 0 && queued < 5.0); /* its wait for a turn once the pipe was ready (0: none) */
        if (p->ready[i] && i < FD_PAIRS) {
            char c;
            assert_int_equal(read(p->fds[i][0], &c, 1), 1);
            p->order[p->n_read++] = (int)i;
        }
        return 0;
    }
    size_t w = i - FD_PAIRS - 1; /* writer w writes pipe FD_PAIRS - 1 - w, after (w + 1) ms */
    dsp_loop_sleep((double)(w + 1) / 1000.0);
    assert_true(dsp_loop_wait_fd(p->fds[FD_PAIRS - 1 - w][1], true, dsp_monotonic_s() + 10.0, NULL));
    assert_int_equal(write(p->fds[FD_PAIRS - 1 - w][1], "x", 1), 1);
    return 0;
}

static void jobs_wait_on_sockets_of_their_own(void **state)
{
    (void)state;
    static fd_probe p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i <= FD_PAIRS; i++)
        assert_int_equal(pipe(p.fds[i]), 0);
    double t0 = dsp_monotonic_s();
    assert_int_equal(dsp_loop_run_each(2 * FD_PAIRS + 1, 2 * FD_PAIRS + 1, fd_job, &p), 0);
    double wall = dsp_monotonic_s() - t0;
    assert_int_equal(p.n_read, FD_PAIRS);
    for (int k = 0; k < FD_PAIRS; k++) {
        assert_true(p.ready[k]);
        assert_int_equal(p.order[k], FD_PAIRS - 1 - k); /* as the writers wrote */
    }
    assert_false(p.ready[FD_PAIRS]);
    assert_true(wall >= 0.19); /* the empty pipe's reader waited out its deadline */
    if (wall > 5.0)
        fail_msg("%.2f s for waits of at most 0.2 s", wall);
    for (int i = 0; i <= FD_PAIRS; i++) {
        close(p.fds[i][0]);
        close(p.fds[i][1]);
    }
}

/* A call whose frame reaches 64 KiB deep, touching a byte in each page;
 * it counts its runs, and those that saw a job active (an aside runs as
 * outside a job: nothing it calls may park). */
#define DEEP_BYTES (64 * 1024)

typedef struct aside_probe {
    int ran, active;
    size_t before, after; /* the job's resident stack around the call aside */
    size_t direct;        /* ... after the same call on its own stack */
} aside_probe;

static void deep(void *arg)
{
    aside_probe *a = arg;
    volatile char buf[DEEP_BYTES];
    for (size_t i = 0; i < sizeof buf; i += 1024)
        buf[i] = 1;
    a->ran += buf[0];
    a->active += dsp_loop_active();
}

static int aside_job(void *ctx, size_t i)
{
    aside_probe *a = ctx;
    if (i == 0) {
        a->before = dsp_loop_stack_resident();
        dsp_loop_run_aside(deep, a);
        a->after = dsp_loop_stack_resident();
    } else {
        deep(a);
        a->direct = dsp_loop_stack_resident();
    }
    return 0;
}

static void deep_calls_aside_leave_the_job_stack_small(void **state)
{
    (void)state;
    aside_probe a = {0};
    assert_int_equal(dsp_loop_run_each(2, 2, aside_job, &a), 0);
    assert_int_equal(a.ran, 2);
    assert_int_equal(a.active, 1); /* the direct call's, not the aside's */
    dsp_loop_run_aside(deep, &a); /* outside a loop: called as it is */
    assert_int_equal(a.ran, 3);
#ifdef DSP_FIBER_ASAN
    skip(); /* ASan moves large frames to stacks of its own */
#else
    assert_true(a.direct >= DEEP_BYTES);
    assert_true(a.after < a.before + 8 * 1024);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousands_wait_at_once_on_one_thread),
        cmocka_unit_test(never_more_than_max_jobs),
        cmocka_unit_test(reports_the_lowest_failed_index),
        cmocka_unit_test(batches_inside_jobs_share_the_loop),
        cmocka_unit_test(each_job_keeps_its_trace_context),
        cmocka_unit_test(waiters_wake_oldest_first),
        cmocka_unit_test(timers_wake_in_deadline_order),
        cmocka_unit_test(outside_a_loop_nothing_is_active),
        cmocka_unit_test(jobs_wait_on_sockets_of_their_own),
        cmocka_unit_test(deep_calls_aside_leave_the_job_stack_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
