/* test_glue.c — what every generated program shares (dsp/glue.h) and its
 * shadow comparison: one implementation, tested here rather than once per
 * generated file (the run, shadow and batch functions: test_program.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/glue.h"

static void where_prefixes_and_cuts_to_fit(void **state)
{
    (void)state;
    dsp_error e = {0};
    dsp_error_set(&e, DSP_ERR_PARSE, "output `x`: expected an integer");
    dsp_glue_where(&e, "M.p (a.dsp:3)");
    assert_string_equal(e.message, "M.p (a.dsp:3): output `x`: expected an integer");
    assert_int_equal(e.status, DSP_ERR_PARSE); /* the status is kept */
    /* A long message loses its end, never the prefix, and stays terminated. */
    memset(e.message, 'm', sizeof e.message - 1);
    e.message[sizeof e.message - 1] = '\0';
    dsp_glue_where(&e, "where");
    assert_memory_equal(e.message, "where: mmm", 10);
    assert_int_equal(strlen(e.message), sizeof e.message - 1);
    /* A prefix with no room to spare changes nothing; NULL is a no-op. */
    char huge[DSP_ERROR_MESSAGE_MAX + 8];
    memset(huge, 'w', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    dsp_error_set(&e, DSP_ERR_PARSE, "inner");
    dsp_glue_where(&e, huge);
    assert_string_equal(e.message, "inner");
    dsp_glue_where(NULL, "where");
    dsp_error_clear(&e);
}

static void copies_wrap_as_present_optionals(void **state)
{
    (void)state;
    dsp_value src = {0}, dst = {0};
    assert_int_equal(dsp_value_set_string(&src, "abc", 3, NULL), DSP_OK);
    assert_int_equal(dsp_glue_copy(&dst, &src, false, NULL), DSP_OK);
    assert_int_equal(dst.kind, DSP_TYPE_STRING);
    assert_string_equal(dst.as.s.data, "abc");
    assert_ptr_not_equal(dst.as.s.data, src.as.s.data); /* a copy */
    dsp_value_free(&dst);
    assert_int_equal(dsp_glue_copy(&dst, &src, true, NULL), DSP_OK);
    assert_int_equal(dst.kind, DSP_TYPE_OPTIONAL);
    assert_non_null(dst.as.some);
    assert_string_equal(dst.as.some->as.s.data, "abc");
    dsp_value_free(&dst);
    assert_int_equal(dsp_glue_string(&dst, "hi there", 2, true, NULL), DSP_OK);
    assert_int_equal(dst.kind, DSP_TYPE_OPTIONAL);
    assert_int_equal(dst.as.some->as.s.len, 2);
    assert_memory_equal(dst.as.some->as.s.data, "hi", 2);
    dsp_value_free(&dst);
    assert_int_equal(dsp_glue_scalar(&dst, dsp_value_int(7), false, NULL), DSP_OK);
    assert_int_equal(dst.as.i, 7);
    assert_int_equal(dsp_glue_scalar(&dst, dsp_value_bool(true), true, NULL), DSP_OK);
    assert_int_equal(dst.kind, DSP_TYPE_OPTIONAL);
    assert_true(dst.as.some->as.b);
    dsp_value_free(&dst);
    dsp_value_free(&src);
}

static void converts_as_the_interpreter_does(void **state)
{
    (void)state;
    static const char *const names[] = {"low", "high"};
    static const size_t map[] = {2, 0};
    static const dsp_conv to_float = {DSP_CONV_INT_FLOAT, NULL, NULL, 0, NULL};
    static const dsp_conv to_name = {DSP_CONV_ENUM_STRING, names, NULL, 2, NULL};
    static const dsp_conv wider = {DSP_CONV_ENUM_ENUM, NULL, map, 2, NULL};
    static const dsp_conv list_of_names = {DSP_CONV_LIST, NULL, NULL, 0, &to_name};
    static const dsp_conv opt_float = {DSP_CONV_OPTIONAL, NULL, NULL, 0, &to_float};
    dsp_value v = dsp_value_int(3), out;
    assert_int_equal(dsp_glue_convert(&out, &v, &to_float, NULL), DSP_OK);
    assert_int_equal(out.kind, DSP_TYPE_FLOAT);
    assert_true(out.as.f >= 3.0 && out.as.f <= 3.0);
    v = dsp_value_enum(1);
    assert_int_equal(dsp_glue_convert(&out, &v, &to_name, NULL), DSP_OK);
    assert_string_equal(out.as.s.data, "high");
    dsp_value_free(&out);
    v = dsp_value_enum(9); /* out of range: the empty name, never a read past the table */
    assert_int_equal(dsp_glue_convert(&out, &v, &to_name, NULL), DSP_OK);
    assert_int_equal(out.as.s.len, 0);
    dsp_value_free(&out);
    v = dsp_value_enum(0);
    assert_int_equal(dsp_glue_convert(&out, &v, &wider, NULL), DSP_OK);
    assert_int_equal(out.as.e, 2);
    dsp_value list = dsp_value_list(), item = dsp_value_enum(1);
    assert_int_equal(dsp_value_list_append(&list, &item, NULL), DSP_OK);
    item = dsp_value_enum(0);
    assert_int_equal(dsp_value_list_append(&list, &item, NULL), DSP_OK);
    assert_int_equal(dsp_glue_convert(&out, &list, &list_of_names, NULL), DSP_OK);
    assert_int_equal(out.as.list.len, 2);
    assert_string_equal(out.as.list.items[0].as.s.data, "high");
    assert_string_equal(out.as.list.items[1].as.s.data, "low");
    dsp_value_free(&out);
    dsp_value_free(&list);
    /* A plain int bound to optional<float> is present; an absent one stays absent. */
    v = dsp_value_int(2);
    assert_int_equal(dsp_glue_convert(&out, &v, &opt_float, NULL), DSP_OK);
    assert_int_equal(out.kind, DSP_TYPE_OPTIONAL);
    assert_int_equal(out.as.some->kind, DSP_TYPE_FLOAT);
    dsp_value_free(&out);
    v = dsp_value_none();
    assert_int_equal(dsp_glue_convert(&out, &v, &opt_float, NULL), DSP_OK);
    assert_int_equal(out.kind, DSP_TYPE_OPTIONAL);
    assert_null(out.as.some);
    /* No descriptor: a copy. */
    dsp_value s = {0};
    assert_int_equal(dsp_value_set_string(&s, "same", 4, NULL), DSP_OK);
    assert_int_equal(dsp_glue_convert(&out, &s, NULL, NULL), DSP_OK);
    assert_string_equal(out.as.s.data, "same");
    dsp_value_free(&out);
    dsp_value_free(&s);
}

static void strings_in_and_out(void **state)
{
    (void)state;
    dsp_value v = {0};
    dsp_error e = {0};
    assert_int_equal(dsp_glue_in_string(NULL, &v, &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "a string input is NULL");
    dsp_error_clear(&e);
    assert_int_equal(dsp_glue_in_string("ticket", &v, &e), DSP_OK);
    char *s = NULL;
    assert_int_equal(dsp_glue_out_string(&v, &s, &e), DSP_OK);
    assert_string_equal(s, "ticket");
    dsp_glue_free_string(&s);
    assert_null(s);
    dsp_value_free(&v);
    dsp_value empty = {0};
    assert_int_equal(dsp_value_set_string(&empty, "", 0, NULL), DSP_OK);
    assert_int_equal(dsp_glue_out_string(&empty, &s, &e), DSP_OK);
    assert_string_equal(s, "");
    dsp_glue_free_string(&s);
    dsp_value_free(&empty);
}

static void tool_checks_name_the_tool_and_parameter(void **state)
{
    (void)state;
    dsp_error e = {0};
    assert_int_equal(dsp_glue_int_in(5, 0, 10, "t", "k", "unsigned char", -1, &e), DSP_OK);
    assert_int_equal(dsp_glue_int_in(-1, 0, UINT64_MAX, "t", "k", "size_t", -1, &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: parameter `k` is -1, out of range for C type `size_t` (it takes no "
                                   "negative number)");
    assert_int_equal(dsp_glue_int_in(300, 0, 255, "t", "xs", "unsigned char", 2, &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: element 2 of parameter `xs` is 300, out of range for C type "
                                   "`unsigned char` (0 to 255)");
    assert_int_equal(dsp_glue_float_in(1e300, "t", "x", -1, &e), DSP_ERR_INVALID);
    assert_non_null(strstr(e.message, "out of range for C type `float`"));
    assert_int_equal(dsp_glue_float_in(1.5, "t", "x", -1, &e), DSP_OK);
    dsp_value v = {0};
    assert_int_equal(dsp_glue_u64_out(&v, 7, "t", NULL, "size_t", -1, &e), DSP_OK);
    assert_int_equal(v.as.i, 7);
    assert_int_equal(dsp_glue_u64_out(&v, UINT64_MAX, "t", "n", "size_t", -1, &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: output `n` is 18446744073709551615 (C type `size_t`), above the "
                                   "largest .dsp int, 9223372036854775807");
    assert_int_equal(dsp_glue_tool_status("t", 3, &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` failed with status 3");
    assert_int_equal(dsp_glue_out_str(&v, NULL, "t", "o", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` left output `o` NULL");
    assert_int_equal(dsp_glue_out_list(&v, NULL, 2, "t", "o", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` left output `o` NULL with length 2");
    char **strs = malloc(2 * sizeof *strs);
    strs[0] = strdup("a");
    strs[1] = NULL;
    assert_int_equal(dsp_glue_out_strs(&v, strs, 2, "t", "o", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` left element 1 of output `o` NULL");
    dsp_value_free(&v);
    strs[1] = strdup("b");
    assert_int_equal(dsp_glue_out_strs(&v, strs, 2, "t", "o", &e), DSP_OK);
    assert_int_equal(v.as.list.len, 2);
    assert_string_equal(v.as.list.items[1].as.s.data, "b");
    dsp_value_free(&v);
    dsp_glue_free_strs(strs, 2);
    dsp_status st = DSP_OK;
    void *arr = dsp_glue_array(0, sizeof(int), &st, &e);
    assert_non_null(arr); /* never NULL, even for no items */
    assert_int_equal(st, DSP_OK);
    free(arr);
    dsp_error_clear(&e);
}

/* A program's input and output structs, as a generated file has them. */
/* Shadow mode's comparison: lists of records and maps whole, only where
 * decides says; free text (not deciding) may differ. */
static void agree_compares_the_deciding_results_whole(void **state)
{
    (void)state;
    dsp_error err = {0};
    dsp_value a[3], b[3];
    for (int k = 0; k < 2; k++) {
        dsp_value *v = k ? b : a;
        memset(v, 0, 3 * sizeof *v);
        v[0] = dsp_value_list();
        dsp_value rec;
        assert_int_equal(dsp_value_record(&rec, 2, &err), DSP_OK);
        assert_int_equal(dsp_value_set_string(&rec.as.record.fields[0], "Ana Silva", 9, &err), DSP_OK);
        rec.as.record.fields[1] = dsp_value_enum(1);
        assert_int_equal(dsp_value_list_append(&v[0], &rec, &err), DSP_OK);
        v[1] = dsp_value_map();
        dsp_value x = dsp_value_float(0.5), y = dsp_value_int(3);
        /* the same keys, put in another order */
        assert_int_equal(dsp_value_map_put(&v[1], k ? "y" : "x", k ? &y : &x, &err), DSP_OK);
        assert_int_equal(dsp_value_map_put(&v[1], k ? "x" : "y", k ? &x : &y, &err), DSP_OK);
        assert_int_equal(dsp_value_set_string(&v[2], k ? "because B" : "because A", 9, &err), DSP_OK);
    }
    const unsigned char decides[3] = {1, 1, 0};
    assert_true(dsp_glue_agree(a, b, decides, 3)); /* the reasonings differ, and do not count */
    const unsigned char all[3] = {1, 1, 1};
    assert_false(dsp_glue_agree(a, b, all, 3));
    b[0].as.list.items[0].as.record.fields[1] = dsp_value_enum(2); /* one field of one record */
    assert_false(dsp_glue_agree(a, b, decides, 3));
    const unsigned char map_only[3] = {0, 1, 0};
    assert_true(dsp_glue_agree(a, b, map_only, 3));
    dsp_values_free(a, 3);
    dsp_values_free(b, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(where_prefixes_and_cuts_to_fit),
        cmocka_unit_test(copies_wrap_as_present_optionals),
        cmocka_unit_test(converts_as_the_interpreter_does),
        cmocka_unit_test(strings_in_and_out),
        cmocka_unit_test(tool_checks_name_the_tool_and_parameter),
        cmocka_unit_test(agree_compares_the_deciding_results_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
