/* test_ratelimit_refserver.c — rate limits and several endpoints against
 * dsp-refserver (the FIXTURE), asserted from what the fixture saw (its
 * request log: arrival times and requests in the server), not from the
 * test's clock:
 *   - an lm's rpm spaces the requests of a batch at its rate;
 *   - on 429 from a server that takes only 4 requests at once the client
 *     lowers its concurrency, and later requests no longer pile up;
 *   - an lm with two base URLs, one of them dead, sends every call to the
 *     live one at once (no backoff wait), and two live ones share calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dsp/client.h"

#include "../support/refserver_proc.h"

static char bin[512];
static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp_rl_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct server {
    rs_proc p;
    char base[64];
    char log[128];
} server;

/* Starts the fixture logging to a file of its own, with extra arguments. */
static void start(server *s, const char *name, const char *const *more)
{
    snprintf(s->log, sizeof s->log, "%s/%s.jsonl", tmpdir, name);
    const char *args[16] = {"--log", s->log};
    size_t n = 2;
    for (size_t i = 0; more && more[i] && n < 15; i++)
        args[n++] = more[i];
    args[n] = NULL;
    if (!rs_proc_start(&s->p, args))
        fail_msg("%s printed no port", bin);
    rs_proc_base_url(&s->p, s->base, sizeof s->base);
}

static void stop(server *s)
{
    rs_proc_stop(&s->p, 10000, NULL);
}

/* One chat request of the log: when it arrived, what the server held. */
typedef struct seen {
    double t_ms;
    double mono_ms; /* the arrival on CLOCK_MONOTONIC */
    int in_flight;
    int status;
} seen;

/* The chat requests of s's log, in the order they were logged. */
static size_t read_log(const server *s, seen *out, size_t max)
{
    FILE *f = fopen(s->log, "r");
    assert_non_null(f);
    char line[65536];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t_ms");
        if (cJSON_IsNumber(t)) {
            out[n].t_ms = t->valuedouble;
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mono_ms");
            out[n].mono_ms = cJSON_IsNumber(m) ? m->valuedouble : 0;
            out[n].in_flight = cJSON_GetObjectItemCaseSensitive(o, "in_flight")->valueint;
            out[n].status = cJSON_GetObjectItemCaseSensitive(o, "status")->valueint;
            n++;
        }
        cJSON_Delete(o);
    }
    fclose(f);
    return n;
}

static int cmp_t(const void *a, const void *b)
{
    double x = ((const seen *)a)->t_ms, y = ((const seen *)b)->t_ms;
    return (x > y) - (x < y);
}

static int cmp_mono(const void *a, const void *b)
{
    double x = ((const seen *)a)->mono_ms, y = ((const seen *)b)->mono_ms;
    return (x > y) - (x < y);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static dsp_client *client(int max_in_flight, int retries, double backoff, double deadline)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_in_flight = max_in_flight;
    o.max_retries = retries;
    o.backoff_base_s = backoff;
    o.deadline_s = deadline;
    unsetenv("DSPCC_BASE_URL");
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    return c;
}

enum { N = 64 };
static char texts[N][96];
static dsp_message msgs[N][1];
static dsp_chat_request reqs[N];
static dsp_chat_response resps[N];
static dsp_status sts[N];

static void make_requests(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(texts[i], sizeof texts[i], "[[ ## ticket_text ## ]]\nrequest %zu", i);
        msgs[i][0].role = DSP_ROLE_USER;
        msgs[i][0].content = texts[i];
        memset(&reqs[i], 0, sizeof reqs[i]);
        reqs[i].messages = msgs[i];
        reqs[i].n_messages = 1;
        reqs[i].params = dsp_lm_params_default();
    }
}

static dsp_lm_config lm_at(const char *base)
{
    dsp_lm_config lm;
    memset(&lm, 0, sizeof lm);
    lm.model = "openai/fixture";
    lm.base_url = base;
    lm.params = dsp_lm_params_default();
    return lm;
}

static void all_ok(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sts[i], DSP_OK);
        dsp_chat_response_free(&resps[i]);
    }
}

/* rpm 600: a request starts at most every 100 ms. What the pacer decided
 * is read against the machine's clock: the k-th request (k from 0) may not
 * start before the batch began plus k x 100 ms, and no request arrives
 * before it started, so the k-th arrival the server logged (mono_ms, the
 * same CLOCK_MONOTONIC) is at least that late. Load can only delay an
 * arrival, never bring one early, so this holds on a busy machine (the
 * check between arrivals, with 50 ms of slack, failed when one request was
 * delayed 75 ms); a limiter 5% fast ends 55 ms early, and one that lets
 * two go at once sends the second 100 ms early. */
static void rpm_paces_a_batch(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    start(&s, "rpm", NULL);
    dsp_client *c = client(32, 0, 0.01, 60);
    dsp_lm_config lm = lm_at(s.base);
    lm.rpm = 600;
    make_requests(12);
    double began_ms = now_s() * 1e3;
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, 12, resps, sts, NULL), DSP_OK);
    all_ok(12);
    dsp_client_free(c);
    stop(&s);
    seen v[64];
    size_t n = read_log(&s, v, 64);
    assert_int_equal(n, 12);
    qsort(v, n, sizeof *v, cmp_mono);
    for (size_t k = 0; k < n; k++) {
        /* 0.01 ms: the log's rounding. */
        double earliest = began_ms + (double)k * 100.0 - 0.01;
        if (v[k].mono_ms < earliest)
            fail_msg("request %zu arrived %.1f ms after the batch began, rpm 600 allows no sooner than %.0f", k,
                     v[k].mono_ms - began_ms, (double)k * 100.0);
    }
}

/* A server that takes 4 requests at once and refuses the rest with 429
 * (Retry-After 100 ms); the client starts with 32 in flight. It cuts its
 * window on the first refusals, so the refusals stay few and, once it has
 * adapted, requests no longer arrive 32 at a time. */
static void a_429_lowers_the_concurrency(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    const char *args[] = {"--max-concurrent", "4", "--retry-after-ms", "100", "--latency-ms", "60", NULL};
    start(&s, "aimd", args);
    dsp_client *c = client(32, 30, 0.05, 120);
    dsp_lm_config lm = lm_at(s.base);
    make_requests(N);
    dsp_status st = dsp_chat_batch(c, &lm, reqs, N, resps, sts, NULL);
    assert_int_equal(st, DSP_OK);
    all_ok(N);
    dsp_client_free(c);
    stop(&s);
    static seen v[4096];
    size_t n = read_log(&s, v, 4096);
    qsort(v, n, sizeof *v, cmp_t);
    size_t refused = 0, served = 0;
    for (size_t i = 0; i < n; i++) {
        refused += v[i].status == 429;
        served += v[i].status == 200;
    }
    assert_int_equal(served, N);
    /* Without the cut, each of the 64 calls would be refused round after
     * round (about 28 of every 32 sent): hundreds of 429s. */
    print_message("429s: %zu for %d calls\n", refused, N);
    assert_true(refused < (size_t)N);
    /* The first 32 requests came at once and most were refused; once the
     * client adapted, few of its requests are. */
    size_t early = 0, late = 0;
    for (size_t i = 0; i < 32 && i < n; i++)
        early += v[i].status == 429;
    for (size_t i = n >= 32 ? n - 32 : 0; i < n; i++)
        late += v[i].status == 429;
    print_message("429s among the first 32 requests: %zu, among the last 32: %zu\n", early, late);
    assert_true(early >= 20);
    assert_true(late <= 10);
}

/* A port nothing listens on: connections to it are refused. */
static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* One base URL dead, one live: every call succeeds, though a backoff wait
 * (10 s) would pass the calls' deadline (3 s): the retry after a refused
 * connection goes to the live endpoint at once. The live fixture serves
 * each call exactly once. */
static void a_dead_endpoint_fails_over_at_once(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server live;
    start(&live, "live", NULL);
    char bases[160];
    snprintf(bases, sizeof bases, "http://127.0.0.1:%u/v1 %s", dead_port(), live.base);
    dsp_client *c = client(8, 3, 10.0, 3.0);
    dsp_lm_config lm = lm_at(bases);
    make_requests(20);
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, 20, resps, sts, NULL), DSP_OK);
    all_ok(20);
    /* Then one at a time: the dead one is skipped while it is down. */
    for (size_t i = 0; i < 6; i++) {
        dsp_error err = {0};
        assert_int_equal(dsp_chat(c, &lm, &reqs[i], &resps[i], &err), DSP_OK);
        dsp_chat_response_free(&resps[i]);
    }
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, 26);
    /* At most the first round of the batch tried the dead one. */
    assert_true(u.http_requests - 26 <= 8);
    dsp_client_free(c);
    stop(&live);
    seen v[64];
    assert_int_equal(read_log(&live, v, 64), 26);
}

/* Of two endpoints, one answers every request 429 asking to wait 10 min
 * (an exhausted quota): the calls go to the other, none fails, and the
 * held one gets no request while it asked to be left alone. */
static void an_endpoint_asking_to_wait_is_passed_over(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server held, live;
    const char *args[] = {"--fail-rate", "1", "--fail-kinds", "429", "--retry-after-ms", "600000", NULL};
    start(&held, "held", args);
    start(&live, "live2", NULL);
    char bases[160];
    snprintf(bases, sizeof bases, "%s %s", held.base, live.base);
    dsp_client *c = client(8, 3, 0.01, 5.0);
    dsp_lm_config lm = lm_at(bases);
    make_requests(10);
    double t0 = now_s();
    for (size_t i = 0; i < 10; i++) {
        dsp_error err = {0};
        dsp_status st = dsp_chat(c, &lm, &reqs[i], &resps[i], &err);
        if (st != DSP_OK)
            fail_msg("call %zu failed: %s", i, err.message);
        dsp_chat_response_free(&resps[i]);
    }
    /* No call waited out the 10 min, nor the 30 s a retry may wait. */
    assert_true(now_s() - t0 < 20.0);
    dsp_client_free(c);
    stop(&held);
    stop(&live);
    seen v[64];
    assert_int_equal(read_log(&held, v, 64), 1);
    assert_int_equal(read_log(&live, v, 64), 10);
}

/* Two live endpoints share calls made one at a time, in turn; a 5xx from
 * one sends the retry to the other. */
static void two_endpoints_share_the_calls(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server a, b;
    start(&a, "a", NULL);
    const char *failing[] = {"--fail-rate", "1", "--fail-kinds", "503", NULL};
    start(&b, "b", NULL);
    char bases[160];
    snprintf(bases, sizeof bases, "%s %s", a.base, b.base);
    dsp_client *c = client(8, 3, 10.0, 3.0);
    dsp_lm_config lm = lm_at(bases);
    make_requests(10);
    for (size_t i = 0; i < 10; i++) {
        dsp_error err = {0};
        assert_int_equal(dsp_chat(c, &lm, &reqs[i], &resps[i], &err), DSP_OK);
        dsp_chat_response_free(&resps[i]);
    }
    dsp_client_free(c);
    stop(&a);
    stop(&b);
    seen v[64];
    assert_int_equal(read_log(&a, v, 64), 5);
    assert_int_equal(read_log(&b, v, 64), 5);

    /* b answers 503 to everything: calls end on a, without a backoff wait
     * (10 s, past the 3 s deadline). */
    server a2, b2;
    start(&a2, "a2", NULL);
    start(&b2, "b2", failing);
    snprintf(bases, sizeof bases, "%s %s", b2.base, a2.base);
    c = client(8, 3, 10.0, 3.0);
    lm = lm_at(bases);
    for (size_t i = 0; i < 4; i++) {
        dsp_error err = {0};
        assert_int_equal(dsp_chat(c, &lm, &reqs[i], &resps[i], &err), DSP_OK);
        dsp_chat_response_free(&resps[i]);
    }
    dsp_client_free(c);
    stop(&a2);
    stop(&b2);
    assert_int_equal(read_log(&a2, v, 64), 4);
    assert_int_equal(read_log(&b2, v, 64), 1); /* tried once, then left alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rpm_paces_a_batch),
        cmocka_unit_test(a_429_lowers_the_concurrency),
        cmocka_unit_test(a_dead_endpoint_fails_over_at_once),
        cmocka_unit_test(two_endpoints_share_the_calls),
        cmocka_unit_test(an_endpoint_asking_to_wait_is_passed_over),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
