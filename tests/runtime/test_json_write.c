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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_round_trip),
        cmocka_unit_test(test_control_characters_are_escaped),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
