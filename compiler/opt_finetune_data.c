/* opt_finetune_data.c — a teacher's predictor call as a fine-tuning
 * example (see opt_finetune.h). */
#include "opt_finetune.h"

#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/finetune.h"
#include "dsp/predict.h"
#include "dsp/value.h"

/* The value whose adapter text is text. Strings are taken as they are
 * (the parser would trim them, and the rendered prompt must be the one the
 * call sent); other types have one canonical text, which parses back. */
static dsp_status value_of_text(const dsp_type *t, const char *text, dsp_value *out, dsp_error *err)
{
    size_t len = strlen(text);
    if (t->kind == DSP_TYPE_STRING)
        return dsp_value_set_string(out, text, len, err);
    if (t->kind == DSP_TYPE_OPTIONAL && t->elem->kind == DSP_TYPE_STRING && strcmp(text, "None") != 0) {
        dsp_value inner = { 0 };
        dsp_status st = dsp_value_set_string(&inner, text, len, err);
        return st == DSP_OK ? dsp_value_some(out, &inner, err) : st;
    }
    return dsp_value_parse(t, text, len, out, err);
}

dsp_status opt_ft_messages(const dsp_predictor *p, const char *instructions, const opt_demo *call, dsp_messages *out,
                           dsp_error *err)
{
    const dsp_signature *sig = p->signature;
    size_t n_out = dsp_strategy_n_outputs(sig, p->strategy);
    if (call->n_inputs != sig->n_inputs || call->n_outputs != n_out)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "fine-tuning data: a call of `%s` has %zu inputs and %zu outputs where it takes %zu and %zu",
                             p->name, call->n_inputs, call->n_outputs, sig->n_inputs, n_out);
    for (size_t i = 0; i < n_out; i++)
        if (!call->outputs[i])
            return dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning data: a call of `%s` lacks its output `%s`",
                                 p->name, dsp_strategy_output(sig, p->strategy, i)->name);
    dsp_value *in = calloc(sig->n_inputs + 1, sizeof *in);
    if (!in)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < sig->n_inputs && st == DSP_OK; i++) {
        if (!call->inputs[i])
            st = dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning data: a call of `%s` lacks its input `%s`", p->name,
                               sig->inputs[i].name);
        else
            st = value_of_text(sig->inputs[i].type, call->inputs[i], &in[i], err);
    }
    /* The call itself as the one demo: the adapter then writes the
     * assistant turn of exactly these outputs, and the final user message
     * holds the same inputs as at run time. */
    dsp_demo demo = { call->inputs, call->outputs };
    dsp_predict_options po = dsp_predict_options_default();
    po.instructions = instructions;
    po.override_demos = true;
    po.demos = &demo;
    po.n_demos = 1;
    dsp_prompt_spec spec = dsp_prompt_spec_of(p, &po);
    dsp_messages all;
    dsp_messages_init(&all);
    if (st == DSP_OK)
        st = dsp_chat_adapter_render(&spec, in, &all, err);
    if (st == DSP_OK && all.len != 4)
        st = dsp_error_set(err, DSP_ERR_INVALID, "fine-tuning data: the chat adapter wrote %zu messages, not 4",
                           all.len);
    /* system, demo user, demo assistant, final user -> system, user, assistant */
    static const size_t order[] = { 0, 3, 2 };
    for (size_t i = 0; i < 3 && st == DSP_OK; i++) {
        const dsp_message *m = &all.items[order[i]];
        st = dsp_messages_push(out, m->role, m->content, strlen(m->content), err);
    }
    dsp_messages_free(&all);
    dsp_values_free(in, sig->n_inputs);
    free(in);
    return st;
}

dsp_status opt_ft_example(const dsp_predictor *p, const char *instructions, const opt_demo *call, char **line,
                          dsp_error *err)
{
    *line = NULL;
    dsp_messages m;
    dsp_messages_init(&m);
    dsp_status st = opt_ft_messages(p, instructions, call, &m, err);
    if (st == DSP_OK)
        st = dsp_finetune_example_json(m.items, m.len, line, err);
    dsp_messages_free(&m);
    return st;
}
