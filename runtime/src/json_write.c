/* json_write.c — the JSON text writer. */
#include "json_write.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsp_jw_init(dsp_jw *w, size_t hint)
{
    memset(w, 0, sizeof *w);
    w->cap = hint < 64 ? 64 : hint;
    w->buf = malloc(w->cap);
    if (!w->buf)
        w->failed = true;
}

void dsp_jw_free(dsp_jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static bool reserve(dsp_jw *w, size_t extra)
{
    if (w->failed)
        return false;
    if (w->len + extra + 1 <= w->cap)
        return true;
    size_t cap = w->cap;
    while (cap < w->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            w->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

void dsp_jw_raw(dsp_jw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void dsp_jw_lit(dsp_jw *w, const char *s)
{
    dsp_jw_raw(w, s, strlen(s));
}

/* 1 for the bytes that JSON strings must escape. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

void dsp_jw_str(dsp_jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    /* Worst case: every byte becomes \u00XX. */
    if (n > (SIZE_MAX - 3) / 6) {
        w->failed = true;
        return;
    }
    if (!reserve(w, n * 6 + 2))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* Copy the run of bytes that need no escape in one go. */
        const unsigned char *run = p;
        while (p < end && !needs_escape[*p])
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p == end)
            break;
        unsigned char c = *p++;
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

void dsp_jw_int(dsp_jw *w, int64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%" PRId64, v);
    dsp_jw_raw(w, b, (size_t)n);
}

void dsp_jw_double(dsp_jw *w, double v)
{
    if (!isfinite(v)) {
        dsp_jw_lit(w, "null");
        return;
    }
    /* Whole numbers (temperature 0 or 1, most often) without printf. */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        dsp_jw_int(w, (int64_t)v);
        return;
    }
    char b[40];
    int n = snprintf(b, sizeof b, "%.15g", v);
    if (strtod(b, NULL) != v)
        n = snprintf(b, sizeof b, "%.17g", v);
    dsp_jw_raw(w, b, (size_t)n);
}

char *dsp_jw_take(dsp_jw *w)
{
    if (w->failed || !reserve(w, 0)) {
        dsp_jw_free(w);
        return NULL;
    }
    w->buf[w->len] = '\0';
    char *s = w->buf;
    memset(w, 0, sizeof *w);
    return s;
}
