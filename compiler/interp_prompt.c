/* interp_prompt.c — the prompt a predictor call would send, without
 * sending it: the inputs its call site binds from the module's parameters
 * (or literals) are filled in, those that come from earlier steps are
 * placeholders, and the messages are rendered by the runtime's chat
 * adapter, as dsp_predict renders them (`dspcc prompt`). */
#include "interp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether step st calls ip: a predict step, or a react or
 * multi_chain_comparison site whose parts ip is (their bindings bind the
 * signature's inputs, which those parts take too). */
static int calls(const ir_step *st, const ir_predictor *ip)
{
    return (st->kind == IR_STEP_PREDICT && st->predictor == ip) ||
           (st->kind == IR_STEP_REACT && (st->react->step == ip || st->react->extract == ip)) ||
           (st->kind == IR_STEP_MCC && (st->mcc->attempt == ip || st->mcc->compare == ip));
}

/* The first step of ip in steps (depth first, in source order). */
static const ir_step *find_call(const ir_step *steps, size_t n, const ir_predictor *ip)
{
    for (size_t i = 0; i < n; i++) {
        const ir_step *st = &steps[i];
        if (calls(st, ip))
            return st;
        const ir_step *in = NULL;
        if (st->kind == IR_STEP_REPEAT || st->kind == IR_STEP_IF)
            in = find_call(st->body, st->n_body, ip);
        if (!in && st->kind == IR_STEP_IF)
            in = find_call(st->else_body, st->n_else, ip);
        if (in)
            return in;
    }
    return NULL;
}

const ir_step *ex_prompt_call_site(const ir_step *steps, size_t n, const ir_predictor *ip)
{
    return find_call(steps, n, ip);
}

static int param_index(const ir_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The adapter text of one input: from a literal, or from a parameter of the
 * module whose values are known; else NULL (a placeholder). */
static dsp_status input_text(const ir_module *m, const dsp_value *params, const ir_binding *b, const ir_field *to,
                             const dsp_type *rt, char **out, dsp_error *err)
{
    *out = NULL;
    dsp_value tmp = { 0 }, conv = { 0 };
    const dsp_value *src = NULL;
    const ir_type *from = b->value.type;
    dsp_status rc = DSP_OK;
    if (b->value.kind == IR_VAL_PARAM) {
        int pi = params ? param_index(m, b->value.name) : -1;
        if (pi < 0)
            return DSP_OK;
        src = &params[pi];
        from = m->params[pi].type;
        if (b->value.n_path) /* `ticket.body`: a field of a record parameter */
            src = it_value_at(src, from, b->value.path, b->value.n_path, &from);
        if (!src)
            return DSP_OK; /* an absent optional on the way: a placeholder */
    } else if (b->value.kind == IR_VAL_VAR || b->value.kind == IR_VAL_FIELD) {
        return DSP_OK;
    } else {
        rc = it_literal(&b->value, &tmp, err);
        src = &tmp;
    }
    if (rc == DSP_OK)
        rc = it_convert(src, from, to->type, &conv, err);
    if (rc == DSP_OK)
        rc = dsp_value_format(&conv, rt, out, NULL, err);
    dsp_value_free(&tmp);
    dsp_value_free(&conv);
    return rc;
}

dsp_status ex_prompt_render(const ex_runner *r, const ex_config *cfg, const ir_predictor *ip,
                            const dsp_value *params, ex_prompt *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_messages_init(&out->messages);
    const dsp_predictor *p = ex_runner_predictor(r, ip);
    if (!p)
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: predictor `%s` has no runtime descriptor", ip->name);
    const ir_module *m = ir_module_find(r->prog, ip->module);
    const ir_step *st = m ? find_call(m->steps, m->n_steps, ip) : NULL;
    /* Parameters are known for the module being run only; a callee's are
     * bound from its caller's steps. */
    const dsp_value *known = m == r->module ? params : NULL;
    const ir_signature *sig = ip->signature;
    char **texts = calloc(sig->n_inputs + 1, sizeof *texts);
    out->placeholders = calloc(sig->n_inputs + 1, sizeof *out->placeholders);
    if (!texts || !out->placeholders) {
        free(texts);
        free(out->placeholders);
        out->placeholders = NULL;
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    out->site = st;
    dsp_status rc = DSP_OK;
    for (size_t i = 0; i < sig->n_inputs && rc == DSP_OK; i++) {
        const ir_binding *b = NULL;
        for (size_t k = 0; st && k < st->n_bindings && !b; k++)
            if (strcmp(st->bindings[k].field, sig->inputs[i].name) == 0)
                b = &st->bindings[k];
        if (b)
            rc = input_text(m, known, b, &sig->inputs[i], p->signature->inputs[i].type, &texts[i], err);
        if (rc == DSP_OK && !texts[i]) {
            size_t n = strlen(sig->inputs[i].name) + 3;
            texts[i] = malloc(n);
            if (!texts[i])
                rc = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
            else
                snprintf(texts[i], n, "{%s}", sig->inputs[i].name);
            out->placeholders[out->n_placeholders++] = (ex_placeholder){ sig->inputs[i].name, b };
        }
    }
    dsp_predict_options o = it_predict_options(r, cfg, ip);
    /* knn_fewshot: the demos are the input's nearest pool rows, which one
     * embeddings call finds; with an input not known, none are shown. */
    dsp_demo *chosen = NULL;
    if (rc == DSP_OK && o.knn && o.knn->k > 0) {
        o.override_demos = true;
        o.n_demos = 0;
        if (!out->n_placeholders) {
            chosen = calloc(o.knn->k, sizeof *chosen);
            rc = chosen ? dsp_knn_choose_texts(r->client, o.knn, p->name, p->signature, (const char *const *)texts,
                                               chosen, &o.n_demos, err)
                        : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
            o.demos = chosen;
        }
    }
    dsp_prompt_spec spec = dsp_prompt_spec_of(p, &o);
    /* As dsp_predict's first round: the lm's adapter; the JSON one sends
     * its schema for the provider to enforce. */
    int json = dsp_predict_adapter_of(p, &o) == DSP_ADAPTER_JSON;
    if (rc == DSP_OK)
        rc = json ? dsp_json_adapter_render_texts(&spec, (const char *const *)texts, &out->messages, err)
                  : dsp_chat_adapter_render_texts(&spec, (const char *const *)texts, &out->messages, err);
    if (rc == DSP_OK && json)
        rc = dsp_json_adapter_schema(&spec, &out->schema, err);
    if (rc == DSP_OK) {
        out->lm = dsp_predict_lm_of(p, &o);
        out->request = dsp_predict_request_of(p, &o);
        out->request.messages = out->messages.items;
        out->request.n_messages = out->messages.len;
        if (json) {
            out->request.params.json_schema = out->schema;
            out->request.params.json_strict = dsp_json_adapter_strict_ok(&spec);
        }
    }
    for (size_t i = 0; i < sig->n_inputs; i++)
        free(texts[i]);
    free(texts);
    free(chosen);
    if (rc != DSP_OK)
        ex_prompt_free(out);
    return rc;
}

void ex_prompt_free(ex_prompt *pr)
{
    dsp_messages_free(&pr->messages);
    free(pr->schema);
    free(pr->placeholders);
    memset(pr, 0, sizeof *pr);
}
