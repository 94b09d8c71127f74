/* json_write.c — the JSON text writer. */
#include "json_write.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DSP_JW_PORTABLE forces the scan every target has (two 8-byte words with
 * bit tests) where SSE2 would be used: the tests build it once that way, so
 * the path other CPUs take is tested on x86-64 too. */
#if defined(__SSE2__) && !defined(DSP_JW_PORTABLE)
#define DSP_JW_SSE2 1
#include <emmintrin.h>
#else
#define DSP_JW_SSE2 0
#endif

const char *dsp_jw_scan_kind(void) { return DSP_JW_SSE2 ? "sse2" : "portable"; }

void dsp_jw_init(dsp_jw *w, size_t hint)
{
    memset(w, 0, sizeof *w);
    w->cap = hint < 64 ? 64 : hint;
    w->buf = malloc(w->cap);
    if (!w->buf)
        w->failed = true;
}

void dsp_jw_init_in(dsp_jw *w, char *store, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = w->store = store;
    w->cap = cap;
}

void dsp_jw_free(dsp_jw *w)
{
    if (w->buf != w->store)
        free(w->buf);
    memset(w, 0, sizeof *w);
}

static bool reserve(dsp_jw *w, size_t extra)
{
    if (w->failed)
        return false;
    if (w->len + extra + 1 <= w->cap)
        return true;
    /* A writer emptied by dsp_jw_take or dsp_jw_free (or given no storage)
     * has cap 0, which doubling would never grow: it starts over at 64. */
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            w->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *b;
    if (w->buf == w->store) {
        /* Leaving the caller's storage, which is not ours to realloc. */
        b = malloc(cap);
        if (b && w->len)
            memcpy(b, w->buf, w->len);
    } else {
        b = realloc(w->buf, cap);
    }
    if (!b) {
        w->failed = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

void dsp_jw_raw_slow(dsp_jw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* 1 for the bytes that JSON strings must escape. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

#if !DSP_JW_SSE2
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
#endif

/* Where in the 16 bytes at p the first one needing an escape is; 16 when
 * none does. SSE2 (every x86-64) tests all 16 at once; elsewhere two words
 * of 8 with the bit tests above. */
static inline unsigned first_escape16(const unsigned char *p)
{
#if DSP_JW_SSE2
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i ctl_max = _mm_set1_epi8(0x1f);
    __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, ctl_max), ctl_max); /* x <= 0x1f */
    __m128i quote = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
    __m128i slash = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
    unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(quote, slash)));
    return mask ? (unsigned)__builtin_ctz(mask) : 16;
#else
    for (unsigned i = 0; i < 16; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        if (!word_is_plain(word)) {
            unsigned j = i;
            while (!needs_escape[p[j]])
                j++;
            return j;
        }
    }
    return 16;
#endif
}

/* Room kept free beyond the rest of the text: chunks of 16 bytes are
 * stored whole before their first escape is known, and one escape takes
 * up to 6 bytes. */
#define STR_SLACK 24

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
    if (!reserve(w, n + 2 + STR_SLACK))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    /* Invariant: at least (end - p) + STR_SLACK bytes are free at o. */
    while (p < end) {
        if (end - p >= 16) {
            unsigned k = first_escape16(p);
            memcpy(o, p, 16);
            o += k;
            p += k;
            if (k == 16)
                continue;
        } else {
            while (p < end && !needs_escape[*p])
                *o++ = (char)*p++;
            if (p == end)
                break;
        }
        /* *p needs an escape: make room for it and keep the invariant. */
        w->len = (size_t)(o - w->buf);
        size_t need = (size_t)(end - p) + STR_SLACK;
        if (w->cap - w->len < need + 1 && !reserve(w, need))
            return;
        o = w->buf + w->len;
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

bool dsp_jw_finish(dsp_jw *w)
{
    if (w->failed || !reserve(w, 0))
        return false;
    w->buf[w->len] = '\0';
    return true;
}

char *dsp_jw_take(dsp_jw *w)
{
    if (!dsp_jw_finish(w)) {
        dsp_jw_free(w);
        return NULL;
    }
    char *s = w->buf;
    if (s == w->store) {
        s = malloc(w->len + 1);
        if (s)
            memcpy(s, w->buf, w->len + 1);
    }
    memset(w, 0, sizeof *w);
    return s;
}
