/* embed.h — the fixture's POST /v1/embeddings (OpenAI's shape, which vLLM,
 * Ollama and llama.cpp's server also serve).
 *
 * Each input becomes a deterministic bag-of-words vector: its words,
 * lower-cased, stop words dropped and lightly stemmed as the learner reads
 * them (text.h), are hashed into `dimensions` buckets (default
 * RS_EMBED_DEFAULT_DIM) with a hashed sign, counts damped as 1 + ln(tf),
 * and the vector scaled to unit length. Texts that share words are close,
 * so nearest neighbours are meaningful; it is a fixture, not a model.
 */
#ifndef RS_EMBED_H
#define RS_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "answer.h"

#define RS_EMBED_DEFAULT_DIM 256
#define RS_EMBED_MAX_DIM 4096
#define RS_EMBED_MAX_INPUTS 2048 /* OpenAI's limit per request */

/* The vector of text (len bytes) in out[dim], unit length (all zero when
 * text has no content word). */
void rs_embed_text(const char *text, size_t len, size_t dim, float *out);

/* The answer to a POST /v1/embeddings body: 200 with
 * {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],
 *  "model":..., "usage":{"prompt_tokens":N,"total_tokens":N}}, or OpenAI's
 * 400 naming the parameter at fault. Faults are injected as for chat
 * (request_no and the seed decide them). */
void rs_answer_embeddings(rs_arena *a, const rs_options *o, const char *body, size_t len, uint64_t request_no,
                          rs_answer *out);

#endif
