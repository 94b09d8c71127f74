/* opt.c — optimizer arguments, presets, dispatch and the small helpers
 * every optimizer shares. */
#include "opt.h"

#include <math.h>
#include <string.h>

#include "rng.h"

static const ir_option *find_param(const ir_optimize *o, const char *key)
{
    for (size_t i = 0; i < o->n_params; i++)
        if (strcmp(o->params[i].key, key) == 0)
            return &o->params[i];
    return NULL;
}

static int int_param(const ir_optimize *o, const char *key, int dflt)
{
    const ir_option *v = find_param(o, key);
    return v ? (int)v->i : dflt;
}

int opt_mipro_preset(const char *name, int *num_candidates, size_t *valset_cap)
{
    /* DSPy's auto presets: instruction/demo candidates and valset size. */
    static const struct {
        const char *name;
        int n;
        size_t val;
    } presets[] = { { "light", 6, 100 }, { "medium", 12, 300 }, { "heavy", 18, 1000 } };
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) {
            *num_candidates = presets[i].n;
            *valset_cap = presets[i].val;
            return 0;
        }
    return -1;
}

int opt_mipro_num_trials(size_t n_vars, size_t n_candidates)
{
    if (n_candidates < 2)
        n_candidates = 2;
    double a = 2.0 * (double)n_vars * log2((double)n_candidates);
    double b = 1.5 * (double)n_candidates;
    return (int)(a > b ? a : b);
}

/* The defaults that depend on the optimizer: random search's candidates,
 * mipro's preset. */
static dsp_status optimizer_defaults(const char *name, opt_params *out, dsp_error *err)
{
    if (strcmp(name, "labeled_fewshot") == 0 || strcmp(name, "bootstrap_fewshot") == 0)
        return DSP_OK;
    if (strcmp(name, "ensemble") == 0) {
        if (out->num_candidates == 0)
            out->num_candidates = 8;
        return DSP_OK;
    }
    if (strcmp(name, "knn_fewshot") == 0)
        return DSP_OK;
    if (strcmp(name, "random_search") == 0) {
        if (out->num_candidates == 0)
            out->num_candidates = 16;
        return DSP_OK;
    }
    if (strcmp(name, "mipro") == 0) {
        int n = 0;
        size_t cap = 0;
        if (!out->preset && out->num_candidates == 0)
            out->preset = "light";
        if (out->preset && opt_mipro_preset(out->preset, &n, &cap) != 0)
            return dsp_error_set(err, DSP_ERR_INVALID, "mipro: unknown preset `auto: %s` (light, medium, heavy)",
                                 out->preset);
        if (out->num_candidates == 0)
            out->num_candidates = n;
        out->valset_cap = cap;
        return DSP_OK;
    }
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "optimizer `%s` is not implemented by `dspcc optimize`; use labeled_fewshot, "
                         "knn_fewshot, ensemble, bootstrap_fewshot, random_search, mipro, copro, gepa, simba or better_together",
                         name);
}

dsp_status opt_params_from_ir(const ir_optimize *o, opt_params *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    out->optimizer = o->optimizer;
    out->seed = (uint64_t)o->seed;
    /* k: labeled_fewshot's demos (DSPy's LabeledFewShot: 16), knn_fewshot's
     * neighbours (DSPy's KNNFewShot takes it; 3 when not given). */
    out->k = int_param(o, "k", strcmp(o->optimizer, "knn_fewshot") == 0 ? 3 : 16);
    out->dimensions = int_param(o, "dimensions", 0);
    out->knn_bootstrap = int_param(o, "bootstrap", 1);
    out->size = int_param(o, "size", 0);
    out->members = int_param(o, "members", out->size > 3 ? out->size : 3);
    const ir_option *field = find_param(o, "field");
    out->field = field ? field->s : NULL;
    const ir_option *states = find_param(o, "states");
    out->states = states ? (const char *const *)states->list : NULL;
    out->n_states = states ? states->n_list : 0;
    out->max_bootstrapped_demos = int_param(o, "max_bootstrapped_demos", 4);
    out->max_labeled_demos = int_param(o, "max_labeled_demos", 16);
    out->max_rounds = int_param(o, "max_rounds", 1);
    const ir_option *th = find_param(o, "metric_threshold");
    if (th) {
        out->has_threshold = 1;
        out->metric_threshold = th->kind == IR_OPT_INT ? (double)th->i : th->f;
    }
    out->num_candidates = int_param(o, "num_candidates", 0);
    out->num_trials = int_param(o, "num_trials", 0);
    out->minibatch = int_param(o, "minibatch", 1);
    out->minibatch_size = 35;
    out->full_eval_steps = 5;
    const ir_option *preset = find_param(o, "auto");
    out->preset = preset ? preset->s : NULL;
    if (strcmp(o->optimizer, "better_together") == 0) {
        const ir_option *strategy = find_param(o, "strategy");
        const ir_option *po = find_param(o, "prompt_optimizer");
        out->strategy = strategy ? strategy->s : "p -> w -> p";
        /* DSPy's default prompt optimizer is BootstrapFewShotWithRandomSearch. */
        out->prompt_optimizer = po ? po->s : "random_search";
        out->n_epochs = int_param(o, "n_epochs", 0);
        const ir_option *w = find_param(o, "finetune_wait_minutes");
        out->ft_wait_minutes = !w ? 0 : w->kind == IR_OPT_INT ? (double)w->i : w->f;
        if (strcmp(out->prompt_optimizer, "random_search") != 0 &&
            strcmp(out->prompt_optimizer, "bootstrap_fewshot") != 0 && strcmp(out->prompt_optimizer, "mipro") != 0)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "better_together: `prompt_optimizer: %s` is not one of random_search, "
                                 "bootstrap_fewshot, mipro",
                                 out->prompt_optimizer);
        /* The prompt optimizer's own defaults (candidates, preset). */
        return optimizer_defaults(out->prompt_optimizer, out, err);
    }
    if (strcmp(o->optimizer, "gepa") == 0) {
        /* DSPy's defaults: a light budget unless max_metric_calls is given. */
        out->max_metric_calls = int_param(o, "max_metric_calls", 0);
        if (!out->preset && !out->max_metric_calls)
            out->preset = "light";
        /* A preset also sizes the Pareto set, as mipro's sizes its search
         * sample: DSPy advises a small valset for GEPA, whose every
         * accepted candidate is scored on all of it. */
        int n = 0;
        size_t cap = 0;
        if (out->preset && opt_mipro_preset(out->preset, &n, &cap) == 0)
            out->valset_cap = cap;
        /* A preset's budget (DSPy's auto_budget, which scales with the
         * Pareto set) affords about 6 accepted candidates, each scored on
         * the whole Pareto set. So a preset makes each reflection see as
         * many runs as its prompt shows (DSPy's 3 left the reflection 18
         * rows in all) and builds every one on the best candidate so far
         * (Pareto draws spread 6 reflections over branches whose lessons
         * never met). Without a preset, DSPy's defaults. */
        out->reflection_minibatch_size =
            int_param(o, "reflection_minibatch_size", out->preset ? OPT_REFLECTION_SHOWN : 3);
        const ir_option *cs = find_param(o, "candidate_selection");
        out->candidate_selection = cs ? cs->s : out->preset ? "current_best" : "pareto";
        out->use_merge = int_param(o, "use_merge", 1);
        out->max_merge_invocations = int_param(o, "max_merge_invocations", 5);
        if (strcmp(out->candidate_selection, "pareto") != 0 && strcmp(out->candidate_selection, "current_best") != 0)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "gepa: `candidate_selection: %s` is not one of pareto, current_best",
                                 out->candidate_selection);
        return DSP_OK;
    }
    if (strcmp(o->optimizer, "simba") == 0) {
        /* DSPy's defaults. */
        out->bsize = int_param(o, "bsize", 32);
        out->num_candidates = int_param(o, "num_candidates", 6);
        out->max_steps = int_param(o, "max_steps", 8);
        out->max_demos = int_param(o, "max_demos", 4);
        const ir_option *t = find_param(o, "temperature_for_sampling");
        out->temperature_for_sampling = !t ? 0.2 : t->kind == IR_OPT_INT ? (double)t->i : t->f;
        return DSP_OK;
    }
    if (strcmp(o->optimizer, "copro") == 0) {
        /* DSPy's defaults. */
        out->breadth = int_param(o, "breadth", 10);
        out->depth = int_param(o, "depth", 3);
        const ir_option *t = find_param(o, "init_temperature");
        out->init_temperature = !t ? 1.4 : t->kind == IR_OPT_INT ? (double)t->i : t->f;
        return DSP_OK;
    }
    return optimizer_defaults(o->optimizer, out, err);
}

dsp_status opt_search(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (b->n_train == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: the trainset is empty", p->optimizer);
    if (b->n_val == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: the valset is empty", p->optimizer);
    out->n_val = b->n_val;
    dsp_status st;
    if (strcmp(p->optimizer, "labeled_fewshot") == 0)
        st = opt_labeled_fewshot(p, b, a, out, err);
    else if (strcmp(p->optimizer, "knn_fewshot") == 0)
        st = opt_knn_fewshot(p, b, a, out, err);
    else if (strcmp(p->optimizer, "ensemble") == 0)
        st = opt_ensemble_search(p, b, a, out, err);
    else if (strcmp(p->optimizer, "bootstrap_fewshot") == 0)
        st = opt_bootstrap_fewshot(p, b, a, out, err);
    else if (strcmp(p->optimizer, "random_search") == 0)
        st = opt_random_search(p, b, a, out, err);
    else if (strcmp(p->optimizer, "mipro") == 0)
        st = opt_mipro(p, b, a, out, err);
    else if (strcmp(p->optimizer, "copro") == 0)
        st = opt_copro(p, b, a, out, err);
    else if (strcmp(p->optimizer, "gepa") == 0)
        st = opt_gepa(p, b, a, out, err);
    else if (strcmp(p->optimizer, "simba") == 0)
        st = opt_simba(p, b, a, out, err);
    else if (strcmp(p->optimizer, "better_together") == 0)
        st = opt_better_together(p, b, a, out, err);
    else
        return dsp_error_set(err, DSP_ERR_INVALID, "unknown optimizer `%s`", p->optimizer);
    if (out->n_search == 0)
        out->n_search = b->n_val;
    return st;
}

dsp_status opt_optimize(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    dsp_status st = opt_search(p, b, a, out, err);
    if (st == DSP_OK)
        opt_guard(p, b, a, out);
    return st;
}

void opt_guard(const opt_params *p, const opt_backend *b, arena *a, opt_result *out)
{
    out->optimized = out->best;
    out->optimized_score = out->final_score;
    out->shipped = OPT_SHIPPED_OPTIMIZED;
    out->shipped_reason = NULL;
    if (out->final_score > out->baseline_score)
        return;
    opt_program zero = opt_program_zero_shot(b, a);
    const char *scores = arena_printf(a, "%.4f, not above the unoptimized program's %.4f, on all %zu %s examples",
                                      out->final_score, out->baseline_score, out->n_val, opt_valset_name(b));
    if (opt_program_same(b, &out->best, &zero)) {
        /* The search itself kept the program as written. */
        out->shipped = OPT_SHIPPED_UNOPTIMIZED;
        out->shipped_reason = arena_printf(a, "kept the unoptimized program: no %s candidate scored above its %.4f "
                                              "on all %zu %s examples",
                                           p->optimizer, out->baseline_score, out->n_val, opt_valset_name(b));
    } else if (p->allow_regression) {
        out->shipped = OPT_SHIPPED_REGRESSION;
        out->shipped_reason = arena_printf(a, "shipped %s's program as asked (--allow-regression): it scored %s",
                                           p->optimizer, scores);
    } else {
        out->shipped = OPT_SHIPPED_UNOPTIMIZED;
        out->shipped_reason = arena_printf(a, "kept the unoptimized program: %s's program scored %s "
                                              "(--allow-regression ships it anyway)",
                                           p->optimizer, scores);
        out->best = zero;
        out->final_score = out->baseline_score;
    }
}

static int same_text(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

static int same_texts(const char *const *x, const char *const *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!same_text(x[i], y[i]))
            return 0;
    return 1;
}

static int same_knn(const opt_knn *x, const opt_knn *y)
{
    size_t kx = x ? x->k : 0, ky = y ? y->k : 0;
    if (kx != ky)
        return 0;
    return kx == 0 || (x->pool.items == y->pool.items && x->pool.n == y->pool.n && x->vectors == y->vectors);
}

int opt_program_same(const opt_backend *b, const opt_program *x, const opt_program *y)
{
    if (!same_text(x->model, y->model) || !x->ensemble != !y->ensemble)
        return 0;
    if (x->ensemble && (x->ensemble->n != y->ensemble->n || x->ensemble->pred != y->ensemble->pred ||
                        x->ensemble->field != y->ensemble->field || x->ensemble->size != y->ensemble->size ||
                        x->ensemble->seed != y->ensemble->seed))
        return 0;
    for (size_t i = 0; x->ensemble && i < x->ensemble->n; i++)
        if (!opt_program_same(b, &x->ensemble->members[i], &y->ensemble->members[i]))
            return 0;
    for (size_t p = 0; p < b->n_preds; p++) {
        if (!same_knn(x->knn ? &x->knn[p] : NULL, y->knn ? &y->knn[p] : NULL))
            return 0;
        if (!same_text(x->instructions[p], y->instructions[p]) || x->demos[p].n != y->demos[p].n)
            return 0;
        for (size_t i = 0; i < x->demos[p].n; i++) {
            const opt_demo *dx = &x->demos[p].items[i], *dy = &y->demos[p].items[i];
            /* The texts the prompt shows, not where they came from. */
            if (dx->n_inputs != dy->n_inputs || dx->n_outputs != dy->n_outputs ||
                !same_texts(dx->inputs, dy->inputs, dx->n_inputs) ||
                !same_texts(dx->outputs, dy->outputs, dx->n_outputs))
                return 0;
        }
    }
    return 1;
}

dsp_status opt_evaluate_distinct(const opt_backend *b, arena *a, const opt_program *cands, size_t n,
                                 const size_t *rows, size_t n_rows, int say_same, size_t *same, size_t *scored,
                                 opt_score *scores, size_t *n_scored, dsp_error *err)
{
    opt_program *progs = arena_array(a, n, sizeof *progs);
    size_t k = 0;
    for (size_t c = 0; c < n; c++) {
        size_t s = 0;
        while (s < c && !opt_program_same(b, &cands[s], &cands[c]))
            s++;
        same[c] = s;
        if (s < c) {
            if (say_same && b->progress)
                b->progress(b->ctx, arena_printf(a, "candidate %zu/%zu (%s) is the same program as candidate %zu "
                                                    "(%s); not scored again",
                                                 c + 1, n, opt_candidate_label(a, c), s + 1,
                                                 opt_candidate_label(a, s)));
            continue;
        }
        progs[k] = cands[c];
        scored[k++] = c;
    }
    *n_scored = k;
    if (b->progress)
        b->progress(b->ctx, arena_printf(a, "%zu candidates on the valset", k));
    return opt_evaluate_all(b, progs, k, rows, n_rows, scores, err);
}

int opt_whole_run_demo(const opt_backend *b, size_t p)
{
    return b->whole_run_demo && p < b->n_preds && b->whole_run_demo[p];
}

int opt_later_step(const opt_run *r, size_t s)
{
    for (size_t k = s + 1; k < r->n_steps; k++)
        if (r->steps[k].pred == r->steps[s].pred)
            return 1;
    return 0;
}

dsp_status opt_score_baseline(const opt_backend *b, arena *a, const size_t *val, size_t n_val, opt_result *out,
                              dsp_error *err)
{
    opt_program zero = opt_program_zero_shot(b, a);
    if (b->progress)
        b->progress(b->ctx, "baseline (zero-shot) on the valset");
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &zero, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->baseline_score = s.mean;
    opt_result_add_trial(out, a, &s, 1, "zero-shot");
    return DSP_OK;
}

dsp_status opt_score_final(const opt_backend *b, arena *a, const size_t *val, size_t n_val, const char *label,
                           opt_result *out, dsp_error *err)
{
    opt_score s;
    dsp_status st = b->evaluate(b->ctx, &out->best, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    out->final_score = s.mean;
    opt_result_add_trial(out, a, &s, 1, label);
    out->n_demo_candidates = 1;
    return DSP_OK;
}

opt_program opt_program_zero_shot(const opt_backend *b, arena *a)
{
    opt_program p;
    p.instructions = arena_array(a, b->n_preds + 1, sizeof *p.instructions);
    p.demos = arena_array(a, b->n_preds + 1, sizeof *p.demos);
    p.model = NULL;
    p.knn = NULL;
    p.ensemble = NULL;
    return p;
}

size_t *opt_val_rows(const opt_backend *b, arena *a, uint64_t seed, size_t cap, size_t *n)
{
    size_t *rows = arena_array(a, b->n_val + 1, sizeof *rows);
    for (size_t i = 0; i < b->n_val; i++)
        rows[i] = i;
    *n = b->n_val;
    if (cap && cap < b->n_val) {
        rng r;
        rng_derive(&r, seed, 0x7661u); /* "va" */
        rng_shuffle(&r, rows, b->n_val);
        *n = cap;
        /* Sorted back so evaluation order (and progress) reads naturally. */
        for (size_t i = 1; i < cap; i++)
            for (size_t j = i; j > 0 && rows[j - 1] > rows[j]; j--) {
                size_t t = rows[j];
                rows[j] = rows[j - 1];
                rows[j - 1] = t;
            }
    }
    return rows;
}

void opt_batcher_init(opt_batcher *bt, arena *a, size_t n, uint64_t seed, uint64_t stream)
{
    *bt = (opt_batcher){ arena_array(a, n + 1, sizeof *bt->order), n, 0, 0, seed, stream };
}

void opt_batcher_next(opt_batcher *bt, size_t *rows, size_t k)
{
    for (size_t i = 0; i < k && bt->n; i++) {
        if (bt->epoch == 0 || bt->pos >= bt->n) {
            for (size_t j = 0; j < bt->n; j++)
                bt->order[j] = j;
            rng r;
            rng_derive(&r, bt->seed ^ ((uint64_t)bt->epoch << 32), bt->stream);
            rng_shuffle(&r, bt->order, bt->n);
            bt->epoch++;
            bt->pos = 0;
        }
        rows[i] = bt->order[bt->pos++];
    }
}

void opt_result_add_trial(opt_result *r, arena *a, const opt_score *s, int full_eval, const char *config)
{
    opt_trial *t = arena_array(a, r->n_trials + 1, sizeof *t);
    if (r->n_trials)
        memcpy(t, r->trials, r->n_trials * sizeof *t);
    t[r->n_trials] = (opt_trial){ (int)r->n_trials + 1, s->mean, full_eval, arena_strdup(a, config), s->n, s->n_failed,
                                  s->usage };
    r->trials = t;
    r->n_trials++;
    r->n_failed += s->n_failed;
    r->n_failed_trials += s->n_failed != 0;
}

const char *opt_valset_name(const opt_backend *b)
{
    return b->valset_name ? b->valset_name : "valset";
}

void opt_result_add_note(opt_result *r, arena *a, const char *note)
{
    const char **n = arena_array(a, r->n_notes + 1, sizeof *n);
    if (r->n_notes)
        memcpy(n, r->notes, r->n_notes * sizeof *n);
    n[r->n_notes++] = arena_strdup(a, note);
    r->notes = n;
}

const char *opt_failed_text(arena *a, const opt_score *s)
{
    if (!s->n_failed)
        return "";
    return arena_printf(a, " (%zu of %zu examples failed)", s->n_failed, s->n);
}

/* Appends s to the buffer with newlines folded, so each demo stays one line. */
static void append_folded(char *buf, size_t size, size_t *len, const char *s)
{
    for (; s && *s && *len + 1 < size; s++)
        buf[(*len)++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    buf[*len] = '\0';
}

char *opt_demos_text(arena *a, const opt_demos *d, size_t max)
{
    enum { CAP = 16384 };
    char *buf = arena_alloc(a, CAP);
    size_t len = 0;
    for (size_t i = 0; i < d->n && i < max; i++) {
        const opt_demo *x = &d->items[i];
        for (size_t k = 0; k < x->n_inputs; k++) {
            if (k)
                append_folded(buf, CAP, &len, " | ");
            append_folded(buf, CAP, &len, x->inputs[k] ? x->inputs[k] : "");
        }
        append_folded(buf, CAP, &len, " -> ");
        const char *label = NULL;
        for (size_t k = x->n_outputs; k > 0 && !label; k--)
            label = x->outputs[k - 1];
        append_folded(buf, CAP, &len, label ? label : "");
        if (len + 1 < CAP)
            buf[len++] = '\n', buf[len] = '\0';
    }
    return buf;
}

/* DSPy's proposal tips: each candidate instruction is asked in a different
 * register, so the candidates differ in what they stress. */
const char *const opt_tips[] = {
    "",
    "Don't be afraid to be creative when creating the new instruction!",
    "Keep the instruction clear and concise.",
    "Make sure your instruction is very informative and descriptive.",
    "The instruction should include a high stakes scenario in which the LM must solve the task!",
    "Include a persona that is relevant to the task in the instruction (ie. \"You are a ...\")",
};
const size_t opt_n_tips = sizeof opt_tips / sizeof opt_tips[0];
