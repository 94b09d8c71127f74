/* test_field_stream.c — a chat-adapter reply handed on field by field as
 * it streams in: at any chunk size the deltas of each field join to its
 * section text, each field is handed on once with the value the whole
 * reply parses to, a line that only looks like a header at first is field
 * text, and a callback cancels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "../../runtime/src/field_stream.h"

static const char *const queues[] = {"billing", "account"};
static const dsp_type queue_t = {.kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 2};
static const dsp_field f_in[] = {{"ticket", &dsp_type_string, "A ticket"}};
static const dsp_field f_out[] = {{"category", &queue_t, "Its queue"}, {"score", &dsp_type_int, "How sure"}};
static const dsp_signature sig = {"Classify", "Classify it.", f_in, 1, f_out, 2};

/* A chain of thought: reasoning, then the two outputs; the reasoning holds
 * a line starting "[[ #" that is not a header, and UTF-8. */
static const char reply[] = "[[ ## reasoning ## ]]\nA double charge \xE2\x82\xAC is billing.\n[[ #not a header\n\n"
                            "[[ ## category ## ]]\nbilling\n\n[[ ## score ## ]]\n7\n\n[[ ## completed ## ]]";

typedef struct seen {
    char delta[3][256];
    int fields[3]; /* order in which each field came: 1, 2, 3 */
    int n_fields;
    dsp_value values[3];
    int cancel_on_field; /* > 0: cancel at this field */
} seen;

static int on_delta(void *ctx, const dsp_stream_field *sf, const char *text, size_t len)
{
    size_t field = sf->index;
    const char *name = sf->name;
    seen *s = ctx;
    assert_true(field < 3);
    assert_non_null(name);
    assert_int_equal(s->fields[field], 0); /* no delta after the field is whole */
    strncat(s->delta[field], text, len);
    return 0;
}

static int on_field(void *ctx, const dsp_stream_field *sf, const dsp_value *v)
{
    size_t field = sf->index;
    const char *name = sf->name;
    seen *s = ctx;
    (void)name;
    assert_int_equal(s->fields[field], 0);
    s->fields[field] = ++s->n_fields;
    assert_int_equal(dsp_value_copy(&s->values[field], v, NULL), DSP_OK);
    return s->cancel_on_field && s->n_fields >= s->cancel_on_field;
}

static void test_any_chunk_size_hands_on_the_parsed_fields(void **state)
{
    (void)state;
    dsp_prompt_spec spec = {&sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, NULL, 0};
    dsp_value want[3] = {0};
    dsp_error err = {0};
    assert_int_equal(dsp_chat_adapter_parse(&spec, reply, strlen(reply), want, &err), DSP_OK);
    size_t n = strlen(reply);
    for (size_t step = 1; step <= n; step++) {
        seen s;
        memset(&s, 0, sizeof s);
        dsp_stream_callbacks cb = {on_delta, on_field, &s};
        dsp_field_stream f;
        assert_int_equal(dsp_field_stream_init(&f, "Classify.p", &spec, &cb, &err), DSP_OK);
        for (size_t i = 0; i < n; i += step)
            assert_int_equal(dsp_field_stream_text(&f, reply + i, i + step <= n ? step : n - i), 0);
        /* The reasoning and the category are whole once the next header
         * line ends; the score only at the end of the reply. */
        assert_int_equal(s.fields[0], 1);
        assert_int_equal(s.fields[1], 2);
        assert_int_equal(dsp_field_stream_finish(&f, true, want, &err), DSP_OK);
        assert_int_equal(s.fields[2], 3);
        assert_string_equal(s.delta[0], "\nA double charge \xE2\x82\xAC is billing.\n[[ #not a header\n\n");
        assert_string_equal(s.delta[1], "\nbilling\n\n");
        assert_string_equal(s.delta[2], "\n7\n\n");
        for (int i = 0; i < 3; i++) {
            assert_true(dsp_value_equal(&s.values[i], &want[i]));
            dsp_value_free(&s.values[i]);
        }
        dsp_field_stream_free(&f);
    }
    dsp_values_free(want, 3);
}

static void test_a_field_callback_cancels(void **state)
{
    (void)state;
    dsp_prompt_spec spec = {&sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, NULL, 0};
    seen s;
    memset(&s, 0, sizeof s);
    s.cancel_on_field = 1;
    dsp_stream_callbacks cb = {on_delta, on_field, &s};
    dsp_field_stream f;
    dsp_error err = {0};
    assert_int_equal(dsp_field_stream_init(&f, "Classify.p", &spec, &cb, &err), DSP_OK);
    int rc = 0;
    for (size_t i = 0; i < strlen(reply) && !rc; i++)
        rc = dsp_field_stream_text(&f, reply + i, 1);
    assert_int_equal(rc, 1);
    assert_int_equal(s.n_fields, 1);
    assert_int_equal(dsp_field_stream_finish(&f, true, NULL, &err), DSP_ERR_CANCELLED);
    assert_non_null(strstr(err.message, "cancelled"));
    dsp_value_free(&s.values[0]);
    dsp_field_stream_free(&f);
}

/* A section that does not parse stops the fields from this reply; the
 * call's result (here, what a JSON fallback gave) hands on the rest. */
static void test_a_bad_section_leaves_the_rest_to_the_result(void **state)
{
    (void)state;
    static const char bad[] = "[[ ## category ## ]]\nnot a queue\n\n[[ ## score ## ]]\n3\n\n[[ ## completed ## ]]\n";
    dsp_prompt_spec spec = {&sig, DSP_STRATEGY_PREDICT, NULL, NULL, 0};
    seen s;
    memset(&s, 0, sizeof s);
    dsp_stream_callbacks cb = {NULL, on_field, &s};
    dsp_field_stream f;
    dsp_error err = {0};
    assert_int_equal(dsp_field_stream_init(&f, "Classify.p", &spec, &cb, &err), DSP_OK);
    assert_int_equal(dsp_field_stream_text(&f, bad, strlen(bad)), 0);
    assert_int_equal(s.n_fields, 0);
    dsp_value result[2] = {0};
    result[0] = dsp_value_enum(1);
    result[1] = dsp_value_int(5);
    assert_int_equal(dsp_field_stream_finish(&f, false, result, &err), DSP_OK);
    assert_int_equal(s.n_fields, 2);
    assert_true(dsp_value_equal(&s.values[0], &result[0]));
    assert_true(dsp_value_equal(&s.values[1], &result[1]));
    dsp_values_free(s.values, 2);
    dsp_field_stream_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_chunk_size_hands_on_the_parsed_fields),
        cmocka_unit_test(test_a_field_callback_cancels),
        cmocka_unit_test(test_a_bad_section_leaves_the_rest_to_the_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
