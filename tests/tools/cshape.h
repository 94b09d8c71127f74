/* tests/tools/cshape.h — dsp-cshape, the checker of generated C's shape.
 *
 *   dsp-cshape [--prefix PREFIX]... FILE.c FILE.h ...
 *
 * Reads every file with tree-sitter-c (grammar/csource.h) and reports, as
 * `file:line:col: error: ...`:
 *   - a file that does not parse (its first ERROR or MISSING node);
 *   - a function (or extern variable) declared in a .h but defined in none
 *     of the .c files given;
 *   - an external (non-static) symbol defined in a .c without PREFIX;
 *   - a string or number literal, #include path or comment holding an
 *     absolute path or something that looks like an API key.
 * Exits 0 when clean, 1 on any violation, 2 on a usage error.
 */
#ifndef DSPCC_CSHAPE_H
#define DSPCC_CSHAPE_H

#include <stddef.h>

#include "csource.h"

#define CSHAPE_MAX_PREFIXES 4

typedef struct cshape {
    /* An external symbol must start with one of these (--prefix, repeatable:
     * --embed-runtime output also defines the runtime's dsp_ symbols).
     * None: the prefix check is off. */
    const char *prefixes[CSHAPE_MAX_PREFIXES];
    size_t n_prefixes;
    int errors;
} cshape;

/* Prints `path:line:col: error: message` to stderr and counts it. */
void cshape_report(cshape *cs, const char *path, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Literal and comment contents (cshape_literals.c). */
void cshape_check_literals(cshape *cs, const cs_file *f);

/* Where in s[0..n) an absolute path starts; returns its length, 0 if none. */
size_t cshape_find_abs_path(const char *s, size_t n, size_t *at);

/* Where in s[0..n) something that looks like an API key starts; returns
 * its length (0 if none) and sets *why ("an OpenAI-style key", ...). */
size_t cshape_find_secret(const char *s, size_t n, size_t *at, const char **why);

/* Symbols: header declarations against source definitions, and the prefix
 * (cshape_symbols.c). Files with syntax errors are skipped. */
typedef struct cshape_symbols cshape_symbols;
cshape_symbols *cshape_symbols_new(void);
void cshape_symbols_add(cshape_symbols *s, cshape *cs, const cs_file *f, int is_header);
void cshape_symbols_check(cshape_symbols *s, cshape *cs, int have_sources);
void cshape_symbols_free(cshape_symbols *s);

#endif
