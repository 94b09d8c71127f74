/* trace.c — JSON-lines traces of module calls and LM calls (dsp/trace.h).
 *
 * A line is written whole with one write(2) on a file opened O_APPEND, so
 * lines of concurrent calls (and of several processes sharing one file)
 * never interleave mid-line. */
#include "trace_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct dsp_tracer {
    int fd;
    bool content;
    uint64_t seed;
    atomic_uint_fast64_t counter;
    atomic_int_fast64_t runs;   /* top-level module calls begun */
};

/* The module call a thread is in, in thread-specific data: per thread, as
 * OpenTelemetry's context is. A span is begun and ended on one thread, and
 * nothing is shared between threads (batch workers copy their caller's). */
static pthread_key_t span_key;
static pthread_once_t span_once = PTHREAD_ONCE_INIT;

static void make_span_key(void)
{
    (void)pthread_key_create(&span_key, NULL);
}

const dsp_span *dsp_trace_current(void)
{
    pthread_once(&span_once, make_span_key);
    return pthread_getspecific(span_key);
}

void dsp_trace_set_current(const dsp_span *s)
{
    pthread_once(&span_once, make_span_key);
    (void)pthread_setspecific(span_key, (const void *)s);
}

uint64_t dsp_trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

dsp_status dsp_tracer_open(const char *path, bool content, dsp_tracer **out, dsp_error *err)
{
    *out = NULL;
    dsp_tracer *t = calloc(1, sizeof *t);
    if (!t)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening a trace");
    t->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (t->fd < 0) {
        free(t);
        return dsp_error_set(err, DSP_ERR_IO, "cannot open the trace file %s (DSPCC_TRACE or --trace): %s", path,
                             strerror(errno));
    }
    t->content = content;
    /* Ids only need to be unique: the time, the process and this object. */
    t->seed = splitmix(dsp_trace_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)t);
    atomic_init(&t->counter, 0);
    atomic_init(&t->runs, 0);
    *out = t;
    return DSP_OK;
}

void dsp_tracer_close(dsp_tracer *t)
{
    if (!t)
        return;
    close(t->fd);
    free(t);
}

static void new_id(dsp_tracer *t, char *hex, size_t n_hex)
{
    for (size_t i = 0; i < n_hex; i += 16) {
        uint64_t v = splitmix(t->seed ^ splitmix(atomic_fetch_add(&t->counter, 1) + 1));
        if (!v)
            v = 1; /* an all-zero id is invalid in OpenTelemetry */
        snprintf(hex + i, 17, "%016llx", (unsigned long long)v);
    }
    hex[n_hex] = '\0';
}

static void write_line(dsp_tracer *t, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        cJSON_free(s);
        return;
    }
    line[n] = '\n';
    /* A trace is best effort: a full disk must not fail the LM call. */
    ssize_t w = write(t->fd, line, n + 1);
    (void)w;
    free(line);
}

static cJSON *span_object(const char *kind, const char *name, const char *trace_id, const char *span_id,
                          const char *parent_id, uint64_t start, uint64_t end, dsp_status st, const dsp_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "trace_id", trace_id);
    cJSON_AddStringToObject(o, "span_id", span_id);
    if (parent_id && *parent_id)
        cJSON_AddStringToObject(o, "parent_span_id", parent_id);
    /* As strings, as OTLP/JSON writes 64-bit integers: a double would
     * round nanoseconds since 1970. */
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)start);
    cJSON_AddStringToObject(o, "start_time_unix_nano", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)end);
    cJSON_AddStringToObject(o, "end_time_unix_nano", num);
    cJSON *status = cJSON_AddObjectToObject(o, "status");
    cJSON_AddStringToObject(status, "code", st == DSP_OK ? "OK" : "ERROR");
    if (st != DSP_OK)
        cJSON_AddStringToObject(status, "message", err && err->message[0] ? err->message : dsp_status_name(st));
    cJSON *a = cJSON_AddObjectToObject(o, "attributes");
    cJSON_AddStringToObject(a, "dspcc.status", dsp_status_name(st));
    cJSON_AddNumberToObject(a, "dspcc.latency_ms", (double)(end - start) / 1e6);
    if (st != DSP_OK)
        cJSON_AddStringToObject(a, "error.type", dsp_status_name(st));
    return o;
}

void dsp_trace_module_begin(dsp_client *c, const char *module, int64_t example, dsp_span *s)
{
    memset(s, 0, sizeof *s);
    dsp_tracer *t = c ? dsp_client_tracer(c) : NULL;
    if (!t)
        return;
    s->tracer = t;
    s->name = module;
    s->example = example;
    s->outer = dsp_trace_current();
    if (s->outer && s->outer->tracer) {
        memcpy(s->trace_id, s->outer->trace_id, sizeof s->trace_id);
        memcpy(s->parent_id, s->outer->span_id, sizeof s->parent_id);
        if (example < 0)
            s->example = s->outer->example;
        s->run = s->outer->run;
    } else {
        new_id(t, s->trace_id, 32);
        s->run = atomic_fetch_add(&t->runs, 1);
    }
    new_id(t, s->span_id, 16);
    s->start_ns = dsp_trace_now_ns();
    dsp_trace_set_current(s);
}

void dsp_trace_module_end(dsp_span *s, dsp_status st, const dsp_error *err)
{
    if (!s->tracer)
        return;
    dsp_trace_set_current(s->outer);
    char name[256];
    snprintf(name, sizeof name, "module %s", s->name ? s->name : "?");
    cJSON *o = span_object("module", name, s->trace_id, s->span_id, s->parent_id, s->start_ns, dsp_trace_now_ns(),
                           st, err);
    cJSON *a = cJSON_GetObjectItem(o, "attributes");
    cJSON_AddStringToObject(a, "dspcc.module", s->name ? s->name : "?");
    if (s->example >= 0)
        cJSON_AddNumberToObject(a, "dspcc.example", (double)s->example);
    cJSON_AddNumberToObject(a, "dspcc.run", (double)s->run);
    write_line(s->tracer, o);
    s->tracer = NULL;
}

static const char *role_name(dsp_role r)
{
    return r == DSP_ROLE_SYSTEM ? "system" : r == DSP_ROLE_USER ? "user" : r == DSP_ROLE_TOOL ? "tool" : "assistant";
}

/* gen_ai.input.messages / gen_ai.output.messages: [{role, parts: [{type:
 * "text", content}]}]. */
static cJSON *message(const char *role, const char *text)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "type", "text");
    cJSON_AddStringToObject(part, "content", text ? text : "");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "parts"), part);
    return m;
}

/* Native tool calling's parts: the calls a turn made ({type: "tool_call",
 * id, name, arguments: the JSON, or the text when it is not JSON}) and a
 * tool result ({type: "tool_call_response", id, response}). */
static void add_tool_calls(cJSON *m, const dsp_tool_call *calls, size_t n)
{
    cJSON *parts = cJSON_GetObjectItem(m, "parts");
    for (size_t i = 0; i < n; i++) {
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "type", "tool_call");
        if (calls[i].id)
            cJSON_AddStringToObject(part, "id", calls[i].id);
        cJSON_AddStringToObject(part, "name", calls[i].name ? calls[i].name : "");
        cJSON *args = calls[i].arguments ? cJSON_Parse(calls[i].arguments) : NULL;
        if (args)
            cJSON_AddItemToObject(part, "arguments", args);
        else if (calls[i].arguments)
            cJSON_AddStringToObject(part, "arguments", calls[i].arguments);
        cJSON_AddItemToArray(parts, part);
    }
}

static cJSON *input_message(const dsp_message *msg)
{
    if (msg->role != DSP_ROLE_TOOL) {
        cJSON *m = message(role_name(msg->role), msg->content);
        add_tool_calls(m, msg->tool_calls, msg->n_tool_calls);
        return m;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "tool");
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "type", "tool_call_response");
    cJSON_AddStringToObject(part, "id", msg->tool_call_id ? msg->tool_call_id : "");
    cJSON_AddStringToObject(part, "response", msg->content ? msg->content : "");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "parts"), part);
    return m;
}

/* The span of one LM call (operation: "chat" or "embeddings"), a child of
 * the thread's module span when there is one, with the attributes every
 * GenAI span has; *parent is that span, or NULL. */
static cJSON *lm_span(dsp_tracer *t, const char *operation, const char *provider, const char *model,
                      const char *base_url, uint64_t start, uint64_t end, dsp_status st, const dsp_error *err,
                      const dsp_span **parent)
{
    const dsp_span *cur = dsp_trace_current();
    *parent = cur && cur->tracer == t ? cur : NULL;
    char trace_id[33], span_id[17];
    if (*parent)
        memcpy(trace_id, (*parent)->trace_id, sizeof trace_id);
    else
        new_id(t, trace_id, 32);
    new_id(t, span_id, 16);
    char name[256];
    snprintf(name, sizeof name, "%s %s", operation, model ? model : "?");
    cJSON *o = span_object("lm", name, trace_id, span_id, *parent ? (*parent)->span_id : NULL, start, end, st, err);
    cJSON *a = cJSON_GetObjectItem(o, "attributes");
    cJSON_AddStringToObject(a, "gen_ai.operation.name", operation);
    cJSON_AddStringToObject(a, "gen_ai.provider.name", provider ? provider : "?");
    /* The attribute's name before semantic conventions 1.37, for backends
     * that still read it. */
    cJSON_AddStringToObject(a, "gen_ai.system", provider ? provider : "?");
    cJSON_AddStringToObject(a, "gen_ai.request.model", model ? model : "?");
    if (base_url)
        cJSON_AddStringToObject(a, "server.address", base_url);
    return o;
}

/* The module span's attributes on an LM call's span. */
static void add_parent(cJSON *a, const dsp_span *parent)
{
    if (!parent)
        return;
    cJSON_AddStringToObject(a, "dspcc.module", parent->name ? parent->name : "?");
    if (parent->example >= 0)
        cJSON_AddNumberToObject(a, "dspcc.example", (double)parent->example);
    cJSON_AddNumberToObject(a, "dspcc.run", (double)parent->run);
}

void dsp_trace_embed_call(dsp_tracer *t, const dsp_embed_call_trace *ec)
{
    if (!t)
        return;
    const dsp_span *parent;
    cJSON *o = lm_span(t, "embeddings", ec->provider, ec->model, ec->base_url, ec->start_ns, ec->end_ns, ec->status,
                       ec->err, &parent);
    cJSON *a = cJSON_GetObjectItem(o, "attributes");
    if (ec->dimensions > 0 || ec->dim > 0)
        cJSON_AddNumberToObject(a, "gen_ai.embeddings.dimension.count",
                                (double)(ec->dimensions > 0 ? (size_t)ec->dimensions : ec->dim));
    cJSON *formats = cJSON_AddArrayToObject(a, "gen_ai.request.encoding_formats");
    cJSON_AddItemToArray(formats, cJSON_CreateString("float"));
    if (ec->status == DSP_OK)
        cJSON_AddNumberToObject(a, "gen_ai.usage.input_tokens", (double)ec->input_tokens);
    if (ec->status == DSP_OK && ec->lm && ec->lm->usd_per_mtok_in > 0)
        cJSON_AddNumberToObject(a, "dspcc.cost_usd", dsp_lm_cost(ec->lm, ec->sent_tokens, 0));
    if (ec->label)
        cJSON_AddStringToObject(a, "dspcc.predictor", ec->label);
    add_parent(a, parent);
    cJSON_AddNumberToObject(a, "dspcc.inputs", (double)ec->n);
    cJSON_AddBoolToObject(a, "dspcc.cache_hit", ec->status == DSP_OK && ec->cache_hits == ec->n);
    cJSON_AddNumberToObject(a, "dspcc.cache_hits", (double)ec->cache_hits);
    if (ec->err && ec->err->http_status)
        cJSON_AddNumberToObject(a, "http.response.status_code", ec->err->http_status);
    if (t->content && ec->texts) {
        cJSON *in = cJSON_AddArrayToObject(a, "dspcc.embeddings.input");
        for (size_t i = 0; i < ec->n; i++)
            cJSON_AddItemToArray(in, cJSON_CreateString(ec->texts[i] ? ec->texts[i] : ""));
    }
    write_line(t, o);
}

void dsp_trace_lm_call(dsp_tracer *t, const dsp_lm_call_trace *lc)
{
    if (!t)
        return;
    const dsp_span *parent;
    cJSON *o = lm_span(t, "chat", lc->provider, lc->model, lc->base_url, lc->start_ns, lc->end_ns, lc->status,
                       lc->err, &parent);
    cJSON *a = cJSON_GetObjectItem(o, "attributes");
    const dsp_lm_params *p = lc->params;
    if (p && p->temperature >= 0)
        cJSON_AddNumberToObject(a, "gen_ai.request.temperature", p->temperature);
    if (p && p->max_tokens > 0)
        cJSON_AddNumberToObject(a, "gen_ai.request.max_tokens", p->max_tokens);
    if (p && p->has_seed)
        cJSON_AddNumberToObject(a, "gen_ai.request.seed", (double)p->seed);
    if (p && p->n > 1)
        cJSON_AddNumberToObject(a, "gen_ai.request.choice.count", p->n);
    if (lc->resp) {
        cJSON_AddNumberToObject(a, "gen_ai.usage.input_tokens", (double)lc->resp->usage.prompt_tokens);
        cJSON_AddNumberToObject(a, "gen_ai.usage.output_tokens", (double)lc->resp->usage.completion_tokens);
    }
    if (lc->resp && lc->lm && (lc->lm->usd_per_mtok_in > 0 || lc->lm->usd_per_mtok_out > 0))
        cJSON_AddNumberToObject(a, "dspcc.cost_usd",
                                lc->resp->cache_hit ? 0
                                                    : dsp_lm_cost(lc->lm, lc->resp->usage.prompt_tokens,
                                                                  lc->resp->usage.completion_tokens));
    if (lc->req && lc->req->label)
        cJSON_AddStringToObject(a, "dspcc.predictor", lc->req->label);
    add_parent(a, parent);
    if (lc->req && lc->req->note && lc->req->note[0])
        cJSON_AddStringToObject(a, "dspcc.note", lc->req->note);
    cJSON_AddBoolToObject(a, "dspcc.cache_hit", lc->resp && lc->resp->cache_hit);
    cJSON_AddNumberToObject(a, "dspcc.retries", (double)lc->retries);
    if (lc->err && lc->err->http_status)
        cJSON_AddNumberToObject(a, "http.response.status_code", lc->err->http_status);
    if (t->content && lc->req) {
        cJSON *in = cJSON_AddArrayToObject(a, "gen_ai.input.messages");
        for (size_t i = 0; i < lc->req->n_messages; i++)
            cJSON_AddItemToArray(in, input_message(&lc->req->messages[i]));
        if (lc->resp) {
            cJSON *outm = cJSON_AddArrayToObject(a, "gen_ai.output.messages");
            for (size_t i = 0; i < lc->resp->n_choices; i++) {
                cJSON *m = message("assistant", lc->resp->choices[i]);
                if (i == 0)
                    add_tool_calls(m, lc->resp->tool_calls, lc->resp->n_tool_calls);
                cJSON_AddItemToArray(outm, m);
            }
        }
    }
    write_line(t, o);
}
