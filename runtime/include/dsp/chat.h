/* dsp/chat.h — one chat-completion exchange, independent of provider.
 *
 * This is the contract between the adapters (which turn a signature, demos
 * and inputs into messages, and a reply back into typed values) and the LM
 * clients (which carry messages to OpenAI-compatible or Anthropic endpoints).
 */
#ifndef DSP_CHAT_H
#define DSP_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* DSP_ROLE_TOOL: the result of one native tool call (OpenAI's `tool`
 * message; Anthropic's `tool_result` block in a user turn). */
typedef enum dsp_role { DSP_ROLE_SYSTEM, DSP_ROLE_USER, DSP_ROLE_ASSISTANT, DSP_ROLE_TOOL } dsp_role;

/* One tool call of an assistant turn, with native tool calling
 * (docs/runtime.md, "Native tool calling"). Every string is owned and may
 * be NULL when a reply left it out: a malformed call is kept as it came,
 * for the caller to answer with an error observation. */
typedef struct dsp_tool_call {
    char *id;        /* OpenAI's tool_calls[].id, Anthropic's tool_use id */
    char *name;      /* the tool */
    char *arguments; /* JSON text as the model wrote it (OpenAI's arguments string,
                        Anthropic's input object printed); not necessarily valid */
} dsp_tool_call;

typedef struct dsp_message {
    dsp_role role;
    char *content;             /* owned by the dsp_messages that holds it */
    dsp_tool_call *tool_calls; /* ASSISTANT: the calls it made (owned); NULL: none */
    size_t n_tool_calls;
    char *tool_call_id;        /* TOOL: the call this answers (owned) */
    bool tool_error;           /* TOOL: the result reports an error (Anthropic's is_error) */
    /* content already written as a JSON string (quotes included), or NULL.
     * Borrowed, never freed with the message: dsp_predict sets it on a
     * prompt's fixed messages, escaped once per client, so the request body
     * copies it instead of escaping the same text on every call. */
    const char *content_json;
} dsp_message;

/* A growable list of messages; owns its strings. */
typedef struct dsp_messages {
    dsp_message *items;
    size_t len, cap;
} dsp_messages;

void dsp_messages_init(dsp_messages *m);
void dsp_messages_free(dsp_messages *m);
/* Appends a copy of content (len bytes; content need not be NUL-terminated). */
dsp_status dsp_messages_push(dsp_messages *m, dsp_role role, const char *content, size_t len, dsp_error *err);
/* Appends an assistant turn with its text (may be empty) and copies of its
 * tool calls. */
dsp_status dsp_messages_push_tool_calls(dsp_messages *m, const char *content, const dsp_tool_call *calls, size_t n,
                                        dsp_error *err);
/* Appends the result of the tool call `id`. */
dsp_status dsp_messages_push_tool_result(dsp_messages *m, const char *id, const char *content, bool is_error,
                                         dsp_error *err);

/* Frees the strings of n calls and the array. */
void dsp_tool_calls_free(dsp_tool_call *calls, size_t n);

#define DSP_MAX_STOP 4

/* Sampling parameters. A field left at its "unset" value is not sent, so the
 * provider's default applies. */
typedef struct dsp_lm_params {
    double temperature;   /* < 0: unset */
    int max_tokens;       /* <= 0: unset (Anthropic requires one: 1024 is sent) */
    int n;                /* <= 1: one choice */
    bool has_seed;
    int64_t seed;
    const char *stop[DSP_MAX_STOP]; /* NULL-terminated early */
    const char *json_schema;        /* JSON text of a schema: ask for JSON output (OpenAI response_format,
                                       Anthropic a forced tool) */
    bool json_strict;               /* with json_schema: OpenAI strict mode (every object closed) */
    bool has_top_p;                 /* false: unset */
    double top_p;                   /* nucleus sampling, 0..1 */
    /* A LoRA adapter selected per request, as llama.cpp's server takes it:
     * "lora": [{"id": lora_id, "scale": lora_scale}] (OpenAI wire only).
     * lora_sha256 (may be NULL) is never sent; it keys the response cache,
     * since after a restart the same id may hold another adapter. */
    bool has_lora;                  /* false: unset */
    int lora_id;                    /* the adapter's index in the server's --lora list */
    double lora_scale;              /* <= 0: 1.0 */
    const char *lora_sha256;
    /* Native tool calling: the tools as a JSON array of {"name",
     * "description", "parameters" (a JSON schema object)}; OpenAI-compatible
     * requests send them as `tools` of type function, Anthropic's as `tools`
     * with an `input_schema`. One tool call a turn is asked for. NULL: none. */
    const char *tools;
    /* Ask for the reply as a stream of server-sent events. Set by dsp_chat
     * when the request has on_text (never an lm option, nor part of the
     * cache key): the same reply, in pieces. */
    bool stream;
} dsp_lm_params;

/* The unset values of every field. */
dsp_lm_params dsp_lm_params_default(void);

typedef struct dsp_usage {
    int64_t prompt_tokens;
    int64_t completion_tokens;
} dsp_usage;

typedef struct dsp_chat_response {
    char **choices;     /* n_choices owned strings (assistant text) */
    size_t n_choices;
    dsp_usage usage;
    bool cache_hit;
    /* Native tool calling: the tool calls of the first choice, in order. */
    dsp_tool_call *tool_calls;
    size_t n_tool_calls;
} dsp_chat_response;

/* A piece of a reply's text as it arrives (len bytes, whole UTF-8
 * characters, not NUL-terminated). Returning nonzero cancels the call:
 * the transfer is aborted and the call fails with DSP_ERR_CANCELLED. */
typedef int (*dsp_chat_text_fn)(void *ctx, const char *text, size_t len);

typedef struct dsp_chat_request {
    const dsp_message *messages;
    size_t n_messages;
    dsp_lm_params params;
    /* Distinguishes otherwise identical requests in the cache (e.g. the
     * optimizer sampling the same prompt several times). 0 = none. */
    uint64_t rollout_id;
    bool bypass_cache;  /* neither read nor write the cache for this call */
    /* Asked about every reply dsp_chat is about to return, fresh or cached:
     * false keeps a fresh reply out of the cache, and makes a cached one a
     * miss (asked for again, and replaced when the new one is kept), so a
     * reply that could not be used is never served again. When dsp_chat
     * returns DSP_OK, the last call of keep was about the returned reply.
     * dsp_predict parses here: only replies that parsed into the
     * signature's outputs are cached. NULL: every reply is kept. */
    bool (*keep)(void *ctx, const dsp_chat_response *resp);
    void *keep_ctx;
    /* true: a reply keep refuses is not the call's end (dsp_predict asks
     * again with the JSON adapter), so the client's breaker does not count
     * it as a reply that does not parse; the second attempt is counted. */
    bool keep_refusal_retried;
    /* What made the call, for traces (dsp/trace.h): dsp_predict puts the
     * predictor's name here. NULL: nothing. Not sent, not in the cache key. */
    const char *label;
    /* What keep noticed in the reply and let pass, for the call's trace
     * line (`dspcc.note`): dsp_predict notes the keys of a structured
     * reply that no field declares, when the client traces. keep writes
     * the text (NUL-terminated) into this buffer; NULL: no note. Not sent,
     * not in the cache key. */
    char *note;
    size_t note_size;
    /* Streaming: when set, dsp_chat asks for a stream (OpenAI-compatible
     * and Azure `stream: true` with usage, Anthropic `stream: true`,
     * Gemini streamGenerateContent) and hands on choice 0's text as it
     * arrives, then returns the same response a plain call would. A reply
     * from the cache is replayed through it in one piece; Bedrock, calls
     * asking for n > 1 choices and calls with native tools get a plain
     * request whose choice 0 is handed on once it is whole. Only a stream
     * that reached its end is
     * cached; one cut off or cancelled is not, and a stream that failed
     * after text was handed on is not retried (the text would repeat). */
    dsp_chat_text_fn on_text;
    void *on_text_ctx;
} dsp_chat_request;

void dsp_chat_response_free(dsp_chat_response *r);

#ifdef __cplusplus
}
#endif
#endif
