/* http_request.c — one request on a handle of its own: any method,
 * multipart bodies through libcurl's MIME API (see http_request.h). */
#include "http_request.h"

#include "retry.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Replies larger than this are refused, as for chat (http.c). */
#define DSP_HTTP_REQUEST_MAX_BODY (64u * 1024u * 1024u)
/* Header lines a request may carry. */
#define DSP_HTTP_REQUEST_MAX_HEADERS 8

typedef struct body_sink {
    char *buf;
    size_t len, cap;
    int too_big, no_mem;
} body_sink;

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    body_sink *s = userp;
    size_t n = size * nmemb;
    if (s->len + n > DSP_HTTP_REQUEST_MAX_BODY) {
        s->too_big = 1;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->no_mem = 1;
            return 0;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

static dsp_status transfer_failure(CURLcode rc, const char *errbuf, const char *url, const body_sink *s,
                                   dsp_error *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (s->too_big)
        return dsp_error_set(err, DSP_ERR_NETWORK, "reply from %s is larger than %u bytes; refused, and not asked for again",
                             url, DSP_HTTP_REQUEST_MAX_BODY);
    if (s->no_mem || rc == CURLE_OUT_OF_MEMORY)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory talking to %s", url);
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return dsp_error_set(err, DSP_ERR_NETWORK, "cannot resolve the host of %s: %s; check the base URL (not retried)",
                             url, why);
    case CURLE_OPERATION_TIMEDOUT:
        return dsp_error_set(err, DSP_ERR_TIMEOUT, "timed out talking to %s: %s", url, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return dsp_error_set(err, DSP_ERR_INVALID, "cannot use URL %s: %s", url, why);
    default:
        return dsp_error_set(err, DSP_ERR_NETWORK, "connection to %s failed: %s", url, why);
    }
}

/* Builds the MIME body of rq on e; NULL when libcurl ran out of memory. */
static curl_mime *build_form(CURL *e, const dsp_http_request *rq)
{
    curl_mime *form = curl_mime_init(e);
    if (!form)
        return NULL;
    for (size_t i = 0; i < rq->n_parts; i++) {
        const dsp_http_part *p = &rq->parts[i];
        curl_mimepart *part = curl_mime_addpart(form);
        if (!part || curl_mime_name(part, p->name) != CURLE_OK ||
            curl_mime_data(part, p->data ? p->data : "", p->data ? p->len : 0) != CURLE_OK ||
            (p->filename && curl_mime_filename(part, p->filename) != CURLE_OK) ||
            (p->type && curl_mime_type(part, p->type) != CURLE_OK)) {
            curl_mime_free(form);
            return NULL;
        }
    }
    return form;
}

static void read_retry_after(CURL *e, dsp_http_reply *out)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(e, "retry-after-ms", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h) {
        char *end = NULL;
        double ms = strtod(h->value, &end);
        if (end != h->value && *end == '\0' && ms >= 0 && ms < 1e9) {
            out->retry_after_s = ms / 1000.0;
            return;
        }
    }
    h = NULL;
    if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
        out->retry_after_s = dsp_retry_after_parse(h->value, time(NULL));
}

dsp_status dsp_http_send(const dsp_http_request *rq, dsp_http_reply *out, dsp_error *err)
{
    out->status = 0;
    out->body = out->inline_body;
    out->len = 0;
    out->retry_after_s = -1;
    out->permanent = false;
    out->charged = 0;
    out->owner = NULL;
    out->inline_body[0] = '\0';
    if (rq->n_headers > DSP_HTTP_REQUEST_MAX_HEADERS)
        return dsp_error_set(err, DSP_ERR_INVALID, "%zu request header lines given; at most %d are supported",
                             rq->n_headers, DSP_HTTP_REQUEST_MAX_HEADERS);
    CURL *e = curl_easy_init();
    if (!e)
        return dsp_error_set(err, DSP_ERR_NOMEM, "libcurl could not create a handle");
    struct curl_slist *hdrs = NULL;
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < rq->n_headers && st == DSP_OK; i++) {
        struct curl_slist *more = curl_slist_append(hdrs, rq->headers[i]);
        if (!more)
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
        else
            hdrs = more;
    }
    struct curl_slist *more = st == DSP_OK ? curl_slist_append(hdrs, "Expect:") : NULL;
    if (st == DSP_OK && !more)
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
    else if (more)
        hdrs = more;
    curl_mime *form = NULL;
    if (st == DSP_OK && rq->n_parts > 0 && !(form = build_form(e, rq)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a multipart body for %s", rq->url);
    body_sink s = {0};
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    if (st == DSP_OK) {
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(rq->connect_timeout_s * 1000));
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(rq->timeout_s * 1000));
        curl_easy_setopt(e, CURLOPT_USERAGENT, "libdsprt/0.1");
        curl_easy_setopt(e, CURLOPT_URL, rq->url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        if (form)
            curl_easy_setopt(e, CURLOPT_MIMEPOST, form);
        else if (strcmp(rq->method, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->len : 0));
        } else if (strcmp(rq->method, "GET") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
        }
        CURLcode rc = curl_easy_perform(e);
        if (rc != CURLE_OK) {
            st = transfer_failure(rc, errbuf, rq->url, &s, err);
            /* Asking again would only repeat these (as on the chat path). */
            out->permanent = rc == CURLE_COULDNT_RESOLVE_HOST || s.too_big;
            free(s.buf);
        } else {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
            if (out->status >= 300)
                read_retry_after(e, out);
            if (s.buf) {
                out->body = s.buf;
                out->len = s.len;
            }
        }
    }
    curl_easy_cleanup(e);
    curl_mime_free(form);
    /* libcurl copied the header lines, the key among them: wipe the copies. */
    for (struct curl_slist *h = hdrs; h; h = h->next)
        memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(hdrs);
    return st;
}
