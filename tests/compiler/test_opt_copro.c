/* test_opt_copro.c — copro's coordinate ascent against a fake backend: what
 * is proposed with what, what is scored on which rows, which instruction
 * wins, and the arguments. optimize_copro_e2e.sh runs the same code against
 * the reference server (a test fixture). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "opt.h"

/* Two predictors. A proposal's text says its quality ("p0 #3 q=0.01"); a
 * program scores 0.2 plus the qualities of its instructions, so the best
 * program has each predictor's best instruction. Proposal #n of a
 * predictor (counting from 1 over the whole run) has quality
 * k_quality[(n - 1) % 8]. */
static const double k_quality[8] = { 0.05, 0.09, 0.01, 0.09, 0.03, 0.11, 0.02, 0.04 };

enum { MAX_CALLS = 256 };

typedef struct fake {
    size_t n_train, n_val;
    int evals, proposals[2];
    int fail_propose, fail_eval_at, dup_from, flat;
    /* per proposal, in order */
    const char *attempts[MAX_CALLS];
    int had_demo_lines[MAX_CALLS];
    double temperature[MAX_CALLS];
    uint64_t rollout[MAX_CALLS];
    size_t pred[MAX_CALLS];
    int n_calls;
    /* per evaluation, in order */
    const char *instr[MAX_CALLS][2];
    double score[MAX_CALLS];
    arena mem;
} fake;

static const char *const names[] = { "M.a", "M.b" };
static const char *const base[] = { "Classify.", "Explain." };

static double quality(const char *instr)
{
    const char *q = instr ? strstr(instr, "q=") : NULL;
    return q ? atof(q + 2) : 0;
}

static dsp_status fake_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                                dsp_error *err)
{
    fake *f = ctx;
    if (f->fail_eval_at && f->evals + 1 == f->fail_eval_at)
        return dsp_error_set(err, DSP_ERR_HTTP, "every valset example failed");
    /* The whole valset, in order, and never a demo. */
    assert_int_equal(n, f->n_val);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rows[i], i);
    double s = 0.2;
    for (size_t p = 0; p < 2; p++) {
        assert_int_equal(prog->demos[p].n, 0);
        s += quality(prog->instructions[p]);
        f->instr[f->evals][p] = prog->instructions[p] ? arena_strdup(&f->mem, prog->instructions[p]) : NULL;
    }
    f->score[f->evals++] = s;
    *out = (opt_score){ .mean = s, .n = n };
    return DSP_OK;
}

static dsp_status fake_labeled(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok,
                               dsp_error *err)
{
    (void)ctx, (void)err;
    if (row % 5 == 4) { /* no label */
        *ok = 0;
        return DSP_OK;
    }
    const char **in = arena_array(a, 1, sizeof *in), **o = arena_array(a, 1, sizeof *o);
    in[0] = arena_printf(a, "text %zu", row);
    o[0] = arena_printf(a, "L%zu-%zu", pred, row % 3);
    *out = (opt_demo){ in, 1, o, 1, row, 0 };
    *ok = 1;
    return DSP_OK;
}

static dsp_status fake_propose(void *ctx, arena *a, const opt_copro_proposal *req, const char **instruction,
                               dsp_error *err)
{
    fake *f = ctx;
    if (f->fail_propose)
        return dsp_error_set(err, DSP_ERR_HTTP, "teacher unavailable");
    assert_true(req->pred < 2);
    assert_true(f->n_calls < MAX_CALLS);
    assert_string_equal(req->basic_instruction, base[req->pred]);
    int k = f->n_calls++;
    f->attempts[k] = req->attempts ? arena_strdup(&f->mem, req->attempts) : NULL;
    f->had_demo_lines[k] = req->task_demos && strstr(req->task_demos, " -> L") != NULL;
    f->temperature[k] = req->temperature;
    f->rollout[k] = req->rollout;
    f->pred[k] = req->pred;
    int n = ++f->proposals[req->pred];
    if (f->dup_from && n > f->dup_from)
        n = f->dup_from; /* the teacher repeats itself */
    *instruction = arena_printf(a, "p%zu #%d q=%.2f", req->pred, n, f->flat ? 0.0 : k_quality[(n - 1) % 8]);
    return DSP_OK;
}

static opt_backend make_backend(fake *f)
{
    memset(f, 0, sizeof *f);
    arena_init(&f->mem);
    f->n_train = 12;
    f->n_val = 7;
    opt_backend b = { 0 };
    b.ctx = f;
    b.n_preds = 2;
    b.pred_names = names;
    b.base_instructions = base;
    b.n_train = f->n_train;
    b.n_val = f->n_val;
    b.evaluate = fake_evaluate;
    b.labeled_demo = fake_labeled;
    b.propose_copro = fake_propose;
    return b;
}

static opt_params copro_params(int breadth, int depth)
{
    opt_params p = { 0 };
    p.optimizer = "copro";
    p.seed = 7;
    p.breadth = breadth;
    p.depth = depth;
    p.init_temperature = 1.4;
    return p;
}

/* The best quality among a predictor's first n proposals. */
static double best_quality(int n)
{
    double q = 0;
    for (int i = 1; i <= n; i++)
        if (k_quality[(i - 1) % 8] > q)
            q = k_quality[(i - 1) % 8];
    return q;
}

static void ascends_to_each_predictors_best_instruction(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f);
    opt_params p = copro_params(3, 2);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_OK);
    /* Round 1: breadth - 1 proposals per predictor; round 2: breadth. */
    assert_int_equal(f.proposals[0], 2 + 3);
    assert_int_equal(f.proposals[1], 2 + 3);
    /* The baseline, then one evaluation per (distinct) proposal. */
    assert_int_equal(f.evals, 1 + 10);
    assert_int_equal(r.n_trials, 11);
    assert_int_equal(r.n_instruction_candidates, 1 + 5);
    assert_null(f.instr[0][0]);
    assert_null(f.instr[0][1]);
    assert_true(r.baseline_score > 0.2 - 1e-9 && r.baseline_score < 0.2 + 1e-9);
    double want = 0.2 + 2 * best_quality(5);
    assert_true(r.final_score > want - 1e-9 && r.final_score < want + 1e-9);
    /* Both predictors' winners are proposals of quality best_quality(5). */
    for (size_t pr = 0; pr < 2; pr++) {
        assert_non_null(r.best.instructions[pr]);
        assert_true(quality(r.best.instructions[pr]) > best_quality(5) - 1e-9);
        assert_int_equal(r.best.demos[pr].n, 0);
    }
    /* Ties go to the earlier candidate: #2 and #4 both have 0.09, and #6
     * (0.11) is past the budget, so #2 wins. */
    assert_string_equal(r.best.instructions[0], "p0 #2 q=0.09");
    /* Coordinate ascent: b's candidates run with a's best so far. In round
     * 1, a had #1 (0.05) and #2 (0.09): evaluations 3 and 4 are b's. */
    assert_string_equal(f.instr[3][0], "p0 #2 q=0.09");
    assert_string_equal(f.instr[3][1], "p1 #1 q=0.05");
    /* Every trial is a full valset score and says which candidate. */
    for (size_t i = 0; i < r.n_trials; i++)
        assert_int_equal(r.trials[i].full_eval, 1);
    assert_non_null(strstr(r.trials[1].config, "M.a: round 1 candidate 1 (new best)"));
    assert_non_null(strstr(r.trials[3].config, "M.b: round 1 candidate 1"));
    /* The summary's stages: the baseline, then each round's best. */
    assert_int_equal(r.n_stages, 3);
    assert_string_equal(r.stages[0].label, "baseline: the signatures' instructions");
    assert_true(r.stages[0].score == r.baseline_score);
    assert_string_equal(r.stages[1].label, "round 1 best: M.a: round 1 candidate 2; M.b: round 1 candidate 2");
    assert_true(r.stages[1].score == r.final_score);
    assert_true(r.stages[2].score == r.final_score);
    arena_free(&a);
    arena_free(&f.mem);
}

static void later_rounds_show_the_best_attempts_worst_first(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f);
    opt_params p = copro_params(3, 3);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_OK);
    assert_int_equal(f.n_calls, 2 * (2 + 3 + 3));
    for (int k = 0; k < f.n_calls; k++) {
        assert_true(f.had_demo_lines[k]);
        assert_true(f.temperature[k] > 1.4 - 1e-9 && f.temperature[k] < 1.4 + 1e-9);
        for (int j = 0; j < k; j++)
            assert_true(f.rollout[j] != f.rollout[k]);
    }
    /* Round 1 (a, a, b, b) has no attempts. */
    for (int k = 0; k < 4; k++)
        assert_null(f.attempts[k]);
    /* a's first proposal of round 2 sees its three best so far: the
     * signature's (0.2), #1 (0.25) and #2 (0.29), worst first. */
    assert_int_equal(f.pred[4], 0);
    assert_string_equal(f.attempts[4], "Instruction #1: Classify.\nResulting Score #1: 0.200\n"
                                       "Instruction #2: p0 #1 q=0.05\nResulting Score #2: 0.250\n"
                                       "Instruction #3: p0 #2 q=0.09\nResulting Score #3: 0.290\n");
    /* b's round 3 proposals all see its best three of six as the turn
     * starts: #2 (0.38), #4 (0.38, a tie: later) and #1 (0.34). */
    const char *last = f.attempts[f.n_calls - 1];
    assert_int_equal(f.pred[f.n_calls - 1], 1);
    assert_string_equal(last, "Instruction #1: p1 #1 q=0.05\nResulting Score #1: 0.340\n"
                              "Instruction #2: p1 #4 q=0.09\nResulting Score #2: 0.380\n"
                              "Instruction #3: p1 #2 q=0.09\nResulting Score #3: 0.380\n");
    assert_string_equal(f.attempts[f.n_calls - 3], last);
    arena_free(&a);
    arena_free(&f.mem);
}

static void repeated_proposals_are_not_scored_again(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f);
    f.dup_from = 2; /* from the third proposal on, always #2 again */
    opt_params p = copro_params(4, 2);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_OK);
    assert_int_equal(f.proposals[0], 3 + 4);
    /* Baseline + #1 and #2 of each predictor. */
    assert_int_equal(f.evals, 1 + 2 * 2);
    assert_int_equal(r.n_trials, 5);
    assert_int_equal(r.n_instruction_candidates, 3);
    arena_free(&a);
    arena_free(&f.mem);
}

static void a_run_is_deterministic(void **state)
{
    (void)state;
    fake f1, f2;
    opt_backend b1 = make_backend(&f1), b2 = make_backend(&f2);
    opt_params p = copro_params(4, 3);
    arena a1, a2;
    arena_init(&a1);
    arena_init(&a2);
    opt_result r1, r2;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b1, &a1, &r1, &err), DSP_OK);
    assert_int_equal(opt_optimize(&p, &b2, &a2, &r2, &err), DSP_OK);
    assert_int_equal(r1.n_trials, r2.n_trials);
    for (size_t i = 0; i < r1.n_trials; i++) {
        assert_string_equal(r1.trials[i].config, r2.trials[i].config);
        assert_true(r1.trials[i].score == r2.trials[i].score);
    }
    for (int k = 0; k < f1.n_calls; k++)
        assert_true(f1.rollout[k] == f2.rollout[k]);
    arena_free(&a1);
    arena_free(&a2);
    arena_free(&f1.mem);
    arena_free(&f2.mem);
}

static void a_tie_keeps_the_signatures_instructions(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f);
    f.flat = 1; /* every proposal scores as the baseline does */
    opt_params p = copro_params(2, 2);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_OK);
    assert_int_equal(f.proposals[0], 1 + 2);
    assert_int_equal(f.evals, 1 + 6);
    assert_null(r.best.instructions[0]);
    assert_null(r.best.instructions[1]);
    assert_true(r.final_score == r.baseline_score);
    for (size_t i = 0; i < r.n_trials; i++)
        assert_null(strstr(r.trials[i].config, "new best"));
    arena_free(&a);
    arena_free(&f.mem);
}

static void errors_propagate(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f);
    arena a;
    arena_init(&a);
    opt_result r;
    dsp_error err = { 0 };
    opt_params p = copro_params(3, 2);
    f.fail_propose = 1;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_HTTP);
    assert_non_null(strstr(err.message, "teacher unavailable"));
    arena_free(&f.mem);
    b = make_backend(&f);
    f.fail_eval_at = 3;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_HTTP);
    assert_int_equal(f.evals, 2);
    arena_free(&f.mem);
    b = make_backend(&f);
    p.breadth = 1;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "breadth"));
    p = copro_params(3, 0);
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "depth"));
    p = copro_params(3, 2);
    b.propose_copro = NULL;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_int_equal(f.evals, 0);
    arena_free(&a);
    arena_free(&f.mem);
}

static void params_from_ir(void **state)
{
    (void)state;
    ir_optimize o = { 0 };
    o.optimizer = "copro";
    o.seed = 3;
    opt_params p;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    /* DSPy's defaults. */
    assert_int_equal(p.breadth, 10);
    assert_int_equal(p.depth, 3);
    assert_true(p.init_temperature > 1.4 - 1e-9 && p.init_temperature < 1.4 + 1e-9);
    ir_option opts[] = { { .key = "breadth", .kind = IR_OPT_INT, .i = 4, .f = 0, .s = NULL }, { .key = "depth", .kind = IR_OPT_INT, .i = 2, .f = 0, .s = NULL },
                         { .key = "init_temperature", .kind = IR_OPT_FLOAT, .i = 0, .f = 0.7, .s = NULL } };
    o.params = opts;
    o.n_params = 3;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.breadth, 4);
    assert_int_equal(p.depth, 2);
    assert_true(p.init_temperature > 0.7 - 1e-9 && p.init_temperature < 0.7 + 1e-9);
    /* A whole number is a temperature too. */
    opts[2] = (ir_option){ .key = "init_temperature", .kind = IR_OPT_INT, .i = 1, .f = 0, .s = NULL };
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_true(p.init_temperature > 1 - 1e-9 && p.init_temperature < 1 + 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ascends_to_each_predictors_best_instruction),
        cmocka_unit_test(later_rounds_show_the_best_attempts_worst_first),
        cmocka_unit_test(repeated_proposals_are_not_scored_again),
        cmocka_unit_test(a_run_is_deterministic),
        cmocka_unit_test(a_tie_keeps_the_signatures_instructions),
        cmocka_unit_test(errors_propagate),
        cmocka_unit_test(params_from_ir),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
