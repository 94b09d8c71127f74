/* opt_demos.c — choosing demos: labelled examples, bootstrapped teacher
 * traces, and DSPy's list of candidate demo sets. */
#include <stdio.h>
#include <string.h>

#include "opt.h"
#include "rng.h"

/* Stream ids, so each kind of random choice draws from its own stream of
 * the optimize seed and adding one does not shift the others. */
enum { STREAM_LABELED = 0x6c61, STREAM_TEACHER = 0x7465, STREAM_SHUFFLE = 0x7368, STREAM_SIZE = 0x737a };

dsp_status opt_labeled(const opt_backend *b, arena *a, uint64_t seed, size_t k, const unsigned char *exclude,
                       opt_program *out, dsp_error *err)
{
    *out = opt_program_zero_shot(b, a);
    size_t *rows = arena_array(a, b->n_train + 1, sizeof *rows), n = 0;
    for (size_t i = 0; i < b->n_train; i++)
        if (!exclude || !exclude[i])
            rows[n++] = i;
    rng r;
    rng_derive(&r, seed, STREAM_LABELED);
    rng_shuffle(&r, rows, n);
    if (k > n)
        k = n;
    opt_demos *demos = (opt_demos *)out->demos;
    for (size_t p = 0; p < b->n_preds; p++) {
        opt_demo *items = arena_array(a, k + 1, sizeof *items);
        size_t m = 0;
        for (size_t i = 0; i < k; i++) {
            int ok = 0;
            dsp_status st = b->labeled_demo(b->ctx, a, rows[i], p, &items[m], &ok, err);
            if (st != DSP_OK)
                return st;
            m += ok != 0;
        }
        demos[p] = (opt_demos){ items, m };
    }
    return DSP_OK;
}

static int passes(const opt_bootstrap_args *args, const opt_run *run)
{
    if (!run->ok)
        return 0;
    return args->has_threshold ? run->score >= args->threshold : run->score > 0;
}

opt_bootstrap_args opt_bootstrap_args_from(const opt_params *p)
{
    opt_bootstrap_args args = { 0 };
    args.max_bootstrapped = p->max_bootstrapped_demos;
    args.max_labeled = p->max_labeled_demos;
    args.max_rounds = p->max_rounds;
    args.has_threshold = p->has_threshold;
    args.threshold = p->metric_threshold;
    args.seed = p->seed;
    args.teacher_seed = p->seed;
    return args;
}

dsp_status opt_bootstrap(const opt_backend *b, arena *a, const opt_bootstrap_args *args, opt_program *out,
                         dsp_error *err)
{
    size_t max_bs = args->max_bootstrapped > 0 ? (size_t)args->max_bootstrapped : 0;
    size_t max_lab = args->max_labeled > 0 ? (size_t)args->max_labeled : 0;
    unsigned rounds = args->max_rounds > 0 ? (unsigned)args->max_rounds : 1;

    /* The teacher is the program with labelled demos (DSPy's default
     * teacher). Its demo rows are not bootstrapped, so no example is shown
     * its own answer. */
    unsigned char *teacher_rows = arena_array(a, b->n_train + 1, 1);
    opt_program teacher;
    dsp_status st = opt_labeled(b, a, args->teacher_seed, max_lab, NULL, &teacher, err);
    if (st != DSP_OK)
        return st;
    for (size_t p = 0; p < b->n_preds; p++)
        for (size_t i = 0; i < teacher.demos[p].n; i++)
            teacher_rows[teacher.demos[p].items[i].row] = 1;

    size_t n_order = args->order ? args->n_order : b->n_train;
    size_t *cand = arena_array(a, n_order + 1, sizeof *cand), n_cand = 0;
    for (size_t i = 0; i < n_order; i++) {
        size_t row = args->order ? args->order[i] : i;
        if (row < b->n_train && !teacher_rows[row])
            cand[n_cand++] = row;
    }

    opt_demo **aug = arena_array(a, b->n_preds + 1, sizeof *aug);
    size_t *n_aug = arena_array(a, b->n_preds + 1, sizeof *n_aug);
    for (size_t p = 0; p < b->n_preds; p++)
        aug[p] = arena_array(a, max_bs + 1, sizeof **aug);
    unsigned char *used = arena_array(a, b->n_train + 1, 1);
    size_t n_boot = 0, next = 0;

    /* Rows run in chunks (the backend runs a chunk concurrently) but are
     * taken strictly in order, so the demos do not depend on the chunk
     * size. */
    while (n_boot < max_bs && next < n_cand) {
        size_t chunk = 2 * (max_bs - n_boot);
        if (chunk < 8)
            chunk = 8;
        if (chunk > n_cand - next)
            chunk = n_cand - next;
        const size_t *rows = cand + next;
        opt_run *best = arena_array(a, chunk, sizeof *best);
        size_t *pending = arena_array(a, chunk, sizeof *pending), *pend_rows = arena_array(a, chunk, sizeof *pend_rows);
        size_t n_pending = chunk;
        for (size_t i = 0; i < chunk; i++)
            pending[i] = i, pend_rows[i] = rows[i];
        for (unsigned round = 0; round < rounds && n_pending; round++) {
            opt_run *runs = arena_array(a, n_pending, sizeof *runs);
            st = b->run_train(b->ctx, a, &teacher, pend_rows, n_pending, round, runs, err);
            if (st != DSP_OK)
                return st;
            size_t still = 0;
            for (size_t i = 0; i < n_pending; i++) {
                best[pending[i]] = runs[i];
                if (!passes(args, &runs[i])) {
                    pending[still] = pending[i];
                    pend_rows[still++] = pend_rows[i];
                }
            }
            n_pending = still;
        }
        for (size_t i = 0; i < chunk && n_boot < max_bs; i++) {
            if (!passes(args, &best[i]))
                continue;
            n_boot++;
            used[rows[i]] = 1;
            for (size_t s = 0; s < best[i].n_steps; s++) {
                const opt_step *step = &best[i].steps[s];
                if (step->pred < b->n_preds && opt_whole_run_demo(b, step->pred) &&
                    opt_later_step(&best[i], s))
                    continue; /* a react step: only its last call, the whole trajectory */
                if (step->pred < b->n_preds && n_aug[step->pred] < max_bs) {
                    opt_demo d = step->demo;
                    d.row = rows[i];
                    d.bootstrapped = 1;
                    aug[step->pred][n_aug[step->pred]++] = d;
                }
            }
        }
        next += chunk;
    }

    /* Fill with labelled demos of rows that were not bootstrapped. */
    *out = opt_program_zero_shot(b, a);
    size_t fill = max_lab;
    opt_program raw;
    st = opt_labeled(b, a, args->seed, fill, used, &raw, err);
    if (st != DSP_OK)
        return st;
    opt_demos *demos = (opt_demos *)out->demos;
    for (size_t p = 0; p < b->n_preds; p++) {
        size_t want = max_lab > n_aug[p] ? max_lab - n_aug[p] : 0;
        if (want > raw.demos[p].n)
            want = raw.demos[p].n;
        opt_demo *items = arena_array(a, n_aug[p] + want + 1, sizeof *items);
        memcpy(items, aug[p], n_aug[p] * sizeof *items);
        memcpy(items + n_aug[p], raw.demos[p].items, want * sizeof *items);
        demos[p] = (opt_demos){ items, n_aug[p] + want };
    }
    return DSP_OK;
}

/* One demo set of opt_demo_candidates. */
typedef struct cand_task {
    const opt_backend *b;
    const opt_params *p;
    size_t n;
    opt_program *out;
} cand_task;

static dsp_status one_candidate(void *ctx, size_t c, arena *a, dsp_error *err)
{
    const cand_task *t = ctx;
    const opt_backend *b = t->b;
    const opt_params *p = t->p;
    long seed = (long)c - 3;
    if (b->progress && b->max_parallel <= 1) {
        char msg[96];
        snprintf(msg, sizeof msg, "demo candidate %zu/%zu", c + 1, t->n);
        b->progress(b->ctx, msg);
    }
    if (seed == -3) {
        t->out[c] = opt_program_zero_shot(b, a);
        return DSP_OK;
    }
    if (seed == -2)
        return opt_labeled(b, a, p->seed, (size_t)p->max_labeled_demos, NULL, &t->out[c], err);
    opt_bootstrap_args args = opt_bootstrap_args_from(p);
    if (seed >= 0) {
        /* DSPy shuffles the trainset with the candidate's own seed and
         * bootstraps from it: the order of the traces, the teacher's
         * labelled demos and the labelled top-up all come from this seed,
         * as does the number of demos. */
        uint64_t own = p->seed ^ ((uint64_t)seed << 20);
        size_t *order = arena_array(a, b->n_train + 1, sizeof *order);
        for (size_t i = 0; i < b->n_train; i++)
            order[i] = i;
        rng r;
        rng_derive(&r, own, STREAM_SHUFFLE);
        rng_shuffle(&r, order, b->n_train);
        args.order = order;
        args.n_order = b->n_train;
        args.seed = own;
        args.teacher_seed = own;
        rng_derive(&r, own, STREAM_SIZE);
        if (p->max_bootstrapped_demos > 1)
            args.max_bootstrapped = 1 + (int)rng_below(&r, (size_t)p->max_bootstrapped_demos);
    }
    return opt_bootstrap(b, a, &args, &t->out[c], err);
}

dsp_status opt_demo_candidates(const opt_backend *b, arena *a, const opt_params *p, size_t n, opt_program *out,
                               dsp_error *err)
{
    /* Each set comes from its own seed alone: the sets are built at once
     * (up to the backend's max_parallel) and come out the same either way. */
    if (b->progress && b->max_parallel > 1 && n > 1) {
        char msg[128];
        snprintf(msg, sizeof msg, "demo candidates: %zu sets, up to %d at once", n, b->max_parallel);
        b->progress(b->ctx, msg);
    }
    cand_task t = { b, p, n, out };
    return opt_parallel(b, a, n, one_candidate, &t, err);
}
