/* datafile.c — a data set's file and its CSV records (datafile.h). */
#include "datafile.h"

#include "file_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

df_status df_read_file(const char *path, char **text, size_t *len, const char **why)
{
    FILE *fp = fr_open_regular(path, why);
    if (!fp)
        return DF_OPEN;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (!buf)
        return DF_NOMEM;
    if (bad) {
        free(buf);
        *why = "a read error";
        return DF_READ;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return DF_OK;
}

size_t df_bom_len(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

void csv_reader_init(csv_reader *r, const char *text, size_t len, const char *path)
{
    r->p = text;
    r->end = text + len;
    r->line = 1;
    r->path = path;
}

void csv_record_free(csv_record *rec)
{
    for (size_t i = 0; i < rec->n_cells; i++)
        free(rec->cells[i]);
    free(rec->cells);
    memset(rec, 0, sizeof *rec);
}

typedef struct cellbuf {
    char *s;
    size_t len, cap;
} cellbuf;

static int cb_put(cellbuf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char *n = realloc(b->s, cap);
        if (!n)
            return 0;
        b->s = n;
        b->cap = cap;
    }
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
    return 1;
}

/* Moves the cell into the record (an empty cell becomes ""). */
static int push_cell(csv_record *rec, cellbuf *b)
{
    if (!b->s) {
        b->s = calloc(1, 1);
        if (!b->s)
            return 0;
    }
    char **n = realloc(rec->cells, (rec->n_cells + 1) * sizeof *n);
    if (!n)
        return 0;
    rec->cells = n;
    rec->cells[rec->n_cells++] = b->s;
    memset(b, 0, sizeof *b);
    return 1;
}

static df_status nomem(csv_record *rec, cellbuf *b)
{
    free(b->s);
    csv_record_free(rec);
    return DF_NOMEM;
}

/* Frees what was read and says why, for an invalid record. */
static df_status invalid(csv_record *rec, cellbuf *b, char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static df_status invalid(csv_record *rec, cellbuf *b, char *why, size_t size, const char *fmt, ...)
{
    free(b->s);
    csv_record_free(rec);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return DF_INVALID;
}

df_status csv_read(csv_reader *r, csv_record *out, int *done, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    *done = 0;
    /* Skip blank lines between records. */
    while (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) {
        if (*r->p == '\n')
            r->line++;
        r->p++;
    }
    if (r->p >= r->end) {
        *done = 1;
        return DF_OK;
    }
    out->line = r->line;
    cellbuf b = { 0 };
    int quoted = 0, after_quote = 0, quote_line = r->line;
    for (;;) {
        if (r->p >= r->end) {
            if (quoted)
                return invalid(out, &b, why, why_size, "%s:%d: a quoted cell is never closed (a `\"` is missing)",
                               r->path, quote_line);
            break;
        }
        char c = *r->p++;
        if (quoted) {
            if (c == '"') {
                if (r->p < r->end && *r->p == '"') {
                    r->p++;
                    if (!cb_put(&b, '"'))
                        return nomem(out, &b);
                } else {
                    quoted = 0;
                    after_quote = 1;
                }
                continue;
            }
            if (c == '\n')
                r->line++;
            if (!cb_put(&b, c))
                return nomem(out, &b);
            continue;
        }
        if (c == ',') {
            if (!push_cell(out, &b))
                return nomem(out, &b);
            after_quote = 0;
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (c == '\r' && r->p < r->end && *r->p == '\n')
                r->p++;
            r->line++;
            break;
        }
        if (after_quote)
            return invalid(out, &b, why, why_size,
                           "%s:%d: text after the closing quote of a cell (cell %zu); quote the whole "
                           "cell and write a quote inside it as \"\"",
                           r->path, r->line, out->n_cells + 1);
        if (c == '"' && b.len == 0) {
            quoted = 1;
            quote_line = r->line;
            continue;
        }
        if (!cb_put(&b, c))
            return nomem(out, &b);
    }
    if (!push_cell(out, &b))
        return nomem(out, &b);
    return DF_OK;
}

