/* server.c — libmicrohttpd glue: routing, bodies, delays (see server.h).
 *
 * Threading: an epoll thread pool (--threads) runs the handler; answers are
 * computed on the worker thread that received the request (they take
 * microseconds). Delayed answers suspend the connection and the delay
 * thread resumes it, so latency never blocks a worker.
 */
#include "server.h"
#include "stream.h"

#include "hostile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "answer.h"
#include "batch_api.h"
#include "delay.h"
#include "embed.h"
#include "ft_api.h"
#include "ft_multipart.h"
#include "reqlog.h"

struct rs_server {
    rs_options opts;
    struct MHD_Daemon *daemon;
    rs_delay *delay;
    rs_reqlog *log;
    rs_ft_store *ft;
    rs_batch_store *batches;
    atomic_uint_fast64_t requests;
    atomic_int suspended;
    atomic_bool stopping;
    unsigned port;
    atomic_int chat_in_flight; /* chat requests received and not yet answered */
    struct timespec started;   /* t_ms in the log counts from here */
};

typedef enum route {
    ROUTE_OPENAI_CHAT,
    ROUTE_AZURE_CHAT, /* OpenAI's body at Azure's path, with ?api-version= (wire_azure.c) */
    ROUTE_GEMINI,     /* .../models/MODEL:generateContent (wire_gemini.c) */
    ROUTE_BEDROCK,    /* .../model/ID/converse and converse-stream (wire_bedrock.c) */
    ROUTE_ANTHROPIC,
    ROUTE_MODELS,
    ROUTE_EMBEDDINGS, /* /v1/embeddings (embed.c) */
    ROUTE_FINE_TUNING, /* /v1/files and /v1/fine_tuning/jobs... (ft_api.c) */
    ROUTE_LORA_LOAD,   /* /v1/load_lora_adapter (vLLM's, ft_lora.h) */
    ROUTE_BATCH,       /* /v1/batches..., /v1/files/{id}/content, /v1/messages/batches... (batch_api.c) */
    ROUTE_NOT_FOUND,
    ROUTE_TOO_LARGE /* any path, when the body exceeded --max-body-bytes */
} route;

typedef enum phase { PHASE_RECEIVING, PHASE_WAITING, PHASE_DONE } phase;

typedef struct req_state {
    phase phase;
    route route;
    rs_api api;
    char *body;
    size_t len, cap;
    bool too_big;
    struct MHD_Response *pending;
    unsigned pending_status;
    bool counted; /* in chat_in_flight until the request ends */
} req_state;

typedef struct truncated {
    char *data;
    size_t send;
    size_t len;  /* events: the stream's whole length */
    bool binary; /* events: AWS event-stream messages, not server-sent events */
} truncated;

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    if (pos >= t->send)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* close mid-body */
    size_t n = t->send - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    truncated *t = cls;
    free(t->data);
    free(t);
}

/* An oversize reply: spaces, generated as they are sent, so the fixture
 * never holds it; chunked or not, it ends after size bytes. */
typedef struct oversize {
    uint64_t size;
} oversize;

static ssize_t oversize_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    const oversize *o = cls;
    if (pos >= o->size)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = o->size - pos < max ? (size_t)(o->size - pos) : max;
    memset(buf, ' ', n);
    return (ssize_t)n;
}

/* An event stream, sent one event per chunk (chunked encoding), as the
 * providers send theirs; cut off after `send` bytes when a fault says so. */
static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    size_t len = t->len;
    if (pos >= t->send)
        return t->send < len ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    const char *end = t->binary ? NULL : strstr(t->data + pos, "\n\n");
    size_t n = t->binary ? rs_stream_message_len(t->data + pos, len - (size_t)pos)
               : end     ? (size_t)(end + 2 - (t->data + pos))
                         : len - (size_t)pos;
    if (n > t->send - (size_t)pos)
        n = t->send - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static struct MHD_Response *make_response(const rs_answer *ans)
{
    size_t len = ans->body_len ? ans->body_len : strlen(ans->body);
    struct MHD_Response *r;
    bool events = ans->stream && ans->status == 200 && !ans->oversize;
    if (events) {
        truncated *t = malloc(sizeof *t);
        char *data = malloc(len + 1);
        if (!t || !data) {
            free(t);
            free(data);
            return NULL;
        }
        memcpy(data, ans->body, len + 1);
        t->data = data;
        t->send = ans->send_len;
        t->len = len;
        t->binary = ans->body_len > 0;
        /* Cut off, it announces its whole length and closes early (an
         * unended chunked body would keep the connection waiting). */
        r = MHD_create_response_from_callback(t->send < len ? len : MHD_SIZE_UNKNOWN, 64 * 1024, events_read, t,
                                              truncated_free);
        if (!r) {
            truncated_free(t);
            return NULL;
        }
        if (t->binary) {
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/vnd.amazon.eventstream");
        } else {
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
            MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        }
        return r;
    }
    if (ans->oversize) {
        oversize *o = malloc(sizeof *o);
        if (!o)
            return NULL;
        o->size = ans->oversize;
        r = MHD_create_response_from_callback(ans->fault == RS_FAULT_OVERSIZE_CHUNKED ? MHD_SIZE_UNKNOWN : o->size,
                                              64 * 1024, oversize_read, o, free);
        if (!r) {
            free(o);
            return NULL;
        }
    } else if (ans->send_len < len) {
        truncated *t = malloc(sizeof *t);
        char *data = malloc(len);
        if (!t || !data) {
            free(t);
            free(data);
            return NULL;
        }
        memcpy(data, ans->body, len);
        t->data = data;
        t->send = ans->send_len;
        r = MHD_create_response_from_callback(len, 4096, truncated_read, t, truncated_free);
        if (!r) {
            truncated_free(t);
            return NULL;
        }
    } else {
        r = MHD_create_response_from_buffer(len, (void *)ans->body, MHD_RESPMEM_MUST_COPY);
        if (!r)
            return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (ans->status == 429) {
        char buf[32];
        snprintf(buf, sizeof buf, "%u", (ans->retry_after_ms + 999) / 1000);
        MHD_add_response_header(r, "Retry-After", buf);
        snprintf(buf, sizeof buf, "%u", ans->retry_after_ms);
        MHD_add_response_header(r, "retry-after-ms", buf);
    }
    return r;
}

static enum MHD_Result send_answer(struct MHD_Connection *conn, const rs_answer *ans,
                                   const char *allow)
{
    struct MHD_Response *r = make_response(ans);
    if (!r)
        return MHD_NO;
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)ans->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The first header SignedHeaders names that the request does not carry
 * (copied into a), or NULL: AWS recomputes a signature over the headers
 * it received, so one signed but not sent fails as SignatureDoesNotMatch
 * (libcurl signs an empty "Expect:" that it does not send). */
static const char *signed_but_missing(rs_arena *a, struct MHD_Connection *conn, const char *authorization)
{
    const char *sh = authorization ? strstr(authorization, "SignedHeaders=") : NULL;
    if (!sh)
        return NULL;
    sh += strlen("SignedHeaders=");
    while (*sh && *sh != ',' && *sh != ' ') {
        size_t n = strcspn(sh, ";, ");
        const char *name = rs_strndup(a, sh, n);
        if (strcmp(name, "host") != 0 && !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name))
            return name;
        sh += n;
        if (*sh == ';')
            sh++;
    }
    return NULL;
}

/* A 200 to a request that asked for a stream goes as the provider's
 * events; a cut-off fault then cuts the stream half way, and a garbled one
 * sends half of it, ended cleanly. Gemini streams only with alt=sse here.
 * A 500 or 503 fault on a Bedrock stream comes as ConverseStream sends a
 * failure after the response started: a 200 whose messages end with an
 * internalServerException or serviceUnavailableException. */
static void stream_answer(rs_arena *a, rs_api api, struct MHD_Connection *conn, rs_answer *ans)
{
    if (ans->stream && api == RS_API_BEDROCK && (ans->fault == RS_FAULT_500 || ans->fault == RS_FAULT_503)) {
        bool unavailable = ans->fault == RS_FAULT_503;
        ans->status = 200;
        ans->body = rs_stream_bedrock_exception(
            a, unavailable ? "serviceUnavailableException" : "internalServerException",
            unavailable ? "The service is unavailable (injected by dsp-refserver --fail-kinds 503). Try again later."
                        : "An internal server error occurred (injected by dsp-refserver --fail-kinds 500). Retry your "
                          "request.",
            &ans->body_len);
        ans->send_len = ans->body_len;
        return;
    }
    if (!ans->stream || ans->status != 200 || ans->oversize)
        return;
    const char *alt = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "alt");
    if (api == RS_API_GEMINI && (!alt || strcmp(alt, "sse") != 0)) {
        rs_answer_error(a, api, 400,
                        "This test fixture serves streamGenerateContent as server-sent events only: add ?alt=sse.",
                        NULL, ans);
        return;
    }
    size_t whole = strlen(ans->body), len = 0;
    const char *events = rs_stream_body(a, api, ans->body, ans->stream_usage, &len);
    if (!events)
        return; /* not a reply (a garbled fault): sent as it is, which no reader takes for a whole stream */
    bool cut = ans->send_len < whole;
    ans->body = events;
    ans->body_len = api == RS_API_BEDROCK ? len : 0;
    ans->send_len = len;
    if (cut)
        ans->send_len /= 2;
}

static route route_of(const char *url, rs_api *api)
{
    *api = RS_API_OPENAI;
    if (strcmp(url, "/v1/chat/completions") == 0)
        return ROUTE_OPENAI_CHAT;
    if (strcmp(url, "/v1/messages") == 0) {
        *api = RS_API_ANTHROPIC;
        return ROUTE_ANTHROPIC;
    }
    if (strcmp(url, "/v1/models") == 0)
        return ROUTE_MODELS;
    if (strcmp(url, "/v1/embeddings") == 0)
        return ROUTE_EMBEDDINGS;
    if (rs_azure_route(url))
        return ROUTE_AZURE_CHAT;
    if (rs_bedrock_route(NULL, url, NULL)) {
        *api = RS_API_BEDROCK;
        return ROUTE_BEDROCK;
    }
    if (rs_gemini_route(NULL, url, NULL)) {
        *api = RS_API_GEMINI;
        return ROUTE_GEMINI;
    }
    if (rs_ft_route(url))
        return ROUTE_FINE_TUNING;
    if (rs_batch_route(url)) {
        if (strncmp(url, "/v1/messages/", 13) == 0)
            *api = RS_API_ANTHROPIC;
        return ROUTE_BATCH;
    }
    if (strcmp(url, "/v1/load_lora_adapter") == 0)
        return ROUTE_LORA_LOAD;
    if (strncmp(url, "/v1/messages/", 13) == 0)
        *api = RS_API_ANTHROPIC;
    return ROUTE_NOT_FOUND;
}

/* Answers that need no model: the model list, 404, 405 and 413. */
static void answer_plain(rs_arena *a, const char *url, const char *method, route rt,
                         rs_api api, rs_answer *ans, const char **allow)
{
    *allow = NULL;
    if (rt == ROUTE_TOO_LARGE) {
        rs_answer_error(a, api, 413, "Request body too large for this test fixture (see --max-body-bytes).",
                        "request_too_large", ans);
    } else if (rt == ROUTE_MODELS && strcmp(method, "GET") == 0) {
        memset(ans, 0, sizeof *ans);
        ans->status = 200;
        ans->body = rs_openai_models(a);
        ans->send_len = strlen(ans->body);
    } else if (rt == ROUTE_NOT_FOUND) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "Unknown request URL: %s %s. This test fixture serves POST /v1/chat/completions, "
                          "GET /v1/models, POST /v1/embeddings, POST /v1/messages, Azure's POST /openai/deployments/{deployment}/chat/"
                          "completions?api-version=..., Gemini's POST /v1beta/models/{model}:generateContent and the fine-tuning endpoints /v1/files and "
                          "/v1/fine_tuning/jobs.", method, url);
        rs_answer_error(a, api, 404, rs_buf_str(&m), "unknown_url", ans);
    } else {
        *allow = rt == ROUTE_MODELS ? "GET" : "POST";
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "Method %s is not allowed for %s; use %s.", method, url, *allow);
        rs_answer_error(a, api, 405, rs_buf_str(&m), "method_not_allowed", ans);
    }
}

/* vLLM's POST /v1/load_lora_adapter {"lora_name", "lora_path"}: 200 with
 * a plain-text line, or 400 as vLLM answers (an ErrorResponse object). */
static void load_lora(rs_server *s, rs_arena *a, const char *body, size_t len, rs_answer *ans)
{
    memset(ans, 0, sizeof *ans);
    cJSON *root = cJSON_ParseWithLength(body, len);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "lora_name"));
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "lora_path"));
    const char *msg = NULL;
    rs_lora_rc rc = name && path ? rs_lora_load(rs_ft_store_loras(s->ft), name, path, a, &msg) : RS_LORA_BAD;
    rs_buf b;
    rs_buf_init(&b, a);
    if (rc == RS_LORA_OK) {
        rs_buf_printf(&b, "Success: LoRA adapter '%s' added successfully.", name);
        ans->status = 200;
        ans->body = rs_buf_str(&b);
    } else {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "object", "error");
        if (rc == RS_LORA_EXISTS)
            rs_buf_printf(&b, "The lora adapter '%s' has already been loaded.", name);
        else
            rs_buf_printf(&b, "%s", msg ? msg : "the body must be a JSON object with lora_name and lora_path");
        cJSON_AddStringToObject(e, "message", rs_buf_str(&b));
        cJSON_AddStringToObject(e, "type", "BadRequestError");
        cJSON_AddNumberToObject(e, "code", 400);
        char *t = cJSON_PrintUnformatted(e);
        ans->status = 400;
        ans->body = rs_strdup(a, t ? t : "{}");
        cJSON_free(t);
        cJSON_Delete(e);
    }
    ans->send_len = strlen(ans->body);
    cJSON_Delete(root);
}

static bool append_body(rs_server *s, req_state *st, const char *data, size_t n)
{
    if (st->too_big || st->len + n > s->opts.max_body) {
        st->too_big = true;
        return true;
    }
    if (st->len + n + 1 > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + n + 1)
            cap *= 2;
        char *b = realloc(st->body, cap);
        if (!b)
            return false;
        st->body = b;
        st->cap = cap;
    }
    memcpy(st->body + st->len, data, n);
    st->len += n;
    return true;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    rs_server *s = cls;
    req_state *st = *con_cls;
    if (!st) {
        rs_api api;
        route rt = route_of(url, &api);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->opts.max_body) {
            /* Refused before reading the body; the connection then closes. */
            rs_arena a;
            rs_arena_init(&a);
            rs_answer ans;
            rs_answer_error(&a, api, 413, "Request body too large for this test fixture (see --max-body-bytes).",
                            "request_too_large", &ans);
            rs_reqlog_write(s->log, method, url, &ans, NULL, 0);
            enum MHD_Result ret = send_answer(conn, &ans, NULL);
            rs_arena_free(&a);
            return ret;
        }
        /* Every answer waits for the end of the request: one queued in
         * this first call would make libmicrohttpd close the connection
         * instead of keeping it alive. */
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        st->api = api;
        st->route = rt;
        *con_cls = st;
        return MHD_YES;
    }
    if (st->phase == PHASE_RECEIVING && *upload_data_size) {
        if (!append_body(s, st, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->phase == PHASE_WAITING) {
        atomic_fetch_sub(&s->suspended, 1);
        st->phase = PHASE_DONE;
        enum MHD_Result ret = MHD_queue_response(conn, st->pending_status, st->pending);
        MHD_destroy_response(st->pending);
        st->pending = NULL;
        return ret;
    }
    if (st->phase != PHASE_RECEIVING)
        return MHD_NO;

    rs_arena a;
    rs_arena_init(&a);
    rs_answer ans;
    const char *allow = NULL;
    const char *sig_problem = NULL, *missing = NULL;
    bool chat = (st->route == ROUTE_OPENAI_CHAT || st->route == ROUTE_AZURE_CHAT || st->route == ROUTE_ANTHROPIC ||
                 st->route == ROUTE_GEMINI || st->route == ROUTE_BEDROCK) &&
                strcmp(method, "POST") == 0;
    bool load = st->route == ROUTE_LORA_LOAD && strcmp(method, "POST") == 0;
    bool embed = st->route == ROUTE_EMBEDDINGS && strcmp(method, "POST") == 0;
    if (chat && st->route == ROUTE_AZURE_CHAT && !st->too_big &&
        !MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "api-version")) {
        /* What Azure answers a data-plane call without its version. */
        rs_answer_error(&a, st->api, 404, "Resource not found", "404", &ans);
    } else if (chat && st->route == ROUTE_BEDROCK && !st->too_big &&
               MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization") &&
               (sig_problem = rs_bedrock_check_signature(
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-date"),
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-security-token"),
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-security-token") != NULL))) {
        /* A signed request whose signature is malformed: AWS's 403. */
        rs_answer_error(&a, st->api, 403, sig_problem, NULL, &ans);
    } else if (chat && st->route == ROUTE_BEDROCK && !st->too_big &&
               (missing = signed_but_missing(&a, conn, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                                    "Authorization")))) {
        rs_buf m;
        rs_buf_init(&m, &a);
        rs_buf_printf(&m, "The request signature we calculated does not match the signature you provided: it signs "
                          "a header `%s` the request does not carry.", missing);
        rs_answer_error(&a, st->api, 403, rs_buf_str(&m), NULL, &ans);
    } else if (st->too_big ||
               (!chat && !load && !embed && st->route != ROUTE_FINE_TUNING && st->route != ROUTE_BATCH)) {
        answer_plain(&a, url, method, st->too_big ? ROUTE_TOO_LARGE : st->route, st->api, &ans, &allow);
    } else if (load) {
        load_lora(s, &a, st->body ? st->body : "", st->len, &ans);
    } else if (embed) {
        uint64_t no = atomic_fetch_add(&s->requests, 1);
        rs_answer_embeddings(&a, &s->opts, st->body ? st->body : "", st->len, no, &ans);
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        ans.auth = auth != NULL;
        ans.auth_header = auth ? "authorization" : NULL;
        /* A vector holds no text to echo into: --echo-key error only. */
        if (s->opts.echo_key == RS_ECHO_ERROR)
            rs_echo_key(&a, &s->opts, RS_API_OPENAI, rs_request_key(auth, NULL), &ans);
    } else if (st->route == ROUTE_FINE_TUNING) {
        rs_ft_upload up;
        rs_ft_decode_upload(conn, &a, st->body, st->len, &up);
        /* One /v1/files serves both APIs, told apart by the purpose. */
        if (up.multipart && up.purpose && strcmp(up.purpose, "batch") == 0 && strcmp(method, "POST") == 0)
            rs_batch_upload(s->batches, &a, up.filename, up.data, up.len, &ans);
        else
            rs_ft_answer(s->ft, &a, method, url, st->body, st->len, &up, &ans, &allow);
    } else if (st->route == ROUTE_BATCH) {
        const char *key = rs_request_key(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
                                         MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key"));
        rs_batch_answer(s->batches, &a, method, url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"), key,
                        st->body, st->len, &ans, &allow);
    } else {
        /* Anthropic's version header, or the model Gemini's path names. */
        const char *version_hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "anthropic-version");
        if (st->route == ROUTE_GEMINI)
            rs_gemini_route(&a, url, &version_hdr);
        if (st->route == ROUTE_BEDROCK)
            rs_bedrock_route(&a, url, &version_hdr);
        /* Its arrival, before the answer is worked out: under load that
         * takes a varying while, which pacing tests must not read as the
         * client's. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int now_in = atomic_fetch_add(&s->chat_in_flight, 1) + 1;
        st->counted = true;
        if (s->opts.max_concurrent && (unsigned)now_in > s->opts.max_concurrent) {
            /* --max-concurrent: what a provider's rate limiter answers, at once. */
            rs_answer_error(&a, st->api, 429,
                            "Rate limit reached: too many requests at once (dsp-refserver --max-concurrent). "
                            "Please try again later.",
                            "rate_limit_exceeded", &ans);
            ans.retry_after_ms = s->opts.retry_after_ms;
        } else {
            uint64_t no = atomic_fetch_add(&s->requests, 1);
            rs_answer_chat_ft(&a, &s->opts, s->ft, st->api, st->body ? st->body : "", st->len, version_hdr, no,
                              &ans);
        }
        ans.in_flight = now_in;
        ans.t_ms = (double)(ts.tv_sec - s->started.tv_sec) * 1e3 + (double)(ts.tv_nsec - s->started.tv_nsec) / 1e6;
        ans.mono_ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        const char *x_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
        ans.auth_header = auth ? "authorization" : x_key ? "x-api-key" : NULL;
        if (!x_key) {
            x_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "api-key"); /* Azure's */
            if (x_key && !auth)
                ans.auth_header = "api-key";
        }
        if (!x_key) {
            x_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-goog-api-key"); /* Gemini's */
            if (x_key && !auth)
                ans.auth_header = "x-goog-api-key";
        }
        if (st->route == ROUTE_BEDROCK && auth)
            ans.auth_header = "aws-sigv4"; /* its form checked above */
        rs_inject_nul(&a, &s->opts, st->api, &ans);
        if (s->opts.echo_key != RS_ECHO_NONE)
            rs_echo_key(&a, &s->opts, st->api, rs_request_key(auth, x_key), &ans);
        ans.auth = auth || x_key;
        if ((st->route == ROUTE_GEMINI && rs_gemini_is_stream(url)) ||
            (st->route == ROUTE_BEDROCK && rs_bedrock_is_stream(url)))
            ans.stream = true;
        stream_answer(&a, st->api, conn, &ans);
    }
    rs_reqlog_write(s->log, method, url, &ans, (chat || embed) && !st->too_big ? st->body : NULL, st->len);
    enum MHD_Result ret;
    if (ans.delay_ms && !atomic_load(&s->stopping)) {
        st->pending = make_response(&ans);
        if (!st->pending) {
            rs_arena_free(&a);
            return MHD_NO;
        }
        st->pending_status = (unsigned)ans.status;
        st->phase = PHASE_WAITING;
        atomic_fetch_add(&s->suspended, 1);
        MHD_suspend_connection(conn);
        rs_delay_add(s->delay, conn, ans.delay_ms);
        ret = MHD_YES;
    } else {
        st->phase = PHASE_DONE;
        ret = send_answer(conn, &ans, allow);
    }
    rs_arena_free(&a);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    req_state *st = *con_cls;
    if (!st)
        return;
    if (st->counted)
        atomic_fetch_sub(&((rs_server *)cls)->chat_in_flight, 1);
    if (st->pending)
        MHD_destroy_response(st->pending);
    free(st->body);
    free(st);
    *con_cls = NULL;
}

rs_server *rs_server_start(const rs_options *o, char *err, size_t err_size)
{
    rs_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->opts = *o;
    clock_gettime(CLOCK_MONOTONIC, &s->started);
    if (!rs_reqlog_open(o->log_path, &s->log)) {
        snprintf(err, err_size, "cannot open log file '%s' for appending", o->log_path);
        free(s);
        return NULL;
    }
    s->ft = rs_ft_store_new(o->ft_delay_ms, o->seed, o->state_dir, err, err_size);
    if (!s->ft) {
        rs_reqlog_close(s->log);
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < o->n_loras; i++) {
        const char *eq = strchr(o->loras[i], '=');
        rs_arena la;
        rs_arena_init(&la);
        char *name = rs_strdup(&la, o->loras[i]);
        name[eq - o->loras[i]] = '\0';
        const char *msg = NULL;
        rs_lora_rc rc = rs_lora_load(rs_ft_store_loras(s->ft), name, eq + 1, &la, &msg);
        if (rc != RS_LORA_OK)
            snprintf(err, err_size, "--lora %s: %s", o->loras[i], rc == RS_LORA_EXISTS ? "the name is given twice" : msg);
        rs_arena_free(&la);
        if (rc != RS_LORA_OK) {
            rs_ft_store_free(s->ft);
            rs_reqlog_close(s->log);
            free(s);
            return NULL;
        }
    }
    s->batches = rs_batch_store_new(o, s->ft);
    if (!rs_delay_start(&s->delay)) {
        snprintf(err, err_size, "cannot start the delay thread");
        rs_batch_store_free(s->batches);
        rs_ft_store_free(s->ft);
        rs_reqlog_close(s->log);
        free(s);
        return NULL;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
                                 /* Each request resets (zeroes) the pool: keep it small. */
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_LISTEN_BACKLOG_SIZE,
                                 (unsigned)(o->max_connections > 1024 ? o->max_connections : 1024),
                                 MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, err_size, "cannot listen on 127.0.0.1:%u (port in use?)", o->port);
        rs_delay_stop(s->delay);
        rs_delay_free(s->delay);
        rs_batch_store_free(s->batches);
        rs_ft_store_free(s->ft);
        rs_reqlog_close(s->log);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    return s;
}

unsigned rs_server_port(const rs_server *s) { return s->port; }

void rs_server_stop(rs_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    rs_delay_stop(s->delay);
    /* libmicrohttpd refuses to stop with suspended connections; the resumed
     * ones are answered by the workers within milliseconds. */
    for (int i = 0; i < 2000 && atomic_load(&s->suspended) > 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    rs_delay_free(s->delay);
    rs_batch_store_free(s->batches);
    rs_ft_store_free(s->ft);
    rs_reqlog_close(s->log);
    free(s);
}
