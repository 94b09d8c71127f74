/* dsp/trace.h — one JSON line per LM call and per module call, for seeing
 * what a program did: which module call (and example) each LM call
 * belonged to, its predictor, provider, model, tokens, latency, status,
 * retries and whether the cache answered.
 *
 * A client traces when its options name a file (trace_path) or, without
 * one, when the environment variable DSPCC_TRACE does: every program built
 * by dspcc traces with `DSPCC_TRACE=trace.jsonl ./app`, without code of its
 * own. Message contents are written only when asked (trace_content, or
 * DSPCC_TRACE_CONTENT=1). Nothing the client sends in headers, the API key
 * among them, is ever written.
 *
 * Each line is an OpenTelemetry-style span: trace_id (32 hex digits),
 * span_id (16), parent_span_id (when there is a parent), name, kind
 * ("module" or "lm"), start_time_unix_nano, end_time_unix_nano, status
 * ({"code": "OK"} or {"code": "ERROR", "message"}) and attributes named as
 * the OpenTelemetry semantic conventions for generative AI name them
 * (gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model,
 * gen_ai.usage.input_tokens, gen_ai.usage.output_tokens, ...) plus dspcc.*
 * ones of its own (dspcc.module, dspcc.predictor, dspcc.example,
 * dspcc.run, dspcc.cache_hit, dspcc.retries, dspcc.status,
 * dspcc.latency_ms).
 * docs/inspect.md lists them all.
 */
#ifndef DSP_TRACE_H
#define DSP_TRACE_H

#include <stdint.h>

#include "dsp/client.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A module call in progress. Lives on the caller's stack from begin to
 * end; LM calls made by the same thread in between are its children. */
typedef struct dsp_span {
    void *tracer;               /* NULL: the client does not trace (begin/end cost nothing) */
    const char *name;           /* the module */
    int64_t example;            /* the example's index, or -1 */
    int64_t run;                /* the run it belongs to: the client's top-level module calls numbered 0, 1, ...
                                   in the order they began; a nested call takes its caller's */
    char trace_id[33], span_id[17], parent_id[17];
    uint64_t start_ns;
    const struct dsp_span *outer; /* the span this thread was in before */
} dsp_span;

/* Starts a module call span on c's tracer (nothing when c does not
 * trace): a child of the module call this thread is in, else the root of
 * a new trace. example: the example's index, or -1 when there is none. */
void dsp_trace_module_begin(dsp_client *c, const char *module, int64_t example, dsp_span *s);
/* Ends it and writes its line with the outcome st (err may be NULL). */
void dsp_trace_module_end(dsp_span *s, dsp_status st, const dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
