/* test_secret.c — pieces of an API key are found and blanked wherever they
 * sit (runtime/src/secret.c): the whole key, a prefix cut short, a piece
 * from the middle, pieces touching or overlapping; shorter runs and text
 * without the key are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/secret.h"

static const char *KEY = "sk-canary-XY7q2Lm9Zp4Rt6Vw8Bn1Cd3Fg5Hj0Kk";

static char *redacted(const char *text)
{
    char *s = strdup(text);
    dsp_secret_redact(s, strlen(s), KEY);
    return s;
}

static void test_whole_key_and_prefix(void **state)
{
    (void)state;
    char *s = redacted("Incorrect API key provided: sk-canary-XY7q2Lm9Zp4Rt6Vw8Bn1Cd3Fg5Hj0Kk.");
    assert_string_equal(s, "Incorrect API key provided: *****************************************.");
    free(s);
    /* Cut at 12 characters, as a provider's error quoting it might be. */
    s = redacted("quoted: sk-canary-XY");
    assert_string_equal(s, "quoted: ************");
    free(s);
}

static void test_middle_piece_and_short_runs(void **state)
{
    (void)state;
    char *s = redacted("tail Zp4Rt6Vw8B here; 7-byte Zp4Rt6V stays; Kk0jH no");
    assert_string_equal(s, "tail ********** here; 7-byte Zp4Rt6V stays; Kk0jH no");
    free(s);
    assert_true(dsp_secret_found("x Lm9Zp4Rt y", 12, KEY));
    assert_false(dsp_secret_found("x Lm9Zp4R y", 11, KEY)); /* 7 bytes */
    assert_false(dsp_secret_found("billing", 7, KEY));
    assert_false(dsp_secret_found("sk-canary-XY", 7, KEY)); /* len cuts the text */
}

static void test_touching_pieces(void **state)
{
    (void)state;
    /* Two pieces back to back, and the key twice with one byte between. */
    char *s = redacted("[sk-cana Hj0Kk5H]"); /* 7 bytes each: no piece */
    assert_string_equal(s, "[sk-cana Hj0Kk5H]");
    free(s);
    s = redacted("[sk-canary-XY7Fg5Hj0Kk]");
    assert_string_equal(s, "[*********************]");
    free(s);
    s = redacted("sk-canary-XY7q2Lm9Zp4Rt6Vw8Bn1Cd3Fg5Hj0Kk sk-canary-XY7q2Lm9Zp4Rt6Vw8Bn1Cd3Fg5Hj0Kk");
    for (size_t i = 0; s[i]; i++)
        assert_true(s[i] == '*' || s[i] == ' ');
    free(s);
}

static void test_short_key_matches_whole(void **state)
{
    (void)state;
    char s[] = "key abc12 and abc1";
    dsp_secret_redact(s, strlen(s), "abc12");
    assert_string_equal(s, "key ***** and abc1");
    assert_true(dsp_secret_found("xabc12", 6, "abc12"));
    assert_false(dsp_secret_found("abc1", 4, "abc12"));
}

/* A one-byte placeholder key (OPENAI_API_KEY=x for a local server) is no
 * secret: error messages keep their x's. */
static void test_placeholder_key_left_alone(void **state)
{
    (void)state;
    char s[] = "max_tokens exceeded: x";
    dsp_secret_redact(s, strlen(s), "x");
    assert_string_equal(s, "max_tokens exceeded: x");
    assert_false(dsp_secret_found(s, strlen(s), "x"));
    char t[] = "key abcd here";
    dsp_secret_redact(t, strlen(t), "abcd");
    assert_string_equal(t, "key **** here");
}

/* The piece at every place, 8 to 12 bytes long, in every piece of the key,
 * is found; one byte changed in it, the text holds no piece. */
static void test_found_at_every_offset(void **state)
{
    (void)state;
    size_t klen = strlen(KEY);
    char text[64];
    for (size_t n = 8; n <= 12; n++) {
        for (size_t q = 0; q + n <= klen; q++) {
            for (size_t at = 0; at + n <= 40; at++) {
                memset(text, '.', 40);
                memcpy(text + at, KEY + q, n);
                assert_true(dsp_secret_found(text, 40, KEY));
                assert_true(dsp_secret_found(text + at, n, KEY));
                text[at + n / 2] = '.'; /* no run of 8 left: n <= 12 */
                assert_false(dsp_secret_found(text, 40, KEY));
            }
        }
    }
}

static bool brute_found(const char *s, size_t len, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + 8 <= len; i++)
        for (size_t q = 0; q + 8 <= klen; q++)
            if (memcmp(s + i, key + q, 8) == 0)
                return true;
    return false;
}

/* Texts of key bytes in random order, often holding pieces by chance,
 * agree with a check of every window. */
static void test_found_agrees_with_every_window(void **state)
{
    (void)state;
    const char *key = "ab0ab1ab0ab2ab0ab3"; /* repeated windows */
    uint32_t r = 12345;
    char text[48];
    int hits = 0;
    for (int t = 0; t < 20000; t++) {
        size_t len = (size_t)(t % 48);
        size_t run = 0, from = 0;
        for (size_t i = 0; i < len; i++) {
            r = r * 1103515245u + 12345u;
            if (run == 0) {
                from = (r >> 8) % strlen(key);
                run = 1 + (r >> 20) % 12;
            }
            text[i] = key[from++ % strlen(key)];
            run--;
        }
        bool want = brute_found(text, len, key);
        hits += want;
        assert_int_equal(dsp_secret_found(text, len, key), want);
    }
    assert_true(hits > 1000 && hits < 19000); /* both kinds were tried */
}

static void test_error_record(void **state)
{
    (void)state;
    dsp_error err = {0};
    dsp_error_set(&err, DSP_ERR_HTTP, "HTTP 401: Incorrect API key provided: sk-canary-XY7q2Lm9");
    dsp_error_set_raw(&err, "{\"key\":\"n1Cd3Fg5Hj0Kk\"}", 23);
    dsp_secret_redact_error(&err, KEY);
    assert_null(strstr(err.message, "canary"));
    assert_string_equal(err.raw, "{\"key\":\"*************\"}");
    /* What an earlier attempt left after the message's end is blanked too. */
    dsp_error_set(&err, DSP_ERR_HTTP, "x");
    memcpy(err.message + 2, "sk-canary-XY7q", 14);
    dsp_secret_redact_error(&err, KEY);
    assert_false(dsp_secret_found(err.message, sizeof err.message, KEY));
    /* ... to zeroes: not scanned, as in an error never zeroed they would
     * be bytes never written (valgrind: a jump on uninitialised values). */
    for (size_t i = 1; i < sizeof err.message; i++)
        assert_int_equal(err.message[i], 0);
    dsp_error_clear(&err);
    dsp_secret_redact_error(NULL, KEY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_key_and_prefix),
        cmocka_unit_test(test_middle_piece_and_short_runs),
        cmocka_unit_test(test_touching_pieces),
        cmocka_unit_test(test_short_key_matches_whole),
        cmocka_unit_test(test_placeholder_key_left_alone),
        cmocka_unit_test(test_found_at_every_offset),
        cmocka_unit_test(test_found_agrees_with_every_window),
        cmocka_unit_test(test_error_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
