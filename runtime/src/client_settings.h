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

/* The predictor a call of p runs on c: the variant's of the same name
 * (dsp_client_options.variant), else p itself. */
const struct dsp_predictor *dsp_client_predictor(const dsp_client *c, const struct dsp_predictor *p);

#endif
