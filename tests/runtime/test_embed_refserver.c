/* test_embed_refserver.c — dsp_embed against the reference fixture
 * (build/dsp-refserver, its bag-of-words /v1/embeddings): vectors of the
 * asked length whose neighbours share words, batches of DSP_EMBED_BATCH,
 * the cache (one row per input, apart from chat replies), injected faults
 * retried to the same vectors, errors that surface at once, and no piece
 * of the key in an error. Skips when the fixture is not built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/client.h"
#include "dsp/embed.h"

#include "../support/refserver_proc.h"

static char bin[512];

typedef struct server {
    rs_proc p;
    char base[64];
} server;

static void start(server *s, const char *const *args)
{
    if (!rs_proc_start(&s->p, args))
        fail_msg("%s printed no port", bin);
    rs_proc_base_url(&s->p, s->base, sizeof s->base);
}

static void stop(server *s)
{
    rs_proc_stop(&s->p, 10000, NULL);
}

static dsp_client *client(const char *cache_dir, int retries)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = cache_dir == NULL;
    o.cache_dir = cache_dir;
    o.backoff_base_s = 0.01;
    o.max_retries = retries;
    o.timeout_s = 1.0;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    return c;
}

static dsp_lm_config lm_at(const char *model, const char *base)
{
    dsp_lm_config lm;
    memset(&lm, 0, sizeof lm);
    lm.model = model;
    lm.base_url = base;
    lm.params = dsp_lm_params_default();
    return lm;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static const char *const texts[] = {
    "I want a refund for my order",
    "please refund the order I placed",
    "how do I change my shipping address",
};

static void test_vectors_have_the_length_asked_and_neighbours_share_words(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    start(&s, NULL);
    dsp_client *c = client(NULL, 0);
    dsp_lm_config lm = lm_at("openai/text-embedding-3-small", s.base);
    dsp_embed_options o = {.dimensions = 64};
    dsp_embeddings e;
    dsp_error err = {0};
    assert_int_equal(dsp_embed(c, &lm, texts, 3, &o, &e, &err), DSP_OK);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.dim, 64);
    for (size_t i = 0; i < 3; i++)
        assert_true(fabs(dot(e.vectors + i * 64, e.vectors + i * 64, 64) - 1.0) < 1e-5);
    assert_true(dot(e.vectors, e.vectors + 64, 64) > dot(e.vectors, e.vectors + 128, 64) + 0.3);
    assert_true(e.usage.prompt_tokens > 0);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.http_requests, 1);
    assert_int_equal(u.prompt_tokens, e.usage.prompt_tokens);
    dsp_embeddings_free(&e);
    /* Without dimensions: the fixture's own length, 256. */
    assert_int_equal(dsp_embed(c, &lm, texts, 1, NULL, &e, &err), DSP_OK);
    assert_int_equal(e.dim, 256);
    dsp_embeddings_free(&e);
    dsp_client_free(c);
    stop(&s);
}

enum { MANY = 300 };

static void test_inputs_go_in_batches_and_come_back_in_order(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    start(&s, NULL);
    dsp_client *c = client(NULL, 0);
    dsp_lm_config lm = lm_at("openai/emb", s.base);
    static char store[MANY][48];
    const char *many[MANY];
    for (int i = 0; i < MANY; i++) {
        snprintf(store[i], sizeof store[i], "ticket number %d about word%d", i, i % 7);
        many[i] = store[i];
    }
    dsp_embed_options o = {.dimensions = 32};
    dsp_embeddings all, one;
    dsp_error err = {0};
    assert_int_equal(dsp_embed(c, &lm, many, MANY, &o, &all, &err), DSP_OK);
    assert_int_equal(dsp_client_usage(c).http_requests, (MANY + DSP_EMBED_BATCH - 1) / DSP_EMBED_BATCH);
    for (int i = 0; i < MANY; i += 97) {
        assert_int_equal(dsp_embed(c, &lm, &many[i], 1, &o, &one, &err), DSP_OK);
        assert_memory_equal(one.vectors, all.vectors + (size_t)i * 32, 32 * sizeof(float));
        dsp_embeddings_free(&one);
    }
    dsp_embeddings_free(&all);
    dsp_client_free(c);
    stop(&s);
}

static void test_the_cache_answers_each_input_apart_from_chat(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    char dir[] = "/tmp/dsp-embed-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    server s;
    start(&s, NULL);
    dsp_lm_config lm = lm_at("openai/emb", s.base);
    dsp_embed_options o = {.dimensions = 16};
    dsp_embeddings first, again;
    dsp_error err = {0};
    dsp_client *c = client(dir, 0);
    assert_int_equal(dsp_embed(c, &lm, texts, 2, &o, &first, &err), DSP_OK);
    assert_int_equal(first.cache_hits, 0);
    dsp_client_free(c);
    stop(&s); /* the server is gone: only the cache can answer */

    c = client(dir, 0);
    assert_int_equal(dsp_embed(c, &lm, texts, 2, &o, &again, &err), DSP_OK);
    assert_int_equal(again.cache_hits, 2);
    assert_memory_equal(first.vectors, again.vectors, 2 * 16 * sizeof(float));
    assert_int_equal(again.usage.prompt_tokens, first.usage.prompt_tokens);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.http_requests, 0);
    assert_int_equal(u.cache_hits, 2);
    assert_int_equal(u.cached_prompt_tokens, first.usage.prompt_tokens);
    dsp_embeddings_free(&again);
    /* One input the cache does not hold (a third text; other dimensions)
     * goes to the server, which is down: the call fails. */
    assert_int_not_equal(dsp_embed(c, &lm, texts, 3, &o, &again, &err), DSP_OK);
    dsp_embed_options o8 = {.dimensions = 8};
    assert_int_not_equal(dsp_embed(c, &lm, texts, 1, &o8, &again, &err), DSP_OK);
    /* A chat call whose message is an embedded text is no hit. */
    dsp_message m = {.role = DSP_ROLE_USER, .content = (char *)texts[0]};
    dsp_chat_request req = {.messages = &m, .n_messages = 1, .params = dsp_lm_params_default()};
    dsp_chat_response r;
    assert_int_not_equal(dsp_chat(c, &lm, &req, &r, &err), DSP_OK);
    dsp_error_clear(&err);
    dsp_embeddings_free(&first);
    dsp_client_free(c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_faults_are_retried_to_the_same_vectors(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server clean;
    start(&clean, NULL);
    dsp_client *c = client(NULL, 10);
    dsp_lm_config lm = lm_at("openai/emb", clean.base);
    dsp_embed_options o = {.dimensions = 24};
    dsp_embeddings want, got;
    dsp_error err = {0};
    assert_int_equal(dsp_embed(c, &lm, texts, 3, &o, &want, &err), DSP_OK);
    stop(&clean);
    const char *args[] = {"--fail-rate", "0.6", "--fail-kinds", "429,500,503,truncate,badjson,hang",
                          "--retry-after-ms", "50", "--hang-ms", "2000", "--seed", "5", NULL};
    server faulty;
    start(&faulty, args);
    lm.base_url = faulty.base;
    for (int round = 0; round < 6; round++) {
        dsp_usage_totals before = dsp_client_usage(c);
        assert_int_equal(dsp_embed(c, &lm, texts, 3, &o, &got, &err), DSP_OK);
        assert_memory_equal(want.vectors, got.vectors, 3 * 24 * sizeof(float));
        dsp_usage_totals after = dsp_client_usage(c);
        assert_int_equal(after.http_requests - before.http_requests, 1 + after.retries - before.retries);
        dsp_embeddings_free(&got);
    }
    assert_true(dsp_client_usage(c).retries >= 2);
    dsp_embeddings_free(&want);
    dsp_client_free(c);
    stop(&faulty);
}

static void test_bad_requests_fail_at_once_and_say_why(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    start(&s, NULL);
    dsp_client *c = client(NULL, 5);
    dsp_lm_config lm = lm_at("openai/emb", s.base);
    dsp_embeddings e;
    dsp_error err = {0};
    const char *empty[] = {"fine", ""};
    assert_int_equal(dsp_embed(c, &lm, empty, 2, NULL, &e, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "text 1 to embed is empty"));
    const char *bad[] = {"caf\xc3"};
    assert_int_equal(dsp_embed(c, &lm, bad, 1, NULL, &e, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "not UTF-8"));
    dsp_lm_config claude = lm_at("anthropic/claude", s.base);
    assert_int_equal(dsp_embed(c, &claude, texts, 1, NULL, &e, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "/v1/embeddings"));
    assert_int_equal(dsp_client_usage(c).http_requests, 0);
    /* The server's 400 is not retried, and its message is kept. */
    dsp_embed_options huge = {.dimensions = 5000};
    assert_int_equal(dsp_embed(c, &lm, texts, 1, &huge, &e, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "dimensions"));
    assert_int_equal(dsp_client_usage(c).http_requests, 1);
    dsp_error_clear(&err);
    dsp_client_free(c);
    stop(&s);
}

static void test_no_piece_of_the_key_in_an_error(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    const char *args[] = {"--echo-key", "error", NULL};
    server s;
    start(&s, args);
    const char *key = "sk-embed-0123456789abcdefghijklmnop";
    setenv("DSP_TEST_EMBED_KEY", key, 1);
    dsp_client *c = client(NULL, 0);
    dsp_lm_config lm = lm_at("openai/emb", s.base);
    lm.api_key_env = "DSP_TEST_EMBED_KEY";
    dsp_embeddings e;
    dsp_error err = {0};
    assert_int_equal(dsp_embed(c, &lm, texts, 1, NULL, &e, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 401);
    assert_null(strstr(err.message, "0123456789"));
    assert_null(strstr(err.message, "sk-embed"));
    assert_non_null(strstr(err.message, "Incorrect API key"));
    dsp_error_clear(&err);
    dsp_client_free(c);
    unsetenv("DSP_TEST_EMBED_KEY");
    stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_have_the_length_asked_and_neighbours_share_words),
        cmocka_unit_test(test_inputs_go_in_batches_and_come_back_in_order),
        cmocka_unit_test(test_the_cache_answers_each_input_apart_from_chat),
        cmocka_unit_test(test_faults_are_retried_to_the_same_vectors),
        cmocka_unit_test(test_bad_requests_fail_at_once_and_say_why),
        cmocka_unit_test(test_no_piece_of_the_key_in_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
