/* test_cache_remote_loop.c — the shared cache (DSPCC_CACHE_URL) from jobs
 * of an event loop (dsp_loop_run_each, as eval, optimize, dsp_chat_batch
 * and a generated run_batch drive their calls), against a real
 * redis-server this test starts on a free port of 127.0.0.1 and
 * build/dsp-refserver (a test fixture, not a language model):
 *  - while a lookup waits on a Redis that is slow to answer (CLIENT PAUSE),
 *    the loop goes on: every job answered from the local cache and every
 *    job whose request is on the wire finishes first, and the lookup then
 *    gets Redis's row;
 *  - more lookups at once than the connection pool holds all get their
 *    rows (jobs waiting for a connection do not stall the jobs holding
 *    one);
 *  - stores from jobs (a flush falls due inside a job) reach Redis while
 *    Redis is slow to take writes, and nothing waits on another job's lock;
 *  - a Redis that never answers (SIGSTOP) costs one warning, every job
 *    completes from the LM, and local hits still finish before the lookup
 *    that times out.
 * Skips (does not pass) when redis-server or the fixture is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dsp/batch.h"
#include "dsp/client.h"

#include "../../runtime/src/cache_remote.h"
#include "../support/refserver_proc.h"

static char bin[512];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a real redis-server ------------------------------------------------ */

typedef struct redis_proc {
    pid_t pid;
    int port;
    char dir[64];
} redis_proc;

static bool redis_installed(void)
{
    return system("command -v redis-server >/dev/null 2>&1") == 0;
}

/* A command on a connection of the test's own; false when it fails. */
static bool redis_do(const redis_proc *r, const char *fmt, const char *arg, long long *int_reply)
{
    struct timeval tv = {2, 0};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    bool ok = ctx && !ctx->err;
    redisReply *reply = ok ? redisCommand(ctx, fmt, arg) : NULL;
    ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (ok && int_reply)
        *int_reply = reply->integer;
    if (reply)
        freeReplyObject(reply);
    if (ctx)
        redisFree(ctx);
    return ok;
}

/* redis-server on a free port, no persistence; the child dies with the
 * test. A port another server holds makes ours exit: another port then. */
static void redis_start(redis_proc *r)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/dsp-redis-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    for (int attempt = 0; attempt < 20; attempt++) {
        r->port = 20000 + (int)((unsigned)rand() % 30000u);
        char port[16];
        snprintf(port, sizeof port, "%d", r->port);
        r->pid = fork();
        assert_true(r->pid >= 0);
        if (r->pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            /* Its banner and warnings go to its log, not the test's output. */
            char log[96];
            snprintf(log, sizeof log, "%s/redis.log", r->dir);
            if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr))
                _exit(127);
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", r->dir, "--loglevel", "warning", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 100; i++) {
            if (waitpid(r->pid, NULL, WNOHANG) == r->pid)
                break; /* it exited: the port is taken */
            long long pid = 0;
            struct timeval tv = {1, 0};
            redisContext *ctx = redisConnectWithTimeout("127.0.0.1", r->port, tv);
            redisReply *reply = ctx && !ctx->err ? redisCommand(ctx, "INFO server") : NULL;
            if (reply && reply->type == REDIS_REPLY_STRING) {
                const char *p = strstr(reply->str, "process_id:");
                pid = p ? atoll(p + 11) : 0;
            }
            if (reply)
                freeReplyObject(reply);
            if (ctx)
                redisFree(ctx);
            if (pid == r->pid)
                return;
            usleep(50000);
        }
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    fail_msg("redis-server did not start");
}

static void redis_stop(redis_proc *r)
{
    kill(r->pid, SIGCONT);
    kill(r->pid, SIGTERM);
    waitpid(r->pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- clients and requests ---------------------------------------------- */

typedef struct warned {
    atomic_int n;
    char last[600];
} warned;

static void on_warn(void *ctx, const char *msg)
{
    warned *w = ctx;
    atomic_fetch_add(&w->n, 1);
    snprintf(w->last, sizeof w->last, "%s", msg);
}

/* A client with its own local cache directory and the shared cache at
 * url (NULL: no cache at all). */
static dsp_client *client(const char *dir, const char *url, warned *w)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = dir == NULL;
    o.cache_dir = dir;
    o.cache_url = url;
    o.warn = on_warn;
    o.warn_ctx = w;
    o.max_in_flight = 256;
    o.max_retries = 0;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    return c;
}

static char *new_dir(void)
{
    char *d = strdup("/tmp/dsp-cache-loop-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_dir(char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

enum { MAX_REQ = 256 };
static char user_text[MAX_REQ][200];
static dsp_message msgs[MAX_REQ][2];
static dsp_chat_request reqs[MAX_REQ];

/* Request i: a ticket to classify, distinct for each i. */
static void make_requests(void)
{
    for (int i = 0; i < MAX_REQ; i++) {
        snprintf(user_text[i], sizeof user_text[i],
                 "[[ ## ticket_text ## ]]\nI was charged twice (case %d)\n\nRespond with the field "
                 "`[[ ## category ## ]]`, then `[[ ## completed ## ]]`.",
                 i);
        msgs[i][0] = (dsp_message){.role = DSP_ROLE_SYSTEM, .content = "Classify a customer support ticket."};
        msgs[i][1] = (dsp_message){.role = DSP_ROLE_USER, .content = user_text[i]};
        memset(&reqs[i], 0, sizeof reqs[i]);
        reqs[i].messages = msgs[i];
        reqs[i].n_messages = 2;
        reqs[i].params = dsp_lm_params_default();
        reqs[i].params.temperature = 0.0;
    }
}

/* Requests [from, to) on c, one after another, outside any loop. */
static void ask(dsp_client *c, const dsp_lm_config *lm, int from, int to)
{
    for (int i = from; i < to; i++) {
        dsp_chat_response resp;
        dsp_error err = {0};
        assert_int_equal(dsp_chat(c, lm, &reqs[i], &resp, &err), DSP_OK);
        dsp_chat_response_free(&resp);
    }
    dsp_error err = {0};
    assert_int_equal(dsp_client_flush(c, &err), DSP_OK);
}

/* One job of a batch: request req[i] on client[i]; when it finished (a
 * sequence number), whether the cache answered it and its text. */
typedef struct batch {
    dsp_client **client;
    const dsp_lm_config *lm;
    int *req;
    int *done_seq;
    double *done_at; /* seconds since t0 */
    double t0;
    bool *hit;
    char **text;
    int seq;
} batch;

static int job(void *ctx, size_t i)
{
    batch *b = ctx;
    dsp_chat_response resp;
    dsp_error err = {0};
    dsp_status st = dsp_chat(b->client[i], b->lm, &reqs[b->req[i]], &resp, &err);
    b->done_seq[i] = b->seq++;
    b->done_at[i] = now_s() - b->t0;
    if (st != DSP_OK)
        return 1;
    b->hit[i] = resp.cache_hit;
    b->text[i] = strdup(resp.choices[0]);
    dsp_chat_response_free(&resp);
    return 0;
}

typedef struct fixture {
    rs_proc rs;
    char base[64];
    dsp_lm_config lm;
    redis_proc redis;
    char url[64];
} fixture;

static void setup(fixture *f, const char *const *rs_args)
{
    RS_PROC_NEED(bin);
    if (!redis_installed()) {
        print_message("redis-server is not installed (scripts/setup.sh installs it): skipped\n");
        skip();
    }
    if (!rs_proc_start(&f->rs, rs_args))
        fail_msg("%s printed no port", bin);
    rs_proc_base_url(&f->rs, f->base, sizeof f->base);
    memset(&f->lm, 0, sizeof f->lm);
    f->lm.model = "openai/fixture";
    f->lm.base_url = f->base;
    f->lm.params = dsp_lm_params_default();
    redis_start(&f->redis);
    snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d", f->redis.port);
    make_requests();
    /* A hung test fails instead of hanging the suite. */
    alarm(60);
}

static void teardown(fixture *f)
{
    alarm(0);
    redis_stop(&f->redis);
    rs_proc_stop(&f->rs, 10000, NULL);
}

/* n jobs at once, every one succeeding; b's arrays sized n. Returns the
 * wall time in seconds. */
static double run_batch(batch *b, size_t n)
{
    b->seq = 0;
    b->t0 = now_s();
    assert_int_equal(dsp_loop_run_each(n, (int)n, job, b), 0);
    return now_s() - b->t0;
}

/* n jobs, job i asking request i on c (tests change some). */
static batch batch_new(size_t n, const dsp_lm_config *lm, dsp_client *c)
{
    batch b = {calloc(n, sizeof(dsp_client *)), lm, calloc(n, sizeof(int)), calloc(n, sizeof(int)),
               calloc(n, sizeof(double)), 0, calloc(n, sizeof(bool)), calloc(n, sizeof(char *)), 0};
    assert_true(b.client && b.req && b.done_seq && b.done_at && b.hit && b.text);
    for (size_t i = 0; i < n; i++) {
        b.client[i] = c;
        b.req[i] = (int)i;
    }
    return b;
}

static void batch_free(batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b->text[i]);
    free(b->client);
    free(b->req);
    free(b->done_seq);
    free(b->done_at);
    free(b->hit);
    free(b->text);
}

/* While job 0's lookup waits on a paused Redis, the jobs answered from
 * the local cache and the jobs whose requests are on the wire (a client
 * without a cache, the fixture 30 ms slow) all finish; job 0 then gets
 * the row another machine shared. Blocking the loop's thread in the
 * lookup, job 0 would finish first. */
static void test_a_slow_lookup_leaves_the_loop_running(void **state)
{
    (void)state;
    fixture f;
    setup(&f, (const char *const[]){"--latency-ms", "30", NULL});
    char *dir_a = new_dir(), *dir_b = new_dir();
    warned w = {0};
    /* Machine A shares request 0's reply; machine B has 1..8 locally. */
    dsp_client *a = client(dir_a, f.url, &w);
    ask(a, &f.lm, 0, 1);
    dsp_chat_response want;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(a, &f.lm, &reqs[0], &want, &err), DSP_OK);
    dsp_client *b = client(dir_b, f.url, &w);
    ask(b, &f.lm, 1, 9);
    dsp_client *plain = client(NULL, NULL, &w);
    enum { HITS = 8, WIRE = 8, N = 1 + HITS + WIRE };
    batch bt = batch_new(N, &f.lm, b);
    for (int i = HITS + 1; i < N; i++) {
        bt.client[i] = plain;
        bt.req[i] = 100 + i;
    }
    /* Redis holds every command for 300 ms (within the 1 s a command has). */
    assert_true(redis_do(&f.redis, "CLIENT PAUSE %s ALL", "300", NULL));
    double wall = run_batch(&bt, N);
    assert_int_equal(atomic_load(&w.n), 0);
    assert_true(bt.hit[0]);
    assert_string_equal(bt.text[0], want.choices[0]);
    for (int i = 1; i < N; i++) {
        if (bt.done_seq[i] > bt.done_seq[0])
            fail_msg("job %d (%s) finished after the lookup waiting on Redis (%.2f s in all)", i,
                     i <= HITS ? "a local hit" : "a request on the wire", wall);
        assert_true(i <= HITS ? bt.hit[i] : !bt.hit[i]);
    }
    assert_int_equal(bt.done_seq[0], N - 1);
    double hits_by = 0, wire_by = 0;
    for (int i = 1; i < N; i++) {
        double *by = i <= HITS ? &hits_by : &wire_by;
        if (bt.done_at[i] > *by)
            *by = bt.done_at[i];
    }
    print_message("local hits done by %.1f ms, requests on the wire (30 ms) by %.1f ms, the lookup waiting on "
                  "Redis at %.1f ms\n",
                  hits_by * 1000, wire_by * 1000, bt.done_at[0] * 1000);
    dsp_chat_response_free(&want);
    batch_free(&bt, N);
    dsp_client_free(plain);
    dsp_client_free(b);
    dsp_client_free(a);
    rm_dir(dir_a);
    rm_dir(dir_b);
    teardown(&f);
}

/* Three times as many lookups as the pool has connections, Redis paused
 * 150 ms: every one gets its row, none warns, within about one pause. */
static void test_more_lookups_than_connections(void **state)
{
    (void)state;
    fixture f;
    setup(&f, NULL);
    char *dir_a = new_dir(), *dir_b = new_dir();
    warned w = {0};
    enum { N = 3 * DSP_REMOTE_POOL };
    dsp_client *a = client(dir_a, f.url, &w);
    ask(a, &f.lm, 0, N);
    dsp_client *b = client(dir_b, f.url, &w);
    batch bt = batch_new(N, &f.lm, b);
    /* Short: the 8 lookups waiting it out each count as a slow command
     * (cache_remote.h, DSP_REMOTE_LATE_BUDGET_MS). */
    assert_true(redis_do(&f.redis, "CLIENT PAUSE %s ALL", "150", NULL));
    double wall = run_batch(&bt, N);
    for (int i = 0; i < N; i++)
        if (!bt.hit[i])
            fail_msg("lookup %d was a miss (%d warnings: %s)", i, atomic_load(&w.n), w.last);
    assert_int_equal(atomic_load(&w.n), 0);
    /* Not DSP_REMOTE_COMMAND_MS or more: none timed out waiting. */
    if (wall >= DSP_REMOTE_COMMAND_MS / 1000.0)
        fail_msg("%d lookups took %.2f s", N, wall);
    batch_free(&bt, N);
    dsp_client_free(b);
    dsp_client_free(a);
    rm_dir(dir_a);
    rm_dir(dir_b);
    teardown(&f);
}

/* 200 calls in one batch: flushes fall due inside jobs (every 64 rows)
 * while Redis holds writes 300 ms; the batch completes and Redis holds
 * every row, shared with no warning. */
static void test_stores_from_jobs(void **state)
{
    (void)state;
    fixture f;
    setup(&f, NULL);
    char *dir = new_dir();
    warned w = {0};
    enum { N = 200 };
    dsp_client *c = client(dir, f.url, &w);
    batch bt = batch_new(N, &f.lm, c);
    assert_true(redis_do(&f.redis, "CLIENT PAUSE %s WRITE", "300", NULL));
    run_batch(&bt, N);
    dsp_error err = {0};
    assert_int_equal(dsp_client_flush(c, &err), DSP_OK);
    long long keys = 0;
    assert_true(redis_do(&f.redis, "DBSIZE%s", "", &keys));
    assert_int_equal(keys, N);
    assert_int_equal(atomic_load(&w.n), 0);
    batch_free(&bt, N);
    dsp_client_free(c);
    rm_dir(dir);
    teardown(&f);
}

/* A Redis that stops answering: the lookups of one batch time out with
 * one warning, local hits finish first, and every job gets its answer
 * from the LM. */
static void test_a_silent_redis_warns_once(void **state)
{
    (void)state;
    fixture f;
    setup(&f, NULL);
    char *dir = new_dir();
    warned w = {0};
    enum { HITS = 4, MISSES = 12, N = HITS + MISSES };
    dsp_client *c = client(dir, f.url, &w);
    ask(c, &f.lm, 0, HITS);
    batch bt = batch_new(N, &f.lm, c);
    /* The misses first: they start their lookups before the hits run. */
    for (int i = 0; i < N; i++)
        bt.req[i] = i < MISSES ? 100 + i : i - MISSES;
    kill(f.redis.pid, SIGSTOP);
    double wall = run_batch(&bt, N);
    kill(f.redis.pid, SIGCONT);
    assert_int_equal(atomic_load(&w.n), 1);
    assert_non_null(strstr(w.last, "no answer within"));
    int first_miss_done = N;
    for (int i = 0; i < MISSES; i++) {
        assert_false(bt.hit[i]);
        assert_non_null(bt.text[i]);
        if (bt.done_seq[i] < first_miss_done)
            first_miss_done = bt.done_seq[i];
    }
    for (int i = MISSES; i < N; i++) {
        assert_true(bt.hit[i]);
        if (bt.done_seq[i] > first_miss_done)
            fail_msg("local hit %d finished after a lookup that timed out", i);
    }
    /* One command's budget (and the LM calls after it), not one per lookup. */
    if (wall > 2.0 * DSP_REMOTE_COMMAND_MS / 1000.0 + 1.0)
        fail_msg("%.2f s for lookups that each wait at most %d ms", wall, DSP_REMOTE_COMMAND_MS);
    batch_free(&bt, N);
    dsp_client_free(c);
    rm_dir(dir);
    teardown(&f);
}

int main(void)
{
    rs_proc_binary(bin, sizeof bin);
    srand((unsigned)getpid());
    setenv("OPENAI_API_KEY", "sk-test-loop-redis-0123456789", 1);
    unsetenv("DSPCC_BASE_URL");
    unsetenv("DSPCC_CACHE_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_slow_lookup_leaves_the_loop_running),
        cmocka_unit_test(test_more_lookups_than_connections),
        cmocka_unit_test(test_stores_from_jobs),
        cmocka_unit_test(test_a_silent_redis_warns_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
