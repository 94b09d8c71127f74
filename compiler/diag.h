/* diag.h — source files and gcc-style diagnostics.
 *
 *   file:line:col: error: message
 *       3 | signature S { in x: strng }
 *         |                     ^
 *
 * Every diagnostic is printed as it is reported (to `out`, stderr in the
 * driver) and also kept in a list so tests can assert on it. After
 * DIAG_MAX_ERRORS errors the engine stops printing, so a garbage input
 * cannot flood the terminal.
 */
#ifndef DSPCC_DIAG_H
#define DSPCC_DIAG_H

#include <stdio.h>

#include "arena.h"

#define DIAG_MAX_ERRORS 20

typedef struct source_file {
    const char *path;     /* as shown in diagnostics */
    const char *dir;      /* directory of path, "" for the current one */
    const char *rel_dir;  /* directory relative to the main .dsp file's, "" for it */
    const char *rel_path; /* path relative to the main .dsp file's directory */
    const char *text;     /* NUL-terminated copy (may contain other NULs) */
    size_t len;
} source_file;

typedef struct src_loc {
    const source_file *file;
    int line, col;        /* 1-based; col counts bytes */
} src_loc;

static inline src_loc src_loc_make(const source_file *file, int line, int col)
{
    src_loc l = { file, line, col };
    return l;
}

typedef enum diag_severity { DIAG_NOTE, DIAG_WARNING, DIAG_ERROR } diag_severity;

typedef struct diag_msg {
    diag_severity severity;
    src_loc loc;
    const char *text;     /* the message, without location */
    const char *line;     /* the first output line: "file:l:c: error: text" */
} diag_msg;

typedef struct diag {
    arena *arena;
    FILE *out;            /* NULL: keep messages but print nothing */
    ptr_vec msgs;         /* diag_msg * */
    int errors, warnings;
    int suppressed;       /* set once DIAG_MAX_ERRORS is reached */
    int color;            /* print with ANSI colours, as GCC does (diag_color_wanted) */
} diag;

void diag_init(diag *d, arena *a, FILE *out);

void diag_report(diag *d, diag_severity sev, src_loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define diag_error(d, loc, ...)   diag_report((d), DIAG_ERROR, (loc), __VA_ARGS__)
#define diag_warning(d, loc, ...) diag_report((d), DIAG_WARNING, (loc), __VA_ARGS__)
#define diag_note(d, loc, ...)    diag_report((d), DIAG_NOTE, (loc), __VA_ARGS__)

/* Whether to colour diagnostics on out for a --color value: "always",
 * "never", or "auto": out is a terminal, NO_COLOR is unset or empty (see
 * no-color.org) and TERM is not "dumb". Returns -1 for another value. An
 * explicit "always" wins over NO_COLOR, as a command-line flag should. */
int diag_color_wanted(const char *when, FILE *out);

/* The closest candidate to `name` by edit distance, or NULL if none is
 * close enough to be a plausible typo. */
const char *diag_suggest(const char *name, const char *const *candidates, size_t n);

#endif
