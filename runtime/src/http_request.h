/* http_request.h — internal: one HTTP request with any method and an
 * optional multipart/form-data body, on a handle of its own.
 *
 * For rare control-plane calls (fine-tuning: file uploads, job polls), not
 * for chat: dsp_http (http.h) keeps pooled, kept-alive handles for the hot
 * path and only POSTs JSON. */
#ifndef DSP_HTTP_REQUEST_H
#define DSP_HTTP_REQUEST_H

#include <stddef.h>

#include "dsp/error.h"
#include "http.h"

/* One part of a multipart/form-data body. filename and type may be NULL
 * (a plain form field). data is len bytes, copied by libcurl. */
typedef struct dsp_http_part {
    const char *name;
    const char *data;
    size_t len;
    const char *filename;
    const char *type;
} dsp_http_part;

typedef struct dsp_http_request {
    const char *method;           /* "GET" or "POST" */
    const char *url;
    const char *const *headers;   /* extra header lines, e.g. "Authorization: Bearer ..." */
    size_t n_headers;
    const char *body;             /* POST without parts: the body (len bytes); may be NULL */
    size_t len;
    const dsp_http_part *parts;   /* n_parts > 0: a multipart/form-data body */
    size_t n_parts;
    double connect_timeout_s, timeout_s;
} dsp_http_request;

/* Sends rq. DSP_OK when an HTTP reply arrived, whatever its status (the
 * reply's body is NUL-terminated; free with dsp_http_reply_free);
 * DSP_ERR_NETWORK or DSP_ERR_TIMEOUT when none did (out->permanent set when
 * asking again would only repeat it: a host that does not resolve, a reply
 * over DSP_HTTP_REQUEST_MAX_BODY); DSP_ERR_INVALID for a URL libcurl cannot
 * use. Header values never reach err. */
dsp_status dsp_http_send(const dsp_http_request *rq, dsp_http_reply *out, dsp_error *err);

#endif
