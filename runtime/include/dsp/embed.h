/* dsp/embed.h — text embeddings: OpenAI's POST /v1/embeddings, which vLLM,
 * Ollama, llama.cpp's server and most OpenAI-compatible services serve.
 *
 * An embedding lm is an ordinary dsp_lm_config whose model is an embedding
 * model ("openai/text-embedding-3-small", "ollama/nomic-embed-text",
 * "compatible/..." with its base URL). A call gets everything a chat call
 * gets (docs/runtime.md): the key from the lm's variable, each attempt's
 * limit and the call's deadline, retries of transient failures, the
 * client's in-flight limit and breaker, the reply size bound, the key
 * redacted from errors and refused in replies, usage at the lm's prices,
 * and the response cache: one row per (endpoint, model, dimensions, input
 * text), in a key space of its own beside chat replies. Requests go by
 * fixed chunks of DSP_EMBED_BATCH inputs; a chunk the cache holds only in
 * part is asked again whole, so every run counts the same tokens.
 *
 * Each call is one line of the client's trace (OpenTelemetry's GenAI
 * embeddings span: gen_ai.operation.name "embeddings", the model, the
 * input tokens) and is shown to dsp_client_options.observe_embed, as chat
 * calls are to observe.
 */
#ifndef DSP_EMBED_H
#define DSP_EMBED_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/client.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Inputs per request at most (OpenAI takes 2048; servers with smaller
 * batches are common). */
#define DSP_EMBED_BATCH 128
/* The longest vector a reply may hold. */
#define DSP_EMBED_MAX_DIM 65536

typedef struct dsp_embed_options {
    int dimensions;    /* > 0: sent as `dimensions` (OpenAI's text-embedding-3 models, the fixture);
                        * 0: not sent, the model's own length */
    bool bypass_cache; /* neither read nor write the cache */
    const char *label; /* what the call is for, in its trace line and for the client's observer
                        * (knn: the predictor's name); NULL: nothing */
} dsp_embed_options;

typedef struct dsp_embeddings {
    float *vectors;    /* n rows of dim floats, in input order, as the server sent them */
    size_t n, dim;
    dsp_usage usage;   /* prompt tokens: the server's count (cached inputs: their share when first asked) */
    size_t cache_hits; /* inputs the cache answered */
} dsp_embeddings;

/* The embeddings of texts[0..n) (each non-empty UTF-8 without NUL) on lm.
 * opts may be NULL. On DSP_OK *out holds n vectors of one length (free
 * with dsp_embeddings_free); a reply whose vectors differ in length, or
 * that lacks one, is DSP_ERR_PROTOCOL. */
dsp_status dsp_embed(dsp_client *c, const dsp_lm_config *lm, const char *const *texts, size_t n,
                     const dsp_embed_options *opts, dsp_embeddings *out, dsp_error *err);

void dsp_embeddings_free(dsp_embeddings *e);

/* The request body dsp_embed sends for texts (malloc'ed JSON), for tests
 * and for showing what goes over the wire. */
dsp_status dsp_embed_request_body(const dsp_lm_config *lm, const char *const *texts, size_t n,
                                  const dsp_embed_options *opts, char **body, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
