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

typedef enum entry_kind { E_FUNC, E_OBJECT, E_TYPEDEF, E_MACRO, E_STRUCT } entry_kind;

/* One name declared at file scope. */
typedef struct entry {
    char *name;
    const cs_file *file; /* the header it is declared in */
    entry_kind kind;
    TSNode decl;        /* declaration, function_definition, type_definition, preproc_*;
                           E_STRUCT: the struct_specifier with its body */
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
    int from_text;      /* an inline prototype (ch_header_open_text) */
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
    snprintf(d->path, sizeof d->path, "%s", path);
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

/* `struct point { ... }` as the item itself or its type: a definition
 * the mapping of struct parameters looks up by tag. */
static void add_struct(ch_header *h, const cs_file *f, TSNode item)
{
    TSNode spec = cs_is(item, "struct_specifier") ? item : ts_node_child_by_field_name(item, "type", 4);
    if (!cs_is(spec, "struct_specifier")) return;
    TSNode name = ts_node_child_by_field_name(spec, "name", 4);
    TSNode body = ts_node_child_by_field_name(spec, "body", 4);
    if (!ts_node_is_null(name) && !ts_node_is_null(body)) add_entry(h, f, name, E_STRUCT, spec, name, NO_NODE);
}

static void collect(const cs_file *f, TSNode item, void *ctx)
{
    ch_header *h = ctx;
    if (cs_is(item, "struct_specifier") || cs_is(item, "declaration") || cs_is(item, "type_definition"))
        add_struct(h, f, item);
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
    h->from_text = 1;
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
        if (strcmp(e->name, func) != 0 || e->kind == E_STRUCT) continue;
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

static void struct_free(struct ch_struct *st);

void ch_prototype_free(ch_prototype *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_params; i++) {
        free(p->params[i].name);
        free(p->params[i].c_type);
    }
    free(p->params);
    for (size_t i = 0; i < p->n_structs; i++) struct_free(p->structs[i]);
    free(p->structs);
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
    int optional;   /* marked optional (or nullable) by a comment: NULL may be passed */
} cparam;

/* Whether comment c is the mark of a parameter that may be NULL:
 * a block comment holding only `optional` or `nullable` (GObject's word). */
static int optional_mark(const cs_file *f, TSNode c)
{
    uint32_t b = ts_node_start_byte(c), e = ts_node_end_byte(c);
    if (e > f->len || e - b < 4 || memcmp(f->text + b, "/*", 2) != 0)
        return 0;
    b += 2;
    e -= 2;
    while (b < e && (f->text[b] == ' ' || f->text[b] == '\t')) b++;
    while (e > b && (f->text[e - 1] == ' ' || f->text[e - 1] == '\t')) e--;
    return (e - b == 8 && memcmp(f->text + b, "optional", 8) == 0) ||
           (e - b == 8 && memcmp(f->text + b, "nullable", 8) == 0);
}

/* Whether parameter pn carries the optional mark: a comment inside it
 * after its type, or right after it, before the comma. */
static int param_marked_optional(const cs_file *f, TSNode pn)
{
    for (uint32_t k = 0; k < ts_node_child_count(pn); k++) {
        TSNode ch = ts_node_child(pn, k);
        if (cs_is(ch, "comment") && optional_mark(f, ch))
            return 1;
    }
    for (TSNode n = ts_node_next_sibling(pn); !ts_node_is_null(n); n = ts_node_next_sibling(n)) {
        if (!cs_is(n, "comment"))
            return 0;
        if (optional_mark(f, n))
            return 1;
    }
    return 0;
}

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

/* ---- structs: the records of .dsp (docs/c-headers.md) ---- */

#define CH_MAX_STRUCT_DEPTH 16

/* The structs one prototype reaches, and the definitions being read (a
 * struct reached again while reading itself contains itself). */
typedef struct st_ctx {
    const ch_header *h;
    ch_diag *d;
    const char *fn;
    ch_struct **list;
    size_t n, cap;
    TSNode reading[CH_MAX_STRUCT_DEPTH];
    int depth;
} st_ctx;

static void struct_free(ch_struct *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_members; i++) {
        free(st->members[i].name);
        free(st->members[i].c_type);
        free(st->members[i].elem_c_type);
        free(st->members[i].field);
    }
    free(st->members);
    free(st->record);
    free(st->c_name);
    free(st->file);
    free(st);
}

/* t's C spelling with its struct named as C names it (an untagged struct
 * by its typedef), `drop` outer pointer levels removed. */
static char *struct_ctype(const cm_type *t, const ch_struct *st, int drop)
{
    cm_type c = *t;
    if (st) snprintf(c.base, sizeof c.base, "%s", st->c_name);
    c.problem = NULL;
    c.nptr -= drop;
    c.ptr_const &= c.nptr > 0 ? (1u << c.nptr) - 1 : 0;
    char ty[CM_TYPE_TEXT];
    cm_format(&c, ty, sizeof ty);
    return xstrdup(ty);
}

static ch_status read_struct(st_ctx *x, const cm_type *t, TSNode at, const cs_file *at_file,
                             const ch_struct **out);

/* Whether member `name` is the count of list member `list_name`, as a
 * parameter is: n_xs, xs_len, xs_count, of type size_t. */
static int is_count_member(const cm_type *t, const char *name, const char *list_name)
{
    return cm_is_size(t, 0) && is_length_name(name, list_name);
}

/* Whether member `name` (a bool) is the presence flag of the scalar member
 * `value` after it: has_x for x, as protobuf-c writes optional fields. */
static int is_flag_member(const cm_type *t, const char *name, const cm_type *vt, const char *value)
{
    return cm_classify(t) == CM_SCALAR && cm_scalar_kind(t) == CH_BOOL && cm_classify(vt) == CM_SCALAR &&
           strncmp(name, "has_", 4) == 0 && strcmp(name + 4, value) == 0;
}

typedef struct cmember {
    TSNode node;       /* the field_declaration */
    TSNode declarator;
    char *name;
    cm_type t;
} cmember;

/* The members of a struct body, each declarator its own (`double lat, lon;`). */
static ch_status body_members(st_ctx *x, const cs_file *f, TSNode body, const char *sname, cmember **out,
                              size_t *n_out)
{
    uint32_t nk = ts_node_named_child_count(body);
    size_t cap = 8, n = 0;
    cmember *ms = calloc(cap, sizeof *ms);
    if (!ms) return fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    cm_lookup lk = {lookup_typedef, (void *)x->h};
    ch_status st = CH_OK;
    for (uint32_t i = 0; i < nk && st == CH_OK; i++) {
        TSNode fd = ts_node_named_child(body, i);
        if (cs_is(fd, "comment")) continue;
        if (!cs_is(fd, "field_declaration")) {
            st = fail(x->d, f->path, CH_ERR_UNMAPPABLE, fd, "cannot read a member of struct '%s'; dspcc reads "
                      "headers without the preprocessor, so declare its members plainly", sname);
            break;
        }
        int any = 0;
        TSTreeCursor c = ts_tree_cursor_new(fd);
        if (ts_tree_cursor_goto_first_child(&c)) {
            do {
                TSNode k = ts_tree_cursor_current_node(&c);
                const char *field = ts_tree_cursor_current_field_name(&c);
                if (cs_is(k, "bitfield_clause")) {
                    st = fail(x->d, f->path, CH_ERR_UNMAPPABLE, fd, "struct '%s' has a bit-field; .dsp "
                              "cannot pass one: declare the member without ': width'", sname);
                    break;
                }
                if (!field || strcmp(field, "declarator") != 0) continue;
                any = 1;
                for (TSNode dn = k; !ts_node_is_null(dn); dn = ts_node_child_by_field_name(dn, "declarator", 10))
                    if (cs_is(dn, "array_declarator")) {
                        st = fail(x->d, f->path, CH_ERR_UNMAPPABLE, dn, "member of struct '%s' is an array of "
                                  "fixed size; .dsp passes text as 'char *' and lists as a pointer and its "
                                  "count ('T *xs; size_t n_xs;')", sname);
                        break;
                    }
                if (st != CH_OK) break;
                int is_fn = 0;
                TSNode name = cs_declarator_name(k, &is_fn, NULL);
                if (ts_node_is_null(name)) continue;
                if (n == cap) {
                    cmember *g = realloc(ms, cap * 2 * sizeof *ms);
                    if (!g) { st = fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory"); break; }
                    ms = g;
                    cap *= 2;
                }
                memset(&ms[n], 0, sizeof ms[n]);
                ms[n].node = fd;
                ms[n].declarator = k;
                ms[n].name = cs_node_text(f, name);
                cm_build(f, fd, k, NO_NODE, &lk, &ms[n].t);
                n++;
                if (!ms[n - 1].name) { st = fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory"); break; }
            } while (ts_tree_cursor_goto_next_sibling(&c));
        }
        ts_tree_cursor_delete(&c);
        if (st == CH_OK && !any)
            st = fail(x->d, f->path, CH_ERR_UNMAPPABLE, fd, "struct '%s' has an unnamed member; .dsp matches "
                      "members to record fields by name: name it", sname);
    }
    *out = ms;
    *n_out = n;
    return st;
}

/* The length of a map's name when `keys` is its keys (`x_keys`: 1) and
 * `values` its values (`x_values`), else 0. */
static size_t map_stem(const char *keys, const char *values)
{
    size_t n = strlen(keys);
    if (n <= 5 || strcmp(keys + n - 5, "_keys") != 0 || !values) return 0;
    n -= 5;
    return strncmp(values, keys, n) == 0 && strcmp(values + n, "_values") == 0 ? n : 0;
}

/* `char **x_keys; T *x_values; size_t n_x;` at ms[i]: the map member x
 * (docs/c-headers.md). Fills c (the keys), v (the values) and l (the
 * count). */
static ch_status map_member(st_ctx *x, ch_struct *st, const cs_file *f, const cmember *ms, size_t i, size_t n,
                            size_t stem, ch_member *c)
{
    const cmember *km = &ms[i], *vm = &ms[i + 1];
    ch_member *v = c + 1, *l = c + 2;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)stem, km->name);
    cm_shape ks = cm_classify(&km->t), vs = cm_classify(&vm->t);
    if (ks != CM_STR_OUT && ks != CM_STR_LIST_IN)
        return fail(x->d, f->path, CH_ERR_UNMAPPABLE, km->declarator, "member '%s' of struct '%s' holds the keys of "
                    "map '%s', so it is 'char **%s' (or 'const char *const *%s' when the keys are the tool's)",
                    km->name, st->c_name, name, km->name, km->name);
    if (i + 2 >= n || !is_count_member(&ms[i + 2].t, ms[i + 2].name, name))
        return fail(x->d, f->path, CH_ERR_UNMAPPABLE, vm->declarator, "map '%s' of struct '%s' needs its count "
                    "right after its values: 'size_t n_%s;'", name, st->c_name, name);
    const ch_struct *sub = NULL;
    ch_status rc = CH_OK;
    switch (vs) {
    case CM_STR_LIST_IN:
    case CM_STR_OUT:
        v->elem = CH_STRING;
        v->borrowed = (vm->t.ptr_const & 1u) != 0;
        v->elem_borrowed = vm->t.base_const;
        break;
    case CM_SCALAR_LIST_IN:
    case CM_SCALAR_OUT:
        v->elem = cm_scalar_kind(&vm->t);
        v->borrowed = vm->t.base_const;
        break;
    case CM_STRUCT_IN:
    case CM_STRUCT_OUT:
        rc = read_struct(x, &vm->t, vm->declarator, f, &sub);
        v->elem = CH_RECORD;
        v->borrowed = vs == CM_STRUCT_IN;
        break;
    default: {
        char ty[CM_TYPE_TEXT];
        cm_format(&vm->t, ty, sizeof ty);
        return fail(x->d, f->path, CH_ERR_UNMAPPABLE, vm->declarator, "member '%s' of struct '%s' holds the values "
                    "of map '%s', a pointer to them ('T *%s': an integer type, double, float, bool, 'char *' or a "
                    "struct), not '%s'", vm->name, st->c_name, name, vm->name, ty);
    }
    }
    if (rc != CH_OK) return rc;
    cs_position(km->declarator, &c->line, &c->col);
    cs_position(vm->declarator, &v->line, &v->col);
    cs_position(ms[i + 2].declarator, &l->line, &l->col);
    c->kind = CH_MAP;
    c->elem = v->elem;
    c->st = v->st = sub;
    c->borrowed = (km->t.ptr_const & 1u) != 0;
    c->elem_borrowed = km->t.base_const;
    c->name = xstrdup(km->name);
    c->field = xstrdup(name);
    c->c_type = struct_ctype(&km->t, NULL, 0);
    v->kind = CH_MAP;
    v->is_values = 1;
    v->name = xstrdup(vm->name);
    v->c_type = struct_ctype(&vm->t, sub, 0);
    v->elem_c_type = struct_ctype(&vm->t, sub, 1);
    l->kind = CH_INT;
    l->is_count = 1;
    l->name = xstrdup(ms[i + 2].name);
    l->c_type = xstrdup("size_t");
    if (!c->name || !c->field || !c->c_type || !v->name || !v->c_type || !v->elem_c_type || !l->name || !l->c_type)
        return fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    return CH_OK;
}

/* Maps the members of struct st (its body in f) to ch_members. */
static ch_status map_members(st_ctx *x, ch_struct *st, const cs_file *f, TSNode body)
{
    cmember *ms = NULL;
    size_t n = 0;
    ch_status rc = body_members(x, f, body, st->c_name, &ms, &n);
    if (rc == CH_OK && n == 0)
        rc = fail(x->d, f->path, CH_ERR_UNMAPPABLE, body, "struct '%s' has no members", st->c_name);
    st->members = rc == CH_OK ? calloc(n, sizeof *st->members) : NULL;
    if (rc == CH_OK && !st->members) rc = fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    size_t i = 0;
    for (; i < n && rc == CH_OK; i++) {
        cmember *m = &ms[i];
        cmember *next = i + 1 < n ? &ms[i + 1] : NULL;
        ch_member *c = &st->members[i];
        st->n_members = i + 1;
        size_t stem = map_stem(m->name, next ? next->name : NULL);
        if (stem) {
            st->n_members = i + 3 <= n ? i + 3 : n;
            rc = map_member(x, st, f, ms, i, n, stem, c);
            i += 2;
            continue;
        }
        cs_position(m->declarator, &c->line, &c->col);
        c->name = xstrdup(m->name);
        cm_shape sh = cm_classify(&m->t);
        int counted = next && is_count_member(&next->t, next->name, m->name);
        int flagged = i > 0 && st->members[i - 1].is_flag;
        const ch_struct *sub = NULL;
        int ptr_level_const = (m->t.ptr_const & 1u) != 0; /* `T *const *`: the array of const pointers */
        switch (sh) {
        case CM_SCALAR:
            c->kind = cm_scalar_kind(&m->t);
            c->is_flag = !flagged && next && is_flag_member(&m->t, m->name, &next->t, next->name);
            if (flagged) {
                /* `bool has_x; T x;`: x is an optional<T>, present when has_x. */
                c->elem = c->kind;
                c->kind = CH_OPTIONAL;
            }
            break;
        case CM_STR_IN:
        case CM_STR_MUT:
            c->kind = CH_STRING;
            c->borrowed = sh == CM_STR_IN;
            break;
        case CM_STRUCT:
            rc = read_struct(x, &m->t, m->declarator, f, &sub);
            c->kind = CH_RECORD;
            break;
        case CM_STRUCT_IN:
        case CM_STRUCT_OUT:
            rc = read_struct(x, &m->t, m->declarator, f, &sub);
            c->kind = counted ? CH_LIST : CH_OPTIONAL;
            c->elem = CH_RECORD;
            c->borrowed = sh == CM_STRUCT_IN;
            break;
        case CM_SCALAR_LIST_IN:
        case CM_SCALAR_OUT:
        case CM_STR_LIST_IN:
        case CM_STR_OUT:
            if (!counted) {
                char ty[CM_TYPE_TEXT];
                cm_format(&m->t, ty, sizeof ty);
                rc = fail(x->d, f->path, CH_ERR_UNMAPPABLE, m->declarator, "member '%s' of struct '%s' is a "
                          "pointer ('%s') without its count; a list member is followed by 'size_t n_%s;', "
                          "a map<string, T> is 'char **x_keys; T *x_values; size_t n_x;'",
                          m->name, st->c_name, ty, m->name);
                break;
            }
            c->kind = CH_LIST;
            c->elem = sh == CM_STR_LIST_IN || sh == CM_STR_OUT ? CH_STRING : cm_scalar_kind(&m->t);
            c->borrowed = c->elem == CH_STRING ? ptr_level_const : m->t.base_const;
            c->elem_borrowed = c->elem == CH_STRING && m->t.base_const;
            break;
        default: {
            char ty[CM_TYPE_TEXT];
            cm_format(&m->t, ty, sizeof ty);
            rc = fail(x->d, f->path, CH_ERR_UNMAPPABLE, m->declarator, "cannot map member '%s' of struct '%s' "
                      "(C type '%s') to a .dsp type; a member is an integer type, double, float, bool, 'char *', "
                      "a struct, a pointer to one struct (optional), a pointer and its count (a list), or "
                      "keys, values and their count (a map: 'char **x_keys; T *x_values; size_t n_x;')",
                      m->name, st->c_name, ty);
            break;
        }
        }
        if (rc != CH_OK) break;
        c->st = sub;
        c->c_type = struct_ctype(&m->t, sub, 0);
        int pointer = c->kind == CH_LIST || (c->kind == CH_OPTIONAL && sub);
        if (pointer) c->elem_c_type = struct_ctype(&m->t, sub, 1);
        if (!c->name || !c->c_type || (pointer && !c->elem_c_type))
            rc = fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        if (rc == CH_OK && c->kind == CH_LIST) {
            ch_member *l = &st->members[++i];
            st->n_members = i + 1;
            cs_position(next->declarator, &l->line, &l->col);
            l->kind = CH_INT;
            l->is_count = 1;
            l->name = xstrdup(next->name);
            l->c_type = xstrdup("size_t");
            if (!l->name || !l->c_type) rc = fail(x->d, f->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        }
    }
    for (size_t k = 0; k < n; k++) free(ms[k].name);
    free(ms);
    return rc;
}

/* The struct t names (t's base is a struct), read once per prototype. */
static ch_status read_struct(st_ctx *x, const cm_type *t, TSNode at, const cs_file *at_file,
                             const ch_struct **out)
{
    *out = NULL;
    TSNode spec = t->spec, body = ts_node_child_by_field_name(spec, "body", 4);
    const cs_file *f = t->spec_file;
    TSNode tag = ts_node_child_by_field_name(spec, "name", 4);
    char tagname[128] = "";
    if (!ts_node_is_null(tag)) {
        char *tn = cs_node_text(f, tag);
        if (!tn) return fail(x->d, at_file->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        snprintf(tagname, sizeof tagname, "%s", tn);
        free(tn);
    }
    if (ts_node_is_null(body) && tagname[0]) {
        for (size_t i = 0; i < x->h->n; i++) {
            const entry *e = &x->h->entries[i];
            if (e->kind == E_STRUCT && strcmp(e->name, tagname) == 0) {
                spec = e->decl;
                f = e->file;
                body = ts_node_child_by_field_name(spec, "body", 4);
                break;
            }
        }
    }
    if (ts_node_is_null(body) && x->h->from_text)
        return fail(x->d, at_file->path, CH_ERR_UNMAPPABLE, at, "'struct %s' is not defined in an inline "
                    "prototype, so dspcc cannot lay it out; declare the tool by the header that defines the "
                    "struct (`tool NAME from \"lib.so\" header \"tools.h\"`): its members become a .dsp "
                    "record's fields", tagname);
    if (ts_node_is_null(body))
        return fail(x->d, at_file->path, CH_ERR_UNMAPPABLE, at, "'struct %s' is declared but not defined in this "
                    "header or one it includes with quotes, so dspcc cannot lay it out; define it there (its "
                    "members become a .dsp record's fields), or declare a wrapper that does not take it (an "
                    "opaque handle cannot come from .dsp)", tagname);
    const char *record = t->typedef_name[0] ? t->typedef_name : tagname;
    for (int i = 0; i < x->depth; i++)
        if (ts_node_eq(x->reading[i], body))
            return fail(x->d, at_file->path, CH_ERR_UNMAPPABLE, at, "struct '%s' contains itself (through this "
                        "member); a .dsp record cannot, so pass a struct without the cycle", record);
    for (size_t i = 0; i < x->n; i++) {
        ch_struct *c = x->list[i];
        if (strcmp(c->record, record) == 0) {
            *out = c;
            return CH_OK;
        }
    }
    if (x->depth >= CH_MAX_STRUCT_DEPTH)
        return fail(x->d, at_file->path, CH_ERR_UNMAPPABLE, at, "structs nest more than %d deep here; .dsp "
                    "types nest at most 16 levels", CH_MAX_STRUCT_DEPTH);
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4;
        ch_struct **g = realloc(x->list, cap * sizeof *g);
        if (!g) return fail(x->d, at_file->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        x->list = g;
        x->cap = cap;
    }
    ch_struct *st = calloc(1, sizeof *st);
    if (!st) return fail(x->d, at_file->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    x->list[x->n++] = st;
    st->record = xstrdup(record);
    st->tagged = tagname[0] != '\0';
    char cn[160];
    snprintf(cn, sizeof cn, tagname[0] ? "struct %s" : "%s", tagname[0] ? tagname : record);
    st->c_name = xstrdup(cn);
    st->file = xstrdup(f->path);
    cs_position(spec, &st->line, &st->col);
    if (!st->record || !st->c_name || !st->file) return fail(x->d, at_file->path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    if (!record[0])
        return fail(x->d, at_file->path, CH_ERR_UNMAPPABLE, at, "an untagged struct without a typedef has no "
                    "name for a .dsp record to match; declare it 'typedef struct { ... } Name;' or 'struct name "
                    "{ ... };'");
    x->reading[x->depth++] = body;
    ch_status rc = map_members(x, st, f, body);
    x->depth--;
    *out = st;
    return rc;
}

/* The length parameter `next` of the list parameter before it. */
static ch_status fill_length(ch_param *l, const cparam *next, ch_diag *d, const char *path)
{
    cs_position(next->node, &l->line, &l->col);
    l->role = CH_ROLE_LEN;
    l->kind = CH_INT;
    l->elem = CH_VOID;
    l->name = xstrdup(next->name);
    char ty[CM_TYPE_TEXT];
    cm_format(&next->t, ty, sizeof ty);
    l->c_type = xstrdup(ty);
    if (!l->name || !l->c_type) return fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    return CH_OK;
}

/* `const char *const *x_keys, const T *x_values, size_t n_x` (in) or
 * `char ***x_keys, T **x_values, size_t *n_x` (out) at ps[i]: the map
 * parameter x, into cp[i] (named x), cp[i + 1] (its values) and cp[i + 2]
 * (its length). */
static ch_status map_param(const ch_header *h, st_ctx *sx, const cparam *ps, size_t np, size_t i, size_t stem,
                           ch_param *cp, ch_diag *d, const char *fn)
{
    const char *path = h->file.path;
    const cparam *kp = &ps[i], *vp = &ps[i + 1];
    ch_param *c = &cp[i], *v = &cp[i + 1];
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)stem, kp->name);
    cm_shape ks = cm_classify(&kp->t), vs = cm_classify(&vp->t);
    if (ks != CM_STR_LIST_IN && ks != CM_STR_LIST_OUT)
        return fail(d, path, CH_ERR_UNMAPPABLE, kp->node, "parameter '%s' of '%s' holds the keys of map '%s': "
                    "'const char *const *%s' for a map passed in, 'char ***%s' for one the function writes",
                    kp->name, fn, name, kp->name, kp->name);
    int is_out = ks == CM_STR_LIST_OUT;
    ch_status st = CH_OK;
    if (is_out ? vs == CM_STR_LIST_OUT : vs == CM_STR_LIST_IN)
        v->elem = CH_STRING;
    else if (is_out ? vs == CM_SCALAR_LIST_OUT : vs == CM_SCALAR_LIST_IN)
        v->elem = cm_scalar_kind(&vp->t);
    else if (is_out ? vs == CM_STRUCT_PTR_OUT : vs == CM_STRUCT_IN) {
        st = read_struct(sx, &vp->t, vp->node, &h->file, &v->st);
        v->elem = CH_RECORD;
    } else {
        /* The fix in the values' own base type: `const double *w_values`. */
        char want[CM_TYPE_TEXT + 64], ty[CM_TYPE_TEXT];
        cm_format(&vp->t, ty, sizeof ty);
        int str = strcmp(vp->t.base, "char") == 0;
        snprintf(want, sizeof want, is_out ? "%s %s**%s" : "const %s %s*%s", vp->t.base,
                 str ? (is_out ? "*" : "*const ") : "", vp->name);
        return fail(d, path, CH_ERR_UNMAPPABLE, vp->node, "parameter '%s' of '%s' holds the values of map '%s' %s, "
                    "so it is '%s', not '%s' (values %s)", vp->name, fn, name,
                    is_out ? "the function writes" : "passed in", want, ty,
                    is_out ? "the function mallocs, as for an output list" : "the function only reads, as for an "
                    "input list");
    }
    if (st != CH_OK) return st;
    const cparam *lp = i + 2 < np ? &ps[i + 2] : NULL;
    if (!lp || !cm_is_size(&lp->t, is_out) || !is_length_name(lp->name, name))
        return fail(d, path, CH_ERR_UNMAPPABLE, vp->node, "map parameter '%s' of '%s' must be followed by its "
                    "length, '%s n_%s'%s", name, fn, is_out ? "size_t *" : "size_t", name,
                    is_out ? ", where the function stores the number of keys" : "");
    cs_position(kp->node, &c->line, &c->col);
    cs_position(vp->node, &v->line, &v->col);
    c->role = is_out ? CH_ROLE_OUT : CH_ROLE_IN;
    c->kind = CH_MAP;
    c->elem = v->elem;
    c->st = v->st;
    c->name = xstrdup(name);
    char ty[CM_TYPE_TEXT];
    cm_format(&kp->t, ty, sizeof ty);
    c->c_type = xstrdup(ty);
    v->role = CH_ROLE_VALUES;
    v->kind = CH_MAP;
    v->name = xstrdup(vp->name);
    v->c_type = v->st ? struct_ctype(&vp->t, v->st, 0) : NULL;
    if (!v->st) {
        cm_format(&vp->t, ty, sizeof ty);
        v->c_type = xstrdup(ty);
    }
    if (!c->name || !c->c_type || !v->name || !v->c_type) return fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
    return fill_length(&cp[i + 2], lp, d, path);
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
    st_ctx sx;
    memset(&sx, 0, sizeof sx);
    sx.h = h;
    sx.d = d;
    sx.fn = fn;

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
        p->optional = param_marked_optional(&h->file, pn);
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
        size_t stem = map_stem(p->name, next ? next->name : NULL);
        if (stem && !p->optional) {
            st = map_param(h, &sx, ps, np, i, stem, cp, d, fn);
            has_out |= c->role == CH_ROLE_OUT;
            i += 2;
            continue;
        }
        cs_position(p->node, &c->line, &c->col);
        c->role = CH_ROLE_IN;
        c->kind = cm_scalar_kind(&p->t);
        c->elem = CH_VOID;
        if (p->optional && (sh != CM_STRUCT_IN || (next && cm_is_size(&next->t, 0) &&
                                                   is_length_name(next->name, p->name)))) {
            char ty[CM_TYPE_TEXT];
            cm_format(&p->t, ty, sizeof ty);
            st = fail(d, path, CH_ERR_UNMAPPABLE, p->node, "parameter '%s' of '%s' is marked optional, but only "
                      "one struct passed as 'const T *' may be NULL (an absent optional<T>); '%s' is not one: "
                      "drop the mark", p->name, fn, ty);
            break;
        }
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
            st = fill_length(&cp[i + 1], next, d, path);
            break;
        }
        case CM_STRUCT:
        case CM_STRUCT_IN:
        case CM_STRUCT_OUT:
        case CM_STRUCT_PTR_OUT: {
            /* A record by value or `const T *`; a list `const T *xs, size_t
             * n_xs`; a record the function fills, `T *out`; a list it
             * mallocs, `T **out, size_t *n_out`, or one optional record it
             * mallocs (or leaves NULL), `T **out`. */
            st = read_struct(&sx, &p->t, p->node, &h->file, &c->st);
            if (st != CH_OK) break;
            int is_out = sh == CM_STRUCT_OUT || sh == CM_STRUCT_PTR_OUT;
            int listed = next && cm_is_size(&next->t, is_out) && is_length_name(next->name, p->name);
            if (sh == CM_STRUCT_OUT && next && cm_is_size(&next->t, 0) && is_length_name(next->name, p->name)) {
                char ty[CM_TYPE_TEXT];
                cm_format(&p->t, ty, sizeof ty);
                st = fail(d, path, CH_ERR_UNMAPPABLE, p->node, "parameter '%s' of '%s' is followed by its length "
                          "like an input list, but '%s' points to writable structs; write 'const %s' for an "
                          "input list", p->name, fn, ty, ty);
                break;
            }
            c->role = is_out ? CH_ROLE_OUT : CH_ROLE_IN;
            has_out |= is_out;
            if ((sh == CM_STRUCT_IN || sh == CM_STRUCT_PTR_OUT) && listed) {
                c->kind = CH_LIST;
                c->elem = CH_RECORD;
                st = fill_length(&cp[i + 1], next, d, path);
            } else if (sh == CM_STRUCT_PTR_OUT || p->optional) {
                /* `T **out`, or `const T *p` marked optional: NULL is absent. */
                c->kind = CH_OPTIONAL;
                c->elem = CH_RECORD;
            } else {
                c->kind = CH_RECORD;
            }
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
        c->c_type = c->st ? struct_ctype(&p->t, c->st, 0) : xstrdup(ty);
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
        } else if (sh == CM_STRUCT) {
            st = read_struct(&sx, &rt, at, &h->file, &out->ret_st);
            out->ret_kind = CH_RECORD;
            free(out->ret_c_type);
            out->ret_c_type = st == CH_OK ? struct_ctype(&rt, out->ret_st, 0) : NULL;
            if (st == CH_OK && !out->ret_c_type) st = fail(d, path, CH_ERR_NOMEM, NO_NODE, "out of memory");
        } else if (sh == CM_STRUCT_IN || sh == CM_STRUCT_OUT || sh == CM_STRUCT_PTR_OUT)
            st = fail(d, path, CH_ERR_UNMAPPABLE, at, "cannot map return type '%s' of '%s' to a .dsp type; return "
                      "the struct by value, or fill it through an output parameter ('T *out') and return an int "
                      "status; an optional record comes back through 'T **out' (NULL: none)", ty, fn);
        else if (sh == CM_SCALAR) out->ret_kind = cm_scalar_kind(&rt);
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
    out->structs = sx.list;
    out->n_structs = sx.n;
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
        case CH_RECORD: return "list<record>";
        default: return "list<?>";
        }
    case CH_RECORD: return "record";
    case CH_MAP:
        switch (elem) {
        case CH_STRING: return "map<string, string>";
        case CH_INT: return "map<string, int>";
        case CH_FLOAT: return "map<string, float>";
        case CH_BOOL: return "map<string, bool>";
        case CH_RECORD: return "map<string, record>";
        default: return "map<string, ?>";
        }
    case CH_OPTIONAL:
        switch (elem) {
        case CH_INT: return "optional<int>";
        case CH_FLOAT: return "optional<float>";
        case CH_BOOL: return "optional<bool>";
        default: return "optional<record>";
        }
    }
    return "?";
}

void ch_dsp_type_st(ch_kind kind, ch_kind elem, const ch_struct *st, char *buf, size_t cap)
{
    const char *name = st ? st->record : "record";
    if (kind == CH_RECORD) snprintf(buf, cap, "%s", name);
    else if (kind == CH_OPTIONAL && elem != CH_RECORD) snprintf(buf, cap, "optional<%s>", ch_dsp_type(elem, CH_VOID));
    else if (kind == CH_OPTIONAL) snprintf(buf, cap, "optional<%s>", name);
    else if (kind == CH_LIST && elem == CH_RECORD) snprintf(buf, cap, "list<%s>", name);
    else if (kind == CH_MAP && elem == CH_RECORD) snprintf(buf, cap, "map<string, %s>", name);
    else snprintf(buf, cap, "%s", ch_dsp_type(kind, elem));
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
        char ty[200];
        ch_dsp_type_st(c->kind, c->elem, c->st, ty, sizeof ty);
        append(buf, cap, &len, "%s%s: %s", first ? "" : ", ", c->name, ty);
        first = 0;
    }
    append(buf, cap, &len, ") -> ");
    int outs = 0;
    for (size_t i = 0; i < p->n_params; i++) outs += p->params[i].role == CH_ROLE_OUT;
    if (outs == 0 && p->ret_kind != CH_VOID) {
        char ty[200];
        ch_dsp_type_st(p->ret_kind, CH_VOID, p->ret_st, ty, sizeof ty);
        append(buf, cap, &len, "%s", ty);
        return len;
    }
    append(buf, cap, &len, "(");
    first = 1;
    for (size_t i = 0; i < p->n_params; i++) {
        const ch_param *c = &p->params[i];
        if (c->role != CH_ROLE_OUT) continue;
        char ty[200];
        ch_dsp_type_st(c->kind, c->elem, c->st, ty, sizeof ty);
        append(buf, cap, &len, "%s%s: %s", first ? "" : ", ", c->name, ty);
        first = 0;
    }
    append(buf, cap, &len, ")");
    return len;
}
