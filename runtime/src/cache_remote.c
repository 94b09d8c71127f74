/* cache_remote.c — the shared response cache in Redis, through hiredis.
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
 * or hostile Redis costs at most one timeout, never a hang. One
 * connection serves every thread, one command at a time (a redisContext is
 * not thread-safe; a lookup on a local network takes well under a ms). */
#include "cache_remote.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "secret.h"

struct dsp_remote_cache {
    pthread_mutex_t lock;
    redisContext *ctx; /* NULL once down */
    char where[300];   /* redis://HOST:PORT/DB, never the password */
    dsp_warn_fn warn;
    void *warn_ctx;
};

/* The parts of a redis:// URL. */
typedef struct remote_url {
    char host[256];
    int port;
    long db;
    char user[128], password[256];
    bool has_password;
} remote_url;

static dsp_status url_error(dsp_error *err, const char *why)
{
    return dsp_error_set(err, DSP_ERR_ENV,
                         "DSPCC_CACHE_URL: %s; write redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT/DB), "
                         "or unset it to use the local cache alone",
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
    if (strncmp(url, "rediss://", 9) == 0)
        return url_error(err, "rediss:// (TLS) is not supported; reach Redis over a private network or a TLS "
                              "tunnel such as stunnel");
    if (strncmp(url, "redis://", 8) != 0)
        return url_error(err, "the URL does not start with redis://");
    const char *s = url + 8;
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

/* Turns the remote off with its one warning (lock held). */
static void go_down(dsp_remote_cache *r, const char *why)
{
    if (!r->ctx)
        return;
    warn_down(r, why);
    redisFree(r->ctx);
    r->ctx = NULL;
}

/* Why the last command failed, for the warning: a server's error text with
 * every piece of secret (the password; NULL: none) blanked, as a hostile
 * server may quote what it was sent. */
static void command_failed(dsp_remote_cache *r, const redisReply *reply, const char *secret)
{
    char why[200];
    if (reply && reply->type == REDIS_REPLY_ERROR)
        snprintf(why, sizeof why, "Redis answered an error: %.150s", reply->str ? reply->str : "");
    else if (r->ctx && r->ctx->err == REDIS_ERR_PROTOCOL)
        snprintf(why, sizeof why, "the server does not answer in Redis's protocol (%.100s)", r->ctx->errstr);
    else
        snprintf(why, sizeof why, "%.150s", r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
    if (secret && *secret)
        dsp_secret_redact(why, strlen(why), secret);
    go_down(r, why);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until the socket is ready for events or the deadline passes. */
static bool wait_ready(redisContext *ctx, short events, double deadline)
{
    for (;;) {
        double left = deadline - mono_s();
        if (left <= 0)
            break;
        struct pollfd p = { ctx->fd, events, 0 };
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            break;
    }
    ctx->err = REDIS_ERR_IO;
    snprintf(ctx->errstr, sizeof ctx->errstr, "no answer within %d ms", DSP_REMOTE_COMMAND_MS);
    return false;
}

/* Sends what is appended to r->ctx, then reads n replies into replies[]
 * (each NULL on failure), within the deadline and reading no reply larger
 * than the value bound and its framing. False (r->ctx->err set) on a
 * failure; replies read so far are kept. */
static bool exchange(dsp_remote_cache *r, double deadline, redisReply **replies, size_t n)
{
    redisContext *ctx = r->ctx;
    int done = 0;
    while (!done) {
        if (!wait_ready(ctx, POLLOUT, deadline) || redisBufferWrite(ctx, &done) != REDIS_OK)
            return false;
    }
    for (size_t i = 0; i < n; i++) {
        void *reply = NULL;
        for (;;) {
            if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK)
                return false;
            if (reply)
                break;
            if (ctx->reader->len - ctx->reader->pos > DSP_REMOTE_MAX_VALUE + 64) {
                ctx->err = REDIS_ERR_OTHER;
                snprintf(ctx->errstr, sizeof ctx->errstr, "a reply larger than %u bytes",
                         (unsigned)DSP_REMOTE_MAX_VALUE);
                return false;
            }
            if (!wait_ready(ctx, POLLIN, deadline) || redisBufferRead(ctx) != REDIS_OK)
                return false;
        }
        replies[i] = reply;
    }
    return true;
}

/* Runs one command within DSP_REMOTE_COMMAND_MS: its reply, or NULL after
 * going down (the reply is the caller's to free). secret: text to blank
 * from a warning (NULL: none). */
static redisReply *command(dsp_remote_cache *r, const char *secret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ok = redisvAppendCommand(r->ctx, fmt, ap);
    va_end(ap);
    redisReply *reply = NULL;
    if (ok != REDIS_OK || !exchange(r, mono_s() + DSP_REMOTE_COMMAND_MS / 1000.0, &reply, 1) ||
        reply->type == REDIS_REPLY_ERROR) {
        command_failed(r, reply, secret);
        if (reply)
            freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

/* Runs one setup command (AUTH, SELECT); false after going down. */
static bool setup_command(redisReply *reply)
{
    if (reply)
        freeReplyObject(reply);
    return reply != NULL;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return tv;
}

dsp_status dsp_remote_cache_open(const char *url, dsp_warn_fn warn, void *warn_ctx, dsp_remote_cache **out,
                                 dsp_error *err)
{
    *out = NULL;
    remote_url u;
    dsp_status st = parse_url(url, &u, err);
    if (st != DSP_OK)
        return st;
    dsp_remote_cache *r = calloc(1, sizeof *r);
    if (!r)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening the shared cache");
    pthread_mutex_init(&r->lock, NULL);
    r->warn = warn;
    r->warn_ctx = warn_ctx;
    bool v6 = strchr(u.host, ':') != NULL;
    snprintf(r->where, sizeof r->where, "redis://%s%s%s:%d/%ld", v6 ? "[" : "", u.host, v6 ? "]" : "", u.port, u.db);
    redisContext *ctx = redisConnectWithTimeout(u.host, u.port, ms_tv(DSP_REMOTE_CONNECT_MS));
    if (!ctx || ctx->err) {
        char why[200];
        snprintf(why, sizeof why, "cannot connect within %d ms (%.120s)", DSP_REMOTE_CONNECT_MS,
                 ctx ? ctx->errstr : "out of memory");
        warn_down(r, why);
        if (ctx)
            redisFree(ctx);
        *out = r;
        return DSP_OK;
    }
    r->ctx = ctx;
    redisSetTimeout(ctx, ms_tv(DSP_REMOTE_COMMAND_MS));
    bool ok = true;
    if (u.has_password)
        ok = setup_command(u.user[0] ? command(r, u.password, "AUTH %s %s", u.user, u.password)
                                     : command(r, u.password, "AUTH %s", u.password));
    /* Not kept past this point: a password is a credential. */
    memset(u.password, 0, sizeof u.password);
    if (ok && u.db != 0)
        (void)setup_command(command(r, NULL, "SELECT %ld", u.db));
    *out = r;
    return DSP_OK;
}

void dsp_remote_cache_close(dsp_remote_cache *r)
{
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* A value names its key: {"key":"KEY", then the row after its "{". */
#define KEY_HEAD_FMT "{\"key\":\"%s\","

char *dsp_remote_cache_get(dsp_remote_cache *r, const char *key)
{
    if (!r)
        return NULL;
    char head[160];
    int hl = snprintf(head, sizeof head, KEY_HEAD_FMT, key);
    if (hl < 0 || (size_t)hl >= sizeof head)
        return NULL;
    char *value = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->ctx) {
        /* GETRANGE reads at most the bound and one byte more, and the
         * exchange refuses a reply much larger: a huge value (a damaged or
         * hostile server) is never read whole. A missing key reads as "". */
        redisReply *reply = command(r, NULL, "GETRANGE %s%s 0 %u", DSP_REMOTE_KEY_PREFIX, key,
                                    (unsigned)DSP_REMOTE_MAX_VALUE);
        /* Only a value that names this key: another key's row (a server
         * that mixes them up, or a row of an older format) is a miss. */
        if (reply && reply->type == REDIS_REPLY_STRING && reply->len > (size_t)hl &&
            reply->len <= DSP_REMOTE_MAX_VALUE && memcmp(reply->str, head, (size_t)hl) == 0 &&
            (value = malloc(reply->len - (size_t)hl + 2)) != NULL) {
            value[0] = '{';
            memcpy(value + 1, reply->str + hl, reply->len - (size_t)hl);
            value[reply->len - (size_t)hl + 1] = '\0';
        }
        if (reply)
            freeReplyObject(reply);
    }
    pthread_mutex_unlock(&r->lock);
    return value;
}

void dsp_remote_cache_put_many(dsp_remote_cache *r, const char *const *keys, const char *const *values, size_t n)
{
    if (!r || n == 0)
        return;
    pthread_mutex_lock(&r->lock);
    size_t sent = 0;
    for (size_t i = 0; r->ctx && i < n; i++) {
        char head[160];
        int hl = snprintf(head, sizeof head, KEY_HEAD_FMT, keys[i]);
        size_t len = strlen(values[i]);
        if (len < 2 || values[i][0] != '{' || len - 1 + (size_t)hl > DSP_REMOTE_MAX_VALUE || hl < 0 ||
            (size_t)hl >= sizeof head)
            continue;
        if (redisAppendCommand(r->ctx, "SET %s%s %b%b", DSP_REMOTE_KEY_PREFIX, keys[i], head, (size_t)hl,
                               values[i] + 1, len - 1) != REDIS_OK) {
            command_failed(r, NULL, NULL);
            break;
        }
        sent++;
    }
    /* One deadline for the pipeline: DSP_REMOTE_COMMAND_MS, and as much
     * again for each 64 rows. */
    redisReply **replies = sent && r->ctx ? calloc(sent, sizeof *replies) : NULL;
    if (replies) {
        double deadline = mono_s() + DSP_REMOTE_COMMAND_MS / 1000.0 * (1.0 + (double)(sent / 64));
        bool ok = exchange(r, deadline, replies, sent);
        size_t bad = sent;
        for (size_t i = 0; ok && i < sent; i++)
            if (replies[i]->type == REDIS_REPLY_ERROR && bad == sent)
                bad = i;
        if (!ok || bad < sent)
            command_failed(r, ok ? replies[bad] : NULL, NULL);
        for (size_t i = 0; i < sent; i++)
            if (replies[i])
                freeReplyObject(replies[i]);
        free(replies);
    } else if (sent && r->ctx) {
        command_failed(r, NULL, NULL);
    }
    pthread_mutex_unlock(&r->lock);
}
