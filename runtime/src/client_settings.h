/* client_settings.h — internal: a client's resolved options, for the parts
 * of libdsprt that make their own HTTP calls besides chat (fine-tuning). */
#ifndef DSP_CLIENT_SETTINGS_H
#define DSP_CLIENT_SETTINGS_H

#include "dsp/client.h"

/* The options c was created with, defaults filled in; base_url is the
 * override of every config's base URL (or NULL), borrowed from c. */
dsp_client_options dsp_client_settings(const dsp_client *c);

#endif
