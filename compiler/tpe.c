/* tpe.c — categorical TPE (see tpe.h). */
#include "tpe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tpe_options tpe_options_default(void)
{
    tpe_options o = { 10, 24, 1.0, 0.25 };
    return o;
}

int tpe_init(tpe *t, const size_t *n_choices, size_t n_params, uint64_t seed, const tpe_options *opt)
{
    memset(t, 0, sizeof *t);
    t->opt = opt ? *opt : tpe_options_default();
    if (t->opt.n_ei_candidates == 0)
        t->opt.n_ei_candidates = 1;
    if (!(t->opt.prior_weight > 0))
        t->opt.prior_weight = 1.0;
    if (!(t->opt.gamma > 0 && t->opt.gamma <= 1))
        t->opt.gamma = 0.25;
    for (size_t i = 0; i < n_params; i++)
        if (n_choices[i] == 0)
            return -1;
    t->n_params = n_params;
    if (n_params) {
        t->n_choices = malloc(n_params * sizeof *t->n_choices);
        if (!t->n_choices)
            return -1;
        memcpy(t->n_choices, n_choices, n_params * sizeof *t->n_choices);
    }
    rng_seed(&t->r, seed);
    return 0;
}

void tpe_free(tpe *t)
{
    free(t->n_choices);
    free(t->choices);
    free(t->scores);
    memset(t, 0, sizeof *t);
}

int tpe_tell(tpe *t, const size_t *choice, double score)
{
    if (!isfinite(score))
        return -1;
    for (size_t i = 0; i < t->n_params; i++)
        if (choice[i] >= t->n_choices[i])
            return -1;
    if (t->n_trials == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        size_t *c = realloc(t->choices, cap * (t->n_params ? t->n_params : 1) * sizeof *c);
        if (!c)
            return -1;
        t->choices = c;
        double *s = realloc(t->scores, cap * sizeof *s);
        if (!s)
            return -1;
        t->scores = s;
        t->cap = cap;
    }
    memcpy(t->choices + t->n_trials * t->n_params, choice, t->n_params * sizeof *choice);
    t->scores[t->n_trials++] = score;
    return 0;
}

/* Trial order by score, best first; earlier trials win ties so the split
 * does not depend on qsort's instability. */
typedef struct ranked {
    double score;
    size_t trial;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->trial < y->trial ? -1 : x->trial > y->trial;
}

static size_t n_good_of(const tpe *t, size_t n)
{
    size_t g = (size_t)ceil(t->opt.gamma * (double)n);
    if (g > 25)
        g = 25;
    if (g < 1)
        g = 1;
    return g;
}

/* Draws one option of a categorical distribution given unnormalized weights. */
static size_t draw(rng *r, const double *w, size_t k, double total)
{
    double u = rng_uniform(r) * total;
    for (size_t i = 0; i < k; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return k - 1;
}

void tpe_suggest(tpe *t, size_t *out)
{
    if (t->n_trials < t->opt.n_startup || t->n_trials < 2) {
        for (size_t p = 0; p < t->n_params; p++)
            out[p] = rng_below(&t->r, t->n_choices[p]);
        return;
    }
    size_t n = t->n_trials;
    ranked *rk = malloc(n * sizeof *rk);
    size_t maxk = 1;
    for (size_t p = 0; p < t->n_params; p++)
        if (t->n_choices[p] > maxk)
            maxk = t->n_choices[p];
    double *wl = malloc(maxk * sizeof *wl), *wg = malloc(maxk * sizeof *wg);
    if (!rk || !wl || !wg) {
        /* Out of memory: a random suggestion is still a valid one. */
        for (size_t p = 0; p < t->n_params; p++)
            out[p] = rng_below(&t->r, t->n_choices[p]);
        free(rk), free(wl), free(wg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        rk[i] = (ranked){ t->scores[i], i };
    qsort(rk, n, sizeof *rk, cmp_ranked);
    size_t n_good = n_good_of(t, n);
    for (size_t p = 0; p < t->n_params; p++) {
        size_t k = t->n_choices[p];
        double prior = t->opt.prior_weight / (double)k, tl = 0, tg = 0;
        for (size_t c = 0; c < k; c++)
            wl[c] = wg[c] = prior;
        for (size_t i = 0; i < n; i++) {
            size_t c = t->choices[rk[i].trial * t->n_params + p];
            if (i < n_good)
                wl[c] += 1.0;
            else
                wg[c] += 1.0;
        }
        for (size_t c = 0; c < k; c++)
            tl += wl[c], tg += wg[c];
        size_t best = 0;
        double best_ratio = -INFINITY;
        for (size_t e = 0; e < t->opt.n_ei_candidates; e++) {
            size_t c = draw(&t->r, wl, k, tl);
            double ratio = log(wl[c] / tl) - log(wg[c] / tg);
            if (ratio > best_ratio) {
                best_ratio = ratio;
                best = c;
            }
        }
        out[p] = best;
    }
    free(rk);
    free(wl);
    free(wg);
}
