/* cmd_prompt_run.c — `dspcc prompt --run`: runs the module once on the
 * given inputs and prints every LM call the run made, in order, exactly as
 * the client sent it. Only a run knows what a later step receives (an
 * earlier predictor's answer, a tool's result, a react loop's trajectory),
 * so this is the one way to see those prompts filled in. The calls are
 * seen through the client's observers (dsp_client_options.observe, and
 * observe_embed for knn_fewshot's embeddings calls), after the chat
 * adapter, the JSON fallback and the request writer, so nothing is
 * rendered twice. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_prompt.h"
#include "dsp/embed.h"
#include "strbuf.h"

/* One LM call as it went out. */
typedef struct seen_call {
    char *predictor;            /* the request's label, or NULL */
    char *model;
    int embeddings;             /* an embeddings call (knn_fewshot's): n_messages counts its inputs */
    size_t n_messages;
    int cache_hit;
    dsp_status status;
    strbuf text;                /* the messages as printed, or the body */
} seen_call;

typedef struct recorder {
    pthread_mutex_t lock;
    const char *wire;           /* NULL: messages */
    seen_call *calls;
    size_t n, cap;
    int oom;
    char why[DSP_ERROR_MESSAGE_MAX]; /* a body that could not be written */
} recorder;

/* Locks r and adds a call at the end of its list, returning it with the
 * lock held; NULL (r->oom set, unlocked) when out of memory. */
static seen_call *add_call(recorder *r, const char *label, const dsp_lm_config *lm, size_t n, int cache_hit,
                           dsp_status st)
{
    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        seen_call *c = realloc(r->calls, cap * sizeof *c);
        if (!c) {
            r->oom = 1;
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
        r->calls = c;
        r->cap = cap;
    }
    seen_call *c = &r->calls[r->n++];
    memset(c, 0, sizeof *c);
    c->predictor = label ? strdup(label) : NULL;
    c->model = strdup(lm->model ? lm->model : "?");
    c->n_messages = n;
    c->cache_hit = cache_hit;
    c->status = st;
    return c;
}

/* An embeddings call: its texts, one block each, or with --wire the
 * request body (OpenAI's, the one wire embeddings have). */
static void record_embed(void *ctx, const dsp_lm_config *lm, const char *label, const char *const *texts, size_t n,
                         int dimensions, size_t cache_hits, dsp_status st)
{
    recorder *r = ctx;
    seen_call *c = add_call(r, label, lm, n, n > 0 && cache_hits == n, st);
    if (!c)
        return;
    c->embeddings = 1;
    if (r->wire) {
        dsp_error err = { 0 };
        dsp_embed_options eo = { .dimensions = dimensions };
        char *body = NULL;
        if (dsp_embed_request_body(lm, texts, n, &eo, &body, &err) == DSP_OK)
            sb_puts(&c->text, body);
        else if (!r->why[0])
            snprintf(r->why, sizeof r->why, "%s", err.message);
        free(body);
        dsp_error_clear(&err);
    } else {
        for (size_t i = 0; i < n; i++)
            sb_printf(&c->text, "%s[input %zu]\n%s", i ? "\n\n" : "", i + 1, texts[i] ? texts[i] : "");
    }
    r->oom |= c->text.oom;
    pthread_mutex_unlock(&r->lock);
}

static void record(void *ctx, const dsp_lm_config *lm, const dsp_chat_request *req, const dsp_chat_response *resp,
                   dsp_status st)
{
    recorder *r = ctx;
    seen_call *c = add_call(r, req->label, lm, req->n_messages, resp && resp->cache_hit, st);
    if (!c)
        return;
    if (r->wire) {
        dsp_error err = { 0 };
        arena mem;
        arena_init(&mem);
        const dsp_lm_config *w = prompt_on_wire(&mem, lm, r->wire, &err);
        char *body = NULL;
        if (w && dsp_chat_request_body(w, req, &body, &err) == DSP_OK)
            sb_puts(&c->text, body);
        else if (!r->why[0])
            snprintf(r->why, sizeof r->why, "%s", err.message);
        free(body);
        arena_free(&mem);
        dsp_error_clear(&err);
    } else {
        prompt_messages_text(&c->text, req->messages, req->n_messages);
    }
    r->oom |= c->text.oom;
    pthread_mutex_unlock(&r->lock);
}

/* Whether a call labelled `label` is predictor `name`'s: the name itself,
 * or one of its parts (a react predictor's Agent.r.react, Agent.r.extract). */
static int is_of(const char *label, const char *name)
{
    size_t n = strlen(name);
    return label && strncmp(label, name, n) == 0 && (label[n] == '\0' || label[n] == '.');
}

int prompt_run(const prompt_args *a, const ir_program *p, const ir_module *m, const ir_lm *lm, const st_state *st,
               const ex_dataset *data, size_t row)
{
    recorder rec;
    memset(&rec, 0, sizeof rec);
    pthread_mutex_init(&rec.lock, NULL);
    rec.wire = a->wire;
    int status = 1;
    dsp_client *client = NULL;
    ex_runner *runner = NULL;
    ex_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ex_result res;
    memset(&res, 0, sizeof res);
    int ran = 0;

    cli_client_args ca = a->client;
    ca.trace = a->client.trace ? a->client.trace : ""; /* "": no trace unless --trace */
    ca.observe = record;
    ca.observe_embed = record_embed;
    ca.observe_ctx = &rec;
    if (!prompt_setup(&ca, p, m, lm, st, &client, &runner, &cfg))
        goto out;
    ex_run(runner, &cfg, data, row, &res);
    ran = 1;
    if (rec.oom) {
        fputs("dspcc prompt: out of memory recording the run's calls\n", stderr);
        goto out;
    }
    status = 0;
    size_t shown = 0;
    for (size_t i = 0; i < rec.n; i++) {
        const seen_call *c = &rec.calls[i];
        if (a->predictor && !is_of(c->predictor, a->predictor))
            continue;
        if (shown++ && !a->wire)
            putchar('\n');
        if (!a->predictor)
            printf("=== call %zu: %s%s on %s, %zu %s%s%s ===\n", i + 1, c->embeddings ? "embeddings for " : "",
                   c->predictor ? c->predictor : "(unnamed)", c->model, c->n_messages,
                   c->embeddings ? (c->n_messages == 1 ? "input" : "inputs") : "messages",
                   c->cache_hit ? "; answered from the cache" : "", c->status != DSP_OK ? "; the call failed" : "");
        if (a->wire && !c->text.p) {
            fprintf(stderr, "dspcc prompt: call %zu: %s\n", i + 1, rec.why);
            status = 1;
            continue;
        }
        fputs(c->text.p ? c->text.p : "", stdout);
        putchar('\n');
    }
    if (a->predictor && !shown) {
        fprintf(stderr, "dspcc prompt: the run made no call of predictor `%s` (%zu calls in all)\n", a->predictor,
                rec.n);
        status = 1;
    }
    if (res.status != DSP_OK) {
        fprintf(stderr, "dspcc prompt: the run failed after %zu LM calls: %s\n", rec.n,
                res.error ? res.error : dsp_status_name(res.status));
        status = 1;
    }
out:
    if (ran)
        ex_result_free(&res);
    ex_config_free(&cfg);
    ex_runner_free(runner);
    dsp_client_free(client);
    for (size_t i = 0; i < rec.n; i++) {
        free(rec.calls[i].predictor);
        free(rec.calls[i].model);
        sb_free(&rec.calls[i].text);
    }
    free(rec.calls);
    pthread_mutex_destroy(&rec.lock);
    return status;
}
