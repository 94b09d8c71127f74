/* test_client_e2e.c — dsp_client against a stub LM server on 127.0.0.1
 * (libmicrohttpd, in this file) whose faults are chosen per test by the
 * first path segment of the base URL: retries with backoff, Retry-After,
 * permanent errors with the provider's message, timeouts, truncated and
 * malformed replies, 64 requests in flight with results in order, the
 * cache, and the API key never leaking. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsp/client.h"
#include "dsp/embed.h"
#include "../../runtime/src/cache.h"
#include "../support/stub_http.h"

#define TEST_KEY "sk-dsptest-KEY-5f0c9a7e3b21"

/* ---- the stub server ---------------------------------------------------- */

typedef struct stub {
    struct MHD_Daemon *d;
    unsigned short port;
    atomic_int requests;
    atomic_int in_flight, peak;
    atomic_bool stopping;
    pthread_mutex_t lock;
    char auth[512];     /* last Authorization or x-api-key header seen */
    char version[64];   /* last anthropic-version header seen */
} stub;

typedef stub_upload upload;

static stub S;

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *body, const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends the first bytes of a reply that announced more, then drops the
 * connection: a body cut short. */
static ssize_t truncated_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= 10)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = max < 10 ? max : 10;
    memcpy(buf, "{\"choices\"", n);
    return (ssize_t)n;
}

/* A whole OpenAI stream, end marker included, then the connection held
 * open (3 s, or until the test stops the server): a broken server or proxy. */
static ssize_t held_stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    static const char sse[] = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"category: \"}}]}\n\n"
                              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"billing\"}}]}\n\n"
                              "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3}}\n\n"
                              "data: [DONE]\n\n";
    if (pos < sizeof sse - 1) {
        size_t n = sizeof sse - 1 - pos < max ? sizeof sse - 1 - pos : max;
        memcpy(buf, sse + pos, n);
        return (ssize_t)n;
    }
    for (int i = 0; i < 300 && !atomic_load(&S.stopping); i++)
        usleep(10 * 1000);
    return MHD_CONTENT_READER_END_OF_STREAM;
}

/* The text of the last message: OpenAI content string or Anthropic block. */
static char *last_text(const char *body, size_t len, int *n_out)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    cJSON *content = cJSON_GetObjectItem(last, "content");
    if (cJSON_IsArray(content))
        content = cJSON_GetObjectItem(cJSON_GetArrayItem(content, 0), "text");
    cJSON *n = cJSON_GetObjectItem(j, "n");
    *n_out = cJSON_IsNumber(n) ? n->valueint : 1;
    char *s = strdup(cJSON_IsString(content) ? content->valuestring : "?");
    cJSON_Delete(j);
    return s;
}

static enum MHD_Result reply_ok(struct MHD_Connection *conn, const char *url, const upload *u)
{
    int n = 1;
    char *text = last_text(u->buf, u->len, &n);
    cJSON *root = cJSON_CreateObject();
    if (strstr(url, "/messages")) {
        cJSON_AddStringToObject(root, "type", "message");
        cJSON *content = cJSON_AddArrayToObject(root, "content");
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "text");
        char buf[512];
        snprintf(buf, sizeof buf, "echo:%s", text);
        cJSON_AddStringToObject(b, "text", buf);
        cJSON_AddItemToArray(content, b);
        cJSON *usage = cJSON_AddObjectToObject(root, "usage");
        cJSON_AddNumberToObject(usage, "input_tokens", 10);
        cJSON_AddNumberToObject(usage, "output_tokens", 3);
    } else {
        cJSON *choices = cJSON_AddArrayToObject(root, "choices");
        for (int i = 0; i < n; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "index", i);
            cJSON *m = cJSON_AddObjectToObject(c, "message");
            cJSON_AddStringToObject(m, "role", "assistant");
            char buf[512];
            snprintf(buf, sizeof buf, "echo:%s#%d", text, i);
            cJSON_AddStringToObject(m, "content", buf);
            cJSON_AddItemToArray(choices, c);
        }
        cJSON *usage = cJSON_AddObjectToObject(root, "usage");
        cJSON_AddNumberToObject(usage, "prompt_tokens", 10);
        cJSON_AddNumberToObject(usage, "completion_tokens", 3);
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(text);
    enum MHD_Result r = respond(conn, 200, body, NULL);
    free(body);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)method;
    enum MHD_Result more;
    upload *u = stub_http_body(con_cls, data, data_size, &more);
    if (!u)
        return more;
    int nth = atomic_fetch_add(&S.requests, 1); /* 0 for the first request */
    int now = atomic_fetch_add(&S.in_flight, 1) + 1;
    int peak = atomic_load(&S.peak);
    while (now > peak && !atomic_compare_exchange_weak(&S.peak, &peak, now)) {
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth)
        auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
    const char *ver = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "anthropic-version");
    pthread_mutex_lock(&S.lock);
    snprintf(S.auth, sizeof S.auth, "%s", auth ? auth : "");
    snprintf(S.version, sizeof S.version, "%s", ver ? ver : "");
    pthread_mutex_unlock(&S.lock);

    enum MHD_Result r;
    if (strncmp(url, "/after1/", 8) == 0 && nth == 0) {
        r = respond(conn, 429, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}", "1");
    } else if (strncmp(url, "/after_ms/", 10) == 0 && nth == 0) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Retry-After", "3");
        MHD_add_response_header(resp, "retry-after-ms", "250");
        r = MHD_queue_response(conn, 429, resp);
        MHD_destroy_response(resp);
    } else if (strncmp(url, "/fail2/", 7) == 0 && nth < 2) {
        r = respond(conn, nth == 0 ? 500 : 503, "{\"error\":{\"message\":\"try later\",\"type\":\"server_error\"}}",
                    NULL);
    } else if (strncmp(url, "/always503/", 11) == 0) {
        r = respond(conn, 503, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
                    NULL);
    } else if (strncmp(url, "/e401/", 6) == 0) {
        /* Like OpenAI, echo part of the key back in the message. */
        char body[512];
        snprintf(body, sizeof body,
                 "{\"error\":{\"message\":\"Incorrect API key provided: %s.\",\"type\":\"invalid_request_error\"}}",
                 auth ? auth : "");
        r = respond(conn, 401, body, NULL);
    } else if (strncmp(url, "/echo503/", 9) == 0 && nth == 0) {
        /* Overloaded, quoting the request's key; the retry then succeeds. */
        char body[512];
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"overloaded (key %s)\",\"type\":\"server_error\"}}",
                 auth ? auth : "");
        r = respond(conn, 503, body, NULL);
    } else if (strncmp(url, "/e400/", 6) == 0) {
        r = respond(conn, 400,
                    "{\"error\":{\"message\":\"max_tokens is too large\",\"type\":\"invalid_request_error\"}}",
                    NULL);
    } else if (strncmp(url, "/e408/", 6) == 0) {
        r = respond(conn, 408, "{\"error\":{\"message\":\"request timeout\"}}", NULL);
    } else if (strncmp(url, "/embedmix/", 10) == 0) {
        /* Embeddings: first vectors of two lengths (garbage), then good ones. */
        r = respond(conn, 200,
                    nth == 0 ? "{\"object\":\"list\",\"data\":[{\"index\":0,\"embedding\":[1,0,0]},"
                               "{\"index\":1,\"embedding\":[0,1,0,0]}],\"usage\":{\"prompt_tokens\":4}}"
                             : "{\"object\":\"list\",\"data\":[{\"index\":0,\"embedding\":[1,0,0]},"
                               "{\"index\":1,\"embedding\":[0,1,0]}],\"usage\":{\"prompt_tokens\":4}}",
                    NULL);
    } else if (strncmp(url, "/heldstream/", 12) == 0) {
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, held_stream_reader,
                                                                      NULL, NULL);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        r = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
    } else if (strncmp(url, "/deepjson/", 10) == 0) {
        /* A reply whose API JSON nests 100,000 arrays deep (a hostile
         * server): parsed in a fiber of the event loop, on its own stack. */
        enum { DEPTH = 100000 };
        static const char head[] = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                                   "\"content\":\"category: billing\"}}],\"junk\":";
        size_t n = sizeof head - 1;
        char *body = malloc(n + 2 * DEPTH + 2);
        memcpy(body, head, n);
        memset(body + n, '[', DEPTH);
        memset(body + n + DEPTH, ']', DEPTH);
        memcpy(body + n + 2 * DEPTH, "}", 2);
        r = respond(conn, 200, body, NULL);
        free(body);
    } else if (strncmp(url, "/toolkey/", 9) == 0) {
        /* A native tool call whose arguments quote the request's key. */
        char body[1024];
        snprintf(body, sizeof body,
                 "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                 "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"search\","
                 "\"arguments\":\"{\\\"q\\\":\\\"%s\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
                 "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3}}",
                 auth ? auth : "");
        r = respond(conn, 200, body, NULL);
    } else if (strncmp(url, "/e404/", 6) == 0) {
        r = respond(conn, 404,
                    "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model: nope\"}}", NULL);
    } else if (strncmp(url, "/hang/", 6) == 0) {
        /* Hang for 3 s, or until the test stops the server. */
        for (int i = 0; i < 300 && !atomic_load(&S.stopping); i++)
            usleep(10 * 1000);
        r = reply_ok(conn, url, u);
    } else if (strncmp(url, "/refusal/", 9) == 0) {
        r = respond(conn, 200,
                    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                    "\"refusal\":\"I cannot help with that.\"}}]}",
                    NULL);
    } else if (strncmp(url, "/badjson/", 9) == 0 && nth == 0) {
        r = respond(conn, 200, "{\"choices\": [oops", NULL);
    } else if (strncmp(url, "/truncate/", 10) == 0 && nth == 0) {
        struct MHD_Response *resp = MHD_create_response_from_callback(1000, 64, truncated_reader, NULL, NULL);
        r = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
    } else if (strncmp(url, "/slow/", 6) == 0) {
        usleep(200 * 1000);
        r = reply_ok(conn, url, u);
    } else {
        r = reply_ok(conn, url, u);
    }
    atomic_fetch_sub(&S.in_flight, 1);
    return r;
}

static char tmpdir[128];

static int start(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.lock, NULL);
    unsigned port = 0;
    S.d = stub_http_start(handle, NULL, &port);
    if (!S.d)
        return -1;
    S.port = (unsigned short)port;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp_e2e_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    setenv("DSP_TEST_KEY", TEST_KEY, 1);
    unsetenv("DSPCC_BASE_URL");
    return 0;
}

static int stop(void **state)
{
    (void)state;
    atomic_store(&S.stopping, true);
    MHD_stop_daemon(S.d);
    pthread_mutex_destroy(&S.lock);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------- */

static char base[128];

static const char *base_for(const char *scenario)
{
    snprintf(base, sizeof base, "http://127.0.0.1:%u/%s/v1", S.port, scenario);
    return base;
}

static dsp_client *client(double backoff, int retries, double timeout, bool cache)
{
    dsp_client_options o = dsp_client_options_default();
    o.backoff_base_s = backoff;
    o.max_retries = retries;
    o.timeout_s = timeout;
    o.no_cache = !cache;
    o.cache_dir = tmpdir;
    o.max_in_flight = 64;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    return c;
}

static dsp_lm_config lm_for(const char *model, const char *scenario)
{
    dsp_lm_config lm;
    memset(&lm, 0, sizeof lm);
    lm.model = model;
    lm.base_url = base_for(scenario);
    lm.api_key_env = "DSP_TEST_KEY";
    lm.params = dsp_lm_params_default();
    return lm;
}

static dsp_message one_msg[] = {{.role = DSP_ROLE_SYSTEM, .content = "sys"}, {.role = DSP_ROLE_USER, .content = "hello"}};

static dsp_chat_request request(void)
{
    dsp_chat_request r;
    memset(&r, 0, sizeof r);
    r.messages = one_msg;
    r.n_messages = 2;
    r.params = dsp_lm_params_default();
    return r;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests --------------------------------------------------------------- */

static void test_openai_ok_with_key_and_usage(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, false);
    dsp_lm_config lm = lm_for("openai/gpt-test", "ok");
    dsp_chat_request req = request();
    req.params.n = 2;
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_int_equal(resp.n_choices, 2);
    assert_string_equal(resp.choices[0], "echo:hello#0");
    assert_string_equal(resp.choices[1], "echo:hello#1");
    assert_false(resp.cache_hit);
    assert_string_equal(S.auth, "Bearer " TEST_KEY);
    dsp_chat_response_free(&resp);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, 1);
    assert_int_equal(u.http_requests, 1);
    assert_int_equal(u.retries, 0);
    assert_int_equal(u.prompt_tokens, 10);
    assert_int_equal(u.completion_tokens, 3);
    dsp_client_free(c);
}

/* The costs are counted in whole picodollars (cost_pusd), exact in any
 * order; cost_usd is derived from them. Each call here is 10 prompt tokens
 * at $0.1 and 3 completion tokens at $0.2 per million: 1.6e-6 USD, which
 * no double holds exactly. A cached answer counts in cached_cost_pusd. */
static void test_usage_cost_in_whole_picodollars(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, true);
    dsp_lm_config lm = lm_for("openai/gpt-test", "ok");
    lm.usd_per_mtok_in = 0.1;
    lm.usd_per_mtok_out = 0.2;
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    for (int i = 0; i < 7; i++) {
        req.params.has_seed = true; /* seven distinct calls, none from the cache */
        req.params.seed = i;
        assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
        dsp_chat_response_free(&resp);
    }
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK); /* the last again: a hit */
    assert_true(resp.cache_hit);
    dsp_chat_response_free(&resp);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.cache_hits, 1);
    assert_int_equal(u.cost_pusd, 7 * 1600000);
    assert_int_equal(u.cached_cost_pusd, 1600000);
    assert_true(u.cost_usd == (double)(7 * 1600000) / 1e12);
    assert_true(u.cached_cost_usd == 1.6e-6);
    dsp_client_free(c);
}

/* A prompt larger than the stack buffer request bodies start in (8 KiB),
 * full of characters JSON must escape, reaches the server intact in both
 * wire formats (the stub echoes the start of the last message). */
static void test_large_prompt_body(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, false);
    size_t n = 40000;
    char *text = malloc(n + 1);
    assert_non_null(text);
    static const char mix[] = "ab\"c\\d\ne\tf\x01g"; /* plain bytes and escapes */
    for (size_t i = 0; i < n; i++)
        text[i] = mix[i % (sizeof mix - 1)];
    text[n] = '\0';
    dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = (char *)"be brief"}, {.role = DSP_ROLE_USER, .content = text}};
    const char *models[] = {"openai/gpt-test", "anthropic/claude-test"};
    for (int m = 0; m < 2; m++) {
        dsp_lm_config lm = lm_for(models[m], "ok");
        dsp_chat_request req = request();
        req.messages = msgs;
        req.n_messages = 2;
        dsp_chat_response resp;
        dsp_error err = {0};
        assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
        assert_int_equal(resp.n_choices, 1);
        /* "echo:" and as much of the text as the stub's 512-byte buffer holds. */
        assert_memory_equal(resp.choices[0], "echo:", 5);
        size_t echoed = strlen(resp.choices[0]) - 5;
        assert_true(echoed >= 400);
        assert_memory_equal(resp.choices[0] + 5, text, echoed);
        dsp_chat_response_free(&resp);
    }
    free(text);
    dsp_client_free(c);
}

static void test_anthropic_headers_and_n(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, false);
    dsp_lm_config lm = lm_for("anthropic/claude-test", "ok");
    dsp_chat_request req = request();
    req.params.n = 3; /* no n in the Messages API: three requests */
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_int_equal(resp.n_choices, 3);
    assert_string_equal(resp.choices[2], "echo:hello");
    assert_int_equal(resp.usage.prompt_tokens, 30);
    assert_string_equal(S.auth, TEST_KEY); /* x-api-key */
    assert_string_equal(S.version, "2023-06-01");
    assert_int_equal(atomic_load(&S.requests), 3);
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

static void test_retry_after_is_obeyed(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 3, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "after1");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    double t0 = now_s();
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    double dt = now_s() - t0;
    assert_true(dt >= 0.95); /* Retry-After: 1, although backoff alone would be 10 ms */
    assert_true(dt < 3.0);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.http_requests, 2);
    assert_int_equal(u.retries, 1);
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

static void test_retry_after_ms_is_preferred(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 3, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "after_ms");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    double t0 = now_s();
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    double dt = now_s() - t0;
    assert_true(dt >= 0.24 && dt < 2.5); /* 250 ms, not the 3 s of Retry-After */
    assert_int_equal(dsp_client_usage(c).retries, 1);
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

static void test_5xx_retried_with_backoff(void **state)
{
    (void)state;
    dsp_client *c = client(0.1, 3, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "fail2");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    double t0 = now_s();
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    double dt = now_s() - t0;
    /* Waits of 0.1 and 0.2 s at least (plus up to 50% jitter each). */
    assert_true(dt >= 0.3);
    assert_true(dt < 2.0);
    assert_int_equal(dsp_client_usage(c).retries, 2);
    assert_string_equal(resp.choices[0], "echo:hello#0");
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

static void test_gives_up_after_max_retries(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, false);
    dsp_lm_config lm = lm_for("anthropic/m", "always503");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 503);
    assert_non_null(strstr(err.message, "overloaded_error: Overloaded"));
    assert_non_null(strstr(err.message, "gave up after 3 attempts"));
    assert_int_equal(atomic_load(&S.requests), 3);
    assert_null(resp.choices);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, 0);
    assert_int_equal(u.http_requests, 3);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* The breaker: after breaker_after calls in a row failed the same way the
 * client stops sending, and says why; "ok" replies reset the count, and a
 * negative breaker_after turns it off. */
static void test_breaker_stops_after_repeated_failures(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.backoff_base_s = 0.01;
    o.max_retries = 1;
    o.no_cache = true;
    o.breaker_after = 3;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    /* base_for's URL is in one static buffer: the bad one is copied. */
    dsp_lm_config bad = lm_for("openai/m", "always503");
    char bad_base[128];
    snprintf(bad_base, sizeof bad_base, "%s", bad.base_url);
    bad.base_url = bad_base;
    dsp_lm_config good = lm_for("openai/m", "ok");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    for (int i = 0; i < 2; i++)
        assert_int_equal(dsp_chat(c, &bad, &req, &resp, &err), DSP_ERR_HTTP);
    assert_int_equal(dsp_chat(c, &good, &req, &resp, &err), DSP_OK); /* a success: the count starts again */
    dsp_chat_response_free(&resp);
    for (int i = 0; i < 3; i++)
        assert_int_equal(dsp_chat(c, &bad, &req, &resp, &err), DSP_ERR_HTTP);
    assert_true(dsp_client_stopped(c, NULL, 0));
    int sent = atomic_load(&S.requests);
    assert_int_equal(sent, 2 * 2 + 1 + 3 * 2);
    /* Stopped: nothing more is sent, to any endpoint. */
    assert_int_equal(dsp_chat(c, &good, &req, &resp, &err), DSP_ERR_STOPPED);
    assert_int_equal(atomic_load(&S.requests), sent);
    assert_non_null(strstr(err.message, "3 LM calls in a row failed with a server error (HTTP 5xx)"));
    assert_non_null(strstr(err.message, "after 6 HTTP requests"));
    char why[DSP_ERROR_MESSAGE_MAX];
    assert_true(dsp_client_stopped(c, why, sizeof why));
    assert_non_null(strstr(why, "HTTP 503"));
    dsp_error_clear(&err);
    dsp_client_free(c);

    o.breaker_after = -1;
    o.breaker_rate = -1;
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    for (int i = 0; i < 60; i++)
        assert_int_equal(dsp_chat(c, &bad, &req, &resp, &err), DSP_ERR_HTTP);
    assert_false(dsp_client_stopped(c, NULL, 0));
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A 4xx other than 408 and 429 is a bad request (a model name, a
 * parameter, a key the endpoint refuses), not a dead endpoint: however
 * many there are, in a row or in the window, the breaker does not trip on
 * them, and they do not break a streak of 5xx either. A 408 counts. */
static void test_breaker_ignores_bad_requests(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.backoff_base_s = 0.01;
    o.max_retries = 0;
    o.no_cache = true;
    o.breaker_after = 3;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_chat_request req = request();
    dsp_chat_response resp;
    const char *bad_requests[] = {"e400", "e404", "e401"};
    for (int i = 0; i < 60; i++) {
        dsp_lm_config lm = lm_for("openai/m", bad_requests[i % 3]);
        assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_HTTP);
        assert_false(dsp_client_stopped(c, NULL, 0));
    }
    dsp_lm_config good = lm_for("openai/m", "ok");
    assert_int_equal(dsp_chat(c, &good, &req, &resp, &err), DSP_OK);
    dsp_chat_response_free(&resp);
    /* 503, 400, 503, 400, 503: three 5xx in a row for the breaker. */
    for (int i = 0; i < 5; i++) {
        dsp_lm_config lm = lm_for("openai/m", i % 2 ? "e400" : "always503");
        assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_HTTP);
    }
    assert_true(dsp_client_stopped(c, NULL, 0));
    dsp_error_clear(&err);
    dsp_client_free(c);

    /* A 408 is the endpoint timing out: three in a row trip it. */
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_lm_config lm = lm_for("openai/m", "e408");
    for (int i = 0; i < 3; i++)
        assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_HTTP);
    assert_true(dsp_client_stopped(c, NULL, 0));
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_permanent_errors_not_retried_and_key_redacted(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 5, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "e401");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 401);
    assert_int_equal(atomic_load(&S.requests), 1);
    assert_non_null(strstr(err.message, "HTTP 401"));
    assert_non_null(strstr(err.message, "Incorrect API key provided"));
    assert_null(strstr(err.message, TEST_KEY)); /* the server echoed it; we must not */
    assert_null(strstr(err.message, "KEY-5f0c"));
    dsp_error_clear(&err);
    lm = lm_for("anthropic/m", "e404");
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_non_null(strstr(err.message, "not_found_error: model: nope"));
    assert_int_equal(atomic_load(&S.requests), 2);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A key echoed by an attempt that is then retried is in no byte of the
 * error record after the call, though the call succeeded: the retry's
 * dsp_error_clear ends the message at its first byte and leaves the rest. */
static void test_key_echoed_before_a_retry_leaves_no_trace(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "echo503");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_int_equal(atomic_load(&S.requests), 2);
    assert_null(memmem(err.message, sizeof err.message, TEST_KEY, strlen(TEST_KEY)));
    dsp_chat_response_free(&resp);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A key too long for the call's own header buffer goes whole, through a
 * header on the heap (wiped and freed after the call). */
static void test_long_key_sent_whole(void **state)
{
    (void)state;
    char key[301];
    for (size_t i = 0; i < sizeof key - 1; i++)
        key[i] = (char)('a' + i % 26);
    key[sizeof key - 1] = '\0';
    setenv("DSP_TEST_LONG_KEY", key, 1);
    dsp_client *c = client(0.01, 2, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "ok");
    lm.api_key_env = "DSP_TEST_LONG_KEY";
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    char want[sizeof key + 16];
    snprintf(want, sizeof want, "Bearer %s", key);
    assert_string_equal(S.auth, want);
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
    unsetenv("DSP_TEST_LONG_KEY");
}

static void test_missing_key_variable(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 5, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "ok");
    lm.api_key_env = "DSP_TEST_NO_SUCH_KEY_VAR";
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    /* The stub is on this machine, where a key is optional: the call goes
     * out without one. */
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_int_equal(atomic_load(&S.requests), 1);
    assert_string_equal(S.auth, "");
    dsp_chat_response_free(&resp);
    /* OpenAI's own endpoint needs it: refused before anything is sent. */
    const char *local = lm.base_url;
    lm.base_url = "https://api.openai.com/v1";
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_ENV);
    assert_non_null(strstr(err.message, "DSP_TEST_NO_SUCH_KEY_VAR"));
    assert_int_equal(atomic_load(&S.requests), 1);
    /* A key with a newline could inject headers: refused, key not shown. */
    setenv("DSP_TEST_BAD_KEY", "sk-abc\r\nX-Injected: 1", 1);
    lm.api_key_env = "DSP_TEST_BAD_KEY";
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_ENV);
    assert_non_null(strstr(err.message, "DSP_TEST_BAD_KEY"));
    assert_null(strstr(err.message, "sk-abc"));
    assert_int_equal(atomic_load(&S.requests), 1);
    unsetenv("DSP_TEST_BAD_KEY");
    lm.base_url = local;
    /* No key variable at all: no auth header (local servers). */
    lm.api_key_env = NULL;
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_string_equal(S.auth, "");
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

static void test_timeout(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 1, 0.3, false);
    dsp_lm_config lm = lm_for("openai/m", "hang");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    double t0 = now_s();
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_TIMEOUT);
    double dt = now_s() - t0;
    assert_true(dt >= 0.55 && dt < 2.5); /* two attempts of 0.3 s, not two hangs of 3 s */
    assert_non_null(strstr(err.message, "timed out"));
    assert_int_equal(dsp_client_usage(c).http_requests, 2);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_bad_and_truncated_replies_are_retried(void **state)
{
    (void)state;
    const char *scenarios[] = {"badjson", "truncate"};
    for (int i = 0; i < 2; i++) {
        atomic_store(&S.requests, 0);
        dsp_client *c = client(0.01, 2, 5, false);
        dsp_lm_config lm = lm_for("openai/m", scenarios[i]);
        dsp_chat_request req = request();
        dsp_chat_response resp;
        dsp_error err = {0};
        assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
        assert_string_equal(resp.choices[0], "echo:hello#0");
        assert_int_equal(dsp_client_usage(c).retries, 1);
        dsp_chat_response_free(&resp);
        dsp_client_free(c);
    }
    /* With no retries left the failure surfaces with the raw reply. */
    atomic_store(&S.requests, 0);
    dsp_client *c = client(0.01, 0, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "badjson");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_PROTOCOL);
    assert_string_equal(err.raw, "{\"choices\": [oops");
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_well_formed_but_wrong_reply_not_retried(void **state)
{
    (void)state;
    dsp_client *c = client(0.2, 5, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "refusal");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "I cannot help with that."));
    assert_non_null(err.raw);
    assert_int_equal(atomic_load(&S.requests), 1);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_batch_64_in_flight_in_order(void **state)
{
    (void)state;
    enum { N = 64 };
    dsp_client *c = client(0.01, 2, 10, false);
    dsp_lm_config lm = lm_for("openai/m", "slow");
    static char texts[N][16];
    static dsp_message msgs[N][1];
    dsp_chat_request reqs[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "q%d", i);
        msgs[i][0].role = DSP_ROLE_USER;
        msgs[i][0].content = texts[i];
        reqs[i] = request();
        reqs[i].messages = msgs[i];
        reqs[i].n_messages = 1;
    }
    dsp_chat_response resps[N];
    dsp_status sts[N];
    dsp_error errs[N];
    double t0 = now_s();
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, N, resps, sts, errs), DSP_OK);
    double dt = now_s() - t0;
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "echo:q%d#0", i);
        assert_int_equal(sts[i], DSP_OK);
        assert_string_equal(resps[i].choices[0], want);
        dsp_chat_response_free(&resps[i]);
    }
    /* 64 requests of 200 ms each: one after another would take 12.8 s. */
    assert_true(dt < 3.0);
    assert_true(atomic_load(&S.peak) >= 32);
    assert_int_equal(dsp_client_usage(c).calls, N);
    dsp_client_free(c);
}

/* max_in_flight bounds the requests on the wire over every thread that
 * shares the client, not only within one batch: 8 threads calling dsp_chat
 * on their own and a batch of 9, on a client allowing 3. */
typedef struct mif_arg {
    dsp_client *c;
    const dsp_lm_config *lm;
    int ok;
} mif_arg;

static void *mif_worker(void *p)
{
    mif_arg *a = p;
    dsp_chat_request req = request();
    req.bypass_cache = true;
    dsp_chat_response resp;
    dsp_error err = {0};
    a->ok = dsp_chat(a->c, a->lm, &req, &resp, &err) == DSP_OK;
    if (a->ok)
        dsp_chat_response_free(&resp);
    dsp_error_clear(&err);
    return NULL;
}

static void test_max_in_flight_is_enforced(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_in_flight = 3;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_lm_config lm = lm_for("openai/m", "slow");
    enum { THREADS = 8 };
    pthread_t tids[THREADS];
    mif_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (mif_arg){c, &lm, 0};
        assert_int_equal(pthread_create(&tids[i], NULL, mif_worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tids[i], NULL);
        assert_true(args[i].ok);
    }
    assert_in_range(atomic_load(&S.peak), 2, 3); /* never past max_in_flight */

    atomic_store(&S.peak, 0);
    enum { N = 9 };
    dsp_chat_request reqs[N];
    for (int i = 0; i < N; i++)
        reqs[i] = request();
    dsp_chat_response resps[N];
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, N, resps, NULL, NULL), DSP_OK);
    for (int i = 0; i < N; i++)
        dsp_chat_response_free(&resps[i]);
    assert_in_range(atomic_load(&S.peak), 2, 3); /* never past max_in_flight */
    assert_int_equal(atomic_load(&S.requests), THREADS + N);
    dsp_client_free(c);
}

/* A call that finds every slot taken until its deadline fails saying so,
 * without sending anything: one slot, ten callers of 200 ms each and a
 * deadline of 0.5 s (a caller that gets the slot late times out on the wire). */
typedef struct slot_arg {
    dsp_client *c;
    const dsp_lm_config *lm;
    dsp_status st;
    bool said_why;
} slot_arg;

static void *slot_worker(void *p)
{
    slot_arg *a = p;
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    a->st = dsp_chat(a->c, a->lm, &req, &resp, &err);
    if (a->st == DSP_OK)
        dsp_chat_response_free(&resp);
    a->said_why = strstr(err.message, "max_in_flight") != NULL;
    dsp_error_clear(&err);
    return NULL;
}

static void test_waiting_for_a_slot_ends_at_the_deadline(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_in_flight = 1;
    o.max_retries = 0;
    o.deadline_s = 0.5;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_lm_config lm = lm_for("openai/m", "slow");
    enum { THREADS = 10 };
    pthread_t tids[THREADS];
    slot_arg args[THREADS];
    double t0 = now_s();
    for (int i = 0; i < THREADS; i++) {
        args[i] = (slot_arg){c, &lm, DSP_OK, false};
        assert_int_equal(pthread_create(&tids[i], NULL, slot_worker, &args[i]), 0);
    }
    int ok = 0, waited_out = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tids[i], NULL);
        if (args[i].st == DSP_OK)
            ok++;
        else /* waited for a slot, or got one too late to finish in time */
            assert_int_equal(args[i].st, DSP_ERR_TIMEOUT);
        waited_out += args[i].said_why;
    }
    double dt = now_s() - t0;
    /* 10 calls of 200 ms, one at a time, cannot all end within 0.5 s: some
     * waited out (how many depends on how the threads were scheduled). */
    assert_true(ok >= 0 && ok < THREADS);
    assert_true(waited_out >= 1);
    /* Those that waited out sent nothing (one that got a slot with a few
     * ms left may time out before its request reaches the stub, too). */
    assert_true(atomic_load(&S.requests) <= THREADS - waited_out);
    assert_true(dt < 2.0);
    dsp_client_free(c);
}

/* One client from many threads at once, each calling dsp_chat itself (not
 * through a batch): both wire formats, bodies in the stack buffer and past
 * it, and a reader of the usage totals. Every reply is the one for its own
 * request, and the totals add up. Run under ThreadSanitizer by hand (see
 * docs/runtime.md) to check the pooled handles and the shared caches. */
enum { MT_THREADS = 8, MT_CALLS = 24 };

typedef struct mt_arg {
    dsp_client *c;
    const dsp_lm_config *lms; /* [0] OpenAI, [1] Anthropic: lm_for's buffer is not for threads */
    int id;
    int ok;
} mt_arg;

static void *mt_worker(void *p)
{
    mt_arg *a = p;
    char big[9000];
    for (int i = 0; i < MT_CALLS; i++) {
        const dsp_lm_config *lm = &a->lms[(a->id + i) % 2];
        char text[64];
        snprintf(text, sizeof text, "t%d-%d", a->id, i);
        const char *content = text;
        if (i % 3 == 0) { /* a body past the 8 KiB stack buffer */
            memset(big, 'z', sizeof big - 1);
            big[sizeof big - 1] = '\0';
            memcpy(big, text, strlen(text));
            big[strlen(text)] = ' ';
            content = big;
        }
        dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = "sys"}, {.role = DSP_ROLE_USER, .content = (char *)content}};
        dsp_chat_request req = request();
        req.messages = msgs;
        req.n_messages = 2;
        dsp_chat_response resp;
        dsp_error err = {0};
        if (dsp_chat(a->c, lm, &req, &resp, &err) == DSP_OK) {
            char want[80];
            snprintf(want, sizeof want, "echo:%s%s", text, i % 3 == 0 ? " " : "");
            if (resp.n_choices == 1 && strncmp(resp.choices[0], want, strlen(want)) == 0)
                a->ok++;
            dsp_chat_response_free(&resp);
        }
        dsp_error_clear(&err);
    }
    return NULL;
}

static void *mt_reader(void *p)
{
    mt_arg *a = p;
    for (int i = 0; i < 200; i++) {
        dsp_usage_totals u = dsp_client_usage(a->c);
        if (u.calls <= MT_THREADS * MT_CALLS)
            a->ok++;
    }
    return NULL;
}

static void test_one_client_many_threads(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 10, false);
    static char anthropic_base[128];
    dsp_lm_config lms[2] = {lm_for("openai/m", "ok"), lm_for("anthropic/m", "ok")};
    snprintf(anthropic_base, sizeof anthropic_base, "%s", lms[1].base_url);
    lms[0].base_url = lms[1].base_url = anthropic_base; /* the same scenario: one copy, read only */
    pthread_t t[MT_THREADS + 1];
    mt_arg args[MT_THREADS + 1];
    for (int i = 0; i <= MT_THREADS; i++) {
        args[i] = (mt_arg){.c = c, .lms = lms, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, i < MT_THREADS ? mt_worker : mt_reader, &args[i]), 0);
    }
    for (int i = 0; i <= MT_THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < MT_THREADS; i++)
        assert_int_equal(args[i].ok, MT_CALLS);
    assert_int_equal(args[MT_THREADS].ok, 200);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, MT_THREADS * MT_CALLS);
    assert_int_equal(u.http_requests, MT_THREADS * MT_CALLS);
    dsp_client_free(c);
}

static void test_batch_with_cache_from_many_threads(void **state)
{
    (void)state;
    enum { N = 48 };
    dsp_client *c = client(0.01, 2, 10, true);
    dsp_lm_config lm = lm_for("openai/m", "ok");
    static char texts[N][16];
    static dsp_message msgs[N][1];
    dsp_chat_request reqs[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "c%d", i % (N / 2)); /* every request twice */
        msgs[i][0].role = DSP_ROLE_USER;
        msgs[i][0].content = texts[i];
        reqs[i] = request();
        reqs[i].messages = msgs[i];
        reqs[i].n_messages = 1;
    }
    dsp_chat_response resps[N];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(dsp_chat_batch(c, &lm, reqs, N, resps, NULL, NULL), DSP_OK);
        for (int i = 0; i < N; i++) {
            char want[32];
            snprintf(want, sizeof want, "echo:c%d#0", i % (N / 2));
            assert_string_equal(resps[i].choices[0], want);
            if (round == 1)
                assert_true(resps[i].cache_hit);
            dsp_chat_response_free(&resps[i]);
        }
    }
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, 2 * N);
    assert_int_equal(u.cache_hits + u.cache_misses, 2 * N);
    assert_true(u.cache_hits >= N); /* all of round two, and duplicates in round one that came late */
    assert_int_equal(u.http_requests, u.cache_misses);
    assert_true(atomic_load(&S.requests) <= N);
    dsp_client_free(c);
}

static void test_batch_reports_each_failure(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 0, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "ok");
    dsp_chat_request reqs[3] = {request(), request(), request()};
    reqs[1].n_messages = 0; /* invalid */
    dsp_chat_response resps[3];
    dsp_status sts[3];
    dsp_error errs[3];
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, 3, resps, sts, errs), DSP_ERR_INVALID);
    assert_int_equal(sts[0], DSP_OK);
    assert_int_equal(sts[1], DSP_ERR_INVALID);
    assert_int_equal(sts[2], DSP_OK);
    assert_non_null(strstr(errs[1].message, "no messages"));
    assert_null(resps[1].choices);
    for (int i = 0; i < 3; i++) {
        dsp_chat_response_free(&resps[i]);
        dsp_error_clear(&errs[i]);
    }
    /* NULL status and error arrays are allowed. */
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, 3, resps, NULL, NULL), DSP_ERR_INVALID);
    for (int i = 0; i < 3; i++)
        dsp_chat_response_free(&resps[i]);
    dsp_client_free(c);
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t cap = 1 << 20, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    int found = memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* A native tool call that quotes the key (a hostile server) is refused
 * like a text reply that does: not returned, not cached, not retried. */
static void test_tool_call_holding_the_key_is_refused(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, true);
    dsp_lm_config lm = lm_for("openai/m", "toolkey");
    dsp_chat_request req = request();
    req.params.tools = "[{\"name\":\"search\",\"description\":\"Searches.\",\"parameters\":{\"type\":\"object\","
                       "\"properties\":{\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}}]";
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "holds the API key or a piece of it"));
    assert_null(strstr(err.message, "KEY-5f0c"));
    assert_int_equal(atomic_load(&S.requests), 1);
    dsp_error_clear(&err);
    dsp_client_free(c);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    assert_false(file_contains(path, "KEY-5f0c"));
    strcat(path, "-wal");
    assert_false(file_contains(path, "KEY-5f0c"));
}

/* An embeddings reply whose vectors differ in length is refused, and none
 * of its vectors is cached: the next run asks again and gets good ones
 * (a cached half of a garbage reply would fail every later run). */
static void test_embeddings_of_two_lengths_are_not_cached(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 0, 5, true);
    dsp_lm_config lm = lm_for("openai/embed", "embedmix");
    const char *texts[] = {"first text", "second text"};
    dsp_embeddings e;
    memset(&e, 0, sizeof e);
    dsp_error err = {0};
    assert_int_equal(dsp_embed(c, &lm, texts, 2, NULL, &e, &err), DSP_ERR_PROTOCOL);
    dsp_error_clear(&err);
    assert_int_equal(dsp_embed(c, &lm, texts, 2, NULL, &e, &err), DSP_OK);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.dim, 3);
    assert_int_equal(e.cache_hits, 0);
    assert_int_equal(atomic_load(&S.requests), 2);
    dsp_embeddings_free(&e);
    dsp_client_free(c);
}

typedef struct pieces {
    char text[256];
} pieces;

static int collect_piece(void *ctx, const char *text, size_t n)
{
    pieces *p = ctx;
    size_t used = strlen(p->text);
    snprintf(p->text + used, sizeof p->text - used, "%.*s", (int)n, text);
    return 0;
}

/* A stream whose end marker came, from a server that then holds the
 * connection open: the reply is whole, so the call succeeds when the
 * attempt's time runs out (1 s here), with every piece handed on once. */
static void test_stream_held_open_after_its_end(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 1, false);
    dsp_lm_config lm = lm_for("openai/m", "heldstream");
    dsp_chat_request req = request();
    pieces got = {{0}};
    req.on_text = collect_piece;
    req.on_text_ctx = &got;
    dsp_chat_response resp;
    dsp_error err = {0};
    double t0 = now_s();
    dsp_status st = dsp_chat(c, &lm, &req, &resp, &err);
    if (st != DSP_OK)
        fail_msg("the call failed: %s", err.message);
    assert_true(now_s() - t0 < 2.5);
    assert_string_equal(resp.choices[0], "category: billing");
    assert_string_equal(got.text, "category: billing");
    assert_int_equal(resp.usage.completion_tokens, 3);
    assert_int_equal(atomic_load(&S.requests), 1);
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

/* Replies nested far deeper than any API's (a hostile server), read by
 * a batch on the event loop, where each call runs on a fiber's stack: an
 * error each (cJSON's nesting limit), not a crash. */
static void test_deeply_nested_replies_in_a_batch(void **state)
{
    (void)state;
    enum { N = 4 };
    dsp_client *c = client(0.01, 0, 10, false);
    dsp_lm_config lm = lm_for("openai/m", "deepjson");
    dsp_chat_request reqs[N];
    for (int i = 0; i < N; i++)
        reqs[i] = request();
    dsp_chat_response resps[N];
    dsp_status sts[N];
    dsp_error errs[N];
    memset(errs, 0, sizeof errs);
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, N, resps, sts, errs), DSP_ERR_PROTOCOL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(sts[i], DSP_ERR_PROTOCOL);
        dsp_error_clear(&errs[i]);
    }
    dsp_client_free(c);
}

static void test_cache_hit_bypass_and_no_key_in_file(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 2, 5, true);
    dsp_lm_config lm = lm_for("openai/m", "ok");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_false(resp.cache_hit);
    dsp_chat_response_free(&resp);
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_true(resp.cache_hit);
    assert_string_equal(resp.choices[0], "echo:hello#0");
    assert_int_equal(resp.usage.prompt_tokens, 10);
    dsp_chat_response_free(&resp);
    assert_int_equal(atomic_load(&S.requests), 1);
    /* Another rollout id is another entry. */
    req.rollout_id = 2;
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_false(resp.cache_hit);
    dsp_chat_response_free(&resp);
    /* Bypass: neither read nor written. */
    req.rollout_id = 0;
    req.bypass_cache = true;
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_false(resp.cache_hit);
    dsp_chat_response_free(&resp);
    assert_int_equal(atomic_load(&S.requests), 3);
    dsp_usage_totals u = dsp_client_usage(c);
    assert_int_equal(u.calls, 4);
    assert_int_equal(u.cache_hits, 1);
    assert_int_equal(u.cache_misses, 2);
    assert_int_equal(u.http_requests, 3);
    assert_int_equal(u.prompt_tokens, 30); /* hits excluded */
    /* A cache hit needs no key: replay works offline. */
    lm.api_key_env = "DSP_TEST_NO_SUCH_KEY_VAR";
    req.bypass_cache = false;
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_true(resp.cache_hit);
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    assert_true(file_contains(path, "echo:hello#0") ||
                file_contains(strcat(path, "-wal"), "echo:hello#0")); /* the check can see content */
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    assert_false(file_contains(path, TEST_KEY));
    strcat(path, "-wal");
    assert_false(file_contains(path, TEST_KEY));
}

static void test_base_url_override_from_env(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", S.port);
    setenv("DSPCC_BASE_URL", url, 1);
    dsp_client *c = client(0.01, 0, 5, false);
    unsetenv("DSPCC_BASE_URL");
    dsp_lm_config lm = lm_for("anthropic/m", "x");
    lm.base_url = "https://api.anthropic.com"; /* overridden */
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_OK);
    assert_string_equal(resp.choices[0], "echo:hello");
    dsp_chat_response_free(&resp);
    dsp_client_free(c);
}

static void test_connection_refused_is_network_error(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 1, 5, false);
    dsp_lm_config lm = lm_for("openai/m", "ok");
    lm.base_url = "http://127.0.0.1:1/v1"; /* nothing listens on port 1 */
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_NETWORK);
    assert_non_null(strstr(err.message, "127.0.0.1:1"));
    assert_non_null(strstr(err.message, "gave up after 2 attempts"));
    dsp_client_free(c);
}

static void test_unusable_cache_dir(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.cache_dir = "/proc/dsp-no-such-dir";
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_not_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    assert_null(c);
    assert_non_null(strstr(err.message, "/proc/dsp-no-such-dir"));
    assert_non_null(strstr(err.message, "DSPCC_CACHE_DIR"));
}

static void test_bad_config(void **state)
{
    (void)state;
    dsp_client *c = client(0.01, 1, 5, false);
    dsp_lm_config lm = lm_for("gpt-4o", "ok");
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "provider/model"));
    assert_int_equal(dsp_chat(c, NULL, &req, &resp, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_chat(NULL, &lm, &req, &resp, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_chat(c, &lm, &req, NULL, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_client_usage(NULL).calls, 0);
    assert_int_equal(dsp_chat_batch(c, &lm, NULL, 2, &resp, NULL, NULL), DSP_ERR_INVALID);
    assert_int_equal(dsp_chat_batch(c, &lm, &req, 0, &resp, NULL, NULL), DSP_OK);
    req.params.json_schema = "[1";
    lm = lm_for("openai/m", "ok");
    assert_int_equal(dsp_chat(c, &lm, &req, &resp, &err), DSP_ERR_INVALID);
    assert_int_equal(atomic_load(&S.requests), 0);
    dsp_client_free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, start, stop)
    const struct CMUnitTest tests[] = {
        T(test_openai_ok_with_key_and_usage),
        T(test_usage_cost_in_whole_picodollars),
        T(test_large_prompt_body),
        T(test_anthropic_headers_and_n),
        T(test_retry_after_is_obeyed),
        T(test_retry_after_ms_is_preferred),
        T(test_5xx_retried_with_backoff),
        T(test_gives_up_after_max_retries),
        T(test_breaker_stops_after_repeated_failures),
        T(test_breaker_ignores_bad_requests),
        T(test_permanent_errors_not_retried_and_key_redacted),
        T(test_long_key_sent_whole),
        T(test_key_echoed_before_a_retry_leaves_no_trace),
        T(test_one_client_many_threads),
        T(test_missing_key_variable),
        T(test_timeout),
        T(test_bad_and_truncated_replies_are_retried),
        T(test_well_formed_but_wrong_reply_not_retried),
        T(test_batch_64_in_flight_in_order),
        T(test_max_in_flight_is_enforced),
        T(test_waiting_for_a_slot_ends_at_the_deadline),
        T(test_batch_with_cache_from_many_threads),
        T(test_batch_reports_each_failure),
        T(test_cache_hit_bypass_and_no_key_in_file),
        T(test_tool_call_holding_the_key_is_refused),
        T(test_embeddings_of_two_lengths_are_not_cached),
        T(test_deeply_nested_replies_in_a_batch),
        T(test_stream_held_open_after_its_end),
        T(test_base_url_override_from_env),
        T(test_connection_refused_is_network_error),
        T(test_unusable_cache_dir),
        T(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
