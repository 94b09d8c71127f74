/* eventstream.h — internal: an incremental reader of AWS's event-stream
 * encoding (Content-Type application/vnd.amazon.eventstream), in which
 * Bedrock's ConverseStream sends its events.
 *
 * Each message is binary, big-endian:
 *   prelude   total length (4 bytes), headers length (4), CRC32 of those 8
 *   headers   per header: name length (1), name, value type (1), value
 *             (string and byte array: length (2) then bytes; bool: none;
 *             byte 1, short 2, integer 4, long and timestamp 8, UUID 16)
 *   payload   total length - headers length - 16 bytes (JSON here)
 *   CRC32     of everything before it
 * The CRCs are zlib's crc32 (ISO-HDLC, the one the AWS SDKs check).
 *
 * Bytes go in as the network delivers them, cut anywhere (inside the
 * prelude, a header or the payload); each message comes out once, whole
 * and checked, through the callback. A message whose CRC does not match,
 * whose lengths do not fit together, or whose headers run past their
 * length stops the stream (it cannot be resynchronised: the next message
 * starts where this one's length says). */
#ifndef DSP_EVENTSTREAM_H
#define DSP_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "textbuf.h"

/* The largest message read: AWS caps a message at 16 MiB. */
#define DSP_ES_MAX_MESSAGE (16u * 1024u * 1024u)

/* One message's headers that matter to a reader ("" when absent; a value
 * longer than its field is cut) and its payload (len bytes, NUL after),
 * valid during the callback. */
typedef struct dsp_es_message {
    char message_type[16];   /* :message-type: event, exception or error */
    char event_type[64];     /* :event-type (events) */
    char exception_type[64]; /* :exception-type (exceptions) */
    char content_type[64];   /* :content-type */
    char error_code[64];     /* :error-code (errors) */
    char error_message[256]; /* :error-message (errors) */
    const char *payload;
    size_t len;
} dsp_es_message;

/* Returns 0 to go on, anything else to stop the stream: dsp_es_feed then
 * returns it. */
typedef int (*dsp_es_message_fn)(void *ctx, const dsp_es_message *m);

typedef struct dsp_es {
    dsp_es_message_fn on_message;
    void *ctx;
    dsp_textbuf buf;     /* the message read so far */
    uint32_t total;      /* its total length, once its prelude is read; 0 before */
    unsigned long count; /* messages handed on */
    int stopped;         /* the verdict once the stream stopped */
    char why[200];       /* DSP_ES_MALFORMED: what was wrong, naming the message */
} dsp_es;

#define DSP_ES_NOMEM (-1)
#define DSP_ES_MALFORMED (-2)

void dsp_es_init(dsp_es *s, dsp_es_message_fn on_message, void *ctx);
void dsp_es_free(dsp_es *s);
/* Reads n more bytes. Returns 0, the callback's nonzero verdict,
 * DSP_ES_NOMEM or DSP_ES_MALFORMED (s->why says what); once nonzero, every
 * later feed returns the same. */
int dsp_es_feed(dsp_es *s, const char *bytes, size_t n);
/* Bytes of a message begun but not ended (0 at a message boundary): a
 * stream that ends with some was cut off. */
size_t dsp_es_pending(const dsp_es *s);

#endif
