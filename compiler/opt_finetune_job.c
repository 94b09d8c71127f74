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
 *       { "key": "9f86d0...", "provider": "openai", "base_url": "https://api.openai.com/v1",
 *         "base_model": "openai/gpt-4o-mini", "data": "t.finetune.jsonl",
 *         "job": "ftjob-abc", "fine_tuned_model": "ft:gpt-4o-mini:dspcc:abc" }
 *     ]
 *   }
 *
 * The endpoint is part of the key: a job id means nothing to another
 * provider or server. Two dspcc processes on the same data at once (make -j)
 * must not both pay for a job, so every read-modify-write of the file holds
 * an flock on NAME.finetune-jobs.json.lock (not on the file itself, which a
 * rename replaces), and job creation holds it from the look-up until the job
 * is recorded: the second process waits, then finds and polls the first
 * one's job. The kernel drops the lock of a killed process. The file is
 * only ever replaced by a rename of a complete, fsync'ed temporary file, so
 * a kill -9 leaves the old file or the new one.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "dsp/finetune.h"
#include "file_read.h"
#include "file_write.h"
#include "opt_finetune.h"

#define say(o, ...) opt_ft_say((o)->progress, (o)->progress_ctx, __VA_ARGS__)

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

/* The endpoint a job lives on: the provider (the model's prefix) and the
 * base URL without trailing slashes (the override, else the lm's). Never
 * the API key. */
typedef struct ft_endpoint {
    char provider[32];
    const char *base_url; /* borrowed */
    size_t base_len;
} ft_endpoint;

static void endpoint_of(const dsp_lm_config *lm, const opt_ft_job_options *o, ft_endpoint *ep)
{
    const char *slash = lm->model ? strchr(lm->model, '/') : NULL;
    int n = slash ? (int)(slash - lm->model) : 0;
    snprintf(ep->provider, sizeof ep->provider, "%.*s", n, n ? lm->model : "");
    ep->base_url = o->base_url && *o->base_url ? o->base_url : lm->base_url ? lm->base_url : "";
    ep->base_len = strlen(ep->base_url);
    while (ep->base_len > 0 && ep->base_url[ep->base_len - 1] == '/')
        ep->base_len--;
}

/* What determines the job: the endpoint, the base model, the arguments and
 * the data. */
static dsp_status job_key(const dsp_lm_config *lm, const ft_endpoint *ep, const opt_finetune_args *args,
                          const char *jsonl, size_t len, char hex[65], dsp_error *err)
{
    char head[2048];
    int n = snprintf(head, sizeof head, "dspcc finetune 2\nprovider %s\nbase_url %.*s\nmodel %s\nn_epochs %d\nseed %llu\n",
                     ep->provider, (int)ep->base_len, ep->base_url, lm->model, args->n_epochs,
                     (unsigned long long)args->seed);
    if (!opt_ft_key(head, n < (int)sizeof head ? n : -1, jsonl, len, hex))
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "fine-tuning: cannot hash the training data (model name or base URL too long?)");
    return DSP_OK;
}

/* Writes a file atomically (file_write.h): a run killed at any moment
 * leaves the old jobs file or the new one. */
static dsp_status write_file(const char *path, const char *data, size_t len, dsp_error *err)
{
    char why[FW_WHY_MAX];
    if (fw_write_file(path, data, len, 0644, why) != 0)
        return dsp_error_set(err, DSP_ERR_IO, "%s", why);
    return DSP_OK;
}

/* Takes the exclusive lock of the jobs file (path.lock, created if need
 * be), waiting for another process that holds it; *fd is -1 on failure. */
static dsp_status lock_jobs(const opt_ft_job_options *o, int *fd, dsp_error *err)
{
    size_t n = strlen(o->jobs_path) + 8;
    char *lp = malloc(n);
    if (!lp)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    snprintf(lp, n, "%s.lock", o->jobs_path);
    *fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    int rc = *fd < 0 ? -1 : flock(*fd, LOCK_EX | LOCK_NB);
    if (rc != 0 && *fd >= 0 && (errno == EWOULDBLOCK || errno == EINTR)) {
        say(o, "waiting for another dspcc that holds %s (it may be starting this fine-tuning job)", lp);
        while ((rc = flock(*fd, LOCK_EX)) != 0 && errno == EINTR)
            ;
    }
    dsp_status st = DSP_OK;
    if (rc != 0) {
        st = dsp_error_set(err, DSP_ERR_IO,
                           "cannot lock %s: %s (it keeps two runs from starting the same fine-tuning job; the "
                           "directory of the state must be writable and support flock)",
                           lp, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
    }
    free(lp);
    return st;
}

static void unlock_jobs(int *fd)
{
    if (*fd >= 0)
        close(*fd); /* closing the last descriptor releases the flock */
    *fd = -1;
}

/* The sidecar's jobs, or a new empty document when there is no file. */
static dsp_status read_jobs(const char *path, cJSON **out, dsp_error *err)
{
    *out = NULL;
    const char *why;
    FILE *f = fr_open_regular(path, &why);
    if (!f) {
        if (errno != ENOENT)
            return dsp_error_set(err, DSP_ERR_IO, "cannot read %s: %s", path, why);
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
    dsp_status st = write_file(path, withnl, len + 1, err);
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
                           double max_wait_s, dsp_finetune_job *job, dsp_error *err)
{
    double wait = 0.25, max_wait = o->poll_max_s > 0 ? o->poll_max_s : 30;
    double start = now_s(), last_said = start;
    /* A job stuck at the provider must not hang a Makefile for ever; it is
     * left recorded, so the next run goes on waiting for the same job. */
    double limit = max_wait_s > 0 ? max_wait_s : 24 * 3600.0;
    char last[64];
    snprintf(last, sizeof last, "%s", job->status ? job->status : "");
    while (!dsp_finetune_status_is_terminal(job->status)) {
        double left = limit - (now_s() - start);
        if (left <= 0)
            return dsp_error_set(err, DSP_ERR_TIMEOUT,
                                 "still %s after %.0f s (finetune_wait_minutes: %g); it goes on at the provider",
                                 job->status ? job->status : "unfinished", now_s() - start, limit / 60);
        if (wait > left)
            wait = left;
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

/* A new entry recording job id of key. */
static cJSON *new_entry(const char *key, const ft_endpoint *ep, const dsp_lm_config *lm, const opt_ft_job_options *o,
                        const char *id)
{
    char *base = malloc(ep->base_len + 1);
    cJSON *entry = base ? cJSON_CreateObject() : NULL;
    if (base) {
        memcpy(base, ep->base_url, ep->base_len);
        base[ep->base_len] = '\0';
    }
    if (!entry || !cJSON_AddStringToObject(entry, "key", key) ||
        !cJSON_AddStringToObject(entry, "provider", ep->provider) || !cJSON_AddStringToObject(entry, "base_url", base) ||
        !cJSON_AddStringToObject(entry, "base_model", lm->model) ||
        !cJSON_AddStringToObject(entry, "data", o->data_path) || !cJSON_AddStringToObject(entry, "job", id)) {
        cJSON_Delete(entry);
        entry = NULL;
    }
    free(base);
    return entry;
}

/* Takes the lock of the jobs file, then reads it (*fd is the lock, -1 on
 * failure; close_jobs ends what this starts). */
static dsp_status open_jobs(const opt_ft_job_options *o, int *fd, cJSON **root, dsp_error *err)
{
    *root = NULL;
    dsp_status st = lock_jobs(o, fd, err);
    if (st == DSP_OK && (st = read_jobs(o->jobs_path, root, err)) != DSP_OK)
        unlock_jobs(fd);
    return st;
}

static void close_jobs(int *fd, cJSON *root)
{
    cJSON_Delete(root);
    unlock_jobs(fd);
}

/* Records the model of job id under key (model != NULL) or forgets the
 * job, on the file as it is now: another process may have written it since
 * this one read it. An entry that no longer records job id (another run
 * dropped or replaced it) is left alone. */
static dsp_status update_job(const opt_ft_job_options *o, const char *key, const char *id, const char *model,
                             dsp_error *err)
{
    int fd = -1;
    cJSON *root = NULL;
    dsp_status st = open_jobs(o, &fd, &root, err);
    if (st != DSP_OK)
        return st;
    cJSON *entry = find_job(root, key);
    const char *job = entry ? str_of(entry, "job") : NULL;
    if (job && strcmp(job, id) == 0) {
        if (model) {
            cJSON_DeleteItemFromObjectCaseSensitive(entry, "fine_tuned_model");
            if (!cJSON_AddStringToObject(entry, "fine_tuned_model", model))
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        } else {
            drop_job(root, entry);
        }
        if (st == DSP_OK)
            st = write_jobs(o->jobs_path, root, err);
    }
    close_jobs(&fd, root);
    return st;
}

dsp_status opt_ft_run_job(dsp_client *c, const dsp_lm_config *lm, const opt_ft_job_options *o, arena *a,
                          const char *jsonl, size_t len, const opt_finetune_args *args, opt_finetune_outcome *out,
                          dsp_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_status st = write_file(o->data_path, jsonl, len, err);
    if (st != DSP_OK)
        return st;
    ft_endpoint ep;
    endpoint_of(lm, o, &ep);
    char key[65];
    if ((st = job_key(lm, &ep, args, jsonl, len, key, err)) != DSP_OK)
        return st;
    /* Held from the look-up until a new job is recorded. */
    int lock = -1;
    cJSON *root = NULL;
    if ((st = open_jobs(o, &lock, &root, err)) != DSP_OK)
        return st;
    cJSON *entry = find_job(root, key);
    const char *model = entry ? str_of(entry, "fine_tuned_model") : NULL;
    const char *recorded = entry ? str_of(entry, "job") : NULL;
    dsp_finetune_job job = { 0 };
    job.trained_tokens = -1;
    char *id = recorded ? arena_strdup(a, recorded) : NULL;
    int resuming = id != NULL; /* recorded points into root, freed before the poll */
    if (model && recorded) {
        out->model = arena_strdup(a, model);
        out->job_id = id;
        out->resumed = 1;
        say(o, "fine-tuned model %s of job %s, recorded in %s for this data", model, recorded, o->jobs_path);
        close_jobs(&lock, root);
        return DSP_OK;
    }
    if (id) {
        /* Recorded by an interrupted run, or by one running now: poll it. */
        close_jobs(&lock, root);
        out->resumed = 1;
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
            close_jobs(&lock, root);
            return dsp_error_set(err, st, "%s (the training data is in %s)", why, o->data_path);
        }
        if (!job.id)
            st = dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning: the provider created a job without an id");
        if (st == DSP_OK) {
            id = arena_strdup(a, job.id);
            /* Recorded before the first poll: from here on an interrupted
             * run resumes this job instead of paying for another. */
            entry = new_entry(key, &ep, lm, o, id);
            if (!entry || !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(root, "jobs"), entry)) {
                cJSON_Delete(entry);
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
                close_jobs(&lock, root);
                return dsp_error_set(err, st,
                                     "fine-tuning job %s was started but could not be recorded (%s); wait for it "
                                     "with the provider's tools, or cancel it, before running again",
                                     id, why);
            }
            say(o, "fine-tuning job %s: %s", id, job.status ? job.status : "created");
        }
        close_jobs(&lock, root);
    }
    if (st == DSP_OK)
        st = poll_job(c, lm, o, id, args->max_wait_s, &job, err);
    char why[DSP_ERROR_MESSAGE_MAX];
    snprintf(why, sizeof why, "%s", st != DSP_OK && err ? err->message : "");
    if (st != DSP_OK && resuming && err && err->status == DSP_ERR_HTTP && err->http_status == 404) {
        /* The provider does not know the job (deleted, or another account
         * on this endpoint): forget it so the next run starts one. */
        update_job(o, key, id, NULL, NULL);
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
        update_job(o, key, id, NULL, NULL);
    } else if (st == DSP_OK) {
        out->model = arena_strdup(a, job.fine_tuned_model);
        out->job_id = id;
        st = update_job(o, key, id, out->model, err);
        if (st == DSP_OK)
            say(o, "fine-tuning job %s: succeeded, model %s", id, out->model);
    }
    dsp_finetune_job_free(&job);
    return st;
}
