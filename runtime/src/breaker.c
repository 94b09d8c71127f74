/* breaker.c — the client stops after failures that repeat (see breaker.h). */
#include "breaker.h"

#include <stdio.h>
#include <string.h>

enum { K_NONE, K_RATE_LIMIT, K_SERVER, K_HTTP, K_NETWORK, K_TIMEOUT, K_MALFORMED, K_UNPARSEABLE };

static const char *const k_kind_names[] = {
    "", "HTTP 429 (rate limited)", "a server error (HTTP 5xx)", "an HTTP error", "a connection error",
    "a timeout", "a malformed reply", "a reply that does not parse into the signature's outputs",
};

/* The kind of a failed call, K_NONE for failures that never reach the LM
 * or say nothing about the endpoint. */
static int kind_of(dsp_status st, int http_status, bool unparseable)
{
    if (st == DSP_OK)
        return unparseable ? K_UNPARSEABLE : K_NONE;
    switch (st) {
    case DSP_ERR_HTTP:
        /* Any other 4xx is a bad request (a model name, a parameter, a key
         * refused): the endpoint answered, and stopping would not help. */
        if (http_status >= 400 && http_status < 500 && http_status != 408 && http_status != 429)
            return K_NONE;
        return http_status == 429 ? K_RATE_LIMIT : http_status >= 500 ? K_SERVER : K_HTTP;
    case DSP_ERR_NETWORK: return K_NETWORK;
    case DSP_ERR_TIMEOUT: return K_TIMEOUT;
    case DSP_ERR_PROTOCOL: return K_MALFORMED;
    default: return K_NONE;
    }
}

void dsp_breaker_init(dsp_breaker *b, int after, double rate)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
    b->after = after;
    b->rate = rate;
    atomic_init(&b->tripped, false);
}

void dsp_breaker_destroy(dsp_breaker *b)
{
    pthread_mutex_destroy(&b->lock);
}

void dsp_breaker_record(dsp_breaker *b, dsp_status st, int http_status, bool unparseable, int64_t requests,
                        int64_t unanswered, const char *message)
{
    int kind = kind_of(st, http_status, unparseable);
    bool failed = kind != K_NONE;
    if (!failed && st != DSP_OK)
        return; /* never reached the LM: nothing to learn */
    pthread_mutex_lock(&b->lock);
    if (atomic_load(&b->tripped)) {
        pthread_mutex_unlock(&b->lock);
        return;
    }
    if (b->n_window == DSP_BREAKER_WINDOW)
        b->fails_in_window -= b->window[b->next];
    else
        b->n_window++;
    /* An unparseable reply says more about the model than the endpoint: a
     * weak model may fail the format often and still be worth a score. It
     * counts toward its own streak only, which must be 3 x as long. */
    bool endpoint_failed = failed && kind != K_UNPARSEABLE;
    b->window[b->next] = endpoint_failed;
    b->fails_in_window += endpoint_failed;
    b->next = (b->next + 1) % DSP_BREAKER_WINDOW;
    if (!failed) {
        b->streak_kind = K_NONE;
        b->streak_len = 0;
        b->streak_requests = 0;
    } else if (kind == b->streak_kind) {
        b->streak_len++;
        b->streak_requests += requests;
    } else {
        b->streak_kind = kind;
        b->streak_len = 1;
        b->streak_requests = requests;
    }
    /* A call whose every request got nothing back, not even a status line,
     * till its deadline: the endpoint is silent. Counted by requests, so
     * the calls in flight when that starts are enough to tell. */
    bool silent = (kind == K_TIMEOUT || kind == K_NETWORK) && requests > 0 && unanswered == requests;
    if (silent) {
        b->silent_requests += requests;
        b->silent_calls++;
    } else {
        b->silent_requests = 0;
        b->silent_calls = 0;
    }
    bool said = message && *message;
    int after = kind == K_UNPARSEABLE ? 3 * b->after : b->after;
    if (silent && b->after > 0 && b->silent_requests >= b->after && b->streak_len < after) {
        snprintf(b->why, sizeof b->why,
                 "the endpoint answered none of %lld HTTP requests in a row, over %d LM calls (retries included: "
                 "each timed out or lost its connection with not a byte back)%s%.600s",
                 (long long)b->silent_requests, b->silent_calls, said ? "; the last: " : "", said ? message : "");
        atomic_store(&b->tripped, true);
    } else if (failed && b->after > 0 && b->streak_len >= after) {
        snprintf(b->why, sizeof b->why,
                 "%d LM calls in a row failed with %s, after %lld HTTP requests (retries included)%s%.600s",
                 b->streak_len, k_kind_names[kind], (long long)b->streak_requests, said ? "; the last: " : "",
                 said ? message : "");
        atomic_store(&b->tripped, true);
    } else if (endpoint_failed && b->rate > 0 && b->fails_in_window > b->rate * DSP_BREAKER_WINDOW) {
        snprintf(b->why, sizeof b->why, "%d of the last %zu LM calls failed, the last with %s%s%.600s",
                 b->fails_in_window, b->n_window, k_kind_names[kind], said ? ": " : "", said ? message : "");
        atomic_store(&b->tripped, true);
    }
    pthread_mutex_unlock(&b->lock);
}

dsp_status dsp_breaker_error(dsp_breaker *b, dsp_error *err)
{
    pthread_mutex_lock(&b->lock);
    dsp_status st = dsp_error_set(err, DSP_ERR_STOPPED, "the client stopped calling the LM: %s", b->why);
    pthread_mutex_unlock(&b->lock);
    return st;
}
