/* dsp/adapter.h — turning a predictor call into chat messages and a reply
 * back into typed values.
 *
 * These are pure functions (no I/O), so every prompt byte and every parsing
 * rule can be tested without an LM. dsp_predict (predict.h) glues them to
 * the LM client.
 *
 * The chat adapter writes exactly the format of docs/CHAT_FORMAT (DSPy's
 * ChatAdapter: `[[ ## field ## ]]` sections); the JSON adapter asks for one
 * JSON object with a key per output and is the fallback when a chat reply
 * cannot be parsed.
 */
#ifndef DSP_ADAPTER_H
#define DSP_ADAPTER_H

#include <stddef.h>

#include "dsp/chat.h"
#include "dsp/error.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a prompt is made of: a predictor with any per-call overrides applied
 * (see dsp_prompt_spec_of in predict.h). */
typedef struct dsp_prompt_spec {
    const dsp_signature *signature;
    dsp_strategy strategy;
    const char *instructions; /* NULL or "": the default objective */
    const dsp_demo *demos;
    size_t n_demos;
} dsp_prompt_spec;

/* Appends the system message, one user/assistant pair per demo and the final
 * user message holding the inputs (one value per signature input) to *out.
 * Fails with DSP_ERR_INVALID for a malformed signature, an input that does
 * not match its type, or an input string holding a NUL byte. */
dsp_status dsp_chat_adapter_render(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_messages *out,
                                   dsp_error *err);

/* The same messages with each input given as the text of its block (what
 * dsp_value_format writes for a value, as dsp_demo holds them; a NULL
 * entry leaves the block out), e.g. to show a prompt with placeholders
 * where no value is known yet. */
dsp_status dsp_chat_adapter_render_texts(const dsp_prompt_spec *spec, const char *const *input_texts,
                                         dsp_messages *out, dsp_error *err);
/* Parses a reply into outputs[0 .. dsp_strategy_n_outputs-1] (expected
 * zeroed). On failure (DSP_ERR_PARSE) the message names the field and the
 * problem, err->raw holds the reply, and outputs are left zeroed. */
dsp_status dsp_chat_adapter_parse(const dsp_prompt_spec *spec, const char *reply, size_t len, dsp_value *outputs,
                                  dsp_error *err);

/* Like the chat adapter, but asks for a JSON object with one key per output;
 * demos' assistant turns are written as such objects. */
dsp_status dsp_json_adapter_render(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_messages *out,
                                   dsp_error *err);

/* dsp_chat_adapter_render_texts for the JSON adapter. */
dsp_status dsp_json_adapter_render_texts(const dsp_prompt_spec *spec, const char *const *input_texts,
                                         dsp_messages *out, dsp_error *err);
/* Parses a JSON object reply (a ```json fence or prose around the object is
 * tolerated). Same error contract as dsp_chat_adapter_parse. */
dsp_status dsp_json_adapter_parse(const dsp_prompt_spec *spec, const char *reply, size_t len, dsp_value *outputs,
                                  dsp_error *err);

/* The JSON schema of the reply object the JSON adapter asks for (every
 * output required, optionals nullable, no other keys), as malloc'ed text,
 * for dsp_lm_params.json_schema. */
dsp_status dsp_json_adapter_schema(const dsp_prompt_spec *spec, char **out, dsp_error *err);

/* The JSON schema of one type, e.g. {"type":"array","items":{"type":"string"}}. */
/* Whether the JSON adapter's schema suits OpenAI's strict structured
 * outputs: every object closed, so no map among the outputs. */
bool dsp_json_adapter_strict_ok(const dsp_prompt_spec *spec);

dsp_status dsp_type_json_schema(const dsp_type *t, char **out, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
