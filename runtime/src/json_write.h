/* json_write.h — internal: a small JSON text writer for request bodies and
 * cache keys. Building a cJSON tree only to print it costs more than the
 * HTTP exchange itself on a fast local server, so the hot path writes the
 * text directly; cJSON still reads every reply. */
#ifndef DSP_JSON_WRITE_H
#define DSP_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct dsp_jw {
    char *buf;
    size_t len, cap;
    bool failed; /* an allocation failed; everything after is dropped */
    char *store; /* the caller's storage (dsp_jw_init_in), or NULL */
} dsp_jw;

void dsp_jw_init(dsp_jw *w, size_t hint);
/* Starts in the caller's storage (cap > 0), which must outlive w; text that
 * outgrows it moves to the heap. For text that is used and dropped within
 * one call (a request body): it then costs no allocation. buf is the text
 * (len bytes, NUL-terminated after dsp_jw_finish) either way. */
void dsp_jw_init_in(dsp_jw *w, char *store, size_t cap);
/* Frees the heap copy, if there is one. */
void dsp_jw_free(dsp_jw *w);
/* Terminates the text in place; false after a failure. */
bool dsp_jw_finish(dsp_jw *w);
/* The growing (and failing) half of dsp_jw_raw. */
void dsp_jw_raw_slow(dsp_jw *w, const char *s, size_t n);
/* Appends bytes as they are (punctuation, keys known to need no escapes,
 * JSON text produced elsewhere). Inline: a body is a dozen short pieces,
 * and for a literal the length is known at compile time. */
static inline void dsp_jw_raw(dsp_jw *w, const char *s, size_t n)
{
    if (n < w->cap - w->len && !w->failed) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        return;
    }
    dsp_jw_raw_slow(w, s, n);
}
static inline void dsp_jw_lit(dsp_jw *w, const char *s) { dsp_jw_raw(w, s, strlen(s)); }
/* Appends s as a quoted JSON string: ", \ and control characters escaped;
 * other bytes (UTF-8) as they are. */
void dsp_jw_str(dsp_jw *w, const char *s);
void dsp_jw_int(dsp_jw *w, int64_t v);
/* Shortest of %.15g / %.17g that reads back exactly; non-finite is null. */
void dsp_jw_double(dsp_jw *w, double v);
/* The text (owned by the caller, NUL-terminated; copied out of the
 * caller's storage), or NULL after a failure. */
char *dsp_jw_take(dsp_jw *w);
/* Which string scan this build uses: "sse2" or "portable" (built with
 * -DDSP_JW_PORTABLE, or a CPU without SSE2). For the tests. */
const char *dsp_jw_scan_kind(void);

#endif
