/* finetune.c — fine-tuning jobs over OpenAI's fine-tuning API (stub: the
 * client follows in the next commit). */
#include "dsp/finetune.h"

#include <stdlib.h>
#include <string.h>

static dsp_status not_yet(dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning is not implemented yet in this build of libdsprt");
}

dsp_status dsp_finetune_create(dsp_client *c, const dsp_lm_config *lm, const char *training_jsonl, size_t len,
                               const dsp_finetune_params *p, dsp_finetune_job *job, dsp_error *err)
{
    (void)c, (void)lm, (void)training_jsonl, (void)len, (void)p;
    if (job)
        memset(job, 0, sizeof *job);
    return not_yet(err);
}

dsp_status dsp_finetune_get(dsp_client *c, const dsp_lm_config *lm, const char *job_id, dsp_finetune_job *job,
                            dsp_error *err)
{
    (void)c, (void)lm, (void)job_id;
    if (job)
        memset(job, 0, sizeof *job);
    return not_yet(err);
}

dsp_status dsp_finetune_cancel(dsp_client *c, const dsp_lm_config *lm, const char *job_id, dsp_error *err)
{
    (void)c, (void)lm, (void)job_id;
    return not_yet(err);
}

dsp_status dsp_finetune_wait(dsp_client *c, const dsp_lm_config *lm, const char *job_id, double poll_s,
                             double timeout_s, dsp_finetune_job *job, dsp_error *err)
{
    (void)c, (void)lm, (void)job_id, (void)poll_s, (void)timeout_s;
    if (job)
        memset(job, 0, sizeof *job);
    return not_yet(err);
}

bool dsp_finetune_status_is_terminal(const char *status)
{
    return status && (!strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "cancelled"));
}

dsp_status dsp_finetune_example_json(const dsp_message *msgs, size_t n_msgs, char **out, dsp_error *err)
{
    (void)msgs, (void)n_msgs;
    if (out)
        *out = NULL;
    return not_yet(err);
}

void dsp_finetune_job_free(dsp_finetune_job *job)
{
    if (!job)
        return;
    free(job->id);
    free(job->status);
    free(job->model);
    free(job->fine_tuned_model);
    free(job->error_message);
    memset(job, 0, sizeof *job);
    job->trained_tokens = -1;
}
