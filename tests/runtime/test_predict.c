/* test_predict.c — dsp_predict and dsp_predict_batch end to end against a
 * stub LM server on 127.0.0.1 (libmicrohttpd, in this file) that answers in
 * the chat format, in JSON when asked for it (response_format), or with
 * prose, chosen by the first path segment of the base URL: the JSON
 * fallback, traces for bootstrapping, per-call overrides, batches in order,
 * errors that keep the raw reply. */
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

#include "dsp/predict.h"
#include "../support/stub_http.h"

/* ---- the stub server ---------------------------------------------------- */

typedef struct stub {
    struct MHD_Daemon *d;
    unsigned short port;
    atomic_int requests;
    pthread_mutex_t lock;
    char *last_body; /* the last request body, for checks on what was sent */
} stub;

static stub S;

typedef stub_upload upload;

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* The question of the final user message: the text after the marker, up to
 * the blank line before the "Respond with ..." line. */
static char *question_of(cJSON *req)
{
    cJSON *msgs = cJSON_GetObjectItem(req, "messages");
    cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(last, "content"));
    const char *marker = "[[ ## question ## ]]\n";
    const char *q = content ? strstr(content, marker) : NULL;
    if (!q)
        return strdup("?");
    q += strlen(marker);
    const char *end = strstr(q, "\n\nRespond with");
    return strndup(q, end ? (size_t)(end - q) : strlen(q));
}

static enum MHD_Result answer(struct MHD_Connection *conn, const char *url, const upload *u)
{
    cJSON *req = cJSON_ParseWithLength(u->buf, u->len);
    char *q = question_of(req);
    bool json_mode = cJSON_GetObjectItem(req, "response_format") != NULL;
    cJSON_Delete(req);
    char content[1024];
    if (strncmp(url, "/garbage/", 9) == 0) {
        snprintf(content, sizeof content, "I would rather not say.");
    } else if (json_mode) {
        cJSON *o = cJSON_CreateObject();
        char a[600];
        snprintf(a, sizeof a, "json: %s", q);
        cJSON_AddStringToObject(o, "reasoning", "because");
        cJSON_AddStringToObject(o, "answer", a);
        cJSON_AddNumberToObject(o, "n", (double)strlen(q));
        char *text = cJSON_PrintUnformatted(o);
        snprintf(content, sizeof content, "```json\n%s\n```", text);
        cJSON_free(text);
        cJSON_Delete(o);
    } else if (strncmp(url, "/jsononly/", 10) == 0) {
        snprintf(content, sizeof content, "The answer is %zu.", strlen(q));
    } else {
        snprintf(content, sizeof content,
                 "[[ ## reasoning ## ]]\nbecause\n\n[[ ## answer ## ]]\nechoed: %s\n\n[[ ## n ## ]]\n%zu\n\n"
                 "[[ ## completed ## ]]",
                 q, strlen(q));
    }
    free(q);
    cJSON *root = cJSON_CreateObject();
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *m = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddStringToObject(c, "finish_reason", "stop");
    cJSON_AddItemToArray(choices, c);
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", 10);
    cJSON_AddNumberToObject(usage, "completion_tokens", 3);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    enum MHD_Result r = respond(conn, 200, body);
    cJSON_free(body);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls, (void)method, (void)version;
    enum MHD_Result more;
    upload *u = stub_http_body(con_cls, data, data_size, &more);
    if (!u)
        return more;
    atomic_fetch_add(&S.requests, 1);
    pthread_mutex_lock(&S.lock);
    free(S.last_body);
    S.last_body = strndup(u->buf ? u->buf : "", u->len);
    pthread_mutex_unlock(&S.lock);
    if (strncmp(url, "/e400/", 6) == 0)
        return respond(conn, 400, "{\"error\":{\"message\":\"context length exceeded\",\"type\":\"invalid_request\"}}");
    return answer(conn, url, u);
}

static char tmpdir[64];

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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp_predict_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    unsetenv("DSPCC_BASE_URL");
    return 0;
}

static int stop(void **state)
{
    (void)state;
    MHD_stop_daemon(S.d);
    free(S.last_body);
    pthread_mutex_destroy(&S.lock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- fixtures ----------------------------------------------------------- */

static const dsp_field q_in[] = { { "question", &dsp_type_string, "A question" } };
static const dsp_field q_out[] = { { "answer", &dsp_type_string, NULL }, { "n", &dsp_type_int, "Its length" } };
static const dsp_signature q_sig = { "Echo", "Echo the question.", q_in, 1, q_out, 2 };

static char base[128];
static dsp_lm_config lm;

static const dsp_lm_config *lm_for(const char *scenario)
{
    snprintf(base, sizeof base, "http://127.0.0.1:%u/%s/v1", S.port, scenario);
    memset(&lm, 0, sizeof lm);
    lm.model = "openai/stub";
    lm.base_url = base;
    lm.params = dsp_lm_params_default();
    return &lm;
}

static dsp_client *client(bool cache)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = !cache;
    o.cache_dir = tmpdir;
    o.max_retries = 0;
    o.max_in_flight = 8;
    dsp_client *c = NULL;
    dsp_error err = { 0 };
    if (dsp_client_new(&o, &c, &err) != DSP_OK)
        fail_msg("client: %s", err.message);
    return c;
}

static dsp_value str(const char *s)
{
    dsp_value v;
    assert_int_equal(dsp_value_set_string(&v, s, strlen(s), NULL), DSP_OK);
    return v;
}

static char *last_body(void)
{
    pthread_mutex_lock(&S.lock);
    char *b = strdup(S.last_body ? S.last_body : "");
    pthread_mutex_unlock(&S.lock);
    return b;
}

/* ---- tests -------------------------------------------------------------- */

static void test_predict_chat_and_trace(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("echo") };
    dsp_client *c = client(false);
    dsp_value in = str("What is 2+2?");
    dsp_value out[2] = { 0 };
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_error err = { 0 };
    int before = atomic_load(&S.requests);
    if (dsp_predict(c, &p, &in, out, &tr, &err) != DSP_OK)
        fail_msg("predict: %s", err.message);
    assert_int_equal(atomic_load(&S.requests) - before, 1);
    assert_string_equal(out[0].as.s.data, "echoed: What is 2+2?");
    assert_int_equal(out[1].as.i, 12);
    /* The trace holds exactly what the chat adapter renders. */
    dsp_messages want;
    dsp_messages_init(&want);
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    assert_int_equal(dsp_chat_adapter_render(&spec, &in, &want, NULL), DSP_OK);
    assert_int_equal(tr.messages.len, want.len);
    for (size_t i = 0; i < want.len; i++)
        assert_string_equal(tr.messages.items[i].content, want.items[i].content);
    assert_non_null(strstr(tr.raw_reply, "[[ ## answer ## ]]\nechoed: What is 2+2?"));
    assert_int_equal(tr.usage.prompt_tokens, 10);
    assert_int_equal(tr.usage.completion_tokens, 3);
    assert_false(tr.json_fallback);
    assert_false(tr.cache_hit);
    /* The request carried the system prompt and no response_format. */
    char *body = last_body();
    assert_non_null(strstr(body, "Your input fields are:"));
    assert_null(strstr(body, "response_format"));
    free(body);
    dsp_messages_free(&want);
    dsp_predict_trace_free(&tr);
    dsp_values_free(out, 2);
    dsp_value_free(&in);
    dsp_client_free(c);
}

static void test_chain_of_thought(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, 0, lm_for("echo") };
    dsp_client *c = client(false);
    dsp_value in = str("hi");
    dsp_value out[3] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(dsp_predict(c, &p, &in, out, NULL, &err), DSP_OK);
    assert_string_equal(out[0].as.s.data, "because");
    assert_string_equal(out[1].as.s.data, "echoed: hi");
    assert_int_equal(out[2].as.i, 2);
    dsp_values_free(out, 3);
    dsp_value_free(&in);
    dsp_client_free(c);
}

static void test_json_fallback(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("jsononly") };
    dsp_client *c = client(false);
    dsp_value in = str("abc");
    dsp_value out[2] = { 0 };
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_error err = { 0 };
    int before = atomic_load(&S.requests);
    if (dsp_predict(c, &p, &in, out, &tr, &err) != DSP_OK)
        fail_msg("predict: %s", err.message);
    assert_int_equal(atomic_load(&S.requests) - before, 2);
    assert_string_equal(out[0].as.s.data, "json: abc");
    assert_int_equal(out[1].as.i, 3);
    assert_true(tr.json_fallback);
    assert_int_equal(tr.usage.prompt_tokens, 20); /* both attempts counted */
    assert_int_equal(tr.usage.completion_tokens, 6);
    assert_non_null(strstr(tr.messages.items[0].content, "Outputs will be a JSON object"));
    assert_non_null(strstr(tr.raw_reply, "```json"));
    char *body = last_body();
    assert_non_null(strstr(body, "\"response_format\""));
    assert_non_null(strstr(body, "\"additionalProperties\":false"));
    free(body);
    dsp_predict_trace_free(&tr);
    dsp_values_free(out, 2);

    /* Without the fallback, the chat parse error surfaces with the raw reply. */
    dsp_predict_options o = dsp_predict_options_default();
    o.no_json_fallback = true;
    before = atomic_load(&S.requests);
    assert_int_equal(dsp_predict_ex(c, &p, &o, &in, out, NULL, &err), DSP_ERR_PARSE);
    assert_int_equal(atomic_load(&S.requests) - before, 1);
    assert_non_null(strstr(err.message, "output `answer`"));
    assert_string_equal(err.raw, "The answer is 3.");
    assert_null(out[0].as.s.data);
    dsp_error_clear(&err);
    dsp_value_free(&in);
    dsp_client_free(c);
}

static void test_both_adapters_fail(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("garbage") };
    dsp_client *c = client(false);
    dsp_value in = str("x");
    dsp_value out[2] = { 0 };
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_error err = { 0 };
    assert_int_equal(dsp_predict(c, &p, &in, out, &tr, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "chat adapter: output `answer`: missing"));
    assert_non_null(strstr(err.message, "retrying with the JSON adapter: JSON adapter: the reply is not a JSON object"));
    assert_string_equal(err.raw, "I would rather not say.");
    assert_string_equal(tr.raw_reply, "I would rather not say.");
    assert_true(tr.json_fallback);
    assert_null(out[0].as.s.data);
    assert_null(out[1].as.s.data);
    dsp_error_clear(&err);
    dsp_predict_trace_free(&tr);
    dsp_value_free(&in);
    dsp_client_free(c);
}

static void test_http_error_and_bad_calls(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("e400") };
    dsp_client *c = client(false);
    dsp_value in = str("x");
    dsp_value out[2] = { 0 };
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_error err = { 0 };
    assert_int_equal(dsp_predict(c, &p, &in, out, &tr, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "context length exceeded"));
    assert_int_equal(tr.messages.len, 2); /* what was sent is still traced */
    assert_null(tr.raw_reply);
    dsp_predict_trace_free(&tr);
    dsp_error_clear(&err);

    /* No LM anywhere. */
    dsp_predictor nolm = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    assert_int_equal(dsp_predict(c, &nolm, &in, out, NULL, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "has no LM"));
    /* An input of the wrong type never reaches the server. */
    int before = atomic_load(&S.requests);
    dsp_value wrong = dsp_value_int(1);
    assert_int_equal(dsp_predict(c, &p, &wrong, out, NULL, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "input `question`"));
    assert_int_equal(atomic_load(&S.requests), before);
    dsp_value_free(&in);
    dsp_client_free(c);
}

static void test_overrides(void **state)
{
    (void)state;
    static const char *const d_in[] = { "demo question" };
    static const char *const d_out[] = { "demo answer", "13" };
    static const dsp_demo demos[] = { { d_in, d_out } };
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_client *c = client(false);
    dsp_predict_options o = dsp_predict_options_default();
    o.lm = lm_for("echo");
    o.instructions = "Candidate instruction 7.";
    o.override_demos = true;
    o.demos = demos;
    o.n_demos = 1;
    o.has_temperature = true;
    o.temperature = 0.75;
    o.rollout_id = 3;
    dsp_value in = str("q");
    dsp_value out[2] = { 0 };
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_error err = { 0 };
    if (dsp_predict_ex(c, &p, &o, &in, out, &tr, &err) != DSP_OK)
        fail_msg("predict: %s", err.message);
    assert_int_equal(tr.messages.len, 4);
    assert_non_null(strstr(tr.messages.items[0].content, "your objective is: \n        Candidate instruction 7."));
    assert_string_equal(tr.messages.items[2].content,
                        "[[ ## answer ## ]]\ndemo answer\n\n[[ ## n ## ]]\n13\n\n[[ ## completed ## ]]");
    char *body = last_body();
    cJSON *j = cJSON_Parse(body);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "temperature")) == 0.75);
    cJSON_Delete(j);
    free(body);
    dsp_predict_trace_free(&tr);
    dsp_values_free(out, 2);
    dsp_value_free(&in);
    dsp_client_free(c);
}

static void test_cache_hit_is_traced(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("echo") };
    dsp_client *c = client(true);
    dsp_value in = str("cached question");
    for (int round = 0; round < 2; round++) {
        dsp_value out[2] = { 0 };
        dsp_predict_trace tr;
        dsp_predict_trace_init(&tr);
        int before = atomic_load(&S.requests);
        assert_int_equal(dsp_predict(c, &p, &in, out, &tr, NULL), DSP_OK);
        assert_string_equal(out[0].as.s.data, "echoed: cached question");
        assert_int_equal(tr.cache_hit, round == 1);
        assert_int_equal(atomic_load(&S.requests) - before, round == 0 ? 1 : 0);
        dsp_predict_trace_free(&tr);
        dsp_values_free(out, 2);
    }
    /* A different rollout id is a different request. */
    dsp_predict_options o = dsp_predict_options_default();
    o.rollout_id = 99;
    dsp_value out[2] = { 0 };
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    assert_int_equal(dsp_predict_ex(c, &p, &o, &in, out, &tr, NULL), DSP_OK);
    assert_false(tr.cache_hit);
    dsp_predict_trace_free(&tr);
    dsp_values_free(out, 2);
    dsp_value_free(&in);
    dsp_client_free(c);
}

#define N 24

static void test_batch_in_order(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("echo") };
    dsp_client *c = client(false);
    dsp_value in[N];
    char q[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(q[i], sizeof q[i], "question number %d", i);
        in[i] = str(q[i]);
    }
    /* Item 5 is bad: it fails alone. */
    dsp_value_free(&in[5]);
    in[5] = dsp_value_bool(true);
    dsp_value out[N * 2];
    memset(out, 0, sizeof out);
    dsp_status st[N];
    dsp_error errs[N];
    memset(errs, 0, sizeof errs);
    dsp_predict_trace tr[N];
    for (int i = 0; i < N; i++)
        dsp_predict_trace_init(&tr[i]);
    int before = atomic_load(&S.requests);
    assert_int_equal(dsp_predict_batch(c, &p, NULL, in, N, out, st, errs, tr), DSP_ERR_INVALID);
    assert_int_equal(atomic_load(&S.requests) - before, N - 1);
    for (int i = 0; i < N; i++) {
        if (i == 5) {
            assert_int_equal(st[i], DSP_ERR_INVALID);
            assert_non_null(strstr(errs[i].message, "input `question`"));
            assert_null(out[2 * i].as.s.data);
            continue;
        }
        assert_int_equal(st[i], DSP_OK);
        char want[64];
        snprintf(want, sizeof want, "echoed: %.31s", q[i]); /* q[i] fits (gcc -O1 cannot tell) */
        assert_string_equal(out[2 * i].as.s.data, want);
        assert_int_equal(out[2 * i + 1].as.i, (int64_t)strlen(q[i]));
        assert_non_null(strstr(tr[i].raw_reply, q[i]));
    }
    for (int i = 0; i < N; i++) {
        dsp_predict_trace_free(&tr[i]);
        dsp_error_clear(&errs[i]);
    }
    dsp_values_free(out, N * 2);
    dsp_values_free(in, N);
    dsp_client_free(c);
}

static void test_batch_with_fallback(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("jsononly") };
    dsp_client *c = client(false);
    dsp_value in[6];
    char q[6][16];
    for (int i = 0; i < 6; i++) {
        snprintf(q[i], sizeof q[i], "q%d%s", i, i % 2 ? "xx" : "");
        in[i] = str(q[i]);
    }
    dsp_value out[12];
    memset(out, 0, sizeof out);
    dsp_status st[6];
    int before = atomic_load(&S.requests);
    assert_int_equal(dsp_predict_batch(c, &p, NULL, in, 6, out, st, NULL, NULL), DSP_OK);
    assert_int_equal(atomic_load(&S.requests) - before, 12);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(st[i], DSP_OK);
        char want[32];
        snprintf(want, sizeof want, "json: %.15s", q[i]); /* q[i] fits (gcc -O1 cannot tell) */
        assert_string_equal(out[2 * i].as.s.data, want);
        assert_int_equal(out[2 * i + 1].as.i, (int64_t)strlen(q[i]));
    }
    dsp_values_free(out, 12);
    dsp_values_free(in, 6);
    dsp_client_free(c);
}

/* A model that always needs the JSON fallback: a batch sends every chat
 * round first, so far more than 3 x breaker_after replies in a row fail the
 * chat format; each is then answered by the fallback, so none is a failure
 * of the call and the breaker must not stop the client. */
static void test_batch_fallback_does_not_trip_breaker(void **state)
{
    (void)state;
    enum { NB = 40 };
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("jsononly") };
    dsp_client *c = client(false);
    dsp_value in[NB];
    char q[NB][16];
    for (int i = 0; i < NB; i++) {
        snprintf(q[i], sizeof q[i], "b%d", i);
        in[i] = str(q[i]);
    }
    dsp_value out[2 * NB];
    memset(out, 0, sizeof out);
    dsp_status st[NB];
    assert_int_equal(dsp_predict_batch(c, &p, NULL, in, NB, out, st, NULL, NULL), DSP_OK);
    for (int i = 0; i < NB; i++)
        assert_int_equal(st[i], DSP_OK);
    assert_false(dsp_client_stopped(c, NULL, 0));
    dsp_values_free(out, 2 * NB);
    dsp_values_free(in, NB);
    dsp_client_free(c);
}

/* One client shared by several threads, as generated code may do. */
typedef struct worker {
    dsp_client *c;
    const dsp_predictor *p;
    int id, ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 8; i++) {
        char q[64], want[80];
        snprintf(q, sizeof q, "thread %d call %d", w->id, i);
        snprintf(want, sizeof want, "echoed: %s", q);
        dsp_value in;
        if (dsp_value_set_string(&in, q, strlen(q), NULL) != DSP_OK)
            continue;
        dsp_value out[2] = { 0 };
        dsp_error err = { 0 };
        if (dsp_predict(w->c, w->p, &in, out, NULL, &err) == DSP_OK && strcmp(out[0].as.s.data, want) == 0 &&
            out[1].as.i == (int64_t)strlen(q))
            w->ok++;
        dsp_error_clear(&err);
        dsp_values_free(out, 2);
        dsp_value_free(&in);
    }
    return NULL;
}

static void test_threads_share_a_client(void **state)
{
    (void)state;
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_PREDICT, NULL, 0, lm_for("echo") };
    dsp_client *c = client(true);
    enum { T = 4 };
    pthread_t th[T];
    worker w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker){ c, &p, i, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 8);
    }
    dsp_client_free(c);
}

static void test_prompt_spec_of(void **state)
{
    (void)state;
    static const char *const d_in[] = { "a" };
    static const char *const d_out[] = { "b", "1" };
    static const dsp_demo demos[] = { { d_in, d_out } };
    dsp_predictor p = { "echo", &q_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, demos, 1, NULL };
    dsp_prompt_spec s = dsp_prompt_spec_of(&p, NULL);
    assert_ptr_equal(s.signature, &q_sig);
    assert_int_equal(s.strategy, DSP_STRATEGY_CHAIN_OF_THOUGHT);
    assert_string_equal(s.instructions, "Echo the question.");
    assert_ptr_equal(s.demos, demos);
    assert_int_equal(s.n_demos, 1);
    dsp_predict_options o = dsp_predict_options_default();
    assert_false(o.override_demos);
    assert_false(o.has_temperature);
    o.instructions = "x";
    o.override_demos = true;
    s = dsp_prompt_spec_of(&p, &o);
    assert_string_equal(s.instructions, "x");
    assert_null(s.demos);
    assert_int_equal(s.n_demos, 0);
    assert_int_equal(dsp_strategy_n_outputs(&q_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT), 3);
    assert_string_equal(dsp_strategy_output(&q_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, 0)->name, "reasoning");
    assert_string_equal(dsp_strategy_output(&q_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, 2)->name, "n");
    assert_null(dsp_strategy_output(&q_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_spec_of),
        cmocka_unit_test(test_predict_chat_and_trace),
        cmocka_unit_test(test_chain_of_thought),
        cmocka_unit_test(test_json_fallback),
        cmocka_unit_test(test_both_adapters_fail),
        cmocka_unit_test(test_http_error_and_bad_calls),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_cache_hit_is_traced),
        cmocka_unit_test(test_batch_in_order),
        cmocka_unit_test(test_batch_with_fallback),
        cmocka_unit_test(test_batch_fallback_does_not_trip_breaker),
        cmocka_unit_test(test_threads_share_a_client),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
