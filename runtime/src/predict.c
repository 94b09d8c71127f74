/* predict.c — one predictor call: render with the chat adapter, ask the LM,
 * parse; on a reply that does not parse, ask again once with the JSON
 * adapter. Single calls and batches share one path, so they behave alike. */
#include "dsp/predict.h"

#include "dsp/knn.h"

#include <alloca.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_common.h"
#include "client_settings.h"
#include "error_context.h"
#include "trace_int.h"
#include "field_stream.h"
#include "loop.h"
#include "prompt_prefix.h"

dsp_predict_options dsp_predict_options_default(void)
{
    dsp_predict_options o;
    memset(&o, 0, sizeof o);
    return o;
}

dsp_prompt_spec dsp_prompt_spec_of(const dsp_predictor *p, const dsp_predict_options *opts)
{
    dsp_prompt_spec s;
    memset(&s, 0, sizeof s);
    if (!p)
        return s;
    s.signature = p->signature;
    s.strategy = p->strategy;
    s.instructions = opts && opts->instructions ? opts->instructions : (p->signature ? p->signature->instructions : NULL);
    if (opts && opts->override_demos) {
        s.demos = opts->demos;
        s.n_demos = opts->n_demos;
    } else {
        s.demos = p->demos;
        s.n_demos = p->n_demos;
    }
    return s;
}

const dsp_lm_config *dsp_predict_lm_of(const dsp_predictor *p, const dsp_predict_options *opts)
{
    return opts && opts->lm ? opts->lm : p ? p->lm : NULL;
}

dsp_adapter_kind dsp_predict_adapter_of(const dsp_predictor *p, const dsp_predict_options *opts)
{
    if (opts && opts->adapter != DSP_ADAPTER_DEFAULT)
        return opts->adapter;
    const dsp_lm_config *lm = dsp_predict_lm_of(p, opts);
    return lm && lm->adapter == DSP_ADAPTER_JSON ? DSP_ADAPTER_JSON : DSP_ADAPTER_CHAT;
}

dsp_chat_request dsp_predict_request_of(const dsp_predictor *p, const dsp_predict_options *opts)
{
    dsp_chat_request base;
    memset(&base, 0, sizeof base);
    const dsp_lm_config *lm = dsp_predict_lm_of(p, opts);
    base.params = lm ? lm->params : dsp_lm_params_default();
    if (opts && opts->has_temperature)
        base.params.temperature = opts->temperature;
    if (opts && opts->has_seed) {
        base.params.has_seed = true;
        base.params.seed = opts->seed;
    }
    base.rollout_id = opts ? opts->rollout_id : 0;
    base.bypass_cache = opts && opts->bypass_cache;
    base.label = p ? p->name : NULL;
    return base;
}

void dsp_predict_trace_init(dsp_predict_trace *t)
{
    memset(t, 0, sizeof *t);
    dsp_messages_init(&t->messages);
}

void dsp_predict_trace_free(dsp_predict_trace *t)
{
    if (!t)
        return;
    dsp_messages_free(&t->messages);
    free(t->raw_reply);
    memset(t, 0, sizeof *t);
}

/* Room in a call for the messages it sends: a system message, a demo pair
 * and the final one, without an allocation. */
#define WIRE_STORE 4

/* The state of one call as it goes through the two rounds. */
typedef struct call {
    const dsp_prompt_spec *spec;
    const dsp_value *inputs;
    dsp_value *outputs;
    dsp_messages msgs; /* rendered by this call: all, or with a prefix the last */
    /* With the client's prefix of this prompt: the messages sent, the
     * prefix's (borrowed) and then msgs' (NULL: msgs alone is sent). */
    dsp_message *wire;
    size_t n_wire;
    dsp_message wire_store[WIRE_STORE];
    char *reply;
    dsp_usage usage;
    bool cache_hit;
    bool fallback;
    bool json;     /* the JSON adapter from the start */
    bool pending;  /* rendered, waiting for the LM in this round */
    dsp_status parse_st; /* of the reply dsp_chat returned, set by parse_reply */
    dsp_status st;
    dsp_error err;
    bool traced;   /* the client traces: parse_reply notes unknown keys */
    char note[384]; /* for the trace line (dsp_chat_request.note) */
    dsp_field_stream *fs; /* dsp_predict_stream: the chat reply is streamed into it */
} call;

/* Sends the prefix's messages and then the call's own. */
static dsp_status wire_up(call *cl, const dsp_prompt_prefix *pre)
{
    size_t n_pre;
    const dsp_message *fixed = dsp_prefix_messages(pre, &n_pre);
    size_t n = n_pre + cl->msgs.len;
    cl->wire = n <= WIRE_STORE ? cl->wire_store : malloc(n * sizeof *cl->wire);
    if (!cl->wire)
        return dsp_error_set(&cl->err, DSP_ERR_NOMEM, "out of memory listing a prompt's messages");
    memcpy(cl->wire, fixed, n_pre * sizeof *fixed);
    memcpy(cl->wire + n_pre, cl->msgs.items, cl->msgs.len * sizeof *fixed);
    cl->n_wire = n;
    return DSP_OK;
}

static void wire_drop(call *cl)
{
    if (cl->wire != cl->wire_store)
        free(cl->wire);
    cl->wire = NULL;
    cl->n_wire = 0;
}

/* dsp_chat's keep hook: parses the reply with the round's adapter into the
 * call's outputs (zeroed again when it fails), so that only replies that
 * parsed are cached and a cached one that does not parse is asked for
 * again. It runs on the thread of this call's request only. */
static bool parse_reply(void *ctx, const dsp_chat_response *r)
{
    call *cl = ctx;
    dsp_error_clear(&cl->err);
    if (r->n_choices == 0 || !r->choices[0])
        cl->parse_st = dsp_error_set(&cl->err, DSP_ERR_PROTOCOL, "the LM returned no choices");
    else if (cl->fallback || cl->json)
        cl->parse_st = dsp_json_adapter_parse(cl->spec, r->choices[0], strlen(r->choices[0]), cl->outputs, &cl->err);
    else
        cl->parse_st =
            dsp_chat_adapter_parse_checked(cl->spec, r->choices[0], strlen(r->choices[0]), cl->outputs, &cl->err);
    cl->note[0] = '\0';
    if (cl->traced && cl->parse_st == DSP_OK)
        dsp_reply_unknown_keys(cl->spec, r->choices[0], strlen(r->choices[0]), cl->fallback || cl->json, cl->note,
                               sizeof cl->note);
    return cl->parse_st == DSP_OK;
}

/* Sends every pending call of a round and keeps each reply. One call goes
 * through dsp_chat (no batch machinery on the common path), several through
 * dsp_chat_batch. */
static dsp_status send_round(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *base, call *calls,
                             size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += calls[i].pending;
    if (k == 0)
        return DSP_OK;
    /* A single call (the common case) keeps its bookkeeping on the stack,
     * and dsp_chat writes its error straight into the call's own: no second
     * 1 KiB error per call, which in a job of an event loop would stay
     * resident on its parked stack. */
    dsp_chat_request one_req;
    dsp_chat_response one_resp;
    dsp_status one_st;
    size_t one_idx;
    bool many = k > 1;
    dsp_chat_request *reqs = many ? calloc(k, sizeof *reqs) : &one_req;
    dsp_chat_response *resps = many ? calloc(k, sizeof *resps) : &one_resp;
    dsp_status *sts = many ? calloc(k, sizeof *sts) : &one_st;
    dsp_error *errs = many ? calloc(k, sizeof *errs) : NULL;
    size_t *idx = many ? calloc(k, sizeof *idx) : &one_idx;
    if (!reqs || !resps || !sts || (many && !errs) || !idx) {
        if (many)
            free(reqs), free(resps), free(sts), free(errs), free(idx);
        return DSP_ERR_NOMEM;
    }
    if (!many)
        memset(&one_resp, 0, sizeof one_resp);
    for (size_t i = 0, j = 0; i < n; i++) {
        if (!calls[i].pending)
            continue;
        reqs[j] = *base;
        reqs[j].messages = calls[i].wire ? calls[i].wire : calls[i].msgs.items;
        reqs[j].n_messages = calls[i].wire ? calls[i].n_wire : calls[i].msgs.len;
        reqs[j].keep = parse_reply;
        reqs[j].keep_ctx = &calls[i];
        calls[i].traced = dsp_client_tracer(c) != NULL;
        calls[i].note[0] = '\0';
        reqs[j].note = calls[i].note;
        reqs[j].note_size = sizeof calls[i].note;
        if (calls[i].fs && !calls[i].fallback && !calls[i].json) {
            reqs[j].on_text = dsp_field_stream_text;
            reqs[j].on_text_ctx = calls[i].fs;
        }
        idx[j++] = i;
    }
    if (!many) {
        /* The chat's error is the call's (a JSON fallback's round has kept
         * the chat adapter's message already); parse_reply writes it too. */
        dsp_error_clear(&calls[idx[0]].err);
        sts[0] = dsp_chat(c, lm, &reqs[0], &resps[0], &calls[idx[0]].err);
    } else {
        dsp_chat_batch(c, lm, reqs, k, resps, sts, errs);
    }
    for (size_t j = 0; j < k; j++) {
        call *cl = &calls[idx[j]];
        cl->pending = false;
        free(cl->reply);
        cl->reply = NULL;
        if (sts[j] != DSP_OK) {
            if (many) {
                dsp_error_clear(&cl->err);
                cl->err = errs[j]; /* takes the raw text, if any */
            }
            cl->st = sts[j];
            continue;
        }
        if (many)
            dsp_error_clear(&errs[j]);
        cl->usage.prompt_tokens += resps[j].usage.prompt_tokens;
        cl->usage.completion_tokens += resps[j].usage.completion_tokens;
        cl->cache_hit = resps[j].cache_hit;
        /* parse_reply has run on this reply and left its verdict. */
        cl->st = cl->parse_st;
        if (resps[j].n_choices > 0 && resps[j].choices[0]) {
            cl->reply = resps[j].choices[0];
            resps[j].choices[0] = NULL; /* ours now */
        }
        dsp_chat_response_free(&resps[j]);
    }
    if (many)
        free(reqs), free(resps), free(sts), free(errs), free(idx);
    return DSP_OK;
}

/* The trace's messages: what was sent, each owned (a prefix's copied). */
static void trace_messages(call *cl, dsp_messages *out)
{
    if (!cl->wire) {
        *out = cl->msgs;
        dsp_messages_init(&cl->msgs);
        return;
    }
    for (size_t i = 0; i < cl->n_wire; i++) {
        const char *text = cl->wire[i].content ? cl->wire[i].content : "";
        if (dsp_messages_push(out, cl->wire[i].role, text, strlen(text), NULL) != DSP_OK)
            break; /* out of memory: the trace keeps the messages before */
    }
}

static void finish(call *cl, dsp_predict_trace *trace, dsp_error *err)
{
    if (trace) {
        dsp_messages_free(&trace->messages);
        free(trace->raw_reply);
        trace_messages(cl, &trace->messages);
        trace->raw_reply = cl->reply;
        cl->reply = NULL;
        trace->usage = cl->usage;
        trace->cache_hit = cl->cache_hit;
        trace->json_fallback = cl->fallback;
        trace->json_adapter = cl->json;
    }
    wire_drop(cl);
    dsp_messages_free(&cl->msgs);
    free(cl->reply);
    cl->reply = NULL;
    if (err) {
        /* The fields and the message up to its end, not the whole 1 KiB
         * record (as dsp_error_clear ends a message at its first byte):
         * this runs on every call. The raw text moves to err. */
        free(err->raw);
        err->status = cl->err.status;
        err->http_status = cl->err.http_status;
        size_t n = strnlen(cl->err.message, sizeof err->message - 1);
        memcpy(err->message, cl->err.message, n);
        err->message[n] = '\0';
        err->raw = cl->err.raw;
        err->path_len = cl->err.path_len;
        cl->err.raw = NULL;
    }
    dsp_error_clear(&cl->err);
}

/* The schema of spec's outputs in *schema; when it cannot be made, each
 * pending call fails with the reason. A function of its own: its error is
 * not in the frame of the round that waits for replies. */
__attribute__((noinline)) static bool json_schema_for(const dsp_prompt_spec *spec, call *calls, size_t n,
                                                      char **schema)
{
    dsp_error schema_err = { 0 };
    if (dsp_json_adapter_schema(spec, schema, &schema_err) == DSP_OK)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (!calls[i].pending)
            continue;
        calls[i].pending = false;
        dsp_error_clear(&calls[i].err);
        calls[i].st = dsp_error_set(&calls[i].err, schema_err.status, "%s", schema_err.message);
    }
    dsp_error_clear(&schema_err);
    return false;
}

/* The JSON adapter from the start: one round, the schema sent for the
 * provider to enforce; a reply that does not parse is the call's error. */
static dsp_status run_json(dsp_client *c, const dsp_prompt_spec *spec, const dsp_lm_config *lm,
                           dsp_chat_request *base, call *calls, size_t n)
{
    char *schema = NULL;
    for (size_t i = 0; i < n; i++) {
        calls[i].spec = spec;
        calls[i].json = true;
        calls[i].st = dsp_json_adapter_render(spec, calls[i].inputs, &calls[i].msgs, &calls[i].err);
        calls[i].pending = calls[i].st == DSP_OK;
    }
    if (!json_schema_for(spec, calls, n, &schema))
        return DSP_OK;
    base->params.json_schema = schema;
    base->params.json_strict = dsp_json_adapter_strict_ok(spec);
    dsp_status st = send_round(c, lm, base, calls, n);
    base->params.json_schema = NULL;
    free(schema);
    return st;
}

/* Round 2: a chat reply that did not parse is asked for again with the
 * JSON adapter. A function of its own, out of run's frame: its errors
 * would sit on the stack of every call waiting for its reply. */
__attribute__((noinline)) static dsp_status json_fallback(dsp_client *c, const dsp_lm_config *lm,
                                                          const dsp_prompt_spec *spec, dsp_chat_request *base,
                                                          call *calls, size_t n, bool fallback_allowed)
{
    size_t retry = 0;
    for (size_t i = 0; i < n; i++) {
        call *cl = &calls[i];
        /* send_round left the parse's verdict in cl->st. */
        if (cl->st != DSP_ERR_PARSE || !cl->reply || !fallback_allowed)
            continue;
        /* Round 2 for this call: the JSON adapter. The chat error stays in
         * cl->err until the JSON attempt succeeds or fails in turn. */
        wire_drop(cl);
        dsp_messages_free(&cl->msgs);
        dsp_error render_err = { 0 };
        dsp_status st = dsp_json_adapter_render(spec, cl->inputs, &cl->msgs, &render_err);
        if (st != DSP_OK) {
            dsp_error_clear(&cl->err);
            cl->err = render_err;
            cl->st = st;
            continue;
        }
        cl->fallback = true;
        cl->pending = true;
        retry++;
    }
    if (retry == 0)
        return DSP_OK;

    char *schema = NULL;
    dsp_error schema_err = { 0 };
    if (dsp_json_adapter_schema(spec, &schema, &schema_err) != DSP_OK) {
        dsp_error_clear(&schema_err);
        schema = NULL; /* ask for JSON without a schema rather than not at all */
    }
    base->params.json_schema = schema;
    base->params.json_strict = schema && dsp_json_adapter_strict_ok(spec);
    base->keep_refusal_retried = false;
    /* The chat errors, kept to explain a fallback that fails too. */
    char (*chat_msgs)[DSP_ERROR_MESSAGE_MAX] = calloc(n, sizeof *chat_msgs);
    if (!chat_msgs) {
        free(schema);
        return DSP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (calls[i].pending)
            memcpy(chat_msgs[i], calls[i].err.message, DSP_ERROR_MESSAGE_MAX);
    if (send_round(c, lm, base, calls, n) != DSP_OK) {
        free(schema);
        free(chat_msgs);
        return DSP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        call *cl = &calls[i];
        if (!cl->fallback)
            continue;
        if (cl->st != DSP_OK)
            dsp_error_prefix(&cl->err, cl->st, "%s; then, retrying with the JSON adapter", chat_msgs[i]);
    }
    free(schema);
    free(chat_msgs);
    return DSP_OK;
}

/* *held: the client's prefix of this prompt, which the calls' messages
 * point into; the caller releases it after finish(). */
static dsp_status run(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts, call *calls, size_t n,
                      dsp_prompt_prefix **held)
{
    dsp_prompt_spec spec = dsp_prompt_spec_of(p, opts);
    const dsp_lm_config *lm = dsp_predict_lm_of(p, opts);
    dsp_chat_request base = dsp_predict_request_of(p, opts);
    bool fallback_allowed = !(opts && opts->no_json_fallback);
    if (dsp_predict_adapter_of(p, opts) == DSP_ADAPTER_JSON)
        return run_json(c, &spec, lm, &base, calls, n);

    /* Round 1: the chat adapter; the prompt's fixed part rendered once
     * per client, each call rendering its inputs. */
    dsp_prompt_prefix *pre = *held = dsp_prefix_get(dsp_client_prefixes(c), &dsp_chat_adapter_style, &spec);
    for (size_t i = 0; i < n; i++) {
        calls[i].spec = &spec;
        if (!pre)
            calls[i].st = dsp_chat_adapter_render(&spec, calls[i].inputs, &calls[i].msgs, &calls[i].err);
        else if ((calls[i].st = dsp_prefix_render_final(pre, &spec, calls[i].inputs, &calls[i].msgs, &calls[i].err)) ==
                 DSP_OK)
            calls[i].st = wire_up(&calls[i], pre);
        calls[i].pending = calls[i].st == DSP_OK;
    }
    /* A chat reply that does not parse gets the JSON fallback: not yet a
     * failure for the breaker (a model that always needs the fallback sent
     * a batch's whole first round unparsed, and tripped it). */
    base.keep_refusal_retried = fallback_allowed;
    if (send_round(c, lm, &base, calls, n) != DSP_OK)
        return DSP_ERR_NOMEM;
    return json_fallback(c, lm, &spec, &base, calls, n, fallback_allowed);
}

static dsp_status check_call(const dsp_predictor *p, const dsp_predict_options *opts, const dsp_value *outputs,
                             dsp_error *err)
{
    if (!p || !p->signature)
        return dsp_error_set(err, DSP_ERR_INVALID, "no predictor or signature given");
    if (!outputs)
        return dsp_error_set(err, DSP_ERR_INVALID, "predictor %s: no room for outputs given", p->name ? p->name : "?");
    if (!(opts && opts->lm) && !p->lm)
        return dsp_error_set(err, DSP_ERR_INVALID, "predictor %s has no LM; set one in the predictor or the options",
                             p->name ? p->name : "?");
    return DSP_OK;
}

/* The knn a call of given (p once a client's variant is applied) chooses
 * its demos with, or NULL: none when the call overrides the demos; for a
 * variant its own (opts->shadow's), never the program's (opts->knn). */
static const dsp_knn *knn_of(const dsp_predictor *given, const dsp_predictor *p, const dsp_predict_options *opts)
{
    if (!opts || opts->override_demos)
        return NULL;
    if (p != given)
        return opts->shadow ? opts->shadow->knn : NULL;
    return opts->knn;
}

/* One call, streamed into cb when it is not NULL. */
/* The last section, and outputs no section gave, once the reply parsed;
 * a cancel there still cancels the call. A function of its own, so that
 * its error is not in predict_one's frame. */
__attribute__((noinline)) static void finish_stream(call *cl, dsp_field_stream *fs, dsp_value *outputs, size_t n_out)
{
    dsp_error ferr = {0};
    if (dsp_field_stream_finish(fs, !cl->fallback && !cl->json, outputs, &ferr) != DSP_OK) {
        dsp_values_free(outputs, n_out);
        dsp_error_clear(&cl->err);
        cl->err = ferr;
        cl->st = ferr.status;
    }
}

static dsp_status predict_one(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                              const dsp_value *inputs, const dsp_stream_callbacks *cb, dsp_value *outputs,
                              dsp_predict_trace *trace, dsp_error *err)
{
    const dsp_predictor *given = p;
    p = dsp_client_predictor(c, p);
    dsp_status st = check_call(p, opts, outputs, err);
    if (st != DSP_OK)
        return st;
    const dsp_knn *knn = knn_of(given, p, opts);
    if (knn && knn->k > 0 && knn->n_pool > 0) {
        /* The nearest examples become this call's demos. */
        dsp_demo *chosen = calloc(knn->k, sizeof *chosen);
        if (!chosen)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory running predictor %s", p->name ? p->name : "?");
        dsp_predict_options o = opts ? *opts : dsp_predict_options_default();
        o.override_demos = true;
        st = dsp_knn_choose(c, knn, p->name, p->signature, inputs, chosen, &o.n_demos, err);
        if (st == DSP_OK) {
            o.demos = chosen;
            st = predict_one(c, p, &o, inputs, cb, outputs, trace, err);
        } else {
            dsp_error_prefix(err, st, "predictor %s, choosing its demos", p->name ? p->name : "?");
        }
        free(chosen);
        return st;
    }
    size_t n_out = dsp_strategy_n_outputs(p->signature, p->strategy);
    /* In a job of an event loop the call's state (its error, note and
     * messages: about 2 KiB) goes to the heap: every page of a parked
     * job's stack stays resident, for each job in flight. */
    bool in_loop = dsp_loop_active();
    call *cl = in_loop ? malloc(sizeof *cl) : alloca(sizeof *cl);
    if (!cl)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory running predictor %s", p->name ? p->name : "?");
    memset(cl, 0, sizeof *cl);
    dsp_messages_init(&cl->msgs);
    cl->inputs = inputs;
    cl->outputs = outputs;
    dsp_prompt_spec spec = dsp_prompt_spec_of(p, opts);
    dsp_field_stream *fs = cb ? alloca(sizeof *fs) : NULL;
    if (cb) {
        st = dsp_field_stream_init(fs, p->name, &spec, cb, err);
        if (st != DSP_OK) {
            if (in_loop)
                free(cl);
            return st;
        }
        cl->fs = fs;
    }
    dsp_prompt_prefix *pre = NULL;
    if (run(c, p, opts, cl, 1, &pre) != DSP_OK) {
        dsp_values_free(outputs, n_out);
        cl->st = dsp_error_set(&cl->err, DSP_ERR_NOMEM, "out of memory running predictor %s", p->name ? p->name : "?");
    }
    if (cb && cl->st == DSP_OK)
        finish_stream(cl, fs, outputs, n_out);
    if (cb)
        dsp_field_stream_free(fs);
    st = cl->st;
    finish(cl, trace, err);
    dsp_prefix_release(dsp_client_prefixes(c), pre);
    if (in_loop)
        free(cl);
    return st;
}

/* The callbacks this thread's calls stream into (dsp_stream_use), in
 * thread-specific data as the current trace span is, so that a generated
 * program streams without passing them through every module. */
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static void make_stream_key(void)
{
    (void)pthread_key_create(&stream_key, NULL);
}

const dsp_stream_callbacks *dsp_stream_use(const dsp_stream_callbacks *cb)
{
    pthread_once(&stream_once, make_stream_key);
    const dsp_stream_callbacks *was = pthread_getspecific(stream_key);
    (void)pthread_setspecific(stream_key, (const void *)cb);
    return was;
}

static const dsp_stream_callbacks *thread_stream(void)
{
    pthread_once(&stream_once, make_stream_key);
    return pthread_getspecific(stream_key);
}

dsp_status dsp_predict_ex(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                          const dsp_value *inputs, dsp_value *outputs, dsp_predict_trace *trace, dsp_error *err)
{
    /* A batch's jobs run as fibers of the caller's thread (loop.h): they
     * see its callbacks but must not stream into them, interleaved. */
    return predict_one(c, p, opts, inputs, dsp_loop_active() ? NULL : thread_stream(), outputs, trace, err);
}

dsp_status dsp_predict_stream(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                              const dsp_value *inputs, const dsp_stream_callbacks *cb, dsp_value *outputs,
                              dsp_predict_trace *trace, dsp_error *err)
{
    static const dsp_stream_callbacks none = {0};
    return predict_one(c, p, opts, inputs, cb ? cb : &none, outputs, trace, err);
}

dsp_status dsp_predict(dsp_client *c, const dsp_predictor *p, const dsp_value *inputs, dsp_value *outputs,
                       dsp_predict_trace *trace, dsp_error *err)
{
    return dsp_predict_ex(c, p, NULL, inputs, outputs, trace, err);
}

dsp_status dsp_predict_batch(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                             const dsp_value *inputs, size_t n, dsp_value *outputs, dsp_status *statuses,
                             dsp_error *errs, dsp_predict_trace *traces)
{
    const dsp_predictor *given = p;
    p = dsp_client_predictor(c, p);
    dsp_error first = { 0 };
    dsp_status st = check_call(p, opts, outputs, &first);
    if (st != DSP_OK) {
        for (size_t i = 0; i < n; i++) {
            if (statuses)
                statuses[i] = st;
            if (errs) {
                free(errs[i].raw);
                errs[i] = first;
                errs[i].raw = NULL;
            }
        }
        return st;
    }
    if (n == 0)
        return DSP_OK;
    size_t n_in = p->signature->n_inputs;
    size_t n_out = dsp_strategy_n_outputs(p->signature, p->strategy);
    const dsp_knn *knn = knn_of(given, p, opts);
    if (knn && knn->k > 0 && knn->n_pool > 0) {
        /* Each call has demos of its own: one at a time (each finds the
         * client's variant again). */
        st = DSP_OK;
        for (size_t i = 0; i < n; i++) {
            dsp_error one = { 0 };
            dsp_status s1 = dsp_predict_ex(c, given, opts, inputs ? inputs + i * n_in : NULL, outputs + i * n_out,
                                           traces ? &traces[i] : NULL, &one);
            if (statuses)
                statuses[i] = s1;
            if (errs) {
                free(errs[i].raw);
                errs[i] = one;
            } else {
                dsp_error_clear(&one);
            }
            if (st == DSP_OK)
                st = s1;
        }
        return st;
    }
    call *calls = calloc(n, sizeof *calls);
    if (!calls) {
        for (size_t i = 0; i < n; i++) {
            if (statuses)
                statuses[i] = DSP_ERR_NOMEM;
            if (errs)
                dsp_error_set(&errs[i], DSP_ERR_NOMEM, "out of memory starting a batch of %zu calls", n);
        }
        return DSP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        dsp_messages_init(&calls[i].msgs);
        calls[i].inputs = inputs ? inputs + i * n_in : NULL;
        calls[i].outputs = outputs + i * n_out;
    }
    dsp_prompt_prefix *pre = NULL;
    if (run(c, p, opts, calls, n, &pre) != DSP_OK) {
        for (size_t i = 0; i < n; i++) {
            dsp_values_free(calls[i].outputs, n_out);
            calls[i].st = dsp_error_set(&calls[i].err, DSP_ERR_NOMEM, "out of memory running a batch");
        }
    }
    st = DSP_OK;
    for (size_t i = 0; i < n; i++) {
        if (st == DSP_OK)
            st = calls[i].st;
        if (statuses)
            statuses[i] = calls[i].st;
        finish(&calls[i], traces ? &traces[i] : NULL, errs ? &errs[i] : NULL);
    }
    dsp_prefix_release(dsp_client_prefixes(c), pre);
    free(calls);
    return st;
}
