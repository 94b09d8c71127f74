/* opt_knn.c — knn_fewshot(k, bootstrap): DSPy's KNNFewShot. Every training
 * example joins the pools of the predictors it has demos for, embedded
 * once by the optimize block's embedder; at run time each input's k
 * nearest pool examples are its demos (dsp/knn.h).
 *
 * DSPy's KNNFewShot runs BootstrapFewShot on each call's neighbours: a
 * neighbour the teacher (the program with labelled demos) gets right
 * becomes a demo of its trace, the others labelled demos. Here the teacher
 * runs once per training row at optimize time instead (through the cache,
 * as bootstrap_fewshot's does), so the pool holds, for each row, its trace
 * when it passed the metric (every predictor's call of it: a chain of
 * thought's reasoning, a multi-step program's middle steps) and its labels
 * otherwise; the rows the teacher shows as demos keep their labels. What
 * the C tables bake is that pool. `bootstrap: false` keeps labelled rows
 * only. The search is that one candidate, scored on the whole valset
 * against the unoptimized program. */
#include <stdio.h>
#include <string.h>

#include "opt.h"

/* Rows per teacher batch, for progress (the demos do not depend on it). */
#define KNN_CHUNK 256

static int passes(const opt_bootstrap_args *args, const opt_run *run)
{
    if (!run->ok)
        return 0;
    return args->has_threshold ? run->score >= args->threshold : run->score > 0;
}

/* The teacher's runs over every training row but its own demos' (runs[row];
 * not run: ok 0); *n_passed counts those that pass. */
static dsp_status teach(const opt_params *p, const opt_backend *b, arena *a, opt_run *runs, size_t *n_passed,
                        dsp_error *err)
{
    opt_bootstrap_args args = opt_bootstrap_args_from(p);
    opt_program teacher;
    dsp_status st = opt_labeled(b, a, args.teacher_seed, (size_t)(args.max_labeled > 0 ? args.max_labeled : 0), NULL,
                                &teacher, err);
    if (st != DSP_OK)
        return st;
    unsigned char *shown = arena_array(a, b->n_train + 1, 1);
    for (size_t pr = 0; pr < b->n_preds; pr++)
        for (size_t i = 0; i < teacher.demos[pr].n; i++)
            shown[teacher.demos[pr].items[i].row] = 1;
    size_t *rows = arena_array(a, b->n_train + 1, sizeof *rows), n = 0;
    for (size_t row = 0; row < b->n_train; row++)
        if (!shown[row])
            rows[n++] = row;
    *n_passed = 0;
    for (size_t at = 0; at < n; at += KNN_CHUNK) {
        size_t m = n - at < KNN_CHUNK ? n - at : KNN_CHUNK;
        if (b->progress) {
            char msg[160];
            snprintf(msg, sizeof msg, "bootstrapping the pool: the teacher on training rows %zu-%zu of %zu", at + 1,
                     at + m, n);
            b->progress(b->ctx, msg);
        }
        opt_run *got = arena_array(a, m, sizeof *got);
        st = b->run_train(b->ctx, a, &teacher, rows + at, m, 0, got, err);
        if (st != DSP_OK)
            return st;
        for (size_t i = 0; i < m; i++) {
            runs[rows[at + i]] = got[i];
            if (!passes(&args, &got[i]))
                runs[rows[at + i]].ok = 0;
            *n_passed += runs[rows[at + i]].ok != 0;
        }
    }
    return DSP_OK;
}

/* Predictor pr's pool: per training row its passing trace's calls of pr
 * (runs may be NULL), else its labelled demo when it has pr's fields. */
static dsp_status pool_of(const opt_backend *b, arena *a, size_t pr, const opt_run *runs, opt_demo **items, size_t *m,
                          dsp_error *err)
{
    size_t cap = b->n_train + 1, n = 0;
    opt_demo *out = arena_array(a, cap, sizeof *out);
    for (size_t row = 0; row < b->n_train; row++) {
        const opt_run *r = runs && runs[row].ok ? &runs[row] : NULL;
        size_t traced = 0;
        for (size_t s = 0; r && s < r->n_steps; s++) {
            const opt_step *step = &r->steps[s];
            if (step->pred != pr || (opt_whole_run_demo(b, pr) && opt_later_step(r, s)))
                continue; /* another predictor's, or a react step before its whole trajectory */
            if (n + 1 >= cap) {
                opt_demo *grown = arena_array(a, 2 * cap, sizeof *grown);
                memcpy(grown, out, n * sizeof *out);
                out = grown;
                cap *= 2;
            }
            out[n] = step->demo;
            out[n].row = row;
            out[n].bootstrapped = 1;
            n++;
            traced++;
        }
        if (traced)
            continue;
        int ok = 0;
        dsp_status st = b->labeled_demo(b->ctx, a, row, pr, &out[n], &ok, err);
        if (st != DSP_OK)
            return st;
        n += ok != 0;
    }
    *items = out;
    *m = n;
    return DSP_OK;
}

dsp_status opt_knn_fewshot(const opt_params *p, const opt_backend *b, arena *a, opt_result *out, dsp_error *err)
{
    if (!b->embed_demos)
        return dsp_error_set(err, DSP_ERR_INVALID, "knn_fewshot: this backend cannot embed demos");
    size_t n_val;
    size_t *val = opt_val_rows(b, a, p->seed, 0, &n_val);
    dsp_status st = opt_score_baseline(b, a, val, n_val, out, err);
    if (st != DSP_OK)
        return st;

    opt_run *runs = NULL;
    size_t n_passed = 0;
    if (p->knn_bootstrap && b->run_train) {
        runs = arena_array(a, b->n_train + 1, sizeof *runs);
        st = teach(p, b, a, runs, &n_passed, err);
        if (st != DSP_OK)
            return st;
    }
    out->best = opt_program_zero_shot(b, a);
    opt_knn *knn = arena_array(a, b->n_preds + 1, sizeof *knn);
    size_t pooled = 0, traced = 0, labelled = 0;
    for (size_t pr = 0; pr < b->n_preds; pr++) {
        opt_demo *items;
        size_t m;
        st = pool_of(b, a, pr, runs, &items, &m, err);
        if (st != DSP_OK)
            return st;
        if (m == 0)
            continue; /* no row has this predictor's fields, nor a trace of it: it keeps no demos */
        for (size_t i = 0; i < m; i++) {
            traced += items[i].bootstrapped != 0;
            labelled += items[i].bootstrapped == 0;
        }
        if (b->progress) {
            char msg[160];
            snprintf(msg, sizeof msg, "embedding %zu training examples of %s", m, b->pred_names[pr]);
            b->progress(b->ctx, msg);
        }
        float *vectors = NULL;
        size_t dim = 0;
        st = b->embed_demos(b->ctx, a, pr, items, m, &vectors, &dim, err);
        if (st != DSP_OK)
            return st;
        knn[pr] = (opt_knn){ (size_t)p->k, { items, m }, vectors, dim };
        pooled++;
    }
    if (pooled == 0)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "knn_fewshot: no training row has the inputs and outputs of any predictor%s, so there "
                             "is nothing to choose demos from",
                             runs ? ", nor did the teacher get any right" : "");
    out->best.knn = knn;
    return opt_score_final(b, a, val, n_val,
                           runs ? arena_printf(a, "knn k=%d, pool of %zu traces and %zu labelled", p->k, traced,
                                               labelled)
                                : arena_printf(a, "knn k=%d", p->k),
                           out, err);
}
