/* fuzz_eventstream.c — libFuzzer harness for AWS's binary event-stream
 * encoding (eventstream.c) and the Bedrock ConverseStream reader on top of
 * it (lm_stream.c), which read a server's bytes as the network delivers
 * them.
 *
 * The first byte sets how: bit 0 set, the CRCs of each message in the rest
 * are made right before reading (so mutations reach the headers and the
 * JSON payloads, not only the CRC check); the other bits seed the chunk
 * sizes the bytes arrive in (1 to 64 bytes, varying). Each input is read
 * twice by the decoder, whole and in those chunks, and must give the same
 * messages and the same verdict; then by the Bedrock reader in chunks,
 * which must end in a whole reply or a clear error, never a crash, a
 * sanitizer report, a leak or a piece of the key handed on.
 * Seeds: tests/fuzz/corpus/fuzz_eventstream: text and forced-tool
 * replies, an exception, an error, every header value type, a cut stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/predict.h"
#include "../../runtime/src/eventstream.h"
#include "../../runtime/src/lm_stream.h"
#include "../../runtime/src/secret.h"

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* zlib's CRC-32, bit by bit: the harness does not share the decoder's. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? c >> 1 ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

/* Makes each whole message's prelude and message CRCs right. */
static void fix_crcs(unsigned char *b, size_t len)
{
    size_t o = 0;
    while (len - o >= 12) {
        put32(b + o + 8, crc32_of(b + o, 8));
        uint32_t total = be32(b + o);
        if (total < 16 || total > len - o)
            return;
        put32(b + o + total - 4, crc32_of(b + o, total - 4));
        o += total;
    }
}

/* What the decoder handed on: a running digest of every message. */
typedef struct seen {
    unsigned long n;
    uint32_t digest;
} seen;

static uint32_t mix(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static int on_message(void *ctx, const dsp_es_message *m)
{
    seen *s = ctx;
    const char *fields[] = {m->message_type, m->event_type,  m->exception_type,
                            m->content_type, m->error_code, m->error_message};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        s->digest = mix(s->digest, fields[i], strlen(fields[i]) + 1);
    die_if(m->payload[m->len] != '\0');
    s->digest = mix(s->digest, m->payload, m->len);
    s->n++;
    return 0;
}

/* Chunk sizes 1..64, from a small generator seeded by the first byte. */
static size_t next_chunk(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return 1 + (*state >> 16) % 64;
}

static void decode(const char *b, size_t len, uint32_t seed)
{
    seen whole = {0, 2166136261u}, cut = {0, 2166136261u};
    dsp_es a, c;
    dsp_es_init(&a, on_message, &whole);
    dsp_es_init(&c, on_message, &cut);
    int ra = dsp_es_feed(&a, b, len), rc = 0;
    uint32_t st = seed;
    for (size_t i = 0; i < len && rc == 0;) {
        size_t k = next_chunk(&st);
        if (k > len - i)
            k = len - i;
        rc = dsp_es_feed(&c, b + i, k);
        i += k;
    }
    die_if(ra != rc || whole.n != cut.n || whole.digest != cut.digest);
    die_if(ra == DSP_ES_MALFORMED && (a.why[0] == '\0' || strcmp(a.why, c.why) != 0));
    die_if(ra == 0 && dsp_es_pending(&a) != dsp_es_pending(&c));
    dsp_es_free(&a);
    dsp_es_free(&c);
}

/* The text handed on, piece by piece, kept to look for the key in. */
typedef struct handed {
    char buf[4096];
    size_t len;
} handed;

static int on_text(void *ctx, const char *text, size_t len)
{
    handed *h = ctx;
    size_t k = len < sizeof h->buf - h->len ? len : sizeof h->buf - h->len;
    memcpy(h->buf + h->len, text, k);
    h->len += k;
    return 0;
}

static void bedrock(const char *b, size_t len, uint32_t seed)
{
    handed h;
    h.len = 0;
    dsp_stream_reader r;
    dsp_stream_reader_init(&r, DSP_PROVIDER_BEDROCK, on_text, &h);
    r.keys[0] = "sk-fuzz-0123456789";
    uint32_t st = seed;
    for (size_t i = 0; i < len;) {
        size_t k = next_chunk(&st);
        if (k > len - i)
            k = len - i;
        if (!dsp_stream_reader_feed(&r, b + i, k))
            break;
        i += k;
    }
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    dsp_error err = {0};
    dsp_status s = dsp_stream_reader_finish(&r, "http://fuzz/", &resp, &err);
    if (s == DSP_OK) {
        die_if(resp.n_choices != 1 || !resp.choices[0]);
        die_if(dsp_secret_found(resp.choices[0], strlen(resp.choices[0]), r.keys[0]));
        die_if(resp.usage.prompt_tokens < 0 || resp.usage.completion_tokens < 0);
    } else {
        die_if(err.status != s || err.message[0] == '\0' || resp.choices != NULL);
        /* A message may quote what the server sent (a header, a payload),
         * so a piece of the key too: the client redacts every error it
         * returns (client.c), and then none is left. */
        dsp_secret_redact_error(&err, r.keys[0]);
        die_if(dsp_secret_found(err.message, strlen(err.message), r.keys[0]));
    }
    /* No piece of the key (8 bytes or more) was handed on. */
    die_if(dsp_secret_found(h.buf, h.len, r.keys[0]));
    dsp_error_clear(&err);
    dsp_chat_response_free(&resp);
    dsp_stream_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t len = size - 1;
    unsigned char *b = malloc(len ? len : 1);
    if (!b)
        return 0;
    memcpy(b, data + 1, len);
    if (data[0] & 1)
        fix_crcs(b, len);
    decode((const char *)b, len, data[0] >> 1);
    bedrock((const char *)b, len, data[0] >> 1);
    free(b);
    return 0;
}
