/* endpoints.h — internal: an lm served at several base URLs (base_url
 * holding several, separated by spaces). The client spreads calls over
 * them in turn and sends none to one that just failed to connect or
 * answered 5xx, for a while that doubles with each failure in a row
 * (DSP_ENDPOINT_DOWN_S, at most DSP_ENDPOINT_DOWN_MAX_S); a reply of any
 * other kind brings it back. */
#ifndef DSP_ENDPOINTS_H
#define DSP_ENDPOINTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "dsp/client.h" /* DSP_MAX_BASE_URLS */
#define DSP_ENDPOINT_DOWN_S 1.0
#define DSP_ENDPOINT_DOWN_MAX_S 30.0

/* Splits a base_url value at spaces into at most DSP_MAX_BASE_URLS URLs,
 * copied into buf (bufsz bytes); urls[i] point into buf. Returns how many
 * (0 when spec is empty or longer than buf). */
size_t dsp_base_urls_split(const char *spec, char *buf, size_t bufsz, const char *urls[DSP_MAX_BASE_URLS]);

typedef struct dsp_endpoint_state {
    char *url;
    double down_until; /* monotonic; 0: up */
    int fails;         /* failures in a row */
} dsp_endpoint_state;

typedef struct dsp_endpoints {
    pthread_mutex_t lock;
    dsp_endpoint_state *items;
    size_t n, cap;
    size_t turn; /* round robin */
} dsp_endpoints;

void dsp_endpoints_init(dsp_endpoints *e);
void dsp_endpoints_destroy(dsp_endpoints *e);

/* The index among urls[0..n) the next attempt goes to: the next in turn
 * that is up; when all are down, the one back soonest. */
size_t dsp_endpoints_pick(dsp_endpoints *e, const char *const *urls, size_t n, double now);
/* Whether any of urls[0..n) but urls[skip] is up at now. */
bool dsp_endpoints_other_up(dsp_endpoints *e, const char *const *urls, size_t n, size_t skip, double now);
/* url could not be reached or answered 5xx (down), or answered otherwise (up). */
void dsp_endpoints_report(dsp_endpoints *e, const char *url, bool down, double now);

#endif
