/* react_native.c — the react loop's steps with native tool calling
 * (dsp_lm_config.tool_calling NATIVE; docs/runtime.md, "Native tool
 * calling"). The LM gets the tools (and `finish`) as the API's tools and
 * answers each turn with a tool call; results go back as the API's tool
 * results. The trajectory text, the bounds and the error observations are
 * the text loop's, so the extract step, traces and bootstrapped demos do
 * not change.
 *
 * The conversation: a system message (the step's inputs and instructions),
 * each demo as a whole trajectory (its inputs, then its steps as assistant
 * tool calls and tool results, ending with its chosen call), then the
 * inputs, then this run's turns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_common.h"
#include "react_int.h"
#include "value_json.h"

#include <cjson/cJSON.h>

#define FINISH_DESC "Ends the task: call it once you have gathered what is needed to produce the outputs."

/* The tools as params.tools wants them, finish last. */
static char *native_tools_json(const dsp_react *r)
{
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i <= r->n_tools; i++) {
        const dsp_tool *t = i < r->n_tools ? &r->tools[i] : NULL;
        cJSON *o = cJSON_CreateObject(), *params = cJSON_CreateObject(), *props = cJSON_CreateObject(),
              *req = cJSON_CreateArray();
        ok = o && params && props && req;
        for (size_t k = 0; ok && t && k < t->n_params; k++) {
            cJSON *s = dsp_type_schema_cjson(t->params[k].type);
            ok = s != NULL;
            if (ok)
                cJSON_AddItemToObject(props, t->params[k].name, s);
            if (ok && t->params[k].type->kind != DSP_TYPE_OPTIONAL)
                ok = cJSON_AddItemToArray(req, cJSON_CreateString(t->params[k].name));
        }
        if (!ok) {
            cJSON_Delete(o);
            cJSON_Delete(params);
            cJSON_Delete(props);
            cJSON_Delete(req);
            break;
        }
        cJSON_AddStringToObject(o, "name", t ? t->name : "finish");
        const char *desc = t ? t->description : FINISH_DESC;
        if (desc && desc[0])
            cJSON_AddStringToObject(o, "description", desc);
        cJSON_AddStringToObject(params, "type", "object");
        cJSON_AddItemToObject(params, "properties", props);
        if (cJSON_GetArraySize(req))
            cJSON_AddItemToObject(params, "required", req);
        else
            cJSON_Delete(req);
        cJSON_AddFalseToObject(params, "additionalProperties");
        cJSON_AddItemToObject(o, "parameters", params);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = ok ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

/* One step of a trajectory text, borrowed from it. */
typedef struct tstep {
    const char *part[4]; /* thought, tool_name, tool_args, observation */
    size_t len[4];
} tstep;

static const char *const kinds[4] = { "thought", "tool_name", "tool_args", "observation" };

/* The steps of a trajectory in the text loop's block format ([[ ## thought_0
 * ## ]] ...); *n is one past the highest step index seen (at most max). */
static void parse_trajectory(const char *text, tstep *steps, size_t max, size_t *n)
{
    *n = 0;
    memset(steps, 0, max * sizeof *steps);
    const char *p = text ? strstr(text, "[[ ## ") : NULL;
    while (p) {
        const char *name = p + 6, *close = strstr(name, " ## ]]");
        if (!close)
            break;
        const char *val = close + 6;
        if (*val == '\n')
            val++;
        const char *next = strstr(val, "\n\n[[ ## ");
        size_t vlen = next ? (size_t)(next - val) : strlen(val);
        const char *us = close;
        while (us > name && us[-1] != '_')
            us--;
        char *end = NULL;
        unsigned long idx = us > name ? strtoul(us, &end, 10) : 0;
        if (us > name && end == close && idx < max) {
            for (int k = 0; k < 4; k++)
                if ((size_t)(us - 1 - name) == strlen(kinds[k]) && strncmp(name, kinds[k], strlen(kinds[k])) == 0) {
                    steps[idx].part[k] = val;
                    steps[idx].len[k] = vlen;
                    if (idx + 1 > *n)
                        *n = idx + 1;
                }
        }
        p = next ? next + 2 : NULL;
    }
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s ? s : "", s ? n : 0);
        d[s ? n : 0] = '\0';
    }
    return d;
}

/* An assistant turn with one call, then its result. */
static dsp_status push_step(dsp_messages *m, const char *thought, size_t tl, const char *id, const char *name,
                            size_t nl, const char *args, size_t al, const char *obs, size_t ol, bool is_error,
                            dsp_error *err)
{
    char *th = dup_n(thought, tl), *nm = dup_n(name, nl), *ar = args ? dup_n(args, al) : NULL, *ob = dup_n(obs, ol);
    dsp_status st = th && nm && ob && (ar || !args) ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    dsp_tool_call call = { (char *)id, nm, ar };
    if (st == DSP_OK)
        st = dsp_messages_push_tool_calls(m, th, &call, 1, err);
    if (st == DSP_OK)
        st = dsp_messages_push_tool_result(m, id, ob, is_error, err);
    free(th);
    free(nm);
    free(ar);
    free(ob);
    return st;
}

static bool is_error_observation(const char *obs)
{
    return strncmp(obs, "Error", 5) == 0 || strncmp(obs, "Execution error", 15) == 0;
}

/* A demo as a whole trajectory: its inputs, its steps, and its chosen call.
 * A chosen call other than finish has no known result, so a demo ends at
 * the last step whose result it holds. */
static dsp_status push_demo(dsp_messages *m, const dsp_prompt_spec *view, const dsp_predictor *step, size_t d,
                            dsp_error *err)
{
    const dsp_demo *demo = &view->demos[d];
    dsp_textbuf b;
    dsp_tb_init(&b);
    dsp_adapter_demo_input_blocks(&b, view, demo);
    dsp_status st = dsp_adapter_push(m, DSP_ROLE_USER, &b, err);
    size_t n_in = step->signature->n_inputs;
    const char *traj = demo->input_texts ? demo->input_texts[n_in - 1] : NULL;
    tstep steps[64];
    size_t n = 0;
    parse_trajectory(traj, steps, sizeof steps / sizeof steps[0], &n);
    char id[64];
    for (size_t k = 0; st == DSP_OK && k < n; k++) {
        if (!steps[k].part[1] || !steps[k].part[3])
            continue;
        snprintf(id, sizeof id, "call_demo%zu_%zu", d, k);
        st = push_step(m, steps[k].part[0], steps[k].len[0], id, steps[k].part[1], steps[k].len[1], steps[k].part[2],
                       steps[k].len[2], steps[k].part[3], steps[k].len[3], is_error_observation(steps[k].part[3]), err);
    }
    int it = dsp_react_output_index(step, "next_thought"), in = dsp_react_output_index(step, "next_tool_name"),
        ia = dsp_react_output_index(step, "next_tool_args");
    const char *name = demo->output_texts && in >= 0 ? demo->output_texts[in] : NULL;
    char *tool = name ? dsp_react_tool_name(name, strlen(name)) : NULL;
    if (st == DSP_OK && tool && strcmp(tool, "finish") == 0) {
        const char *th = it >= 0 ? demo->output_texts[it] : NULL, *ar = ia >= 0 ? demo->output_texts[ia] : NULL;
        snprintf(id, sizeof id, "call_demo%zu_%zu", d, n);
        st = push_step(m, th, th ? strlen(th) : 0, id, "finish", 6, ar ? ar : "{}", ar ? strlen(ar) : 2, "Completed.",
                       10, false, err);
    }
    free(tool);
    return st;
}

/* "Your input fields are:" and the objective, for the native conversation.
 * The step's default instructions tell a text loop to write
 * `next_tool_name` and `next_tool_args` and list the tools, which the API's
 * tools replace here: unless an optimizer rewrote them, the objective is
 * the signature's own instructions (the extract step's). */
static dsp_status push_system(dsp_messages *m, const dsp_react *r, const dsp_prompt_spec *view, dsp_error *err)
{
    const dsp_signature *sig = view->signature;
    dsp_textbuf b;
    dsp_tb_init(&b);
    dsp_tb_puts(&b, "Your input fields are:");
    for (size_t i = 0; i < sig->n_inputs; i++) {
        char tn[64];
        dsp_tb_printf(&b, "\n%zu. `%s` (%s):", i + 1, sig->inputs[i].name,
                      dsp_type_name(sig->inputs[i].type, tn, sizeof tn));
        if (sig->inputs[i].description && sig->inputs[i].description[0])
            dsp_tb_printf(&b, " %s", sig->inputs[i].description);
    }
    const char *ins = view->instructions && view->instructions[0] ? view->instructions : sig->instructions;
    if (ins == r->step->signature->instructions)
        ins = r->extract->signature->instructions;
    dsp_tb_puts(&b, "\n\nCall the tools to gather what you need, one call at a time: each result comes back to "
                    "you. Call `finish` once you have what is needed.");
    if (ins && ins[0]) {
        dsp_tb_puts(&b, "\n\nYour objective is: ");
        dsp_tb_puts(&b, ins);
    }
    return dsp_adapter_push(m, DSP_ROLE_SYSTEM, &b, err);
}

/* The step's outputs as the text loop would have parsed them, for the
 * observer (traces, bootstrapped demos). */
static dsp_status step_outputs(const dsp_predictor *step, dsp_value *out, const char *thought, const char *name,
                               const char *args, dsp_error *err)
{
    const char *names[3] = { "next_thought", "next_tool_name", "next_tool_args" };
    const char *vals[3] = { thought, name, args };
    for (int k = 0; k < 3; k++) {
        int i = dsp_react_output_index(step, names[k]);
        dsp_status st = dsp_value_set_string(&out[i], vals[k] ? vals[k] : "", vals[k] ? strlen(vals[k]) : 0, err);
        if (st != DSP_OK)
            return st;
    }
    return DSP_OK;
}

dsp_status dsp_react_native_steps(dsp_client *c, const dsp_react *r, const dsp_react_options *o, dsp_value *in,
                                  dsp_textbuf *traj, dsp_error *err)
{
    const dsp_predictor *step = r->step;
    const dsp_predict_options *po = o ? o->step_opts : NULL;
    const dsp_lm_config *lm = dsp_predict_lm_of(step, po);
    dsp_prompt_spec spec = dsp_prompt_spec_of(step, po);
    dsp_signature view = *step->signature;
    view.n_inputs--; /* without the trajectory, which the turns carry */
    spec.signature = &view;
    size_t n_in = step->signature->n_inputs, n_step = dsp_strategy_n_outputs(step->signature, step->strategy);
    size_t max_obs = r->max_observation ? r->max_observation : DSP_REACT_MAX_OBSERVATION;
    char *tools = native_tools_json(r);
    dsp_value *out = calloc(n_step + 1, sizeof *out);
    dsp_messages msgs;
    dsp_messages_init(&msgs);
    dsp_status st = tools && out ? dsp_adapter_check(&spec, in, err) : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    if (st == DSP_OK)
        st = push_system(&msgs, r, &spec, err);
    for (size_t d = 0; st == DSP_OK && d < spec.n_demos; d++)
        st = push_demo(&msgs, &spec, step, d, err);
    if (st == DSP_OK) {
        dsp_textbuf b;
        dsp_tb_init(&b);
        st = dsp_adapter_input_blocks(&b, &spec, in, err);
        if (st == DSP_OK)
            st = dsp_adapter_push(&msgs, DSP_ROLE_USER, &b, err);
        else
            dsp_tb_free(&b);
    }
    size_t idx = 0; /* the trajectory's step number: one per tool call */
    bool finished = false;
    for (int it = 0; st == DSP_OK && !finished && it < r->max_iters; it++) {
        dsp_chat_request req = dsp_predict_request_of(step, po);
        req.params.tools = tools;
        req.messages = msgs.items;
        req.n_messages = msgs.len;
        dsp_chat_response resp;
        memset(&resp, 0, sizeof resp);
        dsp_predict_trace tr;
        dsp_predict_trace_init(&tr);
        in[n_in - 1].kind = DSP_TYPE_STRING;
        in[n_in - 1].as.s.data = traj->len ? traj->data : NULL;
        in[n_in - 1].as.s.len = traj->len;
        st = dsp_chat(c, lm, &req, &resp, err);
        tr.usage = resp.usage;
        tr.cache_hit = resp.cache_hit;
        const char *thought = st == DSP_OK && resp.n_choices ? resp.choices[0] : "";
        /* A turn without a tool call is the model's answer: as finish. */
        dsp_tool_call none = { NULL, (char *)"finish", NULL };
        size_t n_calls = st != DSP_OK ? 0 : resp.n_tool_calls ? resp.n_tool_calls : 1;
        const dsp_tool_call *calls = resp.n_tool_calls ? resp.tool_calls : &none;
        dsp_tool_call *sent = n_calls ? calloc(n_calls, sizeof *sent) : NULL;
        char **obs = n_calls ? calloc(n_calls, sizeof *obs) : NULL;
        if (n_calls && (!sent || !obs))
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        for (size_t k = 0; st == DSP_OK && k < n_calls; k++) {
            const dsp_tool_call *tc = &calls[k];
            char synth[64];
            snprintf(synth, sizeof synth, "call_%d_%zu", it, k);
            char *tool = dsp_react_tool_name(tc->name, tc->name ? strlen(tc->name) : 0);
            sent[k].id = strdup(tc->id && tc->id[0] ? tc->id : synth);
            sent[k].name = strdup(tc->name ? tc->name : "");
            sent[k].arguments = tc->arguments ? strdup(tc->arguments) : NULL;
            if (!tool || !sent[k].id || !sent[k].name || (tc->arguments && !sent[k].arguments)) {
                free(tool);
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
                break;
            }
            const char *args = tc->arguments ? tc->arguments : "{}";
            if (resp.n_tool_calls && !(tc->id && tc->id[0])) {
                /* The API requires an id to answer a call by: without one the
                 * call is not run, and the model hears why. */
                dsp_textbuf e;
                dsp_tb_init(&e);
                dsp_tb_printf(&e, "Error: the call of tool `%s` had no id, so it was not run. Call the tool again.",
                              tool);
                obs[k] = dsp_tb_take(&e, NULL);
            } else if (strcmp(tool, "finish") == 0) {
                obs[k] = strdup("Completed.");
                finished = true;
            } else {
                obs[k] = dsp_react_act(r, o, tool, args, strlen(args));
            }
            obs[k] = dsp_react_truncate(obs[k], max_obs);
            if (!obs[k]) {
                free(tool);
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
                break;
            }
            /* The step as the text loop records it, for the observer. */
            in[n_in - 1].kind = DSP_TYPE_STRING;
            in[n_in - 1].as.s.data = traj->len ? traj->data : NULL;
            in[n_in - 1].as.s.len = traj->len;
            dsp_status ost = step_outputs(step, out, k ? "" : thought, tool, args, err);
            if (ost == DSP_OK)
                ost = dsp_react_notify(o, step, DSP_OK, in, out, &tr, err);
            if (ost == DSP_OK)
                dsp_values_free(out, n_step);
            memset(&tr.usage, 0, sizeof tr.usage); /* counted once, with the turn's first call */
            dsp_react_put_block(traj, "thought", idx, k ? "" : thought, k ? 0 : strlen(thought));
            dsp_react_put_block(traj, "tool_name", idx, tool, strlen(tool));
            dsp_react_put_block(traj, "tool_args", idx, args, strlen(args));
            dsp_react_put_block(traj, "observation", idx, obs[k], strlen(obs[k]));
            idx++;
            free(tool);
            if (ost != DSP_OK)
                st = ost;
            else if (!dsp_tb_ok(traj))
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        }
        if (st == DSP_OK)
            st = dsp_messages_push_tool_calls(&msgs, thought, sent, n_calls, err);
        for (size_t k = 0; st == DSP_OK && k < n_calls; k++)
            st = dsp_messages_push_tool_result(&msgs, sent[k].id, obs[k], is_error_observation(obs[k]), err);
        if (st != DSP_OK && st != DSP_ERR_NOMEM && n_calls == 0)
            st = dsp_react_notify(o, step, st, in, NULL, &tr, err);
        for (size_t k = 0; obs && k < n_calls; k++)
            free(obs[k]);
        free(obs);
        dsp_tool_calls_free(sent, n_calls);
        dsp_chat_response_free(&resp);
        dsp_predict_trace_free(&tr);
    }
    dsp_messages_free(&msgs);
    free(out);
    free(tools);
    return st;
}
