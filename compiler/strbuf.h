/* strbuf.h — the compiler's growable text buffer, for everything it writes
 * as text: generated C (cg_*.c), state files (state_write.c), the HTML
 * report (report_html.c).
 *
 * An allocation failure sets `oom` and makes later writes no-ops, so a
 * writer checks once at the end instead of after every append:
 *
 *     strbuf b = { 0 };
 *     sb_printf(&b, "%d items\n", n);
 *     if (b.oom) { sb_free(&b); return DSP_ERR_NOMEM; }
 *     ... use b.p (NUL-terminated, b.len bytes), then sb_free(&b) ...
 */
#ifndef DSPCC_STRBUF_H
#define DSPCC_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *p;          /* NUL-terminated once anything was written; else NULL */
    size_t len, cap;
    int oom;
} strbuf;

void sb_put(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sb_free(strbuf *b);

/* d as a floating literal that C and JSON both read back as exactly d: the
 * shortest %g text that does, with ".0" when it would read as an integer.
 * Used for generated C, state files and anything else reviewed as text. */
void sb_put_double(strbuf *b, double d);

#endif
