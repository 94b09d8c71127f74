/* test_refserver_http.c — dsp-refserver over real HTTP (libcurl).
 *
 * Starts $BUILD/dsp-refserver on a free port, sends OpenAI- and
 * Anthropic-format requests and checks replies, determinism, sampling,
 * errors, the request log, the learning property on real tickets, and a
 * clean stop on SIGTERM. Prompts are rendered here in dspcc's chat format
 * (a small helper), independently of the runtime's adapter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "../support/refserver_proc.h"

/* --- HTTP ------------------------------------------------------------------ */

typedef struct response {
    long status;
    char *body;
    size_t len;
    char retry_after[32];
    CURLcode rc;
} response;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    response *r = ud;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, sz * n);
    r->body = b;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static CURL *g_curl; /* one handle: keep-alive across requests */

static response http(const rs_proc *s, const char *method, const char *path, const char *body,
                     const char *const *headers)
{
    response r = {0};
    r.body = calloc(1, 1);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s->port, path);
    CURL *c = g_curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    return r;
}

static const char *const k_anthropic_headers[] = {"anthropic-version: 2023-06-01", NULL};

/* --- rendering prompts in the chat format --------------------------------- */

typedef struct ticket {
    char *text;
    char *category;
} ticket;

static const char *const k_labels[] = {"billing", "account", "orders", "general"};

static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char *system_message(const char *instructions, bool cot)
{
    return str_printf(
        "Your input fields are:\n"
        "1. `ticket_text` (string): Raw text of the customer support ticket\n"
        "Your output fields are:\n"
        "%s"
        "%d. `category` (enum): One of the four queues\n"
        "\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n"
        "\n"
        "[[ ## ticket_text ## ]]\n{ticket_text}\n\n"
        "%s"
        "[[ ## category ## ]]\n{category}        # note: the value you produce must exactly match (no extra characters) one of: billing; account; orders; general\n\n"
        "[[ ## completed ## ]]\n"
        "In adhering to this structure, your objective is: \n"
        "        %s",
        cot ? "1. `reasoning` (string):\n" : "", cot ? 2 : 1,
        cot ? "[[ ## reasoning ## ]]\n{reasoning}\n\n" : "", instructions);
}

static void add_message(cJSON *msgs, const char *role, char *text)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", text);
    cJSON_AddItemToArray(msgs, m);
    free(text);
}

/* The messages of a ticket classification call. */
static cJSON *ticket_messages(const char *instructions, const ticket *demos, size_t n_demos,
                              const char *query, bool cot)
{
    cJSON *msgs = cJSON_CreateArray();
    add_message(msgs, "system", system_message(instructions, cot));
    for (size_t i = 0; i < n_demos; i++) {
        add_message(msgs, "user", str_printf("[[ ## ticket_text ## ]]\n%s", demos[i].text));
        add_message(msgs, "assistant",
                    str_printf("%s[[ ## category ## ]]\n%s\n\n[[ ## completed ## ]]",
                               cot ? "[[ ## reasoning ## ]]\nSimilar wording.\n\n" : "",
                               demos[i].category));
    }
    add_message(msgs, "user",
                str_printf("[[ ## ticket_text ## ]]\n%s\n\nRespond with the corresponding output fields, "
                           "starting with the field %s`[[ ## category ## ]]` (must be formatted as a valid "
                           "enum value), and then ending with the marker for `[[ ## completed ## ]]`.",
                           query, cot ? "`[[ ## reasoning ## ]]`, then " : ""));
    return msgs;
}

/* An OpenAI request body; takes ownership of msgs. extra: more JSON members
 * as text (e.g. "\"seed\":3"), or NULL. */
static char *openai_body(cJSON *msgs, double temperature, const char *extra)
{
    char *m = cJSON_PrintUnformatted(msgs);
    cJSON_Delete(msgs);
    char *b = str_printf("{\"model\":\"dsp-refserver\",\"temperature\":%g,\"messages\":%s%s%s}", temperature, m,
                         extra ? "," : "", extra ? extra : "");
    cJSON_free(m);
    return b;
}

/* The text of the first choice (OpenAI), or NULL. Caller frees. */
static char *openai_content(const response *r)
{
    cJSON *j = cJSON_Parse(r->body);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message"), "content");
    char *out = cJSON_IsString(c) ? strdup(c->valuestring) : NULL;
    cJSON_Delete(j);
    return out;
}

/* The value of a `[[ ## name ## ]]` block of a reply. Caller frees. */
static char *field_of(const char *reply, const char *name)
{
    char marker[128];
    snprintf(marker, sizeof marker, "[[ ## %s ## ]]", name);
    const char *p = reply ? strstr(reply, marker) : NULL;
    if (!p)
        return NULL;
    p += strlen(marker);
    while (*p == '\n' || *p == ' ')
        p++;
    const char *e = strstr(p, "[[ ##");
    if (!e)
        e = p + strlen(p);
    while (e > p && (e[-1] == '\n' || e[-1] == ' '))
        e--;
    return strndup(p, (size_t)(e - p));
}

static bool is_label(const char *s)
{
    for (size_t i = 0; s && i < 4; i++)
        if (strcmp(s, k_labels[i]) == 0)
            return true;
    return false;
}

static ticket *load_tickets(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 128;
    ticket *t = malloc(cap * sizeof *t);
    char line[4096];
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItem(j, "text"), *cat = cJSON_GetObjectItem(j, "category");
        if (cJSON_IsString(text) && cJSON_IsString(cat)) {
            if (*n == cap)
                t = realloc(t, (cap *= 2) * sizeof *t);
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

/* --- fixtures ----------------------------------------------------------- */

static rs_proc g_srv;
static rs_proc g_extra; /* a test's own server; stopped by the teardown if the test failed */
static char g_log[256];

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_curl = curl_easy_init();
    snprintf(g_log, sizeof g_log, "/tmp/dsp-refserver-test-%d.log", (int)getpid());
    unlink(g_log);
    const char *args[] = {"--log", g_log, "--max-body-bytes", "65536", NULL};
    return rs_proc_start(&g_srv, args) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rs_proc_stop(&g_srv, 5000, NULL);
    if (g_extra.pid > 0)
        rs_proc_stop(&g_extra, 5000, NULL);
    unlink(g_log);
    curl_easy_cleanup(g_curl);
    curl_global_cleanup();
    return 0;
}

static char *ticket_request(double temperature, const char *extra)
{
    ticket demo[] = {{"I can't log in after resetting my password.", "account"},
                     {"Where is my refund for the double charge?", "billing"}};
    return openai_body(ticket_messages("Classify a customer support ticket.", demo, 2,
                                       "I was charged twice this month.", true),
                       temperature, extra);
}

/* --- tests ----------------------------------------------------------------- */

static void test_openai_reply_is_well_formed(void **state)
{
    (void)state;
    char *body = ticket_request(0, NULL);
    response r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    assert_true(strncmp(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-", 9) == 0);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "created")));
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "dsp-refserver");
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "message"), "role")->valuestring, "assistant");
    assert_string_equal(cJSON_GetObjectItem(ch, "finish_reason")->valuestring, "stop");
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    int pt = cJSON_GetObjectItem(u, "prompt_tokens")->valueint;
    int ct = cJSON_GetObjectItem(u, "completion_tokens")->valueint;
    assert_true(pt > 50 && ct > 0);
    assert_int_equal(cJSON_GetObjectItem(u, "total_tokens")->valueint, pt + ct);
    cJSON_Delete(j);
    char *content = openai_content(&r);
    char *cat = field_of(content, "category"), *why = field_of(content, "reasoning");
    assert_string_equal(cat, "billing");
    assert_non_null(why);
    assert_non_null(strstr(why, "charge")); /* names its evidence */
    assert_non_null(strstr(content, "[[ ## completed ## ]]"));
    free(cat);
    free(why);
    free(content);
    free(r.body);
    free(body);
}

static void test_anthropic_reply_is_well_formed(void **state)
{
    (void)state;
    cJSON *msgs = ticket_messages("Classify a customer support ticket.", NULL, 0,
                                  "I want to delete my account", false);
    /* The system message goes to the top-level `system`, as blocks. */
    cJSON *sys = cJSON_DetachItemFromArray(msgs, 0);
    cJSON *blocks = cJSON_CreateArray();
    cJSON *blk = cJSON_CreateObject();
    cJSON_AddStringToObject(blk, "type", "text");
    cJSON_AddStringToObject(blk, "text", cJSON_GetObjectItem(sys, "content")->valuestring);
    cJSON_AddItemToArray(blocks, blk);
    cJSON_Delete(sys);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "claude-fixture");
    cJSON_AddNumberToObject(req, "max_tokens", 200);
    cJSON_AddNumberToObject(req, "temperature", 0);
    cJSON_AddItemToObject(req, "system", blocks);
    cJSON_AddItemToObject(req, "messages", msgs);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    response r = http(&g_srv, "POST", "/v1/messages", body, k_anthropic_headers);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "message");
    assert_string_equal(cJSON_GetObjectItem(j, "role")->valuestring, "assistant");
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "claude-fixture");
    assert_string_equal(cJSON_GetObjectItem(j, "stop_reason")->valuestring, "end_turn");
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
    assert_string_equal(cJSON_GetObjectItem(c0, "type")->valuestring, "text");
    char *cat = field_of(cJSON_GetObjectItem(c0, "text")->valuestring, "category");
    assert_string_equal(cat, "account"); /* the label's name is in the input */
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    assert_true(cJSON_GetObjectItem(u, "input_tokens")->valueint > 50);
    assert_true(cJSON_GetObjectItem(u, "output_tokens")->valueint > 0);
    free(cat);
    cJSON_Delete(j);
    free(r.body);
    cJSON_free(body);
}

static void test_content_parts_equal_strings(void **state)
{
    (void)state;
    char *plain = ticket_request(0, NULL);
    /* The same request with every content as an array of text parts. */
    cJSON *j = cJSON_Parse(plain);
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "messages")) {
        const char *text = cJSON_GetObjectItem(m, "content")->valuestring;
        cJSON *parts = cJSON_CreateArray();
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "text");
        cJSON_AddStringToObject(p, "text", text);
        cJSON_AddItemToArray(parts, p);
        cJSON_ReplaceItemInObject(m, "content", parts);
    }
    char *parts = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    response a = http(&g_srv, "POST", "/v1/chat/completions", plain, NULL);
    response b = http(&g_srv, "POST", "/v1/chat/completions", parts, NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(b.status, 200);
    char *ca = openai_content(&a), *cb = openai_content(&b);
    assert_string_equal(ca, cb);
    free(ca);
    free(cb);
    free(a.body);
    free(b.body);
    free(plain);
    cJSON_free(parts);
}

static void test_temperature_zero_is_deterministic(void **state)
{
    (void)state;
    char *b1 = ticket_request(0, "\"seed\":1");
    char *b2 = ticket_request(0, "\"seed\":2");
    response r1 = http(&g_srv, "POST", "/v1/chat/completions", b1, NULL);
    response r2 = http(&g_srv, "POST", "/v1/chat/completions", b1, NULL);
    response r3 = http(&g_srv, "POST", "/v1/chat/completions", b2, NULL);
    assert_string_equal(r1.body, r2.body); /* byte-identical */
    char *c1 = openai_content(&r1), *c3 = openai_content(&r3);
    assert_string_equal(c1, c3); /* the seed does not matter at 0 */
    free(c1);
    free(c3);
    free(r1.body);
    free(r2.body);
    free(r3.body);
    free(b1);
    free(b2);
}

static void test_temperature_one_varies_with_seed(void **state)
{
    (void)state;
    /* An ambiguous ticket: two labels have evidence. */
    ticket demo[] = {{"my order was charged twice", "billing"},
                     {"my order has not arrived", "orders"},
                     {"I need the invoice for my order", "billing"},
                     {"change the address of my order", "orders"}};
    char seen[4] = {0};
    char *first = NULL;
    for (int seed = 0; seed < 24; seed++) {
        char extra[32];
        snprintf(extra, sizeof extra, "\"seed\":%d", seed);
        char *body = openai_body(ticket_messages("Classify.", demo, 4, "problem with my order payment", false), 1.0, extra);
        response r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
        response again = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
        assert_string_equal(r.body, again.body); /* reproducible per seed */
        char *c = openai_content(&r);
        char *cat = field_of(c, "category");
        assert_true(is_label(cat));
        for (int i = 0; i < 4; i++)
            if (strcmp(cat, k_labels[i]) == 0)
                seen[i] = 1;
        if (!first)
            first = strdup(cat);
        free(cat);
        free(c);
        free(r.body);
        free(again.body);
        free(body);
    }
    assert_true(seen[0] && seen[2]); /* both candidates were sampled */
    free(first);
}

static void test_n_json_modes_stop_and_max_tokens(void **state)
{
    (void)state;
    /* n choices */
    char *body = ticket_request(1.0, "\"n\":3");
    response r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    cJSON *j = cJSON_Parse(r.body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")), 3);
    cJSON_Delete(j);
    free(r.body);
    free(body);

    /* json_object: one key per output field */
    body = ticket_request(0, "\"response_format\":{\"type\":\"json_object\"}");
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    char *c = openai_content(&r);
    j = cJSON_Parse(c);
    assert_non_null(j);
    assert_true(is_label(cJSON_GetObjectItem(j, "category")->valuestring));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "reasoning")));
    cJSON_Delete(j);
    free(c);
    free(r.body);
    free(body);

    /* json_schema: the schema's properties and types */
    body = ticket_request(0, "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"t\",\"schema\":"
                             "{\"type\":\"object\",\"properties\":{\"category\":{\"type\":\"string\",\"enum\":[\"billing\",\"account\",\"orders\",\"general\"]},"
                             "\"confidence\":{\"type\":\"number\"},\"urgent\":{\"type\":\"boolean\"}},\"required\":[\"category\",\"confidence\",\"urgent\"]}}}");
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    assert_int_equal(r.status, 200);
    c = openai_content(&r);
    j = cJSON_Parse(c);
    assert_true(is_label(cJSON_GetObjectItem(j, "category")->valuestring));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "confidence")));
    assert_true(cJSON_IsBool(cJSON_GetObjectItem(j, "urgent")));
    assert_null(cJSON_GetObjectItem(j, "reasoning")); /* not in the schema */
    cJSON_Delete(j);
    free(c);
    free(r.body);
    free(body);

    /* max_tokens cuts and says so */
    body = ticket_request(0, "\"max_tokens\":3");
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    j = cJSON_Parse(r.body);
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(cJSON_GetObjectItem(ch, "finish_reason")->valuestring, "length");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "completion_tokens")->valueint, 3);
    cJSON_Delete(j);
    free(r.body);
    free(body);

    /* stop sequences end the text before them */
    body = ticket_request(0, "\"stop\":[\"[[ ## category\"]");
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    c = openai_content(&r);
    assert_null(strstr(c, "category"));
    assert_non_null(strstr(c, "[[ ## reasoning ## ]]"));
    free(c);
    free(r.body);
    free(body);
}

static void expect_openai_error(const char *body, const char *param)
{
    response r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    assert_int_equal(r.status, 400);
    cJSON *j = cJSON_Parse(r.body);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "invalid_request_error");
    assert_true(strlen(cJSON_GetObjectItem(e, "message")->valuestring) > 10);
    const cJSON *p = cJSON_GetObjectItem(e, "param");
    if (param)
        assert_string_equal(p->valuestring, param);
    else
        assert_true(cJSON_IsNull(p));
    assert_non_null(cJSON_GetObjectItem(e, "code"));
    cJSON_Delete(j);
    free(r.body);
}

static void expect_anthropic_error(const char *body, const char *const *headers, const char *needle)
{
    response r = http(&g_srv, "POST", "/v1/messages", body, headers);
    assert_int_equal(r.status, 400);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, "invalid_request_error");
    assert_non_null(strstr(cJSON_GetObjectItem(e, "message")->valuestring, needle));
    cJSON_Delete(j);
    free(r.body);
}

static void test_bad_requests_get_400_in_provider_shape(void **state)
{
    (void)state;
    expect_openai_error("{\"model\": \"m\", \"messages\": [", NULL);
    expect_openai_error("[1,2]", NULL);
    expect_openai_error("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model");
    expect_openai_error("{\"model\":\"m\",\"messages\":{}}", "messages");
    expect_openai_error("{\"model\":\"m\",\"messages\":[]}", "messages");
    expect_openai_error("{\"model\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", "messages");
    expect_openai_error("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", "messages");
    expect_openai_error("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":5}", "temperature");
    expect_openai_error("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":0}", "n");
    expect_openai_error("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-1}", "max_tokens");
    expect_openai_error("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"xml\"}}", "response_format.type");
    expect_openai_error("", NULL);

    const char *ok = "{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    expect_anthropic_error(ok, NULL, "anthropic-version");
    expect_anthropic_error("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", k_anthropic_headers, "max_tokens");
    expect_anthropic_error("{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":\"system\",\"content\":\"hi\"}]}", k_anthropic_headers, "system");
    expect_anthropic_error("{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", k_anthropic_headers, "text");
    expect_anthropic_error("not json", k_anthropic_headers, "JSON");

    /* A valid Anthropic request still works after all that. */
    response r = http(&g_srv, "POST", "/v1/messages", ok, k_anthropic_headers);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "test fixture")); /* not the chat format: says what it is */
    free(r.body);
}

static void test_paths_methods_and_sizes(void **state)
{
    (void)state;
    response r = http(&g_srv, "GET", "/v1/models", NULL, NULL);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "list");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")) >= 1);
    cJSON_Delete(j);
    free(r.body);

    r = http(&g_srv, "POST", "/v2/nothing", "{}", NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"error\":{\"message\""));
    free(r.body);
    r = http(&g_srv, "GET", "/v1/messages/nothing", NULL, NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"not_found_error\""));
    free(r.body);
    r = http(&g_srv, "GET", "/v1/chat/completions", NULL, NULL);
    assert_int_equal(r.status, 405);
    free(r.body);
    r = http(&g_srv, "DELETE", "/v1/messages", NULL, k_anthropic_headers);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.body, "\"type\":\"error\""));
    free(r.body);

    /* The test server runs with --max-body-bytes 65536. */
    size_t n = 200000;
    char *big = malloc(n + 64);
    int k = snprintf(big, 64, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"");
    memset(big + k, 'a', n);
    strcpy(big + k + n, "\"}]}");
    r = http(&g_srv, "POST", "/v1/chat/completions", big, NULL);
    assert_int_equal(r.status, 413);
    free(r.body);
    free(big);
    /* and the server is still fine */
    char *body = ticket_request(0, NULL);
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    free(body);
}

static void test_connections_are_kept_alive(void **state)
{
    (void)state;
    /* Every kind of answer leaves the connection open for the next one. */
    const char *paths[] = {"/v1/models", "/v1/nothing", "/v1/chat/completions", "/v1/models"};
    const char *methods[] = {"GET", "GET", "GET", "GET"};
    response r = http(&g_srv, "GET", "/v1/models", NULL, NULL);
    free(r.body);
    for (size_t i = 0; i < 4; i++) {
        r = http(&g_srv, methods[i], paths[i], NULL, NULL);
        long connects = -1;
        curl_easy_getinfo(g_curl, CURLINFO_NUM_CONNECTS, &connects);
        assert_int_equal(connects, 0);
        free(r.body);
    }
    char *body = ticket_request(0, NULL);
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    free(r.body);
    r = http(&g_srv, "POST", "/v1/chat/completions", "{bad json", NULL);
    assert_int_equal(r.status, 400);
    free(r.body);
    r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    long connects = -1;
    curl_easy_getinfo(g_curl, CURLINFO_NUM_CONNECTS, &connects);
    assert_int_equal(connects, 0);
    free(r.body);
    free(body);
}

static void test_anthropic_stop_reasons(void **state)
{
    (void)state;
    const char *base = "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}],";
    char body[512];
    snprintf(body, sizeof body, "%s\"max_tokens\":2}", base);
    response r = http(&g_srv, "POST", "/v1/messages", body, k_anthropic_headers);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "stop_reason")->valuestring, "max_tokens");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "output_tokens")->valueint, 2);
    cJSON_Delete(j);
    free(r.body);
    snprintf(body, sizeof body, "%s\"max_tokens\":100,\"stop_sequences\":[\"fixture\"]}", base);
    r = http(&g_srv, "POST", "/v1/messages", body, k_anthropic_headers);
    j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "stop_reason")->valuestring, "stop_sequence");
    assert_string_equal(cJSON_GetObjectItem(j, "stop_sequence")->valuestring, "fixture");
    const char *text = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0), "text")->valuestring;
    assert_null(strstr(text, "fixture"));
    cJSON_Delete(j);
    free(r.body);
}

static void test_log_has_requests_but_no_credentials(void **state)
{
    (void)state;
    const char *const hdrs[] = {"Authorization: Bearer sk-test-SECRET-1234", "x-api-key: key-SECRET-5678", NULL};
    char *body = ticket_request(0, NULL);
    response r = http(&g_srv, "POST", "/v1/chat/completions", body, hdrs);
    assert_int_equal(r.status, 200);
    free(r.body);
    free(body);
    FILE *f = fopen(g_log, "r");
    assert_non_null(f);
    char line[65536];
    int lines = 0, chat = 0;
    while (fgets(line, sizeof line, f)) {
        assert_null(strstr(line, "SECRET"));
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        lines++;
        const cJSON *path = cJSON_GetObjectItem(j, "path");
        if (cJSON_IsString(path) && strcmp(path->valuestring, "/v1/chat/completions") == 0 &&
            cJSON_GetObjectItem(j, "status")->valueint == 200) {
            const cJSON *reply = cJSON_GetObjectItem(j, "reply");
            assert_true(cJSON_IsString(reply));
            chat += strstr(reply->valuestring, "[[ ## category ## ]]") != NULL;
            assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "POST");
            assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "dsp-refserver");
            assert_true(cJSON_GetObjectItem(j, "n_messages")->valueint >= 2);
            assert_non_null(strstr(cJSON_GetObjectItem(j, "prompt")->valuestring, "your objective is:"));
        }
        cJSON_Delete(j);
    }
    fclose(f);
    assert_true(lines >= 1 && chat >= 1);
}

/* --- the learning property ----------------------------------------------- */

static double accuracy(const char *instructions, const ticket *demos, size_t n_demos,
                       const ticket *dev, size_t n_dev)
{
    size_t right = 0;
    for (size_t i = 0; i < n_dev; i++) {
        char *body = openai_body(ticket_messages(instructions, demos, n_demos, dev[i].text, false), 0, NULL);
        response r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
        char *c = openai_content(&r);
        char *cat = field_of(c, "category");
        right += cat && strcmp(cat, dev[i].category) == 0;
        free(cat);
        free(c);
        free(r.body);
        free(body);
    }
    return 100.0 * (double)right / (double)n_dev;
}

/* Asks the server for an instruction, as the optimizer will. */
static char *propose(const ticket *examples, size_t n, const char *tip)
{
    cJSON *msgs = cJSON_CreateArray();
    add_message(msgs, "system", str_printf(
        "Your input fields are:\n"
        "1. `dataset_description` (string): What the data is\n"
        "2. `examples` (string): Labelled examples, one `input -> label` per line\n"
        "3. `tip` (string): A style tip\n"
        "Your output fields are:\n"
        "1. `proposed_instruction` (string): An instruction for the task\n\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "[[ ## dataset_description ## ]]\n{dataset_description}\n\n[[ ## examples ## ]]\n{examples}\n\n"
        "[[ ## tip ## ]]\n{tip}\n\n[[ ## proposed_instruction ## ]]\n{proposed_instruction}\n\n"
        "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n"
        "        Propose an instruction that will make a language model do the task well."));
    size_t cap = 64;
    for (size_t i = 0; i < n; i++)
        cap += strlen(examples[i].text) + strlen(examples[i].category) + 8;
    char *ex = malloc(cap);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(ex + len, "%s -> %s\n", examples[i].text, examples[i].category);
    add_message(msgs, "user", str_printf(
        "[[ ## dataset_description ## ]]\nCustomer support tickets.\n\n[[ ## examples ## ]]\n%s\n"
        "[[ ## tip ## ]]\n%s\n\nRespond with the corresponding output fields, starting with the field "
        "`[[ ## proposed_instruction ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.",
        ex, tip));
    free(ex);
    char *body = openai_body(msgs, 0, NULL);
    response r = http(&g_srv, "POST", "/v1/chat/completions", body, NULL);
    char *c = openai_content(&r);
    char *instr = field_of(c, "proposed_instruction");
    free(c);
    free(r.body);
    free(body);
    return instr;
}

static void test_demos_and_hints_measurably_help(void **state)
{
    (void)state;
    size_t n_train, n_dev;
    ticket *train = load_tickets("tests/refserver/data/train_subset.jsonl", &n_train);
    ticket *dev = load_tickets("tests/refserver/data/dev100.jsonl", &n_dev);
    if (!train || !dev)
        fail_msg("cannot read tests/refserver/data/*.jsonl: run the tests from the repository root");
    assert_int_equal(n_train, 56);
    assert_int_equal(n_dev, 100);
    /* 16 demos: the first 4 of each category; the other 10 per category
     * are the examples an instruction proposal sees. */
    ticket demos[16], examples[40];
    size_t nd = 0, ne = 0;
    for (size_t c = 0; c < 4; c++)
        for (size_t i = 0; i < 14; i++) {
            if (i < 4)
                demos[nd++] = train[c * 14 + i];
            else
                examples[ne++] = train[c * 14 + i];
        }
    const char *plain = "Classify a customer support ticket.";
    double zero = accuracy(plain, NULL, 0, dev, n_dev);
    double few = accuracy(plain, demos, 16, dev, n_dev);
    char *hinted = propose(examples, ne, "Be concise.");
    char *other = propose(examples, ne, "Use the customer's point of view.");
    assert_non_null(hinted);
    assert_non_null(other);
    assert_non_null(strstr(hinted, "\nbilling: "));
    assert_string_not_equal(hinted, other); /* tips give different candidates */
    double hints = accuracy(hinted, NULL, 0, dev, n_dev);
    double both = accuracy(hinted, demos, 16, dev, n_dev);
    print_message("accuracy on 100 dev tickets: zero-shot %.0f%%, 16 demos %.0f%%, proposed hints %.0f%%, "
                  "hints+demos %.0f%%\n", zero, few, hints, both);
    assert_true(zero <= 60);
    assert_true(few >= zero + 20);
    assert_true(hints >= zero + 15);
    assert_true(both >= few);
    free(hinted);
    free(other);
    free_tickets(train, n_train);
    free_tickets(dev, n_dev);
}

/* Runs last: its own server, stopped while a request hangs. */
static void test_sigterm_stops_cleanly_even_with_a_hanging_request(void **state)
{
    (void)state;
    rs_proc *sp = &g_extra;
    const char *args[] = {"--fail-rate", "1", "--fail-kinds", "hang", "--hang-ms", "60000", NULL};
    assert_true(rs_proc_start(sp, args));
    char *body = ticket_request(0, NULL);
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/chat/completions", sp->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    response r = {0};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(c);
    free(r.body);
    free(body);
    int took = 0;
    int status = rs_proc_stop(sp, 5000, &took);
    sp->pid = 0;
    assert_int_equal(status, 0);
    assert_true(took < 2000);
}

/* --- multipart uploads ---------------------------------------------------- */

#ifndef MULTIPART_CASES /* more by hand: -DMULTIPART_CASES=20000 */
#define MULTIPART_CASES 600
#endif

static response post_raw(const rs_proc *s, const char *path, const char *content_type, const char *body, size_t len)
{
    response r = {0};
    r.body = calloc(1, 1);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s->port, path);
    CURL *c = g_curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    char ct[256];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    struct curl_slist *hl = curl_slist_append(NULL, ct);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    return r;
}

/* Mutated multipart/form-data uploads to POST /v1/files (the post processor
 * of ft_multipart.c reads them): byte flips, cuts, repeated and dropped
 * spans, and a Content-Type whose boundary is changed, cut or missing. Each
 * gets a JSON 200 or 400, and the server still takes a good upload after
 * (a crash would show as a failed request; ASan+UBSan in check-asan). */
static void test_mutated_multipart_uploads_get_200_or_400(void **state)
{
    (void)state;
    static const char boundary[] = "dspB0undary7MA4YWxkTrZu0gW";
    static const char line[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi \\u00e9 \xe2\x82\xac\"},"
                               "{\"role\":\"assistant\",\"content\":\"billing\"}]}\n";
    char good[2048];
    int glen = snprintf(good, sizeof good,
                        "--%s\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                        "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\n"
                        "Content-Type: application/jsonl\r\n\r\n%s%s%s\r\n--%s--\r\n",
                        boundary, boundary, line, line, line, boundary);
    assert_true(glen > 0 && (size_t)glen < sizeof good);
    char ct_good[128];
    snprintf(ct_good, sizeof ct_good, "multipart/form-data; boundary=%s", boundary);
    response r = post_raw(&g_srv, "/v1/files", ct_good, good, (size_t)glen);
    assert_int_equal(r.status, 200);
    free(r.body);

    uint64_t rng = 0x243F6A8885A308D3ull;
#define NEXT() (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, rng)
    char buf[4096];
    size_t n200 = 0, n400 = 0;
    for (int i = 0; i < MULTIPART_CASES; i++) {
        size_t len = (size_t)glen;
        memcpy(buf, good, len);
        int edits = 1 + (int)(NEXT() % 4);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = NEXT() % len;
            switch (NEXT() % 5) {
            case 0: /* a byte flipped, often to one the format cares about */
                buf[at] = "-\r\n\"=;:\0x"[NEXT() % 9];
                if (NEXT() % 2)
                    buf[at] = (char)NEXT();
                break;
            case 1: /* cut */
                len = at;
                break;
            case 2: { /* a span dropped */
                size_t n = NEXT() % 40;
                if (at + n > len)
                    n = len - at;
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
                break;
            }
            case 3: { /* a span repeated */
                size_t n = NEXT() % 80;
                if (at + n > len)
                    n = len - at;
                if (len + n <= sizeof buf) {
                    memmove(buf + at + n, buf + at, len - at);
                    len += n;
                }
                break;
            }
            default: /* a whole part repeated */
                if (len + (size_t)glen <= sizeof buf) {
                    memcpy(buf + len, good, (size_t)glen);
                    len += (size_t)glen;
                }
            }
        }
        const char *ct = ct_good;
        char ct_bad[128];
        switch (NEXT() % 8) {
        case 0: ct = "multipart/form-data"; break; /* no boundary */
        case 1:
            snprintf(ct_bad, sizeof ct_bad, "multipart/form-data; boundary=%.*s", (int)(NEXT() % sizeof boundary),
                     boundary);
            ct = ct_bad;
            break;
        case 2: ct = "multipart/form-data; boundary=\"\""; break;
        default: break;
        }
        r = post_raw(&g_srv, "/v1/files", ct, buf, len);
        if (r.rc != CURLE_OK)
            fail_msg("case %d: %s (Content-Type: %s, %zu bytes)", i, curl_easy_strerror(r.rc), ct, len);
        if (r.status != 200 && r.status != 400)
            fail_msg("case %d: HTTP %ld: %s", i, r.status, r.body);
        n200 += r.status == 200;
        n400 += r.status == 400;
        cJSON *j = cJSON_Parse(r.body);
        assert_non_null(j);
        assert_true(cJSON_IsObject(j));
        cJSON_Delete(j);
        free(r.body);
    }
#undef NEXT
    print_message("mutated multipart uploads: %zu accepted, %zu refused\n", n200, n400);
    assert_true(n200 > 0 && n400 > 0);
    r = post_raw(&g_srv, "/v1/files", ct_good, good, (size_t)glen);
    assert_int_equal(r.status, 200);
    free(r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_reply_is_well_formed),
        cmocka_unit_test(test_anthropic_reply_is_well_formed),
        cmocka_unit_test(test_content_parts_equal_strings),
        cmocka_unit_test(test_temperature_zero_is_deterministic),
        cmocka_unit_test(test_temperature_one_varies_with_seed),
        cmocka_unit_test(test_n_json_modes_stop_and_max_tokens),
        cmocka_unit_test(test_bad_requests_get_400_in_provider_shape),
        cmocka_unit_test(test_paths_methods_and_sizes),
        cmocka_unit_test(test_connections_are_kept_alive),
        cmocka_unit_test(test_anthropic_stop_reasons),
        cmocka_unit_test(test_log_has_requests_but_no_credentials),
        cmocka_unit_test(test_demos_and_hints_measurably_help),
        cmocka_unit_test(test_sigterm_stops_cleanly_even_with_a_hanging_request),
        cmocka_unit_test(test_mutated_multipart_uploads_get_200_or_400),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
