/* test_value.c — dsp_value: ownership, deep copy, equality, type checks,
 * and formatting to chat text and to JSON, including strings of any bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/value.h"

static const char *const colours[] = { "red", "green", "blue" };
static const dsp_type colour_t = { .kind = DSP_TYPE_ENUM, .enum_values = colours, .n_enum_values = 3 };
static const dsp_type ints_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_int };
static const dsp_type opt_int_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_int };
static const dsp_type opt_ints_t = { .kind = DSP_TYPE_LIST, .elem = &opt_int_t };
static const dsp_type floats_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_float };
static const dsp_type colours_t = { .kind = DSP_TYPE_LIST, .elem = &colour_t };
static const dsp_type strings_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_string };

static char *fmt(const dsp_value *v, const dsp_type *t)
{
    char *out;
    size_t len;
    dsp_error err = { 0 };
    if (dsp_value_format(v, t, &out, &len, &err) != DSP_OK)
        fail_msg("format failed: %s", err.message);
    assert_int_equal(strlen(out), len);
    return out;
}

static char *json(const dsp_value *v, const dsp_type *t)
{
    char *out;
    dsp_error err = { 0 };
    if (dsp_value_to_json(v, t, &out, NULL, &err) != DSP_OK)
        fail_msg("to_json failed: %s", err.message);
    return out;
}

static void expect_fmt(const dsp_value *v, const dsp_type *t, const char *want)
{
    char *s = fmt(v, t);
    assert_string_equal(s, want);
    free(s);
}

static void test_scalars_format(void **state)
{
    (void)state;
    dsp_value v = dsp_value_int(-42);
    expect_fmt(&v, &dsp_type_int, "-42");
    v = dsp_value_int(INT64_MIN);
    expect_fmt(&v, &dsp_type_int, "-9223372036854775808");
    v = dsp_value_float(0.1);
    expect_fmt(&v, &dsp_type_float, "0.1");
    v = dsp_value_float(2.0);
    expect_fmt(&v, &dsp_type_float, "2");
    v = dsp_value_float(1.0 / 3.0);
    char *s = fmt(&v, &dsp_type_float);
    assert_true(strtod(s, NULL) == 1.0 / 3.0); /* shortest form that reads back exactly */
    free(s);
    v = dsp_value_bool(true);
    expect_fmt(&v, &dsp_type_bool, "True");
    v = dsp_value_bool(false);
    expect_fmt(&v, &dsp_type_bool, "False");
    v = dsp_value_enum(2);
    expect_fmt(&v, &colour_t, "blue");
    v = dsp_value_none();
    expect_fmt(&v, &opt_int_t, "None");
}

static void test_string_any_bytes(void **state)
{
    (void)state;
    char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (char)i;
    dsp_value a, b;
    assert_int_equal(dsp_value_set_string(&a, bytes, 256, NULL), DSP_OK);
    assert_int_equal(a.as.s.len, 256);
    assert_int_equal(a.as.s.data[256], '\0');
    assert_int_equal(dsp_value_copy(&b, &a, NULL), DSP_OK);
    assert_true(a.as.s.data != b.as.s.data);
    assert_true(dsp_value_equal(&a, &b));
    b.as.s.data[200] ^= 1;
    assert_false(dsp_value_equal(&a, &b));
    char *out;
    size_t len;
    assert_int_equal(dsp_value_format(&a, &dsp_type_string, &out, &len, NULL), DSP_OK);
    assert_int_equal(len, 256);
    assert_memory_equal(out, bytes, 256);
    free(out);
    /* JSON cannot carry the NUL byte; say so rather than cut the string. */
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_to_json(&a, &dsp_type_string, &out, &len, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "NUL"));
    assert_null(out);
    dsp_value_free(&a);
    dsp_value_free(&b);
    assert_null(a.as.s.data);
    /* The empty string needs no allocation and compares equal to a zeroed value. */
    dsp_value e, z = { 0 };
    assert_int_equal(dsp_value_set_string(&e, "", 0, NULL), DSP_OK);
    assert_true(dsp_value_equal(&e, &z));
    expect_fmt(&e, &dsp_type_string, "");
    assert_string_equal(dsp_value_cstr(&e), "");
    assert_string_equal(dsp_value_cstr(&z), "");
    dsp_value_free(&e);
    assert_int_equal(dsp_value_set_string(&e, "hi", 2, NULL), DSP_OK);
    assert_string_equal(dsp_value_cstr(&e), "hi");
    dsp_value_free(&e);
    dsp_value i = dsp_value_int(3);
    assert_string_equal(dsp_value_cstr(&i), ""); /* not a string */
}

static void test_lists_and_optionals(void **state)
{
    (void)state;
    dsp_value l = dsp_value_list();
    for (int i = 0; i < 10; i++) {
        dsp_value x = dsp_value_int(i * 1000);
        assert_int_equal(dsp_value_list_append(&l, &x, NULL), DSP_OK);
    }
    expect_fmt(&l, &ints_t, "[0,1000,2000,3000,4000,5000,6000,7000,8000,9000]");
    dsp_value c;
    assert_int_equal(dsp_value_copy(&c, &l, NULL), DSP_OK);
    assert_true(dsp_value_equal(&l, &c));
    c.as.list.items[9].as.i = 1;
    assert_false(dsp_value_equal(&l, &c));
    dsp_value_free(&c);
    dsp_value_free(&l);

    /* Integers beyond 2^53 are written exactly, not through a double. */
    l = dsp_value_list();
    dsp_value big = dsp_value_int(INT64_MAX);
    assert_int_equal(dsp_value_list_append(&l, &big, NULL), DSP_OK);
    expect_fmt(&l, &ints_t, "[9223372036854775807]");
    dsp_value_free(&l);

    l = dsp_value_list();
    dsp_value some, inner = dsp_value_int(5), none = dsp_value_none();
    assert_int_equal(dsp_value_some(&some, &inner, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&l, &some, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&l, &none, NULL), DSP_OK);
    expect_fmt(&l, &opt_ints_t, "[5,null]");
    assert_int_equal(dsp_value_copy(&c, &l, NULL), DSP_OK);
    assert_true(dsp_value_equal(&c, &l));
    dsp_value_free(&c);
    dsp_value_free(&l);

    l = dsp_value_list();
    dsp_value f = dsp_value_float(0.1), g = dsp_value_float(-2.5e-300);
    assert_int_equal(dsp_value_list_append(&l, &f, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&l, &g, NULL), DSP_OK);
    expect_fmt(&l, &floats_t, "[0.1,-2.5e-300]");
    dsp_value_free(&l);

    l = dsp_value_list();
    dsp_value e1 = dsp_value_enum(0), e2 = dsp_value_enum(2);
    assert_int_equal(dsp_value_list_append(&l, &e1, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&l, &e2, NULL), DSP_OK);
    expect_fmt(&l, &colours_t, "[\"red\",\"blue\"]");
    char *j = json(&l, &colours_t);
    assert_string_equal(j, "[\"red\",\"blue\"]");
    free(j);
    dsp_value_free(&l);

    l = dsp_value_list();
    dsp_value s;
    assert_int_equal(dsp_value_set_string(&s, "say \"hi\"\n\t\\", 11, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&l, &s, NULL), DSP_OK);
    expect_fmt(&l, &strings_t, "[\"say \\\"hi\\\"\\n\\t\\\\\"]");
    dsp_value_free(&l);
}

static void test_json_scalars(void **state)
{
    (void)state;
    dsp_value v;
    assert_int_equal(dsp_value_set_string(&v, "a\"b", 3, NULL), DSP_OK);
    char *j = json(&v, &dsp_type_string);
    assert_string_equal(j, "\"a\\\"b\"");
    free(j);
    dsp_value_free(&v);
    v = dsp_value_bool(true);
    j = json(&v, &dsp_type_bool);
    assert_string_equal(j, "true");
    free(j);
    v = dsp_value_none();
    j = json(&v, &opt_int_t);
    assert_string_equal(j, "null");
    free(j);
    v = dsp_value_float(0.1);
    j = json(&v, &dsp_type_float);
    assert_string_equal(j, "0.1");
    free(j);
}

static void test_equality_rules(void **state)
{
    (void)state;
    dsp_value a = dsp_value_float(NAN), b = dsp_value_float(NAN);
    assert_true(dsp_value_equal(&a, &b));
    a = dsp_value_int(1);
    b = dsp_value_float(1.0);
    assert_false(dsp_value_equal(&a, &b)); /* different kinds never compare equal */
    a = dsp_value_enum(1);
    b = dsp_value_enum(2);
    assert_false(dsp_value_equal(&a, &b));
    dsp_value none = dsp_value_none(), some, inner = dsp_value_int(0);
    assert_int_equal(dsp_value_some(&some, &inner, NULL), DSP_OK);
    assert_false(dsp_value_equal(&none, &some));
    assert_false(dsp_value_equal(&some, &none));
    dsp_value_free(&some);
    dsp_value l1 = dsp_value_list(), l2 = dsp_value_list();
    dsp_value x = dsp_value_int(1);
    assert_int_equal(dsp_value_list_append(&l1, &x, NULL), DSP_OK);
    assert_false(dsp_value_equal(&l1, &l2));
    dsp_value_free(&l1);
}

static void test_check_rejects_mismatches(void **state)
{
    (void)state;
    dsp_error err = { 0 };
    dsp_value v = dsp_value_enum(3);
    assert_int_equal(dsp_value_check(&v, &colour_t, "output `c`", &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "output `c`: enum index 3 is out of range"));
    char *out = (char *)1;
    assert_int_equal(dsp_value_format(&v, &colour_t, &out, NULL, &err), DSP_ERR_INVALID);
    assert_null(out);
    v = dsp_value_int(3);
    assert_int_equal(dsp_value_check(&v, &dsp_type_string, "input `q`", &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "expected a value of type string, got a value of type int"));
    v = dsp_value_float(INFINITY);
    assert_int_equal(dsp_value_check(&v, &dsp_type_float, NULL, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "not finite"));
    /* A plain int where an optional belongs must be boxed with dsp_value_some. */
    v = dsp_value_int(3);
    assert_int_equal(dsp_value_check(&v, &opt_int_t, "x", &err), DSP_ERR_INVALID);
    /* Element errors say which element. */
    dsp_value l = dsp_value_list(), s;
    assert_int_equal(dsp_value_set_string(&s, "x", 1, NULL), DSP_OK);
    dsp_value i0 = dsp_value_int(0);
    assert_int_equal(dsp_value_list_append(&l, &i0, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&l, &s, NULL), DSP_OK);
    assert_int_equal(dsp_value_check(&l, &ints_t, "tags", &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "tags[1]"));
    assert_int_equal(dsp_value_list_append(&v, &i0, &err), DSP_ERR_INVALID);
    dsp_value_free(&l);
}

static void test_type_checks(void **state)
{
    (void)state;
    dsp_error err = { 0 };
    static const char *const dup[] = { "a", "b", "a" };
    static const dsp_type dup_t = { .kind = DSP_TYPE_ENUM, .enum_values = dup, .n_enum_values = 3 };
    assert_int_equal(dsp_type_check(&dup_t, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"a\" appears twice"));
    static const dsp_type empty_enum = { .kind = DSP_TYPE_ENUM };
    assert_int_equal(dsp_type_check(&empty_enum, &err), DSP_ERR_INVALID);
    static const dsp_type no_elem = { .kind = DSP_TYPE_LIST };
    assert_int_equal(dsp_type_check(&no_elem, &err), DSP_ERR_INVALID);
    static const dsp_type opt_opt = { .kind = DSP_TYPE_OPTIONAL, .elem = &opt_int_t };
    assert_int_equal(dsp_type_check(&opt_opt, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_type_check(&opt_ints_t, &err), DSP_OK);
    char buf[64];
    assert_string_equal(dsp_type_name(&opt_ints_t, buf, sizeof buf), "list[optional[int]]");
    assert_string_equal(dsp_type_name(&dsp_type_string, buf, sizeof buf), "string");
    assert_string_equal(dsp_type_name(&dup_t, buf, sizeof buf), "enum");
    assert_string_equal(dsp_type_name(&dsp_type_string, buf, 4), "str"); /* cut to the buffer */
    assert_string_equal(dsp_type_name(&dsp_type_string, buf, 1), "");
}

/* Appends then dsp_value_map_merge_repeats leave the same map (keys in
 * the same order, values the same) as puts, for keys that repeat in every
 * pattern of a small alphabet, and a map of distinct keys untouched. */
static void test_map_merge_repeats_is_puts(void **state)
{
    (void)state;
    static const char *const keys[] = { "b", "a", "b", "c", "a", "a", "d", "b" };
    size_t nk = sizeof keys / sizeof *keys;
    for (size_t start = 0; start < nk; start++)
        for (size_t len = 0; start + len <= nk; len++) {
            dsp_value put = dsp_value_map(), app = dsp_value_map();
            dsp_error err = { 0 };
            for (size_t i = start; i < start + len; i++) {
                dsp_value a = dsp_value_int((int64_t)i), b = dsp_value_int((int64_t)i);
                assert_int_equal(dsp_value_map_put(&put, keys[i], &a, &err), DSP_OK);
                assert_int_equal(dsp_value_map_append(&app, keys[i], &b, &err), DSP_OK);
            }
            assert_int_equal(dsp_value_map_merge_repeats(&app, &err), DSP_OK);
            assert_int_equal(app.as.map.len, put.as.map.len);
            for (size_t i = 0; i < put.as.map.len; i++) {
                assert_string_equal(app.as.map.keys[i], put.as.map.keys[i]);
                assert_int_equal(app.as.map.vals[i].as.i, put.as.map.vals[i].as.i);
            }
            dsp_value_free(&put);
            dsp_value_free(&app);
        }
    /* Values that own memory: the ones dropped are freed (LSan checks). */
    dsp_value m = dsp_value_map();
    dsp_error err = { 0 };
    for (int i = 0; i < 3; i++) {
        dsp_value s;
        char text[8];
        snprintf(text, sizeof text, "v%d", i);
        assert_int_equal(dsp_value_set_string(&s, text, strlen(text), &err), DSP_OK);
        assert_int_equal(dsp_value_map_append(&m, i == 1 ? "y" : "x", &s, &err), DSP_OK);
    }
    assert_int_equal(dsp_value_map_merge_repeats(&m, &err), DSP_OK);
    assert_int_equal(m.as.map.len, 2);
    assert_string_equal(m.as.map.keys[0], "x");
    assert_string_equal(m.as.map.vals[0].as.s.data, "v2");
    assert_string_equal(m.as.map.keys[1], "y");
    dsp_value_free(&m);
    dsp_value notmap = dsp_value_int(1);
    assert_int_equal(dsp_value_map_merge_repeats(&notmap, &err), DSP_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_format),      cmocka_unit_test(test_string_any_bytes),
        cmocka_unit_test(test_lists_and_optionals), cmocka_unit_test(test_json_scalars),
        cmocka_unit_test(test_equality_rules),      cmocka_unit_test(test_check_rejects_mismatches),
        cmocka_unit_test(test_type_checks),         cmocka_unit_test(test_map_merge_repeats_is_puts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
