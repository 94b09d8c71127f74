/* test_refserver_ft.c — the fixture's fine-tuning endpoints without HTTP:
 * rs_ft_answer with decoded uploads (validation and error shapes, the job
 * timeline at chosen instants, cancel, list, unknown ids and methods), the
 * training examples as demos (ft_memory.c), and chat with fine-tuned models
 * through rs_answer_chat_ft. The HTTP and multipart side is tested end to
 * end by tests/runtime/test_finetune_refserver.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "answer.h"
#include "ft_api.h"
#include "ft_memory.h"
#include "ft_store.h"
#include "options.h"

enum { DELAY_MS = 900 };

static const char k_system[] =
    "Your input fields are:\n1. `ticket_text` (string): Raw text of the customer support ticket\n"
    "Your output fields are:\n1. `category` (enum): One of the four queues\n\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
    "[[ ## ticket_text ## ]]\n{ticket_text}\n\n[[ ## category ## ]]\n{category}        # note: the value you "
    "produce must exactly match (no extra characters) one of: billing; account; orders; general\n\n"
    "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n"
    "        Classify a customer support ticket.";

/* One training line in the chat format: ticket -> category. */
static char *example_line(const char *ticket, const char *category, bool json_reply)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "system");
    cJSON_AddStringToObject(m, "content", k_system);
    cJSON_AddItemToArray(msgs, m);
    char buf[1024];
    snprintf(buf, sizeof buf,
             "[[ ## ticket_text ## ]]\n%s\n\nRespond with the corresponding output fields, starting with the "
             "field `[[ ## category ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.",
             ticket);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", buf);
    cJSON_AddItemToArray(msgs, m);
    if (json_reply)
        snprintf(buf, sizeof buf, "{\"category\": \"%s\"}", category);
    else
        snprintf(buf, sizeof buf, "[[ ## category ## ]]\n%s\n\n[[ ## completed ## ]]", category);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", buf);
    cJSON_AddItemToArray(msgs, m);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static const char *const k_tickets[][2] = {
    {"I was charged twice for my subscription", "billing"}, {"refund the double payment please", "billing"},
    {"cannot log into my profile", "account"},             {"reset my password, the link expired", "account"},
    {"where is my parcel, it has not arrived", "orders"},  {"the package tracking number is wrong", "orders"},
    {"what are your opening hours", "general"},            {"do you have a phone number to call", "general"},
    {"invoice shows a wrong amount", "billing"},           {"delete my account and my data", "account"},
    {"cancel the order I placed yesterday", "orders"},     {"how do I give feedback on your service", "general"},
};

/* The JSONL of the first n tickets (n <= 12). */
static char *training(size_t n)
{
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *line = example_line(k_tickets[i][0], k_tickets[i][1], false);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
        cJSON_free(line);
    }
    return out;
}

static rs_ft_store *g_store;

static int setup(void **state)
{
    (void)state;
    char err[256];
    g_store = rs_ft_store_new(DELAY_MS, 7, NULL, err, sizeof err);
    return g_store ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rs_ft_store_free(g_store);
    return 0;
}

/* The answer's body as JSON (caller deletes). */
static cJSON *answer_json(const rs_answer *ans)
{
    cJSON *j = cJSON_Parse(ans->body);
    assert_non_null(j);
    return j;
}

static const char *err_field(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void upload(rs_arena *a, const char *purpose, const char *data, rs_answer *ans)
{
    rs_ft_upload up = {.multipart = true, .purpose = purpose, .filename = "t.jsonl", .data = data,
                       .len = data ? strlen(data) : 0};
    rs_ft_answer(g_store, a, "POST", "/v1/files", NULL, 0, &up, ans, NULL);
}

/* Uploads the first n tickets; returns the file id (in a). */
static const char *upload_ok(rs_arena *a, size_t n)
{
    char *data = training(n);
    rs_answer ans;
    upload(a, "fine-tune", data, &ans);
    free(data);
    assert_int_equal(ans.status, 200);
    cJSON *j = answer_json(&ans);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "file");
    assert_string_equal(cJSON_GetObjectItem(j, "purpose")->valuestring, "fine-tune");
    const char *id = rs_strdup(a, cJSON_GetObjectItem(j, "id")->valuestring);
    assert_memory_equal(id, "file-", 5);
    cJSON_Delete(j);
    return id;
}

static const rs_ft_job *create_ok(rs_arena *a, const char *file_id, const char *extra)
{
    char body[512];
    snprintf(body, sizeof body, "{\"training_file\":\"%s\",\"model\":\"gpt-4o-mini\"%s%s}", file_id,
             extra ? "," : "", extra ? extra : "");
    rs_answer ans;
    rs_ft_answer(g_store, a, "POST", "/v1/fine_tuning/jobs", body, strlen(body), NULL, &ans, NULL);
    assert_int_equal(ans.status, 200);
    cJSON *j = answer_json(&ans);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "fine_tuning.job");
    const rs_ft_job *job = rs_ft_store_job(g_store, cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    assert_non_null(job);
    return job;
}

/* --- tests ----------------------------------------------------------------- */

static void test_uploads_are_validated_like_openai(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_answer ans;
    rs_ft_upload plain = {.multipart = false};
    rs_ft_answer(g_store, &a, "POST", "/v1/files", "{}", 2, &plain, &ans, NULL);
    assert_int_equal(ans.status, 400);
    upload(&a, NULL, "x", &ans);
    assert_int_equal(ans.status, 400);
    cJSON *j = answer_json(&ans);
    assert_string_equal(err_field(j, "param"), "purpose");
    assert_string_equal(err_field(j, "type"), "invalid_request_error");
    cJSON_Delete(j);
    upload(&a, "assistants", "x", &ans);
    assert_int_equal(ans.status, 400);
    upload(&a, "fine-tune", NULL, &ans);
    j = answer_json(&ans);
    assert_string_equal(err_field(j, "param"), "file");
    cJSON_Delete(j);
    char *good = example_line("a ticket", "billing", false);
    const char *bad[] = {"not json", "{\"messages\":[]}", "{\"prompt\":\"p\",\"completion\":\"c\"}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"only a question\"}]}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":7},{\"role\":\"assistant\",\"content\":\"b\"}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char data[4096];
        snprintf(data, sizeof data, "%s\n\n%s\n", good, bad[i]); /* the bad one is line 3 */
        upload(&a, "fine-tune", data, &ans);
        assert_int_equal(ans.status, 400);
        j = answer_json(&ans);
        assert_string_equal(err_field(j, "code"), "invalid_file_format");
        assert_non_null(strstr(err_field(j, "message"), "Line 3: "));
        cJSON_Delete(j);
    }
    upload(&a, "fine-tune", " \n\n", &ans);
    assert_int_equal(ans.status, 400);
    cJSON_free(good);
    rs_arena_free(&a);
}

static void test_job_requests_are_validated(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *file = upload_ok(&a, 12);
    struct {
        const char *body, *param;
    } cases[] = {
        {"{\"model\":\"m\"}", "training_file"},
        {"{\"training_file\":\"file-nope\",\"model\":\"m\"}", "training_file"},
        {"{\"training_file\":\"%s\"}", "model"},
        {"{\"training_file\":\"%s\",\"model\":\"ft:m:x:1\"}", "model"},
        {"{\"training_file\":\"%s\",\"model\":\"m\",\"suffix\":\"a:b\"}", "suffix"},
        {"{\"training_file\":\"%s\",\"model\":\"m\",\"suffix\":"
         "\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
         "suffix"},
        {"{\"training_file\":\"%s\",\"model\":\"m\",\"seed\":1.5}", "seed"},
        {"{\"training_file\":\"%s\",\"model\":\"m\",\"hyperparameters\":{\"n_epochs\":0}}",
         "hyperparameters.n_epochs"},
        {"{\"training_file\":\"%s\",\"model\":\"m\",\"hyperparameters\":{\"n_epochs\":\"many\"}}",
         "hyperparameters.n_epochs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, cases[i].body, file);
        rs_answer ans;
        rs_ft_answer(g_store, &a, "POST", "/v1/fine_tuning/jobs", body, strlen(body), NULL, &ans, NULL);
        assert_int_equal(ans.status, 400);
        cJSON *j = answer_json(&ans);
        assert_string_equal(err_field(j, "param"), cases[i].param);
        cJSON_Delete(j);
    }
    rs_answer ans;
    rs_ft_answer(g_store, &a, "POST", "/v1/fine_tuning/jobs", "[oops", 5, NULL, &ans, NULL);
    assert_int_equal(ans.status, 400);
    rs_arena_free(&a);
}

static void test_a_job_validates_runs_and_succeeds(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *file = upload_ok(&a, 12);
    const rs_ft_job *j = create_ok(&a, file, "\"suffix\":\"tickets\",\"seed\":3,\"hyperparameters\":{\"n_epochs\":2}");
    long long t0 = j->created_ms;
    const char *why;
    long long fin;
    assert_int_equal(rs_ft_job_status(g_store, j, t0, &a, &why, &fin), RS_FT_VALIDATING);
    assert_int_equal(rs_ft_job_status(g_store, j, t0 + DELAY_MS / 3 - 1, &a, &why, &fin), RS_FT_VALIDATING);
    assert_int_equal(rs_ft_job_status(g_store, j, t0 + DELAY_MS / 3, &a, &why, &fin), RS_FT_RUNNING);
    assert_int_equal(fin, 0);
    assert_int_equal(rs_ft_job_status(g_store, j, t0 + DELAY_MS, &a, &why, &fin), RS_FT_SUCCEEDED);
    assert_int_equal(fin, t0 + DELAY_MS);
    assert_null(why);
    /* The model's name and memory exist from the job, served once succeeded. */
    char want[96];
    snprintf(want, sizeof want, "ft:gpt-4o-mini:tickets:%s", j->id + strlen(j->id) - 8);
    assert_string_equal(j->ft_model, want);
    assert_int_equal(j->file->mem.n_examples, 12);
    assert_int_equal(j->file->mem.n, 12);
    assert_int_equal(j->n_epochs, 2);
    assert_true(j->has_seed && j->seed == 3);
    /* The job object before success has no model and no tokens. */
    rs_answer ans;
    char url[96];
    snprintf(url, sizeof url, "/v1/fine_tuning/jobs/%s", j->id);
    rs_ft_answer(g_store, &a, "GET", url, NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 200);
    cJSON *o = answer_json(&ans);
    assert_string_equal(cJSON_GetObjectItem(o, "id")->valuestring, j->id);
    assert_string_equal(cJSON_GetObjectItem(o, "model")->valuestring, "gpt-4o-mini");
    assert_string_equal(cJSON_GetObjectItem(o, "training_file")->valuestring, file);
    assert_string_equal(cJSON_GetObjectItem(o, "organization_id")->valuestring, "org-dsp-refserver-test-fixture");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hyperparameters"), "n_epochs")->valueint, 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
    assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "validating_files");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "fine_tuned_model")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "trained_tokens")));
    cJSON_Delete(o);
    rs_arena_free(&a);
}

static void test_too_few_examples_fail_after_validation(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const rs_ft_job *j = create_ok(&a, upload_ok(&a, 9), NULL);
    const char *why;
    long long fin;
    assert_int_equal(rs_ft_job_status(g_store, j, j->created_ms + 1, &a, &why, &fin), RS_FT_VALIDATING);
    assert_int_equal(rs_ft_job_status(g_store, j, j->created_ms + DELAY_MS / 3, &a, &why, &fin), RS_FT_FAILED);
    assert_non_null(strstr(why, "has 9 example(s), but must have at least 10 examples"));
    assert_int_equal(rs_ft_job_status(g_store, j, j->created_ms + 10 * DELAY_MS, &a, &why, &fin), RS_FT_FAILED);
    assert_null(rs_ft_store_model(g_store, j->ft_model));
    rs_arena_free(&a);
}

static void test_cancel_list_and_unknown_paths(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *file = upload_ok(&a, 12);
    const rs_ft_job *first = create_ok(&a, file, NULL);
    const rs_ft_job *second = create_ok(&a, file, NULL);
    assert_string_not_equal(first->id, second->id);
    assert_string_not_equal(first->ft_model, second->ft_model);
    char url[96];
    snprintf(url, sizeof url, "/v1/fine_tuning/jobs/%s/cancel", second->id);
    rs_answer ans;
    rs_ft_answer(g_store, &a, "POST", url, "{}", 2, NULL, &ans, NULL);
    assert_int_equal(ans.status, 200);
    cJSON *o = answer_json(&ans);
    assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "cancelled");
    cJSON_Delete(o);
    /* Cancelled stays cancelled, even past the delay; twice is a 400. */
    assert_int_equal(rs_ft_job_status(g_store, second, second->created_ms + 10 * DELAY_MS, &a, NULL, NULL),
                     RS_FT_CANCELLED);
    rs_ft_answer(g_store, &a, "POST", url, "{}", 2, NULL, &ans, NULL);
    assert_int_equal(ans.status, 400);
    rs_ft_answer(g_store, &a, "GET", url, NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 405);

    /* The list: newest first, every job of the store. */
    rs_ft_answer(g_store, &a, "GET", "/v1/fine_tuning/jobs", NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 200);
    o = answer_json(&ans);
    const cJSON *data = cJSON_GetObjectItem(o, "data");
    assert_true(cJSON_GetArraySize(data) >= 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "id")->valuestring, second->id);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 1), "id")->valuestring, first->id);
    cJSON_Delete(o);

    rs_ft_answer(g_store, &a, "GET", "/v1/fine_tuning/jobs/ftjob-nope", NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 404);
    o = answer_json(&ans);
    assert_string_equal(err_field(o, "code"), "fine_tune_job_not_found");
    cJSON_Delete(o);
    rs_ft_answer(g_store, &a, "POST", "/v1/fine_tuning/jobs/ftjob-nope/cancel", NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 404);
    rs_ft_answer(g_store, &a, "GET", "/v1/fine_tuning/jobs/x/events", NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 404);
    const char *allow = "unset";
    rs_ft_answer(g_store, &a, "GET", "/v1/files", NULL, 0, NULL, &ans, &allow);
    assert_int_equal(ans.status, 405);
    assert_string_equal(allow, "POST");
    rs_ft_answer(g_store, &a, "GET", "/v1/fine_tuning/jobs", NULL, 0, NULL, &ans, &allow);
    assert_null(allow);
    rs_ft_answer(g_store, &a, "DELETE", "/v1/fine_tuning/jobs", NULL, 0, NULL, &ans, NULL);
    assert_int_equal(ans.status, 405);
    assert_true(rs_ft_route("/v1/files"));
    assert_true(rs_ft_route("/v1/fine_tuning/jobs/x"));
    assert_false(rs_ft_route("/v1/models"));
    rs_arena_free(&a);
}

static void test_examples_become_demos_by_field_name(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    char *chat = example_line("I was charged twice", "billing", false);
    char *json = example_line("my parcel is late", "orders", true);
    const char *unstructured = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                               "{\"role\":\"assistant\",\"content\":\"hello\"}]}";
    size_t n = strlen(chat) + strlen(json) + strlen(unstructured) + 8;
    char *data = malloc(n);
    snprintf(data, n, "%s\n%s\n%s\n", chat, json, unstructured);
    rs_ft_memory m;
    const char *msg;
    assert_true(rs_ft_memory_parse(&a, data, strlen(data), &m, &msg));
    assert_int_equal(m.n_examples, 3);
    assert_int_equal(m.n, 2); /* the unstructured one teaches nothing */
    assert_true(m.words > 0);
    assert_string_equal(m.ex[0].in[0].name, "ticket_text");
    assert_string_equal(m.ex[0].in[0].value, "I was charged twice"); /* no "Respond with" */
    assert_string_equal(m.ex[0].out[0].value, "billing");
    assert_string_equal(m.ex[1].out[0].value, "orders");

    /* A request with the same fields gets both as demos, after its own. */
    rs_message req[] = {{"system", k_system},
                        {"user", "[[ ## ticket_text ## ]]\nmy own demo"},
                        {"assistant", "[[ ## category ## ]]\ngeneral\n\n[[ ## completed ## ]]"},
                        {"user", "[[ ## ticket_text ## ]]\ncharged two times"}};
    rs_task t;
    rs_task_parse(&a, req, 4, &t);
    assert_int_equal(t.n_demos, 1);
    rs_ft_memory_add_demos(&a, &m, &t);
    assert_int_equal(t.n_demos, 3);
    assert_string_equal(t.demos[0].out[0], "general");
    assert_string_equal(t.demos[1].in[0], "I was charged twice");
    assert_string_equal(t.demos[2].out[0], "orders");

    /* Other fields: nothing to add. */
    rs_message other[] = {{"system", "Your input fields are:\n1. `question` (string)\nYour output fields are:\n"
                                     "1. `answer` (string)\n\n[[ ## question ## ]]\n{question}\n\n"
                                     "[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]\n"},
                          {"user", "[[ ## question ## ]]\nwhy?"}};
    rs_task_parse(&a, other, 2, &t);
    rs_ft_memory_add_demos(&a, &m, &t);
    assert_int_equal(t.n_demos, 0);
    free(data);
    cJSON_free(chat);
    cJSON_free(json);
    rs_arena_free(&a);
}

static void test_chat_with_a_fine_tuned_model(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_options o;
    memset(&o, 0, sizeof o);
    /* A store whose jobs succeed at once. */
    char err[128];
    rs_ft_store *s = rs_ft_store_new(0, 1, NULL, err, sizeof err);
    assert_non_null(s);
    rs_ft_store *keep = g_store;
    g_store = s;
    const rs_ft_job *j = create_ok(&a, upload_ok(&a, 12), "\"suffix\":\"t\"");
    g_store = keep;
    assert_non_null(rs_ft_store_model(s, j->ft_model));

    /* Zero-shot, the query is one of the training tickets: the fine-tuned
     * model answers with its label. */
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", j->ft_model);
    cJSON_AddNumberToObject(body, "temperature", 0);
    cJSON *msgs = cJSON_AddArrayToObject(body, "messages");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "system");
    cJSON_AddStringToObject(m, "content", k_system);
    cJSON_AddItemToArray(msgs, m);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", "[[ ## ticket_text ## ]]\nreset my password, the link expired");
    cJSON_AddItemToArray(msgs, m);
    char *text = cJSON_PrintUnformatted(body);
    rs_answer ans;
    rs_answer_chat_ft(&a, &o, s, RS_API_OPENAI, text, strlen(text), NULL, 0, &ans);
    assert_int_equal(ans.status, 200);
    assert_non_null(strstr(ans.reply, "[[ ## category ## ]]\naccount"));
    cJSON_free(text);

    /* An ft: name no job produced: 404, in either API's shape. */
    cJSON_ReplaceItemInObject(body, "model", cJSON_CreateString("ft:gpt-4o-mini:t:00000000"));
    text = cJSON_PrintUnformatted(body);
    rs_answer_chat_ft(&a, &o, s, RS_API_OPENAI, text, strlen(text), NULL, 0, &ans);
    assert_int_equal(ans.status, 404);
    cJSON *e = answer_json(&ans);
    assert_string_equal(err_field(e, "code"), "model_not_found");
    cJSON_Delete(e);
    /* Without a store (the plain entry point), every ft: name is unknown. */
    rs_answer_chat(&a, &o, RS_API_OPENAI, text, strlen(text), NULL, 0, &ans);
    assert_int_equal(ans.status, 404);
    cJSON_free(text);
    cJSON_Delete(body);
    rs_ft_store_free(s);
    rs_arena_free(&a);
}

/* Cut and byte-flipped training files and job bodies: every answer is a
 * 200 or a 400 with a JSON body, never a crash (ASan+UBSan in check-asan). */
/* Stores with other seeds know none of each other's ids: a restarted
 * fixture with another seed must answer 404 for the jobs and files of the
 * old one (with seed ^ count, seed 0's third job was seed 2's first). */
static void test_other_seeds_give_other_ids(void **state)
{
    (void)state;
    enum { SEEDS = 4, N = 4 };
    char ids[SEEDS][2 * N][40];
    rs_ft_store *keep = g_store;
    for (int sd = 0; sd < SEEDS; sd++) {
        char err[256];
        g_store = rs_ft_store_new(DELAY_MS, (uint64_t)sd, NULL, err, sizeof err);
        assert_non_null(g_store);
        rs_arena a;
        rs_arena_init(&a);
        for (int i = 0; i < N; i++) {
            const char *fid = upload_ok(&a, 12);
            const rs_ft_job *j = create_ok(&a, fid, NULL);
            snprintf(ids[sd][2 * i], sizeof ids[sd][2 * i], "%s", fid);
            snprintf(ids[sd][2 * i + 1], sizeof ids[sd][2 * i + 1], "%s", j->id);
        }
        rs_arena_free(&a);
        rs_ft_store_free(g_store);
    }
    g_store = keep;
    for (int s1 = 0; s1 < SEEDS; s1++)
        for (int s2 = s1 + 1; s2 < SEEDS; s2++)
            for (int i = 0; i < 2 * N; i++)
                for (int k = 0; k < 2 * N; k++)
                    if (strcmp(ids[s1][i], ids[s2][k]) == 0)
                        fail_msg("seed %d and seed %d both have %s", s1, s2, ids[s1][i]);
}

static void test_mutated_uploads_and_bodies_get_200_or_400(void **state)
{
    (void)state;
    char err[128];
    rs_ft_store *s = rs_ft_store_new(DELAY_MS, 3, NULL, err, sizeof err);
    assert_non_null(s);
    char *good = training(12);
    size_t glen = strlen(good);
    char *buf = malloc(glen + 1);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t ok = 0, refused = 0;
    for (int i = 0; i < 400; i++) {
        rs_arena a;
        rs_arena_init(&a);
        memcpy(buf, good, glen + 1);
        size_t len = glen;
        int flips = 1 + i % 4;
        for (int f = 0; f < flips; f++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            buf[rng % len] = (char)(rng >> 24);
        }
        if (i % 3 == 0) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            len = rng % glen;
        }
        rs_ft_upload up = {.multipart = true, .purpose = "fine-tune", .data = buf, .len = len};
        rs_answer ans;
        rs_ft_answer(s, &a, "POST", "/v1/files", NULL, 0, &up, &ans, NULL);
        assert_true(ans.status == 200 || ans.status == 400);
        cJSON *j = answer_json(&ans);
        ok += ans.status == 200;
        refused += ans.status == 400;
        /* The same bytes as a job request body. */
        rs_ft_answer(s, &a, "POST", "/v1/fine_tuning/jobs", buf, len, NULL, &ans, NULL);
        assert_int_equal(ans.status, 400);
        cJSON_Delete(j);
        j = answer_json(&ans);
        cJSON_Delete(j);
        rs_arena_free(&a);
    }
    print_message("mutated uploads: %zu accepted, %zu refused\n", ok, refused);
    assert_true(ok > 0 && refused > 0);
    free(buf);
    free(good);
    rs_ft_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uploads_are_validated_like_openai),
        cmocka_unit_test(test_job_requests_are_validated),
        cmocka_unit_test(test_a_job_validates_runs_and_succeeds),
        cmocka_unit_test(test_too_few_examples_fail_after_validation),
        cmocka_unit_test(test_cancel_list_and_unknown_paths),
        cmocka_unit_test(test_examples_become_demos_by_field_name),
        cmocka_unit_test(test_chat_with_a_fine_tuned_model),
        cmocka_unit_test(test_mutated_uploads_and_bodies_get_200_or_400),
        cmocka_unit_test(test_other_seeds_give_other_ids),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
