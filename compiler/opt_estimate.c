/* opt_estimate.c — `dspcc optimize --estimate`: what a run would cost,
 * before any LM call. The chosen optimizer runs as it would, with its
 * parameters, seed and budget, against a backend that makes no LM call:
 * every evaluation, teacher run and proposal it asks for is counted, its
 * prompt tokens are taken from the sizes of the prompts the chat adapter
 * renders for the program (instructions and demos included), and stand-in
 * scores (a hash of the candidate) keep the search going. Where the real
 * search would stop early or go on differently with real scores, the
 * estimate differs; docs/inspect.md states by how much it may. */
#include "opt_estimate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp_int.h"

/* Characters per token: the usual rule of thumb for English text with
 * BPE tokenizers (OpenAI's documentation gives ~4). */
#define CHARS_PER_TOKEN 4.0
/* Completion tokens: a guess per output field, and per proposal. */
#define TOKENS_PER_OUTPUT 15
/* A tool's result, which no prompt holds before the run: a guess of a few
 * retrieved passages' size. Inside a react loop an observation is cut at
 * the loop's max_observation characters, so it is the smaller of the two.
 * An earlier predictor's output is the size its completion is guessed at
 * (TOKENS_PER_OUTPUT). */
#define TOKENS_PER_TOOL_RESULT 400
#define TOKENS_PER_PROPOSAL 120

typedef struct est {
    opt_exec *x;
    opt_estimate *out;
    arena *a;
    size_t *site_pred;          /* predictor index of each call site of one run */
    size_t n_sites;
    double *base_tokens;        /* per predictor: prompt tokens without demos, base instructions */
    size_t *n_outputs;          /* per predictor */
    const dsp_lm_config *lm, *teacher;
    const dsp_lm_config *embedder;  /* knn_fewshot's, or NULL */
    size_t n_proposals_made;
    struct judge_call *judges;  /* the metric's judge calls in one scored run */
    size_t n_judges;
} est;

/* One judge call a scored run makes, on its lm. */
typedef struct judge_call {
    const dsp_lm_config *lm;
    double prompt, completion;
} judge_call;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static uint64_t prog_hash(const est *e, const opt_program *prog)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < e->x->b.n_preds; i++) {
        const char *ins = prog->instructions && prog->instructions[i] ? prog->instructions[i] : "";
        h = fnv(h, ins, strlen(ins));
        size_t nd = prog->demos ? prog->demos[i].n : 0;
        h = fnv(h, &nd, sizeof nd);
        for (size_t d = 0; d < nd; d++)
            h = fnv(h, &prog->demos[i].items[d].row, sizeof(size_t));
    }
    return h;
}

/* A stand-in score in [0.3, 0.9), the same for the same candidate. */
/* The row's own values as a demo: no LM call, so the real backend's. */
static dsp_status labeled(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok, dsp_error *err)
{
    est *e = ctx;
    return e->x->b.labeled_demo(e->x->b.ctx, a, row, pred, out, ok, err);
}

static double stand_in(uint64_t h)
{
    return 0.3 + 0.6 * (double)(h % 1000) / 1000.0;
}

static double demo_tokens(const opt_demos *d)
{
    double chars = 0;
    for (size_t k = 0; d && k < d->n; k++) {
        const opt_demo *x = &d->items[k];
        for (size_t i = 0; i < x->n_inputs; i++)
            chars += (x->inputs[i] ? (double)strlen(x->inputs[i]) : TOKENS_PER_TOOL_RESULT * CHARS_PER_TOKEN) +
                     20; /* the [[ ## field ## ]] marker */
        for (size_t i = 0; i < x->n_outputs; i++)
            chars += (x->outputs[i] ? strlen(x->outputs[i]) : 0) + 20;
        chars += 40; /* the [[ ## completed ## ]] line and the role turns */
    }
    return chars / CHARS_PER_TOKEN;
}

/* Prompt tokens of one call of predictor i in prog. */
static double call_tokens(const est *e, const opt_program *prog, size_t i)
{
    double t = e->base_tokens[i];
    const char *ins = prog->instructions ? prog->instructions[i] : NULL;
    if (ins)
        t += ((double)strlen(ins) - (double)strlen(e->x->b.base_instructions[i])) / CHARS_PER_TOKEN;
    if (prog->demos)
        t += demo_tokens(&prog->demos[i]);
    /* knn_fewshot: k demos of the pool's average size. */
    const opt_knn *kn = prog->knn ? &prog->knn[i] : NULL;
    if (kn && kn->k > 0 && kn->pool.n > 0)
        t += demo_tokens(&kn->pool) * (double)(kn->k < kn->pool.n ? kn->k : kn->pool.n) / (double)kn->pool.n;
    return t > 1 ? t : 1;
}

static void count_call(est *e, const dsp_lm_config *lm, double prompt, double completion)
{
    long long pt = (long long)(prompt + 0.5), ct = (long long)(completion + 0.5);
    e->out->lm_calls++;
    e->out->prompt_tokens += pt;
    e->out->completion_tokens += ct;
    if (lm && (lm->usd_per_mtok_in > 0 || lm->usd_per_mtok_out > 0))
        e->out->cost_usd += dsp_lm_cost(lm, pt, ct);
    else
        e->out->unpriced_calls++;
}

/* n runs of prog on lm: every call site of the module, each row (a
 * knn_fewshot predictor's call also embeds its input, about a demo's
 * input in size), and the judges the metric asks to score the run and
 * write its feedback. */
static void count_runs(est *e, const opt_program *prog, size_t n, const dsp_lm_config *lm)
{
    for (size_t r = 0; r < n; r++)
        for (size_t s = 0; s < e->n_sites; s++) {
            size_t i = e->site_pred[s];
            /* An ensemble's predictor runs once per member (with `size`,
             * per member drawn: taken in turn here), with its prompt. */
            const opt_ensemble *en = prog->ensemble && prog->ensemble->pred == i ? prog->ensemble : NULL;
            size_t runs = !en ? 1 : en->size && en->size < en->n ? en->size : en->n;
            for (size_t m = 0; m < runs; m++)
                count_call(e, lm, call_tokens(e, en ? &en->members[(r + m) % en->n] : prog, i),
                           (double)(TOKENS_PER_OUTPUT * e->n_outputs[i]));
            const opt_knn *kn = prog->knn ? &prog->knn[i] : NULL;
            if (kn && kn->k > 0 && kn->pool.n > 0)
                count_call(e, e->embedder, demo_tokens(&kn->pool) / (2.0 * (double)kn->pool.n), 0);
        }
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < e->n_judges; j++) {
            count_call(e, e->judges[j].lm, e->judges[j].prompt, e->judges[j].completion);
            e->out->judge_calls++;
        }
}

/* knn_fewshot's pool: one embedding per demo, counted; zero vectors of
 * one number stand in. */
static dsp_status embed_demos(void *ctx, arena *a, size_t pred, const opt_demo *demos, size_t n, float **vectors,
                              size_t *dim, dsp_error *err)
{
    (void)pred;
    (void)err;
    est *e = ctx;
    opt_demos d = { demos, n };
    double per = n ? demo_tokens(&d) / (2.0 * (double)n) : 0;
    for (size_t i = 0; i < n; i++)
        count_call(e, e->embedder, per, 0);
    *vectors = arena_array(a, n + 1, sizeof **vectors);
    *dim = 1;
    return DSP_OK;
}

/* A saved state's program: read as the run reads it (no LM call). */
static dsp_status state_program(void *ctx, arena *a, const char *path, opt_program *out, dsp_error *err)
{
    est *e = ctx;
    return e->x->b.state_program(e->x, a, path, out, err);
}

static dsp_status ev(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                     dsp_error *err)
{
    (void)rows;
    (void)err;
    est *e = ctx;
    count_runs(e, prog, n, e->lm);
    e->out->program_runs += (long long)n;
    *out = (opt_score){ .mean = stand_in(prog_hash(e, prog)), .n = n };
    return DSP_OK;
}

static dsp_status ev_each(void *ctx, const opt_program *prog, const size_t *rows, size_t n, double *scores,
                          opt_score *out, dsp_error *err)
{
    est *e = ctx;
    dsp_status st = ev(ctx, prog, rows, n, out, err);
    uint64_t h = prog_hash(e, prog);
    for (size_t i = 0; i < n; i++)
        scores[i] = stand_in(fnv(h, &rows[i], sizeof rows[i])) > 0.6 ? 1.0 : 0.0;
    return st;
}

/* Runs with one step per predictor, the row's own values as the demo; a
 * stand-in share of them pass. */
static dsp_status runs_of(est *e, arena *a, const opt_program *prog, const size_t *rows, size_t n, unsigned salt,
                          opt_run *runs, int feedback, dsp_error *err)
{
    uint64_t h = prog_hash(e, prog) ^ salt;
    for (size_t r = 0; r < n; r++) {
        opt_step *steps = arena_array(a, e->x->b.n_preds + 1, sizeof *steps);
        size_t k = 0;
        for (size_t i = 0; i < e->x->b.n_preds; i++) {
            int ok = 0;
            dsp_status st = e->x->b.labeled_demo(e->x->b.ctx, a, rows[r], i, &steps[k].demo, &ok, err);
            if (st != DSP_OK)
                return st;
            if (ok) {
                steps[k].pred = i;
                steps[k].demo.bootstrapped = 1;
                k++;
            }
        }
        double s = stand_in(fnv(h, &rows[r], sizeof rows[r]));
        runs[r] = (opt_run){ k > 0, s > 0.45 ? 1.0 : 0.0, steps, k,
                             feedback ? arena_printf(a, "This run scored %.1f.", s > 0.45 ? 1.0 : 0.0) : NULL, NULL };
    }
    return DSP_OK;
}

static dsp_status train(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n, unsigned round,
                        opt_run *runs, dsp_error *err)
{
    est *e = ctx;
    count_runs(e, prog, n, e->teacher);
    e->out->teacher_runs += (long long)n;
    return runs_of(e, a, prog, rows, n, round, runs, 0, err);
}

static dsp_status feedback(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                           opt_run *runs, dsp_error *err)
{
    est *e = ctx;
    count_runs(e, prog, n, e->lm);
    e->out->program_runs += (long long)n;
    return runs_of(e, a, prog, rows, n, 0x66, runs, 1, err);
}

static dsp_status sampled(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                          double temperature, uint64_t rollout, opt_run *runs, dsp_error *err)
{
    (void)temperature;
    est *e = ctx;
    count_runs(e, prog, n, e->lm);
    e->out->program_runs += (long long)n;
    /* Each rollout its own stand-in scores, so sampled runs disagree as
     * real ones would. */
    return runs_of(e, a, prog, rows, n, 0x73u ^ (unsigned)rollout, runs, 1, err);
}

static size_t len0(const char *s)
{
    return s ? strlen(s) : 0;
}

/* One proposal call: its prompt holds the descriptions, demos and
 * attempts it is given, plus the proposer's own instructions. */
static const char *proposal(est *e, arena *a, size_t chars)
{
    count_call(e, e->teacher, 300 + (double)chars / CHARS_PER_TOKEN, TOKENS_PER_PROPOSAL);
    e->out->proposals++;
    return arena_printf(a, "Stand-in instruction %zu for the estimate.", ++e->n_proposals_made);
}

static dsp_status propose(void *ctx, arena *a, const opt_proposal *q, const char **ins, dsp_error *err)
{
    (void)err;
    *ins = proposal(ctx, a,
                    len0(q->dataset_description) + len0(q->program_description) + len0(q->basic_instruction) +
                        len0(q->task_demos) + len0(q->tip));
    return DSP_OK;
}

static dsp_status propose_copro(void *ctx, arena *a, const opt_copro_proposal *q, const char **ins, dsp_error *err)
{
    (void)err;
    *ins = proposal(ctx, a, len0(q->basic_instruction) + len0(q->task_demos) + len0(q->attempts));
    return DSP_OK;
}

static dsp_status reflect(void *ctx, arena *a, const opt_reflection *q, const char **ins, dsp_error *err)
{
    (void)err;
    size_t chars = len0(q->current_instruction);
    for (size_t r = 0; r < q->n_runs; r++)
        for (size_t s = 0; s < q->runs[r].n_steps; s++) {
            const opt_demo *d = &q->runs[r].steps[s].demo;
            for (size_t i = 0; i < d->n_inputs; i++)
                chars += len0(d->inputs[i]);
            for (size_t i = 0; i < d->n_outputs; i++)
                chars += len0(d->outputs[i]);
        }
    *ins = proposal(ctx, a, chars);
    return DSP_OK;
}

static dsp_status combine(void *ctx, arena *a, const opt_combination *q, const char **ins, dsp_error *err)
{
    (void)err;
    *ins = proposal(ctx, a, len0(q->instruction_a) + len0(q->instruction_b));
    return DSP_OK;
}

static dsp_status ft_example(void *ctx, arena *a, const opt_program *prog, const opt_step *step, const char **line,
                             dsp_error *err)
{
    (void)ctx;
    (void)prog;
    (void)step;
    (void)err;
    *line = arena_strdup(a, "{}");
    return DSP_OK;
}

static dsp_status finetune(void *ctx, arena *a, const char *jsonl, size_t len, const opt_finetune_args *args,
                           opt_finetune_outcome *out, dsp_error *err)
{
    (void)jsonl;
    (void)len;
    (void)err;
    est *e = ctx;
    e->out->finetune_jobs++;
    e->out->finetune_examples += (long long)args->n_examples;
    memset(out, 0, sizeof *out);
    out->model = arena_strdup(a, "ft:estimate");
    out->job_id = "estimate";
    return DSP_OK;
}

/* The predictor call sites one run of module m makes, in order (repeat
 * bodies as often as they repeat; of an if, the longer branch). */
static void sites(est *e, const ir_step *steps, size_t n, size_t mult, size_t **out, size_t *n_out, size_t *cap);

static void add_site(est *e, const ir_predictor *ip, size_t mult, size_t **out, size_t *n_out, size_t *cap)
{
    size_t idx = 0;
    while (idx < e->x->b.n_preds && e->x->preds[idx] != ip)
        idx++;
    if (idx == e->x->b.n_preds)
        return;
    for (size_t k = 0; k < mult; k++) {
        if (*n_out == *cap) {
            size_t c = *cap ? *cap * 2 : 8;
            size_t *p = arena_array(e->a, c, sizeof *p);
            if (*n_out)
                memcpy(p, *out, *n_out * sizeof *p);
            *out = p;
            *cap = c;
        }
        (*out)[(*n_out)++] = idx;
    }
}

/* A react loop stops when the LM picks `finish`: the estimate takes half
 * its max_iters rounds (rounded up), then the extract call. */
static size_t react_rounds(const ir_react *r)
{
    return (size_t)((r->max_iters + 1) / 2);
}

/* LM calls of one predict step: n samples for best_of_n, refine (which may
 * stop early) and majority; else one. */
static size_t predict_calls(const ir_step *st)
{
    return st->sampling ? (size_t)st->sampling->n : 1;
}

static size_t count_sites(const ir_step *steps, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const ir_step *st = &steps[i];
        if (st->kind == IR_STEP_PREDICT)
            c += predict_calls(st);
        else if (st->kind == IR_STEP_REACT)
            c += react_rounds(st->react) + 1;
        else if (st->kind == IR_STEP_MCC)
            c += (size_t)st->mcc->m + 1;
        else if (st->kind == IR_STEP_MODULE)
            c += count_sites(st->module->steps, st->module->n_steps);
        else if (st->kind == IR_STEP_REPEAT)
            c += (size_t)st->count * count_sites(st->body, st->n_body);
        else if (st->kind == IR_STEP_IF) {
            size_t a = count_sites(st->body, st->n_body), b = count_sites(st->else_body, st->n_else);
            c += a > b ? a : b;
        }
    }
    return c;
}

static void sites(est *e, const ir_step *steps, size_t n, size_t mult, size_t **out, size_t *n_out, size_t *cap)
{
    for (size_t i = 0; i < n; i++) {
        const ir_step *st = &steps[i];
        if (st->kind == IR_STEP_PREDICT) {
            add_site(e, st->predictor, mult * predict_calls(st), out, n_out, cap);
        } else if (st->kind == IR_STEP_REACT) {
            add_site(e, st->react->step, mult * react_rounds(st->react), out, n_out, cap);
            add_site(e, st->react->extract, mult, out, n_out, cap);
        } else if (st->kind == IR_STEP_MCC) {
            add_site(e, st->mcc->attempt, mult * (size_t)st->mcc->m, out, n_out, cap);
            add_site(e, st->mcc->compare, mult, out, n_out, cap);
        } else if (st->kind == IR_STEP_MODULE)
            sites(e, st->module->steps, st->module->n_steps, mult, out, n_out, cap);
        else if (st->kind == IR_STEP_REPEAT)
            sites(e, st->body, st->n_body, mult * (size_t)st->count, out, n_out, cap);
        else if (st->kind == IR_STEP_IF) {
            if (count_sites(st->body, st->n_body) >= count_sites(st->else_body, st->n_else))
                sites(e, st->body, st->n_body, mult, out, n_out, cap);
            else
                sites(e, st->else_body, st->n_else, mult, out, n_out, cap);
        }
    }
}

/* The tokens an input known only at run time is guessed at (see the
 * constants above), by where its call site takes it from. */
static double unknown_tokens(const ir_program *prog, const ir_predictor *ip, const ex_prompt *pr,
                             const ex_placeholder *ph)
{
    const ir_step *site = pr->site;
    if (!ph->binding && site && site->kind == IR_STEP_REACT && strcmp(ph->name, "trajectory") == 0) {
        /* Each round adds a thought, a tool name, its arguments and an
         * observation; the step calls see 0, 1, ... rounds - 1 of them (on
         * average half that), the extract all. */
        const ir_react *r = site->react;
        double obs = (double)r->max_observation / CHARS_PER_TOKEN;
        if (obs > TOKENS_PER_TOOL_RESULT)
            obs = TOKENS_PER_TOOL_RESULT;
        double rounds = (double)react_rounds(r);
        double seen = ip == r->extract ? rounds : (rounds - 1) / 2;
        return seen * (obs + 3 * TOKENS_PER_OUTPUT);
    }
    if (ph->binding && (ph->binding->value.kind == IR_VAL_VAR || ph->binding->value.kind == IR_VAL_FIELD)) {
        const ir_module *m = ir_module_find(prog, ip->module);
        for (size_t v = 0; m && v < m->n_vars; v++)
            if (strcmp(m->vars[v].name, ph->binding->value.name) == 0)
                return m->vars[v].kind == IR_VAR_TOOL ? TOKENS_PER_TOOL_RESULT : TOKENS_PER_OUTPUT;
    }
    return TOKENS_PER_OUTPUT; /* a sampled attempt's reasoning, a caller's value */
}

typedef struct judge_add {
    est *e;
    const ex_runner *r;
    size_t *cap;
    dsp_error *err;
} judge_add;

/* Adds the call of judge x (of the runner's metric) to e's list: its
 * prompt as the chat adapter renders it, its inputs (fields of the example
 * or the prediction) guessed at an output's size. Returns the status
 * (nonzero stops the walk). */
static int add_judge(void *ctx, const ir_expr *x)
{
    judge_add *ja = ctx;
    est *e = ja->e;
    size_t *cap = ja->cap;
    dsp_error *err = ja->err;
    const it_judge *j = it_judge_of(ja->r, x);
    if (!j)
        return DSP_OK;
    const dsp_signature *sig = j->pred->signature;
    const char **texts = arena_array(e->a, sig->n_inputs + 1, sizeof *texts);
    for (size_t i = 0; i < sig->n_inputs; i++)
        texts[i] = "";
    dsp_prompt_spec spec = { .signature = sig, .strategy = DSP_STRATEGY_PREDICT };
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_status st = dsp_chat_adapter_render_texts(&spec, texts, &m, err);
    size_t chars = 0;
    for (size_t i = 0; st == DSP_OK && i < m.len; i++)
        chars += strlen(m.items[i].content) + 8;
    dsp_messages_free(&m);
    if (st != DSP_OK)
        return (int)st;
    if (e->n_judges == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        judge_call *v = arena_array(e->a, nc, sizeof *v);
        if (e->n_judges)
            memcpy(v, e->judges, e->n_judges * sizeof *v);
        e->judges = v;
        *cap = nc;
    }
    double prompt = (double)chars / CHARS_PER_TOKEN + (double)(TOKENS_PER_OUTPUT * sig->n_inputs);
    e->judges[e->n_judges++] = (judge_call){ j->pred->lm, prompt, (double)(TOKENS_PER_OUTPUT * sig->n_outputs) };
    return DSP_OK;
}

/* Adds the calls of the judges in x (NULL: none). */
static dsp_status add_judges(est *e, const ex_runner *r, const ir_expr *x, size_t *cap, dsp_error *err)
{
    judge_add ja = { e, r, cap, err };
    return (dsp_status)ir_expr_judges(x, add_judge, &ja);
}

/* The judges of one arm list the run asks: every arm's condition up to the
 * first arm without one (metric_eval.c stops at the first that holds), and
 * the text of the arm taken: counted as the one with the most judges. */
static dsp_status add_arm_judges(est *e, const ex_runner *r, const ir_feedback *arms, size_t n, size_t *cap,
                                 dsp_error *err)
{
    size_t best = n, most = 0, last = n ? n - 1 : 0;
    for (size_t k = 0; k < n; k++)
        if (!arms[k].cond) {
            last = k;
            break;
        }
    dsp_status st = DSP_OK;
    for (size_t k = 0; n && k <= last && st == DSP_OK; k++) {
        st = add_judges(e, r, arms[k].cond, cap, err);
        size_t before = e->n_judges;
        if (st == DSP_OK)
            st = add_judges(e, r, arms[k].text, cap, err);
        size_t got = e->n_judges - before;
        e->n_judges = before; /* texts: only the chosen one's, below */
        if (best == n || got > most)
            best = k, most = got;
    }
    if (st == DSP_OK && best < n)
        st = add_judges(e, r, arms[best].text, cap, err);
    return st;
}

/* Every judge call one run's scoring makes (interp.c: the score, the
 * general feedback, each predictor's feedback written by arms). */
static dsp_status metric_judges(est *e, const ex_runner *r, dsp_error *err)
{
    const ir_metric *m = r->metric;
    size_t cap = 0;
    if (!m)
        return DSP_OK;
    dsp_status st = add_judges(e, r, m->expr, &cap, err);
    if (st == DSP_OK)
        st = add_arm_judges(e, r, m->feedback, m->n_feedback, &cap, err);
    for (size_t k = 0; k < m->n_pred_feedback && st == DSP_OK; k++)
        if (!m->pred_feedback[k].tool_output)
            st = add_arm_judges(e, r, m->pred_feedback[k].arms, m->pred_feedback[k].n_arms, &cap, err);
    return st;
}

dsp_status opt_estimate_run(opt_exec *x, const opt_params *p, arena *a, opt_estimate *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    est e;
    memset(&e, 0, sizeof e);
    e.x = x;
    e.out = out;
    e.a = a;
    e.lm = ex_runner_lm(x->runner, x->o->lm);
    e.teacher = x->teacher ? x->teacher : e.lm;
    size_t cap = 0;
    sites(&e, x->o->module->steps, x->o->module->n_steps, 1, &e.site_pred, &e.n_sites, &cap);
    size_t np = x->b.n_preds;
    e.base_tokens = arena_array(a, np + 1, sizeof *e.base_tokens);
    e.n_outputs = arena_array(a, np + 1, sizeof *e.n_outputs);
    /* Each predictor's prompt as the adapter renders it, with the first
     * valset example's inputs where the call takes a module input. */
    ex_config cfg;
    dsp_status st = ex_config_init(x->runner, &cfg, err);
    if (st != DSP_OK)
        return st;
    const dsp_value *params = x->val->n_rows ? x->val->rows[x->val_rows[0]].values : NULL;
    for (size_t i = 0; i < np && st == DSP_OK; i++) {
        ex_prompt pr;
        st = ex_prompt_render(x->runner, &cfg, x->preds[i], params, &pr, err);
        if (st != DSP_OK)
            break;
        size_t chars = 0;
        for (size_t m = 0; m < pr.messages.len; m++)
            chars += strlen(pr.messages.items[m].content) + 8;
        e.base_tokens[i] = (double)chars / CHARS_PER_TOKEN;
        for (size_t k = 0; k < pr.n_placeholders; k++)
            e.base_tokens[i] += unknown_tokens(x->prog, x->preds[i], &pr, &pr.placeholders[k]);
        e.n_outputs[i] = x->preds[i]->n_outputs;
        ex_prompt_free(&pr);
    }
    ex_config_free(&cfg);
    if (st == DSP_OK)
        st = metric_judges(&e, x->runner, err);
    if (st != DSP_OK)
        return st;
    opt_backend b = x->b;
    b.ctx = &e;
    b.labeled_demo = labeled;
    b.evaluate = ev;
    b.evaluate_many = NULL; /* counted one by one through ev */
    b.evaluate_each = x->b.evaluate_each ? ev_each : NULL;
    b.run_train = train;
    b.run_feedback = x->b.run_feedback ? feedback : NULL;
    b.run_sampled = x->b.run_sampled ? sampled : NULL;
    b.propose = propose;
    b.propose_copro = x->b.propose_copro ? propose_copro : NULL;
    b.reflect = x->b.reflect ? reflect : NULL;
    b.combine = x->b.combine ? combine : NULL;
    b.finetune_example = x->b.finetune_example ? ft_example : NULL;
    b.finetune = x->b.finetune ? finetune : NULL;
    b.embed_demos = x->b.embed_demos ? embed_demos : NULL;
    b.state_program = x->b.state_program ? state_program : NULL;
    e.embedder = x->o->embedder ? ex_runner_lm(x->runner, x->o->embedder) : NULL;
    b.progress = NULL;
    opt_result res;
    st = opt_optimize(p, &b, a, &res, err);
    out->trials = res.n_trials;
    return st;
}
