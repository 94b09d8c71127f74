/* opt_exec.c — opt_backend on the interpreter (see opt_exec.h). */
#include "opt_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/lora.h"
#include "eval_batch.h"
#include "ir_runtime.h"

static opt_exec *X(void *ctx)
{
    return ctx;
}

/* ---- candidate program -> ex_config ------------------------------- */

/* The program's lm with its model replaced by a fine-tuned one (same
 * provider, endpoint, key and sampling), allocated in a. */
static const dsp_lm_config *finetuned_lm(const dsp_lm_config *base, const char *model, arena *a)
{
    dsp_lm_config *c = arena_alloc(a, sizeof *c);
    *c = *base;
    const char *slash = strchr(base->model, '/');
    int plen = slash ? (int)(slash - base->model) : 0;
    c->model = arena_printf(a, "%.*s/%s", plen, base->model, model);
    return c;
}

/* What a program whose model is `model` runs on: the student lm with
 * its LoRA adapter (by its serving name), or with a provider's fine-tuned
 * model. */
static const dsp_lm_config *student_lm(const opt_exec *x, const char *model, arena *a)
{
    const dsp_lm_config *base = ex_runner_lm(x->runner, x->student);
    if (!base)
        return NULL;
    if (x->ft.adapter_name && strcmp(model, x->ft.adapter_name) == 0)
        return irt_lm_with_adapter(a, x->student, base, x->ft.adapter_name, x->ft.adapter_sha256);
    return finetuned_lm(base, model, a);
}

/* temperature >= 0 with rollout: a sampled run of the program as it is
 * (SIMBA); see train_runs. */
typedef struct sampling {
    double temperature;
    uint64_t rollout;
} sampling;

static dsp_status to_config(const opt_exec *x, const opt_program *prog, int teacher, unsigned round,
                            const sampling *sm, ex_config *cfg, dsp_error *err)
{
    dsp_status st = ex_config_init(x->runner, cfg, err);
    if (st != DSP_OK)
        return st;
    /* A fine-tuned model (or a LoRA adapter of the student) replaces the
     * program's lm, and the teacher's when the teacher is that lm (DSPy's
     * student teaching itself). */
    const dsp_lm_config *lm = ex_runner_lm(x->runner, x->o->lm);
    const dsp_lm_config *ft = prog->model ? student_lm(x, prog->model, &cfg->mem) : NULL;
    for (size_t p = 0; p < cfg->n_preds && p < x->b.n_preds; p++) {
        ex_pred_config *pc = &cfg->preds[p];
        pc->instructions = prog->instructions[p];
        pc->override_demos = true;
        const opt_demos *d = &prog->demos[p];
        dsp_demo *demos = arena_array(&cfg->mem, d->n + 1, sizeof *demos);
        for (size_t i = 0; i < d->n; i++) {
            demos[i].input_texts = d->items[i].inputs;
            demos[i].output_texts = d->items[i].outputs;
        }
        pc->demos = demos;
        pc->n_demos = d->n;
        if (prog->ensemble && prog->ensemble->pred == p && !teacher)
            pc->ensemble = opt_exec_ensemble(&cfg->mem, prog->ensemble);
        const opt_knn *kn = prog->knn ? &prog->knn[p] : NULL;
        if (kn && kn->k > 0 && kn->pool.n > 0 && !teacher) {
            pc->knn = opt_exec_knn(x, &cfg->mem, kn);
            pc->override_demos = false;
        }
        if (ft)
            pc->lm = ft;
        if (sm) {
            pc->has_temperature = sm->temperature >= 0;
            pc->temperature = sm->temperature >= 0 ? sm->temperature : 0;
            pc->rollout_id = sm->rollout;
        }
        if (teacher) {
            pc->lm = ft && x->teacher == lm ? ft : x->teacher;
            if (round > 0) {
                /* Later bootstrap rounds sample: DSPy's temperature 1.0
                 * with a fresh rollout, so the cache holds each round. */
                pc->has_temperature = true;
                pc->temperature = 1.0;
                pc->rollout_id = round;
            }
        }
    }
    return DSP_OK;
}

/* Runs prog (as the teacher in `round`, or as it is) over rows[0..n) of
 * the split whose data set rows map holds, with a progress bar named
 * label; res is filled (free it with ex_eval_result_free) unless the run
 * fails before evaluating. */
static dsp_status run_split(opt_exec *x, const opt_program *prog, int teacher, unsigned round, int traces,
                            const sampling *sm, const ex_dataset *d, const size_t *map, const size_t *rows, size_t n, const char *label,
                            ex_eval_result *res, dsp_error *err)
{
    ex_config cfg;
    dsp_status st = to_config(x, prog, teacher, round, sm, &cfg, err);
    if (st != DSP_OK) {
        ex_config_free(&cfg);
        return st;
    }
    size_t *idx = malloc((n + 1) * sizeof *idx);
    if (!idx) {
        ex_config_free(&cfg);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = map[rows[i]];
    ex_eval_options eo = ex_eval_options_default();
    eo.indices = idx;
    eo.n_indices = n;
    eo.concurrency = x->concurrency;
    eo.keep_traces = traces != 0;
    eo.keep_outputs = true; /* for per-class scores (opt_exec_class_report) */
    /* Bootstrapping waits for the teacher alone: its requests can wait
     * for a batch, at half the price, and the run below reads the cache. */
    if (teacher && x->batch)
        st = ex_batch_prefill(x->runner, &cfg, d, &eo, x->batch_client, x->batch, x->batch_poll_s,
                              x->batch_max_wait_s, err);
    ex_progress pg;
    ex_progress_init(&pg, label);
    /* Evaluations of parallel tasks (opt_parallel) would draw over each
     * other's bars: only one that starts alone draws. */
    int alone = atomic_fetch_add(&x->splits, 1) == 0;
    pg.enabled = pg.enabled && x->bar && alone;
    eo.progress = ex_progress_update;
    eo.progress_ctx = &pg;
    if (st == DSP_OK)
        st = ex_evaluate(x->runner, &cfg, d, &eo, res, err);
    if (teacher && x->batch)
        dsp_client_attach_batch(x->batch_client, NULL, false);
    ex_progress_done(&pg);
    atomic_fetch_sub(&x->splits, 1);
    free(idx);
    ex_config_free(&cfg);
    return st;
}

static void be_progress(void *ctx, const char *msg);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The usage between two snapshots of totals. Cache hits count with the
 * tokens they used when first made, so the numbers (and the state) are
 * the same cold or warm; the cost is a difference of whole picodollars,
 * the same in whatever order the concurrent calls finished. */
static opt_usage usage_between(const dsp_usage_totals *now, const dsp_usage_totals *b, double seconds)
{
    return (opt_usage){ 1,
                        now->calls - b->calls,
                        now->prompt_tokens + now->cached_prompt_tokens - b->prompt_tokens - b->cached_prompt_tokens,
                        now->completion_tokens + now->cached_completion_tokens - b->completion_tokens -
                            b->cached_completion_tokens,
                        (double)(now->cost_pusd + now->cached_cost_pusd - b->cost_pusd - b->cached_cost_pusd) / 1e12,
                        now->unpriced_calls == b->unpriced_calls,
                        seconds };
}

/* The usage since the last scoring ended (or the start), and a new mark. */
static opt_usage meter(opt_exec *x)
{
    dsp_usage_totals now = dsp_client_usage(ex_runner_client(x->runner));
    double t = now_s();
    opt_usage u = usage_between(&now, &x->metered, x->metered_at > 0 ? t - x->metered_at : 0);
    x->metered = now;
    x->metered_at = t;
    return u;
}

static void meter_start(opt_exec *x)
{
    x->metered = dsp_client_usage(ex_runner_client(x->runner));
    x->metered_at = now_s();
}

/* Runs prog on valset rows: *out, its usage not yet filled in, and, when
 * scores is not NULL, each row's score. */
static dsp_status score_val(opt_exec *x, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                            double *scores, dsp_error *err)
{
    ex_eval_result res;
    memset(&res, 0, sizeof res);
    dsp_status st = run_split(x, prog, 0, 0, 0, NULL, x->val, x->val_rows, rows, n, "  valset", &res, err);
    if (st == DSP_OK && n && res.n_failed == n)
        /* Not one example ran: a missing key, a server that is down or a
         * wrong model. Scoring on would optimize noise; stop and say why. */
        st = dsp_error_set(err, res.results[0].status, "every valset example failed; the first: %s",
                           res.results[0].error ? res.results[0].error : dsp_status_name(res.results[0].status));
    if (st == DSP_OK) {
        *out = (opt_score){ res.mean, n, res.n_failed, { 0 }, (double)res.usage.prompt_tokens,
                            (double)res.usage.completion_tokens };
        if (res.n_failed) {
            /* A score with failures in it says so, with the first reason. */
            const ex_result *first = NULL;
            for (size_t i = 0; i < res.n && !first; i++)
                if (res.results[i].status != DSP_OK)
                    first = &res.results[i];
            char msg[512];
            snprintf(msg, sizeof msg, "  scored %.4f with %zu of %zu examples failed (they score 0; the first: %s)",
                     res.mean, res.n_failed, n,
                     first && first->error ? first->error : first ? dsp_status_name(first->status) : "?");
            be_progress(x, msg);
        }
    }
    for (size_t i = 0; st == DSP_OK && scores && i < n; i++)
        scores[i] = res.results[i].status == DSP_OK ? res.results[i].score : 0;
    ex_eval_result_free(&res);
    return st;
}

/* score_val, its usage what the client spent since the last scoring. */
static dsp_status eval_val(opt_exec *x, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                           double *scores, dsp_error *err)
{
    dsp_status st = score_val(x, prog, rows, n, out, scores, err);
    if (st == DSP_OK)
        out->usage = meter(x);
    return st;
}

/* be_evaluate_many's evaluations: each runs with a usage group of its own. */
typedef struct many_evals {
    opt_exec *x;
    const opt_program *progs;
    const size_t *rows;
    size_t n;
    opt_score *outs;
    dsp_usage_group *groups;
    double *seconds;
} many_evals;

static dsp_status many_one(void *ctx, size_t i, arena *a, dsp_error *err)
{
    (void)a;
    many_evals *m = ctx;
    dsp_usage_group *was = dsp_usage_group_use(&m->groups[i]);
    double t0 = now_s();
    dsp_status st = score_val(m->x, &m->progs[i], m->rows, m->n, &m->outs[i], NULL, err);
    m->seconds[i] = now_s() - t0;
    (void)dsp_usage_group_use(was);
    return st;
}

/* a's counts with b's added. */
static dsp_usage_totals totals_plus(dsp_usage_totals a, const dsp_usage_totals *b)
{
    a.calls += b->calls;
    a.prompt_tokens += b->prompt_tokens;
    a.completion_tokens += b->completion_tokens;
    a.cached_prompt_tokens += b->cached_prompt_tokens;
    a.cached_completion_tokens += b->cached_completion_tokens;
    a.cost_pusd += b->cost_pusd;
    a.cached_cost_pusd += b->cached_cost_pusd;
    a.unpriced_calls += b->unpriced_calls;
    return a;
}

static dsp_status be_evaluate_many(void *ctx, const opt_program *progs, size_t k, const size_t *rows, size_t n,
                                   opt_score *outs, dsp_error *err)
{
    opt_exec *x = X(ctx);
    dsp_client *c = ex_runner_client(x->runner);
    dsp_usage_totals mark = x->metered, start = dsp_client_usage(c), zero;
    memset(&zero, 0, sizeof zero);
    double since = x->metered_at > 0 ? now_s() - x->metered_at : 0;
    many_evals m = { x, progs, rows, n, outs, calloc(k + 1, sizeof *m.groups), calloc(k + 1, sizeof *m.seconds) };
    arena scratch;
    arena_init(&scratch);
    dsp_status st = m.groups && m.seconds ? opt_parallel(&x->b, &scratch, k, many_one, &m, err)
                                          : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == DSP_OK && i < k; i++) {
        dsp_usage_totals g = dsp_client_group_usage(c, &m.groups[i]);
        /* What was spent since the last scoring belongs to the first, as
         * it would one after another. */
        if (i == 0) {
            dsp_usage_totals end = totals_plus(start, &g);
            outs[i].usage = usage_between(&end, &mark, since + m.seconds[i]);
        } else {
            outs[i].usage = usage_between(&g, &zero, m.seconds[i]);
        }
    }
    arena_free(&scratch);
    free(m.groups);
    free(m.seconds);
    meter_start(x); /* the next scoring counts from the end of these */
    return st;
}

static dsp_status be_evaluate(void *ctx, const opt_program *prog, const size_t *rows, size_t n, opt_score *out,
                              dsp_error *err)
{
    return eval_val(X(ctx), prog, rows, n, out, NULL, err);
}

static dsp_status be_evaluate_each(void *ctx, const opt_program *prog, const size_t *rows, size_t n, double *scores,
                                   opt_score *out, dsp_error *err)
{
    return eval_val(X(ctx), prog, rows, n, out, scores, err);
}

static const char *const *copy_texts(arena *a, char *const *texts, size_t n)
{
    const char **out = arena_array(a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = texts[i] ? arena_strdup(a, texts[i]) : NULL;
    return out;
}

/* The caption of a run whose metric gave no feedback: its score (or its
 * error) and the example's gold outputs, so a reflection can still see
 * what was expected. */
static const char *caption(opt_exec *x, arena *a, size_t row, const ex_result *r)
{
    if (r->status != DSP_OK)
        return arena_printf(a, "The run failed: %s", r->error ? r->error : dsp_status_name(r->status));
    char *s = arena_printf(a, "This run scored %.3f (metric `%s`).", r->score, x->o->metric->name);
    const ex_dataset *d = x->train;
    const ex_example *ex = &d->rows[x->train_rows[row]];
    size_t shown = 0;
    for (size_t f = d->n_inputs; f < d->n_fields; f++) {
        char *t = NULL;
        size_t len = 0;
        dsp_error e = { 0 };
        if (!ex->present[f] || dsp_value_format(&ex->values[f], d->types[f], &t, &len, &e) != DSP_OK) {
            dsp_error_clear(&e);
            continue;
        }
        s = arena_printf(a, "%s%s%s: %.*s", s, shown++ ? "; " : " The expected outputs: ", d->fields[f]->name,
                         (int)len, t);
        free(t);
    }
    return shown ? arena_printf(a, "%s.", s) : s;
}

/* The metric's feedback aimed at each predictor of the backend (by its
 * full name) in a run: n_preds texts, NULL where it aims none. */
static const char *const *pred_texts(opt_exec *x, arena *a, const ex_result *r)
{
    const ir_metric *m = x->o->metric;
    const char **t = arena_array(a, x->b.n_preds + 1, sizeof *t);
    for (size_t k = 0; k < r->n_pred_feedback && k < m->n_pred_feedback; k++)
        for (size_t j = 0; r->pred_feedback[k] && j < m->pred_feedback[k].n_preds; j++)
            for (size_t p = 0; p < x->b.n_preds; p++)
                if (strcmp(x->b.pred_names[p], m->pred_feedback[k].preds[j]) == 0)
                    t[p] = arena_strdup(a, r->pred_feedback[k]);
    return t;
}

/* Runs prog (as the teacher in `round`, or as it is) on training rows
 * with traces; with feedback, each run's metric feedback or caption. */
static dsp_status train_runs(opt_exec *x, arena *a, const opt_program *prog, int teacher, unsigned round,
                             const sampling *sm, int feedback, const size_t *rows, size_t n, opt_run *runs, dsp_error *err)
{
    ex_eval_result res;
    memset(&res, 0, sizeof res);
    dsp_status st = run_split(x, prog, teacher, round, 1, sm, x->train, x->train_rows, rows, n,
                              teacher ? "  teacher" : "  minibatch", &res, err);
    for (size_t i = 0; st == DSP_OK && i < n; i++) {
        const ex_result *r = &res.results[i];
        opt_step *steps = arena_array(a, r->trace.n_steps + 1, sizeof *steps);
        size_t m = 0;
        for (size_t s = 0; s < r->trace.n_steps; s++) {
            const ex_trace_step *ts = &r->trace.steps[s];
            size_t p = 0;
            while (p < x->b.n_preds && x->preds[p] != ts->predictor)
                p++;
            if (p == x->b.n_preds)
                continue;
            steps[m].pred = p;
            steps[m].demo.inputs = copy_texts(a, ts->inputs, ts->n_inputs);
            steps[m].demo.n_inputs = ts->n_inputs;
            steps[m].demo.outputs = copy_texts(a, ts->outputs, ts->n_outputs);
            steps[m].demo.n_outputs = ts->n_outputs;
            steps[m].demo.row = rows[i];
            steps[m].demo.bootstrapped = 1;
            m++;
        }
        if (teacher) {
            pthread_mutex_lock(&x->lock);
            x->n_teacher_runs++;
            x->n_teacher_failed += r->status != DSP_OK;
            pthread_mutex_unlock(&x->lock);
        }
        runs[i] = (opt_run){ r->status == DSP_OK, r->score, steps, m, NULL, NULL };
        if (feedback)
            runs[i].feedback = r->feedback ? arena_strdup(a, r->feedback) : caption(x, a, rows[i], r);
        if (feedback && r->n_pred_feedback)
            runs[i].pred_feedback = pred_texts(x, a, r);
    }
    ex_eval_result_free(&res);
    return st;
}

static dsp_status be_run_train(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                               unsigned round, opt_run *runs, dsp_error *err)
{
    return train_runs(X(ctx), a, prog, 1, round, NULL, 0, rows, n, runs, err);
}

static dsp_status be_run_feedback(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                                  opt_run *runs, dsp_error *err)
{
    return train_runs(X(ctx), a, prog, 0, 0, NULL, 1, rows, n, runs, err);
}

static dsp_status be_run_sampled(void *ctx, arena *a, const opt_program *prog, const size_t *rows, size_t n,
                                 double temperature, uint64_t rollout, opt_run *runs, dsp_error *err)
{
    sampling sm = { temperature, rollout };
    return train_runs(X(ctx), a, prog, 0, 0, &sm, 1, rows, n, runs, err);
}

/* The adapter text of a present field of a training row, or NULL. */
static const char *field_text(const opt_exec *x, arena *a, size_t row, const char *name, dsp_error *err,
                              dsp_status *st)
{
    int f = ex_dataset_field(x->train, name);
    const ex_example *ex = &x->train->rows[x->train_rows[row]];
    if (f < 0 || !ex->present[f])
        return NULL;
    char *s = NULL;
    size_t len = 0;
    *st = dsp_value_format(&ex->values[f], x->train->types[f], &s, &len, err);
    if (*st != DSP_OK)
        return NULL;
    const char *out = arena_strndup(a, s, len);
    free(s);
    return out;
}

static dsp_status be_labeled(void *ctx, arena *a, size_t row, size_t pred, opt_demo *out, int *ok, dsp_error *err)
{
    opt_exec *x = X(ctx);
    const ir_predictor *p = x->preds[pred];
    const ir_signature *sig = p->signature;
    dsp_status st = DSP_OK;
    *ok = 0;
    const char **in = arena_array(a, sig->n_inputs + 1, sizeof *in);
    const char **outs = arena_array(a, p->n_outputs + 1, sizeof *outs);
    for (size_t i = 0; i < sig->n_inputs; i++) {
        in[i] = field_text(x, a, row, sig->inputs[i].name, err, &st);
        if (st != DSP_OK)
            return st;
        if (!in[i])
            return DSP_OK; /* the row does not feed this predictor */
    }
    size_t present = 0;
    for (size_t i = 0; i < p->n_outputs; i++) {
        outs[i] = field_text(x, a, row, p->outputs[i].name, err, &st);
        if (st != DSP_OK)
            return st;
        present += outs[i] != NULL;
    }
    if (!present)
        return DSP_OK;
    *out = (opt_demo){ in, sig->n_inputs, outs, p->n_outputs, row, 0 };
    *ok = 1;
    return DSP_OK;
}

static dsp_status be_propose(void *ctx, arena *a, const opt_proposal *req, const char **instruction,
                             dsp_error *err)
{
    opt_exec *x = X(ctx);
    const char *texts[5] = { req->dataset_description, req->program_description, req->basic_instruction,
                             req->task_demos, req->tip };
    dsp_value in[5];
    dsp_value out[1];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < 5 && st == DSP_OK; i++)
        st = dsp_value_set_string(&in[i], texts[i] ? texts[i] : "", texts[i] ? strlen(texts[i]) : 0, err);
    if (st == DSP_OK) {
        dsp_predict_options po = dsp_predict_options_default();
        po.lm = x->teacher;
        po.rollout_id = req->rollout * 1024 + req->pred + 1;
        st = dsp_predict_ex(ex_runner_client(x->runner), &x->propose_pred, &po, in, out, NULL, err);
    }
    if (st == DSP_OK) {
        const char *s = out[0].as.s.data ? out[0].as.s.data : "";
        size_t len = out[0].as.s.len;
        while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
            len--;
        while (len && (*s == '\n' || *s == ' '))
            s++, len--;
        /* An empty proposal would silently mean "the default"; keep the
         * signature's instruction instead so the candidate stays valid. */
        *instruction = len ? arena_strndup(a, s, len) : arena_strdup(a, req->basic_instruction);
    }
    dsp_values_free(in, 5);
    dsp_values_free(out, 1);
    return st;
}

static dsp_status be_finetune_example(void *ctx, arena *a, const opt_program *prog, const opt_step *step,
                                      const char **line, dsp_error *err)
{
    opt_exec *x = X(ctx);
    if (step->pred >= x->b.n_preds)
        return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning data: predictor %zu does not exist", step->pred);
    const dsp_predictor *p = ex_runner_predictor(x->runner, x->preds[step->pred]);
    char *s = NULL;
    dsp_status st = opt_ft_example(p, prog->instructions[step->pred], &step->demo, &s, err);
    if (st == DSP_OK)
        *line = arena_strdup(a, s);
    free(s);
    return st;
}

/* The w stage on the student lm's own trainer: train (or reuse) the
 * adapter, then make the server serve it. */
static dsp_status local_finetune(opt_exec *x, arena *a, const char *trainer, const dsp_lm_config *lm,
                                 const char *jsonl, size_t len, const opt_finetune_args *args,
                                 opt_finetune_outcome *out, dsp_error *err)
{
    opt_ft_local_options lo = { 0 };
    lo.lm_name = x->student->name;
    lo.trainer = trainer;
    lo.base_model = x->student->model;
    lo.base_dir = x->prog->base_dir;
    lo.data_path = x->ft_data_path ? x->ft_data_path : "finetune.jsonl";
    lo.adapters_dir = x->ft_adapters_dir ? x->ft_adapters_dir : "adapters";
    lo.quiet = x->quiet;
    lo.progress = x->progress;
    lo.progress_ctx = x->progress_ctx;
    dsp_status st = opt_ft_run_local(&lo, a, jsonl, len, args, out, err);
    if (st != DSP_OK)
        return st;
    if (irt_lm_llama_cpp(x->student)) {
        /* llama.cpp's server reads adapters only at start-up. */
        const dsp_lm_config *sel = irt_lm_with_adapter(a, x->student, lm, out->adapter_name, out->adapter_sha256);
        be_progress(x, arena_printf(a, "llama.cpp serving: requests select adapter id %d; the server must run "
                                       "with --lora %s in that place",
                                    sel->params.lora_id, out->adapter_abs));
        return DSP_OK;
    }
    dsp_error e = { 0 };
    if (dsp_lora_load(ex_runner_client(x->runner), lm, out->adapter_name, out->adapter_abs, &e) == DSP_OK)
        be_progress(x, arena_printf(a, "loaded LoRA adapter %s into the server (POST /v1/load_lora_adapter)",
                                    out->adapter_name));
    else
        /* A server started with --lora-modules NAME=PATH serves it without
         * the runtime endpoint; the evaluation that follows tells. */
        be_progress(x, arena_printf(a, "could not load LoRA adapter %s at run time (%s); the server must serve it "
                                       "as --lora-modules %s=%s",
                                    out->adapter_name, e.message, out->adapter_name, out->adapter_abs));
    dsp_error_clear(&e);
    return DSP_OK;
}

static dsp_status be_finetune(void *ctx, arena *a, const char *jsonl, size_t len, const opt_finetune_args *args,
                              opt_finetune_outcome *out, dsp_error *err)
{
    opt_exec *x = X(ctx);
    const dsp_lm_config *lm = ex_runner_lm(x->runner, x->student);
    if (!lm)
        return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning: the student lm is not declared");
    const char *trainer = irt_lm_str(x->student, "trainer");
    if (trainer) {
        dsp_status st = local_finetune(x, a, trainer, lm, jsonl, len, args, out, err);
        if (st == DSP_OK)
            x->ft = *out;
        return st;
    }
    opt_ft_job_options jo = { 0 };
    jo.data_path = x->ft_data_path ? x->ft_data_path : "finetune.jsonl";
    jo.jobs_path = x->ft_jobs_path ? x->ft_jobs_path : "finetune-jobs.json";
    jo.base_url = x->ft_base_url;
    jo.progress = x->progress;
    jo.progress_ctx = x->progress_ctx;
    dsp_status st = opt_ft_run_job(ex_runner_client(x->runner), lm, &jo, a, jsonl, len, args, out, err);
    if (st == DSP_OK)
        x->ft = *out;
    return st;
}

static void be_progress(void *ctx, const char *msg)
{
    opt_exec *x = X(ctx);
    if (x->progress)
        x->progress(x->progress_ctx, msg);
}

/* ---- descriptions for the proposer --------------------------------- */

static void describe_steps(arena *a, char **buf, const ir_step *steps, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++) {
        const ir_step *s = &steps[i];
        const char *line = NULL;
        switch (s->kind) {
        case IR_STEP_PREDICT:
            line = arena_printf(a, "%*s%s = %s(%s)\n", 2 * depth, "", s->var, s->predictor->strategy,
                                s->predictor->signature->name);
            break;
        case IR_STEP_MODULE:
            line = arena_printf(a, "%*s%s = %s(...)\n", 2 * depth, "", s->var, s->module->name);
            break;
        case IR_STEP_TOOL:
            line = arena_printf(a, "%*s%s = %s(...)  (a C tool)\n", 2 * depth, "", s->var, s->tool->name);
            break;
        case IR_STEP_REPEAT:
            *buf = arena_printf(a, "%s%*srepeat %lld:\n", *buf, 2 * depth, "", s->count);
            describe_steps(a, buf, s->body, s->n_body, depth + 1);
            break;
        case IR_STEP_IF:
            *buf = arena_printf(a, "%s%*sif ...:\n", *buf, 2 * depth, "");
            describe_steps(a, buf, s->body, s->n_body, depth + 1);
            describe_steps(a, buf, s->else_body, s->n_else, depth + 1);
            break;
        case IR_STEP_REACT:
            line = arena_printf(a, "%*s%s = react(%s) over C tools  (an agent: %s picks a tool each step, "
                                "%s answers from the trajectory)\n", 2 * depth, "", s->var,
                                s->react->extract->signature->name, s->react->step->name,
                                s->react->extract->name);
            break;
        case IR_STEP_MCC:
            line = arena_printf(a, "%*s%s = multi_chain_comparison(%s, m: %lld)  (%s reasons m times, %s compares "
                                "the attempts and answers)\n", 2 * depth, "", s->var, s->mcc->attempt->signature->name,
                                s->mcc->m, s->mcc->attempt->name, s->mcc->compare->name);
            break;
        case IR_STEP_RETURN:
            line = arena_printf(a, "%*sreturn\n", 2 * depth, "");
            break;
        }
        if (line)
            *buf = arena_printf(a, "%s%s", *buf, line);
    }
}

static const char *fields_text(arena *a, const ir_field *f, size_t n)
{
    char *s = "";
    char tb[128];
    for (size_t i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s: %s", s, i ? ", " : "", f[i].name, ir_type_str(f[i].type, tb, sizeof tb));
    return s;
}

static const char *program_description(opt_exec *x)
{
    arena *a = &x->mem;
    const ir_module *m = x->o->module;
    char *buf = arena_printf(a, "module %s(%s) returns (%s):\n", m->name, fields_text(a, m->params, m->n_params),
                             fields_text(a, m->results, m->n_results));
    describe_steps(a, &buf, m->steps, m->n_steps, 1);
    for (size_t p = 0; p < x->b.n_preds; p++) {
        const ir_signature *s = x->preds[p]->signature;
        buf = arena_printf(a, "%ssignature %s: inputs (%s), outputs (%s)%s%s\n", buf, s->name,
                           fields_text(a, s->inputs, s->n_inputs), fields_text(a, s->outputs, s->n_outputs),
                           s->instructions ? ": " : "", s->instructions ? s->instructions : "");
    }
    return buf;
}

/* Counts of each enum and bool value in the trainset's fields, and the mean
 * length of string fields: what DSPy's dataset summary tells the proposer,
 * computed rather than asked of the LM so it costs no calls. */
static const char *dataset_description(opt_exec *x)
{
    arena *a = &x->mem;
    const ex_dataset *d = x->train;
    size_t n = x->b.n_train;
    char *buf = arena_printf(a, "%zu training examples with fields: ", n);
    for (size_t f = 0; f < d->n_fields; f++) {
        char tb[128];
        buf = arena_printf(a, "%s%s%s (%s, %s)", buf, f ? ", " : "", d->fields[f]->name,
                           ir_type_str(d->fields[f]->type, tb, sizeof tb), f < d->n_inputs ? "input" : "label");
    }
    buf = arena_printf(a, "%s.\n", buf);
    for (size_t f = 0; f < d->n_fields; f++) {
        const dsp_type *t = d->types[f];
        if (t->kind == DSP_TYPE_ENUM) {
            size_t *count = arena_array(a, t->n_enum_values + 1, sizeof *count);
            for (size_t i = 0; i < n; i++) {
                const ex_example *ex = &d->rows[x->train_rows[i]];
                if (ex->present[f] && ex->values[f].as.e < t->n_enum_values)
                    count[ex->values[f].as.e]++;
            }
            buf = arena_printf(a, "%s`%s` values:", buf, d->fields[f]->name);
            for (size_t v = 0; v < t->n_enum_values; v++)
                buf = arena_printf(a, "%s %s %zu%s", buf, t->enum_values[v], count[v],
                                   v + 1 < t->n_enum_values ? "," : ".\n");
        } else if (t->kind == DSP_TYPE_STRING) {
            size_t total = 0, m = 0;
            for (size_t i = 0; i < n; i++) {
                const ex_example *ex = &d->rows[x->train_rows[i]];
                if (ex->present[f]) {
                    total += ex->values[f].as.s.len;
                    m++;
                }
            }
            buf = arena_printf(a, "%s`%s`: text of %zu characters on average.\n", buf, d->fields[f]->name,
                               m ? total / m : 0);
        }
    }
    return buf;
}

/* The proposal signature: DSPy's GroundedProposer in one predictor. The
 * output field name is what the reference server (a test fixture) keys on. */
static const dsp_field k_propose_in[] = {
    { "dataset_description", &dsp_type_string, "A description of the dataset that we are using." },
    { "program_description", &dsp_type_string, "The program the task is part of, and the predictor's signature." },
    { "basic_instruction", &dsp_type_string, "The basic instruction given to the predictor." },
    { "task_demos", &dsp_type_string, "Example inputs and labels of the task, one `input -> label` a line." },
    { "tip", &dsp_type_string, "A suggestion for how to go about generating the new instruction." },
};
static const dsp_field k_propose_out[] = {
    { "proposed_instruction", &dsp_type_string, "The new instruction for the predictor." },
};

dsp_status opt_exec_init(opt_exec *x, const ir_program *p, const ir_optimize *o, ex_runner *r,
                         const ex_dataset *train, const size_t *train_rows, size_t n_train, const ex_dataset *val,
                         const size_t *val_rows, size_t n_val, int concurrency, dsp_error *err)
{
    memset(x, 0, sizeof *x);
    arena_init(&x->mem);
    pthread_mutex_init(&x->lock, NULL);
    atomic_init(&x->splits, 0);
    x->prog = p;
    x->o = o;
    x->runner = r;
    x->train = train;
    x->val = val;
    x->train_rows = train_rows;
    x->val_rows = val_rows;
    x->concurrency = concurrency;
    x->student = o->student ? o->student : o->lm;
    const ir_lm *teacher = o->teacher ? o->teacher : o->lm;
    x->teacher = ex_runner_lm(r, teacher);
    if (!x->teacher)
        return dsp_error_set(err, DSP_ERR_INVALID, "optimize: the teacher lm `%s` is not declared in the program",
                             teacher ? teacher->name : "(none)");
    ex_config cfg;
    dsp_status st = ex_config_init(r, &cfg, err);
    if (st != DSP_OK) {
        ex_config_free(&cfg);
        return st;
    }
    size_t n = cfg.n_preds;
    x->preds = arena_array(&x->mem, n + 1, sizeof *x->preds);
    const char **names = arena_array(&x->mem, n + 1, sizeof *names);
    const char **base = arena_array(&x->mem, n + 1, sizeof *base);
    unsigned char *whole = arena_array(&x->mem, n + 1, 1);
    for (size_t i = 0; i < n; i++) {
        const ir_predictor *pr = cfg.preds[i].predictor;
        x->preds[i] = pr;
        names[i] = pr->name;
        /* A react step (sema_react.c's shape: `trajectory` in, the next tool out). */
        const ir_signature *sg = pr->signature;
        whole[i] = sg->n_inputs && strcmp(sg->inputs[sg->n_inputs - 1].name, "trajectory") == 0 &&
                   ir_field_find(pr->outputs, pr->n_outputs, "next_tool_name") != NULL;
        if (pr->signature->instructions && *pr->signature->instructions) {
            base[i] = pr->signature->instructions;
        } else {
            /* The default task sentence the chat adapter writes. */
            char *s = "Given the fields ";
            for (size_t k = 0; k < pr->signature->n_inputs; k++)
                s = arena_printf(&x->mem, "%s%s`%s`", s, k ? ", " : "", pr->signature->inputs[k].name);
            s = arena_printf(&x->mem, "%s, produce the fields ", s);
            for (size_t k = 0; k < pr->signature->n_outputs; k++)
                s = arena_printf(&x->mem, "%s%s`%s`", s, k ? ", " : "", pr->signature->outputs[k].name);
            base[i] = arena_printf(&x->mem, "%s.", s);
        }
    }
    ex_config_free(&cfg);
    x->b.ctx = x;
    x->b.n_preds = n;
    x->b.pred_names = names;
    x->b.base_instructions = base;
    x->b.whole_run_demo = whole;
    x->b.n_train = n_train;
    x->b.n_val = n_val;
    /* Demo sets and instruction proposals run at once, bounded by -j (the
     * client's max_in_flight bounds the requests on the wire). */
    x->b.max_parallel = concurrency > 0 ? concurrency : 8;
    x->b.evaluate = be_evaluate;
    x->b.evaluate_many = be_evaluate_many;
    x->b.run_train = be_run_train;
    x->b.labeled_demo = be_labeled;
    x->b.propose = be_propose;
    x->b.propose_copro = opt_exec_propose_copro;
    x->b.evaluate_each = be_evaluate_each;
    x->b.run_feedback = be_run_feedback;
    x->b.run_sampled = be_run_sampled;
    x->b.reflect = opt_exec_reflect;
    x->b.combine = opt_exec_combine;
    x->b.embed_demos = o->embedder ? opt_exec_embed_demos : NULL;
    x->b.state_program = opt_exec_state_program;
    /* ensemble votes at the module's last predictor call, on its last
     * output; with `field:`, at the last predictor producing that output
     * (dspcc check made sure one does). */
    const ir_module *om = o->module;
    const ir_option *vf = NULL;
    for (size_t i = 0; i < o->n_params; i++)
        if (strcmp(o->params[i].key, "field") == 0)
            vf = &o->params[i];
    const ir_predictor *voter = om && om->n_predictors ? om->predictors[om->n_predictors - 1] : NULL;
    size_t voted = voter && voter->n_outputs ? voter->n_outputs - 1 : 0;
    for (size_t k = om ? om->n_predictors : 0; vf && k-- > 0;) {
        const ir_predictor *ip = om->predictors[k];
        size_t f = 0;
        while (f < ip->n_outputs && strcmp(ip->outputs[f].name, vf->s) != 0)
            f++;
        if (f < ip->n_outputs) {
            voter = ip;
            voted = f;
            break;
        }
    }
    for (size_t i = 0; voter && i < n; i++)
        if (x->preds[i] == voter) {
            x->b.vote_pred = i;
            x->b.vote_field = voted;
        }
    x->b.progress = be_progress;
    x->b.finetune_example = be_finetune_example;
    x->b.finetune = be_finetune;
    x->b.program_description = program_description(x);
    x->b.dataset_description = dataset_description(x);
    x->propose_sig = (dsp_signature){ "ProposeInstruction",
                                      "Use the information below to learn about a task that we are trying to solve "
                                      "using calls to an LM, then generate a new instruction that will be used to "
                                      "prompt a Language Model to better solve the task.",
                                      k_propose_in, 5, k_propose_out, 1 };
    x->propose_pred = (dsp_predictor){ "optimizer.propose_instruction", &x->propose_sig, DSP_STRATEGY_PREDICT,
                                       NULL, 0, x->teacher };
    meter_start(x); /* the first trial's usage counts from here */
    return DSP_OK;
}

void opt_exec_free(opt_exec *x)
{
    arena_free(&x->mem);
    pthread_mutex_destroy(&x->lock);
    memset(x, 0, sizeof *x);
}

/* The field names the state keys demo values by: ip's inputs and outputs. */
static void set_field_names(arena *a, const ir_predictor *ip, st_predictor *sp)
{
    sp->n_input_names = ip->signature->n_inputs;
    sp->input_names = arena_array(a, sp->n_input_names + 1, sizeof *sp->input_names);
    for (size_t i = 0; i < sp->n_input_names; i++)
        sp->input_names[i] = (char *)ip->signature->inputs[i].name;
    sp->n_output_names = ip->n_outputs;
    sp->output_names = arena_array(a, sp->n_output_names + 1, sizeof *sp->output_names);
    for (size_t i = 0; i < sp->n_output_names; i++)
        sp->output_names[i] = (char *)ip->outputs[i].name;
}

/* The state's demos for d (texts borrowed, array in a). */
static st_demo *st_demos_of(arena *a, const opt_demos *d)
{
    st_demo *out = arena_array(a, d->n + 1, sizeof *out);
    for (size_t i = 0; i < d->n; i++) {
        out[i].n_inputs = d->items[i].n_inputs;
        out[i].inputs = (char **)d->items[i].inputs;
        out[i].n_outputs = d->items[i].n_outputs;
        out[i].outputs = (char **)d->items[i].outputs;
    }
    return out;
}

static int cmp_pred_name(const void *a, const void *b)
{
    return strcmp(((const st_predictor *)a)->name, ((const st_predictor *)b)->name);
}

void opt_exec_state(const opt_exec *x, const opt_result *r, arena *a, st_state *out)
{
    memset(out, 0, sizeof *out);
    out->baseline_score = r->baseline_score;
    out->final_score = r->final_score;
    out->has_scores_detail = 1;
    out->optimized_score = r->optimized_score;
    out->shipped = r->shipped == OPT_SHIPPED_OPTIMIZED     ? "optimized"
                   : r->shipped == OPT_SHIPPED_UNOPTIMIZED ? "unoptimized"
                                                           : "optimized, regression allowed";
    out->shipped_reason = (char *)r->shipped_reason;
    out->valset_examples = (long long)r->n_val;
    out->search_examples = r->n_search < r->n_val ? (long long)r->n_search : 0;
    out->failed_examples = (long long)r->n_failed;
    out->teacher_runs = (long long)x->n_teacher_runs;
    out->failed_teacher_runs = (long long)x->n_teacher_failed;
    out->n_predictors = x->b.n_preds;
    out->predictors = arena_array(a, x->b.n_preds + 1, sizeof *out->predictors);
    for (size_t p = 0; p < x->b.n_preds; p++) {
        const ir_predictor *ip = x->preds[p];
        st_predictor *sp = &out->predictors[p];
        sp->name = arena_strdup(a, ip->name);
        sp->model = r->best.model ? arena_strdup(a, r->best.model) : NULL;
        if (r->best.model && x->student != x->o->lm)
            sp->lm = (char *)x->student->name;
        if (r->best.model && x->ft.adapter_name && strcmp(r->best.model, x->ft.adapter_name) == 0) {
            sp->adapter_name = (char *)x->ft.adapter_name;
            sp->adapter_path = (char *)x->ft.adapter_path;
            sp->adapter_sha256 = (char *)x->ft.adapter_sha256;
            /* vLLM serves the adapter as a model of its own; llama.cpp
             * keeps the base model and selects the adapter per request. */
            if (irt_lm_llama_cpp(x->student))
                sp->model = NULL;
        }
        const char *instr = r->best.instructions[p];
        sp->instructions = instr ? arena_strdup(a, instr) : NULL;
        const opt_demos *d = &r->best.demos[p];
        const opt_knn *kn = r->best.knn ? &r->best.knn[p] : NULL;
        if (kn && kn->k > 0 && kn->pool.n > 0) {
            /* knn_fewshot: the pool is the demos, each with its vector. */
            d = &kn->pool;
            sp->knn_k = (int)kn->k;
            sp->knn_embedder = (char *)x->o->embedder->name;
            sp->knn_dimensions = opt_exec_knn_dimensions(x->o);
            sp->knn_dim = kn->dim;
            sp->knn_vectors = (float *)kn->vectors;
        }
        if (d->n)
            set_field_names(a, ip, sp);
        sp->n_demos = d->n;
        sp->demos = st_demos_of(a, d);
        const opt_ensemble *en = r->best.ensemble;
        if (en && en->pred == p) {
            /* ensemble: each member's prompt of this predictor. */
            if (!sp->n_input_names)
                set_field_names(a, ip, sp);
            sp->n_members = en->n;
            sp->members = arena_array(a, en->n + 1, sizeof *sp->members);
            for (size_t m = 0; m < en->n; m++) {
                const char *mi = en->members[m].instructions[p];
                sp->members[m].instructions = mi ? arena_strdup(a, mi) : NULL;
                sp->members[m].n_demos = en->members[m].demos[p].n;
                sp->members[m].demos = st_demos_of(a, &en->members[m].demos[p]);
            }
            sp->ensemble_field = (char *)ip->outputs[en->field].name;
            sp->ensemble_size = (long long)en->size;
            sp->ensemble_seed = (long long)en->seed;
        }
    }
    qsort(out->predictors, out->n_predictors, sizeof *out->predictors, cmp_pred_name);
    out->n_trials = r->n_trials;
    out->trials = arena_array(a, r->n_trials + 1, sizeof *out->trials);
    for (size_t i = 0; i < r->n_trials; i++)
        out->trials[i] = (st_trial){ r->trials[i].trial,
                                     r->trials[i].score,
                                     r->trials[i].full_eval,
                                     (char *)r->trials[i].config,
                                     1,
                                     (long long)r->trials[i].n_examples,
                                     (long long)r->trials[i].n_failed,
                                     r->trials[i].usage.known,
                                     r->trials[i].usage.prompt_tokens,
                                     r->trials[i].usage.completion_tokens,
                                     r->trials[i].usage.priced ? r->trials[i].usage.cost_usd : -1,
                                     r->trials[i].usage.seconds };
}

dsp_status opt_exec_class_report(opt_exec *x, const opt_program *prog, ex_class_report *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = x->b.n_val;
    size_t *rows = malloc((n + 1) * sizeof *rows);
    if (!rows)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        rows[i] = i;
    ex_eval_result res;
    memset(&res, 0, sizeof res);
    dsp_status st = run_split(x, prog, 0, 0, 0, NULL, x->val, x->val_rows, rows, n, "  per class", &res, err);
    if (st == DSP_OK)
        st = ex_class_report_build(x->o->metric, x->val, &res, out, err);
    ex_eval_result_free(&res);
    free(rows);
    return st;
}
