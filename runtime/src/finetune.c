/* finetune.c — fine-tuning jobs over OpenAI's fine-tuning API: upload the
 * training file, create, read, cancel and wait for jobs (see
 * dsp/finetune.h). Each call resolves the endpoint and key like a chat call,
 * then runs its HTTP exchange with the client's retry policy. */
#include "dsp/finetune.h"

#include "client_settings.h"
#include "http_request.h"
#include "lm_wire.h"
#include "retry.h"
#include "secret.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* OpenAI's limit on the suffix of a fine-tuned model's name. */
#define DSP_FINETUNE_MAX_SUFFIX 64
/* Bytes a second an upload is allowed at the least: a training file's
 * request gets the client's timeout plus its size at this rate. */
#define DSP_FINETUNE_MIN_UPLOAD_RATE (64.0 * 1024)
/* Job ids go into URL paths: anything longer is not an id. */
#define DSP_FINETUNE_MAX_ID 256

/* Everything one fine-tuning call needs, resolved once. */
typedef struct ft_call {
    dsp_client_options opts;
    const char *model_spec, *model_name;
    char *base;        /* base URL with its API version path, no trailing '/' */
    char *auth_header; /* holds the key: wiped and freed by ft_call_free */
    const char *key;
    const char *headers[2];
    size_t n_headers;
} ft_call;

static void ft_call_free(ft_call *k)
{
    free(k->base);
    if (k->auth_header) {
        memset(k->auth_header, 0, strlen(k->auth_header));
        free(k->auth_header);
    }
    memset(k, 0, sizeof *k);
}

static dsp_status unsupported(const char *spec, const char *provider, dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "cannot fine-tune %s: %s has no fine-tuning API. Fine-tune through an "
                         "OpenAI-compatible endpoint that serves /fine_tuning/jobs (an \"openai/...\" model, "
                         "with that endpoint's base URL), or fine-tune elsewhere with the training JSONL the "
                         "optimizer writes and use the resulting model",
                         spec, provider);
}

static dsp_status ft_call_init(ft_call *k, dsp_client *c, const dsp_lm_config *lm, const char *what,
                               dsp_error *err)
{
    memset(k, 0, sizeof *k);
    if (!c || !lm)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: client and LM config are required", what);
    k->opts = dsp_client_settings(c);
    k->model_spec = lm->model ? lm->model : "(null)";
    dsp_provider provider;
    dsp_status st = dsp_parse_model(lm->model, &provider, &k->model_name, err);
    if (st != DSP_OK)
        return st;
    switch (provider) {
    case DSP_PROVIDER_OPENAI:
    case DSP_PROVIDER_COMPATIBLE: break;
    case DSP_PROVIDER_ANTHROPIC: return unsupported(k->model_spec, "Anthropic's API", err);
    case DSP_PROVIDER_OLLAMA: return unsupported(k->model_spec, "Ollama", err);
    case DSP_PROVIDER_VLLM: return unsupported(k->model_spec, "vLLM's server", err);
    default:
        /* The presets, azure, gemini and bedrock: dspcc speaks their chat
         * APIs, and fine-tunes only through OpenAI's /fine_tuning/jobs. */
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "cannot fine-tune %s: dspcc fine-tunes only through OpenAI's /fine_tuning/jobs API "
                             "(an \"openai/...\" model, with that endpoint's base URL); fine-tune a %s model with "
                             "its provider's own tools, from the training JSONL the optimizer writes, and use the "
                             "resulting model",
                             k->model_spec, dsp_provider_name(provider));
    }
    const char *base = k->opts.base_url ? k->opts.base_url
                       : lm->base_url   ? lm->base_url
                                        : dsp_provider_default_base_url(provider);
    st = dsp_api_base_url(base, &k->base, err);
    if (st != DSP_OK || !lm->api_key_env)
        return st;
    /* As for chat calls: a server on this machine gets a key only when the
     * variable holds one. */
    const char *set = getenv(lm->api_key_env);
    if ((!set || !*set) && !dsp_provider_needs_key(provider, k->base))
        return DSP_OK;
    const char *key = NULL;
    st = dsp_api_key_from_env(lm->api_key_env, k->model_spec, &key, err);
    if (st != DSP_OK)
        return st;
    static const char prefix[] = "Authorization: Bearer ";
    size_t n = sizeof prefix + strlen(key);
    if (!(k->auth_header = malloc(n)))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building request headers");
    snprintf(k->auth_header, n, "%s%s", prefix, key);
    k->key = key;
    k->headers[k->n_headers++] = k->auth_header;
    return DSP_OK;
}

/* One attempt of an API call: method on base+path with a JSON body (json,
 * may be NULL) or a multipart form (parts). On DSP_OK *out is the parsed
 * reply, a JSON object (the caller deletes it). Otherwise *transient says
 * whether the same request may succeed later, *retry_after is the server's
 * Retry-After (-1: none) and *http_status the reply's status (0: none came).
 * A key the server echoed is redacted here, before the message can be
 * cleared for the next attempt: dsp_error_clear only ends the message at its
 * first byte, so an unredacted message would leave the key in the record's
 * bytes after it. */
static dsp_status api_attempt(const ft_call *k, const char *method, const char *path, const char *json,
                              const dsp_http_part *parts, size_t n_parts, cJSON **out, bool *transient,
                              double *retry_after, int *http_status, dsp_error *err)
{
    *out = NULL;
    *transient = false;
    *retry_after = -1;
    *http_status = 0;
    size_t ul = strlen(k->base) + strlen(path) + 1;
    char *url = malloc(ul);
    if (!url)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a URL");
    snprintf(url, ul, "%s%s", k->base, path);
    const char *headers[3];
    size_t nh = 0;
    for (size_t i = 0; i < k->n_headers; i++)
        headers[nh++] = k->headers[i];
    if (json)
        headers[nh++] = "Content-Type: application/json";
    dsp_http_request rq = {.method = method, .url = url, .headers = headers, .n_headers = nh,
                           .body = json, .len = json ? strlen(json) : 0, .parts = parts, .n_parts = n_parts,
                           .connect_timeout_s = k->opts.connect_timeout_s, .timeout_s = k->opts.timeout_s};
    /* The client's timeout is sized for a chat call; a training file of
     * hundreds of MB takes longer to send. Each byte uploaded adds the time
     * it takes at DSP_FINETUNE_MIN_UPLOAD_RATE, so a slow but working link
     * finishes while a stalled one still fails. */
    size_t upload = 0;
    for (size_t i = 0; i < n_parts; i++)
        upload += parts[i].len;
    if (rq.timeout_s > 0)
        rq.timeout_s += (double)upload / DSP_FINETUNE_MIN_UPLOAD_RATE;
    dsp_http_reply reply;
    dsp_error_clear(err);
    dsp_status st = dsp_http_send(&rq, &reply, err);
    if (st == DSP_OK) {
        *http_status = (int)reply.status;
        if (*http_status >= 200 && *http_status < 300) {
            cJSON *root = cJSON_ParseWithLength(reply.body, reply.len);
            if (cJSON_IsObject(root)) {
                *out = root;
            } else {
                cJSON_Delete(root);
                st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: %s %s answered HTTP %d with no JSON object",
                                   k->model_spec, method, url, *http_status);
                dsp_error_set_raw(err, reply.body, reply.len);
            }
        } else {
            char msg[600];
            dsp_provider_error_message(reply.body, reply.len, msg, sizeof msg);
            st = dsp_error_set(err, DSP_ERR_HTTP, "%s: HTTP %d from %s %s: %s", k->model_spec, *http_status,
                               method, url, msg);
            if (err)
                err->http_status = *http_status;
        }
    }
    /* A 2xx body that is not JSON may have been cut on the way; valid
     * JSON of the wrong shape would come back the same. */
    *transient = dsp_retry_is_transient(st, *http_status);
    if ((st == DSP_ERR_PROTOCOL && dsp_json_is_valid(reply.body, reply.len)) || reply.permanent)
        *transient = false;
    *retry_after = reply.retry_after_s;
    dsp_http_reply_free(&reply);
    if (st != DSP_OK)
        dsp_secret_redact_error(err, k->key);
    free(url);
    return st;
}

static void gave_up(dsp_error *err, int attempts)
{
    if (!err)
        return;
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof err->message - used, " (gave up after %d attempts)", attempts);
}

static uint64_t jitter_seed(const void *salt)
{
    return (((uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(uintptr_t)salt) | 1;
}

/* One API call with the client's retries (see api_attempt); *tries is the
 * number of attempts made. For requests that may be repeated: reads, the
 * upload (a second copy of the file is harmless) and cancel. */
static dsp_status api_call_counted(const ft_call *k, const char *method, const char *path, const char *json,
                                   const dsp_http_part *parts, size_t n_parts, cJSON **out, int *tries,
                                   dsp_error *err)
{
    uint64_t rng = jitter_seed(path);
    int max_attempts = k->opts.max_retries + 1;
    dsp_status st = DSP_ERR_NETWORK;
    for (int attempt = 0; attempt < max_attempts; attempt++) {
        *tries = attempt + 1;
        bool transient;
        double retry_after;
        int http_status;
        st = api_attempt(k, method, path, json, parts, n_parts, out, &transient, &retry_after, &http_status, err);
        if (st == DSP_OK || !transient)
            break;
        if (attempt + 1 >= max_attempts) {
            gave_up(err, max_attempts);
            break;
        }
        dsp_sleep_s(dsp_retry_delay(attempt, k->opts.backoff_base_s, retry_after, &rng));
    }
    return st;
}

static dsp_status api_call(const ft_call *k, const char *method, const char *path, const char *json,
                           const dsp_http_part *parts, size_t n_parts, cJSON **out, dsp_error *err)
{
    int tries;
    return api_call_counted(k, method, path, json, parts, n_parts, out, &tries, err);
}

static char *dup_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* Whether s may stand for a job id, status or model name: it goes into
 * URLs (the job's), the state file, the generated C and the terminal, so
 * a hostile server's '/', quotes, control bytes or megabytes are refused.
 * OpenAI's are letters, digits and - _ . : ("ft:gpt-4o-mini:org:x:abc"). */
static bool plain_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.' || ch == ':'))
            return false;
    }
    return n > 0 && n <= 256;
}

/* Fills job from OpenAI's fine_tuning.job object. */
static dsp_status parse_job(const ft_call *k, const cJSON *root, dsp_finetune_job *job, dsp_error *err)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!cJSON_IsString(id) || !cJSON_IsString(status)) {
        char *raw = cJSON_PrintUnformatted(root);
        dsp_status st = dsp_error_set(err, DSP_ERR_PROTOCOL,
                                      "%s: the fine-tuning job reply has no string \"id\" and \"status\"",
                                      k->model_spec);
        if (raw)
            dsp_error_set_raw(err, raw, strlen(raw));
        cJSON_free(raw);
        return st;
    }
    const cJSON *ftm = cJSON_GetObjectItemCaseSensitive(root, "fine_tuned_model");
    const char *bad = !plain_name(id->valuestring)        ? "id"
                      : !plain_name(status->valuestring)  ? "status"
                      : cJSON_IsString(ftm) && !plain_name(ftm->valuestring) ? "fine_tuned_model"
                                                          : NULL;
    if (bad)
        return dsp_error_set(err, DSP_ERR_PROTOCOL,
                             "%s: the fine-tuning job reply's \"%s\" is not a name of letters, digits and - _ . : "
                             "(at most 256), so it is not used",
                             k->model_spec, bad);
    job->id = strdup(id->valuestring);
    job->status = strdup(status->valuestring);
    job->model = dup_string(root, "model");
    job->fine_tuned_model = dup_string(root, "fine_tuned_model");
    job->error_message = dup_string(cJSON_GetObjectItemCaseSensitive(root, "error"), "message");
    job->trained_tokens = dsp_json_count(cJSON_GetObjectItemCaseSensitive(root, "trained_tokens"));
    if (!job->id || !job->status) {
        dsp_finetune_job_free(job);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading a fine-tuning job");
    }
    return DSP_OK;
}

static void job_reset(dsp_finetune_job *job)
{
    memset(job, 0, sizeof *job);
    job->trained_tokens = -1;
}

/* Checks the training data before it travels: every non-blank line one JSON
 * object with a non-empty "messages" array, as OpenAI's chat fine-tuning
 * format requires. Names the first bad line. */
static dsp_status check_training(const char *data, size_t len, dsp_error *err)
{
    size_t lines = 0, line_no = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line_no++;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < e) {
            cJSON *j = cJSON_ParseWithLength(s, (size_t)(e - s));
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "messages");
            bool ok = cJSON_IsObject(j) && cJSON_IsArray(m) && cJSON_GetArraySize(m) > 0;
            cJSON_Delete(j);
            if (!ok)
                return dsp_error_set(err, DSP_ERR_INVALID,
                                     "training data line %zu is not a chat example: each line must be a JSON "
                                     "object {\"messages\":[{\"role\":...,\"content\":...},...]}",
                                     line_no);
            lines++;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (lines == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "the training data holds no examples (JSONL, one chat example a line)");
    return DSP_OK;
}

/* A job id as a path segment: OpenAI's are "ftjob-" and alphanumerics. */
static dsp_status check_id(const char *id, dsp_error *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > DSP_FINETUNE_MAX_ID)
        return dsp_error_set(err, DSP_ERR_INVALID, "a fine-tuning job id is required (1 to %d characters)",
                             DSP_FINETUNE_MAX_ID);
    /* "." and ".." are path segments of their own: the URL would name
     * another resource. */
    if (strspn(id, ".") == n)
        return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning job id \"%s\" is not an id", id);
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_' || ch == '.' || ch == ':';
        if (!ok)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "fine-tuning job id \"%.80s\" has a character other than letters, digits, "
                                 "'-', '_', '.' and ':'",
                                 id);
    }
    return DSP_OK;
}

/* Prints root (built when ok; freed here) as compact JSON into *out, which
 * the caller frees with free(): cJSON_free and free are the same allocator
 * only unless hooks say otherwise, so the text is copied. what names the
 * text in an out-of-memory message. */
static dsp_status print_json(cJSON *root, bool ok, const char *what, char **out, dsp_error *err)
{
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    *out = s ? strdup(s) : NULL;
    cJSON_free(s);
    return *out ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building %s", what);
}

static dsp_status job_request_body(const char *file_id, const char *model, const dsp_finetune_params *p, char **out,
                                   dsp_error *err)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "training_file", file_id) &&
              cJSON_AddStringToObject(root, "model", model);
    if (ok && p && p->suffix && *p->suffix)
        ok = cJSON_AddStringToObject(root, "suffix", p->suffix) != NULL;
    if (ok && p && p->has_seed)
        /* OpenAI's seed is a 32-bit integer; a double holds it exactly. */
        ok = cJSON_AddNumberToObject(root, "seed", (double)(p->seed & 0x7fffffffu)) != NULL;
    if (ok && p && p->n_epochs > 0) {
        cJSON *hp = cJSON_AddObjectToObject(root, "hyperparameters");
        ok = hp && cJSON_AddNumberToObject(hp, "n_epochs", p->n_epochs);
    }
    return print_json(root, ok, "a fine-tuning request", out, err);
}

/* Looks for a job on training file file_id among the provider's recent jobs
 * (GET /fine_tuning/jobs, newest first). *out is that job (the caller
 * deletes it) or NULL when there is none. */
static dsp_status find_job_on_file(const ft_call *k, const char *file_id, cJSON **out, dsp_error *err)
{
    *out = NULL;
    cJSON *list = NULL;
    dsp_status st = api_call(k, "GET", "/fine_tuning/jobs?limit=100", NULL, NULL, 0, &list, err);
    if (st != DSP_OK)
        return st;
    cJSON *data = cJSON_GetObjectItemCaseSensitive(list, "data");
    for (cJSON *j = cJSON_IsArray(data) ? data->child : NULL; j; j = j->next) {
        const cJSON *tf = cJSON_GetObjectItemCaseSensitive(j, "training_file");
        if (cJSON_IsObject(j) && cJSON_IsString(tf) && strcmp(tf->valuestring, file_id) == 0) {
            *out = cJSON_DetachItemViaPointer(data, j);
            break;
        }
    }
    cJSON_Delete(list);
    return DSP_OK;
}

/* POST /fine_tuning/jobs, which starts a job (and its bill) each time it is
 * received. OpenAI documents no idempotency key for it, so a retry after a
 * failure that may have reached the server (a timeout, a dropped connection,
 * a 5xx) could start a second job. Before each such retry the provider's
 * jobs are searched for one on this upload's file (a file id is unique to
 * its upload, so such a job is this call's): found, it is the result; not
 * found, the request is sent again. The last failure is looked up too (a
 * job it started is returned), and every look-up waits out the backoff
 * first. A 429 is refused before any work and is retried as it is. If the
 * search itself fails, nothing is retried and the error says what to
 * check. */
static dsp_status create_job(const ft_call *k, const char *file_id, const char *body, cJSON **out, dsp_error *err)
{
    uint64_t rng = jitter_seed(body);
    int max_attempts = k->opts.max_retries + 1;
    dsp_status st = DSP_ERR_NETWORK;
    for (int attempt = 0; attempt < max_attempts; attempt++) {
        bool transient;
        double retry_after;
        int http_status;
        st = api_attempt(k, "POST", "/fine_tuning/jobs", body, NULL, 0, out, &transient, &retry_after,
                         &http_status, err);
        if (st == DSP_OK || !transient)
            return st;
        /* The backoff comes before the look at the list, not after: a create
         * still being processed when its reply was lost has that long to
         * show up there. */
        bool last = attempt + 1 >= max_attempts;
        if (http_status != 429 || !last)
            dsp_sleep_s(dsp_retry_delay(attempt, k->opts.backoff_base_s, retry_after, &rng));
        if (http_status != 429) {
            char first[DSP_ERROR_MESSAGE_MAX];
            snprintf(first, sizeof first, "%s", err ? err->message : "the request failed");
            dsp_status fst = st;
            cJSON *found = NULL;
            dsp_status lst = find_job_on_file(k, file_id, &found, err);
            if (lst != DSP_OK) {
                char why[DSP_ERROR_MESSAGE_MAX / 2];
                snprintf(why, sizeof why, "%.300s", err ? err->message : "");
                dsp_error_clear(err);
                dsp_error_set(err, fst,
                              "%.400s; the job may have started all the same, and listing the jobs to find out "
                              "failed (%.300s): look for a job on training file %s before starting another",
                              first, why, file_id);
                if (err)
                    err->http_status = http_status; /* the create's, as the status is */
                return fst;
            }
            if (found) {
                *out = found;
                return DSP_OK;
            }
            /* Not started: the error of the create stands for the retry. */
            dsp_error_set(err, fst, "%s", first);
            if (err)
                err->http_status = http_status;
        }
        if (last) {
            gave_up(err, max_attempts);
            break;
        }
    }
    return st;
}

dsp_status dsp_finetune_create(dsp_client *c, const dsp_lm_config *lm, const char *training_jsonl, size_t len,
                               const dsp_finetune_params *p, dsp_finetune_job *job, dsp_error *err)
{
    if (!job)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_finetune_create: job is NULL");
    job_reset(job);
    if (!training_jsonl)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_finetune_create: no training data");
    if (p && p->suffix && strlen(p->suffix) > DSP_FINETUNE_MAX_SUFFIX)
        return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning suffix \"%.80s\" is longer than %d characters",
                             p->suffix, DSP_FINETUNE_MAX_SUFFIX);
    ft_call k;
    dsp_status st = ft_call_init(&k, c, lm, "dsp_finetune_create", err);
    if (st == DSP_OK)
        st = check_training(training_jsonl, len, err);
    cJSON *file = NULL, *created = NULL;
    if (st == DSP_OK) {
        dsp_http_part parts[] = {
            {.name = "purpose", .data = "fine-tune", .len = 9},
            {.name = "file", .data = training_jsonl, .len = len, .filename = "training.jsonl",
             .type = "application/jsonl"},
        };
        st = api_call(&k, "POST", "/files", NULL, parts, 2, &file, err);
    }
    char *body = NULL;
    if (st == DSP_OK) {
        const cJSON *fid = cJSON_GetObjectItemCaseSensitive(file, "id");
        if (!cJSON_IsString(fid) || !*fid->valuestring)
            st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: the file upload reply has no \"id\"", k.model_spec);
        else
            st = job_request_body(fid->valuestring, k.model_name, p, &body, err);
    }
    if (st == DSP_OK)
        st = create_job(&k, cJSON_GetObjectItemCaseSensitive(file, "id")->valuestring, body, &created, err);
    if (st == DSP_OK)
        st = parse_job(&k, created, job, err);
    if (st != DSP_OK) /* parse_job quotes the reply */
        dsp_secret_redact_error(err, k.key);
    free(body);
    cJSON_Delete(file);
    cJSON_Delete(created);
    ft_call_free(&k);
    return st;
}

dsp_status dsp_finetune_get(dsp_client *c, const dsp_lm_config *lm, const char *job_id, dsp_finetune_job *job,
                            dsp_error *err)
{
    if (!job)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_finetune_get: job is NULL");
    job_reset(job);
    dsp_status st = check_id(job_id, err);
    if (st != DSP_OK)
        return st;
    ft_call k;
    st = ft_call_init(&k, c, lm, "dsp_finetune_get", err);
    char path[DSP_FINETUNE_MAX_ID + 32];
    snprintf(path, sizeof path, "/fine_tuning/jobs/%s", job_id);
    cJSON *root = NULL;
    if (st == DSP_OK)
        st = api_call(&k, "GET", path, NULL, NULL, 0, &root, err);
    if (st == DSP_OK)
        st = parse_job(&k, root, job, err);
    if (st != DSP_OK) /* parse_job quotes the reply */
        dsp_secret_redact_error(err, k.key);
    cJSON_Delete(root);
    ft_call_free(&k);
    return st;
}

dsp_status dsp_finetune_cancel(dsp_client *c, const dsp_lm_config *lm, const char *job_id, dsp_error *err)
{
    dsp_status st = check_id(job_id, err);
    if (st != DSP_OK)
        return st;
    ft_call k;
    st = ft_call_init(&k, c, lm, "dsp_finetune_cancel", err);
    char path[DSP_FINETUNE_MAX_ID + 32];
    snprintf(path, sizeof path, "/fine_tuning/jobs/%s/cancel", job_id);
    cJSON *root = NULL;
    int tries = 0;
    if (st == DSP_OK)
        st = api_call_counted(&k, "POST", path, "{}", NULL, 0, &root, &tries, err);
    cJSON_Delete(root);
    root = NULL;
    if (st == DSP_ERR_HTTP && tries > 1 && err && err->http_status == 400) {
        /* A retried cancel whose first reply was lost meets its own success
         * as a 400 ("already cancelled"): if the job is cancelled now, that
         * is what was asked for. A cancel that was not retried keeps the
         * provider's 400 for a job cancelled before. */
        char first[DSP_ERROR_MESSAGE_MAX];
        snprintf(first, sizeof first, "%s", err->message);
        char gpath[DSP_FINETUNE_MAX_ID + 32];
        snprintf(gpath, sizeof gpath, "/fine_tuning/jobs/%s", job_id);
        const cJSON *status = NULL;
        if (api_call(&k, "GET", gpath, NULL, NULL, 0, &root, err) == DSP_OK &&
            cJSON_IsString(status = cJSON_GetObjectItemCaseSensitive(root, "status")) &&
            strcmp(status->valuestring, "cancelled") == 0) {
            dsp_error_clear(err);
            st = DSP_OK;
        } else {
            dsp_error_set(err, DSP_ERR_HTTP, "%s", first);
            err->http_status = 400;
        }
        cJSON_Delete(root);
    }
    ft_call_free(&k);
    return st;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

dsp_status dsp_finetune_wait(dsp_client *c, const dsp_lm_config *lm, const char *job_id, double poll_s,
                             double timeout_s, dsp_finetune_job *job, dsp_error *err)
{
    if (!job)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_finetune_wait: job is NULL");
    job_reset(job);
    if (!(poll_s > 0)) /* also NaN */
        poll_s = 10;
    /* The job's error message is the provider's text: it could quote the key. */
    const char *key = lm && lm->api_key_env ? getenv(lm->api_key_env) : NULL;
    double start = now_s();
    for (;;) {
        dsp_finetune_job cur;
        dsp_status st = dsp_finetune_get(c, lm, job_id, &cur, err);
        if (st != DSP_OK)
            return st;
        dsp_finetune_job_free(job);
        *job = cur;
        if (strcmp(job->status, "succeeded") == 0) {
            if (!job->fine_tuned_model)
                return dsp_error_set(err, DSP_ERR_PROTOCOL, "fine-tuning job %s succeeded but names no fine_tuned_model",
                                     job->id);
            return DSP_OK;
        }
        if (dsp_finetune_status_is_terminal(job->status)) {
            dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning job %s %s: %s", job->id, job->status,
                          job->error_message ? job->error_message
                          : strcmp(job->status, "cancelled") == 0 ? "it was cancelled"
                                                                   : "the provider gave no reason");
            dsp_secret_redact_error(err, key);
            return DSP_ERR_INVALID;
        }
        /* The last poll falls on the deadline, not a whole interval before
         * it: a job that finishes in the last seconds is still seen. */
        double waited = now_s() - start;
        if (timeout_s > 0 && waited >= timeout_s)
            return dsp_error_set(err, DSP_ERR_TIMEOUT,
                                 "fine-tuning job %s is still %s after %.1f s (the wait's limit is %g s); it goes "
                                 "on: wait for it again later, or cancel it",
                                 job->id, job->status, waited, timeout_s);
        double nap = poll_s;
        if (timeout_s > 0 && nap > timeout_s - waited)
            nap = timeout_s - waited;
        dsp_sleep_s(nap);
    }
}

bool dsp_finetune_status_is_terminal(const char *status)
{
    return status && (!strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "cancelled"));
}

dsp_status dsp_finetune_example_json(const dsp_message *msgs, size_t n_msgs, char **out, dsp_error *err)
{
    if (!out)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_finetune_example_json: out is NULL");
    *out = NULL;
    if (!msgs || n_msgs == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "a training example needs at least one message");
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "messages") : NULL;
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n_msgs; i++) {
        const char *role = msgs[i].role == DSP_ROLE_SYSTEM ? "system"
                           : msgs[i].role == DSP_ROLE_USER ? "user"
                                                           : "assistant";
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(arr, m)) { /* arr owns m once added */
            cJSON_Delete(m);
            ok = false;
            break;
        }
        ok = cJSON_AddStringToObject(m, "role", role) &&
             cJSON_AddStringToObject(m, "content", msgs[i].content ? msgs[i].content : "");
    }
    return print_json(root, ok, "a training example", out, err);
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
    job_reset(job);
}
