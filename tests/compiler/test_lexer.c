/* test_lexer.c — the flex scanner: tokens, locations, literals, comments,
 * and the errors it reports instead of crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "parser.h"
#include "lexer.h"

typedef struct lexed {
    arena a;
    diag d;
    ast_file file;
    parse_ctx pc;
    yyscan_t scanner;
    YY_BUFFER_STATE buf;
} lexed;

static lexed *lex_open(const char *text, size_t len)
{
    lexed *l = calloc(1, sizeof *l);
    arena_init(&l->a);
    diag_init(&l->d, &l->a, NULL);
    source_file *src = source_from_string(&l->a, "t.dsp", text, len);
    l->pc = (parse_ctx){ .arena = &l->a, .diag = &l->d, .file = src, .ast = &l->file,
                         .line = 1, .col = 1 };
    assert_int_equal(dsp_yylex_init_extra(&l->pc, &l->scanner), 0);
    l->buf = dsp_yy_scan_bytes(src->text, (int)src->len, l->scanner);
    return l;
}

static int next(lexed *l, YYSTYPE *v, YYLTYPE *loc)
{
    return dsp_yylex(v, loc, l->scanner);
}

static void lex_close(lexed *l)
{
    dsp_yy_delete_buffer(l->buf, l->scanner);
    dsp_yylex_destroy(l->scanner);
    arena_free(&l->a);
    free(l);
}

static const char *first_error(lexed *l)
{
    return l->d.msgs.len ? ((diag_msg *)l->d.msgs.items[0])->line : "";
}

static void test_keywords_identifiers_punctuation(void **state)
{
    (void)state;
    const char *src = "signature Foo_1 { in x: list<string> } -> == != <= >= module";
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    int want[] = { SIGNATURE, IDENT, '{', IN, IDENT, ':', IDENT, '<', IDENT, '>', '}',
                   ARROW, EQ, NE, LE, GE, MODULE, 0 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int t = next(l, &v, &loc);
        assert_int_equal(t, want[i]);
        if (i == 1)
            assert_string_equal(v.str, "Foo_1");
    }
    assert_int_equal(l->d.errors, 0);
    lex_close(l);
}

static void test_locations_are_line_and_column(void **state)
{
    (void)state;
    const char *src = "lm\n  teacher =\n\t\"x\"";
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    assert_int_equal(next(l, &v, &loc), LM);
    assert_int_equal(loc.first_line, 1);
    assert_int_equal(loc.first_column, 1);
    assert_int_equal(next(l, &v, &loc), IDENT);
    assert_int_equal(loc.first_line, 2);
    assert_int_equal(loc.first_column, 3);
    assert_int_equal(next(l, &v, &loc), '=');
    assert_int_equal(loc.first_column, 11);
    assert_int_equal(next(l, &v, &loc), STRING);
    assert_int_equal(loc.first_line, 3);
    assert_int_equal(loc.first_column, 2);  /* a tab is one byte */
    lex_close(l);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *src = "42 0.25 1e3 99999999999999999999";
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    assert_int_equal(next(l, &v, &loc), INT);
    assert_int_equal(v.ival, 42);
    assert_int_equal(next(l, &v, &loc), FLOAT);
    assert_true(v.fval == 0.25);
    assert_int_equal(next(l, &v, &loc), FLOAT);
    assert_true(v.fval == 1000.0);
    assert_int_equal(l->d.errors, 0);
    assert_int_equal(next(l, &v, &loc), INT);
    assert_int_equal(l->d.errors, 1);
    assert_non_null(strstr(first_error(l), "too large"));
    lex_close(l);
}

static void test_string_escapes_and_utf8(void **state)
{
    (void)state;
    const char *src = "\"a\\tb\\n\\\"q\\\" \\\\ caf\xc3\xa9\"";
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    assert_int_equal(next(l, &v, &loc), STRING);
    assert_string_equal(v.str, "a\tb\n\"q\" \\ caf\xc3\xa9");
    assert_int_equal(l->d.errors, 0);
    lex_close(l);
}

static void test_invalid_utf8_in_string_is_an_error(void **state)
{
    (void)state;
    const char *src = "\"ok \xc3\x28 \xed\xa0\x80\"";  /* bad continuation; a surrogate */
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    assert_int_equal(next(l, &v, &loc), STRING);
    assert_true(l->d.errors >= 2);
    assert_string_equal(first_error(l), "t.dsp:1:5: error: invalid UTF-8 byte 0xc3 in string literal");
    lex_close(l);
}

static void test_comments_are_recorded_with_locations(void **state)
{
    (void)state;
    const char *src = "// first\nlm /* inner\n still */ x";
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    assert_int_equal(next(l, &v, &loc), LM);
    assert_int_equal(next(l, &v, &loc), IDENT);
    assert_int_equal(loc.first_line, 3);
    assert_int_equal(next(l, &v, &loc), 0);
    assert_int_equal(l->file.comments.len, 2);
    ast_comment *c0 = l->file.comments.items[0], *c1 = l->file.comments.items[1];
    assert_string_equal(c0->text, "// first");
    assert_int_equal(c0->is_block, 0);
    assert_int_equal(c0->loc.line, 1);
    assert_string_equal(c1->text, "/* inner\n still */");
    assert_int_equal(c1->is_block, 1);
    assert_int_equal(c1->loc.line, 2);
    assert_int_equal(c1->loc.col, 4);
    lex_close(l);
}

static void test_unterminated_comment_and_string(void **state)
{
    (void)state;
    const char *src = "\"open\nlm /* never closed";
    lexed *l = lex_open(src, strlen(src));
    YYSTYPE v;
    YYLTYPE loc;
    assert_int_equal(next(l, &v, &loc), STRING);
    assert_string_equal(first_error(l), "t.dsp:1:1: error: unterminated string; close it with `\"` on the same line");
    assert_int_equal(next(l, &v, &loc), LM);
    assert_int_equal(next(l, &v, &loc), 0);  /* stops at the comment */
    assert_int_equal(l->d.errors, 2);
    lex_close(l);
}

static void test_bad_bytes_and_nul(void **state)
{
    (void)state;
    const char src[] = "lm @ \x01 \xff \0 x";
    lexed *l = lex_open(src, sizeof src - 1);
    YYSTYPE v;
    YYLTYPE loc;
    int t, n = 0;
    while ((t = next(l, &v, &loc)) != 0)
        n++;
    assert_int_equal(n, 2);  /* lm, x */
    assert_int_equal(l->d.errors, 4);
    assert_string_equal(first_error(l), "t.dsp:1:4: error: unexpected character `@`");
    lex_close(l);
}

/* A pasted markdown fence or a word in another script is one mistake: one
 * error each, at the start of the run, not one per byte. */
static void test_runs_of_bad_bytes_are_one_error(void **state)
{
    (void)state;
    const char src[] = "```\nlm caf\xc3\xa9\xc3\xa9 ;; !";
    lexed *l = lex_open(src, sizeof src - 1);
    YYSTYPE v;
    YYLTYPE loc;
    int t, n = 0;
    while ((t = next(l, &v, &loc)) != 0)
        n++;
    assert_int_equal(n, 2);  /* lm, caf */
    assert_int_equal(l->d.errors, 4);
    assert_string_equal(first_error(l), "t.dsp:1:1: error: unexpected ```; .dsp has no backquotes "
                                        "(a Markdown code fence? remove it)");
    lex_close(l);
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    char src[PARSE_MAX_NESTING + 10];
    memset(src, '(', sizeof src);
    lexed *l = lex_open(src, sizeof src);
    YYSTYPE v;
    YYLTYPE loc;
    int n = 0;
    while (next(l, &v, &loc) != 0)
        n++;
    assert_int_equal(n, PARSE_MAX_NESTING);
    assert_int_equal(l->d.errors, 1);
    lex_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords_identifiers_punctuation),
        cmocka_unit_test(test_locations_are_line_and_column),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_string_escapes_and_utf8),
        cmocka_unit_test(test_invalid_utf8_in_string_is_an_error),
        cmocka_unit_test(test_comments_are_recorded_with_locations),
        cmocka_unit_test(test_unterminated_comment_and_string),
        cmocka_unit_test(test_bad_bytes_and_nul),
        cmocka_unit_test(test_runs_of_bad_bytes_are_one_error),
        cmocka_unit_test(test_nesting_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
