/* test_opt_finetune_data.c — a teacher's predictor call as a fine-tuning
 * example: the system and user messages are exactly what the chat adapter
 * sends for that call at run time (no demos), the assistant turn is the
 * outputs in the adapter's format, and the JSONL line is OpenAI's chat
 * fine-tuning format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "opt_finetune.h"

static const char *const k_categories[] = { "billing", "account" };
static const dsp_type k_category = { .kind = DSP_TYPE_ENUM, .enum_values = k_categories, .n_enum_values = 2 };
static const dsp_field k_in[] = {
    { "ticket_text", &dsp_type_string, "The ticket" },
    { "priority", &dsp_type_int, NULL },
};
static const dsp_field k_out[] = { { "category", &k_category, NULL } };
static const dsp_signature k_sig = { "Classify", "Classify the ticket.", k_in, 2, k_out, 1 };
static const dsp_predictor k_pred = { "M.r", &k_sig, DSP_STRATEGY_CHAIN_OF_THOUGHT, NULL, 0, NULL };

/* Texts as a trace holds them: the string keeps its spaces and newline. */
static const char *const k_inputs[] = { "  charged twice\nplease refund ", "3" };
static const char *const k_outputs[] = { "A duplicate charge.", "billing" };
static const opt_demo k_call = { k_inputs, 2, k_outputs, 2, 0, 1 };

static void messages_are_what_the_adapter_sends_at_run_time(void **state)
{
    (void)state;
    const char *instr = "Route the ticket.";
    dsp_messages m;
    dsp_messages_init(&m);
    assert_int_equal(opt_ft_messages(&k_pred, instr, &k_call, &m, NULL), DSP_OK);
    assert_int_equal(m.len, 3);
    assert_int_equal(m.items[0].role, DSP_ROLE_SYSTEM);
    assert_int_equal(m.items[1].role, DSP_ROLE_USER);
    assert_int_equal(m.items[2].role, DSP_ROLE_ASSISTANT);

    /* The run-time call: the same instructions, no demos, typed inputs. */
    dsp_value in[2] = { { 0 } };
    assert_int_equal(dsp_value_set_string(&in[0], k_inputs[0], strlen(k_inputs[0]), NULL), DSP_OK);
    in[1] = dsp_value_int(3);
    dsp_predict_options po = dsp_predict_options_default();
    po.instructions = instr;
    po.override_demos = true;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&k_pred, &po);
    dsp_messages run;
    dsp_messages_init(&run);
    assert_int_equal(dsp_chat_adapter_render(&spec, in, &run, NULL), DSP_OK);
    assert_int_equal(run.len, 2);
    assert_string_equal(m.items[0].content, run.items[0].content);
    assert_string_equal(m.items[1].content, run.items[1].content);
    assert_non_null(strstr(m.items[0].content, "Route the ticket."));
    assert_non_null(strstr(m.items[1].content, "[[ ## ticket_text ## ]]\n  charged twice\nplease refund \n"));

    /* The answer, in the format the adapter parses (reasoning first). */
    assert_string_equal(m.items[2].content, "[[ ## reasoning ## ]]\nA duplicate charge.\n\n"
                                            "[[ ## category ## ]]\nbilling\n\n"
                                            "[[ ## completed ## ]]");
    dsp_value out[2] = { { 0 } };
    assert_int_equal(dsp_chat_adapter_parse(&spec, m.items[2].content, strlen(m.items[2].content), out, NULL),
                     DSP_OK);
    assert_string_equal(dsp_value_cstr(&out[0]), "A duplicate charge.");
    assert_int_equal(out[1].as.e, 0);
    dsp_values_free(out, 2);
    dsp_values_free(in, 2);
    dsp_messages_free(&run);
    dsp_messages_free(&m);
}

static void the_jsonl_line_is_openais_chat_format(void **state)
{
    (void)state;
    /* A one-input Predict signature keeps the expected line short. */
    static const dsp_field in[] = { { "q", &dsp_type_string, NULL } };
    static const dsp_field out[] = { { "a", &dsp_type_int, NULL } };
    static const dsp_signature sig = { "Q", NULL, in, 1, out, 1 };
    static const dsp_predictor pred = { "M.q", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL };
    static const char *const ins[] = { "1+1" };
    static const char *const outs[] = { "2" };
    const opt_demo call = { ins, 1, outs, 1, 0, 1 };
    char *line = NULL;
    dsp_error err = { 0 };
    assert_int_equal(opt_ft_example(&pred, NULL, &call, &line, &err), DSP_OK);
    assert_string_equal(
        line,
        "{\"messages\":[{\"role\":\"system\",\"content\":\"Your input fields are:\\n1. `q` (string):\\nYour output "
        "fields are:\\n1. `a` (int):\\n\\nAll interactions will be structured in the following way, with the "
        "appropriate values filled in.\\n\\n[[ ## q ## ]]\\n{q}\\n\\n[[ ## a ## ]]\\n{a}        # note: the value "
        "you produce must be a single int value\\n\\n[[ ## completed ## ]]\\nIn adhering to this structure, your "
        "objective is: \\n        Given the fields `q`, produce the fields `a`.\"},{\"role\":\"user\",\"content\":"
        "\"[[ ## q ## ]]\\n1+1\\n\\nRespond with the corresponding output fields, starting with the field `[[ ## a "
        "## ]]` (must be formatted as a valid int), and then ending with the marker for `[[ ## completed ## "
        "]]`.\"},{\"role\":\"assistant\",\"content\":\"[[ ## a ## ]]\\n2\\n\\n[[ ## completed ## ]]\"}]}");
    free(line);
}

static void a_partial_call_is_refused(void **state)
{
    (void)state;
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_error err = { 0 };
    const char *outs[] = { "why", NULL };
    opt_demo call = k_call;
    call.outputs = outs;
    assert_int_equal(opt_ft_messages(&k_pred, NULL, &call, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "lacks its output `category`"));
    const char *ins[] = { "text", "not a number" };
    call = k_call;
    call.inputs = ins;
    assert_int_equal(opt_ft_messages(&k_pred, NULL, &call, &m, &err), DSP_ERR_PARSE);
    call = k_call;
    call.n_outputs = 1;
    assert_int_equal(opt_ft_messages(&k_pred, NULL, &call, &m, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "1 outputs"));
    assert_int_equal(m.len, 0);
    dsp_messages_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages_are_what_the_adapter_sends_at_run_time),
        cmocka_unit_test(the_jsonl_line_is_openais_chat_format),
        cmocka_unit_test(a_partial_call_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
