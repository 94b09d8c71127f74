/* eval_batch.c — the passes of `dspcc eval --batch` (see eval_batch.h). */
#include "eval_batch.h"

#include <stdio.h>
#include <string.h>

/* A program whose requests depend on earlier replies needs one round per
 * step; loops (refine, react) may need more. Past this, the rest goes as
 * normal calls in the eval itself. */
#define EX_BATCH_MAX_ROUNDS 32

dsp_status ex_batch_prefill(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *eo,
                            dsp_client *c, dsp_lm_batch *b, double poll_s, dsp_error *err)
{
    dsp_lm_batch_options bo;
    memset(&bo, 0, sizeof bo);
    bo.poll_s = poll_s;
    dsp_lm_batch_report rep;
    memset(&rep, 0, sizeof rep);
    ex_eval_options o = *eo;
    o.progress = NULL;
    o.keep_outputs = false;
    dsp_status st = DSP_OK;
    for (int round = 1; st == DSP_OK; round++) {
        /* A pass: replies of the last round are stored in the cache, the
         * requests that follow from them recorded; its scores mean nothing. */
        dsp_client_attach_batch(c, b, true);
        ex_eval_result res;
        st = ex_evaluate(r, cfg, d, &o, &res, err);
        if (st == DSP_OK)
            ex_eval_result_free(&res);
        dsp_client_attach_batch(c, b, false);
        size_t n = st == DSP_OK ? dsp_lm_batch_pending(b) : 0;
        if (n == 0)
            break;
        if (round > EX_BATCH_MAX_ROUNDS) {
            fprintf(stderr, "batch: %zu requests still follow after %d rounds; the eval sends them as normal calls\n",
                    n, EX_BATCH_MAX_ROUNDS);
            break;
        }
        fprintf(stderr, "batch: round %d: %zu requests the cache does not hold\n", round, n);
        st = dsp_lm_batch_run(c, b, &bo, &rep, err);
    }
    /* The last pass stored the last replies: the cache must hold them
     * before the records of their batches go. */
    if (st == DSP_OK)
        st = dsp_lm_batch_finish(c, b, err);
    if (rep.batches)
        fprintf(stderr,
                "batch: %zu batch%s (%zu resumed) of %zu requests: %zu replies kept, %zu sent as normal calls\n",
                rep.batches, rep.batches == 1 ? "" : "es", rep.resumed, rep.requests, rep.succeeded, rep.failed);
    else if (st == DSP_OK)
        fprintf(stderr, "batch: the cache holds every request: nothing to send\n");
    return st;
}
