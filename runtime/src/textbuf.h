/* textbuf.h — a growable byte buffer for building prompts and value text
 * (internal to libdsprt).
 *
 * Allocation failure is sticky: appends after a failure do nothing and the
 * caller checks dsp_tb_ok() once at the end, which keeps rendering code
 * free of an error check per line.
 */
#ifndef DSP_TEXTBUF_H
#define DSP_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct dsp_textbuf {
    char *data; /* NUL-terminated after len whenever len > 0 */
    size_t len, cap;
    bool failed;
    /* The caller's storage (dsp_tb_init_in), used until the text outgrows
     * it and again after every dsp_tb_take; NULL for heap-only buffers. */
    char *store;
    size_t store_cap;
} dsp_textbuf;

void dsp_tb_init(dsp_textbuf *b);
/* Starts in the caller's storage (a stack array, say; cap > 0), which must
 * outlive b: text that fits costs no allocation while it is built, and
 * dsp_tb_take then allocates its exact size once, instead of a 1 KiB
 * buffer grown by doubling. */
void dsp_tb_init_in(dsp_textbuf *b, char *store, size_t cap);
void dsp_tb_free(dsp_textbuf *b);
/* The growing (and failing) half of dsp_tb_put. */
void dsp_tb_put_slow(dsp_textbuf *b, const char *s, size_t n);
/* Inline because a prompt is dozens of short appends on every call: the
 * common case (room left) is a copy and a length update. */
static inline void dsp_tb_put(dsp_textbuf *b, const char *s, size_t n)
{
    if (n < b->cap - b->len && !b->failed) {
        if (n)
            memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    dsp_tb_put_slow(b, s, n);
}
static inline void dsp_tb_puts(dsp_textbuf *b, const char *s) { dsp_tb_put(b, s, strlen(s)); }
void dsp_tb_printf(dsp_textbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends a decimal number (cheaper than printf on hot paths). */
void dsp_tb_putu(dsp_textbuf *b, size_t u);
static inline bool dsp_tb_ok(const dsp_textbuf *b) { return !b->failed; }
/* Hands over the bytes (never NULL on success: "" when empty); the buffer is
 * left empty (back in its storage, if it has one). Returns NULL if any
 * append failed. */
char *dsp_tb_take(dsp_textbuf *b, size_t *len);

/* Writes a short, printable quotation of untrusted text for error messages:
 * at most max bytes, control bytes escaped, "..." when cut. */
void dsp_quote_excerpt(const char *s, size_t n, size_t max, char *out, size_t out_size);

#endif
