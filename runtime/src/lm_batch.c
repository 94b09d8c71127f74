/* lm_batch.c — provider batch APIs (see dsp/lm_batch.h): recording the
 * requests a run defers, sending them as OpenAI batches or Anthropic
 * message batches, recording each accepted batch under the cache directory
 * so a killed run resumes it, polling, and keeping the replies for the
 * calls that asked for them. */
#include "dsp/lm_batch.h"

#include "client_settings.h"
#include "http_request.h"
#include "json_write.h"
#include "lm_batch_int.h"
#include "lm_wire.h"
#include "retry.h"
#include "secret.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LB_KEY 65 /* a cache key: 64 hex digits and a NUL */
/* Requests in one batch at most (OpenAI takes 50,000, Anthropic 100,000):
 * its result file must stay under what one reply may hold (64 MiB,
 * http_request.c), so a group of more goes as several batches. */
#define LB_MAX_PER_BATCH 4000

/* A recorded request. */
typedef struct lb_req {
    char key[LB_KEY];
    size_t group;
    char *body;
} lb_req;

/* Requests that go in one batch: one endpoint, model and key variable. */
typedef struct lb_group {
    bool anthropic;
    char *url;        /* the chat endpoint */
    char *model_spec;
    char *key_env;    /* NULL: no key */
} lb_group;

typedef struct lb_reply {
    char key[LB_KEY];
    dsp_chat_response resp;
    bool taken;
} lb_reply;

struct dsp_lm_batch {
    pthread_mutex_t lock;
    lb_group *groups;
    size_t n_groups;
    lb_req *pending;
    size_t n_pending;
    lb_reply *replies;
    size_t n_replies;
    char (*failed)[LB_KEY];
    size_t n_failed;
    char **done_records; /* record files of batches whose replies were fetched */
    size_t n_done;
};

static bool lb_grow(void **arr, size_t n, size_t elem)
{
    void *p = realloc(*arr, (n + 1) * elem);
    if (p)
        *arr = p;
    return p != NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

dsp_status dsp_lm_batch_new(dsp_lm_batch **out, dsp_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory creating a batch");
    pthread_mutex_init(&(*out)->lock, NULL);
    return DSP_OK;
}

void dsp_lm_batch_free(dsp_lm_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_groups; i++) {
        free(b->groups[i].url);
        free(b->groups[i].model_spec);
        free(b->groups[i].key_env);
    }
    for (size_t i = 0; i < b->n_pending; i++)
        free(b->pending[i].body);
    for (size_t i = 0; i < b->n_replies; i++)
        if (!b->replies[i].taken)
            dsp_chat_response_free(&b->replies[i].resp);
    for (size_t i = 0; i < b->n_done; i++)
        free(b->done_records[i]);
    free(b->groups);
    free(b->pending);
    free(b->replies);
    free(b->failed);
    free(b->done_records);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

size_t dsp_lm_batch_pending(dsp_lm_batch *b)
{
    pthread_mutex_lock(&b->lock);
    size_t n = b->n_pending;
    pthread_mutex_unlock(&b->lock);
    return n;
}

bool dsp_lm_batch_take(dsp_lm_batch *b, const char *key, dsp_chat_response *resp)
{
    bool got = false;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n_replies && !got; i++) {
        if (!b->replies[i].taken && strcmp(b->replies[i].key, key) == 0) {
            *resp = b->replies[i].resp;
            b->replies[i].taken = got = true;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return got;
}

static bool failed_locked(const dsp_lm_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_failed; i++)
        if (strcmp(b->failed[i], key) == 0)
            return true;
    return false;
}

bool dsp_lm_batch_failed(dsp_lm_batch *b, const char *key)
{
    pthread_mutex_lock(&b->lock);
    bool f = failed_locked(b, key);
    pthread_mutex_unlock(&b->lock);
    return f;
}

static bool lb_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

dsp_status dsp_lm_batch_defer(dsp_lm_batch *b, const dsp_lm_batch_call *call, dsp_error *err)
{
    dsp_status st = DSP_OK;
    pthread_mutex_lock(&b->lock);
    bool known = false; /* the same request from another example */
    for (size_t i = 0; i < b->n_pending && !known; i++)
        known = strcmp(b->pending[i].key, call->key) == 0;
    size_t g = 0;
    while (!known && g < b->n_groups && !(b->groups[g].anthropic == call->anthropic &&
                                          strcmp(b->groups[g].url, call->url) == 0 &&
                                          strcmp(b->groups[g].model_spec, call->model_spec) == 0 &&
                                          lb_same(b->groups[g].key_env, call->key_env)))
        g++;
    if (!known && g == b->n_groups) {
        lb_group ng = {call->anthropic, strdup(call->url), strdup(call->model_spec), dup_or_null(call->key_env)};
        if (!ng.url || !ng.model_spec || (call->key_env && !ng.key_env) ||
            !lb_grow((void **)&b->groups, b->n_groups, sizeof *b->groups)) {
            free(ng.url);
            free(ng.model_spec);
            free(ng.key_env);
            st = DSP_ERR_NOMEM;
        } else {
            b->groups[b->n_groups++] = ng;
        }
    }
    if (!known && st == DSP_OK) {
        lb_req r = {{0}, g, malloc(call->len + 1)};
        snprintf(r.key, sizeof r.key, "%s", call->key);
        if (!r.body || !lb_grow((void **)&b->pending, b->n_pending, sizeof *b->pending)) {
            free(r.body);
            st = DSP_ERR_NOMEM;
        } else {
            memcpy(r.body, call->body, call->len);
            r.body[call->len] = '\0';
            b->pending[b->n_pending++] = r;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return st == DSP_OK ? st : dsp_error_set(err, st, "out of memory recording a request for a batch");
}

/* --- the provider's API ------------------------------------------------- */

/* One group's endpoint, key and headers for the batch calls. */
typedef struct lb_api {
    const lb_group *g;
    dsp_client_options opts;
    char *base;        /* OpenAI: the API base (…/v1); Anthropic: …/v1/messages/batches */
    char *auth_header; /* holds the key: wiped and freed */
    const char *key;
    const char *headers[3];
    size_t n_headers;
    void (*progress)(void *, const char *);
    void *progress_ctx;
} lb_api;

/* Control bytes become '?': a line quotes the server's ids and status
 * texts, and a hostile server's escape sequences must not reach a terminal. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static void lb_say(const lb_api *api, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lb_say(const lb_api *api, const char *fmt, ...)
{
    char line[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (api->key)
        dsp_secret_redact(line, strlen(line), api->key);
    printable(line);
    if (api->progress)
        api->progress(api->progress_ctx, line);
    else
        fprintf(stderr, "batch: %s\n", line);
}

static void api_free(lb_api *api)
{
    free(api->base);
    if (api->auth_header) {
        memset(api->auth_header, 0, strlen(api->auth_header));
        free(api->auth_header);
    }
}

static dsp_status api_init(lb_api *api, dsp_client *c, const lb_group *g, dsp_error *err)
{
    api->g = g;
    api->opts = dsp_client_settings(c);
    size_t n = strlen(g->url);
    if (g->anthropic) {
        api->headers[api->n_headers++] = "anthropic-version: " DSP_ANTHROPIC_VERSION;
        api->base = malloc(n + 9);
        if (api->base)
            snprintf(api->base, n + 9, "%s/batches", g->url);
    } else {
        static const char chat[] = "/chat/completions";
        size_t cn = sizeof chat - 1;
        if (n < cn || strcmp(g->url + n - cn, chat) != 0)
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: the endpoint %s does not end in %s, so its batch API "
                                                       "cannot be found", g->model_spec, g->url, chat);
        api->base = strndup(g->url, n - cn);
    }
    if (!api->base)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory preparing a batch");
    const char *set = g->key_env ? getenv(g->key_env) : NULL;
    if (!g->key_env || !set || !*set)
        return DSP_OK; /* a local server that wants no key: the chat call decided so already */
    dsp_status st = dsp_api_key_from_env(g->key_env, g->model_spec, &api->key, err);
    if (st != DSP_OK)
        return st;
    const char *prefix = g->anthropic ? "x-api-key: " : "Authorization: Bearer ";
    size_t hn = strlen(prefix) + strlen(api->key) + 1;
    if (!(api->auth_header = malloc(hn)))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
    snprintf(api->auth_header, hn, "%s%s", prefix, api->key);
    api->headers[api->n_headers++] = api->auth_header;
    return DSP_OK;
}

/* One call with the client's retries. On DSP_OK reply holds a 2xx reply. */
static dsp_status api_send(const lb_api *api, const char *method, const char *url, const char *json,
                           const dsp_http_part *parts, size_t n_parts, dsp_http_reply *reply, dsp_error *err)
{
    const char *headers[4];
    size_t nh = 0;
    for (size_t i = 0; i < api->n_headers; i++)
        headers[nh++] = api->headers[i];
    if (json)
        headers[nh++] = "Content-Type: application/json";
    size_t upload = json ? strlen(json) : 0;
    for (size_t i = 0; i < n_parts; i++)
        upload += parts[i].len;
    /* Big uploads and result files get time for their size (64 KiB/s at least). */
    dsp_http_request rq = {.method = method, .url = url, .headers = headers, .n_headers = nh, .body = json,
                           .len = json ? strlen(json) : 0, .parts = parts, .n_parts = n_parts,
                           .connect_timeout_s = api->opts.connect_timeout_s,
                           .timeout_s = api->opts.timeout_s + (double)upload / 65536.0 + 60};
    uint64_t rng = ((uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull) | 1;
    dsp_status st = DSP_ERR_NETWORK;
    for (int attempt = 0; attempt <= api->opts.max_retries; attempt++) {
        dsp_error_clear(err);
        st = dsp_http_send(&rq, reply, err);
        int status = st == DSP_OK ? (int)reply->status : 0;
        if (st == DSP_OK && (status < 200 || status >= 300)) {
            char msg[600];
            dsp_provider_error_message(reply->body, reply->len, msg, sizeof msg);
            st = dsp_error_set(err, DSP_ERR_HTTP, "%s: HTTP %d from %s %s: %s", api->g->model_spec, status, method,
                               url, msg);
            if (err)
                err->http_status = status;
        }
        if (st == DSP_OK)
            return st;
        dsp_secret_redact_error(err, api->key);
        bool transient = dsp_retry_is_transient(st, status) && !reply->permanent;
        double after = reply->retry_after_s;
        dsp_http_reply_free(reply);
        if (!transient || attempt == api->opts.max_retries)
            break;
        dsp_sleep_s(dsp_retry_delay(attempt, api->opts.backoff_base_s, after, &rng));
    }
    return st;
}

/* A JSON object from a 2xx reply. */
static dsp_status api_json(const lb_api *api, const char *method, const char *url, const char *json,
                           const dsp_http_part *parts, size_t n_parts, cJSON **out, dsp_error *err)
{
    *out = NULL;
    dsp_http_reply reply;
    dsp_status st = api_send(api, method, url, json, parts, n_parts, &reply, err);
    if (st != DSP_OK)
        return st;
    *out = cJSON_ParseWithLength(reply.body, reply.len);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: %s %s answered with no JSON object", api->g->model_spec,
                           method, url);
    }
    dsp_http_reply_free(&reply);
    return st;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

/* Ids go into URL paths: only the characters providers use. */
static bool plain_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.'))
            return false;
    }
    return n > 0 && n < 200;
}

/* One request as a batch holds it: an element of Anthropic's "requests",
 * or a line of OpenAI's input JSONL (which vLLM's batch runner reads). */
static void write_request(dsp_jw *w, bool anthropic, const lb_req *r, bool first)
{
    /* The body is the very text dsp_chat would send: its JSON goes in whole. */
    if (anthropic) {
        dsp_jw_lit(w, first ? "{\"custom_id\":" : ",{\"custom_id\":");
        dsp_jw_str(w, r->key);
        dsp_jw_lit(w, ",\"params\":");
    } else {
        dsp_jw_lit(w, "{\"custom_id\":");
        dsp_jw_str(w, r->key);
        dsp_jw_lit(w, ",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":");
    }
    dsp_jw_lit(w, r->body);
    dsp_jw_lit(w, anthropic ? "}" : "}\n");
}

/* Sends the group's requests; *id gets the batch's id (owned). */
static dsp_status submit(const lb_api *api, const lb_req *const *reqs, size_t n, char **id, dsp_error *err)
{
    *id = NULL;
    dsp_jw w;
    size_t hint = 64;
    for (size_t i = 0; i < n; i++)
        hint += strlen(reqs[i]->body) + 128;
    dsp_jw_init(&w, hint);
    if (api->g->anthropic)
        dsp_jw_lit(&w, "{\"requests\":[");
    for (size_t i = 0; i < n; i++)
        write_request(&w, api->g->anthropic, reqs[i], i == 0);
    if (api->g->anthropic)
        dsp_jw_lit(&w, "]}");
    if (!dsp_jw_finish(&w)) {
        dsp_jw_free(&w);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing a batch");
    }
    cJSON *root = NULL;
    dsp_status st;
    if (api->g->anthropic) {
        st = api_json(api, "POST", api->base, w.buf, NULL, 0, &root, err);
    } else {
        dsp_http_part parts[2] = {{"purpose", "batch", 5, NULL, NULL},
                                  {"file", w.buf, w.len, "dspcc-batch.jsonl", "application/jsonl"}};
        char *url = join3(api->base, "/files", "");
        st = url ? api_json(api, "POST", url, NULL, parts, 2, &root, err) : DSP_ERR_NOMEM;
        free(url);
        const char *file = st == DSP_OK ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id")) : NULL;
        if (st == DSP_OK && !plain_id(file))
            st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: the uploaded batch file has no usable \"id\"",
                               api->g->model_spec);
        char *create = NULL;
        if (st == DSP_OK) {
            dsp_jw c;
            dsp_jw_init(&c, 160);
            dsp_jw_lit(&c, "{\"input_file_id\":");
            dsp_jw_str(&c, file);
            dsp_jw_lit(&c, ",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}");
            create = dsp_jw_take(&c);
            dsp_jw_free(&c);
        }
        cJSON_Delete(root);
        root = NULL;
        url = join3(api->base, "/batches", "");
        if (st == DSP_OK)
            st = create && url ? api_json(api, "POST", url, create, NULL, 0, &root, err) : DSP_ERR_NOMEM;
        free(url);
        free(create);
    }
    dsp_jw_free(&w);
    const char *bid = st == DSP_OK ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id")) : NULL;
    if (st == DSP_OK && !plain_id(bid))
        st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: the new batch has no usable \"id\"", api->g->model_spec);
    /* The id is recorded in a file and printed: one that quotes the key (a
     * broken or hostile server) is neither. */
    if (st == DSP_OK && api->key && dsp_secret_found(bid, strlen(bid), api->key))
        st = dsp_error_set(err, DSP_ERR_PROTOCOL,
                           "%s: the new batch's id holds the API key or a piece of it (%d or more characters); it "
                           "was not recorded (the server echoes credentials: check the endpoint)",
                           api->g->model_spec, DSP_SECRET_MIN_PIECE);
    if (st == DSP_OK && !(*id = strdup(bid)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    return st;
}

/* --- records: which batch holds which requests -------------------------- */

/* <cache dir>/batches/<SHA-256 of the group and its keys>.json */
static char *record_path(dsp_client *c, const lb_group *g, const lb_req *const *reqs, size_t n)
{
    const char *cache = dsp_client_cache_path(c);
    if (!cache)
        return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    const char *parts[3] = {g->anthropic ? "anthropic" : "openai", g->url, g->model_spec};
    for (size_t i = 0; ok && i < 3; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, reqs[i]->key, strlen(reqs[i]->key) + 1) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, d, &dn) == 1 && dn == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return NULL;
    const char *slash = strrchr(cache, '/');
    size_t dir = slash ? (size_t)(slash - cache) : 1;
    size_t len = dir + 9 + 64 + 6 + 1;
    char *path = malloc(len);
    if (!path)
        return NULL;
    int at = snprintf(path, len, "%.*s/batches/", (int)dir, slash ? cache : ".");
    for (unsigned i = 0; i < 32; i++)
        at += snprintf(path + at, len - (size_t)at, "%02x", d[i]);
    snprintf(path + at, len - (size_t)at, ".json");
    return path;
}

/* The batch id a record holds, or NULL. Only a regular file is read (a
 * FIFO put there would block the run). */
static char *read_record(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return NULL;
    FILE *f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "rb") : NULL;
    if (!f) {
        close(fd);
        return NULL;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "batch_id"));
    char *out = plain_id(id) ? strdup(id) : NULL;
    cJSON_Delete(root);
    return out;
}

/* Written whole or not at all (a temporary file renamed over it). */
static dsp_status write_record(const char *path, const lb_group *g, const char *id, size_t n, dsp_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return dsp_error_set(err, DSP_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    dsp_jw w;
    dsp_jw_init(&w, 256);
    dsp_jw_lit(&w, "{\"provider\":");
    dsp_jw_str(&w, g->anthropic ? "anthropic" : "openai");
    dsp_jw_lit(&w, ",\"endpoint\":");
    dsp_jw_str(&w, g->url);
    dsp_jw_lit(&w, ",\"lm\":");
    dsp_jw_str(&w, g->model_spec);
    dsp_jw_lit(&w, ",\"batch_id\":");
    dsp_jw_str(&w, id);
    dsp_jw_lit(&w, ",\"requests\":");
    dsp_jw_int(&w, (int64_t)n);
    dsp_jw_lit(&w, "}\n");
    bool ok = dsp_jw_finish(&w);
    FILE *f = ok ? fopen(tmp, "wb") : NULL;
    ok = f && fwrite(w.buf, 1, w.len, f) == w.len;
    if (f && fclose(f) != 0)
        ok = false;
    dsp_jw_free(&w);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return dsp_error_set(err, DSP_ERR_IO, "cannot record the batch %s in %s: %s", id, path, strerror(e));
    }
    return DSP_OK;
}

/* --- results --------------------------------------------------------------- */

typedef struct lb_outcome {
    size_t ok, failed;
    char first_failure[300];
    /* Per request (reqs' order): its result line was read (1), or read
     * twice (2). NULL: out of memory, every line is then refused. */
    unsigned char *seen;
} lb_outcome;

/* An outcome for reading the results of n requests; lb_outcome_free after. */
static void lb_outcome_init(lb_outcome *o, size_t n)
{
    memset(o, 0, sizeof *o);
    o->seen = calloc(n + 1, 1);
}

static void lb_outcome_free(lb_outcome *o)
{
    free(o->seen);
    o->seen = NULL;
}

static void mark_failed(dsp_lm_batch *b, const char *key, lb_outcome *o, const char *why)
{
    pthread_mutex_lock(&b->lock);
    if (!failed_locked(b, key) && lb_grow((void **)&b->failed, b->n_failed, sizeof *b->failed))
        snprintf(b->failed[b->n_failed++], LB_KEY, "%s", key);
    pthread_mutex_unlock(&b->lock);
    o->failed++;
    if (!o->first_failure[0] && why)
        snprintf(o->first_failure, sizeof o->first_failure, "%s", why);
}

void dsp_lm_batch_refuse(dsp_lm_batch *b, const char *key)
{
    lb_outcome o;
    memset(&o, 0, sizeof o);
    mark_failed(b, key, &o, NULL);
}

static void keep_reply(dsp_lm_batch *b, const char *key, dsp_chat_response *resp, lb_outcome *o)
{
    pthread_mutex_lock(&b->lock);
    bool ok = lb_grow((void **)&b->replies, b->n_replies, sizeof *b->replies);
    if (ok) {
        lb_reply *r = &b->replies[b->n_replies++];
        snprintf(r->key, sizeof r->key, "%s", key);
        r->resp = *resp;
        r->taken = false;
    }
    pthread_mutex_unlock(&b->lock);
    if (ok)
        o->ok++;
    else {
        dsp_chat_response_free(resp);
        mark_failed(b, key, o, "out of memory keeping a reply");
    }
}

static int key_vs_req(const void *key, const void *req)
{
    return strcmp(key, (*(const lb_req *const *)req)->key);
}

/* Where key is among the batch's requests (reqs in key order: a batch's,
 * and a file's, are sorted by key), or -1: not one of them. */
static ptrdiff_t lb_find(const lb_req *const *reqs, size_t n, const char *key)
{
    const lb_req *const *at = key && n ? bsearch(key, reqs, n, sizeof *reqs, key_vs_req) : NULL;
    return at ? at - reqs : -1;
}

static bool lb_asked(const lb_req *const *reqs, size_t n, const char *key)
{
    return lb_find(reqs, n, key) >= 0;
}

/* A second result line for key: the provider answered the request twice,
 * and which reply is the request's cannot be told. Neither is kept (the
 * one kept is taken back) and the request goes as a normal call; a third
 * line changes nothing. */
static void lb_answered_twice(dsp_lm_batch *b, const char *key, lb_outcome *o, unsigned char *seen)
{
    if (*seen == 2)
        return;
    *seen = 2;
    bool dropped = false;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n_replies && !dropped; i++) {
        lb_reply *r = &b->replies[i];
        if (!r->taken && strcmp(r->key, key) == 0) {
            dsp_chat_response_free(&r->resp);
            b->replies[i] = b->replies[--b->n_replies];
            dropped = true;
        }
    }
    bool failed = failed_locked(b, key);
    pthread_mutex_unlock(&b->lock);
    if (dropped)
        o->ok--;
    if (!failed)
        mark_failed(b, key, o, "the results hold its custom_id twice, so neither reply is kept");
}

/* One line of a result file: OpenAI's {custom_id, response:{status_code,
 * body}, error} or Anthropic's {custom_id, result:{type, message|error}}. */
static void read_line(dsp_lm_batch *b, bool anthropic, const lb_req *const *reqs, size_t n, const char *line,
                      size_t len, lb_outcome *o)
{
    cJSON *root = cJSON_ParseWithLength(line, len);
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "custom_id"));
    ptrdiff_t at = lb_find(reqs, n, key);
    if (at < 0) {
        cJSON_Delete(root);
        return; /* not ours: never stored */
    }
    if (!o->seen || o->seen[at]) {
        if (o->seen)
            lb_answered_twice(b, key, o, &o->seen[at]);
        else
            mark_failed(b, key, o, "out of memory reading the results");
        cJSON_Delete(root);
        return;
    }
    o->seen[at] = 1;
    char why[300] = "";
    const cJSON *reply = NULL;
    if (anthropic) {
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "type"));
        if (type && strcmp(type, "succeeded") == 0)
            reply = cJSON_GetObjectItemCaseSensitive(res, "message");
        else {
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "error"), "error"), "message"));
            snprintf(why, sizeof why, "%s%s%.200s", type ? type : "no result", msg ? ": " : "", msg ? msg : "");
        }
    } else {
        const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(resp, "status_code");
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (cJSON_IsNumber(code) && code->valuedouble == 200 && (!error || cJSON_IsNull(error)))
            reply = cJSON_GetObjectItemCaseSensitive(resp, "body");
        else {
            /* OpenAI: error {code, message}; vLLM's batch runner: a string, or
             * its ErrorResponse ({error: {message, type, code}}, or flat in
             * older versions). */
            const cJSON *inner = cJSON_GetObjectItemCaseSensitive(error, "error");
            const char *ec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "code"));
            const char *msg = cJSON_IsString(error) ? error->valuestring
                                                    : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "message"));
            if (!msg)
                msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inner, "message"));
            if (!ec)
                ec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(inner, "type"));
            if (!msg)
                msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp, "body"), "error"),
                    "message"));
            /* A status that is no HTTP status (1e40 from a damaged file) is
             * not cast: that is undefined behaviour. */
            int status = cJSON_IsNumber(code) && code->valuedouble >= 100 && code->valuedouble < 600
                             ? (int)code->valuedouble
                             : 0;
            if (ec)
                snprintf(why, sizeof why, "%s: %.200s", ec, msg ? msg : "");
            else if (status)
                snprintf(why, sizeof why, "HTTP %d: %.200s", status, msg ? msg : "");
            else
                snprintf(why, sizeof why, "no HTTP status: %.200s", msg ? msg : "");
        }
    }
    if (reply) {
        char *text = cJSON_PrintUnformatted(reply);
        dsp_chat_response resp;
        memset(&resp, 0, sizeof resp);
        dsp_error e = {0};
        dsp_status st = !text ? DSP_ERR_NOMEM
                        : anthropic ? dsp_anthropic_parse_reply(text, strlen(text), &resp, &e)
                                    : dsp_openai_parse_reply(text, strlen(text), &resp, &e);
        cJSON_free(text);
        if (st == DSP_OK)
            keep_reply(b, key, &resp, o);
        else
            snprintf(why, sizeof why, "the reply did not follow the API: %.200s", e.message);
        dsp_error_clear(&e);
    }
    if (why[0])
        mark_failed(b, key, o, why);
    cJSON_Delete(root);
}

/* Each line of a result file's text. */
static void read_lines(dsp_lm_batch *b, bool anthropic, const lb_req *const *reqs, size_t n, const char *text,
                       size_t len, lb_outcome *o)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (stop > p)
            read_line(b, anthropic, reqs, n, p, (size_t)(stop - p), o);
        p = stop + 1;
    }
}

static dsp_status read_file(dsp_lm_batch *b, const lb_api *api, const char *url, const lb_req *const *reqs, size_t n,
                            lb_outcome *o, dsp_error *err)
{
    dsp_http_reply reply;
    dsp_status st = api_send(api, "GET", url, NULL, NULL, 0, &reply, err);
    if (st != DSP_OK)
        return st;
    read_lines(b, api->g->anthropic, reqs, n, reply.body, reply.len, o);
    dsp_http_reply_free(&reply);
    return DSP_OK;
}

/* Whether URLs a and b share scheme, host and port. */
static bool same_origin(const char *a, const char *b)
{
    const char *sa = strstr(a, "://"), *sb = strstr(b, "://");
    if (!sa || !sb)
        return false;
    size_t na = (size_t)(sa - a) + 3 + strcspn(sa + 3, "/?#"), nb = (size_t)(sb - b) + 3 + strcspn(sb + 3, "/?#");
    return na == nb && strncmp(a, b, na) == 0;
}

/* The wait when none is given: providers end a batch within 24 h. */
#define LB_DEFAULT_WAIT_S (25 * 3600.0)
/* A progress line at least this often while a batch's state stays the same. */
#define LB_SAY_EVERY_S 300.0

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls batch id until it ends, then reads its results. */
static dsp_status wait_and_read(dsp_lm_batch *b, const lb_api *api, const char *id, const lb_req *const *reqs,
                                size_t n, const dsp_lm_batch_options *opt, lb_outcome *o, dsp_error *err)
{
    char *url = join3(api->base, api->g->anthropic ? "/" : "/batches/", id);
    if (!url)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    double poll = opt && opt->poll_s > 0 ? opt->poll_s : 10;
    double max_wait = opt && opt->max_wait_s > 0 ? opt->max_wait_s : LB_DEFAULT_WAIT_S;
    double t0 = mono_s(), said_at = -1;
    char last[200] = "";
    cJSON *root = NULL;
    dsp_status st;
    for (;;) {
        st = api_json(api, "GET", url, NULL, NULL, 0, &root, err);
        if (st != DSP_OK)
            break;
        double waited = mono_s() - t0;
        const cJSON *rc = cJSON_GetObjectItemCaseSensitive(root, "request_counts");
        char state[200];
        const char *status;
        bool ended;
        if (api->g->anthropic) {
            status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "processing_status"));
            ended = status && strcmp(status, "ended") == 0;
            double ok = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "succeeded"));
            double bad = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "errored")) +
                         cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "expired")) +
                         cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "canceled"));
            snprintf(state, sizeof state, "%s, %.0f of %zu succeeded, %.0f failed", status ? status : "?",
                     ok == ok ? ok : 0, n, bad == bad ? bad : 0);
        } else {
            status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
            ended = status && (strcmp(status, "completed") == 0 || strcmp(status, "expired") == 0 ||
                               strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0);
            double ok = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "completed"));
            double bad = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "failed"));
            snprintf(state, sizeof state, "%s, %.0f of %zu completed, %.0f failed", status ? status : "?",
                     ok == ok ? ok : 0, n, bad == bad ? bad : 0);
        }
        printable(state); /* it goes into the error too */
        /* A line when the state changes, and while it does not, one every
         * LB_SAY_EVERY_S with the time left: a batch may take hours. */
        bool changed = strcmp(state, last) != 0;
        if (changed || (!ended && waited - said_at >= LB_SAY_EVERY_S)) {
            if (ended)
                lb_say(api, "%s (%s, %zu requests): %s, %.0f s", id, api->g->model_spec, n, state, waited);
            else
                lb_say(api, "%s (%s, %zu requests): %s, %.0f s (waiting %.0f s more at most)", id,
                       api->g->model_spec, n, state, waited, max_wait > waited ? max_wait - waited : 0);
            snprintf(last, sizeof last, "%s", state);
            said_at = waited;
        }
        if (ended)
            break;
        if (waited >= max_wait) {
            st = dsp_error_set(err, DSP_ERR_TIMEOUT,
                               "batch %s did not end within the %.0f s allowed to wait (%s); it stays recorded "
                               "and nothing is sent again: run the same command again to resume waiting for it",
                               id, max_wait, state);
            if (api->key) /* the state quotes the server's status */
                dsp_secret_redact_error(err, api->key);
            break;
        }
        cJSON_Delete(root);
        root = NULL;
        dsp_sleep_s(poll < max_wait - waited ? poll : max_wait - waited);
    }
    free(url);
    if (st == DSP_OK && api->g->anthropic) {
        /* The key goes with the request for the results: only to the
         * origin (scheme, host and port) the batch was sent to. */
        const char *results = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "results_url"));
        if (results && same_origin(results, api->base))
            st = read_file(b, api, results, reqs, n, o, err);
        else if (results)
            snprintf(o->first_failure, sizeof o->first_failure,
                     "its results_url is not on the endpoint's host, so it was not read");
    } else if (st == DSP_OK) {
        const char *files[2] = {cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "output_file_id")),
                                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "error_file_id"))};
        for (int i = 0; st == DSP_OK && i < 2; i++) {
            if (!plain_id(files[i]))
                continue;
            char *furl = join3(api->base, "/files/", files[i]);
            char *content = furl ? join3(furl, "/content", "") : NULL;
            st = content ? read_file(b, api, content, reqs, n, o, err) : DSP_ERR_NOMEM;
            free(furl);
            free(content);
        }
        const cJSON *errs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "errors"), "data");
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "message"));
        if (why && !o->first_failure[0])
            snprintf(o->first_failure, sizeof o->first_failure, "the batch failed: %.250s", why);
    }
    cJSON_Delete(root);
    return st;
}

/* --- running ------------------------------------------------------------- */

static void remove_done(dsp_lm_batch *b)
{
    for (size_t i = 0; i < b->n_done; i++) {
        unlink(b->done_records[i]);
        free(b->done_records[i]);
    }
    b->n_done = 0;
}

/* Sends (or resumes) one group's batch and reads its results. Failures of
 * the batch itself mark its requests failed; only a timeout, or running
 * out of memory, is returned. */
static dsp_status run_group(dsp_client *c, dsp_lm_batch *b, size_t g, const lb_req *const *reqs, size_t n,
                            const dsp_lm_batch_options *opt, dsp_lm_batch_report *rep, dsp_error *err)
{
    lb_api api;
    memset(&api, 0, sizeof api);
    api.progress = opt ? opt->progress : NULL;
    api.progress_ctx = opt ? opt->progress_ctx : NULL;
    lb_outcome o;
    lb_outcome_init(&o, n);
    dsp_error e = {0};
    char *path = record_path(c, &b->groups[g], reqs, n);
    char *id = path ? read_record(path) : NULL;
    dsp_status st = api_init(&api, c, &b->groups[g], &e);
    rep->batches++;
    rep->requests += n;
    if (st == DSP_OK && id) {
        rep->resumed++;
        lb_say(&api, "resuming %s (%s, %zu requests), recorded in %s", id, api.g->model_spec, n, path);
    } else if (st == DSP_OK) {
        st = submit(&api, reqs, n, &id, &e);
        if (st == DSP_OK && path)
            st = write_record(path, api.g, id, n, &e);
        if (st == DSP_OK)
            lb_say(&api, "sent %s (%s, %zu requests)%s%s", id, api.g->model_spec, n, path ? ", recorded in " : "",
                path ? path : "");
    }
    if (st == DSP_OK)
        st = wait_and_read(b, &api, id, reqs, n, opt, &o, &e);
    dsp_status out = DSP_OK;
    /* A batch the provider accepted is paid for: while it may still be
     * read (anything but a 404 for it), it stays recorded and the run
     * stops, so the same command resumes it rather than asking again. */
    bool keep = st == DSP_ERR_TIMEOUT || st == DSP_ERR_NOMEM || (st != DSP_OK && id && e.http_status != 404);
    if (keep) {
        out = st;
        if (st != DSP_ERR_TIMEOUT && id) {
            size_t used = strlen(e.message);
            snprintf(e.message + used, sizeof e.message - used,
                     " (batch %s stays recorded: run the same command again to resume it)", id);
        }
        if (err)
            *err = e;
        else
            dsp_error_clear(&e);
        memset(&e, 0, sizeof e);
    } else {
        if (st != DSP_OK) {
            lb_say(&api, "%s: the batch could not be %s: %s; its %zu requests are sent as normal calls",
                api.g->model_spec, id ? "read" : "sent", e.message, n);
            if (path && id)
                unlink(path); /* the provider knows it no more */
        }
        /* Every request without a reply goes to the LM as a normal call. */
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_lock(&b->lock);
            bool have = false;
            for (size_t j = 0; j < b->n_replies && !have; j++)
                have = strcmp(b->replies[j].key, reqs[i]->key) == 0;
            pthread_mutex_unlock(&b->lock);
            if (!have && !dsp_lm_batch_failed(b, reqs[i]->key))
                mark_failed(b, reqs[i]->key, &o, st == DSP_OK ? "no result for the request" : NULL);
        }
        if (st == DSP_OK) {
            lb_say(&api, "%s: %zu replies kept%s", id, o.ok, o.failed ? "" : ", none failed");
            if (o.failed)
                lb_say(&api, "%s: %zu requests failed in the batch (the first: %s); they are sent as normal calls", id,
                    o.failed, o.first_failure[0] ? o.first_failure : "no reason given");
            pthread_mutex_lock(&b->lock);
            if (path && lb_grow((void **)&b->done_records, b->n_done, sizeof *b->done_records)) {
                b->done_records[b->n_done++] = path;
                path = NULL;
            }
            pthread_mutex_unlock(&b->lock);
        }
        rep->succeeded += o.ok;
        rep->failed += o.failed;
    }
    dsp_error_clear(&e);
    lb_outcome_free(&o);
    free(id);
    free(path);
    api_free(&api);
    return out;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const lb_req *const *)a)->key, (*(const lb_req *const *)b)->key);
}

dsp_status dsp_lm_batch_run(dsp_client *c, dsp_lm_batch *b, const dsp_lm_batch_options *o,
                            dsp_lm_batch_report *rep, dsp_error *err)
{
    dsp_lm_batch_report local;
    if (!rep) {
        memset(&local, 0, sizeof local);
        rep = &local;
    }
    /* The replies of the batches before this one were served by the pass
     * in between: once the cache holds them, their records can go. */
    dsp_status st = dsp_lm_batch_finish(c, b, err);
    pthread_mutex_lock(&b->lock);
    lb_req *pending = b->pending;
    size_t n = b->n_pending;
    b->pending = NULL;
    b->n_pending = 0;
    pthread_mutex_unlock(&b->lock);
    const lb_req **group = n ? malloc(n * sizeof *group) : NULL;
    if (n && !group)
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory sending a batch");
    /* max_wait_s is for the run: each batch waits what the ones before it
     * left (at least one status request). */
    dsp_lm_batch_options left;
    memset(&left, 0, sizeof left);
    if (o)
        left = *o;
    double until = mono_s() + (left.max_wait_s > 0 ? left.max_wait_s : LB_DEFAULT_WAIT_S);
    for (size_t g = 0; st == DSP_OK && g < b->n_groups; g++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (pending[i].group == g)
                group[m++] = &pending[i];
        /* In key order: the requests were recorded in the order the
         * examples' threads reached them, and the same set must give the
         * same record (and the same batch file) in every run. */
        qsort(group, m, sizeof *group, by_key);
        for (size_t at = 0; st == DSP_OK && at < m; at += LB_MAX_PER_BATCH) {
            double rest = until - mono_s();
            left.max_wait_s = rest > 0.001 ? rest : 0.001;
            st = run_group(c, b, g, group + at, m - at < LB_MAX_PER_BATCH ? m - at : LB_MAX_PER_BATCH, &left, rep,
                           err);
        }
    }
    free(group);
    for (size_t i = 0; i < n; i++)
        free(pending[i].body);
    free(pending);
    return st;
}

dsp_status dsp_lm_batch_finish(dsp_client *c, dsp_lm_batch *b, dsp_error *err)
{
    dsp_status st = dsp_client_flush(c, err);
    if (st != DSP_OK)
        return st;
    pthread_mutex_lock(&b->lock);
    remove_done(b);
    pthread_mutex_unlock(&b->lock);
    return DSP_OK;
}

/* --- files: vLLM's batch runner -------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The pending requests of OpenAI-format groups, in key order (as a batch
 * sends them); NULL with *n 0 when none. */
static const lb_req **openai_pending(dsp_lm_batch *b, size_t *n, dsp_error *err, dsp_status *st)
{
    *n = 0;
    *st = DSP_OK;
    for (size_t i = 0; i < b->n_pending; i++) {
        const lb_group *g = &b->groups[b->pending[i].group];
        if (g->anthropic) {
            *st = dsp_error_set(err, DSP_ERR_INVALID,
                                "%s: its requests are Anthropic's Messages API, and a batch file holds OpenAI's "
                                "chat completions (what vLLM's batch runner reads); use --batch for Anthropic lms",
                                g->model_spec);
            return NULL;
        }
    }
    const lb_req **reqs = b->n_pending ? malloc(b->n_pending * sizeof *reqs) : NULL;
    if (b->n_pending && !reqs) {
        *st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing a batch file");
        return NULL;
    }
    for (size_t i = 0; i < b->n_pending; i++)
        reqs[(*n)++] = &b->pending[i];
    if (*n)
        qsort(reqs, *n, sizeof *reqs, by_key);
    return reqs;
}

dsp_status dsp_lm_batch_export(dsp_lm_batch *b, char **jsonl, size_t *len, size_t *n, dsp_error *err)
{
    *jsonl = NULL;
    *len = 0;
    *n = 0;
    pthread_mutex_lock(&b->lock);
    dsp_status st;
    size_t m;
    const lb_req **reqs = openai_pending(b, &m, err, &st);
    dsp_jw w;
    size_t hint = 64;
    for (size_t i = 0; i < m; i++)
        hint += strlen(reqs[i]->body) + 128;
    dsp_jw_init(&w, hint);
    for (size_t i = 0; st == DSP_OK && i < m; i++)
        write_request(&w, false, reqs[i], i == 0);
    pthread_mutex_unlock(&b->lock);
    free(reqs);
    if (st == DSP_OK && !(*jsonl = dsp_jw_take(&w)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing a batch file");
    if (st == DSP_OK) {
        *len = strlen(*jsonl);
        *n = m;
    }
    dsp_jw_free(&w);
    return st;
}

dsp_status dsp_lm_batch_import(dsp_lm_batch *b, const char *what, const char *text, size_t len,
                               dsp_lm_batch_import_report *rep, dsp_error *err)
{
    memset(rep, 0, sizeof *rep);
    pthread_mutex_lock(&b->lock);
    dsp_status st;
    size_t m;
    const lb_req **reqs = openai_pending(b, &m, err, &st);
    pthread_mutex_unlock(&b->lock);
    if (st != DSP_OK)
        return st;
    lb_outcome o;
    lb_outcome_init(&o, m);
    /* The line that answered each request first: a second answer refuses
     * the file (which of the two is the request's reply cannot be told). */
    size_t *first = calloc(m + 1, sizeof *first);
    if (!first || !o.seen)
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading %s", what);
    const char *p = text, *end = text + len;
    for (size_t line = 1; st == DSP_OK && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n > 0) {
            rep->lines++;
            cJSON *root = cJSON_ParseWithLength(p, n);
            const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "custom_id"));
            if (!cJSON_IsObject(root) || !key)
                st = dsp_error_set(err, DSP_ERR_PARSE,
                                   "%s:%zu: not a batch output line (a JSON object with \"custom_id\" and "
                                   "\"response\" or \"error\", as OpenAI's Batch API and vLLM's batch runner write)",
                                   what, line);
            else if (!lb_asked(reqs, m, key))
                rep->unknown++;
            else if (first[lb_find(reqs, m, key)])
                st = dsp_error_set(err, DSP_ERR_PARSE,
                                   "%s:%zu: custom_id %.80s was answered already on line %zu; a request has one "
                                   "result line, and which of the two is its reply cannot be told: write the "
                                   "file again (nothing of it was kept)",
                                   what, line, key, first[lb_find(reqs, m, key)]);
            else
                first[lb_find(reqs, m, key)] = line;
            cJSON_Delete(root);
        }
        p = stop + 1;
    }
    /* Only a file read whole to its end is used: a bad line keeps nothing
     * of the lines before it. */
    if (st == DSP_OK)
        read_lines(b, false, reqs, m, text, len, &o);
    free(reqs);
    free(first);
    lb_outcome_free(&o);
    if (st != DSP_OK)
        return st;
    /* Requests the file answered leave the pending list: a reply is served
     * by the next pass, an error line sends its request as a normal call.
     * (Keys answered, sorted: files of tens of thousands of lines.) */
    pthread_mutex_lock(&b->lock);
    size_t n_done = 0;
    const char **done = malloc((b->n_replies + b->n_failed + 1) * sizeof *done);
    if (!done) {
        pthread_mutex_unlock(&b->lock);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading %s", what);
    }
    for (size_t j = 0; j < b->n_replies; j++)
        if (!b->replies[j].taken)
            done[n_done++] = b->replies[j].key;
    for (size_t j = 0; j < b->n_failed; j++)
        done[n_done++] = b->failed[j];
    qsort(done, n_done, sizeof *done, str_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < b->n_pending; i++) {
        const char *k = b->pending[i].key;
        if (n_done && bsearch(&k, done, n_done, sizeof *done, str_cmp))
            free(b->pending[i].body);
        else
            b->pending[kept++] = b->pending[i];
    }
    free(done);
    b->n_pending = kept;
    pthread_mutex_unlock(&b->lock);
    rep->replies = o.ok;
    rep->failed = o.failed;
    rep->missing = kept;
    snprintf(rep->first_failure, sizeof rep->first_failure, "%s", o.first_failure);
    printable(rep->first_failure); /* it quotes the file, printed on a terminal */
    return DSP_OK;
}

bool dsp_lm_batch_read_results(dsp_lm_batch *b, bool anthropic, const char *text, size_t len, size_t *ok,
                               size_t *failed)
{
    pthread_mutex_lock(&b->lock);
    size_t n = b->n_pending;
    const lb_req **reqs = n ? malloc(n * sizeof *reqs) : NULL;
    for (size_t i = 0; reqs && i < n; i++)
        reqs[i] = &b->pending[i];
    pthread_mutex_unlock(&b->lock);
    if (n && !reqs)
        return false;
    if (n)
        qsort(reqs, n, sizeof *reqs, by_key);
    lb_outcome o;
    lb_outcome_init(&o, n);
    read_lines(b, anthropic, reqs, n, text, len, &o);
    lb_outcome_free(&o);
    free(reqs);
    *ok = o.ok;
    *failed = o.failed;
    return true;
}
