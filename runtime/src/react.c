/* react.c — the agent loop of dsp/react.h: step, check the arguments, call
 * the tool, observe; then extract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/react.h"
#include "react_int.h"
#include "textbuf.h"
#include "value_json.h"

char *dsp_tool_args_schema(const dsp_tool *t)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < t->n_params; i++) {
        cJSON *s = dsp_type_schema_cjson(t->params[i].type);
        if (!s) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, t->params[i].name, s);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* "`query` must be ..." into *problem, with what the tool takes. */
static dsp_status misfit(const dsp_tool *t, char **problem, const char *fmt, const char *a, const char *b)
{
    char head[600];
    snprintf(head, sizeof head, fmt, a, b);
    char *schema = dsp_tool_args_schema(t);
    dsp_textbuf tb;
    dsp_tb_init(&tb);
    dsp_tb_printf(&tb, "Error: the arguments do not fit tool `%s`: %s. It takes %s", t->name, head,
                  schema ? schema : "(out of memory)");
    free(schema);
    *problem = dsp_tb_take(&tb, NULL);
    return DSP_ERR_PARSE;
}

dsp_status dsp_tool_bind_args(const dsp_tool *t, const char *json, size_t len, dsp_value *args, char **problem)
{
    *problem = NULL;
    size_t b = 0, e = len;
    while (b < e && strchr(" \t\r\n", json[b]))
        b++;
    while (e > b && strchr(" \t\r\n", json[e - 1]))
        e--;
    cJSON *obj = b == e ? cJSON_CreateObject() : cJSON_ParseWithLength(json + b, e - b);
    if (!obj || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        char got[80];
        dsp_quote_excerpt(json + b, e - b, 60, got, sizeof got);
        return misfit(t, problem, "they must be a JSON object, not `%s`%s", got, "");
    }
    dsp_status st = DSP_OK;
    for (const cJSON *m = obj->child; m && st == DSP_OK; m = m->next) {
        size_t k = 0;
        while (k < t->n_params && strcmp(t->params[k].name, m->string ? m->string : "") != 0)
            k++;
        if (k == t->n_params)
            st = misfit(t, problem, "it has no parameter `%s`%s", m->string ? m->string : "", "");
    }
    size_t done = 0;
    for (; done < t->n_params && st == DSP_OK; done++) {
        const dsp_field *p = &t->params[done];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, p->name);
        if (!v) {
            if (p->type->kind == DSP_TYPE_OPTIONAL) {
                args[done] = dsp_value_none();
                continue;
            }
            st = misfit(t, problem, "`%s` is missing%s", p->name, "");
            break;
        }
        dsp_error verr = { 0 };
        if (dsp_value_from_cjson(p->type, v, &args[done], &verr) != DSP_OK) {
            char tn[64];
            if (verr.path_len > 0 && verr.path_len < strlen(verr.message)) {
                /* Deep inside a record or list argument: name the path
                 * (`near.lat`: missing, ...), as a reply's parse error does. */
                char where[300];
                const char *rest = verr.message + verr.path_len;
                rest += strspn(rest, ": ");
                snprintf(where, sizeof where, "`%s%.*s`: ", p->name, (int)verr.path_len, verr.message);
                st = misfit(t, problem, "%s%s", where, rest);
            } else {
                st = misfit(t, problem, "`%s` must be %s", p->name, dsp_type_name(p->type, tn, sizeof tn));
            }
            dsp_error_clear(&verr);
            break;
        }
    }
    cJSON_Delete(obj);
    if (st != DSP_OK)
        dsp_values_free(args, done);
    return st;
}

char *dsp_tool_observation(const dsp_tool *t, const dsp_value *results)
{
    if (t->n_results == 1) {
        char *text = NULL;
        if (dsp_value_format(&results[0], t->results[0].type, &text, NULL, NULL) != DSP_OK)
            return NULL;
        return text;
    }
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < t->n_results; i++) {
        cJSON *v = dsp_value_to_cjson(&results[i], t->results[i].type, NULL);
        if (!v) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, t->results[i].name, v);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

char *dsp_react_truncate(char *text, size_t max)
{
    if (!text)
        return NULL;
    size_t n = strlen(text);
    if (n <= max)
        return text;
    size_t cut = max;
    /* Back up over UTF-8 continuation bytes so no character is split. */
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    char note[120];
    int nl = snprintf(note, sizeof note, "\n[... observation truncated: the first %zu of %zu bytes shown]", cut, n);
    char *out = realloc(text, cut + (size_t)nl + 1);
    if (!out) {
        text[cut] = '\0';
        return text;
    }
    memcpy(out + cut, note, (size_t)nl + 1);
    return out;
}

/* A string value that borrows the buffer's bytes (never freed through it). */
static dsp_value borrow(const dsp_textbuf *tb)
{
    dsp_value v;
    memset(&v, 0, sizeof v);
    v.kind = DSP_TYPE_STRING;
    v.as.s.data = tb->len ? tb->data : NULL;
    v.as.s.len = tb->len;
    return v;
}

static const dsp_tool *find_tool(const dsp_react *r, const char *name)
{
    for (size_t i = 0; i < r->n_tools; i++)
        if (strcmp(r->tools[i].name, name) == 0)
            return &r->tools[i];
    return NULL;
}

char *dsp_react_act(const dsp_react *r, const dsp_react_options *o, const char *name, const char *args_text,
                    size_t args_len)
{
    const dsp_tool *t = find_tool(r, name);
    dsp_textbuf tb;
    dsp_tb_init(&tb);
    if (!t) {
        dsp_tb_printf(&tb, "Error: there is no tool `%s`. The tools are:", name);
        for (size_t i = 0; i < r->n_tools; i++)
            dsp_tb_printf(&tb, " %s,", r->tools[i].name);
        dsp_tb_puts(&tb, " finish.");
        return dsp_tb_take(&tb, NULL);
    }
    dsp_tb_free(&tb);
    dsp_value *args = calloc(t->n_params + 1, sizeof *args);
    dsp_value *res = calloc(t->n_results + 1, sizeof *res);
    char *obs = NULL;
    if (!args || !res) {
        free(args);
        free(res);
        return NULL;
    }
    if (dsp_tool_bind_args(t, args_text ? args_text : "", args_text ? args_len : 0, args, &obs) == DSP_OK) {
        dsp_error err = { 0 };
        if (t->call(o ? o->tool_ctx : NULL, t, args, res, &err) == DSP_OK) {
            obs = dsp_tool_observation(t, res);
        } else {
            dsp_tb_init(&tb);
            dsp_tb_printf(&tb, "Execution error in %s: %s", t->name, err.message[0] ? err.message : "failed");
            obs = dsp_tb_take(&tb, NULL);
        }
        dsp_error_clear(&err);
        dsp_values_free(args, t->n_params);
        dsp_values_free(res, t->n_results);
    }
    free(args);
    free(res);
    return obs;
}

void dsp_react_put_block(dsp_textbuf *tb, const char *name, size_t idx, const char *text, size_t len)
{
    if (tb->len)
        dsp_tb_puts(tb, "\n\n");
    dsp_tb_printf(tb, "[[ ## %s_%zu ## ]]\n", name, idx);
    dsp_tb_put(tb, text ? text : "", text ? len : 0);
}

char *dsp_react_tool_name(const char *s, size_t len)
{
    /* The tool name is compared trimmed: models add spaces and quotes. */
    const char *nm = s ? s : "";
    size_t nb = 0, ne = s ? len : 0;
    while (nb < ne && strchr(" \t\r\n\"'`", nm[nb]))
        nb++;
    while (ne > nb && strchr(" \t\r\n\"'`", nm[ne - 1]))
        ne--;
    char *tool = malloc(ne - nb + 1);
    if (tool) {
        memcpy(tool, nm + nb, ne - nb);
        tool[ne - nb] = '\0';
    }
    return tool;
}

int dsp_react_output_index(const dsp_predictor *p, const char *name)
{
    size_t n = dsp_strategy_n_outputs(p->signature, p->strategy);
    for (size_t i = 0; i < n; i++)
        if (strcmp(dsp_strategy_output(p->signature, p->strategy, i)->name, name) == 0)
            return (int)i;
    return -1;
}

static dsp_status predict_observed(dsp_client *c, const dsp_predictor *p, const dsp_predict_options *po,
                                   const dsp_react_options *o, const dsp_value *in, dsp_value *out, dsp_error *err)
{
    dsp_predict_trace tr;
    dsp_predict_trace_init(&tr);
    dsp_status st = dsp_predict_ex(c, p, po, in, out, o && o->observe ? &tr : NULL, err);
    st = dsp_react_notify(o, p, st, in, out, &tr, err);
    dsp_predict_trace_free(&tr);
    return st;
}

dsp_status dsp_react_notify(const dsp_react_options *o, const dsp_predictor *p, dsp_status st, const dsp_value *in,
                            dsp_value *out, const dsp_predict_trace *tr, dsp_error *err)
{
    if (!o || !o->observe)
        return st;
    dsp_error oerr = { 0 };
    dsp_status ost = o->observe(o->observe_ctx, p, st, in, st == DSP_OK ? out : NULL, tr, &oerr);
    if (ost == DSP_OK)
        return st;
    if (st == DSP_OK)
        dsp_values_free(out, dsp_strategy_n_outputs(p->signature, p->strategy));
    if (err) {
        dsp_error_clear(err);
        *err = oerr;
    } else {
        dsp_error_clear(&oerr);
    }
    return ost;
}

static dsp_status check_react(const dsp_react *r, dsp_error *err)
{
    if (!r || !r->step || !r->extract || r->max_iters < 1 || (r->n_tools && !r->tools))
        return dsp_error_set(err, DSP_ERR_INVALID, "react: a step and an extract predictor and max_iters >= 1 are required");
    size_t n = r->step->signature->n_inputs;
    if (n == 0 || r->extract->signature->n_inputs != n ||
        strcmp(r->step->signature->inputs[n - 1].name, "trajectory") != 0 ||
        strcmp(r->extract->signature->inputs[n - 1].name, "trajectory") != 0)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "react %s: the step and extract predictors must take the same inputs, `trajectory` last",
                             r->step->name ? r->step->name : "?");
    const char *need[] = { "next_thought", "next_tool_name", "next_tool_args" };
    for (size_t i = 0; i < 3; i++)
        if (dsp_react_output_index(r->step, need[i]) < 0)
            return dsp_error_set(err, DSP_ERR_INVALID, "react %s: the step predictor has no output `%s`",
                                 r->step->name ? r->step->name : "?", need[i]);
    for (size_t i = 0; i < r->n_tools; i++)
        if (!r->tools[i].call || !r->tools[i].name || (r->tools[i].n_results && !r->tools[i].results))
            return dsp_error_set(err, DSP_ERR_INVALID, "react: tool %zu is incomplete", i);
    return DSP_OK;
}

dsp_status dsp_react_run(dsp_client *c, const dsp_react *r, const dsp_react_options *o, const dsp_value *inputs,
                         dsp_value *outputs, dsp_error *err)
{
    dsp_status st = check_react(r, err);
    if (st != DSP_OK)
        return st;
    size_t n_in = r->step->signature->n_inputs; /* with the trajectory */
    size_t n_step = dsp_strategy_n_outputs(r->step->signature, r->step->strategy);
    size_t n_ext = dsp_strategy_n_outputs(r->extract->signature, r->extract->strategy);
    size_t max_obs = r->max_observation ? r->max_observation : DSP_REACT_MAX_OBSERVATION;
    int i_thought = dsp_react_output_index(r->step, "next_thought"), i_name = dsp_react_output_index(r->step, "next_tool_name"),
        i_args = dsp_react_output_index(r->step, "next_tool_args");
    dsp_value *in = calloc(n_in + 1, sizeof *in);
    dsp_value *out = calloc(n_step + 1, sizeof *out);
    dsp_textbuf traj;
    dsp_tb_init(&traj);
    if (!in || !out)
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    /* The inputs are borrowed: only the trajectory slot is ours. */
    for (size_t i = 0; in && i + 1 < n_in; i++)
        in[i] = inputs[i];
    const dsp_lm_config *lm = dsp_predict_lm_of(r->step, o ? o->step_opts : NULL);
    if (st == DSP_OK && lm && lm->tool_calling == DSP_TOOL_CALLING_NATIVE)
        st = dsp_react_native_steps(c, r, o, in, &traj, err);
    else
        for (int it = 0; st == DSP_OK && it < r->max_iters; it++) {
            in[n_in - 1] = borrow(&traj);
            st = predict_observed(c, r->step, o ? o->step_opts : NULL, o, in, out, err);
            if (st == DSP_ERR_PARSE) {
                /* DSPy ends the loop on a step it cannot read; the extract step
                 * still answers from what was gathered. */
                dsp_error_clear(err);
                st = DSP_OK;
                break;
            }
            if (st != DSP_OK)
                break;
            const dsp_value *thought = &out[i_thought], *name = &out[i_name], *args = &out[i_args];
            size_t idx = (size_t)it;
            dsp_react_put_block(&traj, "thought", idx, thought->as.s.data, thought->as.s.len);
            char *tool = dsp_react_tool_name(name->as.s.data, name->as.s.len);
            if (!tool) {
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
                break;
            }
            dsp_react_put_block(&traj, "tool_name", idx, tool, strlen(tool));
            dsp_react_put_block(&traj, "tool_args", idx, args->as.s.data, args->as.s.len);
            int finished = strcmp(tool, "finish") == 0;
            char *obs = finished ? strdup("Completed.")
                                : dsp_react_act(r, o, tool, args->as.s.data, args->as.s.data ? args->as.s.len : 0);
            free(tool);
            obs = dsp_react_truncate(obs, max_obs);
            if (!obs) {
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
                break;
            }
            dsp_react_put_block(&traj, "observation", idx, obs, strlen(obs));
            free(obs);
            dsp_values_free(out, n_step);
            if (!dsp_tb_ok(&traj))
                st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
            if (finished)
                break;
        }
    if (out)
        dsp_values_free(out, n_step);
    if (st == DSP_OK) {
        in[n_in - 1] = borrow(&traj);
        st = predict_observed(c, r->extract, o ? o->extract_opts : NULL, o, in, outputs, err);
    }
    if (st == DSP_OK)
        st = dsp_value_set_string(&outputs[n_ext], traj.len ? traj.data : "", traj.len, err);
    if (st != DSP_OK)
        dsp_values_free(outputs, n_ext + 1);
    dsp_tb_free(&traj);
    free(in);
    free(out);
    return st;
}
