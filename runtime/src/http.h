/* http.h — internal: the libcurl transport. One dsp_http per client; any
 * number of threads may post through it at once. Easy handles are pooled,
 * each keeping its connections alive across calls and threads, and share
 * one DNS cache and TLS session cache. */
#ifndef DSP_HTTP_H
#define DSP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "dsp/error.h"

typedef struct dsp_http dsp_http;

/* max_connections: how many idle connections one pooled handle keeps
 * open (one per host it talks to; the pool holds a handle per request
 * the client ran at once). max_held: the budget of heap memory for
 * replies in flight (0: DSP_HTTP_MAX_HELD). */
dsp_status dsp_http_new(double connect_timeout_s, double timeout_s, int max_connections, size_t max_held,
                        dsp_http **out, dsp_error *err);
void dsp_http_free(dsp_http *h);

/* The multi handle of an event loop (loop.h): its transfers spread over
 * libcurl multi handles of a bounded number of transfers each, and the
 * epoll set of all their sockets (http_multi.c): libcurl registers each
 * socket it waits on there, so a wake-up costs the sockets that are ready,
 * not all of them, and libcurl's connection-cache walks stay short at any
 * number in flight. */
typedef struct dsp_http_multi dsp_http_multi;

/* NULL when libcurl cannot make a multi handle. */
dsp_http_multi *dsp_http_multi_new(void);
void dsp_http_multi_free(dsp_http_multi *hm);
/* Starts the transfer set up on e (curl_multi_add_handle's result). */
CURLMcode dsp_http_multi_add(dsp_http_multi *hm, CURL *e);
/* Waits for socket events or libcurl's timers, at most max_wait_ms, and lets
 * libcurl act on what happened; finished transfers are then returned by
 * dsp_http_multi_done. */
void dsp_http_multi_wait(dsp_http_multi *hm, long max_wait_ms);
/* A finished transfer, taken out of the multi handle, with its result in
 * *result; NULL when no other has finished. */
CURL *dsp_http_multi_done(dsp_http_multi *hm, CURLcode *result);
/* The epoll set of the multi handle's sockets (-1: none), readable while
 * one of them is ready, and when libcurl next wants to act unprompted
 * (dsp_monotonic_s; INFINITY: never): a loop that also waits on sockets of
 * its own puts the set in an epoll set of its own and waits on both at
 * once (loop.c), then calls dsp_http_multi_wait with no wait. */
int dsp_http_multi_epoll_fd(const dsp_http_multi *hm);
double dsp_http_multi_next_timer(const dsp_http_multi *hm);

/* A multi handle from h's pool or new (NULL when none can be made), and
 * back into the pool: a multi handle keeps the connections of its
 * transfers alive, so batches that follow one another on a client reuse
 * them. One loop uses it at a time. */
dsp_http_multi *dsp_http_multi_take(dsp_http *h);
void dsp_http_multi_give(dsp_http *h, dsp_http_multi *m);

/* A reply larger than this is refused, announced by Content-Length or
 * found while reading (a permanent error: no chat completion is this big,
 * and fetching it again would not make it smaller). */
#define DSP_HTTP_MAX_BODY (64u * 1024u * 1024u)
/* The heap memory all replies of one transport in flight may hold
 * together (bodies being read and bodies not yet freed). A reply that
 * would pass it fails (DSP_ERR_NETWORK, retried once others are done), so
 * N requests at once never hold N x DSP_HTTP_MAX_BODY. */
#define DSP_HTTP_MAX_HELD (256u * 1024u * 1024u)

/* Bodies up to this size land in the reply itself, which callers keep on
 * the stack: a typical chat completion then costs no allocation (and no
 * free) per call. */
#define DSP_HTTP_INLINE_BODY 8192

typedef struct dsp_http_reply {
    long status;          /* HTTP status of the reply */
    char *body;           /* NUL-terminated; inline_body or owned heap memory */
    size_t len;
    double retry_after_s; /* from a Retry-After header; < 0 when there was none */
    /* Set with a failure that would only repeat: a host that does not
     * resolve, a reply over DSP_HTTP_MAX_BODY. Callers do not retry it. */
    bool permanent;
    /* on_body (dsp_http_limits) stopped the transfer. */
    bool stopped;
    /* With DSP_ERR_NETWORK or DSP_ERR_TIMEOUT: not one byte of a reply
     * came (no status line), so the endpoint said nothing at all. */
    bool unanswered;
    /* Heap bytes of body counted against the transport's budget for
     * replies in flight, given back by dsp_http_reply_free. */
    size_t charged;
    dsp_http *owner;
    /* Storage for small bodies. body may point here, so a reply must not
     * be copied or moved while in use. */
    char inline_body[DSP_HTTP_INLINE_BODY];
} dsp_http_reply;

void dsp_http_reply_free(dsp_http_reply *r);

/* Limits of one request, in milliseconds (> 0). */
typedef struct dsp_http_limits {
    long connect_ms; /* connecting (DNS, TCP, TLS) */
    long total_ms;   /* the whole request, connecting included */
    /* AWS Signature Version 4 by libcurl (CURLOPT_AWS_SIGV4), e.g.
     * "aws:amz:us-east-1:bedrock", with aws_userpwd "ACCESS_KEY_ID:SECRET";
     * NULL: unsigned. */
    const char *aws_sigv4;
    const char *aws_userpwd;
    /* The body goes to the heap (1 KiB first, doubling), never into the
     * reply's own storage: out may then be only its head,
     * offsetof(dsp_http_reply, inline_body) + 1 bytes (a job of an event
     * loop keeps every page of its stack resident while it waits). */
    bool heap_only;
    /* Streaming: the pieces of a 2xx body go to on_body as they arrive
     * and are not collected (the reply's body stays empty; their total is
     * still held to DSP_HTTP_MAX_BODY, and counts against the replies in
     * flight until the reply is freed). on_body returning false aborts the
     * transfer: the post then returns DSP_OK with the reply's `stopped`
     * set. Other statuses' bodies are collected as usual. NULL: none. */
    bool (*on_body)(void *ctx, const char *data, size_t n);
    void *body_ctx;
} dsp_http_limits;

/* POSTs body to url with the extra header lines given, within lim (NULL:
 * the transport's defaults). DSP_OK when an HTTP reply arrived, whatever
 * its status; DSP_ERR_NETWORK or DSP_ERR_TIMEOUT when none did;
 * DSP_ERR_INVALID for a URL libcurl cannot use. Header values never reach
 * err. */
dsp_status dsp_http_post(dsp_http *h, const char *url, const char *const *headers, size_t n_headers,
                         const char *body, size_t len, const dsp_http_limits *lim, dsp_http_reply *out,
                         dsp_error *err);

#endif
