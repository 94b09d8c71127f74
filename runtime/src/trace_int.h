/* trace_int.h — internal: the tracer a client owns and the LM-call lines
 * dsp_chat writes through it (trace.c; the public half is dsp/trace.h). */
#ifndef DSP_TRACE_INT_H
#define DSP_TRACE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/trace.h"

typedef struct dsp_tracer dsp_tracer;

/* Opens path for appending trace lines (created 0600: contents may hold
 * user data). content: also write message contents. */
dsp_status dsp_tracer_open(const char *path, bool content, dsp_tracer **out, dsp_error *err);
void dsp_tracer_close(dsp_tracer *t);

/* The client's tracer, or NULL (client.c). */
dsp_tracer *dsp_client_tracer(const dsp_client *c);

/* The module call span the calling thread is in, or NULL. Batch workers
 * take their caller's, so an LM call on a worker thread keeps its parent. */
const dsp_span *dsp_trace_current(void);
void dsp_trace_set_current(const dsp_span *s);

/* Nanoseconds of the real-time clock (span times are Unix times). */
uint64_t dsp_trace_now_ns(void);

/* One LM call as dsp_chat saw it. */
typedef struct dsp_lm_call_trace {
    const char *provider;       /* OpenTelemetry's name: openai, anthropic, aws.bedrock, ... */
    const char *model;          /* as the API names it */
    const char *base_url;
    const dsp_lm_config *lm;    /* its prices */
    const dsp_chat_request *req;
    const dsp_lm_params *params; /* as sent */
    const dsp_chat_response *resp; /* NULL on failure */
    dsp_status status;
    const dsp_error *err;       /* on failure; may be NULL */
    int64_t retries;
    uint64_t start_ns, end_ns;
} dsp_lm_call_trace;

/* Writes the line of one LM call, a child of the thread's module span. */
void dsp_trace_lm_call(dsp_tracer *t, const dsp_lm_call_trace *lc);

/* One dsp_embed call. */
typedef struct dsp_embed_call_trace {
    const char *provider;       /* OpenTelemetry's name */
    const char *model;          /* as the API names it */
    const char *base_url;
    const dsp_lm_config *lm;    /* its prices */
    const char *label;          /* what the call is for, or NULL */
    const char *const *texts;   /* n inputs */
    size_t n;
    int dimensions;             /* asked; 0: the model's own */
    size_t dim;                 /* the vectors' length (0 on failure) */
    int64_t input_tokens;       /* every input's share, cached ones too */
    int64_t sent_tokens;        /* of the inputs sent (they cost) */
    size_t cache_hits;
    dsp_status status;
    const dsp_error *err;
    uint64_t start_ns, end_ns;
} dsp_embed_call_trace;

/* Writes the line of one embeddings call, a child of the thread's module span. */
void dsp_trace_embed_call(dsp_tracer *t, const dsp_embed_call_trace *ec);

#endif
