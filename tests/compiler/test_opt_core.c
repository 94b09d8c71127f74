/* test_opt_core.c — the optimizers' search logic against a fake backend:
 * demo selection, candidate lists, seeding, MIPRO's trials. No LM here;
 * optimize_e2e.sh runs the same code against the reference server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "opt.h"
#include "opt_fake.h"

/* The fake program has one predictor (ticket_text -> reasoning, category).
 * Training row i has label "L<i%4>"; rows with i % 10 == 9 have no label
 * (no labelled demo). The teacher passes rows with i % 3 != 0 in round 0,
 * and the rest of the even rows in later rounds. */
typedef struct fake {
    size_t n_train, n_val;
    int evals;              /* evaluate calls */
    size_t last_eval_n;
    size_t max_eval_n, min_eval_n;
    int train_calls;
    int proposals;
    int fail_propose;
    int demos_hurt;         /* every demo lowers the score */
    size_t failed_per_eval; /* examples each evaluation reports failed */
    size_t n_teacher_firsts;
    size_t teacher_first[256]; /* the first demo row of each teacher run */
    pthread_mutex_t lock;      /* the counts: opt_parallel may call from several threads */
    int scramble;              /* sleep so that parallel tasks finish out of order */
    int mb_noise;              /* a minibatch adds up to 0.1 of luck, by program and rows */
} fake;

/* A few milliseconds, more for smaller k: later tasks finish first. */
static void scramble(const fake *f, size_t k)
{
    if (!f->scramble)
        return;
    struct timespec ts = { 0, (long)((16 - k % 16) * 300000L) };
    nanosleep(&ts, NULL);
}

static dsp_status fake_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                                dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    f->evals++;
    f->last_eval_n = n;
    if (n > f->max_eval_n)
        f->max_eval_n = n;
    if (f->min_eval_n == 0 || n < f->min_eval_n)
        f->min_eval_n = n;
    for (size_t i = 0; i < n; i++)
        assert_true(rows[i] < f->n_val);
    /* Bootstrapped demos help most, labelled ones a little, a "good"
     * instruction a lot; the minibatch adds a little row-dependent noise. */
    double s = 0.2;
    for (size_t d = 0; d < prog->demos[0].n; d++)
        s += prog->demos[0].items[d].bootstrapped ? 0.05 : 0.01;
    if (prog->instructions[0] && strstr(prog->instructions[0], "good"))
        s += 0.4;
    if (f->demos_hurt)
        s = 0.5 - 0.05 * (double)prog->demos[0].n;
    s += (double)(rows[0] % 3) * 0.001;
    if (f->mb_noise && n < f->n_val) {
        unsigned h = (unsigned)rows[0] * 2654435761u ^ (unsigned)prog->demos[0].n * 40503u;
        for (const char *c = prog->instructions[0]; c && *c; c++)
            h = h * 31u + (unsigned char)*c;
        s += (double)(h % 101) / 1000.0;
    }
    *out = (opt_score){ .mean = s > 1 ? 1 : s, .n = n, .n_failed = f->failed_per_eval < n ? f->failed_per_eval : n };
    return DSP_OK;
}

static dsp_status fake_run_train(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                                 unsigned round, opt_run *runs, dsp_error *err)
{
    (void)err;
    fake *f = ctx;
    scramble(f, rows[0]);
    pthread_mutex_lock(&f->lock);
    f->train_calls++;
    if (prog->demos[0].n && f->n_teacher_firsts < 256)
        f->teacher_first[f->n_teacher_firsts++] = prog->demos[0].items[0].row;
    pthread_mutex_unlock(&f->lock);
    /* The teacher never sees its own demo rows' answers. */
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < prog->demos[0].n; d++)
            assert_true(prog->demos[0].items[d].row != rows[i]);
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        int pass = round == 0 ? r % 3 != 0 : r % 2 == 0;
        runs[i] = opt_fake_run(a, r, 2, "because", pass);
    }
    return DSP_OK;
}

static dsp_status fake_labeled(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok,
                               dsp_error *err)
{
    (void)ctx, (void)err;
    assert_int_equal(pred, 0);
    if (row % 10 == 9) {
        *ok = 0;
        return DSP_OK;
    }
    *out = opt_fake_demo(a, row, 2, NULL, 0); /* no gold reasoning: a partial demo */
    *ok = 1;
    return DSP_OK;
}

static dsp_status fake_propose(void *ctx, arena *a, const opt_proposal *req, const char **instruction,
                               dsp_error *err)
{
    fake *f = ctx;
    scramble(f, (size_t)req->rollout);
    if (f->fail_propose)
        return dsp_error_set(err, DSP_ERR_HTTP, "teacher unavailable %llu", (unsigned long long)req->rollout);
    pthread_mutex_lock(&f->lock);
    f->proposals++;
    pthread_mutex_unlock(&f->lock);
    assert_non_null(req->task_demos);
    assert_non_null(req->tip);
    assert_string_equal(req->basic_instruction, "Classify.");
    *instruction = arena_printf(a, "%s instruction %llu", req->rollout == 3 ? "good" : "plain",
                                (unsigned long long)req->rollout);
    return DSP_OK;
}

static opt_backend make_backend(fake *f, size_t n_train, size_t n_val)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->n_train = n_train;
    f->n_val = n_val;
    opt_backend b = opt_fake_backend(f, n_train, n_val);
    b.evaluate = fake_evaluate;
    b.run_train = fake_run_train;
    b.labeled_demo = fake_labeled;
    b.propose = fake_propose;
    return b;
}

static opt_params params(const char *optimizer)
{
    opt_params p = { 0 };
    p.optimizer = optimizer;
    p.seed = 7;
    p.k = 5;
    p.max_bootstrapped_demos = 4;
    p.max_labeled_demos = 6;
    p.max_rounds = 1;
    p.num_candidates = 6;
    p.minibatch = 1;
    p.minibatch_size = 35;
    p.full_eval_steps = 5;
    return p;
}

static void labeled_is_seeded_and_skips_unlabelled_rows(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 40, 10);
    arena a;
    arena_init(&a);
    opt_program p1, p2, p3;
    assert_int_equal(opt_labeled(&b, &a, 1, 12, NULL, &p1, NULL), DSP_OK);
    assert_int_equal(opt_labeled(&b, &a, 1, 12, NULL, &p2, NULL), DSP_OK);
    assert_int_equal(opt_labeled(&b, &a, 2, 12, NULL, &p3, NULL), DSP_OK);
    assert_true(p1.demos[0].n <= 12 && p1.demos[0].n >= 8);
    assert_int_equal(p1.demos[0].n, p2.demos[0].n);
    int differs = p1.demos[0].n != p3.demos[0].n;
    for (size_t i = 0; i < p1.demos[0].n; i++) {
        assert_int_equal(p1.demos[0].items[i].row, p2.demos[0].items[i].row);
        assert_true(p1.demos[0].items[i].row % 10 != 9);
        assert_false(p1.demos[0].items[i].bootstrapped);
        assert_null(p1.demos[0].items[i].outputs[0]);
        if (i < p3.demos[0].n)
            differs |= p1.demos[0].items[i].row != p3.demos[0].items[i].row;
    }
    assert_true(differs);
    /* Excluded rows are never chosen. */
    unsigned char ex[40] = { 0 };
    for (size_t i = 0; i < 40; i += 2)
        ex[i] = 1;
    opt_program p4;
    assert_int_equal(opt_labeled(&b, &a, 1, 40, ex, &p4, NULL), DSP_OK);
    assert_int_equal(p4.demos[0].n, 16); /* 20 odd rows minus 9, 19, 29, 39 */
    for (size_t i = 0; i < p4.demos[0].n; i++)
        assert_true(p4.demos[0].items[i].row % 2 == 1);
    arena_free(&a);
}

static void bootstrap_takes_passing_traces_in_order_then_labels(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 60, 10);
    arena a;
    arena_init(&a);
    opt_bootstrap_args args = { 0 };
    args.max_bootstrapped = 4;
    args.max_labeled = 6;
    args.max_rounds = 1;
    args.seed = 3;
    args.teacher_seed = 3;
    opt_program p;
    assert_int_equal(opt_bootstrap(&b, &a, &args, &p, NULL), DSP_OK);
    const opt_demos *d = &p.demos[0];
    assert_int_equal(d->n, 6); /* 4 bootstrapped + 2 labelled: max_labeled is the total */
    size_t last = 0;
    for (size_t i = 0; i < 4; i++) {
        assert_true(d->items[i].bootstrapped);
        assert_true(d->items[i].row % 3 != 0);
        assert_true(i == 0 || d->items[i].row > last); /* in trainset order */
        last = d->items[i].row;
        assert_string_equal(d->items[i].outputs[0], "because");
    }
    for (size_t i = 4; i < 6; i++) {
        assert_false(d->items[i].bootstrapped);
        for (size_t j = 0; j < 4; j++)
            assert_true(d->items[i].row != d->items[j].row);
    }
    /* Same arguments, same demos. */
    opt_program q;
    assert_int_equal(opt_bootstrap(&b, &a, &args, &q, NULL), DSP_OK);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(q.demos[0].items[i].row, d->items[i].row);

    /* A threshold above every score bootstraps nothing. */
    args.has_threshold = 1;
    args.threshold = 2.0;
    assert_int_equal(opt_bootstrap(&b, &a, &args, &q, NULL), DSP_OK);
    for (size_t i = 0; i < q.demos[0].n; i++)
        assert_false(q.demos[0].items[i].bootstrapped);
    arena_free(&a);
}

static void bootstrap_rounds_retry_failures(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 60, 10);
    arena a;
    arena_init(&a);
    /* Only rows 0, 3, 6, ... in this order: round 0 fails them all. */
    size_t order[20];
    for (size_t i = 0; i < 20; i++)
        order[i] = 3 * i;
    opt_bootstrap_args args = { order, 20, 3, 0, 1, 0, 0, 5, 5 };
    opt_program p;
    assert_int_equal(opt_bootstrap(&b, &a, &args, &p, NULL), DSP_OK);
    assert_int_equal(p.demos[0].n, 0);
    args.max_rounds = 2; /* round 1 passes the even ones: 0, 6, 12 */
    assert_int_equal(opt_bootstrap(&b, &a, &args, &p, NULL), DSP_OK);
    assert_int_equal(p.demos[0].n, 3);
    assert_int_equal(p.demos[0].items[0].row, 0);
    assert_int_equal(p.demos[0].items[1].row, 6);
    assert_int_equal(p.demos[0].items[2].row, 12);
    arena_free(&a);
}

static void demo_candidates_follow_dspy_list(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 10);
    arena a;
    arena_init(&a);
    opt_params p = params("random_search");
    opt_program c[8], c2[8];
    assert_int_equal(opt_demo_candidates(&b, &a, &p, 8, c, NULL), DSP_OK);
    assert_int_equal(opt_demo_candidates(&b, &a, &p, 8, c2, NULL), DSP_OK);
    assert_int_equal(c[0].demos[0].n, 0); /* zero-shot */
    assert_true(c[1].demos[0].n > 0);     /* labelled only */
    for (size_t i = 0; i < c[1].demos[0].n; i++)
        assert_false(c[1].demos[0].items[i].bootstrapped);
    size_t boot = 0;
    for (size_t i = 0; i < c[2].demos[0].n; i++)
        boot += c[2].demos[0].items[i].bootstrapped;
    assert_int_equal(boot, 4);            /* unshuffled bootstrap: the full count */
    int shuffled_differ = 0;
    for (size_t k = 3; k < 8; k++) {
        boot = 0;
        for (size_t i = 0; i < c[k].demos[0].n; i++)
            boot += c[k].demos[0].items[i].bootstrapped;
        assert_true(boot >= 1 && boot <= 4);
        shuffled_differ |= c[k].demos[0].items[0].row != c[2].demos[0].items[0].row;
        assert_int_equal(c[k].demos[0].n, c2[k].demos[0].n);
        for (size_t i = 0; i < c[k].demos[0].n; i++)
            assert_int_equal(c[k].demos[0].items[i].row, c2[k].demos[0].items[i].row);
    }
    assert_true(shuffled_differ);
    /* DSPy's shuffle per candidate: the labelled top-up and the teacher's
     * demos come from the candidate's own seed too, not one for all. */
    int labelled_differ = 0;
    for (size_t k = 4; k < 8; k++) {
        const opt_demos *x = &c[k].demos[0], *y = &c[3].demos[0];
        for (size_t i = 0; i < x->n && i < y->n; i++)
            if (!x->items[i].bootstrapped && !y->items[i].bootstrapped)
                labelled_differ |= x->items[i].row != y->items[i].row;
    }
    assert_true(labelled_differ);
    int teachers_differ = 0;
    for (size_t i = 1; i < f.n_teacher_firsts; i++)
        teachers_differ |= f.teacher_first[i] != f.teacher_first[0];
    assert_true(teachers_differ);
    arena_free(&a);
}

/* On two training rows every bootstrap falls back to the same two labels
 * in one of two orders: the repeats are not scored, and the result says
 * which were skipped. */
static void random_search_skips_repeated_candidates(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 2, 10);
    arena a;
    arena_init(&a);
    opt_params p = params("random_search");
    p.num_candidates = 8;
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_true(r.n_trials >= 2 && r.n_trials <= 3); /* zero-shot and at most two orders */
    assert_int_equal(f.evals, (int)r.n_trials);
    assert_int_equal(r.n_demo_candidates, r.n_trials);
    assert_int_equal(r.n_notes, 1);
    assert_non_null(strstr(r.notes[0], "were the same program as an earlier one and were not scored again"));
    assert_non_null(strstr(r.notes[0], arena_printf(&a, "%zu of 11 candidates", 11 - r.n_trials)));
    /* No two scored candidates are the same program. */
    opt_program c[11];
    assert_int_equal(opt_demo_candidates(&b, &a, &p, 11, c, NULL), DSP_OK);
    assert_true(opt_program_same(&b, &c[3], &c[4]) || opt_program_same(&b, &c[3], &c[5]) ||
                opt_program_same(&b, &c[4], &c[5]));
    assert_false(opt_program_same(&b, &c[0], &c[1]));
    arena_free(&a);
}

/* No silent regression: demos that lower the score are not shipped unless
 * asked for, and the result says why. */
static void guard_keeps_the_unoptimized_program_when_not_better(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 20);
    f.demos_hurt = 1;
    b.valset_name = "dev";
    arena a;
    arena_init(&a);
    opt_params p = params("labeled_fewshot");
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.shipped, OPT_SHIPPED_UNOPTIMIZED);
    assert_int_equal(r.best.demos[0].n, 0);
    assert_null(r.best.instructions[0]);
    assert_true(r.final_score == r.baseline_score);
    assert_true(r.optimized_score < r.baseline_score);
    assert_true(r.optimized.demos[0].n > 0);
    assert_string_equal(r.shipped_reason,
                        arena_printf(&a, "kept the unoptimized program: labeled_fewshot's program scored %.4f, not "
                                         "above the unoptimized program's %.4f, on all 20 dev examples "
                                         "(--allow-regression ships it anyway)",
                                     r.optimized_score, r.baseline_score));
    /* Asked for: the optimizer's program ships, and the result says so. */
    p.allow_regression = 1;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.shipped, OPT_SHIPPED_REGRESSION);
    assert_true(r.best.demos[0].n > 0);
    assert_true(r.final_score == r.optimized_score && r.final_score < r.baseline_score);
    assert_non_null(strstr(r.shipped_reason, "as asked (--allow-regression)"));
    /* A search whose best is the program as written says that. */
    opt_params rs = params("random_search");
    rs.num_candidates = 2;
    assert_int_equal(opt_optimize(&rs, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.shipped, OPT_SHIPPED_UNOPTIMIZED);
    assert_non_null(strstr(r.shipped_reason, "no random_search candidate scored above"));
    /* Better: shipped as found, no reason. */
    f.demos_hurt = 0;
    p.allow_regression = 0;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.shipped, OPT_SHIPPED_OPTIMIZED);
    assert_null(r.shipped_reason);
    assert_true(r.final_score == r.optimized_score && r.final_score > r.baseline_score);
    arena_free(&a);
}

/* mipro's light preset searches on 100 rows of a bigger valset, then
 * scores the unoptimized program and its top 3 on all of it. */
static void mipro_sampled_search_is_rescored_on_the_whole_valset(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 150);
    arena a;
    arena_init(&a);
    opt_params p = params("mipro");
    p.preset = "light";
    p.valset_cap = 100;
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.n_val, 150);
    assert_int_equal(r.n_search, 100);
    assert_int_equal(r.n_rescored, 3);
    assert_int_equal(f.max_eval_n, 150);
    size_t whole = 0;
    int baseline_seen = 0, final_seen = 0;
    for (size_t i = 0; i < r.n_trials; i++) {
        const opt_trial *t = &r.trials[i];
        assert_true(t->n_examples == 35 || t->n_examples == 100 || t->n_examples == 150);
        if (t->n_examples != 150)
            continue;
        whole++;
        assert_true(i >= r.n_trials - 4); /* the last ones */
        if (strcmp(t->config, "the unoptimized program, on the whole valset") == 0)
            baseline_seen = t->score == r.baseline_score;
        final_seen |= t->score == r.final_score;
    }
    assert_true(whole >= 3 && whole <= 4);
    assert_true(baseline_seen && final_seen);
    assert_non_null(strstr(r.notes[0], "mipro searched on 100 of 150 valset examples"));
    assert_non_null(strstr(r.best.instructions[0], "good"));
    arena_free(&a);
}

/* Failures are counted per trial and in total. */
static void failures_are_counted_per_trial(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 20);
    f.failed_per_eval = 3;
    arena a;
    arena_init(&a);
    opt_params p = params("random_search");
    p.num_candidates = 3;
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_true(r.n_trials >= 2);
    for (size_t i = 0; i < r.n_trials; i++) {
        assert_int_equal(r.trials[i].n_failed, 3);
        assert_int_equal(r.trials[i].n_examples, 20);
    }
    assert_int_equal(r.n_failed, 3 * r.n_trials);
    assert_int_equal(r.n_failed_trials, r.n_trials);
    arena_free(&a);
}

static void random_search_keeps_the_best(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 20);
    arena a;
    arena_init(&a);
    opt_params p = params("random_search");
    p.num_candidates = 4;
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.n_trials, 7);
    assert_string_equal(r.trials[0].config, "zero-shot");
    assert_true(r.baseline_score == r.trials[0].score);
    double best = 0;
    for (size_t i = 0; i < r.n_trials; i++) {
        assert_true(r.trials[i].full_eval);
        if (r.trials[i].score > best)
            best = r.trials[i].score;
    }
    assert_true(r.final_score == best);
    assert_true(r.final_score > r.baseline_score);
    /* the unshuffled bootstrap (4 bootstrapped demos) is the best here */
    assert_string_equal(r.trials[2].config, "bootstrap (unshuffled)");
    assert_true(r.trials[2].score == best);
    assert_int_equal(f.max_eval_n, 20);
    arena_free(&a);
}

static void bootstrap_and_labeled_report_valset_scores(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 20);
    arena a;
    arena_init(&a);
    opt_params p = params("bootstrap_fewshot");
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.n_trials, 2);
    assert_true(r.final_score > r.baseline_score + 0.2); /* 4 bootstrapped demos */
    assert_int_equal(f.max_eval_n, 20);
    opt_params l = params("labeled_fewshot");
    assert_int_equal(opt_optimize(&l, &b, &a, &r, NULL), DSP_OK);
    assert_true(r.best.demos[0].n >= 3 && r.best.demos[0].n <= 5);
    assert_true(r.final_score > r.baseline_score);
    arena_free(&a);
}

static void mipro_searches_instructions_and_demos(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 60);
    arena a;
    arena_init(&a);
    opt_params p = params("mipro");
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(f.proposals, 5);       /* 6 candidates: the signature's + 5 */
    assert_int_equal(r.n_instruction_candidates, 6);
    assert_int_equal(r.n_demo_candidates, 6);
    assert_true(r.trials[0].full_eval);     /* trial 1: the program as written */
    assert_true(r.baseline_score == r.trials[0].score);
    size_t mb = 0, full = 0;
    for (size_t i = 0; i < r.n_trials; i++)
        r.trials[i].full_eval ? full++ : mb++;
    assert_int_equal(mb, (size_t)opt_mipro_num_trials(2, 6));
    assert_true(full >= 2);
    assert_int_equal(f.min_eval_n, 35);     /* minibatches of 35 of the 60 */
    assert_int_equal(f.max_eval_n, 60);
    for (size_t i = 0; getenv("OPT_DEBUG") && i < r.n_trials; i++) fprintf(stderr, "%d %.3f %d %s\n", r.trials[i].trial, r.trials[i].score, r.trials[i].full_eval, r.trials[i].config);
    assert_non_null(r.best.instructions[0]);
    assert_non_null(strstr(r.best.instructions[0], "good"));
    assert_true(r.final_score > r.baseline_score + 0.3);

    /* Same seed: the same trials, in the same order, with the same scores. */
    fake f2;
    opt_backend b2 = make_backend(&f2, 80, 60);
    opt_result r2;
    assert_int_equal(opt_optimize(&p, &b2, &a, &r2, NULL), DSP_OK);
    assert_int_equal(r.n_trials, r2.n_trials);
    for (size_t i = 0; i < r.n_trials; i++) {
        assert_string_equal(r.trials[i].config, r2.trials[i].config);
        assert_true(r.trials[i].score == r2.trials[i].score);
    }
    arena_free(&a);
}

/* The demo sets and instruction proposals run at once (max_parallel):
 * finishing in any order, they give the same search, trial for trial. */
static void mipro_is_the_same_whatever_order_its_tasks_finish(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    opt_params p = params("mipro");
    fake f1, f2;
    opt_backend one = make_backend(&f1, 80, 60);
    opt_backend many = make_backend(&f2, 80, 60);
    many.max_parallel = 8;
    f2.scramble = 1;
    opt_result r1, r2;
    assert_int_equal(opt_optimize(&p, &one, &a, &r1, NULL), DSP_OK);
    assert_int_equal(opt_optimize(&p, &many, &a, &r2, NULL), DSP_OK);
    assert_int_equal(f1.proposals, f2.proposals);
    assert_int_equal(f1.train_calls, f2.train_calls);
    assert_int_equal(r1.n_trials, r2.n_trials);
    for (size_t i = 0; i < r1.n_trials; i++) {
        assert_string_equal(r1.trials[i].config, r2.trials[i].config);
        assert_true(r1.trials[i].score == r2.trials[i].score);
    }
    assert_string_equal(r1.best.instructions[0], r2.best.instructions[0]);
    assert_int_equal(r1.best.demos[0].n, r2.best.demos[0].n);
    for (size_t d = 0; d < r1.best.demos[0].n; d++)
        assert_int_equal(r1.best.demos[0].items[d].row, r2.best.demos[0].items[d].row);
    for (size_t c = 1; c < r1.n_instruction_candidates; c++)
        assert_string_equal(r1.candidates[0][c], r2.candidates[0][c]);
    /* A failure is the first by index, however the tasks finished. */
    f2.fail_propose = 1;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &many, &a, &r2, &err), DSP_ERR_HTTP);
    assert_string_equal(err.message, "teacher unavailable 1");
    dsp_error_clear(&err);
    arena_free(&a);
}

typedef struct par_ctx {
    const char **slots;
} par_ctx;

static dsp_status par_task(void *ctx, size_t i, arena *a, dsp_error *err)
{
    par_ctx *c = ctx;
    struct timespec ts = { 0, (long)((40 - i) * 50000L) };
    nanosleep(&ts, NULL);
    if (i % 10 == 7)
        return dsp_error_set(err, DSP_ERR_PARSE, "task %zu failed", i);
    c->slots[i] = arena_printf(a, "task %zu", i); /* lives in a after the phase */
    return DSP_OK;
}

static void parallel_tasks_fill_their_slots(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    fake f;
    opt_backend b = make_backend(&f, 10, 10);
    const char *slots[40] = { 0 };
    par_ctx c = { slots };
    for (int par = 1; par <= 16; par += 15) {
        memset(slots, 0, sizeof slots);
        b.max_parallel = par;
        dsp_error err = { 0 };
        assert_int_equal(opt_parallel(&b, &a, 40, par_task, &c, &err), DSP_ERR_PARSE);
        assert_string_equal(err.message, "task 7 failed"); /* the lowest index, though 37 finished first */
        dsp_error_clear(&err);
        for (size_t i = 0; i < 7; i++)
            assert_string_equal(slots[i], arena_printf(&a, "task %zu", i));
        if (par > 1) /* all ran; one at a time stops at the first failure */
            assert_string_equal(slots[39], "task 39");
        else
            assert_null(slots[8]);
    }
    assert_int_equal(opt_parallel(&b, &a, 0, par_task, &c, NULL), DSP_OK);
    arena_free(&a);
}

/* Minibatch scores carry luck (up to 0.1 here, as 35 rows do): after the
 * last trial, every configuration among the top 3 by minibatch mean has a
 * full score (DSPy scores only the best one then), and the answer is the
 * best full score. */
static void mipro_fully_scores_the_top_minibatch_means(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fake f;
        opt_backend b = make_backend(&f, 80, 60);
        f.mb_noise = 1;
        arena a;
        arena_init(&a);
        opt_params p = params("mipro");
        p.seed = seed;
        opt_result r;
        assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
        /* Each configuration's minibatch mean, in order of first trial. */
        const char *label[64];
        double sum[64] = { 0 }, best_full = -1;
        int n_mb[64] = { 0 }, full[64] = { 0 };
        size_t n = 0;
        for (size_t i = 0; i < r.n_trials; i++) {
            size_t k = 0;
            while (k < n && strcmp(label[k], r.trials[i].config) != 0)
                k++;
            if (k == n) {
                assert_true(n < 64);
                label[n++] = r.trials[i].config;
            }
            if (r.trials[i].full_eval) {
                full[k] = 1;
                if (r.trials[i].score > best_full)
                    best_full = r.trials[i].score;
            } else {
                sum[k] += r.trials[i].score;
                n_mb[k]++;
            }
        }
        for (int top = 0; top < 3; top++) {
            size_t at = n;
            for (size_t k = 0; k < n; k++)
                if (n_mb[k] > 0 && (at == n || sum[k] / n_mb[k] > sum[at] / n_mb[at]))
                    at = k;
            if (at == n)
                break;
            if (!full[at])
                fail_msg("seed %llu: `%s`, #%d by minibatch mean (%.4f), has no full score",
                         (unsigned long long)seed, label[at], top + 1, sum[at] / n_mb[at]);
            n_mb[at] = 0; /* out of the next round's way */
        }
        assert_true(r.final_score == best_full);
        arena_free(&a);
    }
}

static void mipro_without_minibatch_scores_every_trial_fully(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 20);
    arena a;
    arena_init(&a);
    opt_params p = params("mipro");
    p.num_trials = 6;
    opt_result r;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, NULL), DSP_OK);
    assert_int_equal(r.n_trials, 7);
    for (size_t i = 0; i < r.n_trials; i++)
        assert_true(r.trials[i].full_eval);
    assert_int_equal(f.min_eval_n, 20);
    arena_free(&a);
}

static void errors_propagate(void **state)
{
    (void)state;
    fake f;
    opt_backend b = make_backend(&f, 80, 20);
    f.fail_propose = 1;
    arena a;
    arena_init(&a);
    opt_params p = params("mipro");
    opt_result r;
    dsp_error err = { 0 };
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_HTTP);
    assert_non_null(strstr(err.message, "teacher unavailable"));
    b.n_val = 0;
    assert_int_equal(opt_optimize(&p, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "valset is empty"));
    opt_params bad = params("simba");
    b.n_val = 5;
    assert_int_equal(opt_optimize(&bad, &b, &a, &r, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "simba"));
    arena_free(&a);
}

static void params_from_ir_fill_defaults(void **state)
{
    (void)state;
    ir_option opts[] = { { .key = "auto", .kind = IR_OPT_NAME, .i = 0, .f = 0, .s = "medium" }, { .key = "max_labeled_demos", .kind = IR_OPT_INT, .i = 2, .f = 0, .s = NULL } };
    ir_optimize o = { 0 };
    o.optimizer = "mipro";
    o.params = opts;
    o.n_params = 2;
    o.seed = 9;
    opt_params p;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.num_candidates, 12);
    assert_int_equal(p.valset_cap, 300);
    assert_int_equal(p.max_labeled_demos, 2);
    assert_int_equal(p.max_bootstrapped_demos, 4);
    assert_int_equal(p.seed, 9);
    o.n_params = 0;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_string_equal(p.preset, "light");
    assert_int_equal(p.num_candidates, 6);
    assert_int_equal(p.valset_cap, 100);
    o.optimizer = "random_search";
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.num_candidates, 16);
    o.optimizer = "simba"; /* DSPy's defaults */
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.bsize, 32);
    assert_int_equal(p.num_candidates, 6);
    assert_int_equal(p.max_steps, 8);
    assert_int_equal(p.max_demos, 4);
    assert_true(p.temperature_for_sampling == 0.2);
    o.optimizer = "gepa";
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_string_equal(p.preset, "light");
    /* A preset: reflections see as many runs as the prompt shows and build
     * on the best candidate; a budget alone: DSPy's 3 and pareto. */
    assert_int_equal(p.reflection_minibatch_size, OPT_REFLECTION_SHOWN);
    assert_string_equal(p.candidate_selection, "current_best");
    assert_int_equal(p.use_merge, 1);
    ir_option budget[] = { { .key = "max_metric_calls", .kind = IR_OPT_INT, .i = 500 } };
    o.params = budget;
    o.n_params = 1;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_null(p.preset);
    assert_int_equal(p.max_metric_calls, 500);
    assert_int_equal(p.reflection_minibatch_size, 3);
    assert_string_equal(p.candidate_selection, "pareto");
    o.n_params = 0;
    o.optimizer = "knn_fewshot"; /* k 3 unless given; dimensions: the model's */
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.k, 3);
    assert_int_equal(p.dimensions, 0);
    ir_option k16[] = { { .key = "k", .kind = IR_OPT_INT, .i = 16 } }; /* given, 16 stays 16 (it became 3) */
    o.params = k16;
    o.n_params = 1;
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.k, 16);
    o.n_params = 0;
    o.optimizer = "ensemble"; /* the 3 best of random_search's 8 (+3) candidates, all run each call */
    assert_int_equal(opt_params_from_ir(&o, &p, NULL), DSP_OK);
    assert_int_equal(p.members, 3);
    assert_int_equal(p.size, 0);
    assert_null(p.field);
    assert_int_equal(p.num_candidates, 8);
    o.optimizer = "signature_optimizer"; /* not one dspcc optimize implements */
    dsp_error err = { 0 };
    assert_int_equal(opt_params_from_ir(&o, &p, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "signature_optimizer"));
    assert_non_null(strstr(err.message, "knn_fewshot"));
}

static void presets_and_trial_counts(void **state)
{
    (void)state;
    int n;
    size_t cap;
    assert_int_equal(opt_mipro_preset("light", &n, &cap), 0);
    assert_int_equal(n, 6);
    assert_int_equal(cap, 100);
    assert_int_equal(opt_mipro_preset("heavy", &n, &cap), 0);
    assert_int_equal(n, 18);
    assert_int_equal(cap, 1000);
    assert_int_equal(opt_mipro_preset("huge", &n, &cap), -1);
    /* max(2 * V * log2(n), 1.5 * n) */
    assert_int_equal(opt_mipro_num_trials(2, 6), 10);
    assert_int_equal(opt_mipro_num_trials(2, 12), 18);
    assert_int_equal(opt_mipro_num_trials(1, 18), 27);
}

static void demos_text_is_one_line_per_demo(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    const char *in1[] = { "line one\nline two", "x" }, *out1[] = { "why", "billing" };
    const char *in2[] = { "hello", NULL }, *out2[] = { "r", NULL };
    opt_demo items[] = { { in1, 2, out1, 2, 0, 0 }, { in2, 2, out2, 2, 1, 0 } };
    opt_demos d = { items, 2 };
    assert_string_equal(opt_demos_text(&a, &d, 8), "line one line two | x -> billing\nhello |  -> r\n");
    assert_string_equal(opt_demos_text(&a, &d, 1), "line one line two | x -> billing\n");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labeled_is_seeded_and_skips_unlabelled_rows),
        cmocka_unit_test(bootstrap_takes_passing_traces_in_order_then_labels),
        cmocka_unit_test(bootstrap_rounds_retry_failures),
        cmocka_unit_test(demo_candidates_follow_dspy_list),
        cmocka_unit_test(random_search_keeps_the_best),
        cmocka_unit_test(random_search_skips_repeated_candidates),
        cmocka_unit_test(guard_keeps_the_unoptimized_program_when_not_better),
        cmocka_unit_test(mipro_sampled_search_is_rescored_on_the_whole_valset),
        cmocka_unit_test(failures_are_counted_per_trial),
        cmocka_unit_test(bootstrap_and_labeled_report_valset_scores),
        cmocka_unit_test(mipro_searches_instructions_and_demos),
        cmocka_unit_test(mipro_is_the_same_whatever_order_its_tasks_finish),
        cmocka_unit_test(parallel_tasks_fill_their_slots),
        cmocka_unit_test(mipro_without_minibatch_scores_every_trial_fully),
        cmocka_unit_test(mipro_fully_scores_the_top_minibatch_means),
        cmocka_unit_test(errors_propagate),
        cmocka_unit_test(params_from_ir_fill_defaults),
        cmocka_unit_test(presets_and_trial_counts),
        cmocka_unit_test(demos_text_is_one_line_per_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
