/* tests/runtime/tsan_threads.c — built by tsan_threads.sh under
 * ThreadSanitizer with tsan_threads.dsp's generated code (libdsprt
 * embedded): THREADS threads share one dsp_client and call every entry
 * point a program has (run, run_stream, run_stream cancelled, run_batch,
 * whose jobs are fibers of the thread's event loop, run_shadow) and a
 * client whose endpoint is dead. Prints "calls N failed F cancelled C
 * dead D"; a data race makes TSan print its report and exit 66.
 * valgrind_threads.sh runs it linked with libdsprt under memcheck. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built with --embed-runtime: the generated header holds libdsprt's API. */
#include "tsan_threads_gen.h"

#define THREADS 8
#define ROUNDS 10
#define BATCH 16

static dsp_client *client, *shadow, *dead;

typedef struct tally {
    int failed, cancelled, dead;
} tally;

/* Counts the bytes streamed; with *stop set, cancels at the first. */
typedef struct stream_ctx {
    size_t bytes;
    int stop;
} stream_ctx;

static int on_delta(void *ctx, const dsp_stream_field *f, const char *text, size_t len)
{
    stream_ctx *s = ctx;
    (void)f;
    (void)text;
    s->bytes += len;
    return s->stop;
}

static int on_field(void *ctx, const dsp_stream_field *f, const dsp_value *v)
{
    (void)f;
    (void)v;
    return ((stream_ctx *)ctx)->stop;
}

static void on_disagree(void *ctx, const prof_input *in, const prof_output *primary, const prof_output *shadow_out,
                        const dsp_error *shadow_err)
{
    (void)ctx, (void)in, (void)primary, (void)shadow_out, (void)shadow_err;
}

static int one_round(int id, int r, tally *t)
{
    /* Inputs as a caller builds them: borrowed, on the stack. Half the
     * rounds repeat another thread's input, so cache hits and misses mix. */
    char age_name[32];
    snprintf(age_name, sizeof age_name, "Ann %d", (id * ROUNDS + r) % (THREADS * ROUNDS / 2));
    char *tags[] = { (char *)"vip", (char *)"new" };
    char *keys[] = { (char *)"a", (char *)"b" };
    int64_t vals[] = { id, r };
    prof_person people[] = { { age_name, { true, 30 + r } }, { (char *)"Bob", { false, 0 } } };
    prof_input in = {
        .people = { people, 2 },
        .tags = { tags, 2 },
        .scores = { keys, vals, 2 },
        .note = (r & 1) ? "odd round" : NULL,
    };
    prof_output out = { 0 };
    dsp_error err = { 0 };
    int st = 0;
    switch (r % 6) {
    case 0:
        st = prof_run(client, &in, &out, &err);
        break;
    case 1:
    case 2: {
        stream_ctx s = { 0, r % 6 == 2 };
        dsp_stream_callbacks cb = { on_delta, on_field, &s };
        st = prof_run_stream(client, &in, &cb, &out, &err);
        if (s.stop && st == DSP_ERR_CANCELLED) {
            t->cancelled++;
            st = 0;
        }
        break;
    }
    case 3: {
        prof_input ins[BATCH];
        prof_output outs[BATCH];
        dsp_error errs[BATCH];
        int sts[BATCH];
        for (int i = 0; i < BATCH; i++)
            ins[i] = in;
        memset(outs, 0, sizeof outs);
        st = prof_run_batch(client, ins, BATCH, outs, sts, errs, BATCH);
        for (int i = 0; i < BATCH; i++) {
            if (sts[i] != 0)
                fprintf(stderr, "thread %d round %d item %d: %s\n", id, r, i, errs[i].message);
            prof_output_free(&outs[i]);
            dsp_error_clear(&errs[i]);
        }
        break;
    }
    case 4: {
        int agreed = 0;
        st = prof_run_shadow(client, &in, &out, shadow, on_disagree, NULL, &agreed, &err);
        break;
    }
    default:
        if (prof_run(dead, &in, &out, &err) != 0 && out.summary == NULL)
            t->dead++;
        dsp_error_clear(&err);
        st = prof_run(client, &in, &out, &err);
        break;
    }
    if (st != 0) {
        fprintf(stderr, "thread %d round %d: %s\n", id, r, err.message);
        t->failed++;
    }
    prof_output_free(&out);
    dsp_error_clear(&err);
    return st;
}

typedef struct job {
    int id;
    tally t;
} job;

static void *work(void *arg)
{
    job *j = arg;
    for (int r = 0; r < ROUNDS; r++)
        one_round(j->id, r, &j->t);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tsan_threads CACHE_DIR DEAD_URL\n");
        return 2;
    }
    dsp_client_options o = dsp_client_options_default();
    o.cache_dir = argv[1];
    o.max_in_flight = 8;
    o.backoff_base_s = 0.01;
    dsp_error err = { 0 };
    if (dsp_client_new(&o, &client, &err) != 0 || dsp_client_new(&o, &shadow, &err) != 0) {
        fprintf(stderr, "client: %s\n", err.message);
        return 1;
    }
    dsp_client_options d = o;
    d.no_cache = true;
    d.base_url = argv[2];
    d.max_retries = 0;
    if (dsp_client_new(&d, &dead, &err) != 0) {
        fprintf(stderr, "client: %s\n", err.message);
        return 1;
    }
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){ i, { 0, 0, 0 } };
        if (pthread_create(&th[i], NULL, work, &jobs[i]) != 0)
            return 1;
    }
    tally sum = { 0, 0, 0 };
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        sum.failed += jobs[i].t.failed;
        sum.cancelled += jobs[i].t.cancelled;
        sum.dead += jobs[i].t.dead;
    }
    dsp_usage_totals u = dsp_client_usage(client);
    printf("calls %lld failed %d cancelled %d dead %d\n", (long long)u.calls, sum.failed, sum.cancelled, sum.dead);
    dsp_client_free(dead);
    dsp_client_free(shadow);
    dsp_client_free(client);
    return sum.failed != 0;
}
