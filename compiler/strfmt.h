/* strfmt.h — printf-style formatting for the compiler's text writers
 * (strbuf.c's sb_printf, arena.c's arena_printf), faster than vsnprintf on
 * the conversions code generation uses on every line. */
#ifndef DSPCC_STRFMT_H
#define DSPCC_STRFMT_H

#include <stdarg.h>
#include <stddef.h>

/* As vsnprintf(out, cap, fmt, ap): writes at most cap - 1 bytes and a NUL,
 * returns the length of the whole text. %s, %.*s, %c, %%, and %d, %i, %u
 * with the length modifiers l, ll and z are written here; any other
 * conversion, flag or width sends the whole text to vsnprintf, so the
 * output is always vsnprintf's. */
int strfmt_v(char *out, size_t cap, const char *fmt, va_list ap);

#endif
