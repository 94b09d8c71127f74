/* test_prompt_prefix.c — a prompt's fixed part rendered once per client:
 * the prefix's messages plus a call's final message are the messages
 * dsp_chat_adapter_render writes, and the request bodies built from them
 * (with the prefix's JSON copied) are the same bytes; a prefix is found by
 * content, so one predictor struct reused for other instructions gets its
 * own; a prefix evicted while held stays valid until released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/client.h"
#include "../../runtime/src/prompt_prefix.h"

static const char *const queues[] = { "billing", "account", "orders", "general" };
static const dsp_type queue_t = { .kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 4 };
static const dsp_type tags_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_string };
static const dsp_field ticket_in[] = { { "ticket_text", &dsp_type_string, "Raw text of the \"customer\" ticket\n\ttab" },
                                       { "priority", &dsp_type_int, NULL } };
static const dsp_field ticket_out[] = { { "category", &queue_t, "One of the four queues" },
                                        { "tags", &tags_t, "" } };
static const dsp_signature ticket_sig = { "ClassifyTicket", "Classify a ticket.\nBe brief.", ticket_in, 2,
                                          ticket_out, 2 };
static const char *const demo_in[] = { "I can't log in \xc3\xa9 after resetting.", "2" };
static const char *const demo_out[] = { "A login problem.", "account", "[\"login\"]" };
static const dsp_demo demos[] = { { demo_in, demo_out }, { demo_in, demo_out } };
static const dsp_field none_in[1] = { { "unused", &dsp_type_string, NULL } };
static const dsp_signature no_inputs_sig = { "Joke", NULL, none_in, 0, ticket_out, 1 };

static void set_inputs(dsp_value in[2], const char *text, long long prio)
{
    memset(in, 0, 2 * sizeof *in);
    dsp_error err = { 0 };
    assert_int_equal(dsp_value_set_string(&in[0], text, strlen(text), &err), DSP_OK);
    in[1].kind = DSP_TYPE_INT;
    in[1].as.i = prio;
}

static char *body_of(const char *model, const dsp_message *msgs, size_t n)
{
    dsp_lm_config lm = { .model = model, .base_url = "http://127.0.0.1:1/v1", .params = dsp_lm_params_default() };
    dsp_chat_request req = { .messages = msgs, .n_messages = n, .params = dsp_lm_params_default() };
    char *body = NULL;
    dsp_error err = { 0 };
    assert_int_equal(dsp_chat_request_body(&lm, &req, &body, &err), DSP_OK);
    return body;
}

/* The prefix's messages and the final one against a whole render, as
 * messages and as the bodies of every provider. */
static void check_same(dsp_prefix_memo *m, const dsp_prompt_spec *spec, const dsp_value *in)
{
    dsp_error err = { 0 };
    dsp_messages whole;
    dsp_messages_init(&whole);
    assert_int_equal(dsp_chat_adapter_render(spec, in, &whole, &err), DSP_OK);

    dsp_prompt_prefix *p = dsp_prefix_get(m, &dsp_chat_adapter_style, spec);
    assert_non_null(p);
    dsp_messages last;
    dsp_messages_init(&last);
    assert_int_equal(dsp_prefix_render_final(p, spec, in, &last, &err), DSP_OK);
    size_t n_pre;
    const dsp_message *fixed = dsp_prefix_messages(p, &n_pre);
    assert_int_equal(last.len, 1);
    assert_int_equal(n_pre + 1, whole.len);
    dsp_message wire[8];
    assert_true(n_pre + 1 <= 8);
    memcpy(wire, fixed, n_pre * sizeof *wire);
    wire[n_pre] = last.items[0];
    for (size_t i = 0; i < whole.len; i++) {
        assert_int_equal(wire[i].role, whole.items[i].role);
        assert_string_equal(wire[i].content, whole.items[i].content);
        if (i < n_pre)
            assert_non_null(wire[i].content_json);
    }
    static const char *const models[] = { "openai/m", "anthropic/m", "gemini/m", "bedrock/m" };
    for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
        char *a = body_of(models[k], whole.items, whole.len);
        char *b = body_of(models[k], wire, whole.len);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    dsp_messages_free(&last);
    dsp_messages_free(&whole);
    dsp_prefix_release(m, p);
}

static void test_prefix_renders_what_a_whole_render_does(void **state)
{
    (void)state;
    dsp_prefix_memo *m = dsp_prefix_memo_new();
    assert_non_null(m);
    dsp_value in[2];
    set_inputs(in, "Charged \"twice\"\nplease \xe2\x82\xac refund", 3);
    dsp_prompt_spec cot = { &ticket_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, demos, 2 };
    check_same(m, &cot, in);
    dsp_prompt_spec plain = { &ticket_sig, DSP_STRATEGY_PREDICT, "Other instructions.", NULL, 0 };
    check_same(m, &plain, in);
    /* A second call of each finds its prefix and renders the same. */
    dsp_values_free(in, 2);
    set_inputs(in, "Another ticket", 1);
    check_same(m, &cot, in);
    check_same(m, &plain, in);
    dsp_prompt_spec none = { &no_inputs_sig, DSP_STRATEGY_PREDICT, NULL, NULL, 0 };
    check_same(m, &none, NULL);
    dsp_values_free(in, 2);
    dsp_prefix_memo_free(m);
}

static void test_prefix_found_by_content_not_address(void **state)
{
    (void)state;
    dsp_prefix_memo *m = dsp_prefix_memo_new();
    char instructions[64];
    strcpy(instructions, "First instructions.");
    dsp_prompt_spec spec = { &ticket_sig, DSP_STRATEGY_PREDICT, instructions, NULL, 0 };
    dsp_prompt_prefix *a = dsp_prefix_get(m, &dsp_chat_adapter_style, &spec);
    /* An equal spec elsewhere in memory finds the same prefix. */
    dsp_signature copy = ticket_sig;
    char same[64];
    strcpy(same, instructions);
    dsp_prompt_spec other = { &copy, DSP_STRATEGY_PREDICT, same, NULL, 0 };
    dsp_prompt_prefix *b = dsp_prefix_get(m, &dsp_chat_adapter_style, &other);
    assert_ptr_equal(a, b);
    /* The same struct and buffer, other text: another prefix. */
    strcpy(instructions, "Second instructions.");
    dsp_prompt_prefix *c = dsp_prefix_get(m, &dsp_chat_adapter_style, &spec);
    assert_ptr_not_equal(a, c);
    size_t n;
    assert_non_null(strstr(dsp_prefix_messages(c, &n)[0].content, "Second instructions."));
    assert_null(strstr(dsp_prefix_messages(a, &n)[0].content, "Second instructions."));
    /* Another strategy or adapter: another prefix. */
    spec.strategy = DSP_STRATEGY_CHAIN_OF_THOUGHT;
    dsp_prompt_prefix *d = dsp_prefix_get(m, &dsp_chat_adapter_style, &spec);
    dsp_prompt_prefix *e = dsp_prefix_get(m, &dsp_json_adapter_style, &spec);
    assert_ptr_not_equal(c, d);
    assert_ptr_not_equal(d, e);
    dsp_prompt_prefix *held[] = { a, b, c, d, e };
    for (size_t i = 0; i < 5; i++)
        dsp_prefix_release(m, held[i]);
    dsp_prefix_memo_free(m);
}

static void test_prefix_held_outlives_eviction(void **state)
{
    (void)state;
    dsp_prefix_memo *m = dsp_prefix_memo_new();
    char instructions[32];
    dsp_prompt_spec spec = { &ticket_sig, DSP_STRATEGY_PREDICT, instructions, NULL, 0 };
    snprintf(instructions, sizeof instructions, "Prompt 0.");
    dsp_prompt_prefix *first = dsp_prefix_get(m, &dsp_chat_adapter_style, &spec);
    for (int i = 1; i < 100; i++) {
        snprintf(instructions, sizeof instructions, "Prompt %d.", i);
        dsp_prefix_release(m, dsp_prefix_get(m, &dsp_chat_adapter_style, &spec));
    }
    size_t n;
    assert_non_null(strstr(dsp_prefix_messages(first, &n)[0].content, "Prompt 0."));
    dsp_prefix_release(m, first); /* the last reference: freed (ASan checks) */
    dsp_prefix_memo_free(m);
}

static void test_bad_spec_gets_no_prefix(void **state)
{
    (void)state;
    dsp_prefix_memo *m = dsp_prefix_memo_new();
    static const dsp_demo half[] = { { demo_in, NULL } };
    dsp_prompt_spec spec = { &ticket_sig, DSP_STRATEGY_PREDICT, NULL, half, 1 };
    assert_null(dsp_prefix_get(m, &dsp_chat_adapter_style, &spec));
    assert_null(dsp_prefix_get(NULL, &dsp_chat_adapter_style, &spec));
    dsp_prefix_memo_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_renders_what_a_whole_render_does),
        cmocka_unit_test(test_prefix_found_by_content_not_address),
        cmocka_unit_test(test_prefix_held_outlives_eviction),
        cmocka_unit_test(test_bad_spec_gets_no_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
