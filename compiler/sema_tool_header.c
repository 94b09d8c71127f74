/* sema_tool_header.c — a tool declared by its C header:
 *
 *     tool search from "build/libretrieve.so" header "retrieve.h"
 *
 * grammar/cheader reads the prototype with tree-sitter and maps its types
 * (docs/c-headers.md); this file turns the result into the same ir_tool an
 * inline prototype gives, and reports what cannot be used with a location
 * inside the header, so the user is shown the line to change.
 */
#include <stdio.h>
#include <string.h>

#include "cheader.h"
#include "parse.h"
#include "sema_int.h"

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

static const char *kind_ctype(ch_kind k)
{
    switch (k) {
    case CH_STRING: return "const char *";
    case CH_INT: return "long";
    case CH_FLOAT: return "double";
    case CH_BOOL: return "bool";
    default: return NULL;
    }
}

/* The C spelling the interpreter and the C backend call through: the
 * header's own spelling when sema knows it, so the call matches the ABI. */
static const char *call_ctype(sema *s, const char *c_type, ch_kind kind)
{
    if (sema_ctype(s, c_type))
        return c_type;
    return kind_ctype(kind);
}

int sema_tool_from_header(sema *s, sym *sy, ir_tool *t)
{
    ast_decl *d = sy->decl;
    const char *path = sema_path_join(s->a, d->loc.file->dir, d->header);
    ch_prototype p;
    ch_diag cd;
    ch_status st = ch_find_function(path, sy->name, &p, &cd);
    if (st == CH_ERR_IO) {
        /* cheader's hint assumes paths relative to the working directory;
         * here they are relative to the .dsp file. */
        diag_error(s->d, d->header_loc, "cannot read header `%s` (looked for `%s`, relative to "
                   "the .dsp file that names it)", d->header, path);
        return 0;
    }
    if (st != CH_OK) {
        header_error(s, d, path, cd.line, cd.col, cd.message);
        return 0;
    }
    int ok = 1;
    char msg[CH_DIAG_MAX];
    if (p.ret_is_status || p.ret_kind == CH_LIST || p.ret_kind == CH_VOID) {
        snprintf(msg, sizeof msg, "tool `%s` returns %s; this dspcc calls tools that return one "
                 "string, integer, float or bool (lists and output parameters are read from headers "
                 "but not yet passed by the interpreter and the C backend)",
                 sy->name, p.ret_kind == CH_VOID && !p.ret_is_status ? "nothing" : "through output parameters or a list");
        header_error(s, d, path, p.line, p.col, msg);
        ok = 0;
    }
    ir_tool_param *ps = arena_array(s->a, p.n_params + 1, sizeof *ps);
    for (size_t i = 0; i < p.n_params && ok; i++) {
        const ch_param *cp = &p.params[i];
        if (cp->role != CH_ROLE_IN || cp->kind == CH_LIST) {
            snprintf(msg, sizeof msg, "parameter `%s` of `%s` is %s; this dspcc passes tools only "
                     "strings, integers, floats and bools", cp->name, sy->name,
                     cp->kind == CH_LIST ? "a list" : "an output or length");
            header_error(s, d, path, cp->line, cp->col, msg);
            ok = 0;
            break;
        }
        ps[i].name = arena_strdup(s->a, cp->name);
        ps[i].ctype = arena_strdup(s->a, call_ctype(s, cp->c_type, cp->kind));
        ps[i].type = sema_ctype(s, ps[i].ctype);
    }
    if (ok) {
        /* An owned `char *` result keeps its spelling: the caller frees it. */
        const char *ret = p.ret_owned ? "char *" : call_ctype(s, p.ret_c_type, p.ret_kind);
        t->c_return = arena_strdup(s->a, ret);
        t->type = sema_ctype(s, t->c_return);
        t->params = ps;
        t->n_params = p.n_params;
    }
    ch_prototype_free(&p);
    return ok;
}
