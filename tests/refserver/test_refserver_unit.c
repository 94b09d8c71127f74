/* test_refserver_unit.c — the reference server's parts without HTTP:
 * prompt parsing, tokens, hints, the learner, proposals, replies, wire
 * helpers, options and the answer pipeline (faults included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "embed.h"
#include "learner.h"
#include "options.h"
#include "prompt.h"
#include "reply.h"
#include "text.h"
#include "wire.h"

static const char *k_system =
    "Your input fields are:\n"
    "1. `ticket_text` (string): Raw text of the customer support ticket\n"
    "Your output fields are:\n"
    "1. `reasoning` (string):\n"
    "2. `category` (enum): One of the four queues\n"
    "3. `priority` (int): 1 to 5\n"
    "4. `tags` (list[string]): Keywords\n"
    "\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n"
    "\n"
    "[[ ## ticket_text ## ]]\n{ticket_text}\n\n"
    "[[ ## reasoning ## ]]\n{reasoning}\n\n"
    "[[ ## category ## ]]\n{category}        # note: the value you produce must exactly match (no extra characters) one of: billing; account; orders; general\n\n"
    "[[ ## priority ## ]]\n{priority}        # note: the value you produce must be a single int value\n\n"
    "[[ ## tags ## ]]\n{tags}        # note: the value you produce must adhere to the JSON schema: {\"type\": \"array\", \"items\": {\"type\": \"string\"}}\n\n"
    "[[ ## completed ## ]]\n"
    "In adhering to this structure, your objective is: \n"
    "        Classify a customer support ticket.\n"
    "        billing: invoice, refund\n"
    "        - orders: parcel, delivery";

static const char *k_demo_user = "[[ ## ticket_text ## ]]\nI can't log in after resetting my password.";
static const char *k_demo_reply =
    "[[ ## reasoning ## ]]\nA login problem.\n\n[[ ## category ## ]]\naccount\n\n"
    "[[ ## priority ## ]]\n2\n\n[[ ## tags ## ]]\n[\"login\"]\n\n[[ ## completed ## ]]";

static rs_task parse(rs_arena *a, const char *query)
{
    char *last = rs_alloc(a, strlen(query) + 256);
    sprintf(last, "[[ ## ticket_text ## ]]\n%s\n\nRespond with the corresponding output fields, starting with "
                  "the field `[[ ## reasoning ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.",
            query);
    rs_message msgs[] = {
        {"system", k_system}, {"user", k_demo_user}, {"assistant", k_demo_reply}, {"user", last}};
    rs_task t;
    rs_task_parse(a, msgs, 4, &t);
    return t;
}

static void test_parse_reads_fields_notes_instructions_demos(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_task t = parse(&a, "I was charged twice.");
    assert_true(t.structured);
    assert_false(t.json_reply);
    assert_int_equal(t.n_in, 1);
    assert_string_equal(t.in[0].name, "ticket_text");
    assert_int_equal(t.n_out, 4);
    assert_int_equal(t.out[0].kind, RS_STRING);
    assert_int_equal(t.out[1].kind, RS_ENUM);
    assert_int_equal(t.out[1].n_enum, 4);
    assert_string_equal(t.out[1].enum_values[3], "general");
    assert_int_equal(t.out[2].kind, RS_INT);
    assert_int_equal(t.out[3].kind, RS_LIST);
    assert_int_equal(t.out[3].elem, RS_STRING);
    assert_non_null(strstr(t.instructions, "Classify a customer support ticket.\nbilling: invoice"));
    assert_int_equal(t.n_demos, 1);
    assert_string_equal(t.demos[0].in[0], "I can't log in after resetting my password.");
    assert_string_equal(t.demos[0].out[1], "account");
    assert_string_equal(t.demos[0].out[2], "2");
    assert_string_equal(t.query[0], "I was charged twice."); /* "Respond with" is not input */
    rs_arena_free(&a);
}

static void test_parse_without_the_format_is_unstructured(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_message msgs[] = {{"system", "You are helpful."}, {"user", "Hello there"}};
    rs_task t;
    rs_task_parse(&a, msgs, 2, &t);
    assert_false(t.structured);
    assert_string_equal(t.last_user, "Hello there");
    rs_task_parse(&a, msgs + 1, 1, &t);
    assert_false(t.structured);
    rs_arena_free(&a);
}

static void test_match_label_is_lenient_but_exact_first(void **state)
{
    (void)state;
    const char *labels[] = {"billing", "Account"};
    assert_int_equal(rs_match_label(labels, 2, "billing"), 0);
    assert_int_equal(rs_match_label(labels, 2, "  'BILLING' \n"), 0);
    assert_int_equal(rs_match_label(labels, 2, "account"), 1);
    assert_int_equal(rs_match_label(labels, 2, "bill"), -1);
    assert_int_equal(rs_match_label(labels, 2, NULL), -1);
}

static void test_stem_and_tokens(void **state)
{
    (void)state;
    char a[64], b[64];
    size_t la = rs_stem("Charged", 7, a, sizeof a), lb = rs_stem("charges", 7, b, sizeof b);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(rs_stem("the", 3, a, sizeof a), 0); /* stop word */
    rs_arena ar;
    rs_arena_init(&ar);
    rs_vocab v;
    rs_vocab_init(&v, &ar);
    rs_tokens t;
    const char *text = "The ORDERS, the order; and my order!";
    rs_tokenize(&v, text, strlen(text), &t);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.ids[0], t.ids[1]);
    assert_int_equal(t.ids[1], t.ids[2]);
    rs_vec vec;
    rs_vec_counts(&ar, &t, &vec);
    assert_int_equal(vec.n, 1);
    rs_vocab_count_df(&v, &vec);
    rs_vec_tfidf(&vec, &v, 1);
    assert_float_equal(rs_vec_dot(&vec, &vec), 1.0, 1e-5);
    /* Many distinct words force the vocabulary to grow. */
    char big[8000];
    size_t n = 0;
    for (int i = 0; i < 600; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "w%dx ", i);
    rs_tokenize(&v, big, n, &t);
    assert_int_equal(t.n, 600);
    assert_true(v.n >= 601);
    rs_arena_free(&ar);
}

static void test_hints_parse_lines_and_segments(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_vocab v;
    rs_vocab_init(&v, &a);
    const char *labels[] = {"billing", "orders", "account"};
    rs_tokens hints[3];
    rs_parse_hints(&v, "Classify it.\nBilling: invoice, refund\n- orders: parcel; account: password, login",
                   labels, 3, hints);
    assert_int_equal(hints[0].n, 2);
    assert_int_equal(hints[1].n, 1);
    assert_int_equal(hints[2].n, 2);
    rs_parse_hints(&v, "Classify: everything", labels, 3, hints);
    assert_int_equal(hints[0].n + hints[1].n + hints[2].n, 0);
    rs_arena_free(&a);
}

static void learn(rs_arena *a, const char *query, double temp, uint64_t seed, const char **values)
{
    rs_task t = parse(a, query);
    rs_gen g = {temp, seed};
    rs_learn(a, &t, &g, values);
}

static void test_learner_uses_demos_hints_and_formats(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *v[4] = {0};
    learn(&a, "Please send the invoice again", 0, 1, v);
    assert_string_equal(v[1], "billing"); /* a hint keyword */
    assert_non_null(strstr(v[0], "invoice"));
    assert_non_null(strstr(v[0], "hints for billing"));
    const char *w[4] = {0};
    learn(&a, "I can't log in after resetting my password, help", 0, 1, w);
    assert_string_equal(w[1], "account"); /* the nearest demo */
    assert_non_null(strstr(w[0], "closest example"));
    assert_string_equal(w[2], "2");       /* no number in the input: the demo's */
    assert_string_equal(w[3], "[\"login\"]");
    const char *x[4] = {0};
    learn(&a, "Order 1234 came with 3 broken items", 0, 1, x);
    /* The demo's priority is a judgement (its input has no such number), so
     * the answer follows the demo, not the input's numbers. */
    assert_string_equal(x[2], "2");
    rs_arena_free(&a);
}

static void test_learner_is_deterministic_at_zero_and_samples_above(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *q = "refund for the parcel delivery";
    const char *first = NULL;
    bool varied = false;
    for (uint64_t s = 0; s < 40; s++) {
        const char *v[4] = {0}, *w[4] = {0};
        learn(&a, q, 0, s, v);
        if (!first)
            first = v[1];
        assert_string_equal(v[1], first);
        learn(&a, q, 1.0, s, w);
        const char *again[4] = {0};
        learn(&a, q, 1.0, s, again);
        assert_string_equal(w[1], again[1]);
        varied |= strcmp(w[1], first) != 0;
    }
    assert_true(varied);
    rs_arena_free(&a);
}

static void test_json_adapter_prompts_get_json(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_message msgs[] = {
        {"system", k_system},
        {"user", k_demo_user},
        {"assistant", "{\"reasoning\": \"x\", \"category\": \"account\", \"priority\": 2, \"tags\": [\"login\"]}"},
        {"user", "[[ ## ticket_text ## ]]\nforgot my password\n\nRespond with a JSON object in the following order of fields: `reasoning`, then `category`, then `priority`, then `tags`."}};
    rs_task t;
    rs_task_parse(&a, msgs, 4, &t);
    assert_true(t.json_reply);
    assert_string_equal(t.demos[0].out[1], "account");
    assert_string_equal(t.demos[0].out[2], "2");
    rs_gen g = {0, 0};
    const char *v[4] = {0};
    rs_learn(&a, &t, &g, v);
    const char *text = rs_render_reply(&a, &t, v, true, NULL, RS_DAMAGE_NONE);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "category")->valuestring, "account");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "priority")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "tags")));
    cJSON_Delete(j);
    /* Damaged on purpose. */
    j = cJSON_Parse(rs_render_reply(&a, &t, v, true, NULL, RS_DAMAGE_MISSING_FIELD));
    assert_null(cJSON_GetObjectItem(j, "tags"));
    cJSON_Delete(j);
    j = cJSON_Parse(rs_render_reply(&a, &t, v, true, NULL, RS_DAMAGE_WRONG_TYPE));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "category")));
    cJSON_Delete(j);
    const char *chat = rs_render_reply(&a, &t, v, false, NULL, RS_DAMAGE_WRONG_TYPE);
    assert_non_null(strstr(chat, "[[ ## category ## ]]\nnot-one-of-the-labels\n"));
    chat = rs_render_reply(&a, &t, v, false, NULL, RS_DAMAGE_MISSING_FIELD);
    assert_null(strstr(chat, "[[ ## tags ## ]]"));
    assert_non_null(strstr(chat, "[[ ## completed ## ]]"));
    rs_arena_free(&a);
}

/* The runtime's JSON adapter lists no enum values in the prompt: they come
 * from the demos, or from the response_format schema. */
static const char *k_json_system =
    "Your input fields are:\n1. `ticket_text` (string): The ticket\n"
    "Your output fields are:\n1. `category` (enum): The queue\n\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
    "[[ ## ticket_text ## ]]\n{ticket_text}\n\n"
    "Outputs will be a JSON object with the following fields.\n\n{\n  \"category\": \"{category}\"\n}\n"
    "In adhering to this structure, your objective is: \n        Classify the ticket.";

static void test_json_adapter_enums_from_demos_or_schema(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_message msgs[] = {
        {"system", k_json_system},
        {"user", "[[ ## ticket_text ## ]]\nI forgot my password"},
        {"assistant", "{\n  \"category\": \"account\"\n}"},
        {"user", "[[ ## ticket_text ## ]]\nwhere is the parcel I ordered"},
        {"assistant", "{\n  \"category\": \"orders\"\n}"},
        {"user", "[[ ## ticket_text ## ]]\nreset the password please\n\nRespond with a JSON object in the following order of fields: `category` (must be formatted as a valid enum value)."}};
    rs_task t;
    rs_task_parse(&a, msgs, 6, &t);
    assert_true(t.json_reply);
    assert_int_equal(t.out[0].n_enum, 2);
    rs_gen g = {0, 0};
    const char *v[1] = {0};
    rs_learn(&a, &t, &g, v);
    assert_string_equal(v[0], "account");

    /* Zero-shot with the labels only in the schema. */
    rs_options o;
    char *argv[] = {"x", NULL};
    assert_int_equal(rs_options_parse(1, argv, &o), 0);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "m");
    cJSON_AddNumberToObject(req, "temperature", 0);
    cJSON *ms = cJSON_AddArrayToObject(req, "messages");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "system");
    cJSON_AddStringToObject(m, "content", k_json_system);
    cJSON_AddItemToArray(ms, m);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", "[[ ## ticket_text ## ]]\ncancel my order\n\nRespond with a JSON object in the following order of fields: `category`.");
    cJSON_AddItemToArray(ms, m);
    cJSON *rf = cJSON_Parse("{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"output\",\"schema\":{\"type\":\"object\","
                            "\"properties\":{\"category\":{\"type\":\"string\",\"enum\":[\"billing\",\"account\",\"orders\",\"general\"]}},"
                            "\"required\":[\"category\"],\"additionalProperties\":false}}}");
    cJSON_AddItemToObject(req, "response_format", rf);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    rs_answer ans;
    rs_answer_chat(&a, &o, RS_API_OPENAI, body, strlen(body), NULL, 0, &ans);
    cJSON_free(body);
    assert_int_equal(ans.status, 200);
    cJSON *j = cJSON_Parse(ans.body);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message"), "content");
    cJSON *out = cJSON_Parse(c->valuestring);
    assert_string_equal(cJSON_GetObjectItem(out, "category")->valuestring, "orders");
    cJSON_Delete(out);
    cJSON_Delete(j);
    rs_arena_free(&a);
}

static void test_proposal_lists_distinctive_words_per_label(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *sys =
        "Your input fields are:\n1. `examples` (string): labelled\n2. `tip` (string): a tip\n"
        "Your output fields are:\n1. `proposed_instruction` (string): the instruction\n\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "[[ ## examples ## ]]\n{examples}\n\n[[ ## tip ## ]]\n{tip}\n\n"
        "[[ ## proposed_instruction ## ]]\n{proposed_instruction}\n\n[[ ## completed ## ]]\n"
        "In adhering to this structure, your objective is: \n        Propose an instruction.";
    const char *user =
        "[[ ## examples ## ]]\n"
        "1. where is my refund -> billing\n"
        "- refund the charge please -> billing\n"
        "my parcel is late -> orders\n"
        "track my parcel -> orders\n"
        "\"reset my password\" -> account\n\n"
        "[[ ## tip ## ]]\nBe brief.\n\nRespond with the corresponding output fields, starting with the field "
        "`[[ ## proposed_instruction ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.";
    rs_message msgs[] = {{"system", sys}, {"user", user}};
    rs_task t;
    rs_task_parse(&a, msgs, 2, &t);
    rs_gen g = {0, 42};
    const char *v[1] = {0};
    rs_learn(&a, &t, &g, v);
    assert_non_null(strstr(v[0], "\nbilling: refund"));
    assert_non_null(strstr(v[0], "\norders: parcel"));
    assert_non_null(strstr(v[0], "\naccount: "));
    /* What it proposes, the learner reads back as hints. */
    rs_vocab voc;
    rs_vocab_init(&voc, &a);
    const char *labels[] = {"billing", "orders", "account"};
    rs_tokens hints[3];
    rs_parse_hints(&voc, v[0], labels, 3, hints);
    assert_true(hints[0].n >= 1 && hints[1].n >= 1 && hints[2].n >= 1);
    /* Other seeds give other candidates. */
    bool differs = false;
    for (uint64_t s = 0; s < 10 && !differs; s++) {
        rs_gen g2 = {0, s};
        const char *w[1] = {0};
        rs_learn(&a, &t, &g2, w);
        differs = strcmp(w[0], v[0]) != 0;
    }
    assert_true(differs);
    rs_arena_free(&a);
}

/* The fixture's answer to a chat-format prompt with two string inputs
 * (in1 = v1, in2 = v2) and one string output: an optimizer's prompt
 * (reflection, merge) as dspcc renders it. */
static const char *answer_two_inputs(rs_arena *a, const char *in1, const char *v1, const char *in2, const char *v2,
                                     const char *out)
{
    rs_buf sys, user;
    rs_buf_init(&sys, a);
    rs_buf_init(&user, a);
    rs_buf_printf(&sys,
                  "Your input fields are:\n1. `%s` (string): one\n2. `%s` (string): two\nYour output fields are:\n"
                  "1. `%s` (string): the answer\n\n"
                  "All interactions will be structured in the following way, with the appropriate values filled "
                  "in.\n\n[[ ## %s ## ]]\n{%s}\n\n[[ ## %s ## ]]\n{%s}\n\n[[ ## %s ## ]]\n{%s}\n\n"
                  "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Answer.",
                  in1, in2, out, in1, in1, in2, in2, out, out);
    rs_buf_printf(&user,
                  "[[ ## %s ## ]]\n%s\n\n[[ ## %s ## ]]\n%s\n\nRespond with the corresponding output fields, "
                  "starting with the field `[[ ## %s ## ]]`, and then ending with the marker for "
                  "`[[ ## completed ## ]]`.",
                  in1, v1, in2, v2, out);
    rs_message msgs[] = {{"system", rs_buf_str(&sys)}, {"user", rs_buf_str(&user)}};
    rs_task t;
    rs_task_parse(a, msgs, 2, &t);
    rs_gen g = {0, 1};
    const char *v[1] = {0};
    rs_learn(a, &t, &g, v);
    return v[0];
}

/* GEPA's merge prompt: both instructions' hints, each word once. */
static void test_combine_keeps_both_instructions(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *v = answer_two_inputs(
        &a, "instruction_a",
        "Classify a ticket.\nLabel hints (label: keywords that point to it):\nHardware: laptop, screen", "instruction_b",
        "Classify a ticket.\nLabel hints (label: keywords that point to it):\n"
        "HR Support: payroll\nHardware: screen, printer\nHardware: screen",
        "combined_instruction");
    assert_non_null(v);
    assert_string_equal(v, "Classify a ticket.\nLabel hints (label: keywords that point to it):\n"
                           "Hardware: laptop, screen\nHR Support: payroll\nHardware: printer");
    rs_vocab voc;
    rs_vocab_init(&voc, &a);
    const char *labels[] = {"Hardware", "HR Support"};
    rs_tokens hints[2];
    rs_parse_hints(&voc, v, labels, 2, hints);
    assert_int_equal(hints[0].n, 3);
    assert_int_equal(hints[1].n, 1);
    rs_arena_free(&a);
}

static void test_reflection_hints_the_labels_it_got_wrong(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *v = answer_two_inputs(
        &a, "current_instruction",
        "Classify a ticket.\nLabel hints (label: keywords that point to it):\nHardware: laptop, password",
        "examples_with_feedback",
        "# Example 1\n## Inputs\n### ticket_text\nhello remote vpn denied vpn thanks\n## Outputs\n### queue\n"
        "Hardware\n## Feedback\nThis run scored 0.000 (metric `accuracy`). The expected outputs: queue: Access "
        "Rights.\n\n"
        "# Example 2\n## Inputs\n### ticket_text\nmonitor screen flickers\n## Outputs\n### queue\nHardware\n"
        "## Feedback\nThis run scored 1.000 (metric `accuracy`). The expected outputs: queue: Hardware.\n\n"
        "# Example 3\n## Inputs\n### ticket_text\npassword for the payroll portal on my laptop\n## Outputs\n"
        "### queue\nHardware\n## Feedback\nWrong: the queue should be `HR Support`, not Hardware.",
        "new_instruction");
    assert_non_null(v);
    /* A label of two words; the word the input repeats first; no greeting. */
    assert_non_null(strstr(v, "\nAccess Rights: vpn"));
    assert_null(strstr(v, "hello"));
    assert_null(strstr(v, "thanks"));
    /* The hints that sent the payroll ticket to Hardware are taken back. */
    assert_null(strstr(v, "Hardware: laptop"));
    assert_non_null(strstr(v, "\nHR Support: payroll"));
    assert_true(strncmp(v, "Classify a ticket.\nLabel hints", 30) == 0);
    /* The learner reads every line back. */
    rs_vocab voc;
    rs_vocab_init(&voc, &a);
    const char *labels[] = {"Access Rights", "Hardware", "HR Support"};
    rs_tokens hints[3];
    rs_parse_hints(&voc, v, labels, 3, hints);
    assert_true(hints[0].n >= 2 && hints[1].n == 0 && hints[2].n >= 1);
    rs_arena_free(&a);
}

static void test_extractive_fields_take_a_span_of_the_input(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *sys =
        "Your input fields are:\n1. `question` (string): q\n2. `context` (string): c\n"
        "Your output fields are:\n1. `answer` (string): a span\n\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "[[ ## question ## ]]\n{question}\n\n[[ ## context ## ]]\n{context}\n\n[[ ## answer ## ]]\n{answer}\n\n"
        "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Answer from the context.";
    rs_message msgs[] = {
        {"system", sys},
        {"user", "[[ ## question ## ]]\nWho wrote the letter?\n\n[[ ## context ## ]]\nThe letter was written by Ada Lovelace in 1843."},
        {"assistant", "[[ ## answer ## ]]\nAda Lovelace\n\n[[ ## completed ## ]]"},
        {"user", "[[ ## question ## ]]\nWhich river flows through the city?\n\n[[ ## context ## ]]\n"
                 "The city has many bridges. The river flowing through the city is the Vltava River. It floods rarely."}};
    rs_task t;
    rs_task_parse(&a, msgs, 4, &t);
    rs_gen g = {0, 0};
    const char *v[1] = {0};
    rs_learn(&a, &t, &g, v);
    assert_string_equal(v[0], "Vltava"); /* new words after the question's last word; not the demo's answer */
    rs_arena_free(&a);
}

/* Learns from a prompt whose system message is sys, with demos given as
 * user/assistant texts, and the final user message last. */
static void learn_msgs(rs_arena *a, const char *sys, const char *const *turns, size_t n, const char **values)
{
    rs_message *msgs = rs_alloc(a, (n + 1) * sizeof *msgs);
    msgs[0] = (rs_message){"system", sys};
    for (size_t i = 0; i < n; i++)
        msgs[i + 1] = (rs_message){i % 2 == 0 ? "user" : "assistant", turns[i]};
    rs_task t;
    rs_task_parse(a, msgs, n + 1, &t);
    rs_gen g = {0, 0};
    rs_learn(a, &t, &g, values);
}

static void test_numbers_follow_demos_and_stated_ranges(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *sys =
        "Your input fields are:\n1. `text` (string): a paragraph\n"
        "Your output fields are:\n1. `confidence` (float): How sure you are, from 0 to 1\n"
        "2. `count` (int): How many\n\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "[[ ## text ## ]]\n{text}\n\n[[ ## confidence ## ]]\n{confidence}\n\n[[ ## count ## ]]\n{count}\n\n"
        "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Read it.";
    /* Zero-shot: a number of the input outside the stated range is not a
     * confidence; the middle of the range is. Without a range, the input's. */
    const char *q0[] = {"[[ ## text ## ]]\nThe bridge opened in 1936 after 4 years of work."};
    const char *v[2] = {0};
    learn_msgs(&a, sys, q0, 1, v);
    assert_string_equal(v[0], "0.5");
    assert_string_equal(v[1], "4");
    /* In range, the input's number is taken. */
    const char *q1[] = {"[[ ## text ## ]]\nThe forecast gives rain a chance of 0.8 today."};
    const char *w[2] = {0};
    learn_msgs(&a, sys, q1, 1, w);
    assert_string_equal(w[0], "0.8");
    /* Demos: confidences are judgements (weighted mean of the nearest
     * demos, within their range); counts are copied from the inputs, so the
     * answer's count is the input's number. */
    const char *q2[] = {
        "[[ ## text ## ]]\nThe bridge has 3 towers.",
        "[[ ## confidence ## ]]\n0.9\n\n[[ ## count ## ]]\n3\n\n[[ ## completed ## ]]",
        "[[ ## text ## ]]\nThe harbour has 12 piers.",
        "[[ ## confidence ## ]]\n0.7\n\n[[ ## count ## ]]\n12\n\n[[ ## completed ## ]]",
        "[[ ## text ## ]]\nThe bridge opened in 1936 and has 2 decks."};
    const char *x[2] = {0};
    learn_msgs(&a, sys, q2, 5, x);
    double conf = strtod(x[0], NULL);
    assert_true(conf > 0.7 && conf <= 0.9); /* nearer the bridge demo */
    assert_string_equal(x[1], "2");
    rs_arena_free(&a);
}

static void test_extractive_question_is_the_shortest_input(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    /* Two passages and a question: the span answers the question, not the
     * sentence the two passages share. */
    const char *sys =
        "Your input fields are:\n1. `question` (string): q\n2. `context` (string): c\n3. `more` (string): m\n"
        "Your output fields are:\n1. `answer` (string): a span\n\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "[[ ## question ## ]]\n{question}\n\n[[ ## context ## ]]\n{context}\n\n[[ ## more ## ]]\n{more}\n\n"
        "[[ ## answer ## ]]\n{answer}\n\n"
        "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Answer from the context.";
    const char *turns[] = {
        ("[[ ## question ## ]]\nWho wrote the letter?\n\n[[ ## context ## ]]\nThe letter was written by Ada Lovelace in 1843. "
         "Old harbours had wooden piers and busy markets.\n\n[[ ## more ## ]]\nOld harbours had wooden piers and busy markets."),
        "[[ ## answer ## ]]\nAda Lovelace\n\n[[ ## completed ## ]]",
        ("[[ ## question ## ]]\nWhich river flows through the city?\n\n[[ ## context ## ]]\n"
         "Old harbours had wooden piers and busy markets. The river flowing through the city is the Vltava River.\n\n"
         "[[ ## more ## ]]\nOld harbours had wooden piers and busy markets.")};
    const char *v[1] = {0};
    learn_msgs(&a, sys, turns, 3, v);
    assert_string_equal(v[0], "Vltava");
    rs_arena_free(&a);
}

static void test_extractive_lists_take_a_span_of_the_input(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *sys =
        "Your input fields are:\n1. `question` (string): q\n2. `context` (string): c\n"
        "Your output fields are:\n1. `spans` (list[string]): answer phrases\n\n"
        "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
        "[[ ## question ## ]]\n{question}\n\n[[ ## context ## ]]\n{context}\n\n[[ ## spans ## ]]\n{spans}\n\n"
        "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Answer from the context.";
    const char *turns[] = {
        "[[ ## question ## ]]\nWho wrote the letter?\n\n[[ ## context ## ]]\nThe letter was written by Ada Lovelace in 1843.",
        "[[ ## spans ## ]]\n[\"Ada Lovelace\"]\n\n[[ ## completed ## ]]",
        ("[[ ## question ## ]]\nWhich river flows through the city?\n\n[[ ## context ## ]]\n"
         "The city has many bridges. The river flowing through the city is the Vltava River. It floods rarely.")};
    const char *v[1] = {0};
    learn_msgs(&a, sys, turns, 3, v);
    assert_string_equal(v[0], "[\"Vltava\"]"); /* a span of this input, not the demo's list */
    rs_arena_free(&a);
}

static void test_finish_choice_applies_stop_and_max_tokens(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_request req;
    memset(&req, 0, sizeof req);
    const char *stops[] = {"STOP", "zzz"};
    req.stop = stops;
    req.n_stop = 2;
    rs_choice c;
    rs_finish_choice(&a, &req, "one two STOP three", &c);
    assert_string_equal(c.text, "one two ");
    assert_string_equal(c.stop_seq, "STOP");
    req.n_stop = 0;
    req.max_tokens = 2;
    rs_finish_choice(&a, &req, "one two three four", &c);
    assert_string_equal(c.text, "one two");
    assert_true(c.hit_length);
    assert_int_equal(c.completion_tokens, 2);
    rs_finish_choice(&a, &req, "one two", &c);
    assert_false(c.hit_length);
    rs_arena_free(&a);
}

static void test_replies_escape_any_text(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    const char *text = "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9 end";
    rs_request req;
    memset(&req, 0, sizeof req);
    req.model = "m\"odel";
    rs_choice c = {text, false, NULL, 9};
    cJSON *j = cJSON_Parse(rs_openai_reply(&a, &req, &c, 1, 5, 1));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m\"odel");
    const cJSON *msg = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    assert_string_equal(cJSON_GetObjectItem(msg, "content")->valuestring, text);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "total_tokens")->valueint, 14);
    cJSON_Delete(j);
    c.stop_seq = "\"stop\"";
    j = cJSON_Parse(rs_anthropic_reply(&a, &req, &c, 5, 1));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0), "text")->valuestring, text);
    assert_string_equal(cJSON_GetObjectItem(j, "stop_sequence")->valuestring, "\"stop\"");
    cJSON_Delete(j);
    rs_arena_free(&a);
}

static void test_options_parse_and_reject(void **state)
{
    (void)state;
    rs_options o;
    char *ok[] = {"x", "--port", "0", "--latency-ms", "20:5", "--fail-rate", "0.25", "--fail-kinds",
                  "429,hang", "--seed", "7", NULL};
    assert_int_equal(rs_options_parse(11, ok, &o), 0);
    assert_int_equal(o.latency_ms, 20);
    assert_int_equal(o.jitter_ms, 5);
    assert_int_equal(o.n_kinds, 2);
    assert_int_equal(o.kinds[1], RS_FAULT_HANG);
    assert_int_equal(o.seed, 7);
    char *bad1[] = {"x", "--fail-rate", "1.5", NULL};
    char *bad2[] = {"x", "--fail-kinds", "429,teapot", NULL};
    char *bad3[] = {"x", "--port", "70000", NULL};
    char *bad4[] = {"x", "--bogus", NULL};
    assert_int_equal(rs_options_parse(3, bad1, &o), 2);
    assert_int_equal(rs_options_parse(3, bad2, &o), 2);
    assert_int_equal(rs_options_parse(3, bad3, &o), 2);
    assert_int_equal(rs_options_parse(2, bad4, &o), 2);
}

static const char *chat_body(rs_arena *a)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "m");
    cJSON_AddNumberToObject(req, "temperature", 0);
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    const char *roles[] = {"system", "user", "assistant", "user"};
    const char *texts[] = {k_system, k_demo_user, k_demo_reply, "[[ ## ticket_text ## ]]\nmy invoice is wrong"};
    for (int i = 0; i < 4; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", roles[i]);
        cJSON_AddStringToObject(m, "content", texts[i]);
        cJSON_AddItemToArray(msgs, m);
    }
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    const char *out = rs_strdup(a, s);
    cJSON_free(s);
    return out;
}

static void test_faults_happen_at_the_configured_rate(void **state)
{
    (void)state;
    rs_options o;
    char *argv[] = {"x", "--fail-rate", "0.3", NULL};
    assert_int_equal(rs_options_parse(3, argv, &o), 0);
    rs_arena a;
    rs_arena_init(&a);
    const char *body = chat_body(&a);
    int counts[RS_FAULT_COUNT] = {0};
    const int n = 4000;
    for (int i = 0; i < n; i++) {
        rs_arena r;
        rs_arena_init(&r);
        rs_answer ans;
        rs_answer_chat(&r, &o, RS_API_OPENAI, body, strlen(body), NULL, (uint64_t)i, &ans);
        counts[ans.fault]++;
        switch (ans.fault) {
        case RS_FAULT_429: assert_int_equal(ans.status, 429); assert_int_equal(ans.retry_after_ms, 1000); break;
        case RS_FAULT_500: assert_int_equal(ans.status, 500); break;
        case RS_FAULT_503: assert_int_equal(ans.status, 503); break;
        case RS_FAULT_HANG: assert_int_equal(ans.delay_ms, o.hang_ms); break;
        case RS_FAULT_TRUNCATE: assert_true(ans.send_len < strlen(ans.body)); break;
        case RS_FAULT_BADJSON: {
            cJSON *j = cJSON_Parse(ans.body);
            assert_null(j);
            break;
        }
        case RS_FAULT_MISSING_FIELD: assert_null(strstr(ans.body, "## tags ##")); break;
        case RS_FAULT_WRONG_TYPE: assert_non_null(strstr(ans.body, "not-one-of-the-labels")); break;
        default: assert_int_equal(ans.status, 200); assert_non_null(strstr(ans.body, "## tags ##")); break;
        }
        rs_arena_free(&r);
    }
    assert_in_range(counts[RS_FAULT_NONE], (int)(n * 0.66), (int)(n * 0.74));
    for (int k = 1; k <= RS_FAULT_LAST_DEFAULT; k++)
        assert_in_range(counts[k], (int)(n * 0.3 / 8 * 0.7), (int)(n * 0.3 / 8 * 1.3));
    for (int k = RS_FAULT_LAST_DEFAULT + 1; k < RS_FAULT_COUNT; k++)
        assert_int_equal(counts[k], 0); /* only when named */
    rs_arena_free(&a);
}

/* Malformed input never crashes or hangs the answer pipeline (run under
 * ASan+UBSan by `make check-asan`): mutated prompt texts inside valid JSON,
 * and mutated JSON bodies. */
static void test_mutated_requests_never_crash(void **state)
{
    (void)state;
    rs_options o;
    char *argv[] = {"x", NULL};
    assert_int_equal(rs_options_parse(1, argv, &o), 0);
    static const char k_chars[] = "[]#`\n\":;{}-> 0123456789aZ,.\\";
    const char *texts[] = {k_system, k_demo_user, k_demo_reply, "[[ ## ticket_text ## ]]\nmy invoice 12 is wrong\n\nRespond with"};
    const char *roles[] = {"system", "user", "assistant", "user"};
    uint64_t rng = 12345;
    int ok = 0, bad = 0;
    for (int round = 0; round < 1500; round++) {
        rs_arena a;
        rs_arena_init(&a);
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "model", "m");
        cJSON_AddNumberToObject(req, "temperature", (double)(round % 3) / 2);
        cJSON *ms = cJSON_AddArrayToObject(req, "messages");
        size_t nm = 1 + (size_t)(rs_mix(rng + (uint64_t)round) % 4);
        for (size_t i = 0; i < nm; i++) {
            size_t len = strlen(texts[i]);
            char *t = rs_strndup(&a, texts[i], len);
            /* Cut it somewhere, then flip a few bytes. */
            rng = rs_mix(rng);
            if (rng % 3 == 0)
                t[rng % (len + 1)] = '\0';
            len = strlen(t);
            for (int k = 0; len && k < 6; k++) {
                rng = rs_mix(rng);
                t[rng % len] = k_chars[(rng >> 20) % (sizeof k_chars - 1)];
            }
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", roles[i]);
            cJSON_AddStringToObject(m, "content", t);
            cJSON_AddItemToArray(ms, m);
        }
        if (round % 5 == 0)
            cJSON_AddItemToObject(req, "response_format", cJSON_Parse("{\"type\":\"json_object\"}"));
        char *body = cJSON_PrintUnformatted(req);
        cJSON_Delete(req);
        size_t blen = strlen(body);
        if (round % 4 == 1) { /* and sometimes break the JSON itself */
            rng = rs_mix(rng);
            body[rng % blen] = k_chars[(rng >> 20) % (sizeof k_chars - 1)];
            if (round % 8 == 1)
                blen = rng % blen;
        }
        rs_answer ans;
        rs_answer_chat(&a, &o, round % 2 ? RS_API_OPENAI : RS_API_ANTHROPIC, body, blen, "2023-06-01",
                       (uint64_t)round, &ans);
        assert_true(ans.status == 200 || ans.status == 400);
        assert_non_null(ans.body);
        cJSON *j = cJSON_Parse(ans.body);
        assert_non_null(j); /* always a JSON body */
        cJSON_Delete(j);
        ok += ans.status == 200;
        bad += ans.status == 400;
        cJSON_free(body);
        rs_arena_free(&a);
    }
    assert_true(ok > 100 && bad > 100);
}

/* Lists of records: spans and types come from demos, instructions and
 * capitalisation; demos teach which capitalised words are no entity. */
static const char *k_ner_system =
    "Your input fields are:\n1. `sentence` (string): A post\n"
    "Your output fields are:\n1. `entities` (list[Entity]): The entities\n\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
    "[[ ## sentence ## ]]\n{sentence}\n\n"
    "[[ ## entities ## ]]\n{entities}        # note: the value you produce must adhere to the JSON schema: "
    "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
    "\"type\":{\"type\":\"string\",\"enum\":[\"person\",\"location\"]},\"note\":{\"anyOf\":[{\"type\":\"string\"},"
    "{\"type\":\"null\"}]}},\"required\":[\"text\",\"type\",\"note\"],\"additionalProperties\":false}}\n\n"
    "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        ";

static const char *ner(rs_arena *a, const char *instructions, const rs_message *demos, size_t n_demos,
                       const char *sentence)
{
    rs_message msgs[8];
    size_t n = 0;
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_printf(&b, "%s%s", k_ner_system, instructions);
    msgs[n].role = "system";
    msgs[n++].text = rs_buf_str(&b);
    for (size_t i = 0; i < n_demos; i++)
        msgs[n++] = demos[i];
    rs_buf_init(&b, a);
    rs_buf_printf(&b, "[[ ## sentence ## ]]\n%s\n\nRespond with the corresponding output fields.", sentence);
    msgs[n].role = "user";
    msgs[n++].text = rs_buf_str(&b);
    rs_task t;
    rs_task_parse(a, msgs, n, &t);
    assert_true(t.out[0].item_schema != NULL);
    rs_gen g = {0, 0};
    const char *v[1] = {0};
    rs_learn(a, &t, &g, v);
    return v[0];
}

static void test_records_extracted_from_demos_hints_and_cues(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    /* Zero-shot: every capitalised run is a span of the first type; other
     * properties get a neutral value. */
    assert_string_equal(ner(&a, "Find them.", NULL, 0, "Today I met Ann Lee in Oslo"),
                        "[{\"text\":\"Today I\",\"type\":\"person\",\"note\":null},"
                        "{\"text\":\"Ann Lee\",\"type\":\"person\",\"note\":null},{\"text\":\"Oslo\",\"type\":\"person\",\"note\":null}]");
    /* Demos: "I" and "Today" are no entity, oslo is a location (found in
     * any case), "with" before a span votes person; without evidence
     * (Tromso) the demos' most common type. */
    rs_message demos[] = {
        {"user", "[[ ## sentence ## ]]\nToday I flew to oslo"},
        {"assistant", "[[ ## entities ## ]]\n[{\"text\": \"oslo\", \"type\": \"location\"}]\n\n[[ ## completed ## ]]"},
        {"user", "[[ ## sentence ## ]]\nToday I stayed in Bergen with Kim"},
        {"assistant", "[[ ## entities ## ]]\n[{\"text\": \"Bergen\", \"type\": \"location\"}, {\"text\": \"Kim\", \"type\": \"person\"}]"
                      "\n\n[[ ## completed ## ]]"},
    };
    assert_string_equal(ner(&a, "Find them.", demos, 4, "Today I was with Ann Lee in Oslo and Tromso"),
                        "[{\"text\":\"Ann Lee\",\"type\":\"person\",\"note\":null},{\"text\":\"Oslo\",\"type\":\"location\","
                        "\"note\":null},{\"text\":\"Tromso\",\"type\":\"location\",\"note\":null}]");
    /* A hint in the instructions: a lower-case span with its type. */
    assert_string_equal(ner(&a, "Tag people such as \"mr bean\" (person).", demos, 4, "Today I saw mr bean"),
                        "[{\"text\":\"mr bean\",\"type\":\"person\",\"note\":null}]");
    rs_arena_free(&a);
}

/* One record (not a list): zero-shot, the answer follows the record's
 * schema, so a typed reply parses: text from the input, the first enum
 * value, the input's number, a nested record, null for an optional. */
static void test_record_output_follows_its_schema_zero_shot(void **state)
{
    (void)state;
    rs_arena a;
    rs_arena_init(&a);
    rs_message msgs[2] = {
        {"system",
         "Your input fields are:\n1. `text` (string):\nYour output fields are:\n1. `best` (Tag):\n\n"
         "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
         "[[ ## text ## ]]\n{text}\n\n"
         "[[ ## best ## ]]\n{best}        # note: the value you produce must adhere to the JSON schema: "
         "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\","
         "\"enum\":[\"fruit\",\"tool\"]},\"count\":{\"type\":\"integer\"},\"at\":{\"type\":\"object\","
         "\"properties\":{\"ok\":{\"type\":\"boolean\"}}},\"note\":{\"anyOf\":[{\"type\":\"string\"},"
         "{\"type\":\"null\"}]},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
         "\"required\":[\"name\",\"kind\",\"count\",\"at\",\"note\",\"tags\"]}, or None when there is no value\n\n"
         "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Pick one."},
        {"user", "[[ ## text ## ]]\nI ate 3 apples.\n\nRespond with the corresponding output fields."},
    };
    rs_task t;
    rs_task_parse(&a, msgs, 2, &t);
    assert_int_equal(t.out[0].kind, RS_OBJECT);
    rs_gen g = {0, 0};
    const char *v[1] = {0};
    rs_learn(&a, &t, &g, v);
    assert_string_equal(v[0], "{\"name\":\"I ate 3 apples.\",\"kind\":\"fruit\",\"count\":3,\"at\":{\"ok\":false},"
                              "\"note\":null,\"tags\":[]}");

    /* The JSON adapter's prompt names the type only (`Tag`); the record's
     * shape comes from response_format's schema, an optional one's too. */
    rs_options o;
    char *argv[] = {"x", NULL};
    assert_int_equal(rs_options_parse(1, argv, &o), 0);
    const char *body =
        "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"system\",\"content\":"
        "\"Your input fields are:\\n1. `text` (string):\\nYour output fields are:\\n1. `best` (Tag):\\n"
        "2. `maybe` (optional[Tag]):\\n\\nAll interactions will be structured in the following way, with the "
        "appropriate values filled in.\\n\\n[[ ## text ## ]]\\n{text}\\n\\nOutputs will be a JSON object with the "
        "following fields.\\n\\n{\\n  \\\"best\\\": {best},\\n  \\\"maybe\\\": {maybe}\\n}\\nIn adhering to this "
        "structure, your objective is: \\n        Pick one.\"},{\"role\":\"user\",\"content\":\"[[ ## text ## ]]\\n"
        "I ate 3 apples.\\n\\nRespond with a JSON object in the following order of fields: `best`, then `maybe`.\"}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"output\",\"schema\":{\"type\":"
        "\"object\",\"properties\":{\"best\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
        "\"required\":[\"name\"]},\"maybe\":{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
        "\"string\"}},\"required\":[\"name\"]},{\"type\":\"null\"}]}},\"required\":[\"best\",\"maybe\"]}}}}";
    rs_answer ans;
    rs_answer_chat(&a, &o, RS_API_OPENAI, body, strlen(body), NULL, 0, &ans);
    assert_int_equal(ans.status, 200);
    cJSON *j = cJSON_Parse(ans.body);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                                             "message"), "content");
    assert_string_equal(c->valuestring, "{\"best\":{\"name\":\"I ate 3 apples.\"},\"maybe\":{\"name\":\"I ate 3 apples.\"}}");
    cJSON_Delete(j);
    rs_arena_free(&a);
}

/* /v1/embeddings: unit vectors, the same for the same text, closer for
 * texts sharing words; OpenAI's reply shape with usage; 400s naming the
 * parameter. */
static void test_embeddings_are_deterministic_unit_bags_of_words(void **state)
{
    (void)state;
    float a[128], b[128], c[128], a2[128];
    const char *ta = "I was charged twice for my order", *tb = "charged twice on the order, refund please",
               *tc = "where can I change the delivery address";
    rs_embed_text(ta, strlen(ta), 128, a);
    rs_embed_text(tb, strlen(tb), 128, b);
    rs_embed_text(tc, strlen(tc), 128, c);
    rs_embed_text(ta, strlen(ta), 128, a2);
    assert_memory_equal(a, a2, sizeof a);
    double aa = 0, ab = 0, ac = 0;
    for (int i = 0; i < 128; i++) {
        aa += (double)a[i] * a[i];
        ab += (double)a[i] * b[i];
        ac += (double)a[i] * c[i];
    }
    assert_true(aa > 0.9999 && aa < 1.0001);
    assert_true(ab > ac + 0.3);
    float z[8];
    rs_embed_text("the and of", 10, 8, z); /* stop words only: all zero */
    for (int i = 0; i < 8; i++)
        assert_true(z[i] == 0.0f);

    rs_options o;
    memset(&o, 0, sizeof o);
    rs_arena ar;
    rs_arena_init(&ar);
    rs_answer ans;
    const char *body = "{\"model\":\"emb\",\"input\":[\"refund my order\",\"cancel it\"],\"dimensions\":4}";
    rs_answer_embeddings(&ar, &o, body, strlen(body), 0, &ans);
    assert_int_equal(ans.status, 200);
    cJSON *root = cJSON_Parse(ans.body);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    assert_int_equal(cJSON_GetArraySize(data), 2);
    const cJSON *second = cJSON_GetArrayItem(data, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(second, "index")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(second, "object")->valuestring, "embedding");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(second, "embedding")), 4);
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    assert_true(cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens")->valueint > 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(usage, "total_tokens")->valueint,
                     cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens")->valueint);
    cJSON_Delete(root);
    const char *bad[] = {"{\"model\":\"emb\",\"input\":\"x\",\"dimensions\":0}", "{\"model\":\"emb\",\"input\":[]}",
                         "{\"input\":\"x\"}", "{\"model\":\"emb\",\"input\":[1,2]}",
                         "{\"model\":\"emb\",\"input\":\"x\",\"encoding_format\":\"int8\"}"};
    const char *param[] = {"dimensions", "input", "model", "input", "encoding_format"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rs_answer_embeddings(&ar, &o, bad[i], strlen(bad[i]), 0, &ans);
        assert_int_equal(ans.status, 400);
        cJSON *e = cJSON_Parse(ans.body);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "error"), "param");
        assert_string_equal(cJSON_GetStringValue(p), param[i]);
        cJSON_Delete(e);
    }
    rs_arena_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reads_fields_notes_instructions_demos),
        cmocka_unit_test(test_parse_without_the_format_is_unstructured),
        cmocka_unit_test(test_match_label_is_lenient_but_exact_first),
        cmocka_unit_test(test_stem_and_tokens),
        cmocka_unit_test(test_hints_parse_lines_and_segments),
        cmocka_unit_test(test_learner_uses_demos_hints_and_formats),
        cmocka_unit_test(test_learner_is_deterministic_at_zero_and_samples_above),
        cmocka_unit_test(test_json_adapter_prompts_get_json),
        cmocka_unit_test(test_json_adapter_enums_from_demos_or_schema),
        cmocka_unit_test(test_records_extracted_from_demos_hints_and_cues),
        cmocka_unit_test(test_record_output_follows_its_schema_zero_shot),
        cmocka_unit_test(test_proposal_lists_distinctive_words_per_label),
        cmocka_unit_test(test_reflection_hints_the_labels_it_got_wrong),
        cmocka_unit_test(test_combine_keeps_both_instructions),
        cmocka_unit_test(test_extractive_fields_take_a_span_of_the_input),
        cmocka_unit_test(test_numbers_follow_demos_and_stated_ranges),
        cmocka_unit_test(test_extractive_question_is_the_shortest_input),
        cmocka_unit_test(test_extractive_lists_take_a_span_of_the_input),
        cmocka_unit_test(test_finish_choice_applies_stop_and_max_tokens),
        cmocka_unit_test(test_replies_escape_any_text),
        cmocka_unit_test(test_options_parse_and_reject),
        cmocka_unit_test(test_faults_happen_at_the_configured_rate),
        cmocka_unit_test(test_mutated_requests_never_crash),
        cmocka_unit_test(test_embeddings_are_deterministic_unit_bags_of_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
