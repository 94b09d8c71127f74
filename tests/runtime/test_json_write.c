/* test_json_write.c — the JSON writer behind request bodies and cache keys:
 * whatever it writes, cJSON reads back to the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/json_write.h"

static void test_strings_round_trip(void **state)
{
    (void)state;
    char every_control[40];
    for (int i = 1; i < 32; i++)
        every_control[i - 1] = (char)i;
    every_control[31] = '\0';
    const char *cases[] = {"", "plain", "quote \" and backslash \\ and /", "line\nbreak\r\ttab",
                           every_control, "UTF-8: \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82",
                           "[[ ## completed ## ]]"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsp_jw w;
        dsp_jw_init(&w, 1); /* tiny: forces growth */
        dsp_jw_lit(&w, "[");
        dsp_jw_str(&w, cases[i]);
        dsp_jw_lit(&w, "]");
        char *text = dsp_jw_take(&w);
        assert_non_null(text);
        cJSON *j = cJSON_Parse(text);
        assert_non_null(j);
        assert_string_equal(cJSON_GetArrayItem(j, 0)->valuestring, cases[i]);
        cJSON_Delete(j);
        free(text);
    }
}

static void test_control_characters_are_escaped(void **state)
{
    (void)state;
    dsp_jw w;
    dsp_jw_init(&w, 16);
    dsp_jw_str(&w, "a\x01\x1f\"\\\n");
    char *text = dsp_jw_take(&w);
    assert_string_equal(text, "\"a\\u0001\\u001f\\\"\\\\\\n\"");
    free(text);
}

static void test_numbers(void **state)
{
    (void)state;
    dsp_jw w;
    dsp_jw_init(&w, 8);
    dsp_jw_double(&w, 0.7);
    dsp_jw_lit(&w, " ");
    dsp_jw_double(&w, 0.1 + 0.2);
    dsp_jw_lit(&w, " ");
    dsp_jw_double(&w, NAN);
    dsp_jw_lit(&w, " ");
    dsp_jw_int(&w, INT64_MIN);
    dsp_jw_lit(&w, " ");
    dsp_jw_double(&w, 0.0);
    dsp_jw_lit(&w, " ");
    dsp_jw_double(&w, 1e300); /* past int64: no integer shortcut */
    dsp_jw_lit(&w, " ");
    dsp_jw_double(&w, -2.0);
    char *text = dsp_jw_take(&w);
    assert_string_equal(text, "0.7 0.30000000000000004 null -9223372036854775808 0 1e+300 -2");
    free(text);
}

/* Strings of every length around the 16-byte chunks, with an escape at
 * every position: the chunked scan must neither skip nor double a byte. */
static void test_escapes_at_every_position(void **state)
{
    (void)state;
    const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', 'x'};
    char text[80];
    for (size_t len = 1; len < sizeof text; len++) {
        for (size_t at = 0; at < len; at++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                memset(text, 'a', len);
                text[len - 1] = (char)('A' + len % 26); /* the last byte is kept too */
                text[at] = specials[k];
                text[len] = '\0';
                char store[40];
                dsp_jw w;
                dsp_jw_init_in(&w, store, sizeof store); /* small: long cases move to the heap */
                dsp_jw_str(&w, text);
                char *out = dsp_jw_take(&w);
                assert_non_null(out);
                cJSON *j = cJSON_Parse(out);
                assert_non_null(j);
                assert_true(cJSON_IsString(j));
                assert_string_equal(j->valuestring, text);
                cJSON_Delete(j);
                free(out);
            }
        }
    }
}

/* Text that fits stays in the caller's storage (no allocation; buf is the
 * storage); text that outgrows it moves to the heap whole. */
static void test_caller_storage(void **state)
{
    (void)state;
    char store[64];
    dsp_jw w;
    dsp_jw_init_in(&w, store, sizeof store);
    dsp_jw_lit(&w, "{\"a\":");
    dsp_jw_str(&w, "b");
    dsp_jw_lit(&w, "}");
    assert_true(dsp_jw_finish(&w));
    assert_ptr_equal(w.buf, store);
    assert_string_equal(w.buf, "{\"a\":\"b\"}");
    assert_int_equal(w.len, strlen("{\"a\":\"b\"}"));
    dsp_jw_free(&w); /* nothing to free: ASan would catch a free of store */

    dsp_jw_init_in(&w, store, sizeof store);
    dsp_jw_lit(&w, "[");
    for (int i = 0; i < 20; i++) {
        if (i)
            dsp_jw_lit(&w, ",");
        dsp_jw_str(&w, "line\nbreak");
    }
    dsp_jw_lit(&w, "]");
    assert_true(dsp_jw_finish(&w));
    assert_ptr_not_equal(w.buf, store);
    cJSON *j = cJSON_Parse(w.buf);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(j), 20);
    assert_string_equal(cJSON_GetArrayItem(j, 19)->valuestring, "line\nbreak");
    cJSON_Delete(j);
    dsp_jw_free(&w);

    /* take copies text out of the storage: the caller owns the result. */
    dsp_jw_init_in(&w, store, sizeof store);
    dsp_jw_int(&w, 42);
    char *text = dsp_jw_take(&w);
    assert_ptr_not_equal(text, store);
    assert_string_equal(text, "42");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_round_trip),
        cmocka_unit_test(test_control_characters_are_escaped),
        cmocka_unit_test(test_escapes_at_every_position),
        cmocka_unit_test(test_caller_storage),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
