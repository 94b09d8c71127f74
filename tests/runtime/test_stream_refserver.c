/* test_stream_refserver.c — dsp_chat streaming against the reference LM
 * server (build/dsp-refserver, a test fixture) in each streaming wire
 * format (OpenAI-compatible, Azure, Anthropic, Gemini, Bedrock's
 * ConverseStream): the text arrives in several pieces and the response
 * equals the plain call's; a cached reply is replayed; a stream cut off
 * half way fails and is not cached; a cancel stops the call without
 * counting as a failure; a Bedrock stream signed with SigV4 equals the
 * plain call, and one that ends in an exception message before any text
 * is retried. Skips (does not pass) when the fixture has not been built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/client.h"

#include "../support/refserver_proc.h"

static char bin[512];

typedef struct server {
    rs_proc p;
    char base[64]; /* no path: each provider keeps its own */
} server;

static void start(server *s, const char *const *args)
{
    if (!rs_proc_start(&s->p, args))
        fail_msg("%s printed no port", bin);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", s->p.port);
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
    dsp_client *c = NULL;
    dsp_error err = {0};
    if (dsp_client_new(&o, &c, &err) != DSP_OK)
        fail_msg("%s", err.message);
    return c;
}

static const char sys_prompt[] =
    "Your input fields are:\n1. `ticket_text` (string): Raw text of the customer support ticket\n"
    "Your output fields are:\n1. `reasoning` (string)\n2. `category` (enum): One of the four queues\n\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
    "[[ ## ticket_text ## ]]\n{ticket_text}\n\n[[ ## reasoning ## ]]\n{reasoning}\n\n[[ ## category ## ]]\n"
    "{category}        # note: the value you produce must exactly match (no extra characters) one of: billing; "
    "account; orders; general\n\n[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n"
    "        Classify a customer support ticket.";
static const char user_text[] =
    "[[ ## ticket_text ## ]]\nI was charged twice this month, please refund the second charge\n\n"
    "Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then "
    "`[[ ## category ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.";
static const dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = (char *)sys_prompt},
                                    {.role = DSP_ROLE_USER, .content = (char *)user_text}};

typedef struct got {
    char text[8192];
    size_t len;
    int pieces;
    int cancel_at;
} got;

static int on_text(void *ctx, const char *s, size_t n)
{
    got *g = ctx;
    assert_true(g->len + n < sizeof g->text);
    memcpy(g->text + g->len, s, n);
    g->len += n;
    g->text[g->len] = '\0';
    g->pieces++;
    return g->cancel_at && g->pieces >= g->cancel_at;
}

static dsp_chat_request request(got *g)
{
    dsp_chat_request r;
    memset(&r, 0, sizeof r);
    r.messages = msgs;
    r.n_messages = 2;
    r.params = dsp_lm_params_default();
    r.params.temperature = 0;
    if (g) {
        r.on_text = on_text;
        r.on_text_ctx = g;
    }
    return r;
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

static const char *const models[] = {"openai/gpt-4o-mini", "azure/my-deployment", "anthropic/claude-3-5-haiku-latest",
                                     "gemini/gemini-2.0-flash", "bedrock/anthropic.claude-3-haiku-20240307-v1:0"};

static void test_each_stream_equals_the_plain_reply(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    start(&s, NULL);
    dsp_client *c = client(NULL, 0);
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        dsp_lm_config lm = lm_at(models[i], s.base);
        dsp_chat_request plain_req = request(NULL);
        dsp_chat_response plain, streamed;
        dsp_error err = {0};
        if (dsp_chat(c, &lm, &plain_req, &plain, &err) != DSP_OK)
            fail_msg("%s plain: %s", models[i], err.message);
        got g = {0};
        dsp_chat_request sreq = request(&g);
        if (dsp_chat(c, &lm, &sreq, &streamed, &err) != DSP_OK)
            fail_msg("%s streamed: %s", models[i], err.message);
        assert_int_equal(streamed.n_choices, 1);
        assert_string_equal(streamed.choices[0], plain.choices[0]);
        assert_string_equal(g.text, plain.choices[0]);
        if (g.pieces < 3)
            fail_msg("%s: the text came in %d pieces", models[i], g.pieces);
        assert_int_equal(streamed.usage.prompt_tokens, plain.usage.prompt_tokens);
        assert_int_equal(streamed.usage.completion_tokens, plain.usage.completion_tokens);
        assert_true(plain.usage.prompt_tokens > 0);
        dsp_chat_response_free(&plain);
        dsp_chat_response_free(&streamed);
    }
    dsp_client_free(c);
    stop(&s);
}

static void test_a_cached_reply_replays_and_only_whole_streams_are_cached(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    char dir[] = "/tmp/dsp-stream-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    server s;
    start(&s, NULL);
    dsp_client *c = client(dir, 0);
    dsp_lm_config lm = lm_at("anthropic/claude-3-5-haiku-latest", s.base);
    got first = {0}, again = {0};
    dsp_chat_request r1 = request(&first), r2 = request(&again);
    dsp_chat_response a, b;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &r1, &a, &err), DSP_OK);
    assert_false(a.cache_hit);
    assert_int_equal(dsp_chat(c, &lm, &r2, &b, &err), DSP_OK);
    assert_true(b.cache_hit);
    assert_int_equal(again.pieces, 1); /* replayed whole */
    assert_string_equal(again.text, first.text);
    assert_string_equal(b.choices[0], a.choices[0]);
    dsp_chat_response_free(&a);
    dsp_chat_response_free(&b);
    dsp_client_free(c);
    stop(&s);

    /* A server that cuts every stream half way: the call fails, and the
     * next one asks again (nothing was cached). */
    static const char *const cut[] = {"--fail-rate", "1", "--fail-kinds", "truncate", NULL};
    start(&s, cut);
    c = client(dir, 2);
    dsp_lm_config cut_lm = lm_at("openai/gpt-4o-mini", s.base);
    for (int k = 0; k < 2; k++) {
        got g = {0};
        dsp_chat_request r = request(&g);
        dsp_status st = dsp_chat(c, &cut_lm, &r, &a, &err);
        assert_int_equal(st, DSP_ERR_NETWORK);
        assert_null(a.choices);
        if (!strstr(err.message, "not retried") || g.len == 0)
            fail_msg("%s (%zu bytes handed on)", err.message, g.len);
        dsp_error_clear(&err);
    }
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.cache_hits, 0);
    assert_int_equal(u.http_requests, 2); /* text was handed on: not retried */
    dsp_client_free(c);
    stop(&s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_a_cancel_stops_the_call_and_is_no_failure(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    server s;
    start(&s, NULL);
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.breaker_after = 2;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_lm_config lm = lm_at("gemini/gemini-2.0-flash", s.base);
    for (int k = 0; k < 3; k++) {
        got g = {.cancel_at = 1};
        dsp_chat_request r = request(&g);
        dsp_chat_response resp;
        assert_int_equal(dsp_chat(c, &lm, &r, &resp, &err), DSP_ERR_CANCELLED);
        assert_int_equal(g.pieces, 1);
        assert_null(resp.choices);
        assert_non_null(strstr(err.message, "cancelled"));
        dsp_error_clear(&err);
    }
    assert_false(dsp_client_stopped(c, NULL, 0)); /* three cancels do not trip a breaker of 2 */
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, 0);
    assert_int_equal(u.http_requests, 3);
    dsp_client_free(c);
    stop(&s);
}

/* Signed as Converse is (the fixture checks the SigV4 headers' form on
 * converse-stream too); a stream that fails with a
 * serviceUnavailableException before any text is asked again, one cut off
 * after text was handed on is not. */
static void test_bedrock_streams_signed_and_its_exceptions_are_retried(void **state)
{
    (void)state;
    RS_PROC_NEED(bin);
    setenv("AWS_ACCESS_KEY_ID", "AKIDSTREAMEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "stream-secret-not-real-0123456789", 1);
    setenv("AWS_SESSION_TOKEN", "stream-session-token", 1);
    server s;
    start(&s, NULL);
    dsp_client *c = client(NULL, 0);
    dsp_lm_config lm = lm_at("bedrock/anthropic.claude-3-haiku-20240307-v1:0", s.base);
    dsp_chat_request plain_req = request(NULL);
    dsp_chat_response plain, streamed;
    dsp_error err = {0};
    if (dsp_chat(c, &lm, &plain_req, &plain, &err) != DSP_OK)
        fail_msg("plain: %s", err.message);
    got g = {0};
    dsp_chat_request r = request(&g);
    if (dsp_chat(c, &lm, &r, &streamed, &err) != DSP_OK)
        fail_msg("streamed: %s", err.message);
    assert_string_equal(streamed.choices[0], plain.choices[0]);
    assert_true(g.pieces >= 3);
    dsp_chat_response_free(&plain);
    dsp_chat_response_free(&streamed);
    dsp_client_free(c);
    stop(&s);

    static const char *const unavailable[] = {"--fail-rate", "1", "--fail-kinds", "503", NULL};
    start(&s, unavailable);
    c = client(NULL, 2);
    got none = {0};
    dsp_chat_request r2 = request(&none);
    assert_int_equal(dsp_chat(c, &lm, &r2, &streamed, &err), DSP_ERR_NETWORK);
    if (!strstr(err.message, "serviceUnavailableException: The service is unavailable"))
        fail_msg("%s", err.message);
    assert_null(strstr(err.message, "stream-secret"));
    assert_int_equal(none.len, 0);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.http_requests, 3); /* no text handed on: retried twice */
    dsp_error_clear(&err);
    dsp_client_free(c);
    stop(&s);

    static const char *const cut[] = {"--fail-rate", "1", "--fail-kinds", "truncate", NULL};
    start(&s, cut);
    c = client(NULL, 2);
    got part = {0};
    dsp_chat_request r3 = request(&part);
    assert_int_equal(dsp_chat(c, &lm, &r3, &streamed, &err), DSP_ERR_NETWORK);
    if (!strstr(err.message, "not retried") || part.len == 0)
        fail_msg("%s (%zu bytes handed on)", err.message, part.len);
    u = dsp_client_usage(c);
    assert_int_equal(u.http_requests, 1);
    dsp_error_clear(&err);
    dsp_client_free(c);
    stop(&s);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_stream_equals_the_plain_reply),
        cmocka_unit_test(test_a_cached_reply_replays_and_only_whole_streams_are_cached),
        cmocka_unit_test(test_a_cancel_stops_the_call_and_is_no_failure),
        cmocka_unit_test(test_bedrock_streams_signed_and_its_exceptions_are_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
