/* eval_batch.h — `dspcc eval --batch`: a data set's LM requests sent
 * through the providers' batch APIs (dsp/lm_batch.h) before the eval
 * itself, which then completes from the response cache; and
 * `--batch-export` / `--batch-import`: the same requests as files for
 * vLLM's offline batch runner. */
#ifndef EVAL_BATCH_H
#define EVAL_BATCH_H

#include <stdbool.h>

#include "dsp/lm_batch.h"
#include "exec.h"

/* Runs the rows of eo through the program in passes that record the
 * requests the cache cannot answer, and sends each pass's requests as
 * batches (resuming batches an earlier, killed run recorded), until a pass
 * records none: a multi-step program takes a pass per step. Progress goes
 * to stderr. Waits for the batches max_wait_s in all, the rounds
 * together (<= 0: the runtime's 25 h), then fails with DSP_ERR_TIMEOUT
 * (they stay recorded: the same command resumes them). Leaves b attached
 * to c, serving, for the eval that follows; call dsp_lm_batch_finish
 * after it. */
dsp_status ex_batch_prefill(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *eo,
                            dsp_client *c, dsp_lm_batch *b, double poll_s, double max_wait_s, dsp_error *err);

/* --batch-import import_path (may be NULL): a pass records the requests
 * the cache lacks, and the file's results (vLLM's batch runner's output, or
 * an OpenAI batch's) answer them. --batch-export export_path (may be
 * NULL): a pass stores those replies in the cache and records the requests
 * that follow; they are written as OpenAI batch input JSONL (atomically),
 * and *exported is set: the eval stops there. Without export_path, b stays
 * attached to c, serving, for the eval that follows (call
 * dsp_lm_batch_finish after it). Progress and next steps go to stderr. */
dsp_status ex_batch_files(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *eo,
                          dsp_client *c, dsp_lm_batch *b, const char *import_path, const char *export_path,
                          bool *exported, dsp_error *err);

#endif
