/* tpe.h — a Tree-structured Parzen Estimator over categorical choices, the
 * Bayesian search MIPROv2 runs over each predictor's (instruction, demo set).
 *
 * Each parameter is a choice among n_choices[i] options. After n_startup
 * random trials, every suggestion splits the trials told so far into the
 * best ceil(gamma * n) (capped at 25, as Optuna does) and the rest, fits a
 * smoothed categorical distribution l(x) to the good ones and g(x) to the
 * others for each parameter, draws n_ei_candidates options from l and keeps
 * the one with the highest l(x) / g(x). Parameters are modelled
 * independently. Scores are maximized. All randomness comes from the seed,
 * so the same seed and the same told scores give the same suggestions.
 */
#ifndef DSPCC_TPE_H
#define DSPCC_TPE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef struct tpe_options {
    size_t n_startup;        /* random suggestions first; default 10 */
    size_t n_ei_candidates;  /* draws from l(x) per suggestion; default 24 */
    double prior_weight;     /* pseudo-count spread over every option; default 1.0 */
    double gamma;            /* fraction of trials counted as good; default 0.25 (hyperopt's; Optuna's 0.1
                              * leaves a single "good" trial in a budget of ten) */
} tpe_options;

tpe_options tpe_options_default(void);

typedef struct tpe {
    tpe_options opt;
    size_t n_params;
    size_t *n_choices;       /* owned copy */
    rng r;
    size_t n_trials, cap;
    size_t *choices;         /* n_trials rows of n_params */
    double *scores;
} tpe;

/* Returns 0, or -1 when a parameter has no option or memory runs out. opt
 * may be NULL for the defaults. */
int tpe_init(tpe *t, const size_t *n_choices, size_t n_params, uint64_t seed, const tpe_options *opt);
void tpe_free(tpe *t);
/* Fills out[n_params] with the next configuration to try. */
void tpe_suggest(tpe *t, size_t *out);
/* Records a scored configuration. Returns 0, or -1 on an out-of-range
 * choice, a non-finite score or no memory. */
int tpe_tell(tpe *t, const size_t *choice, double score);

#endif
