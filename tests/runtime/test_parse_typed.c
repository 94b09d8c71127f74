/* test_parse_typed.c — reply text and JSON to typed values: the forms an LM
 * plausibly writes are accepted, everything else is DSP_ERR_PARSE with a
 * message that quotes it; nothing is guessed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/value.h"

static const char *const colours[] = { "red", "Green", "light blue" };
static const dsp_type colour_t = { .kind = DSP_TYPE_ENUM, .enum_values = colours, .n_enum_values = 3 };
static const dsp_type ints_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_int };
static const dsp_type strings_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_string };
static const dsp_type opt_int_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_int };
static const dsp_type opt_str_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_string };
static const dsp_type colours_t = { .kind = DSP_TYPE_LIST, .elem = &colour_t };
static const dsp_type nested_t = { .kind = DSP_TYPE_LIST, .elem = &ints_t };

static dsp_value ok(const dsp_type *t, const char *text)
{
    dsp_value v;
    dsp_error err = { 0 };
    if (dsp_value_parse(t, text, strlen(text), &v, &err) != DSP_OK)
        fail_msg("\"%s\" did not parse: %s", text, err.message);
    return v;
}

static void bad(const dsp_type *t, const char *text, const char *want_in_message)
{
    dsp_value v;
    memset(&v, 0, sizeof v);
    dsp_error err = { 0 };
    dsp_status st = dsp_value_parse(t, text, strlen(text), &v, &err);
    if (st != DSP_ERR_PARSE)
        fail_msg("\"%s\" gave status %d, not a parse error", text, (int)st);
    if (!strstr(err.message, want_in_message))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want_in_message);
    assert_int_equal(v.kind, DSP_TYPE_STRING);
    assert_null(v.as.s.data);
}

static void test_ints(void **state)
{
    (void)state;
    assert_int_equal(ok(&dsp_type_int, "42").as.i, 42);
    assert_int_equal(ok(&dsp_type_int, "  -7\n").as.i, -7);
    assert_int_equal(ok(&dsp_type_int, "+3").as.i, 3);
    assert_int_equal(ok(&dsp_type_int, "\"12\"").as.i, 12);
    assert_int_equal(ok(&dsp_type_int, "9223372036854775807").as.i, INT64_MAX);
    assert_true(ok(&dsp_type_int, "-9223372036854775808").as.i == INT64_MIN);
    bad(&dsp_type_int, "12abc", "expected an integer, got \"12abc\"");
    bad(&dsp_type_int, "", "expected an integer");
    bad(&dsp_type_int, "-", "expected an integer");
    bad(&dsp_type_int, "1.5", "\"1.5\"");
    bad(&dsp_type_int, "1 2", "\"1 2\"");
    bad(&dsp_type_int, "0x10", "\"0x10\"");
    bad(&dsp_type_int, "9223372036854775808", "outside the int64 range");
    bad(&dsp_type_int, "twelve", "\"twelve\"");
}

static void test_floats(void **state)
{
    (void)state;
    assert_true(ok(&dsp_type_float, "0.1").as.f == 0.1);
    assert_true(ok(&dsp_type_float, " -2.5e3 ").as.f == -2500.0);
    assert_true(ok(&dsp_type_float, "7").as.f == 7.0);
    assert_true(ok(&dsp_type_float, "'.5'").as.f == 0.5);
    bad(&dsp_type_float, "1.2.3", "expected a number, got \"1.2.3\"");
    bad(&dsp_type_float, "nan", "\"nan\"");
    bad(&dsp_type_float, "inf", "\"inf\"");
    bad(&dsp_type_float, "0x1p3", "\"0x1p3\"");
    bad(&dsp_type_float, "1e999", "outside the range of a double");
    bad(&dsp_type_float, "e", "expected a number");
    bad(&dsp_type_float, "3 apples", "\"3 apples\"");
}

static void test_bools(void **state)
{
    (void)state;
    const char *yes[] = { "True", "true", "TRUE", "yes", "Yes", " True\n", "\"true\"" };
    const char *no[] = { "False", "false", "no", "NO", "`False`" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(ok(&dsp_type_bool, yes[i]).as.b);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(ok(&dsp_type_bool, no[i]).as.b);
    bad(&dsp_type_bool, "maybe", "expected True or False, got \"maybe\"");
    bad(&dsp_type_bool, "1", "\"1\"");
    bad(&dsp_type_bool, "True.", "\"True.\"");
}

static void test_enums(void **state)
{
    (void)state;
    assert_int_equal(ok(&colour_t, "red").as.e, 0);
    assert_int_equal(ok(&colour_t, "Green").as.e, 1);
    assert_int_equal(ok(&colour_t, "green").as.e, 1);
    assert_int_equal(ok(&colour_t, "  RED \n").as.e, 0);
    assert_int_equal(ok(&colour_t, "\"light blue\"").as.e, 2);
    assert_int_equal(ok(&colour_t, "'Light Blue'").as.e, 2);
    assert_int_equal(ok(&colour_t, "`red`").as.e, 0);
    bad(&colour_t, "purple", "\"purple\" is not one of: red; Green; light blue");
    bad(&colour_t, "red.", "\"red.\" is not one of");
    bad(&colour_t, "the colour is red", "is not one of");
    bad(&colour_t, "", "\"\" is not one of");
    bad(&colour_t, "\"red'", "is not one of");
}

/* An exact match wins before the case-insensitive one, so two names that
 * differ only in case both stay reachable. */
static void test_enum_exact_first(void **state)
{
    (void)state;
    static const char *const names[] = { "Yes", "yes" };
    static const dsp_type t = { .kind = DSP_TYPE_ENUM, .enum_values = names, .n_enum_values = 2 };
    assert_int_equal(ok(&t, "yes").as.e, 1);
    assert_int_equal(ok(&t, "Yes").as.e, 0);
}

static void test_lists(void **state)
{
    (void)state;
    dsp_value v = ok(&ints_t, " [1, -2, 3] ");
    assert_int_equal(v.as.list.len, 3);
    assert_int_equal(v.as.list.items[1].as.i, -2);
    dsp_value_free(&v);
    v = ok(&ints_t, "[]");
    assert_int_equal(v.kind, DSP_TYPE_LIST);
    assert_int_equal(v.as.list.len, 0);
    dsp_value_free(&v);
    v = ok(&strings_t, "[\"a\\nb\", \"\\u00e9\"]");
    assert_string_equal(v.as.list.items[0].as.s.data, "a\nb");
    assert_string_equal(v.as.list.items[1].as.s.data, "\xc3\xa9");
    dsp_value_free(&v);
    v = ok(&colours_t, "[\"RED\", \"light blue\"]");
    assert_int_equal(v.as.list.items[0].as.e, 0);
    assert_int_equal(v.as.list.items[1].as.e, 2);
    dsp_value_free(&v);
    v = ok(&nested_t, "[[1],[2,3]]");
    assert_int_equal(v.as.list.items[1].as.list.items[1].as.i, 3);
    dsp_value_free(&v);
    bad(&ints_t, "[1, 2", "expected a JSON array, got \"[1, 2\"");
    bad(&ints_t, "1, 2", "expected a JSON array");
    bad(&ints_t, "{\"a\": 1}", "expected a JSON array");
    bad(&ints_t, "[1, 2.5]", "[1]: expected an integer");
    bad(&ints_t, "[1, \"x\"]", "[1]: expected an integer, got \"x\"");
    bad(&ints_t, "[1e300]", "[0]: integer 1e+300 is beyond");
    bad(&ints_t, "[12345678901234567890]", "beyond");
    bad(&colours_t, "[\"red\", \"pink\"]", "[1]: \"pink\" is not one of");
    bad(&nested_t, "[[1], 2]", "[1]: expected a value of type list[int], got a JSON number");
    bad(&strings_t, "[null]", "got null");
}

static void test_optionals(void **state)
{
    (void)state;
    const char *absent[] = { "", "  ", "None", "none", "null", "NULL" };
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
        dsp_value v = ok(&opt_int_t, absent[i]);
        assert_int_equal(v.kind, DSP_TYPE_OPTIONAL);
        assert_null(v.as.some);
    }
    dsp_value v = ok(&opt_int_t, "5");
    assert_non_null(v.as.some);
    assert_int_equal(v.as.some->as.i, 5);
    dsp_value_free(&v);
    v = ok(&opt_str_t, "Nonesuch");
    assert_string_equal(v.as.some->as.s.data, "Nonesuch");
    dsp_value_free(&v);
    bad(&opt_int_t, "five", "expected an integer, got \"five\"");
}

static void test_strings_trimmed_only_at_ends(void **state)
{
    (void)state;
    dsp_value v = ok(&dsp_type_string, "\n  two\n  lines \n\n");
    assert_string_equal(v.as.s.data, "two\n  lines");
    dsp_value_free(&v);
    char raw[] = "a\0b";
    assert_int_equal(dsp_value_parse(&dsp_type_string, raw, 3, &v, NULL), DSP_OK);
    assert_int_equal(v.as.s.len, 3);
    assert_memory_equal(v.as.s.data, raw, 3);
    dsp_value_free(&v);
}

static void test_error_quotes_are_short_and_printable(void **state)
{
    (void)state;
    char long_text[2000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[3] = '\x01';
    dsp_value v;
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_parse(&dsp_type_int, long_text, strlen(long_text), &v, &err), DSP_ERR_PARSE);
    assert_true(strlen(err.message) < 200);
    assert_non_null(strstr(err.message, "xxx\\x01xx"));
    assert_non_null(strstr(err.message, "...\""));
}

static void test_parse_json(void **state)
{
    (void)state;
    dsp_value v;
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_parse_json(&dsp_type_int, "17", 2, &v, &err), DSP_OK);
    assert_int_equal(v.as.i, 17);
    assert_int_equal(dsp_value_parse_json(&dsp_type_string, "\"hi\"", 4, &v, &err), DSP_OK);
    assert_string_equal(v.as.s.data, "hi");
    dsp_value_free(&v);
    /* A number where a string belongs is read as its text (LMs do this). */
    assert_int_equal(dsp_value_parse_json(&dsp_type_string, "3.5", 3, &v, &err), DSP_OK);
    assert_string_equal(v.as.s.data, "3.5");
    dsp_value_free(&v);
    /* A string where a number belongs is parsed by the text rules. */
    assert_int_equal(dsp_value_parse_json(&dsp_type_float, "\"2.5\"", 5, &v, &err), DSP_OK);
    assert_true(v.as.f == 2.5);
    assert_int_equal(dsp_value_parse_json(&dsp_type_bool, "\"yes\"", 5, &v, &err), DSP_OK);
    assert_true(v.as.b);
    assert_int_equal(dsp_value_parse_json(&opt_int_t, "\"None\"", 6, &v, &err), DSP_OK);
    assert_null(v.as.some);
    assert_int_equal(dsp_value_parse_json(&opt_str_t, "\"None\"", 6, &v, &err), DSP_OK);
    assert_string_equal(v.as.some->as.s.data, "None");
    dsp_value_free(&v);
    assert_int_equal(dsp_value_parse_json(&dsp_type_bool, "1", 1, &v, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "expected a value of type bool, got a JSON number"));
    assert_int_equal(dsp_value_parse_json(&dsp_type_int, "{", 1, &v, &err), DSP_ERR_PARSE);
    assert_int_equal(dsp_value_parse_json(&dsp_type_string, "[1]", 3, &v, &err), DSP_ERR_PARSE);
}

static void test_round_trip_through_format(void **state)
{
    (void)state;
    const double floats[] = { 0.0, -0.0, 1e-320, 123456789.125, 1.0 / 3.0, -1e300, 5e-324 };
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) {
        dsp_value v = dsp_value_float(floats[i]), back;
        char *text;
        assert_int_equal(dsp_value_format(&v, &dsp_type_float, &text, NULL, NULL), DSP_OK);
        assert_int_equal(dsp_value_parse(&dsp_type_float, text, strlen(text), &back, NULL), DSP_OK);
        assert_true(dsp_value_equal(&v, &back));
        free(text);
    }
    const int64_t ints[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 9007199254740993LL };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        dsp_value v = dsp_value_int(ints[i]), back;
        char *text;
        assert_int_equal(dsp_value_format(&v, &dsp_type_int, &text, NULL, NULL), DSP_OK);
        assert_int_equal(dsp_value_parse(&dsp_type_int, text, strlen(text), &back, NULL), DSP_OK);
        assert_true(dsp_value_equal(&v, &back));
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_enum_exact_first),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_optionals),
        cmocka_unit_test(test_strings_trimmed_only_at_ends),
        cmocka_unit_test(test_error_quotes_are_short_and_printable),
        cmocka_unit_test(test_parse_json),
        cmocka_unit_test(test_round_trip_through_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
