/* opt_better_together.c — better_together(strategy: "p -> w -> p",
 * prompt_optimizer, n_epochs, ...): DSPy's BetterTogether.
 *
 * The strategy is a sequence of stages:
 *   p  runs the prompt optimizer (random_search, bootstrap_fewshot or
 *      mipro, with this block's demo and candidate arguments) on the model
 *      the program runs on so far: the lm's, or the fine-tuned one;
 *   w  runs the current program (the teacher) over the trainset, keeps the
 *      traces that pass the metric, writes each of their predictor calls as
 *      a chat fine-tuning example (backend finetune_example), fine-tunes
 *      the program lm's base model on them (backend finetune: one job per
 *      data set, resumable) and moves every predictor to the new model.
 * Every candidate — zero-shot on the base model, each p stage's program,
 * the fine-tuned model zero-shot and with the prompts found before — is
 * scored on the whole valset, and the best (earliest on ties) is the
 * answer: fine-tuning that does not help on held-out data is not shipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"

enum { MAX_STAGES = 8 };

/* ---- a backend whose programs run on a given model ----------------- */

typedef struct on_model {
    opt_backend b;
    const opt_backend *inner;
    const char *model;
} on_model;

static dsp_status om_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                              dsp_error *err)
{
    on_model *m = ctx;
    opt_program q = *prog;
    q.model = m->model;
    return m->inner->evaluate(m->inner->ctx, &q, rows, n, out, err);
}

static dsp_status om_run_train(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                               unsigned round, opt_run *runs, dsp_error *err)
{
    on_model *m = ctx;
    opt_program q = *prog;
    q.model = m->model;
    return m->inner->run_train(m->inner->ctx, a, &q, rows, n, round, runs, err);
}

static dsp_status om_labeled(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok, dsp_error *err)
{
    on_model *m = ctx;
    return m->inner->labeled_demo(m->inner->ctx, a, row, pred, out, ok, err);
}

static dsp_status om_propose(void *ctx, arena *a, const opt_proposal *req, const char **instruction, dsp_error *err)
{
    on_model *m = ctx;
    return m->inner->propose(m->inner->ctx, a, req, instruction, err);
}

static dsp_status om_propose_copro(void *ctx, arena *a, const opt_copro_proposal *req, const char **instruction,
                                   dsp_error *err)
{
    on_model *m = ctx;
    return m->inner->propose_copro(m->inner->ctx, a, req, instruction, err);
}

static void om_progress(void *ctx, const char *msg)
{
    on_model *m = ctx;
    if (m->inner->progress)
        m->inner->progress(m->inner->ctx, msg);
}

static void on_model_init(on_model *m, const opt_backend *inner, const char *model)
{
    m->inner = inner;
    m->model = model;
    m->b = *inner;
    m->b.ctx = m;
    m->b.evaluate = om_evaluate;
    m->b.evaluate_many = NULL;
    m->b.run_train = om_run_train;
    m->b.labeled_demo = om_labeled;
    m->b.propose = om_propose;
    /* Every function of the copy gets this ctx: one left unwrapped would
     * get the wrong one. */
    m->b.propose_copro = inner->propose_copro ? om_propose_copro : NULL;
    m->b.progress = inner->progress ? om_progress : NULL;
    m->b.finetune_example = NULL;
    m->b.finetune = NULL;
}

/* ---- the run --------------------------------------------------------- */

typedef struct bt {
    const opt_params *p;
    const opt_backend *b;
    arena *a;
    opt_result *out;
    const size_t *val;
    size_t n_val;
    opt_program best;
    double best_score;
    int have_best;
} bt;

static void say(const bt *t, const char *msg)
{
    if (t->b->progress)
        t->b->progress(t->b->ctx, msg);
}

/* Scores a candidate on the whole valset and keeps it if it is the best. */
static dsp_status candidate(bt *t, const opt_program *prog, const char *label, dsp_error *err)
{
    opt_score sc;
    say(t, arena_printf(t->a, "%s on the valset", label));
    dsp_status st = t->b->evaluate(t->b->ctx, prog, t->val, t->n_val, &sc, err);
    if (st != DSP_OK)
        return st;
    double score = sc.mean;
    opt_stage *s = arena_array(t->a, t->out->n_stages + 1, sizeof *s);
    if (t->out->n_stages)
        memcpy(s, t->out->stages, t->out->n_stages * sizeof *s);
    s[t->out->n_stages++] = (opt_stage){ arena_strdup(t->a, label), score, prog->model != NULL, sc.n,
                                         sc.eval_prompt_tokens, sc.eval_completion_tokens, 0 };
    t->out->stages = s;
    opt_result_add_trial(t->out, t->a, &sc, 1, label);
    if (!t->have_best || score > t->best_score) {
        t->best = *prog;
        t->best_score = score;
        t->have_best = 1;
    }
    return DSP_OK;
}

static int has_prompts(const opt_backend *b, const opt_program *prog)
{
    for (size_t i = 0; i < b->n_preds; i++)
        if (prog->instructions[i] || prog->demos[i].n)
            return 1;
    return 0;
}

static dsp_status stage_p(bt *t, int k, opt_program *cur, dsp_error *err)
{
    const opt_params *p = t->p;
    opt_params sub = *p;
    sub.optimizer = p->prompt_optimizer;
    on_model m;
    on_model_init(&m, t->b, cur->model);
    const char *where = cur->model ? "the fine-tuned model" : "the base model";
    say(t, arena_printf(t->a, "stage %d: p, %s on %s", k, sub.optimizer, where));
    opt_result r;
    /* The search alone: this run judges every candidate itself, and the
     * guard applies once, to its answer. */
    dsp_status st = opt_search(&sub, &m.b, t->a, &r, err);
    if (st != DSP_OK)
        return st;
    /* The prompt optimizer's trials, named by stage, then its answer as a
     * candidate of this run. */
    for (size_t i = 0; i < r.n_trials; i++) {
        const opt_trial *x = &r.trials[i];
        opt_score s = { .mean = x->score, .n = x->n_examples, .n_failed = x->n_failed, .usage = x->usage };
        opt_result_add_trial(t->out, t->a, &s, x->full_eval, arena_printf(t->a, "stage %d (p): %s", k, x->config));
    }
    for (size_t i = 0; i < r.n_notes; i++)
        opt_result_add_note(t->out, t->a, arena_printf(t->a, "stage %d (p): %s", k, r.notes[i]));
    if (r.n_search < t->b->n_val && r.n_search)
        t->out->n_search = r.n_search;
    t->out->n_rescored += r.n_rescored;
    t->out->n_instruction_candidates = r.n_instruction_candidates;
    t->out->n_demo_candidates = r.n_demo_candidates;
    opt_program prog = r.best;
    prog.model = cur->model;
    st = candidate(t, &prog, arena_printf(t->a, "stage %d (p): %s prompts, %s", k, sub.optimizer, where), err);
    *cur = prog;
    return st;
}

static int passes(const opt_params *p, const opt_run *run)
{
    if (!run->ok)
        return 0;
    return p->has_threshold ? run->score >= p->metric_threshold : run->score > 0;
}

/* The fine-tuning data: every predictor call of the passing teacher runs
 * over the trainset, one JSONL line each (malloc'ed into *jsonl). */
static dsp_status training_data(bt *t, const opt_program *cur, char **jsonl, size_t *len, size_t *n_examples,
                                dsp_error *err)
{
    const opt_backend *b = t->b;
    size_t *rows = arena_array(t->a, b->n_train + 1, sizeof *rows);
    for (size_t i = 0; i < b->n_train; i++)
        rows[i] = i;
    opt_run *runs = arena_array(t->a, b->n_train + 1, sizeof *runs);
    dsp_status st = b->run_train(b->ctx, t->a, cur, rows, b->n_train, 0, runs, err);
    if (st != DSP_OK)
        return st;
    char *buf = NULL;
    size_t n = 0, cap = 0, passed = 0;
    for (size_t i = 0; i < b->n_train && st == DSP_OK; i++) {
        if (!passes(t->p, &runs[i]))
            continue;
        passed++;
        for (size_t s = 0; s < runs[i].n_steps && st == DSP_OK; s++) {
            const char *line = NULL;
            st = b->finetune_example(b->ctx, t->a, cur, &runs[i].steps[s], &line, err);
            if (st != DSP_OK)
                break;
            size_t l = strlen(line);
            if (n + l + 2 > cap) {
                size_t ncap = (n + l + 2) * 2;
                char *nb = realloc(buf, ncap);
                if (!nb) {
                    st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
                    break;
                }
                buf = nb;
                cap = ncap;
            }
            memcpy(buf + n, line, l);
            n += l;
            buf[n++] = '\n';
            buf[n] = '\0';
            (*n_examples)++;
        }
    }
    if (st == DSP_OK && *n_examples == 0)
        st = dsp_error_set(err, DSP_ERR_INVALID,
                           "better_together: none of the %zu training runs passed the metric%s, so there is nothing "
                           "to fine-tune on; check the program on the trainset (dspcc eval --data TRAINSET)",
                           b->n_train, t->p->has_threshold ? " threshold" : "");
    if (st != DSP_OK) {
        free(buf);
        return st;
    }
    say(t, arena_printf(t->a, "fine-tuning data: %zu examples from %zu of %zu training runs that passed", *n_examples,
                        passed, b->n_train));
    *jsonl = buf;
    *len = n;
    return DSP_OK;
}

static dsp_status stage_w(bt *t, int k, opt_program *cur, dsp_error *err)
{
    const opt_backend *b = t->b;
    if (t->out->finetune.model)
        return dsp_error_set(err, DSP_ERR_INVALID, "better_together: the strategy fine-tunes only once");
    say(t, arena_printf(t->a, "stage %d: w, the teacher over the trainset for fine-tuning data", k));
    char *jsonl = NULL;
    size_t len = 0, n = 0;
    dsp_status st = training_data(t, cur, &jsonl, &len, &n, err);
    if (st != DSP_OK)
        return st;
    opt_finetune_args args = { t->p->n_epochs, t->p->seed, n, 60 * t->p->ft_wait_minutes };
    opt_finetune_outcome ft;
    memset(&ft, 0, sizeof ft);
    st = b->finetune(b->ctx, t->a, jsonl, len, &args, &ft, err);
    free(jsonl);
    if (st != DSP_OK)
        return st;
    t->out->finetune = ft;
    t->out->n_finetune_examples = n;
    /* The fine-tuned model alone, then with the prompts found so far. */
    opt_program zero = opt_program_zero_shot(b, t->a);
    zero.model = ft.model;
    st = candidate(t, &zero, arena_printf(t->a, "stage %d (w): fine-tuned model, zero-shot", k), err);
    if (st == DSP_OK && has_prompts(b, cur)) {
        opt_program with = *cur;
        with.model = ft.model;
        st = candidate(t, &with, arena_printf(t->a, "stage %d (w): fine-tuned model with the prompts so far", k), err);
        *cur = with;
    } else {
        *cur = zero;
    }
    return st;
}

/* "p -> w -> p" -> "pwp"; anything but p and w separated by -> is an error. */
static dsp_status parse_strategy(const char *s, char *out, dsp_error *err)
{
    size_t n = 0;
    const char *q = s;
    for (;;) {
        while (*q == ' ')
            q++;
        if ((*q != 'p' && *q != 'w') || n + 1 >= MAX_STAGES)
            break;
        out[n++] = *q++;
        while (*q == ' ')
            q++;
        if (*q == '\0') {
            out[n] = '\0';
            /* Checked here, before any stage runs: found at the second w,
             * it came after a paid fine-tuning job and lost its model.
             * (sema lets a .dsp name only the four strategies of
             * stdlib/optimizers.c; this guards every other caller.) */
            if (strchr(out, 'w') != strrchr(out, 'w'))
                return dsp_error_set(err, DSP_ERR_INVALID,
                                     "better_together: strategy \"%s\" fine-tunes more than once; it fine-tunes only "
                                     "once (one w stage), e.g. \"p -> w -> p\"",
                                     s);
            return DSP_OK;
        }
        if (q[0] != '-' || q[1] != '>')
            break;
        q += 2;
    }
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "better_together: strategy \"%s\" is not stages p (prompts) and w (weights) joined by ->, "
                         "e.g. \"p -> w -> p\"",
                         s);
}

dsp_status opt_better_together(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    char stages[MAX_STAGES];
    dsp_status st = parse_strategy(p->strategy ? p->strategy : "p -> w -> p", stages, err);
    if (st != DSP_OK)
        return st;
    if (strchr(stages, 'w') && (!b->finetune || !b->finetune_example))
        return dsp_error_set(err, DSP_ERR_INVALID, "better_together: this backend cannot fine-tune");
    if (!p->prompt_optimizer)
        return dsp_error_set(err, DSP_ERR_INVALID, "better_together: no prompt optimizer given");
    bt t = { 0 };
    t.p = p;
    t.b = b;
    t.a = a;
    t.out = out;
    size_t n_val;
    t.val = opt_val_rows(b, a, p->seed, 0, &n_val);
    t.n_val = n_val;
    opt_program cur = opt_program_zero_shot(b, a);
    st = candidate(&t, &cur, "zero-shot, base model", err);
    if (st != DSP_OK)
        return st;
    out->baseline_score = t.best_score;
    for (int k = 0; stages[k] && st == DSP_OK; k++)
        st = stages[k] == 'p' ? stage_p(&t, k + 1, &cur, err) : stage_w(&t, k + 1, &cur, err);
    if (st != DSP_OK)
        return st;
    out->best = t.best;
    out->final_score = t.best_score;
    return DSP_OK;
}
