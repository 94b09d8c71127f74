/* opt_finetune.h — better_together's weight step on the runtime: turning
 * teacher traces into fine-tuning data (opt_finetune_data.c) and running
 * the fine-tuning job once per data set (opt_finetune_job.c).
 *
 * A training example is one predictor call rendered exactly as the chat
 * adapter renders it at run time, with the program's instructions and no
 * demos (the weights are to learn the task, not the demos): the system
 * message, the final user message with the inputs, and as the assistant's
 * turn the outputs that parsed, in the adapter's `[[ ## field ## ]]`
 * format. One JSON object {"messages":[...]} a line: OpenAI's chat
 * fine-tuning format, which other tools (LoRA trainers) read too.
 */
#ifndef DSPCC_OPT_FINETUNE_H
#define DSPCC_OPT_FINETUNE_H

#include <stddef.h>

#include "arena.h"
#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/signature.h"
#include "opt.h"

/* The three messages (system, user, assistant) of one call of predictor p
 * with instructions (NULL: the signature's) whose adapter texts are in call
 * (one input per signature input, one output per predictor output; none
 * may be NULL). Appended to *out. */
dsp_status opt_ft_messages(const dsp_predictor *p, const char *instructions, const opt_demo *call, dsp_messages *out,
                           dsp_error *err);

/* The same as one JSONL line without the newline (malloc'ed). */
dsp_status opt_ft_example(const dsp_predictor *p, const char *instructions, const opt_demo *call, char **line,
                          dsp_error *err);

/* Where a fine-tuning run keeps its files and says how it goes. */
typedef struct opt_ft_job_options {
    const char *data_path;       /* the JSONL is written here */
    const char *jobs_path;       /* the sidecar recording jobs by data hash; locked through jobs_path.lock */
    const char *base_url;        /* the client's override of every lm's base URL (--base-url,
                                    $DSPCC_BASE_URL), NULL or "" for none: part of a job's key */
    void (*progress)(void *ctx, const char *msg); /* may be NULL */
    void *progress_ctx;
    double poll_max_s;           /* longest wait between polls; <= 0: 30 */
} opt_ft_job_options;

/* Writes the data, then fine-tunes lm's base model on it and waits for the
 * model. A job is keyed by the SHA-256 of (provider, base URL, base model,
 * arguments, data bytes) in the sidecar: a key with a model answers at
 * once, a key with a job is polled (an interrupted run, or one running at
 * the same time, resumes it), else a job is created and recorded before the
 * first poll, under an flock that makes a concurrent run on the same
 * sidecar wait and then poll that job. A failed or cancelled job is an error
 * carrying the provider's message, and its key is dropped so that the next
 * run starts afresh. Strings of *out live in a. */
dsp_status opt_ft_run_job(dsp_client *c, const dsp_lm_config *lm, const opt_ft_job_options *o, arena *a,
                          const char *jsonl, size_t len, const opt_finetune_args *args, opt_finetune_outcome *out,
                          dsp_error *err);

/* Where a local LoRA training run keeps its files. */
typedef struct opt_ft_local_options {
    const char *lm_name;         /* for messages */
    const char *trainer;         /* the command template */
    const char *base_model;      /* {base_model}: the lm's model name, without the provider */
    const char *base_dir;        /* the .dsp's directory: the trainer runs there, adapter paths are relative to it */
    const char *data_path;       /* the JSONL is written here */
    const char *adapters_dir;    /* adapters go to adapters_dir/KEY (created if need be) */
    int quiet;                   /* do not copy the trainer's output to stderr */
    void (*progress)(void *ctx, const char *msg); /* may be NULL */
    void *progress_ctx;
} opt_ft_local_options;

/* Writes the data, then trains a LoRA adapter on it with the trainer, or
 * takes the one trained before on the same data and settings when its
 * SHA-256 still matches the record (opt_finetune_local.c). On success
 * out->adapter_* describe it and out->model is its serving name. A trainer
 * that fails, crashes or writes nothing is an error quoting its last lines.
 * Strings of *out live in a. */
dsp_status opt_ft_run_local(const opt_ft_local_options *o, arena *a, const char *jsonl, size_t len,
                            const opt_finetune_args *args, opt_finetune_outcome *out, dsp_error *err);

/* A progress line, formatted (nothing when progress is NULL). */
void opt_ft_say(void (*progress)(void *ctx, const char *msg), void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The SHA-256 of head[0..head_len) then data[0..len) as 64 hex digits:
 * what keys a fine-tuning run. 0 when it cannot be computed (head_len <= 0:
 * the head did not fit its buffer). */
int opt_ft_key(const char *head, int head_len, const char *data, size_t len, char hex[65]);

#endif
