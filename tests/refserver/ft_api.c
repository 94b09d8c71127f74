/* ft_api.c — the fine-tuning endpoints (see ft_api.h). */
#include "ft_api.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

/* OpenAI's limit on a fine-tuned model's suffix. */
#define FT_MAX_SUFFIX 64
/* "auto" epochs. */
#define FT_DEFAULT_EPOCHS 3

static const char k_files[] = "/v1/files";
static const char k_jobs[] = "/v1/fine_tuning/jobs";

bool rs_ft_route(const char *url)
{
    return strcmp(url, k_files) == 0 || strncmp(url, k_jobs, sizeof k_jobs - 1) == 0;
}

static void error(rs_arena *a, int status, const char *message, const char *param, const char *code,
                  rs_answer *out)
{
    memset(out, 0, sizeof *out);
    rs_wire_error err = {status, message, param, code};
    out->status = status;
    out->body = rs_wire_error_body(a, RS_API_OPENAI, &err);
    out->send_len = strlen(out->body);
}

static void json_answer(rs_arena *a, cJSON *root, rs_answer *out)
{
    memset(out, 0, sizeof *out);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    out->status = 200;
    out->body = rs_strdup(a, s ? s : "{}");
    out->send_len = strlen(out->body);
    cJSON_free(s);
}

static const char *printf_a(rs_arena *a, const char *fmt, const char *arg)
{
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_printf(&b, fmt, arg);
    return rs_buf_str(&b);
}

static void upload(rs_ft_store *s, rs_arena *a, const rs_ft_upload *up, rs_answer *out)
{
    if (!up || !up->multipart)
        return error(a, 400, "The request must be multipart/form-data with the fields 'purpose' and 'file'.",
                     NULL, NULL, out);
    if (!up->purpose)
        return error(a, 400, "Missing required parameter: 'purpose'.", "purpose", NULL, out);
    if (strcmp(up->purpose, "fine-tune") != 0)
        return error(a, 400,
                     printf_a(a, "Invalid value for 'purpose': '%s'. This test fixture stores files for "
                                 "purpose 'fine-tune' only.",
                              up->purpose),
                     "purpose", NULL, out);
    if (!up->data)
        return error(a, 400, "Missing required parameter: 'file'.", "file", NULL, out);
    rs_arena keep;
    rs_arena_init(&keep);
    rs_ft_memory mem;
    const char *msg;
    if (!rs_ft_memory_parse(&keep, up->data, up->len, &mem, &msg)) {
        error(a, 400, rs_strdup(a, msg), "file", "invalid_file_format", out);
        rs_arena_free(&keep);
        return;
    }
    const rs_ft_file *f = rs_ft_store_add_file(s, up->filename, up->data, up->len, &keep, &mem);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "file");
    cJSON_AddStringToObject(root, "id", f->id);
    cJSON_AddStringToObject(root, "purpose", "fine-tune");
    cJSON_AddStringToObject(root, "filename", f->filename);
    cJSON_AddNumberToObject(root, "bytes", (double)f->bytes);
    cJSON_AddNumberToObject(root, "created_at", (double)(f->created_ms / 1000));
    cJSON_AddStringToObject(root, "status", "processed");
    cJSON_AddNullToObject(root, "status_details");
    json_answer(a, root, out);
}

/* OpenAI's fine_tuning.job object. */
static cJSON *job_object(rs_ft_store *s, rs_arena *a, const rs_ft_job *j, long long now)
{
    const char *why;
    long long finished;
    rs_ft_status st = rs_ft_job_status(s, j, now, a, &why, &finished);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "fine_tuning.job");
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "model", j->base_model);
    cJSON_AddNumberToObject(o, "created_at", (double)(j->created_ms / 1000));
    if (finished)
        cJSON_AddNumberToObject(o, "finished_at", (double)(finished / 1000));
    else
        cJSON_AddNullToObject(o, "finished_at");
    if (st == RS_FT_SUCCEEDED)
        cJSON_AddStringToObject(o, "fine_tuned_model", j->ft_model);
    else
        cJSON_AddNullToObject(o, "fine_tuned_model");
    /* The organisation names the fixture: no real provider trained this. */
    cJSON_AddStringToObject(o, "organization_id", "org-dsp-refserver-test-fixture");
    cJSON_AddArrayToObject(o, "result_files");
    cJSON_AddStringToObject(o, "status", rs_ft_status_name(st));
    cJSON_AddNullToObject(o, "validation_file");
    cJSON_AddStringToObject(o, "training_file", j->file->id);
    cJSON *hp = cJSON_AddObjectToObject(o, "hyperparameters");
    int epochs = j->n_epochs > 0 ? j->n_epochs : FT_DEFAULT_EPOCHS;
    cJSON_AddNumberToObject(hp, "n_epochs", epochs);
    cJSON_AddStringToObject(hp, "batch_size", "auto");
    cJSON_AddStringToObject(hp, "learning_rate_multiplier", "auto");
    if (st == RS_FT_SUCCEEDED)
        cJSON_AddNumberToObject(o, "trained_tokens", (double)j->file->mem.words * epochs);
    else
        cJSON_AddNullToObject(o, "trained_tokens");
    if (st == RS_FT_FAILED) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "invalid_training_file");
        cJSON_AddStringToObject(e, "message", why ? why : "validation failed");
        cJSON_AddStringToObject(e, "param", "training_file");
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    cJSON_AddNumberToObject(o, "seed", (double)(j->has_seed ? j->seed : 0));
    if (j->suffix)
        cJSON_AddStringToObject(o, "suffix", j->suffix);
    else
        cJSON_AddNullToObject(o, "suffix");
    cJSON_AddNullToObject(o, "estimated_finish");
    cJSON_AddArrayToObject(o, "integrations");
    return o;
}

static bool is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15;
}

static void create(rs_ft_store *s, rs_arena *a, const char *body, size_t len, rs_answer *out)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return error(a, 400, "We could not parse the JSON body of your request: expected a JSON object.", NULL,
                     NULL, out);
    }
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(root, "training_file");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(root, "suffix");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(root, "hyperparameters");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(hp, "n_epochs");
    const rs_ft_file *f = cJSON_IsString(tf) ? rs_ft_store_file(s, tf->valuestring) : NULL;
    if (!cJSON_IsString(tf))
        error(a, 400, "Missing required parameter: 'training_file'.", "training_file", NULL, out);
    else if (!f)
        error(a, 400, printf_a(a, "invalid training_file: %s", tf->valuestring), "training_file", NULL, out);
    else if (!cJSON_IsString(model) || !*model->valuestring)
        error(a, 400, "Missing required parameter: 'model'.", "model", NULL, out);
    else if (strncmp(model->valuestring, "ft:", 3) == 0)
        error(a, 400,
              printf_a(a, "Model %s cannot be fine-tuned further by this test fixture: fine-tune the base model "
                          "on all the examples.",
                       model->valuestring),
              "model", "model_not_available", out);
    else if (suffix && !cJSON_IsNull(suffix) &&
             (!cJSON_IsString(suffix) || strlen(suffix->valuestring) > FT_MAX_SUFFIX ||
              strchr(suffix->valuestring, ':')))
        error(a, 400, "Invalid 'suffix': expected a string of at most 64 characters without ':'.", "suffix",
              NULL, out);
    else if (seed && !cJSON_IsNull(seed) && !is_int(seed))
        error(a, 400, "Invalid 'seed': expected an integer.", "seed", NULL, out);
    else if (hp && !cJSON_IsNull(hp) && !cJSON_IsObject(hp))
        error(a, 400, "Invalid 'hyperparameters': expected an object.", "hyperparameters", NULL, out);
    else if (ep && !cJSON_IsNull(ep) && !(cJSON_IsString(ep) && strcmp(ep->valuestring, "auto") == 0) &&
             !(is_int(ep) && ep->valuedouble >= 1 && ep->valuedouble <= 50))
        error(a, 400, "Invalid 'hyperparameters.n_epochs': expected 'auto' or an integer between 1 and 50.",
              "hyperparameters.n_epochs", NULL, out);
    else {
        const rs_ft_job *j = rs_ft_store_add_job(
            s, model->valuestring, cJSON_IsString(suffix) ? suffix->valuestring : NULL, f,
            is_int(ep) ? (int)ep->valuedouble : 0, is_int(seed), is_int(seed) ? (long long)seed->valuedouble : 0);
        json_answer(a, job_object(s, a, j, rs_ft_now_ms()), out);
    }
    cJSON_Delete(root);
}

static void not_found_job(rs_arena *a, const char *id, rs_answer *out)
{
    error(a, 404, printf_a(a, "Could not find fine tune job: %s", id), "fine_tune_id", "fine_tune_job_not_found",
          out);
}

static void method_not_allowed(rs_arena *a, const char *method, const char *url, const char *allow,
                               const char **allow_out, rs_answer *out)
{
    if (allow_out)
        *allow_out = allow;
    rs_buf m;
    rs_buf_init(&m, a);
    rs_buf_printf(&m, "Method %s is not allowed for %s; use %s.", method, url, allow);
    error(a, 405, rs_buf_str(&m), NULL, "method_not_allowed", out);
}

void rs_ft_answer(rs_ft_store *s, rs_arena *a, const char *method, const char *url, const char *body, size_t len,
                  const rs_ft_upload *up, rs_answer *out, const char **allow)
{
    if (allow)
        *allow = NULL;
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    if (strcmp(url, k_files) == 0) {
        if (!post)
            return method_not_allowed(a, method, url, "POST", allow, out);
        return upload(s, a, up, out);
    }
    if (strcmp(url, k_jobs) == 0) {
        if (post)
            return create(s, a, body, len, out);
        if (!get)
            return method_not_allowed(a, method, url, "GET, POST", allow, out);
        /* The list, newest first. */
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "object", "list");
        cJSON *data = cJSON_AddArrayToObject(root, "data");
        long long now = rs_ft_now_ms();
        size_t n = 0;
        while (rs_ft_store_job_at(s, n))
            n++;
        for (size_t i = n; i-- > 0;)
            cJSON_AddItemToArray(data, job_object(s, a, rs_ft_store_job_at(s, i), now));
        cJSON_AddBoolToObject(root, "has_more", 0);
        return json_answer(a, root, out);
    }
    const char *rest = url + sizeof k_jobs - 1;
    if (*rest != '/' || !rest[1])
        goto unknown;
    rest++;
    const char *slash = strchr(rest, '/');
    const char *id = slash ? rs_strndup(a, rest, (size_t)(slash - rest)) : rest;
    if (!slash) {
        if (!get)
            return method_not_allowed(a, method, url, "GET", allow, out);
        const rs_ft_job *j = rs_ft_store_job(s, id);
        if (!j)
            return not_found_job(a, id, out);
        return json_answer(a, job_object(s, a, j, rs_ft_now_ms()), out);
    }
    if (strcmp(slash, "/cancel") == 0) {
        if (!post)
            return method_not_allowed(a, method, url, "POST", allow, out);
        const rs_ft_job *j = rs_ft_store_job(s, id);
        if (!j)
            return not_found_job(a, id, out);
        if (!rs_ft_store_cancel(s, j)) {
            const char *st = rs_ft_status_name(rs_ft_job_status(s, j, rs_ft_now_ms(), NULL, NULL, NULL));
            rs_buf m;
            rs_buf_init(&m, a);
            rs_buf_printf(&m, "Job %s has already %s and cannot be cancelled.", id, st);
            return error(a, 400, rs_buf_str(&m), NULL, NULL, out);
        }
        return json_answer(a, job_object(s, a, j, rs_ft_now_ms()), out);
    }
unknown:
    error(a, 404,
          printf_a(a, "Unknown request URL: %s. This test fixture serves POST /v1/files, POST and GET "
                      "/v1/fine_tuning/jobs, GET /v1/fine_tuning/jobs/{id} and POST "
                      "/v1/fine_tuning/jobs/{id}/cancel.",
                   url),
          NULL, "unknown_url", out);
}
