/* cg_text.c — the escapers that make any bytes safe in generated C (string
 * literals and comment text) and the names of generated identifiers. The
 * text itself goes into a strbuf (strbuf.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* C17 5.2.4.1: a string literal of 4095 characters is all a conforming
 * compiler must accept (gcc -pedantic warns past it). Stay well below. */
#define CG_LITERAL_MAX 4000
/* Source bytes per line of a split literal, for readable diffs. */
#define CG_LINE_BYTES 72

/* One byte inside a string literal. Octal escapes are always three digits,
 * so a following digit can never extend them; a `?` after a `?` is escaped
 * so no `??x` trigraph can form (gcc -std=c17 converts them). */
static size_t esc_byte(unsigned char c, unsigned char prev, char out[8])
{
    if (c == '?' && prev == '?') return (size_t)snprintf(out, 8, "\\?");
    switch (c) {
    case '"': return (size_t)snprintf(out, 8, "\\\"");
    case '\\': return (size_t)snprintf(out, 8, "\\\\");
    case '\n': return (size_t)snprintf(out, 8, "\\n");
    case '\t': return (size_t)snprintf(out, 8, "\\t");
    default:
        if (c >= 0x20 && c < 0x7f) {
            out[0] = (char)c;
            out[1] = '\0';
            return 1;
        }
        return (size_t)snprintf(out, 8, "\\%03o", c);
    }
}

static void put_indent(strbuf *b, int indent)
{
    for (int i = 0; i < indent; i++) sb_put(b, " ", 1);
}

void cg_cstr(cg_ctx *g, strbuf *b, const char *s, size_t len, int indent)
{
    if (len > CG_LITERAL_MAX) {
        /* A char array: no length limit, every byte as a number; one
         * array for each such string, however many tables use it. */
        char name[32];
        snprintf(name, sizeof name, "k_str_%d", g->n_pool);
        const char *had = cg_share_sym(g, "char[]", "", s, len, name);
        if (had) {
            sb_puts(b, had);
            return;
        }
        g->n_pool++;
        sb_printf(&g->pool, "static const char %s[%zu] = {", name, len + 1);
        for (size_t i = 0; i < len; i++) {
            if (i % 16 == 0) sb_puts(&g->pool, "\n   ");
            sb_printf(&g->pool, " %d,", (int)(unsigned char)s[i]);
        }
        sb_puts(&g->pool, "\n    0\n};\n\n");
        sb_puts(b, name);
        return;
    }
    if (len == 0) {
        sb_puts(b, "\"\"");
        return;
    }
    size_t line = 0;
    int first = 1;
    sb_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        if (line >= CG_LINE_BYTES && !first) {
            sb_puts(b, "\"\n");
            put_indent(b, indent);
            sb_puts(b, "\"");
            line = 0;
        }
        char e[8];
        size_t n = esc_byte((unsigned char)s[i], i ? (unsigned char)s[i - 1] : 0, e);
        sb_put(b, e, n);
        line += n;
        first = 0;
        /* Break after a newline so multi-line prompts read as lines. */
        if (s[i] == '\n' && i + 1 < len) line = CG_LINE_BYTES;
    }
    sb_puts(b, "\"");
}

void cg_cstr_or_null(cg_ctx *g, strbuf *b, const char *s, int indent)
{
    if (!s)
        sb_puts(b, "NULL");
    else
        cg_cstr(g, b, s, strlen(s), indent);
}

void cg_comment_text(strbuf *b, const char *s, const char *prefix)
{
    if (!s) return;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\n') {
            sb_puts(b, "\n");
            sb_puts(b, prefix);
        } else if (*c == '*' && c[1] == '/') {
            sb_puts(b, "* ");
        } else if (*c == '/' && c[1] == '*') {
            sb_puts(b, "/ ");
        } else if (*c == '?' && c[1] == '?') {
            sb_puts(b, "? ");
        } else if (*c == '\\') {
            /* a backslash before a newline would splice lines */
            sb_puts(b, "\\ ");
        } else if (*c >= 0x20 && *c < 0x7f) {
            sb_put(b, (const char *)c, 1);
        } else {
            sb_puts(b, ".");
        }
    }
}

char *cg_ident(arena *a, const char *s, int upper)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, n + 2);
    size_t k = 0;
    if (isdigit((unsigned char)s[0])) out[k++] = '_';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_') c = '_';
        out[k++] = (char)(upper ? toupper(c) : c);
    }
    out[k] = '\0';
    return out;
}

char *cg_snake(arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, 2 * n + 2);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isupper(c)) {
            /* a new word: lower before upper, or the last of a run of capitals before lower */
            if (i > 0 && (islower((unsigned char)s[i - 1]) || isdigit((unsigned char)s[i - 1]) ||
                          (isupper((unsigned char)s[i - 1]) && i + 1 < n && islower((unsigned char)s[i + 1]))))
                out[k++] = '_';
            out[k++] = (char)tolower(c);
        } else if (isalnum(c) || c == '_') {
            out[k++] = (char)c;
        } else {
            out[k++] = '_';
        }
    }
    out[k] = '\0';
    return out;
}
