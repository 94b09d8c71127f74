/* dsp/predict.h — one call of a predictor: render, ask the LM, parse.
 *
 * dsp_predict renders the call with the chat adapter, sends it with
 * dsp_chat, and parses the reply into typed outputs. When the reply cannot
 * be parsed it retries once with the JSON adapter (asking for a JSON object
 * via response_format), as DSPy falls back from ChatAdapter to JSONAdapter.
 * The generated code and the optimizer both call this, so what the optimizer
 * measures is what ships.
 */
#ifndef DSP_PREDICT_H
#define DSP_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/adapter.h"
#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-call overrides, mostly for the optimizer (candidate instructions and
 * demos, a teacher LM, sampling several rollouts). Start from
 * dsp_predict_options_default(); everything unset means "the predictor's". */
typedef struct dsp_predict_options {
    const char *instructions;   /* NULL: the signature's */
    bool override_demos;        /* true: use demos/n_demos (possibly none) instead of the predictor's */
    const dsp_demo *demos;
    size_t n_demos;
    const dsp_lm_config *lm;    /* NULL: the predictor's */
    bool has_temperature;
    double temperature;
    uint64_t rollout_id;        /* distinguishes otherwise identical calls in the cache; 0: none */
    bool bypass_cache;
    bool no_json_fallback;      /* report a chat-adapter parse error instead of retrying with JSON */
    bool has_seed;              /* send this sampling seed (OpenAI's `seed`): samples of one call */
    int64_t seed;               /* that must differ on the wire, not only in the cache */
    dsp_adapter_kind adapter;   /* DEFAULT: the lm's (dsp_lm_config.adapter) */
    /* knn_fewshot: demos chosen per call among a pool by nearest
     * neighbours (dsp/knn.h), in place of the predictor's; NULL: none.
     * override_demos wins: its demos are used as they are. Generated code
     * passes a static const options table holding it. */
    const struct dsp_knn *knn;
    /* Shadow mode: on a client whose variant replaces the predictor
     * (dsp_client_options.variant), the call chooses its demos with
     * shadow->knn (the variant's own knn, which `dspcc build
     * --shadow-state` bakes in), never with knn above, which is the
     * program's; NULL: the variant's demos as they are. */
    const struct dsp_predict_options *shadow;
} dsp_predict_options;

dsp_predict_options dsp_predict_options_default(void);

/* The prompt a call renders: the predictor with opts (may be NULL) applied. */
dsp_prompt_spec dsp_prompt_spec_of(const dsp_predictor *p, const dsp_predict_options *opts);

/* The adapter a call uses: opts->adapter, else its lm's; CHAT or JSON. */
dsp_adapter_kind dsp_predict_adapter_of(const dsp_predictor *p, const dsp_predict_options *opts);

/* The lm a call runs on: opts->lm, else the predictor's. */
const dsp_lm_config *dsp_predict_lm_of(const dsp_predictor *p, const dsp_predict_options *opts);
/* The request of a call without its messages: the sampling parameters,
 * rollout id and cache flag dsp_predict sends the chat adapter's messages
 * with. With dsp_prompt_spec_of, dsp_chat_adapter_render and
 * dsp_chat_request_body it gives the exact body of a call's first request. */
dsp_chat_request dsp_predict_request_of(const dsp_predictor *p, const dsp_predict_options *opts);

/* What happened in one call, for bootstrapping demos and for reports. */
typedef struct dsp_predict_trace {
    dsp_messages messages; /* the messages of the last attempt sent */
    char *raw_reply;       /* owned: the reply of the last attempt, NULL if none came */
    dsp_usage usage;       /* summed over attempts */
    bool cache_hit;        /* the last attempt was answered from the cache */
    bool json_fallback;    /* the chat reply did not parse and the JSON adapter was used */
    bool json_adapter;     /* the call used the JSON adapter from the start */
} dsp_predict_trace;

void dsp_predict_trace_init(dsp_predict_trace *t);
void dsp_predict_trace_free(dsp_predict_trace *t);

/* One call. inputs: one value per signature input; outputs: room for
 * dsp_strategy_n_outputs(sig, strategy) values, expected zeroed, filled on
 * DSP_OK and left zeroed otherwise. trace may be NULL; when given it is
 * filled (after dsp_predict_trace_init) whether or not the call succeeds. */
dsp_status dsp_predict(dsp_client *c, const dsp_predictor *p, const dsp_value *inputs, dsp_value *outputs,
                       dsp_predict_trace *trace, dsp_error *err);

dsp_status dsp_predict_ex(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                          const dsp_value *inputs, dsp_value *outputs, dsp_predict_trace *trace, dsp_error *err);

/* Streaming: what dsp_predict_stream (and a generated NAME_run_stream)
 * hands on as a reply arrives. Each callback returns 0 to go on, or
 * nonzero to cancel the call (the transfer is aborted and the call fails
 * with DSP_ERR_CANCELLED). Pointers passed in are borrowed for the
 * duration of the callback. */
typedef struct dsp_stream_field {
    const char *predictor; /* the predictor's name ("Module.var" in a generated program) */
    size_t index;          /* the field's index among its outputs (dsp_strategy_output:
                              a chain of thought's reasoning first) */
    const char *name;      /* the field's name */
} dsp_stream_field;

typedef struct dsp_stream_callbacks {
    /* A piece of the output field being written, as it arrives: its raw
     * section text (the `[[ ## name ## ]]` markers left out; whitespace the
     * parsed value trims included). Only with the chat adapter: a JSON reply
     * is one object, whose fields come whole. NULL: none. */
    int (*on_delta)(void *ctx, const dsp_stream_field *field, const char *text, size_t len);
    /* An output field complete, parsed into its typed value: as soon as the
     * next section starts, else when the reply is whole. Each output is
     * handed on once, in the order its section ends (outputs missing from
     * the reply, optional ones, at the end). NULL: none. */
    int (*on_field)(void *ctx, const dsp_stream_field *field, const dsp_value *value);
    void *ctx;
} dsp_stream_callbacks;

/* dsp_predict_ex, streamed (dsp_chat_request.on_text): the outputs equal
 * what dsp_predict_ex returns for the same reply, and a cached reply is
 * replayed through the callbacks. A chat reply that does not parse still
 * gets the JSON fallback: fields handed on from the chat reply before its
 * bad one stay handed on, and the rest come from the JSON reply. cb NULL:
 * as dsp_predict_ex. */
dsp_status dsp_predict_stream(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                              const dsp_value *inputs, const dsp_stream_callbacks *cb, dsp_value *outputs,
                              dsp_predict_trace *trace, dsp_error *err);

/* Makes every single predictor call on this thread (dsp_predict,
 * dsp_predict_ex, and so every predictor, react step and sample a
 * generated program runs on it) stream into cb until set again; NULL
 * ends it. Returns the callbacks it replaces. A generated NAME_run_stream
 * sets them around one run. Batches (dsp_predict_batch, NAME_run_batch)
 * never stream. */
const dsp_stream_callbacks *dsp_stream_use(const dsp_stream_callbacks *cb);

/* n independent calls through dsp_chat_batch (up to the client's in-flight
 * limit at once). inputs is n rows of n_inputs values, outputs n rows of
 * n_outputs values (zeroed); statuses, errs and traces are arrays of n or
 * NULL. Results are in order; returns DSP_OK when every call succeeded,
 * else the status of the first failure. */
dsp_status dsp_predict_batch(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *opts,
                             const dsp_value *inputs, size_t n, dsp_value *outputs, dsp_status *statuses,
                             dsp_error *errs, dsp_predict_trace *traces);

#ifdef __cplusplus
}
#endif
#endif
