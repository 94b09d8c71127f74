/* fmt_expr.c — metric expressions. The parentheses printed are the ones
 * the author wrote (found in the token stream), so grouping never changes;
 * the layout only decides spaces and, for a long metric, line breaks. */
#include <string.h>

#include "fmt_int.h"
#include "parser.h"

/* A `(` that groups rather than calls: a call's `(` follows the end of an
 * operand (a name, a literal, `)` or `]`). */
static int group_paren(const fmt_tokens *tk, size_t i)
{
    if (tk->toks[i].kind != '(')
        return 0;
    if (i == 0)
        return 1;
    switch (tk->toks[i - 1].kind) {
    case IDENT: case STRING: case INT: case FLOAT: case TRUE: case FALSE: case ')': case ']':
        return 0;
    default:
        return 1;
    }
}

typedef struct span { size_t s, e; int parens; } span;

static span full_span(const fmt_tokens *tk, const ast_expr *e);

/* First and last token of e, without parentheses around e itself. */
static span core_span(const fmt_tokens *tk, const ast_expr *e)
{
    span r = { 0, 0, 0 };
    switch (e->kind) {
    case AE_INT: case AE_FLOAT: case AE_BOOL: case AE_NAME:
        r.s = r.e = fmt_tok_at(tk, e->loc);
        break;
    case AE_STRING:
        r.s = r.e = fmt_tok_at(tk, e->loc);
        while (r.e + 1 < tk->n && tk->toks[r.e + 1].kind == STRING)
            r.e++;
        break;
    case AE_LIST:
        r.s = fmt_tok_at(tk, e->loc);
        r.e = r.s < tk->n ? tk->toks[r.s].match : tk->n;
        break;
    case AE_UNARY:
        r.s = fmt_tok_at(tk, e->loc);
        r.e = full_span(tk, e->a).e;
        break;
    case AE_BINARY:
        r.s = full_span(tk, e->a).s;
        r.e = full_span(tk, e->b).e;
        break;
    case AE_FIELD:
        r.s = full_span(tk, e->a).s;
        r.e = fmt_tok_at(tk, e->loc);
        break;
    case AE_CALL: {
        span c = full_span(tk, e->a);
        r.s = c.s;
        r.e = c.e + 1 < tk->n ? tk->toks[c.e + 1].match : tk->n;
        break;
    }
    }
    return r;
}

static span full_span(const fmt_tokens *tk, const ast_expr *e)
{
    span r = core_span(tk, e);
    while (r.s > 0 && r.s < tk->n && r.e + 1 < tk->n && group_paren(tk, r.s - 1) &&
           tk->toks[r.s - 1].match == r.e + 1) {
        r.s--;
        r.e++;
        r.parens++;
    }
    return r;
}

static void args(fmt_printer *p, const ptr_vec *v, int call)
{
    for (size_t i = 0; i < v->len; i++) {
        if (call) {
            const ast_arg *a = v->items[i];
            if (a->name.name) {
                fp_tok(p, -1);
                fp_tok(p, ':');
                fp_space(p);
            }
            fmt_expr(p, a->value);
        } else {
            fmt_expr(p, v->items[i]);
        }
        if (i + 1 < v->len) {
            fp_tok(p, ',');
            fp_space(p);
        } else if (fp_peek(p) == ',') {
            fp_skip(p, ',');
        }
    }
}

static void expr_core(fmt_printer *p, const ast_expr *e)
{
    switch (e->kind) {
    case AE_INT: case AE_FLOAT: case AE_BOOL: case AE_NAME:
        fp_tok(p, -1);
        break;
    case AE_STRING:
        fp_string(p);
        break;
    case AE_LIST:
        fp_tok(p, '[');
        args(p, &e->args, 0);
        fp_tok(p, ']');
        break;
    case AE_UNARY:
        fp_tok(p, -1);
        if (e->op == OP_NOT)
            fp_space(p);
        fmt_expr(p, e->a);
        break;
    case AE_BINARY:
        fmt_expr(p, e->a);
        fp_space(p);
        fp_tok(p, -1);
        fp_space(p);
        fmt_expr(p, e->b);
        break;
    case AE_FIELD:
        fmt_expr(p, e->a);
        fp_tok(p, '.');
        fp_tok(p, IDENT);
        break;
    case AE_CALL:
        fmt_expr(p, e->a);
        fp_tok(p, '(');
        args(p, &e->args, 1);
        fp_tok(p, ')');
        break;
    }
}

void fmt_expr(fmt_printer *p, const ast_expr *e)
{
    int parens = full_span(p->tk, e).parens;
    for (int i = 0; i < parens; i++)
        fp_tok(p, '(');
    expr_core(p, e);
    for (int i = 0; i < parens; i++)
        fp_tok(p, ')');
}

static int prec(ast_op op)
{
    switch (op) {
    case OP_OR: return 1;
    case OP_AND: return 2;
    case OP_ADD: case OP_SUB: return 5;
    case OP_MUL: case OP_DIV: return 6;
    default: return 0;      /* comparisons do not chain */
    }
}

/* The operands of a left-leaning chain of one precedence (a + b - c),
 * stopping at parentheses the author wrote. */
static void chain(const fmt_tokens *tk, const ast_expr *e, int level, ptr_vec *out, arena *a)
{
    if (e->kind == AE_BINARY && prec(e->op) == level && full_span(tk, e).parens == 0) {
        chain(tk, e->a, level, out, a);
        ptr_vec_push(a, out, (void *)e);
        return;
    }
    ptr_vec_push(a, out, (void *)e);
}

static void expr_layout(fmt_printer *p, const void *e, int flat)
{
    (void)flat;
    fmt_expr(p, e);
}

/* An operand of a broken chain that starts at column `col`: on one line if
 * it fits; else, if it is a chain itself, one operand a line, its
 * operators two columns further in than its first operand. */
static void chain_operand(fmt_printer *p, const ast_expr *e, int col)
{
    if (fp_flat_only(p, expr_layout, e, 0))
        return;
    int level = e->kind == AE_BINARY && full_span(p->tk, e).parens == 0 ? prec(e->op) : 0;
    if (level == 0) {
        fmt_expr(p, e);
        return;
    }
    arena a;
    arena_init(&a);
    ptr_vec ops = { 0 };
    chain(p->tk, e, level, &ops, &a);
    chain_operand(p, ops.items[0], col);
    for (size_t i = 1; i < ops.len; i++) {
        const ast_expr *b = ops.items[i];
        int w = (int)strlen(ast_op_text(b->op)) + 1;
        fp_line(p, col + 2 - p->indent);
        fp_tok(p, -1);
        fp_space(p);
        chain_operand(p, b->b, col + 2 + w);
    }
    arena_free(&a);
}

/* `metric m(ex, pred) = expr` on one line if it fits; else the expression
 * on the next line, indented 4; if that is still too long and the
 * expression is a chain of one operator level, one operand a line with
 * the operator in front (a one-character operator hangs so the operands
 * align; a longer one starts at column 4) (an operand that is still too
 * long and a chain itself is broken the same way, further in). */
void fmt_metric_body(fmt_printer *p, const ast_expr *e)
{
    fp_space(p);
    if (fp_flat_only(p, expr_layout, e, 0))
        return;
    fp_line(p, 4);
    if (fp_flat_only(p, expr_layout, e, 0))
        return;
    int level = e->kind == AE_BINARY && full_span(p->tk, e).parens == 0 ? prec(e->op) : 0;
    if (level == 0) {
        fmt_expr(p, e);
        return;
    }
    arena a;
    arena_init(&a);
    ptr_vec ops = { 0 };
    chain(p->tk, e, level, &ops, &a);
    /* ops[0] is the first operand; ops[i > 0] are the binary nodes whose
     * right operands follow, in source order. */
    chain_operand(p, ops.items[0], p->indent + 4);
    for (size_t i = 1; i < ops.len; i++) {
        const ast_expr *b = ops.items[i];
        int w = (int)strlen(ast_op_text(b->op)) + 1;
        /* `+ ` hangs in the margin, operands aligned; a word (`and `, `or `)
         * or a two-character operator would reach column 0 or 1, where it
         * reads as a new declaration, so it starts at column 4. */
        fp_line(p, w <= 2 ? 4 - w : 4);
        fp_tok(p, -1);
        fp_space(p);
        chain_operand(p, b->b, p->indent + 4);
    }
    arena_free(&a);
}
