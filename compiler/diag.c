/* diag.c — gcc-style diagnostics with a source line and a caret. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A line longer than this is shown as a window around the column, so a
 * 10 MB line does not end up on the terminal. */
#define DIAG_LINE_WINDOW 120

static const char *severity_name(diag_severity s)
{
    switch (s) {
    case DIAG_ERROR: return "error";
    case DIAG_WARNING: return "warning";
    default: return "note";
    }
}

void diag_init(diag *d, arena *a, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->arena = a;
    d->out = out;
}

/* Finds the bytes of line `line` in the file. */
static const char *line_bounds(const source_file *f, int line, size_t *len)
{
    const char *p = f->text, *end = f->text + f->len;
    for (int l = 1; l < line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *len = (size_t)((nl ? nl : end) - p);
    /* A CRLF file's '\r' ends the line; it is not shown as '?'. */
    if (*len > 0 && p[*len - 1] == '\r')
        (*len)--;
    return p;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
               : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && p[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Prints bytes [start, end) of a line: valid UTF-8 as is, anything that
 * would garble a terminal as '?'. With caret set, prints the white space
 * that lines up under them instead (one column per character). */
static void print_span(FILE *out, const char *p, size_t start, size_t end, int caret)
{
    for (size_t i = start; i < end;) {
        const unsigned char *c = (const unsigned char *)p + i;
        size_t n = utf8_len(c, end - i);
        if (n == 0 || (n == 1 && c[0] < 0x20 && c[0] != '\t') || c[0] == 0x7f) {
            fputc(caret ? ' ' : '?', out);
            i++;
            continue;
        }
        if (caret)
            fputc(c[0] == '\t' ? '\t' : ' ', out);
        else
            fwrite(c, 1, n, out);
        i += n;
    }
}

/* GCC's default colours (GCC_COLORS): error bold red, warning bold
 * magenta, note bold cyan, locus bold, caret bold green. */
#define C_BOLD "\033[1m"
#define C_RESET "\033[m"
#define C_CARET "\033[01;32m"

static const char *severity_color(diag_severity s)
{
    return s == DIAG_ERROR ? "\033[01;31m" : s == DIAG_WARNING ? "\033[01;35m" : "\033[01;36m";
}

int diag_color_wanted(const char *when, FILE *out)
{
    if (strcmp(when, "always") == 0)
        return 1;
    if (strcmp(when, "never") == 0)
        return 0;
    if (strcmp(when, "auto") != 0)
        return -1;
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    if (no && *no)
        return 0;
    if (term && strcmp(term, "dumb") == 0)
        return 0;
    return out && isatty(fileno(out));
}

static void print_source_line(FILE *out, src_loc loc, int color)
{
    if (!loc.file || loc.line < 1)
        return;
    size_t len;
    const char *p = line_bounds(loc.file, loc.line, &len);
    if (!p)
        return;
    size_t col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col > len)
        col = len;
    size_t start = 0, end = len;
    if (len > DIAG_LINE_WINDOW) {
        start = col > DIAG_LINE_WINDOW / 2 ? col - DIAG_LINE_WINDOW / 2 : 0;
        end = start + DIAG_LINE_WINDOW < len ? start + DIAG_LINE_WINDOW : len;
        /* do not start or end inside a UTF-8 sequence */
        while (start > 0 && ((unsigned char)p[start] & 0xC0) == 0x80)
            start--;
        while (end < len && ((unsigned char)p[end] & 0xC0) == 0x80)
            end++;
    }
    char gutter[32];
    int gw = snprintf(gutter, sizeof gutter, "%5d", loc.line);
    fprintf(out, "%s | %s", gutter, start ? "..." : "");
    print_span(out, p, start, end, 0);
    fprintf(out, "%s\n", end < len ? "..." : "");
    fprintf(out, "%*s | %s", gw, "", start ? "   " : "");
    print_span(out, p, start, col, 1);
    fputs(color ? C_CARET "^" C_RESET "\n" : "^\n", out);
}

void diag_report(diag *d, diag_severity sev, src_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);

    if (sev == DIAG_ERROR)
        d->errors++;
    else if (sev == DIAG_WARNING)
        d->warnings++;
    if (d->suppressed)
        return;

    diag_msg *m = arena_alloc(d->arena, sizeof *m);
    m->severity = sev;
    m->loc = loc;
    m->text = arena_strdup(d->arena, buf);
    if (loc.file)
        m->line = arena_printf(d->arena, "%s:%d:%d: %s: %s", loc.file->path, loc.line,
                               loc.col, severity_name(sev), buf);
    else
        m->line = arena_printf(d->arena, "dspcc: %s: %s", severity_name(sev), buf);
    ptr_vec_push(d->arena, &d->msgs, m);
    if (d->out && d->color) {
        if (loc.file)
            fprintf(d->out, C_BOLD "%s:%d:%d:" C_RESET " ", loc.file->path, loc.line, loc.col);
        else
            fputs(C_BOLD "dspcc:" C_RESET " ", d->out);
        fprintf(d->out, "%s%s:" C_RESET " %s\n", severity_color(sev), severity_name(sev), buf);
        print_source_line(d->out, loc, 1);
    } else if (d->out) {
        fprintf(d->out, "%s\n", m->line);
        print_source_line(d->out, loc, 0);
    }
    if (d->errors >= DIAG_MAX_ERRORS) {
        d->suppressed = 1;
        if (d->out)
            fprintf(d->out, "dspcc: too many errors (%d), stopping\n", d->errors);
    }
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

const char *diag_suggest(const char *name, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = strlen(name) / 3 + 1;
    if (limit > 3)
        limit = 3;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t dist = edit_distance(name, candidates[i]);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    if (best_d <= 1)
        return best;
    /* A word cut short (`temp` for `temperature`) is nearer its one
     * completion than any name a few edits away (`tpm`). */
    const char *completion = NULL;
    size_t len = strlen(name);
    for (size_t i = 0; i < n && len >= 3; i++) {
        if (candidates[i] && strncmp(candidates[i], name, len) == 0) {
            if (completion)
                return best_d <= limit ? best : NULL;  /* several: no better guess */
            completion = candidates[i];
        }
    }
    if (completion)
        return completion;
    return best_d <= limit ? best : NULL;
}
