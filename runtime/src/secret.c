/* secret.c — finding and blanking pieces of an API key (see secret.h).
 *
 * Every piece of DSP_SECRET_MIN_PIECE (8) or more bytes contains an 8-byte
 * window of the key, so it is enough to test each 8-byte window of the text
 * against the key's windows: a 4096-bit filter of their hashes rejects
 * almost every window at once (a reply is scanned on every call, so the
 * common case must cost a few instructions a byte), and a hit is confirmed
 * against the key itself. Finding whether there is any piece (every reply)
 * tests one in five positions of the text (sampled_found). */
#include "secret.h"

#include <stdint.h>
#include <string.h>

#define FILTER_BITS 4096

typedef struct key_windows {
    const char *key;
    size_t len;
    uint64_t filter[FILTER_BITS / 64];
} key_windows;

static uint64_t window_at(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static unsigned window_hash(uint64_t w)
{
    return (unsigned)((w * 0x9E3779B97F4A7C15ull) >> 52); /* 12 bits */
}

static uint32_t quad_at(const char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static unsigned quad_hash(uint32_t w)
{
    return (unsigned)((w * 0x9E3779B1u) >> 20); /* 12 bits */
}

static void windows_init(key_windows *kw, const char *key)
{
    memset(kw, 0, sizeof *kw);
    kw->key = key;
    kw->len = key ? strlen(key) : 0;
    for (size_t i = 0; kw->len >= DSP_SECRET_MIN_PIECE && i + DSP_SECRET_MIN_PIECE <= kw->len; i++) {
        unsigned h = window_hash(window_at(key + i));
        kw->filter[h / 64] |= 1ull << (h % 64);
    }
}

/* Whether the 8 bytes at p occur in the key. */
static bool window_in_key(const key_windows *kw, const char *p)
{
    uint64_t w = window_at(p);
    unsigned h = window_hash(w);
    if (!(kw->filter[h / 64] & (1ull << (h % 64))))
        return false;
    for (size_t i = 0; i + DSP_SECRET_MIN_PIECE <= kw->len; i++)
        if (window_at(kw->key + i) == w)
            return true;
    return false;
}

/* Calls mark(s, i, n, ctx) for each piece found (windows may overlap);
 * stops early when mark returns false. */
static void scan(const char *s, size_t len, const char *key, bool (*mark)(const char *, size_t, size_t, void *),
                 void *ctx)
{
    if (!s || !key)
        return;
    size_t klen = strlen(key);
    if (klen < DSP_SECRET_MIN_KEY)
        return; /* a placeholder: ordinary text is full of it */
    if (klen < DSP_SECRET_MIN_PIECE) {
        for (size_t i = 0; i + klen <= len; i++)
            if (memcmp(s + i, key, klen) == 0 && !mark(s, i, klen, ctx))
                return;
        return;
    }
    key_windows kw;
    windows_init(&kw, key);
    for (size_t i = 0; i + DSP_SECRET_MIN_PIECE <= len; i++)
        if (window_in_key(&kw, s + i) && !mark(s, i, DSP_SECRET_MIN_PIECE, ctx))
            return;
}

static bool note_found(const char *s, size_t i, size_t n, void *ctx)
{
    (void)s;
    (void)i;
    (void)n;
    *(bool *)ctx = true;
    return false;
}

/* Whether s holds a piece of key, looking at a fifth of its windows: a
 * piece of 8 bytes at p holds the 4-byte window at the one multiple of 5 in
 * [p, p + 4], and that window occurs in the key. So only the 4-byte windows
 * at 0, 5, 10, ... are tested against a filter of the key's 4-byte windows,
 * and only around a hit are the 8-byte windows confirmed against the key.
 * Every reply is checked, so this is the common case; redaction, on errors
 * only, finds every window (scan). */
static bool sampled_found(const char *s, size_t len, const char *key, size_t klen)
{
    uint64_t filter[FILTER_BITS / 64] = {0};
    for (size_t i = 0; i + 4 <= klen; i++) {
        unsigned h = quad_hash(quad_at(key + i));
        filter[h / 64] |= 1ull << (h % 64);
    }
    for (size_t i = 0; i + 4 <= len; i += 5) {
        unsigned h = quad_hash(quad_at(s + i));
        if (!(filter[h / 64] & (1ull << (h % 64))))
            continue;
        /* The 8-byte windows that hold s[i..i+4). */
        for (size_t p = i >= 4 ? i - 4 : 0; p <= i && p + DSP_SECRET_MIN_PIECE <= len; p++) {
            uint64_t w = window_at(s + p);
            for (size_t q = 0; q + DSP_SECRET_MIN_PIECE <= klen; q++)
                if (window_at(key + q) == w)
                    return true;
        }
    }
    return false;
}

bool dsp_secret_found(const char *s, size_t len, const char *key)
{
    if (s && key) {
        size_t klen = strlen(key);
        if (klen >= DSP_SECRET_MIN_PIECE)
            return sampled_found(s, len, key, klen);
    }
    bool found = false;
    scan(s, len, key, note_found, &found);
    return found;
}

typedef struct runs {
    size_t start, stop;
    bool open;
    char *s;
} runs;

/* Windows come in increasing order of start; overlapping or touching ones
 * join one run, blanked once the scan has moved past it. */
static bool note_run(const char *s, size_t i, size_t n, void *ctx)
{
    (void)s;
    runs *r = ctx;
    if (r->open && i <= r->stop) {
        if (i + n > r->stop)
            r->stop = i + n;
        return true;
    }
    if (r->open)
        memset(r->s + r->start, '*', r->stop - r->start);
    r->start = i;
    r->stop = i + n;
    r->open = true;
    return true;
}

void dsp_secret_redact(char *s, size_t len, const char *key)
{
    runs r = {0, 0, false, s};
    scan(s, len, key, note_run, &r);
    if (r.open)
        memset(s + r.start, '*', r.stop - r.start);
}

void dsp_secret_redact_error(dsp_error *err, const char *key)
{
    if (!err || !key)
        return;
    /* dsp_error_clear only ends the message at its first byte, so an
     * earlier attempt's text may still follow the NUL: blanked, not
     * scanned (in an error never zeroed, those bytes were never written,
     * and reading them is an error valgrind reports). */
    size_t n = strnlen(err->message, sizeof err->message);
    memset(err->message + n, 0, sizeof err->message - n);
    dsp_secret_redact(err->message, n, key);
    if (err->raw)
        dsp_secret_redact(err->raw, strlen(err->raw), key);
}
