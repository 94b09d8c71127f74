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

/* True when none of the 8 bytes in x needs an escape (below 0x20, '"' or
 * '\\'): the classic "has a zero / has a byte less than n" bit tests, exact
 * for the word as a whole. Prompts are long and mostly plain, so scanning
 * them a word at a time is most of what building a request body costs. */
static inline bool word_is_plain(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t ctl = (x - ones * 0x20) & ~x;
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
    uint64_t quote = (q - ones) & ~q, slash = (bs - ones) & ~bs;
    return ((ctl | quote | slash) & highs) == 0;
}

void dsp_jw_str(dsp_jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    if (n > SIZE_MAX / 2) {
        w->failed = true;
        return;
    }
    /* Room for the text unescaped; escapes are rare in prompts and grow the
     * buffer as they come. Reserving the worst case (6 bytes a byte) up
     * front would reallocate a prompt-sized body on every request. */
    if (!reserve(w, n + 2))
        return;
    w->buf[w->len++] = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* Copy the run of bytes that need no escape in one go. */
        const unsigned char *run = p;
        uint64_t word;
        while (end - p >= 8 && (memcpy(&word, p, 8), word_is_plain(word)))
            p += 8;
        while (p < end && !needs_escape[*p])
            p++;
        memcpy(w->buf + w->len, run, (size_t)(p - run));
        w->len += (size_t)(p - run);
        if (p == end)
            break;
        /* 6 bytes for this escape, the rest unescaped, the closing quote. */
        if (!reserve(w, 6 + (size_t)(end - p) + 1))
            return;
        char *o = w->buf + w->len;
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
        w->len = (size_t)(o - w->buf);
    }
    w->buf[w->len++] = '"';
}

void dsp_jw_int(dsp_jw *w, int64_t v)
{
    /* Digits by hand: snprintf costs more than the rest of a small field,
     * and every request body has a few. Unsigned so INT64_MIN negates. */
    char b[24];
    size_t i = sizeof b;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    dsp_jw_raw(w, b + i, sizeof b - i);
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
