/* dsp/ensemble.h — several prompts of one predictor, run on the same input,
 * voting on one output (DSPy's Ensemble with reduce_fn=majority).
 *
 * Each member is a dsp_predict_options with its own instructions and demos
 * (override_demos); every member runs, the formatted values of output
 * `field` are counted (trimmed, case-insensitive: dsp_majority_index), and
 * the call's outputs are those of the earliest member with the majority
 * value. Generated code bakes the members as static const tables; the
 * interpreter builds the same from the state file.
 */
#ifndef DSP_ENSEMBLE_H
#define DSP_ENSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/predict.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsp_ensemble {
    const dsp_predict_options *members; /* n, each with its instructions and demos; none: one plain call */
    size_t n;
    size_t field;                       /* the output voted on: an index into the predictor's outputs */
    /* DSPy's per-call random subset: 0 < size < n runs only `size` members
     * per call, drawn from seed and the call's inputs (so one input always
     * gets the same members, in eval and in generated code alike) and run
     * in member order; 0 or >= n: every member. */
    size_t size;
    uint64_t seed;
    /* Shadow mode: on a client whose variant replaces the predictor, the
     * variant's own ensemble (`dspcc build --shadow-state`) runs in place
     * of this one; NULL: the variant runs plainly. */
    const struct dsp_ensemble *shadow;
} dsp_ensemble;

/* The members a call with these inputs (values of p's signature's inputs)
 * runs: their indices, ascending, into idx (room for e->n); returns how
 * many (0 on failure, with err set). */
size_t dsp_ensemble_choose(const dsp_ensemble *e, const dsp_signature *sig, const dsp_value *inputs, size_t *idx,
                           dsp_error *err);

/* Runs every member of e (or the call's subset, size) on p with inputs; outputs (zeroed, room for the
 * predictor's outputs) get the chosen member's. traces (n of them, after
 * dsp_predict_trace_init; may be NULL) get each member's call. A member
 * that fails fails the call with its error, naming the member. An
 * ensemble of no members is one plain call of p (traces: one). On a client
 * whose variant replaces p (shadow mode), the variant runs e->shadow, or
 * plainly when it is NULL. */
dsp_status dsp_ensemble_run(dsp_client *c, const dsp_predictor *p, const dsp_ensemble *e, const dsp_value *inputs,
                            dsp_value *outputs, dsp_predict_trace *traces, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
