/* test_records.c — records and maps in libdsprt: building, copying, comparing
 * and freeing nested values; their JSON schema (the prompt note and the
 * json adapter's schema); formatting as compact JSON; parsing replies and
 * data rows into them, with errors that name the path inside the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/chat.h"
#include "dsp/value.h"

static const char *const kinds[] = { "person", "location", "group" };
static const dsp_type kind_t = { .kind = DSP_TYPE_ENUM, .enum_values = kinds, .n_enum_values = 3,
                                 .name = "EntityType" };
static const dsp_type opt_str_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_string };
static const dsp_field entity_fields[] = {
    { "text", &dsp_type_string, "the words, as written" },
    { "type", &kind_t, NULL },
    { "note", &opt_str_t, NULL },
};
static const dsp_type entity_t = { .kind = DSP_TYPE_RECORD, .fields = entity_fields, .n_fields = 3,
                                   .name = "Entity" };
static const dsp_type entities_t = { .kind = DSP_TYPE_LIST, .elem = &entity_t };
static const dsp_type scores_t = { .kind = DSP_TYPE_MAP, .elem = &dsp_type_float };
static const dsp_field mention_fields[] = {
    { "entity", &entity_t, NULL },
    { "scores", &scores_t, NULL },
    { "all", &entities_t, NULL },
};
static const dsp_type mention_t = { .kind = DSP_TYPE_RECORD, .fields = mention_fields, .n_fields = 3,
                                    .name = "Mention" };

static dsp_value parse_ok(const dsp_type *t, const char *text)
{
    dsp_value v;
    dsp_error err = { 0 };
    if (dsp_value_parse(t, text, strlen(text), &v, &err) != DSP_OK)
        fail_msg("\"%s\" did not parse: %s", text, err.message);
    return v;
}

static void parse_bad(const dsp_type *t, const char *text, const char *want_start)
{
    dsp_value v;
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_parse(t, text, strlen(text), &v, &err), DSP_ERR_PARSE);
    if (strncmp(err.message, want_start, strlen(want_start)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", err.message, want_start);
    /* A failed parse leaves nothing behind. */
    assert_int_equal(v.kind, DSP_TYPE_STRING);
    assert_null(v.as.s.data);
}

static char *format(const dsp_value *v, const dsp_type *t)
{
    char *out = NULL;
    dsp_error err = { 0 };
    if (dsp_value_format(v, t, &out, NULL, &err) != DSP_OK)
        fail_msg("format failed: %s", err.message);
    return out;
}

static void test_type_check_and_names(void **state)
{
    (void)state;
    dsp_error err = { 0 };
    assert_int_equal(dsp_type_check(&mention_t, &err), DSP_OK);
    char buf[64];
    assert_string_equal(dsp_type_name(&entity_t, buf, sizeof buf), "Entity");
    assert_string_equal(dsp_type_name(&scores_t, buf, sizeof buf), "dict[str, float]");
    assert_string_equal(dsp_type_name(&entities_t, buf, sizeof buf), "list[Entity]");

    static const dsp_field dup[] = { { "a", &dsp_type_int, NULL }, { "a", &dsp_type_int, NULL } };
    static const dsp_type dup_t = { .kind = DSP_TYPE_RECORD, .fields = dup, .n_fields = 2, .name = "D" };
    assert_int_equal(dsp_type_check(&dup_t, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "`a` appears twice"));
    static const dsp_type nameless_t = { .kind = DSP_TYPE_RECORD, .fields = dup, .n_fields = 1 };
    assert_int_equal(dsp_type_check(&nameless_t, &err), DSP_ERR_INVALID);
}

static void test_parse_nested_and_format_round_trip(void **state)
{
    (void)state;
    const char *text = "{\"entity\": {\"text\": \"Ann\", \"type\": \"person\"},"
                       " \"scores\": {\"a\": 0.5, \"b\": 2},"
                       " \"all\": [{\"text\": \"Ann\", \"type\": \"Person\", \"extra\": 1},"
                       "          {\"text\": \"Oslo\", \"type\": \"location\", \"note\": \"city\"}]}";
    dsp_value v = parse_ok(&mention_t, text);
    assert_int_equal(v.kind, DSP_TYPE_RECORD);
    assert_int_equal(v.as.record.len, 3);
    const dsp_value *e = dsp_value_record_get(&v, &mention_t, "entity");
    assert_non_null(e);
    assert_string_equal(dsp_value_cstr(dsp_value_record_get(e, &entity_t, "text")), "Ann");
    assert_int_equal(dsp_value_record_get(e, &entity_t, "type")->as.e, 0);
    /* a missing optional field is absent */
    assert_null(dsp_value_record_get(e, &entity_t, "note")->as.some);
    assert_null(dsp_value_record_get(e, &entity_t, "nope"));
    const dsp_value *scores = dsp_value_record_get(&v, &mention_t, "scores");
    assert_int_equal(scores->as.map.len, 2);
    assert_true(dsp_value_map_get(scores, "b")->as.f == 2.0);
    assert_null(dsp_value_map_get(scores, "c"));
    const dsp_value *all = dsp_value_record_get(&v, &mention_t, "all");
    assert_int_equal(all->as.list.len, 2);
    assert_string_equal(dsp_value_cstr(dsp_value_record_get(&all->as.list.items[1], &entity_t, "note")->as.some),
                        "city");

    /* Formatted as compact JSON (absent optionals left out), it parses back equal. */
    char *json = format(&v, &mention_t);
    assert_string_equal(json, "{\"entity\":{\"text\":\"Ann\",\"type\":\"person\"},\"scores\":{\"a\":0.5,\"b\":2},"
                              "\"all\":[{\"text\":\"Ann\",\"type\":\"person\"},"
                              "{\"text\":\"Oslo\",\"type\":\"location\",\"note\":\"city\"}]}");
    dsp_value back = parse_ok(&mention_t, json);
    assert_true(dsp_value_equal(&v, &back));

    /* A deep copy is equal and independent. */
    dsp_value copy;
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_copy(&copy, &v, &err), DSP_OK);
    assert_true(dsp_value_equal(&copy, &v));
    dsp_value one = dsp_value_float(9);
    assert_int_equal(dsp_value_map_put(&copy.as.record.fields[1], "a", &one, &err), DSP_OK);
    assert_false(dsp_value_equal(&copy, &v));
    assert_int_equal(dsp_value_check(&copy, &mention_t, "copy", &err), DSP_OK);

    free(json);
    dsp_value_free(&copy);
    dsp_value_free(&back);
    dsp_value_free(&v);
}

static void test_fenced_and_string_wrapped_json(void **state)
{
    (void)state;
    dsp_value v = parse_ok(&entities_t, "```json\n[{\"text\": \"Ann\", \"type\": \"person\"}]\n```");
    assert_int_equal(v.as.list.len, 1);
    dsp_value_free(&v);
    v = parse_ok(&entity_t, "  {\"text\": \"Oslo\", \"type\": \"location\", \"note\": null}  ");
    assert_null(v.as.record.fields[2].as.some);
    dsp_value_free(&v);
}

static void test_errors_name_the_path(void **state)
{
    (void)state;
    parse_bad(&entities_t, "[{\"text\": \"a\", \"type\": \"person\"}, {\"text\": \"b\", \"type\": \"group\"},"
                           " {\"text\": \"c\", \"type\": \"persn\"}]",
              "[2].type: \"persn\" is not a value of EntityType (one of: person; location; group)");
    parse_bad(&entities_t, "[{\"type\": \"person\"}]", "[0].text: missing, but it is a required field of Entity");
    parse_bad(&entities_t, "[{\"text\": null, \"type\": \"person\"}]",
              "[0].text: null, but it is a required field of Entity");
    parse_bad(&mention_t, "{\"entity\": {\"text\": \"a\", \"type\": \"group\"}, \"scores\": {\"x\": \"high\"}, \"all\": []}",
              ".scores[\"x\"]: expected a number, got \"high\"");
    parse_bad(&mention_t, "{\"entity\": {\"text\": \"a\", \"type\": \"group\"}, \"scores\": {}, \"all\": [7]}",
              ".all[0]: expected a value of type Entity, got a JSON number");
    parse_bad(&entity_t, "[1]", "expected a JSON object (Entity)");
    parse_bad(&entity_t, "{\"text\": \"a\", \"type\": ", "expected a JSON object (Entity)");
    parse_bad(&scores_t, "{\"a\": 1,", "expected a JSON object");
}

static void test_path_joins_the_output_name(void **state)
{
    (void)state;
    static const dsp_field in[] = { { "sentence", &dsp_type_string, NULL } };
    static const dsp_field out[] = { { "entities", &entities_t, "every entity" } };
    static const dsp_signature sig = { "Extract", NULL, in, 1, out, 1 };
    dsp_prompt_spec spec = { .signature = &sig, .strategy = DSP_STRATEGY_PREDICT };
    const char *reply = "[[ ## entities ## ]]\n[{\"text\": \"a\", \"type\": \"persn\"}]\n\n[[ ## completed ## ]]\n";
    dsp_value got[1];
    memset(got, 0, sizeof got);
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), got, &err), DSP_ERR_PARSE);
    if (!strstr(err.message, "output `entities[0].type`: \"persn\" is not a value of EntityType"))
        fail_msg("message: %s", err.message);
    assert_non_null(err.raw);
    assert_string_equal(err.raw, reply);
    dsp_error_clear(&err);
    assert_int_equal(err.path_len, 0);
}

static void test_schema(void **state)
{
    (void)state;
    char *s = NULL;
    dsp_error err = { 0 };
    assert_int_equal(dsp_type_json_schema(&entities_t, &s, &err), DSP_OK);
    assert_string_equal(s, "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                           "\"text\":{\"type\":\"string\",\"description\":\"the words, as written\"},"
                           "\"type\":{\"type\":\"string\",\"enum\":[\"person\",\"location\",\"group\"]},"
                           "\"note\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}},"
                           "\"required\":[\"text\",\"type\",\"note\"],\"additionalProperties\":false}}");
    free(s);
    assert_int_equal(dsp_type_json_schema(&scores_t, &s, &err), DSP_OK);
    assert_string_equal(s, "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}}");
    free(s);
}

static void test_prompt_renders_records_as_json(void **state)
{
    (void)state;
    static const dsp_field in[] = { { "mention", &entity_t, NULL } };
    static const dsp_field out[] = { { "entities", &entities_t, NULL } };
    static const dsp_signature sig = { "Extract", NULL, in, 1, out, 1 };
    dsp_prompt_spec spec = { .signature = &sig, .strategy = DSP_STRATEGY_PREDICT };
    dsp_value input;
    dsp_error err = { 0 };
    const char *j = "{\"text\": \"Ann\", \"type\": \"person\"}";
    assert_int_equal(dsp_value_parse_json(&entity_t, j, strlen(j), &input, &err), DSP_OK);
    dsp_messages msgs;
    dsp_messages_init(&msgs);
    assert_int_equal(dsp_chat_adapter_render(&spec, &input, &msgs, &err), DSP_OK);
    const char *sys = msgs.items[0].content, *user = msgs.items[msgs.len - 1].content;
    assert_non_null(strstr(sys, "1. `mention` (Entity)"));
    assert_non_null(strstr(sys, "1. `entities` (list[Entity])"));
    assert_non_null(strstr(sys, "# note: the value you produce must adhere to the JSON schema: {\"type\":\"array\""));
    assert_non_null(strstr(user, "[[ ## mention ## ]]\n{\"text\":\"Ann\",\"type\":\"person\"}"));
    dsp_messages_free(&msgs);
    dsp_value_free(&input);
}

static void test_map_put_replaces_and_frees(void **state)
{
    (void)state;
    dsp_value m = dsp_value_map();
    dsp_error err = { 0 };
    dsp_value a, b;
    assert_int_equal(dsp_value_set_string(&a, "one", 3, &err), DSP_OK);
    assert_int_equal(dsp_value_set_string(&b, "two", 3, &err), DSP_OK);
    assert_int_equal(dsp_value_map_put(&m, "k", &a, &err), DSP_OK);
    assert_int_equal(dsp_value_map_put(&m, "k", &b, &err), DSP_OK);
    assert_int_equal(m.as.map.len, 1);
    assert_string_equal(dsp_value_cstr(dsp_value_map_get(&m, "k")), "two");
    assert_null(a.as.s.data);
    dsp_value rec;
    assert_int_equal(dsp_value_record(&rec, 2, &err), DSP_OK);
    assert_int_equal(rec.as.record.len, 2);
    dsp_value_free(&rec);
    dsp_value_free(&m);
    assert_int_equal(m.kind, DSP_TYPE_STRING);
}

/* A repeated key in a reply's object: the last one wins, as JSON readers
 * do, and the map keeps the keys in their first order otherwise. */
static void test_map_duplicate_keys_last_wins(void **state)
{
    (void)state;
    dsp_value v = parse_ok(&scores_t, "{\"a\": 1, \"b\": 2, \"a\": 3, \"c\": 4, \"b\": 5}");
    assert_int_equal(v.as.map.len, 3);
    assert_string_equal(v.as.map.keys[0], "a");
    assert_true(v.as.map.vals[0].as.f == 3.0);
    assert_string_equal(v.as.map.keys[1], "c");
    assert_string_equal(v.as.map.keys[2], "b");
    assert_true(v.as.map.vals[2].as.f == 5.0);
    dsp_value_free(&v);
}

/* 200,000 keys (a hostile reply can hold millions): read and copied with
 * no search per key, which made this ~2x10^10 comparisons. */
static void test_large_map_reads_and_copies(void **state)
{
    (void)state;
    enum { N = 200000 };
    char *text = malloc((size_t)N * 24 + 8);
    assert_non_null(text);
    size_t len = 0;
    text[len++] = '{';
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "%s\"k%d\": %d", i ? "," : "", i, i);
    text[len++] = '}';
    text[len] = '\0';
    dsp_value v = parse_ok(&scores_t, text);
    free(text);
    assert_int_equal(v.as.map.len, N);
    assert_string_equal(v.as.map.keys[N - 1], "k199999");
    assert_true(v.as.map.vals[N - 1].as.f == 199999.0);
    dsp_value copy;
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_copy(&copy, &v, &err), DSP_OK);
    assert_int_equal(copy.as.map.len, N);
    assert_string_equal(copy.as.map.keys[12345], "k12345");
    dsp_value_free(&copy);
    dsp_value_free(&v);
}

/* Map equality ignores key order and sees any difference; 200,000 keys
 * in opposite orders compare in O(n log n) (a lookup per key made this
 * ~2x10^10 comparisons, minutes; a metric compares every example's maps). */
static void test_large_maps_compare_in_any_order(void **state)
{
    (void)state;
    enum { N = 200000 };
    dsp_value a = dsp_value_map(), b = dsp_value_map();
    dsp_error err = { 0 };
    char key[32];
    for (int i = 0; i < N; i++) {
        dsp_value x = dsp_value_float((double)i), y = dsp_value_float((double)(N - 1 - i));
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(dsp_value_map_append(&a, key, &x, &err), DSP_OK);
        snprintf(key, sizeof key, "k%d", N - 1 - i);
        assert_int_equal(dsp_value_map_append(&b, key, &y, &err), DSP_OK);
    }
    assert_true(dsp_value_equal(&a, &b));
    b.as.map.vals[7].as.f += 1; /* one value differs */
    assert_false(dsp_value_equal(&a, &b));
    b.as.map.vals[7].as.f -= 1;
    free(b.as.map.keys[9]); /* one key differs, the count the same */
    b.as.map.keys[9] = strdup("k-other");
    assert_false(dsp_value_equal(&a, &b));
    dsp_value_free(&a);
    dsp_value_free(&b);
    /* Small maps (a scan) obey the same rules. */
    dsp_value s = dsp_value_map(), t = dsp_value_map();
    dsp_value one = dsp_value_float(1), two = dsp_value_float(2), one2 = dsp_value_float(1), two2 = dsp_value_float(2);
    assert_int_equal(dsp_value_map_append(&s, "a", &one, &err), DSP_OK);
    assert_int_equal(dsp_value_map_append(&s, "b", &two, &err), DSP_OK);
    assert_int_equal(dsp_value_map_append(&t, "b", &two2, &err), DSP_OK);
    assert_int_equal(dsp_value_map_append(&t, "a", &one2, &err), DSP_OK);
    assert_true(dsp_value_equal(&s, &t));
    t.as.map.vals[0].as.f = 3;
    assert_false(dsp_value_equal(&s, &t));
    dsp_value_free(&s);
    dsp_value_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_check_and_names),
        cmocka_unit_test(test_parse_nested_and_format_round_trip),
        cmocka_unit_test(test_fenced_and_string_wrapped_json),
        cmocka_unit_test(test_errors_name_the_path),
        cmocka_unit_test(test_path_joins_the_output_name),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_prompt_renders_records_as_json),
        cmocka_unit_test(test_map_put_replaces_and_frees),
        cmocka_unit_test(test_map_duplicate_keys_last_wins),
        cmocka_unit_test(test_large_map_reads_and_copies),
        cmocka_unit_test(test_large_maps_compare_in_any_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
