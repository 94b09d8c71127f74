/* es_build.h — tests: AWS event-stream messages built byte by byte (the
 * encoding runtime/src/eventstream.h describes), with zlib's CRC32, so a
 * test can feed the reader the streams Bedrock sends and damage them. */
#ifndef DSP_TEST_ES_BUILD_H
#define DSP_TEST_ES_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

static inline void es_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline size_t es_str_header(unsigned char *p, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    p[0] = (unsigned char)nl;
    memcpy(p + 1, name, nl);
    p[1 + nl] = 7;
    p[2 + nl] = (unsigned char)(vl >> 8);
    p[3 + nl] = (unsigned char)vl;
    memcpy(p + 4 + nl, value, vl);
    return 4 + nl + vl;
}

/* One message as Bedrock sends it: :event-type (:exception-type for an
 * exception), :content-type and :message-type, then `extra` bytes of other
 * headers, then the payload. Returns its length. */
static inline size_t es_build(unsigned char *out, const char *mtype, const char *etype, const char *payload,
                              const unsigned char *extra, size_t extra_len)
{
    size_t h = 12;
    h += es_str_header(out + h, strcmp(mtype, "exception") == 0 ? ":exception-type" : ":event-type", etype);
    h += es_str_header(out + h, ":content-type", "application/json");
    h += es_str_header(out + h, ":message-type", mtype);
    if (extra_len)
        memcpy(out + h, extra, extra_len);
    h += extra_len;
    size_t pl = strlen(payload);
    memcpy(out + h, payload, pl);
    size_t total = h + pl + 4;
    es_put32(out, (uint32_t)total);
    es_put32(out + 4, (uint32_t)(h - 12));
    es_put32(out + 8, (uint32_t)crc32(0, out, 8));
    es_put32(out + total - 4, (uint32_t)crc32(0, out, (uInt)(total - 4)));
    return total;
}

/* An event message appended at out + *n. */
static inline void es_event(unsigned char *out, size_t *n, const char *type, const char *payload)
{
    *n += es_build(out + *n, "event", type, payload, NULL, 0);
}

#endif
