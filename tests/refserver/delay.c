/* delay.c — resume suspended connections on time (see delay.h). */
#include "delay.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

#include <microhttpd.h>

typedef struct entry {
    uint64_t due_ns;
    struct MHD_Connection *conn;
} entry;

struct rs_delay {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    entry *heap; /* min-heap on due_ns */
    size_t n, cap;
    bool stopping;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void heap_push(rs_delay *d, entry e)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        entry *h = realloc(d->heap, cap * sizeof *h);
        if (!h) {
            /* Out of memory: resume at once rather than lose the connection. */
            MHD_resume_connection(e.conn);
            return;
        }
        d->heap = h;
        d->cap = cap;
    }
    size_t i = d->n++;
    while (i > 0 && d->heap[(i - 1) / 2].due_ns > e.due_ns) {
        d->heap[i] = d->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    d->heap[i] = e;
}

static entry heap_pop(rs_delay *d)
{
    entry top = d->heap[0];
    entry last = d->heap[--d->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, s = i;
        if (l >= d->n)
            break;
        s = l;
        if (l + 1 < d->n && d->heap[l + 1].due_ns < d->heap[l].due_ns)
            s = l + 1;
        if (d->heap[s].due_ns >= last.due_ns)
            break;
        d->heap[i] = d->heap[s];
        i = s;
    }
    if (d->n)
        d->heap[i] = last;
    return top;
}

static void *run(void *arg)
{
    rs_delay *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        if (d->n == 0) {
            pthread_cond_wait(&d->cv, &d->mu);
            continue;
        }
        uint64_t now = now_ns();
        if (d->heap[0].due_ns > now) {
            uint64_t due = d->heap[0].due_ns;
            struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
            pthread_cond_timedwait(&d->cv, &d->mu, &ts);
            continue;
        }
        entry e = heap_pop(d);
        MHD_resume_connection(e.conn);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

bool rs_delay_start(rs_delay **out)
{
    rs_delay *d = calloc(1, sizeof *d);
    if (!d)
        return false;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&d->thread, NULL, run, d) != 0) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return false;
    }
    *out = d;
    return true;
}

void rs_delay_add(rs_delay *d, struct MHD_Connection *conn, unsigned ms)
{
    pthread_mutex_lock(&d->mu);
    if (d->stopping) {
        /* Shutting down: nothing may stay suspended. */
        pthread_mutex_unlock(&d->mu);
        MHD_resume_connection(conn);
        return;
    }
    heap_push(d, (entry){now_ns() + (uint64_t)ms * 1000000u, conn});
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void rs_delay_stop(rs_delay *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    while (d->n)
        MHD_resume_connection(heap_pop(d).conn);
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
}

void rs_delay_free(rs_delay *d)
{
    if (!d)
        return;
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->heap);
    free(d);
}
