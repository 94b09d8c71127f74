/* test_interp.c — the interpreter without an LM: tool calls through
 * dlopen (and the errors when a library or symbol is missing), repeat, if
 * and return, IR-to-runtime descriptors, configurations from an optimized
 * state, and failing predictor calls that evaluation counts instead of
 * aborting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exec_fixture.h"

static const char *tools_program(xfix *f, const char *lib, const char *extra)
{
    return arena_printf(&f->a,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "tool char *shout(const char *text) from \"%s\"\n"
        "tool long word_count(const char *text) from \"%s\"\n"
        "tool double half(double x) from \"%s\"\n"
        "%s\n"
        "module Loud(text: string) -> (loud: string, words: int, size: float) {\n"
        "  s = shout(text: text)\n"
        "  n = word_count(text: s)\n"
        "  h = half(x: 5.0)\n"
        "  if n == 2 {\n"
        "    o = shout(text: s)\n"
        "  } else {\n"
        "    o = shout(text: \"other\")\n"
        "  }\n"
        "  return (loud: o, words: n, size: h)\n"
        "}\n"
        "metric same(ex, pred) = exact_match(pred.loud, ex.loud)\n"
        "data d = jsonl(\"d.jsonl\") { text -> text, loud -> loud }\n"
        "optimize Loud with labeled_fewshot(k: 1) { metric: same trainset: d lm: local }\n",
        lib, lib, lib, extra ? extra : "");
}

static ex_runner *runner_for(xfix *f, ir_program *p, const char *module)
{
    const ir_module *m = ir_module_find(p, module);
    assert_non_null(m);
    ex_runner_options o = ex_runner_options_default();
    o.client = f->client;
    o.lm = p->lms[0];
    o.metric = p->n_metrics ? p->metrics[0] : NULL;
    ex_runner *r = NULL;
    dsp_error err = { 0 };
    assert_int_equal(ex_runner_new(p, m, &o, &r, &err), DSP_OK);
    return r;
}

static void test_tools_if_return(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    xfix_write(f, "d.jsonl", "{\"text\": \"hi there\", \"loud\": \"HI THERE!!\"}\n"
                             "{\"text\": \"one\", \"loud\": \"ONE!\"}\n");
    ir_program *p = xfix_program(f, tools_program(f, xfix_tools_lib(f), NULL));
    assert_non_null(p);
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(p, ir_module_find(p, "Loud"), xfix_path(f, "d.jsonl"), &d, &err), DSP_OK);
    ex_runner *r = runner_for(f, p, "Loud");
    ex_config cfg;
    assert_int_equal(ex_config_init(r, &cfg, &err), DSP_OK);

    ex_result res;
    assert_int_equal(ex_run(r, &cfg, &d, 0, &res), DSP_OK);
    assert_int_equal(res.n_outputs, 3);
    assert_string_equal(res.outputs[0].as.s.data, "HI THERE!!");
    assert_int_equal(res.outputs[1].as.i, 2);
    assert_true(res.outputs[2].as.f == 2.5);
    assert_true(res.score == 1.0);
    assert_int_equal(res.trace.n_steps, 0);  /* no predictor ran */
    assert_int_equal(res.usage.lm_calls, 0);
    ex_result_free(&res);

    /* One word: the else branch returns the literal. */
    assert_int_equal(ex_run(r, &cfg, &d, 1, &res), DSP_OK);
    assert_string_equal(res.outputs[0].as.s.data, "OTHER!");
    assert_int_equal(res.outputs[1].as.i, 1);
    assert_true(res.score == 0.0);
    ex_result_free(&res);

    /* A row out of range is a failed result, not a crash. */
    assert_int_not_equal(ex_run(r, &cfg, &d, 7, &res), DSP_OK);
    assert_non_null(strstr(res.error, "out of range"));
    ex_result_free(&res);

    ex_config_free(&cfg);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
}

static void test_repeat_replaces_value(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    const char *lib = xfix_tools_lib(f);
    ir_program *p = xfix_program(f, arena_printf(&f->a,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "tool char *shout(const char *text) from \"%s\"\n"
        "module Twice(text: string) -> (loud: string) {\n"
        "  repeat 3 {\n"
        "    s = shout(text: text)\n"
        "  }\n"
        "  return (loud: s)\n"
        "}\n", lib));
    assert_non_null(p);
    xfix_write(f, "d.csv", "text\nab\n");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(p, ir_module_find(p, "Twice"), xfix_path(f, "d.csv"), &d, &err), DSP_OK);
    ex_runner *r = runner_for(f, p, "Twice");
    ex_result res;
    assert_int_equal(ex_run(r, NULL, &d, 0, &res), DSP_OK);
    assert_string_equal(res.outputs[0].as.s.data, "AB!");
    ex_result_free(&res);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
}

static void test_module_calls(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    const char *lib = xfix_tools_lib(f);
    ir_program *p = xfix_program(f, arena_printf(&f->a,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "tool char *shout(const char *text) from \"%s\"\n"
        "tool long word_count(const char *text) from \"%s\"\n"
        "module Inner(text: string, extra: optional<string>) -> (loud: string, words: int) {\n"
        "  s = shout(text: text)\n"
        "  n = word_count(text: text)\n"
        "  return (loud: s, words: n)\n"
        "}\n"
        "module Outer(text: string) -> (loud: string, words: int) {\n"
        "  a = Inner(text: text)\n"
        "  b = Inner(text: a.loud)\n"
        "  return (loud: b.loud, words: a.words)\n"
        "}\n", lib, lib));
    assert_non_null(p);
    xfix_write(f, "d.jsonl", "{\"text\": \"hi you\"}\n");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(p, ir_module_find(p, "Outer"), xfix_path(f, "d.jsonl"), &d, &err), DSP_OK);
    ex_runner *r = runner_for(f, p, "Outer");
    ex_result res;
    assert_int_equal(ex_run(r, NULL, &d, 0, &res), DSP_OK);
    assert_string_equal(res.outputs[0].as.s.data, "HI YOU!!");  /* shouted twice, through two calls */
    assert_int_equal(res.outputs[1].as.i, 2);
    ex_result_free(&res);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
}

static void run_expect_error(const char *lib, const char *tool_decl, const char *want1, const char *want2)
{
    xfix *f = xfix_new();
    ir_program *p = xfix_program(f, arena_printf(&f->a,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "%s from \"%s\"\n"
        "module T(text: string) -> (n: int) {\n"
        "  n = nosuch(text: text)\n"
        "  return (n: n)\n"
        "}\n", tool_decl, lib));
    assert_non_null(p);
    xfix_write(f, "d.jsonl", "{\"text\": \"x\"}\n");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(p, ir_module_find(p, "T"), xfix_path(f, "d.jsonl"), &d, &err), DSP_OK);
    ex_runner *r = runner_for(f, p, "T");
    ex_result res;
    assert_int_equal(ex_run(r, NULL, &d, 0, &res), DSP_ERR_INVALID);
    assert_non_null(res.error);
    if (!strstr(res.error, want1) || !strstr(res.error, want2))
        fail_msg("error `%s` lacks `%s` or `%s`", res.error, want1, want2);
    assert_null(res.outputs);
    assert_true(res.score == 0);
    ex_result_free(&res);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
}

static void test_missing_library_names_both(void **state)
{
    (void)state;
    run_expect_error("/nonexistent/libnope.so", "tool long nosuch(const char *text)", "/nonexistent/libnope.so",
                     "nosuch");
}

static void test_missing_symbol_names_both(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    const char *lib = xfix_tools_lib(f);
    run_expect_error(lib, "tool long nosuch(const char *text)", "libinterp_tools.so", "no symbol `nosuch`");
    xfix_free(f);
}

static void test_borrowed_and_null_results(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    const char *lib = xfix_tools_lib(f);
    ir_program *p = xfix_program(f, arena_printf(&f->a,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "tool const char *greeting() from \"%s\"\n"
        "tool char *maybe_null(const char *text) from \"%s\"\n"
        "tool bool longer_than(const char *text, long n) from \"%s\"\n"
        "module G(text: string) -> (hello: string, copy: string, is_long: bool) {\n"
        "  g = greeting()\n"
        "  c = maybe_null(text: text)\n"
        "  b = longer_than(text: text, n: 2)\n"
        "  return (hello: g, copy: c, is_long: b)\n"
        "}\n", lib, lib, lib));
    assert_non_null(p);
    xfix_write(f, "d.jsonl", "{\"text\": \"abc\"}\n{\"text\": \"\"}\n");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(p, ir_module_find(p, "G"), xfix_path(f, "d.jsonl"), &d, &err), DSP_OK);
    ex_runner *r = runner_for(f, p, "G");
    ex_result res;
    assert_int_equal(ex_run(r, NULL, &d, 0, &res), DSP_OK);
    assert_string_equal(res.outputs[0].as.s.data, "hello");  /* borrowed: copied, not freed */
    assert_string_equal(res.outputs[1].as.s.data, "abc");    /* owned: copied and freed (LSan checks) */
    assert_true(res.outputs[2].as.b);
    ex_result_free(&res);
    assert_int_equal(ex_run(r, NULL, &d, 1, &res), DSP_ERR_INVALID);
    assert_non_null(strstr(res.error, "maybe_null"));
    assert_non_null(strstr(res.error, "returned NULL"));
    ex_result_free(&res);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
}

static const char *PRED_PROGRAM =
    "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" temperature: 0.0 max_tokens: 64 }\n"
    "enum Label { yes, no }\n"
    "signature Judge \"Decide.\" { in text: string in hint: optional<string> out label: Label }\n"
    "module M(text: string) -> (label: Label, reasoning: string) {\n"
    "  r = chain_of_thought(Judge)(text: text)\n"
    "  return r\n"
    "}\n"
    "metric acc(ex, pred) = exact_match(pred.label, ex.label)\n";

static void test_runtime_descriptors(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    ir_program *p = xfix_program(f, PRED_PROGRAM);
    assert_non_null(p);
    ex_runner *r = runner_for(f, p, "M");
    const ir_predictor *ip = ir_predictor_find(p, "M.r");
    assert_non_null(ip);
    const dsp_predictor *dp = ex_runner_predictor(r, ip);
    assert_non_null(dp);
    assert_int_equal(dp->strategy, DSP_STRATEGY_CHAIN_OF_THOUGHT);
    assert_string_equal(dp->signature->instructions, "Decide.");
    assert_int_equal(dp->signature->n_inputs, 2);
    assert_int_equal(dp->signature->inputs[1].type->kind, DSP_TYPE_OPTIONAL);
    assert_int_equal(dp->signature->outputs[0].type->kind, DSP_TYPE_ENUM);
    assert_int_equal(dp->signature->outputs[0].type->n_enum_values, 2);
    assert_int_equal(dsp_strategy_n_outputs(dp->signature, dp->strategy), 2);
    const dsp_lm_config *lm = ex_runner_lm(r, p->lms[0]);
    assert_non_null(lm);
    assert_string_equal(lm->model, "compatible/test");  /* named as declared; it speaks the OpenAI API */
    assert_string_equal(lm->base_url, "http://127.0.0.1:9/v1");
    assert_true(lm->params.temperature == 0.0);
    assert_int_equal(lm->params.max_tokens, 64);
    assert_ptr_equal(dp->lm, lm);
    ex_runner_free(r);
    xfix_free(f);
}

static void test_config_from_state(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    ir_program *p = xfix_program(f, PRED_PROGRAM);
    assert_non_null(p);
    ex_runner *r = runner_for(f, p, "M");
    ex_config cfg;
    dsp_error err = { 0 };
    assert_int_equal(ex_config_init(r, &cfg, &err), DSP_OK);
    assert_int_equal(cfg.n_preds, 1);
    assert_null(cfg.preds[0].instructions);
    assert_false(cfg.preds[0].override_demos);

    char *in[] = { "great product", NULL };
    char *out[] = { "It praises.", "yes" };
    st_demo demo = { in, 2, out, 2 };
    st_predictor sp = { 0 };
    sp.name = "M.r";
    sp.instructions = "Say yes for praise.";
    sp.demos = &demo;
    sp.n_demos = 1;
    sp.model = "ft:test:1";
    char *in_names[] = { "text", "hint" };
    char *out_names[] = { "reasoning", "label" };
    sp.input_names = in_names;
    sp.n_input_names = 2;
    sp.output_names = out_names;
    sp.n_output_names = 2;
    st_state st = { 0 };
    st.predictors = &sp;
    st.n_predictors = 1;
    assert_int_equal(ex_config_apply_state(r, &cfg, &st, &err), DSP_OK);
    ex_pred_config *pc = ex_config_find(&cfg, "M.r");
    assert_non_null(pc);
    assert_string_equal(pc->instructions, "Say yes for praise.");
    assert_true(pc->override_demos);
    assert_int_equal(pc->n_demos, 1);
    assert_string_equal(pc->demos[0].input_texts[0], "great product");
    assert_null(pc->demos[0].input_texts[1]);
    assert_string_equal(pc->demos[0].output_texts[1], "yes");
    assert_non_null(pc->lm);
    assert_string_equal(pc->lm->model, "compatible/ft:test:1");
    assert_ptr_not_equal(pc->demos[0].input_texts[0], in[0]);  /* copied */

    /* Demo fields named differently from the program's are refused. */
    out_names[1] = "verdict";
    assert_int_equal(ex_config_apply_state(r, &cfg, &st, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "`verdict`"));
    out_names[1] = "label";
    /* A demo with the wrong number of fields names the predictor. */
    demo.n_outputs = 1;
    assert_int_equal(ex_config_apply_state(r, &cfg, &st, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "M.r"));
    /* So does a predictor the program lacks. */
    sp.name = "M.gone";
    assert_int_equal(ex_config_apply_state(r, &cfg, &st, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "M.gone"));

    ex_config_free(&cfg);
    ex_runner_free(r);
    xfix_free(f);
}

static void test_failed_calls_are_counted(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    ir_program *p = xfix_program(f, PRED_PROGRAM);
    assert_non_null(p);
    xfix_write(f, "d.jsonl", "{\"text\": \"a\", \"label\": \"yes\"}\n{\"text\": \"b\", \"label\": \"no\"}\n"
                             "{\"text\": \"c\", \"label\": \"no\"}\n");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(p, ir_module_find(p, "M"), xfix_path(f, "d.jsonl"), &d, &err), DSP_OK);
    ex_runner *r = runner_for(f, p, "M");
    ex_config cfg;
    assert_int_equal(ex_config_init(r, &cfg, &err), DSP_OK);
    ex_eval_options o = ex_eval_options_default();
    o.concurrency = 2;
    size_t rows[] = { 2, 0 };
    o.indices = rows;
    o.n_indices = 2;
    ex_eval_result res;
    /* Nothing listens on port 9: every example fails, the evaluation does not. */
    assert_int_equal(ex_evaluate(r, &cfg, &d, &o, &res, &err), DSP_OK);
    assert_int_equal(res.n, 2);
    assert_int_equal(res.n_failed, 2);
    assert_true(res.mean == 0);
    assert_int_equal(res.rows[0], 2);
    assert_int_equal(res.rows[1], 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_not_equal(res.results[i].status, DSP_OK);
        assert_non_null(strstr(res.results[i].error, "M.r"));
        assert_int_equal(res.results[i].usage.lm_calls, 1);
    }
    assert_int_equal(res.usage.lm_calls, 2);
    ex_eval_result_free(&res);

    /* A bad index is a setup error. */
    rows[0] = 3;
    assert_int_equal(ex_evaluate(r, &cfg, &d, &o, &res, &err), DSP_ERR_INVALID);
    ex_config_free(&cfg);
    ex_runner_free(r);
    ex_dataset_free(&d);
    xfix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tools_if_return),
        cmocka_unit_test(test_repeat_replaces_value),
        cmocka_unit_test(test_module_calls),
        cmocka_unit_test(test_missing_library_names_both),
        cmocka_unit_test(test_missing_symbol_names_both),
        cmocka_unit_test(test_borrowed_and_null_results),
        cmocka_unit_test(test_runtime_descriptors),
        cmocka_unit_test(test_config_from_state),
        cmocka_unit_test(test_failed_calls_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
