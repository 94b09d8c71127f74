/* ratelimit.h — internal: how fast the client sends to one endpoint (one
 * base URL and model). Three rules, checked before every attempt:
 *
 *  - rpm and tpm (an lm's `rpm:` and `tpm:`): requests and estimated
 *    tokens per minute, paced evenly: a request starts at most every
 *    60/rpm s, and the tokens of the requests started within any second
 *    stay near tpm/60 (a bucket holding one second's worth, refilled
 *    continuously; a request larger than that waits for a full bucket and
 *    leaves it in debt).
 *  - a concurrency window (AIMD): at most `window` requests to the
 *    endpoint in flight. It starts at the client's max_in_flight; a 429
 *    halves it (at most once per round: a 429 to a request sent before the
 *    last cut does not cut again), and each window's worth of replies in a
 *    row that are not 429 adds one, up to max_in_flight again.
 *  - Retry-After: a 429 that says how long to wait holds every request to
 *    the endpoint that long, not only the one retried.
 *
 * The decisions (dsp_rate_try, dsp_rate_done) take the time as an
 * argument, so tests drive them with a clock of their own. */
#ifndef DSP_RATELIMIT_H
#define DSP_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dsp/error.h"

typedef struct dsp_rate {
    char *key;           /* "URL model" */
    int rpm, tpm;        /* 0: no such limit */
    double window;       /* requests allowed in flight, 1..max_window */
    int good;            /* replies since the last raise or 429 */
    int max_window;
    int in_flight;
    double next_at;      /* rpm: the earliest start of the next request */
    double tokens;       /* tpm: the bucket at tokens_at (may be negative: debt) */
    double tokens_at;
    double paused_until; /* a 429's Retry-After */
    uint64_t sent;       /* requests started so far */
    uint64_t cut_at;     /* `sent` when the window was last cut */
    int64_t cuts, raises;
} dsp_rate;

/* Whether a request estimated at `tokens` may start at time now (seconds,
 * monotonic); if so it counts as started and *ticket identifies it for
 * dsp_rate_done. If not, *retry_at is when to ask again (INFINITY: when a
 * request in flight is done). */
bool dsp_rate_try(dsp_rate *r, double tokens, double now, uint64_t *ticket, double *retry_at);

/* A request started with ticket ended at time now: http_status of its
 * reply (0 when none came), retry_after_s of a 429 (< 0: none), and the
 * tokens it was estimated at and really used (used <= 0: unknown). */
void dsp_rate_done(dsp_rate *r, uint64_t ticket, int http_status, double retry_after_s, double estimate,
                   double used, double now);

/* The client's limiters, one per endpoint and model. */
typedef struct dsp_rates {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a request ended: waiting threads look again */
    dsp_rate **items;
    size_t n, cap;
    int max_window;
} dsp_rates;

void dsp_rates_init(dsp_rates *rs, int max_window);

/* Whether r (NULL: unpaced) holds its requests at now because a 429 asked
 * to wait (Retry-After). */
bool dsp_rates_paused(dsp_rates *rs, const dsp_rate *r, double now);
void dsp_rates_destroy(dsp_rates *rs);

/* The limiter of url and model, made at first use with rpm and tpm (a
 * later lm naming the same endpoint with other limits tightens them to
 * the smaller). NULL when out of memory: the call then goes unpaced. */
dsp_rate *dsp_rates_get(dsp_rates *rs, const char *url, const char *model, int rpm, int tpm);

/* Waits until r lets a request of `tokens` start, at most until deadline
 * (monotonic); in a job of an event loop only the job waits. DSP_OK with
 * *ticket, or DSP_ERR_TIMEOUT when the deadline would pass first (err says
 * so, naming model_spec). */
dsp_status dsp_rates_acquire(dsp_rates *rs, dsp_rate *r, double tokens, double deadline, const char *model_spec,
                             uint64_t *ticket, dsp_error *err);

/* dsp_rate_done now, under the lock, waking whoever waits. */
void dsp_rates_release(dsp_rates *rs, dsp_rate *r, uint64_t ticket, int http_status, double retry_after_s,
                       double estimate, double used);

#endif
