/* retry.c — retry policy: transient failures, exponential backoff with
 * jitter, Retry-After. Pure functions; the client keeps the state. */
#include "retry.h"

#include "loop.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

bool dsp_retry_is_transient(dsp_status status, int http_status)
{
    switch (status) {
    case DSP_ERR_NETWORK:
    case DSP_ERR_TIMEOUT:
    case DSP_ERR_PROTOCOL: /* a 2xx body cut short or garbled by a proxy */
        return true;
    case DSP_ERR_HTTP:
        return http_status == 408 || http_status == 409 || http_status == 429 ||
               (http_status >= 500 && http_status <= 599);
    default:
        return false;
    }
}

double dsp_retry_after_parse(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    if (!*value)
        return -1;
    if (isdigit((unsigned char)*value)) {
        char *end;
        errno = 0;
        double s = strtod(value, &end);
        while (isspace((unsigned char)*end))
            end++;
        if (errno || *end || !isfinite(s) || s < 0)
            return -1;
        return s;
    }
    /* libcurl's date parser reads the RFC 7231 HTTP-date forms. */
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > now ? (double)(when - now) : 0.0;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

double dsp_retry_delay(int attempt, double base_s, double retry_after_s, uint64_t *rng)
{
    if (retry_after_s >= 0)
        return retry_after_s < DSP_RETRY_MAX_DELAY_S ? retry_after_s : DSP_RETRY_MAX_DELAY_S;
    if (attempt < 0)
        attempt = 0;
    if (attempt > 30)
        attempt = 30;
    double d = base_s * ldexp(1.0, attempt);
    double u = (double)(xorshift64(rng) >> 11) / 9007199254740992.0; /* [0, 1) */
    d += d * 0.5 * u;
    return d < DSP_RETRY_MAX_DELAY_S ? d : DSP_RETRY_MAX_DELAY_S;
}

void dsp_sleep_s(double s)
{
    if (!(s > 0))
        return;
    if (dsp_loop_active()) {
        dsp_loop_sleep(s);
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

double dsp_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
