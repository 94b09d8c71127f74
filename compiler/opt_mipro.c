/* opt_mipro.c — mipro(auto: light|medium|heavy): MIPROv2.
 *
 * 1. Demo sets: DSPy's candidate list (zero-shot, labelled only,
 *    unshuffled bootstrap, shuffled bootstraps).
 * 2. Instructions: per predictor the signature's own plus proposals by the
 *    teacher, each grounded on a data summary, the program's structure, the
 *    demos of one demo set and a tip (opt_tips) that varies the register.
 * 3. Search: TPE over each predictor's (instruction, demo set), trial 1 the
 *    unoptimized program on the whole valset; later trials on seeded
 *    minibatches, and every full_eval_steps trials the best-averaging
 *    configuration not yet fully scored gets a full evaluation (as DSPy
 *    does); after the last trial the FINAL best-averaging ones not yet
 *    fully scored get one, so the answer, the best fully-evaluated
 *    configuration, is not down to one minibatch's luck.
 * 4. When the preset caps the valset (auto: light searches on a seeded
 *    sample of 100, as DSPy does), "full" above means the whole sample; the
 *    unoptimized program and the top RESCORE configurations by sample score
 *    are then scored on the whole valset, and the best there is the answer:
 *    every score the result carries is a whole-valset score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "rng.h"
#include "tpe.h"

enum { STREAM_TIPS = 0x7470, STREAM_MINIBATCH = 0x6d62, STREAM_TPE = 0x7470e };

/* Configurations scored again on the whole valset after a sampled search
 * (the "at least the top 3"). */
enum { RESCORE = 3 };
/* Configurations fully scored after the last minibatch trial: one
 * minibatch of 35 rows ranks candidates a few points apart by luck, so the
 * one best-averaging candidate DSPy scores then is often not the best of
 * the top few (each has usually had one minibatch). */
enum { FINAL = 3 };

typedef struct mp_config {
    size_t *choice;         /* 2 per predictor: instruction, demo set */
    double mb_sum;
    size_t mb_n;
    int full_done;
    double full;            /* on every search row (the valset, or its sample) */
    opt_score full_score;
} mp_config;

typedef struct mipro {
    const opt_params *p;
    const opt_backend *b;
    arena *a;
    size_t n_params;
    const char ***instr;    /* [pred][i] */
    size_t n_instr;
    opt_program *sets;
    size_t n_sets;
    mp_config *configs;
    size_t n_configs, cap;
} mipro;

static opt_program program_of(const mipro *m, const size_t *choice)
{
    opt_program prog = opt_program_zero_shot(m->b, m->a);
    for (size_t p = 0; p < m->b->n_preds; p++) {
        ((const char **)prog.instructions)[p] = m->instr[p][choice[2 * p]];
        ((opt_demos *)prog.demos)[p] = m->sets[choice[2 * p + 1]].demos[p];
    }
    return prog;
}

static const char *config_label(const mipro *m, const size_t *choice)
{
    char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t p = 0; p < m->b->n_preds && len < sizeof buf; p++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s: instr %zu, demos %zu", p ? "; " : "",
                                m->b->pred_names[p], choice[2 * p], choice[2 * p + 1]);
    return arena_strdup(m->a, buf);
}

static mp_config *config_for(mipro *m, const size_t *choice)
{
    for (size_t i = 0; i < m->n_configs; i++)
        if (memcmp(m->configs[i].choice, choice, m->n_params * sizeof *choice) == 0)
            return &m->configs[i];
    if (m->n_configs == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        mp_config *c = arena_array(m->a, cap, sizeof *c);
        if (m->n_configs)
            memcpy(c, m->configs, m->n_configs * sizeof *c);
        m->configs = c;
        m->cap = cap;
    }
    mp_config *c = &m->configs[m->n_configs++];
    memset(c, 0, sizeof *c);
    c->choice = arena_array(m->a, m->n_params + 1, sizeof *c->choice);
    memcpy(c->choice, choice, m->n_params * sizeof *choice);
    return c;
}

/* One instruction proposal of propose_instructions: which slot it fills. */
typedef struct proposal_task {
    mipro *m;
    opt_proposal *reqs; /* [pred * (n_instr - 1) + i - 1] */
} proposal_task;

static dsp_status propose_one(void *ctx, size_t k, arena *a, dsp_error *err)
{
    proposal_task *t = ctx;
    const mipro *m = t->m;
    const opt_backend *b = m->b;
    const opt_proposal *req = &t->reqs[k];
    size_t i = k % (m->n_instr - 1) + 1;
    if (b->progress && b->max_parallel <= 1) {
        char msg[160];
        snprintf(msg, sizeof msg, "proposing instruction %zu/%zu for %s", i, m->n_instr - 1, b->pred_names[req->pred]);
        b->progress(b->ctx, msg);
    }
    return b->propose(b->ctx, a, req, &m->instr[req->pred][i], err);
}

static dsp_status propose_instructions(mipro *m, dsp_error *err)
{
    const opt_backend *b = m->b;
    rng r;
    rng_derive(&r, m->p->seed, STREAM_TIPS);
    m->instr = arena_array(m->a, b->n_preds + 1, sizeof *m->instr);
    size_t per = m->n_instr - 1, n = b->n_preds * per;
    opt_proposal *reqs = arena_array(m->a, n + 1, sizeof *reqs);
    for (size_t p = 0; p < b->n_preds; p++) {
        m->instr[p] = arena_array(m->a, m->n_instr + 1, sizeof **m->instr);
        m->instr[p][0] = NULL; /* the signature's own instructions */
        for (size_t i = 1; i < m->n_instr; i++) {
            /* Ground each proposal on the demos of a different demo set
             * first, then others' (distinct rows, at most 24 lines), so the
             * proposer sees enough labelled examples to generalize. */
            enum { SHOW = 24 };
            opt_demo *items = arena_array(m->a, SHOW, sizeof *items);
            opt_demos shown = { items, 0 };
            for (size_t k = 0; k < m->n_sets && shown.n < SHOW; k++) {
                const opt_demos *d = &m->sets[(i + k) % m->n_sets].demos[p];
                for (size_t j = 0; j < d->n && shown.n < SHOW; j++) {
                    size_t q = 0;
                    while (q < shown.n && items[q].row != d->items[j].row)
                        q++;
                    if (q == shown.n)
                        items[shown.n++] = d->items[j];
                }
            }
            opt_proposal *req = &reqs[p * per + i - 1];
            req->pred = p;
            req->dataset_description = b->dataset_description;
            req->program_description = b->program_description;
            req->basic_instruction = b->base_instructions[p];
            req->task_demos = opt_demos_text(m->a, &shown, SHOW);
            /* Drawn in this order whatever order the proposals finish in. */
            req->tip = opt_tips[rng_below(&r, opt_n_tips)];
            req->rollout = (uint64_t)i;
        }
    }
    /* The proposals depend on nothing but their request: all at once. */
    if (b->progress && b->max_parallel > 1 && n > 1)
        b->progress(b->ctx, arena_printf(m->a, "proposing %zu instructions, up to %d at once", n,
                                         b->max_parallel));
    proposal_task t = { m, reqs };
    return opt_parallel(b, m->a, n, propose_one, &t, err);
}

/* The configuration with the best minibatch mean that has not had a full
 * evaluation yet; NULL when every one has. Earliest wins ties. */
static mp_config *best_unscored(mipro *m)
{
    mp_config *best = NULL;
    for (size_t i = 0; i < m->n_configs; i++) {
        mp_config *c = &m->configs[i];
        if (c->full_done || c->mb_n == 0)
            continue;
        if (!best || c->mb_sum / (double)c->mb_n > best->mb_sum / (double)best->mb_n)
            best = c;
    }
    return best;
}

/* Records c's full score s; the best full score so far in *best (the
 * earlier on ties). */
static void full_done(mipro *m, mp_config *c, const opt_score *s, opt_result *out, mp_config **best)
{
    c->full_score = *s;
    c->full = s->mean;
    c->full_done = 1;
    opt_result_add_trial(out, m->a, &c->full_score, 1, config_label(m, c->choice));
    if (!*best || c->full > (*best)->full)
        *best = c;
}

static dsp_status full_eval(mipro *m, mp_config *c, const size_t *val, size_t n_val, opt_result *out,
                            mp_config **best, dsp_error *err)
{
    opt_program prog = program_of(m, c->choice);
    opt_score s;
    dsp_status st = m->b->evaluate(m->b->ctx, &prog, val, n_val, &s, err);
    if (st != DSP_OK)
        return st;
    full_done(m, c, &s, out, best);
    return DSP_OK;
}

/* After the last trial: the FINAL best-averaging configurations not yet
 * fully scored, scored at once, in that order. */
static dsp_status final_evals(mipro *m, const size_t *val, size_t n_val, opt_result *out, mp_config **best,
                              dsp_error *err)
{
    mp_config *top[FINAL];
    size_t k = 0;
    for (; k < FINAL; k++) {
        top[k] = best_unscored(m);
        if (!top[k])
            break;
        top[k]->full_done = 1; /* out of best_unscored's way; set again below */
    }
    if (k == 0)
        return DSP_OK;
    if (m->b->progress)
        m->b->progress(m->b->ctx, arena_printf(m->a, "full evaluation of the %zu best minibatch configuration%s", k,
                                               k > 1 ? "s" : ""));
    opt_program progs[FINAL];
    opt_score scores[FINAL];
    for (size_t i = 0; i < k; i++)
        progs[i] = program_of(m, top[i]->choice);
    dsp_status st = opt_evaluate_all(m->b, progs, k, val, n_val, scores, err);
    for (size_t i = 0; i < k; i++) {
        top[i]->full_done = 0;
        if (st == DSP_OK)
            full_done(m, top[i], &scores[i], out, best);
    }
    return st;
}

/* The search score of a configuration for ranking after a sampled search:
 * its score on the sample when it had one, else its minibatch mean. */
static double sample_rank_score(const mp_config *c)
{
    return c->full_done ? c->full : c->mb_sum / (double)c->mb_n;
}

/* Whether x ranks above y: scored on the whole sample first, then by score;
 * earlier configurations first on ties (the sort is stable). */
static int ranks_above(const mp_config *x, const mp_config *y)
{
    if (x->full_done != y->full_done)
        return x->full_done;
    return sample_rank_score(x) > sample_rank_score(y);
}

/* After a search on a sample: the unoptimized program and the RESCORE best
 * other configurations (scored on the whole sample first, by that score;
 * then by minibatch mean), on the whole valset (all[n_all]); the best
 * there is the answer (higher rank wins ties). */
static dsp_status rescore(mipro *m, const size_t *all, size_t n_all, size_t n_sample, opt_result *out,
                          dsp_error *err)
{
    const opt_backend *b = m->b;
    arena *a = m->a;
    size_t *rank = arena_array(a, m->n_configs + 1, sizeof *rank), n_rank = 0;
    for (size_t i = 1; i < m->n_configs; i++) /* 0: the unoptimized program, scored anyway */
        if (m->configs[i].full_done || m->configs[i].mb_n)
            rank[n_rank++] = i;
    for (size_t i = 1; i < n_rank; i++)
        for (size_t j = i; j > 0 && ranks_above(&m->configs[rank[j]], &m->configs[rank[j - 1]]); j--) {
            size_t t = rank[j];
            rank[j] = rank[j - 1];
            rank[j - 1] = t;
        }
    size_t k = n_rank < RESCORE ? n_rank : RESCORE;
    if (b->progress)
        b->progress(b->ctx, arena_printf(a, "the unoptimized program and the top %zu candidates, on all %zu %s "
                                            "examples",
                                         k, n_all, opt_valset_name(b)));
    /* The k + 1 evaluations depend on nothing but their programs: at once
     * when the backend can (each trial's usage still its own). */
    opt_program *progs = arena_array(a, k + 1, sizeof *progs);
    opt_score *scores = arena_array(a, k + 1, sizeof *scores);
    progs[0] = program_of(m, m->configs[0].choice);
    for (size_t i = 0; i < k; i++)
        progs[i + 1] = program_of(m, m->configs[rank[i]].choice);
    dsp_status st = opt_evaluate_all(b, progs, k + 1, all, n_all, scores, err);
    if (st != DSP_OK)
        return st;
    opt_score s0 = scores[0];
    opt_result_add_trial(out, a, &s0, 1, "the unoptimized program, on the whole valset");
    out->baseline_score = s0.mean;
    out->best = progs[0];
    out->final_score = s0.mean;
    char *ranked = "", *whole = "";
    size_t best = 0;
    for (size_t i = 0; i < k; i++) {
        mp_config *c = &m->configs[rank[i]];
        opt_program prog = progs[i + 1];
        opt_score s = scores[i + 1];
        opt_result_add_trial(out, a, &s, 1, arena_printf(a, "%s, on the whole valset", config_label(m, c->choice)));
        if (i == 0 || s.mean > out->final_score) {
            best = i;
            out->best = prog;
            out->final_score = s.mean;
        }
        ranked = arena_printf(a, "%s%s%.4f%s", ranked, i ? ", " : "", sample_rank_score(c),
                              c->full_done ? "" : " (minibatch mean)");
        whole = arena_printf(a, "%s%s%.4f", whole, i ? ", " : "", s.mean);
    }
    out->n_rescored = k;
    opt_result_add_note(out, a,
                        arena_printf(a, "mipro searched on %zu of %zu %s examples (a seeded sample: auto: %s caps "
                                        "it, as DSPy does); the unoptimized program scored %.4f on all %zu, and "
                                        "the top %zu candidates by search score (%s) scored %s; the best there "
                                        "was chosen (#%zu)",
                                     n_sample, n_all, opt_valset_name(b), m->p->preset ? m->p->preset : "?",
                                     s0.mean, n_all, k, ranked, whole, best + 1));
    return DSP_OK;
}

dsp_status opt_mipro(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    mipro m = { 0 };
    m.p = p;
    m.b = b;
    m.a = a;
    m.n_params = 2 * b->n_preds;
    size_t n_cand = (size_t)(p->num_candidates > 0 ? p->num_candidates : 6);
    m.n_instr = n_cand;
    size_t n_val, n_all;
    size_t *val = opt_val_rows(b, a, p->seed, p->valset_cap, &n_val);
    size_t *all = opt_val_rows(b, a, p->seed, 0, &n_all);
    out->n_search = n_val;
    if (n_val < n_all && b->progress)
        b->progress(b->ctx, arena_printf(a, "searching on %zu of %zu %s examples (a seeded sample: auto: %s caps "
                                            "it, as DSPy does); the best candidates are scored on all %zu at the end",
                                         n_val, n_all, opt_valset_name(b), p->preset ? p->preset : "?", n_all));

    /* 1. demo sets */
    if (p->max_bootstrapped_demos == 0 && p->max_labeled_demos == 0)
        m.n_sets = 1;
    else
        m.n_sets = n_cand;
    m.sets = arena_array(a, m.n_sets, sizeof *m.sets);
    dsp_status st = opt_demo_candidates(b, a, p, m.n_sets, m.sets, err);
    if (st != DSP_OK)
        return st;
    /* 2. instructions */
    st = propose_instructions(&m, err);
    if (st != DSP_OK)
        return st;
    out->n_instruction_candidates = m.n_instr;
    out->candidates = (const char *const *const *)m.instr;
    size_t *nc = arena_array(a, b->n_preds + 1, sizeof *nc);
    for (size_t i = 0; i < b->n_preds; i++)
        nc[i] = m.n_instr;
    out->n_candidates = nc;
    out->n_demo_candidates = m.n_sets;

    /* 3. search */
    size_t *k = arena_array(a, m.n_params + 1, sizeof *k);
    for (size_t i = 0; i < b->n_preds; i++) {
        k[2 * i] = m.n_instr;
        k[2 * i + 1] = m.n_sets;
    }
    int trials = p->num_trials > 0 ? p->num_trials : opt_mipro_num_trials(m.n_params, n_cand);
    /* Optuna starts TPE after 10 random trials, which is the whole budget
     * of a light run; a third of the budget explores here instead. */
    tpe_options to = tpe_options_default();
    to.n_startup = (size_t)trials / 3 + 1;
    tpe t;
    if (tpe_init(&t, k, m.n_params, p->seed ^ STREAM_TPE, &to) != 0)
        return dsp_error_set(err, DSP_ERR_NOMEM, "mipro: out of memory starting the search");
    int use_mb = p->minibatch && p->minibatch_size > 0 && n_val > (size_t)p->minibatch_size;
    int steps = p->full_eval_steps > 0 ? p->full_eval_steps : 5;
    size_t mb_n = use_mb ? (size_t)p->minibatch_size : n_val;
    size_t *mb = arena_array(a, n_val + 1, sizeof *mb);
    size_t *choice = arena_array(a, m.n_params + 1, sizeof *choice);
    rng mr;
    rng_derive(&mr, p->seed, STREAM_MINIBATCH);
    mp_config *best = NULL;

    /* Trial 1: the program as written, on the whole valset: the baseline. */
    memset(choice, 0, m.n_params * sizeof *choice);
    if (b->progress)
        b->progress(b->ctx, n_val < n_all ? "trial 1: the unoptimized program on the sample"
                                          : "trial 1: the unoptimized program on the valset");
    mp_config *c0 = config_for(&m, choice);
    st = full_eval(&m, c0, val, n_val, out, &best, err);
    if (st != DSP_OK)
        goto done;
    out->baseline_score = c0->full;
    if (tpe_tell(&t, choice, c0->full) != 0) {
        st = dsp_error_set(err, DSP_ERR_NOMEM, "mipro: out of memory in the search");
        goto done;
    }

    for (int trial = 1; trial <= trials; trial++) {
        tpe_suggest(&t, choice);
        mp_config *c = config_for(&m, choice);
        if (b->progress) {
            char msg[160];
            snprintf(msg, sizeof msg, "trial %d/%d%s (best %.3f)", trial + 1, trials + 1,
                     use_mb ? " on a minibatch" : "", best->full);
            b->progress(b->ctx, msg);
        }
        double score;
        if (use_mb) {
            memcpy(mb, val, n_val * sizeof *mb);
            rng_shuffle(&mr, mb, n_val);
            opt_program prog = program_of(&m, choice);
            opt_score s;
            st = b->evaluate(b->ctx, &prog, mb, mb_n, &s, err);
            if (st != DSP_OK)
                goto done;
            score = s.mean;
            c->mb_sum += score;
            c->mb_n++;
            opt_result_add_trial(out, a, &s, 0, config_label(&m, choice));
            if (trial == trials) {
                st = final_evals(&m, val, n_val, out, &best, err);
                if (st != DSP_OK)
                    goto done;
            } else if (trial % steps == 0) {
                mp_config *cand = best_unscored(&m);
                if (cand) {
                    if (b->progress)
                        b->progress(b->ctx, "full evaluation of the best minibatch configuration");
                    st = full_eval(&m, cand, val, n_val, out, &best, err);
                    if (st != DSP_OK)
                        goto done;
                }
            }
        } else {
            if (c->full_done) {
                score = c->full;
                opt_result_add_trial(out, a, &c->full_score, 1, config_label(&m, choice));
            } else {
                st = full_eval(&m, c, val, n_val, out, &best, err);
                if (st != DSP_OK)
                    goto done;
                score = c->full;
            }
        }
        if (tpe_tell(&t, choice, score) != 0) {
            st = dsp_error_set(err, DSP_ERR_NOMEM, "mipro: out of memory in the search");
            goto done;
        }
    }
    out->best = program_of(&m, best->choice);
    out->final_score = best->full;
    st = n_val < n_all ? rescore(&m, all, n_all, n_val, out, err) : DSP_OK;
done:
    tpe_free(&t);
    return st;
}
