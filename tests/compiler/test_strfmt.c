/* test_strfmt.c — the compiler's formatter writes what vsnprintf writes:
 * every conversion it handles itself (%s, %.*s, %c, %%, %d/%i/%u with l,
 * ll and z, at their limits), those it leaves to vsnprintf (widths, flags,
 * floats, hex, NULL strings), truncation at any buffer size, and
 * sb_printf/arena_printf past their stack buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "strbuf.h"
#include "strfmt.h"

/* Formats with both at every buffer size up to the text's and beyond. */
static void same(const char *fmt, ...)
{
    char want[600], got[600];
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int nw = vsnprintf(want, sizeof want, fmt, ap);
    int ng = strfmt_v(got, sizeof got, fmt, aq);
    va_end(aq);
    va_end(ap);
    assert_int_equal(ng, nw);
    assert_string_equal(got, want);
    for (size_t cap = 0; cap <= (size_t)nw + 1; cap++) {
        char a[600], b[600];
        memset(a, 'x', sizeof a);
        memset(b, 'x', sizeof b);
        va_start(ap, fmt);
        va_copy(aq, ap);
        assert_int_equal(strfmt_v(b, cap, fmt, aq), vsnprintf(a, cap, fmt, ap));
        va_end(aq);
        va_end(ap);
        assert_memory_equal(a, b, sizeof a);
    }
}

static void test_handled_conversions(void **state)
{
    (void)state;
    same("");
    same("plain text, no conversion");
    same("%s and %s", "one", "");
    same("100%% sure, %c%c", 'o', 'k');
    same("%.*s|%.*s|%.*s", 3, "abcdef", 0, "abc", 10, "ab");
    same("%d %i %d %d", 0, -7, INT_MAX, INT_MIN);
    same("%u %u", 0u, UINT_MAX);
    same("%ld %lu %ld", LONG_MIN, ULONG_MAX, 42L);
    same("%lld %llu %lld", LLONG_MIN, ULLONG_MAX, LLONG_MAX);
    same("%zu %zu %zd", (size_t)0, SIZE_MAX, (ptrdiff_t)-5);
    same("static const char *const %s_d%zu_in[%zu] = {\n", "k_p12", (size_t)3, (size_t)2);
}

static void test_other_conversions_go_to_vsnprintf(void **state)
{
    (void)state;
    same("%5d|%-5s|%05u", 42, "ab", 7u);
    same("%x %lX %#o", 255u, 0xabcdefUL, 8u);
    same("%.4f %g %e", 3.14159, 1e-7, 2.5);
    same("%s then %p", "ptr", (void *)0);
    same("%s", (const char *)NULL);
    same("a %s after %d then %5.2f", "mix", 3, 1.5);
    same("trailing %");
}

static void test_long_texts(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    strbuf b = { 0 };
    sb_printf(&b, "<%s|%zu>", big, (size_t)12);
    assert_false(b.oom);
    assert_int_equal(b.len, sizeof big - 1 + 5);
    assert_int_equal(memcmp(b.p + b.len - 4, "|12>", 4), 0);
    sb_free(&b);
    arena a;
    arena_init(&a);
    char *s = arena_printf(&a, "%s%s", big, "!");
    assert_int_equal(strlen(s), sizeof big);
    assert_int_equal(s[sizeof big - 1], '!');
    assert_string_equal(arena_printf(&a, "%s-%d", "short", -3), "short--3");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handled_conversions),
        cmocka_unit_test(test_other_conversions_go_to_vsnprintf),
        cmocka_unit_test(test_long_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
