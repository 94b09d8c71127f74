/* test_cache_pool.c — the shared cache's connection pool, against a
 * stand-in Redis on 127.0.0.1 that answers every GETRANGE after a delay:
 * lookups from several threads at once each get a connection of their own
 * (they overlap, so four take about one delay, not four), never more than
 * DSP_REMOTE_POOL are opened, and a server that stops answering turns the
 * remote off with one warning while every waiting lookup returns.
 * (tests/runtime/redis_cache.sh runs the cache against a real
 * redis-server, TLS included.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/src/cache_remote.h"

typedef struct fake_redis {
    int listen_fd;
    unsigned port;
    int delay_ms;          /* before each answer; < 0: never answer */
    atomic_int accepted;   /* connections */
    atomic_int in_command; /* lookups being answered at once, and the most seen */
    atomic_int most;
    atomic_bool stop;
    pthread_t thread;
} fake_redis;

typedef struct fake_conn {
    fake_redis *f;
    int fd;
} fake_conn;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* The row stored under KEY, as a shared row names its key; a lookup
 * returns the row without the name. */
#define ROW "{\"key\":\"" KEY "\",\"x\":1}"
#define WANT "{\"x\":1}"

/* Answers each GETRANGE in what arrives with ROW, after the delay. */
static void *serve_conn(void *arg)
{
    fake_conn *fc = arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fc->fd, buf, sizeof buf - 1, 0)) > 0) {
        buf[n] = '\0';
        for (const char *p = buf; (p = strstr(p, "GETRANGE")) != NULL; p += 8) {
            if (fc->f->delay_ms < 0)
                continue;
            int now = atomic_fetch_add(&fc->f->in_command, 1) + 1;
            int most = atomic_load(&fc->f->most);
            while (now > most && !atomic_compare_exchange_weak(&fc->f->most, &most, now))
                ;
            sleep_ms(fc->f->delay_ms);
            atomic_fetch_sub(&fc->f->in_command, 1);
            char reply[160];
            int rl = snprintf(reply, sizeof reply, "$%zu\r\n%s\r\n", strlen(ROW), ROW);
            if (send(fc->fd, reply, (size_t)rl, MSG_NOSIGNAL) != rl)
                break;
        }
    }
    close(fc->fd);
    free(fc);
    return NULL;
}

static void *accept_loop(void *arg)
{
    fake_redis *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        if (atomic_load(&f->stop)) {
            close(fd);
            break;
        }
        atomic_fetch_add(&f->accepted, 1);
        fake_conn *fc = malloc(sizeof *fc);
        assert_non_null(fc);
        fc->f = f;
        fc->fd = fd;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, serve_conn, fc), 0);
        pthread_detach(t);
    }
    return NULL;
}

static void fake_start(fake_redis *f, int delay_ms)
{
    memset(f, 0, sizeof *f);
    f->delay_ms = delay_ms;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->listen_fd, 64), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, accept_loop, f), 0);
}

static void fake_stop(fake_redis *f)
{
    atomic_store(&f->stop, true);
    /* Wake accept() with a connection of our own. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)f->port);
    (void)connect(fd, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

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

typedef struct lookup {
    dsp_remote_cache *r;
    pthread_barrier_t *go;
    char *value;
} lookup;

static void *do_lookup(void *arg)
{
    lookup *l = arg;
    pthread_barrier_wait(l->go);
    l->value = dsp_remote_cache_get(l->r, KEY);
    return NULL;
}

/* n lookups at once; returns their wall time in seconds. */
static double lookups_at_once(dsp_remote_cache *r, int n, char **values)
{
    pthread_t t[32];
    lookup l[32];
    pthread_barrier_t go;
    assert_true(n <= 32);
    pthread_barrier_init(&go, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        l[i] = (lookup){r, &go, NULL};
        assert_int_equal(pthread_create(&t[i], NULL, do_lookup, &l[i]), 0);
    }
    pthread_barrier_wait(&go);
    double start = now_s();
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        values[i] = l[i].value;
    }
    pthread_barrier_destroy(&go);
    return now_s() - start;
}

static dsp_remote_cache *open_fake(const fake_redis *f, warned *w)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%u", f->port);
    dsp_remote_cache *r = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_remote_cache_open(url, on_warn, w, &r, &err), DSP_OK);
    assert_non_null(r);
    return r;
}

static void test_lookups_from_several_threads_overlap(void **state)
{
    (void)state;
    fake_redis f;
    fake_start(&f, 300);
    warned w = {0};
    dsp_remote_cache *r = open_fake(&f, &w);
    char *values[4];
    double wall = lookups_at_once(r, 4, values);
    for (int i = 0; i < 4; i++) {
        assert_non_null(values[i]);
        assert_string_equal(values[i], WANT);
        free(values[i]);
    }
    /* One at a time they would take 4 x 300 ms. */
    if (atomic_load(&f.most) < 2 || wall >= 1.1)
        fail_msg("at most %d lookups at once, %.2f s for 4 of 300 ms each", atomic_load(&f.most), wall);
    assert_true(atomic_load(&f.accepted) >= 2);
    assert_int_equal(atomic_load(&w.n), 0);
    /* The connections stay open for the next lookups: none is added. */
    int before = atomic_load(&f.accepted);
    lookups_at_once(r, 2, values);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(values[i], WANT);
        free(values[i]);
    }
    assert_int_equal(atomic_load(&f.accepted), before);
    dsp_remote_cache_close(r);
    fake_stop(&f);
}

static void test_the_pool_is_bounded(void **state)
{
    (void)state;
    fake_redis f;
    fake_start(&f, 100);
    warned w = {0};
    dsp_remote_cache *r = open_fake(&f, &w);
    int n = DSP_REMOTE_POOL + 8;
    char *values[32];
    lookups_at_once(r, n, values);
    for (int i = 0; i < n; i++) {
        assert_non_null(values[i]);
        free(values[i]);
    }
    assert_true(atomic_load(&f.accepted) <= DSP_REMOTE_POOL);
    assert_true(atomic_load(&f.most) <= DSP_REMOTE_POOL);
    assert_int_equal(atomic_load(&w.n), 0);
    dsp_remote_cache_close(r);
    fake_stop(&f);
}

/* A server that stops answering: every lookup returns a miss within the
 * command timeout, one warning in all, and the remote stays off. */
static void test_a_silent_server_turns_the_remote_off_once(void **state)
{
    (void)state;
    fake_redis f;
    fake_start(&f, -1);
    warned w = {0};
    dsp_remote_cache *r = open_fake(&f, &w);
    char *values[6];
    double wall = lookups_at_once(r, 6, values);
    for (int i = 0; i < 6; i++)
        assert_null(values[i]);
    assert_int_equal(atomic_load(&w.n), 1);
    assert_non_null(strstr(w.last, "no answer within"));
    if (wall > 2.0 * DSP_REMOTE_COMMAND_MS / 1000.0 + 0.5)
        fail_msg("%.2f s for lookups that each wait at most %d ms", wall, DSP_REMOTE_COMMAND_MS);
    int before = atomic_load(&f.accepted);
    assert_null(dsp_remote_cache_get(r, "00"));
    assert_int_equal(atomic_load(&f.accepted), before);
    assert_int_equal(atomic_load(&w.n), 1);
    dsp_remote_cache_close(r);
    fake_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups_from_several_threads_overlap),
        cmocka_unit_test(test_the_pool_is_bounded),
        cmocka_unit_test(test_a_silent_server_turns_the_remote_off_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
