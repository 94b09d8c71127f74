/* breaker.h — internal: the client's breaker. When LM calls keep failing
 * the same way (every one rate-limited, every one a 5xx, every reply
 * malformed), retrying each call in turn only costs time and money: after
 * `after` calls in a row that failed with the same kind of error, or once
 * more than `rate` of the last DSP_BREAKER_WINDOW calls failed, the breaker
 * trips and the client stops sending (dsp_chat fails at once with
 * DSP_ERR_STOPPED). Replies the caller could not parse trip it only after
 * 3 x `after` in a row and do not count toward the rate. A 4xx other than
 * 408 and 429 (a bad request, not a dead endpoint) is not counted at all.
 * A dead endpoint (every request of the failed calls timed out or lost its
 * connection with not a byte back) is counted by its requests: `after`
 * such requests in a row trip it, retries included, so the calls in flight
 * when it first shows, each retried until its deadline, are enough.
 * Below that, retries and their backoff apply as usual. */
#ifndef DSP_BREAKER_H
#define DSP_BREAKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dsp/error.h"

#define DSP_BREAKER_WINDOW 50
#define DSP_BREAKER_DEFAULT_AFTER 8
#define DSP_BREAKER_DEFAULT_RATE 0.8

typedef struct dsp_breaker {
    pthread_mutex_t lock;
    int after;     /* <= 0: no consecutive rule */
    double rate;   /* <= 0: no rate rule */
    bool window[DSP_BREAKER_WINDOW]; /* true: that call failed */
    size_t n_window, next;
    int fails_in_window;
    int streak_kind, streak_len; /* the failures in a row, all of one kind */
    int64_t streak_requests;     /* the HTTP requests they sent */
    int64_t silent_requests;     /* the requests in a row that got nothing back, over calls */
    int silent_calls;            /* the calls that sent them */
    atomic_bool tripped;
    char why[DSP_ERROR_MESSAGE_MAX];
} dsp_breaker;

void dsp_breaker_init(dsp_breaker *b, int after, double rate);
void dsp_breaker_destroy(dsp_breaker *b);

/* Records one call that went to the LM: st and http_status as it ended,
 * unparseable when it returned a reply its caller could not use, requests
 * the HTTP requests it sent, unanswered how many of them got not a byte
 * back, message its error (may be NULL). Calls that fail before sending
 * (no key, a bad URL) are not counted. */
void dsp_breaker_record(dsp_breaker *b, dsp_status st, int http_status, bool unparseable, int64_t requests,
                        int64_t unanswered, const char *message);

static inline bool dsp_breaker_tripped(dsp_breaker *b)
{
    return atomic_load(&b->tripped);
}

/* Sets err to DSP_ERR_STOPPED with why the breaker tripped. */
dsp_status dsp_breaker_error(dsp_breaker *b, dsp_error *err);

#endif
