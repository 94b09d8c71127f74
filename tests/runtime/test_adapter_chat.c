/* test_adapter_chat.c — the chat adapter: CHAT_FORMAT.md's example rendered
 * byte for byte, type notes and hints, demos, and replies parsed back by
 * section (first wins, unknown and `completed` ignored), with parse errors
 * that name the field and keep the raw reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "../support/random_reply.h"

/* ---- the ticket classifier of CHAT_FORMAT.md ---------------------------- */

static const char *const queues[] = { "billing", "account", "orders", "general" };
static const dsp_type queue_t = { .kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 4 };
static const dsp_field ticket_in[] = { { "ticket_text", &dsp_type_string, "Raw text of the customer support ticket" } };
static const dsp_field ticket_out[] = { { "category", &queue_t, "One of the four queues" } };
static const dsp_signature ticket_sig = { "ClassifyTicket", "Classify a customer support ticket.", ticket_in, 1,
                                          ticket_out, 1 };
static const char *const demo_in[] = { "I can't log in after resetting my password." };
static const char *const demo_out[] = { "A login problem after a credential change.", "account" };
static const dsp_demo ticket_demos[] = { { demo_in, demo_out } };
static const dsp_predictor ticket = { "classify", &ticket_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, ticket_demos, 1, NULL };

static const char expected_system[] =
    "Your input fields are:\n"
    "1. `ticket_text` (string): Raw text of the customer support ticket\n"
    "Your output fields are:\n"
    "1. `reasoning` (string):\n"
    "2. `category` (enum): One of the four queues\n"
    "\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n"
    "\n"
    "[[ ## ticket_text ## ]]\n"
    "{ticket_text}\n"
    "\n"
    "[[ ## reasoning ## ]]\n"
    "{reasoning}\n"
    "\n"
    "[[ ## category ## ]]\n"
    "{category}        # note: the value you produce must exactly match (no extra characters) one of: billing; "
    "account; orders; general\n"
    "\n"
    "[[ ## completed ## ]]\n"
    "In adhering to this structure, your objective is: \n"
    "        Classify a customer support ticket.";

static const char expected_demo_user[] = "[[ ## ticket_text ## ]]\n"
                                         "I can't log in after resetting my password.";

static const char expected_demo_assistant[] = "[[ ## reasoning ## ]]\n"
                                              "A login problem after a credential change.\n"
                                              "\n"
                                              "[[ ## category ## ]]\n"
                                              "account\n"
                                              "\n"
                                              "[[ ## completed ## ]]";

static const char expected_user[] =
    "[[ ## ticket_text ## ]]\n"
    "I was charged twice this month.\n"
    "\n"
    "Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then "
    "`[[ ## category ## ]]` (must be formatted as a valid enum value), and then ending with the marker for "
    "`[[ ## completed ## ]]`.";

static dsp_value str(const char *s)
{
    dsp_value v;
    assert_int_equal(dsp_value_set_string(&v, s, strlen(s), NULL), DSP_OK);
    return v;
}

static void test_chat_format_example_byte_for_byte(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&ticket, NULL);
    dsp_value in = str("I was charged twice this month.");
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_render(&spec, &in, &m, &err), DSP_OK);
    assert_int_equal(m.len, 4);
    assert_int_equal(m.items[0].role, DSP_ROLE_SYSTEM);
    assert_string_equal(m.items[0].content, expected_system);
    assert_int_equal(m.items[1].role, DSP_ROLE_USER);
    assert_string_equal(m.items[1].content, expected_demo_user);
    assert_int_equal(m.items[2].role, DSP_ROLE_ASSISTANT);
    assert_string_equal(m.items[2].content, expected_demo_assistant);
    assert_int_equal(m.items[3].role, DSP_ROLE_USER);
    assert_string_equal(m.items[3].content, expected_user);
    dsp_messages_free(&m);
    dsp_value_free(&in);
}

/* Inputs given as adapter text render the same bytes as the values they
 * format to; a NULL text leaves its block out, as in a demo. */
static void test_render_texts_equals_values(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&ticket, NULL);
    const char *const texts[] = { "I was charged twice this month." };
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_render_texts(&spec, texts, &m, &err), DSP_OK);
    assert_int_equal(m.len, 4);
    assert_string_equal(m.items[0].content, expected_system);
    assert_string_equal(m.items[2].content, expected_demo_assistant);
    assert_string_equal(m.items[3].content, expected_user);
    dsp_messages_free(&m);
    const char *const none[] = { NULL };
    dsp_messages_init(&m);
    assert_int_equal(dsp_chat_adapter_render_texts(&spec, none, &m, &err), DSP_OK);
    assert_ptr_equal(strstr(m.items[3].content, "Respond with"), m.items[3].content);
    dsp_messages_free(&m);
    dsp_messages_init(&m);
    assert_int_equal(dsp_chat_adapter_render_texts(&spec, NULL, &m, &err), DSP_ERR_INVALID);
    assert_int_equal(m.len, 0);
    dsp_messages_free(&m);
}

/* An input far larger than the render's stack buffer (4 KiB): the messages
 * move to the heap whole, and the messages before and after it are the
 * same bytes as with a short input. */
static void test_long_input_renders_whole(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&ticket, NULL);
    size_t n = 20000;
    char *text = malloc(n + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + i % 26);
    text[n] = '\0';
    dsp_value in = str(text);
    dsp_messages m;
    dsp_messages_init(&m);
    for (int round = 0; round < 2; round++) { /* the buffer is reused after a take */
        assert_int_equal(dsp_chat_adapter_render(&spec, &in, &m, NULL), DSP_OK);
        assert_int_equal(m.len, 4 * (size_t)(round + 1));
        const dsp_message *mm = m.items + 4 * round;
        assert_string_equal(mm[0].content, expected_system);
        assert_string_equal(mm[1].content, expected_demo_user);
        assert_string_equal(mm[2].content, expected_demo_assistant);
        static const char head[] = "[[ ## ticket_text ## ]]\n";
        const char *tail = strstr(expected_user, "\n\nRespond with");
        assert_non_null(tail);
        const char *u = mm[3].content;
        assert_int_equal(strlen(u), strlen(head) + n + strlen(tail));
        assert_memory_equal(u, head, strlen(head));
        assert_memory_equal(u + strlen(head), text, n);
        assert_string_equal(u + strlen(head) + n, tail);
    }
    dsp_messages_free(&m);
    dsp_value_free(&in);
    free(text);
}

/* More outputs than the parser keeps on the stack (8): each still gets its
 * own section. */
static void test_many_outputs_parse(void **state)
{
    (void)state;
    enum { N = 12 };
    static dsp_field out[N];
    static char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        out[i] = (dsp_field){ names[i], &dsp_type_int, NULL };
    }
    static const dsp_signature sig = { "Many", NULL, NULL, 0, out, N };
    static const dsp_predictor p = { "many", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    char reply[1024];
    size_t len = 0;
    for (int i = N - 1; i >= 0; i--) /* in reverse order */
        len += (size_t)snprintf(reply + len, sizeof reply - len, "[[ ## f%d ## ]]\n%d\n\n", i, 100 + i);
    dsp_value got[N];
    memset(got, 0, sizeof got);
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, len, got, NULL), DSP_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(got[i].as.i, 100 + i);
    dsp_values_free(got, N);
    /* A missing one is named. */
    dsp_error err = { 0 };
    memset(got, 0, sizeof got);
    assert_int_equal(dsp_chat_adapter_parse(&spec, "[[ ## f0 ## ]]\n1", 16, got, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "`f1`"));
    dsp_error_clear(&err);
}

static void test_parse_example_reply(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&ticket, NULL);
    const char *reply = "[[ ## reasoning ## ]]\nA duplicate charge.\n\n[[ ## category ## ]]\nbilling\n\n"
                        "[[ ## completed ## ]]\n";
    dsp_value out[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), out, &err), DSP_OK);
    assert_int_equal(out[0].kind, DSP_TYPE_STRING);
    assert_string_equal(out[0].as.s.data, "A duplicate charge.");
    assert_int_equal(out[1].kind, DSP_TYPE_ENUM);
    assert_int_equal(out[1].as.e, 0);
    dsp_values_free(out, 2);
}

/* ---- defaults, notes and hints for every type --------------------------- */

static const char *const colours[] = { "red", "green" };
static const dsp_type colour_t = { .kind = DSP_TYPE_ENUM, .enum_values = colours, .n_enum_values = 2 };
static const dsp_type strings_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_string };
static const dsp_type opt_int_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_int };
static const dsp_type opt_str_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_string };
static const dsp_field all_in[] = { { "question", &dsp_type_string, NULL }, { "limit", &dsp_type_int, "" } };
static const dsp_field all_out[] = {
    { "answer", &dsp_type_string, "The answer" },
    { "count", &dsp_type_int, NULL },
    { "score", &dsp_type_float, NULL },
    { "ok", &dsp_type_bool, NULL },
    { "colour", &colour_t, NULL },
    { "tags", &strings_t, NULL },
    { "maybe", &opt_int_t, NULL },
    { "note", &opt_str_t, NULL },
};
static const dsp_signature all_sig = { "AllTypes", NULL, all_in, 2, all_out, 8 };
static const dsp_predictor all_pred = { "all", &all_sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };

static void render_all(dsp_messages *m, const dsp_prompt_spec *spec)
{
    dsp_value in[2] = { str("What?"), dsp_value_int(3) };
    dsp_error err = { 0 };
    dsp_messages_init(m);
    assert_int_equal(dsp_chat_adapter_render(spec, in, m, &err), DSP_OK);
    dsp_values_free(in, 2);
}

static void test_notes_hints_and_default_objective(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&all_pred, NULL);
    dsp_messages m;
    render_all(&m, &spec);
    assert_int_equal(m.len, 2);
    const char *sys = m.items[0].content;
    assert_non_null(strstr(sys, "1. `question` (string):\n2. `limit` (int):\nYour output fields are:\n"
                                "1. `answer` (string): The answer\n"));
    assert_non_null(strstr(sys, "6. `tags` (list[string]):\n7. `maybe` (optional[int]):\n"));
    assert_non_null(strstr(sys, "{count}        # note: the value you produce must be a single int value\n"));
    assert_non_null(strstr(sys, "{score}        # note: the value you produce must be a single float value\n"));
    assert_non_null(strstr(sys, "{ok}        # note: the value you produce must be True or False\n"));
    assert_non_null(strstr(sys, "{colour}        # note: the value you produce must exactly match (no extra "
                                "characters) one of: red; green\n"));
    assert_non_null(strstr(sys, "{tags}        # note: the value you produce must adhere to the JSON schema: "
                                "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}\n"));
    assert_non_null(strstr(sys, "{maybe}        # note: the value you produce must be a single int value, or "
                                "None when there is no value\n"));
    /* An optional string: one note (it was written twice, the first cut). */
    assert_non_null(strstr(sys, "{note}        # note: the value you produce may be None when there is no "
                                "value\n"));
    assert_null(strstr(sys, "produce         #"));
    assert_non_null(strstr(sys, "{answer}\n\n"));
    assert_non_null(strstr(sys, "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n"
                                "        Given the fields `question`, `limit`, produce the fields `answer`, "
                                "`count`, `score`, `ok`, `colour`, `tags`, `maybe`, `note`."));
    const char *user = m.items[1].content;
    assert_string_equal(user, "[[ ## question ## ]]\nWhat?\n\n[[ ## limit ## ]]\n3\n\n"
                              "Respond with the corresponding output fields, starting with the field "
                              "`[[ ## answer ## ]]`, then `[[ ## count ## ]]` (must be formatted as a valid int), "
                              "then `[[ ## score ## ]]` (must be formatted as a valid float), then `[[ ## ok ## ]]` "
                              "(must be formatted as a valid bool), then `[[ ## colour ## ]]` (must be formatted as "
                              "a valid enum value), then `[[ ## tags ## ]]` (must be formatted as a valid JSON "
                              "array), then `[[ ## maybe ## ]]` (must be formatted as a valid int, or None), then "
                              "`[[ ## note ## ]]` (or None), and then ending with the marker for "
                              "`[[ ## completed ## ]]`.");
    dsp_messages_free(&m);
}

static void test_instruction_override_and_multiline(void **state)
{
    (void)state;
    dsp_predict_options o = dsp_predict_options_default();
    o.instructions = "Answer briefly.\nCite nothing.";
    dsp_prompt_spec spec = dsp_prompt_spec_of(&all_pred, &o);
    dsp_messages m;
    render_all(&m, &spec);
    const char *sys = m.items[0].content;
    const char *tail = "your objective is: \n        Answer briefly.\n        Cite nothing.";
    size_t n = strlen(sys), t = strlen(tail);
    assert_true(n > t);
    assert_string_equal(sys + n - t, tail);
    dsp_messages_free(&m);
}

static void test_demo_override_and_partial_demo(void **state)
{
    (void)state;
    static const char *const in[] = { "Q1", NULL };
    static const char *const out[] = { "A1", "2", NULL, NULL, NULL, NULL, NULL, NULL };
    static const dsp_demo demos[] = { { in, out } };
    dsp_predict_options o = dsp_predict_options_default();
    o.override_demos = true;
    o.demos = demos;
    o.n_demos = 1;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&all_pred, &o);
    dsp_messages m;
    render_all(&m, &spec);
    assert_int_equal(m.len, 4);
    assert_string_equal(m.items[1].content, "[[ ## question ## ]]\nQ1");
    assert_string_equal(m.items[2].content,
                        "[[ ## answer ## ]]\nA1\n\n[[ ## count ## ]]\n2\n\n[[ ## completed ## ]]");
    dsp_messages_free(&m);
    /* Overriding with no demos drops the predictor's. */
    o.n_demos = 0;
    o.demos = NULL;
    spec = dsp_prompt_spec_of(&ticket, &o);
    dsp_value v = str("x");
    dsp_messages_init(&m);
    assert_int_equal(dsp_chat_adapter_render(&spec, &v, &m, NULL), DSP_OK);
    assert_int_equal(m.len, 2);
    dsp_messages_free(&m);
    dsp_value_free(&v);
}

/* Inputs of every type are written as dsp_value_format writes them. */
static void test_typed_inputs(void **state)
{
    (void)state;
    static const dsp_field in[] = {
        { "flag", &dsp_type_bool, NULL }, { "x", &dsp_type_float, NULL }, { "colour", &colour_t, NULL },
        { "tags", &strings_t, NULL },     { "maybe", &opt_int_t, NULL }, { "note", &opt_str_t, NULL },
    };
    static const dsp_field out[] = { { "answer", &dsp_type_string, NULL } };
    static const dsp_signature sig = { "Typed", "Do it.", in, 6, out, 1 };
    static const dsp_predictor p = { "typed", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    dsp_value v[6];
    v[0] = dsp_value_bool(true);
    v[1] = dsp_value_float(-0.25);
    v[2] = dsp_value_enum(1);
    v[3] = dsp_value_list();
    dsp_value t = str("a\"b");
    assert_int_equal(dsp_value_list_append(&v[3], &t, NULL), DSP_OK);
    v[4] = dsp_value_none();
    dsp_value inner = str("some note");
    assert_int_equal(dsp_value_some(&v[5], &inner, NULL), DSP_OK);
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_render(&spec, v, &m, &err), DSP_OK);
    assert_string_equal(m.items[1].content,
                        "[[ ## flag ## ]]\nTrue\n\n[[ ## x ## ]]\n-0.25\n\n[[ ## colour ## ]]\ngreen\n\n"
                        "[[ ## tags ## ]]\n[\"a\\\"b\"]\n\n[[ ## maybe ## ]]\nNone\n\n[[ ## note ## ]]\nsome note\n\n"
                        "Respond with the corresponding output fields, starting with the field `[[ ## answer ## ]]`, "
                        "and then ending with the marker for `[[ ## completed ## ]]`.");
    assert_non_null(strstr(m.items[0].content, "Your input fields are:\n1. `flag` (bool):\n2. `x` (float):\n"
                                               "3. `colour` (enum):\n4. `tags` (list[string]):\n"
                                               "5. `maybe` (optional[int]):\n6. `note` (optional[string]):\n"));
    /* Inputs get no type notes; only outputs do. */
    assert_null(strstr(m.items[0].content, "{flag}        #"));
    dsp_messages_free(&m);
    dsp_values_free(v, 6);
}

/* ---- round trips of every type ------------------------------------------ */

static void build_reply(const dsp_prompt_spec *spec, const dsp_value *vals, char **reply)
{
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        char *text;
        size_t tl;
        assert_int_equal(dsp_value_format(&vals[i], f->type, &text, &tl, NULL), DSP_OK);
        len += (size_t)snprintf(buf + len, cap - len, "[[ ## %s ## ]]\n%s\n\n", f->name, text);
        assert_true(len < cap);
        free(text);
    }
    snprintf(buf + len, cap - len, "[[ ## completed ## ]]\n");
    *reply = buf;
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&all_pred, NULL);
    dsp_value want[8];
    want[0] = str("Line one\nline two: [not a marker]\n\tindented");
    want[1] = dsp_value_int(-9223372036854775807LL - 1);
    want[2] = dsp_value_float(0.1);
    want[3] = dsp_value_bool(false);
    want[4] = dsp_value_enum(1);
    want[5] = dsp_value_list();
    dsp_value t1 = str("a \"quoted\" tag"), t2 = str("b\\n");
    assert_int_equal(dsp_value_list_append(&want[5], &t1, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&want[5], &t2, NULL), DSP_OK);
    dsp_value seven = dsp_value_int(7);
    assert_int_equal(dsp_value_some(&want[6], &seven, NULL), DSP_OK);
    want[7] = dsp_value_none();
    char *reply;
    build_reply(&spec, want, &reply);
    dsp_value got[8] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), got, &err), DSP_OK);
    for (int i = 0; i < 8; i++)
        assert_true(dsp_value_equal(&want[i], &got[i]));
    dsp_values_free(got, 8);
    dsp_values_free(want, 8);
    free(reply);
}

static void test_round_trip_arbitrary_bytes(void **state)
{
    (void)state;
    /* High bytes, invalid UTF-8, control bytes and CRs inside a string
     * output survive (the adapter trims only the ends of a section). */
    static const dsp_field out[] = { { "blob", &dsp_type_string, NULL } };
    static const dsp_signature sig = { "Bytes", NULL, NULL, 0, out, 1 };
    static const dsp_predictor p = { "bytes", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    char bytes[300];
    size_t n = 0;
    bytes[n++] = 'x';
    for (int c = 1; c < 256; c++)
        if (c != '\n')
            bytes[n++] = (char)c;
    bytes[n++] = 'y';
    char reply[600];
    size_t len = (size_t)snprintf(reply, sizeof reply, "[[ ## blob ## ]]\n");
    memcpy(reply + len, bytes, n);
    len += n;
    memcpy(reply + len, "\n\n[[ ## completed ## ]]", 23);
    len += 23;
    dsp_value got = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, len, &got, NULL), DSP_OK);
    assert_int_equal(got.as.s.len, n);
    assert_memory_equal(got.as.s.data, bytes, n);
    dsp_value_free(&got);
}

/* ---- section rules ------------------------------------------------------ */

static void test_sections_first_wins_unknown_ignored(void **state)
{
    (void)state;
    static const dsp_field out[] = { { "answer", &dsp_type_string, NULL }, { "n", &dsp_type_int, NULL } };
    static const dsp_signature sig = { "S", NULL, NULL, 0, out, 2 };
    static const dsp_predictor p = { "s", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    const char *reply = "Sure! Here you go.\n"
                        "[[ ## answer ## ]] same line\nnext line\n"
                        "[[ ## thoughts ## ]]\nnot part of the answer\n"
                        "[[ ## n ## ]]\n 42 \n"
                        "[[ ## answer ## ]]\nsecond answer loses\n"
                        "[[ ## completed ## ]]\ntrailing words\n";
    dsp_value got[2] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), got, &err), DSP_OK);
    assert_string_equal(got[0].as.s.data, "same line\nnext line");
    assert_int_equal(got[1].as.i, 42);
    dsp_values_free(got, 2);
    /* A marker not at the start of a line does not open a section. */
    reply = "[[ ## answer ## ]]\nsee [[ ## n ## ]] 5\n[[ ## n ## ]]\n6";
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), got, &err), DSP_OK);
    assert_string_equal(got[0].as.s.data, "see [[ ## n ## ]] 5");
    assert_int_equal(got[1].as.i, 6);
    dsp_values_free(got, 2);
}

static void test_optional_output_may_be_missing(void **state)
{
    (void)state;
    static const dsp_field out[] = { { "a", &dsp_type_string, NULL }, { "b", &opt_int_t, NULL } };
    static const dsp_signature sig = { "S", NULL, NULL, 0, out, 2 };
    static const dsp_predictor p = { "s", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    const char *reply = "[[ ## a ## ]]\n\n[[ ## completed ## ]]";
    dsp_value got[2] = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), got, NULL), DSP_OK);
    assert_int_equal(got[0].as.s.len, 0);
    assert_int_equal(got[1].kind, DSP_TYPE_OPTIONAL);
    assert_null(got[1].as.some);
    dsp_values_free(got, 2);
    const char *forms[] = { "None", "null", "NULL", "  ", "" };
    for (size_t i = 0; i < 5; i++) {
        char r[128];
        snprintf(r, sizeof r, "[[ ## a ## ]]\nx\n[[ ## b ## ]]\n%s\n", forms[i]);
        assert_int_equal(dsp_chat_adapter_parse(&spec, r, strlen(r), got, NULL), DSP_OK);
        assert_null(got[1].as.some);
        dsp_values_free(got, 2);
    }
}

/* ---- errors ------------------------------------------------------------- */

static void expect_parse_error(const dsp_prompt_spec *spec, const char *reply, const char *field, const char *what)
{
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    dsp_value got[8];
    memset(got, 0, sizeof got);
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(spec, reply, strlen(reply), got, &err), DSP_ERR_PARSE);
    assert_int_equal(err.status, DSP_ERR_PARSE);
    char field_q[64];
    snprintf(field_q, sizeof field_q, "`%s`", field);
    if (!strstr(err.message, field_q) || !strstr(err.message, what))
        fail_msg("message \"%s\" lacks %s or \"%s\"", err.message, field_q, what);
    assert_non_null(err.raw);
    assert_string_equal(err.raw, reply);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].kind, DSP_TYPE_STRING);
        assert_null(got[i].as.s.data);
    }
    dsp_error_clear(&err);
}

static void test_bad_replies_name_field_and_keep_raw(void **state)
{
    (void)state;
    static const dsp_field out[] = {
        { "answer", &dsp_type_string, NULL }, { "count", &dsp_type_int, NULL }, { "colour", &colour_t, NULL },
        { "tags", &strings_t, NULL },         { "ok", &dsp_type_bool, NULL },
    };
    static const dsp_signature sig = { "S", NULL, NULL, 0, out, 5 };
    static const dsp_predictor p = { "s", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
#define GOOD_HEAD "[[ ## answer ## ]]\nhi\n"
    expect_parse_error(&spec,
                       GOOD_HEAD "[[ ## count ## ]]\n12abc\n[[ ## colour ## ]]\nred\n[[ ## tags ## ]]\n[]\n"
                                 "[[ ## ok ## ]]\nTrue\n",
                       "count", "12abc");
    expect_parse_error(&spec,
                       GOOD_HEAD "[[ ## count ## ]]\n1\n[[ ## colour ## ]]\npurple\n[[ ## tags ## ]]\n[]\n"
                                 "[[ ## ok ## ]]\nTrue\n",
                       "colour", "\"purple\" is not one of: red; green");
    expect_parse_error(&spec,
                       GOOD_HEAD "[[ ## count ## ]]\n1\n[[ ## colour ## ]]\nred\n[[ ## tags ## ]]\n[\"a\", \n"
                                 "[[ ## ok ## ]]\nTrue\n",
                       "tags", "JSON array");
    expect_parse_error(&spec,
                       GOOD_HEAD "[[ ## count ## ]]\n1\n[[ ## colour ## ]]\nred\n[[ ## tags ## ]]\n[\"a\", {\"b\": 1}]\n"
                                 "[[ ## ok ## ]]\nTrue\n",
                       "tags[1]", "expected a value of type string, got a JSON object");
    expect_parse_error(&spec,
                       GOOD_HEAD "[[ ## count ## ]]\n1\n[[ ## colour ## ]]\nred\n[[ ## tags ## ]]\n[]\n"
                                 "[[ ## ok ## ]]\nmaybe\n",
                       "ok", "True or False");
    expect_parse_error(&spec, GOOD_HEAD "[[ ## count ## ]]\n1\n[[ ## colour ## ]]\nred\n", "tags", "missing");
    expect_parse_error(&spec, "I don't know.", "answer", "missing");
    expect_parse_error(&spec, "", "answer", "missing");
}

static void test_bad_descriptors_and_inputs_are_invalid(void **state)
{
    (void)state;
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = { 0 };
    /* CoT on a signature that already has `reasoning`. */
    static const dsp_field out[] = { { "reasoning", &dsp_type_string, NULL } };
    static const dsp_signature sig = { "R", NULL, NULL, 0, out, 1 };
    static const dsp_predictor p = { "r", &sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    assert_int_equal(dsp_chat_adapter_render(&spec, NULL, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "`reasoning` appears twice"));
    /* A bad field name. */
    static const dsp_field bad_out[] = { { "has space", &dsp_type_string, NULL } };
    static const dsp_signature bad_sig = { "B", NULL, NULL, 0, bad_out, 1 };
    static const dsp_predictor bad = { "b", &bad_sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    spec = dsp_prompt_spec_of(&bad, NULL);
    assert_int_equal(dsp_chat_adapter_render(&spec, NULL, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "has space"));
    /* An input of the wrong type. */
    spec = dsp_prompt_spec_of(&ticket, NULL);
    dsp_value wrong = dsp_value_int(1);
    assert_int_equal(dsp_chat_adapter_render(&spec, &wrong, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "input `ticket_text`"));
    /* An input string holding a NUL byte. */
    dsp_value nul;
    assert_int_equal(dsp_value_set_string(&nul, "ab\0cd", 5, NULL), DSP_OK);
    assert_int_equal(dsp_chat_adapter_render(&spec, &nul, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "NUL byte at offset 2"));
    assert_int_equal(m.len, 0); /* nothing left behind */
    dsp_value_free(&nul);
    dsp_messages_free(&m);
}

/* Random replies built from markers, newlines, quotes and junk never crash
 * the parser, and every result is either DSP_OK with every output set or
 * DSP_ERR_PARSE with the outputs left zeroed. */
static void test_random_replies_never_crash(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "[[ ## answer ## ]]", "[[ ## count ## ]]", "[[ ## colour ## ]]", "[[ ## tags ## ]]", "[[ ## ok ## ]]",
        "[[ ## completed ## ]]", "[[ ## ", " ## ]]", "\n", "\n\n", "12", "-3", "red", "GREEN", "True", "no",
        "[\"a\"]", "[", "\"", "None", " ", "\r\n", "\xff\xfe", "{}", "##", "]]",
    };
    static const dsp_field out[] = {
        { "answer", &dsp_type_string, NULL }, { "count", &dsp_type_int, NULL }, { "colour", &colour_t, NULL },
        { "tags", &strings_t, NULL },         { "ok", &dsp_type_bool, NULL },
    };
    static const dsp_signature sig = { "S", NULL, NULL, 0, out, 5 };
    static const dsp_predictor p = { "s", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int ok = 0;
    for (int round = 0; round < 3000; round++) {
        char reply[1024];
        size_t len = random_reply(&x, pieces, sizeof pieces / sizeof *pieces, 40, reply, sizeof reply);
        dsp_value got[5] = { 0 };
        dsp_error err = { 0 };
        dsp_status st = dsp_chat_adapter_parse(&spec, reply, len, got, &err);
        if (st == DSP_OK) {
            ok++;
            assert_int_equal(got[1].kind, DSP_TYPE_INT);
            assert_int_equal(got[4].kind, DSP_TYPE_BOOL);
        } else {
            assert_int_equal(st, DSP_ERR_PARSE);
            assert_non_null(strstr(err.message, "chat adapter: output `"));
            for (int i = 0; i < 5; i++)
                assert_null(got[i].as.s.data);
        }
        dsp_values_free(got, 5);
        dsp_error_clear(&err);
    }
    (void)ok;
    /* Sections may come in any order. */
    const char *reply = "[[ ## ok ## ]]\nno\n[[ ## tags ## ]]\n[]\n[[ ## colour ## ]]\ngreen\n"
                        "[[ ## count ## ]]\n0\n[[ ## answer ## ]]\nlast";
    dsp_value got[5] = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), got, NULL), DSP_OK);
    assert_string_equal(got[0].as.s.data, "last");
    assert_int_equal(got[2].as.e, 1);
    assert_false(got[4].as.b);
    dsp_values_free(got, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_format_example_byte_for_byte),
        cmocka_unit_test(test_long_input_renders_whole),
        cmocka_unit_test(test_many_outputs_parse),
        cmocka_unit_test(test_parse_example_reply),
        cmocka_unit_test(test_notes_hints_and_default_objective),
        cmocka_unit_test(test_instruction_override_and_multiline),
        cmocka_unit_test(test_demo_override_and_partial_demo),
        cmocka_unit_test(test_typed_inputs),
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_round_trip_arbitrary_bytes),
        cmocka_unit_test(test_sections_first_wins_unknown_ignored),
        cmocka_unit_test(test_optional_output_may_be_missing),
        cmocka_unit_test(test_bad_replies_name_field_and_keep_raw),
        cmocka_unit_test(test_bad_descriptors_and_inputs_are_invalid),
        cmocka_unit_test(test_render_texts_equals_values),
        cmocka_unit_test(test_random_replies_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
