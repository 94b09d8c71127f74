/* prompt_prefix.h — a prompt's fixed part, rendered once per client.
 *
 * Every call of a predictor sends the same system message (fields,
 * structure, instructions), the same demo pairs and the same end of its
 * final user message (the respond line); only the inputs change. A client
 * keeps these, rendered and JSON-escaped, for the last few prompts it saw,
 * so a call renders its inputs alone and its request body copies the rest.
 * Not installed. */
#ifndef DSP_PROMPT_PREFIX_H
#define DSP_PROMPT_PREFIX_H

#include <stddef.h>

#include "adapter_common.h"

typedef struct dsp_prompt_prefix dsp_prompt_prefix;
typedef struct dsp_prefix_memo dsp_prefix_memo;

/* The memo a client holds; NULL when out of memory (calls then render the
 * whole prompt, as without one). */
dsp_prefix_memo *dsp_prefix_memo_new(void);
void dsp_prefix_memo_free(dsp_prefix_memo *m);

/* The fixed part of spec's prompt with this adapter style, found by
 * content (never by address alone: a caller may reuse one predictor
 * struct for other instructions) or rendered now; held until
 * dsp_prefix_release. NULL when the spec does not check (the caller's full
 * render then reports why) or memory ran out. */
dsp_prompt_prefix *dsp_prefix_get(dsp_prefix_memo *m, const dsp_adapter_style *style, const dsp_prompt_spec *spec);
void dsp_prefix_release(dsp_prefix_memo *m, dsp_prompt_prefix *p);

/* The prefix's messages (system, then demo pairs), each with content_json
 * set; owned by the prefix. */
const dsp_message *dsp_prefix_messages(const dsp_prompt_prefix *p, size_t *n);

/* Appends the final user message to *out: the inputs' blocks, then the
 * prefix's fixed end. The same text dsp_adapter_render writes last, with the
 * same checks of the inputs. */
dsp_status dsp_prefix_render_final(const dsp_prompt_prefix *p, const dsp_prompt_spec *spec, const dsp_value *inputs,
                                   dsp_messages *out, dsp_error *err);

#endif
