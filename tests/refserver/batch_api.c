/* batch_api.c — OpenAI's Batch API and Anthropic's Message Batches on the
 * fixture (see batch_api.h). */
#include "batch_api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "text.h"

typedef enum fate { FATE_OK, FATE_ERRORED, FATE_EXPIRED, FATE_GARBAGE } fate;

typedef struct bfile {
    char id[48];
    char *data;
    size_t len;
} bfile;

typedef struct breq {
    char *custom_id;
    fate fate;
    int status;    /* the chat answer's HTTP status */
    char *answer;  /* its body (JSON) */
} breq;

typedef struct bbatch {
    char id[48];
    bool anthropic;
    long long created_ms;
    char *input_file_id, *endpoint;
    char *failed; /* OpenAI: why validation failed the batch, else NULL */
    breq *reqs;
    size_t n;
    char out_id[48], err_id[48];
} bbatch;

struct rs_batch_store {
    pthread_mutex_t lock;
    rs_options opts;
    rs_ft_store *ft;
    bfile **files;
    size_t n_files;
    bbatch **batches;
    size_t n_batches;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("dsp-refserver: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

rs_batch_store *rs_batch_store_new(const rs_options *o, rs_ft_store *ft)
{
    rs_batch_store *s = xrealloc(NULL, sizeof *s);
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->opts = *o;
    s->ft = ft;
    return s;
}

void rs_batch_store_free(rs_batch_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files[i]->data);
        free(s->files[i]);
    }
    for (size_t i = 0; i < s->n_batches; i++) {
        bbatch *b = s->batches[i];
        for (size_t j = 0; j < b->n; j++) {
            free(b->reqs[j].custom_id);
            free(b->reqs[j].answer);
        }
        free(b->reqs);
        free(b->input_file_id);
        free(b->endpoint);
        free(b->failed);
        free(b);
    }
    free(s->files);
    free(s->batches);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const char k_batches[] = "/v1/batches";
static const char k_msg_batches[] = "/v1/messages/batches";

bool rs_batch_route(const char *url)
{
    size_t nb = sizeof k_batches - 1, nm = sizeof k_msg_batches - 1;
    if (strncmp(url, k_batches, nb) == 0 && (url[nb] == '\0' || url[nb] == '/'))
        return true;
    if (strncmp(url, k_msg_batches, nm) == 0 && (url[nm] == '\0' || url[nm] == '/'))
        return true;
    size_t len = strlen(url);
    return strncmp(url, "/v1/files/", 10) == 0 && len > 18 && strcmp(url + len - 8, "/content") == 0;
}

static void json_out(rs_arena *a, cJSON *root, rs_answer *out)
{
    memset(out, 0, sizeof *out);
    char *t = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    out->status = 200;
    out->body = rs_strdup(a, t ? t : "{}");
    out->send_len = strlen(out->body);
    cJSON_free(t);
}

static void fail(rs_arena *a, bool anthropic, int status, const char *msg, const char *code, rs_answer *out)
{
    rs_answer_error(a, anthropic ? RS_API_ANTHROPIC : RS_API_OPENAI, status, msg, code, out);
}

void rs_batch_upload(rs_batch_store *s, rs_arena *a, const char *filename, const char *data, size_t len,
                     rs_answer *out)
{
    if (!data)
        return fail(a, false, 400, "Missing required parameter: 'file'.", NULL, out);
    pthread_mutex_lock(&s->lock);
    bfile *f = xrealloc(NULL, sizeof *f);
    snprintf(f->id, sizeof f->id, "file-batch%06zu", s->n_files + 1);
    f->data = xstrndup(data, len);
    f->len = len;
    s->files = xrealloc(s->files, (s->n_files + 1) * sizeof *s->files);
    s->files[s->n_files++] = f;
    pthread_mutex_unlock(&s->lock);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "file");
    cJSON_AddStringToObject(o, "id", f->id);
    cJSON_AddStringToObject(o, "purpose", "batch");
    cJSON_AddStringToObject(o, "filename", filename ? filename : "batch.jsonl");
    cJSON_AddNumberToObject(o, "bytes", (double)len);
    cJSON_AddNumberToObject(o, "created_at", (double)(rs_ft_now_ms() / 1000));
    cJSON_AddStringToObject(o, "status", "processed");
    json_out(a, o, out);
}

/* Deterministic per request: a hash of the seed, the custom_id and salt
 * against a rate. */
static bool picked(const rs_batch_store *s, const char *custom_id, uint64_t salt, double rate)
{
    if (rate <= 0)
        return false;
    uint64_t h = rs_mix(s->opts.seed ^ salt);
    for (const char *p = custom_id; *p; p++)
        h = rs_mix(h ^ (unsigned char)*p);
    return (double)(h >> 11) / 9007199254740992.0 < rate;
}

/* Answers one request's chat body as the chat endpoint would. */
static void answer_one(rs_batch_store *s, bool anthropic, const char *custom_id, const char *body, size_t len,
                       uint64_t no, breq *r)
{
    r->custom_id = xstrndup(custom_id, strlen(custom_id));
    r->fate = picked(s, custom_id, 0xe7e7, s->opts.batch_expire_rate)  ? FATE_EXPIRED
              : picked(s, custom_id, 0xe770, s->opts.batch_error_rate) ? FATE_ERRORED
              : picked(s, custom_id, 0x9a7b, s->opts.batch_garbage_rate) ? FATE_GARBAGE
                                                                         : FATE_OK;
    rs_arena a;
    rs_arena_init(&a);
    rs_answer ans;
    rs_answer_chat_ft(&a, &s->opts, s->ft, anthropic ? RS_API_ANTHROPIC : RS_API_OPENAI, body, len,
                      anthropic ? "2023-06-01" : NULL, no, &ans);
    r->status = ans.status;
    r->answer = xstrndup(ans.body, strlen(ans.body));
    rs_arena_free(&a);
}

static bbatch *new_batch(rs_batch_store *s, bool anthropic, const char *key)
{
    bbatch *b = xrealloc(NULL, sizeof *b);
    memset(b, 0, sizeof *b);
    b->anthropic = anthropic;
    b->created_ms = rs_ft_now_ms();
    size_t k = s->n_batches + 1;
    uint64_t h = rs_mix(s->opts.seed ^ (0xba7c0000u + k));
    snprintf(b->id, sizeof b->id, anthropic ? "msgbatch_%016llx" : "batch_%016llx", (unsigned long long)h);
    if (s->opts.echo_key == RS_ECHO_BATCH && key) /* a hostile server: the id quotes the key */
        snprintf(b->id, sizeof b->id, "%s%.32s", anthropic ? "msgbatch_" : "batch_", key);
    snprintf(b->out_id, sizeof b->out_id, "file-batchout%06zu", k);
    snprintf(b->err_id, sizeof b->err_id, "file-batcherr%06zu", k);
    return b;
}

static void add_batch(rs_batch_store *s, bbatch *b)
{
    s->batches = xrealloc(s->batches, (s->n_batches + 1) * sizeof *s->batches);
    s->batches[s->n_batches++] = b;
}

static bbatch *find_batch(rs_batch_store *s, const char *id, bool anthropic)
{
    for (size_t i = 0; i < s->n_batches; i++)
        if (s->batches[i]->anthropic == anthropic && strcmp(s->batches[i]->id, id) == 0)
            return s->batches[i];
    return NULL;
}

/* Reads an OpenAI batch input file; false (with *why) when a line is bad. */
static bool read_input(rs_batch_store *s, bbatch *b, const bfile *f, rs_arena *a, const char **why)
{
    const char *p = f->data, *end = f->data + f->len;
    size_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line++;
        if (stop > p) {
            cJSON *o = cJSON_ParseWithLength(p, (size_t)(stop - p));
            const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "custom_id"));
            const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "method"));
            const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "url"));
            const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
            rs_buf m;
            rs_buf_init(&m, a);
            if (!cid || !method || !url || !cJSON_IsObject(body))
                rs_buf_printf(&m, "Line %zu: each line needs custom_id, method, url and an object body.", line);
            else if (strcmp(method, "POST") != 0 || strcmp(url, b->endpoint) != 0)
                rs_buf_printf(&m, "Line %zu: the method must be POST and the url the batch's endpoint %s.", line,
                              b->endpoint);
            for (size_t i = 0; !m.len && i < b->n; i++)
                if (strcmp(b->reqs[i].custom_id, cid) == 0)
                    rs_buf_printf(&m, "Line %zu: the custom_id %s is not unique in the batch.", line, cid);
            if (m.len) {
                *why = rs_buf_str(&m);
                cJSON_Delete(o);
                return false;
            }
            char *text = cJSON_PrintUnformatted(body);
            b->reqs = xrealloc(b->reqs, (b->n + 1) * sizeof *b->reqs);
            answer_one(s, false, cid, text ? text : "{}", text ? strlen(text) : 2, b->n, &b->reqs[b->n]);
            b->n++;
            cJSON_free(text);
            cJSON_Delete(o);
        }
        p = stop + 1;
    }
    return true;
}

/* Progress at now: how many requests have ended, and whether all have. */
static size_t done_at(const rs_batch_store *s, const bbatch *b, long long now, bool *ended)
{
    long long t = now - b->created_ms, d = s->opts.batch_delay_ms;
    *ended = t >= d;
    if (*ended || d <= 0)
        return b->n;
    long long start = d / 4; /* validating until then */
    if (t < start)
        return 0;
    return (size_t)((double)b->n * (double)(t - start) / (double)(d - start));
}

static void count(const bbatch *b, size_t done, bool ended, size_t *ok, size_t *errored, size_t *expired)
{
    *ok = *errored = *expired = 0;
    for (size_t i = 0; i < done; i++) {
        fate f = b->reqs[i].fate;
        if (f == FATE_EXPIRED && !ended)
            continue; /* expires at the end of the window */
        if (f == FATE_EXPIRED)
            (*expired)++;
        else if (f == FATE_ERRORED || b->reqs[i].status != 200)
            (*errored)++;
        else
            (*ok)++;
    }
}

static cJSON *openai_object(const rs_batch_store *s, const bbatch *b)
{
    long long now = rs_ft_now_ms();
    bool ended;
    size_t done = done_at(s, b, now, &ended), ok, errored, expired;
    count(b, done, ended, &ok, &errored, &expired);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", b->id);
    cJSON_AddStringToObject(o, "object", "batch");
    cJSON_AddStringToObject(o, "endpoint", b->endpoint);
    cJSON_AddStringToObject(o, "input_file_id", b->input_file_id);
    cJSON_AddStringToObject(o, "completion_window", "24h");
    const char *status = b->failed                       ? "failed"
                         : !ended && done == 0           ? (now - b->created_ms < s->opts.batch_delay_ms / 4
                                                                ? "validating"
                                                                : "in_progress")
                         : !ended                        ? "in_progress"
                         : expired                       ? "expired"
                                                         : "completed";
    /* --batch-escape: a hostile server's status that would retitle (or
     * worse) the terminal of a client printing it as received. */
    if (s->opts.batch_escape && !ended && !b->failed)
        status = "in_progress\x1b]0;dsp-refserver\x07";
    cJSON_AddStringToObject(o, "status", status);
    if (b->failed) {
        cJSON *errs = cJSON_AddObjectToObject(o, "errors");
        cJSON_AddStringToObject(errs, "object", "list");
        cJSON *data = cJSON_AddArrayToObject(errs, "data");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "code", "invalid_request");
        cJSON_AddStringToObject(e, "message", b->failed);
        cJSON_AddItemToArray(data, e);
    } else {
        cJSON_AddNullToObject(o, "errors");
    }
    if (ended && !b->failed && ok)
        cJSON_AddStringToObject(o, "output_file_id", b->out_id);
    else
        cJSON_AddNullToObject(o, "output_file_id");
    if (ended && !b->failed && (errored || expired))
        cJSON_AddStringToObject(o, "error_file_id", b->err_id);
    else
        cJSON_AddNullToObject(o, "error_file_id");
    cJSON_AddNumberToObject(o, "created_at", (double)(b->created_ms / 1000));
    cJSON *rc = cJSON_AddObjectToObject(o, "request_counts");
    cJSON_AddNumberToObject(rc, "total", (double)(b->failed ? 0 : b->n));
    cJSON_AddNumberToObject(rc, "completed", (double)ok);
    cJSON_AddNumberToObject(rc, "failed", (double)(errored + expired));
    cJSON_AddObjectToObject(o, "metadata");
    return o;
}

static void rfc3339(long long ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *anthropic_object(const rs_batch_store *s, const bbatch *b, const char *host)
{
    long long now = rs_ft_now_ms();
    bool ended;
    size_t done = done_at(s, b, now, &ended), ok, errored, expired;
    count(b, done, ended, &ok, &errored, &expired);
    char ts[40];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", b->id);
    cJSON_AddStringToObject(o, "type", "message_batch");
    cJSON_AddStringToObject(o, "processing_status", ended                   ? "ended"
                                                    : s->opts.batch_escape ? "in_progress\x1b]0;dsp-refserver\x07"
                                                                           : "in_progress");
    cJSON *rc = cJSON_AddObjectToObject(o, "request_counts");
    cJSON_AddNumberToObject(rc, "processing", (double)(b->n - ok - errored - expired));
    cJSON_AddNumberToObject(rc, "succeeded", (double)ok);
    cJSON_AddNumberToObject(rc, "errored", (double)errored);
    cJSON_AddNumberToObject(rc, "canceled", 0);
    cJSON_AddNumberToObject(rc, "expired", (double)expired);
    rfc3339(b->created_ms, ts, sizeof ts);
    cJSON_AddStringToObject(o, "created_at", ts);
    rfc3339(b->created_ms + 24LL * 3600 * 1000, ts, sizeof ts);
    cJSON_AddStringToObject(o, "expires_at", ts);
    if (ended) {
        rfc3339(b->created_ms + s->opts.batch_delay_ms, ts, sizeof ts);
        cJSON_AddStringToObject(o, "ended_at", ts);
        char url[512];
        snprintf(url, sizeof url, "http://%s%s/%s/results", host ? host : "127.0.0.1", k_msg_batches, b->id);
        cJSON_AddStringToObject(o, "results_url", url);
    } else {
        cJSON_AddNullToObject(o, "ended_at");
        cJSON_AddNullToObject(o, "results_url");
    }
    cJSON_AddNullToObject(o, "archived_at");
    cJSON_AddNullToObject(o, "cancel_initiated_at");
    return o;
}

/* The body a request's answer holds (JSON), or an error object. */
static cJSON *answer_json(const breq *r)
{
    cJSON *v = cJSON_Parse(r->answer);
    return v ? v : cJSON_CreateObject();
}

static cJSON *injected_error(rs_arena *a, bool anthropic)
{
    rs_wire_error e = {500, "Internal server error (injected by the test fixture's --batch-error-rate).", NULL,
                       anthropic ? "api_error" : "server_error"};
    return cJSON_Parse(rs_wire_error_body(a, anthropic ? RS_API_ANTHROPIC : RS_API_OPENAI, &e));
}

/* Appends o as one JSONL line and deletes it. */
static void add_line(rs_buf *out, cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    rs_buf_puts(out, t ? t : "{}");
    rs_buf_puts(out, "\n");
    cJSON_free(t);
}

/* --batch-garbage-rate: request i's result line, damaged in turn: cut off
 * half way (not JSON), or well-formed with a reply that does not follow
 * the API (its choices, or content, not a list). */
static void garbage_line(rs_buf *out, const char *custom_id, size_t i, bool anthropic)
{
    char line[300];
    if (i % 2 == 0)
        snprintf(line, sizeof line, "{\"custom_id\":\"%.64s\",\"%s\":{\"status_c\n", custom_id,
                 anthropic ? "result" : "response");
    else if (anthropic)
        snprintf(line, sizeof line,
                 "{\"custom_id\":\"%.64s\",\"result\":{\"type\":\"succeeded\",\"message\":{\"type\":\"message\","
                 "\"content\":\"not a list\"}}}\n",
                 custom_id);
    else
        snprintf(line, sizeof line,
                 "{\"custom_id\":\"%.64s\",\"response\":{\"status_code\":200,\"body\":{\"choices\":\"not a list\"}},"
                 "\"error\":null}\n",
                 custom_id);
    rs_buf_puts(out, line);
}

/* OpenAI's output (errors false) or error file of an ended batch. */
static const char *openai_file(rs_arena *a, const bbatch *b, bool errors)
{
    rs_buf out;
    rs_buf_init(&out, a);
    for (size_t i = 0; i < b->n; i++) {
        const breq *r = &b->reqs[i];
        bool ok = (r->fate == FATE_OK || r->fate == FATE_GARBAGE) && r->status == 200;
        if (ok == errors)
            continue;
        if (r->fate == FATE_GARBAGE) {
            garbage_line(&out, r->custom_id, i, false);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        char id[64];
        snprintf(id, sizeof id, "batch_req_%s_%zu", b->id + 6, i);
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "custom_id", r->custom_id);
        if (r->fate == FATE_EXPIRED) {
            cJSON_AddNullToObject(o, "response");
            cJSON *e = cJSON_AddObjectToObject(o, "error");
            cJSON_AddStringToObject(e, "code", "batch_expired");
            cJSON_AddStringToObject(e, "message",
                                    "This request could not be executed before the completion window expired.");
        } else {
            cJSON *resp = cJSON_AddObjectToObject(o, "response");
            cJSON_AddNumberToObject(resp, "status_code", r->fate == FATE_ERRORED ? 500 : r->status);
            snprintf(id, sizeof id, "req_%s_%zu", b->id + 6, i);
            cJSON_AddStringToObject(resp, "request_id", id);
            cJSON_AddItemToObject(resp, "body", r->fate == FATE_ERRORED ? injected_error(a, false) : answer_json(r));
            cJSON_AddNullToObject(o, "error");
        }
        add_line(&out, o);
    }
    return rs_buf_str(&out);
}

static const char *anthropic_results(rs_arena *a, const bbatch *b)
{
    rs_buf out;
    rs_buf_init(&out, a);
    for (size_t i = 0; i < b->n; i++) {
        const breq *r = &b->reqs[i];
        if (r->fate == FATE_GARBAGE && r->status == 200) {
            garbage_line(&out, r->custom_id, i, true);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "custom_id", r->custom_id);
        cJSON *res = cJSON_AddObjectToObject(o, "result");
        if (r->fate == FATE_EXPIRED) {
            cJSON_AddStringToObject(res, "type", "expired");
        } else if (r->fate == FATE_ERRORED || r->status != 200) {
            cJSON_AddStringToObject(res, "type", "errored");
            cJSON_AddItemToObject(res, "error", r->fate == FATE_ERRORED ? injected_error(a, true) : answer_json(r));
        } else {
            cJSON_AddStringToObject(res, "type", "succeeded");
            cJSON_AddItemToObject(res, "message", answer_json(r));
        }
        add_line(&out, o);
    }
    return rs_buf_str(&out);
}

static void text_out(const char *text, rs_answer *out)
{
    memset(out, 0, sizeof *out);
    out->status = 200;
    out->body = text;
    out->send_len = strlen(text);
}

static void create_openai(rs_batch_store *s, rs_arena *a, const char *key, const char *body, size_t len,
                          rs_answer *out)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    const char *fid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "input_file_id"));
    const char *ep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "endpoint"));
    const char *win = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "completion_window"));
    const bfile *f = NULL;
    for (size_t i = 0; fid && i < s->n_files; i++)
        if (strcmp(s->files[i]->id, fid) == 0)
            f = s->files[i];
    if (!fid || !ep || !win)
        fail(a, false, 400, "Missing required parameter: input_file_id, endpoint and completion_window are required.",
             NULL, out);
    else if (!f)
        fail(a, false, 400, "Invalid 'input_file_id': no file with purpose 'batch' has that id.", "invalid_file", out);
    else if (strcmp(ep, "/v1/chat/completions") != 0)
        fail(a, false, 400, "Invalid 'endpoint': this test fixture batches /v1/chat/completions only.", NULL, out);
    else if (strcmp(win, "24h") != 0)
        fail(a, false, 400, "Invalid 'completion_window': only 24h is supported.", NULL, out);
    else {
        bbatch *b = new_batch(s, false, key);
        b->input_file_id = xstrndup(fid, strlen(fid));
        b->endpoint = xstrndup(ep, strlen(ep));
        const char *why = NULL;
        if (!read_input(s, b, f, a, &why))
            b->failed = xstrndup(why, strlen(why));
        add_batch(s, b);
        json_out(a, openai_object(s, b), out);
    }
    cJSON_Delete(root);
}

static void create_anthropic(rs_batch_store *s, rs_arena *a, const char *host, const char *key, const char *body,
                             size_t len, rs_answer *out)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(root, "requests");
    const char *bad = !cJSON_IsArray(reqs) || cJSON_GetArraySize(reqs) == 0
                          ? "requests: Field required (a non-empty array of {custom_id, params})."
                          : NULL;
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs)
    {
        const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "custom_id"));
        if (!bad && (!cid || !*cid || strlen(cid) > 64 || strspn(cid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                                                       "QRSTUVWXYZ0123456789_-") != strlen(cid)))
            bad = "requests: each custom_id must match ^[a-zA-Z0-9_-]{1,64}$.";
        if (!bad && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "params")))
            bad = "requests: each request needs an object params.";
    }
    if (bad) {
        cJSON_Delete(root);
        return fail(a, true, 400, bad, "invalid_request_error", out);
    }
    bbatch *b = new_batch(s, true, key);
    cJSON_ArrayForEach(r, reqs)
    {
        const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "custom_id"));
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "params"));
        b->reqs = xrealloc(b->reqs, (b->n + 1) * sizeof *b->reqs);
        answer_one(s, true, cid, text ? text : "{}", text ? strlen(text) : 2, b->n, &b->reqs[b->n]);
        b->n++;
        cJSON_free(text);
    }
    add_batch(s, b);
    json_out(a, anthropic_object(s, b, host), out);
    cJSON_Delete(root);
}

static void method_not_allowed(rs_arena *a, bool anthropic, const char *method, const char *url, const char *allow,
                               const char **allow_out, rs_answer *out)
{
    *allow_out = allow;
    rs_buf m;
    rs_buf_init(&m, a);
    rs_buf_printf(&m, "Method %s is not allowed for %s; use %s.", method, url, allow);
    fail(a, anthropic, 405, rs_buf_str(&m), "method_not_allowed", out);
}

static void not_found(rs_arena *a, bool anthropic, const char *what, const char *id, rs_answer *out)
{
    rs_buf m;
    rs_buf_init(&m, a);
    rs_buf_printf(&m, "No %s found with id '%s'.", what, id);
    fail(a, anthropic, 404, rs_buf_str(&m), anthropic ? "not_found_error" : "not_found", out);
}

void rs_batch_answer(rs_batch_store *s, rs_arena *a, const char *method, const char *url, const char *host,
                     const char *key, const char *body, size_t len, rs_answer *out, const char **allow)
{
    *allow = NULL;
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    pthread_mutex_lock(&s->lock);
    bool anthropic = strncmp(url, k_msg_batches, sizeof k_msg_batches - 1) == 0;
    const char *base = anthropic ? k_msg_batches : k_batches;
    size_t nb = strlen(base);
    if (strncmp(url, "/v1/files/", 10) == 0) {
        /* GET /v1/files/{id}/content: an ended batch's output or error file. */
        const char *id = rs_strndup(a, url + 10, strlen(url) - 10 - 8);
        const bbatch *hit = NULL;
        bool errors = false;
        for (size_t i = 0; i < s->n_batches && !hit; i++) {
            const bbatch *b = s->batches[i];
            bool ended;
            done_at(s, b, rs_ft_now_ms(), &ended);
            if (!b->anthropic && ended && (strcmp(b->out_id, id) == 0 || strcmp(b->err_id, id) == 0)) {
                hit = b;
                errors = strcmp(b->err_id, id) == 0;
            }
        }
        if (!get)
            method_not_allowed(a, false, method, url, "GET", allow, out);
        else if (!hit)
            not_found(a, false, "file", id, out);
        else
            text_out(openai_file(a, hit, errors), out);
    } else if (url[nb] == '\0') {
        if (!post)
            method_not_allowed(a, anthropic, method, url, "POST", allow, out);
        else if (anthropic)
            create_anthropic(s, a, host, key, body, len, out);
        else
            create_openai(s, a, key, body, len, out);
    } else {
        const char *rest = url + nb + 1;
        const char *slash = strchr(rest, '/');
        const char *id = slash ? rs_strndup(a, rest, (size_t)(slash - rest)) : rest;
        const bbatch *b = find_batch(s, id, anthropic);
        bool ended = false;
        if (b)
            done_at(s, b, rs_ft_now_ms(), &ended);
        if (!get)
            method_not_allowed(a, anthropic, method, url, "GET", allow, out);
        else if (!b)
            not_found(a, anthropic, anthropic ? "message batch" : "batch", id, out);
        else if (!slash)
            json_out(a, anthropic ? anthropic_object(s, b, host) : openai_object(s, b), out);
        else if (anthropic && strcmp(slash, "/results") == 0 && ended)
            text_out(anthropic_results(a, b), out);
        else if (anthropic && strcmp(slash, "/results") == 0)
            fail(a, true, 400, "The message batch has not ended yet: its results are not available.",
                 "invalid_request_error", out);
        else
            not_found(a, anthropic, "endpoint", url, out);
    }
    pthread_mutex_unlock(&s->lock);
}
