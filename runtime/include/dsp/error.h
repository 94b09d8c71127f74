/* dsp/error.h — status codes and the error record every fallible libdsprt
 * call fills.
 *
 * Convention: a function that can fail returns dsp_status and takes a
 * `dsp_error *err` last. On failure it sets err->status, a message a user
 * can act on, and, for replies that could not be parsed, the raw reply text.
 * err may be NULL when the caller does not want the details.
 */
#ifndef DSP_ERROR_H
#define DSP_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Format checking on gcc and clang; other compilers ignore the attribute.
 * Written plainly (not behind #if at each use) so tools that read the
 * headers without a preprocessor, like dsp-cshape, parse them. */
#if !defined(__GNUC__) && !defined(__attribute__)
#define __attribute__(x)
#endif

typedef enum dsp_status {
    DSP_OK = 0,
    DSP_ERR_INVALID,   /* bad argument or configuration */
    DSP_ERR_NOMEM,     /* allocation failed */
    DSP_ERR_IO,        /* file system */
    DSP_ERR_NETWORK,   /* connection failed, reset, DNS */
    DSP_ERR_TIMEOUT,   /* connect or total timeout */
    DSP_ERR_HTTP,      /* non-2xx reply; http_status and the provider message */
    DSP_ERR_PROTOCOL,  /* a 2xx reply that does not follow the provider's API */
    DSP_ERR_PARSE,     /* an LM reply that lacks a field or has a wrong type */
    DSP_ERR_CACHE,     /* the response cache could not be opened or written */
    DSP_ERR_ENV,       /* a required environment variable is missing */
    DSP_ERR_STOPPED,   /* the client stopped: too many LM calls failed the same way (dsp_client_options.breaker_after) */
    DSP_ERR_CANCELLED, /* a streaming callback asked to stop (dsp_chat_request.on_text, dsp/predict.h) */
    DSP_ERR_DEFERRED   /* not sent: recorded for a provider batch (dsp/lm_batch.h) */
} dsp_status;

#define DSP_ERROR_MESSAGE_MAX 1024

/* A dsp_error given to a runtime call must start zeroed (dsp_error err =
 * {0};) or hold what an earlier call left: a call replaces what it holds,
 * freeing the raw reply an earlier failure left, so one err serves a loop
 * of calls without a leak; never pass uninitialized memory. Arrays of
 * errors a batch call fills (dsp_chat_batch, a generated run_batch) are
 * outputs instead: overwritten, they need no initializing. Free what an
 * error holds with dsp_error_clear once done. */
typedef struct dsp_error {
    dsp_status status;
    int http_status;                     /* 0 unless status == DSP_ERR_HTTP */
    char message[DSP_ERROR_MESSAGE_MAX]; /* never holds an API key */
    char *raw;                           /* owned: raw LM reply for DSP_ERR_PARSE, else NULL */
    size_t path_len;                     /* the message starts with a path of this many bytes
                                            inside a value (`[2].type`), 0 when none */
} dsp_error;

/* Frees err->raw and resets err to DSP_OK. Safe on a zeroed error. */
void dsp_error_clear(dsp_error *err);

/* Sets status and a printf-style message; returns status so a caller can
 * write `return dsp_error_set(err, DSP_ERR_INVALID, "...")`. err may be NULL. */
dsp_status dsp_error_set(dsp_error *err, dsp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attaches a copy of the raw reply text (replacing any earlier one). */
void dsp_error_set_raw(dsp_error *err, const char *raw, size_t len);

/* A short fixed name for a status, e.g. "http", "parse". */
const char *dsp_status_name(dsp_status status);

#ifdef __cplusplus
}
#endif
#endif
