/* client_settings.h — internal: a client's resolved options, for the parts
 * of libdsprt that make their own HTTP calls besides chat (fine-tuning). */
#ifndef DSP_CLIENT_SETTINGS_H
#define DSP_CLIENT_SETTINGS_H

#include "dsp/client.h"

/* The options c was created with, defaults filled in; base_url is the
 * override of every config's base URL (or NULL), borrowed from c. */
dsp_client_options dsp_client_settings(const dsp_client *c);

/* The response cache's file (in the cache directory), or NULL when the
 * cache is off. */
const char *dsp_client_cache_path(const dsp_client *c);

/* The API key in environment variable env, checked: set, not empty, and
 * free of control characters (a newline would end the header it goes into
 * and let the rest of the variable inject headers of its own). *key is
 * borrowed from the environment. model_spec names the LM in messages. */
dsp_status dsp_api_key_from_env(const char *env, const char *model_spec, const char **key, dsp_error *err);
/* The same checks of v, the value of env already read (one environment
 * read a call, not two). */
dsp_status dsp_api_key_check(const char *env, const char *v, const char *model_spec, const char **key,
                             dsp_error *err);

/* The predictor a call of p runs on c: the variant's of the same name
 * (dsp_client_options.variant), else p itself. */
const struct dsp_predictor *dsp_client_predictor(const dsp_client *c, const struct dsp_predictor *p);
/* The client's rendered prompt prefixes (prompt_prefix.h), or NULL. */
struct dsp_prefix_memo *dsp_client_prefixes(const dsp_client *c);

/* Reads a 2xx reply body into resp (zeroed): a non-chat endpoint's reply
 * in the client's one record of replies (embeddings: one choice a vector). */
typedef dsp_status (*dsp_reply_parser)(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);

/* One POST of body (len bytes of JSON) to path under lm's API base
 * (dsp_api_base_url: "/embeddings" goes to BASE/v1/embeddings), with
 * everything a chat call has but the cache: the key header, each attempt's
 * limit and the call's deadline, retries of transient failures, the
 * in-flight slots, the breaker, the reply size bound, and the key redacted
 * from errors and refused in replies. Counts in the usage totals as
 * `calls` calls (an embeddings request: one per input, as the cache counts
 * its hits) with resp->usage's tokens at lm's prices. */
dsp_status dsp_client_post_json(dsp_client *c, const dsp_lm_config *lm, const char *path, const char *body,
                                size_t len, int calls, dsp_reply_parser parse, dsp_chat_response *resp,
                                dsp_error *err);

/* The client's response cache (cache.h), NULL when it is off. */
struct dsp_cache *dsp_client_cache(const dsp_client *c);

/* Counts one call the cache answered, which used prompt_tokens when it was
 * first made, as dsp_chat counts its hits. */
void dsp_client_count_cached(dsp_client *c, const dsp_lm_config *lm, int64_t prompt_tokens);

#endif
