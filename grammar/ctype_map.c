/* grammar/ctype_map.c — normalizing C types from tree-sitter-c nodes and
 * sorting them into the shapes of the .dsp mapping (docs/c-headers.md). */
#include "ctype_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define S(t, cls) { #t, cls, sizeof(t) }

/* The integer types convert from the .dsp int (int64_t) with a range check
 * in the generated call. */
static const ch_scalar scalars[] = {
    S(int, CH_SIGNED), S(short, CH_SIGNED), S(long, CH_SIGNED), S(long long, CH_SIGNED),
    S(unsigned int, CH_UNSIGNED), S(unsigned short, CH_UNSIGNED), S(unsigned long, CH_UNSIGNED),
    S(unsigned long long, CH_UNSIGNED),
    S(int8_t, CH_SIGNED), S(int16_t, CH_SIGNED), S(int32_t, CH_SIGNED), S(int64_t, CH_SIGNED),
    S(uint8_t, CH_UNSIGNED), S(uint16_t, CH_UNSIGNED), S(uint32_t, CH_UNSIGNED), S(uint64_t, CH_UNSIGNED),
    S(size_t, CH_UNSIGNED), S(ssize_t, CH_SIGNED), S(ptrdiff_t, CH_SIGNED), S(intptr_t, CH_SIGNED),
    S(uintptr_t, CH_UNSIGNED), S(intmax_t, CH_SIGNED), S(uintmax_t, CH_UNSIGNED),
    S(double, CH_FLOATING), S(float, CH_FLOATING), S(bool, CH_BOOLEAN), S(_Bool, CH_BOOLEAN),
};

#undef S

const ch_scalar *ch_scalar_find(const char *c_type)
{
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        if (strcmp(c_type, scalars[i].name) == 0) return &scalars[i];
    return NULL;
}

ch_kind cm_scalar_kind(const cm_type *t)
{
    const ch_scalar *s = ch_scalar_find(t->base);
    if (!s) return CH_VOID;
    return s->cls == CH_FLOATING ? CH_FLOAT : s->cls == CH_BOOLEAN ? CH_BOOL : CH_INT;
}

static int is_builtin_name(const char *s)
{
    return ch_scalar_find(s) || strcmp(s, "char") == 0 || strcmp(s, "void") == 0;
}

/* Copies a node's text with runs of white space folded to one space. */
static void node_text_folded(const cs_file *f, TSNode n, char *buf, size_t cap)
{
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    size_t o = 0;
    int space = 0;
    for (uint32_t i = a; i < b && i < f->len && o + 1 < cap; i++) {
        char c = f->text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap) buf[o++] = ' ';
        space = 0;
        buf[o++] = c;
    }
    buf[o] = '\0';
}

/* `unsigned long int` -> "unsigned long"; `long double` -> "long double". */
static void normalize_sized(const char *text, char *out, size_t cap)
{
    int is_unsigned = 0, longs = 0, is_short = 0;
    char base[64] = "";
    char word[64];
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        size_t n = 0;
        while (*p && *p != ' ' && n + 1 < sizeof word) word[n++] = *p++;
        word[n] = '\0';
        if (n == 0) break;
        if (strcmp(word, "unsigned") == 0) is_unsigned = 1;
        else if (strcmp(word, "signed") == 0) continue;
        else if (strcmp(word, "long") == 0) longs++;
        else if (strcmp(word, "short") == 0) is_short = 1;
        else snprintf(base, sizeof base, "%s", word);
    }
    if (strcmp(base, "double") == 0) {
        snprintf(out, cap, "%s", longs ? "long double" : "double");
        return;
    }
    if (strcmp(base, "char") == 0) {
        snprintf(out, cap, "%s char", is_unsigned ? "unsigned" : "signed");
        return;
    }
    if (base[0] && strcmp(base, "int") != 0) { /* something unexpected: keep it */
        snprintf(out, cap, "%s", text);
        return;
    }
    const char *size = is_short ? "short" : longs >= 2 ? "long long" : longs == 1 ? "long" : "int";
    snprintf(out, cap, "%s%s", is_unsigned ? "unsigned " : "", size);
}

static void build(const cs_file *f, TSNode decl, TSNode declarator, TSNode stop,
                  const cm_lookup *lk, cm_type *t, int depth);

static void base_type(const cs_file *f, TSNode type, const cm_lookup *lk, cm_type *t, int depth)
{
    char text[128];
    if (ts_node_is_null(type)) {
        snprintf(t->base, sizeof t->base, "int"); /* implicit int: old C */
        t->problem = "a declaration without a type";
        return;
    }
    node_text_folded(f, type, text, sizeof text);
    const char *kind = ts_node_type(type);
    if (strcmp(kind, "sized_type_specifier") == 0) {
        normalize_sized(text, t->base, sizeof t->base);
        return;
    }
    if (strcmp(kind, "struct_specifier") == 0 || strcmp(kind, "union_specifier") == 0 ||
        strcmp(kind, "enum_specifier") == 0) {
        TSNode name = ts_node_child_by_field_name(type, "name", 4);
        const char *kw = kind[0] == 's' ? "struct" : kind[0] == 'u' ? "union" : "enum";
        if (kind[0] == 's' && kind[1] == 't') {
            t->spec = type;
            t->spec_file = f;
        }
        if (ts_node_is_null(name)) {
            snprintf(t->base, sizeof t->base, "%s {...}", kw);
        } else {
            char nm[100];
            node_text_folded(f, name, nm, sizeof nm);
            snprintf(t->base, sizeof t->base, "%s %s", kw, nm);
        }
        return;
    }
    snprintf(t->base, sizeof t->base, "%s", text);
    if (strcmp(kind, "type_identifier") == 0 || strcmp(kind, "primitive_type") == 0) {
        TSNode tdecl, tdeclarator;
        const cs_file *tfile;
        if (strcmp(kind, "type_identifier") == 0 && lk && depth < 16 &&
            lk->find(lk->ctx, text, &tfile, &tdecl, &tdeclarator)) {
            cm_type inner;
            build(tfile, tdecl, tdeclarator, (TSNode){0}, lk, &inner, depth + 1);
            char spelling[CM_TYPE_TEXT];
            memcpy(spelling, t->spelling, sizeof spelling);
            *t = inner;
            memcpy(t->spelling, spelling, sizeof spelling);
            snprintf(t->typedef_name, sizeof t->typedef_name, "%s", text);
            return;
        }
        if (strcmp(kind, "type_identifier") == 0 && !is_builtin_name(text)) t->unknown_name = 1;
        return;
    }
    t->problem = "a macro or unusual type";
}

static void add_level(cm_type *t, TSNode ptr, const cs_file *f)
{
    if (t->nptr >= CM_MAX_PTR) {
        t->problem = "too many pointer levels";
        return;
    }
    t->nptr++;
    if (ts_node_is_null(ptr)) return;
    uint32_t n = ts_node_named_child_count(ptr);
    for (uint32_t i = 0; i < n; i++) {
        TSNode q = ts_node_named_child(ptr, i);
        if (!cs_is(q, "type_qualifier")) continue;
        if (cs_node_text_is(f, q, "const")) t->ptr_const |= 1u << (t->nptr - 1);
        else if (cs_node_text_is(f, q, "volatile") || cs_node_text_is(f, q, "_Atomic"))
            t->problem = "a volatile or atomic pointer";
    }
}

static void build(const cs_file *f, TSNode decl, TSNode declarator, TSNode stop,
                  const cm_lookup *lk, cm_type *t, int depth)
{
    memset(t, 0, sizeof *t);
    if (cs_is(decl, "parameter_declaration")) node_text_folded(f, decl, t->spelling, sizeof t->spelling);
    base_type(f, ts_node_child_by_field_name(decl, "type", 4), lk, t, depth);

    /* Qualifiers of the declaration qualify the base; through a typedef of a
     * pointer, `const` qualifies that pointer (`const str s` is `char *const`). */
    uint32_t nq = ts_node_named_child_count(decl);
    for (uint32_t i = 0; i < nq; i++) {
        TSNode q = ts_node_named_child(decl, i);
        if (!cs_is(q, "type_qualifier")) continue;
        if (cs_node_text_is(f, q, "const")) {
            if (t->nptr > 0) t->ptr_const |= 1u << (t->nptr - 1);
            else t->base_const = 1;
        } else if (cs_node_text_is(f, q, "volatile") || cs_node_text_is(f, q, "_Atomic")) {
            t->problem = "a volatile or atomic object";
        }
    }

    TSNode n = declarator;
    for (int guard = 0; !ts_node_is_null(n) && guard < 1000; guard++) {
        if (!ts_node_is_null(stop) && ts_node_eq(n, stop)) break;
        const char *k = ts_node_type(n);
        if (strcmp(k, "pointer_declarator") == 0 || strcmp(k, "abstract_pointer_declarator") == 0) {
            add_level(t, n, f);
            n = ts_node_child_by_field_name(n, "declarator", 10);
        } else if (strcmp(k, "array_declarator") == 0 || strcmp(k, "abstract_array_declarator") == 0) {
            /* A parameter `T xs[]` is `T *xs`. */
            add_level(t, (TSNode){0}, f);
            n = ts_node_child_by_field_name(n, "declarator", 10);
        } else if (strcmp(k, "function_declarator") == 0 ||
                   strcmp(k, "abstract_function_declarator") == 0) {
            t->problem = "a function pointer";
            break;
        } else if (strcmp(k, "parenthesized_declarator") == 0 ||
                   strcmp(k, "abstract_parenthesized_declarator") == 0 ||
                   strcmp(k, "attributed_declarator") == 0) {
            n = ts_node_named_child(n, 0);
        } else if (strcmp(k, "init_declarator") == 0) {
            n = ts_node_child_by_field_name(n, "declarator", 10);
        } else {
            break; /* the name */
        }
    }
}

void cm_build(const cs_file *f, TSNode decl, TSNode declarator, TSNode stop,
              const cm_lookup *lk, cm_type *out)
{
    build(f, decl, declarator, stop, lk, out, 0);
}

int cm_is_struct(const cm_type *t)
{
    return !ts_node_is_null(t->spec);
}

cm_shape cm_classify(const cm_type *t)
{
    if (t->problem || t->unknown_name) return CM_BAD;
    /* Consts on the inner pointer levels (not the parameter itself). */
    unsigned inner = t->nptr > 1 ? t->ptr_const & ((1u << (t->nptr - 1)) - 1) : 0;
    if (cm_is_struct(t)) {
        switch (t->nptr) {
        case 0: return CM_STRUCT;
        case 1: return t->base_const ? CM_STRUCT_IN : CM_STRUCT_OUT;
        case 2: return !t->base_const && !inner ? CM_STRUCT_PTR_OUT : CM_BAD;
        default: return CM_BAD;
        }
    }
    if (strcmp(t->base, "void") == 0) return t->nptr == 0 ? CM_VOID : CM_BAD;
    if (strcmp(t->base, "char") == 0) {
        switch (t->nptr) {
        case 1: return t->base_const ? CM_STR_IN : CM_STR_MUT;
        case 2: return t->base_const ? CM_STR_LIST_IN : inner ? CM_BAD : CM_STR_OUT;
        case 3: return !t->base_const && !inner ? CM_STR_LIST_OUT : CM_BAD;
        default: return CM_BAD;
        }
    }
    if (cm_scalar_kind(t) == CH_VOID) return CM_BAD;
    switch (t->nptr) {
    case 0: return CM_SCALAR;
    case 1: return t->base_const ? CM_SCALAR_LIST_IN : CM_SCALAR_OUT;
    case 2: return !t->base_const && !inner ? CM_SCALAR_LIST_OUT : CM_BAD;
    default: return CM_BAD;
    }
}

int cm_is_size(const cm_type *t, int pointer)
{
    if (t->problem || strcmp(t->base, "size_t") != 0) return 0;
    return pointer ? t->nptr == 1 && !t->base_const : t->nptr == 0;
}

void cm_format(const cm_type *t, char *buf, size_t cap)
{
    if (t->problem && t->spelling[0]) {
        snprintf(buf, cap, "%s", t->spelling);
        return;
    }
    size_t o = 0;
    int w = snprintf(buf, cap, "%s%s%s", t->base_const ? "const " : "", t->base, t->nptr ? " " : "");
    if (w < 0 || (size_t)w >= cap) return;
    o = (size_t)w;
    for (int i = 0; i < t->nptr && o + 8 < cap; i++) {
        buf[o++] = '*';
        if (t->ptr_const & (1u << i)) {
            memcpy(buf + o, "const", 5);
            o += 5;
            if (i + 1 < t->nptr) buf[o++] = ' ';
        }
    }
    buf[o] = '\0';
}

void cm_hint(const cm_type *t, char *buf, size_t cap)
{
    const char *b = t->base;
    if (t->problem && strcmp(t->problem, "a function pointer") == 0)
        snprintf(buf, cap, "callbacks cannot be passed from .dsp; declare a wrapper without one");
    else if (t->problem)
        snprintf(buf, cap, "it is %s; use const char *, an integer type, double, bool or a list "
                 "(see docs/c-headers.md)", t->problem);
    else if (t->unknown_name)
        snprintf(buf, cap, "'%s' is not a typedef of this header or of a header it includes with "
                 "quotes; declare it with its underlying type (const char *, an integer type, "
                 "double, bool)", b);
    else if (strncmp(b, "struct ", 7) == 0 || strncmp(b, "union ", 6) == 0)
        snprintf(buf, cap, "a struct is passed as 'T' or 'const T *' (a record), 'const T *xs, size_t n_xs' "
                 "(a list), and comes back by value, through 'T *out', 'T **out, size_t *n_out' (a list) "
                 "or 'T **out' (an optional record); unions are not passed (see docs/c-headers.md)");
    else if (strncmp(b, "enum ", 5) == 0)
        snprintf(buf, cap, "use 'int' (the .dsp value is an integer)");
    else if (strcmp(b, "char") == 0 && t->nptr == 1)
        snprintf(buf, cap, "use 'const char *' for an input string, or 'char **' for a string the "
                 "function allocates with malloc and returns");
    else if ((strcmp(b, "char") == 0 || strstr(b, " char")) && t->nptr == 0)
        snprintf(buf, cap, "use 'const char *' for text or 'int' for a number");
    else if (strcmp(b, "long double") == 0)
        snprintf(buf, cap, "use 'double'");
    else if (strcmp(b, "void") == 0)
        snprintf(buf, cap, "an untyped pointer has no .dsp type; use 'const char *' for text or "
                 "'const T *xs, size_t n_xs' for a list");
    else
        snprintf(buf, cap, "use const char *, an integer type, double, bool or a list "
                 "(see docs/c-headers.md)");
}
