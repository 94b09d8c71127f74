/* test_predict_refserver.c — dsp_predict against $BUILD/dsp-refserver, the
 * reference LM test fixture: the fixture must read the prompts the chat
 * adapter writes (field list, demos, inputs) and its replies must parse
 * back into typed values; with injected malformed replies (missing field,
 * wrong type) the JSON fallback must recover some calls and the rest must
 * fail cleanly with the raw reply. Skipped when the fixture is not built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsp/batch.h"
#include "dsp/predict.h"

#include "../../runtime/src/fiber.h"
#include "../../runtime/src/loop.h"
#include "../support/refserver_proc.h"

/* ---- the task: CHAT_FORMAT.md's ticket classifier ----------------------- */

static const char *const queues[] = { "billing", "account", "orders", "general" };
static const dsp_type queue_t = { .kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 4 };
static const dsp_field t_in[] = { { "ticket_text", &dsp_type_string, "Raw text of the customer support ticket" } };
static const dsp_field t_out[] = { { "category", &queue_t, "One of the four queues" } };
static const dsp_signature t_sig = { "ClassifyTicket", "Classify a customer support ticket.", t_in, 1, t_out, 1 };

static const char *const d0_in[] = { "I was charged twice on my credit card for the same invoice." };
static const char *const d0_out[] = { "billing" };
static const char *const d1_in[] = { "I cannot log in to my account after resetting my password." };
static const char *const d1_out[] = { "account" };
static const char *const d2_in[] = { "My order has not arrived and the tracking number shows no shipment." };
static const char *const d2_out[] = { "orders" };
static const char *const d3_in[] = { "What are your opening hours on public holidays?" };
static const char *const d3_out[] = { "general" };
static const dsp_demo t_demos[] = { { d0_in, d0_out }, { d1_in, d1_out }, { d2_in, d2_out }, { d3_in, d3_out } };

/* CoT demos carry a reasoning text first. */
static const char *const c0_out[] = { "A duplicate charge is a billing matter.", "billing" };
static const char *const c1_out[] = { "A login problem concerns the account.", "account" };
static const char *const c2_out[] = { "A missing delivery concerns the order.", "orders" };
static const char *const c3_out[] = { "A question about hours is general.", "general" };
static const dsp_demo c_demos[] = { { d0_in, c0_out }, { d1_in, c1_out }, { d2_in, c2_out }, { d3_in, c3_out } };

static const char *const queries[] = {
    "Why was my credit card charged twice for one invoice?",
    "I reset my password and now I cannot log in to my account.",
    "The tracking number for my order shows no shipment yet.",
    "Are you open on public holidays, and what are the hours?",
};
static const size_t want[] = { 0, 1, 2, 3 };

static char base[96];
static dsp_lm_config lm;

static void use_server(const rs_proc *s)
{
    rs_proc_base_url(s, base, sizeof base);
    memset(&lm, 0, sizeof lm);
    lm.model = "openai/refserver";
    lm.base_url = base;
    lm.params = dsp_lm_params_default();
    lm.params.temperature = 0.0;
}

static dsp_client *client(void)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
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

#define NEED_FIXTURE()                                                                                                \
    do {                                                                                                              \
        char bin_[512];                                                                                               \
        if (!rs_proc_binary(bin_, sizeof bin_)) {                                                                       \
            fprintf(stderr, "%s not built: skipped\n", bin_);                                                       \
            skip();                                                                                                   \
        }                                                                                                             \
    } while (0)

/* The fixture learns from the demos in our prompt: near-paraphrases of the
 * demos get the demos' labels, for predict and chain of thought alike. */
static void test_fixture_reads_our_prompts(void **state)
{
    (void)state;
    NEED_FIXTURE();
    rs_proc s;
    assert_true(rs_proc_start(&s, NULL));
    use_server(&s);
    dsp_client *c = client();
    for (int cot = 0; cot < 2; cot++) {
        dsp_predictor p = { "classify", &t_sig, cot ? DSP_STRATEGY_CHAIN_OF_THOUGHT : DSP_STRATEGY_PREDICT,
                            cot ? c_demos : t_demos, 4, &lm };
        size_t n_out = dsp_strategy_n_outputs(&t_sig, p.strategy);
        for (size_t i = 0; i < 4; i++) {
            dsp_value in = str(queries[i]);
            dsp_value out[2] = { 0 };
            dsp_predict_trace tr;
            dsp_predict_trace_init(&tr);
            dsp_error err = { 0 };
            if (dsp_predict(c, &p, &in, out, &tr, &err) != DSP_OK)
                fail_msg("%s: %s\nraw: %s", queries[i], err.message, err.raw ? err.raw : "");
            assert_false(tr.json_fallback); /* the chat reply parsed as is */
            const dsp_value *cat = &out[n_out - 1];
            if (cat->as.e != want[i])
                fail_msg("\"%s\" -> %s, want %s (cot %d)\nreply: %s", queries[i], queues[cat->as.e], queues[want[i]],
                         cot, tr.raw_reply);
            if (cot)
                assert_true(out[0].as.s.len > 0);
            dsp_predict_trace_free(&tr);
            dsp_values_free(out, n_out);
            dsp_value_free(&in);
        }
    }
    dsp_client_free(c);
    rs_proc_stop(&s, 3000, NULL);
}

/* The JSON adapter chosen on the lm: one request whose schema the API
 * enforces (OpenAI response_format json_schema, strict; Anthropic a forced
 * tool read back from its tool_use block), for both wire formats. */
static void test_json_adapter_both_apis(void **state)
{
    (void)state;
    NEED_FIXTURE();
    rs_proc s;
    assert_true(rs_proc_start(&s, NULL));
    use_server(&s);
    dsp_client *c = client();
    const char *models[] = { "openai/refserver", "anthropic/refserver" };
    for (int m = 0; m < 2; m++) {
        lm.model = models[m];
        lm.adapter = DSP_ADAPTER_JSON;
        dsp_predictor p = { "classify", &t_sig, DSP_STRATEGY_PREDICT, t_demos, 4, &lm };
        for (size_t i = 0; i < 4; i++) {
            dsp_value in = str(queries[i]);
            dsp_value out[1] = { 0 };
            dsp_predict_trace tr;
            dsp_predict_trace_init(&tr);
            dsp_error err = { 0 };
            if (dsp_predict(c, &p, &in, out, &tr, &err) != DSP_OK)
                fail_msg("%s %s: %s\nraw: %s", models[m], queries[i], err.message, err.raw ? err.raw : "");
            assert_true(tr.json_adapter);
            assert_false(tr.json_fallback);
            assert_true(tr.raw_reply[0] == '{'); /* a JSON object, not chat sections */
            if (out[0].as.e != want[i])
                fail_msg("%s: \"%s\" -> %s, want %s\nreply: %s", models[m], queries[i], queues[out[0].as.e],
                         queues[want[i]], tr.raw_reply);
            dsp_predict_trace_free(&tr);
            dsp_values_free(out, 1);
            dsp_value_free(&in);
        }
        /* A per-call choice overrides the lm's. */
        dsp_predict_options o = dsp_predict_options_default();
        o.adapter = DSP_ADAPTER_CHAT;
        assert_int_equal(dsp_predict_adapter_of(&p, &o), DSP_ADAPTER_CHAT);
        assert_int_equal(dsp_predict_adapter_of(&p, NULL), DSP_ADAPTER_JSON);
    }
    lm.adapter = DSP_ADAPTER_DEFAULT;
    dsp_client_free(c);
    rs_proc_stop(&s, 3000, NULL);
}

/* Injected malformed replies: the chat parse fails, the JSON fallback
 * recovers some calls, and every other call fails as DSP_ERR_PARSE with the
 * raw reply; nothing else happens. */
static void test_malformed_replies(void **state)
{
    (void)state;
    NEED_FIXTURE();
    rs_proc s;
    static const char *const faults[] = { "--fail-rate", "0.5", "--fail-kinds", "missing-field,wrong-type", "--seed",
                                          "7", NULL };
    assert_true(rs_proc_start(&s, faults));
    use_server(&s);
    dsp_client *c = client();
    dsp_predictor p = { "classify", &t_sig, DSP_STRATEGY_PREDICT, t_demos, 4, &lm };
    enum { N = 40 };
    dsp_value in[N], out[N];
    dsp_status st[N];
    dsp_error errs[N];
    dsp_predict_trace tr[N];
    memset(out, 0, sizeof out);
    memset(errs, 0, sizeof errs);
    for (int i = 0; i < N; i++) {
        char q[160];
        snprintf(q, sizeof q, "%s (ticket %d)", queries[i % 4], i);
        in[i] = str(q);
        dsp_predict_trace_init(&tr[i]);
    }
    dsp_predict_batch(c, &p, NULL, in, N, out, st, errs, tr);
    int ok = 0, recovered = 0, failed = 0;
    for (int i = 0; i < N; i++) {
        if (st[i] == DSP_OK) {
            ok++;
            assert_int_equal(out[i].kind, DSP_TYPE_ENUM);
            assert_true(out[i].as.e < 4);
            recovered += tr[i].json_fallback;
        } else {
            if (st[i] != DSP_ERR_PARSE)
                fail_msg("call %d: %s: %s", i, dsp_status_name(st[i]), errs[i].message);
            failed++;
            assert_non_null(errs[i].raw);
            assert_non_null(strstr(errs[i].message, "output `category`"));
            assert_true(tr[i].json_fallback);
        }
        dsp_error_clear(&errs[i]);
        dsp_predict_trace_free(&tr[i]);
    }
    fprintf(stderr, "malformed replies: %d ok (%d through the JSON fallback), %d parse errors\n", ok, recovered,
            failed);
    assert_true(recovered > 0);
    assert_true(ok + failed == N);
    dsp_values_free(out, N);
    dsp_values_free(in, N);
    dsp_client_free(c);
    rs_proc_stop(&s, 3000, NULL);
}

/* dsp_predict_stream: reasoning arrives piece by piece, each output is
 * handed on once with its final value, and the outputs equal dsp_predict's
 * for the same reply, over each streaming wire format; a cached reply is
 * replayed; a callback cancels. */
typedef struct streamed {
    char reasoning[4096];
    int deltas;
    int order[2];
    int n_fields;
    dsp_value values[2];
    int cancel;
} streamed;

static int on_delta(void *ctx, const dsp_stream_field *sf, const char *text, size_t len)
{
    size_t field = sf->index;
    const char *name = sf->name;
    streamed *s = ctx;
    if (field == 0) {
        assert_string_equal(name, "reasoning");
        strncat(s->reasoning, text, len);
        s->deltas++;
    }
    return 0;
}

static int on_field(void *ctx, const dsp_stream_field *sf, const dsp_value *v)
{
    size_t field = sf->index;
    const char *name = sf->name;
    streamed *s = ctx;
    (void)name;
    assert_true(field < 2);
    s->order[field] = ++s->n_fields;
    assert_int_equal(dsp_value_copy(&s->values[field], v, NULL), DSP_OK);
    return s->cancel;
}

static void test_stream_equals_predict(void **state)
{
    (void)state;
    NEED_FIXTURE();
    rs_proc s;
    assert_true(rs_proc_start(&s, NULL));
    use_server(&s);
    char bare[64], dir[] = "/tmp/dsp-pstream-XXXXXX";
    snprintf(bare, sizeof bare, "http://127.0.0.1:%u", s.port);
    assert_non_null(mkdtemp(dir));
    dsp_client_options o = dsp_client_options_default();
    o.cache_dir = dir;
    o.max_retries = 0;
    dsp_client *c = NULL;
    dsp_error err = { 0 };
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    static const char *const models[] = { "openai/refserver", "anthropic/claude-3-5-haiku-latest",
                                          "gemini/gemini-2.0-flash", "bedrock/anthropic.claude-3-haiku-20240307-v1:0" };
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        dsp_lm_config l = lm;
        l.model = models[m];
        l.base_url = m ? bare : base;
        dsp_predictor p = { "classify", &t_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, c_demos, 4, &l };
        dsp_predict_options po = dsp_predict_options_default();
        po.bypass_cache = true;
        dsp_value in = str(queries[m]);
        dsp_value plain[2] = { 0 };
        if (dsp_predict_ex(c, &p, &po, &in, plain, NULL, &err) != DSP_OK)
            fail_msg("%s: %s", models[m], err.message);
        for (int replay = 0; replay < 2; replay++) {
            streamed got;
            memset(&got, 0, sizeof got);
            dsp_stream_callbacks cb = { on_delta, on_field, &got };
            dsp_value out[2] = { 0 };
            dsp_predict_trace tr;
            dsp_predict_trace_init(&tr);
            if (dsp_predict_stream(c, &p, NULL, &in, &cb, out, &tr, &err) != DSP_OK)
                fail_msg("%s: %s", models[m], err.message);
            assert_int_equal(tr.cache_hit, replay == 1);
            assert_true(dsp_value_equal(&out[0], &plain[0]));
            assert_true(dsp_value_equal(&out[1], &plain[1]));
            assert_int_equal(got.order[0], 1); /* reasoning first, then the category */
            assert_int_equal(got.order[1], 2);
            assert_true(dsp_value_equal(&got.values[0], &out[0]));
            assert_true(dsp_value_equal(&got.values[1], &out[1]));
            /* The deltas make the reasoning's text (before trimming). */
            assert_non_null(strstr(got.reasoning, out[0].as.s.data));
            if (replay == 0 && got.deltas < 2)
                fail_msg("%s: the reasoning came in %d pieces", models[m], got.deltas);
            dsp_values_free(out, 2);
            dsp_values_free(got.values, 2);
            dsp_predict_trace_free(&tr);
        }
        /* A cancel at the first field: the call fails, outputs stay empty. */
        streamed got;
        memset(&got, 0, sizeof got);
        got.cancel = 1;
        dsp_stream_callbacks cb = { NULL, on_field, &got };
        dsp_value out[2] = { 0 };
        assert_int_equal(dsp_predict_stream(c, &p, &po, &in, &cb, out, NULL, &err), DSP_ERR_CANCELLED);
        assert_int_equal(got.n_fields, 1);
        assert_int_equal(out[0].kind, 0);
        assert_int_equal(out[1].kind, 0);
        dsp_error_clear(&err);
        dsp_values_free(got.values, 2);
        dsp_values_free(plain, 2);
        dsp_value_free(&in);
    }
    dsp_client_free(c);
    rs_proc_stop(&s, 10000, NULL);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* dsp_stream_use: a plain dsp_predict on this thread streams into the
 * callbacks (as a generated NAME_run_stream's predictors do), and jobs of
 * a batch's event loop, fibers of the same thread, do not. */
typedef struct loop_ctx {
    dsp_client *c;
    const dsp_predictor *p;
    int failed;
} loop_ctx;

static int loop_job(void *arg, size_t i)
{
    loop_ctx *x = arg;
    dsp_value in = str(queries[i % 4]);
    dsp_value out[2] = { 0 };
    dsp_error err = { 0 };
    if (dsp_predict(x->c, x->p, &in, out, NULL, &err) != DSP_OK)
        x->failed++;
    dsp_values_free(out, 2);
    dsp_value_free(&in);
    dsp_error_clear(&err);
    return 0;
}

static void test_stream_use_reaches_plain_calls_not_batches(void **state)
{
    (void)state;
    NEED_FIXTURE();
    rs_proc s;
    assert_true(rs_proc_start(&s, NULL));
    use_server(&s);
    dsp_client *c = client();
    dsp_predictor p = { "classify", &t_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, c_demos, 4, &lm };
    streamed got;
    memset(&got, 0, sizeof got);
    dsp_stream_callbacks cb = { on_delta, on_field, &got };
    assert_null(dsp_stream_use(&cb));
    dsp_value in = str(queries[0]);
    dsp_value out[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(dsp_predict(c, &p, &in, out, NULL, &err), DSP_OK);
    assert_int_equal(got.n_fields, 2);
    assert_true(got.deltas > 0);
    dsp_values_free(got.values, 2);
    memset(&got, 0, sizeof got);
    loop_ctx x = { c, &p, 0 };
    (void)dsp_loop_run_each(4, 4, loop_job, &x);
    assert_int_equal(x.failed, 0);
    assert_int_equal(got.n_fields, 0);
    assert_int_equal(got.deltas, 0);
    assert_ptr_equal(dsp_stream_use(NULL), &cb);
    dsp_values_free(out, 2);
    dsp_value_free(&in);
    dsp_client_free(c);
    rs_proc_stop(&s, 10000, NULL);
}

/* What a job in flight costs: the stack pages the deepest call of a
 * dsp_predict touched stay resident while the job waits for its reply, for
 * every job of a batch at once (thousands). Rendering, the cache key, the
 * URL's checks and the reply's parsing keep their buffers off the job's
 * stack (8 KiB with gcc -O2; 20 KiB before), so 12 KiB is the bound. */
typedef struct stack_ctx {
    dsp_client *c;
    const dsp_predictor *p;
    int failed;
    size_t most; /* the largest resident stack a job had */
} stack_ctx;

static int stack_job(void *arg, size_t i)
{
    stack_ctx *x = arg;
    dsp_value in = str(queries[i % 4]);
    dsp_value out[1] = { 0 };
    dsp_error *err = calloc(1, sizeof *err); /* not on the stack measured */
    if (!err || dsp_predict(x->c, x->p, &in, out, NULL, err) != DSP_OK)
        x->failed++;
    size_t r = dsp_loop_stack_resident();
    if (r > x->most)
        x->most = r;
    dsp_values_free(out, 1);
    dsp_value_free(&in);
    if (err)
        dsp_error_clear(err);
    free(err);
    return 0;
}

static void test_a_waiting_job_keeps_a_small_stack(void **state)
{
    (void)state;
    NEED_FIXTURE();
#ifdef DSP_FIBER_ASAN
    skip(); /* ASan's redzones make every frame several times larger */
#endif
    rs_proc s;
    assert_true(rs_proc_start(&s, NULL));
    use_server(&s);
    dsp_client *c = client();
    dsp_predictor p = { "classify", &t_sig, DSP_STRATEGY_PREDICT, t_demos, 4, &lm };
    stack_ctx x = { c, &p, 0, 0 };
    assert_int_equal(dsp_loop_run_each(16, 8, stack_job, &x), 0);
    assert_int_equal(x.failed, 0);
    fprintf(stderr, "a job's resident stack after dsp_predict: %zu KiB\n", x.most >> 10);
    assert_true(x.most > 0);
    assert_true(x.most <= 12 * 1024);
    assert_int_equal(dsp_loop_stack_resident(), 0); /* outside a job: none */
    dsp_client_free(c);
    rs_proc_stop(&s, 10000, NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_reads_our_prompts),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_json_adapter_both_apis),
        cmocka_unit_test(test_stream_equals_predict),
        cmocka_unit_test(test_stream_use_reaches_plain_calls_not_batches),
        cmocka_unit_test(test_a_waiting_job_keeps_a_small_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
