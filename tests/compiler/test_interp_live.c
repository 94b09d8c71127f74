/* test_interp_live.c — the interpreter against build/dsp-refserver (a TEST
 * FIXTURE, not a language model) on 127.0.0.1: predictor calls through
 * dsp_predict_ex, traces in adapter text that work as demos as they are,
 * per-predictor overrides (demos, rollout ids) reaching the prompt, and
 * evaluation that is deterministic and fully cached on a second pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../support/refserver_proc.h"
#include "exec_fixture.h"

static const char *PROGRAM =
    "lm local = \"compatible/fixture\" { base_url: \"http://127.0.0.1:9/v1\" temperature: 0.0 }\n"
    "enum Queue { billing, account, orders, general }\n"
    "signature Classify \"Classify a customer support ticket.\" {\n"
    "  in ticket_text: string\n"
    "  out category: Queue\n"
    "}\n"
    "module M(ticket_text: string) -> (category: Queue, reasoning: string) {\n"
    "  r = chain_of_thought(Classify)(ticket_text: ticket_text)\n"
    "  return r\n"
    "}\n"
    "metric acc(ex, pred) = exact_match(pred.category, ex.category)\n"
    "data d = jsonl(\"d.jsonl\") { text -> ticket_text, category -> category }\n"
    "optimize M with labeled_fewshot(k: 1) { metric: acc trainset: d lm: local }\n";

static const char *DATA =
    "{\"text\": \"I was charged twice for my subscription\", \"category\": \"billing\"}\n"
    "{\"text\": \"I cannot log in to my account\", \"category\": \"account\"}\n"
    "{\"text\": \"Where is my order? It has not shipped\", \"category\": \"orders\"}\n"
    "{\"text\": \"I want to leave some feedback\", \"category\": \"general\"}\n"
    "{\"text\": \"Please refund my last invoice\", \"category\": \"billing\"}\n"
    "{\"text\": \"How do I reset my password\", \"category\": \"account\"}\n";

typedef struct live {
    xfix *f;
    rs_proc server;
    dsp_client *client;
    ir_program *p;
    ex_dataset d;
    ex_runner *r;
} live;

static int teardown(void **state)
{
    live *l = *state;
    ex_runner_free(l->r);
    ex_dataset_free(&l->d);
    dsp_client_free(l->client);
    rs_proc_stop(&l->server, 3000, NULL);
    xfix_free(l->f);
    free(l);
    return 0;
}

/* cmocka skips the teardown when the setup fails: stop the server here. */
static int setup_failed(live *l, const char *why)
{
    fprintf(stderr, "setup: %s\n", why);
    teardown((void **)&l);
    return -1;
}

static int setup(void **state)
{
    live *l = calloc(1, sizeof *l);
    l->f = xfix_new();
    char url[128];
    if (!rs_proc_start(&l->server, NULL))
        return setup_failed(l, "cannot start dsp-refserver (build it first)");
    rs_proc_base_url(&l->server, url, sizeof url);
    dsp_client_options o = dsp_client_options_default();
    o.cache_dir = xfix_path(l->f, "cache");
    o.base_url = url;
    if (dsp_client_new(&o, &l->client, NULL) != DSP_OK)
        return setup_failed(l, "cannot make a client");
    xfix_write(l->f, "d.jsonl", DATA);
    l->p = xfix_program(l->f, PROGRAM);
    if (!l->p)
        return setup_failed(l, "the program does not check");
    const ir_module *m = ir_module_find(l->p, "M");
    if (ex_dataset_load(l->p, m, l->p->data[0], &l->d, NULL) != DSP_OK)
        return setup_failed(l, "cannot load the data");
    ex_runner_options ro = ex_runner_options_default();
    ro.client = l->client;
    ro.lm = l->p->lms[0];
    ro.metric = l->p->optimizes[0]->metric;
    if (ex_runner_new(l->p, m, &ro, &l->r, NULL) != DSP_OK)
        return setup_failed(l, "cannot make a runner");
    *state = l;
    return 0;
}

static void test_run_and_trace(void **state)
{
    live *l = *state;
    ex_config cfg;
    assert_int_equal(ex_config_init(l->r, &cfg, NULL), DSP_OK);
    ex_result res;
    if (ex_run(l->r, &cfg, &l->d, 0, &res) != DSP_OK)
        fail_msg("run failed: %s", res.error);
    assert_int_equal(res.n_outputs, 2);
    assert_true(res.outputs[0].as.e < 4);
    assert_true(res.score == 0 || res.score == 1);
    assert_int_equal(res.usage.lm_calls, 1);
    /* The trace holds the call as the chat adapter writes it. */
    assert_int_equal(res.trace.n_steps, 1);
    const ex_trace_step *s = &res.trace.steps[0];
    assert_string_equal(s->predictor->name, "M.r");
    assert_int_equal(s->n_inputs, 1);
    assert_string_equal(s->inputs[0], "I was charged twice for my subscription");
    assert_int_equal(s->n_outputs, 2);  /* reasoning, category */
    const char *names[] = { "billing", "account", "orders", "general" };
    assert_string_equal(s->outputs[1], names[res.outputs[0].as.e]);
    assert_string_equal(s->outputs[0], res.outputs[1].as.s.data ? res.outputs[1].as.s.data : "");

    /* The trace works as a demo as it is: the prompt changes (a new cache
     * entry) and the call still parses. */
    dsp_demo demo = { (const char *const *)s->inputs, (const char *const *)s->outputs };
    ex_pred_config *pc = ex_config_find(&cfg, "M.r");
    pc->override_demos = true;
    pc->demos = &demo;
    pc->n_demos = 1;
    ex_result res2;
    if (ex_run(l->r, &cfg, &l->d, 1, &res2) != DSP_OK)
        fail_msg("run with a demo failed: %s", res2.error);
    ex_result res3;
    pc->n_demos = 0;
    assert_int_equal(ex_run(l->r, &cfg, &l->d, 1, &res3), DSP_OK);
    assert_int_equal(res3.usage.cache_hits, 0);  /* zero demos is another prompt */
    ex_result_free(&res3);
    assert_int_equal(ex_run(l->r, &cfg, &l->d, 1, &res3), DSP_OK);
    assert_int_equal(res3.usage.cache_hits, 1);  /* the same prompt again */
    ex_result_free(&res3);
    /* A rollout id asks for a distinct sample. */
    pc->rollout_id = 7;
    assert_int_equal(ex_run(l->r, &cfg, &l->d, 1, &res3), DSP_OK);
    assert_int_equal(res3.usage.cache_hits, 0);
    ex_result_free(&res3);
    ex_result_free(&res2);
    ex_result_free(&res);
    ex_config_free(&cfg);
}

/* The rows in the cache file, read through a connection of our own, as
 * another process (or this one after a kill -9) would see them. */
static int64_t rows_on_disk(live *l)
{
    sqlite3 *db = NULL;
    int64_t n = -1;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(xfix_path(l->f, "cache/responses.sqlite3"), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM responses", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* An evaluation is a phase of eval and optimize: its replies are on disk
 * when it returns, not held for the next flush (64 rows, 1 s, or the
 * client's end), so a kill during the next phase keeps them. */
static void test_evaluate_leaves_its_replies_on_disk(void **state)
{
    live *l = *state;
    ex_config cfg;
    assert_int_equal(ex_config_init(l->r, &cfg, NULL), DSP_OK);
    cfg.preds[0].instructions = "A prompt no other test sends, so every call is a miss.";
    ex_eval_options o = ex_eval_options_default();
    o.concurrency = 3;
    ex_eval_result a;
    assert_int_equal(ex_evaluate(l->r, &cfg, &l->d, &o, &a, NULL), DSP_OK);
    assert_int_equal(a.n_failed, 0);
    dsp_usage_totals u = dsp_client_usage(l->client);
    assert_true(u.cache_misses >= (int64_t)l->d.n_rows);
    /* Every miss of this fixture parsed, so every one was stored. */
    assert_int_equal(rows_on_disk(l), u.cache_misses);
    ex_eval_result_free(&a);
    ex_config_free(&cfg);
}

static void test_evaluate_deterministic_and_cached(void **state)
{
    live *l = *state;
    ex_config cfg;
    assert_int_equal(ex_config_init(l->r, &cfg, NULL), DSP_OK);
    /* Label hints in the fixture's format (docs/refserver.md), one a line. */
    cfg.preds[0].instructions = "Classify the ticket.\nbilling: charged, refund, invoice\naccount: login, password\n"
                                "orders: order, shipped\ngeneral: feedback";
    ex_eval_options o = ex_eval_options_default();
    o.concurrency = 4;
    o.keep_traces = true;
    ex_eval_result a, b;
    assert_int_equal(ex_evaluate(l->r, &cfg, &l->d, &o, &a, NULL), DSP_OK);
    assert_int_equal(a.n, l->d.n_rows);
    assert_int_equal(a.n_failed, 0);
    assert_int_equal(a.usage.lm_calls, (int64_t)l->d.n_rows);
    o.keep_traces = false;
    o.concurrency = 2;
    assert_int_equal(ex_evaluate(l->r, &cfg, &l->d, &o, &b, NULL), DSP_OK);
    assert_int_equal(b.usage.cache_hits, (int64_t)l->d.n_rows);
    assert_true(a.mean == b.mean);
    double sum = 0;
    for (size_t i = 0; i < a.n; i++) {
        assert_true(a.results[i].score == b.results[i].score);
        assert_int_equal(a.results[i].trace.n_steps, 1);
        assert_int_equal(b.results[i].trace.n_steps, 0);  /* not kept */
        assert_null(b.results[i].outputs);
        sum += a.results[i].score;
    }
    assert_true(a.mean == sum / (double)a.n);
    /* The label hints in the instructions are something the fixture learns from. */
    if (a.mean < 0.5)
        fail_msg("mean %.3f", a.mean);
    ex_eval_result_free(&a);
    ex_eval_result_free(&b);
    ex_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_and_trace),
        cmocka_unit_test(test_evaluate_deterministic_and_cached),
        cmocka_unit_test(test_evaluate_leaves_its_replies_on_disk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
