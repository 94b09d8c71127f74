/* endpoints.c — several base URLs per lm: turns and failover (endpoints.h). */
#include "endpoints.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t dsp_base_urls_split(const char *spec, char *buf, size_t bufsz, const char *urls[DSP_MAX_BASE_URLS])
{
    size_t len = spec ? strlen(spec) : 0;
    if (len == 0 || len >= bufsz)
        return 0;
    memcpy(buf, spec, len + 1);
    size_t n = 0;
    char *p = buf;
    while (*p && n < DSP_MAX_BASE_URLS) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        urls[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    /* Past the last URL kept, the text ends. */
    *p = '\0';
    return n;
}

void dsp_endpoints_init(dsp_endpoints *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
}

void dsp_endpoints_destroy(dsp_endpoints *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->items[i].url);
    free(e->items);
    pthread_mutex_destroy(&e->lock);
}

/* The state of url (under the lock), made on first sight; NULL when out
 * of memory (the URL then counts as up). */
static dsp_endpoint_state *state_of(dsp_endpoints *e, const char *url)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->items[i].url, url) == 0)
            return &e->items[i];
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        dsp_endpoint_state *items = realloc(e->items, cap * sizeof *items);
        if (!items)
            return NULL;
        e->items = items;
        e->cap = cap;
    }
    char *copy = strdup(url);
    if (!copy)
        return NULL;
    e->items[e->n] = (dsp_endpoint_state){copy, 0, 0};
    return &e->items[e->n++];
}

static double down_until(dsp_endpoints *e, const char *url)
{
    dsp_endpoint_state *s = state_of(e, url);
    return s ? s->down_until : 0;
}

size_t dsp_endpoints_pick(dsp_endpoints *e, const char *const *urls, size_t n, double now)
{
    if (n <= 1)
        return 0;
    pthread_mutex_lock(&e->lock);
    size_t start = e->turn++ % n, best = start;
    double soonest = INFINITY;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        double until = down_until(e, urls[i]);
        if (until <= now) {
            best = i;
            break;
        }
        if (until < soonest) {
            soonest = until;
            best = i;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return best;
}

bool dsp_endpoints_other_up(dsp_endpoints *e, const char *const *urls, size_t n, size_t skip, double now)
{
    bool up = false;
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < n && !up; i++)
        up = i != skip && down_until(e, urls[i]) <= now;
    pthread_mutex_unlock(&e->lock);
    return up;
}

void dsp_endpoints_report(dsp_endpoints *e, const char *url, bool down, double now)
{
    pthread_mutex_lock(&e->lock);
    dsp_endpoint_state *s = state_of(e, url);
    if (s && down) {
        double wait = DSP_ENDPOINT_DOWN_S * ldexp(1.0, s->fails < 5 ? s->fails : 5);
        s->fails++;
        s->down_until = now + (wait < DSP_ENDPOINT_DOWN_MAX_S ? wait : DSP_ENDPOINT_DOWN_MAX_S);
    } else if (s) {
        s->fails = 0;
        s->down_until = 0;
    }
    pthread_mutex_unlock(&e->lock);
}
