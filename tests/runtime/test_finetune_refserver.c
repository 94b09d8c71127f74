/* test_finetune_refserver.c — fine-tuning end to end: the runtime's client
 * (dsp/finetune.h) against the reference server (build/dsp-refserver, a
 * test fixture). Uploads ticket classifications as chat examples, polls the
 * job to success, chats with the fine-tuned model, and measures that
 * fine-tuning helps on held-out tickets (base zero-shot vs fine-tuned
 * zero-shot); also failed, cancelled and unknown jobs and models, the
 * fixture's own validation, and a restart with --state-dir. Skips (does not
 * pass) when the fixture has not been built. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/finetune.h"

#include "../support/refserver_proc.h"

/* --- the fixture and the client ------------------------------------------ */

static char g_bin[512];
static rs_proc g_srv;
static char g_base[64];
static dsp_client *g_client;
static char g_state_dir[64]; /* the restart test's; removed by the teardown if a failure left it */

static void remove_state_dir(void)
{
    if (!g_state_dir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_state_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_state_dir);
    g_state_dir[0] = '\0';
}

static int setup(void **state)
{
    (void)state;
    if (!rs_proc_binary(g_bin, sizeof g_bin))
        return 0; /* each test skips */
    const char *args[] = {"--ft-delay-ms", "150", NULL};
    if (!rs_proc_start(&g_srv, args))
        return -1;
    rs_proc_base_url(&g_srv, g_base, sizeof g_base);
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 1;
    o.backoff_base_s = 0.05;
    o.max_in_flight = 16;
    dsp_error err = {0};
    unsetenv("DSPCC_BASE_URL");
    return dsp_client_new(&o, &g_client, &err) == DSP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dsp_client_free(g_client);
    remove_state_dir();
    /* A clean exit: no crash, and no leak under LeakSanitizer. */
    if (g_srv.pid > 0 && rs_proc_stop(&g_srv, 10000, NULL) != 0)
        return -1;
    return 0;
}

static dsp_lm_config lm_named(const char *model, const char *base)
{
    dsp_lm_config lm = {.model = model, .base_url = base, .params = dsp_lm_params_default()};
    lm.params.temperature = 0;
    return lm;
}

#define SKIP_WITHOUT_FIXTURE()                                                                                         \
    do {                                                                                                               \
        if (!g_client)                                                                                                 \
            skip();                                                                                                    \
    } while (0)

/* --- tickets in dspcc's chat format --------------------------------------- */

typedef struct ticket {
    char *text, *category;
} ticket;

static ticket *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s: run the tests from the repository root", path);
    ticket *t = calloc(256, sizeof *t);
    char line[4096];
    *n = 0;
    while (*n < 256 && fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItem(j, "text"), *cat = cJSON_GetObjectItem(j, "category");
        if (cJSON_IsString(text) && cJSON_IsString(cat)) {
            t[*n].text = strdup(text->valuestring);
            t[*n].category = strdup(cat->valuestring);
            (*n)++;
        }
        cJSON_Delete(j);
    }
    fclose(f);
    return t;
}

static void free_tickets(ticket *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].text);
        free(t[i].category);
    }
    free(t);
}

static const char k_system[] =
    "Your input fields are:\n1. `ticket_text` (string): Raw text of the customer support ticket\n"
    "Your output fields are:\n1. `category` (enum): One of the four queues\n\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
    "[[ ## ticket_text ## ]]\n{ticket_text}\n\n[[ ## category ## ]]\n{category}        # note: the value you "
    "produce must exactly match (no extra characters) one of: billing; account; orders; general\n\n"
    "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n"
    "        Classify a customer support ticket.";

static char *user_message(const char *text)
{
    static const char fmt[] = "[[ ## ticket_text ## ]]\n%s\n\nRespond with the corresponding output fields, "
                              "starting with the field `[[ ## category ## ]]` (must be formatted as a valid enum "
                              "value), and then ending with the marker for `[[ ## completed ## ]]`.";
    size_t n = strlen(fmt) + strlen(text) + 1;
    char *s = malloc(n);
    snprintf(s, n, fmt, text);
    return s;
}

/* The training file: one zero-shot call and its right answer per ticket,
 * written with dsp_finetune_example_json as the optimizer writes them. */
static char *training_jsonl(const ticket *t, size_t n, size_t *len)
{
    size_t cap = 4096, used = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        char *user = user_message(t[i].text);
        char reply[128];
        snprintf(reply, sizeof reply, "[[ ## category ## ]]\n%s\n\n[[ ## completed ## ]]", t[i].category);
        dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = (char *)k_system}, {.role = DSP_ROLE_USER, .content = user},
                              {.role = DSP_ROLE_ASSISTANT, .content = reply}};
        char *line = NULL;
        dsp_error err = {0};
        assert_int_equal(dsp_finetune_example_json(msgs, 3, &line, &err), DSP_OK);
        size_t l = strlen(line);
        while (used + l + 2 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + used, line, l);
        used += l;
        out[used++] = '\n';
        free(line);
        free(user);
    }
    out[used] = '\0';
    *len = used;
    return out;
}

/* Share of tickets the model classifies right, zero-shot. */
static double accuracy(const dsp_lm_config *lm, const ticket *dev, size_t n)
{
    dsp_chat_request *reqs = calloc(n, sizeof *reqs);
    dsp_message(*msgs)[2] = calloc(n, sizeof *msgs);
    dsp_chat_response *resps = calloc(n, sizeof *resps);
    for (size_t i = 0; i < n; i++) {
        msgs[i][0] = (dsp_message){.role = DSP_ROLE_SYSTEM, .content = (char *)k_system};
        msgs[i][1] = (dsp_message){.role = DSP_ROLE_USER, .content = user_message(dev[i].text)};
        reqs[i].messages = msgs[i];
        reqs[i].n_messages = 2;
        reqs[i].params = dsp_lm_params_default();
    }
    dsp_status st = dsp_chat_batch(g_client, lm, reqs, n, resps, NULL, NULL);
    assert_int_equal(st, DSP_OK);
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "[[ ## category ## ]]\n%s\n", dev[i].category);
        right += resps[i].n_choices == 1 && strstr(resps[i].choices[0], want) != NULL;
        dsp_chat_response_free(&resps[i]);
        free(msgs[i][1].content);
    }
    free(reqs);
    free(msgs);
    free(resps);
    return 100.0 * (double)right / (double)n;
}

/* Fine-tunes the base model on data and waits for the job; returns the
 * "openai/<fine_tuned_model>" spec (caller frees). */
static char *fine_tune(const char *data, size_t len, const char *suffix)
{
    dsp_lm_config base = lm_named("openai/dsp-refserver", g_base);
    dsp_finetune_params p = {.suffix = suffix, .n_epochs = 2, .has_seed = true, .seed = 7};
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(g_client, &base, data, len, &p, &job, &err), DSP_OK);
    assert_string_equal(job.status, "validating_files");
    assert_null(job.fine_tuned_model);
    char *id = strdup(job.id);
    dsp_finetune_job_free(&job);
    dsp_status st = dsp_finetune_wait(g_client, &base, id, 0.05, 10, &job, &err);
    if (st != DSP_OK)
        fail_msg("fine-tuning failed: %s", err.message);
    assert_string_equal(job.status, "succeeded");
    assert_string_equal(job.model, "dsp-refserver");
    assert_true(job.trained_tokens > 0);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "ft:dsp-refserver:%s:", suffix);
    assert_memory_equal(job.fine_tuned_model, prefix, strlen(prefix));
    size_t n = strlen(job.fine_tuned_model) + 8;
    char *spec = malloc(n);
    snprintf(spec, n, "openai/%s", job.fine_tuned_model);
    dsp_finetune_job_free(&job);
    free(id);
    return spec;
}

/* --- tests ----------------------------------------------------------------- */

static void test_fine_tuning_measurably_helps_on_held_out_tickets(void **state)
{
    (void)state;
    SKIP_WITHOUT_FIXTURE();
    size_t n_train, n_dev;
    ticket *train = load("tests/refserver/data/train_subset.jsonl", &n_train);
    ticket *dev = load("tests/refserver/data/dev100.jsonl", &n_dev);
    assert_int_equal(n_train, 56);
    assert_int_equal(n_dev, 100);
    size_t len;
    char *data = training_jsonl(train, n_train, &len);
    char *ft = fine_tune(data, len, "tickets");

    dsp_lm_config base = lm_named("openai/dsp-refserver", g_base);
    dsp_lm_config tuned = lm_named(ft, g_base);
    double before = accuracy(&base, dev, n_dev);
    double after = accuracy(&tuned, dev, n_dev);
    print_message("accuracy on 100 dev tickets, zero-shot: base model %.0f%%, fine-tuned on 56 tickets %.0f%%\n",
                  before, after);
    assert_true(before <= 60);
    assert_true(after >= before + 20);
    assert_true(after >= 70);
    free(ft);
    free(data);
    free_tickets(train, n_train);
    free_tickets(dev, n_dev);
}

static void test_unknown_fine_tuned_model_is_a_404(void **state)
{
    (void)state;
    SKIP_WITHOUT_FIXTURE();
    dsp_lm_config lm = lm_named("openai/ft:dsp-refserver:nope:00000000", g_base);
    dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = (char *)k_system}, {.role = DSP_ROLE_USER, .content = "[[ ## ticket_text ## ]]\nhi"}};
    dsp_chat_request req = {.messages = msgs, .n_messages = 2, .params = dsp_lm_params_default()};
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(g_client, &lm, &req, &resp, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_non_null(strstr(err.message, "does not exist"));
    dsp_error_clear(&err);
}

static void test_too_few_examples_fail_the_job(void **state)
{
    (void)state;
    SKIP_WITHOUT_FIXTURE();
    size_t n_train;
    ticket *train = load("tests/refserver/data/train_subset.jsonl", &n_train);
    size_t len;
    char *data = training_jsonl(train, 3, &len);
    dsp_lm_config base = lm_named("openai/dsp-refserver", g_base);
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(g_client, &base, data, len, NULL, &job, &err), DSP_OK);
    char *id = strdup(job.id);
    dsp_finetune_job_free(&job);
    assert_int_equal(dsp_finetune_wait(g_client, &base, id, 0.05, 10, &job, &err), DSP_ERR_INVALID);
    assert_string_equal(job.status, "failed");
    assert_non_null(strstr(job.error_message, "has 3 example(s), but must have at least 10 examples"));
    assert_non_null(strstr(err.message, "at least 10 examples"));
    assert_null(job.fine_tuned_model);
    dsp_finetune_job_free(&job);
    dsp_error_clear(&err);
    free(id);
    free(data);
    free_tickets(train, n_train);
}

static void test_cancel_a_job_then_it_cannot_be_cancelled_again(void **state)
{
    (void)state;
    SKIP_WITHOUT_FIXTURE();
    size_t n_train;
    ticket *train = load("tests/refserver/data/train_subset.jsonl", &n_train);
    size_t len;
    char *data = training_jsonl(train, n_train, &len);
    dsp_lm_config base = lm_named("openai/dsp-refserver", g_base);
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(g_client, &base, data, len, NULL, &job, &err), DSP_OK);
    char *id = strdup(job.id);
    dsp_finetune_job_free(&job);
    assert_int_equal(dsp_finetune_cancel(g_client, &base, id, &err), DSP_OK);
    assert_int_equal(dsp_finetune_get(g_client, &base, id, &job, &err), DSP_OK);
    assert_string_equal(job.status, "cancelled");
    dsp_finetune_job_free(&job);
    assert_int_equal(dsp_finetune_cancel(g_client, &base, id, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "cannot be cancelled"));
    /* It never produces a model, however long one waits. */
    assert_int_equal(dsp_finetune_wait(g_client, &base, id, 0.05, 10, &job, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "cancelled"));
    dsp_finetune_job_free(&job);
    assert_int_equal(dsp_finetune_get(g_client, &base, "ftjob-0000000000000000", &job, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_non_null(strstr(err.message, "Could not find fine tune job"));
    dsp_error_clear(&err);
    free(id);
    free(data);
    free_tickets(train, n_train);
}

static void test_the_fixture_validates_training_files(void **state)
{
    (void)state;
    SKIP_WITHOUT_FIXTURE();
    /* Passes the client's line check (a messages array), not the fixture's:
     * there is nothing to learn without an assistant message. */
    const char data[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}\n";
    dsp_lm_config base = lm_named("openai/dsp-refserver", g_base);
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(g_client, &base, data, strlen(data), NULL, &job, &err), DSP_ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "Invalid file format for Fine-Tuning API. Line 1: no assistant message"));
    const char roles[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n"
                         "{\"messages\":[{\"role\":\"robot\",\"content\":\"a\"}]}\n";
    assert_int_equal(dsp_finetune_create(g_client, &base, roles, strlen(roles), NULL, &job, &err), DSP_ERR_HTTP);
    assert_non_null(strstr(err.message, "Line 2: a message's role is not one of"));
    /* A fine-tuned model cannot be the base of another job here. */
    dsp_lm_config ft = lm_named("openai/ft:dsp-refserver:x:12345678", g_base);
    const char ok[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n";
    assert_int_equal(dsp_finetune_create(g_client, &ft, ok, strlen(ok), NULL, &job, &err), DSP_ERR_HTTP);
    assert_non_null(strstr(err.message, "cannot be fine-tuned further"));
    dsp_error_clear(&err);
}

static void test_a_restarted_fixture_keeps_its_models(void **state)
{
    (void)state;
    SKIP_WITHOUT_FIXTURE();
    char dir[] = "/tmp/dsp-ft-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(g_state_dir, sizeof g_state_dir, "%s", dir);
    const char *args[] = {"--ft-delay-ms", "100", "--state-dir", dir, NULL};
    rs_proc p;
    assert_true(rs_proc_start(&p, args));
    char base_url[64];
    rs_proc_base_url(&p, base_url, sizeof base_url);

    size_t n_train;
    ticket *train = load("tests/refserver/data/train_subset.jsonl", &n_train);
    size_t len;
    char *data = training_jsonl(train, n_train, &len);
    dsp_lm_config base = lm_named("openai/dsp-refserver", base_url);
    dsp_finetune_job job;
    dsp_error err = {0};
    assert_int_equal(dsp_finetune_create(g_client, &base, data, len, NULL, &job, &err), DSP_OK);
    char *id = strdup(job.id);
    dsp_finetune_job_free(&job);
    assert_int_equal(dsp_finetune_wait(g_client, &base, id, 0.05, 10, &job, &err), DSP_OK);
    char spec[160];
    snprintf(spec, sizeof spec, "openai/%s", job.fine_tuned_model);
    dsp_finetune_job_free(&job);
    assert_int_equal(rs_proc_stop(&p, 10000, NULL), 0);

    assert_true(rs_proc_start(&p, args));
    rs_proc_base_url(&p, base_url, sizeof base_url);
    assert_int_equal(dsp_finetune_get(g_client, &base, id, &job, &err), DSP_OK);
    assert_string_equal(job.status, "succeeded");
    assert_string_equal(spec + 7, job.fine_tuned_model);
    dsp_finetune_job_free(&job);
    /* The model answers as before the restart: the first training ticket. */
    dsp_lm_config tuned = lm_named(spec, base_url);
    char *user = user_message(train[0].text);
    dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = (char *)k_system}, {.role = DSP_ROLE_USER, .content = user}};
    dsp_chat_request req = {.messages = msgs, .n_messages = 2, .params = dsp_lm_params_default()};
    dsp_chat_response resp;
    assert_int_equal(dsp_chat(g_client, &tuned, &req, &resp, &err), DSP_OK);
    char want[64];
    snprintf(want, sizeof want, "[[ ## category ## ]]\n%s\n", train[0].category);
    assert_non_null(strstr(resp.choices[0], want));
    dsp_chat_response_free(&resp);
    rs_proc_stop(&p, 10000, NULL);

    remove_state_dir();
    free(user);
    free(id);
    free(data);
    free_tickets(train, n_train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fine_tuning_measurably_helps_on_held_out_tickets),
        cmocka_unit_test(test_unknown_fine_tuned_model_is_a_404),
        cmocka_unit_test(test_too_few_examples_fail_the_job),
        cmocka_unit_test(test_cancel_a_job_then_it_cannot_be_cancelled_again),
        cmocka_unit_test(test_the_fixture_validates_training_files),
        cmocka_unit_test(test_a_restarted_fixture_keeps_its_models),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
