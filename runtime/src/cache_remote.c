/* cache_remote.c — the shared response cache in Redis, through hiredis.
 *
 * The local cache (cache.c) decides what is stored: only replies that
 * parsed and hold no piece of a key, keyed by the SHA-256 of the request
 * (never the API key). This file only moves those same rows to and from
 * Redis, under DSP_REMOTE_KEY_PREFIX + key. Every command runs under a
 * short timeout; the first failure (refused, timed out, an error reply
 * such as NOAUTH) warns once and turns the remote off for the rest of the
 * run, so a dead Redis costs at most one timeout, never a hang. One
 * connection serves every thread, one command at a time (a redisContext is
 * not thread-safe; a lookup on a local network takes well under a ms). */
#include "cache_remote.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

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

/* Why the last command failed, for the warning. */
static void command_failed(dsp_remote_cache *r, const redisReply *reply)
{
    char why[200];
    if (reply && reply->type == REDIS_REPLY_ERROR)
        snprintf(why, sizeof why, "Redis answered an error: %.150s", reply->str ? reply->str : "");
    else if (r->ctx && r->ctx->err == REDIS_ERR_IO)
        snprintf(why, sizeof why, "no answer within %d ms (%.100s)", DSP_REMOTE_COMMAND_MS, r->ctx->errstr);
    else
        snprintf(why, sizeof why, "%.150s", r->ctx && r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
    go_down(r, why);
}

/* Runs one setup command (AUTH, SELECT); false after going down. */
static bool setup_command(dsp_remote_cache *r, redisReply *reply)
{
    bool ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (!ok)
        command_failed(r, reply);
    if (reply)
        freeReplyObject(reply);
    return ok;
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
        ok = setup_command(r, u.user[0] ? redisCommand(ctx, "AUTH %s %s", u.user, u.password)
                                        : redisCommand(ctx, "AUTH %s", u.password));
    /* Not kept past this point: a password is a credential. */
    memset(u.password, 0, sizeof u.password);
    if (ok && u.db != 0)
        (void)setup_command(r, redisCommand(r->ctx, "SELECT %ld", u.db));
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

char *dsp_remote_cache_get(dsp_remote_cache *r, const char *key)
{
    if (!r)
        return NULL;
    char *value = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->ctx) {
        /* GETRANGE reads at most the bound and one byte more: a huge value
         * (a damaged or hostile server) is never read whole. A missing key
         * reads as "". */
        redisReply *reply = redisCommand(r->ctx, "GETRANGE %s%s 0 %u", DSP_REMOTE_KEY_PREFIX, key,
                                         (unsigned)DSP_REMOTE_MAX_VALUE);
        if (!reply || reply->type == REDIS_REPLY_ERROR)
            command_failed(r, reply);
        else if (reply->type == REDIS_REPLY_STRING && reply->len > 0 && reply->len <= DSP_REMOTE_MAX_VALUE &&
                 (value = malloc(reply->len + 1)) != NULL) {
            memcpy(value, reply->str, reply->len);
            value[reply->len] = '\0';
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
        size_t len = strlen(values[i]);
        if (len == 0 || len > DSP_REMOTE_MAX_VALUE)
            continue;
        if (redisAppendCommand(r->ctx, "SET %s%s %b", DSP_REMOTE_KEY_PREFIX, keys[i], values[i], len) != REDIS_OK) {
            command_failed(r, NULL);
            break;
        }
        sent++;
    }
    for (size_t i = 0; r->ctx && i < sent; i++) {
        void *reply = NULL;
        if (redisGetReply(r->ctx, &reply) != REDIS_OK || !reply ||
            ((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
            command_failed(r, reply);
            if (reply)
                freeReplyObject(reply);
            break;
        }
        freeReplyObject(reply);
    }
    pthread_mutex_unlock(&r->lock);
}
