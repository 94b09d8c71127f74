/* test_finetune.c — the fine-tuning client (dsp/finetune.h) against a stub
 * of OpenAI's fine-tuning API on 127.0.0.1 (libmicrohttpd, in this file).
 *
 * The stub answers with the request and reply shapes OpenAI documents
 * (POST /v1/files multipart, POST /v1/fine_tuning/jobs, GET and cancel of
 * a job) and records what it received, so the tests check the wire format
 * as well as the parsed results. The first path segment of the base URL
 * picks a scenario (errors, retries, job states). */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsp/finetune.h"
#include "../support/stub_http.h"

#define TEST_KEY "sk-dsptest-FT-8d1e4c2b7a90"

/* ---- the stub server ---------------------------------------------------- */

typedef struct seen {
    char method[8];
    char url[256];
    char auth[128];
    char content_type[160];
    char *body; /* owned */
    size_t len;
} seen;

#define MAX_SEEN 16

static struct {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t lock;
    seen reqs[MAX_SEEN];
    int n;          /* requests recorded (at most MAX_SEEN kept) */
    int polls;      /* GETs of the "seq" job */
    int job_posts;  /* POSTs to /fine_tuning/jobs */
    double lost_at; /* "late": when the create's reply was lost */
} S;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* A job object as OpenAI documents it. error: NULL for `null`. */
static char *job_json(const char *id, const char *status, const char *ft_model, const char *error, long tokens)
{
    char *s = malloc(2048);
    char ftm[160], err[400], tok[32];
    snprintf(ftm, sizeof ftm, ft_model ? "\"%s\"" : "null", ft_model);
    snprintf(err, sizeof err,
             error ? "{\"code\":\"invalid_training_file\",\"message\":\"%s\",\"param\":\"training_file\"}" : "null",
             error);
    snprintf(tok, sizeof tok, tokens >= 0 ? "%ld" : "null", tokens);
    snprintf(s, 2048,
             "{\"object\":\"fine_tuning.job\",\"id\":\"%s\",\"model\":\"gpt-4o-mini-2024-07-18\","
             "\"created_at\":1721764800,\"finished_at\":null,\"fine_tuned_model\":%s,"
             "\"organization_id\":\"org-123\",\"result_files\":[],\"status\":\"%s\",\"validation_file\":null,"
             "\"training_file\":\"file-abc123\",\"hyperparameters\":{\"n_epochs\":\"auto\"},"
             "\"trained_tokens\":%s,\"error\":%s,\"seed\":42,\"integrations\":[]}",
             id, ftm, status, tok, err);
    return s;
}

static enum MHD_Result respond_job(struct MHD_Connection *conn, const char *id, const char *status,
                                   const char *ft_model, const char *error, long tokens)
{
    char *j = job_json(id, status, ft_model, error, tokens);
    enum MHD_Result r = respond(conn, 200, j);
    free(j);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls, (void)version;
    enum MHD_Result more;
    stub_upload *u = stub_http_body(con_cls, data, data_size, &more);
    if (!u)
        return more;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    pthread_mutex_lock(&S.lock);
    int nth = S.n++;
    if (nth < MAX_SEEN) {
        seen *s = &S.reqs[nth];
        snprintf(s->method, sizeof s->method, "%s", method);
        snprintf(s->url, sizeof s->url, "%s", url);
        snprintf(s->auth, sizeof s->auth, "%s", auth ? auth : "");
        snprintf(s->content_type, sizeof s->content_type, "%s", ct ? ct : "");
        s->body = u->buf ? strndup(u->buf, u->len) : NULL;
        s->len = u->len;
    }
    int polls = strstr(url, "/ftjob-seq") ? S.polls++ : 0;
    static const char jobs[] = "/fine_tuning/jobs";
    size_t ul = strlen(url);
    bool job_post = strcmp(method, "POST") == 0 && ul >= sizeof jobs - 1 && strcmp(url + ul - (sizeof jobs - 1), jobs) == 0;
    int job_posts = job_post ? S.job_posts++ : -1;
    pthread_mutex_unlock(&S.lock);

    /* Scenario: the first path segment. */
    const char *rest = strchr(url + 1, '/');
    size_t sl = rest ? (size_t)(rest - url - 1) : strlen(url + 1);
    char scen[32];
    snprintf(scen, sizeof scen, "%.*s", (int)(sl < sizeof scen ? sl : sizeof scen - 1), url + 1);
    const char *path = rest ? rest : "";

    if (strcmp(scen, "e400") == 0) {
        /* Like OpenAI, an error message that quotes the key. */
        char body[512];
        snprintf(body, sizeof body,
                 "{\"error\":{\"message\":\"Invalid file format for Fine-Tuning API. Must be .jsonl (key %s)\","
                 "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}",
                 auth ? auth : "");
        return respond(conn, 400, body);
    }
    if (strcmp(scen, "flaky") == 0 && nth == 0)
        return respond(conn, 503, "{\"error\":{\"message\":\"The engine is currently overloaded\",\"type\":\"server_error\"}}");
    if (strcmp(scen, "notjson") == 0)
        return respond(conn, 200, "[1,2]");
    /* A hostile server: a model name that would retitle the terminal, an
     * id that climbs out of the job's URL. */
    if (strcmp(scen, "hostile") == 0)
        return strstr(path, "ftjob-esc") ? respond_job(conn, "ftjob-esc", "succeeded", "ft:x\\u001b]0;pwned\\u0007", NULL, 5)
                                         : respond_job(conn, "../../files/file-abc", "running", NULL, NULL, -1);
    /* Job creates whose reply is lost: "lost" started the job before its
     * 500, "lostnone" did not; "nolist" cannot list jobs either; "busy" is
     * rate limited once (refused before any work). */
    bool list = strcmp(path, "/v1/fine_tuning/jobs") == 0 && strcmp(method, "GET") == 0;
    /* "late": the job lost with the first create's reply shows in the list
     * only 150 ms later (the server was still at it). */
    if (strcmp(scen, "late") == 0 && job_posts == 0) {
        pthread_mutex_lock(&S.lock);
        S.lost_at = mono_s();
        pthread_mutex_unlock(&S.lock);
        return respond(conn, 502, "{\"error\":{\"message\":\"Bad gateway\",\"type\":\"server_error\"}}");
    }
    if (strcmp(scen, "late") == 0 && list) {
        pthread_mutex_lock(&S.lock);
        bool shown = mono_s() - S.lost_at >= 0.15;
        pthread_mutex_unlock(&S.lock);
        char *ours = job_json("ftjob-late", "queued", NULL, NULL, -1);
        char body[2200];
        snprintf(body, sizeof body, "{\"object\":\"list\",\"data\":[%s],\"has_more\":false}", shown ? ours : "");
        free(ours);
        return respond(conn, 200, body);
    }
    if (strcmp(scen, "lost") == 0 || strcmp(scen, "lostnone") == 0 || strcmp(scen, "nolist") == 0) {
        if (job_posts == 0)
            return respond(conn, 500, "{\"error\":{\"message\":\"The server had an error while processing your "
                                      "request\",\"type\":\"server_error\"}}");
        if (list && strcmp(scen, "nolist") == 0)
            return respond(conn, 503, "{\"error\":{\"message\":\"Service unavailable\",\"type\":\"server_error\"}}");
        if (list) {
            /* Newest first: someone else's job, then (for "lost") ours. */
            char *other = job_json("ftjob-other", "running", NULL, NULL, -1);
            char *ours = job_json("ftjob-lost", "validating_files", NULL, NULL, -1);
            char *p = strstr(other, "file-abc123");
            memcpy(p, "file-zzz999", 11);
            char body[4200];
            snprintf(body, sizeof body, "{\"object\":\"list\",\"data\":[%s%s%s],\"has_more\":false}", other,
                     strcmp(scen, "lost") == 0 ? "," : "", strcmp(scen, "lost") == 0 ? ours : "");
            free(other);
            free(ours);
            return respond(conn, 200, body);
        }
    }
    if (strcmp(scen, "slowup") == 0 && strcmp(path, "/v1/files") == 0)
        usleep(600 * 1000); /* as if a large file took its time to arrive */
    /* "cxl": the first cancel of ftjob-run cancels it but its reply is
     * lost (502); after that the job is cancelled, and a cancel is a 400. */
    if (strcmp(scen, "cxl") == 0 && strcmp(path, "/v1/fine_tuning/jobs/ftjob-run/cancel") == 0)
        return nth == 0 ? respond(conn, 502, "{\"error\":{\"message\":\"Bad gateway\",\"type\":\"server_error\"}}")
                        : respond(conn, 400, "{\"error\":{\"message\":\"Job has already been cancelled: ftjob-run\","
                                             "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
    if (strcmp(scen, "cxl") == 0 && strcmp(path, "/v1/fine_tuning/jobs/ftjob-run") == 0)
        return respond_job(conn, "ftjob-run", "cancelled", NULL, NULL, -1);
    if (strcmp(scen, "busy") == 0 && job_posts == 0)
        return respond(conn, 429, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}");
    /* "echo": the first reply quotes the Authorization header in a 503,
     * and ftjob-leak failed with the header in its error message. */
    if (strcmp(scen, "echo") == 0 && nth == 0) {
        char body[512];
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"overloaded (you sent %s)\",\"type\":\"server_error\"}}",
                 auth ? auth : "");
        return respond(conn, 503, body);
    }
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-leak") == 0 && strcmp(method, "GET") == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "Training failed; request had %s", auth ? auth : "");
        return respond_job(conn, "ftjob-leak", "failed", NULL, msg, -1);
    }
    if (strcmp(path, "/v1/files") == 0 && strcmp(method, "POST") == 0)
        return respond(conn, 200,
                       "{\"id\":\"file-abc123\",\"object\":\"file\",\"bytes\":120000,\"created_at\":1677610602,"
                       "\"filename\":\"training.jsonl\",\"purpose\":\"fine-tune\"}");
    if (strcmp(path, "/v1/fine_tuning/jobs") == 0 && strcmp(method, "POST") == 0)
        return respond_job(conn, "ftjob-abc123", "validating_files", NULL, NULL, -1);
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-done") == 0 && strcmp(method, "GET") == 0)
        return respond_job(conn, "ftjob-done", "succeeded", "ft:gpt-4o-mini-2024-07-18:org:tickets:9x8y7z", NULL,
                           5768);
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-bad") == 0 && strcmp(method, "GET") == 0)
        return respond_job(conn, "ftjob-bad", "failed", NULL,
                           "Training file has 3 example(s), but must have at least 10 examples", -1);
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-run") == 0 && strcmp(method, "GET") == 0)
        return respond_job(conn, "ftjob-run", "running", NULL, NULL, -1);
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-seq") == 0 && strcmp(method, "GET") == 0)
        return polls < 2 ? respond_job(conn, "ftjob-seq", polls ? "running" : "validating_files", NULL, NULL, -1)
                         : respond_job(conn, "ftjob-seq", "succeeded", "ft:gpt-4o-mini:org::seq1", NULL, 100);
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-run/cancel") == 0 && strcmp(method, "POST") == 0)
        return respond_job(conn, "ftjob-run", "cancelled", NULL, NULL, -1);
    if (strcmp(path, "/v1/fine_tuning/jobs/ftjob-done/cancel") == 0 && strcmp(method, "POST") == 0)
        return respond(conn, 400,
                       "{\"error\":{\"message\":\"Job has already completed: ftjob-done\","
                       "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
    return respond(conn, 404,
                   "{\"error\":{\"message\":\"Could not find fine tune job: ftjob-nope\","
                   "\"type\":\"invalid_request_error\",\"param\":\"fine_tune_id\",\"code\":\"fine_tune_job_not_found\"}}");
}

static void forget(void)
{
    pthread_mutex_lock(&S.lock);
    for (int i = 0; i < MAX_SEEN; i++) {
        free(S.reqs[i].body);
        memset(&S.reqs[i], 0, sizeof S.reqs[i]);
    }
    S.n = 0;
    S.polls = 0;
    S.job_posts = 0;
    pthread_mutex_unlock(&S.lock);
}

static int start(void **state)
{
    (void)state;
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.lock, NULL);
    S.d = stub_http_start(handle, NULL, &S.port);
    if (!S.d)
        return -1;
    setenv("DSP_FT_TEST_KEY", TEST_KEY, 1);
    unsetenv("DSPCC_BASE_URL");
    return 0;
}

static int stop(void **state)
{
    (void)state;
    MHD_stop_daemon(S.d);
    forget();
    pthread_mutex_destroy(&S.lock);
    return 0;
}

static int before(void **state)
{
    (void)state;
    forget();
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static char g_base[160];

static dsp_lm_config lm_for(const char *scenario)
{
    snprintf(g_base, sizeof g_base, "http://127.0.0.1:%u/%s/v1", S.port, scenario);
    dsp_lm_config lm = {.model = "openai/gpt-4o-mini", .base_url = g_base, .api_key_env = "DSP_FT_TEST_KEY",
                        .params = dsp_lm_params_default()};
    return lm;
}

static dsp_client *client(void)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 2;
    o.backoff_base_s = 0.01;
    o.timeout_s = 10;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    return c;
}

static const char k_train[] =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Classify.\"},{\"role\":\"user\",\"content\":\"I was charged "
    "twice\"},{\"role\":\"assistant\",\"content\":\"billing\"}]}\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"cannot log in\"},{\"role\":\"assistant\",\"content\":\"account\"}]}\n";

static int recorded(void)
{
    pthread_mutex_lock(&S.lock);
    int n = S.n;
    pthread_mutex_unlock(&S.lock);
    return n;
}

static bool has(const seen *s, const char *needle)
{
    return s->body && memmem(s->body, s->len, needle, strlen(needle)) != NULL;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_create_uploads_multipart_then_creates_the_job(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_params p = {.suffix = "tickets", .n_epochs = 3, .has_seed = true, .seed = 42};
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), &p, &job, &err), DSP_OK);
    assert_string_equal(job.id, "ftjob-abc123");
    assert_string_equal(job.status, "validating_files");
    assert_string_equal(job.model, "gpt-4o-mini-2024-07-18");
    assert_null(job.fine_tuned_model);
    assert_null(job.error_message);
    assert_int_equal(job.trained_tokens, -1);
    assert_int_equal(recorded(), 2);

    /* 1: the file, as multipart/form-data with purpose and file parts. */
    seen *f = &S.reqs[0];
    assert_string_equal(f->method, "POST");
    assert_string_equal(f->url, "/ok/v1/files");
    assert_string_equal(f->auth, "Bearer " TEST_KEY);
    assert_non_null(strstr(f->content_type, "multipart/form-data; boundary="));
    assert_non_null(f->body);
    assert_true(has(f, "Content-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"));
    assert_true(has(f, "Content-Disposition: form-data; name=\"file\"; filename=\"training.jsonl\"\r\n"
                       "Content-Type: application/jsonl\r\n\r\n"));
    assert_true(has(f, k_train));

    /* 2: the job, with OpenAI's field names and the model without "openai/". */
    seen *j = &S.reqs[1];
    assert_string_equal(j->method, "POST");
    assert_string_equal(j->url, "/ok/v1/fine_tuning/jobs");
    assert_string_equal(j->content_type, "application/json");
    assert_string_equal(j->auth, "Bearer " TEST_KEY);
    cJSON *b = cJSON_Parse(j->body);
    assert_non_null(b);
    assert_string_equal(cJSON_GetObjectItem(b, "training_file")->valuestring, "file-abc123");
    assert_string_equal(cJSON_GetObjectItem(b, "model")->valuestring, "gpt-4o-mini");
    assert_string_equal(cJSON_GetObjectItem(b, "suffix")->valuestring, "tickets");
    assert_int_equal(cJSON_GetObjectItem(b, "seed")->valueint, 42);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "hyperparameters"), "n_epochs")->valueint, 3);
    cJSON_Delete(b);
    dsp_finetune_job_free(&job);
    assert_null(job.id);
    dsp_client_free(c);
}

static void test_defaults_send_only_required_fields(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    lm.api_key_env = NULL; /* a local server without a key */
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_int_equal(recorded(), 2);
    assert_string_equal(S.reqs[0].auth, "");
    cJSON *b = cJSON_Parse(S.reqs[1].body);
    assert_non_null(b);
    assert_int_equal(cJSON_GetArraySize(b), 2); /* training_file and model */
    assert_null(cJSON_GetObjectItem(b, "suffix"));
    assert_null(cJSON_GetObjectItem(b, "seed"));
    assert_null(cJSON_GetObjectItem(b, "hyperparameters"));
    cJSON_Delete(b);
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

/* As for chat calls, a server on this machine gets a key only when its
 * variable holds one: an unset OPENAI_API_KEY against a local fixture was
 * an error, so better_together could not fine-tune there without a dummy
 * key. */
static void test_local_server_without_the_key_variable(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    lm.api_key_env = "DSP_FT_TEST_UNSET_KEY";
    unsetenv("DSP_FT_TEST_UNSET_KEY");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_int_equal(recorded(), 2);
    assert_string_equal(S.reqs[0].auth, "");
    assert_string_equal(S.reqs[1].auth, "");
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

static void test_base_url_without_a_path_gets_v1(void **state)
{
    (void)state;
    dsp_client *c = client();
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u/", S.port);
    dsp_lm_config lm = {.model = "openai/gpt-4o-mini", .base_url = base, .params = dsp_lm_params_default()};
    dsp_finetune_job job;
    dsp_error err = {0};
    /* The stub takes the first segment as the scenario: "v1" then "/fine_tuning/...". */
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_ERR_HTTP);
    assert_string_equal(S.reqs[0].url, "/v1/fine_tuning/jobs/ftjob-done");
    assert_string_equal(S.reqs[0].method, "GET");
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_get_reads_a_succeeded_job(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_OK);
    assert_string_equal(S.reqs[0].method, "GET");
    assert_string_equal(S.reqs[0].url, "/ok/v1/fine_tuning/jobs/ftjob-done");
    assert_string_equal(job.status, "succeeded");
    assert_string_equal(job.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:org:tickets:9x8y7z");
    assert_int_equal(job.trained_tokens, 5768);
    assert_true(dsp_finetune_status_is_terminal(job.status));
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

static void test_a_failed_job_carries_its_error(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-bad", &job, &err), DSP_OK);
    assert_string_equal(job.status, "failed");
    assert_string_equal(job.error_message, "Training file has 3 example(s), but must have at least 10 examples");
    assert_null(job.fine_tuned_model);
    dsp_finetune_job_free(&job);
    /* Waiting on it fails at once with the provider's reason. */
    assert_int_equal(dsp_finetune_wait(c, &lm, "ftjob-bad", 0.01, 5, &job, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "ftjob-bad failed: Training file has 3 example(s)"));
    assert_string_equal(job.status, "failed");
    dsp_finetune_job_free(&job);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_unknown_job_is_a_404_with_the_provider_message(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-nope", &job, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_non_null(strstr(err.message, "Could not find fine tune job: ftjob-nope"));
    assert_int_equal(recorded(), 1); /* 404 is not retried */
    assert_null(job.id);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_a_400_fails_at_once_without_the_key(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("e400");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "Invalid file format for Fine-Tuning API"));
    assert_non_null(strstr(err.message, "/e400/v1/files"));
    assert_null(strstr(err.message, TEST_KEY));
    assert_int_equal(recorded(), 1);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_transient_failures_are_retried(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("flaky");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_OK);
    assert_int_equal(recorded(), 2); /* a 503, then the job */
    assert_string_equal(job.status, "succeeded");
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

/* A host that does not resolve would not resolve on a second try either:
 * one attempt, and the error says so (the chat path does the same). */
static void test_an_unresolvable_host_is_not_retried(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = {.model = "openai/gpt-4o-mini", .base_url = "http://dspcc-no-such-host.invalid/v1",
                        .params = dsp_lm_params_default()};
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_ERR_NETWORK);
    assert_non_null(strstr(err.message, "cannot resolve the host"));
    assert_null(strstr(err.message, "gave up after"));
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_a_reply_that_is_no_object_is_a_protocol_error(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("notjson");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_ERR_PROTOCOL);
    assert_non_null(err.raw);
    assert_string_equal(err.raw, "[1,2]");
    assert_int_equal(recorded(), 1); /* well-formed JSON would come back the same */
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A job reply whose model name holds escape sequences, or whose id is a
 * path, is a protocol error naming the field: neither reaches the state,
 * a URL, the generated C or the terminal. */
static void test_hostile_job_names_are_refused(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("hostile");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-esc", &job, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "\"fine_tuned_model\" is not a name of letters, digits"));
    assert_null(strchr(err.message, '\x1b'));
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-path", &job, &err), DSP_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "\"id\" is not a name"));
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_cancel_posts_to_the_job(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_cancel(c, &lm, "ftjob-run", &err), DSP_OK);
    assert_string_equal(S.reqs[0].method, "POST");
    assert_string_equal(S.reqs[0].url, "/ok/v1/fine_tuning/jobs/ftjob-run/cancel");
    /* A finished job cannot be cancelled: the provider's 400. */
    assert_int_equal(dsp_finetune_cancel(c, &lm, "ftjob-done", &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "Job has already completed"));
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_wait_polls_until_succeeded(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_wait(c, &lm, "ftjob-seq", 0.01, 10, &job, &err), DSP_OK);
    assert_int_equal(recorded(), 3); /* validating_files, running, succeeded */
    assert_string_equal(job.fine_tuned_model, "ft:gpt-4o-mini:org::seq1");
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

static void test_wait_gives_up_after_its_timeout(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_wait(c, &lm, "ftjob-run", 0.02, 0.1, &job, &err), DSP_ERR_TIMEOUT);
    assert_non_null(strstr(err.message, "still running"));
    assert_string_equal(job.status, "running");
    assert_true(recorded() >= 2 && recorded() <= 8); /* about every 0.02 s, the last at 0.1 s */
    dsp_finetune_job_free(&job);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_providers_without_fine_tuning_fail_at_once(void **state)
{
    (void)state;
    dsp_client *c = client();
    const char *models[] = {"anthropic/claude-3-5-haiku-latest", "ollama/llama3.2", "vllm/qwen"};
    for (size_t i = 0; i < 3; i++) {
        dsp_lm_config lm = lm_for("ok");
        lm.model = models[i];
        dsp_finetune_job job;
        dsp_error err = {0};
        assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_ERR_INVALID);
        assert_non_null(strstr(err.message, "has no fine-tuning API"));
        assert_non_null(strstr(err.message, "OpenAI-compatible endpoint"));
        assert_non_null(strstr(err.message, "training JSONL"));
        assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_ERR_INVALID);
        assert_int_equal(dsp_finetune_cancel(c, &lm, "ftjob-done", &err), DSP_ERR_INVALID);
        dsp_error_clear(&err);
    }
    /* Providers dspcc speaks only the chat API of: refused naming them. */
    const char *chat_only[] = {"gemini/gemini-2.0-flash", "azure/dep", "bedrock/amazon.nova-lite-v1:0", "groq/llama"};
    for (size_t i = 0; i < 4; i++) {
        dsp_lm_config lm = lm_for("ok");
        lm.model = chat_only[i];
        dsp_finetune_job job;
        dsp_error err = {0};
        assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_ERR_INVALID);
        assert_non_null(strstr(err.message, "only through OpenAI's /fine_tuning/jobs"));
        char want[64];
        snprintf(want, sizeof want, "fine-tune a %.*s model", (int)strcspn(chat_only[i], "/"), chat_only[i]);
        assert_non_null(strstr(err.message, want));
        dsp_error_clear(&err);
    }
    assert_int_equal(recorded(), 0);
    dsp_client_free(c);
}

static void test_bad_arguments_send_nothing(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    const char bad[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n\n{\"prompt\":\"old format\"}\n";
    assert_int_equal(dsp_finetune_create(c, &lm, bad, strlen(bad), NULL, &job, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "line 3"));
    assert_int_equal(dsp_finetune_create(c, &lm, "\n \n", 3, NULL, &job, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "no examples"));
    dsp_finetune_params p = {.suffix = "a-suffix-that-is-far-too-long-for-any-provider-to-accept-as-a-name-part"};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), &p, &job, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_get(c, &lm, "../files", &job, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_get(c, &lm, "..", &job, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_cancel(c, &lm, ".", &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_get(c, &lm, "", &job, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_get(c, &lm, NULL, &job, &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_cancel(c, &lm, "a b", &err), DSP_ERR_INVALID);
    assert_int_equal(dsp_finetune_get(NULL, &lm, "ftjob-done", &job, &err), DSP_ERR_INVALID);
    lm.api_key_env = "DSP_FT_TEST_UNSET_KEY";
    lm.base_url = "https://api.openai.com/v1"; /* a remote host needs the key */
    unsetenv("DSP_FT_TEST_UNSET_KEY");
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_ERR_ENV);
    assert_non_null(strstr(err.message, "DSP_FT_TEST_UNSET_KEY"));
    assert_int_equal(recorded(), 0);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

static void test_example_json_is_one_chat_example(void **state)
{
    (void)state;
    dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = "Classify.\n\"quoted\""},
                          {.role = DSP_ROLE_USER, .content = "[[ ## ticket_text ## ]]\nrefund?"},
                          {.role = DSP_ROLE_ASSISTANT, .content = "[[ ## category ## ]]\nbilling"}};
    char *line = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_example_json(msgs, 3, &line, &err), DSP_OK);
    assert_null(strchr(line, '\n')); /* one JSONL line */
    cJSON *j = cJSON_Parse(line);
    const cJSON *m = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(m), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "role")->valuestring, "system");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "content")->valuestring,
                        "Classify.\n\"quoted\"");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 2), "role")->valuestring, "assistant");
    cJSON_Delete(j);
    free(line);
    assert_int_equal(dsp_finetune_example_json(msgs, 0, &line, &err), DSP_ERR_INVALID);
    assert_null(line);
    dsp_error_clear(&err);
}

static int count(const char *method, const char *url_end)
{
    int n = 0;
    pthread_mutex_lock(&S.lock);
    for (int i = 0; i < S.n && i < MAX_SEEN; i++) {
        size_t ul = strlen(S.reqs[i].url), el = strlen(url_end);
        n += strcmp(S.reqs[i].method, method) == 0 && ul >= el && strcmp(S.reqs[i].url + ul - el, url_end) == 0;
    }
    pthread_mutex_unlock(&S.lock);
    return n;
}

/* A create whose reply was lost after the job started is not sent again:
 * the job on this upload's file is found in the list and returned, so one
 * call starts one job. */
static void test_a_lost_create_reply_does_not_start_a_second_job(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("lost");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_string_equal(job.id, "ftjob-lost"); /* not ftjob-other, on another file */
    assert_int_equal(count("POST", "/fine_tuning/jobs"), 1);
    assert_int_equal(count("GET", "/fine_tuning/jobs"), 1);
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
    /* With no retries at all, the one failure is still looked up. */
    forget();
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
    o.backoff_base_s = 0.01;
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_string_equal(job.id, "ftjob-lost");
    assert_int_equal(count("POST", "/fine_tuning/jobs"), 1);
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

/* The look at the list waits out the backoff first: a job the server was
 * still creating when the reply was lost has that long to show up (a look
 * straight away would miss it and start a second job). */
static void test_the_list_is_read_after_the_backoff(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 2;
    o.backoff_base_s = 0.3; /* the first delay: 0.3 to 0.45 s */
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    dsp_lm_config lm = lm_for("late");
    dsp_finetune_job job;
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_string_equal(job.id, "ftjob-late");
    assert_int_equal(count("POST", "/fine_tuning/jobs"), 1);
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

/* When the list shows no job on the file, the create is sent again. */
static void test_a_create_that_started_nothing_is_retried(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("lostnone");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_string_equal(job.id, "ftjob-abc123");
    assert_int_equal(count("POST", "/fine_tuning/jobs"), 2);
    assert_int_equal(count("GET", "/fine_tuning/jobs"), 1);
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

/* A 429 is refused before any work: retried without a look at the list. */
static void test_a_rate_limited_create_is_retried_as_it_is(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("busy");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_OK);
    assert_int_equal(count("POST", "/fine_tuning/jobs"), 2);
    assert_int_equal(count("GET", "/fine_tuning/jobs"), 0);
    dsp_finetune_job_free(&job);
    dsp_client_free(c);
}

/* When the list cannot be read either, nothing is sent again and the error
 * says the job may exist and which file to look for. */
static void test_an_unknown_create_outcome_is_not_retried(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("nolist");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 500); /* the create's, not the list's */
    assert_int_equal(count("POST", "/fine_tuning/jobs"), 1);
    assert_non_null(strstr(err.message, "HTTP 500"));
    assert_non_null(strstr(err.message, "may have started"));
    assert_non_null(strstr(err.message, "file-abc123"));
    assert_null(job.id);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A key a server echoes never stays in the error record: not in the
 * message of a failed job, and not in the bytes of the message buffer after
 * a retry cleared an attempt's message that quoted it. */
static void test_an_echoed_key_never_stays_in_the_error(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("echo");
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_get(c, &lm, "ftjob-done", &job, &err), DSP_OK); /* a 503, then the job */
    assert_int_equal(recorded(), 2);
    assert_null(memmem(err.message, sizeof err.message, TEST_KEY, strlen(TEST_KEY)));
    dsp_finetune_job_free(&job);
    assert_int_equal(dsp_finetune_wait(c, &lm, "ftjob-leak", 0.01, 5, &job, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "Training failed"));
    assert_null(memmem(err.message, sizeof err.message, TEST_KEY, strlen(TEST_KEY)));
    dsp_finetune_job_free(&job);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A cancel whose reply was lost is retried and meets a 400 "already
 * cancelled": the job is cancelled, so the call succeeds. A finished job's
 * 400 stays an error (test_cancel_posts_to_the_job). */
static void test_a_retried_cancel_that_had_worked_succeeds(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("cxl");
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_cancel(c, &lm, "ftjob-run", &err), DSP_OK);
    assert_int_equal(count("POST", "/ftjob-run/cancel"), 2);
    assert_int_equal(count("GET", "/ftjob-run"), 1);
    assert_int_equal(err.status, DSP_OK);
    dsp_client_free(c);
}

/* The wait's last poll falls on its deadline, and the timeout says how long
 * it waited and what its limit was. */
static void test_wait_polls_at_its_deadline(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("ok");
    dsp_finetune_job job;
    dsp_error err = {0};
    /* A poll interval longer than the limit: one poll at the start, one at
     * the deadline (before: only the first). The limit leaves the first poll
     * ample time on a loaded machine: one that outlasts it is the last. */
    assert_int_equal(dsp_finetune_wait(c, &lm, "ftjob-run", 30, 0.5, &job, &err), DSP_ERR_TIMEOUT);
    assert_int_equal(recorded(), 2);
    assert_non_null(strstr(err.message, "ftjob-run is still running after "));
    assert_non_null(strstr(err.message, "limit is 0.5 s"));
    dsp_finetune_job_free(&job);
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* A training file's upload gets more time than a chat call: the client's
 * timeout plus the file's size at 64 KiB/s. With a 0.3 s timeout, 128 KiB
 * that take the stub 0.6 s to take in still go through. */
static void test_a_large_upload_gets_time_for_its_size(void **state)
{
    (void)state;
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
    o.timeout_s = 0.3;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    static const char line[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"padding padding padding padding\"},"
                               "{\"role\":\"assistant\",\"content\":\"billing\"}]}\n";
    size_t n = 128 * 1024 / (sizeof line - 1) + 1, len = n * (sizeof line - 1);
    char *train = malloc(len + 1);
    assert_non_null(train);
    for (size_t i = 0; i < n; i++)
        memcpy(train + i * (sizeof line - 1), line, sizeof line - 1);
    train[len] = '\0';
    dsp_lm_config lm = lm_for("slowup");
    dsp_finetune_job job;
    assert_int_equal(dsp_finetune_create(c, &lm, train, len, NULL, &job, &err), DSP_OK);
    assert_string_equal(job.id, "ftjob-abc123");
    dsp_finetune_job_free(&job);
    /* A small file gets no such time: the same delay is a timeout. */
    assert_int_equal(dsp_finetune_create(c, &lm, k_train, strlen(k_train), NULL, &job, &err), DSP_ERR_TIMEOUT);
    dsp_error_clear(&err);
    free(train);
    dsp_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_create_uploads_multipart_then_creates_the_job, before),
        cmocka_unit_test_setup(test_defaults_send_only_required_fields, before),
        cmocka_unit_test_setup(test_local_server_without_the_key_variable, before),
        cmocka_unit_test_setup(test_base_url_without_a_path_gets_v1, before),
        cmocka_unit_test_setup(test_get_reads_a_succeeded_job, before),
        cmocka_unit_test_setup(test_a_failed_job_carries_its_error, before),
        cmocka_unit_test_setup(test_unknown_job_is_a_404_with_the_provider_message, before),
        cmocka_unit_test_setup(test_a_400_fails_at_once_without_the_key, before),
        cmocka_unit_test_setup(test_transient_failures_are_retried, before),
        cmocka_unit_test_setup(test_an_unresolvable_host_is_not_retried, before),
        cmocka_unit_test_setup(test_a_reply_that_is_no_object_is_a_protocol_error, before),
        cmocka_unit_test_setup(test_hostile_job_names_are_refused, before),
        cmocka_unit_test_setup(test_cancel_posts_to_the_job, before),
        cmocka_unit_test_setup(test_wait_polls_until_succeeded, before),
        cmocka_unit_test_setup(test_wait_gives_up_after_its_timeout, before),
        cmocka_unit_test_setup(test_providers_without_fine_tuning_fail_at_once, before),
        cmocka_unit_test_setup(test_bad_arguments_send_nothing, before),
        cmocka_unit_test_setup(test_example_json_is_one_chat_example, before),
        cmocka_unit_test_setup(test_a_lost_create_reply_does_not_start_a_second_job, before),
        cmocka_unit_test_setup(test_a_create_that_started_nothing_is_retried, before),
        cmocka_unit_test_setup(test_the_list_is_read_after_the_backoff, before),
        cmocka_unit_test_setup(test_a_rate_limited_create_is_retried_as_it_is, before),
        cmocka_unit_test_setup(test_an_unknown_create_outcome_is_not_retried, before),
        cmocka_unit_test_setup(test_an_echoed_key_never_stays_in_the_error, before),
        cmocka_unit_test_setup(test_wait_polls_at_its_deadline, before),
        cmocka_unit_test_setup(test_a_retried_cancel_that_had_worked_succeeds, before),
        cmocka_unit_test_setup(test_a_large_upload_gets_time_for_its_size, before),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
