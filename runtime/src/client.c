/* client.c — dsp_client: one chat call end to end (cache, key, request,
 * retries, reply), batches on an event loop, and usage totals. */
#include "dsp/client.h"
#include "dsp/signature.h"

#include "dsp/batch.h"
#include "dsp/lm_batch.h"

#include "breaker.h"
#include "cache.h"
#include "cache_remote.h"
#include "client_settings.h"
#include "endpoints.h"
#include "prompt_prefix.h"
#include "http.h"
#include "lm_stream.h"
#include "lm_batch_int.h"
#include "lm_wire.h"
#include "loop.h"
#include "ratelimit.h"
#include "retry.h"
#include "trace_int.h"
#include "secret.h"

#include <alloca.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Request bodies up to this size are built on the stack (most prompts are
 * a few KiB); larger ones on the heap. */
#define DSP_BODY_INLINE 8192
/* The longest one call may take, retries and waits included, unless the
 * client's options say otherwise: 2.5 attempts at the default timeout. */
#define DSP_DEFAULT_DEADLINE_S 300.0

struct dsp_client {
    dsp_client_options opts; /* defaults resolved; strings below are owned */
    char *base_url;          /* override of every config's base URL, or NULL */
    bool base_url_loopback;  /* ... and whether its host is this machine, found once */
    dsp_http *http;
    dsp_cache *cache;        /* NULL when the cache is off */
    dsp_prefix_memo *prefixes; /* prompts' fixed parts, rendered once; NULL: none */
    pthread_mutex_t usage_lock;
    dsp_usage_totals usage;
    atomic_uint_fast64_t rng_counter; /* seeds each call's jitter differently */
    dsp_tracer *tracer;      /* NULL: no trace */
    dsp_breaker breaker;
    /* max_in_flight: requests on the wire at once, over every thread and
     * batch that shares the client. */
    pthread_mutex_t slot_lock;
    pthread_cond_t slot_free; /* on CLOCK_MONOTONIC, as call deadlines are */
    int in_flight;
    dsp_rates rates;         /* pacing and AIMD per endpoint and model */
    dsp_endpoints endpoints; /* which base URLs of lms that list several are down */
    /* A provider batch (dsp/lm_batch.h): set between runs, not during. */
    dsp_lm_batch *lm_batch;
    bool batch_collect;
};

void dsp_client_attach_batch(dsp_client *c, dsp_lm_batch *b, bool collect)
{
    if (!c)
        return;
    c->lm_batch = b;
    c->batch_collect = b && collect;
}

const char *dsp_client_cache_path(const dsp_client *c)
{
    return c && c->cache ? dsp_cache_file_path(c->cache) : NULL;
}

dsp_tracer *dsp_client_tracer(const dsp_client *c)
{
    return c ? c->tracer : NULL;
}

dsp_client_options dsp_client_options_default(void)
{
    dsp_client_options o;
    memset(&o, 0, sizeof o);
    o.max_in_flight = 16;
    o.max_retries = 5;
    o.connect_timeout_s = 10;
    o.timeout_s = 120;
    o.backoff_base_s = 0.5;
    o.deadline_s = DSP_DEFAULT_DEADLINE_S;
    o.trace_content = -1;
    return o;
}

dsp_status dsp_client_new(const dsp_client_options *opts, dsp_client **out, dsp_error *err)
{
    if (!out)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_client_new: out is NULL");
    *out = NULL;
    dsp_client_options o = opts ? *opts : dsp_client_options_default();
    if (o.max_in_flight <= 0)
        o.max_in_flight = 16;
    if (o.max_retries < 0)
        o.max_retries = 5;
    if (o.connect_timeout_s <= 0)
        o.connect_timeout_s = 10;
    if (o.timeout_s <= 0)
        o.timeout_s = 120;
    if (o.backoff_base_s <= 0)
        o.backoff_base_s = 0.5;
    if (o.deadline_s <= 0)
        o.deadline_s = DSP_DEFAULT_DEADLINE_S;
    if (o.breaker_after == 0)
        o.breaker_after = DSP_BREAKER_DEFAULT_AFTER;
    if (o.breaker_rate == 0)
        o.breaker_rate = DSP_BREAKER_DEFAULT_RATE;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dsp_error_set(err, DSP_ERR_NETWORK, "libcurl failed to initialise");
    dsp_client *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory creating a client");
    }
    pthread_mutex_init(&c->usage_lock, NULL);
    pthread_mutex_init(&c->slot_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->slot_free, &ca);
    pthread_condattr_destroy(&ca);
    dsp_breaker_init(&c->breaker, o.breaker_after, o.breaker_rate);
    dsp_rates_init(&c->rates, o.max_in_flight);
    dsp_endpoints_init(&c->endpoints);
    atomic_init(&c->rng_counter, (uint_fast64_t)time(NULL) * 0x9E3779B97F4A7C15ull + (uintptr_t)c);
    const char *base = o.base_url ? o.base_url : getenv("DSPCC_BASE_URL");
    dsp_status st = DSP_OK;
    if (base && *base && !(c->base_url = strdup(base)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory creating a client");
    c->base_url_loopback = c->base_url && dsp_url_is_loopback(c->base_url);
    o.base_url = c->base_url;
    o.cache_dir = NULL; /* borrowed by the caller; not kept */
    o.cache_url = NULL; /* may hold a password: read once below, not kept */
    const char *trace = o.trace_path ? o.trace_path : getenv("DSPCC_TRACE");
    if (st == DSP_OK && trace && *trace) {
        const char *tc = getenv("DSPCC_TRACE_CONTENT");
        bool content = o.trace_content >= 0 ? o.trace_content > 0 : (tc && strcmp(tc, "1") == 0);
        st = dsp_tracer_open(trace, content, &c->tracer, err);
    }
    o.trace_path = NULL;
    c->opts = o;
    c->prefixes = dsp_prefix_memo_new(); /* without one, calls render whole prompts */
    if (st == DSP_OK)
        st = dsp_http_new(o.connect_timeout_s, o.timeout_s, o.max_in_flight + 4, 0, &c->http, err);
    if (st == DSP_OK && !o.no_cache) {
        char *dir = NULL;
        st = dsp_cache_resolve_dir(opts ? opts->cache_dir : NULL, &dir, err);
        if (st == DSP_OK)
            st = dsp_cache_open_warn(dir, o.warn, o.warn_ctx, &c->cache, err);
        free(dir);
        const char *url = opts && opts->cache_url ? opts->cache_url : getenv("DSPCC_CACHE_URL");
        if (st == DSP_OK && url && *url) {
            dsp_remote_cache *remote = NULL;
            st = dsp_remote_cache_open(url, o.warn, o.warn_ctx, &remote, err);
            dsp_cache_set_remote(c->cache, remote);
            if (st != DSP_OK) {
                dsp_client_free(c);
                return st;
            }
        }
        if (st != DSP_OK && err) {
            size_t used = strlen(err->message);
            snprintf(err->message + used, sizeof err->message - used,
                     " (set DSPCC_CACHE_DIR to a writable directory, or turn the cache off)");
        }
    }
    if (st != DSP_OK) {
        dsp_client_free(c);
        return st;
    }
    *out = c;
    return DSP_OK;
}

void dsp_client_free(dsp_client *c)
{
    if (!c)
        return;
    dsp_cache_close(c->cache);
    dsp_http_free(c->http);
    dsp_tracer_close(c->tracer);
    dsp_prefix_memo_free(c->prefixes);
    pthread_mutex_destroy(&c->usage_lock);
    pthread_cond_destroy(&c->slot_free);
    pthread_mutex_destroy(&c->slot_lock);
    dsp_breaker_destroy(&c->breaker);
    dsp_rates_destroy(&c->rates);
    dsp_endpoints_destroy(&c->endpoints);
    free(c->base_url);
    free(c);
    curl_global_cleanup();
}

dsp_status dsp_client_flush(dsp_client *c, dsp_error *err)
{
    return c ? dsp_cache_flush(c->cache, err) : DSP_OK;
}

dsp_client_options dsp_client_settings(const dsp_client *c)
{
    return c->opts;
}

/* A copy of totals t, updated under c's usage lock, with the costs in
 * dollars too. */
static dsp_usage_totals usage_snapshot(dsp_client *c, const dsp_usage_totals *t)
{
    pthread_mutex_lock(&c->usage_lock);
    dsp_usage_totals u = *t;
    pthread_mutex_unlock(&c->usage_lock);
    u.cost_usd = (double)u.cost_pusd / 1e12;
    u.cached_cost_usd = (double)u.cached_cost_pusd / 1e12;
    return u;
}

dsp_usage_totals dsp_client_usage(dsp_client *c)
{
    dsp_usage_totals u;
    memset(&u, 0, sizeof u);
    return c ? usage_snapshot(c, &c->usage) : u;
}

bool dsp_client_stopped(dsp_client *c, char *why, size_t n)
{
    if (!c || !dsp_breaker_tripped(&c->breaker))
        return false;
    if (why && n) {
        pthread_mutex_lock(&c->breaker.lock);
        snprintf(why, n, "%s", c->breaker.why);
        pthread_mutex_unlock(&c->breaker.lock);
    }
    return true;
}

typedef struct usage_delta {
    int64_t http_requests, http_unanswered, retries, cache_hits, cache_misses, prompt_tokens, completion_tokens;
    int64_t cost_pusd; /* picodollars: integer sums are the same in any order */
    int64_t cached_prompt_tokens, cached_completion_tokens;
    int64_t cached_cost_pusd;
    int64_t unpriced;
} usage_delta;

static int64_t pico_usd(const dsp_lm_config *lm, int64_t prompt_tokens, int64_t completion_tokens)
{
    return llround(dsp_lm_cost(lm, prompt_tokens, completion_tokens) * 1e12);
}

static bool priced(const dsp_lm_config *lm)
{
    return lm->usd_per_mtok_in > 0 || lm->usd_per_mtok_out > 0;
}

double dsp_lm_cost(const dsp_lm_config *lm, int64_t prompt_tokens, int64_t completion_tokens)
{
    if (!lm)
        return 0;
    return ((double)prompt_tokens * lm->usd_per_mtok_in + (double)completion_tokens * lm->usd_per_mtok_out) / 1e6;
}

static void add_to(dsp_usage_totals *t, const usage_delta *d, int completed)
{
    t->calls += completed;
    t->http_requests += d->http_requests;
    t->http_unanswered += d->http_unanswered;
    t->retries += d->retries;
    t->cache_hits += d->cache_hits;
    t->cache_misses += d->cache_misses;
    t->prompt_tokens += d->prompt_tokens;
    t->completion_tokens += d->completion_tokens;
    t->cost_pusd += d->cost_pusd;
    t->cached_prompt_tokens += d->cached_prompt_tokens;
    t->cached_completion_tokens += d->cached_completion_tokens;
    t->cached_cost_pusd += d->cached_cost_pusd;
    t->unpriced_calls += d->unpriced;
}

/* The usage group of the calling thread or job (dsp_usage_group_use), in
 * thread-specific data as the trace's current span is; the event loop
 * keeps each job's own. */
static pthread_key_t group_key;
static pthread_once_t group_once = PTHREAD_ONCE_INIT;

static void make_group_key(void)
{
    (void)pthread_key_create(&group_key, NULL);
}

dsp_usage_group *dsp_usage_group_current(void)
{
    pthread_once(&group_once, make_group_key);
    return pthread_getspecific(group_key);
}

dsp_usage_group *dsp_usage_group_use(dsp_usage_group *g)
{
    dsp_usage_group *was = dsp_usage_group_current();
    (void)pthread_setspecific(group_key, g);
    return was;
}

dsp_usage_totals dsp_client_group_usage(dsp_client *c, const dsp_usage_group *g)
{
    dsp_usage_totals u;
    memset(&u, 0, sizeof u);
    return c && g ? usage_snapshot(c, &g->totals) : u;
}

static void add_usage(dsp_client *c, const usage_delta *d, int completed)
{
    dsp_usage_group *g = dsp_usage_group_current();
    pthread_mutex_lock(&c->usage_lock);
    add_to(&c->usage, d, completed);
    if (g)
        add_to(&g->totals, d, completed);
    pthread_mutex_unlock(&c->usage_lock);
}

/* Everything one call needs, resolved once. */
typedef struct call {
    dsp_provider provider;
    const char *model_spec, *model_name, *base_url; /* base_url: the first the lm lists */
    /* The chat endpoint at each base URL the lm lists (owned), each's
     * limiter, and the one the current attempt goes to. */
    char *urls[DSP_MAX_BASE_URLS];
    dsp_rate *rates[DSP_MAX_BASE_URLS];
    size_t n_urls;
    const char *url;
    double est_tokens; /* what the request counts against a tpm limit */
    bool in_loop;      /* in a job of an event loop: replies go to the heap */
    dsp_jw body; /* in the caller's stack buffer unless it outgrew it */
    const char *headers[4];
    size_t n_headers;
    char *auth_header; /* holds the key: wiped (and freed) after the call */
    char auth_inline[192]; /* auth_header when it fits: no malloc a call */
    const char *key;
    /* Bedrock: the other credentials (access key id, session token),
     * redacted like key; the SigV4 scope and "ID:SECRET" for libcurl. */
    const char *more_keys[2];
    char sigv4[64];
    char *userpwd;
    char *token_header;
    int max_attempts;
    double attempt_s;  /* each attempt's limit */
    double deadline;   /* on the monotonic clock: no attempt or wait goes past it */
    int http_status;   /* of the last attempt's reply, 0 if none came */
    /* Streaming: the request's text callback, and whether this call asks
     * for a stream (dsp_chat_request.on_text). */
    dsp_chat_text_fn on_text;
    void *on_text_ctx;
    bool stream;
    dsp_reply_parser parse; /* a 2xx body into resp; NULL: the provider's chat reply */
} call;

static double monotonic_s(void)
{
    return dsp_monotonic_s();
}

/* Puts "MODEL_SPEC: " before a transport error's message, so that it
 * names the lm as declared (compatible/..., not the wire format's name). */
static void name_lm(dsp_error *err, const char *model_spec)
{
    if (!err)
        return;
    char msg[DSP_ERROR_MESSAGE_MAX];
    size_t n = strlen(model_spec);
    if (n + 2 >= sizeof msg)
        return;
    memcpy(msg, model_spec, n);
    memcpy(msg + n, ": ", 2);
    /* The end of a long message is cut, never the name. */
    size_t room = sizeof msg - n - 3;
    size_t len = strnlen(err->message, room);
    memcpy(msg + n + 2, err->message, len);
    msg[n + 2 + len] = '\0';
    memcpy(err->message, msg, n + 2 + len + 1); /* not past the NUL: the rest of msg is unset */
}

/* Appends a parenthesised note on why the retries stopped. */
static void note_gave_up(dsp_error *err, const char *fmt, int a, double b)
{
    if (!err)
        return;
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof err->message - used, fmt, a, b);
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* Redacts every credential of the call from err (the key, then Bedrock's
 * access key id and session token). */
static void redact_all(dsp_error *err, const call *k)
{
    dsp_secret_redact_error(err, k->key);
    for (int i = 0; i < 2; i++)
        if (k->more_keys[i])
            dsp_secret_redact_error(err, k->more_keys[i]);
}

static void call_free(call *k)
{
    for (size_t i = 0; i < k->n_urls; i++)
        free(k->urls[i]);
    wipe_free(k->userpwd);
    wipe_free(k->token_header);
    dsp_jw_free(&k->body);
    if (k->auth_header) {
        memset(k->auth_header, 0, strlen(k->auth_header));
        if (k->auth_header != k->auth_inline)
            free(k->auth_header);
    }
}

dsp_status dsp_api_key_from_env(const char *env, const char *model_spec, const char **key, dsp_error *err)
{
    return dsp_api_key_check(env, getenv(env), model_spec, key, err);
}

/* Whether any of the n bytes at s is a control character (below 0x20, or
 * DEL). Eight bytes at a time with the "has a byte less than" bit tests,
 * exact for a word as a whole: the key is checked at every call. */
static bool has_control(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, sizeof x);
        uint64_t del = x ^ (ones * 0x7f);
        if (((x - ones * 0x20) & ~x & highs) | ((del - ones) & ~del & highs))
            return true;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return true;
    return false;
}

dsp_status dsp_api_key_check(const char *env, const char *v, const char *model_spec, const char **key,
                             dsp_error *err)
{
    *key = NULL;
    if (!v || !*v)
        return dsp_error_set(err, DSP_ERR_ENV, "environment variable %s is not set; it must hold the API key for %s",
                             env, model_spec);
    if (has_control(v, strlen(v)))
        return dsp_error_set(err, DSP_ERR_ENV,
                             "environment variable %s holds a control character (a trailing newline?); "
                             "it must hold the API key alone",
                             env);
    *key = v;
    return DSP_OK;
}

static bool ends_with_token(const char *env)
{
    size_t n = strlen(env);
    return n >= 6 && strcmp(env + n - 6, "_TOKEN") == 0;
}

/* Bedrock: SigV4 with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
 * AWS_SESSION_TOKEN, sent as x-amz-security-token, which is signed too),
 * for the region of the endpoint. A loopback endpoint without credentials
 * gets unsigned requests, as other local servers get no key. */
/* dsp_provider_needs_key for the call's base URL; the client's own base
 * URL was looked at once, when the client was made (parsing a URL per call
 * costs thousands of instructions, and 6 KiB of a job's stack in libcurl's
 * formatting). */
static bool needs_key(const dsp_client *c, const call *k)
{
    if (!dsp_provider_needs_key(k->provider, NULL))
        return false;
    if (k->base_url && k->base_url == c->base_url)
        return !c->base_url_loopback;
    return dsp_provider_needs_key(k->provider, k->base_url);
}

static dsp_status set_aws_auth(const dsp_client *c, call *k, const char *url, dsp_error *err)
{
    const char *env[DSP_AWS_N_ENV];
    dsp_aws_env_read(env);
    const char *id = env[DSP_AWS_KEY_ID], *secret = env[DSP_AWS_SECRET], *token = env[DSP_AWS_TOKEN];
    if ((!id || !*id) && (!secret || !*secret) && !needs_key(c, k))
        return DSP_OK;
    dsp_status st = dsp_api_key_check(dsp_aws_env_names[DSP_AWS_KEY_ID], id, k->model_spec, &id, err);
    if (st == DSP_OK)
        st = dsp_api_key_check(dsp_aws_env_names[DSP_AWS_SECRET], secret, k->model_spec, &secret, err);
    if (st != DSP_OK)
        return st;
    k->key = secret;
    k->more_keys[0] = id;
    if (token && *token) {
        st = dsp_api_key_check(dsp_aws_env_names[DSP_AWS_TOKEN], token, k->model_spec, &token, err);
        if (st != DSP_OK)
            return st;
        k->more_keys[1] = token;
        size_t n = strlen(token) + 32;
        if (!(k->token_header = malloc(n)))
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
        snprintf(k->token_header, n, "x-amz-security-token: %s", token);
        k->headers[k->n_headers++] = k->token_header;
    }
    char region[DSP_AWS_REGION_MAX];
    st = dsp_bedrock_region(url, region, err);
    if (st != DSP_OK)
        return st;
    snprintf(k->sigv4, sizeof k->sigv4, "aws:amz:%s:bedrock", region);
    size_t n = strlen(id) + strlen(secret) + 2;
    if (!(k->userpwd = malloc(n)))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
    snprintf(k->userpwd, n, "%s:%s", id, secret);
    return DSP_OK;
}

static dsp_status set_auth(const dsp_client *c, call *k, const dsp_lm_config *lm, dsp_error *err)
{
    k->headers[k->n_headers++] = "Content-Type: application/json";
    if (k->provider == DSP_PROVIDER_BEDROCK)
        return set_aws_auth(c, k, k->url, err);
    if (k->provider == DSP_PROVIDER_ANTHROPIC)
        k->headers[k->n_headers++] = "anthropic-version: " DSP_ANTHROPIC_VERSION;
    if (!lm->api_key_env)
        return DSP_OK;
    /* A local server or a provider that needs no key gets one only when
     * its variable holds one. */
    const char *set = getenv(lm->api_key_env);
    if ((!set || !*set) && !needs_key(c, k))
        return DSP_OK;
    const char *key = NULL;
    dsp_status st = dsp_api_key_check(lm->api_key_env, set, k->model_spec, &key, err);
    if (st != DSP_OK)
        return st;
    k->key = key;
    const char *prefix = k->provider == DSP_PROVIDER_ANTHROPIC ? "x-api-key: " : "Authorization: Bearer ";
    /* Azure takes a key in api-key; a variable named ..._TOKEN holds a
     * Microsoft Entra ID token instead (AZURE_OPENAI_AD_TOKEN in the
     * official SDKs), which goes as a bearer token. */
    if (k->provider == DSP_PROVIDER_AZURE && !ends_with_token(lm->api_key_env))
        prefix = "api-key: ";
    if (k->provider == DSP_PROVIDER_GEMINI)
        prefix = "x-goog-api-key: ";
    size_t np = strlen(prefix), nk = strlen(key);
    k->auth_header = np + nk + 1 <= sizeof k->auth_inline ? k->auth_inline : malloc(np + nk + 1);
    if (!k->auth_header)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
    memcpy(k->auth_header, prefix, np);
    memcpy(k->auth_header + np, key, nk + 1);
    k->headers[k->n_headers++] = k->auth_header;
    return DSP_OK;
}

/* Whether any choice or tool call of a reply holds a piece of the key: such a reply is
 * refused, so the key never reaches the cache, a trace, a state file or
 * generated C. */
/* A key shorter than DSP_SECRET_MIN_PIECE is a placeholder ("x", "ollama"
 * for a local server), not a secret: ordinary text holds it, so refusing
 * such replies would refuse them all. */
static bool holds_key(const dsp_chat_response *resp, const char *key)
{
    if (!key || strlen(key) < DSP_SECRET_MIN_PIECE)
        return false;
    for (size_t i = 0; i < resp->n_choices; i++)
        if (resp->choices[i] && dsp_secret_found(resp->choices[i], strlen(resp->choices[i]), key))
            return true;
    /* A native tool call's parts reach the trajectory, traces and the
     * cache as the text does. */
    for (size_t i = 0; i < resp->n_tool_calls; i++) {
        const char *parts[3] = { resp->tool_calls[i].id, resp->tool_calls[i].name, resp->tool_calls[i].arguments };
        for (int j = 0; j < 3; j++)
            if (parts[j] && dsp_secret_found(parts[j], strlen(parts[j]), key))
                return true;
    }
    return false;
}

static dsp_status no_slot(const dsp_client *c, const call *k, dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_TIMEOUT,
                         "%s: no request could be sent within the call's deadline of %g s: the client's "
                         "%d requests in flight (max_in_flight) stayed busy",
                         k->model_spec, c->opts.deadline_s, c->opts.max_in_flight);
}

/* In a job of an event loop: the job waits for a slot while the loop runs
 * others, woken when one of its jobs gives a slot back, or after 20 ms for
 * slots given back on other threads. */
static dsp_status take_slot_in_loop(dsp_client *c, const call *k, dsp_error *err)
{
    for (;;) {
        pthread_mutex_lock(&c->slot_lock);
        bool got = c->in_flight < c->opts.max_in_flight;
        if (got)
            c->in_flight++;
        pthread_mutex_unlock(&c->slot_lock);
        if (got)
            return DSP_OK;
        double now = monotonic_s();
        if (now >= k->deadline)
            return no_slot(c, k, err);
        dsp_loop_wait(now + 0.02 < k->deadline ? now + 0.02 : k->deadline);
    }
}

/* Waits for one of the client's max_in_flight request slots, at most
 * until the call's deadline. */
static dsp_status take_slot(dsp_client *c, const call *k, dsp_error *err)
{
    if (dsp_loop_active())
        return take_slot_in_loop(c, k, err);
    struct timespec until;
    double whole;
    double frac = modf(k->deadline, &whole);
    until.tv_sec = (time_t)whole;
    until.tv_nsec = (long)(frac * 1e9);
    dsp_status st = DSP_OK;
    pthread_mutex_lock(&c->slot_lock);
    while (c->in_flight >= c->opts.max_in_flight) {
        if (pthread_cond_timedwait(&c->slot_free, &c->slot_lock, &until) == ETIMEDOUT &&
            c->in_flight >= c->opts.max_in_flight) {
            st = no_slot(c, k, err);
            break;
        }
    }
    if (st == DSP_OK)
        c->in_flight++;
    pthread_mutex_unlock(&c->slot_lock);
    return st;
}

static void give_slot(dsp_client *c)
{
    pthread_mutex_lock(&c->slot_lock);
    c->in_flight--;
    pthread_cond_signal(&c->slot_free);
    pthread_mutex_unlock(&c->slot_lock);
    dsp_loop_wake_waiter();
}

/* Whether a cached reply holds a piece of a credential this call would
 * send: rows stored before replies were checked for the key must not reach
 * the caller (and from there a state file or generated C). */
static bool cached_holds_key(const dsp_lm_config *lm, dsp_provider provider, const dsp_chat_response *resp)
{
    if (provider == DSP_PROVIDER_BEDROCK) {
        const char *env[DSP_AWS_N_ENV];
        dsp_aws_env_read(env);
        for (int i = 0; i < DSP_AWS_N_ENV; i++)
            if (holds_key(resp, env[i]))
                return true;
        return false;
    }
    return lm->api_key_env && holds_key(resp, getenv(lm->api_key_env));
}

/* Whether a cached row may answer the call: its caller can use it and it
 * holds no piece of the key. */
typedef struct cached_check {
    const dsp_chat_request *req;
    const dsp_lm_config *lm;
    dsp_provider provider;
} cached_check;

static bool cached_usable(void *ctx, const dsp_chat_response *resp)
{
    const cached_check *k = ctx;
    return !(k->req->keep && !k->req->keep(k->req->keep_ctx, resp)) && !cached_holds_key(k->lm, k->provider, resp);
}

static bool read_stream(void *ctx, const char *data, size_t n)
{
    return dsp_stream_reader_feed(ctx, data, n);
}

/* Of an lm's several base URLs, the next after ei in turn whose endpoint
 * did not ask to wait (a 429's Retry-After: an exhausted quota holds it
 * for as long as it says, which the others need not share); ei itself
 * when there is none. */
static size_t unpaused_endpoint(dsp_client *c, const call *k, size_t ei, double now)
{
    for (size_t j = 1; j < k->n_urls; j++) {
        size_t i = (ei + j) % k->n_urls;
        if (!dsp_rates_paused(&c->rates, k->rates[i], now))
            return i;
    }
    return ei;
}

/* A reply's non-2xx status as the call's error, with the provider's own
 * message. A function of its own: its buffer is not in exchange's frame,
 * which stays on a parked job's stack. */
__attribute__((noinline)) static dsp_status http_failure(const call *k, const dsp_http_reply *reply, int http_status,
                                                         dsp_error *err)
{
    char msg[600];
    dsp_provider_error_message(reply->body, reply->len, msg, sizeof msg);
    dsp_status st = dsp_error_set(err, DSP_ERR_HTTP, "%s: HTTP %d from %s: %s", k->model_spec, http_status, k->url,
                                  msg);
    if (err)
        err->http_status = http_status;
    return st;
}

/* One HTTP exchange with retries; on DSP_OK resp holds its choices. */
static dsp_status exchange(dsp_client *c, call *k, dsp_chat_response *resp, usage_delta *u, uint64_t *rng,
                           dsp_error *err)
{
    dsp_status st = DSP_ERR_NETWORK;
    int max_attempts = k->max_attempts;
    /* The reply: on the stack, with room for a typical body (no allocation
     * per call); in a job of an event loop only its head, its body going
     * to the heap (http.h, heap_only), since every page of a parked job's
     * stack stays resident. */
    dsp_http_reply *reply = alloca(k->in_loop ? offsetof(dsp_http_reply, inline_body) + 1 : sizeof *reply);
    /* Only a stream needs a reader (1.5 KiB): not in every call's frame. */
    dsp_stream_reader *rd = k->stream ? alloca(sizeof *rd) : NULL;
    for (int attempt = 0; attempt < max_attempts; attempt++) {
        double retry_after = -1;
        int http_status = 0;
        dsp_error_clear(err);
        /* Which of the lm's base URLs this attempt goes to, and its pace. */
        double picked_at = monotonic_s();
        size_t ei = dsp_endpoints_pick(&c->endpoints, (const char *const *)k->urls, k->n_urls, picked_at);
        if (k->n_urls > 1 && dsp_rates_paused(&c->rates, k->rates[ei], picked_at))
            ei = unpaused_endpoint(c, k, ei, picked_at);
        k->url = k->urls[ei];
        uint64_t ticket = 0;
        st = dsp_rates_acquire(&c->rates, k->rates[ei], k->est_tokens, k->deadline, k->model_spec, &ticket, err);
        if (st != DSP_OK)
            break;
        st = take_slot(c, k, err);
        if (st != DSP_OK) {
            dsp_rates_release(&c->rates, k->rates[ei], ticket, 0, -1, k->est_tokens, 0);
            break;
        }
        /* Each attempt gets its own limit, cut to what is left of the
         * call's deadline; connecting gets no more than the attempt. */
        double left = k->deadline - monotonic_s();
        double t = k->attempt_s < left ? k->attempt_s : left;
        dsp_http_limits lim;
        lim.total_ms = t > 0.001 ? (long)(t * 1000) : 1;
        lim.connect_ms = (long)(c->opts.connect_timeout_s * 1000);
        lim.heap_only = k->in_loop;
        lim.aws_sigv4 = k->userpwd ? k->sigv4 : NULL;
        lim.aws_userpwd = k->userpwd;
        if (lim.connect_ms > lim.total_ms)
            lim.connect_ms = lim.total_ms;
        lim.on_body = NULL;
        lim.body_ctx = NULL;
        if (k->stream) {
            dsp_stream_reader_init(rd, k->provider, k->on_text, k->on_text_ctx);
            rd->keys[0] = k->key;
            rd->keys[1] = k->more_keys[0];
            rd->keys[2] = k->more_keys[1];
            lim.on_body = read_stream;
            lim.body_ctx = rd;
        }
        u->http_requests++;
        st = dsp_http_post(c->http, k->url, k->headers, k->n_headers, k->body.buf, k->body.len, &lim, reply,
                           err);
        give_slot(c);
        if (st != DSP_OK && k->stream && rd->done && rd->st == DSP_OK &&
            (st == DSP_ERR_TIMEOUT || st == DSP_ERR_NETWORK)) {
            /* The stream had ended (its end marker came, nothing failed)
             * before the connection timed out or broke: a server or proxy
             * that holds it open, or drops it, after the end. The reply is
             * whole, and its text was handed on. */
            dsp_error_clear(err);
            st = DSP_OK;
            reply->status = 200;
        }
        if (st != DSP_OK)
            name_lm(err, k->model_spec);
        if (st != DSP_OK && reply->unanswered)
            u->http_unanswered++;
        if (st == DSP_OK) {
            http_status = (int)reply->status;
            k->http_status = http_status;
            retry_after = reply->retry_after_s;
            if (reply->status >= 200 && reply->status < 300 && k->stream) {
                st = dsp_stream_reader_finish(rd, k->url, resp, err);
                if (st != DSP_OK && st != DSP_ERR_PROTOCOL)
                    name_lm(err, k->model_spec);
            } else if (reply->status >= 200 && reply->status < 300) {
                st = k->parse                              ? k->parse(reply->body, reply->len, resp, err)
                     : k->provider == DSP_PROVIDER_ANTHROPIC ? dsp_anthropic_parse_reply(reply->body, reply->len, resp, err)
                     : k->provider == DSP_PROVIDER_BEDROCK ? dsp_bedrock_parse_reply(reply->body, reply->len, resp, err)
                     : k->provider == DSP_PROVIDER_GEMINI  ? dsp_gemini_parse_reply(reply->body, reply->len, resp, err)
                                                           : dsp_openai_parse_reply(reply->body, reply->len, resp, err);
                if (st == DSP_OK && (holds_key(resp, k->key) || holds_key(resp, k->more_keys[0]) ||
                                     holds_key(resp, k->more_keys[1]))) {
                    dsp_chat_response_free(resp);
                    st = dsp_error_set(err, DSP_ERR_PROTOCOL,
                                       "%s: the reply from %s holds the API key or a piece of it (%d or more "
                                       "characters); it was refused and not stored (the server echoes "
                                       "credentials: check the endpoint)",
                                       k->model_spec, k->url, DSP_SECRET_MIN_PIECE);
                }
            } else {
                st = http_failure(k, reply, http_status, err);
            }
        }
        /* A 2xx body that is not JSON was cut or garbled on the way and may
         * come whole next time; well-formed JSON that does not follow the
         * API (a refusal, no choices) would come back the same. */
        bool transient = dsp_retry_is_transient(st, http_status) && !reply->permanent;
        if (st == DSP_ERR_PROTOCOL && dsp_json_is_valid(reply->body, reply->len))
            transient = false;
        if (k->stream) {
            /* Text already handed on would be handed on again: a stream
             * that failed part way is not asked for again. */
            bool handed_on = rd->text.len > 0;
            if (st == DSP_ERR_CANCELLED || st == DSP_ERR_PROTOCOL || handed_on)
                transient = false;
            if (st != DSP_OK && st != DSP_ERR_CANCELLED && handed_on)
                note_gave_up(err, " (not retried: %d bytes of its text were already handed on)", (int)rd->text.len, 0);
            dsp_stream_reader_free(rd);
        }
        /* An endpoint that cannot be reached or answers 5xx is left alone
         * for a while; the retry goes to another at once. */
        bool down = ((st == DSP_ERR_NETWORK || st == DSP_ERR_TIMEOUT) && http_status == 0 && !reply->permanent) ||
                    (st == DSP_ERR_HTTP && http_status >= 500);
        dsp_http_reply_free(reply);
        dsp_rates_release(&c->rates, k->rates[ei], ticket, http_status, retry_after, k->est_tokens,
                          st == DSP_OK ? (double)(resp->usage.prompt_tokens + resp->usage.completion_tokens) : 0);
        bool failover = false;
        if (k->n_urls > 1) {
            double now = monotonic_s();
            dsp_endpoints_report(&c->endpoints, k->url, down, now);
            failover = down && dsp_endpoints_other_up(&c->endpoints, (const char *const *)k->urls, k->n_urls, ei, now);
            /* Asked to wait: another that was not goes at once. */
            if (http_status == 429 && retry_after > 0 && unpaused_endpoint(c, k, ei, now) != ei)
                failover = true;
        }
        /* Redacted now, not only at the end: the next attempt's
         * dsp_error_clear only ends the message at its first byte, so an
         * echoed key would stay in the bytes after it. */
        if (st != DSP_OK)
            redact_all(err, k);
        if (st == DSP_OK || !transient)
            break;
        if (attempt + 1 >= max_attempts) {
            note_gave_up(err, " (gave up after %d attempts)", max_attempts, 0);
            break;
        }
        /* Other calls found the LM failing for good: no more tries. */
        if (dsp_breaker_tripped(&c->breaker))
            break;
        double wait = failover ? 0 : dsp_retry_delay(attempt, c->opts.backoff_base_s, retry_after, rng);
        if (monotonic_s() + wait >= k->deadline) {
            note_gave_up(err, " (gave up after %d attempts: the call's deadline of %g s would pass before the next)",
                         attempt + 1, c->opts.deadline_s);
            break;
        }
        u->retries++;
        dsp_sleep_s(wait);
    }
    /* Each failed attempt was redacted above; a call that succeeded with
     * nothing in its message has nothing more to redact, and scanning the
     * whole buffer for the key's pieces cost 15.8k instructions a call
     * (more than a third of the library's own share). */
    if (st != DSP_OK || (err && err->message[0]))
        redact_all(err, k);
    return st;
}

/* Appends the choices of part to all (both owned); frees part. */
static dsp_status absorb(dsp_chat_response *all, dsp_chat_response *part, dsp_error *err)
{
    if (all->n_choices == 0 && !all->choices && !all->tool_calls) {
        /* The first (most often the only) reply: taken whole. */
        bool hit = all->cache_hit;
        *all = *part;
        all->cache_hit = hit;
        memset(part, 0, sizeof *part);
        return DSP_OK;
    }
    char **ch = realloc(all->choices, (all->n_choices + part->n_choices) * sizeof *ch);
    if (!ch) {
        dsp_chat_response_free(part);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory collecting choices");
    }
    all->choices = ch;
    memcpy(all->choices + all->n_choices, part->choices, part->n_choices * sizeof *ch);
    all->n_choices += part->n_choices;
    all->usage.prompt_tokens += part->usage.prompt_tokens;
    all->usage.completion_tokens += part->usage.completion_tokens;
    free(part->choices);
    /* Tool calls are the first choice's: the first reply's. */
    if (!all->tool_calls) {
        all->tool_calls = part->tool_calls;
        all->n_tool_calls = part->n_tool_calls;
    } else {
        dsp_tool_calls_free(part->tool_calls, part->n_tool_calls);
    }
    memset(part, 0, sizeof *part);
    return DSP_OK;
}

/* Anthropic has no n: n choices are n requests, each asking for one.
 * Returns how many requests to send and sets p->n for each. */
static int anthropic_reps(dsp_provider provider, dsp_lm_params *p)
{
    /* Bedrock's Converse has no n either. */
    if ((provider != DSP_PROVIDER_ANTHROPIC && provider != DSP_PROVIDER_BEDROCK) || p->n <= 1)
        return 1;
    int reps = p->n;
    p->n = 1;
    return reps;
}

dsp_status dsp_chat_request_body(const dsp_lm_config *lm, const dsp_chat_request *req, char **body, dsp_error *err)
{
    *body = NULL;
    if (!lm || !req)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_chat_request_body: LM config and request are required");
    dsp_provider provider;
    const char *model_name;
    dsp_status st = dsp_parse_model(lm->model, &provider, &model_name, err);
    if (st != DSP_OK)
        return st;
    dsp_lm_params p = dsp_params_merge(&lm->params, &req->params);
    (void)anthropic_reps(provider, &p);
    return dsp_wire_request_body(provider, model_name, req->messages, req->n_messages, &p, body, err);
}

/* A call under a provider batch (dsp/lm_batch.h): the reply the batch
 * holds for key (*taken), checked like one from the wire; or, collecting,
 * the request recorded and DSP_ERR_DEFERRED. Anything else goes on as a
 * normal call: providers without a batch API here, Anthropic's n > 1, and
 * requests a batch could not answer. */
static dsp_status from_provider_batch(dsp_client *c, const call *k, const dsp_lm_config *lm, const char *key,
                                      int reps, dsp_chat_response *resp, bool *taken, dsp_error *err)
{
    *taken = dsp_lm_batch_take(c->lm_batch, key, resp);
    if (*taken) {
        if (holds_key(resp, k->key)) {
            dsp_chat_response_free(resp);
            dsp_lm_batch_refuse(c->lm_batch, key); /* not asked of a batch again */
            return dsp_error_set(err, DSP_ERR_PROTOCOL,
                                 "%s: the batch reply for this request holds the API key or a piece of it (%d or "
                                 "more characters); it was refused and not stored",
                                 k->model_spec, DSP_SECRET_MIN_PIECE);
        }
        return DSP_OK;
    }
    bool batchable = k->provider != DSP_PROVIDER_GEMINI && k->provider != DSP_PROVIDER_BEDROCK &&
                     k->provider != DSP_PROVIDER_AZURE && reps == 1;
    if (!c->batch_collect || !batchable || dsp_lm_batch_failed(c->lm_batch, key))
        return DSP_OK;
    dsp_lm_batch_call bc = {k->provider == DSP_PROVIDER_ANTHROPIC, k->url, k->model_spec, lm->api_key_env, key,
                            k->body.buf, k->body.len};
    dsp_status st = dsp_lm_batch_defer(c->lm_batch, &bc, err);
    if (st != DSP_OK)
        return st;
    return dsp_error_set(err, DSP_ERR_DEFERRED, "%s: recorded for a provider batch, not sent", k->model_spec);
}

/* What a call was, as far as it got, for its trace line. */
typedef struct chat_seen {
    dsp_provider provider;
    const char *model_name, *base_url;
    dsp_lm_params params;
    int64_t retries;
    bool parsed_model;
} chat_seen;

static dsp_status chat(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *req, dsp_chat_response *resp,
                       dsp_error *err, chat_seen *seen);

/* Hands a whole reply's choice 0 to a streaming caller (a cached reply, or
 * one that could not be streamed); when it cancels, resp is freed. */
static dsp_status hand_on(const dsp_chat_request *req, dsp_chat_response *resp, dsp_error *err)
{
    if (resp->n_choices == 0 || !resp->choices[0] || !*resp->choices[0] ||
        req->on_text(req->on_text_ctx, resp->choices[0], strlen(resp->choices[0])) == 0)
        return DSP_OK;
    dsp_chat_response_free(resp);
    return dsp_error_set(err, DSP_ERR_CANCELLED, "cancelled by the streaming callback");
}

dsp_status dsp_chat(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *req, dsp_chat_response *resp,
                    dsp_error *err)
{
    dsp_tracer *t = c ? c->tracer : NULL;
    if (!t) {
        dsp_status st = chat(c, lm, req, resp, err, NULL);
        if (c && c->opts.observe)
            c->opts.observe(c->opts.observe_ctx, lm, req, st == DSP_OK ? resp : NULL, st);
        return st;
    }
    chat_seen seen;
    memset(&seen, 0, sizeof seen);
    uint64_t t0 = dsp_trace_now_ns();
    dsp_status st = chat(c, lm, req, resp, err, &seen);
    dsp_lm_call_trace lc = { seen.parsed_model ? dsp_provider_otel_name(seen.provider, dsp_provider_name(seen.provider))
                                               : NULL,
                             seen.model_name, seen.base_url, lm, req, &seen.params,
                             st == DSP_OK ? resp : NULL, st, err, seen.retries, t0, dsp_trace_now_ns() };
    dsp_trace_lm_call(t, &lc);
    if (c->opts.observe)
        c->opts.observe(c->opts.observe_ctx, lm, req, st == DSP_OK ? resp : NULL, st);
    return st;
}

static dsp_status chat(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *req, dsp_chat_response *resp,
                       dsp_error *err, chat_seen *seen)
{
    if (!resp)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_chat: resp is NULL");
    memset(resp, 0, sizeof *resp);
    if (!c || !lm || !req)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_chat: client, LM config and request are required");
    if (!req->messages || req->n_messages == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_chat: the request has no messages");
    call k;
    memset(&k, 0, sizeof k);
    k.model_spec = lm->model ? lm->model : "(null)";
    dsp_status st = dsp_parse_model(lm->model, &k.provider, &k.model_name, err);
    if (st != DSP_OK)
        return st;
    dsp_lm_params p = dsp_params_merge(&lm->params, &req->params);
    const char *base_spec = c->base_url ? c->base_url
                            : lm->base_url ? lm->base_url
                                           : dsp_provider_default_base_url(k.provider);
    /* Several base URLs, separated by spaces: the first names the lm (in
     * cache keys); calls go to each in turn (endpoints.h). */
    const char *bases[DSP_MAX_BASE_URLS] = {base_spec};
    size_t n_bases = 1;
    char *bases_buf = NULL;
    if (base_spec && strchr(base_spec, ' ')) {
        size_t need = strlen(base_spec) + 1;
        if (!(bases_buf = malloc(need)))
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading the base URLs of %s", k.model_spec);
        n_bases = dsp_base_urls_split(base_spec, bases_buf, need, bases);
        if (n_bases == 0) {
            free(bases_buf);
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: its base_url holds no URL", k.model_spec);
        }
    }
    k.base_url = bases[0];
    usage_delta u = {0};
    if (seen) {
        seen->provider = k.provider;
        seen->parsed_model = true;
        seen->model_name = k.model_name;
        seen->base_url = base_spec;
        seen->params = p;
    }
    char key[DSP_CACHE_KEY_HEX];
    bool use_cache = c->cache && !req->bypass_cache && !lm->no_cache;
    if (use_cache) {
        /* A compatible server speaks OpenAI's API and was keyed "openai"
         * before it had a provider of its own: caches stay valid. */
        st = dsp_cache_key_in(c->cache,
                              dsp_provider_name(k.provider == DSP_PROVIDER_COMPATIBLE ? DSP_PROVIDER_OPENAI : k.provider),
                              k.base_url, k.model_name, req->messages, req->n_messages,
                           &p, req->rollout_id, key, err);
        bool found = false;
        cached_check check = { req, lm, k.provider };
        if (st == DSP_OK)
            st = dsp_cache_get_checked(c->cache, key, resp, &found, cached_usable, &check, err);
        if (st != DSP_OK) {
            free(bases_buf);
            return st;
        }
        if (found) {
            resp->cache_hit = true;
            u.cache_hits = 1;
            u.cached_prompt_tokens = resp->usage.prompt_tokens;
            u.cached_completion_tokens = resp->usage.completion_tokens;
            if (priced(lm))
                u.cached_cost_pusd = pico_usd(lm, u.cached_prompt_tokens, u.cached_completion_tokens);
            else
                u.unpriced = 1;
            add_usage(c, &u, 1);
            free(bases_buf);
            /* A cached reply is replayed as a stream of one piece. */
            return req->on_text ? hand_on(req, resp, err) : DSP_OK;
        }
        u.cache_misses = 1;
    }
    if (dsp_breaker_tripped(&c->breaker)) {
        add_usage(c, &u, 0);
        free(bases_buf);
        return dsp_breaker_error(&c->breaker, err);
    }
    int reps = anthropic_reps(k.provider, &p);
    /* One choice streams; a reply that may be a native tool call is read
     * whole: it gets a plain call. */
    k.on_text = req->on_text;
    k.on_text_ctx = req->on_text_ctx;
    k.stream = req->on_text && reps == 1 && p.n <= 1 && !p.tools;
    p.stream = k.stream;
    if (p.tools && k.provider == DSP_PROVIDER_ANTHROPIC)
        k.parse = dsp_anthropic_parse_tool_turn;
    /* The body is sent and dropped within this call: it is written here,
     * on the stack, and moves to the heap only if it outgrows it (no
     * measuring pass over the messages first). In a job of an event loop
     * it goes to the heap, sized to it: the job's stack stays resident
     * while it waits, and each of its pages touched counts for every job
     * in flight. */
    bool in_loop = dsp_loop_active();
    if (in_loop)
        dsp_jw_init(&k.body, dsp_body_size_hint(req->messages, req->n_messages, &p));
    else
        dsp_jw_init_in(&k.body, alloca(DSP_BODY_INLINE), DSP_BODY_INLINE);
    k.in_loop = in_loop;
    for (size_t i = 0; st == DSP_OK && i < n_bases; i++) {
        st = dsp_model_endpoint_url(k.provider, bases[i], k.model_name, &k.urls[i], err);
        if (st == DSP_OK && k.stream)
            st = dsp_stream_url(k.provider, &k.urls[i], err);
        if (st == DSP_OK)
            k.rates[k.n_urls++] = dsp_rates_get(&c->rates, k.urls[i], k.model_name, lm->rpm, lm->tpm);
    }
    k.url = k.urls[0];
    if (st == DSP_OK)
        st = set_auth(c, &k, lm, err);
    if (st == DSP_OK)
        st = dsp_wire_request_write(&k.body, k.provider, k.model_name, req->messages, req->n_messages, &p, err);
    /* What a tpm limit counts: about 4 bytes of text a token, and the
     * reply's longest, as providers reserve it. */
    k.est_tokens = (double)k.body.len / 4.0 + (p.max_tokens > 0 ? (double)p.max_tokens : 0);
    k.attempt_s = lm->timeout_ms > 0 && !c->opts.timeout_over_lm ? lm->timeout_ms / 1000.0 : c->opts.timeout_s;
    k.max_attempts = 1 + (lm->has_retries && !c->opts.retries_over_lm ? (lm->retries > 0 ? lm->retries : 0)
                                                                       : c->opts.max_retries);
    k.deadline = monotonic_s() + c->opts.deadline_s;
    uint64_t rng = atomic_fetch_add(&c->rng_counter, 0x9E3779B97F4A7C15ull) | 1;
    bool from_batch = false;
    if (st == DSP_OK && use_cache && c->lm_batch && !req->on_text) { /* a stream is for now, not a batch */
        st = from_provider_batch(c, &k, lm, key, reps, resp, &from_batch, err);
        if (st == DSP_ERR_DEFERRED) {
            call_free(&k); /* not an LM call: no usage, no breaker */
            free(bases_buf);
            return st;
        }
    }
    for (int r = 0; st == DSP_OK && !from_batch && r < reps; r++) {
        dsp_chat_response part;
        memset(&part, 0, sizeof part);
        st = exchange(c, &k, &part, &u, &rng, err);
        if (st == DSP_OK)
            st = absorb(resp, &part, err);
    }
    call_free(&k);
    free(bases_buf);
    if (seen)
        seen->retries = u.retries;
    if (st != DSP_OK) {
        dsp_chat_response_free(resp);
        add_usage(c, &u, 0);
        if (st != DSP_ERR_CANCELLED) /* the caller's choice, not the LM failing */
            dsp_breaker_record(&c->breaker, st, k.http_status, false, u.http_requests, u.http_unanswered,
                               err ? err->message : NULL);
        return st;
    }
    u.prompt_tokens = resp->usage.prompt_tokens;
    u.completion_tokens = resp->usage.completion_tokens;
    if (priced(lm))
        u.cost_pusd = pico_usd(lm, u.prompt_tokens, u.completion_tokens);
    else
        u.unpriced = 1;
    add_usage(c, &u, 1);
    if (!k.stream && req->on_text && hand_on(req, resp, err) != DSP_OK)
        return DSP_ERR_CANCELLED;
    /* The answer is good even if storing it fails (disk full, say): the
     * call succeeds and the next run asks the LM again. */
    bool keep = !req->keep || req->keep(req->keep_ctx, resp);
    if (keep || !req->keep_refusal_retried)
        dsp_breaker_record(&c->breaker, DSP_OK, 0, !keep, u.http_requests, 0, NULL);
    if (use_cache && keep)
        (void)dsp_cache_put(c->cache, key, resp, NULL);
    return DSP_OK;
}

dsp_status dsp_client_post_json(dsp_client *c, const dsp_lm_config *lm, const char *path, const char *body,
                                size_t len, int calls, dsp_reply_parser parse, dsp_chat_response *resp,
                                dsp_error *err)
{
    memset(resp, 0, sizeof *resp);
    call k;
    memset(&k, 0, sizeof k);
    k.model_spec = lm->model ? lm->model : "(null)";
    dsp_status st = dsp_parse_model(lm->model, &k.provider, &k.model_name, err);
    if (st != DSP_OK)
        return st;
    k.base_url = c->base_url ? c->base_url : lm->base_url ? lm->base_url : dsp_provider_default_base_url(k.provider);
    if (!k.base_url)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "%s has no default base URL: give the server's, e.g. \"http://127.0.0.1:8080/v1\"",
                             k.model_spec);
    if (dsp_breaker_tripped(&c->breaker))
        return dsp_breaker_error(&c->breaker, err);
    char *base = NULL;
    st = dsp_api_base_url(k.base_url, &base, err);
    if (st == DSP_OK) {
        size_t n = strlen(base) + strlen(path) + 1;
        char *url = malloc(n);
        if (!url) {
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building an endpoint URL");
        } else {
            snprintf(url, n, "%s%s", base, path);
            k.urls[0] = url;
            k.rates[0] = dsp_rates_get(&c->rates, url, k.model_name, lm->rpm, lm->tpm);
            k.n_urls = 1;
            k.url = url;
        }
    }
    free(base);
    k.in_loop = dsp_loop_active();
    k.est_tokens = (double)len / 4.0;
    if (st == DSP_OK)
        st = set_auth(c, &k, lm, err);
    /* The body is the caller's: the writer only points at it (its own
     * storage, which dsp_jw_free leaves alone). */
    dsp_jw_init_in(&k.body, (char *)body, len + 1);
    k.body.len = len;
    k.parse = parse;
    k.attempt_s = lm->timeout_ms > 0 && !c->opts.timeout_over_lm ? lm->timeout_ms / 1000.0 : c->opts.timeout_s;
    k.max_attempts = 1 + (lm->has_retries && !c->opts.retries_over_lm ? (lm->retries > 0 ? lm->retries : 0)
                                                                       : c->opts.max_retries);
    k.deadline = monotonic_s() + c->opts.deadline_s;
    usage_delta u = {0};
    uint64_t rng = atomic_fetch_add(&c->rng_counter, 0x9E3779B97F4A7C15ull) | 1;
    if (st == DSP_OK)
        st = exchange(c, &k, resp, &u, &rng, err);
    call_free(&k);
    if (st != DSP_OK) {
        dsp_chat_response_free(resp);
        add_usage(c, &u, 0);
        if (u.http_requests)
            dsp_breaker_record(&c->breaker, st, k.http_status, false, u.http_requests, u.http_unanswered,
                               err ? err->message : NULL);
        return st;
    }
    u.prompt_tokens = resp->usage.prompt_tokens;
    u.completion_tokens = resp->usage.completion_tokens;
    if (priced(lm))
        u.cost_pusd = pico_usd(lm, u.prompt_tokens, u.completion_tokens);
    else
        u.unpriced = calls;
    add_usage(c, &u, calls);
    dsp_breaker_record(&c->breaker, DSP_OK, 0, false, u.http_requests, 0, NULL);
    return DSP_OK;
}

dsp_cache *dsp_client_cache(const dsp_client *c)
{
    return c ? c->cache : NULL;
}

void dsp_client_count_cached(dsp_client *c, const dsp_lm_config *lm, int64_t prompt_tokens)
{
    usage_delta u = {0};
    u.cache_hits = 1;
    u.cached_prompt_tokens = prompt_tokens;
    if (priced(lm))
        u.cached_cost_pusd = pico_usd(lm, prompt_tokens, 0);
    else
        u.unpriced = 1;
    add_usage(c, &u, 1);
}

typedef struct batch {
    dsp_client *c;
    const dsp_lm_config *lm;
    const dsp_chat_request *reqs;
    dsp_chat_response *resps;
    dsp_status *statuses;
    dsp_error *errs;
    const dsp_span *span; /* the caller's module call, the parent of every call's trace */
} batch;

static int batch_item(void *arg, size_t i)
{
    batch *b = arg;
    if (b->span)
        dsp_trace_set_current(b->span);
    dsp_error local;
    memset(&local, 0, sizeof local);
    dsp_error *e = b->errs ? &b->errs[i] : &local;
    dsp_status st = dsp_chat(b->c, b->lm, &b->reqs[i], &b->resps[i], e);
    b->statuses[i] = st;
    dsp_error_clear(&local);
    return (int)st;
}

dsp_status dsp_chat_batch(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *reqs, size_t n,
                          dsp_chat_response *resps, dsp_status *statuses, dsp_error *errs)
{
    if (n == 0)
        return DSP_OK;
    if (!c || !lm || !reqs || !resps)
        return DSP_ERR_INVALID;
    /* errs are overwritten, not freed: pass zeroed or cleared errors. */
    if (errs)
        memset(errs, 0, n * sizeof *errs);
    memset(resps, 0, n * sizeof *resps);
    /* The result is the status of the first failed request, in order. */
    dsp_status *sts = statuses ? statuses : calloc(n, sizeof *sts);
    if (!sts)
        return DSP_ERR_NOMEM;
    batch b = {.c = c, .lm = lm, .reqs = reqs, .resps = resps, .statuses = sts, .errs = errs,
               .span = c->tracer ? dsp_trace_current() : NULL};
    /* One job per request on this thread's event loop, as many under way
     * as the client lets onto the wire. */
    dsp_status first = (dsp_status)dsp_loop_run_each(n, c->opts.max_in_flight, batch_item, &b);
    (void)dsp_client_flush(c, NULL);
    if (!statuses)
        free(b.statuses);
    return first;
}

dsp_prefix_memo *dsp_client_prefixes(const dsp_client *c)
{
    return c ? c->prefixes : NULL;
}

const dsp_predictor *dsp_client_predictor(const dsp_client *c, const dsp_predictor *p)
{
    if (!c || !c->opts.variant || !p || !p->name)
        return p;
    for (size_t i = 0; i < c->opts.n_variant && c->opts.variant[i]; i++)
        if (c->opts.variant[i]->name && strcmp(c->opts.variant[i]->name, p->name) == 0)
            return c->opts.variant[i];
    return p;
}
