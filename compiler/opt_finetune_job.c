/* opt_finetune_job.c — one fine-tuning job per data set, resumable (see
 * opt_finetune.h).
 *
 * Fine-tuning costs money and takes minutes to hours, so a run that is
 * interrupted while the job trains must not start a second one: the job id
 * is recorded in a small JSON sidecar (beside the state) under the SHA-256
 * of what determines the job, before the first poll, and the model once the
 * job succeeded. A re-run with the same data finds the model there and
 * makes no request at all.
 *
 *   {
 *     "dspcc_finetune_jobs": 1,
 *     "jobs": [
 *       { "key": "9f86d0...", "base_model": "openai/gpt-4o-mini", "data": "t.finetune.jsonl",
 *         "job": "ftjob-abc", "fine_tuned_model": "ft:gpt-4o-mini:dspcc:abc" }
 *     ]
 *   }
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/finetune.h"
#include "opt_finetune.h"

static void say(const opt_ft_job_options *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->progress(o->progress_ctx, msg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* What determines the job: the base model, the arguments and the data. */
static dsp_status job_key(const dsp_lm_config *lm, const opt_finetune_args *args, const char *jsonl, size_t len,
                          char hex[65], dsp_error *err)
{
    char head[512];
    int n = snprintf(head, sizeof head, "dspcc finetune 1\nmodel %s\nn_epochs %d\nseed %llu\n", lm->model,
                     args->n_epochs, (unsigned long long)args->seed);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    int ok = ctx && n > 0 && (size_t)n < sizeof head && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, head, (size_t)n) == 1 && EVP_DigestUpdate(ctx, jsonl, len) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mlen) == 1 && mlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning: cannot hash the training data (model name too long?)");
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return DSP_OK;
}

/* Writes len bytes to path through a temporary file and a rename, so a
 * reader never sees half a file. */
static dsp_status write_atomic(const char *path, const char *data, size_t len, dsp_error *err)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    dsp_status st = DSP_OK;
    if (!ok) {
        st = dsp_error_set(err, DSP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return st;
}

/* The sidecar's jobs, or a new empty document when there is no file. */
static dsp_status read_jobs(const char *path, cJSON **out, dsp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno != ENOENT)
            return dsp_error_set(err, DSP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        cJSON *root = cJSON_CreateObject();
        if (!root || !cJSON_AddNumberToObject(root, "dspcc_finetune_jobs", 1) || !cJSON_AddArrayToObject(root, "jobs")) {
            cJSON_Delete(root);
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        }
        *out = root;
        return DSP_OK;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int ok = 1;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                ok = 0;
                break;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    ok = ok && !ferror(f);
    fclose(f);
    if (!ok) {
        free(text);
        return dsp_error_set(err, DSP_ERR_IO, "cannot read %s", path);
    }
    text[len] = '\0';
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(jobs)) {
        cJSON_Delete(root);
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "%s is not a dspcc fine-tuning jobs file (an object with a \"jobs\" array); it records "
                             "the jobs started so far: repair it, or move it away to start new jobs",
                             path);
    }
    *out = root;
    return DSP_OK;
}

static dsp_status write_jobs(const char *path, cJSON *root, dsp_error *err)
{
    char *text = cJSON_Print(root);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (!withnl) {
        cJSON_free(text);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    dsp_status st = write_atomic(path, withnl, len + 1, err);
    free(withnl);
    return st;
}

static cJSON *find_job(cJSON *root, const char *key)
{
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "jobs"))
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "key"));
        if (k && strcmp(k, key) == 0)
            return e;
    }
    return NULL;
}

static void drop_job(cJSON *root, cJSON *entry)
{
    cJSON_Delete(cJSON_DetachItemViaPointer(cJSON_GetObjectItemCaseSensitive(root, "jobs"), entry));
}

static const char *str_of(cJSON *entry, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, name));
}

/* Polls until the job is over, one progress line per status change and
 * one a minute while it trains. */
static dsp_status poll_job(dsp_client *c, const dsp_lm_config *lm, const opt_ft_job_options *o, const char *id,
                           dsp_finetune_job *job, dsp_error *err)
{
    double wait = 0.25, max_wait = o->poll_max_s > 0 ? o->poll_max_s : 30;
    double start = now_s(), last_said = start;
    char last[64];
    snprintf(last, sizeof last, "%s", job->status ? job->status : "");
    while (!dsp_finetune_status_is_terminal(job->status)) {
        sleep_s(wait);
        wait = wait * 2 > max_wait ? max_wait : wait * 2;
        dsp_finetune_job_free(job);
        dsp_status st = dsp_finetune_get(c, lm, id, job, err);
        if (st != DSP_OK)
            return st;
        double t = now_s();
        if (strcmp(last, job->status ? job->status : "") != 0 || t - last_said >= 60) {
            snprintf(last, sizeof last, "%s", job->status ? job->status : "");
            say(o, "fine-tuning job %s: %s (%.0f s)", id, last, t - start);
            last_said = t;
        }
    }
    return DSP_OK;
}

dsp_status opt_ft_run_job(dsp_client *c, const dsp_lm_config *lm, const opt_ft_job_options *o, arena *a,
                          const char *jsonl, size_t len, const opt_finetune_args *args, opt_finetune_outcome *out,
                          dsp_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_status st = write_atomic(o->data_path, jsonl, len, err);
    if (st != DSP_OK)
        return st;
    char key[65];
    if ((st = job_key(lm, args, jsonl, len, key, err)) != DSP_OK)
        return st;
    cJSON *root = NULL;
    if ((st = read_jobs(o->jobs_path, &root, err)) != DSP_OK)
        return st;
    cJSON *entry = find_job(root, key);
    const char *model = entry ? str_of(entry, "fine_tuned_model") : NULL;
    const char *recorded = entry ? str_of(entry, "job") : NULL;
    dsp_finetune_job job = { 0 };
    job.trained_tokens = -1;
    char *id = NULL;
    if (model && recorded) {
        out->model = arena_strdup(a, model);
        out->job_id = arena_strdup(a, recorded);
        out->resumed = 1;
        say(o, "fine-tuned model %s of job %s, recorded in %s for this data", model, recorded, o->jobs_path);
        cJSON_Delete(root);
        return DSP_OK;
    }
    if (recorded) {
        out->resumed = 1;
        id = arena_strdup(a, recorded);
        say(o, "resuming fine-tuning job %s (recorded in %s)", id, o->jobs_path);
        st = dsp_finetune_get(c, lm, id, &job, err);
        if (st == DSP_OK)
            say(o, "fine-tuning job %s: %s", id, job.status ? job.status : "(no status)");
    } else {
        say(o, "fine-tuning %s on %zu examples (%s)", lm->model, args->n_examples, o->data_path);
        dsp_finetune_params fp = { "dspcc", args->n_epochs, true, args->seed };
        st = dsp_finetune_create(c, lm, jsonl, len, &fp, &job, err);
        if (st != DSP_OK) {
            /* The data is written: name it, for fine-tuning elsewhere. */
            char why[DSP_ERROR_MESSAGE_MAX];
            snprintf(why, sizeof why, "%s", err ? err->message : "");
            dsp_finetune_job_free(&job);
            cJSON_Delete(root);
            return dsp_error_set(err, st, "%s (the training data is in %s)", why, o->data_path);
        }
        if (!job.id)
            st = dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning: the provider created a job without an id");
        if (st == DSP_OK) {
            id = arena_strdup(a, job.id);
            /* Recorded before the first poll: from here on an interrupted
             * run resumes this job instead of paying for another. */
            entry = cJSON_CreateObject();
            if (!entry || !cJSON_AddStringToObject(entry, "key", key) ||
                !cJSON_AddStringToObject(entry, "base_model", lm->model) ||
                !cJSON_AddStringToObject(entry, "data", o->data_path) || !cJSON_AddStringToObject(entry, "job", id) ||
                !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(root, "jobs"), entry)) {
                cJSON_Delete(entry);
                entry = NULL;
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
            }
            if (st == DSP_OK)
                st = write_jobs(o->jobs_path, root, err);
            if (st != DSP_OK) {
                /* Not recorded: a re-run would not find it, so say so
                 * rather than "run again to resume it". */
                char why[DSP_ERROR_MESSAGE_MAX];
                snprintf(why, sizeof why, "%s", err ? err->message : "");
                dsp_finetune_job_free(&job);
                cJSON_Delete(root);
                return dsp_error_set(err, st,
                                     "fine-tuning job %s was started but could not be recorded (%s); wait for it "
                                     "with the provider's tools, or cancel it, before running again",
                                     id, why);
            }
            say(o, "fine-tuning job %s: %s", id, job.status ? job.status : "created");
        }
    }
    if (st == DSP_OK)
        st = poll_job(c, lm, o, id, &job, err);
    char why[DSP_ERROR_MESSAGE_MAX];
    snprintf(why, sizeof why, "%s", st != DSP_OK && err ? err->message : "");
    if (st != DSP_OK && recorded && err && err->status == DSP_ERR_HTTP && err->http_status == 404 && entry) {
        /* The provider does not know the job (another endpoint or account,
         * or it was deleted): forget it so the next run starts one. */
        drop_job(root, entry);
        write_jobs(o->jobs_path, root, NULL);
        st = dsp_error_set(err, DSP_ERR_INVALID,
                           "fine-tuning job %s, recorded in %s, is unknown to the provider; it is forgotten now, "
                           "run again to start a new job",
                           id, o->jobs_path);
    } else if (st != DSP_OK && id) {
        st = dsp_error_set(err, st, "fine-tuning job %s: %s (run again to resume it)", id, why);
    } else if (st == DSP_OK && (strcmp(job.status, "succeeded") != 0 || !job.fine_tuned_model)) {
        snprintf(why, sizeof why, "%s", job.error_message ? job.error_message : "the provider gave no reason");
        st = dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning job %s %s: %s; run again to start a new job", id,
                           strcmp(job.status, "succeeded") == 0 ? "succeeded without a model" : job.status, why);
        if (entry) {
            drop_job(root, entry);
            write_jobs(o->jobs_path, root, NULL);
        }
    } else if (st == DSP_OK) {
        out->model = arena_strdup(a, job.fine_tuned_model);
        out->job_id = id;
        cJSON_DeleteItemFromObjectCaseSensitive(entry, "fine_tuned_model");
        if (!cJSON_AddStringToObject(entry, "fine_tuned_model", out->model))
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        if (st == DSP_OK)
            st = write_jobs(o->jobs_path, root, err);
        if (st == DSP_OK)
            say(o, "fine-tuning job %s: succeeded, model %s", id, out->model);
    }
    dsp_finetune_job_free(&job);
    cJSON_Delete(root);
    return st;
}
