/* answer.h — from a request body to a complete HTTP answer, without HTTP.
 *
 * This is where the wire formats, the learner, sampling and fault injection
 * meet; server.c only moves bytes. Keeping it free of libmicrohttpd lets
 * the unit tests call it directly.
 */
#ifndef RS_ANSWER_H
#define RS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ft_store.h"
#include "options.h"
#include "wire.h"

typedef struct rs_answer {
    int status;
    const char *body;           /* the whole body */
    size_t send_len;            /* bytes to send before failing (truncate); else the body's length */
    size_t body_len;            /* > 0: the body's length, when it is binary (Bedrock's event stream); 0: strlen */
    rs_fault fault;             /* the fault injected, RS_FAULT_NONE if none */
    unsigned delay_ms;          /* latency, or the hang */
    unsigned retry_after_ms;    /* 429: the Retry-After to send */
    uint64_t oversize;          /* > 0: send this many bytes instead of body */
    bool stream;                /* the request asked for a stream: a 200 goes as events (stream.h) */
    bool stream_usage;          /* ... with OpenAI's usage chunk */
    /* For the request log. */
    const char *model;
    size_t n_messages;
    const char *prompt;
    const char *reply;          /* the first choice's text, or NULL */
    bool auth;                  /* it carried an Authorization, x-api-key or api-key header */
    const char *auth_header;    /* which of them ("authorization", "x-api-key", "api-key"), or NULL */
    int in_flight;              /* chat: the chat requests in the server when it arrived, itself included */
    double t_ms;                /* chat: when it arrived, in ms since the server started */
    double mono_ms;             /* chat: when it arrived, in ms on CLOCK_MONOTONIC (machine-wide): a
                                 * client on the same machine compares it with its own clock */
} rs_answer;

/* request_no numbers requests from 0; with the seed it decides faults. */
void rs_answer_chat(rs_arena *a, const rs_options *o, rs_api api, const char *body, size_t len,
                    const char *anthropic_version, uint64_t request_no, rs_answer *out);

/* The same, where a model named "ft:..." is a fine-tuned model of ft (may
 * be NULL): its training examples join the prompt's demos; a name no
 * succeeded job produced is a 404 model_not_found. */
void rs_answer_chat_ft(rs_arena *a, const rs_options *o, rs_ft_store *ft, rs_api api, const char *body,
                       size_t len, const char *anthropic_version, uint64_t request_no, rs_answer *out);

/* The fault request_no gets (RS_FAULT_NONE: none): --fail-rate, --fail-kinds
 * and the seed decide, for chat and embeddings alike. */
rs_fault rs_pick_fault(const rs_options *o, uint64_t request_no);

/* An error answer in the API's shape (404, 405, 413, ...). */
void rs_answer_error(rs_arena *a, rs_api api, int status, const char *message, const char *code,
                     rs_answer *out);

#endif
