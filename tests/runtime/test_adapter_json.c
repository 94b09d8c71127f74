/* test_adapter_json.c — the JSON adapter: its prompt, the schema it sends as
 * response_format, and parsing of JSON object replies (fenced, wrapped in
 * prose, missing keys, wrong types), round trips of every type. */
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

static const char *const queues[] = { "billing", "account", "orders", "general" };
static const dsp_type queue_t = { .kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 4 };
static const dsp_type strings_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_string };
static const dsp_type opt_float_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_float };
static const dsp_field in[] = { { "ticket_text", &dsp_type_string, "Raw text" } };
static const dsp_field out[] = {
    { "category", &queue_t, "One of the four queues" },
    { "urgent", &dsp_type_bool, NULL },
    { "count", &dsp_type_int, NULL },
    { "tags", &strings_t, NULL },
    { "score", &opt_float_t, NULL },
};
static const dsp_signature sig = { "Triage", "Triage a ticket.", in, 1, out, 5 };
static const char *const demo_in[] = { "Refund me" };
static const char *const demo_out[] = { "A refund request.", "billing", "False", "1", "[\"refund\"]", "None" };
static const dsp_demo demos[] = { { demo_in, demo_out } };
static const dsp_predictor pred = { "triage", &sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, demos, 1, NULL };

static void test_render(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    dsp_value v;
    assert_int_equal(dsp_value_set_string(&v, "My order is late", 16, NULL), DSP_OK);
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = { 0 };
    assert_int_equal(dsp_json_adapter_render(&spec, &v, &m, &err), DSP_OK);
    assert_int_equal(m.len, 4);
    const char *sys = m.items[0].content;
    assert_non_null(strstr(sys, "Your output fields are:\n1. `reasoning` (string):\n2. `category` (enum): One of"));
    assert_non_null(strstr(sys, "[[ ## ticket_text ## ]]\n{ticket_text}\n\nOutputs will be a JSON object with the "
                                "following fields.\n\n{\n  \"reasoning\": \"{reasoning}\",\n  \"category\": "
                                "\"{category}\",\n  \"urgent\": {urgent},\n  \"count\": {count},\n  \"tags\": "
                                "{tags},\n  \"score\": {score}\n}\nIn adhering to this structure, your objective "
                                "is: \n        Triage a ticket."));
    assert_string_equal(m.items[1].content, "[[ ## ticket_text ## ]]\nRefund me");
    assert_string_equal(m.items[2].content, "{\n\t\"reasoning\":\t\"A refund request.\",\n\t\"category\":\t"
                                            "\"billing\",\n\t\"urgent\":\tfalse,\n\t\"count\":\t1,\n\t\"tags\":\t["
                                            "\"refund\"],\n\t\"score\":\tnull\n}");
    assert_string_equal(m.items[3].content,
                        "[[ ## ticket_text ## ]]\nMy order is late\n\nRespond with a JSON object in the following "
                        "order of fields: `reasoning`, then `category` (must be formatted as a valid enum value), "
                        "then `urgent` (must be formatted as a valid bool), then `count` (must be formatted as a "
                        "valid int), then `tags` (must be formatted as a valid JSON array), then `score` (must be "
                        "formatted as a valid float, or None).");
    dsp_messages_free(&m);
    dsp_value_free(&v);
}

static void test_schema(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    char *s;
    dsp_error err = { 0 };
    assert_int_equal(dsp_json_adapter_schema(&spec, &s, &err), DSP_OK);
    assert_string_equal(
        s, "{\"type\":\"object\",\"properties\":{\"reasoning\":{\"type\":\"string\"},\"category\":{\"type\":\"string\","
           "\"enum\":[\"billing\",\"account\",\"orders\",\"general\"],\"description\":\"One of the four queues\"},"
           "\"urgent\":{\"type\":\"boolean\"},\"count\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\",\"items\":"
           "{\"type\":\"string\"}},\"score\":{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"null\"}]}},\"required\":["
           "\"reasoning\",\"category\",\"urgent\",\"count\",\"tags\",\"score\"],\"additionalProperties\":false}");
    free(s);
}

static void parse_ok(const char *reply, dsp_value got[6])
{
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    memset(got, 0, 6 * sizeof *got);
    dsp_error err = { 0 };
    if (dsp_json_adapter_parse(&spec, reply, strlen(reply), got, &err) != DSP_OK)
        fail_msg("did not parse: %s", err.message);
}

static void test_parse_shapes(void **state)
{
    (void)state;
    const char *replies[] = {
        "{\"reasoning\": \"late\", \"category\": \"orders\", \"urgent\": true, \"count\": 2, \"tags\": [\"x\"], "
        "\"score\": 0.5}",
        "```json\n{\"reasoning\": \"late\", \"category\": \"Orders\", \"urgent\": \"yes\", \"count\": \"2\", "
        "\"tags\": \"[\\\"x\\\"]\", \"score\": \"0.5\"}\n```\n",
        "Here is the answer:\n{\"score\": 0.5, \"tags\": [\"x\"], \"count\": 2.0, \"urgent\": true, "
        "\"category\": \"orders\", \"reasoning\": \"late\", \"extra\": 1}\nHope it helps {:",
    };
    for (size_t r = 0; r < 3; r++) {
        dsp_value got[6];
        parse_ok(replies[r], got);
        assert_string_equal(got[0].as.s.data, "late");
        assert_int_equal(got[1].as.e, 2);
        assert_true(got[2].as.b);
        assert_int_equal(got[3].as.i, 2);
        assert_int_equal(got[4].as.list.len, 1);
        assert_string_equal(got[4].as.list.items[0].as.s.data, "x");
        assert_non_null(got[5].as.some);
        assert_true(got[5].as.some->as.f == 0.5);
        dsp_values_free(got, 6);
    }
    /* An optional may be null or left out. */
    dsp_value got[6];
    parse_ok("{\"reasoning\":\"\",\"category\":\"general\",\"urgent\":false,\"count\":0,\"tags\":[]}", got);
    assert_null(got[5].as.some);
    dsp_values_free(got, 6);
    parse_ok("{\"reasoning\":\"\",\"category\":\"general\",\"urgent\":false,\"count\":0,\"tags\":[],\"score\":null}",
             got);
    assert_null(got[5].as.some);
    dsp_values_free(got, 6);
}

static void parse_bad(const char *reply, const char *want)
{
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    dsp_value got[6] = { 0 };
    dsp_error err = { 0 };
    assert_int_equal(dsp_json_adapter_parse(&spec, reply, strlen(reply), got, &err), DSP_ERR_PARSE);
    if (!strstr(err.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want);
    assert_non_null(err.raw);
    assert_string_equal(err.raw, reply);
    for (int i = 0; i < 6; i++)
        assert_null(got[i].as.s.data);
    dsp_error_clear(&err);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_bad("no json here", "JSON adapter: the reply is not a JSON object");
    parse_bad("[1, 2]", "not a JSON object");
    parse_bad("{\"reasoning\": \"x\", ", "not a JSON object");
    parse_bad("{\"reasoning\":\"\",\"category\":\"general\",\"urgent\":false,\"count\":0}",
              "output `tags`: missing: the JSON object has no key \"tags\"");
    parse_bad("{\"reasoning\":\"\",\"category\":\"nope\",\"urgent\":false,\"count\":0,\"tags\":[]}",
              "output `category`: \"nope\" is not one of: billing; account; orders; general");
    parse_bad("{\"reasoning\":\"\",\"category\":\"general\",\"urgent\":false,\"count\":\"12abc\",\"tags\":[]}",
              "output `count`: expected an integer, got \"12abc\"");
    parse_bad("{\"reasoning\":\"\",\"category\":\"general\",\"urgent\":false,\"count\":1.5,\"tags\":[]}",
              "output `count`: expected an integer, got 1.5");
    parse_bad("{\"reasoning\":\"\",\"category\":\"general\",\"urgent\":1,\"count\":1,\"tags\":[]}",
              "output `urgent`: expected a value of type bool, got a JSON number");
    parse_bad("{\"reasoning\":[],\"category\":\"general\",\"urgent\":true,\"count\":1,\"tags\":[]}",
              "output `reasoning`: expected a value of type string, got a JSON array");
}

static void test_round_trip_via_values(void **state)
{
    (void)state;
    /* Build the reply object from values with dsp_value_to_json. */
    dsp_value want[6];
    assert_int_equal(dsp_value_set_string(&want[0], "multi\nline \"quoted\" \xe2\x82\xac", 23, NULL), DSP_OK);
    want[1] = dsp_value_enum(3);
    want[2] = dsp_value_bool(false);
    want[3] = dsp_value_int(-9007199254740992LL);
    want[4] = dsp_value_list();
    dsp_value t;
    assert_int_equal(dsp_value_set_string(&t, "\x01\x7f", 2, NULL), DSP_OK);
    assert_int_equal(dsp_value_list_append(&want[4], &t, NULL), DSP_OK);
    dsp_value f = dsp_value_float(-1.5e-7);
    assert_int_equal(dsp_value_some(&want[5], &f, NULL), DSP_OK);
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    char reply[2048];
    size_t len = (size_t)snprintf(reply, sizeof reply, "{");
    for (size_t i = 0; i < 6; i++) {
        const dsp_field *fd = dsp_strategy_output(&sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, i);
        char *j;
        assert_int_equal(dsp_value_to_json(&want[i], fd->type, &j, NULL, NULL), DSP_OK);
        len += (size_t)snprintf(reply + len, sizeof reply - len, "%s\"%s\": %s", i ? ", " : "", fd->name, j);
        free(j);
    }
    snprintf(reply + len, sizeof reply - len, "}");
    dsp_value got[6] = { 0 };
    dsp_error err = { 0 };
    if (dsp_json_adapter_parse(&spec, reply, strlen(reply), got, &err) != DSP_OK)
        fail_msg("%s in %s", err.message, reply);
    for (int i = 0; i < 6; i++)
        if (!dsp_value_equal(&want[i], &got[i]))
            fail_msg("output %d differs after a round trip through %s", i, reply);
    dsp_values_free(got, 6);
    dsp_values_free(want, 6);
}

/* Random replies made of JSON-ish pieces never crash the parser; each is
 * either DSP_OK with every output set or DSP_ERR_PARSE with none. */
static void test_random_replies_never_crash(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "{", "}", "[", "]", ",", ":", "\"reasoning\"", "\"category\"", "\"urgent\"", "\"count\"", "\"tags\"",
        "\"score\"", "\"orders\"", "true", "null", "1", "2.5", "\"x\"", "```json\n", "```", "\n", " ", "\"",
        "\\", "\xff",
    };
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (int round = 0; round < 3000; round++) {
        char reply[1024];
        size_t len = random_reply(&x, pieces, sizeof pieces / sizeof *pieces, 60, reply, sizeof reply);
        dsp_value got[6] = { 0 };
        dsp_error err = { 0 };
        dsp_status st = dsp_json_adapter_parse(&spec, reply, len, got, &err);
        if (st == DSP_OK) {
            assert_int_equal(got[1].kind, DSP_TYPE_ENUM);
        } else {
            assert_int_equal(st, DSP_ERR_PARSE);
            assert_non_null(strstr(err.message, "JSON adapter"));
            for (int i = 0; i < 6; i++)
                assert_null(got[i].as.s.data);
        }
        dsp_values_free(got, 6);
        dsp_error_clear(&err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),       cmocka_unit_test(test_schema),
        cmocka_unit_test(test_parse_shapes), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_round_trip_via_values), cmocka_unit_test(test_random_replies_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
