/* opt_simba.c — simba(bsize, num_candidates, max_steps, max_demos,
 * temperature_for_sampling): stochastic introspective mini-batch ascent
 * (DSPy's SIMBA).
 *
 * The pool starts with the program as written. Each of max_steps steps:
 *   1. takes the next `bsize` training rows (an epoch-shuffled order);
 *   2. runs `num_candidates` programs drawn from the pool (softmax over
 *      their mean minibatch scores at temperature_for_sampling) on them,
 *      each sampling differently (the first at the lm's own temperature,
 *      the others hotter, each with its own rollout), with traces;
 *   3. ranks the rows by how much the runs' scores differ on them (best
 *      minus worst, then best minus mean): where one run did well and
 *      another badly there is something to learn; rows where all runs
 *      scored alike are passed over;
 *   4. for each of the `num_candidates` most variable rows, builds a new
 *      candidate from a pool program (drawn again) by one of two moves,
 *      chosen with the seed: append a demo (the best run's call of each
 *      predictor becomes a demo, the oldest dropped beyond max_demos), or
 *      append a rule (the teacher reflects on the best and the worst run
 *      with their scores and feedback and rewrites the instruction of each
 *      predictor that ran, see opt_exec_gepa.c);
 *   5. scores the new candidates on the same rows and adds them to the
 *      pool. A program's mean over every minibatch it ran on (sampled runs
 *      included) is what draws and the final choice go by.
 * At the end the program as written and the `num_candidates` candidates
 * with the best mean minibatch scores are scored on the whole valset; the
 * best is the result (the earliest on ties).
 *
 * Determinism: rows, draws and moves come from rng streams of the seed and
 * every sampled run has its own rollout id, so a warm cache replays a run.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "opt.h"
#include "rng.h"

enum { STREAM_BATCH = 0x7362, STREAM_DRAW = 0x7364, STREAM_MOVE = 0x736d };

typedef struct sm_cand {
    opt_program prog;
    double sum;             /* of its minibatch means */
    size_t n;               /* minibatches scored */
    const char *origin;
} sm_cand;

typedef struct simba {
    const opt_params *p;
    const opt_backend *b;
    arena *a;
    sm_cand *c;
    size_t n, cap;
    opt_batcher batches;    /* the trainset, shuffled per epoch */
    rng draw, move;
    uint64_t rollouts;
} simba;

static void progress(const simba *s, const char *msg)
{
    if (s->b->progress)
        s->b->progress(s->b->ctx, msg);
}

static double mean_of(const sm_cand *c)
{
    return c->n ? c->sum / (double)c->n : 0;
}

static sm_cand *add(simba *s, const opt_program *from, const char *origin)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        sm_cand *c = arena_array(s->a, cap, sizeof *c);
        if (s->n)
            memcpy(c, s->c, s->n * sizeof *c);
        s->c = c;
        s->cap = cap;
    }
    sm_cand *c = &s->c[s->n++];
    memset(c, 0, sizeof *c);
    size_t np = s->b->n_preds;
    c->prog = opt_program_zero_shot(s->b, s->a);
    if (from) {
        memcpy((void *)c->prog.instructions, from->instructions, np * sizeof *from->instructions);
        memcpy((void *)c->prog.demos, from->demos, np * sizeof *from->demos);
        c->prog.model = from->model;
    }
    c->origin = origin;
    return c;
}

/* A pool index drawn with probability ∝ exp(mean / T); never-scored
 * candidates count as 0. */
static size_t draw_program(simba *s)
{
    double t = s->p->temperature_for_sampling > 0 ? s->p->temperature_for_sampling : 1e-9;
    double top = -INFINITY, total = 0;
    for (size_t i = 0; i < s->n; i++)
        if (mean_of(&s->c[i]) > top)
            top = mean_of(&s->c[i]);
    double *w = arena_array(s->a, s->n + 1, sizeof *w);
    for (size_t i = 0; i < s->n; i++)
        total += w[i] = exp((mean_of(&s->c[i]) - top) / t);
    double x = rng_uniform(&s->draw) * total;
    for (size_t i = 0; i < s->n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return s->n - 1;
}

static double run_score(const opt_run *r)
{
    return r->ok ? r->score : 0;
}

/* Appends the best run's calls as demos, the oldest dropped beyond max. */
static int append_demo(simba *s, sm_cand *c, const opt_run *best)
{
    int added = 0;
    for (size_t p = 0; p < s->b->n_preds; p++) {
        const opt_step *st = NULL;
        /* The first call of a predictor, or a react step's last: the whole trajectory. */
        int last = opt_whole_run_demo(s->b, p);
        for (size_t k = 0; k < best->n_steps && (!st || last); k++)
            if (best->steps[k].pred == p)
                st = &best->steps[k];
        if (!st)
            continue;
        const opt_demos *old = &c->prog.demos[p];
        size_t max = (size_t)s->p->max_demos, keep = old->n < max ? old->n : max ? max - 1 : 0;
        if (!max)
            continue;
        opt_demo *items = arena_array(s->a, keep + 2, sizeof *items);
        if (keep)
            memcpy(items, old->items + (old->n - keep), keep * sizeof *items);
        items[keep] = st->demo;
        ((opt_demos *)c->prog.demos)[p] = (opt_demos){ items, keep + 1 };
        added = 1;
    }
    return added;
}

/* The teacher's rule from the best and the worst run, for each predictor
 * that ran. */
static dsp_status append_rule(simba *s, sm_cand *c, const opt_run *worst, const opt_run *best, int *changed,
                              dsp_error *err)
{
    opt_run pair[2] = { *worst, *best };
    for (size_t p = 0; p < s->b->n_preds; p++) {
        /* Each run's feedback aimed at p, else its general one. */
        for (size_t k = 0; k < 2; k++) {
            const opt_run *r = k ? best : worst;
            const char *fb = r->pred_feedback && r->pred_feedback[p] ? r->pred_feedback[p] : r->feedback;
            pair[k].feedback = arena_printf(s->a, "The %s run (score %.3f). %s", k ? "better" : "worse", run_score(r),
                                            fb ? fb : "");
            pair[k].pred_feedback = NULL;
        }
        int ran = 0;
        for (size_t k = 0; k < 2; k++)
            for (size_t j = 0; j < pair[k].n_steps; j++)
                ran |= pair[k].steps[j].pred == p;
        if (!ran)
            continue;
        const char *cur = c->prog.instructions[p] ? c->prog.instructions[p] : s->b->base_instructions[p];
        opt_reflection req = { p, cur, pair, 2, ++s->rollouts };
        const char *instr = NULL;
        dsp_status st = s->b->reflect(s->b->ctx, s->a, &req, &instr, err);
        if (st != DSP_OK)
            return st;
        if (strcmp(instr, cur) != 0) {
            ((const char **)c->prog.instructions)[p] = instr;
            *changed = 1;
        }
    }
    return DSP_OK;
}

typedef struct bucket {
    size_t row;              /* index in the batch */
    double gap, gap_mean;
} bucket;

static int bucket_before(const bucket *x, const bucket *y)
{
    if (x->gap != y->gap)
        return x->gap > y->gap;
    if (x->gap_mean != y->gap_mean)
        return x->gap_mean > y->gap_mean;
    return x->row < y->row;
}

static dsp_status step(simba *s, unsigned st_no, opt_result *out, dsp_error *err)
{
    const opt_backend *b = s->b;
    size_t k = (size_t)s->p->bsize < b->n_train ? (size_t)s->p->bsize : b->n_train;
    size_t nc = (size_t)s->p->num_candidates;
    size_t *rows = arena_array(s->a, k + 1, sizeof *rows);
    opt_batcher_next(&s->batches, rows, k);
    /* 2. Trajectories: nc sampled runs of pool programs on the batch. */
    opt_run **runs = arena_array(s->a, nc + 1, sizeof *runs);
    for (size_t j = 0; j < nc; j++) {
        size_t from = draw_program(s);
        runs[j] = arena_array(s->a, k + 1, sizeof **runs);
        double t = j == 0 ? -1 : 0.5 + 0.5 * (double)j / (double)nc;
        progress(s, arena_printf(s->a, "step %u/%d: candidate %zu samples the minibatch (%zu/%zu)", st_no,
                                 s->p->max_steps, from, j + 1, nc));
        dsp_status st = b->run_sampled(b->ctx, s->a, &s->c[from].prog, rows, k, t,
                                       ((uint64_t)st_no << 20) + j + 1, runs[j], err);
        if (st != DSP_OK)
            return st;
        /* As in DSPy, a sampled run also scores the program it came from. */
        double m = 0;
        for (size_t i = 0; i < k; i++)
            m += run_score(&runs[j][i]) / (double)k;
        s->c[from].sum += m;
        s->c[from].n++;
    }
    /* 3. Rows by how much the runs differ on them. */
    bucket *bk = arena_array(s->a, k + 1, sizeof *bk);
    size_t nb = 0;
    for (size_t i = 0; i < k; i++) {
        double hi = -INFINITY, lo = INFINITY, sum = 0;
        for (size_t j = 0; j < nc; j++) {
            double x = run_score(&runs[j][i]);
            hi = x > hi ? x : hi;
            lo = x < lo ? x : lo;
            sum += x;
        }
        if (hi > lo)
            bk[nb++] = (bucket){ i, hi - lo, hi - sum / (double)nc };
    }
    for (size_t i = 1; i < nb; i++)
        for (size_t j = i; j > 0 && bucket_before(&bk[j], &bk[j - 1]); j--) {
            bucket t = bk[j];
            bk[j] = bk[j - 1];
            bk[j - 1] = t;
        }
    if (!nb) {
        progress(s, arena_printf(s->a, "step %u/%d: every run scored alike on every row; nothing to learn",
                                 st_no, s->p->max_steps));
        return DSP_OK;
    }
    /* 4. New candidates from the most variable rows. */
    size_t first_new = s->n;
    for (size_t q = 0; q < nb && q < nc; q++) {
        size_t i = bk[q].row, best = 0, worst = 0;
        for (size_t j = 1; j < nc; j++) {
            if (run_score(&runs[j][i]) > run_score(&runs[best][i]))
                best = j;
            if (run_score(&runs[j][i]) < run_score(&runs[worst][i]))
                worst = j;
        }
        size_t from = draw_program(s);
        int demo = s->p->max_demos > 0 && rng_below(&s->move, 2) == 0;
        sm_cand *c = add(s, &s->c[from].prog, NULL);
        int changed = 0;
        if (demo) {
            changed = append_demo(s, c, &runs[best][i]);
            c->origin = arena_printf(s->a, "demo of training row %zu added to candidate %zu", rows[i], from);
        } else {
            dsp_status st = append_rule(s, c, &runs[worst][i], &runs[best][i], &changed, err);
            if (st != DSP_OK)
                return st;
            c = &s->c[s->n - 1];
            c->origin = arena_printf(s->a, "rule from training row %zu added to candidate %zu", rows[i], from);
        }
        if (!changed)
            s->n--; /* the move changed nothing: no new candidate */
    }
    /* 5. The new candidates on the same rows. */
    for (size_t i = first_new; i < s->n; i++) {
        opt_run *r = arena_array(s->a, k + 1, sizeof *r);
        dsp_status st = b->run_sampled(b->ctx, s->a, &s->c[i].prog, rows, k, -1, 0, r, err);
        if (st != DSP_OK)
            return st;
        opt_score sc = { .n = k };
        for (size_t j = 0; j < k; j++) {
            sc.mean += run_score(&r[j]) / (double)k;
            sc.n_failed += !r[j].ok;
        }
        s->c[i].sum += sc.mean;
        s->c[i].n++;
        opt_result_add_trial(out, s->a, &sc, 0, arena_printf(s->a, "candidate %zu: %s", i, s->c[i].origin));
        progress(s, arena_printf(s->a, "step %u/%d: candidate %zu (%s): minibatch %.3f", st_no, s->p->max_steps, i,
                                 s->c[i].origin, sc.mean));
    }
    return DSP_OK;
}

dsp_status opt_simba(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    if (!b->run_sampled || !b->reflect)
        return dsp_error_set(err, DSP_ERR_INVALID, "simba: this backend cannot sample runs");
    if (p->bsize < 1 || p->num_candidates < 1 || p->max_steps < 1)
        return dsp_error_set(err, DSP_ERR_INVALID, "simba: bsize, num_candidates and max_steps must be at least 1");
    simba s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.b = b;
    s.a = a;
    opt_batcher_init(&s.batches, a, b->n_train, p->seed, STREAM_BATCH);
    rng_derive(&s.draw, p->seed, STREAM_DRAW);
    rng_derive(&s.move, p->seed, STREAM_MOVE);
    add(&s, NULL, "the program as written");
    dsp_status st = DSP_OK;
    for (int i = 1; i <= p->max_steps && st == DSP_OK; i++)
        st = step(&s, (unsigned)i, out, err);
    if (st != DSP_OK)
        return st;
    /* The program as written, then the best by mean minibatch score. */
    size_t nv;
    const size_t *val = opt_val_rows(b, a, p->seed, 0, &nv);
    size_t *order = arena_array(a, s.n + 1, sizeof *order);
    for (size_t i = 0; i < s.n; i++)
        order[i] = i;
    for (size_t i = 2; i < s.n; i++)
        for (size_t j = i; j > 1 && mean_of(&s.c[order[j]]) > mean_of(&s.c[order[j - 1]]); j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t n_final = s.n < (size_t)p->num_candidates + 1 ? s.n : (size_t)p->num_candidates + 1;
    /* The finalists depend on nothing but their programs: scored at once
     * (opt_evaluate_all), their trials added in this order, as scoring
     * them in turn would. */
    opt_program *progs = arena_array(a, n_final + 1, sizeof *progs);
    opt_score *scores = arena_array(a, n_final + 1, sizeof *scores);
    for (size_t i = 0; i < n_final; i++)
        progs[i] = s.c[order[i]].prog;
    progress(&s, arena_printf(a, "the program as written and %zu candidates on the valset", n_final - 1));
    st = opt_evaluate_all(b, progs, n_final, val, nv, scores, err);
    if (st != DSP_OK)
        return st;
    size_t best = 0;
    double best_score = -INFINITY;
    for (size_t i = 0; i < n_final; i++) {
        const sm_cand *c = &s.c[order[i]];
        opt_result_add_trial(out, a, &scores[i], 1, arena_printf(a, "candidate %zu: %s", order[i], c->origin));
        if (i == 0)
            out->baseline_score = scores[i].mean;
        if (scores[i].mean > best_score) {
            best_score = scores[i].mean;
            best = order[i];
        }
    }
    out->best = s.c[best].prog;
    out->final_score = best_score;
    out->n_instruction_candidates = s.n;
    return DSP_OK;
}
