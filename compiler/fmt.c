/* fmt.c — formats one parsed file and checks the result before handing
 * it out: the output must parse, and its tokens (commas aside, which the
 * layout may add or drop where they are optional) and comments must be
 * the source's, in order. A mismatch is a formatter bug; it is reported
 * and nothing is written, so a bug can never change a program. */
#include <stdlib.h>
#include <string.h>

#include "fmt_int.h"
#include "parse.h"

static void print_file(fmt_printer *p, const ast_file *file)
{
    for (size_t i = 0; i < file->decls.len && !p->error; i++) {
        if (i > 0)
            fp_item(p);
        fmt_decl(p, file->decls.items[i]);
    }
    /* Comments after the last declaration. */
    fp_item(p);
    fp_flush_comments(p);
    if (!p->error && fp_peek(p) != 0)
        fp_fail(p, "the formatter stopped before the end of the file");
    p->pending = SP_NONE;
    if (p->out.len > 0)
        fp_text(p, "\n");
}

static int same_tokens(const fmt_tokens *a, const fmt_tokens *b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->n && a->toks[i].kind == ',')
            i++;
        while (j < b->n && b->toks[j].kind == ',')
            j++;
        if (i == a->n || j == b->n)
            return i == a->n && j == b->n;
        const fmt_tok *x = &a->toks[i++], *y = &b->toks[j++];
        if (x->kind != y->kind || x->len != y->len || memcmp(x->text, y->text, x->len) != 0)
            return 0;
    }
}

static int same_comments(const fmt_tokens *a, const fmt_tokens *b)
{
    if (a->ncomments != b->ncomments)
        return 0;
    for (size_t i = 0; i < a->ncomments; i++)
        if (a->comments[i].len != b->comments[i].len ||
            memcmp(a->comments[i].text, b->comments[i].text, a->comments[i].len) != 0)
            return 0;
    return 1;
}

int fmt_file(arena *a, diag *d, const ast_file *file, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const source_file *src = file->src;
    fmt_tokens tk;
    if (fmt_scan(a, d, src, &tk) != 0)
        return -1;
    fmt_printer p;
    fp_init(&p, &tk);
    print_file(&p, file);
    if (p.error) {
        diag_error(d, src_loc_make(src, p.error_line, 1),
                   "internal error: %s; the file is left as it is", p.error);
        fp_free(&p);
        return -1;
    }
    if (!p.out.p) {
        p.out.p = malloc(1);
        if (!p.out.p) {
            diag_error(d, src_loc_make(src, 0, 0), "out of memory");
            return -1;
        }
        p.out.p[0] = '\0';
    }

    diag quiet;
    diag_init(&quiet, a, NULL);
    source_file *again = source_from_string(a, src->path, p.out.p, p.out.len);
    (void)parse_source(a, &quiet, again);
    fmt_tokens tk2;
    const char *bug = NULL;
    if (quiet.errors)
        bug = "the formatted text does not parse";
    else if (fmt_scan(a, &quiet, again, &tk2) != 0)
        bug = "the formatted text cannot be scanned";
    else if (!same_tokens(&tk, &tk2))
        bug = "the formatted text has different tokens";
    else if (!same_comments(&tk, &tk2))
        bug = "the formatted text lost or changed a comment";
    if (bug) {
        diag_error(d, src_loc_make(src, 1, 1), "internal error in the formatter: %s; "
                   "the file is left as it is (please report it with the file)", bug);
        fp_free(&p);
        return -1;
    }
    *out = p.out.p;
    *len = p.out.len;
    return 0;
}
