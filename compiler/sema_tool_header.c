/* sema_tool_header.c — a tool's C prototype as the IR sees it.
 *
 *     tool search from "build/libretrieve.so" header "retrieve.h"
 *     tool int stats(const double *xs, size_t n_xs, double *mean) from "lib.so"
 *
 * grammar/cheader reads the prototype with tree-sitter and maps its types
 * (docs/c-headers.md): from the named header, or from the prototype written
 * in the .dsp file (sema_decls.c hands it over as text). This file turns
 * the one mapping into the ir_tool both give, and reports what cannot be
 * used with a location inside the header, so the user is shown the line to
 * change.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cheader.h"
#include "file_read.h"
#include "parse.h"
#include "sema_int.h"
#include "strbuf.h"

/* The header as a source file, so diagnostics can quote its lines. NULL if
 * it cannot be read (the caller then reports at the .dsp declaration). */
static const source_file *header_source(sema *s, const char *path)
{
    diag quiet;
    diag_init(&quiet, s->a, NULL);
    src_loc none = { 0 };
    return source_load(s->a, &quiet, path, none);
}

/* An error at line:col of the header, with a note at the declaration. */
static void header_error(sema *s, const ast_decl *d, const char *path, int line, int col,
                         const char *message)
{
    const source_file *hf = line > 0 ? header_source(s, path) : NULL;
    if (hf) {
        diag_error(s->d, src_loc_make(hf, line, col), "%s", message);
        diag_note(s->d, d->header_loc, "the header is named here");
    } else {
        diag_error(s->d, d->header_loc, "%s: %s", d->header, message);
    }
}

static const ir_type *kind_type(sema *s, ch_kind k)
{
    switch (k) {
    case CH_STRING: return &s->t_string;
    case CH_INT: return &s->t_int;
    case CH_FLOAT: return &s->t_float;
    case CH_BOOL: return &s->t_bool;
    default: return NULL;
    }
}

static const ir_type *param_type(sema *s, const ch_param *c)
{
    if (c->kind != CH_LIST && c->kind != CH_MAP)
        return kind_type(s, c->kind);
    ir_type *t = arena_alloc(s->a, sizeof *t);
    t->kind = c->kind == CH_MAP ? IR_MAP : IR_LIST;
    t->elem = kind_type(s, c->elem);
    return t;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Drops a const on the outermost level ("char *const" -> "char *",
 * "const int64_t" -> "int64_t"): it says nothing about how to call. */
static size_t drop_top_const(char *buf, size_t n)
{
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    if (ends_with(buf, n, "*const"))
        n -= 5;
    else if (!strchr(buf, '*') && strncmp(buf, "const ", 6) == 0) {
        memmove(buf, buf + 6, n - 6);
        n -= 6;
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return n;
}

/* The C type as called: the normalized spelling, outermost const dropped. */
static const char *called_ctype(sema *s, const char *c_type)
{
    size_t n = strlen(c_type);
    char *buf = arena_alloc(s->a, n + 1);
    memcpy(buf, c_type, n + 1);
    drop_top_const(buf, n);
    return buf;
}

/* The C type `levels` pointers below c_type: one element of a list, or
 * what an output points to. "const char *const *" -> "const char *",
 * "char ***" (2) -> "char *", "const double *" -> "double". */
static const char *pointee_ctype(sema *s, const char *c_type, int levels)
{
    size_t n = strlen(c_type);
    char *buf = arena_alloc(s->a, n + 1);
    memcpy(buf, c_type, n + 1);
    n = drop_top_const(buf, n);
    for (int i = 0; i < levels && n > 0 && buf[n - 1] == '*'; i++) {
        buf[--n] = '\0';
        n = drop_top_const(buf, n);
    }
    return buf;
}

/* The first argument or output named like a .dsp keyword: a call could
 * neither bind it (`out: x`) nor read it (`v.out`). NULL if none. */
static const ch_param *keyword_param(const ch_prototype *p)
{
    static const char *const keywords[] = {
        "import", "lm", "enum", "signature", "in", "out", "tool", "from", "module", "return",
        "repeat", "if", "else", "metric", "data", "optimize", "with", "true", "false", "and",
        "or", "not"
    };
    for (size_t i = 0; i < p->n_params; i++) {
        if (p->params[i].role == CH_ROLE_LEN || p->params[i].role == CH_ROLE_VALUES)
            continue;
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
            if (strcmp(p->params[i].name, keywords[k]) == 0)
                return &p->params[i];
    }
    return NULL;
}

/* Whether name is a keyword of C17 or C23 (or a <stdbool.h> macro): the
 * generated C could not declare a function or parameter of that name.
 * tree-sitter reads `int f(int default);` without complaint. */
int sema_is_c_keyword(const char *name)
{
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
        "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
        "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
        "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_BitInt", "_Bool", "_Complex",
        "_Decimal128", "_Decimal32", "_Decimal64", "_Generic", "_Imaginary", "_Noreturn",
        "_Static_assert", "_Thread_local", "alignas", "alignof", "bool", "constexpr", "false", "nullptr",
        "static_assert", "thread_local", "true", "typeof", "typeof_unqual"
    };
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strcmp(name, keywords[k]) == 0)
            return 1;
    return 0;
}

/* The first parameter (lengths too: the prototype declares them) named
 * like a C keyword, or NULL. */
static const ch_param *c_keyword_param(const ch_prototype *p)
{
    for (size_t i = 0; i < p->n_params; i++)
        if (sema_is_c_keyword(p->params[i].name))
            return &p->params[i];
    return NULL;
}

/* The first parameter whose name an earlier one has, or NULL. C refuses
 * the prototype; tree-sitter reads it. (Inline prototypes are checked on
 * the .dsp side, sema_decls.c.) */
/* Two parameters a call would bind or read by one name: a C duplicate, or
 * a map (`x_keys`, `x_values`, `n_x`, named `x` in .dsp) beside a
 * parameter `x`. *first gets the earlier one. */
static const ch_param *dup_param(const ch_prototype *p, const ch_param **first)
{
    for (size_t i = 0; i < p->n_params; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->params[i].name, p->params[j].name) == 0) {
                *first = &p->params[j];
                return &p->params[i];
            }
        }
    }
    return NULL;
}

static const char *dup_message(sema *s, const ch_prototype *p, const ch_param *first, const ch_param *dup)
{
    const ch_param *map = first->kind == CH_MAP ? first : dup->kind == CH_MAP ? dup : NULL;
    if (!map)
        return arena_printf(s->a, "parameter `%s` of `%s` is declared twice", dup->name, p->name);
    return arena_printf(s->a, "parameter `%s` of `%s` has the name of its map `%s` (`%s_keys`, `%s_values`, "
                        "`n_%s`), which calls bind and read as `%s` too; rename the map's parameters or this one",
                        dup->name, p->name, map->name, map->name, map->name, map->name, map->name);
}

static const char *c_keyword_message(sema *s, const ch_prototype *p, const ch_param *c)
{
    return arena_printf(s->a, "parameter `%s` of `%s` is named like a C keyword, so the generated C could not "
                        "declare it; rename it in the prototype", c->name, p->name);
}

static const char *c_keyword_tool_message(sema *s, const char *name)
{
    return arena_printf(s->a, "tool `%s` is named like a C keyword, which no C function can be; name the "
                        "function something else", name);
}

/* The header the generated C includes that declares `name` (C17 and the
 * POSIX names glibc adds by default), or NULL. A tool of that name gets a
 * second prototype there, which C compilers reject unless the two match. */
static const char *libc_header_of(const char *name)
{
    static const struct {
        const char *header;
        const char *names;
    } libc[] = {
        { "stdlib.h", " abort abs aligned_alloc at_quick_exit atexit atof atoi atol atoll bsearch calloc div exit free "
                      "getenv labs ldiv llabs lldiv malloc mblen mbstowcs mbtowc mkstemp qsort quick_exit rand random "
                      "realloc realpath setenv srand srandom strtod strtof strtol strtold strtoll strtoul strtoull system "
                      "unsetenv wcstombs wctomb " },
        { "string.h", " memchr memcmp memcpy memmove memset stpcpy strcat strchr strcmp strcoll strcpy strcspn strdup "
                      "strerror strlen strncat strncmp strncpy strndup strnlen strpbrk strrchr strsignal strspn strstr "
                      "strtok strtok_r strxfrm index rindex strcasecmp strncasecmp " },
        { "stdio.h", " clearerr fclose fdopen feof ferror fflush fgetc fgetpos fgets fileno fopen fprintf fputc fputs "
                     "fread freopen fscanf fseek fsetpos ftell fwrite getc getchar getline gets pclose perror popen "
                     "printf putc putchar puts remove rename rewind scanf setbuf setvbuf snprintf sprintf sscanf "
                     "tmpfile tmpnam ungetc vfprintf vprintf vsnprintf vsprintf " },
        { "time.h (through pthread.h)", " asctime clock ctime difftime gmtime localtime mktime nanosleep strftime "
                                        "time timespec_get " },
    };
    size_t n = strlen(name);
    for (size_t i = 0; n && i < sizeof libc / sizeof libc[0]; i++) {
        for (const char *p = strstr(libc[i].names, name); p; p = strstr(p + 1, name))
            if (p[-1] == ' ' && p[n] == ' ')
                return libc[i].header;
    }
    if (strncmp(name, "pthread_", 8) == 0 || strncmp(name, "sched_", 6) == 0)
        return "pthread.h";
    return NULL;
}

/* Warns about a tool the generated C will declare beside a function of the
 * same name: from the C library, the runtime (dsp_) or the generated
 * helpers (cg_). The interpreter finds the tool's own symbol either way. */
static void warn_taken_name(sema *s, const ast_decl *d, const char *name)
{
    const char *h = libc_header_of(name);
    if (h)
        diag_warning(s->d, d->name.loc, "tool `%s` is named like a function of <%s>, which the generated C "
                     "includes: unless the two prototypes match, the generated C will not compile; give the C "
                     "function another name, or wrap it", name, h);
    else if (strncmp(name, "dsp_", 4) == 0 || strncmp(name, "cg_", 3) == 0)
        diag_warning(s->d, d->name.loc, "tool `%s` starts with `%.*s`, which names the runtime's and the "
                     "generated C's own functions; give the C function another name if the generated C does "
                     "not compile", name, name[0] == 'd' ? 4 : 3, name);
}

static const char *keyword_message(sema *s, const ch_prototype *p, const ch_param *c)
{
    return arena_printf(s->a, "parameter `%s` of `%s` is named like a .dsp keyword, so a call "
                        "could not %s it; rename it in the prototype (C does not care about "
                        "parameter names)", c->name, p->name,
                        c->role == CH_ROLE_OUT ? "read" : "bind");
}

/* ---- C structs and .dsp records ---- */

/* The structs of one prototype, mapped to records once each. */
typedef struct struct_map {
    const ast_decl *d;                  /* the tool's declaration */
    const ch_struct *const *from;
    const ir_cstruct **to;
    size_t n;
    int failed;
} struct_map;

/* An error at a struct's member (or the struct), in the header that
 * defines it, with notes at the record and the tool. */
static void struct_error(sema *s, const struct_map *m, const char *file, int line, int col, const sym *rec,
                         const char *message)
{
    const source_file *hf = line > 0 ? header_source(s, file) : NULL;
    if (hf)
        diag_error(s->d, src_loc_make(hf, line, col), "%s", message);
    else
        diag_error(s->d, m->d->header_loc, "%s: %s", file, message);
    if (rec)
        diag_note(s->d, rec->decl->loc, "record `%s` is declared here", rec->name);
    diag_note(s->d, m->d->header_loc, "the header is named here");
}

/* The .dsp spelling of what a member holds: "float", "list<Point>". */
static const char *member_dsp_type(sema *s, const ch_member *c)
{
    char ty[200];
    ch_dsp_type_st(c->kind, c->elem, c->st, ty, sizeof ty);
    return arena_strdup(s->a, ty);
}

/* `record place { name: string  at: Point ... }`: what the missing record
 * would be, for the fix. */
static const char *record_suggestion(sema *s, const ch_struct *st)
{
    strbuf b = { 0 };
    sb_printf(&b, "record %s {", st->record);
    for (size_t i = 0; i < st->n_members; i++)
        if (!st->members[i].is_count && !st->members[i].is_flag && !st->members[i].is_values)
            sb_printf(&b, "%s %s: %s", i ? " " : "", st->members[i].field ? st->members[i].field : st->members[i].name,
                      member_dsp_type(s, &st->members[i]));
    sb_puts(&b, " }");
    const char *out = arena_strdup(s->a, b.p ? b.p : "");
    sb_free(&b);
    return out;
}

static const ir_cstruct *struct_record(sema *s, struct_map *m, const ch_struct *st);

/* Whether field type ft holds what member c holds (a string member also
 * holds an enum, by its name; a pointer to a struct is an optional). */
static int member_fits(sema *s, struct_map *m, const ch_member *c, ch_kind kind, const ir_type *ft)
{
    switch (kind) {
    case CH_INT: return ft->kind == IR_INT;
    case CH_FLOAT: return ft->kind == IR_FLOAT;
    case CH_BOOL: return ft->kind == IR_BOOL;
    case CH_STRING:
        if (ft->kind == IR_OPTIONAL && kind == c->kind)
            ft = ft->elem;
        return ft->kind == IR_STRING || ft->kind == IR_ENUM;
    case CH_RECORD: {
        const ir_cstruct *sub = struct_record(s, m, c->st);
        return sub && ft == sub->record;
    }
    case CH_OPTIONAL:
        /* A pointer to one struct, or a scalar after its flag `bool has_x;`. */
        return ft->kind == IR_OPTIONAL && member_fits(s, m, c, c->elem, ft->elem);
    case CH_LIST:
        return ft->kind == IR_LIST && member_fits(s, m, c, c->elem, ft->elem);
    case CH_MAP:
        return ft->kind == IR_MAP && member_fits(s, m, c, c->elem, ft->elem);
    default:
        return 0;
    }
}

/* The record struct st maps to, its members checked against the fields;
 * NULL (reported) when they do not agree. */
static const ir_cstruct *struct_record(sema *s, struct_map *m, const ch_struct *st)
{
    size_t k = 0;
    while (k < m->n && m->from[k] != st)
        k++;
    if (k < m->n && m->to[k])
        return m->to[k];
    sym *sy = sema_lookup(s, st->record);
    if (!sy || sy->kind != SYM_RECORD) {
        struct_error(s, m, st->file, st->line, st->col, NULL,
                     arena_printf(s->a, "`%s` (the C struct of tool `%s`) needs a .dsp record named `%s` whose "
                                  "fields match its members; declare `%s`%s", st->c_name, m->d->name.name,
                                  st->record, record_suggestion(s, st),
                                  sy ? arena_printf(s->a, " (`%s` names something else here)", st->record) : ""));
        m->failed = 1;
        return NULL;
    }
    const ir_type *rec = sema_check_record(s, sy);
    if (!rec)
        return NULL;
    ir_cmember *ms = arena_array(s->a, st->n_members + 1, sizeof *ms);
    unsigned char *seen = arena_array(s->a, rec->n_fields + 1, 1);
    int ok = 1;
    for (size_t i = 0; i < st->n_members; i++) {
        const ch_member *c = &st->members[i];
        ir_cmember *im = &ms[i];
        im->name = arena_strdup(s->a, c->name);
        im->ctype = arena_strdup(s->a, c->c_type);
        im->elem_ctype = c->elem_c_type ? arena_strdup(s->a, c->elem_c_type) : NULL;
        im->borrowed = c->borrowed;
        im->elem_borrowed = c->elem_borrowed;
        im->field = -1;
        im->is_flag = c->is_flag;
        im->is_values = c->is_values;
        if (c->is_values && c->st) {
            /* A map's values: the struct of one value, as a list's elements. */
            im->sub = struct_record(s, m, c->st);
            ok &= im->sub != NULL;
        }
        if (c->is_count || c->is_flag || c->is_values)
            continue;
        const char *fname = c->field ? c->field : c->name;
        if (c->st && c->kind != CH_MAP) {
            im->sub = struct_record(s, m, c->st);
            if (!im->sub) {
                ok = 0;
                continue;
            }
        }
        size_t f = 0;
        while (f < rec->n_fields && strcmp(rec->fields[f].name, fname) != 0)
            f++;
        if (f == rec->n_fields) {
            struct_error(s, m, st->file, c->line, c->col, sy,
                         arena_printf(s->a, "member `%s` of `%s` has no field in record `%s`; add `%s: %s` to the "
                                      "record (members and fields match by name%s)", c->name, st->c_name, sy->name,
                                      fname, member_dsp_type(s, c),
                                      c->field ? arena_printf(s->a, ": map `%s` is `%s_keys`, `%s_values` and its "
                                                              "count", fname, fname, fname) : ""));
            ok = 0;
            continue;
        }
        seen[f] = 1;
        im->field = (long)f;
        if (!member_fits(s, m, c, c->kind, rec->fields[f].type)) {
            char have[128];
            ir_type_str(rec->fields[f].type, have, sizeof have);
            const ir_type *ft = rec->fields[f].type;
            if (ft->kind == IR_OPTIONAL && ft->elem->kind != IR_RECORD && member_fits(s, m, c, c->kind, ft->elem)) {
                /* A scalar member for an optional field: the flag is missing. */
                struct_error(s, m, st->file, c->line, c->col, sy,
                             arena_printf(s->a, "member `%s` of `%s` holds a .dsp %s, but field `%s` of record `%s` is "
                                          "%s; declare its flag `bool has_%s;` right before the member (false: "
                                          "absent), or make the field `%s: %s`", c->name, st->c_name,
                                          member_dsp_type(s, c), c->name, sy->name, have, c->name, c->name,
                                          member_dsp_type(s, c)));
                ok = 0;
                continue;
            }
            if (c->kind == CH_MAP) {
                const ch_member *v = c + 1;
                struct_error(s, m, st->file, v->line, v->col, sy,
                             arena_printf(s->a, "map `%s` of `%s` holds a .dsp %s (its values are `%s`), but field "
                                          "`%s` of record `%s` is %s; make them agree (`%s: %s` in the record, or "
                                          "another C type of `%s`)", fname, st->c_name, member_dsp_type(s, c),
                                          v->c_type, fname, sy->name, have, fname, member_dsp_type(s, c),
                                          v->name));
                ok = 0;
                continue;
            }
            struct_error(s, m, st->file, c->line, c->col, sy,
                         arena_printf(s->a, "member `%s` of `%s` is `%s`, which holds a .dsp %s, but field `%s` of "
                                      "record `%s` is %s; make them agree (`%s: %s` in the record, or another C "
                                      "type)", c->name, st->c_name, c->c_type, member_dsp_type(s, c), c->name,
                                      sy->name, have, c->name, member_dsp_type(s, c)));
            ok = 0;
        }
    }
    for (size_t f = 0; f < rec->n_fields && ok; f++) {
        if (seen[f])
            continue;
        const ast_field *af = sy->decl->fields.items[f];
        diag_error(s->d, af->name.loc, "field `%s` of record `%s` has no member in `%s` (%s:%d:%d), which tool `%s` "
                   "passes; add the member to the struct or drop the field (fields and members match by name)",
                   rec->fields[f].name, sy->name, st->c_name, st->file, st->line, st->col, m->d->name.name);
        ok = 0;
    }
    if (!ok) {
        m->failed = 1;
        return NULL;
    }
    /* Several tools (and headers) may name one C struct: one definition. */
    for (size_t i = 0; i < s->cstructs.len; i++) {
        const ir_cstruct *o = s->cstructs.items[i];
        if (strcmp(o->c_name, st->c_name) != 0)
            continue;
        int same = o->record == rec && o->n_members == st->n_members;
        for (size_t j = 0; same && j < o->n_members; j++)
            same = strcmp(o->members[j].name, ms[j].name) == 0 && strcmp(o->members[j].ctype, ms[j].ctype) == 0 &&
                   o->members[j].sub == ms[j].sub;
        if (!same) {
            struct_error(s, m, st->file, st->line, st->col, sy,
                         arena_printf(s->a, "`%s` is defined here otherwise than where another tool's header defines "
                                      "it, and the generated C can declare it only once; use one definition",
                                      st->c_name));
            m->failed = 1;
            return NULL;
        }
        if (k < m->n)
            m->to[k] = o;
        return o;
    }
    ir_cstruct *cs = arena_alloc(s->a, sizeof *cs);
    ptr_vec_push(s->a, &s->cstructs, cs);
    cs->c_name = arena_strdup(s->a, st->c_name);
    cs->tagged = st->tagged;
    cs->record = rec;
    cs->members = ms;
    cs->n_members = st->n_members;
    if (k < m->n)
        m->to[k] = cs;
    return cs;
}

/* The .dsp type of a parameter or result whose C type is a struct. */
static const ir_type *struct_param_type(sema *s, ch_kind kind, const ir_cstruct *cs)
{
    if (kind == CH_RECORD)
        return cs->record;
    ir_type *t = arena_alloc(s->a, sizeof *t);
    t->kind = kind == CH_LIST ? IR_LIST : kind == CH_MAP ? IR_MAP : IR_OPTIONAL;
    t->elem = cs->record;
    return t;
}

/* Maps every struct of p to its record and types the parameters and the
 * result that are structs. 0 when one does not agree (reported). */
static int tool_structs(sema *s, const ast_decl *d, const ch_prototype *p, ir_tool *t)
{
    if (!p->n_structs)
        return 1;
    struct_map m = { d, (const ch_struct *const *)p->structs, arena_array(s->a, p->n_structs, sizeof *m.to),
                     p->n_structs, 0 };
    for (size_t i = 0; i < p->n_params; i++) {
        const ch_param *c = &p->params[i];
        if (!c->st || c->role == CH_ROLE_VALUES)
            continue;
        const ir_cstruct *cs = struct_record(s, &m, c->st);
        if (!cs)
            continue;
        ir_tool_param *q = (ir_tool_param *)&t->params[i];
        q->cstruct = cs;
        q->type = struct_param_type(s, c->kind, cs);
        for (size_t o = 0; o < t->n_outputs; o++)
            if (t->outputs[o].name == q->name)
                ((ir_field *)t->outputs)[o].type = q->type;
    }
    if (p->ret_st) {
        t->ret_cstruct = struct_record(s, &m, p->ret_st);
        if (t->ret_cstruct)
            t->type = t->ret_cstruct->record;
    }
    return !m.failed;
}

int sema_tool_from_prototype(sema *s, const ch_prototype *p, ir_tool *t)
{
    ir_tool_param *ps = arena_array(s->a, p->n_params + 1, sizeof *ps);
    ir_field *outs = arena_array(s->a, p->n_params + 1, sizeof *outs);
    size_t n_outs = 0;
    for (size_t i = 0; i < p->n_params; i++) {
        const ch_param *c = &p->params[i];
        ir_tool_param *q = &ps[i];
        q->name = arena_strdup(s->a, c->name);
        q->ctype = called_ctype(s, c->c_type);
        switch (c->role) {
        case CH_ROLE_IN:
            q->role = IR_PARAM_IN;
            q->type = param_type(s, c);
            if (c->kind == CH_MAP)
                q->elem_ctype = pointee_ctype(s, called_ctype(s, p->params[i + 1].c_type), 1);
            else if (c->kind == CH_LIST || ((c->kind == CH_RECORD || c->kind == CH_OPTIONAL) && strchr(q->ctype, '*')))
                q->elem_ctype = pointee_ctype(s, q->ctype, 1);
            break;
        case CH_ROLE_OUT:
            q->role = IR_PARAM_OUT;
            q->type = param_type(s, c);
            /* T **out, char ***out: the array's element; T *out, char **out:
             * the value itself; a map's values, `T **x_values`: one value. */
            if (c->kind == CH_MAP)
                q->elem_ctype = pointee_ctype(s, called_ctype(s, p->params[i + 1].c_type), 2);
            else
                q->elem_ctype = pointee_ctype(s, q->ctype, c->kind == CH_LIST || c->kind == CH_OPTIONAL ? 2 : 1);
            outs[n_outs].name = q->name;
            outs[n_outs].type = q->type;
            n_outs++;
            break;
        case CH_ROLE_LEN:
            q->role = IR_PARAM_LEN;
            break;
        case CH_ROLE_VALUES:
            q->role = IR_PARAM_VALUES;
            q->elem_ctype = ps[i - 1].elem_ctype;
            break;
        }
    }
    t->params = ps;
    t->n_params = p->n_params;
    t->outputs = outs;
    t->n_outputs = n_outs;
    t->ret_status = p->ret_is_status;
    /* An owned `char *` result keeps its spelling: the caller frees it. */
    t->c_return = p->ret_owned ? "char *" : called_ctype(s, p->ret_c_type);
    t->type = n_outs ? NULL : kind_type(s, p->ret_kind);
    return n_outs > 0 || t->type != NULL || p->ret_kind == CH_RECORD;
}

/* The files the generated C depends on through this tool: the header and
 * every header a struct of it is defined in, each once. */
static void record_headers(sema *s, const char *path, const ch_prototype *p, ir_tool *t)
{
    const char **v = arena_array(s->a, p->n_structs + 1, sizeof *v);
    size_t n = 0;
    v[n++] = path;
    for (size_t i = 0; i < p->n_structs; i++) {
        size_t j = 0;
        while (j < n && strcmp(v[j], p->structs[i]->file) != 0)
            j++;
        if (j == n)
            v[n++] = arena_strdup(s->a, p->structs[i]->file);
    }
    t->headers = v;
    t->n_headers = n;
}

int sema_tool_from_header(sema *s, sym *sy, ir_tool *t)
{
    ast_decl *d = sy->decl;
    const char *path = sema_path_join(s->a, d->loc.file->dir, d->header);
    ch_prototype p;
    ch_diag cd;
    const char *not_file;
    if (fr_check_regular(path, &not_file) != 0 && errno == EINVAL) {
        diag_error(s->d, d->header_loc, "cannot read header `%s`: `%s` %s", d->header, path, not_file);
        return 0;
    }
    ch_status st = ch_find_function(path, sy->name, &p, &cd);
    if (st == CH_ERR_IO) {
        /* cheader's hint assumes paths relative to the working directory;
         * here they are relative to the .dsp file. */
        diag_error(s->d, d->header_loc, "cannot read header `%s` (looked for `%s`, relative to "
                   "the .dsp file that names it)", d->header, path);
        return 0;
    }
    if (st != CH_OK) {
        header_error(s, d, cd.path[0] ? cd.path : path, cd.line, cd.col, cd.message);
        return 0;
    }
    const ch_param *first = NULL;
    const ch_param *kw = keyword_param(&p), *ckw = c_keyword_param(&p), *dup = dup_param(&p, &first);
    if (kw || ckw || dup || sema_is_c_keyword(p.name)) {
        if (sema_is_c_keyword(p.name))
            header_error(s, d, path, p.line, p.col, c_keyword_tool_message(s, p.name));
        else if (dup)
            header_error(s, d, path, dup->line, dup->col, dup_message(s, &p, first, dup));
        else if (kw)
            header_error(s, d, path, kw->line, kw->col, keyword_message(s, &p, kw));
        else
            header_error(s, d, path, ckw->line, ckw->col, c_keyword_message(s, &p, ckw));
        ch_prototype_free(&p);
        return 0;
    }
    int ok = sema_tool_from_prototype(s, &p, t);
    if (ok && !tool_structs(s, d, &p, t)) {
        ch_prototype_free(&p);
        return 0;
    }
    if (!ok) {
        char msg[CH_DIAG_MAX];
        snprintf(msg, sizeof msg, "tool `%s` returns nothing and has no output parameters, so a "
                 ".dsp program has nothing to use; return a value, or write results through "
                 "pointers (`char **out`, `int64_t *out`, ...) and return an int status",
                 sy->name);
        header_error(s, d, path, p.line, p.col, msg);
    }
    if (ok) {
        warn_taken_name(s, d, sy->name);
        record_headers(s, path, &p, t);
    }
    if (ok && p.is_static) {
        const source_file *hf = header_source(s, path);
        src_loc at = hf ? src_loc_make(hf, p.line, p.col) : d->header_loc;
        diag_warning(s->d, at, "`%s` is declared `static` in `%s`, so no shared object exports it: "
                     "`dspcc eval` and the generated C would find no symbol; declare an exported function",
                     sy->name, d->header);
        if (hf)
            diag_note(s->d, d->header_loc, "the header is named here");
    }
    ch_prototype_free(&p);
    return ok;
}

/* The byte offset of line:col (1-based, col in bytes) in f. The line
 * starts are computed once per file, so many inline tools stay linear. */
static size_t offset_of(sema *s, const source_file *f, int line, int col)
{
    if (s->lines_of != f) {
        size_t n = 1;
        for (size_t i = 0; i < f->len; i++)
            n += f->text[i] == '\n';
        s->line_starts = arena_array(s->a, n, sizeof *s->line_starts);
        s->line_starts[0] = 0;
        n = 1;
        for (size_t i = 0; i < f->len; i++)
            if (f->text[i] == '\n')
                s->line_starts[n++] = i + 1;
        s->n_lines = n;
        s->lines_of = f;
    }
    if (line < 1 || (size_t)line > s->n_lines || col < 1)
        return f->len;
    size_t o = s->line_starts[line - 1] + (size_t)(col - 1);
    return o < f->len ? o : f->len;
}

/* `tool int stats(const double *xs, size_t n_xs, double *mean) from "x.so"`:
 * the prototype is C, so cheader reads it as C: its bytes, after as many
 * spaces as its column has before it, and a `;`. Positions cheader reports
 * are then those of the .dsp file once shifted down to the prototype's
 * first line (its later lines keep their own columns). */
/* The record a C type text names as a bare word (`const Pt *` for record
 * Pt), or NULL: an inline prototype has no typedefs, so such a type can
 * only come from the header that defines the struct. */
static const char *record_word(sema *s, const char *ctype)
{
    int after_struct = 0; /* `struct T`: cheader's own message says it */
    for (const char *c = ctype; *c;) {
        if (!(isalpha((unsigned char)*c) || *c == '_')) {
            c++;
            continue;
        }
        const char *w = c;
        while (isalnum((unsigned char)*c) || *c == '_')
            c++;
        const char *name = arena_printf(s->a, "%.*s", (int)(c - w), w);
        const sym *r = after_struct ? NULL : sema_lookup(s, name);
        if (r && r->kind == SYM_RECORD)
            return name;
        after_struct = strcmp(name, "struct") == 0;
    }
    return NULL;
}

int sema_tool_from_inline(sema *s, sym *sy, ir_tool *t)
{
    ast_decl *d = sy->decl;
    for (size_t i = 0; i < d->params.len; i++) {
        const ast_cdecl *c = d->params.items[i];
        const char *rec = record_word(s, c->ctype);
        if (rec) {
            diag_error(s->d, c->loc, "parameter `%s` of `%s` takes struct `%s`, which an inline prototype cannot "
                       "define (it has no typedefs); declare the tool by the header that defines the struct "
                       "(`tool %s from \"lib.so\" header \"tools.h\"`): its members are checked against "
                       "record `%s`", c->name.name, sy->name, rec, sy->name, rec);
            return 0;
        }
    }
    const char *rec = record_word(s, d->cfunc->ctype);
    if (rec) {
        diag_error(s->d, d->cfunc->loc, "`%s` returns struct `%s`, which an inline prototype cannot define (it "
                   "has no typedefs); declare the tool by the header that defines the struct (`tool %s from "
                   "\"lib.so\" header \"tools.h\"`)", sy->name, rec, sy->name);
        return 0;
    }
    const source_file *f = d->cfunc->loc.file;
    size_t start = offset_of(s, f, d->cfunc->loc.line, d->cfunc->loc.col);
    size_t end = offset_of(s, f, d->proto_end.line, d->proto_end.col) + 1;
    if (end > f->len)
        end = f->len;
    if (end < start)
        end = start;
    size_t pad = (size_t)(d->cfunc->loc.col - 1), n = pad + (end - start) + 1;
    int shift = d->cfunc->loc.line - 1;
    char *text = arena_alloc(s->a, n + 1);
    memset(text, ' ', pad);
    memcpy(text + pad, f->text + start, end - start);
    text[n - 1] = ';';
    ch_header *h;
    ch_prototype p;
    ch_diag cd;
    ch_status st = ch_header_open_text(f->path, text, n, &h, &cd);
    if (st == CH_OK) {
        st = ch_header_find(h, sy->name, &p, &cd);
        ch_header_close(h);
    }
    if (st != CH_OK) {
        src_loc at = cd.line > 0 ? src_loc_make(f, cd.line + shift, cd.col) : d->cfunc->loc;
        diag_error(s->d, at, "%s", cd.message);
        return 0;
    }
    const ch_param *first = NULL;
    const ch_param *kw = keyword_param(&p), *ckw = c_keyword_param(&p), *dup = dup_param(&p, &first);
    if (sema_is_c_keyword(p.name)) {
        diag_error(s->d, d->cfunc->name.loc, "%s", c_keyword_tool_message(s, p.name));
        ch_prototype_free(&p);
        return 0;
    }
    if (dup) {
        diag_error(s->d, src_loc_make(f, dup->line + shift, dup->col), "%s", dup_message(s, &p, first, dup));
        ch_prototype_free(&p);
        return 0;
    }
    if (kw || ckw) {
        const ch_param *c = kw ? kw : ckw;
        diag_error(s->d, src_loc_make(f, c->line + shift, c->col), "%s",
                   kw ? keyword_message(s, &p, kw) : c_keyword_message(s, &p, ckw));
        ch_prototype_free(&p);
        return 0;
    }
    int ok = sema_tool_from_prototype(s, &p, t);
    if (!ok)
        diag_error(s->d, d->cfunc->loc, "tool `%s` returns nothing and has no output parameters, "
                   "so a .dsp program has nothing to use; return a value, or write results through "
                   "pointers (`char **out`, `int64_t *out`, ...) and return an int status", sy->name);
    else
        warn_taken_name(s, d, sy->name);
    if (ok && p.is_static)
        diag_warning(s->d, d->cfunc->loc, "`%s` is declared `static`, so no shared object exports it: `dspcc "
                     "eval` and the generated C would find no symbol; drop `static`", sy->name);
    ch_prototype_free(&p);
    return ok;
}
