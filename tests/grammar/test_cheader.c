/* tests/grammar/test_cheader.c — reading C prototypes from headers and
 * mapping them to .dsp types (grammar/cheader.h). The good cases read
 * tests/grammar/fixtures/tools.h; each error case writes a small header of
 * its own so the test shows the input next to the diagnostic it expects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cheader.h"
#include "csource.h"

#define TOOLS "tests/grammar/fixtures/tools.h"

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp-cheader-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to tmpdir/name and returns the path (static buffer). */
static const char *header(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static ch_prototype find_ok(const char *path, const char *func)
{
    ch_prototype p;
    ch_diag d;
    ch_status st = ch_find_function(path, func, &p, &d);
    if (st != CH_OK) fail_msg("%s: %s", func, d.text);
    return p;
}

static void expect_param(const ch_prototype *p, size_t i, const char *name, ch_role role,
                         const char *dsp_type, const char *c_type)
{
    assert_true(i < p->n_params);
    assert_string_equal(p->params[i].name, name);
    assert_int_equal(p->params[i].role, role);
    if (role != CH_ROLE_LEN)
        assert_string_equal(ch_dsp_type(p->params[i].kind, p->params[i].elem), dsp_type);
    assert_string_equal(p->params[i].c_type, c_type);
}

/* Expects the lookup to fail with st and a diagnostic ending in `want`
 * (everything after the path, e.g. ":3:8: error: cannot map ..."). */
static void expect_error(const char *path, const char *func, ch_status st, const char *want)
{
    ch_prototype p;
    ch_diag d;
    assert_int_equal(ch_find_function(path, func, &p, &d), st);
    assert_int_equal(d.status, st);
    assert_null(p.params);
    assert_null(p.name);
    size_t pl = strlen(path);
    if (strncmp(d.text, path, pl) != 0 || strncmp(d.text + pl, want, strlen(want)) != 0)
        fail_msg("diagnostic\n  %s\ndoes not start with\n  %s%s", d.text, path, want);
}

/* ---- mapped types ---- */

static void test_scalars(void **state)
{
    (void)state;
    ch_prototype p = find_ok(TOOLS, "word_count");
    assert_string_equal(p.name, "word_count");
    assert_int_equal(p.ret_kind, CH_INT);
    assert_string_equal(p.ret_c_type, "int64_t");
    assert_int_equal(p.n_params, 1);
    expect_param(&p, 0, "text", CH_ROLE_IN, "string", "const char *");
    assert_int_equal(p.line, 20);
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "similarity");
    assert_int_equal(p.ret_kind, CH_FLOAT);
    assert_int_equal(p.n_params, 3);
    expect_param(&p, 1, "b", CH_ROLE_IN, "string", "const char *"); /* char const * */
    expect_param(&p, 2, "weight", CH_ROLE_IN, "float", "float");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "is_spam");
    assert_int_equal(p.ret_kind, CH_BOOL);
    expect_param(&p, 1, "threshold", CH_ROLE_IN, "int", "int");
    expect_param(&p, 2, "max_len", CH_ROLE_IN, "int", "long");
    expect_param(&p, 3, "seen", CH_ROLE_IN, "int", "long long");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "clamp_len");
    assert_int_equal(p.ret_kind, CH_INT);
    expect_param(&p, 0, "n", CH_ROLE_IN, "int", "size_t");
    expect_param(&p, 1, "lo", CH_ROLE_IN, "int", "int32_t");
    expect_param(&p, 2, "hi", CH_ROLE_IN, "int", "unsigned long");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "flag_of");
    assert_int_equal(p.ret_kind, CH_BOOL);
    expect_param(&p, 0, "in", CH_ROLE_IN, "bool", "_Bool");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "twice"); /* a static inline definition counts too */
    assert_int_equal(p.ret_kind, CH_INT);
    ch_prototype_free(&p);
}

static void test_string_results(void **state)
{
    (void)state;
    ch_prototype p = find_ok(TOOLS, "category_name");
    assert_int_equal(p.ret_kind, CH_STRING);
    assert_int_equal(p.ret_owned, 0);
    assert_string_equal(p.ret_c_type, "const char *");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "summarize");
    assert_int_equal(p.ret_kind, CH_STRING);
    assert_int_equal(p.ret_owned, 1);
    assert_string_equal(p.ret_c_type, "char *");
    ch_prototype_free(&p);
}

static void test_typedefs(void **state)
{
    (void)state;
    ch_prototype p = find_ok(TOOLS, "next_ticket");
    assert_int_equal(p.ret_kind, CH_INT);
    assert_string_equal(p.ret_c_type, "int64_t");
    expect_param(&p, 0, "after", CH_ROLE_IN, "int", "int64_t");
    expect_param(&p, 1, "queue", CH_ROLE_IN, "string", "const char *");
    ch_prototype_free(&p);

    /* A const typedef of a pointer makes the pointer const, as in C. */
    const char *h = header("td.h", "typedef char *str;\n"
                                   "typedef str str2;\n"
                                   "int f(const str2 s);\n"
                                   "int g(const char *const s);\n");
    expect_error(h, "f", CH_ERR_UNMAPPABLE,
                 ":3:7: error: cannot map parameter type 'char *const' (via typedef 'str2') of 'f'");
    p = find_ok(h, "g");
    expect_param(&p, 0, "s", CH_ROLE_IN, "string", "const char *const");
    ch_prototype_free(&p);
}

static void test_typedefs_from_included_headers(void **state)
{
    (void)state;
    char dir[160];
    snprintf(dir, sizeof dir, "%s/inc", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    header("inc/ids.h", "#include \"../tool.h\"\n"       /* a cycle: read once */
                        "typedef int64_t doc_id;\n"
                        "typedef struct blob blob;\n"
                        "int not_a_tool(void);\n");
    header("types.h", "#ifndef TYPES_H\n#define TYPES_H\n#include \"inc/ids.h\"\n"
                      "typedef const char *text;\n#endif\n");
    const char *h = header("tool.h", "#include <stdint.h>\n"
                                     "#include \"types.h\"\n"
                                     "#include \"missing.h\"\n"
                                     "int fetch(doc_id id, text q);\n"
                                     "int load(blob *b);\n");
    ch_prototype p = find_ok(h, "fetch");
    expect_param(&p, 0, "id", CH_ROLE_IN, "int", "int64_t");
    expect_param(&p, 1, "q", CH_ROLE_IN, "string", "const char *");
    ch_prototype_free(&p);
    expect_error(h, "load", CH_ERR_UNMAPPABLE, ":5:10: error: 'struct blob' is declared but not defined "
                 "in this header or one it includes with quotes, so dspcc cannot lay it out");
    /* Functions must be declared in the named header itself. */
    expect_error(h, "not_a_tool", CH_ERR_NOT_FOUND, ": error: no function 'not_a_tool'");
    expect_error(h, "unknown", CH_ERR_NOT_FOUND, ": error: no function 'unknown'");
}

static void test_lists_in(void **state)
{
    (void)state;
    ch_prototype p = find_ok(TOOLS, "mean");
    assert_int_equal(p.n_params, 2);
    expect_param(&p, 0, "xs", CH_ROLE_IN, "list<float>", "const double *");
    expect_param(&p, 1, "n_xs", CH_ROLE_LEN, NULL, "size_t");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "join_count");
    assert_int_equal(p.n_params, 3);
    expect_param(&p, 0, "words", CH_ROLE_IN, "list<string>", "const char *const *");
    expect_param(&p, 1, "n_words", CH_ROLE_LEN, NULL, "size_t");
    expect_param(&p, 2, "sep", CH_ROLE_IN, "string", "const char *");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "any_true");
    expect_param(&p, 0, "flags", CH_ROLE_IN, "list<bool>", "const bool *");
    expect_param(&p, 1, "flags_len", CH_ROLE_LEN, NULL, "size_t");
    expect_param(&p, 2, "names", CH_ROLE_IN, "list<string>", "const char **");
    expect_param(&p, 3, "names_count", CH_ROLE_LEN, NULL, "size_t");
    ch_prototype_free(&p);

    /* An array parameter is a pointer. */
    const char *h = header("arr.h", "int f(const char *xs[], size_t n_xs, const int64_t ys[], size_t n_ys);\n");
    p = find_ok(h, "f");
    expect_param(&p, 0, "xs", CH_ROLE_IN, "list<string>", "const char **");
    expect_param(&p, 2, "ys", CH_ROLE_IN, "list<int>", "const int64_t *");
    ch_prototype_free(&p);
}

static void test_outputs(void **state)
{
    (void)state;
    ch_prototype p = find_ok(TOOLS, "search");
    assert_int_equal(p.ret_is_status, 1);
    assert_int_equal(p.ret_kind, CH_VOID);
    assert_int_equal(p.n_params, 4);
    expect_param(&p, 0, "query", CH_ROLE_IN, "string", "const char *");
    expect_param(&p, 1, "k", CH_ROLE_IN, "int", "int64_t");
    expect_param(&p, 2, "hits", CH_ROLE_OUT, "list<string>", "char ***");
    expect_param(&p, 3, "n_hits", CH_ROLE_LEN, NULL, "size_t *");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "parse_ticket");
    assert_int_equal(p.ret_is_status, 1);
    expect_param(&p, 1, "title", CH_ROLE_OUT, "string", "char **");
    expect_param(&p, 2, "priority", CH_ROLE_OUT, "int", "int64_t *");
    expect_param(&p, 3, "score", CH_ROLE_OUT, "float", "double *");
    expect_param(&p, 4, "urgent", CH_ROLE_OUT, "bool", "bool *");
    ch_prototype_free(&p);

    p = find_ok(TOOLS, "top_ids");
    assert_int_equal(p.ret_is_status, 0);
    assert_int_equal(p.ret_kind, CH_VOID);
    expect_param(&p, 0, "ids", CH_ROLE_IN, "list<int>", "const int64_t *");
    expect_param(&p, 2, "out", CH_ROLE_OUT, "list<int>", "int64_t **");
    expect_param(&p, 3, "n_out", CH_ROLE_LEN, NULL, "size_t *");
    ch_prototype_free(&p);
}

static void test_no_parameters_and_conditionals(void **state)
{
    (void)state;
    const char *h = header("void.h", "#ifndef V_H\n#define V_H\n"
                                     "extern \"C\" {\n"
                                     "int tick(void);\n"
                                     "double now();\n"
                                     "}\n#endif\n");
    ch_prototype p = find_ok(h, "tick");
    assert_int_equal(p.n_params, 0);
    assert_int_equal(p.line, 4);
    ch_prototype_free(&p);
    p = find_ok(h, "now");
    assert_int_equal(p.n_params, 0);
    assert_int_equal(p.ret_kind, CH_FLOAT);
    ch_prototype_free(&p);

    /* The first declaration in the file wins, whatever #if branch holds it. */
    p = find_ok(TOOLS, "extra_tool");
    assert_int_equal(p.n_params, 1);
    ch_prototype_free(&p);
}

static void test_one_parse_many_lookups(void **state)
{
    (void)state;
    ch_header *h;
    ch_diag d;
    assert_int_equal(ch_header_open(TOOLS, &h, &d), CH_OK);
    const char *names[] = {"word_count", "search", "mean", "summarize"};
    for (size_t i = 0; i < 4; i++) {
        ch_prototype p;
        assert_int_equal(ch_header_find(h, names[i], &p, &d), CH_OK);
        assert_string_equal(p.name, names[i]);
        ch_prototype_free(&p);
    }
    ch_prototype p;
    assert_int_equal(ch_header_find(h, "nope", &p, &d), CH_ERR_NOT_FOUND);
    ch_header_close(h);
    ch_prototype_free(&p); /* zeroed by the failed find: safe */
}

/* ---- what cannot be mapped: each diagnostic points into the header ---- */

static void test_unmappable_in_fixture(void **state)
{
    (void)state;
    expect_error(TOOLS, "ctx_run", CH_ERR_UNMAPPABLE,
                 ":52:13: error: 'struct tool_ctx' is declared but not defined in this header or one it "
                 "includes with quotes, so dspcc cannot lay it out; define it there (its members become a "
                 ".dsp record's fields), or declare a wrapper that does not take it (an opaque handle "
                 "cannot come from .dsp)");
    expect_error(TOOLS, "unnamed", CH_ERR_UNMAPPABLE,
                 ":53:15: error: parameter 1 of 'unnamed' has no name; .dsp passes arguments by name");
    expect_error(TOOLS, "with_callback", CH_ERR_UNMAPPABLE,
                 ":54:34: error: cannot map parameter type 'int (*cb)(const char *hit)' of "
                 "'with_callback' to a .dsp type; callbacks cannot be passed from .dsp");
}

static void test_unmappable_types(void **state)
{
    (void)state;
    const char *h = header("bad.h",
        "struct foo;\n"                                   /* 1 */
        "enum color { RED };\n"                           /* 2 */
        "int f(struct foo *p);\n"                         /* 3 */
        "int g(char *buf);\n"                             /* 4 */
        "int h(char c);\n"                                /* 5 */
        "int i(long double x);\n"                         /* 6 */
        "int j(enum color c);\n"                          /* 7 */
        "int k(void *data);\n"                            /* 8 */
        "int l(my_handle h);\n"                           /* 9 */
        "int m(const char *fmt, ...);\n"                  /* 10 */
        "struct foo n(int x);\n"                          /* 11 */
        "double *o(int x);\n"                             /* 12 */
        "double p(const char *q, char **out);\n"          /* 13 */
        "int q(int ***x);\n"                              /* 14 */
        "int r(volatile int x);\n");                      /* 15 */
    expect_error(h, "f", CH_ERR_UNMAPPABLE, ":3:7: error: 'struct foo' is declared but not defined");
    expect_error(h, "g", CH_ERR_UNMAPPABLE,
                 ":4:7: error: cannot map parameter type 'char *' of 'g' to a .dsp type; use "
                 "'const char *' for an input string, or 'char **'");
    expect_error(h, "h", CH_ERR_UNMAPPABLE, ":5:7: error: cannot map parameter type 'char' of 'h' "
                 "to a .dsp type; use 'const char *' for text or 'int' for a number");
    expect_error(h, "i", CH_ERR_UNMAPPABLE, ":6:7: error: cannot map parameter type 'long double' "
                 "of 'i' to a .dsp type; use 'double'");
    expect_error(h, "j", CH_ERR_UNMAPPABLE, ":7:7: error: cannot map parameter type 'enum color' "
                 "of 'j' to a .dsp type; use 'int'");
    expect_error(h, "k", CH_ERR_UNMAPPABLE, ":8:7: error: cannot map parameter type 'void *' of "
                 "'k' to a .dsp type; an untyped pointer has no .dsp type");
    expect_error(h, "l", CH_ERR_UNMAPPABLE, ":9:7: error: cannot map parameter type 'my_handle' "
                 "of 'l' to a .dsp type; 'my_handle' is not a typedef of this header or of a header "
                 "it includes with quotes");
    expect_error(h, "m", CH_ERR_UNMAPPABLE, ":10:24: error: 'm' is variadic ('...')");
    expect_error(h, "n", CH_ERR_UNMAPPABLE, ":11:1: error: 'struct foo' is declared but not defined");
    expect_error(h, "o", CH_ERR_UNMAPPABLE, ":12:1: error: cannot map return type 'double *' of "
                 "'o' to a .dsp type; return a list through");
    expect_error(h, "p", CH_ERR_UNMAPPABLE, ":13:1: error: 'p' has output parameters, so it must "
                 "return int (a status, 0 = success) or void, not 'double'");
    expect_error(h, "q", CH_ERR_UNMAPPABLE, ":14:7: error: cannot map parameter type 'int ***' of 'q'");
    expect_error(h, "r", CH_ERR_UNMAPPABLE, ":15:7: error: cannot map parameter type "
                 "'volatile int x' of 'r' to a .dsp type; it is a volatile or atomic object");
}

/* ---- structs: .dsp records ---- */

static void expect_member(const ch_struct *st, size_t i, const char *name, const char *dsp_type,
                          const char *c_type)
{
    assert_true(i < st->n_members);
    assert_string_equal(st->members[i].name, name);
    char ty[200];
    ch_dsp_type_st(st->members[i].kind, st->members[i].elem, st->members[i].st, ty, sizeof ty);
    assert_string_equal(ty, dsp_type);
    assert_string_equal(st->members[i].c_type, c_type);
}

static void test_structs(void **state)
{
    (void)state;
    header("geo_types.h", "typedef struct { double lat; float lon; } Point;\n");
    const char *h = header("geo.h",
        "#include <stddef.h>\n"
        "#include \"geo_types.h\"\n"
        "struct place {\n"
        "    char *name; const char *kind;\n"
        "    uint8_t rank; bool open;\n"
        "    Point at;\n"
        "    double *scores; size_t n_scores;\n"
        "    Point *hops; size_t hops_len;\n"
        "    const Point *alt;\n"
        "    const char *const *tags; size_t n_tags;\n"
        "};\n"
        "typedef struct place place_t;\n"
        "double dist(const Point *a, Point b);\n"
        "int nearest(const struct place *ps, size_t n_ps, const Point *to, struct place *best);\n"
        "int route(const Point *a, Point **hops, size_t *n_hops, place_t **stop);\n"
        "Point mid(const Point *a, const Point *b);\n");
    ch_prototype p = find_ok(h, "dist");
    expect_param(&p, 0, "a", CH_ROLE_IN, "record", "const Point *");
    expect_param(&p, 1, "b", CH_ROLE_IN, "record", "Point");
    assert_int_equal(p.n_structs, 1);
    const ch_struct *pt = p.params[0].st;
    assert_ptr_equal(pt, p.params[1].st);
    assert_string_equal(pt->record, "Point");
    assert_string_equal(pt->c_name, "Point");
    assert_false(pt->tagged);
    assert_non_null(strstr(pt->file, "geo_types.h"));
    expect_member(pt, 0, "lat", "float", "double");
    expect_member(pt, 1, "lon", "float", "float");
    char sig[300];
    ch_dsp_signature(&p, sig, sizeof sig);
    assert_string_equal(sig, "dist(a: Point, b: Point) -> float");
    ch_prototype_free(&p);

    p = find_ok(h, "nearest");
    expect_param(&p, 0, "ps", CH_ROLE_IN, "list<record>", "const struct place *");
    expect_param(&p, 1, "n_ps", CH_ROLE_LEN, NULL, "size_t");
    expect_param(&p, 3, "best", CH_ROLE_OUT, "record", "struct place *");
    const ch_struct *pl = p.params[0].st;
    assert_string_equal(pl->record, "place");
    assert_string_equal(pl->c_name, "struct place");
    assert_int_equal(pl->n_members, 12);
    expect_member(pl, 0, "name", "string", "char *");
    assert_false(pl->members[0].borrowed);
    expect_member(pl, 1, "kind", "string", "const char *");
    assert_true(pl->members[1].borrowed);
    expect_member(pl, 2, "rank", "int", "uint8_t");
    expect_member(pl, 3, "open", "bool", "bool");
    expect_member(pl, 4, "at", "Point", "Point");
    expect_member(pl, 5, "scores", "list<float>", "double *");
    assert_string_equal(pl->members[5].elem_c_type, "double");
    assert_true(pl->members[6].is_count);
    expect_member(pl, 7, "hops", "list<Point>", "Point *");
    assert_string_equal(pl->members[8].name, "hops_len");
    expect_member(pl, 9, "alt", "optional<Point>", "const Point *");
    assert_true(pl->members[9].borrowed);
    expect_member(pl, 10, "tags", "list<string>", "const char *const *");
    assert_true(pl->members[10].borrowed && pl->members[10].elem_borrowed);
    ch_dsp_signature(&p, sig, sizeof sig);
    assert_string_equal(sig, "nearest(ps: list<place>, to: Point) -> (best: place)");
    ch_prototype_free(&p);

    /* Through a typedef, the record is named like the typedef. */
    p = find_ok(h, "route");
    ch_dsp_signature(&p, sig, sizeof sig);
    assert_string_equal(sig, "route(a: Point) -> (hops: list<Point>, stop: optional<place_t>)");
    assert_string_equal(p.params[3].st->c_name, "struct place");
    ch_prototype_free(&p);

    p = find_ok(h, "mid");
    assert_int_equal(p.ret_kind, CH_RECORD);
    assert_string_equal(p.ret_c_type, "Point");
    ch_prototype_free(&p);
}

static void test_structs_refused(void **state)
{
    (void)state;
    const char *h = header("sbad.h",
        "struct bits { int a : 3; };\n"                         /* 1 */
        "struct arr { char name[32]; };\n"                      /* 2 */
        "struct nocount { double *xs; };\n"                     /* 3 */
        "struct node { int v; struct node *next; };\n"          /* 4 */
        "struct pt { double x; };\n"                            /* 5 */
        "struct hasvoid { void *p; };\n"                        /* 6 */
        "int a(const struct bits *b);\n"                        /* 7 */
        "int b(const struct arr *b);\n"                         /* 8 */
        "int c(const struct nocount *b);\n"                     /* 9 */
        "int d(const struct node *b);\n"                        /* 10 */
        "struct pt *e(int x);\n"                                /* 11 */
        "int f(struct pt *ps, size_t n_ps);\n"                  /* 12 */
        "int g(const struct hasvoid *h);\n"                     /* 13 */
        "int h(struct pt ***p);\n");                            /* 14 */
    expect_error(h, "a", CH_ERR_UNMAPPABLE, ":1:15: error: struct 'struct bits' has a bit-field");
    expect_error(h, "b", CH_ERR_UNMAPPABLE, ":2:19: error: member of struct 'struct arr' is an array of fixed "
                 "size; .dsp passes text as 'char *'");
    expect_error(h, "c", CH_ERR_UNMAPPABLE, ":3:25: error: member 'xs' of struct 'struct nocount' is a pointer "
                 "('double *') without its count; a list member is followed by 'size_t n_xs;'");
    expect_error(h, "d", CH_ERR_UNMAPPABLE, ":4:34: error: struct 'node' contains itself");
    expect_error(h, "e", CH_ERR_UNMAPPABLE, ":11:1: error: cannot map return type 'struct pt *' of 'e' to a "
                 ".dsp type; return the struct by value");
    expect_error(h, "f", CH_ERR_UNMAPPABLE, ":12:7: error: parameter 'ps' of 'f' is followed by its length like "
                 "an input list, but 'struct pt *' points to writable structs; write 'const struct pt *'");
    expect_error(h, "g", CH_ERR_UNMAPPABLE, ":6:23: error: cannot map member 'p' of struct 'struct hasvoid' "
                 "(C type 'void *') to a .dsp type");
    expect_error(h, "h", CH_ERR_UNMAPPABLE, ":14:7: error: cannot map parameter type 'struct pt ***' of 'h' to a "
                 ".dsp type; a struct is passed as 'T' or 'const T *' (a record)");
}

/* A comment `optional` (or `nullable`) right after a `const T *`
 * parameter, before its comma, makes it an optional record argument;
 * after the comma it marks nothing; on anything else it is refused. */
static void test_optional_struct_argument(void **state)
{
    (void)state;
    const char *h = header("opt.h",
        "typedef struct { double x; } P;\n"                             /* 1 */
        "double a(const P *p /* optional */, const P *q);\n"            /* 2 */
        "double b(const P *p, /* optional */ const P *q);\n"            /* 3 */
        "double c(const P *p/*nullable*/);\n"                           /* 4 */
        "double d(const P *p /* optional: may be NULL */);\n"           /* 5 */
        "double e(const char *s /* optional */);\n"                     /* 6 */
        "double f(const P *ps /* optional */, size_t n_ps);\n");        /* 7 */
    ch_prototype p = find_ok(h, "a");
    expect_param(&p, 0, "p", CH_ROLE_IN, "optional<record>", "const P *");
    expect_param(&p, 1, "q", CH_ROLE_IN, "record", "const P *");
    ch_prototype_free(&p);
    p = find_ok(h, "b");
    expect_param(&p, 0, "p", CH_ROLE_IN, "record", "const P *");
    expect_param(&p, 1, "q", CH_ROLE_IN, "record", "const P *");
    ch_prototype_free(&p);
    p = find_ok(h, "c");
    expect_param(&p, 0, "p", CH_ROLE_IN, "optional<record>", "const P *");
    ch_prototype_free(&p);
    p = find_ok(h, "d"); /* only a comment that is the word alone marks */
    expect_param(&p, 0, "p", CH_ROLE_IN, "record", "const P *");
    ch_prototype_free(&p);
    expect_error(h, "e", CH_ERR_UNMAPPABLE, ":6:10: error: parameter 's' of 'e' is marked optional, but only one "
                 "struct passed as 'const T *' may be NULL (an absent optional<T>); 'const char *' is not one: "
                 "drop the mark");
    expect_error(h, "f", CH_ERR_UNMAPPABLE, ":7:10: error: parameter 'ps' of 'f' is marked optional");
}

/* `bool has_x; T x;`: the flag, then an optional scalar (protobuf-c's
 * convention); a bool not named for the member after it is a plain bool. */
static void test_optional_scalar_members(void **state)
{
    (void)state;
    const char *h = header("flags.h",
        "#include <stdbool.h>\n"
        "struct r { bool has_t; double t; bool has_n; int16_t n; bool has_ok; bool ok; bool has_z; int y; };\n"
        "int f(const struct r *r);\n");
    ch_prototype p = find_ok(h, "f");
    const ch_struct *st = p.params[0].st;
    assert_non_null(st);
    assert_int_equal(st->n_members, 8);
    expect_member(st, 0, "has_t", "bool", "bool");
    assert_true(st->members[0].is_flag);
    expect_member(st, 1, "t", "optional<float>", "double");
    assert_false(st->members[1].is_flag);
    expect_member(st, 3, "n", "optional<int>", "int16_t");
    expect_member(st, 5, "ok", "optional<bool>", "bool");
    expect_member(st, 6, "has_z", "bool", "bool");
    assert_false(st->members[6].is_flag);
    expect_member(st, 7, "y", "int", "int");
    ch_prototype_free(&p);
}

/* map<string, T>: `char **x_keys; T *x_values; size_t n_x;` in a struct;
 * `const char *const *x_keys, const T *x_values, size_t n_x` in and
 * `char ***x_keys, T **x_values, size_t *n_x` out as parameters. */
static void test_maps(void **state)
{
    (void)state;
    const char *h = header("maps.h",
        "typedef struct { double lat; double lon; } P;\n"
        "struct s { char **m_keys; int32_t *m_values; size_t n_m;\n"
        "           const char *const *c_keys; const char *const *c_values; size_t c_count; };\n"
        "int a(const char *const *w_keys, const double *w_values, size_t n_w, const struct s *s,\n"
        "      char ***at_keys, P **at_values, size_t *at_len);\n"
        "int b(const char *const *w_keys, const P *w_values, size_t w_count, char ***o_keys, char ***o_values,\n"
        "      size_t *n_o);\n"
        "int c(const char *const *w_keys, const double *w_values);\n"      /* 8 */
        "int d(char ***o_keys, int64_t *o_values, size_t *n_o);\n"        /* 9 */
        "struct t { char **m_keys; double *m_values; };\n"                /* 10 */
        "int e(const struct t *t);\n");
    ch_prototype p = find_ok(h, "a");
    assert_int_equal(p.n_params, 7);
    expect_param(&p, 0, "w", CH_ROLE_IN, "map<string, float>", "const char *const *");
    expect_param(&p, 1, "w_values", CH_ROLE_VALUES, "map<string, float>", "const double *");
    expect_param(&p, 2, "n_w", CH_ROLE_LEN, "", "size_t");
    expect_param(&p, 4, "at", CH_ROLE_OUT, "map<string, record>", "char ***");
    expect_param(&p, 5, "at_values", CH_ROLE_VALUES, "map<string, record>", "P **");
    expect_param(&p, 6, "at_len", CH_ROLE_LEN, "", "size_t *");
    assert_non_null(p.params[4].st);
    assert_string_equal(p.params[4].st->record, "P");
    const ch_struct *st = p.params[3].st;
    assert_int_equal(st->n_members, 6);
    expect_member(st, 0, "m_keys", "map<string, int>", "char **");
    assert_string_equal(st->members[0].field, "m");
    assert_true(st->members[1].is_values);
    assert_string_equal(st->members[1].elem_c_type, "int32_t");
    assert_true(st->members[2].is_count);
    expect_member(st, 3, "c_keys", "map<string, string>", "const char *const *");
    assert_true(st->members[3].borrowed && st->members[3].elem_borrowed);
    assert_true(st->members[4].borrowed && st->members[4].elem_borrowed);
    assert_string_equal(st->members[5].name, "c_count");
    char sig[300];
    ch_dsp_signature(&p, sig, sizeof sig);
    assert_string_equal(sig, "a(w: map<string, float>, s: s) -> (at: map<string, P>)");
    ch_prototype_free(&p);
    p = find_ok(h, "b");
    expect_param(&p, 0, "w", CH_ROLE_IN, "map<string, record>", "const char *const *");
    expect_param(&p, 3, "o", CH_ROLE_OUT, "map<string, string>", "char ***");
    ch_prototype_free(&p);
    expect_error(h, "c", CH_ERR_UNMAPPABLE, ":8:34: error: map parameter 'w' of 'c' must be followed by its "
                 "length, 'size_t n_w'");
    expect_error(h, "d", CH_ERR_UNMAPPABLE, ":9:23: error: parameter 'o_values' of 'd' holds the values of map "
                 "'o' the function writes, so it is 'int64_t **o_values', not 'int64_t *'");
    expect_error(h, "e", CH_ERR_UNMAPPABLE, ":10:34: error: map 'm' of struct 'struct t' needs its count right "
                 "after its values: 'size_t n_m;'");
}

static void test_list_conventions_enforced(void **state)
{
    (void)state;
    const char *h = header("lists.h",
        "int a(const char *const *xs);\n"
        "int b(const double *xs, size_t count);\n"
        "int c(char ***out, size_t n_out);\n"
        "int d(int64_t *xs, size_t n_xs);\n"
        "int e(const double *xs, int n_xs);\n");
    expect_error(h, "a", CH_ERR_UNMAPPABLE, ":1:7: error: list parameter 'xs' of 'a' must be "
                 "followed by its length, 'size_t n_xs'");
    expect_error(h, "b", CH_ERR_UNMAPPABLE, ":2:7: error: list parameter 'xs' of 'b' must be "
                 "followed by its length, 'size_t n_xs'");
    expect_error(h, "c", CH_ERR_UNMAPPABLE, ":3:7: error: output list parameter 'out' of 'c' must "
                 "be followed by 'size_t *n_out'");
    expect_error(h, "d", CH_ERR_UNMAPPABLE, ":4:7: error: parameter 'xs' of 'd' is followed by its "
                 "length like an input list, but 'int64_t *' points to writable data; write "
                 "'const int64_t *'");
    expect_error(h, "e", CH_ERR_UNMAPPABLE, ":5:7: error: list parameter 'xs' of 'e'");
}

/* ---- lookups that fail ---- */

static void test_missing_function_suggests(void **state)
{
    (void)state;
    ch_prototype p;
    ch_diag d;
    assert_int_equal(ch_find_function(TOOLS, "serch", &p, &d), CH_ERR_NOT_FOUND);
    assert_int_equal(d.line, 0);
    assert_string_equal(d.text, TOOLS ": error: no function 'serch' is declared in this header; "
                                "did you mean 'search' (line 40)?");

    assert_int_equal(ch_find_function(TOOLS, "word_cont", &p, &d), CH_ERR_NOT_FOUND);
    assert_non_null(strstr(d.message, "did you mean 'word_count' (line 20) or 'join_count' (line 36)?"));

    assert_int_equal(ch_find_function(TOOLS, "completely_unrelated_name", &p, &d), CH_ERR_NOT_FOUND);
    assert_string_equal(d.message, "no function 'completely_unrelated_name' is declared in this header");
}

static void test_names_that_are_not_functions(void **state)
{
    (void)state;
    expect_error(TOOLS, "TOOLS_VERSION", CH_ERR_NOT_FOUND,
                 ": error: 'TOOLS_VERSION' is declared at " TOOLS ":58:9 as a macro, not a function");
    expect_error(TOOLS, "tools_debug", CH_ERR_NOT_FOUND,
                 ": error: 'tools_debug' is declared at " TOOLS ":59:12 as a variable, not a function");
    expect_error(TOOLS, "ticket_id", CH_ERR_NOT_FOUND,
                 ": error: 'ticket_id' is declared at " TOOLS ":15:17 as a type, not a function");
}

static void test_missing_header(void **state)
{
    (void)state;
    ch_prototype p;
    ch_diag d;
    assert_int_equal(ch_find_function("tests/grammar/fixtures/no_such.h", "f", &p, &d), CH_ERR_IO);
    assert_string_equal(d.text, "tests/grammar/fixtures/no_such.h: error: cannot open: No such file "
                                "or directory; check the header path (it is relative to the "
                                "directory dspcc runs in)");
    assert_null(p.name);
}

static void test_syntax_error_position(void **state)
{
    (void)state;
    const char *h = header("syntax.h", "int ok(int a);\n"
                                       "int broken(const char *x;\n"
                                       "int later(void);\n");
    ch_prototype p;
    ch_diag d;
    assert_int_equal(ch_find_function(h, "ok", &p, &d), CH_ERR_SYNTAX);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 25);
    assert_non_null(strstr(d.text, "syntax.h:2:25: error: syntax error: missing ')'; dspcc reads "
                                   "headers without the preprocessor"));

    h = header("syntax2.h", "int g(void);\nenum e { A, B }\n");
    assert_int_equal(ch_find_function(h, "g", &p, &d), CH_ERR_SYNTAX);
    assert_int_equal(d.line, 2);
    assert_non_null(strstr(d.message, "syntax error: missing ';'"));

    h = header("syntax3.h", "int f(int a);\n@@@ garbage here\n");
    assert_int_equal(ch_find_function(h, "f", &p, &d), CH_ERR_SYNTAX);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 1);
    assert_non_null(strstr(d.message, "syntax error near '@@@"));
}

static void test_dsp_signatures(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"search", "search(query: string, k: int) -> (hits: list<string>)"},
        {"parse_ticket", "parse_ticket(text: string) -> (title: string, priority: int, score: float, "
                         "urgent: bool)"},
        {"top_ids", "top_ids(ids: list<int>) -> (out: list<int>)"},
        {"join_count", "join_count(words: list<string>, sep: string) -> int"},
        {"summarize", "summarize(text: string, id: int) -> string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ch_prototype p = find_ok(TOOLS, cases[i][0]);
        char buf[256];
        size_t n = ch_dsp_signature(&p, buf, sizeof buf);
        assert_string_equal(buf, cases[i][1]);
        assert_int_equal(n, strlen(cases[i][1]));
        /* Too small a buffer truncates and still says what it needed. */
        char small[8];
        assert_int_equal(ch_dsp_signature(&p, small, sizeof small), n);
        assert_int_equal(strlen(small), 7);
        ch_prototype_free(&p);
    }
    const char *h = header("none.h", "void reset(void);\n");
    ch_prototype p = find_ok(h, "reset");
    char buf[64];
    ch_dsp_signature(&p, buf, sizeof buf);
    assert_string_equal(buf, "reset() -> ()");
    ch_prototype_free(&p);
}

static void test_dsp_type_names(void **state)
{
    (void)state;
    assert_string_equal(ch_dsp_type(CH_STRING, CH_VOID), "string");
    assert_string_equal(ch_dsp_type(CH_INT, CH_VOID), "int");
    assert_string_equal(ch_dsp_type(CH_FLOAT, CH_VOID), "float");
    assert_string_equal(ch_dsp_type(CH_BOOL, CH_VOID), "bool");
    assert_string_equal(ch_dsp_type(CH_VOID, CH_VOID), "void");
    assert_string_equal(ch_dsp_type(CH_LIST, CH_STRING), "list<string>");
    assert_string_equal(ch_dsp_type(CH_LIST, CH_BOOL), "list<bool>");
}

/* ---- the parser layer: linkage guards are blanked, positions kept ---- */

static void test_linkage_guard_keeps_positions(void **state)
{
    (void)state;
    const char text[] = "#ifdef __cplusplus\n"
                        "extern \"C\" { // C++\n"
                        "#endif\n"
                        "int f(int x);\n"
                        "#if defined( __cplusplus )\n"
                        "}\n"
                        "#endif\n";
    cs_file f;
    char err[128];
    assert_int_equal(cs_open_text(&f, "g.h", text, sizeof text - 1, err, sizeof err), 0);
    TSNode where;
    char msg[128];
    assert_int_equal(cs_first_syntax_error(&f, &where, msg, sizeof msg), 0);
    assert_int_equal(strlen(f.text), sizeof text - 1);
    assert_memory_equal(f.text + 46, "int f(int x);", 13); /* line 4 untouched */
    cs_close(&f);

    /* A guard with anything else inside is real code and stays. */
    const char other[] = "#ifdef __cplusplus\nint g(void);\n#endif\n";
    assert_int_equal(cs_open_text(&f, "o.h", other, sizeof other - 1, err, sizeof err), 0);
    assert_non_null(strstr(f.text, "int g(void);"));
    cs_close(&f);
}

/* ---- bad input: a clear error, never a crash ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Truncations and byte flips of the fixture: every lookup returns a status,
 * and every failure comes with a message. ASan checks the memory side. */
static void test_mutated_headers_never_crash(void **state)
{
    (void)state;
    size_t len;
    char *orig = slurp(TOOLS, &len);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    const char *names[] = {"search", "mean", "ctx_run", "serch", "ticket_id", "twice"};
    unsigned seed = 12345;
    int failures = 0, successes = 0;
    for (int round = 0; round < 300; round++) {
        size_t n = len;
        memcpy(buf, orig, len);
        if (round % 3 == 0) {
            n = (size_t)round * 7 % len; /* truncated */
        } else {
            for (int k = 0; k < 1 + round % 5; k++) { /* a few bytes replaced */
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % len;
                seed = seed * 1103515245u + 12345u;
                buf[at] = "(){};,*\"\\ \nab#/"[(seed >> 8) % 16];
            }
        }
        const char *path = header("mutant.h", "");
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(buf, 1, n, f);
        fclose(f);
        ch_header *h;
        ch_diag d;
        ch_status st = ch_header_open(path, &h, &d);
        if (st != CH_OK) {
            assert_null(h);
            assert_true(d.message[0] != '\0');
            failures++;
            continue;
        }
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            ch_prototype p;
            st = ch_header_find(h, names[i], &p, &d);
            if (st == CH_OK) {
                assert_string_equal(p.name, names[i]);
                successes++;
            } else {
                assert_true(d.message[0] != '\0');
                assert_int_equal(d.status, st);
                failures++;
            }
            ch_prototype_free(&p);
        }
        ch_header_close(h);
    }
    assert_true(successes > 0);
    assert_true(failures > 0);
    free(buf);
    free(orig);
}

/* Deep nesting must not exhaust the stack of the checks that walk the tree. */
static void test_deeply_nested_header(void **state)
{
    (void)state;
    size_t depth = 50000;
    char *text = malloc(2 * depth + 64);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "int f(int x);\nint g = ");
    memset(text + n, '(', depth);
    n += depth;
    n += (size_t)sprintf(text + n, "1");
    memset(text + n, ')', depth);
    n += depth;
    strcpy(text + n, ";\n");
    const char *path = header("deep.h", text);
    free(text);
    ch_prototype p;
    ch_diag d;
    assert_int_equal(ch_find_function(path, "f", &p, &d), CH_OK);
    ch_prototype_free(&p);
    assert_int_equal(ch_find_function(path, "g", &p, &d), CH_ERR_NOT_FOUND);
    assert_non_null(strstr(d.message, "as a variable"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_string_results),
        cmocka_unit_test(test_typedefs),
        cmocka_unit_test(test_typedefs_from_included_headers),
        cmocka_unit_test(test_lists_in),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_no_parameters_and_conditionals),
        cmocka_unit_test(test_one_parse_many_lookups),
        cmocka_unit_test(test_unmappable_in_fixture),
        cmocka_unit_test(test_unmappable_types),
        cmocka_unit_test(test_structs),
        cmocka_unit_test(test_structs_refused),
        cmocka_unit_test(test_optional_struct_argument),
        cmocka_unit_test(test_optional_scalar_members),
        cmocka_unit_test(test_maps),
        cmocka_unit_test(test_list_conventions_enforced),
        cmocka_unit_test(test_missing_function_suggests),
        cmocka_unit_test(test_names_that_are_not_functions),
        cmocka_unit_test(test_missing_header),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_dsp_signatures),
        cmocka_unit_test(test_dsp_type_names),
        cmocka_unit_test(test_linkage_guard_keeps_positions),
        cmocka_unit_test(test_mutated_headers_never_crash),
        cmocka_unit_test(test_deeply_nested_header),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
