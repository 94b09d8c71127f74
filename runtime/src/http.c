/* http.c — libcurl transport: pooled easy handles sharing connections. */
#include "http.h"

#include "loop.h"
#include "retry.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Header lines a request may carry (the client sends three at most). */
#define DSP_HTTP_MAX_HEADERS 8

/* The User-Agent and Accept lines every request starts its header list
 * with. Given as CURLOPT_USERAGENT, libcurl 7.88 formats the User-Agent
 * line anew with aprintf for every request (about 2.9k instructions);
 * as lines of the list they cost nothing, and the bytes sent are the same:
 * libcurl leaves out its own User-Agent and Accept lines when the list has
 * them, and writes the list where they would have been, right after Host
 * (tests/runtime/test_request_bytes.c). A signed (SigV4) request keeps
 * CURLOPT_USERAGENT: libcurl signs every line of the list, and these were
 * never signed. */
static const char user_agent_line[] = "User-Agent: libdsprt/0.1";
static const char accept_line[] = "Accept: */*";
#define DSP_HTTP_USER_AGENT "libdsprt/0.1"

/* A pooled easy handle with what is set on it once for all its requests:
 * the options that do not change from call to call are set when it is
 * made, those that may change only when they do (each curl_easy_setopt
 * costs about 90 instructions), and its write callback's data and error
 * buffer are its own, so no call's stack address stays behind on it. */
typedef struct pooled {
    CURL *e;
    struct sink *cur;        /* the request in progress: its sink */
    char *url;               /* the URL the handle is set to (a copy), or NULL */
    CURLU *uh;               /* ... parsed, as libcurl is given it */
    long connect_ms, total_ms; /* what the two timeouts hold */
    char errbuf[CURL_ERROR_SIZE];
    /* The request's header list: the two fixed lines, the caller's, and
     * "Expect:". CURLOPT_HTTPHEADER points here for the handle's life. */
    struct curl_slist hdr_nodes[DSP_HTTP_MAX_HEADERS + 3];
} pooled;

struct dsp_http {
    CURLSH *share;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    pooled **idle;     /* easy handles not in use */
    size_t n_idle, cap_idle;
    long connect_timeout_ms, timeout_ms;
    long max_connections;
    atomic_size_t held; /* heap bytes of replies in flight */
    size_t max_held;    /* ... and their budget (DSP_HTTP_MAX_HELD) */
    dsp_http_multi **multis; /* multi handles no event loop uses now (under pool_lock) */
    size_t n_multis, cap_multis;
};

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *userp)
{
    (void)easy;
    (void)access;
    dsp_http *h = userp;
    pthread_mutex_lock(&h->locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *userp)
{
    (void)easy;
    dsp_http *h = userp;
    pthread_mutex_unlock(&h->locks[data]);
}

dsp_status dsp_http_new(double connect_timeout_s, double timeout_s, int max_connections, size_t max_held,
                        dsp_http **out, dsp_error *err)
{
    *out = NULL;
    dsp_http *h = calloc(1, sizeof *h);
    if (!h)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory creating the HTTP transport");
    h->connect_timeout_ms = (long)(connect_timeout_s * 1000);
    h->timeout_ms = (long)(timeout_s * 1000);
    h->max_connections = max_connections > 0 ? max_connections : 16;
    atomic_init(&h->held, 0);
    h->max_held = max_held ? max_held : DSP_HTTP_MAX_HELD;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->locks[i], NULL);
    pthread_mutex_init(&h->pool_lock, NULL);
    h->share = curl_share_init();
    if (!h->share) {
        dsp_http_free(h);
        return dsp_error_set(err, DSP_ERR_NOMEM, "libcurl could not create a share handle");
    }
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    /* DNS answers and TLS sessions are shared. Connections are not: each
     * pooled handle keeps its own alive, and a handle serves one request
     * at a time, so a shared connection cache would only add locking
     * (about 1.6k instructions a request) without keeping more connections
     * open than there are handles. */
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = h;
    return DSP_OK;
}

static void pooled_free(pooled *p)
{
    if (!p)
        return;
    curl_easy_cleanup(p->e);
    curl_url_cleanup(p->uh);
    free(p->url);
    free(p);
}

void dsp_http_free(dsp_http *h)
{
    if (!h)
        return;
    /* Multi handles (with the connections they keep) and easy handles go
     * first: they hold references into the share. */
    for (size_t i = 0; i < h->n_multis; i++)
        dsp_http_multi_free(h->multis[i]);
    free(h->multis);
    for (size_t i = 0; i < h->n_idle; i++)
        pooled_free(h->idle[i]);
    free(h->idle);
    if (h->share)
        curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->locks[i]);
    pthread_mutex_destroy(&h->pool_lock);
    free(h);
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp);

static pooled *acquire(dsp_http *h)
{
    pooled *p = NULL;
    pthread_mutex_lock(&h->pool_lock);
    if (h->n_idle > 0)
        p = h->idle[--h->n_idle];
    pthread_mutex_unlock(&h->pool_lock);
    if (p)
        return p;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    if (!(p->e = curl_easy_init())) {
        free(p);
        return NULL;
    }
    CURL *e = p->e;
    p->connect_ms = h->connect_timeout_ms;
    p->total_ms = h->timeout_ms;
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->total_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdr_nodes);
    /* Until the first request fills it in: a list of one line. */
    p->hdr_nodes[0].data = (char *)user_agent_line;
    p->hdr_nodes[0].next = NULL;
    /* A Content-Length over the limit fails before the body is read. */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DSP_HTTP_MAX_BODY);
    /* Each handle keeps its own idle connections (one per host it talked
     * to); libcurl's default of 5 would close and reopen connections for a
     * client that talks to more hosts than that. */
    curl_easy_setopt(e, CURLOPT_MAXCONNECTS, h->max_connections);
    return p;
}

static void release(dsp_http *h, pooled *p)
{
    pthread_mutex_lock(&h->pool_lock);
    if (h->n_idle == h->cap_idle) {
        size_t cap = h->cap_idle ? h->cap_idle * 2 : 16;
        pooled **idle = realloc(h->idle, cap * sizeof *idle);
        if (!idle) {
            pthread_mutex_unlock(&h->pool_lock);
            pooled_free(p);
            return;
        }
        h->idle = idle;
        h->cap_idle = cap;
    }
    h->idle[h->n_idle++] = p;
    pthread_mutex_unlock(&h->pool_lock);
}

dsp_http_multi *dsp_http_multi_take(dsp_http *h)
{
    dsp_http_multi *m = NULL;
    pthread_mutex_lock(&h->pool_lock);
    if (h->n_multis > 0)
        m = h->multis[--h->n_multis];
    pthread_mutex_unlock(&h->pool_lock);
    return m ? m : dsp_http_multi_new();
}

void dsp_http_multi_give(dsp_http *h, dsp_http_multi *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&h->pool_lock);
    if (h->n_multis == h->cap_multis) {
        size_t cap = h->cap_multis ? h->cap_multis * 2 : 4;
        dsp_http_multi **ms = realloc(h->multis, cap * sizeof *ms);
        if (!ms) {
            pthread_mutex_unlock(&h->pool_lock);
            dsp_http_multi_free(m);
            return;
        }
        h->multis = ms;
        h->cap_multis = cap;
    }
    h->multis[h->n_multis++] = m;
    pthread_mutex_unlock(&h->pool_lock);
}

typedef struct sink {
    char *buf;    /* inline (the reply's own storage) until a body outgrows it */
    char *inline_buf;
    size_t len, cap;
    int too_big, over_budget;
    dsp_http *h;
    size_t charged; /* heap bytes counted in h->held */
    CURL *e;
    const dsp_http_limits *lim; /* with on_body: a stream */
    int streaming;  /* -1: not known yet; 1: a 2xx body going to on_body */
    int stopped;    /* on_body asked to stop */
    size_t first_cap; /* the first allocation's size */
} sink;

/* Counts n more heap bytes against the budget of replies in flight. */
static int charge(sink *s, size_t n)
{
    size_t before = atomic_fetch_add(&s->h->held, n);
    if (before + n > s->h->max_held) {
        atomic_fetch_sub(&s->h->held, n);
        return 0;
    }
    s->charged += n;
    return 1;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    sink *s = ((pooled *)userp)->cur;
    size_t n = size * nmemb;
    if (s->len + n > DSP_HTTP_MAX_BODY) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (s->streaming < 0) {
        /* The status line is in by the first byte of the body. */
        long code = 0;
        curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &code);
        s->streaming = code >= 200 && code < 300;
    }
    if (s->streaming) {
        /* Not kept here, but the reader keeps its text: counted against
         * the replies in flight, as a collected body is, so many streams
         * from a hostile server cannot hold more than the budget. */
        if (!charge(s, n)) {
            s->over_budget = 1;
            return 0;
        }
        s->len += n;
        if (!s->lim->on_body(s->lim->body_ctx, data, n)) {
            s->stopped = 1;
            return 0;
        }
        return n;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : s->first_cap;
        while (cap < s->len + n + 1)
            cap *= 2;
        size_t more = s->buf == s->inline_buf ? cap : cap - s->cap;
        if (!charge(s, more)) {
            s->over_budget = 1;
            return 0;
        }
        char *b;
        if (s->buf == s->inline_buf) {
            b = malloc(cap);
            if (b && s->len)
                memcpy(b, s->buf, s->len);
        } else {
            b = realloc(s->buf, cap);
        }
        if (!b) {
            atomic_fetch_sub(&s->h->held, more);
            s->charged -= more;
            return 0;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

void dsp_http_reply_free(dsp_http_reply *r)
{
    if (!r)
        return;
    if (r->body != r->inline_body)
        free(r->body);
    if (r->charged && r->owner)
        atomic_fetch_sub(&r->owner->held, r->charged);
    r->charged = 0;
    r->body = NULL;
    r->len = 0;
    r->status = 0;
    r->retry_after_s = -1;
}

static dsp_status curl_failure(CURLcode rc, const char *errbuf, const char *url, const sink *s, dsp_error *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return dsp_error_set(err, DSP_ERR_PROTOCOL,
                             "the reply from %s is larger than %u MiB (%s); refused, and not asked for again", url,
                             DSP_HTTP_MAX_BODY >> 20, s->too_big ? "found while reading" : "its Content-Length says so");
    if (s->over_budget)
        return dsp_error_set(err, DSP_ERR_NETWORK,
                             "the replies in flight would hold more than %zu KiB together, the most a client "
                             "holds; the reply from %s was dropped (it is asked for again once others are done)",
                             s->h->max_held >> 10, url);
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return dsp_error_set(err, DSP_ERR_NETWORK, "cannot resolve the host of %s: %s; check the base URL (not retried)",
                             url, why);
    case CURLE_OPERATION_TIMEDOUT:
        return dsp_error_set(err, DSP_ERR_TIMEOUT, "timed out talking to %s: %s", url, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return dsp_error_set(err, DSP_ERR_INVALID, "cannot use URL %s: %s", url, why);
    case CURLE_OUT_OF_MEMORY:
        return dsp_error_set(err, DSP_ERR_NOMEM, "libcurl ran out of memory talking to %s", url);
    default:
        return dsp_error_set(err, DSP_ERR_NETWORK, "connection to %s failed: %s", url, why);
    }
}

/* Sets a long option only when the handle does not hold that value yet. */
static void set_ms(CURL *e, CURLoption opt, long *held, long v)
{
    if (*held != v) {
        curl_easy_setopt(e, opt, v);
        *held = v;
    }
}

/* Points the handle at url unless it already is (the handle keeps a copy
 * to compare with the next). The URL goes to libcurl parsed, as a URL
 * handle (CURLOPT_CURLU): given as text, libcurl 7.88 parses it again for
 * every request (about 12k instructions a call in make bench-runtime); a
 * handle is copied instead. It is parsed with the flags libcurl uses for
 * text; one that does not parse goes as text, for libcurl to report at the
 * transfer as before. */
typedef struct url_to_handle {
    pooled *p;
    const char *url;
    CURLcode rc;
} url_to_handle;

static void give_url(void *arg)
{
    url_to_handle *a = arg;
    if (curl_url_set(a->p->uh, CURLUPART_URL, a->url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
        a->rc = curl_easy_setopt(a->p->e, CURLOPT_CURLU, a->p->uh);
    } else {
        curl_easy_setopt(a->p->e, CURLOPT_CURLU, NULL);
        a->rc = curl_easy_setopt(a->p->e, CURLOPT_URL, a->url);
    }
}

static dsp_status set_url(pooled *p, const char *url, dsp_error *err)
{
    if (p->url && strcmp(p->url, url) == 0)
        return DSP_OK;
    free(p->url);
    p->url = NULL;
    if (!p->uh && !(p->uh = curl_url()))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory setting up a request to %s", url);
    /* On the event loop's stack: parsing touches a page of stack that a
     * job's would keep resident while it waits (loop.h). */
    url_to_handle a = {p, url, CURLE_OK};
    dsp_loop_run_aside(give_url, &a);
    if (a.rc != CURLE_OK)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory setting up a request to %s", url);
    p->url = strdup(url); /* NULL when out of memory: set again next time */
    return DSP_OK;
}

dsp_status dsp_http_post(dsp_http *h, const char *url, const char *const *headers, size_t n_headers,
                         const char *body, size_t len, const dsp_http_limits *lim, dsp_http_reply *out,
                         dsp_error *err)
{
    /* Not memset: the inline body storage needs no zeroing. */
    out->status = 0;
    out->body = NULL;
    out->len = 0;
    out->retry_after_s = -1;
    out->permanent = false;
    out->unanswered = false;
    out->charged = 0;
    out->owner = h;
    out->inline_body[0] = '\0';
    if (n_headers > DSP_HTTP_MAX_HEADERS)
        return dsp_error_set(err, DSP_ERR_INVALID, "%zu request header lines given; at most %d are supported",
                             n_headers, DSP_HTTP_MAX_HEADERS);
    pooled *p = acquire(h);
    if (!p)
        return dsp_error_set(err, DSP_ERR_NOMEM, "libcurl could not create a handle");
    CURL *e = p->e;
    bool signed_req = lim && lim->aws_sigv4;
    /* The header list lives in the pooled handle: struct curl_slist is
     * public, libcurl only reads the list, and building it with
     * curl_slist_append would cost an allocation and a copy per line per
     * call. A client sends at most a handful of lines. */
    struct curl_slist *nodes = p->hdr_nodes;
    size_t n = 0;
    if (!signed_req) {
        nodes[n++].data = (char *)user_agent_line;
        nodes[n++].data = (char *)accept_line;
    }
    for (size_t i = 0; i < n_headers; i++)
        nodes[n++].data = (char *)headers[i];
    /* No "Expect: 100-continue" round trip for large prompts. Not for a
     * signed request: libcurl's SigV4 signs the empty "Expect:" that only
     * removes the header, as a header "expect" the server never receives,
     * so AWS would find the signature wrong (tests/runtime/test_sigv4.c). */
    static const char no_expect[] = "Expect:";
    if (!signed_req)
        nodes[n++].data = (char *)no_expect;
    for (size_t i = 0; i + 1 < n; i++)
        nodes[i].next = &nodes[i + 1];
    if (n > 0)
        nodes[n - 1].next = NULL;
    else
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL); /* a signed request without lines */
    out->stopped = false;
    sink s = {.buf = out->inline_body, .inline_buf = out->inline_body, .cap = sizeof out->inline_body, .h = h,
              .e = e, .lim = lim, .streaming = lim && lim->on_body ? -1 : 0, .first_cap = 4096};
    if (lim && lim->heap_only) {
        /* on_data allocates at the first byte, as much as a typical chat
         * reply holds: thousands of them may wait in flight at once. */
        s.cap = 0;
        s.first_cap = 1024;
    }
    p->cur = &s;
    p->errbuf[0] = '\0';
    const char *errbuf = p->errbuf;
    dsp_status st = set_url(p, url, err);
    if (st != DSP_OK) {
        release(h, p);
        return st;
    }
    set_ms(e, CURLOPT_CONNECTTIMEOUT_MS, &p->connect_ms, lim ? lim->connect_ms : h->connect_timeout_ms);
    set_ms(e, CURLOPT_TIMEOUT_MS, &p->total_ms, lim ? lim->total_ms : h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (signed_req) {
        curl_easy_setopt(e, CURLOPT_USERAGENT, DSP_HTTP_USER_AGENT);
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, lim->aws_sigv4);
        curl_easy_setopt(e, CURLOPT_USERPWD, lim->aws_userpwd);
    }
    /* In a job of an event loop the transfer joins the loop's multi
     * handle and the job waits for it while others run. */
    CURLcode rc = dsp_loop_active() ? dsp_loop_perform(h, e) : curl_easy_perform(e);
    if (rc == CURLE_WRITE_ERROR && s.stopped) {
        rc = CURLE_OK; /* the reader stopped it: a reply came, and it has what it read */
        out->stopped = true;
    }
    if (rc != CURLE_OK) {
        st = curl_failure(rc, errbuf, url, &s, err);
        out->permanent = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_FILESIZE_EXCEEDED || s.too_big;
        long header_bytes = 0;
        curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &header_bytes);
        out->unanswered = header_bytes == 0 && s.len == 0 && (st == DSP_ERR_NETWORK || st == DSP_ERR_TIMEOUT);
        if (s.buf != s.inline_buf)
            free(s.buf);
        if (s.charged)
            atomic_fetch_sub(&h->held, s.charged);
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
        /* OpenAI's retry-after-ms is more precise than Retry-After, whose
         * seconds round up; either is honoured. */
        struct curl_header *ra = NULL;
        if (out->status >= 300 &&
            curl_easy_header(e, "retry-after-ms", 0, CURLH_HEADER, -1, &ra) == CURLHE_OK && ra) {
            char *end = NULL;
            double ms = strtod(ra->value, &end);
            if (end != ra->value && *end == '\0' && ms >= 0 && ms < 1e9)
                out->retry_after_s = ms / 1000.0;
        }
        ra = NULL;
        if (out->status >= 300 && out->retry_after_s < 0 &&
            curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &ra) == CURLHE_OK && ra)
            out->retry_after_s = dsp_retry_after_parse(ra->value, time(NULL));
        out->body = s.buf; /* NUL-terminated even when empty */
        out->len = s.streaming ? 0 : s.len;
        out->charged = s.charged;
    }
    /* The handle must not keep pointers to this call's header lines (one
     * holds the key) or its body: the list goes back to one fixed line
     * (libcurl reads the list only while it sends a request), the body to
     * none. */
    p->hdr_nodes[0].data = (char *)user_agent_line;
    p->hdr_nodes[0].next = NULL;
    if (n == 0)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdr_nodes);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    p->cur = NULL;
    if (signed_req) {
        /* A pooled handle signs no later request, nor keeps the secret. */
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, NULL);
        curl_easy_setopt(e, CURLOPT_USERPWD, NULL);
        curl_easy_setopt(e, CURLOPT_USERAGENT, NULL);
    }
    release(h, p);
    return st;
}
