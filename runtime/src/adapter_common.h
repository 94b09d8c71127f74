/* adapter_common.h — the parts of a prompt the chat and JSON adapters share
 * (internal to libdsprt). */
#ifndef DSP_ADAPTER_COMMON_H
#define DSP_ADAPTER_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/adapter.h"
#include "textbuf.h"

/* Checks the signature, the demos and every input against its type; an
 * input string may not hold a NUL byte (a chat message cannot carry one). */
dsp_status dsp_adapter_check(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_error *err);
/* The two halves of dsp_adapter_check: the signature and demos (once per
 * prompt), and the input values against their types (every call). */
dsp_status dsp_adapter_check_spec(const dsp_prompt_spec *spec, dsp_error *err);
dsp_status dsp_adapter_check_inputs(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_error *err);

/* "Your input fields are:\n1. `a` (string): ...\nYour output fields are:\n..." (no trailing newline). */
void dsp_adapter_field_list(dsp_textbuf *b, const dsp_prompt_spec *spec);

/* "In adhering to this structure, your objective is: " and the instructions,
 * each line on its own line indented by eight spaces. */
void dsp_adapter_objective(dsp_textbuf *b, const dsp_prompt_spec *spec);

/* "[[ ## name ## ]]\n" */
void dsp_adapter_marker(dsp_textbuf *b, const char *name);

/* The inputs as blocks separated by blank lines (no trailing newline). */
dsp_status dsp_adapter_input_blocks(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_value *inputs,
                                    dsp_error *err);

/* A demo's inputs as blocks; fields whose text is NULL are left out.
 * Returns how many blocks were written. */
size_t dsp_adapter_demo_input_blocks(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_demo *demo);

/* " (must be formatted as a valid enum value)" and the like for the final
 * instruction line; "" for strings. */
void dsp_adapter_format_hint(dsp_textbuf *b, const dsp_type *t);

/* Appends the buffer as one message and empties the buffer; fails with
 * DSP_ERR_NOMEM if any append to it failed. */
dsp_status dsp_adapter_push(dsp_messages *out, dsp_role role, dsp_textbuf *b, dsp_error *err);

/* What one adapter writes into the messages the adapters share the order
 * of: the system message, each demo's outputs and the final instruction
 * line after the inputs. */
typedef struct dsp_adapter_style {
    void (*system)(dsp_textbuf *b, const dsp_prompt_spec *spec);
    dsp_status (*demo_outputs)(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_demo *demo, dsp_error *err);
    void (*respond)(dsp_textbuf *b, const dsp_prompt_spec *spec);
} dsp_adapter_style;

/* The two adapters' styles (adapter_chat.c, adapter_json.c). */
extern const dsp_adapter_style dsp_chat_adapter_style;
extern const dsp_adapter_style dsp_json_adapter_style;

/* Renders a call as messages appended to out: system, then per demo a user
 * message with its inputs and an assistant message with its outputs, then
 * the inputs and the instruction line. On failure out is as it was. */
dsp_status dsp_adapter_render(const dsp_adapter_style *style, const dsp_prompt_spec *spec, const dsp_value *inputs,
                              dsp_messages *out, dsp_error *err);

/* The same, where input_texts (when not NULL) gives each input as the
 * adapter text of its block (what dsp_value_format writes; a NULL entry
 * leaves the block out), as a demo's inputs are given; inputs is unused. */
dsp_status dsp_adapter_render_ex(const dsp_adapter_style *style, const dsp_prompt_spec *spec, const dsp_value *inputs,
                                 const char *const *input_texts, dsp_messages *out, dsp_error *err);
/* dsp_adapter_render_ex from input texts alone: what the adapters'
 * public *_render_texts share (input_texts NULL is refused when the
 * signature has inputs, and means none otherwise). */
dsp_status dsp_adapter_render_texts(const dsp_adapter_style *style, const dsp_prompt_spec *spec,
                                    const char *const *input_texts, dsp_messages *out, dsp_error *err);
/* Drops the messages appended after the first `keep`, so a failed render
 * leaves the caller's list as it was. */
/* The messages every call of spec sends alike, appended to *out: the
 * system message and one user/assistant pair per demo (b: scratch). */
dsp_status dsp_adapter_render_fixed(const dsp_adapter_style *style, const dsp_prompt_spec *spec, dsp_textbuf *b,
                                    dsp_messages *out, dsp_error *err);
void dsp_adapter_truncate(dsp_messages *out, size_t keep);

/* A chat reply's section header: a line that starts with "[[ ## name ##
 * ]]". Sets the name span and where the section's text starts (after the
 * marker). (adapter_chat.c) */
bool dsp_adapter_header_at(const char *s, size_t n, const char **name, size_t *name_len, size_t *text_start);

/* The span of the JSON object in a JSON-adapter reply: inside a ``` fence
 * if there is one, from the first '{' to the last '}'. (adapter_json.c) */
bool dsp_json_object_span(const char *s, size_t n, const char **start, size_t *len);

/* After a reply parsed: the keys of its JSON objects that no field
 * declares, which parsing ignored (an LM adding a field it was not asked
 * for is harmless, but worth seeing), as "unknown keys ignored: path,
 * path, ..." (entities[0].confidence; a JSON-adapter reply's extra
 * top-level key by name) in out (cap bytes, NUL-terminated; "" when
 * none). json: the reply is the JSON adapter's. (reply_notes.c) */
void dsp_reply_unknown_keys(const dsp_prompt_spec *spec, const char *reply, size_t len, bool json, char *out,
                            size_t cap);

/* Finds the first "\n" at or after s[0..n); returns n when none. */
size_t dsp_adapter_line_end(const char *s, size_t n);

/* The start of every parse: checks the signature and the reply (NULL is
 * only allowed for an empty one, and then read as ""). */
dsp_status dsp_adapter_parse_start(const dsp_prompt_spec *spec, const char **reply, size_t len, dsp_error *err);
/* dsp_chat_adapter_parse after dsp_adapter_parse_start: for a caller that
 * has already checked the spec (dsp_predict renders the prompt first) and
 * has a reply (not NULL), so the signature is not checked twice a call. */
dsp_status dsp_chat_adapter_parse_checked(const dsp_prompt_spec *spec, const char *reply, size_t len,
                                          dsp_value *outputs, dsp_error *err);

/* An output whose text did not become a value with status st: a parse
 * error is the reply's fault (dsp_adapter_parse_failed); anything else
 * (out of memory) is returned as it is, with the outputs so far freed. */
dsp_status dsp_adapter_value_failed(dsp_status st, dsp_error *err, const char *adapter, const char *field,
                                    const char *reply, size_t len, dsp_value *outputs, size_t n_outputs);

/* Fills err for a reply that could not be parsed: prefixes the message with
 * the field, attaches the raw reply and frees the outputs parsed so far. */
dsp_status dsp_adapter_parse_failed(dsp_error *err, const char *adapter, const char *field, const char *reply,
                                    size_t len, dsp_value *outputs, size_t n_outputs);

#endif
