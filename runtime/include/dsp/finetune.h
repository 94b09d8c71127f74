/* dsp/finetune.h — fine-tuning jobs through OpenAI's fine-tuning API.
 *
 * BetterTogether (the optimizer) writes the successful traces of its
 * prompt-optimized program as chat examples, one JSON object
 * {"messages":[...]} per line, uploads them, starts a job on the LM's base
 * model and, once the job succeeds, bakes the job's fine_tuned_model into the
 * generated C as "openai/<fine_tuned_model>".
 *
 * Wire format (OpenAI's documented API, relative to the LM's base URL, which
 * the client's base URL override and $DSPCC_BASE_URL replace as for chat):
 *   POST {base}/files                    multipart: purpose=fine-tune, file=<JSONL>
 *   POST {base}/fine_tuning/jobs         {"training_file","model","suffix","seed",
 *                                         "hyperparameters":{"n_epochs"}}
 *   GET  {base}/fine_tuning/jobs/{id}
 *   POST {base}/fine_tuning/jobs/{id}/cancel
 * The key comes from lm->api_key_env as for chat, and never appears in an
 * error message. Transient failures (connection errors, timeouts, 408, 409,
 * 429, 5xx) are retried with the client's backoff; 400, 401, 403 and 404
 * fail at once with the provider's message (DSP_ERR_HTTP, err->http_status).
 * The job create is not resent blindly (each one received starts a job):
 * after a failure that may have reached the server, the provider's job list
 * is searched for a job on the uploaded file first (see docs/runtime.md).
 *
 * Only OpenAI-compatible endpoints that serve this API can fine-tune
 * ("openai/..." models, with a base URL for other servers). Anthropic, Ollama
 * and vLLM models fail at once with DSP_ERR_INVALID and a message that says
 * what to do instead. No response is cached.
 *
 * Note for the optimizer: the calls take the LM (dsp_lm_config) whose base
 * model is fine-tuned, since a dsp_client alone knows no model, key or base
 * URL. Jobs take minutes to hours on real providers: poll with
 * dsp_finetune_get or dsp_finetune_wait.
 */
#ifndef DSP_FINETUNE_H
#define DSP_FINETUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A fine-tuning job as the provider reports it. Every string is owned
 * (free with dsp_finetune_job_free) and NULL when the provider sent none. */
typedef struct dsp_finetune_job {
    char *id;                /* "ftjob-..." */
    char *status;            /* validating_files, queued, running, succeeded, failed, cancelled */
    char *model;             /* the base model, as the provider names it */
    char *fine_tuned_model;  /* e.g. "ft:gpt-4o-mini:suffix:id" once succeeded; else NULL */
    char *error_message;     /* why a failed job failed (error.message), else NULL */
    int64_t trained_tokens;  /* -1 when not reported (yet) */
} dsp_finetune_job;

typedef struct dsp_finetune_params {
    const char *suffix;  /* up to 64 characters in the model name; NULL: none */
    int n_epochs;        /* <= 0: provider default ("auto") */
    bool has_seed;       /* send seed (reproducible jobs) */
    uint64_t seed;
} dsp_finetune_params;

/* Uploads training_jsonl (len bytes of JSONL chat examples) with
 * purpose=fine-tune, then creates a job on lm's base model. On DSP_OK *job
 * holds the new job (usually status validating_files or queued). p may be
 * NULL for the defaults. job is overwritten: pass a zeroed or freed one. */
dsp_status dsp_finetune_create(dsp_client *c, const dsp_lm_config *lm, const char *training_jsonl, size_t len,
                               const dsp_finetune_params *p, dsp_finetune_job *job, dsp_error *err);

/* The current state of a job. An unknown id is DSP_ERR_HTTP with
 * http_status 404. A job that failed is still DSP_OK here: read job->status
 * and job->error_message. */
dsp_status dsp_finetune_get(dsp_client *c, const dsp_lm_config *lm, const char *job_id, dsp_finetune_job *job,
                            dsp_error *err);

/* Asks the provider to cancel a job (a finished job cannot be cancelled:
 * the provider's 400 comes back as DSP_ERR_HTTP, as for a second cancel).
 * A retried cancel whose first reply was lost meets its own success as a
 * 400: then the job is looked up, and DSP_OK if it is cancelled. */
dsp_status dsp_finetune_cancel(dsp_client *c, const dsp_lm_config *lm, const char *job_id, dsp_error *err);

/* Polls every poll_s seconds (<= 0: 10) until the job reaches a terminal
 * status or timeout_s seconds passed (<= 0: no limit). DSP_OK only when the
 * job succeeded with a fine_tuned_model. A failed or cancelled job is
 * DSP_ERR_INVALID (usually the training data: the message carries the
 * provider's error); running out of time is DSP_ERR_TIMEOUT (the job goes
 * on: cancel it or poll again); the last poll falls on the deadline. *job
 * holds the last state seen, or is zeroed when no state was read. */
dsp_status dsp_finetune_wait(dsp_client *c, const dsp_lm_config *lm, const char *job_id, double poll_s,
                             double timeout_s, dsp_finetune_job *job, dsp_error *err);

/* True for succeeded, failed and cancelled. */
bool dsp_finetune_status_is_terminal(const char *status);

/* One training example as a JSONL line without the newline:
 * {"messages":[{"role":"system","content":...},...]} (owned, NUL-terminated).
 * The last message should be the assistant's answer to learn. */
dsp_status dsp_finetune_example_json(const dsp_message *msgs, size_t n_msgs, char **out, dsp_error *err);

void dsp_finetune_job_free(dsp_finetune_job *job);

#ifdef __cplusplus
}
#endif
#endif
