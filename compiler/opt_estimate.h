/* opt_estimate.h — what an optimize run would cost, before any LM call
 * (`dspcc optimize --estimate`, opt_estimate.c). */
#ifndef DSPCC_OPT_ESTIMATE_H
#define DSPCC_OPT_ESTIMATE_H

#include "opt.h"
#include "opt_exec.h"

typedef struct opt_estimate {
    long long lm_calls, prompt_tokens, completion_tokens;
    double cost_usd;             /* of the calls on lms with prices */
    long long unpriced_calls;    /* calls on lms without prices */
    long long program_runs;      /* runs of the program scoring candidates (valset rows, GEPA's minibatches) */
    long long teacher_runs;      /* teacher runs on training rows (bootstrapping) */
    long long proposals;         /* instruction proposals and reflections */
    long long judge_calls;       /* the metric's judge(...) calls (score and feedback), in lm_calls */
    long long finetune_jobs, finetune_examples; /* better_together: fine-tuning (not in the tokens) */
    size_t trials;
} opt_estimate;

/* Runs optimizer p over x's program and data against a backend that
 * counts instead of calling the LM: stand-in scores, prompt tokens from the
 * rendered prompts' sizes (about 4 characters a token), completion tokens
 * guessed per output field. */
dsp_status opt_estimate_run(opt_exec *x, const opt_params *p, arena *a, opt_estimate *out, dsp_error *err);

#endif
