/* ratelimit.c — pacing and AIMD per endpoint (ratelimit.h). */
#include "ratelimit.h"

#include "loop.h"
#include "retry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The tpm bucket holds this many seconds' worth of tokens. */
#define DSP_RATE_BUCKET_S 1.0

static double bucket_cap(const dsp_rate *r)
{
    return (double)r->tpm / 60.0 * DSP_RATE_BUCKET_S;
}

static void refill(dsp_rate *r, double now)
{
    if (now > r->tokens_at) {
        r->tokens += (now - r->tokens_at) * (double)r->tpm / 60.0;
        if (r->tokens > bucket_cap(r))
            r->tokens = bucket_cap(r);
        r->tokens_at = now;
    }
}

bool dsp_rate_try(dsp_rate *r, double tokens, double now, uint64_t *ticket, double *retry_at)
{
    if (now < r->paused_until) {
        *retry_at = r->paused_until;
        return false;
    }
    /* At its full size the window is the client's max_in_flight, which
     * take_slot enforces: only a window cut by a 429 holds requests here. */
    if ((int)r->window < r->max_window && r->in_flight >= (int)r->window) {
        *retry_at = INFINITY;
        return false;
    }
    if (r->rpm > 0 && now < r->next_at) {
        *retry_at = r->next_at;
        return false;
    }
    if (r->tpm > 0) {
        refill(r, now);
        double need = tokens < bucket_cap(r) ? tokens : bucket_cap(r);
        if (r->tokens < need) {
            *retry_at = now + (need - r->tokens) / ((double)r->tpm / 60.0);
            return false;
        }
        r->tokens -= tokens;
    }
    if (r->rpm > 0)
        r->next_at = (r->next_at > now ? r->next_at : now) + 60.0 / (double)r->rpm;
    r->in_flight++;
    *ticket = ++r->sent;
    return true;
}

void dsp_rate_done(dsp_rate *r, uint64_t ticket, int http_status, double retry_after_s, double estimate,
                   double used, double now)
{
    if (r->in_flight > 0)
        r->in_flight--;
    if (http_status == 429) {
        r->good = 0;
        if (ticket > r->cut_at) {
            r->window = r->window < 2 ? 1 : floor(r->window / 2);
            r->cut_at = r->sent;
            r->cuts++;
        }
        if (retry_after_s > 0 && now + retry_after_s > r->paused_until)
            r->paused_until = now + retry_after_s;
    } else if (http_status != 0 && r->window < r->max_window && ++r->good >= (int)r->window) {
        r->good = 0;
        r->window += 1;
        r->raises++;
    }
    /* The tokens the endpoint counted, once known, replace the estimate. */
    if (r->tpm > 0 && used > 0)
        r->tokens += estimate - used;
}

void dsp_rates_init(dsp_rates *rs, int max_window)
{
    memset(rs, 0, sizeof *rs);
    pthread_mutex_init(&rs->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->changed, &ca);
    pthread_condattr_destroy(&ca);
    rs->max_window = max_window > 0 ? max_window : 1;
}

bool dsp_rates_paused(dsp_rates *rs, const dsp_rate *r, double now)
{
    if (!r)
        return false;
    pthread_mutex_lock(&rs->lock);
    bool paused = now < r->paused_until;
    pthread_mutex_unlock(&rs->lock);
    return paused;
}

void dsp_rates_destroy(dsp_rates *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->items[i]->key);
        free(rs->items[i]);
    }
    free(rs->items);
    pthread_cond_destroy(&rs->changed);
    pthread_mutex_destroy(&rs->lock);
}

static int tighter(int a, int b)
{
    if (a <= 0)
        return b;
    if (b <= 0)
        return a;
    return a < b ? a : b;
}

/* A new limiter in rs (under its lock), or NULL when out of memory. */
static dsp_rate *make_rate(dsp_rates *rs, const char *url, const char *model, int rpm, int tpm)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 4;
        dsp_rate **items = realloc(rs->items, cap * sizeof *items);
        if (!items)
            return NULL;
        rs->items = items;
        rs->cap = cap;
    }
    dsp_rate *r = calloc(1, sizeof *r);
    size_t n = strlen(url) + strlen(model) + 2;
    if (!r || !(r->key = malloc(n))) {
        free(r);
        return NULL;
    }
    snprintf(r->key, n, "%s %s", url, model);
    r->rpm = rpm > 0 ? rpm : 0;
    r->tpm = tpm > 0 ? tpm : 0;
    r->max_window = rs->max_window;
    r->window = rs->max_window;
    r->tokens = bucket_cap(r);
    r->tokens_at = dsp_monotonic_s();
    rs->items[rs->n++] = r;
    return r;
}

dsp_rate *dsp_rates_get(dsp_rates *rs, const char *url, const char *model, int rpm, int tpm)
{
    size_t ul = strlen(url);
    pthread_mutex_lock(&rs->lock);
    dsp_rate *r = NULL;
    for (size_t i = 0; i < rs->n && !r; i++) {
        const char *k = rs->items[i]->key;
        if (strncmp(k, url, ul) == 0 && k[ul] == ' ' && strcmp(k + ul + 1, model) == 0)
            r = rs->items[i];
    }
    if (r) {
        r->rpm = tighter(r->rpm, rpm);
        r->tpm = tighter(r->tpm, tpm);
    } else {
        r = make_rate(rs, url, model, rpm, tpm);
    }
    pthread_mutex_unlock(&rs->lock);
    return r;
}

dsp_status dsp_rates_acquire(dsp_rates *rs, dsp_rate *r, double tokens, double deadline, const char *model_spec,
                             uint64_t *ticket, dsp_error *err)
{
    if (!r)
        return DSP_OK;
    for (;;) {
        pthread_mutex_lock(&rs->lock);
        double now = dsp_monotonic_s(), at = 0;
        bool ok = dsp_rate_try(r, tokens, now, ticket, &at);
        /* at is INFINITY when only a request's end can free the way: the
         * wait for it ends at the deadline. */
        if (ok || (isfinite(at) && at > deadline) || now >= deadline) {
            pthread_mutex_unlock(&rs->lock);
            if (ok)
                return DSP_OK;
            return dsp_error_set(err, DSP_ERR_TIMEOUT,
                                 "%s: no request could be sent within the call's deadline: %s",
                                 model_spec,
                                 now < r->paused_until ? "the endpoint asked to wait (Retry-After) past it"
                                 : (int)r->window < r->max_window && r->in_flight >= (int)r->window
                                     ? "the requests in flight to the endpoint (its concurrency, lowered after "
                                       "HTTP 429) stayed busy"
                                     : "the lm's rpm/tpm rate limit paces requests past it");
        }
        /* Look again when the limit allows, when a request ends (woken),
         * or after a short while in case a wake-up was missed. */
        double until = at < now + 0.05 ? at : now + 0.05;
        if (dsp_loop_active()) {
            pthread_mutex_unlock(&rs->lock);
            dsp_loop_wait(until);
        } else {
            struct timespec ts;
            ts.tv_sec = (time_t)until;
            ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
            pthread_cond_timedwait(&rs->changed, &rs->lock, &ts);
            pthread_mutex_unlock(&rs->lock);
        }
    }
}

void dsp_rates_release(dsp_rates *rs, dsp_rate *r, uint64_t ticket, int http_status, double retry_after_s,
                       double estimate, double used)
{
    if (!r)
        return;
    pthread_mutex_lock(&rs->lock);
    dsp_rate_done(r, ticket, http_status, retry_after_s, estimate, used, dsp_monotonic_s());
    pthread_cond_broadcast(&rs->changed);
    pthread_mutex_unlock(&rs->lock);
    dsp_loop_wake_waiter();
}
