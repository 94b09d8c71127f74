/* test_metric_eval.c — metric expressions on an example and a prediction:
 * builtins (exact_match, contains, f1 with SQuAD normalization, approx,
 * len, min, max, abs), membership, comparisons, boolean logic, arithmetic,
 * C metric functions loaded with dlopen, and the errors that fail one
 * example (division by zero, a gold value the example lacks). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exec_fixture.h"
#include "metric_text.h"

/* The example: answer "Eiffel Tower in Paris", n 2.5, ok true, tags [paris, rome].
 * The prediction: answer " the eiffel TOWER ", n 2.75, ok false, tags [a]. */
static const char *DATA =
    "{\"q\": \"where?\", \"answer\": \"Eiffel Tower in Paris\", \"n\": 2.5, \"ok\": true, \"tags\": [\"paris\", \"rome\"]}\n"
    "{\"q\": \"what?\", \"n\": 1}\n";

typedef struct outcome {
    dsp_status status;
    double score;
    char message[DSP_ERROR_MESSAGE_MAX];
} outcome;

static outcome score_with(const char *metric, size_t row)
{
    xfix *f = xfix_new();
    xfix_write(f, "d.jsonl", DATA);
    const char *text = arena_printf(&f->a,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "tool double half(double x) from \"%s\"\n"
        "tool bool longer_than(const char *text, long n) from \"%s\"\n"
        "signature S { in q: string out answer: string out n: float out ok: bool out tags: list<string> }\n"
        "module M(q: string) -> (answer: string, n: float, ok: bool, tags: list<string>) {\n"
        "  r = predict(S)(q: q)\n"
        "  return r\n"
        "}\n"
        "metric m(ex, pred) = %s\n"
        "data d = jsonl(\"d.jsonl\") { q -> q, answer -> answer, n -> n, ok -> ok, tags -> tags }\n"
        "optimize M with labeled_fewshot(k: 1) { metric: m trainset: d lm: local }\n",
        xfix_tools_lib(f), xfix_tools_lib(f), metric);
    ir_program *p = xfix_program(f, text);
    if (!p)
        fail_msg("metric `%s` does not check", metric);
    const ir_module *m = ir_module_find(p, "M");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load(p, m, p->data[0], &d, &err), DSP_OK);
    ex_runner_options o = ex_runner_options_default();
    o.client = f->client;
    o.lm = p->lms[0];
    o.metric = p->optimizes[0]->metric;
    ex_runner *r;
    assert_int_equal(ex_runner_new(p, m, &o, &r, &err), DSP_OK);

    dsp_value out[4] = { 0 };
    const char *ans = " the eiffel TOWER ";
    assert_int_equal(dsp_value_set_string(&out[0], ans, strlen(ans), NULL), DSP_OK);
    out[1] = dsp_value_float(2.75);
    out[2] = dsp_value_bool(false);
    out[3] = dsp_value_list();
    dsp_value item = { 0 };
    assert_int_equal(dsp_value_set_string(&item, "a", 1, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&out[3], &item, NULL), DSP_OK);

    outcome res = { 0 };
    ex_usage usage = { 0 };
    res.status = ex_score(r, &d, row, out, &res.score, &usage, &err);
    snprintf(res.message, sizeof res.message, "%s", res.status ? err.message : "");
    assert_int_equal(usage.lm_calls, 0);
    dsp_values_free(out, 4);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
    return res;
}

static void expect_score(const char *metric, double want)
{
    outcome o = score_with(metric, 0);
    if (o.status != DSP_OK)
        fail_msg("metric `%s` failed: %s", metric, o.message);
    if (fabs(o.score - want) > 1e-9)
        fail_msg("metric `%s` scored %.6f, expected %.6f", metric, o.score, want);
}

static void test_text_builtins(void **state)
{
    (void)state;
    expect_score("exact_match(pred.answer, ex.answer)", 0);
    expect_score("exact_match(pred.answer, \"The Eiffel tower\")", 1);  /* case and spaces ignored */
    expect_score("contains(pred.answer, \"Eiffel\")", 1);
    expect_score("contains(ex.tags, \"ROME\")", 1);
    expect_score("contains(ex.tags, \"london\")", 0);
    /* SQuAD F1: pred {eiffel, tower} vs gold {eiffel, tower, in, paris}. */
    expect_score("f1(pred.answer, ex.answer)", 2.0 * 1.0 * 0.5 / 1.5);
    expect_score("f1(\"paris\", ex.tags)", 1);  /* best gold answer */
    expect_score("len(ex.tags) + len(\"abc\")", 5);
}

static void test_logic_and_arithmetic(void **state)
{
    (void)state;
    expect_score("approx(pred.n, ex.n, 0.5)", 1);
    expect_score("approx(pred.n, ex.n, 0.1)", 0);
    expect_score("pred.n > 2 and not pred.ok", 1);
    expect_score("pred.ok or ex.ok", 1);
    expect_score("pred.ok or pred.n < 1", 0);
    expect_score("(pred.n + 1.25) * 2 / 4", 2);
    expect_score("abs(ex.n - pred.n) + min(1, 2) - max(0, 1)", 0.25);
    expect_score("-ex.n", -2.5);
    expect_score("\"rome\" in ex.tags", 1);
    expect_score("pred.answer in ex.tags", 0);
    expect_score("ex.n == 2.5", 1);
    expect_score("ex.n != 2.5", 0);
    expect_score("ex.n >= 2.5 and ex.n <= 2.5", 1);
}

static void test_c_metric_functions(void **state)
{
    (void)state;
    expect_score("half(x: ex.n)", 1.25);
    expect_score("longer_than(text: pred.answer, n: 3)", 1);
}

static void test_failures_fail_the_example(void **state)
{
    (void)state;
    outcome o = score_with("pred.n / (ex.n - 2.5)", 0);
    assert_int_equal(o.status, DSP_ERR_INVALID);
    assert_non_null(strstr(o.message, "division by zero"));
    assert_non_null(strstr(o.message, "metric `m`"));
    /* Row 2 has no gold answer: the message names the file and line. */
    o = score_with("exact_match(pred.answer, ex.answer)", 1);
    assert_int_equal(o.status, DSP_ERR_INVALID);
    assert_non_null(strstr(o.message, "d.jsonl:2"));
    assert_non_null(strstr(o.message, "answer"));
}

static void test_text_functions(void **state)
{
    (void)state;
    assert_true(mt_text_equal("  Paris\n", "paris"));
    assert_false(mt_text_equal("Paris", "Pari"));
    assert_true(mt_text_contains("Hello World", "o w"));
    assert_true(mt_text_contains("x", ""));
    assert_false(mt_text_contains("ab", "abc"));
    assert_true(mt_f1("", "") == 1);
    assert_true(mt_f1("the", "a") == 1);     /* both empty once articles go */
    assert_true(mt_f1("x", "") == 0);
    assert_true(mt_f1("Paris!", "paris") == 1);  /* punctuation and case */
    /* Multisets: "x x y" vs "x y y" share one x and one y: P = R = 2/3. */
    assert_true(fabs(mt_f1("x x y", "x y y") - 2.0 / 3.0) < 1e-12);
    assert_true(mt_f1("x y", "z") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_builtins),
        cmocka_unit_test(test_logic_and_arithmetic),
        cmocka_unit_test(test_c_metric_functions),
        cmocka_unit_test(test_failures_fail_the_example),
        cmocka_unit_test(test_text_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
