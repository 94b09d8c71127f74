/* dsp/lm_batch.h — sending a run's LM requests through a provider's batch
 * API: OpenAI's Batch API (POST /files with purpose "batch" and a JSONL of
 * {custom_id, method, url, body}, POST /batches, GET /batches/{id}, GET
 * /files/{output_file_id}/content: the JSONL vLLM's batch runner reads too)
 * and Anthropic's Message Batches (POST /v1/messages/batches, GET
 * /v1/messages/batches/{id}, its results_url). Half the price, answers
 * within a day: for work that can wait (an eval, bootstrapping demos).
 *
 * How a run uses it (dspcc eval --batch does this, docs/runtime.md):
 *   1. attach a dsp_lm_batch to the client, collecting, and run the program:
 *      a call that misses the cache is not sent but recorded, and fails
 *      with DSP_ERR_DEFERRED (throw that pass's results away);
 *   2. dsp_lm_batch_run sends the recorded requests as batches, polls them
 *      and keeps their replies;
 *   3. run again: a call whose reply the batch holds gets it as if from the
 *      LM (checked for a piece of the key, parsed, stored in the response
 *      cache under the key the call would use); calls that depend on those
 *      replies (a program's later steps) are recorded: back to 2 until a
 *      pass records nothing;
 *   4. the normal run then completes from the cache; dsp_lm_batch_finish.
 * A batch is recorded under the cache directory (batches/, named by a
 * SHA-256 of the requests) as soon as the provider accepted it, so a run
 * killed while waiting resumes the same batch instead of sending another.
 * Requests a batch could not answer (errored, expired, a batch that failed,
 * an endpoint with no batch API) are not recorded again: later passes send
 * them as normal calls, and the report counts them.
 *
 * Needs the response cache (a client with no_cache defers nothing).
 * Gemini, Bedrock and Azure lms, calls with the cache bypassed and
 * Anthropic calls with n > 1 are always sent as normal calls. */
#ifndef DSP_LM_BATCH_H
#define DSP_LM_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/client.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsp_lm_batch dsp_lm_batch;

dsp_status dsp_lm_batch_new(dsp_lm_batch **out, dsp_error *err);
void dsp_lm_batch_free(dsp_lm_batch *b);

/* Attaches b to c (NULL detaches; b must outlive the attachment). collect:
 * cache misses that can go in a batch are recorded and fail with
 * DSP_ERR_DEFERRED; otherwise every miss b has no reply for is sent. */
void dsp_client_attach_batch(dsp_client *c, dsp_lm_batch *b, bool collect);

/* Requests recorded and not yet sent. */
size_t dsp_lm_batch_pending(dsp_lm_batch *b);

typedef struct dsp_lm_batch_options {
    double poll_s;     /* between two status requests; <= 0: 10 */
    double max_wait_s; /* give up waiting after this long in all, the batches of the run
                        * together (they stay recorded); <= 0: 25 hours */
    /* A progress line (no newline): submitted, resumed, counts as they
     * change (and every 5 minutes while they do not, with the time left
     * to wait), the end. NULL: stderr, "batch: ..." */
    void (*progress)(void *ctx, const char *line);
    void *progress_ctx;
} dsp_lm_batch_options;

typedef struct dsp_lm_batch_report {
    size_t batches;   /* sent or resumed */
    size_t resumed;   /* of those, found recorded by an earlier run */
    size_t requests;  /* in them */
    size_t succeeded; /* replies kept */
    size_t failed;    /* errored, expired or never answered: sent as normal calls later */
} dsp_lm_batch_report;

/* Sends every pending request (one batch per endpoint, model and key
 * variable), or resumes the batch recorded for the same requests; waits
 * for each to end; keeps the replies. rep (may be NULL) adds up. A batch
 * that cannot be sent or fails is not an error: its requests are marked
 * for normal calls and the progress line says why. DSP_ERR_TIMEOUT when
 * max_wait_s passed (run again to resume). */
dsp_status dsp_lm_batch_run(dsp_client *c, dsp_lm_batch *b, const dsp_lm_batch_options *o,
                            dsp_lm_batch_report *rep, dsp_error *err);

/* Once the run is done: writes the cache and removes the records of the
 * batches whose replies it now holds. */
dsp_status dsp_lm_batch_finish(dsp_client *c, dsp_lm_batch *b, dsp_error *err);

/* Batches as files, for vLLM's offline batch runner (python -m
 * vllm.entrypoints.openai.run_batch -i IN -o OUT), which reads OpenAI's
 * batch input JSONL and writes its output JSONL without an API server:
 * `dspcc eval --batch-export` and `--batch-import` (docs/runtime.md). */

/* The pending requests as OpenAI batch input lines ({"custom_id": the cache
 * key, "method": "POST", "url": "/v1/chat/completions", "body": the request
 * dsp_chat would send}, one per line, in key order): malloc'ed text in
 * *jsonl, len bytes, n requests (0: "" and nothing pending). Requests of an
 * Anthropic lm are DSP_ERR_INVALID, naming it. They stay pending. */
dsp_status dsp_lm_batch_export(dsp_lm_batch *b, char **jsonl, size_t *len, size_t *n, dsp_error *err);

typedef struct dsp_lm_batch_import_report {
    size_t lines;   /* lines read (blank ones not counted) */
    size_t replies; /* replies kept for pending requests */
    size_t failed;  /* pending requests the file answers with an error: sent as normal calls */
    size_t unknown; /* lines for requests nothing pending asks (another program, data set or round) */
    size_t missing; /* pending requests the file does not answer: still pending */
    char first_failure[300];
} dsp_lm_batch_import_report;

/* Reads a batch output file (OpenAI's Batch API and vLLM's batch runner
 * both write {"id", "custom_id", "response": {"status_code", "request_id",
 * "body"}, "error"} lines) against the pending requests. Each one it
 * answers leaves the pending list: a 200's body is checked as a reply is
 * and kept for the next pass (served and cached as a batch reply is), an
 * error line marks the request for a normal call. A line that is not such
 * an object is DSP_ERR_PARSE naming what:LINE, and keeps nothing of the
 * file (no reply, no failure). */
dsp_status dsp_lm_batch_import(dsp_lm_batch *b, const char *what, const char *text, size_t len,
                               dsp_lm_batch_import_report *rep, dsp_error *err);

#ifdef __cplusplus
}
#endif

#endif
