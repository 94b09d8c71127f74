/* test_cache_remote.c — the shared cache (cache_remote.c, DSPCC_CACHE_URL)
 * against a hostile Redis: a small RESP server in this file, on 127.0.0.1,
 * that behaves as each test asks. Whatever it does, a lookup ends within
 * its documented bound (DSP_REMOTE_COMMAND_MS) with at most one warning,
 * reads no more than the value bound, never prints the password it was
 * sent, and never gets a row into the local file that is not the row of
 * the key asked for, or that holds a piece of the API key. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dsp/client.h"
#include "../../runtime/src/cache.h"
#include "../../runtime/src/cache_remote.h"

#define TEST_KEY "sk-remote-test-KEY-7d1e5a93c4b2"
#define PASSWORD "hunter2-redis-pass-word"

/* ---- the hostile Redis ---------------------------------------------------- */

typedef enum {
    R_NORMAL,     /* SET stores, GETRANGE reads (a real Redis, roughly) */
    R_OTHER_KEY,  /* GETRANGE answers the last value SET, whatever the key */
    R_LEAK_ROW,   /* GETRANGE answers a well-formed row for the key asked, quoting the API key */
    R_ECHO_AUTH,  /* AUTH is refused quoting the password sent */
    R_DRIP,       /* GETRANGE: a 300-byte bulk string, one byte every 100 ms */
    R_HUGE,       /* GETRANGE: a 2 GB bulk string, sent as fast as it goes */
    R_GARBAGE,    /* every command: an HTTP reply, not RESP */
    R_SLOW,       /* GETRANGE: a miss, answered 700 ms late (within DSP_REMOTE_COMMAND_MS) */
    R_SLOW_CLOCK, /* GETRANGE: a miss, answered at once, 700 ms later on the test's clock */
} redis_mode;

/* The test's clock for the remote (dsp_remote_cache_set_clock), in ms:
 * R_SLOW_CLOCK moves it on as a slow server would, the test lets hours
 * pass, and nobody waits. */
static atomic_long fake_ms;

static struct {
    int fd;
    unsigned short port;
    pthread_t thread;
    atomic_bool stopping;
    atomic_int mode;
    atomic_llong sent; /* bytes written to clients */
    pthread_mutex_t lock;
    char keys[8][128];
    char *values[8];
    size_t n;
    char *last;
} R;

static bool send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        atomic_fetch_add(&R.sent, w);
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

static bool send_bulk(int fd, const char *v, size_t n)
{
    char head[32];
    snprintf(head, sizeof head, "$%zu\r\n", n);
    return send_str(fd, head) && send_all(fd, v, n) && send_str(fd, "\r\n");
}

/* Parses one RESP array of bulk strings from buf[0..len): the number of
 * bytes it took (0: incomplete), args[i]/arglen[i] pointing into buf. */
static size_t parse_command(const char *buf, size_t len, const char **args, size_t *arglen, int *nargs)
{
    const char *end = buf + len, *p = buf;
    if (len < 4 || *p != '*')
        return 0;
    char *stop;
    long n = strtol(p + 1, &stop, 10);
    p = strstr(stop, "\r\n");
    if (!p || n < 1 || n > 8)
        return 0;
    p += 2;
    for (long i = 0; i < n; i++) {
        if (p >= end || *p != '$')
            return 0;
        long l = strtol(p + 1, &stop, 10);
        const char *nl = memmem(stop, (size_t)(end - stop), "\r\n", 2);
        if (!nl || nl + 2 + l + 2 > end)
            return 0;
        args[i] = nl + 2;
        arglen[i] = (size_t)l;
        p = nl + 2 + l + 2;
    }
    *nargs = (int)n;
    return (size_t)(p - buf);
}

static bool is_cmd(const char *a, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(a, name, n) == 0;
}

static bool answer(int fd, const char **a, const size_t *l, int n)
{
    int mode = atomic_load(&R.mode);
    if (mode == R_GARBAGE)
        return send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    if (is_cmd(a[0], l[0], "AUTH")) {
        if (mode != R_ECHO_AUTH)
            return send_str(fd, "+OK\r\n");
        char msg[300];
        snprintf(msg, sizeof msg, "-WRONGPASS the password '%.*s' is not this server's\r\n", (int)l[n - 1], a[n - 1]);
        return send_str(fd, msg);
    }
    if (is_cmd(a[0], l[0], "SET") && n == 3) {
        pthread_mutex_lock(&R.lock);
        free(R.last);
        R.last = strndup(a[2], l[2]);
        if (R.n < 8 && l[1] < 128) {
            snprintf(R.keys[R.n], sizeof R.keys[R.n], "%.*s", (int)l[1], a[1]);
            R.values[R.n++] = strndup(a[2], l[2]);
        }
        pthread_mutex_unlock(&R.lock);
        return send_str(fd, "+OK\r\n");
    }
    if (is_cmd(a[0], l[0], "GETRANGE") && n == 4) {
        if (mode == R_DRIP) {
            if (!send_str(fd, "$300\r\n"))
                return false;
            for (int i = 0; i < 300 && !atomic_load(&R.stopping); i++) {
                if (!send_str(fd, "x"))
                    return false;
                usleep(100 * 1000);
            }
            return send_str(fd, "\r\n");
        }
        if (mode == R_SLOW_CLOCK) {
            atomic_fetch_add(&fake_ms, 700);
            return send_bulk(fd, "", 0);
        }
        if (mode == R_SLOW) {
            for (int i = 0; i < 14 && !atomic_load(&R.stopping); i++)
                usleep(50 * 1000);
            return send_bulk(fd, "", 0);
        }
        if (mode == R_HUGE) {
            static char chunk[65536];
            memset(chunk, 'y', sizeof chunk);
            if (!send_str(fd, "$2000000000\r\n"))
                return false;
            for (long long i = 0; i < 2000000000LL / (long long)sizeof chunk && !atomic_load(&R.stopping); i++)
                if (!send_all(fd, chunk, sizeof chunk))
                    return false;
            return false;
        }
        if (mode == R_LEAK_ROW) {
            /* The key asked for, after the prefix: a row that names it. */
            const char *k = a[1];
            size_t kl = l[1];
            size_t pl = strlen(DSP_REMOTE_KEY_PREFIX);
            char row[512];
            int m = snprintf(row, sizeof row,
                             "{\"key\":\"%.*s\",\"choices\":[\"category: billing (key " TEST_KEY ")\"],"
                             "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
                             (int)(kl > pl ? kl - pl : 0), k + (kl > pl ? pl : 0));
            return send_bulk(fd, row, (size_t)m);
        }
        pthread_mutex_lock(&R.lock);
        const char *v = mode == R_OTHER_KEY ? R.last : NULL;
        for (size_t i = 0; !v && i < R.n; i++)
            if (strlen(R.keys[i]) == l[1] && memcmp(R.keys[i], a[1], l[1]) == 0)
                v = R.values[i];
        bool ok = send_bulk(fd, v ? v : "", v ? strlen(v) : 0);
        pthread_mutex_unlock(&R.lock);
        return ok;
    }
    return send_str(fd, "+OK\r\n"); /* SELECT, anything else */
}

static void serve(int fd)
{
    static char buf[1 << 16];
    size_t len = 0;
    while (!atomic_load(&R.stopping)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        const char *args[8];
        size_t arglen[8];
        int n;
        size_t used;
        while ((used = parse_command(buf, len, args, arglen, &n)) > 0) {
            if (!answer(fd, args, arglen, n))
                return;
            memmove(buf, buf + used, len - used);
            len -= used;
        }
        if (len == sizeof buf)
            return;
    }
}

static void *redis_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&R.stopping)) {
        struct pollfd p = {R.fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(R.fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(c);
        close(c);
    }
    return NULL;
}

static char tmpdir[64];
static char url[128];

static int start(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    pthread_mutex_init(&R.lock, NULL);
    R.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (R.fd < 0 || bind(R.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(R.fd, 8) != 0 ||
        getsockname(R.fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    R.port = ntohs(a.sin_port);
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", R.port);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp_remote_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    setenv("DSP_REMOTE_TEST_KEY", TEST_KEY, 1);
    unsetenv("DSPCC_BASE_URL");
    unsetenv("DSPCC_CACHE_URL");
    return pthread_create(&R.thread, NULL, redis_main, NULL) == 0 ? 0 : -1;
}

static int stop(void **state)
{
    (void)state;
    atomic_store(&R.stopping, true);
    pthread_join(R.thread, NULL);
    close(R.fd);
    for (size_t i = 0; i < R.n; i++)
        free(R.values[i]);
    free(R.last);
    pthread_mutex_destroy(&R.lock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------- */

typedef struct warnings {
    int n;
    char last[1024];
} warnings;

static void on_warn(void *ctx, const char *msg)
{
    warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *k1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *k2 = "2222222222222222222222222222222222222222222222222222222222222222";

static dsp_remote_cache *remote(const char *u, warnings *w)
{
    dsp_remote_cache *r = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_remote_cache_open(u, on_warn, w, &r, &err), DSP_OK);
    assert_non_null(r);
    return r;
}

/* A lookup of k1 that must fail at once or within the command bound. */
static void lookup_is_bounded_miss(dsp_remote_cache *r, warnings *w, double max_s)
{
    double t0 = now_s();
    char *v = dsp_remote_cache_get(r, k1);
    double took = now_s() - t0;
    assert_null(v);
    if (took > max_s)
        fail_msg("the lookup took %.1f s; the bound is %.1f s", took, max_s);
    assert_int_equal(w->n, 1);
    /* Down for the rest of the run: the next lookup asks nothing. */
    t0 = now_s();
    assert_null(dsp_remote_cache_get(r, k2));
    assert_true(now_s() - t0 < 0.1);
    assert_int_equal(w->n, 1);
}

/* ---- tests ------------------------------------------------------------------ */

/* A server that quotes the password back in its refusal: the warning says
 * the server refused, and holds no piece of the password. */
static void password_quoted_back_is_not_printed(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_ECHO_AUTH);
    warnings w = {0};
    char u[200];
    snprintf(u, sizeof u, "redis://:" PASSWORD "@127.0.0.1:%u", R.port);
    dsp_remote_cache *r = remote(u, &w);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "WRONGPASS"));
    assert_null(strstr(w.last, "pass-word"));
    assert_null(strstr(w.last, "hunter2"));
    assert_null(strstr(w.last, "redis-pa"));
    dsp_remote_cache_close(r);
}

/* A value sent a byte at a time (slowloris): each read comes well within
 * the per-read timeout, but the lookup as a whole must end within
 * DSP_REMOTE_COMMAND_MS (and a little scheduling), not after 30 s. */
static void drip_fed_value_ends_within_the_bound(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_DRIP);
    warnings w = {0};
    dsp_remote_cache *r = remote(url, &w);
    lookup_is_bounded_miss(r, &w, DSP_REMOTE_COMMAND_MS / 1000.0 + 1.0);
    assert_non_null(strstr(w.last, "no answer within"));
    dsp_remote_cache_close(r);
}

/* A server that answers every command, each just within its deadline: a
 * run of many lookups would wait that long for each. The time beyond
 * DSP_REMOTE_FAST_MS adds up, and past DSP_REMOTE_LATE_BUDGET_MS the
 * remote is dropped with one warning saying it is too slow. */
static void slow_server_is_dropped_within_the_budget(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_SLOW);
    warnings w = {0};
    dsp_remote_cache *r = remote(url, &w);
    assert_int_equal(w.n, 0);
    double t0 = now_s();
    for (int i = 0; i < 20; i++)
        assert_null(dsp_remote_cache_get(r, i % 2 ? k1 : k2));
    double took = now_s() - t0;
    /* The budget, the command that crosses it, and scheduling: well short
     * of the 14 s the 20 lookups take without it. */
    double bound = (DSP_REMOTE_LATE_BUDGET_MS + 2 * DSP_REMOTE_COMMAND_MS) / 1000.0 + 2.0;
    if (took > bound)
        fail_msg("20 lookups of a server 700 ms slow took %.1f s; the bound is %.1f s", took, bound);
    assert_int_equal(w.n, 1);
    if (!strstr(w.last, "too slow"))
        fail_msg("the warning does not say too slow: %s", w.last);
    assert_non_null(strstr(w.last, "local cache alone"));
    dsp_remote_cache_close(r);
}

static long fake_clock(void *ctx)
{
    (void)ctx;
    return atomic_load(&fake_ms);
}

/* Late time drains with time: a long-running program keeps its shared
 * cache through two spikes, each within the budget, an hour apart (summed
 * over the run they overflow it, which dropped the cache for good), and a
 * server late again and again right after is still dropped. Lateness and
 * the hour are on the test's clock: exact, and no lookup waits. */
static void slow_spikes_far_apart_keep_the_shared_cache(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_SLOW_CLOCK);
    warnings w = {0};
    dsp_remote_cache *r = remote(url, &w);
    atomic_store(&fake_ms, 1000);
    dsp_remote_cache_set_clock(r, fake_clock, NULL);
    /* Each lookup is 500 ms late (700 ms against 200): four are 2 s,
     * under the 3 s budget. */
    for (int i = 0; i < 4; i++)
        assert_null(dsp_remote_cache_get(r, k1));
    assert_int_equal(w.n, 0);
    atomic_fetch_add(&fake_ms, 60L * 60 * 1000);
    for (int i = 0; i < 4; i++)
        assert_null(dsp_remote_cache_get(r, k2));
    if (w.n)
        fail_msg("a second spike an hour after the first dropped the shared cache: %s", w.last);
    /* No time passes but the lookups' own (each drains 7 ms): the bucket
     * holds 2 s less 28 ms, and three more lookups overflow it. */
    for (int i = 0; i < 3; i++)
        assert_null(dsp_remote_cache_get(r, k1));
    assert_int_equal(w.n, 1);
    if (!strstr(w.last, "too slow"))
        fail_msg("the warning does not say too slow: %s", w.last);
    /* Down for the rest of the run: the next lookup asks nothing. */
    long asked = atomic_load(&fake_ms);
    assert_null(dsp_remote_cache_get(r, k1));
    assert_int_equal(atomic_load(&fake_ms), asked);
    assert_int_equal(w.n, 1);
    dsp_remote_cache_close(r);
}

/* A bulk string announced as 2 GB: no more than the value bound (and what
 * the sockets buffer) is read before the lookup gives up. */
static void huge_value_is_not_read_whole(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_HUGE);
    warnings w = {0};
    dsp_remote_cache *r = remote(url, &w);
    lookup_is_bounded_miss(r, &w, DSP_REMOTE_COMMAND_MS / 1000.0 + 1.0);
    dsp_remote_cache_close(r);
    long long sent = atomic_load(&R.sent);
    if (sent > 64LL << 20)
        fail_msg("the server got %lld bytes out before the client gave up", sent);
}

/* A server that does not speak RESP: a miss and one warning. */
static void garbage_reply_is_a_miss(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_GARBAGE);
    warnings w = {0};
    dsp_remote_cache *r = remote(url, &w);
    lookup_is_bounded_miss(r, &w, DSP_REMOTE_COMMAND_MS / 1000.0 + 1.0);
    dsp_remote_cache_close(r);
}

static dsp_cache *cache_in(const char *name, const char *u, warnings *w)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    dsp_cache_set_remote(c, remote(u, w));
    return c;
}

/* A Redis that answers any key with the value stored under another: the
 * row is not taken (it names its key), so machine B's lookup of k2 misses,
 * though its lookup of k1 hits. */
static void value_for_another_key_is_a_miss(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_OTHER_KEY);
    warnings w = {0};
    dsp_error err = {0};
    dsp_cache *a = cache_in("a", url, &w);
    char *choice = "category: billing";
    dsp_chat_response row = {.choices = &choice, .n_choices = 1};
    assert_int_equal(dsp_cache_put(a, k1, &row, &err), DSP_OK);
    assert_int_equal(dsp_cache_flush(a, &err), DSP_OK);
    dsp_cache_close(a);
    assert_non_null(R.last);

    dsp_cache *b = cache_in("b", url, &w);
    dsp_chat_response got;
    memset(&got, 0, sizeof got);
    bool found = true;
    assert_int_equal(dsp_cache_get(b, k2, &got, &found, &err), DSP_OK);
    assert_false(found);
    assert_int_equal(dsp_cache_get(b, k1, &got, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(got.choices[0], "category: billing");
    dsp_chat_response_free(&got);
    dsp_cache_close(b);
    assert_int_equal(w.n, 0);
}

static bool file_holds(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

/* A shared row that holds a piece of the API key (a hostile Redis, or one
 * a leaking machine wrote to): not taken, and not written to the local
 * file, though the LM is down and nothing replaces it. */
static void shared_row_holding_the_key_is_not_kept(void **state)
{
    (void)state;
    atomic_store(&R.mode, R_LEAK_ROW);
    warnings w = {0};
    dsp_client_options o = dsp_client_options_default();
    o.cache_dir = tmpdir;
    o.cache_url = url;
    o.warn = on_warn;
    o.warn_ctx = &w;
    o.max_retries = 0;
    o.backoff_base_s = 0.01;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_lm_config lm;
    memset(&lm, 0, sizeof lm);
    lm.model = "openai/m";
    lm.base_url = "http://127.0.0.1:1/v1"; /* nothing listens: the call fails */
    lm.api_key_env = "DSP_REMOTE_TEST_KEY";
    lm.params = dsp_lm_params_default();
    dsp_message msgs[] = {{.role = DSP_ROLE_USER, .content = "hello"}};
    dsp_chat_request req;
    memset(&req, 0, sizeof req);
    req.messages = msgs;
    req.n_messages = 1;
    req.params = dsp_lm_params_default();
    dsp_chat_response resp;
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_NETWORK);
    assert_null(strstr(err.message, "KEY-7d1e"));
    dsp_client_free(c);
    char path[160];
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    assert_false(file_holds(path, "KEY-7d1e5a93"));
    strcat(path, "-wal");
    assert_false(file_holds(path, "KEY-7d1e5a93"));
    assert_int_equal(w.n, 0);
}

/* An array reply (no command sent asks for one) is refused before hiredis
 * reads its length: it allocated the slots announced, 2.4 GB for these 13
 * bytes (found by tests/fuzz/fuzz_redis.c). Bytes of a reply cut anywhere
 * give the same verdict. */
static void array_reply_is_refused_before_it_is_read(void **state)
{
    (void)state;
    static const char bytes[] = "+OK\r\n*300000000\r\n:1\r\n";
    for (size_t cut = 1; cut < sizeof bytes - 1; cut++) {
        redisReader *rd = redisReaderCreate();
        assert_non_null(rd);
        char why[300] = "";
        void *reply = NULL;
        assert_int_equal(redisReaderFeed(rd, bytes, cut), REDIS_OK);
        int got = dsp_remote_reply_next(rd, &reply, why, sizeof why);
        if (got == 1) { /* +OK */
            freeReplyObject(reply);
            got = dsp_remote_reply_next(rd, &reply, why, sizeof why);
        }
        if (got == 0) {
            assert_int_equal(redisReaderFeed(rd, bytes + cut, sizeof bytes - 1 - cut), REDIS_OK);
            got = dsp_remote_reply_next(rd, &reply, why, sizeof why);
            if (got == 1) {
                freeReplyObject(reply);
                got = dsp_remote_reply_next(rd, &reply, why, sizeof why);
            }
        }
        assert_int_equal(got, -1);
        assert_non_null(strstr(why, "an array"));
        redisReaderFree(rd);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
#define T(f) cmocka_unit_test_setup_teardown(f, start, stop)
    const struct CMUnitTest tests[] = {
        T(password_quoted_back_is_not_printed),
        T(drip_fed_value_ends_within_the_bound),
        T(huge_value_is_not_read_whole),
        T(garbage_reply_is_a_miss),
        T(slow_server_is_dropped_within_the_budget),
        T(slow_spikes_far_apart_keep_the_shared_cache),
        T(value_for_another_key_is_a_miss),
        T(shared_row_holding_the_key_is_not_kept),
        cmocka_unit_test(array_reply_is_refused_before_it_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
