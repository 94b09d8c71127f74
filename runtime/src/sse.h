/* sse.h — internal: an incremental parser of server-sent events, the
 * text/event-stream format of the WHATWG HTML standard ("Server-sent
 * events", section 9.2.6), which OpenAI, Anthropic and Gemini stream in.
 *
 * Bytes go in as the network delivers them, cut anywhere (inside a line, a
 * field name, a CR LF pair or a UTF-8 sequence); each complete event comes
 * out once, through the callback, when its terminating blank line arrives.
 * Lines end in LF, CR or CR LF; a leading byte-order mark is skipped;
 * comment lines (":...") and the id and retry fields are ignored; several
 * data lines join with LF; an event without data is not dispatched; an
 * unterminated event at the end of the stream is dropped, as the standard
 * says. */
#ifndef DSP_SSE_H
#define DSP_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "textbuf.h"

/* One event: its type ("message" when the stream named none) and its data
 * (len bytes, NUL-terminated), both valid during the call. Returns 0 to go
 * on, anything else to stop the stream: dsp_sse_feed then returns it. */
typedef int (*dsp_sse_event_fn)(void *ctx, const char *event, const char *data, size_t len);

typedef struct dsp_sse {
    dsp_sse_event_fn on_event;
    void *ctx;
    dsp_textbuf line;  /* the line read so far */
    dsp_textbuf event; /* the event type field of the event being read */
    dsp_textbuf data;  /* its data lines, each followed by LF */
    bool has_data;     /* a data field was seen (data may still be empty) */
    bool after_cr;     /* the last byte was CR: an LF next ends no new line */
    bool started;      /* past the first bytes (where a BOM may be) */
    int stopped;       /* the callback's verdict once it stopped the stream */
} dsp_sse;

void dsp_sse_init(dsp_sse *s, dsp_sse_event_fn fn, void *ctx);
void dsp_sse_free(dsp_sse *s);
/* Parses n more bytes. Returns 0, the callback's nonzero verdict (also for
 * every later feed), or -1 when out of memory. */
int dsp_sse_feed(dsp_sse *s, const char *bytes, size_t n);

#endif
