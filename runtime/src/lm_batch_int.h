/* lm_batch_int.h — internal: what dsp_chat asks of the dsp_lm_batch
 * attached to its client (dsp/lm_batch.h). All thread-safe. */
#ifndef DSP_LM_BATCH_INT_H
#define DSP_LM_BATCH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/chat.h"
#include "dsp/lm_batch.h"

/* Moves the reply the batch holds for cache key into resp (zeroed by the
 * caller); false when it holds none. */
bool dsp_lm_batch_take(dsp_lm_batch *b, const char *key, dsp_chat_response *resp);

/* Marks key as one a batch could not answer (its reply was refused). */
void dsp_lm_batch_refuse(dsp_lm_batch *b, const char *key);

/* Whether a batch could not answer key: the call goes to the LM. */
bool dsp_lm_batch_failed(dsp_lm_batch *b, const char *key);

/* One request to record, as dsp_chat would send it. */
typedef struct dsp_lm_batch_call {
    bool anthropic;         /* Anthropic's Messages API, else OpenAI's chat completions */
    const char *url;        /* the chat endpoint */
    const char *model_spec; /* the lm as declared, for messages */
    const char *key_env;    /* the variable holding the API key, or NULL */
    const char *key;        /* the cache key: the request's custom_id */
    const char *body;
    size_t len;
} dsp_lm_batch_call;

dsp_status dsp_lm_batch_defer(dsp_lm_batch *b, const dsp_lm_batch_call *call, dsp_error *err);

/* Reads the text of a batch's result file (Anthropic's, or OpenAI's) as
 * dsp_lm_batch_run does, against every pending request: replies kept (*ok),
 * requests marked failed (*failed). False when out of memory. For the
 * fuzz harness (tests/fuzz/fuzz_batch.c): a run reads them from the API. */
bool dsp_lm_batch_read_results(dsp_lm_batch *b, bool anthropic, const char *text, size_t len, size_t *ok,
                               size_t *failed);

#endif
