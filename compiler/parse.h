/* parse.h — from bytes to a syntax tree.
 *
 * The flex scanner (grammar/lexer.l) and bison parser (grammar/parser.y) are
 * reentrant and pure: all their state is in a parse_ctx, so several files
 * can be parsed in one process (imports) and tests can parse strings.
 */
#ifndef DSPCC_PARSE_H
#define DSPCC_PARSE_H

#include <stdio.h>

#include "ast.h"
#include "diag.h"

/* Deepest bracket nesting accepted; deeper input is rejected with an error
 * long before the parser or the checker could exhaust the C stack. */
#define PARSE_MAX_NESTING 64

typedef struct parse_ctx {
    arena *arena;
    diag *diag;
    const source_file *file;
    ast_file *ast;
    int line, col;          /* position of the next byte the scanner reads */
    int nesting;            /* open brackets */
    int syntax_errors;
} parse_ctx;

/* Parses one source file. Always returns a tree (possibly partial); the
 * caller looks at diag->errors to know whether it is complete. */
ast_file *parse_source(arena *a, diag *d, const source_file *src);

/* A source file over a copy of `text`; `path` is what diagnostics show. */
source_file *source_from_string(arena *a, const char *path, const char *text, size_t len);

/* Reads a file. On failure reports an error at `from` (or without a
 * location when from.file is NULL) and returns NULL. */
source_file *source_load(arena *a, diag *d, const char *path, src_loc from);

/* Reads fp to its end into a source file named `path`; errors are reported
 * at `from` and name the input as `what` ("`x.dsp`", "standard input"). */
source_file *source_read_stream(arena *a, diag *d, FILE *fp, const char *path, const char *what,
                                src_loc from);

/* Bytes a .dsp file may have; larger input is refused with an error. */
#define SOURCE_MAX_BYTES (64u * 1024u * 1024u)

#endif
