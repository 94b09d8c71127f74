/* dsp/sample.h — inference-time strategies over one predictor: sample it n
 * times and keep one answer (DSPy's BestOfN, Refine and majority).
 *
 * Sample i (0-based) is a distinct request: the options' temperature when
 * above 0, else the lm's when above 0, else 1.0; rollout id i + 1 (a distinct cache entry) and
 * sampling seed i + 1 (so servers that honour seeds, and the reference
 * fixture, answer each differently). best_of_n's and majority's samples
 * (and dsp_mcc_run's attempts) are made at once on dsp_run_each's pool, up
 * to the client's max_in_flight, then read in order, so the kept sample is
 * the same whatever order they finish in; the observer sees every sample,
 * in order, on the calling thread. refine's run one after another (each
 * reads the feedback on the one before); on a client with max_in_flight 1
 * all do, and best_of_n stops at the first that reaches the threshold.
 *
 *   - best_of_n: the first sample whose reward reaches the threshold, else
 *     the one with the highest reward (the earliest on ties).
 *   - refine: the same, but after a sample that falls short, the next is
 *     asked with feedback: the instructions gain a note quoting the
 *     previous attempt's outputs and reward and the threshold to reach.
 *   - majority: the most common value of one output (compared as trimmed,
 *     case-insensitive text), the earliest sample with it on ties; its whole
 *     outputs are returned.
 *
 * A sample that fails to parse is skipped (and gets no reward); if every
 * sample fails, the last failure is returned. A transport failure (HTTP,
 * network, key) fails the call at once, as a plain predictor call would.
 */
#ifndef DSP_SAMPLE_H
#define DSP_SAMPLE_H

#include <stddef.h>

#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/predict.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reward of one sample: inputs (one per signature input) and outputs
 * (one per predictor output). A failure fails the whole call. */
typedef dsp_status (*dsp_reward_fn)(void *ctx, const dsp_value *inputs, const dsp_value *outputs, double *reward,
                                    dsp_error *err);

typedef enum dsp_pick {
    DSP_PICK_BEST_OF_N = 0,
    DSP_PICK_REFINE,
    DSP_PICK_MAJORITY
} dsp_pick;

typedef struct dsp_sampling {
    dsp_pick pick;
    int n;                  /* samples, 1 to 100 */
    dsp_reward_fn reward;   /* BEST_OF_N, REFINE: required */
    bool has_threshold;     /* BEST_OF_N, REFINE: stop at the first reward >= threshold */
    double threshold;
    size_t field;           /* MAJORITY: the output voted on (index into the predictor's outputs) */
} dsp_sampling;

/* Called after every sample (status DSP_OK: out holds its outputs), for
 * traces and usage; a non-OK return stops the call with that error. */
typedef dsp_status (*dsp_sample_observer)(void *ctx, const dsp_predictor *p, dsp_status status, const dsp_value *in,
                                          const dsp_value *out, const dsp_predict_trace *trace, dsp_error *err);

typedef struct dsp_sample_options {
    const dsp_predict_options *predict; /* NULL: the predictor's */
    void *reward_ctx;
    dsp_sample_observer observe;        /* NULL: none */
    void *observe_ctx;
} dsp_sample_options;

/* Runs the strategy; outputs (dsp_strategy_n_outputs values, zeroed) get
 * the chosen sample's outputs. o may be NULL. */
dsp_status dsp_sample_run(dsp_client *c, const dsp_predictor *p, const dsp_sampling *s, const dsp_sample_options *o,
                          const dsp_value *inputs, dsp_value *outputs, dsp_error *err);

/* multi_chain_comparison (DSPy's MultiChainComparison): m reasoning
 * attempts of `attempt` (chain of thought over the signature; sampled as
 * above), then one call of `compare`, whose inputs are the signature's
 * followed by reasoning_attempt_1 .. reasoning_attempt_m, each
 * "«REASONING I'm not sure but my prediction is OUTPUTS»", and whose outputs
 * (`rationale`, then the signature's) are the call's. An attempt that
 * cannot be parsed is shown as "«this attempt could not be read»"; if none
 * can, the call fails. */
typedef struct dsp_mcc {
    const dsp_predictor *attempt;
    const dsp_predictor *compare;
    int m;                  /* 1 to 20 */
} dsp_mcc;

/* inputs: one per signature input; outputs: the compare predictor's
 * outputs (zeroed). Only o->predict of an attempt's options is used for
 * the attempts; compare_opts (may be NULL) for the comparison. */
dsp_status dsp_mcc_run(dsp_client *c, const dsp_mcc *x, const dsp_sample_options *o,
                       const dsp_predict_options *compare_opts, const dsp_value *inputs, dsp_value *outputs,
                       dsp_error *err);

/* The index of the majority value among n formatted values (trimmed,
 * case-insensitive; NULL entries never win); the earliest on ties; n if all
 * are NULL. */
size_t dsp_majority_index(const char *const *texts, size_t n);

#ifdef __cplusplus
}
#endif
#endif
