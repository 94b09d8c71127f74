/* error.c — the dsp_error record. */
#include "dsp/error.h"
#include "dsp/value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsp_error_clear(dsp_error *err)
{
    if (!err)
        return;
    free(err->raw);
    /* Not a memset of the whole record: the message is a string, and
     * clearing 1 KiB costs more than some calls that clear it. */
    err->status = DSP_OK;
    err->http_status = 0;
    err->message[0] = '\0';
    err->raw = NULL;
    err->path_len = 0;
}

dsp_status dsp_error_set(dsp_error *err, dsp_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    err->status = status;
    err->path_len = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* A message may quote bytes of a reply or an input that are not UTF-8,
     * or be cut inside a sequence; it is printed as text and into JSON
     * (eval --json, --predictions, traces), which must be UTF-8: such bytes
     * become '?'. The exact bytes stay in raw. */
    size_t len = strlen(err->message);
    for (size_t at = dsp_text_invalid_at(err->message, len); at < len;
         at += 1 + dsp_text_invalid_at(err->message + at + 1, len - at - 1))
        err->message[at] = '?';
    /* It also quotes what a server sent (an HTTP error's message, a reply
     * that did not parse), printed on a terminal: a hostile server's escape
     * sequences (ESC [ ..., OSC titles, a CR overwriting the line) become
     * '?' too. Tabs and newlines stay: they move no cursor back. */
    for (char *c = err->message; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t') || *c == 0x7f)
            *c = '?';
    return status;
}

void dsp_error_set_raw(dsp_error *err, const char *raw, size_t len)
{
    if (!err)
        return;
    free(err->raw);
    err->raw = malloc(len + 1);
    if (!err->raw)
        return; /* the message still says what failed; only the copy is lost */
    if (len) /* a reply with no body is NULL, 0: memcpy may not take NULL */
        memcpy(err->raw, raw, len);
    err->raw[len] = '\0';
}

const char *dsp_status_name(dsp_status status)
{
    switch (status) {
    case DSP_OK: return "ok";
    case DSP_ERR_INVALID: return "invalid";
    case DSP_ERR_NOMEM: return "out of memory";
    case DSP_ERR_IO: return "io";
    case DSP_ERR_NETWORK: return "network";
    case DSP_ERR_TIMEOUT: return "timeout";
    case DSP_ERR_HTTP: return "http";
    case DSP_ERR_PROTOCOL: return "protocol";
    case DSP_ERR_PARSE: return "parse";
    case DSP_ERR_CACHE: return "cache";
    case DSP_ERR_ENV: return "environment";
    case DSP_ERR_STOPPED: return "stopped";
    case DSP_ERR_CANCELLED: return "cancelled";
    case DSP_ERR_DEFERRED: return "deferred";
    }
    return "unknown";
}
