/* test_opt_better_together.c — better_together's stages against a fake
 * backend: the order of p and w, the fine-tuning data taken from passing
 * teacher runs only, the model every later evaluation runs on, the
 * candidate kept, and the errors. No LM here; better_together_e2e.sh runs
 * the same code against the reference server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "opt.h"
#include "opt_fake.h"

/* One predictor. Training row i passes the teacher when i is even. A
 * program scores 0.2, +0.1 with demos; the fine-tuned model adds `ft_gain`
 * (and another 0.05 with demos). */
typedef struct fake {
    size_t n_train, n_val;
    double ft_gain;
    int evals, evals_on_ft;
    int train_calls, train_calls_on_ft;
    int finetunes;
    int fail_finetune;
    int copro_proposals;
    int nobody_passes;
    char jsonl[4096];
    opt_finetune_args args;
} fake;

static const char *const k_model = "ft:base:dspcc:1";

static dsp_status fake_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                                dsp_error *err)
{
    (void)err, (void)rows;
    fake *f = ctx;
    f->evals++;
    assert_int_equal(n, f->n_val);
    double s = 0.2 + (prog->demos[0].n ? 0.1 : 0);
    if (prog->model) {
        assert_string_equal(prog->model, k_model);
        f->evals_on_ft++;
        s += f->ft_gain + (prog->demos[0].n ? 0.05 : 0);
    }
    *out = (opt_score){ .mean = s, .n = n };
    return DSP_OK;
}

static dsp_status fake_run_train(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                                 unsigned round, opt_run *runs, dsp_error *err)
{
    (void)err, (void)round;
    fake *f = ctx;
    f->train_calls++;
    f->train_calls_on_ft += prog->model != NULL;
    for (size_t i = 0; i < n; i++)
        runs[i] = opt_fake_run(a, rows[i], 1, NULL, !f->nobody_passes && rows[i] % 2 == 0);
    return DSP_OK;
}

static dsp_status fake_labeled(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok, dsp_error *err)
{
    (void)ctx, (void)err, (void)pred;
    *out = opt_fake_demo(a, row, 1, NULL, 0);
    *ok = 1;
    return DSP_OK;
}

static dsp_status fake_propose(void *ctx, arena *a, const opt_proposal *req, const char **instruction,
                               dsp_error *err)
{
    (void)ctx, (void)err;
    *instruction = arena_printf(a, "instruction %llu", (unsigned long long)req->rollout);
    return DSP_OK;
}

static dsp_status fake_propose_copro(void *ctx, arena *a, const opt_copro_proposal *req, const char **instruction,
                                     dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->copro_proposals++; /* a ctx that is not the fake's would not count here */
    *instruction = arena_printf(a, "copro instruction %llu", (unsigned long long)req->rollout);
    return DSP_OK;
}

static dsp_status fake_example(void *ctx, arena *a, const opt_program *prog, const opt_step *step,
                               const char **line, dsp_error *err)
{
    (void)ctx, (void)err;
    assert_null(prog->model); /* the data comes from the base model's runs */
    *line = arena_printf(a, "{\"in\":\"%s\",\"out\":\"%s\",\"demos\":%zu}", step->demo.inputs[0],
                         step->demo.outputs[0], prog->demos[0].n);
    return DSP_OK;
}

static dsp_status fake_finetune(void *ctx, arena *a, const char *jsonl, size_t len, const opt_finetune_args *args,
                                opt_finetune_outcome *out, dsp_error *err)
{
    fake *f = ctx;
    f->finetunes++;
    if (f->fail_finetune)
        return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning job ftjob-1 failed: bad data");
    assert_true(len < sizeof f->jsonl);
    assert_int_equal(strlen(jsonl), len);
    memcpy(f->jsonl, jsonl, len + 1);
    f->args = *args;
    out->model = arena_strdup(a, k_model);
    out->job_id = "ftjob-1";
    out->resumed = 0;
    return DSP_OK;
}

static opt_backend make_backend(fake *f, size_t n_train, size_t n_val)
{
    memset(f, 0, sizeof *f);
    f->n_train = n_train;
    f->n_val = n_val;
    f->ft_gain = 0.3;
    opt_backend b = opt_fake_backend(f, n_train, n_val);
    b.evaluate = fake_evaluate;
    b.run_train = fake_run_train;
    b.labeled_demo = fake_labeled;
    b.propose = fake_propose;
    b.propose_copro = fake_propose_copro;
    b.finetune_example = fake_example;
    b.finetune = fake_finetune;
    return b;
}

static opt_params params(const char *strategy)
{
    opt_params p = { 0 };
    p.optimizer = "better_together";
    p.strategy = strategy;
    p.prompt_optimizer = "bootstrap_fewshot";
    p.seed = 7;
    p.max_bootstrapped_demos = 2;
    p.max_labeled_demos = 2;
    p.max_rounds = 1;
    p.n_epochs = 3;
    return p;
}

static void p_w_p_scores_every_stage_and_keeps_the_best(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 6, 5);
    arena a;
    arena_init(&a);
    opt_params p = params("p -> w -> p");
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    /* zero-shot, p (base), w zero-shot, w with the prompts, p (fine-tuned) */
    assert_int_equal(r.n_stages, 5);
    assert_string_equal(r.stages[0].label, "zero-shot, base model");
    assert_float_equal(r.stages[0].score, 0.2, 1e-9);
    assert_non_null(strstr(r.stages[1].label, "stage 1 (p): bootstrap_fewshot"));
    assert_float_equal(r.stages[1].score, 0.3, 1e-9);
    assert_non_null(strstr(r.stages[2].label, "stage 2 (w): fine-tuned model, zero-shot"));
    assert_float_equal(r.stages[2].score, 0.5, 1e-9);
    assert_non_null(strstr(r.stages[3].label, "with the prompts"));
    assert_float_equal(r.stages[3].score, 0.65, 1e-9);
    assert_non_null(strstr(r.stages[4].label, "stage 3 (p): bootstrap_fewshot prompts, the fine-tuned model"));
    assert_float_equal(r.stages[4].score, 0.65, 1e-9);
    /* Ties keep the earliest: the fine-tuned model with stage 1's prompts. */
    assert_float_equal(r.baseline_score, 0.2, 1e-9);
    assert_float_equal(r.final_score, 0.65, 1e-9);
    assert_string_equal(r.best.model, k_model);
    assert_true(r.best.demos[0].n > 0);
    /* One job, on the passing rows 0, 2, 4, with the block's epochs. */
    assert_int_equal(f.finetunes, 1);
    assert_int_equal(r.n_finetune_examples, 3);
    assert_string_equal(f.jsonl, "{\"in\":\"text 0\",\"out\":\"L0\",\"demos\":2}\n"
                                 "{\"in\":\"text 2\",\"out\":\"L2\",\"demos\":2}\n"
                                 "{\"in\":\"text 4\",\"out\":\"L0\",\"demos\":2}\n");
    assert_int_equal(f.args.n_epochs, 3);
    assert_int_equal(f.args.n_examples, 3);
    assert_int_equal(f.args.seed, 7);
    assert_string_equal(r.finetune.model, k_model);
    assert_string_equal(r.finetune.job_id, "ftjob-1");
    /* The last p stage bootstrapped and scored on the fine-tuned model. */
    assert_true(f.train_calls_on_ft > 0);
    assert_true(f.evals_on_ft >= 3);
    /* The prompt optimizer's trials are kept, named by stage (its two,
     * then the stage's candidate). */
    int p1 = 0, p3 = 0;
    for (size_t i = 0; i < r.n_trials; i++) {
        p1 += strncmp(r.trials[i].config, "stage 1 (p): ", 13) == 0;
        p3 += strncmp(r.trials[i].config, "stage 3 (p): ", 13) == 0;
        assert_int_equal(r.trials[i].trial, (int)i + 1);
    }
    assert_int_equal(p1, 3);
    assert_int_equal(p3, 3);
    arena_free(&a);
}

static void fine_tuning_that_does_not_help_is_not_kept(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 6, 5);
    f.ft_gain = -0.15; /* the fine-tuned model is worse */
    arena a;
    arena_init(&a);
    opt_params p = params("p -> w");
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.n_stages, 4);
    assert_float_equal(r.final_score, 0.3, 1e-9);
    assert_null(r.best.model);
    assert_string_equal(r.finetune.model, k_model); /* it ran; the summary names it */
    arena_free(&a);
}

static void w_first_fine_tunes_the_zero_shot_program(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 4, 3);
    arena a;
    arena_init(&a);
    opt_params p = params("w");
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    /* No prompts yet: only the fine-tuned model zero-shot is a new candidate. */
    assert_int_equal(r.n_stages, 2);
    assert_string_equal(f.jsonl, "{\"in\":\"text 0\",\"out\":\"L0\",\"demos\":0}\n"
                                 "{\"in\":\"text 2\",\"out\":\"L2\",\"demos\":0}\n");
    assert_float_equal(r.final_score, 0.5, 1e-9);
    assert_string_equal(r.best.model, k_model);
    arena_free(&a);
}

static void errors_say_what_went_wrong(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 4, 3);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };

    opt_params p = params("p -> x");
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "\"p -> x\""));
    assert_int_equal(f.evals, 0);

    /* Fine-tuning twice is refused before anything runs: found at the
     * second w, it came after a paid job and lost its model. */
    p = params("p -> w -> p -> w");
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "fine-tunes only once"));
    assert_int_equal(f.evals, 0);
    assert_int_equal(f.train_calls, 0);
    assert_int_equal(f.finetunes, 0);

    p = params("w -> p");
    f.nobody_passes = 1;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "nothing to fine-tune on"));
    assert_int_equal(f.finetunes, 0);

    f.nobody_passes = 0;
    f.fail_finetune = 1;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "bad data"));

    /* A backend that cannot fine-tune refuses w before running anything. */
    b.finetune = NULL;
    f.evals = 0;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "cannot fine-tune"));
    assert_int_equal(f.evals, 0);
    arena_free(&a);
}

/* The p stage runs its optimizer on a copy of the backend whose ctx is its
 * own; every function of the copy must reach the real backend's ctx (the
 * front end offers copro as no prompt_optimizer, but the backend must not
 * hand copro's proposer a ctx of another type). */
static void p_stage_reaches_the_backend_for_every_proposal(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 4, 3);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };
    opt_params p = params("p");
    p.prompt_optimizer = "copro";
    p.breadth = 2;
    p.depth = 1;
    p.init_temperature = 1.0;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_OK);
    assert_int_equal(f.copro_proposals, 1);
    arena_free(&a);
}

static void params_read_the_block(void **state)
{
    (void)state;
    ir_option opts[] = {
        { .key = "n_epochs", .kind = IR_OPT_INT, .i = 2, .f = 0, .s = NULL },
        { .key = "prompt_optimizer", .kind = IR_OPT_NAME, .i = 0, .f = 0, .s = "mipro" },
        { .key = "strategy", .kind = IR_OPT_NAME, .i = 0, .f = 0, .s = "p -> w" },
    };
    ir_optimize o;
    memset(&o, 0, sizeof o);
    o.optimizer = "better_together";
    o.params = opts;
    o.n_params = 3;
    o.seed = 5;
    opt_params p;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_string_equal(p.strategy, "p -> w");
    assert_string_equal(p.prompt_optimizer, "mipro");
    assert_int_equal(p.n_epochs, 2);
    /* mipro's preset fills the prompt optimizer's candidates. */
    assert_string_equal(p.preset, "light");
    assert_int_equal(p.num_candidates, 6);
    /* Defaults: DSPy's strategy and prompt optimizer. */
    o.n_params = 0;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_string_equal(p.strategy, "p -> w -> p");
    assert_string_equal(p.prompt_optimizer, "random_search");
    assert_int_equal(p.num_candidates, 16);
    assert_int_equal(p.n_epochs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(p_w_p_scores_every_stage_and_keeps_the_best),
        cmocka_unit_test(fine_tuning_that_does_not_help_is_not_kept),
        cmocka_unit_test(w_first_fine_tunes_the_zero_shot_program),
        cmocka_unit_test(errors_say_what_went_wrong),
        cmocka_unit_test(p_stage_reaches_the_backend_for_every_proposal),
        cmocka_unit_test(params_read_the_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
