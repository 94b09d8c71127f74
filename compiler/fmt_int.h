/* fmt_int.h — internals of the formatter shared by fmt*.c.
 *
 * fmt_comments.c scans the source into tokens and attaches each comment to
 * the token it precedes; fmt_print.c holds the printer (output, spacing,
 * comment placement, flat-or-broken trials); fmt_decl.c and fmt_expr.c lay
 * out declarations and metric expressions.
 */
#ifndef DSPCC_FMT_INT_H
#define DSPCC_FMT_INT_H

#include <stddef.h>

#include "ast.h"
#include "strbuf.h"
#include "fmt.h"

typedef struct fmt_comment {
    const char *text;
    size_t len;
    int line, end_line;
    int own_line;       /* no token before it on its line */
    int blank_before;   /* an empty line separates it from what precedes it */
    int is_line;        /* a // comment: a line break must follow it */
} fmt_comment;

typedef struct fmt_tok {
    int kind;           /* bison token kind, a character, or 0 for end of file */
    const char *text;   /* the source bytes */
    size_t len;
    int line, col, end_line;
    int blank_before;   /* an empty line right before it (after any comments) */
    size_t first_comment, n_comments;   /* comments just before this token */
    size_t match;       /* brackets: index of the matching bracket */
} fmt_tok;

typedef struct fmt_tokens {
    fmt_tok *toks;      /* arena; the last one is the end of file */
    size_t n;
    fmt_comment *comments;
    size_t ncomments;
} fmt_tokens;

/* Scans `src` (which parsed without errors) into tokens and comments.
 * Returns 0, or -1 with an error reported. */
int fmt_scan(arena *a, diag *d, const source_file *src, fmt_tokens *out);

/* Index of the token that starts at loc; n (the end of file) if none. */
size_t fmt_tok_at(const fmt_tokens *tk, src_loc loc);

/* ---- printer ---- */

enum { SP_NONE, SP_SPACE, SP_PAD, SP_LINE, SP_ITEM };

typedef struct fmt_printer {
    const fmt_tokens *tk;
    size_t cur;             /* next source token */
    size_t next_comment;    /* next comment not printed yet */
    strbuf out;             /* the formatted text */
    int col;                /* column of the next byte, 0 at a line start */
    int indent;             /* indentation of new lines */
    int line_indent;        /* indentation of the current line, written lazily */
    int pending;            /* SP_*: separation before the next text */
    int pending_indent;     /* for SP_LINE/SP_ITEM: indentation of the new line */
    int pad_col;            /* SP_PAD: column to pad to */
    int flat;               /* > 0 during a one-line trial */
    int flat_failed;        /* the trial needed a line break */
    int line_comment_open;  /* the current line ends in a // comment */
    const char *error;      /* first internal error (the printer lost step) */
    int error_line;
} fmt_printer;

typedef struct fmt_snapshot {
    size_t cur, next_comment, len;
    int col, indent, line_indent, pending, pending_indent, pad_col, flat_failed;
    int line_comment_open;
} fmt_snapshot;

void fp_init(fmt_printer *p, const fmt_tokens *tk);
void fp_free(fmt_printer *p);

int fp_peek(const fmt_printer *p);
int fp_peek_at(const fmt_printer *p, size_t ahead);
const fmt_tok *fp_cur(const fmt_printer *p);

/* Prints the comments before the next token and the pending separation. */
void fp_realize(fmt_printer *p);
void fp_space(fmt_printer *p);
void fp_pad_to(fmt_printer *p, int col);
/* A line break; the new line is indented by p->indent + extra. */
void fp_line(fmt_printer *p, int extra);
/* A line break between items of a list: one empty line is kept where the
 * source had one or more. */
void fp_item(fmt_printer *p);

/* Prints the next source token, which must be of `kind` (-1: any). */
void fp_tok(fmt_printer *p, int kind);
/* Consumes the next token (an optional comma the layout drops). */
void fp_skip(fmt_printer *p, int kind);
/* Prints text that is not in the source (a comma the layout adds). */
void fp_text(fmt_printer *p, const char *s);
/* Prints one string literal: one or more adjacent STRING tokens. */
void fp_string(fmt_printer *p);
/* Prints the comments before the next token (closing a block: at the
 * block's indentation). */
void fp_flush_comments(fmt_printer *p);
/* Prints an opening bracket and indents. fp_close prints the comments
 * still pending inside, dedents, and prints the closing bracket on a line
 * of its own. */
void fp_open(fmt_printer *p, int kind);
void fp_close(fmt_printer *p, int kind);
/* True if the next token opens a bracket closed right after it, with no
 * comment in between. */
int fp_empty_brackets(const fmt_printer *p);

void fp_save(const fmt_printer *p, fmt_snapshot *s);
void fp_restore(fmt_printer *p, const fmt_snapshot *s);

/* Runs fn(ctx, 1) as a one-line trial: kept if it needs no line break and
 * ends at most `reserve` columns before FMT_WIDTH; otherwise undone and
 * fn(ctx, 0) runs. Inside another trial, just fn(ctx, 1). Returns 1 if
 * the flat layout was kept. */
typedef void (*fmt_layout_fn)(fmt_printer *p, const void *ctx, int flat);
int fp_try_flat(fmt_printer *p, fmt_layout_fn fn, const void *ctx, int reserve);
/* The one-line trial alone: returns 0, with nothing printed, if it fails. */
int fp_flat_only(fmt_printer *p, fmt_layout_fn fn, const void *ctx, int reserve);

void fp_fail(fmt_printer *p, const char *what);

/* ---- layouts ---- */
void fmt_decl(fmt_printer *p, const ast_decl *d);
void fmt_metric_body(fmt_printer *p, const ast_expr *e);
void fmt_expr(fmt_printer *p, const ast_expr *e);

#endif
