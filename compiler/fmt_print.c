/* fmt_print.c — the formatter's printer: output buffer, lazy spacing,
 * comments put back next to their tokens, and one-line trials.
 *
 * Separation is lazy: a layout asks for a space or a line break, and the
 * request is carried out only when the next text is printed. That lets a
 * comment that trailed a token in the source be printed after it, before
 * the line break, and lets a closing `}` cancel an item's empty line. */
#include <stdlib.h>
#include <string.h>

#include "fmt_int.h"
#include "parser.h"

void fp_init(fmt_printer *p, const fmt_tokens *tk)
{
    memset(p, 0, sizeof *p);
    p->tk = tk;
}

void fp_free(fmt_printer *p)
{
    sb_free(&p->out);
}

void fp_fail(fmt_printer *p, const char *what)
{
    if (!p->error) {
        p->error = what;
        p->error_line = fp_cur(p)->line;
    }
}

const fmt_tok *fp_cur(const fmt_printer *p)
{
    size_t i = p->cur < p->tk->n ? p->cur : p->tk->n - 1;
    return &p->tk->toks[i];
}

int fp_peek(const fmt_printer *p)
{
    return fp_cur(p)->kind;
}

int fp_peek_at(const fmt_printer *p, size_t ahead)
{
    size_t i = p->cur + ahead;
    return i < p->tk->n ? p->tk->toks[i].kind : 0;
}

static void put(fmt_printer *p, const char *s, size_t n)
{
    sb_put(&p->out, s, n);
    if (p->out.oom)
        fp_fail(p, "out of memory");
}

/* Text without line breaks of its own, after the line's indentation. */
static void put_text(fmt_printer *p, const char *s, size_t n)
{
    if (p->col == 0 && p->out.len > 0) {
        for (int i = 0; i < p->line_indent; i++)
            put(p, " ", 1);
        p->col = p->line_indent;
    }
    put(p, s, n);
    /* Text with line breaks (a multi-line block comment) ends on a line of
     * its own; the column is counted from its last break. */
    const char *nl = memchr(s, '\n', n);
    if (nl) {
        const char *last = s + n;
        while (last[-1] != '\n')
            last--;
        p->col = (int)(s + n - last);
    } else {
        p->col += (int)n;
    }
}

static void newline(fmt_printer *p, int blank, int indent)
{
    if (p->flat)
        p->flat_failed = 1;
    if (p->out.len > 0) {
        put(p, "\n", 1);
        if (blank)
            put(p, "\n", 1);
    }
    p->col = 0;
    p->line_indent = indent;
    p->line_comment_open = 0;
}

/* Carries out the pending separation before text; `blank` says whether the
 * text had an empty line before it in the source. */
static void realize(fmt_printer *p, int blank)
{
    switch (p->pending) {
    case SP_SPACE:
        if (p->col > 0)
            put_text(p, " ", 1);
        break;
    case SP_PAD:
        if (p->col > 0) {
            put_text(p, " ", 1);
            while (p->col < p->pad_col)
                put_text(p, " ", 1);
        }
        break;
    case SP_LINE:
    case SP_ITEM:
        newline(p, p->pending == SP_ITEM && blank, p->pending_indent);
        break;
    default:
        break;
    }
    p->pending = SP_NONE;
}

void fp_realize(fmt_printer *p)
{
    fp_flush_comments(p);
    realize(p, fp_cur(p)->blank_before);
}

void fp_space(fmt_printer *p)
{
    if (p->pending < SP_SPACE)
        p->pending = SP_SPACE;
}

void fp_pad_to(fmt_printer *p, int col)
{
    if (p->pending < SP_PAD) {
        p->pending = SP_PAD;
        p->pad_col = col;
    }
}

void fp_line(fmt_printer *p, int extra)
{
    if (p->pending < SP_LINE) {
        p->pending = SP_LINE;
        p->pending_indent = p->indent + extra;
    }
}

void fp_item(fmt_printer *p)
{
    if (p->pending < SP_ITEM) {
        p->pending = SP_ITEM;
        p->pending_indent = p->indent;
    }
}

/* Prints the comments attached to the next token. A comment that trailed
 * code on its line stays after the code printed last; one that stood on
 * its own line gets a line of its own. A // comment ends its line, so
 * code printed after it continues on the next line. */
void fp_flush_comments(fmt_printer *p)
{
    const fmt_tok *t = fp_cur(p);
    size_t end = t->first_comment + t->n_comments;
    while (p->next_comment < end) {
        const fmt_comment *c = &p->tk->comments[p->next_comment++];
        /* Nothing can follow a // comment on its line. */
        int own = c->own_line || p->line_comment_open;
        if (own && (p->pending >= SP_LINE || p->col == 0)) {
            if (p->pending >= SP_LINE)
                realize(p, c->blank_before);
            else if (p->out.len > 0)
                newline(p, 0, p->indent);
            put_text(p, c->text, c->len);
            p->line_comment_open = c->is_line;
            p->pending = SP_ITEM;
            p->pending_indent = p->line_indent;
            continue;
        }
        if (own) {
            /* Inside a line: the comment breaks it. */
            newline(p, 0, p->indent + 4);
            put_text(p, c->text, c->len);
            p->line_comment_open = c->is_line;
            p->pending = SP_LINE;
            p->pending_indent = p->indent + 4;
            continue;
        }
        /* After code on the same line. */
        int was = p->pending;
        int indent = p->pending_indent;
        if (p->col > 0)
            put_text(p, " ", 1);
        put_text(p, c->text, c->len);
        if (c->is_line) {
            p->line_comment_open = 1;
            if (p->flat)
                p->flat_failed = 1;
            if (was < SP_LINE) {
                p->pending = SP_LINE;
                p->pending_indent = p->indent + 4;
            } else {
                p->pending = was;
                p->pending_indent = indent;
            }
        } else if (was < SP_SPACE) {
            p->pending = SP_SPACE;
        }
    }
}

static void check_kind(fmt_printer *p, int kind)
{
    if (p->cur >= p->tk->n || fp_cur(p)->kind == 0)
        fp_fail(p, "the formatter expected more tokens than the file has");
    else if (kind != -1 && fp_cur(p)->kind != kind)
        fp_fail(p, "the formatter lost step with the file's tokens");
}

void fp_tok(fmt_printer *p, int kind)
{
    check_kind(p, kind);
    if (p->error)
        return;
    fp_flush_comments(p);
    const fmt_tok *t = fp_cur(p);
    /* No layout puts a space before these; only a comment can have asked
     * for one. Without it, a block comment before a comma takes as many
     * columns as after it, so one-line decisions do not change when a
     * dropped comma moves a comment. */
    if (p->pending == SP_SPACE && (t->kind == ',' || t->kind == ')' || t->kind == ']'))
        p->pending = SP_NONE;
    realize(p, t->blank_before);
    put_text(p, t->text, t->len);
    p->cur++;
}

void fp_skip(fmt_printer *p, int kind)
{
    check_kind(p, kind);
    if (p->error)
        return;
    /* Its comments go out with the next printed token's, so they land
     * where that token's would (a dropped comma is no anchor). */
    p->cur++;
}

void fp_text(fmt_printer *p, const char *s)
{
    realize(p, 0);
    put_text(p, s, strlen(s));
}

void fp_string(fmt_printer *p)
{
    int prev_line = fp_cur(p)->end_line;
    fp_tok(p, STRING);
    /* Adjacent literals are one string; a part the author put on a new
     * line stays on a new line, indented as a continuation. */
    while (!p->error && fp_peek(p) == STRING) {
        if (fp_cur(p)->line > prev_line)
            fp_line(p, 4);
        else
            fp_space(p);
        prev_line = fp_cur(p)->end_line;
        fp_tok(p, STRING);
    }
}

int fp_empty_brackets(const fmt_printer *p)
{
    size_t i = p->cur + 1;
    return i < p->tk->n && p->tk->toks[p->cur].match == i && p->tk->toks[i].n_comments == 0;
}

void fp_open(fmt_printer *p, int kind)
{
    fp_tok(p, kind);
    p->indent += 2;
}

void fp_close(fmt_printer *p, int kind)
{
    fp_line(p, 0);
    fp_flush_comments(p);
    p->indent -= 2;
    p->pending = SP_LINE;
    p->pending_indent = p->indent;
    fp_tok(p, kind);
}

void fp_save(const fmt_printer *p, fmt_snapshot *s)
{
    s->cur = p->cur;
    s->next_comment = p->next_comment;
    s->len = p->out.len;
    s->col = p->col;
    s->indent = p->indent;
    s->line_indent = p->line_indent;
    s->pending = p->pending;
    s->pending_indent = p->pending_indent;
    s->pad_col = p->pad_col;
    s->flat_failed = p->flat_failed;
    s->line_comment_open = p->line_comment_open;
}

void fp_restore(fmt_printer *p, const fmt_snapshot *s)
{
    p->cur = s->cur;
    p->next_comment = s->next_comment;
    p->out.len = s->len;
    if (p->out.p)
        p->out.p[p->out.len] = '\0';
    p->col = s->col;
    p->indent = s->indent;
    p->line_indent = s->line_indent;
    p->pending = s->pending;
    p->pending_indent = s->pending_indent;
    p->pad_col = s->pad_col;
    p->flat_failed = s->flat_failed;
    p->line_comment_open = s->line_comment_open;
}

int fp_flat_only(fmt_printer *p, fmt_layout_fn fn, const void *ctx, int reserve)
{
    if (p->flat) {
        fn(p, ctx, 1);
        return 1;
    }
    /* A line break requested before the trial is not part of it. */
    if (p->pending >= SP_LINE)
        fp_realize(p);
    fmt_snapshot s;
    fp_save(p, &s);
    p->flat_failed = 0;
    p->flat++;
    fn(p, ctx, 1);
    p->flat--;
    int fits = !p->flat_failed && !p->error && p->col + reserve <= FMT_WIDTH &&
               !(p->out.len > s.len && memchr(p->out.p + s.len, '\n', p->out.len - s.len));
    if (fits) {
        p->flat_failed = s.flat_failed;
        return 1;
    }
    fp_restore(p, &s);
    return 0;
}

int fp_try_flat(fmt_printer *p, fmt_layout_fn fn, const void *ctx, int reserve)
{
    if (fp_flat_only(p, fn, ctx, reserve))
        return 1;
    fn(p, ctx, 0);
    return 0;
}
