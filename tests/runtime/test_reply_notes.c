/* test_reply_notes.c — keys of a structured reply that no field declares:
 * parsing ignores them, and a traced call notes them in its trace line
 * (`dspcc.note`, with the path inside the value), for the chat adapter and
 * the JSON adapter; an untraced call and a reply without extra keys note
 * nothing. The LM is a scripted stub on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/predict.h"
#include "../../runtime/src/adapter_common.h"
#include "../support/stub_script.h"

static const char *const kinds[] = { "person", "location" };
static const dsp_type kind_t = { .kind = DSP_TYPE_ENUM, .enum_values = kinds, .n_enum_values = 2,
                                 .name = "Kind" };
static const dsp_field entity_fields[] = {
    { "text", &dsp_type_string, NULL },
    { "type", &kind_t, NULL },
};
static const dsp_type entity_t = { .kind = DSP_TYPE_RECORD, .fields = entity_fields, .n_fields = 2,
                                   .name = "Entity" };
static const dsp_type entities_t = { .kind = DSP_TYPE_LIST, .elem = &entity_t };
static const dsp_type by_name_t = { .kind = DSP_TYPE_MAP, .elem = &entity_t };
static const dsp_field ins[] = { { "sentence", &dsp_type_string, NULL } };
static const dsp_field outs[] = {
    { "entities", &entities_t, NULL },
    { "by_name", &by_name_t, NULL },
    { "count", &dsp_type_int, NULL },
};
static const dsp_signature sig = { "Extract", "Find the entities.", ins, 1, outs, 3 };

static dsp_prompt_spec spec(void)
{
    dsp_prompt_spec s;
    memset(&s, 0, sizeof s);
    s.signature = &sig;
    s.strategy = DSP_STRATEGY_PREDICT;
    return s;
}

static const char chat_extra[] =
    "[[ ## entities ## ]]\n"
    "[{\"text\": \"Paris\", \"type\": \"location\", \"confidence\": 0.9}, {\"text\": \"Ann\", \"type\": \"person\"}]\n\n"
    "[[ ## by_name ## ]]\n"
    "```json\n{\"Ann\": {\"text\": \"Ann\", \"type\": \"person\", \"span\": [0, 3]}}\n```\n\n"
    "[[ ## count ## ]]\n2\n\n[[ ## completed ## ]]";

static const char chat_clean[] =
    "[[ ## entities ## ]]\n[{\"text\": \"Paris\", \"type\": \"location\"}]\n\n"
    "[[ ## by_name ## ]]\n{}\n\n[[ ## count ## ]]\n1\n\n[[ ## completed ## ]]";

static void test_unknown_keys_are_named_by_path(void **state)
{
    (void)state;
    dsp_prompt_spec s = spec();
    char note[256];
    dsp_reply_unknown_keys(&s, chat_extra, strlen(chat_extra), false, note, sizeof note);
    assert_string_equal(note, "unknown keys ignored: entities[0].confidence, by_name.Ann.span");
    dsp_reply_unknown_keys(&s, chat_clean, strlen(chat_clean), false, note, sizeof note);
    assert_string_equal(note, "");
    static const char json[] = "Here it is: {\"entities\": [{\"text\": \"Ann\", \"type\": \"person\", \"id\": 1}], "
                               "\"by_name\": {}, \"count\": 1, \"comment\": \"easy\"}";
    dsp_reply_unknown_keys(&s, json, strlen(json), true, note, sizeof note);
    assert_string_equal(note, "unknown keys ignored: entities[0].id, comment");
    /* A note longer than its buffer is cut and says so. */
    char small[40];
    dsp_reply_unknown_keys(&s, chat_extra, strlen(chat_extra), false, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_string_equal(small + sizeof small - 4, "...");
}

/* Runs one predict call on a client tracing into path (NULL: no trace) and
 * returns the trace file's text (malloc'ed, "" without one). */
static char *traced_call(const char *reply, const char *path)
{
    dsp_lm_config lm;
    dsp_client *plain = stub_script_client(&lm);
    assert_non_null(plain);
    dsp_client_free(plain);
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
    o.trace_path = path ? path : "";
    dsp_client *c = NULL;
    assert_int_equal(dsp_client_new(&o, &c, NULL), DSP_OK);
    const char *replies[] = { reply };
    stub_script_play(replies, 1);
    dsp_predictor p = { "Extract.e", &sig, DSP_STRATEGY_PREDICT, NULL, 0, &lm };
    dsp_value in, out[3];
    assert_int_equal(dsp_value_set_string(&in, "Ann went to Paris", 17, NULL), DSP_OK);
    dsp_error err = { 0 };
    assert_int_equal(dsp_predict(c, &p, &in, out, NULL, &err), DSP_OK);
    /* The outputs parsed, the extra keys left out. */
    assert_true(out[0].as.list.len >= 1);
    assert_int_equal(out[0].as.list.items[0].as.record.len, 2);
    dsp_values_free(out, 3);
    dsp_value_free(&in);
    dsp_client_free(c);
    char *text = calloc(1, 1);
    if (path) {
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        free(text);
        text = calloc((size_t)n + 1, 1);
        assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        unlink(path);
    }
    return text;
}

static void test_a_traced_call_notes_them(void **state)
{
    (void)state;
    char path[] = "/tmp/dsp_notes_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char *t = traced_call(chat_extra, path);
    if (!strstr(t, "\"dspcc.note\":\"unknown keys ignored: entities[0].confidence, by_name.Ann.span\""))
        fail_msg("no note in the trace line: %s", t);
    free(t);
    fd = mkstemp(strcpy(path, "/tmp/dsp_notes_XXXXXX"));
    close(fd);
    t = traced_call(chat_clean, path);
    assert_non_null(strstr(t, "\"kind\":\"lm\""));
    assert_null(strstr(t, "dspcc.note"));
    free(t);
    /* Untraced: nothing to note into, and the call works the same. */
    free(traced_call(chat_extra, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_keys_are_named_by_path),
        cmocka_unit_test(test_a_traced_call_notes_them),
    };
    return cmocka_run_group_tests(tests, stub_script_setup, stub_script_teardown);
}
