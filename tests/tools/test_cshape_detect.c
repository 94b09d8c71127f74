/* tests/tools/test_cshape_detect.c — what dsp-cshape calls an absolute
 * path or an API key, and, as important, what it leaves alone: generated
 * code holds URLs, relative paths, content hashes and prompt text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cshape.h"

static void expect_path(const char *s, const char *want)
{
    size_t at = 0, n = cshape_find_abs_path(s, strlen(s), &at);
    if (!want) {
        if (n) fail_msg("'%s': unexpected path at %zu ('%.*s')", s, at, (int)n, s + at);
        return;
    }
    if (n != strlen(want) || strncmp(s + at, want, n) != 0)
        fail_msg("'%s': found '%.*s', want '%s'", s, (int)n, s + at, want);
}

static void expect_secret(const char *s, const char *want, const char *why_part)
{
    size_t at = 0;
    const char *why = NULL;
    size_t n = cshape_find_secret(s, strlen(s), &at, &why);
    if (!want) {
        if (n) fail_msg("'%s': unexpected secret '%.*s' (%s)", s, (int)n, s + at, why);
        return;
    }
    if (n != strlen(want) || strncmp(s + at, want, n) != 0)
        fail_msg("'%s': found '%.*s', want '%s'", s, (int)n, s + at, want);
    assert_non_null(strstr(why, why_part));
}

static void test_absolute_paths(void **state)
{
    (void)state;
    expect_path("/home/alice/data.jsonl", "/home/alice/data.jsonl");
    expect_path("open /tmp/x now", "/tmp/x");
    expect_path("file:///Users/bob/a.txt", "/Users/bob/a.txt");
    expect_path("--cache-dir=/var/cache/dspcc", "/var/cache/dspcc");
    expect_path("C:\\\\Users\\\\bob", "C:\\\\Users\\\\bob");
    expect_path("d:/data/x.csv", "d:/data/x.csv");
    expect_path("/work/main/build", "/work/main/build");
}

static void test_not_paths(void **state)
{
    (void)state;
    expect_path("data/train.jsonl", NULL);
    expect_path("/v1/chat/completions", NULL);
    expect_path("https://api.example.com/home/x", NULL);  /* a URL's path */
    expect_path("http://localhost:8080/", NULL);
    expect_path("and/or", NULL);
    expect_path("Answer: yes/no", NULL);
    expect_path("/home", NULL);                           /* no file below it */
    expect_path("ratio 3:/4", NULL);
}

static void test_keys(void **state)
{
    (void)state;
    expect_secret("Bearer sk-proj-notarealkey0000000000000000", "sk-proj-notarealkey0000000000000000",
                  "OpenAI");
    expect_secret("sk-ant-api03-notarealkeyeither000000000", "sk-ant-api03-notarealkeyeither000000000",
                  "Anthropic");
    expect_secret("id AKIAIOSFODNN7EXAMPLE.", "AKIAIOSFODNN7EXAMPLE", "AWS");
    expect_secret("ghp_notarealtoken00000000000000", "ghp_notarealtoken00000000000000", "GitHub");
    expect_secret("token=Xq9LmT2vB8nR4kW7pZ1sD6fH3jY5gC0a;", "Xq9LmT2vB8nR4kW7pZ1sD6fH3jY5gC0a",
                  "random");
    expect_secret("-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY", "PEM");
}

static void test_not_keys(void **state)
{
    (void)state;
    /* A sha256 content hash: lowercase hex. */
    expect_secret("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", NULL, NULL);
    expect_secret("ChainOfThought_ClassifyTicket_v2_DemoSet3", NULL, NULL);
    expect_secret("TicketClassifierPredictStepInstructions", NULL, NULL);
    expect_secret("Classify a customer support ticket. Answer with one of: billing.", NULL, NULL);
    expect_secret("sk-short", NULL, NULL);                       /* too short to be a key */
    expect_secret("risk-assessment-of-the-customer-request", NULL, NULL); /* "sk-" mid-word */
    expect_secret("123e4567-e89b-12d3-a456-426614174000", NULL, NULL);   /* a UUID */
    expect_secret("", NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_paths),
        cmocka_unit_test(test_not_paths),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_not_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
