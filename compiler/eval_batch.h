/* eval_batch.h — `dspcc eval --batch`: a data set's LM requests sent
 * through the providers' batch APIs (dsp/lm_batch.h) before the eval
 * itself, which then completes from the response cache. */
#ifndef EVAL_BATCH_H
#define EVAL_BATCH_H

#include "dsp/lm_batch.h"
#include "exec.h"

/* Runs the rows of eo through the program in passes that record the
 * requests the cache cannot answer, and sends each pass's requests as
 * batches (resuming batches an earlier, killed run recorded), until a pass
 * records none: a multi-step program takes a pass per step. Progress goes
 * to stderr. Leaves b attached to c, serving, for the eval that follows;
 * call dsp_lm_batch_finish after it. */
dsp_status ex_batch_prefill(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *eo,
                            dsp_client *c, dsp_lm_batch *b, double poll_s, dsp_error *err);

#endif
