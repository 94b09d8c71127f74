/* text_check.c — the rule for text libdsprt takes in and hands out: UTF-8
 * without NUL characters (dsp/value.h). Strings cross C APIs as `char *`,
 * where a NUL would silently end them (`billing\u0000hacked` read as
 * `billing`), and a JSON request body must be UTF-8, so text that breaks
 * the rule is refused with the place it breaks it, never cut or passed on. */
#include "dsp/value.h"
#include "text_check.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t sequence_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return k;
}

/* From s[i]: past the whole 16-byte blocks of plain ASCII (no byte with
 * its high bit set, no zero byte and, with esc, no backslash) and, in the
 * first block that is not, to its first byte that is not plain; where
 * fewer than 16 bytes are left, i itself. Every x86-64 has SSE2. */
static size_t skip_plain(const unsigned char *s, size_t i, size_t len, bool esc)
{
#if defined(__SSE2__)
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i odd = _mm_cmpeq_epi8(v, _mm_setzero_si128());
        if (esc)
            odd = _mm_or_si128(odd, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(v, odd));
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#else
    (void)s, (void)len, (void)esc;
#endif
    return i;
}

size_t dsp_text_invalid_at(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        i = skip_plain(s, i, len, false);
        if (i == len)
            break;
        /* Eight ASCII bytes without a NUL at a time: the common case. */
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, sizeof w);
            uint64_t zero = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
            if (!(w & 0x8080808080808080ull) && !zero) {
                i += 8;
                continue;
            }
        }
        if (s[i] == 0)
            return i;
        size_t k = sequence_len(s + i, len - i);
        if (k == 0)
            return i;
        i += k;
    }
    return len;
}

size_t dsp_json_nul_at(const char *json, size_t len)
{
    const char *p = json, *end = json + len;
    while (p < end) {
        const char *q = memchr(p, '\\', (size_t)(end - p));
        const char *z = memchr(p, '\0', (size_t)((q ? q : end) - p));
        if (z)
            return (size_t)(z - json);
        if (!q)
            return len;
        /* q starts an escape (an escaped backslash is skipped whole below). */
        if (end - q >= 6 && memcmp(q + 1, "u0000", 5) == 0)
            return (size_t)(q - json);
        p = end - q > 2 ? q + 2 : end;
    }
    return len;
}

bool dsp_json_text_plain(const char *json, size_t len)
{
    const unsigned char *s = (const unsigned char *)json;
    size_t i = 0;
    while (i < len) {
        /* Most of a reply's bytes: ASCII, not NUL, not a backslash. */
        i = skip_plain(s, i, len, true);
        if (i == len)
            break;
        unsigned c = s[i];
        if (c == 0)
            return false;
        if (c == '\\') {
            /* An escape: \u0000 is a NUL; the escaped character (an
             * escaped backslash too) is skipped with it when it is ASCII,
             * and checked as text otherwise. */
            if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
                return false;
            i += i + 1 < len && s[i + 1] && s[i + 1] < 0x80 ? 2 : 1;
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = sequence_len(s + i, len - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}
