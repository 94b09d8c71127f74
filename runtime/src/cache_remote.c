/* cache_remote.c — the shared response cache in Redis.
 *
 * The local cache (cache.c) decides what is stored: only replies that
 * parsed and hold no piece of a key, keyed by the SHA-256 of the request
 * (never the API key). This file only moves those same rows to and from
 * Redis, under DSP_REMOTE_KEY_PREFIX + key, each value naming its key
 * ({"key":"KEY",...}) so a server that answers a key with another's value
 * is caught. Every command, sent and answered, has DSP_REMOTE_COMMAND_MS
 * in all (a server dripping its reply a byte at a time gets no more), and
 * a reply may hold DSP_REMOTE_MAX_VALUE and a little; the first failure
 * (refused, timed out, too big, not RESP, an error reply such as NOAUTH)
 * warns once and turns the remote off for the rest of the run, so a dead
 * or hostile Redis costs at most one timeout per connection in use, never
 * a hang. A slow one that answers every command in time is dropped the
 * same way once its commands have run DSP_REMOTE_LATE_BUDGET_MS beyond
 * DSP_REMOTE_FAST_MS each, less what has drained since at the budget per
 * DSP_REMOTE_LATE_REFILL_MS (a leaky bucket: spikes far apart are
 * forgiven, a server late all along is not).
 *
 * Connections: libcurl connects (TCP, or TLS for rediss://, verified as
 * HTTPS is, with the CA, certificate and key DSPCC_CACHE_CACERT,
 * DSPCC_CACHE_CERT and DSPCC_CACHE_KEY name) and moves the bytes
 * (CURLOPT_CONNECT_ONLY, curl_easy_send and curl_easy_recv); hiredis
 * formats the commands and parses the replies (the hiredis Debian ships,
 * 0.14, has no TLS of its own). Up to DSP_REMOTE_POOL connections, opened
 * as lookups from several threads overlap, each used by one thread at a
 * time: lookups are not serialized behind one another.
 *
 * Off the event loop's thread's back: a lookup or store made by a job of
 * an event loop (loop.h: eval, optimize, dsp_chat_batch, a generated
 * run_batch) waits for its socket with dsp_loop_wait_fd, and for a free
 * connection with dsp_loop_wait, so while one waits on a slow Redis the
 * loop goes on with every other job: local cache hits answer, transfers
 * move. The deadline, the bounds and the one warning are the same either
 * way. Connecting (at most DSP_REMOTE_POOL times a run, the first when
 * the client is made) still blocks, for DSP_REMOTE_CONNECT_MS at most. */
#include "cache_remote.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "retry.h"
#include "secret.h"

/* The parts of a redis:// URL. */
typedef struct remote_url {
    char host[256];
    int port;
    long db;
    char user[128], password[256];
    bool has_password;
    bool tls; /* rediss:// */
} remote_url;

static dsp_status url_error(dsp_error *err, const char *why)
{
    return dsp_error_set(err, DSP_ERR_ENV,
                         "DSPCC_CACHE_URL: %s; write redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT/DB, "
                         "rediss://HOST:PORT for TLS), or unset it to use the local cache alone",
                         why);
}

/* Copies s[0..n) into out (size cap) or fails. */
static bool copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static dsp_status parse_url(const char *url, remote_url *u, dsp_error *err)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    u->tls = strncmp(url, "rediss://", 9) == 0;
    if (!u->tls && strncmp(url, "redis://", 8) != 0)
        return url_error(err, "the URL does not start with redis:// or rediss://");
    const char *s = url + (u->tls ? 9 : 8);
    const char *end = s + strcspn(s, "/?#");
    const char *at = NULL;
    for (const char *p = s; p < end; p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (!colon)
            return url_error(err, "the part before @ is not USER:PASSWORD or :PASSWORD");
        if (!copy_part(u->user, sizeof u->user, s, (size_t)(colon - s)) ||
            !copy_part(u->password, sizeof u->password, colon + 1, (size_t)(at - colon - 1)))
            return url_error(err, "the user name or password is too long");
        u->has_password = true;
        s = at + 1;
    }
    const char *port = NULL, *host_end;
    if (*s == '[') { /* [::1]:6379 */
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close)
            return url_error(err, "an IPv6 host lacks its closing ]");
        if (!copy_part(u->host, sizeof u->host, s + 1, (size_t)(close - s - 1)))
            return url_error(err, "the host is too long");
        host_end = close + 1;
        if (host_end < end && *host_end != ':')
            return url_error(err, "text follows the IPv6 host's ]");
    } else {
        host_end = memchr(s, ':', (size_t)(end - s));
        if (!host_end)
            host_end = end;
        if (!copy_part(u->host, sizeof u->host, s, (size_t)(host_end - s)))
            return url_error(err, "the host is too long");
    }
    if (!u->host[0])
        return url_error(err, "the URL names no host");
    if (host_end < end && *host_end == ':')
        port = host_end + 1;
    if (port) {
        char *stop;
        long v = strtol(port, &stop, 10);
        if (port == end || stop != end || v < 1 || v > 65535)
            return url_error(err, "the port is not a number from 1 to 65535");
        u->port = (int)v;
    }
    if (*end == '/' && end[1]) {
        char *stop;
        u->db = strtol(end + 1, &stop, 10);
        if (*stop || u->db < 0 || u->db > 1000000)
            return url_error(err, "the database after / is not a number");
    } else if (*end && strcmp(end, "/") != 0) {
        return url_error(err, "the URL has a query or fragment, which dspcc does not read");
    }
    return DSP_OK;
}


#define RBUF_SIZE 16384

/* One connection: its curl handle (the socket, and TLS) and the parser of
 * its replies. */
typedef struct conn {
    CURL *curl;
    curl_socket_t sock;
    redisReader *reader;
    char *rbuf;        /* what recv reads into: on the heap, since a lookup may run on a fiber's
                        * stack, whose pages stay resident (fiber.h) */
    bool answered;     /* a reply came: the server speaks Redis on it */
    long late_ms;      /* how much the last command took beyond DSP_REMOTE_FAST_MS */
    long queued_ms;    /* of the last command's time, what a job of an event loop spent waiting
                        * for its turn with its reply ready: the loop's, not the server's */
    struct conn *next; /* in the idle list */
    const struct dsp_remote_cache *owner; /* its clock times the commands */
} conn;

struct dsp_remote_cache {
    pthread_mutex_t lock;
    pthread_cond_t returned; /* a connection went back to the pool, or the remote went down */
    conn *idle;              /* open and not in use */
    int n_open;              /* open, idle or in use (or being opened) */
    bool down;
    double late_ms;          /* commands' time beyond DSP_REMOTE_FAST_MS, summed, less what drained */
    long late_at;            /* when late_ms was last drained, on clock */
    dsp_remote_clock_fn clock;
    void *clock_ctx;
    remote_url url;          /* to open more; the password is wiped at close */
    char where[300];         /* redis[s]://HOST:PORT/DB, never the password */
    dsp_warn_fn warn;
    void *warn_ctx;
};

static void warn_down(const dsp_remote_cache *r, const char *why)
{
    char msg[600];
    snprintf(msg, sizeof msg, "shared cache %s: %s; using the local cache alone for the rest of this run", r->where,
             why);
    if (r->warn)
        r->warn(r->warn_ctx, msg);
    else
        fprintf(stderr, "warning: %s\n", msg);
}

static void conn_free(conn *c)
{
    if (!c)
        return;
    if (c->reader)
        redisReaderFree(c->reader);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->rbuf);
    free(c);
}

/* Turns the remote off with its one warning (lock held). */
static void go_down(dsp_remote_cache *r, const char *why)
{
    if (r->down)
        return;
    r->down = true;
    warn_down(r, why);
    while (r->idle) {
        conn *c = r->idle;
        r->idle = c->next;
        conn_free(c);
        r->n_open--;
    }
    pthread_cond_broadcast(&r->returned);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long real_clock(void *ctx)
{
    (void)ctx;
    return now_ms();
}

/* Adds late ms to the bucket after draining what time has taken out of it
 * since the last command; the caller holds the lock. */
static void late_add(dsp_remote_cache *r, long late)
{
    long now = r->clock(r->clock_ctx);
    if (now > r->late_at) {
        r->late_ms -= (double)(now - r->late_at) * DSP_REMOTE_LATE_BUDGET_MS / DSP_REMOTE_LATE_REFILL_MS;
        if (r->late_ms < 0)
            r->late_ms = 0;
    }
    r->late_at = now;
    r->late_ms += (double)late;
}

/* Waits until the socket can be read (or written); false at the deadline.
 * In a job of an event loop the job waits and the loop runs the others. */
static bool conn_wait(conn *c, bool for_write, long deadline)
{
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return false;
        if (dsp_loop_active()) {
            double queued = 0;
            bool ready = dsp_loop_wait_fd((int)c->sock, for_write, (double)deadline / 1000.0, &queued);
            c->queued_ms += (long)(queued * 1000.0);
            if (ready)
                return true;
            continue;
        }
        struct pollfd pfd = {.fd = (int)c->sock, .events = for_write ? POLLOUT : POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return true;
        if (n == 0)
            return false;
    }
}

/* Sends len bytes; false with why. */
static bool conn_send(conn *c, const char *buf, size_t len, long deadline, char *why, size_t why_size)
{
    while (len > 0) {
        size_t sent = 0;
        CURLcode rc = curl_easy_send(c->curl, buf, len, &sent);
        if (rc == CURLE_AGAIN) {
            if (!conn_wait(c, true, deadline)) {
                snprintf(why, why_size, "no answer within %d ms (sending)", DSP_REMOTE_COMMAND_MS);
                return false;
            }
            continue;
        }
        if (rc != CURLE_OK) {
            snprintf(why, why_size, "sending failed (%s)", curl_easy_strerror(rc));
            return false;
        }
        buf += sent;
        len -= sent;
    }
    return true;
}

int dsp_remote_reply_next(redisReader *rd, void **reply, char *why, size_t why_size)
{
    *reply = NULL;
    /* No command sent gets an array, and hiredis allocates the slots an
     * array announces as it reads its first line: "*2000000000" would be
     * 16 GB for 13 bytes from a hostile server. Refused before it reads it:
     * the next byte starts a reply when no reply is begun (ridx -1) or one
     * is begun and its type not read yet (the reader of hiredis 0.14, the
     * one scripts/setup.sh installs). */
    bool at_start = rd->ridx == -1 || (rd->ridx == 0 && rd->rstack[0].type < 0);
    if (at_start && rd->pos < rd->len && rd->buf[rd->pos] == '*') {
        snprintf(why, why_size, "the server answers with an array, which no command sent asks for");
        return -1;
    }
    if (redisReaderGetReply(rd, reply) != REDIS_OK) {
        snprintf(why, why_size, "the server does not answer in Redis's protocol (%.100s)", rd->errstr);
        return -1;
    }
    if (*reply)
        return 1;
    /* A reply announced larger than any value (2 GB from a hostile
     * server) is not read whole. */
    if (rd->len - rd->pos > DSP_REMOTE_MAX_VALUE + 64) {
        snprintf(why, why_size, "a reply larger than %u bytes", (unsigned)DSP_REMOTE_MAX_VALUE);
        return -1;
    }
    return 0;
}

/* Reads one reply; NULL with why. An error reply is returned as one. */
static redisReply *conn_read(conn *c, long deadline, char *why, size_t why_size)
{
    for (;;) {
        void *reply = NULL;
        int got_one = dsp_remote_reply_next(c->reader, &reply, why, why_size);
        if (got_one < 0)
            return NULL;
        if (got_one) {
            c->answered = true;
            return reply;
        }
        size_t got = 0;
        CURLcode rc = curl_easy_recv(c->curl, c->rbuf, RBUF_SIZE, &got);
        if (rc == CURLE_AGAIN) {
            if (!conn_wait(c, false, deadline)) {
                snprintf(why, why_size, "no answer within %d ms", DSP_REMOTE_COMMAND_MS);
                return NULL;
            }
            continue;
        }
        if (rc != CURLE_OK || got == 0) {
            snprintf(why, why_size, "the connection closed (%s)", rc != CURLE_OK ? curl_easy_strerror(rc) : "end of stream");
            return NULL;
        }
        if (redisReaderFeed(c->reader, c->rbuf, got) != REDIS_OK) {
            snprintf(why, why_size, "out of memory reading a reply");
            return NULL;
        }
    }
}

/* Sends n formatted commands at once and reads their n replies; false
 * with why at the first failure or error reply. *last gets the last reply
 * (NULL: none wanted); the others are freed. */
static bool conn_pipeline(conn *c, const char *cmds, size_t len, size_t n, redisReply **last, char *why,
                          size_t why_size)
{
    /* One deadline for it all: DSP_REMOTE_COMMAND_MS, and as much again
     * for each 64 commands of a pipeline; never longer, so a server that
     * trickles cannot hold a lookup. */
    long start = now_ms(), scale = 1 + (long)(n / 64);
    long deadline = start + DSP_REMOTE_COMMAND_MS * scale;
    /* Lateness on the remote's clock (the real one, but for a test's);
     * the deadline always on the real one. */
    long begun = c->owner->clock(c->owner->clock_ctx);
    (void)len;
    c->late_ms = 0;
    c->queued_ms = 0;
    if (last)
        *last = NULL;
    if (!conn_send(c, cmds, len, deadline, why, why_size))
        return false;
    for (size_t i = 0; i < n; i++) {
        redisReply *reply = conn_read(c, deadline, why, why_size);
        if (!reply)
            return false;
        if (reply->type == REDIS_REPLY_ERROR) {
            snprintf(why, why_size, "Redis answered an error: %.150s", reply->str ? reply->str : "");
            freeReplyObject(reply);
            return false;
        }
        if (last && i + 1 == n)
            *last = reply;
        else
            freeReplyObject(reply);
    }
    long late = c->owner->clock(c->owner->clock_ctx) - begun - c->queued_ms - DSP_REMOTE_FAST_MS * scale;
    c->late_ms = late > 0 ? late : 0;
    return true;
}

/* One command of argc arguments; its reply in *reply (NULL: freed). */
static bool conn_command(conn *c, int argc, const char **argv, const size_t *argvlen, redisReply **reply, char *why,
                         size_t why_size)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        snprintf(why, why_size, "out of memory formatting a command");
        return false;
    }
    bool ok = conn_pipeline(c, cmd, (size_t)len, 1, reply, why, why_size);
    redisFreeCommand(cmd);
    return ok;
}

/* why, and for a connection that failed before any reply (TLS on one
 * side only, or a client certificate the server requires) a hint, in buf. */
static void add_hint(const remote_url *u, const conn *c, const char *why, char *buf, size_t n)
{
    const char *cert = getenv("DSPCC_CACHE_CERT");
    const char *hint = c->answered   ? ""
                       : !u->tls       ? "; if the port serves TLS, write rediss://"
                       : !(cert && *cert) ? "; if Redis requires client certificates (tls-auth-clients), set "
                                            "DSPCC_CACHE_CERT and DSPCC_CACHE_KEY"
                                          : "";
    /* Cut to fit, the hint first: the reason matters more. */
    size_t wl = strnlen(why, n - 1), hl = strlen(hint);
    if (hl > n - 1 - wl)
        hl = n - 1 - wl;
    memcpy(buf, why, wl);
    memcpy(buf + wl, hint, hl);
    buf[wl + hl] = '\0';
}

/* Connects, and sends AUTH and SELECT; NULL with why. */
static conn *conn_open(const dsp_remote_cache *r, char *why, size_t why_size)
{
    const remote_url *u = &r->url;
    conn *c = calloc(1, sizeof *c);
    if (c)
        c->owner = r;
    if (!c || !(c->curl = curl_easy_init()) || !(c->reader = redisReaderCreate()) ||
        !(c->rbuf = malloc(RBUF_SIZE))) {
        conn_free(c);
        snprintf(why, why_size, "out of memory connecting");
        return NULL;
    }
    char url[300], errbuf[CURL_ERROR_SIZE] = "";
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%d", u->tls ? "https" : "http", v6 ? "[" : "", u->host, v6 ? "]" : "",
             u->port);
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)DSP_REMOTE_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* Redis is reached directly, never through an HTTP proxy */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (u->tls) {
        curl_easy_setopt(h, CURLOPT_SSL_ENABLE_ALPN, 0L);
        const char *ca = getenv("DSPCC_CACHE_CACERT"), *cert = getenv("DSPCC_CACHE_CERT");
        const char *key = getenv("DSPCC_CACHE_KEY");
        if (ca && *ca)
            curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        if (cert && *cert)
            curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
        if (key && *key)
            curl_easy_setopt(h, CURLOPT_SSLKEY, key);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &c->sock);
    if (rc != CURLE_OK || c->sock == CURL_SOCKET_BAD) {
        snprintf(why, why_size, "cannot connect within %d ms (%.200s)", DSP_REMOTE_CONNECT_MS,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        conn_free(c);
        return NULL;
    }
    bool ok = true;
    if (u->has_password) {
        const char *argv[3] = {"AUTH", u->user, u->password};
        size_t lens[3] = {4, strlen(u->user), strlen(u->password)};
        ok = u->user[0] ? conn_command(c, 3, argv, lens, NULL, why, why_size)
                        : conn_command(c, 2, (const char *[]){"AUTH", u->password},
                                       (const size_t[]){4, strlen(u->password)}, NULL, why, why_size);
    }
    if (ok && u->db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%ld", u->db);
        ok = conn_command(c, 2, (const char *[]){"SELECT", db}, (const size_t[]){6, strlen(db)}, NULL, why, why_size);
    }
    if (!ok) {
        /* A hostile server may quote the password it was sent. */
        if (u->has_password && u->password[0])
            dsp_secret_redact(why, strlen(why), u->password);
        char plain[300];
        snprintf(plain, sizeof plain, "%s", why);
        add_hint(u, c, plain, why, why_size);
        conn_free(c);
        return NULL;
    }
    return c;
}

/* A connection to use: an idle one, a new one while fewer than
 * DSP_REMOTE_POOL are open, else the next one returned. NULL once down.
 * In a job of an event loop, the job waits while the loop runs others
 * (jobs of this loop may hold every connection, parked on their sockets):
 * woken when one of its jobs gives one back, or after 20 ms for one given
 * back on another thread. */
static conn *take(dsp_remote_cache *r)
{
    bool in_loop = dsp_loop_active();
    pthread_mutex_lock(&r->lock);
    while (!r->down && !r->idle && r->n_open >= DSP_REMOTE_POOL) {
        if (!in_loop) {
            pthread_cond_wait(&r->returned, &r->lock);
            continue;
        }
        pthread_mutex_unlock(&r->lock);
        dsp_loop_wait(dsp_monotonic_s() + 0.02);
        pthread_mutex_lock(&r->lock);
    }
    conn *c = NULL;
    bool open_one = false;
    if (!r->down) {
        if (r->idle) {
            c = r->idle;
            r->idle = c->next;
        } else {
            r->n_open++;
            open_one = true;
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (!open_one)
        return c;
    char why[300];
    c = conn_open(r, why, sizeof why);
    if (!c) {
        pthread_mutex_lock(&r->lock);
        r->n_open--;
        go_down(r, why);
        pthread_mutex_unlock(&r->lock);
    }
    return c;
}

/* Gives c back; failed (why): it is closed and the remote goes down. */
static void give(dsp_remote_cache *r, conn *c, const char *why)
{
    char hinted[400];
    if (why) {
        add_hint(&r->url, c, why, hinted, sizeof hinted);
        why = hinted;
    }
    pthread_mutex_lock(&r->lock);
    /* Each command answers within its deadline, but a server that always
     * answers just before it would cost a run of thousands of lookups as
     * many seconds: past DSP_REMOTE_LATE_BUDGET_MS late within a few
     * minutes (the bucket drains over DSP_REMOTE_LATE_REFILL_MS), it is
     * dropped as a dead one is. */
    late_add(r, c->late_ms);
    char slow[300];
    if (!why && !r->down && r->late_ms > DSP_REMOTE_LATE_BUDGET_MS) {
        snprintf(slow, sizeof slow,
                 "too slow: commands took %.1f s beyond %d ms each (the last %ld ms), more than the %.0f s allowed "
                 "within %d minutes",
                 r->late_ms / 1000.0, DSP_REMOTE_FAST_MS, c->late_ms + DSP_REMOTE_FAST_MS,
                 DSP_REMOTE_LATE_BUDGET_MS / 1000.0, DSP_REMOTE_LATE_REFILL_MS / 60000);
        why = slow;
    }
    if (why || r->down) {
        conn_free(c);
        r->n_open--;
        if (why)
            go_down(r, why);
    } else {
        c->next = r->idle;
        r->idle = c;
    }
    pthread_cond_signal(&r->returned);
    pthread_mutex_unlock(&r->lock);
    dsp_loop_wake_waiter();
}

dsp_status dsp_remote_cache_open(const char *url, dsp_warn_fn warn, void *warn_ctx, dsp_remote_cache **out,
                                 dsp_error *err)
{
    *out = NULL;
    dsp_remote_cache *r = calloc(1, sizeof *r);
    if (!r)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening the shared cache");
    dsp_status st = parse_url(url, &r->url, err);
    if (st != DSP_OK) {
        free(r);
        return st;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->returned, NULL);
    r->warn = warn;
    r->warn_ctx = warn_ctx;
    r->clock = real_clock;
    r->late_at = now_ms();
    const remote_url *u = &r->url;
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(r->where, sizeof r->where, "%s://%s%s%s:%d/%ld", u->tls ? "rediss" : "redis", v6 ? "[" : "", u->host,
             v6 ? "]" : "", u->port, u->db);
    /* The first connection now: a Redis that is down, or refuses the
     * password, warns at start, before any lookup waits on it. */
    conn *c = take(r);
    if (c)
        give(r, c, NULL);
    *out = r;
    return DSP_OK;
}

void dsp_remote_cache_set_clock(dsp_remote_cache *r, dsp_remote_clock_fn now, void *ctx)
{
    pthread_mutex_lock(&r->lock);
    r->clock = now;
    r->clock_ctx = ctx;
    r->late_at = now(ctx);
    pthread_mutex_unlock(&r->lock);
}

void dsp_remote_cache_close(dsp_remote_cache *r)
{
    if (!r)
        return;
    while (r->idle) {
        conn *c = r->idle;
        r->idle = c->next;
        conn_free(c);
    }
    /* A password is a credential: not left in freed memory. */
    memset(&r->url, 0, sizeof r->url);
    pthread_cond_destroy(&r->returned);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* A value names its key: {"key":"KEY", then the row after its "{". */
#define KEY_HEAD_FMT "{\"key\":\"%s\","

/* DSP_REMOTE_KEY_PREFIX + key, in out (room for a SHA-256 hex key). */
static size_t full_key(char out[128], const char *key)
{
    return (size_t)snprintf(out, 128, "%s%.100s", DSP_REMOTE_KEY_PREFIX, key);
}

char *dsp_remote_row_value(const redisReply *reply, const char *key)
{
    char head[160];
    int hl = snprintf(head, sizeof head, KEY_HEAD_FMT, key);
    if (hl < 0 || (size_t)hl >= sizeof head)
        return NULL;
    /* Only a value that names this key: another key's row (a server that
     * mixes them up, or a row of an older format) is a miss. */
    char *value = NULL;
    if (reply->type == REDIS_REPLY_STRING && reply->len > (size_t)hl && reply->len <= DSP_REMOTE_MAX_VALUE &&
        memcmp(reply->str, head, (size_t)hl) == 0 && (value = malloc(reply->len - (size_t)hl + 2)) != NULL) {
        value[0] = '{';
        memcpy(value + 1, reply->str + hl, reply->len - (size_t)hl);
        value[reply->len - (size_t)hl + 1] = '\0';
    }
    return value;
}

char *dsp_remote_cache_get(dsp_remote_cache *r, const char *key)
{
    if (!r)
        return NULL;
    char head[160];
    int hl = snprintf(head, sizeof head, KEY_HEAD_FMT, key);
    if (hl < 0 || (size_t)hl >= sizeof head)
        return NULL;
    conn *c = take(r);
    if (!c)
        return NULL;
    /* GETRANGE reads at most the bound and one byte more, and a reply much
     * larger is refused as it comes: a huge value (a damaged or hostile
     * server) is never read whole. A missing key reads as "". */
    char k[128], end[24], why[300];
    size_t kl = full_key(k, key);
    snprintf(end, sizeof end, "%u", (unsigned)DSP_REMOTE_MAX_VALUE);
    const char *argv[4] = {"GETRANGE", k, "0", end};
    size_t lens[4] = {8, kl, 1, strlen(end)};
    redisReply *reply = NULL;
    bool ok = conn_command(c, 4, argv, lens, &reply, why, sizeof why);
    char *value = ok ? dsp_remote_row_value(reply, key) : NULL;
    if (reply)
        freeReplyObject(reply);
    give(r, c, ok ? NULL : why);
    return value;
}

void dsp_remote_cache_put_many(dsp_remote_cache *r, const char *const *keys, const char *const *values, size_t n)
{
    if (!r || n == 0)
        return;
    conn *c = take(r);
    if (!c)
        return;
    /* Every SET in one buffer, one round trip. */
    char *all = NULL, why[300];
    size_t len = 0, sent = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        /* The row, as {"key":"KEY", and the row after its "{". */
        char head[160];
        int hl = snprintf(head, sizeof head, KEY_HEAD_FMT, keys[i]);
        size_t vl = strlen(values[i]);
        if (hl < 0 || (size_t)hl >= sizeof head || vl < 2 || values[i][0] != '{' ||
            vl - 1 + (size_t)hl > DSP_REMOTE_MAX_VALUE)
            continue;
        char *row = malloc((size_t)hl + vl);
        if (!row) {
            snprintf(why, sizeof why, "out of memory formatting commands");
            ok = false;
            break;
        }
        memcpy(row, head, (size_t)hl);
        memcpy(row + hl, values[i] + 1, vl - 1);
        char k[128], *cmd = NULL;
        size_t kl = full_key(k, keys[i]);
        int cl = redisFormatCommandArgv(&cmd, 3, (const char *[]){"SET", k, row},
                                        (const size_t[]){3, kl, (size_t)hl + vl - 1});
        free(row);
        char *grown = cl >= 0 ? realloc(all, len + (size_t)cl) : NULL;
        if (!grown) {
            snprintf(why, sizeof why, "out of memory formatting commands");
            ok = false;
        } else {
            all = grown;
            memcpy(all + len, cmd, (size_t)cl);
            len += (size_t)cl;
            sent++;
        }
        if (cl >= 0)
            redisFreeCommand(cmd);
    }
    if (ok && sent)
        ok = conn_pipeline(c, all, len, sent, NULL, why, sizeof why);
    free(all);
    give(r, c, ok ? NULL : why);
}
