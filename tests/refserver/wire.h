/* wire.h — the providers' request and reply formats.
 *
 * OpenAI chat completions and Anthropic messages, as the providers document
 * them: requests are validated (an invalid one gets the provider's
 * invalid_request_error with status 400, naming the offending parameter),
 * replies and errors are built in the providers' JSON shapes.
 */
#ifndef RS_WIRE_H
#define RS_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "prompt.h"

typedef enum rs_api { RS_API_OPENAI = 0, RS_API_ANTHROPIC, RS_API_GEMINI, RS_API_BEDROCK } rs_api;

/* Native tool calling: an assistant turn's (first) tool call, or, for a
 * message of role "tool", the id of the call it answers. */
typedef struct rs_call {
    const char *id, *name, *args;
} rs_call;

typedef struct rs_request {
    rs_api api;
    const char *model;
    rs_message *msgs;   /* system messages first (Anthropic's `system` becomes one) */
    size_t n_msgs;
    double temperature; /* the providers' default is 1 */
    long max_tokens;    /* 0: no limit */
    int n;              /* choices (OpenAI only) */
    bool has_seed;
    int64_t seed;
    const char **stop;
    size_t n_stop;
    bool json;           /* response_format json_object or json_schema */
    const cJSON *schema; /* json_schema.schema, borrowed from the request */
    const char *tool;    /* Anthropic: the tool tool_choice forces (its input_schema is
                            `schema`); the reply is its tool_use block. NULL: none */
    /* Native tool calling (wire_tools.c): the request's tools, when the
     * model may choose among them (OpenAI function tools; Anthropic tools
     * tool_choice does not force), borrowed; NULL: none. calls has one
     * entry per message (zeroed where there is no call). */
    const cJSON *tools;
    rs_call *calls;
    size_t steps_done;   /* with tools: the tool results of the last exchange */
    int tool_fault;      /* --tool-call-faults: 0 none; 1 arguments not JSON (Anthropic:
                            unknown tool), 2 unknown tool, 3 no id */
    bool stream;         /* `stream: true` (stream.h) */
    bool include_usage;  /* OpenAI: stream_options.include_usage */
} rs_request;

typedef struct rs_wire_error {
    int status;
    const char *message;
    const char *param; /* OpenAI: the parameter at fault, or NULL */
    const char *code;  /* OpenAI: a machine-readable code, or NULL */
} rs_wire_error;

typedef struct rs_choice {
    const char *text;
    bool hit_length;        /* cut at max_tokens */
    const char *stop_seq;   /* the stop sequence that ended it, or NULL */
    long completion_tokens;
} rs_choice;

bool rs_openai_parse(rs_arena *a, const cJSON *root, rs_request *req, rs_wire_error *err);
const char *rs_openai_reply(rs_arena *a, const rs_request *req, const rs_choice *choices, size_t n,
                            long prompt_tokens, uint64_t id);
const char *rs_openai_models(rs_arena *a);

bool rs_anthropic_parse(rs_arena *a, const cJSON *root, const char *version_header,
                        rs_request *req, rs_wire_error *err);
const char *rs_anthropic_reply(rs_arena *a, const rs_request *req, const rs_choice *choice,
                               long prompt_tokens, uint64_t id);

/* Appends s as a JSON string (quoted and escaped by cJSON, printed into the
 * buffer without building a tree: replies are on the benchmark's hot path). */
void rs_buf_json_string(rs_buf *b, const char *s);
/* Appends a decimal integer. */
void rs_buf_int(rs_buf *b, long long v);

/* Gemini (wire_gemini.c): whether url is .../models/MODEL:generateContent
 * or :streamGenerateContent, and MODEL (copied into a); the request's model
 * is the path's. */
bool rs_gemini_route(rs_arena *a, const char *url, const char **model);
/* Whether url is a Gemini model's :streamGenerateContent. */
bool rs_gemini_is_stream(const char *url);
bool rs_gemini_parse(rs_arena *a, const cJSON *root, const char *model, rs_request *req, rs_wire_error *err);
const char *rs_gemini_reply(rs_arena *a, const rs_request *req, const rs_choice *choices, size_t n,
                            long prompt_tokens, uint64_t id);
/* The google.rpc status name of an HTTP status, for error bodies. */
const char *rs_gemini_status(int status);

/* Bedrock's Converse (wire_bedrock.c): whether url is .../model/ID/
 * converse or .../model/ID/converse-stream, and ID (copied into a). */
bool rs_bedrock_route(rs_arena *a, const char *url, const char **model);
/* Whether url is a Bedrock model's converse-stream. */
bool rs_bedrock_is_stream(const char *url);
bool rs_bedrock_parse(rs_arena *a, const cJSON *root, const char *model, rs_request *req, rs_wire_error *err);
const char *rs_bedrock_reply(rs_arena *a, const rs_request *req, const rs_choice *choice, long prompt_tokens);
/* NULL when the request's AWS SigV4 headers have the documented form
 * (Authorization AWS4-HMAC-SHA256 with a Credential scoped to x-amz-date's
 * day and the bedrock service, SignedHeaders with host and x-amz-date, and
 * x-amz-security-token when want_token, a 64-hex Signature), else AWS's
 * message for what is wrong. The fixture has no secret: it checks the
 * form, not the HMAC. */
const char *rs_bedrock_check_signature(const char *authorization, const char *amz_date, const char *token,
                                       bool want_token);

/* Whether url is Azure OpenAI's chat path, .../openai/deployments/D/chat/
 * completions (any prefix, so a base URL with a path works too). */
bool rs_azure_route(const char *url);

/* Native tool calling (wire_tools.c). rs_tools_rewrite turns a request
 * with tools into the text loop's react step prompt (dsp/react.h): the
 * tools as the instructions' list, earlier exchanges as demos, this one's
 * tool calls and results as the trajectory, so the agent (agent.c) answers
 * it. rs_tools_call reads the answer back: its thought, tool and arguments
 * (arguments as an object for Anthropic, whose input must be one). */
void rs_tools_rewrite(rs_arena *a, rs_request *req);
typedef struct rs_tool_reply {
    const char *thought, *name, *args;
} rs_tool_reply;
void rs_tools_call(rs_arena *a, const rs_request *req, const char *text, rs_tool_reply *out);
/* The id of the fixture's call in a reply: call_<16 hex> (OpenAI),
 * toolu_<16 hex> (Anthropic). */
const char *rs_tools_call_id(rs_arena *a, rs_api api, uint64_t id);

/* Sets err to a 400 with message (no param, no code); returns false. */
bool rs_wire_fail(rs_wire_error *err, const char *message);

/* The error body of either provider for err. */
const char *rs_wire_error_body(rs_arena *a, rs_api api, const rs_wire_error *err);

/* Approximate tokens: whitespace-separated words (rs_count_words, text.h)
 * +3 per message for the chat overhead. Documented in docs/refserver.md. */
long rs_prompt_tokens(const rs_request *req);

/* Applies stop sequences and max_tokens to text. */
void rs_finish_choice(rs_arena *a, const rs_request *req, const char *text, rs_choice *out);

#endif
