/* fmt_comments.c — the source as the formatter sees it: the tokens the
 * real scanner produces, and every comment attached to the token it
 * precedes, with what the printer needs to put it back where it was (on
 * its own line or after code, after an empty line or not). */
#include <stdlib.h>
#include <string.h>

#include "fmt_int.h"
#include "parse.h"
#include "parser.h"
#include "lexer.h"

static int comment_lines(const char *text)
{
    int n = 0;
    for (const char *s = text; *s; s++)
        n += *s == '\n';
    return n;
}

/* Pairs (), [] and {} so a layout can find where a bracket closes. */
static int match_brackets(fmt_tokens *tk)
{
    size_t *stack = malloc((tk->n + 1) * sizeof *stack);
    if (!stack)
        return -1;
    size_t depth = 0;
    int ok = 0;
    for (size_t i = 0; i < tk->n; i++) {
        int k = tk->toks[i].kind;
        tk->toks[i].match = tk->n;
        if (k == '(' || k == '[' || k == '{') {
            stack[depth++] = i;
        } else if (k == ')' || k == ']' || k == '}') {
            if (depth == 0) {
                ok = -1;
                break;
            }
            size_t o = stack[--depth];
            tk->toks[o].match = i;
            tk->toks[i].match = o;
        }
    }
    free(stack);
    return depth == 0 ? ok : -1;
}

int fmt_scan(arena *a, diag *d, const source_file *src, fmt_tokens *out)
{
    memset(out, 0, sizeof *out);
    /* A scratch tree collects the scanner's comments; diagnostics cannot
     * occur (the file parsed cleanly) but go to a silent engine anyway. */
    ast_file scratch = { .src = src };
    diag quiet;
    diag_init(&quiet, a, NULL);
    parse_ctx pc = { .arena = a, .diag = &quiet, .file = src, .ast = &scratch,
                     .line = 1, .col = 1 };
    yyscan_t scanner;
    if (dsp_yylex_init_extra(&pc, &scanner) != 0) {
        diag_error(d, src_loc_make(src, 0, 0), "cannot start the scanner: out of memory");
        return -1;
    }
    YY_BUFFER_STATE buf = dsp_yy_scan_bytes(src->text, (int)src->len, scanner);
    ptr_vec toks = { 0 };
    for (;;) {
        DSP_YYSTYPE val;
        DSP_YYLTYPE loc;
        int kind = dsp_yylex(&val, &loc, scanner);
        fmt_tok *t = arena_alloc(a, sizeof *t);
        t->kind = kind;
        t->line = loc.first_line;
        t->col = loc.first_column;
        t->end_line = loc.last_line;
        if (kind != 0) {
            t->len = (size_t)dsp_yyget_leng(scanner);
            t->text = arena_strndup(a, dsp_yyget_text(scanner), t->len);
        } else {
            t->text = "";
            t->line = t->end_line = pc.line;
            t->col = pc.col;
        }
        ptr_vec_push(a, &toks, t);
        if (kind == 0)
            break;
    }
    dsp_yy_delete_buffer(buf, scanner);
    dsp_yylex_destroy(scanner);
    if (quiet.errors) {
        diag_error(d, src_loc_make(src, 1, 1), "internal error: the formatter's scan of the "
                   "file failed where the parser's did not");
        return -1;
    }

    out->n = toks.len;
    out->toks = arena_array(a, toks.len, sizeof *out->toks);
    for (size_t i = 0; i < toks.len; i++)
        out->toks[i] = *(fmt_tok *)toks.items[i];
    out->ncomments = scratch.comments.len;
    out->comments = arena_array(a, out->ncomments ? out->ncomments : 1, sizeof *out->comments);

    /* Walk tokens and comments in source order. `prev_tok_line` is the
     * line the previous token ends on; `prev_end` the last line anything
     * (token or comment) ended on, for empty-line detection. */
    size_t ci = 0;
    int prev_tok_line = 0, prev_end = 0;
    for (size_t i = 0; i < out->n; i++) {
        fmt_tok *t = &out->toks[i];
        t->first_comment = ci;
        while (ci < out->ncomments) {
            const ast_comment *c = scratch.comments.items[ci];
            if (t->kind != 0 && (c->loc.line > t->line ||
                                 (c->loc.line == t->line && c->loc.col > t->col)))
                break;
            fmt_comment *fc = &out->comments[ci];
            fc->text = c->text;
            fc->len = strlen(c->text);
            /* A line comment's trailing blanks (and the \r of a CRLF file)
             * are layout, not text. */
            while (!c->is_block && fc->len > 2 && strchr(" \t\r\f\v", c->text[fc->len - 1]))
                fc->len--;
            fc->line = c->loc.line;
            fc->end_line = c->loc.line + comment_lines(c->text);
            fc->own_line = prev_tok_line == 0 || c->loc.line > prev_tok_line;
            fc->blank_before = prev_end > 0 && c->loc.line > prev_end + 1;
            fc->is_line = !c->is_block;
            prev_end = fc->end_line;
            ci++;
        }
        t->n_comments = ci - t->first_comment;
        t->blank_before = prev_end > 0 && t->line > prev_end + 1;
        prev_tok_line = t->end_line;
        prev_end = t->end_line;
    }
    if (match_brackets(out) != 0) {
        diag_error(d, src_loc_make(src, 1, 1), "internal error: unbalanced brackets in a file "
                   "that parsed");
        return -1;
    }
    return 0;
}

size_t fmt_tok_at(const fmt_tokens *tk, src_loc loc)
{
    size_t lo = 0, hi = tk->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const fmt_tok *t = &tk->toks[mid];
        if (t->line < loc.line || (t->line == loc.line && t->col < loc.col))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < tk->n && tk->toks[lo].line == loc.line && tk->toks[lo].col == loc.col)
        return lo;
    return tk->n;
}
