/* tests/tools/cshape_symbols.c — what the headers declare against what the
 * sources define, and the prefix of every external definition. */
#include "cshape.h"

#include <stdlib.h>
#include <string.h>

typedef struct sym {
    char *name;
    char *path;
    int line, col;
    int is_function;
    int is_static;
} sym;

typedef struct sym_list {
    sym *items;
    size_t n, cap;
} sym_list;

struct cshape_symbols {
    sym_list declared;  /* functions and extern variables declared in headers */
    sym_list defined;   /* functions and variables defined in sources */
    int oom;
};

cshape_symbols *cshape_symbols_new(void)
{
    return calloc(1, sizeof(cshape_symbols));
}

static void list_free(sym_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free(l->items[i].path);
    }
    free(l->items);
}

void cshape_symbols_free(cshape_symbols *s)
{
    if (!s) return;
    list_free(&s->declared);
    list_free(&s->defined);
    free(s);
}

static void push(cshape_symbols *s, sym_list *l, const cs_file *f, TSNode name, int is_function,
                 int is_static)
{
    if (s->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        sym *items = realloc(l->items, cap * sizeof *items);
        if (!items) { s->oom = 1; return; }
        l->items = items;
        l->cap = cap;
    }
    sym *y = &l->items[l->n];
    y->name = cs_node_text(f, name);
    y->path = strdup(f->path);
    if (!y->name || !y->path) {
        free(y->name);
        free(y->path);
        s->oom = 1;
        return;
    }
    cs_position(name, &y->line, &y->col);
    y->is_function = is_function;
    y->is_static = is_static;
    l->n++;
}

typedef struct visit_ctx {
    cshape_symbols *s;
    cshape *cs;
    int is_header;
} visit_ctx;

static void check_prefix(visit_ctx *v, const cs_file *f, TSNode name, int is_function)
{
    if (v->cs->n_prefixes == 0) return;
    char *text = cs_node_text(f, name);
    if (!text) { v->s->oom = 1; return; }
    int ok = 0;
    for (size_t i = 0; i < v->cs->n_prefixes && !ok; i++)
        ok = strncmp(text, v->cs->prefixes[i], strlen(v->cs->prefixes[i])) == 0;
    if (!ok) {
        int line, col;
        cs_position(name, &line, &col);
        cshape_report(v->cs, f->path, line, col,
                      "external %s '%s' does not start with the prefix '%s'%s; prefix it or make it "
                      "static", is_function ? "function" : "variable", text, v->cs->prefixes[0],
                      v->cs->n_prefixes > 1 ? " (or another --prefix)" : "");
    }
    free(text);
}

static void visit(const cs_file *f, TSNode item, void *ctx)
{
    visit_ctx *v = ctx;
    int is_def = cs_is(item, "function_definition");
    if (!is_def && !cs_is(item, "declaration")) return;
    int is_static = cs_has_storage(f, item, "static");
    int is_extern = cs_has_storage(f, item, "extern");

    TSTreeCursor c = ts_tree_cursor_new(item);
    if (ts_tree_cursor_goto_first_child(&c)) {
        do {
            const char *field = ts_tree_cursor_current_field_name(&c);
            if (!field || strcmp(field, "declarator") != 0) continue;
            int is_fn = 0;
            TSNode name = cs_declarator_name(ts_tree_cursor_current_node(&c), &is_fn, NULL);
            if (ts_node_is_null(name)) continue;
            if (v->is_header) {
                /* A header's prototypes and extern variables promise a
                 * definition; its static inline functions define themselves. */
                if (!is_def && !is_static && (is_fn || is_extern))
                    push(v->s, &v->s->declared, f, name, is_fn, 0);
                continue;
            }
            if (is_def || (!is_fn && !is_extern)) {
                push(v->s, &v->s->defined, f, name, is_def || is_fn, is_static);
                if (!is_static) check_prefix(v, f, name, is_def);
            }
        } while (ts_tree_cursor_goto_next_sibling(&c));
    }
    ts_tree_cursor_delete(&c);
}

void cshape_symbols_add(cshape_symbols *s, cshape *cs, const cs_file *f, int is_header)
{
    visit_ctx v = {s, cs, is_header};
    cs_visit_file_scope(f, visit, &v);
}

static const sym *find(const sym_list *l, const char *name, int want_static)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0 && l->items[i].is_static == want_static)
            return &l->items[i];
    return NULL;
}

void cshape_symbols_check(cshape_symbols *s, cshape *cs, int have_sources)
{
    if (s->oom) {
        cshape_report(cs, "dsp-cshape", 0, 0, "out of memory");
        return;
    }
    if (!have_sources) return; /* headers alone: nothing to match against */
    for (size_t i = 0; i < s->declared.n; i++) {
        const sym *d = &s->declared.items[i];
        if (find(&s->defined, d->name, 0)) continue;
        const sym *st = find(&s->defined, d->name, 1);
        if (st)
            cshape_report(cs, d->path, d->line, d->col, "'%s' is declared in the header but "
                          "defined static at %s:%d:%d, so callers cannot link it", d->name,
                          st->path, st->line, st->col);
        else
            cshape_report(cs, d->path, d->line, d->col, "%s '%s' is declared in the header but "
                          "defined in none of the .c files given", d->is_function ? "function" :
                          "variable", d->name);
    }
}
