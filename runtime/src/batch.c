/* batch.c — dsp_run_each: workers take the next index under a mutex until
 * none is left (dsp/batch.h). */
#include "dsp/batch.h"
#include "dsp/client.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct each_job {
    dsp_each_fn fn;
    void *ctx;
    size_t n, next;
    int first_failed;   /* the status of the failed job with the lowest index */
    size_t first_index;
    pthread_mutex_t mu;
    dsp_usage_group *group; /* the caller's: its workers' calls count into it too */
} each_job;

static void *each_worker(void *arg)
{
    each_job *j = arg;
    dsp_usage_group *was = dsp_usage_group_use(j->group);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        size_t i = j->next < j->n ? j->next++ : j->n;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n) {
            (void)dsp_usage_group_use(was);
            return NULL;
        }
        int s = j->fn(j->ctx, i);
        if (s != 0) {
            pthread_mutex_lock(&j->mu);
            if (!j->first_failed || i < j->first_index) {
                j->first_failed = s;
                j->first_index = i;
            }
            pthread_mutex_unlock(&j->mu);
        }
    }
}

int dsp_run_each(size_t n, int max_threads, dsp_each_fn fn, void *ctx)
{
    if (n == 0 || !fn)
        return 0;
    each_job j = {.fn = fn, .ctx = ctx, .n = n, .group = dsp_usage_group_current()};
    if (pthread_mutex_init(&j.mu, NULL) != 0) {
        /* No mutex, no pool: the jobs still run, one after another. */
        int first = 0;
        for (size_t i = 0; i < n; i++) {
            int s = fn(ctx, i);
            if (s && !first)
                first = s;
        }
        return first;
    }
    size_t want = max_threads > 0 ? (size_t)max_threads : 8;
    if (want > n)
        want = n;
    pthread_t *tids = want > 1 ? calloc(want - 1, sizeof *tids) : NULL;
    size_t started = 0;
    while (tids && started + 1 < want && pthread_create(&tids[started], NULL, each_worker, &j) == 0)
        started++;
    each_worker(&j);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
    pthread_mutex_destroy(&j.mu);
    return j.first_failed;
}
