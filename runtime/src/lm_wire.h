/* lm_wire.h — internal: the wire formats of the providers (request bodies,
 * replies, error bodies) and endpoint URLs. Not installed; the tests include
 * it to check bodies and parsing without a network. */
#ifndef DSP_LM_WIRE_H
#define DSP_LM_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/error.h"
#include "json_write.h"

/* Version of the Anthropic Messages API the client speaks. */
#define DSP_ANTHROPIC_VERSION "2023-06-01"
/* A message's content as a JSON string: its prepared text (content_json)
 * when it has one, else escaped now; the same bytes either way. */
static inline void dsp_jw_content(dsp_jw *w, const dsp_message *m)
{
    if (m->content_json)
        dsp_jw_lit(w, m->content_json);
    else
        dsp_jw_str(w, m->content ? m->content : "");
}

/* Azure OpenAI's latest GA data-plane version (structured outputs included). */
#define DSP_AZURE_API_VERSION "2024-10-21"
/* Anthropic requires max_tokens; sent when the caller left it unset. */
#define DSP_ANTHROPIC_DEFAULT_MAX_TOKENS 1024

const char *dsp_provider_name(dsp_provider p);
const char *dsp_provider_default_base_url(dsp_provider p);
/* Whether calls to p at base_url (NULL: its default) must carry a key:
 * not for providers with no default key variable (ollama, vllm, compatible,
 * lmstudio, llamacpp), nor for any server on a
 * loopback address (localhost, 127.0.0.0/8, ::1). There a key is sent when
 * its variable is set, and nothing is demanded when it is not. */
bool dsp_provider_needs_key(dsp_provider p, const char *base_url);
/* Whether url's host is a loopback address (localhost, 127.0.0.0/8, ::1). */
bool dsp_url_is_loopback(const char *url);

/* The full URL of the chat endpoint; *out is owned by the caller. base_url
 * NULL means the provider's default. */
dsp_status dsp_endpoint_url(dsp_provider p, const char *base_url, char **out, dsp_error *err);

/* The endpoint of one model: dsp_endpoint_url, except for providers whose
 * path names the model (azure: BASE/openai/deployments/MODEL/chat/
 * completions?api-version=V; gemini: BASE/v1beta/models/MODEL:generateContent,
 * or BASE/models/... when the base has a path). The model is escaped as
 * one path segment. */
dsp_status dsp_model_endpoint_url(dsp_provider p, const char *base_url, const char *model, char **out,
                                  dsp_error *err);
/* Azure's api-version query: $OPENAI_API_VERSION (the official SDKs'
 * variable) when set, else DSP_AZURE_API_VERSION. */
const char *dsp_azure_api_version(void);

/* An OpenAI-style API's base with its version, what /files and
 * /fine_tuning/jobs are relative to: base_url, plus "/v1" when it has no
 * path (as the chat endpoint gets). *out is owned by the caller. */
dsp_status dsp_api_base_url(const char *base_url, char **out, dsp_error *err);

/* Per-call parameters override the LM's defaults field by field. */
dsp_lm_params dsp_params_merge(const dsp_lm_params *defaults, const dsp_lm_params *call);

/* Checks that json_schema is a JSON object and prints it compactly (owned). */
dsp_status dsp_schema_text(const char *json_schema, char **out, dsp_error *err);
/* lm_request.c: counts msgs' system messages into *n_sys; a request without
 * a user or assistant turn is refused as "REQUEST needs at least one user
 * message" (request: "a Gemini request"). */
dsp_status dsp_wire_count_turns(const dsp_message *msgs, size_t n_msgs, const char *request, size_t *n_sys,
                                dsp_error *err);
/* The APIs that keep system messages apart (Bedrock, Gemini) write them
 * as text blocks, {"text":S} each, comma-separated, in order; and the
 * other turns as {"role":R,"KEY":[{"text":S}]}, R "user" or assistant
 * (Bedrock's "assistant", Gemini's "model"), KEY their content_key
 * ("content", "parts"). The caller writes the brackets around them. */
void dsp_wire_system_texts(dsp_jw *w, const dsp_message *msgs, size_t n_msgs);
void dsp_wire_turns(dsp_jw *w, const dsp_message *msgs, size_t n_msgs, const char *assistant,
                    const char *content_key);
/* Writes key (e.g. `,"stop":`) and p's stop sequences as a JSON array;
 * callers write nothing when p->stop[0] is NULL. */
void dsp_wire_stops(dsp_jw *w, const char *key, const dsp_lm_params *p);
/* DSP_OK unless p asks for native tool calling, which provider's writer
 * does not speak yet: then an error naming provider and the fix. */
dsp_status dsp_wire_no_native_tools(const dsp_lm_params *p, const char *provider, dsp_error *err);
/* A generous estimate of a request body's size. */
size_t dsp_body_size_hint(const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p);

/* lm_request.c: the request body provider's API takes (owned,
 * NUL-terminated JSON), written by the provider's writer below into a
 * buffer sized by dsp_body_size_hint. model is ignored by the APIs that
 * put it in the URL (Gemini, Bedrock). */
dsp_status dsp_wire_request_body(dsp_provider provider, const char *model, const dsp_message *msgs, size_t n_msgs,
                                 const dsp_lm_params *p, char **body, dsp_error *err);
/* The same body appended to a writer the caller set up (and frees, also
 * on failure): w->buf, w->len are the text. The client writes into a stack
 * buffer, so a typical request costs no allocation for its body. */
dsp_status dsp_wire_request_write(dsp_jw *w, dsp_provider provider, const char *model, const dsp_message *msgs,
                                  size_t n_msgs, const dsp_lm_params *p, dsp_error *err);
/* Each API's writer. */
dsp_status dsp_openai_request_write(dsp_jw *w, const char *model, const dsp_message *msgs, size_t n_msgs,
                                    const dsp_lm_params *p, dsp_error *err);
dsp_status dsp_anthropic_request_write(dsp_jw *w, const char *model, const dsp_message *msgs, size_t n_msgs,
                                       const dsp_lm_params *p, dsp_error *err);

/* Bedrock's Converse body (the model is in the URL) and reply. */
dsp_status dsp_bedrock_request_write(dsp_jw *w, const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p,
                                     dsp_error *err);
dsp_status dsp_bedrock_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);
/* The AWS credentials a Bedrock call is signed with, in this order: the
 * access key id, the secret key and (optional) a session token. Their
 * variables' names (dsp_aws_env_names) and one read of all three
 * (dsp_aws_env_read: getenv's values, NULL when unset) live in one place,
 * so signing and the check of cached replies for key pieces agree. */
enum { DSP_AWS_KEY_ID, DSP_AWS_SECRET, DSP_AWS_TOKEN, DSP_AWS_N_ENV };
extern const char *const dsp_aws_env_names[DSP_AWS_N_ENV];
void dsp_aws_env_read(const char *values[DSP_AWS_N_ENV]);
#define DSP_AWS_REGION_MAX 32
#define DSP_BEDROCK_DEFAULT_REGION "us-east-1"
/* The region a Bedrock call is signed for: the base URL's host's
 * (bedrock-runtime.REGION.amazonaws.com), else $AWS_REGION, else
 * $AWS_DEFAULT_REGION, else us-east-1. */
dsp_status dsp_bedrock_region(const char *base_url, char out[DSP_AWS_REGION_MAX], dsp_error *err);

/* Gemini's generateContent body (the model is in the URL). */
dsp_status dsp_gemini_request_write(dsp_jw *w, const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p,
                                    dsp_error *err);
dsp_status dsp_gemini_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);
/* Turns a model's endpoint URL (owned, replaced) into the one that
 * streams the same reply: Gemini's generateContent into
 * streamGenerateContent?alt=sse (server-sent events), Bedrock's converse
 * into converse-stream (AWS event-stream messages); others stay. */
dsp_status dsp_stream_url(dsp_provider provider, char **url, dsp_error *err);

/* Parse a 2xx reply into resp (which must be zeroed). A reply that does not
 * follow the API is DSP_ERR_PROTOCOL with the raw body attached. */
dsp_status dsp_openai_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);
dsp_status dsp_anthropic_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);
/* An embeddings reply (embed.c): one choice per vector, in index order,
 * each the vector's cache text (a JSON array of numbers); usage's prompt
 * tokens. */
dsp_status dsp_embed_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);
/* Whether a cached embeddings row (one choice) reads back as a vector. */
bool dsp_embed_row_usable(void *ctx, const dsp_chat_response *r);
/* The reply to a turn offered native tools: every tool_use block is a tool
 * call, one named `output` too (no JSON adapter's forced tool). */
dsp_status dsp_anthropic_parse_tool_turn(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err);

/* Native tool calling (lm_tools.c). dsp_tools_write appends `,"tools":[...]`
 * from params.tools in OpenAI's or Anthropic's shape, and asks for one call
 * a turn. The turn writers append one message: an assistant turn with
 * tool_calls, or a tool result (Anthropic: the results of consecutive TOOL
 * messages as one user turn; returns how many messages it wrote). The
 * readers add a reply's tool calls to resp, keeping malformed ones as they
 * came (a field the reply left out is NULL). */
struct cJSON;
dsp_status dsp_tools_write(dsp_jw *w, bool anthropic, const char *tools, dsp_error *err);
void dsp_openai_write_tool_turn(dsp_jw *w, const dsp_message *m);
size_t dsp_anthropic_write_tool_turn(dsp_jw *w, const dsp_message *msgs, size_t i, size_t n);
dsp_status dsp_openai_read_tool_calls(const struct cJSON *tool_calls, dsp_chat_response *resp, dsp_error *err);
dsp_status dsp_anthropic_read_tool_uses(const struct cJSON *content, dsp_chat_response *resp, dsp_error *err);

/* NULL when a reply body keeps dsp/value.h's rule for text, else why not
 * (written into buf): a \u0000 would decode to a NUL that cuts the text,
 * and a body that is not UTF-8 is not JSON. */
const char *dsp_reply_text_problem(const char *body, size_t len, char *buf, size_t bufsz);

/* DSP_ERR_PROTOCOL "API: why" with the body as raw text, api saying what
 * the reply does not follow: how a wire format reports a reply it cannot
 * read. */
dsp_status dsp_reply_protocol_error(dsp_error *err, const char *body, size_t len, const char *api, const char *why);
/* A JSON number as a count (tokens, trained tokens): -1 when absent or
 * not a plausible count (negative, not a number, or too large to cast). */
struct cJSON;
int64_t dsp_json_count(const struct cJSON *v);
/* A token count field of a usage object: dsp_json_count, 0 when absent or
 * not a plausible count. */
int64_t dsp_reply_count(const struct cJSON *usage, const char *name);

/* The reply body parsed (the caller cJSON_Deletes it), or NULL with the
 * protocol error set: text dsp/value.h refuses, or not JSON. */
struct cJSON *dsp_reply_json(const char *body, size_t len, const char *api, dsp_error *err);

/* The "text" strings of the items of a JSON array (a reply's content
 * blocks or parts) joined into one malloc'd string; items marked
 * "thought": true are left out when skip_thoughts. *n_text is the number
 * joined: NULL with *n_text 0 when there is none, NULL with *n_text > 0
 * when out of memory. */
char *dsp_reply_join_texts(const struct cJSON *items, bool skip_thoughts, int *n_text);

/* True when body is one well-formed JSON value. */
bool dsp_json_is_valid(const char *body, size_t len);

/* The human message of an error body: error.message of OpenAI's
 * {"error":{...}} and Anthropic's {"type":"error","error":{...}}, with the
 * error type in front when there is one; else the start of the body. */
void dsp_provider_error_message(const char *body, size_t len, char *out, size_t outsz);

#endif
