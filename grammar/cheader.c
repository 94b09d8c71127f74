/* grammar/cheader.c — finding a function's prototype in a C header and
 * mapping its types to .dsp types. The rules are documented, with examples,
 * in docs/c-headers.md; this file is their only implementation. */
#include "cheader.h"
#include "csource.h"
#include "ctype_map.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum entry_kind { E_FUNC, E_OBJECT, E_TYPEDEF, E_MACRO } entry_kind;

/* One name declared at file scope. */
typedef struct entry {
    char *name;
    const cs_file *file; /* the header it is declared in */
    entry_kind kind;
    TSNode decl;        /* declaration, function_definition, type_definition, preproc_* */
    TSNode declarator;  /* the declarator that names it (macros: the name) */
    TSNode fdecl;       /* E_FUNC: its function_declarator */
} entry;

/* Headers included with quotes are read for their typedefs, this deep and
 * this many at most (a cycle stops at the first repeat). */
#define CH_MAX_INCLUDE_DEPTH 8
#define CH_MAX_INCLUDES 32

struct ch_header {
    cs_file file;
    cs_file *incs[CH_MAX_INCLUDES];
    size_t n_incs;
    char *seen[CH_MAX_INCLUDES + 1]; /* realpath of every header read, to stop cycles */
    size_t n_seen;
    int depth;          /* > 0 while reading an included header */
    entry *entries;
    size_t n, cap;
    int oom;
};

/* ---- diagnostics ---- */

static ch_status fail(ch_diag *d, const char *path, ch_status st, TSNode at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static ch_status fail(ch_diag *d, const char *path, ch_status st, TSNode at, const char *fmt, ...)
{
    if (!d) return st;
    d->status = st;
    d->line = d->col = 0;
    if (!ts_node_is_null(at)) cs_position(at, &d->line, &d->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    if (d->line)
        snprintf(d->text, sizeof d->text, "%s:%d:%d: error: %s", path, d->line, d->col, d->message);
    else
        snprintf(d->text, sizeof d->text, "%s: error: %s", path, d->message);
    return st;
}

static const TSNode NO_NODE;

static void diag_ok(ch_diag *d)
{
    if (d) memset(d, 0, sizeof *d);
}

/* ---- the table of file-scope names ---- */

static void add_entry(ch_header *h, const cs_file *f, TSNode name, entry_kind kind, TSNode decl,
                      TSNode declarator, TSNode fdecl)
{
    if (h->oom) return;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 32;
        entry *e = realloc(h->entries, cap * sizeof *e);
        if (!e) { h->oom = 1; return; }
        h->entries = e;
        h->cap = cap;
    }
    entry *e = &h->entries[h->n];
    e->name = cs_node_text(f, name);
    if (!e->name) { h->oom = 1; return; }
    e->file = f;
    e->kind = kind;
    e->decl = decl;
    e->declarator = declarator;
    e->fdecl = fdecl;
    h->n++;
}

/* Calls add_entry for each `declarator:` child of a declaration-like node. */
static void add_declarators(ch_header *h, const cs_file *f, TSNode decl, int is_typedef)
{
    TSTreeCursor c = ts_tree_cursor_new(decl);
    if (ts_tree_cursor_goto_first_child(&c)) {
        do {
            const char *field = ts_tree_cursor_current_field_name(&c);
            if (!field || strcmp(field, "declarator") != 0) continue;
            TSNode dn = ts_tree_cursor_current_node(&c);
            int is_fn = 0;
            TSNode fdecl = NO_NODE;
            TSNode name = cs_declarator_name(dn, &is_fn, &fdecl);
            if (ts_node_is_null(name)) continue;
            entry_kind k = is_typedef ? E_TYPEDEF : is_fn ? E_FUNC : E_OBJECT;
            add_entry(h, f, name, k, decl, dn, fdecl);
        } while (ts_tree_cursor_goto_next_sibling(&c));
    }
    ts_tree_cursor_delete(&c);
}

static void collect(const cs_file *f, TSNode item, void *ctx);

/* `#include "types.h"`: reads the header (relative to the including one)
 * for its typedefs. One that cannot be read is skipped: the C compiler,
 * not dspcc, reports missing includes. <...> includes are system headers,
 * whose standard names dspcc knows already. */
static void read_include(ch_header *h, const cs_file *from, TSNode item)
{
    TSNode pathn = ts_node_child_by_field_name(item, "path", 4);
    if (!cs_is(pathn, "string_literal") || h->depth >= CH_MAX_INCLUDE_DEPTH ||
        h->n_incs >= CH_MAX_INCLUDES)
        return;
    char *quoted = cs_node_text(from, pathn);
    if (!quoted) { h->oom = 1; return; }
    size_t ql = strlen(quoted);
    if (ql < 2) { free(quoted); return; }
    quoted[ql - 1] = '\0';
    const char *rel = quoted + 1;
    const char *slash = strrchr(from->path, '/');
    size_t dl = rel[0] == '/' || !slash ? 0 : (size_t)(slash - from->path) + 1;
    char *path = malloc(dl + strlen(rel) + 1);
    if (!path) { free(quoted); h->oom = 1; return; }
    memcpy(path, from->path, dl);
    strcpy(path + dl, rel);
    free(quoted);
    char *canon = realpath(path, NULL);
    int seen = canon == NULL; /* missing: skip it */
    for (size_t i = 0; i < h->n_seen && !seen; i++) seen = strcmp(canon, h->seen[i]) == 0;
    cs_file *f = seen ? NULL : calloc(1, sizeof *f);
    char err[256];
    if (f && cs_open(f, path, err, sizeof err) == 0) {
        h->seen[h->n_seen++] = canon;
        canon = NULL;
        h->incs[h->n_incs++] = f;
        h->depth++;
        cs_visit_file_scope(f, collect, h);
        h->depth--;
    } else {
        free(f);
    }
    free(canon);
    free(path);
}

static void collect(const cs_file *f, TSNode item, void *ctx)
{
    ch_header *h = ctx;
    if (cs_is(item, "preproc_include")) {
        read_include(h, f, item);
    } else if (cs_is(item, "type_definition")) {
        add_declarators(h, f, item, 1);
    } else if (h->depth > 0) {
        return; /* only typedefs come from included headers */
    } else if (cs_is(item, "declaration") || cs_is(item, "function_definition")) {
        add_declarators(h, f, item, 0);
    } else if (cs_is(item, "preproc_def") || cs_is(item, "preproc_function_def")) {
        TSNode name = ts_node_child_by_field_name(item, "name", 4);
        if (!ts_node_is_null(name)) add_entry(h, f, name, E_MACRO, item, name, NO_NODE);
    }
}

/* Parses what cs_open or cs_open_text read into h->file and collects its
 * file-scope names; closes h on failure. */
static ch_status header_parse(ch_header *h, const char *path, const char *syntax_hint,
                              ch_header **out, ch_diag *diag)
{
    TSNode where;
    char msg[256];
    if (cs_first_syntax_error(&h->file, &where, msg, sizeof msg)) {
        ch_status st = fail(diag, path, CH_ERR_SYNTAX, where, "%s%s", msg, syntax_hint);
        ch_header_close(h);
        return st;
    }
    h->seen[h->n_seen] = realpath(path, NULL);
    if (h->seen[h->n_seen]) h->n_seen++;
    cs_visit_file_scope(&h->file, collect, h);
    if (h->oom) {
        ch_header_close(h);
        return fail(diag, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    }
    *out = h;
    return CH_OK;
}

ch_status ch_header_open(const char *path, ch_header **out, ch_diag *diag)
{
    diag_ok(diag);
    *out = NULL;
    ch_header *h = calloc(1, sizeof *h);
    if (!h) return fail(diag, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    char err[512];
    if (cs_open(&h->file, path, err, sizeof err) != 0) {
        free(h);
        return fail(diag, path, CH_ERR_IO, NO_NODE, "%s; check the header path (it is relative "
                    "to the directory dspcc runs in)", err);
    }
    return header_parse(h, path, "; dspcc reads headers without the preprocessor, so macros "
                        "that expand to syntax cannot be used here", out, diag);
}

ch_status ch_header_open_text(const char *path, const char *text, size_t len, ch_header **out,
                              ch_diag *diag)
{
    diag_ok(diag);
    *out = NULL;
    ch_header *h = calloc(1, sizeof *h);
    if (!h) return fail(diag, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    char err[512];
    if (cs_open_text(&h->file, path, text, len, err, sizeof err) != 0) {
        free(h);
        return fail(diag, path, CH_ERR_IO, NO_NODE, "%s", err);
    }
    return header_parse(h, path, " in the C prototype", out, diag);
}

void ch_header_close(ch_header *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) free(h->entries[i].name);
    free(h->entries);
    for (size_t i = 0; i < h->n_incs; i++) {
        cs_close(h->incs[i]);
        free(h->incs[i]);
    }
    for (size_t i = 0; i < h->n_seen; i++) free(h->seen[i]);
    cs_close(&h->file);
    free(h);
}

/* ---- resolving typedefs: the lookup ctype_map.c calls back ---- */

static int lookup_typedef(void *ctx, const char *name, const cs_file **file, TSNode *decl,
                          TSNode *declarator)
{
    const ch_header *h = ctx;
    for (size_t i = 0; i < h->n; i++) {
        if (h->entries[i].kind == E_TYPEDEF && strcmp(h->entries[i].name, name) == 0) {
            *file = h->entries[i].file;
            *decl = h->entries[i].decl;
            *declarator = h->entries[i].declarator;
            return 1;
        }
    }
    return 0;
}

/* ---- near names ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 127 || lb > 127) return (size_t)-1;
    size_t row[128];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static ch_status not_found(const ch_header *h, const char *func, ch_diag *diag)
{
    const char *path = h->file.path;
    for (size_t i = 0; i < h->n; i++) {
        const entry *e = &h->entries[i];
        if (strcmp(e->name, func) != 0) continue;
        int line, col;
        cs_position(e->declarator, &line, &col);
        const char *what = e->kind == E_MACRO ? "a macro" : e->kind == E_TYPEDEF ? "a type" : "a variable";
        return fail(diag, path, CH_ERR_NOT_FOUND, NO_NODE,
                    "'%s' is declared at %s:%d:%d as %s, not a function; dspcc needs a "
                    "function it can call", func, path, line, col, what);
    }
    /* Suggest the closest function names, at most three. */
    const entry *best[3] = {0};
    size_t bestd[3] = {(size_t)-1, (size_t)-1, (size_t)-1};
    size_t limit = strlen(func) / 3 + 2;
    for (size_t i = 0; i < h->n; i++) {
        const entry *e = &h->entries[i];
        if (e->kind != E_FUNC) continue;
        int dup = 0;
        for (int k = 0; k < 3; k++)
            if (best[k] && strcmp(best[k]->name, e->name) == 0) dup = 1;
        if (dup) continue;
        size_t d = edit_distance(func, e->name);
        if (d > limit) continue;
        for (int k = 0; k < 3; k++) {
            if (d < bestd[k]) {
                for (int m = 2; m > k; m--) { best[m] = best[m - 1]; bestd[m] = bestd[m - 1]; }
                best[k] = e;
                bestd[k] = d;
                break;
            }
        }
    }
    if (!best[0])
        return fail(diag, path, CH_ERR_NOT_FOUND, NO_NODE,
                    "no function '%s' is declared in this header", func);
    char sugg[600];
    size_t n = 0;
    sugg[0] = '\0';
    for (int k = 0; k < 3 && best[k]; k++) {
        int line, col;
        cs_position(best[k]->declarator, &line, &col);
        int w = snprintf(sugg + n, sizeof sugg - n, "%s'%s' (line %d)",
                         k == 0 ? "" : k == 2 || !best[k + 1] ? " or " : ", ", best[k]->name, line);
        if (w < 0 || (size_t)w >= sizeof sugg - n) break;
        n += (size_t)w;
    }
    return fail(diag, path, CH_ERR_NOT_FOUND, NO_NODE,
                "no function '%s' is declared in this header; did you mean %s?", func, sugg);
}

/* ---- mapping one prototype ---- */

static char *xstrdup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

void ch_prototype_free(ch_prototype *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_params; i++) {
        free(p->params[i].name);
        free(p->params[i].c_type);
    }
    free(p->params);
    free(p->name);
    free(p->ret_c_type);
    memset(p, 0, sizeof *p);
}

/* Whether name is the length parameter of the list parameter list_name:
 * n_xs, xs_len or xs_count. */
static int is_length_name(const char *name, const char *list_name)
{
    size_t ln = strlen(list_name), n = strlen(name);
    if (n == ln + 2 && strncmp(name, "n_", 2) == 0 && strcmp(name + 2, list_name) == 0) return 1;
    if (strncmp(name, list_name, ln) != 0) return 0;
    return strcmp(name + ln, "_len") == 0 || strcmp(name + ln, "_count") == 0;
}

typedef struct cparam {
    TSNode node;
    char *name;     /* NULL when the parameter is unnamed */
    cm_type t;
} cparam;

static ch_status unmappable(const ch_header *h, ch_diag *d, TSNode at, const char *what,
                            const cm_type *t, const char *func)
{
    char ty[CM_TYPE_TEXT];
    cm_format(t, ty, sizeof ty);
    char via[200] = "", hint[512];
    cm_hint(t, hint, sizeof hint);
    if (t->typedef_name[0]) snprintf(via, sizeof via, " (via typedef '%s')", t->typedef_name);
    return fail(d, h->file.path, CH_ERR_UNMAPPABLE, at,
                "cannot map %s type '%s'%s of '%s' to a .dsp type; %s", what, ty, via, func, hint);
}

static ch_status map_prototype(const ch_header *h, const entry *e, ch_prototype *out, ch_diag *d)
{
    const char *path = h->file.path;
    const char *fn = e->name;
    TSNode plist = ts_node_child_by_field_name(e->fdecl, "parameters", 10);
    uint32_t nk = ts_node_is_null(plist) ? 0 : ts_node_named_child_count(plist);
    cparam *ps = calloc(nk ? nk : 1, sizeof *ps);
    if (!ps) return fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    size_t np = 0;
    ch_status st = CH_OK;
    cm_lookup lk = {lookup_typedef, (void *)h};

    for (uint32_t i = 0; i < nk && st == CH_OK; i++) {
        TSNode pn = ts_node_named_child(plist, i);
        if (cs_is(pn, "comment")) continue;
        if (cs_is(pn, "variadic_parameter")) {
            st = fail(d, path, CH_ERR_UNMAPPABLE, pn, "'%s' is variadic ('...'); .dsp cannot call "
                      "a variadic function: declare a wrapper with fixed parameters", fn);
            break;
        }
        if (!cs_is(pn, "parameter_declaration")) {
            st = fail(d, path, CH_ERR_UNMAPPABLE, pn, "cannot read parameter %u of '%s'", i + 1, fn);
            break;
        }
        TSNode dn = ts_node_child_by_field_name(pn, "declarator", 10);
        cparam *p = &ps[np];
        p->node = pn;
        cm_build(&h->file, pn, dn, NO_NODE, &lk, &p->t);
        /* `f(void)` declares no parameters. */
        if (ts_node_is_null(dn) && p->t.nptr == 0 && strcmp(p->t.base, "void") == 0 && nk == 1) break;
        int is_fn = 0;
        TSNode name = ts_node_is_null(dn) ? NO_NODE : cs_declarator_name(dn, &is_fn, NULL);
        if (ts_node_is_null(name)) {
            st = fail(d, path, CH_ERR_UNMAPPABLE, pn, "parameter %zu of '%s' has no name; .dsp passes "
                      "arguments by name, so name it in the prototype", np + 1, fn);
            break;
        }
        p->name = cs_node_text(&h->file, name);
        if (!p->name) { st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory"); break; }
        np++;
    }

    ch_param *cp = st == CH_OK ? calloc(np ? np : 1, sizeof *cp) : NULL;
    if (st == CH_OK && !cp) st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    int has_out = 0;
    for (size_t i = 0; i < np && st == CH_OK; i++) {
        cparam *p = &ps[i];
        cparam *next = i + 1 < np ? &ps[i + 1] : NULL;
        cm_shape sh = cm_classify(&p->t);
        ch_param *c = &cp[i];
        cs_position(p->node, &c->line, &c->col);
        c->role = CH_ROLE_IN;
        c->kind = cm_scalar_kind(&p->t);
        c->elem = CH_VOID;
        switch (sh) {
        case CM_SCALAR:
            break;
        case CM_STR_IN:
            c->kind = CH_STRING;
            break;
        case CM_STR_OUT:
            if (next && cm_is_size(&next->t, 0) && is_length_name(next->name, p->name)) {
                /* `char **xs, size_t n_xs`: meant as a list of strings. */
                st = fail(d, path, CH_ERR_UNMAPPABLE, p->node, "parameter '%s' of '%s' is followed by its "
                          "length like an input list, but 'char **' is a string the function writes; write "
                          "'const char *const *%s' for an input list of strings", p->name, fn, p->name);
                break;
            }
            c->role = CH_ROLE_OUT;
            c->kind = CH_STRING;
            has_out = 1;
            break;
        case CM_SCALAR_OUT:
            if (next && cm_is_size(&next->t, 0) && is_length_name(next->name, p->name)) {
                char ty[CM_TYPE_TEXT];
                cm_format(&p->t, ty, sizeof ty);
                st = fail(d, path, CH_ERR_UNMAPPABLE, p->node, "parameter '%s' of '%s' is followed "
                          "by its length like an input list, but '%s' points to writable data; write "
                          "'const %s' for an input list", p->name, fn, ty, ty);
                break;
            }
            c->role = CH_ROLE_OUT;
            has_out = 1;
            break;
        case CM_STR_LIST_IN:
        case CM_SCALAR_LIST_IN:
        case CM_STR_LIST_OUT:
        case CM_SCALAR_LIST_OUT: {
            int is_out = sh == CM_STR_LIST_OUT || sh == CM_SCALAR_LIST_OUT;
            c->elem = sh == CM_STR_LIST_IN || sh == CM_STR_LIST_OUT ? CH_STRING : c->kind;
            c->kind = CH_LIST;
            c->role = is_out ? CH_ROLE_OUT : CH_ROLE_IN;
            if (!next || !cm_is_size(&next->t, is_out) || !is_length_name(next->name, p->name)) {
                if (is_out)
                    st = fail(d, path, CH_ERR_UNMAPPABLE, p->node, "output list parameter '%s' of "
                              "'%s' must be followed by 'size_t *n_%s', where '%s' stores the number "
                              "of elements", p->name, fn, p->name, fn);
                else
                    st = fail(d, path, CH_ERR_UNMAPPABLE, p->node, "list parameter '%s' of '%s' must "
                              "be followed by its length, 'size_t n_%s'", p->name, fn, p->name);
                break;
            }
            has_out |= is_out;
            ch_param *l = &cp[i + 1];
            cs_position(next->node, &l->line, &l->col);
            l->role = CH_ROLE_LEN;
            l->kind = CH_INT;
            l->elem = CH_VOID;
            l->name = xstrdup(next->name);
            char ty[CM_TYPE_TEXT];
            cm_format(&next->t, ty, sizeof ty);
            l->c_type = xstrdup(ty);
            if (!l->name || !l->c_type) st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
            break;
        }
        default:
            st = unmappable(h, d, p->node, "parameter", &p->t, fn);
            break;
        }
        if (st != CH_OK) break;
        c->name = xstrdup(p->name);
        char ty[CM_TYPE_TEXT];
        cm_format(&p->t, ty, sizeof ty);
        c->c_type = xstrdup(ty);
        if (!c->name || !c->c_type) st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        if (c->kind == CH_LIST) i++; /* its length parameter is filled in */
    }

    memset(out, 0, sizeof *out);
    out->params = cp;
    out->n_params = cp ? np : 0;
    if (st == CH_OK) {
        /* The return type: the declaration's type and the pointers above
         * the function declarator (`char *f(void)`). */
        cm_type rt;
        TSNode top = e->declarator;
        cm_build(&h->file, e->decl, top, e->fdecl, &lk, &rt);
        cm_shape sh = cm_classify(&rt);
        char ty[CM_TYPE_TEXT];
        cm_format(&rt, ty, sizeof ty);
        TSNode at = ts_node_child_by_field_name(e->decl, "type", 4);
        if (ts_node_is_null(at)) at = e->decl;
        out->ret_c_type = xstrdup(ty);
        if (!out->ret_c_type) st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        else if (sh == CM_VOID) out->ret_kind = CH_VOID;
        else if (has_out) {
            if (sh == CM_SCALAR && strcmp(rt.base, "int") == 0 && !rt.typedef_name[0]) {
                out->ret_kind = CH_VOID;
                out->ret_is_status = 1;
            } else {
                st = fail(d, path, CH_ERR_UNMAPPABLE, at, "'%s' has output parameters, so it must "
                          "return int (a status, 0 = success) or void, not '%s'", fn, ty);
            }
        } else if (sh == CM_SCALAR) out->ret_kind = cm_scalar_kind(&rt);
        else if (sh == CM_STR_IN) out->ret_kind = CH_STRING;
        else if (sh == CM_STR_MUT) { out->ret_kind = CH_STRING; out->ret_owned = 1; }
        else if (sh != CM_BAD)
            /* A pointer to values (T *, char **, ...): the caller cannot know
             * how many there are or who frees them. */
            st = fail(d, path, CH_ERR_UNMAPPABLE, at, "cannot map return type '%s' of '%s' to a .dsp "
                      "type; return a list through 'T **out, size_t *n_out' (strings: 'char ***out, "
                      "size_t *n_out') and an int status", ty, fn);
        else
            st = unmappable(h, d, at, "return", &rt, fn);
    }
    for (size_t i = 0; i < np; i++) free(ps[i].name);
    free(ps);
    if (st == CH_OK) {
        /* `static` (a `static inline` definition): not exported. */
        uint32_t nc = ts_node_named_child_count(e->decl);
        for (uint32_t i = 0; i < nc && !out->is_static; i++) {
            TSNode k = ts_node_named_child(e->decl, i);
            if (!cs_is(k, "storage_class_specifier"))
                continue;
            char *text = cs_node_text(&h->file, k);
            out->is_static = text && strcmp(text, "static") == 0;
            free(text);
        }
        out->name = xstrdup(fn);
        cs_position(e->decl, &out->line, &out->col);
        if (!out->name) st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    }
    if (st != CH_OK) ch_prototype_free(out);
    return st;
}

ch_status ch_header_find(const ch_header *h, const char *func_name, ch_prototype *out, ch_diag *diag)
{
    diag_ok(diag);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < h->n; i++)
        if (h->entries[i].kind == E_FUNC && strcmp(h->entries[i].name, func_name) == 0)
            return map_prototype(h, &h->entries[i], out, diag);
    return not_found(h, func_name, diag);
}

ch_status ch_find_function(const char *header_path, const char *func_name, ch_prototype *out,
                           ch_diag *diag)
{
    memset(out, 0, sizeof *out);
    ch_header *h;
    ch_status st = ch_header_open(header_path, &h, diag);
    if (st != CH_OK) return st;
    st = ch_header_find(h, func_name, out, diag);
    ch_header_close(h);
    return st;
}

const char *ch_dsp_type(ch_kind kind, ch_kind elem)
{
    switch (kind) {
    case CH_VOID: return "void";
    case CH_STRING: return "string";
    case CH_INT: return "int";
    case CH_FLOAT: return "float";
    case CH_BOOL: return "bool";
    case CH_LIST:
        switch (elem) {
        case CH_STRING: return "list<string>";
        case CH_INT: return "list<int>";
        case CH_FLOAT: return "list<float>";
        case CH_BOOL: return "list<bool>";
        default: return "list<?>";
        }
    }
    return "?";
}

/* Appends to buf like snprintf, tracking the length that would be needed. */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (w > 0) *len += (size_t)w;
}

size_t ch_dsp_signature(const ch_prototype *p, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap) buf[0] = '\0';
    append(buf, cap, &len, "%s(", p->name ? p->name : "?");
    int first = 1;
    for (size_t i = 0; i < p->n_params; i++) {
        const ch_param *c = &p->params[i];
        if (c->role != CH_ROLE_IN) continue;
        append(buf, cap, &len, "%s%s: %s", first ? "" : ", ", c->name, ch_dsp_type(c->kind, c->elem));
        first = 0;
    }
    append(buf, cap, &len, ") -> ");
    int outs = 0;
    for (size_t i = 0; i < p->n_params; i++) outs += p->params[i].role == CH_ROLE_OUT;
    if (outs == 0 && p->ret_kind != CH_VOID) {
        append(buf, cap, &len, "%s", ch_dsp_type(p->ret_kind, CH_VOID));
        return len;
    }
    append(buf, cap, &len, "(");
    first = 1;
    for (size_t i = 0; i < p->n_params; i++) {
        const ch_param *c = &p->params[i];
        if (c->role != CH_ROLE_OUT) continue;
        append(buf, cap, &len, "%s%s: %s", first ? "" : ", ", c->name, ch_dsp_type(c->kind, c->elem));
        first = 0;
    }
    append(buf, cap, &len, ")");
    return len;
}
