/* ast.c — small helpers over the syntax tree. */
#include "ast.h"

#include <string.h>

ast_cdecl *ast_cdecl_from_words(arena *a, diag *d, const ptr_vec *words, src_loc loc)
{
    if (words->len == 0) {
        diag_error(d, loc, "expected a C declaration");
        return NULL;
    }
    ast_cword *last = words->items[words->len - 1];
    if (strcmp(last->text, "*") == 0 || words->len < 2) {
        diag_error(d, last->loc,
                   "C declaration `%s` has no name; write the type then the name, "
                   "e.g. `const char *query`", last->text);
        return NULL;
    }
    size_t cap = 1;
    for (size_t i = 0; i + 1 < words->len; i++)
        cap += strlen(((ast_cword *)words->items[i])->text) + 2;
    char *type = arena_alloc(a, cap);
    size_t n = 0;
    for (size_t i = 0; i + 1 < words->len; i++) {
        const char *w = ((ast_cword *)words->items[i])->text;
        int star = strcmp(w, "*") == 0;
        int prev_star = n > 0 && type[n - 1] == '*';
        /* "char*" and "char **" both normalize to "char *" / "char **". */
        if (n > 0 && !(star && prev_star))
            type[n++] = ' ';
        size_t wl = strlen(w);
        memcpy(type + n, w, wl);
        n += wl;
    }
    type[n] = '\0';
    ast_cdecl *c = arena_alloc(a, sizeof *c);
    c->ctype = type;
    c->name.name = last->text;
    c->name.loc = last->loc;
    c->loc = loc;
    return c;
}

const char *ast_op_text(ast_op op)
{
    switch (op) {
    case OP_OR: return "or";
    case OP_AND: return "and";
    case OP_NOT: return "not";
    case OP_EQ: return "==";
    case OP_NE: return "!=";
    case OP_LT: return "<";
    case OP_LE: return "<=";
    case OP_GT: return ">";
    case OP_GE: return ">=";
    case OP_IN: return "in";
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    case OP_NEG: return "-";
    default: return "?";
    }
}
