/* test_cg_text.c — the C backend's escapers and names: any bytes become a
 * valid C literal (split for review, pooled past C17's literal limit, no
 * trigraphs), comment text cannot end a comment, names become identifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"

typedef struct fx {
    arena a;
    cg_ctx g;
    strbuf b;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    arena_init(&f->a);
    f->g.a = &f->a;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    sb_free(&f->b);
    sb_free(&f->g.pool);
    arena_free(&f->a);
    free(f);
    return 0;
}

static void test_escapes(void **state)
{
    fx *f = *state;
    const char s[] = "q\"b\\n\n\t\x01\x7f\xff?x?\?=?\?\?";
    cg_cstr(&f->g, &f->b, s, sizeof s - 1, 4);
    assert_string_equal(f->b.p, "\"q\\\"b\\\\n\\n\"\n    \"\\t\\001\\177\\377?x?\\?=?\\?\\?\"");
}

static void test_digits_after_octal_escape(void **state)
{
    fx *f = *state;
    /* "\001" then "7": a short octal escape would swallow the digit */
    cg_cstr(&f->g, &f->b, "\x01" "7", 2, 0);
    assert_string_equal(f->b.p, "\"\\0017\"");
}

static void test_long_lines_split(void **state)
{
    fx *f = *state;
    char s[300];
    memset(s, 'a', sizeof s);
    cg_cstr(&f->g, &f->b, s, sizeof s, 2);
    size_t lines = 1, longest = 0, cur = 0;
    for (const char *p = f->b.p; *p; p++) {
        if (*p == '\n') {
            lines++;
            cur = 0;
        } else if (++cur > longest) {
            longest = cur;
        }
    }
    assert_true(lines >= 4);
    assert_true(longest <= 80);
    assert_int_equal(f->g.n_pool, 0);
}

static void test_past_c17_limit_goes_to_the_pool(void **state)
{
    fx *f = *state;
    size_t n = 5000;
    char *s = malloc(n);
    assert_non_null(s);
    memset(s, 'z', n);
    s[10] = '\0'; /* bytes, not a C string: the array keeps them all */
    cg_cstr(&f->g, &f->b, s, n, 0);
    free(s);
    assert_string_equal(f->b.p, "k_str_0");
    assert_int_equal(f->g.n_pool, 1);
    assert_non_null(strstr(f->g.pool.p, "static const char k_str_0[5001] = {"));
    assert_non_null(strstr(f->g.pool.p, " 122, 0,"));
}

static void test_comment_text_cannot_escape(void **state)
{
    fx *f = *state;
    cg_comment_text(&f->b, "end */ start /* ?\?= back\\\nnext\x01\xc3\xa9", " * ");
    assert_null(strstr(f->b.p, "*/"));
    assert_null(strstr(f->b.p, "/*"));
    assert_null(strstr(f->b.p, "??"));
    assert_null(strstr(f->b.p, "\\\n"));
    assert_non_null(strstr(f->b.p, "\n * next"));
    for (const unsigned char *p = (const unsigned char *)f->b.p; *p; p++)
        assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
}

static void test_names(void **state)
{
    fx *f = *state;
    assert_string_equal(cg_snake(&f->a, "TicketClassifier"), "ticket_classifier");
    assert_string_equal(cg_snake(&f->a, "HTTPServer"), "http_server");
    assert_string_equal(cg_snake(&f->a, "MultiHop"), "multi_hop");
    assert_string_equal(cg_snake(&f->a, "already_snake"), "already_snake");
    assert_string_equal(cg_ident(&f->a, "a-b.c", 1), "A_B_C");
    assert_string_equal(cg_ident(&f->a, "9lives", 0), "_9lives");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digits_after_octal_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_past_c17_limit_goes_to_the_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comment_text_cannot_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
