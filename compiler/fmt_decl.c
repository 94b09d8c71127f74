/* fmt_decl.c — the canonical layout of declarations, types, module
 * bodies and the lists inside them (docs/language.md, "Formatting"). */
#include <string.h>

#include "fmt_int.h"
#include "parser.h"

/* ---- comma-separated lists: one line if it fits, else one item a line ---- */

typedef void (*fmt_item_fn)(fmt_printer *p, const void *item);

typedef struct comma_list {
    int open, close;
    const ptr_vec *items;
    fmt_item_fn item;
    int spaced;             /* `{ a, b }` rather than `(a, b)` */
} comma_list;

/* The source's comma if it has one, else a new one. */
static void comma(fmt_printer *p)
{
    if (fp_peek(p) == ',')
        fp_tok(p, ',');
    else
        fp_text(p, ",");
}

static void comma_list_layout(fmt_printer *p, const void *vctx, int flat)
{
    const comma_list *l = vctx;
    size_t n = l->items->len;
    if (flat || n == 0) {
        fp_tok(p, l->open);
        if (l->spaced && n > 0)
            fp_space(p);
        for (size_t i = 0; i < n; i++) {
            l->item(p, l->items->items[i]);
            if (i + 1 < n) {
                comma(p);
                fp_space(p);
            } else if (fp_peek(p) == ',') {
                fp_skip(p, ',');
            }
        }
        if (l->spaced && n > 0)
            fp_space(p);
        fp_tok(p, l->close);
        return;
    }
    fp_open(p, l->open);
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            fp_line(p, 0);
        else
            fp_item(p);
        l->item(p, l->items->items[i]);
        comma(p);
    }
    fp_close(p, l->close);
}

static int comma_list_print(fmt_printer *p, int open, int close, const ptr_vec *items,
                            fmt_item_fn item, int spaced, int reserve)
{
    comma_list l = { open, close, items, item, spaced };
    return fp_try_flat(p, comma_list_layout, &l, reserve);
}

/* ---- values, types ---- */

static void value(fmt_printer *p, const ast_value *v)
{
    if (v->kind == AV_LIST) {
        fp_tok(p, '[');
        for (size_t i = 0; i < v->items.len; i++) {
            if (i) {
                fp_tok(p, ',');
                fp_space(p);
            }
            value(p, v->items.items[i]);
        }
        fp_tok(p, ']');
    } else if (fp_peek(p) == '-') {
        fp_tok(p, '-');
        fp_tok(p, -1);
    } else if (fp_peek(p) == STRING) {
        fp_string(p);
    } else {
        fp_tok(p, -1);
        for (size_t i = 0; v->kind == AV_FIELD && i < 1 + v->path.len; i++) {
            fp_tok(p, '.');
            fp_tok(p, IDENT);
        }
    }
}

/* An enum value: a name, or a string as the source wrote it. */
static void enum_value_item(fmt_printer *p, const void *item)
{
    fp_tok(p, ((const ast_ident *)item)->quoted ? STRING : IDENT);
}

/* Columns an enum value takes: a string with its quotes and escapes. */
static int enum_value_width(const ast_ident *id)
{
    if (!id->quoted)
        return (int)strlen(id->name);
    int w = 2;
    for (const char *c = id->name; *c; c++)
        w += (*c == '"' || *c == '\\' || *c == '\n' || *c == '\t') ? 2 : 1;
    return w;
}

static void type(fmt_printer *p, const ast_type *t)
{
    switch (t->kind) {
    case AT_NAME:
        fp_tok(p, IDENT);
        break;
    case AT_LIST:
    case AT_OPTIONAL:
    case AT_MAP:
    case AT_GENERIC:
        fp_tok(p, IDENT);
        fp_tok(p, '<');
        if (t->key) {
            type(p, t->key);
            fp_tok(p, ',');
            fp_space(p);
        }
        type(p, t->elem);
        fp_tok(p, '>');
        break;
    case AT_ENUM:
        fp_tok(p, ENUM);
        fp_space(p);
        comma_list_print(p, '{', '}', &t->values, enum_value_item, 1, 0);
        break;
    }
}

/* Columns the type takes on one line, for aligning descriptions. */
static int type_width(const ast_type *t)
{
    switch (t->kind) {
    case AT_NAME:
        return (int)strlen(t->name);
    case AT_ENUM: {
        int w = (int)strlen("enum {  }");
        for (size_t i = 0; i < t->values.len; i++)
            w += enum_value_width(t->values.items[i]) + (i ? 2 : 0);
        return w;
    }
    default:
        return (int)strlen(t->name) + 2 + (t->key ? type_width(t->key) + 2 : 0) + type_width(t->elem);
    }
}

/* ---- key: value blocks ---- */

static void kv(fmt_printer *p, const void *item)
{
    const ast_kv *k = item;
    fp_tok(p, -1);
    fp_tok(p, ':');
    fp_space(p);
    value(p, k->value);
}

/* `{` items, one a line, `}` (`{}` without any): item prints each; with
 * drop_commas the optional commas after them are left out. */
static void lines_block(fmt_printer *p, const ptr_vec *items, fmt_item_fn item, int drop_commas)
{
    if (fp_empty_brackets(p)) {
        fp_tok(p, '{');
        fp_tok(p, '}');
        return;
    }
    fp_open(p, '{');
    for (size_t i = 0; i < items->len; i++) {
        if (i == 0)
            fp_line(p, 0);
        else
            fp_item(p);
        item(p, items->items[i]);
        if (drop_commas && fp_peek(p) == ',')
            fp_skip(p, ',');
    }
    fp_close(p, '}');
}

/* `{ key: value ... }` of lm and optimize: always one option a line; the
 * optional commas between them are dropped. */
static void kv_block(fmt_printer *p, const ptr_vec *kvs)
{
    lines_block(p, kvs, kv, 1);
}

/* ---- signatures ---- */

/* record: a record's field, which starts with its name (a signature's
 * starts with `in` or `out`). */
static size_t field_first_tok(const fmt_printer *p, const ast_field *f, int record)
{
    size_t i = fmt_tok_at(p->tk, f->name.loc);
    if (record)
        return i;
    return i > 0 ? i - 1 : 0;   /* the `in` or `out` before the name */
}

/* A field starts a new alignment group after an empty line or a comment
 * on its own line. */
static int starts_group(const fmt_printer *p, const ast_field *f, int record)
{
    const fmt_tok *t = &p->tk->toks[field_first_tok(p, f, record)];
    if (t->blank_before)
        return 1;
    for (size_t c = 0; c < t->n_comments; c++)
        if (p->tk->comments[t->first_comment + c].own_line)
            return 1;
    return 0;
}

static int field_prefix_width(const ast_field *f, int record)
{
    return (record ? 0 : 4) + (int)strlen(f->name.name) + 2 + type_width(f->type);
}

/* The fields of a signature or (record) of a record: one a line, the
 * optional commas between record fields dropped. */
static void fields_block(fmt_printer *p, const ptr_vec *fields, int record)
{
    if (fp_empty_brackets(p)) {
        fp_tok(p, '{');
        fp_tok(p, '}');
        return;
    }
    fp_open(p, '{');
    int desc_col = 0;
    for (size_t i = 0; i < fields->len; i++) {
        const ast_field *f = fields->items[i];
        if (i == 0 || starts_group(p, f, record)) {
            /* Descriptions of a group start in one column, two spaces
             * after its longest field that has one. */
            int w = 0;
            for (size_t j = i; j < fields->len; j++) {
                const ast_field *g = fields->items[j];
                if (j > i && starts_group(p, g, record))
                    break;
                if (g->desc && field_prefix_width(g, record) > w)
                    w = field_prefix_width(g, record);
            }
            desc_col = p->indent + w + 2;
        }
        if (i == 0)
            fp_line(p, 0);
        else
            fp_item(p);
        if (!record) {
            fp_tok(p, -1);      /* in / out */
            fp_pad_to(p, p->indent + 4);
        }
        fp_tok(p, IDENT);
        fp_tok(p, ':');
        fp_space(p);
        type(p, f->type);
        if (f->desc) {
            fp_pad_to(p, desc_col);
            fp_string(p);
        }
        if (record && fp_peek(p) == ',')
            fp_skip(p, ',');
    }
    fp_close(p, '}');
}

/* ---- tools ---- */

/* C declaration words: `const char *name`, the star against the name. */
static void cwords_until(fmt_printer *p, int stop1, int stop2)
{
    int first = 1, prev_star = 0;
    while (!p->error && fp_peek(p) != stop1 && fp_peek(p) != stop2 && fp_peek(p) != 0) {
        /* `const char *xs[]`: no space after a star or inside the brackets. */
        if (!first && !prev_star && fp_peek(p) != '[' && fp_peek(p) != ']')
            fp_space(p);
        prev_star = fp_peek(p) == '*';
        fp_tok(p, -1);
        first = 0;
    }
}

/* `(const char *q, long k)` on one line if it fits with the rest of the
 * declaration; else one parameter a line (C allows no trailing comma). */
static void cparams_layout(fmt_printer *p, const void *unused, int flat)
{
    (void)unused;
    if (flat || fp_peek_at(p, 1) == ')') {
        fp_tok(p, '(');
        while (!p->error && fp_peek(p) != ')' && fp_peek(p) != 0) {
            cwords_until(p, ',', ')');
            if (fp_peek(p) == ',') {
                fp_tok(p, ',');
                fp_space(p);
            }
        }
        fp_tok(p, ')');
        return;
    }
    fp_open(p, '(');
    fp_line(p, 0);
    while (!p->error && fp_peek(p) != ')' && fp_peek(p) != 0) {
        cwords_until(p, ',', ')');
        if (fp_peek(p) == ',') {
            fp_tok(p, ',');
            fp_item(p);
        }
    }
    fp_close(p, ')');
}

/* Columns of the shared object's name after `from` (the string's tokens). */
static int tool_lib_width(const fmt_printer *p)
{
    size_t i = fp_cur(p)->match;
    int w = 0;
    for (i++; i < p->tk->n && p->tk->toks[i].kind != FROM; i++)
        ;
    for (i++; i < p->tk->n && p->tk->toks[i].kind == STRING; i++)
        w += (int)p->tk->toks[i].len + (w ? 1 : 0);
    return w;
}

static void tool(fmt_printer *p, const ast_decl *d)
{
    fp_tok(p, TOOL);
    fp_space(p);
    if (d->header) {
        fp_tok(p, IDENT);
        fp_space(p);
        fp_tok(p, FROM);
        fp_space(p);
        fp_string(p);
        fp_space(p);
        fp_tok(p, IDENT);       /* header */
        fp_space(p);
        fp_string(p);
        return;
    }
    cwords_until(p, '(', '(');
    fp_try_flat(p, cparams_layout, NULL, (int)strlen(" from ") + tool_lib_width(p));
    fp_space(p);
    fp_tok(p, FROM);
    fp_space(p);
    fp_string(p);
}

/* ---- modules ---- */

static void param(fmt_printer *p, const void *item)
{
    const ast_param *pa = item;
    fp_tok(p, IDENT);
    fp_tok(p, ':');
    fp_space(p);
    type(p, pa->type);
}

static void binding(fmt_printer *p, const void *item)
{
    const ast_binding *b = item;
    fp_tok(p, IDENT);
    fp_tok(p, ':');
    fp_space(p);
    value(p, b->value);
}

static void stmt(fmt_printer *p, const ast_stmt *s);

static void stmt_item(fmt_printer *p, const void *item)
{
    stmt(p, item);
}

static void stmts_block(fmt_printer *p, const ptr_vec *body)
{
    lines_block(p, body, stmt_item, 0);
}

static void if_stmt(fmt_printer *p, const ast_stmt *s)
{
    fp_tok(p, IF);
    fp_space(p);
    value(p, s->lhs);
    fp_space(p);
    fp_tok(p, -1);              /* == or != */
    fp_space(p);
    value(p, s->rhs);
    fp_space(p);
    stmts_block(p, &s->body);
    if (!s->has_else)
        return;
    /* `} else {`, unless a comment sits between them: then `else` starts
     * its own line. */
    if (fp_cur(p)->n_comments > 0)
        fp_line(p, 0);
    else
        fp_space(p);
    fp_tok(p, ELSE);
    fp_space(p);
    if (fp_peek(p) == IF && s->else_body.len == 1)
        if_stmt(p, s->else_body.items[0]);
    else
        stmts_block(p, &s->else_body);
}

static void stmt(fmt_printer *p, const ast_stmt *s)
{
    switch (s->kind) {
    case ST_ASSIGN:
        fp_tok(p, IDENT);
        fp_space(p);
        fp_tok(p, '=');
        fp_space(p);
        fp_tok(p, IDENT);
        if (s->call->kind == CALL_STRATEGY) {
            fp_tok(p, '(');
            fp_tok(p, IDENT);
            for (size_t i = 0; i < s->call->opts.len; i++) {
                const ast_sopt *o = s->call->opts.items[i];
                fp_tok(p, ',');
                fp_space(p);
                fp_tok(p, IDENT);
                fp_tok(p, ':');
                fp_space(p);
                if (!o->is_list) {
                    value(p, o->value);
                    continue;
                }
                fp_tok(p, '[');
                for (size_t k = 0; k < o->names.len; k++) {
                    if (k) {
                        fp_tok(p, ',');
                        fp_space(p);
                    }
                    fp_tok(p, IDENT);
                }
                fp_tok(p, ']');
            }
            fp_tok(p, ')');
        }
        comma_list_print(p, '(', ')', &s->call->bindings, binding, 0, 0);
        break;
    case ST_REPEAT:
        fp_tok(p, REPEAT);
        fp_space(p);
        fp_tok(p, INT);
        fp_space(p);
        stmts_block(p, &s->body);
        break;
    case ST_IF:
        if_stmt(p, s);
        break;
    case ST_RETURN:
        fp_tok(p, RETURN);
        fp_space(p);
        if (s->returns_record)
            comma_list_print(p, '(', ')', &s->bindings, binding, 0, 0);
        else
            fp_tok(p, IDENT);
        break;
    }
}

static void arrow_results(fmt_printer *p, const void *vd, int flat)
{
    const ast_decl *d = vd;
    fp_tok(p, ARROW);
    fp_space(p);
    comma_list r = { '(', ')', &d->results, param, 0 };
    comma_list_layout(p, &r, flat);
}

/* `(params) -> (results)` on the module's line if it fits; else the
 * arrow and results on a continuation line; lists that still do not fit
 * get one parameter a line. */
static void module_header(fmt_printer *p, const void *vd, int flat)
{
    const ast_decl *d = vd;
    if (flat) {
        comma_list l = { '(', ')', &d->params, param, 0 };
        comma_list_layout(p, &l, 1);
        fp_space(p);
        arrow_results(p, d, 1);
        return;
    }
    if (comma_list_print(p, '(', ')', &d->params, param, 0, 0)) {
        fmt_snapshot s;
        fp_save(p, &s);
        fp_line(p, 4);
        if (fp_flat_only(p, arrow_results, d, 2))
            return;
        fp_restore(p, &s);
    }
    fp_space(p);
    fp_tok(p, ARROW);
    fp_space(p);
    comma_list_print(p, '(', ')', &d->results, param, 0, 2);
}

static void module(fmt_printer *p, const ast_decl *d)
{
    fp_tok(p, MODULE);
    fp_space(p);
    fp_tok(p, IDENT);
    fp_try_flat(p, module_header, d, 2);
    fp_space(p);
    stmts_block(p, &d->body);
}

/* ---- data ---- */

/* `column -> field` or `column -> field: type`; pad_col > 0 aligns the arrow. */
static void mapping(fmt_printer *p, const ast_mapping *item, int pad_col)
{
    if (fp_peek(p) == STRING)
        fp_string(p);
    else
        fp_tok(p, IDENT);
    if (pad_col)
        fp_pad_to(p, pad_col);
    else
        fp_space(p);
    fp_tok(p, ARROW);
    fp_space(p);
    fp_tok(p, IDENT);
    if (fp_peek(p) == ':') {
        fp_tok(p, ':');
        fp_space(p);
        type(p, ((const ast_mapping *)item)->type);
    }
}

static void mapping_item(fmt_printer *p, const void *item)
{
    mapping(p, item, 0);
}

/* `{ col -> field, ... }` on one line if it fits; else one mapping a
 * line, arrows aligned, without commas. */
static void mappings_layout(fmt_printer *p, const void *vd, int flat)
{
    const ast_decl *d = vd;
    if (flat || d->mapping.len == 0) {
        comma_list l = { '{', '}', &d->mapping, mapping_item, 1 };
        comma_list_layout(p, &l, 1);
        return;
    }
    int w = 0;
    for (size_t i = 0; i < d->mapping.len; i++) {
        const ast_mapping *m = d->mapping.items[i];
        size_t t = fmt_tok_at(p->tk, m->loc);
        if (t < p->tk->n && (int)p->tk->toks[t].len > w)
            w = (int)p->tk->toks[t].len;
    }
    fp_open(p, '{');
    for (size_t i = 0; i < d->mapping.len; i++) {
        if (i == 0)
            fp_line(p, 0);
        else
            fp_item(p);
        mapping(p, d->mapping.items[i], p->indent + w + 1);
        if (fp_peek(p) == ',')
            fp_skip(p, ',');
    }
    fp_close(p, '}');
}

/* A feedback's text on the line; with conditions, each arm on a line
 * of its own. */
static void feedback_arms(fmt_printer *p, const ptr_vec *arms)
{
    const ast_feedback *first = arms->items[0];
    if (arms->len == 1 && !first->cond) {
        fp_space(p);
        fmt_expr(p, first->text);
        return;
    }
    for (size_t i = 0; i < arms->len; i++) {
        const ast_feedback *a = arms->items[i];
        fp_line(p, 4);
        if (a->cond) {
            fp_tok(p, IF);
            fp_space(p);
            fmt_expr(p, a->cond);
            fp_tok(p, ':');
            fp_space(p);
        } else if (arms->len > 1) {
            fp_tok(p, ELSE);
            fp_tok(p, ':');
            fp_space(p);
        }
        fmt_expr(p, a->text);
    }
}

/* `feedback ...` (the general feedback), then `feedback NAME: ...` for
 * each predictor, each clause from a line of its own. */
static void metric_feedback(fmt_printer *p, const ast_decl *d)
{
    if (d->feedback.len) {
        fp_line(p, 2);
        fp_tok(p, IDENT);
        feedback_arms(p, &d->feedback);
    }
    for (size_t i = 0; i < d->pred_feedback.len; i++) {
        const ast_pred_feedback *f = d->pred_feedback.items[i];
        fp_line(p, 2);
        fp_tok(p, IDENT);
        fp_space(p);
        fmt_expr(p, f->target);
        fp_tok(p, ':');
        feedback_arms(p, &f->arms);
    }
}

static void data(fmt_printer *p, const ast_decl *d)
{
    fp_tok(p, DATA);
    fp_space(p);
    fp_tok(p, IDENT);
    fp_space(p);
    fp_tok(p, '=');
    fp_space(p);
    fp_tok(p, IDENT);
    fp_tok(p, '(');
    fp_string(p);
    fp_tok(p, ')');
    if (d->has_mapping) {
        fp_space(p);
        fp_try_flat(p, mappings_layout, d, 0);
    }
}

/* ---- optimize ---- */

static void opt_args_layout(fmt_printer *p, const void *vd, int flat)
{
    const ast_decl *d = vd;
    comma_list l = { '(', ')', &d->opt_args, kv, 0 };
    comma_list_layout(p, &l, flat);
}

static void optimize(fmt_printer *p, const ast_decl *d)
{
    fp_tok(p, OPTIMIZE);
    fp_space(p);
    fp_tok(p, IDENT);
    fp_space(p);
    fp_tok(p, WITH);
    fp_space(p);
    fp_tok(p, IDENT);
    if (fp_peek(p) == '(')
        fp_try_flat(p, opt_args_layout, d, 2);
    fp_space(p);
    kv_block(p, &d->kvs);
}

void fmt_decl(fmt_printer *p, const ast_decl *d)
{
    switch (d->kind) {
    case D_IMPORT:
        fp_tok(p, IMPORT);
        fp_space(p);
        fp_string(p);
        break;
    case D_LM:
        fp_tok(p, LM);
        fp_space(p);
        fp_tok(p, IDENT);
        fp_space(p);
        fp_tok(p, '=');
        fp_space(p);
        fp_string(p);
        if (fp_peek(p) == '{') {
            fp_space(p);
            kv_block(p, &d->kvs);
        }
        break;
    case D_ENUM:
        fp_tok(p, ENUM);
        fp_space(p);
        fp_tok(p, IDENT);
        fp_space(p);
        comma_list_print(p, '{', '}', &d->values, enum_value_item, 1, 0);
        break;
    case D_SIGNATURE:
    case D_RECORD: /* alike but for the keyword and a record's fields */
        fp_tok(p, d->kind == D_RECORD ? RECORD : SIGNATURE);
        fp_space(p);
        fp_tok(p, IDENT);
        fp_space(p);
        if (fp_peek(p) == STRING) {
            fp_string(p);
            fp_space(p);
        }
        fields_block(p, &d->fields, d->kind == D_RECORD);
        break;
    case D_TOOL:
        tool(p, d);
        break;
    case D_MODULE:
        module(p, d);
        break;
    case D_METRIC:
        fp_tok(p, METRIC);
        fp_space(p);
        fp_tok(p, IDENT);
        fp_tok(p, '(');
        fp_tok(p, IDENT);
        fp_tok(p, ',');
        fp_space(p);
        fp_tok(p, IDENT);
        fp_tok(p, ')');
        fp_space(p);
        fp_tok(p, '=');
        fmt_metric_body(p, d->expr);
        metric_feedback(p, d);
        break;
    case D_DATA:
        data(p, d);
        break;
    case D_OPTIMIZE:
        optimize(p, d);
        break;
    }
}
