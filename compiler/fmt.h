/* fmt.h — `dspcc fmt`: prints a parsed .dsp file in the canonical layout.
 *
 * The printer walks the syntax tree and, in step with it, the file's own
 * token stream: every token it prints is the source's token (strings and
 * numbers byte for byte, the parentheses the author wrote), and every
 * comment is printed next to the token it was attached to. Only layout
 * (spaces, line breaks, indentation, alignment) and optional commas change.
 * docs/language.md ("Formatting") describes the layout.
 */
#ifndef DSPCC_FMT_H
#define DSPCC_FMT_H

#include <stddef.h>

#include "ast.h"
#include "diag.h"

/* Lines longer than this are broken where the layout allows it. */
#define FMT_WIDTH 100

/* Formats `file`, which must have parsed without errors. On success returns
 * 0 and sets *out to a malloc'd, NUL-terminated text (*len bytes) that the
 * caller frees. Before returning, the result is parsed again and its tokens
 * and comments compared with the source's, so a formatter bug is reported
 * (returns -1, error at the file's start) instead of changing a program. */
int fmt_file(arena *a, diag *d, const ast_file *file, char **out, size_t *len);

#endif
