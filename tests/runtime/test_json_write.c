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

/* A writer emptied by take (or free) and written again starts over on the
 * heap; it used to loop for ever doubling a capacity of 0. */
static void test_writer_reused_after_take(void **state)
{
    (void)state;
    dsp_jw w;
    dsp_jw_init(&w, 8);
    dsp_jw_lit(&w, "[1]");
    char *a = dsp_jw_take(&w);
    assert_string_equal(a, "[1]");
    dsp_jw_lit(&w, "[");
    dsp_jw_str(&w, "again\n");
    dsp_jw_lit(&w, "]");
    char *b = dsp_jw_take(&w);
    assert_string_equal(b, "[\"again\\n\"]");
    dsp_jw_free(&w);
    assert_true(dsp_jw_finish(&w)); /* an empty text */
    assert_string_equal(w.buf, "");
    dsp_jw_free(&w);
    free(a);
    free(b);
}

/* This binary is built twice: plainly (SSE2 on x86-64) and with
 * -DDSP_JW_PORTABLE (the word scan other CPUs use); each run must test the
 * scan it was built for, or the second build proves nothing. */
static void test_scan_kind(void **state)
{
    (void)state;
#if defined(DSP_JW_PORTABLE) || !defined(__SSE2__)
    assert_string_equal(dsp_jw_scan_kind(), "portable");
#else
    assert_string_equal(dsp_jw_scan_kind(), "sse2");
#endif
}

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: deterministic, so a failure replays. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Random strings of every length up to 70 in buffers of exactly their size
 * (so ASan sees a read one past the end), built from plain ASCII, multi-byte
 * UTF-8 (2, 3 and 4 bytes), DEL, bytes that need escapes and 0xff, so that
 * sequences and escapes straddle the 16- and 8-byte scan chunks at every
 * offset. cJSON reads each back to the same bytes. */
static void test_random_strings_exact_buffers(void **state)
{
    (void)state;
    static const char *const atoms[] = {"a", "Z", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f",
                                        "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f", "\xff", "/"};
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 6000; round++) {
        size_t want = (size_t)(rng_next(&seed) % 71);
        char tmp[80];
        size_t len = 0;
        while (len < want) {
            const char *a = atoms[rng_next(&seed) % (sizeof atoms / sizeof atoms[0])];
            size_t k = strlen(a);
            if (len + k > want)
                break;
            memcpy(tmp + len, a, k);
            len += k;
        }
        char *text = malloc(len + 1);
        assert_non_null(text);
        memcpy(text, tmp, len);
        text[len] = '\0';
        /* Storage also of an exact, small size: the string moves to the
         * heap or stays, by its length. */
        size_t cap = 1 + (size_t)(rng_next(&seed) % 120);
        char *store = malloc(cap);
        assert_non_null(store);
        dsp_jw w;
        dsp_jw_init_in(&w, store, cap);
        dsp_jw_str(&w, text);
        char *out = dsp_jw_take(&w);
        assert_non_null(out);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        assert_true(cJSON_IsString(j));
        assert_int_equal(strlen(j->valuestring), len);
        assert_memory_equal(j->valuestring, text, len);
        /* Only the bytes JSON requires are escaped: the rest pass as they are. */
        for (const char *q = out + 1; *q && q[1]; q++) {
            assert_true((unsigned char)*q >= 0x20);
            if (*q == '\\')
                q++;
        }
        cJSON_Delete(j);
        free(out);
        free(store);
        free(text);
    }
}

/* Caller storage of exactly the size of the text plus its NUL, one byte
 * less and one more: the text stays in the storage only when it fits with
 * the NUL, and no byte is written past it (the storage is a heap block of
 * that size, so ASan checks). */
static void test_storage_exact_fit(void **state)
{
    (void)state;
    static const char lit[] = "{\"k\":[1,2,3],\"z\":null}";
    size_t n = sizeof lit - 1;
    for (size_t cap = n - 1; cap <= n + 2; cap++) {
        char *store = malloc(cap);
        assert_non_null(store);
        dsp_jw w;
        dsp_jw_init_in(&w, store, cap);
        dsp_jw_lit(&w, lit);
        assert_true(dsp_jw_finish(&w));
        assert_string_equal(w.buf, lit);
        if (cap >= n + 1)
            assert_ptr_equal(w.buf, store);
        else
            assert_ptr_not_equal(w.buf, store);
        dsp_jw_free(&w);
        free(store);
    }
    /* Strings: a quoted text stays in storage only with room for the scan's
     * slack; either way the result is whole. */
    for (size_t cap = 1; cap < 90; cap++) {
        char *store = malloc(cap);
        assert_non_null(store);
        dsp_jw w;
        dsp_jw_init_in(&w, store, cap);
        dsp_jw_str(&w, "0123456789abcdef0123456789abcdef\n");
        dsp_jw_int(&w, -7);
        char *out = dsp_jw_take(&w);
        assert_string_equal(out, "\"0123456789abcdef0123456789abcdef\\n\"-7");
        free(out);
        free(store);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_round_trip),
        cmocka_unit_test(test_control_characters_are_escaped),
        cmocka_unit_test(test_escapes_at_every_position),
        cmocka_unit_test(test_caller_storage),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_scan_kind),
        cmocka_unit_test(test_writer_reused_after_take),
        cmocka_unit_test(test_random_strings_exact_buffers),
        cmocka_unit_test(test_storage_exact_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
