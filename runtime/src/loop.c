/* loop.c — the event loop: fibers over one curl_multi handle driven
 * through epoll (loop.h, http_multi.c), timers in a heap, sockets of
 * other protocols (dsp_loop_wait_fd) in an epoll set of the loop's own,
 * and dsp_loop_run_each (dsp/batch.h). */
#include "loop.h"

#include "dsp/batch.h"
#include "dsp/client.h"

#include "fiber.h"
#include "retry.h"
#include "trace_int.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef enum lf_state {
    LF_READY, /* in the ready queue */
    LF_XFER,  /* waiting for its transfer */
    LF_TIMER, /* waiting for wake_at (and, when in the waiters list, for a wake-up; with
               * fd_wait, for its socket) */
    LF_JOIN   /* waiting for the jobs of a batch it started */
} lf_state;

struct loop_fiber;

/* The jobs of one dsp_loop_run_each call. One thread touches them: no lock. */
typedef struct each_job {
    dsp_each_fn fn;
    void *ctx;
    size_t n, next;
    int first_failed; /* the status of the failed job with the lowest index */
    size_t first_index;
    size_t live;                /* its fibers not finished yet */
    struct loop_fiber *parent;  /* the fiber waiting for them, if nested */
    size_t stack_bytes;         /* each fiber's stack (dsp_fiber_new) */
} each_job;

typedef struct loop_fiber {
    dsp_fiber *f;
    struct dsp_loop *loop;
    each_job *job;
    lf_state state;
    double wake_at;
    size_t heap_at;                   /* its index in loop->timers while LF_TIMER */
    bool waiting;                     /* in the waiters list */
    bool fd_wait, fd_ready;           /* waiting on a socket (dsp_loop_wait_fd), and it is ready */
    double fd_ready_at;               /* when the loop saw it ready */
    CURLcode xfer_rc;
    const dsp_span *span;             /* its trace context while it is parked */
    dsp_usage_group *group;           /* and its usage group (dsp/client.h) */
    struct loop_fiber *next;          /* ready queue */
    struct loop_fiber *wprev, *wnext; /* waiters list */
    size_t slot;                      /* its index in loop->all */
    void (*aside_fn)(void *);         /* to run on the loop's stack, then back to it (dsp_loop_run_aside) */
    void *aside_arg;
} loop_fiber;

typedef struct dsp_loop {
    dsp_http_multi *multi; /* lent by the transport of the first transfer, or NULL */
    dsp_http *lender;
    loop_fiber **all; /* every fiber not finished */
    size_t n_all, cap_all;
    /* The LF_TIMER fibers, a binary min-heap on wake_at (room for all of
     * them, so adding one never fails): a wake-up finds the due ones
     * without looking at every fiber. */
    loop_fiber **timers;
    size_t n_timers;
    loop_fiber *ready_head, *ready_tail;
    loop_fiber *wait_head, *wait_tail;
    loop_fiber *current;
    dsp_fiber_host host; /* where each fiber yields back to: run() */
    /* The sockets fibers wait on (dsp_loop_wait_fd), made at the first;
     * while any is waited on, the multi handle's epoll set is in it too,
     * so one wait covers both. */
    int epfd;            /* -1: none yet */
    size_t n_fd_waits;
    int multi_in_ep;     /* the multi handle's epoll set added to epfd, or -1 */
} dsp_loop;

/* The loop the calling thread runs, if any, in thread-specific data: the
 * thread's context, as the trace's current span is, reached by code deep
 * inside a job (http.c, retry.c) that has no loop argument. */
static pthread_key_t loop_key;
static pthread_once_t loop_once = PTHREAD_ONCE_INIT;

static void make_loop_key(void)
{
    (void)pthread_key_create(&loop_key, NULL);
}

static dsp_loop *this_loop(void)
{
    pthread_once(&loop_once, make_loop_key);
    return pthread_getspecific(loop_key);
}

static void set_loop(dsp_loop *l)
{
    pthread_once(&loop_once, make_loop_key);
    (void)pthread_setspecific(loop_key, l);
}

bool dsp_loop_active(void)
{
    dsp_loop *l = this_loop();
    return l && l->current;
}

static void make_ready(dsp_loop *l, loop_fiber *lf)
{
    lf->state = LF_READY;
    lf->next = NULL;
    if (l->ready_tail)
        l->ready_tail->next = lf;
    else
        l->ready_head = lf;
    l->ready_tail = lf;
}

static void unlink_waiter(dsp_loop *l, loop_fiber *lf)
{
    if (!lf->waiting)
        return;
    if (lf->wprev)
        lf->wprev->wnext = lf->wnext;
    else
        l->wait_head = lf->wnext;
    if (lf->wnext)
        lf->wnext->wprev = lf->wprev;
    else
        l->wait_tail = lf->wprev;
    lf->wprev = lf->wnext = NULL;
    lf->waiting = false;
}

/* Parks the current fiber in state s until the scheduler makes it ready. */
static void park(dsp_loop *l, lf_state s)
{
    loop_fiber *lf = l->current;
    lf->state = s;
    dsp_fiber_yield(lf->f);
}

CURLcode dsp_loop_perform(dsp_http *h, CURL *e)
{
    dsp_loop *l = this_loop();
    loop_fiber *lf = l->current;
    if (!l->multi && (l->multi = dsp_http_multi_take(h)))
        l->lender = h;
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)lf);
    if (!l->multi || dsp_http_multi_add(l->multi, e) != CURLM_OK)
        return curl_easy_perform(e); /* blocks the loop, but the call still happens */
    park(l, LF_XFER);
    return lf->xfer_rc;
}

void dsp_loop_run_aside(void (*fn)(void *arg), void *arg)
{
    dsp_loop *l = this_loop();
    loop_fiber *lf = l ? l->current : NULL;
    if (!lf) {
        fn(arg);
        return;
    }
    /* run() calls it between two turns of this fiber, nothing else runs. */
    lf->aside_fn = fn;
    lf->aside_arg = arg;
    dsp_fiber_yield(lf->f);
}

size_t dsp_loop_stack_resident(void)
{
    dsp_loop *l = this_loop();
    return l && l->current ? dsp_fiber_resident(l->current->f) : 0;
}

static void heap_set(dsp_loop *l, size_t i, loop_fiber *lf)
{
    l->timers[i] = lf;
    lf->heap_at = i;
}

static void sift_up(dsp_loop *l, size_t i)
{
    loop_fiber *lf = l->timers[i];
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (l->timers[up]->wake_at <= lf->wake_at)
            break;
        heap_set(l, i, l->timers[up]);
        i = up;
    }
    heap_set(l, i, lf);
}

static void sift_down(dsp_loop *l, size_t i)
{
    loop_fiber *lf = l->timers[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->n_timers)
            break;
        if (c + 1 < l->n_timers && l->timers[c + 1]->wake_at < l->timers[c]->wake_at)
            c++;
        if (lf->wake_at <= l->timers[c]->wake_at)
            break;
        heap_set(l, i, l->timers[c]);
        i = c;
    }
    heap_set(l, i, lf);
}

/* Takes lf out of the timer heap (it woke, by its timer or otherwise). */
static void timer_remove(dsp_loop *l, loop_fiber *lf)
{
    size_t i = lf->heap_at;
    loop_fiber *last = l->timers[--l->n_timers];
    if (last != lf) {
        heap_set(l, i, last);
        sift_up(l, i);
        sift_down(l, last->heap_at);
    }
}

static void timer_at(dsp_loop *l, double until)
{
    loop_fiber *lf = l->current;
    lf->wake_at = until;
    heap_set(l, l->n_timers++, lf);
    sift_up(l, lf->heap_at);
}

void dsp_loop_sleep(double s)
{
    dsp_loop *l = this_loop();
    timer_at(l, dsp_monotonic_s() + s);
    park(l, LF_TIMER);
}

void dsp_loop_wait(double until)
{
    dsp_loop *l = this_loop();
    loop_fiber *lf = l->current;
    timer_at(l, until);
    lf->waiting = true;
    lf->wnext = NULL;
    lf->wprev = l->wait_tail;
    if (l->wait_tail)
        l->wait_tail->wnext = lf;
    else
        l->wait_head = lf;
    l->wait_tail = lf;
    park(l, LF_TIMER);
    unlink_waiter(l, lf);
}

/* Waits without the loop for fd (no epoll set could be had). */
static bool poll_fd(int fd, bool for_write, double until)
{
    double left = until - dsp_monotonic_s();
    struct pollfd pfd = {.fd = fd, .events = for_write ? POLLOUT : POLLIN};
    return left > 0 && poll(&pfd, 1, (int)ceil(left * 1000.0)) > 0;
}

bool dsp_loop_wait_fd(int fd, bool for_write, double until, double *queued_s)
{
    if (queued_s)
        *queued_s = 0;
    dsp_loop *l = this_loop();
    loop_fiber *lf = l->current;
    if (l->epfd < 0)
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
    /* One event, then the socket is off (EPOLLONESHOT) until deleted. */
    struct epoll_event ev = {.events = (for_write ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT, .data.ptr = lf};
    if (l->epfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return poll_fd(fd, for_write, until); /* blocks the loop, but the lookup still happens */
    lf->fd_wait = true;
    lf->fd_ready = false;
    l->n_fd_waits++;
    timer_at(l, until);
    park(l, LF_TIMER);
    l->n_fd_waits--;
    lf->fd_wait = false;
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (lf->fd_ready && queued_s)
        *queued_s = dsp_monotonic_s() - lf->fd_ready_at;
    return lf->fd_ready;
}

void dsp_loop_wake_waiter(void)
{
    dsp_loop *l = this_loop();
    if (!l || !l->wait_head)
        return;
    loop_fiber *lf = l->wait_head;
    unlink_waiter(l, lf);
    timer_remove(l, lf);
    make_ready(l, lf);
}

static void record(each_job *j, size_t i, int s)
{
    if (s != 0 && (!j->first_failed || i < j->first_index)) {
        j->first_failed = s;
        j->first_index = i;
    }
}

/* The jobs run one after another on the calling thread (no fiber could
 * be made): slower, but every job still runs. */
static void run_inline(each_job *j)
{
    while (j->next < j->n) {
        size_t i = j->next++;
        record(j, i, j->fn(j->ctx, i));
    }
}

static void worker(void *arg)
{
    loop_fiber *lf = arg;
    each_job *j = lf->job;
    run_inline(j);
    if (--j->live == 0 && j->parent)
        make_ready(lf->loop, j->parent);
}

/* Starts up to k fibers working on j; they begin in the spawner's trace
 * context. */
static void spawn(dsp_loop *l, each_job *j, size_t k)
{
    const dsp_span *span = dsp_trace_current();
    dsp_usage_group *group = dsp_usage_group_current();
    for (size_t s = 0; s < k; s++) {
        if (l->n_all == l->cap_all) {
            size_t cap = l->cap_all ? l->cap_all * 2 : 64;
            loop_fiber **all = realloc(l->all, cap * sizeof *all);
            if (!all)
                return;
            l->all = all;
            loop_fiber **timers = realloc(l->timers, cap * sizeof *timers);
            if (!timers)
                return;
            l->timers = timers;
            l->cap_all = cap;
        }
        loop_fiber *lf = calloc(1, sizeof *lf);
        if (!lf)
            return;
        lf->f = dsp_fiber_new(worker, lf, &l->host, j->stack_bytes);
        if (!lf->f) {
            free(lf);
            return;
        }
        lf->loop = l;
        lf->job = j;
        lf->span = span;
        lf->group = group;
        lf->slot = l->n_all;
        l->all[l->n_all++] = lf;
        j->live++;
        make_ready(l, lf);
    }
}

static void finish(dsp_loop *l, loop_fiber *lf)
{
    loop_fiber *last = l->all[--l->n_all];
    l->all[lf->slot] = last;
    last->slot = lf->slot;
    dsp_fiber_free(lf->f);
    free(lf);
}

/* Makes the fibers whose timers are due ready, earliest first. */
static void wake_timers(dsp_loop *l)
{
    if (l->n_timers == 0)
        return;
    double now = dsp_monotonic_s();
    while (l->n_timers > 0 && l->timers[0]->wake_at <= now) {
        loop_fiber *lf = l->timers[0];
        timer_remove(l, lf);
        unlink_waiter(l, lf);
        make_ready(l, lf);
    }
}

/* Fibers waiting on sockets of their own: waits at most wait ms on the
 * loop's epoll set, which holds those sockets and the multi handle's epoll
 * set, and makes the fibers whose sockets are ready ready. libcurl then
 * acts on its sockets without waiting again. */
static void wait_fds(dsp_loop *l, long wait)
{
    dsp_http_multi *hm = l->multi;
    int mfd = hm ? dsp_http_multi_epoll_fd(hm) : -1;
    if (mfd >= 0 && l->multi_in_ep != mfd) {
        struct epoll_event mev = {.events = EPOLLIN, .data.ptr = NULL};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, mfd, &mev) == 0)
            l->multi_in_ep = mfd;
    }
    double timer_at = hm ? dsp_http_multi_next_timer(hm) : INFINITY;
    if (timer_at < INFINITY) {
        double ms = ceil((timer_at - dsp_monotonic_s()) * 1000.0);
        if (ms < (double)wait)
            wait = ms > 0 ? (long)ms : 0;
    }
    /* libcurl's sockets outside the set (no epoll of its own): looked at
     * every few milliseconds. */
    if (hm && (mfd < 0 || l->multi_in_ep != mfd) && wait > 5)
        wait = 5;
    struct epoll_event ev[64];
    int n = epoll_wait(l->epfd, ev, 64, (int)wait);
    double now = n > 0 ? dsp_monotonic_s() : 0;
    for (int i = 0; i < n; i++) {
        loop_fiber *lf = ev[i].data.ptr;
        if (!lf || !lf->fd_wait || lf->state != LF_TIMER)
            continue; /* the multi handle's set: libcurl's turn comes next */
        timer_remove(l, lf);
        lf->fd_ready = true;
        lf->fd_ready_at = now;
        make_ready(l, lf);
    }
}

/* Makes the fibers whose transfers finished ready. */
static void take_done(dsp_loop *l)
{
    CURL *e;
    CURLcode rc;
    while ((e = dsp_http_multi_done(l->multi, &rc))) {
        void *p = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
        curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
        loop_fiber *lf = p;
        if (lf) {
            lf->xfer_rc = rc;
            make_ready(l, lf);
        }
    }
}

/* Waits for the next event (a transfer's progress, a socket a fiber waits
 * on, or a timer) and makes the fibers it concerns ready. */
static void poll_once(dsp_loop *l)
{
    double next = l->n_timers > 0 ? l->timers[0]->wake_at : INFINITY;
    long wait = 1000; /* at most a second between looks at the timers */
    if (next < INFINITY) {
        double ms = ceil((next - dsp_monotonic_s()) * 1000.0);
        wait = ms <= 0 ? 0 : ms < 1000 ? (long)ms : 1000;
    }
    if (l->n_fd_waits > 0) {
        wait_fds(l, wait);
        wait = 0;
    }
    if (!l->multi) {
        /* No transfer yet: only timers (a paced or backed-off first call). */
        if (wait > 0)
            dsp_sleep_s((double)wait / 1000.0);
        wake_timers(l);
        return;
    }
    dsp_http_multi_wait(l->multi, wait);
    take_done(l);
    wake_timers(l);
}

/* Between fibers: libcurl starts the transfers added so far and acts on
 * the sockets already ready, without waiting (the fibers of finished
 * transfers join the ready queue). */
static void kick(dsp_loop *l)
{
    if (!l->multi)
        return;
    dsp_http_multi_wait(l->multi, 0);
    take_done(l);
}

/* Fibers run between two looks at libcurl's sockets and timers, at most:
 * the transfers the first ones added are under way while the others run
 * (at 4,096 in flight the first request of a batch left only after every
 * fiber had built its own, the server idle meanwhile), and the fibers of
 * replies that came meanwhile join the queue. */
#define KICK_EVERY 16

static void run(dsp_loop *l)
{
    const dsp_span *own = dsp_trace_current();
    dsp_usage_group *own_group = dsp_usage_group_current();
    while (l->n_all > 0) {
        size_t ran = 0;
        while (l->ready_head) {
            if (ran++ % KICK_EVERY == KICK_EVERY - 1) {
                dsp_trace_set_current(own);
                (void)dsp_usage_group_use(own_group);
                kick(l);
            }
            loop_fiber *lf = l->ready_head;
            l->ready_head = lf->next;
            if (!l->ready_head)
                l->ready_tail = NULL;
            l->current = lf;
            dsp_trace_set_current(lf->span);
            (void)dsp_usage_group_use(lf->group);
            bool done = dsp_fiber_resume(lf->f);
            while (!done && lf->aside_fn) {
                void (*fn)(void *) = lf->aside_fn;
                lf->aside_fn = NULL;
                l->current = NULL; /* as outside a job: what it calls blocks, it cannot park */
                fn(lf->aside_arg);
                l->current = lf;
                done = dsp_fiber_resume(lf->f);
            }
            lf->span = dsp_trace_current();
            lf->group = dsp_usage_group_current();
            l->current = NULL;
            if (done)
                finish(l, lf);
        }
        dsp_trace_set_current(own);
        (void)dsp_usage_group_use(own_group);
        if (l->n_all > 0)
            poll_once(l);
    }
}

int dsp_loop_run_each(size_t n, int max_jobs, dsp_each_fn fn, void *ctx)
{
    return dsp_loop_run_each_stack(n, max_jobs, 0, fn, ctx);
}

int dsp_loop_run_each_stack(size_t n, int max_jobs, size_t stack_bytes, dsp_each_fn fn, void *ctx)
{
    if (n == 0 || !fn)
        return 0;
    size_t k = max_jobs > 0 ? (size_t)max_jobs : 8;
    if (k > n)
        k = n;
    each_job j = {.fn = fn, .ctx = ctx, .n = n, .stack_bytes = stack_bytes};
    dsp_loop *outer = this_loop();
    if (outer && outer->current) {
        /* A batch inside a job (several samples of one predictor): its
         * jobs join the loop as fibers of their own; this one waits. They
         * run on stacks as large as their starter's. */
        if (outer->current->job->stack_bytes > j.stack_bytes)
            j.stack_bytes = outer->current->job->stack_bytes;
        j.parent = outer->current;
        spawn(outer, &j, k);
        if (j.live > 0)
            park(outer, LF_JOIN);
        else
            run_inline(&j);
        return j.first_failed;
    }
    dsp_loop l;
    memset(&l, 0, sizeof l);
    l.epfd = -1;
    l.multi_in_ep = -1;
    set_loop(&l);
    spawn(&l, &j, k);
    run(&l);
    set_loop(outer);
    /* Not one fiber could be made: on this thread, one by one. */
    run_inline(&j);
    free(l.all);
    free(l.timers);
    if (l.epfd >= 0)
        close(l.epfd);
    /* The multi handle goes back to the transport that lent it, with its
     * connections: the next batch on the client reuses them. */
    if (l.multi)
        dsp_http_multi_give(l.lender, l.multi);
    return j.first_failed;
}
