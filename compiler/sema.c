/* sema.c — the checker's driver: loads imports, builds the symbol table,
 * runs the checks in dependency order and assembles the IR program. */
#include "sema_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* ---- symbol table ---- */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void table_insert(sema *s, sym *sy)
{
    if ((s->syms.len + 1) * 2 > s->table_cap) {
        size_t cap = s->table_cap ? s->table_cap * 2 : 64;
        sym **t = arena_array(s->a, cap, sizeof *t);
        for (size_t i = 0; i < s->syms.len; i++) {
            sym *o = s->syms.items[i];
            size_t j = hash_str(o->name) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = o;
        }
        s->table = t;
        s->table_cap = cap;
    }
    size_t j = hash_str(sy->name) & (s->table_cap - 1);
    while (s->table[j])
        j = (j + 1) & (s->table_cap - 1);
    s->table[j] = sy;
    ptr_vec_push(s->a, &s->syms, sy);
}

sym *sema_lookup(sema *s, const char *name)
{
    if (!s->table_cap)
        return NULL;
    size_t j = hash_str(name) & (s->table_cap - 1);
    while (s->table[j]) {
        if (strcmp(s->table[j]->name, name) == 0)
            return s->table[j];
        j = (j + 1) & (s->table_cap - 1);
    }
    return NULL;
}

const char *sym_kind_name(sym_kind k)
{
    static const char *const names[] = { "enum", "signature", "lm", "tool", "module", "metric", "data set",
                                         "record" };
    return names[k];
}

const char *sym_kind_article(sym_kind k)
{
    return k == SYM_ENUM || k == SYM_LM ? "an" : "a";
}

const char *sema_did_you_mean(sema *s, const char *name, const char *const *names, size_t n)
{
    const char *best = diag_suggest(name, names, n);
    return best ? arena_printf(s->a, "; did you mean `%s`?", best) : "";
}

const char *sema_enum_did_you_mean(sema *s, const char *value, const ir_type *t)
{
    const char *best = diag_suggest(value, t->values, t->n_values);
    if (!best)
        return "";
    return arena_printf(s->a, ir_is_name(best) ? "; did you mean `%s`?" : "; did you mean \"%s\"?", best);
}

const char *sema_field_names_hint(sema *s, const char *name, const ir_field *f, size_t n)
{
    const char **names = arena_array(s->a, n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = f[i].name;
    return sema_did_you_mean(s, name, names, n);
}

sym *sema_expect(sema *s, const ast_ident *id, sym_kind kind)
{
    sym *sy = sema_lookup(s, id->name);
    if (!sy) {
        const char **names = arena_array(s->a, s->syms.len + 1, sizeof *names);
        size_t n = 0;
        for (size_t i = 0; i < s->syms.len; i++) {
            sym *o = s->syms.items[i];
            if (o->kind == kind)
                names[n++] = o->name;
        }
        diag_error(s->d, id->loc, "unknown %s `%s`%s", sym_kind_name(kind), id->name,
                   sema_did_you_mean(s, id->name, names, n));
        return NULL;
    }
    sy->used = 1;
    if (sy->kind != kind) {
        diag_error(s->d, id->loc, "`%s` is %s %s, not %s %s", id->name,
                   sym_kind_article(sy->kind), sym_kind_name(sy->kind), sym_kind_article(kind),
                   sym_kind_name(kind));
        diag_note(s->d, sy->decl->name.loc, "`%s` is declared here", id->name);
        return NULL;
    }
    return sy;
}

ir_loc sema_loc(sema *s, src_loc l)
{
    (void)s;
    ir_loc r = { l.file ? l.file->rel_path : "", l.line, l.col };
    return r;
}

const char *sema_type_str(sema *s, const ir_type *t)
{
    char buf[512];
    return arena_strdup(s->a, ir_type_str(t, buf, sizeof buf));
}

/* ---- paths ---- */

char *sema_path_join(arena *a, const char *dir, const char *rel)
{
    size_t cap = strlen(dir) + strlen(rel) + 3;
    char *tmp = arena_alloc(a, cap);
    if (rel[0] == '/' || !dir[0])
        snprintf(tmp, cap, "%s", rel);
    else
        snprintf(tmp, cap, "%s/%s", dir, rel);
    /* Normalize: drop "." and empty components, fold "x/..". */
    int absolute = tmp[0] == '/';
    char **parts = arena_array(a, cap, sizeof *parts);
    size_t n = 0;
    for (char *tok = strtok(tmp, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0 && n > 0 && strcmp(parts[n - 1], "..") != 0) {
            n--;
            continue;
        }
        if (strcmp(tok, "..") == 0 && absolute)
            continue;
        parts[n++] = tok;
    }
    char *out = arena_alloc(a, cap + 1);
    size_t o = 0;
    if (absolute)
        out[o++] = '/';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        if (i)
            out[o++] = '/';
        memcpy(out + o, parts[i], l);
        o += l;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

static const char *dirname_of(arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? arena_strndup(a, path, (size_t)(slash - path)) : "";
}

/* ---- loading ---- */

static const char *canonical(sema *s, const char *path)
{
    char buf[PATH_MAX];
    if (realpath(path, buf))
        return arena_strdup(s->a, buf);
    return path;
}

int sema_vec_has(const ptr_vec *v, const char *str)
{
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->items[i], str) == 0)
            return 1;
    return 0;
}

static void load_ast(sema *s, ast_file *f, int imported);

static void load_import(sema *s, const source_file *from, ast_decl *d)
{
    if (!d->str[0]) {
        diag_error(s->d, d->str_loc, "empty import path");
        return;
    }
    const char *path = sema_path_join(s->a, from->dir, d->str);
    const char *canon = canonical(s, path);
    if (sema_vec_has(&s->import_stack, canon)) {
        diag_error(s->d, d->str_loc, "import cycle: `%s` imports itself through `%s`", d->str,
                   from->path);
        return;
    }
    if (sema_vec_has(&s->loaded, canon))
        return;  /* diamond imports load once */
    source_file *src = source_load(s->a, s->d, path, d->str_loc);
    if (!src)
        return;
    src->rel_path = sema_path_join(s->a, from->rel_dir, d->str);
    src->rel_dir = dirname_of(s->a, src->rel_path);
    ptr_vec_push(s->a, &s->loaded, (void *)canon);
    ptr_vec_push(s->a, &s->import_stack, (void *)canon);
    int before = s->d->errors;
    ast_file *f = parse_source(s->a, s->d, src);
    if (s->d->errors == before)
        load_ast(s, f, 1);
    s->import_stack.len--;
}

static sym_kind decl_sym_kind(ast_decl_kind k)
{
    switch (k) {
    case D_ENUM: return SYM_ENUM;
    case D_SIGNATURE: return SYM_SIGNATURE;
    case D_LM: return SYM_LM;
    case D_TOOL: return SYM_TOOL;
    case D_MODULE: return SYM_MODULE;
    case D_METRIC: return SYM_METRIC;
    case D_RECORD: return SYM_RECORD;
    default: return SYM_DATA;
    }
}

static void load_ast(sema *s, ast_file *f, int imported)
{
    ptr_vec_push(s->a, &s->files, f);
    for (size_t i = 0; i < f->decls.len; i++) {
        ast_decl *d = f->decls.items[i];
        if (d->kind == D_IMPORT) {
            load_import(s, f->src, d);
            continue;
        }
        if (d->kind == D_OPTIMIZE) {
            if (imported)
                diag_warning(s->d, d->loc,
                             "`optimize` in an imported file is ignored; optimize in the main file");
            else
                ptr_vec_push(s->a, &s->optimizes, d);
            continue;
        }
        sym *old = sema_lookup(s, d->name.name);
        if (old) {
            if (old->decl == d)
                continue;
            diag_warning(s->d, d->name.loc, "duplicate declaration of `%s`; this one is ignored",
                         d->name.name);
            diag_note(s->d, old->decl->name.loc, "`%s` is first declared here as a %s",
                      d->name.name, sym_kind_name(old->kind));
            continue;
        }
        sym *sy = arena_alloc(s->a, sizeof *sy);
        sy->name = d->name.name;
        sy->kind = decl_sym_kind(d->kind);
        sy->decl = d;
        sy->from_import = imported;
        table_insert(s, sy);
    }
}

/* ---- assembling ---- */

#define COLLECT(K, T, field, nfield) do {                          \
        size_t n = 0;                                                 \
        for (size_t i = 0; i < s->syms.len; i++) {                    \
            sym *sy = s->syms.items[i];                               \
            if (sy->kind == (K) && sy->ir) n++;                    \
        }                                                             \
        T **arr = arena_array(s->a, n + 1, sizeof *arr);              \
        n = 0;                                                        \
        for (size_t i = 0; i < s->syms.len; i++) {                    \
            sym *sy = s->syms.items[i];                               \
            if (sy->kind == (K) && sy->ir) arr[n++] = sy->ir;      \
        }                                                             \
        p->field = (const T *const *)arr;                             \
        p->nfield = n;                                                \
    } while (0)

/* A metric no optimize block uses can still score a run of `dspcc eval
 * [--module M] --metric NAME`: it is checked, quietly, against every module
 * and kept for each one it types against, so eval can score any module of
 * a program that has no optimize block for it (an imported metric too). */
static void check_unused_metrics(sema *s)
{
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        if (sy->kind != SYM_METRIC || sy->used || sy->instances.len > 0)
            continue;
        for (size_t m = 0; m < s->modules_done.len; m++) {
            diag quiet;
            diag_init(&quiet, s->a, NULL);
            diag *loud = s->d;
            s->d = &quiet;
            (void)sema_check_metric(s, sy, s->modules_done.items[m], NULL, &sy->decl->name);
            s->d = loud;
            /* The warning names the last module: keep its first error. */
            sy->unfit = NULL;
            for (size_t k = 0; k < quiet.msgs.len && !sy->unfit; k++)
                if (((const diag_msg *)quiet.msgs.items[k])->severity == DIAG_ERROR)
                    sy->unfit = quiet.msgs.items[k];
        }
    }
}

/* The lm `dspcc eval` and `dspcc build` run a module on when no optimize
 * block names the module: the first declared. NULL when every module has
 * an optimize block. */
static const sym *default_lm(const sema *s, const ptr_vec *opts)
{
    for (size_t m = 0; m < s->modules_done.len; m++) {
        int optimized = 0;
        for (size_t o = 0; o < opts->len && !optimized; o++)
            optimized = ((const ir_optimize *)opts->items[o])->module == s->modules_done.items[m];
        if (optimized)
            continue;
        for (size_t i = 0; i < s->syms.len; i++)
            if (((const sym *)s->syms.items[i])->kind == SYM_LM)
                return s->syms.items[i];
        return NULL;
    }
    return NULL;
}

static void warn_unused(sema *s, const ptr_vec *opts)
{
    const sym *lm = default_lm(s, opts);
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        /* Modules are entry points: each becomes a C function; so are data
         * sets (`dspcc eval --data NAME`), and the lm a module without an
         * optimize block runs on. Imported files are libraries: not using
         * all of one is normal. */
        if (sy->used || sy->from_import || sy->kind == SYM_MODULE || sy->kind == SYM_DATA || sy == lm)
            continue;
        if (sy->kind == SYM_METRIC && sy->instances.len == 0 && s->modules_done.len == 0)
            diag_warning(s->d, sy->decl->name.loc, "metric `%s` is never used: there is no module "
                         "for it to score", sy->name);
        else if (sy->kind == SYM_METRIC && sy->instances.len == 0) {
            diag_warning(s->d, sy->decl->name.loc,
                         "metric `%s` is never used by an `optimize` block, and it does not fit %s`%s`%s",
                         sy->name, s->modules_done.len == 1 ? "module " : "any module, such as ",
                         ((const ir_module *)s->modules_done.items[s->modules_done.len - 1])->name,
                         sy->unfit ? ":" : "; use it in an `optimize` block to see why");
            if (sy->unfit)
                diag_note(s->d, sy->unfit->loc, "%s", sy->unfit->text);
        }
        else if (sy->kind == SYM_METRIC)
            continue;  /* it fits a module: `dspcc eval --module M --metric NAME` can use it */
        else
            diag_warning(s->d, sy->decl->name.loc, "%s `%s` is declared but never used",
                         sym_kind_name(sy->kind), sy->name);
    }
}

static ir_program *check(sema *s, const source_file *src)
{
    int errors_before = s->d->errors;
    s->main = src;
    s->t_string.kind = IR_STRING;
    s->t_int.kind = IR_INT;
    s->t_float.kind = IR_FLOAT;
    s->t_bool.kind = IR_BOOL;
    const char *canon = canonical(s, src->path);
    ptr_vec_push(s->a, &s->loaded, (void *)canon);
    ptr_vec_push(s->a, &s->import_stack, (void *)canon);
    ast_file *f = parse_source(s->a, s->d, src);
    /* A syntax error leaves a partial tree; checking it would mostly
     * report follow-on errors, so stop here like most compilers do. */
    if (s->d->errors > errors_before)
        return NULL;
    load_ast(s, f, 0);
    if (s->d->errors > errors_before)
        return NULL;

    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        if (sy->kind == SYM_ENUM) sema_check_enum(s, sy);
    }
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        if (sy->kind == SYM_RECORD) (void)sema_check_record(s, sy);
    }
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        switch (sy->kind) {
        case SYM_SIGNATURE: sema_check_signature(s, sy); break;
        case SYM_LM: sema_check_lm(s, sy); break;
        case SYM_TOOL: sema_check_tool(s, sy); break;
        case SYM_DATA: sema_check_data(s, sy); break;
        default: break;
        }
    }
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        if (sy->kind == SYM_MODULE) sema_check_module_header(s, sy);
    }
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        if (sy->kind == SYM_MODULE) sema_check_module_body(s, sy);
    }
    sema_order_modules(s);
    ptr_vec opts = { 0 };
    for (size_t i = 0; i < s->optimizes.len; i++) {
        ast_decl *d = s->optimizes.items[i];
        for (size_t j = 0; j < i; j++) {
            ast_decl *o = s->optimizes.items[j];
            if (strcmp(o->name.name, d->name.name) == 0) {
                diag_error(s->d, d->name.loc,
                           "module `%s` already has an `optimize` block; keep one per module",
                           d->name.name);
                diag_note(s->d, o->loc, "the first one is here");
            }
        }
        ir_optimize *o = sema_check_optimize(s, d);
        if (o)
            ptr_vec_push(s->a, &opts, o);
    }
    /* After an error a use may have gone unresolved; "never used" would
     * then be wrong, so it is only reported for programs that check. */
    if (s->d->errors > errors_before)
        return NULL;
    check_unused_metrics(s);
    warn_unused(s, &opts);

    ir_program *p = arena_alloc(s->a, sizeof *p);
    const char *slash = strrchr(src->path, '/');
    p->source = slash ? slash + 1 : src->path;
    p->base_dir = src->dir;
    COLLECT(SYM_ENUM, ir_type, enums, n_enums);
    p->records = (const ir_type *const *)s->records_done.items;
    p->n_records = s->records_done.len;
    COLLECT(SYM_SIGNATURE, ir_signature, signatures, n_signatures);
    COLLECT(SYM_LM, ir_lm, lms, n_lms);
    COLLECT(SYM_TOOL, ir_tool, tools, n_tools);
    COLLECT(SYM_DATA, ir_data, data, n_data);
    p->modules = (const ir_module *const *)s->modules_done.items;
    p->n_modules = s->modules_done.len;
    ptr_vec metrics = { 0 };
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *sy = s->syms.items[i];
        for (size_t j = 0; sy->kind == SYM_METRIC && j < sy->instances.len; j++)
            ptr_vec_push(s->a, &metrics, sy->instances.items[j]);
    }
    p->metrics = (const ir_metric *const *)metrics.items;
    p->n_metrics = metrics.len;
    p->optimizes = (const ir_optimize *const *)opts.items;
    p->n_optimizes = opts.len;
    return p;
}

ir_program *sema_check_source(arena *a, diag *d, const source_file *src)
{
    /* In the arena, not on the stack: the IR points at its canonical types. */
    sema *s = arena_alloc(a, sizeof *s);
    s->a = a;
    s->d = d;
    return check(s, src);
}

ir_program *sema_check_file(arena *a, diag *d, const char *path)
{
    source_file *src = source_load(a, d, path, src_loc_make(NULL, 0, 0));
    if (!src)
        return NULL;
    return sema_check_source(a, d, src);
}
