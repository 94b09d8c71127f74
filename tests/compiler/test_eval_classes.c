/* test_eval_classes.c — per-class scores of an enum output on a known small
 * set: the confusion matrix, precision, recall, F1, support, accuracy and
 * macro F1 worked out by hand; a failed example lands in the (failed)
 * column; a metric that compares no enum output gives no report. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <cmocka.h>

#include "exec_fixture.h"

/* Gold: a a a b b c (6 examples). */
static const char *DATA = "{\"t\": \"1\", \"label\": \"a\"}\n{\"t\": \"2\", \"label\": \"a\"}\n"
                          "{\"t\": \"3\", \"label\": \"a\"}\n{\"t\": \"4\", \"label\": \"b\"}\n"
                          "{\"t\": \"5\", \"label\": \"b\"}\n{\"t\": \"6\", \"label\": \"c\"}\n";

static ir_program *program(xfix *f, const char *metric)
{
    xfix_write(f, "d.jsonl", DATA);
    const char *text = arena_printf(&f->a,
                                    "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
                                    "enum L { a, b, c }\n"
                                    "signature S { in t: string out label: L out note: string }\n"
                                    "module M(t: string) -> (label: L, note: string) {\n"
                                    "  r = predict(S)(t: t)\n"
                                    "  return r\n"
                                    "}\n"
                                    "metric m(ex, pred) = %s\n"
                                    "data d = jsonl(\"d.jsonl\") { t -> t, label -> label }\n"
                                    "optimize M with labeled_fewshot(k: 1) { metric: m trainset: d lm: local }\n",
                                    metric);
    ir_program *p = xfix_program(f, text);
    assert_non_null(p);
    return p;
}

/* Predictions: a a b | b c | c, the 3rd example (gold a) predicted b;
 * example 5 (gold b) failed. Index -1: failed. */
static const int predicted[6] = { 0, 0, 1, 1, -1, 2 };

static void fill(ex_eval_result *res)
{
    memset(res, 0, sizeof *res);
    res->n = 6;
    res->results = calloc(6, sizeof *res->results);
    res->rows = calloc(6, sizeof *res->rows);
    assert_non_null(res->results);
    for (size_t i = 0; i < 6; i++) {
        res->rows[i] = i;
        ex_result *r = &res->results[i];
        if (predicted[i] < 0) {
            r->status = DSP_ERR_PARSE;
            r->error = strdup("no parse");
            continue;
        }
        r->outputs = calloc(2, sizeof *r->outputs);
        r->n_outputs = 2;
        r->outputs[0] = dsp_value_enum((size_t)predicted[i]);
    }
}

static void test_known_small_set(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    ir_program *p = program(f, "exact_match(pred.label, ex.label)");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load(p, ir_module_find(p, "M"), p->data[0], &d, &err), DSP_OK);
    ex_eval_result res;
    fill(&res);
    ex_class_report cr;
    assert_int_equal(ex_class_report_build(p->optimizes[0]->metric, &d, &res, &cr, &err), DSP_OK);
    assert_string_equal(cr.field, "label");
    assert_int_equal(cr.n_labels, 3);
    assert_int_equal(cr.n, 6);
    /* rows gold a, b, c; columns a, b, c, (failed) */
    static const size_t want[3][4] = { { 2, 1, 0, 0 }, { 0, 1, 0, 1 }, { 0, 0, 1, 0 } };
    for (size_t g = 0; g < 3; g++)
        for (size_t c = 0; c < 4; c++)
            assert_int_equal(cr.confusion[g * 4 + c], want[g][c]);
    assert_int_equal(cr.support[0], 3);
    assert_int_equal(cr.support[1], 2);
    assert_int_equal(cr.support[2], 1);
    /* a: P 2/2, R 2/3; b: P 1/2, R 1/2; c: P 1, R 1. */
    assert_true(fabs(cr.precision[0] - 1.0) < 1e-12);
    assert_true(fabs(cr.recall[0] - 2.0 / 3) < 1e-12);
    assert_true(fabs(cr.f1[0] - 0.8) < 1e-12);
    assert_true(fabs(cr.precision[1] - 0.5) < 1e-12);
    assert_true(fabs(cr.recall[1] - 0.5) < 1e-12);
    assert_true(fabs(cr.f1[1] - 0.5) < 1e-12);
    assert_true(fabs(cr.f1[2] - 1.0) < 1e-12);
    assert_true(fabs(cr.accuracy - 4.0 / 6) < 1e-12);
    assert_true(fabs(cr.macro_f1 - (0.8 + 0.5 + 1.0) / 3) < 1e-12);

    cJSON *j = ex_class_report_json(&cr);
    assert_non_null(j);
    cJSON *conf = cJSON_GetObjectItem(j, "confusion");
    assert_int_equal(cJSON_GetArraySize(conf), 3);
    assert_int_equal((int)cJSON_GetArrayItem(cJSON_GetArrayItem(conf, 1), 3)->valuedouble, 1);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "columns"), 3)->valuestring, "(failed)");
    cJSON_Delete(j);

    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    ex_class_report_print(mf, &cr);
    fclose(mf);
    assert_non_null(strstr(text, "precision"));
    assert_non_null(strstr(text, "(failed)"));
    free(text);

    ex_class_report_free(&cr);
    ex_eval_result_free(&res);
    ex_dataset_free(&d);
    xfix_free(f);
}

static void test_no_enum_compared_no_report(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    ir_program *p = program(f, "len(pred.note) > 0");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load(p, ir_module_find(p, "M"), p->data[0], &d, &err), DSP_OK);
    ex_eval_result res;
    fill(&res);
    ex_class_report cr;
    assert_int_equal(ex_class_report_build(p->optimizes[0]->metric, &d, &res, &cr, &err), DSP_OK);
    assert_null(cr.field);
    assert_null(ex_class_report_json(&cr));
    ex_class_report_free(&cr);
    ex_eval_result_free(&res);
    ex_dataset_free(&d);
    xfix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_small_set),
        cmocka_unit_test(test_no_enum_compared_no_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
