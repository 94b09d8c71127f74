/* test_state.c — the optimized-state file: canonical text, round trip of
 * any bytes, strict reading with errors that name the file and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "state.h"

static char *k_in_names[] = {"ticket_text"};
static char *k_out_names[] = {"reasoning", "category"};

typedef struct fixture {
    st_state s;
    st_predictor preds[2];
    st_demo demos[2];
    char *d0_in[1], *d0_out[2], *d1_in[1], *d1_out[2];
    st_trial trials[2];
    char dir[64];
} fixture;

static void make_state(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->d0_in[0] = "My card was charged twice";
    f->d0_out[0] = "A \"double\" charge \\ is billing.\n\tTabs\x01 and bytes \xff\xfe (invalid UTF-8) */ ?\?=";
    f->d0_out[1] = "billing";
    f->d1_in[0] = "Where is my parcel?";
    f->d1_out[0] = NULL; /* a partial demo: reasoning left out */
    f->d1_out[1] = "orders";
    f->demos[0] = (st_demo){f->d0_in, 1, f->d0_out, 2};
    f->demos[1] = (st_demo){f->d1_in, 1, f->d1_out, 2};
    f->preds[0] = (st_predictor){.name = "TicketClassifier.r",
                                 .instructions = "Classify the ticket. Think first.",
                                 .model = "ft:gpt-4o-mini:acme::abc",
                                 .adapter_path = "lora/x.safetensors",
                                 .adapter_sha256 = "ab12",
                                 .input_names = k_in_names,
                                 .n_input_names = 1,
                                 .output_names = k_out_names,
                                 .n_output_names = 2,
                                 .demos = f->demos,
                                 .n_demos = 2};
    f->preds[1] = (st_predictor){.name = "Zeta.q", .lm = "teacher"};
    f->trials[0] = (st_trial){.trial = 1, .score = 0.5, .config = "TicketClassifier.r: instr 0, demos 0"};
    f->trials[1] = (st_trial){.trial = 2, .score = 0.8333333333333334, .full_eval = 1,
                              .config = "TicketClassifier.r: instr 2, demos 1"};
    f->s = (st_state){.program = "TicketClassifier",
                      .source = "tickets.dsp",
                      .source_sha256 = "9f86d0",
                      .optimizer = "mipro",
                      .seed = 7,
                      .metric = "accuracy",
                      .valset = "dev",
                      .baseline_score = 0.41,
                      .final_score = 0.8333333333333334,
                      .lm_calls = 1234,
                      .predictors = f->preds,
                      .n_predictors = 2,
                      .trials = f->trials,
                      .n_trials = 2};
    snprintf(f->dir, sizeof f->dir, "/tmp/test_state.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
}

static void cleanup(fixture *f)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void write_raw(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_text_is_canonical(void **state)
{
    (void)state;
    fixture f;
    make_state(&f);
    char *text = NULL;
    size_t len = 0;
    dsp_error err = {0};
    assert_int_equal(st_write_text(&f.s, &text, &len, &err), DSP_OK);
    assert_int_equal(strlen(text), len);
    /* Fixed key order, two-space indent, one demo field per line. */
    const char *want_head = "{\n  \"dspcc_state\": 1,\n  \"program\": \"TicketClassifier\",\n"
                            "  \"source\": \"tickets.dsp\",\n  \"source_sha256\": \"9f86d0\",\n"
                            "  \"optimizer\": \"mipro\",\n  \"seed\": 7,\n  \"metric\": \"accuracy\",\n"
                            "  \"valset\": \"dev\",\n  \"baseline_score\": 0.41,\n"
                            "  \"final_score\": 0.8333333333333334,\n  \"lm_calls\": 1234,\n"
                            "  \"predictors\": [\n";
    assert_memory_equal(text, want_head, strlen(want_head));
    assert_non_null(strstr(text, "\n            \"ticket_text\": \"My card was charged twice\"\n"));
    assert_non_null(strstr(text, "\"adapter\": { \"path\": \"lora/x.safetensors\", \"sha256\": \"ab12\" }"));
    assert_non_null(strstr(text, "\"inputs\": [\"ticket_text\"],\n"));
    assert_non_null(strstr(text, "{ \"trial\": 2, \"score\": 0.8333333333333334, \"full_eval\": true,"));
    assert_non_null(strstr(text, "\\\"double\\\" charge \\\\ is billing.\\n\\tTabs\\u0001"));
    /* Same state, same bytes. */
    char *again = NULL;
    assert_int_equal(st_write_text(&f.s, &again, NULL, &err), DSP_OK);
    assert_string_equal(text, again);
    free(again);
    if (getenv("TEST_STATE_DUMP")) fputs(text, stdout);
    free(text);
    cleanup(&f);
}

static void test_round_trip(void **state)
{
    (void)state;
    fixture f;
    make_state(&f);
    char path[128];
    snprintf(path, sizeof path, "%s/t.state.json", f.dir);
    dsp_error err = {0};
    assert_int_equal(st_write_file(&f.s, path, &err), DSP_OK);

    st_state r;
    assert_int_equal(st_read_file(path, &r, &err), DSP_OK);
    assert_string_equal(r.program, "TicketClassifier");
    assert_string_equal(r.valset, "dev");
    assert_int_equal(r.seed, 7);
    assert_true(r.final_score == f.s.final_score);
    assert_true(r.baseline_score == 0.41);
    assert_int_equal(r.lm_calls, 1234);
    assert_int_equal(r.n_predictors, 2);
    const st_predictor *p = st_predictor_find(&r, "TicketClassifier.r");
    assert_non_null(p);
    assert_string_equal(p->model, "ft:gpt-4o-mini:acme::abc");
    assert_string_equal(p->adapter_sha256, "ab12");
    assert_null(p->lm);
    assert_int_equal(p->n_demos, 2);
    assert_int_equal(p->demos[0].n_outputs, 2);
    assert_string_equal(p->demos[0].outputs[0], f.d0_out[0]); /* every odd byte back */
    assert_null(p->demos[1].outputs[0]);
    assert_string_equal(p->demos[1].outputs[1], "orders");
    const st_predictor *z = st_predictor_find(&r, "Zeta.q");
    assert_non_null(z);
    assert_string_equal(z->lm, "teacher");
    assert_null(z->instructions);
    assert_int_equal(z->n_demos, 0);
    assert_null(st_predictor_find(&r, "Nope.x"));
    assert_int_equal(r.n_trials, 2);
    assert_true(r.trials[1].full_eval);
    assert_string_equal(r.trials[0].config, "TicketClassifier.r: instr 0, demos 0");

    /* What was read writes back to the same bytes. */
    char *a = NULL, *b = NULL;
    assert_int_equal(st_write_text(&f.s, &a, NULL, &err), DSP_OK);
    assert_int_equal(st_write_text(&r, &b, NULL, &err), DSP_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
    st_free(&r);
    /* No temporary file is left beside it. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", f.dir);
    assert_int_equal(system(cmd), 0);
    cleanup(&f);
}

/* What shipped and why, the examples behind the scores and the failures
 * round-trip; a state without them (above) reads as before. */
static void test_scores_detail_round_trips(void **state)
{
    (void)state;
    fixture f;
    make_state(&f);
    f.s.has_scores_detail = 1;
    f.s.final_score = f.s.baseline_score;
    f.s.optimized_score = 0.25;
    f.s.shipped = "unoptimized";
    f.s.shipped_reason = "kept the unoptimized program: mipro's program scored 0.2500, not above 0.4100";
    f.s.valset_examples = 459;
    f.s.search_examples = 100;
    f.s.failed_examples = 3;
    f.s.teacher_runs = 60;
    f.s.failed_teacher_runs = 1;
    f.trials[1].has_counts = 1;
    f.trials[1].examples = 100;
    f.trials[1].failed = 3;
    char *text = NULL;
    dsp_error err = {0};
    assert_int_equal(st_write_text(&f.s, &text, NULL, &err), DSP_OK);
    const char *want = "  \"final_score\": 0.41,\n  \"optimized_score\": 0.25,\n  \"shipped\": \"unoptimized\",\n"
                       "  \"shipped_reason\": \"kept the unoptimized program: mipro's program scored 0.2500, not "
                       "above 0.4100\",\n  \"valset_examples\": 459,\n  \"search_examples\": 100,\n"
                       "  \"failed_examples\": 3,\n  \"teacher_runs\": 60,\n  \"failed_teacher_runs\": 1,\n"
                       "  \"lm_calls\": 1234,\n";
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "\"full_eval\": true, \"examples\": 100, \"failed\": 3, \"config\""));
    assert_non_null(strstr(text, "\"full_eval\": false, \"config\"")); /* trial 1 has no counts */
    char path[128];
    snprintf(path, sizeof path, "%s/d.state.json", f.dir);
    write_raw(path, text);
    st_state r;
    assert_int_equal(st_read_file(path, &r, &err), DSP_OK);
    assert_true(r.has_scores_detail);
    assert_true(r.optimized_score == 0.25);
    assert_string_equal(r.shipped, "unoptimized");
    assert_string_equal(r.shipped_reason, f.s.shipped_reason);
    assert_int_equal(r.valset_examples, 459);
    assert_int_equal(r.search_examples, 100);
    assert_int_equal(r.failed_examples, 3);
    assert_int_equal(r.teacher_runs, 60);
    assert_int_equal(r.failed_teacher_runs, 1);
    assert_false(r.trials[0].has_counts);
    assert_true(r.trials[1].has_counts);
    assert_int_equal(r.trials[1].examples, 100);
    assert_int_equal(r.trials[1].failed, 3);
    char *back = NULL;
    assert_int_equal(st_write_text(&r, &back, NULL, &err), DSP_OK);
    assert_string_equal(text, back);
    free(back);
    st_free(&r);
    free(text);
    cleanup(&f);
}

/* Without a valset the held-out trainset rows are written on one line and
 * read back, so `dspcc eval --holdout` runs exactly them. */
static void test_holdout_rows_round_trip(void **state)
{
    (void)state;
    fixture f;
    make_state(&f);
    long long rows[] = {0, 3, 17, 42};
    f.s.valset = "trainset holdout";
    f.s.holdout_rows = rows;
    f.s.n_holdout_rows = 4;
    char *text = NULL;
    dsp_error err = {0};
    assert_int_equal(st_write_text(&f.s, &text, NULL, &err), DSP_OK);
    assert_non_null(strstr(text, "  \"valset\": \"trainset holdout\",\n  \"holdout_rows\": [0, 3, 17, 42],\n"));
    char path[128];
    snprintf(path, sizeof path, "%s/h.state.json", f.dir);
    write_raw(path, text);
    st_state r;
    assert_int_equal(st_read_file(path, &r, &err), DSP_OK);
    assert_int_equal(r.n_holdout_rows, 4);
    assert_int_equal(r.holdout_rows[3], 42);
    char *back = NULL;
    assert_int_equal(st_write_text(&r, &back, NULL, &err), DSP_OK);
    assert_string_equal(text, back);
    free(back);
    st_free(&r);
    free(text);
    cleanup(&f);
}

static void expect_read_error(const char *dir, const char *text, const char *needle)
{
    char path[128];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    write_raw(path, text);
    st_state r;
    dsp_error err = {0};
    assert_int_not_equal(st_read_file(path, &r, &err), DSP_OK);
    if (!strstr(err.message, needle) || !strstr(err.message, "bad.json")) {
        fprintf(stderr, "message: %s\nexpected to contain: %s\n", err.message, needle);
        fail();
    }
    assert_null(r.predictors); /* nothing half-read is left */
}

#define HEAD "{\"dspcc_state\":1,\"program\":\"P\",\"source\":\"p.dsp\",\"source_sha256\":\"00\",\"optimizer\":\"m\"," \
             "\"seed\":1,\"metric\":\"acc\",\"baseline_score\":0,\"final_score\":1,\"lm_calls\":0,"

static void test_read_errors_name_file_and_key(void **state)
{
    (void)state;
    fixture f;
    make_state(&f);
    expect_read_error(f.dir, "{ not json", "not valid JSON");
    expect_read_error(f.dir, HEAD "\"predictors\":[],\"colour\":1}", "key `colour`: unknown key");
    expect_read_error(f.dir, HEAD "\"predictors\":[{\"name\":\"P.a\",\"instrucions\":\"x\"}]}",
                      "key `predictors[0].instrucions`: unknown key");
    expect_read_error(f.dir, HEAD "\"predictors\":[{\"name\":7}]}", "key `predictors[0].name`: expected a string");
    expect_read_error(f.dir,
                      HEAD "\"predictors\":[{\"name\":\"P.a\",\"inputs\":[\"q\"],\"outputs\":[\"a\"],"
                           "\"demos\":[{\"inputs\":{\"z\":\"1\"},\"outputs\":{}}]}]}",
                      "key `predictors[0].demos[0].inputs.z`");
    expect_read_error(f.dir, HEAD "\"predictors\":[{\"name\":\"P.a\",\"demos\":[{\"inputs\":{},\"outputs\":{}}]}]}",
                      "no `inputs` and `outputs`");
    expect_read_error(f.dir, HEAD "\"predictors\":[{\"name\":\"P.b\"},{\"name\":\"P.a\"}]}",
                      "predictors[1].name");
    expect_read_error(f.dir, "{\"dspcc_state\":2}", "unsupported state version");
    expect_read_error(f.dir, HEAD "\"holdout_rows\":[3,3],\"predictors\":[]}",
                      "key `holdout_rows`: expected ascending row numbers from 0");
    expect_read_error(f.dir, HEAD "\"holdout_rows\":[-1],\"predictors\":[]}", "key `holdout_rows`");
    expect_read_error(f.dir, HEAD "\"holdout_rows\":{},\"predictors\":[]}", "expected an array of row numbers");
    expect_read_error(f.dir, HEAD "\"predictors\":[],\"trials\":[{\"trial\":1,\"score\":\"x\"}]}",
                      "trials[0].score");
    expect_read_error(f.dir, HEAD "\"optimized_score\":1,\"predictors\":[]}", "key `shipped`: expected a string");
    expect_read_error(f.dir, HEAD "\"optimized_score\":1,\"shipped\":\"maybe\",\"predictors\":[]}",
                      "key `shipped`: expected \"optimized\"");
    expect_read_error(f.dir, HEAD "\"optimized_score\":1,\"shipped\":\"optimized\",\"predictors\":[]}",
                      "key `valset_examples`: expected a number");
    expect_read_error(f.dir,
                      HEAD "\"predictors\":[],\"trials\":[{\"trial\":1,\"score\":1,\"full_eval\":true,"
                           "\"examples\":4,\"config\":\"x\"}]}",
                      "trials[0].failed");
    /* A knn pool that claims 65536 dimensions over 200,000 demos with empty
     * vectors (a 9 MB file): the bad row is named before anything is
     * allocated for the claim (52 GB: "out of memory" where it was). */
    {
        size_t n = 200000, cap = n * 64 + 1024, len = 0;
        char *text = malloc(cap);
        assert_non_null(text);
        len += (size_t)snprintf(text + len, cap - len,
                                HEAD "\"predictors\":[{\"name\":\"P.a\",\"inputs\":[\"q\"],\"outputs\":[\"a\"],"
                                     "\"demos\":[");
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(text + len, cap - len, "%s{\"inputs\":{\"q\":\"1\"},\"outputs\":{\"a\":\"1\"}}",
                                    i ? "," : "");
        len += (size_t)snprintf(text + len, cap - len,
                                "],\"knn\":{\"k\":3,\"embedder\":\"openai/e\",\"dim\":65536,\"vectors\":[");
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(text + len, cap - len, "%s[]", i ? "," : "");
        snprintf(text + len, cap - len, "]}}]}");
        expect_read_error(f.dir, text, "key `predictors[0].knn.vectors[0]`: expected an array of `dim` numbers");
        free(text);
    }
    /* A missing file says so. */
    st_state r;
    dsp_error err = {0};
    assert_int_equal(st_read_file("/nonexistent/x.state.json", &r, &err), DSP_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/x.state.json"));
    cleanup(&f);
}

static void test_write_rejects_inconsistent_state(void **state)
{
    (void)state;
    fixture f;
    make_state(&f);
    char *text = NULL;
    dsp_error err = {0};
    f.preds[1].name = "A.first"; /* out of order */
    assert_int_equal(st_write_text(&f.s, &text, NULL, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "sorted"));
    assert_null(text);
    make_state(&f);
    f.preds[0].output_names = NULL;
    assert_int_equal(st_write_text(&f.s, &text, NULL, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "TicketClassifier.r"));
    f.preds[0].output_names = k_out_names;
    f.demos[1].n_outputs = 1;
    assert_int_equal(st_write_text(&f.s, &text, NULL, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "demo 1"));
    cleanup(&f);
    /* A write into a missing directory fails cleanly. */
    make_state(&f);
    assert_int_equal(st_write_file(&f.s, "/nonexistent/dir/x.json", &err), DSP_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/x.json"));
    cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_is_canonical),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_scores_detail_round_trips),
        cmocka_unit_test(test_holdout_rows_round_trip),
        cmocka_unit_test(test_read_errors_name_file_and_key),
        cmocka_unit_test(test_write_rejects_inconsistent_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
