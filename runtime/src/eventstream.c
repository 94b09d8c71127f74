/* eventstream.c — AWS's event-stream encoding, read incrementally (see
 * eventstream.h). */
#include "eventstream.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define PRELUDE 12 /* total length, headers length, prelude CRC */
#define MIN_MESSAGE 16

void dsp_es_init(dsp_es *s, dsp_es_message_fn on_message, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->on_message = on_message;
    s->ctx = ctx;
    dsp_tb_init(&s->buf);
}

void dsp_es_free(dsp_es *s)
{
    dsp_tb_free(&s->buf);
}

size_t dsp_es_pending(const dsp_es *s)
{
    return s->buf.len;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint32_t crc(const unsigned char *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static int malformed(dsp_es *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int malformed(dsp_es *s, const char *fmt, ...)
{
    char what[150];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(s->why, sizeof s->why, "event-stream message %lu: %s", s->count + 1, what);
    return s->stopped = DSP_ES_MALFORMED;
}

/* Copies a string header's value into out (cut to fit). */
static void take(char *out, size_t cap, const unsigned char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

/* The headers of the message in s->buf into m; nonzero when malformed. */
static int read_headers(dsp_es *s, const unsigned char *h, size_t n, dsp_es_message *m)
{
    size_t i = 0;
    while (i < n) {
        size_t name_len = h[i++];
        if (name_len == 0 || i + name_len + 1 > n)
            return malformed(s, "a header name (%zu bytes) runs past the headers' %zu bytes", name_len, n);
        const unsigned char *name = h + i;
        i += name_len;
        unsigned type = h[i++];
        size_t vlen;
        const unsigned char *v = h + i;
        switch (type) {
        case 0: /* bool true */
        case 1: /* bool false */
            vlen = 0;
            break;
        case 2: vlen = 1; break;
        case 3: vlen = 2; break;
        case 4: vlen = 4; break;
        case 5: /* long */
        case 8: /* timestamp */
            vlen = 8;
            break;
        case 9: vlen = 16; break;
        case 6: /* byte array */
        case 7: /* string */
            if (i + 2 > n)
                return malformed(s, "a header value's length runs past the headers' %zu bytes", n);
            vlen = (size_t)h[i] << 8 | h[i + 1];
            i += 2;
            v = h + i;
            break;
        default:
            return malformed(s, "a header has value type %u, which the encoding does not define (0-9)", type);
        }
        if (i + vlen > n)
            return malformed(s, "a header value (%zu bytes) runs past the headers' %zu bytes", vlen, n);
        i += vlen;
        if (type != 7)
            continue;
#define IS(lit) (name_len == sizeof lit - 1 && memcmp(name, lit, sizeof lit - 1) == 0)
        if (IS(":message-type"))
            take(m->message_type, sizeof m->message_type, v, vlen);
        else if (IS(":event-type"))
            take(m->event_type, sizeof m->event_type, v, vlen);
        else if (IS(":exception-type"))
            take(m->exception_type, sizeof m->exception_type, v, vlen);
        else if (IS(":content-type"))
            take(m->content_type, sizeof m->content_type, v, vlen);
        else if (IS(":error-code"))
            take(m->error_code, sizeof m->error_code, v, vlen);
        else if (IS(":error-message"))
            take(m->error_message, sizeof m->error_message, v, vlen);
#undef IS
    }
    return 0;
}

/* The prelude is in s->buf: checks it and sets s->total. */
static int read_prelude(dsp_es *s)
{
    const unsigned char *p = (const unsigned char *)s->buf.data;
    uint32_t total = be32(p), hlen = be32(p + 4), want = be32(p + 8), got = crc(p, 8);
    if (got != want)
        return malformed(s, "its prelude's CRC is %08lx, the prelude says %08lx (corrupted on the way)",
                         (unsigned long)got, (unsigned long)want);
    if (total < MIN_MESSAGE || total > DSP_ES_MAX_MESSAGE)
        return malformed(s, "its total length %lu is outside %d..%u bytes", (unsigned long)total, MIN_MESSAGE,
                         DSP_ES_MAX_MESSAGE);
    if (hlen > total - MIN_MESSAGE)
        return malformed(s, "its headers' length %lu does not fit in its total length %lu", (unsigned long)hlen,
                         (unsigned long)total);
    s->total = total;
    return 0;
}

/* A whole message is in s->buf: checks it and hands it on. */
static int dispatch(dsp_es *s)
{
    const unsigned char *p = (const unsigned char *)s->buf.data;
    uint32_t want = be32(p + s->total - 4), got = crc(p, s->total - 4);
    if (got != want)
        return malformed(s, "its CRC is %08lx, the message says %08lx (corrupted on the way)", (unsigned long)got,
                         (unsigned long)want);
    dsp_es_message m;
    memset(&m, 0, sizeof m);
    uint32_t hlen = be32(p + 4);
    if (read_headers(s, p + PRELUDE, hlen, &m))
        return s->stopped;
    size_t plen = s->total - hlen - MIN_MESSAGE;
    /* The payload gets a NUL for its reader: the CRC's first byte, read
     * already, is overwritten. */
    char *payload = s->buf.data + PRELUDE + hlen;
    payload[plen] = '\0';
    m.payload = payload;
    m.len = plen;
    s->count++;
    int rc = s->on_message(s->ctx, &m);
    s->buf.len = 0;
    s->total = 0;
    if (rc)
        s->stopped = rc;
    return rc;
}

int dsp_es_feed(dsp_es *s, const char *bytes, size_t n)
{
    if (s->stopped)
        return s->stopped;
    while (n > 0) {
        size_t want = s->total ? s->total : PRELUDE;
        size_t k = want - s->buf.len < n ? want - s->buf.len : n;
        dsp_tb_put(&s->buf, bytes, k);
        if (!dsp_tb_ok(&s->buf))
            return s->stopped = DSP_ES_NOMEM;
        bytes += k;
        n -= k;
        if (s->buf.len < want)
            break;
        int rc = s->total ? dispatch(s) : read_prelude(s);
        if (rc)
            return rc;
    }
    return 0;
}
