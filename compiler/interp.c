/* interp.c — runs a checked module on one example: predictor calls through
 * dsp_predict_ex (the same adapter, parsing and client as generated code),
 * module calls, tool calls, repeat, if and return, recording every
 * predictor call as adapter text for bootstrapping demos. */
#include "interp_int.h"

#include "dsp/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One activation of a module: its parameters and its variables' values. */
typedef struct frame {
    const ir_module *m;
    const dsp_value *params;    /* n_params */
    dsp_value **vars;           /* per var: n_fields values, or 1 for a tool result */
    bool *assigned;
} frame;

/* What one run accumulates. */
typedef struct run_ctx {
    const ex_runner *r;
    const ex_config *cfg;
    ex_trace *trace;
    ex_usage *usage;
} run_ctx;

static dsp_status exec_module(run_ctx *c, const ir_module *m, const dsp_value *params, dsp_value *results,
                              dsp_error *err);

void ex_trace_free(ex_trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_steps; i++) {
        ex_trace_step *s = &t->steps[i];
        for (size_t k = 0; k < s->n_inputs; k++)
            free(s->inputs[k]);
        for (size_t k = 0; k < s->n_outputs; k++)
            free(s->outputs[k]);
        free(s->inputs);
        free(s->outputs);
    }
    free(t->steps);
    memset(t, 0, sizeof *t);
}

void ex_result_free(ex_result *res)
{
    if (!res)
        return;
    free(res->error);
    free(res->feedback);
    for (size_t i = 0; i < res->n_pred_feedback; i++)
        free(res->pred_feedback[i]);
    free(res->pred_feedback);
    if (res->outputs)
        dsp_values_free(res->outputs, res->n_outputs);
    free(res->outputs);
    ex_trace_free(&res->trace);
    memset(res, 0, sizeof *res);
}

static int var_index(const ir_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_vars; i++)
        if (strcmp(m->vars[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int field_index(const ir_field *fs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fs[i].name, name) == 0)
            return (int)i;
    return -1;
}

static dsp_status resolve_base(const frame *f, const ir_value *v, dsp_value *tmp, const dsp_value **out,
                               const ir_type **type, dsp_error *err);

/* Where a value lives: *out points into the frame or at *tmp (a literal);
 * a path into records is followed. */
static dsp_status resolve(const frame *f, const ir_value *v, dsp_value *tmp, const dsp_value **out,
                          const ir_type **type, dsp_error *err)
{
    dsp_status rc = resolve_base(f, v, tmp, out, type, err);
    if (rc != DSP_OK || v->n_path == 0)
        return rc;
    *out = it_value_at(*out, *type, v->path, v->n_path, type);
    if (!*out)
        return dsp_error_set(err, DSP_ERR_INVALID, "module `%s`: internal: `%s` has no field path of %zu steps",
                             f->m->name, v->name, v->n_path);
    return DSP_OK;
}

static dsp_status resolve_base(const frame *f, const ir_value *v, dsp_value *tmp, const dsp_value **out,
                          const ir_type **type, dsp_error *err)
{
    *type = v->type;
    switch (v->kind) {
    case IR_VAL_PARAM: {
        int i = field_index(f->m->params, f->m->n_params, v->name);
        if (i < 0)
            break;
        *out = &f->params[i];
        *type = f->m->params[i].type;
        return DSP_OK;
    }
    case IR_VAL_FIELD:
    case IR_VAL_VAR: {
        int vi = var_index(f->m, v->name);
        if (vi < 0)
            break;
        const ir_var *var = &f->m->vars[vi];
        if (!f->assigned[vi])
            return dsp_error_set(err, DSP_ERR_INVALID, "module `%s`: `%s` is read before it is assigned", f->m->name,
                                 v->name);
        if (v->kind == IR_VAL_VAR) {
            *out = &f->vars[vi][0];
            *type = var->type;
            return DSP_OK;
        }
        int fi = field_index(var->fields, var->n_fields, v->field);
        if (fi < 0)
            break;
        *out = &f->vars[vi][fi];
        *type = var->fields[fi].type;
        return DSP_OK;
    }
    default: {
        dsp_status rc = it_literal(v, tmp, err);
        *out = tmp;
        return rc;
    }
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "module `%s`: internal: cannot resolve `%s%s%s`", f->m->name,
                         v->name ? v->name : "?", v->field ? "." : "", v->field ? v->field : "");
}

/* Fills vals[0..n) for the fields `to` from bindings (by name); an unbound
 * optional is absent. */
static dsp_status bind(const frame *f, const ir_binding *bs, size_t nb, const ir_field *to, size_t n, dsp_value *vals,
                       dsp_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const ir_binding *b = NULL;
        for (size_t k = 0; k < nb && !b; k++)
            if (strcmp(bs[k].field, to[i].name) == 0)
                b = &bs[k];
        if (!b) {
            if (to[i].type->kind != IR_OPTIONAL)
                return dsp_error_set(err, DSP_ERR_INVALID, "module `%s`: internal: input `%s` is not bound",
                                     f->m->name, to[i].name);
            vals[i] = dsp_value_none();
            continue;
        }
        dsp_value tmp = { 0 };
        const dsp_value *src;
        const ir_type *st;
        dsp_status rc = resolve(f, &b->value, &tmp, &src, &st, err);
        if (rc == DSP_OK)
            rc = it_convert(src, st, to[i].type, &vals[i], err);
        dsp_value_free(&tmp);
        if (rc != DSP_OK)
            return rc;
    }
    return DSP_OK;
}

static void clear_var(frame *f, size_t vi)
{
    dsp_values_free(f->vars[vi], ir_var_slots(&f->m->vars[vi]));
    f->assigned[vi] = false;
}

static dsp_status trace_step(run_ctx *c, const ir_predictor *ip, const dsp_predictor *p, const dsp_value *in,
                             const dsp_value *out, dsp_error *err)
{
    ex_trace *t = c->trace;
    if (!t)
        return DSP_OK;
    if (t->n_steps == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        ex_trace_step *n = realloc(t->steps, cap * sizeof *n);
        if (!n)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory recording a trace");
        t->steps = n;
        t->cap = cap;
    }
    ex_trace_step *s = &t->steps[t->n_steps++];
    memset(s, 0, sizeof *s);
    s->predictor = ip;
    size_t ni = p->signature->n_inputs, no = dsp_strategy_n_outputs(p->signature, p->strategy);
    s->inputs = calloc(ni + 1, sizeof *s->inputs);
    s->outputs = calloc(no + 1, sizeof *s->outputs);
    if (!s->inputs || !s->outputs)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory recording a trace");
    dsp_status rc = DSP_OK;
    for (size_t i = 0; i < ni && rc == DSP_OK; i++, s->n_inputs++)
        rc = dsp_value_format(&in[i], p->signature->inputs[i].type, &s->inputs[i], NULL, err);
    for (size_t i = 0; i < no && rc == DSP_OK; i++, s->n_outputs++)
        rc = dsp_value_format(&out[i], dsp_strategy_output(p->signature, p->strategy, i)->type, &s->outputs[i],
                              NULL, err);
    return rc;
}

/* Every LM call of a react loop counts and is traced like a predictor call. */
typedef struct react_obs {
    run_ctx *c;
    const ir_react *ir;
} react_obs;

static dsp_status observe_react(void *ctx, const dsp_predictor *p, dsp_status status, const dsp_value *in,
                                const dsp_value *out, const dsp_predict_trace *tr, dsp_error *err)
{
    react_obs *x = ctx;
    it_usage_add_trace(x->c->usage, tr);
    if (status != DSP_OK)
        return DSP_OK;
    const ir_predictor *ip = p == ex_runner_predictor(x->c->r, x->ir->step) ? x->ir->step : x->ir->extract;
    return trace_step(x->c, ip, p, in, out, err);
}

/* `v = react(Sig, tools: [...])(...)`: dsp_react_run over the runner's
 * descriptors; the variable's fields are the extract's outputs, then the
 * trajectory, in the order the loop fills them. */
static dsp_status call_react(run_ctx *c, frame *f, const ir_step *st, dsp_value *dst, dsp_error *err)
{
    const ir_react *ir = st->react;
    const ir_signature *sig = ir->extract->signature;
    size_t n_in = sig->n_inputs - 1; /* without the trajectory */
    dsp_value *in = calloc(n_in + 1, sizeof *in);
    if (!in)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    dsp_status rc = bind(f, st->bindings, st->n_bindings, sig->inputs, n_in, in, err);
    if (rc == DSP_OK) {
        dsp_predict_options so = it_predict_options(c->r, c->cfg, ir->step), eo = it_predict_options(c->r, c->cfg, ir->extract);
        react_obs obs = { c, ir };
        dsp_react_options o = { &so, &eo, NULL, observe_react, &obs };
        rc = it_react_run(c->r, ir, &o, in, dst, err);
        if (rc != DSP_OK && rc != DSP_ERR_NOMEM) {
            char msg[DSP_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            dsp_error_set(err, rc, "%s.%s (%s:%d): %s", f->m->name, st->var, st->loc.file ? st->loc.file : "?",
                          st->loc.line, msg);
        }
    }
    dsp_values_free(in, n_in);
    free(in);
    return rc;
}

/* Every LM call of a multi_chain_comparison counts and is traced. */
typedef struct mcc_obs {
    run_ctx *c;
    const ir_mcc *ir;
} mcc_obs;

static dsp_status observe_mcc(void *ctx, const dsp_predictor *p, dsp_status status, const dsp_value *in,
                              const dsp_value *out, const dsp_predict_trace *tr, dsp_error *err)
{
    mcc_obs *x = ctx;
    it_usage_add_trace(x->c->usage, tr);
    if (status != DSP_OK)
        return DSP_OK;
    const ir_predictor *ip = p == ex_runner_predictor(x->c->r, x->ir->attempt) ? x->ir->attempt : x->ir->compare;
    return trace_step(x->c, ip, p, in, out, err);
}

/* `v = multi_chain_comparison(Sig, m: 3)(...)`: dsp_mcc_run over the
 * runner's two predictors; the variable is the compare step's outputs. */
static dsp_status call_mcc(run_ctx *c, frame *f, const ir_step *st, dsp_value *dst, dsp_error *err)
{
    const ir_mcc *ir = st->mcc;
    const ir_signature *sig = ir->attempt->signature;
    dsp_value *in = calloc(sig->n_inputs + 1, sizeof *in);
    if (!in)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    dsp_status rc = bind(f, st->bindings, st->n_bindings, sig->inputs, sig->n_inputs, in, err);
    if (rc == DSP_OK) {
        dsp_predict_options ao = it_predict_options(c->r, c->cfg, ir->attempt),
                            co = it_predict_options(c->r, c->cfg, ir->compare);
        mcc_obs obs = { c, ir };
        dsp_sample_options so = { &ao, NULL, observe_mcc, &obs };
        dsp_mcc x = { ex_runner_predictor(c->r, ir->attempt), ex_runner_predictor(c->r, ir->compare), (int)ir->m };
        rc = dsp_mcc_run(c->r->client, &x, &so, &co, in, dst, err);
        if (rc != DSP_OK && rc != DSP_ERR_NOMEM) {
            char msg[DSP_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            dsp_error_set(err, rc, "%s.%s (%s:%d): %s", f->m->name, st->var, st->loc.file ? st->loc.file : "?",
                          st->loc.line, msg);
        }
    }
    dsp_values_free(in, sig->n_inputs);
    free(in);
    return rc;
}

/* An ensemble's call: every member with the call's options (adapter,
 * cache, sampling) and its own instructions and demos, voting. */
static dsp_status run_ensemble(run_ctx *c, const dsp_ensemble *e, const dsp_predictor *p,
                               const dsp_predict_options *o, const dsp_value *in, dsp_value *out, dsp_error *err)
{
    dsp_predict_options *members = calloc(e->n + 1, sizeof *members);
    dsp_predict_trace *traces = calloc(e->n + 1, sizeof *traces);
    if (!members || !traces) {
        free(members);
        free(traces);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < e->n; i++) {
        members[i] = *o;
        members[i].instructions = e->members[i].instructions;
        members[i].override_demos = true;
        members[i].demos = e->members[i].demos;
        members[i].n_demos = e->members[i].n_demos;
        dsp_predict_trace_init(&traces[i]);
    }
    dsp_ensemble with = { .members = members, .n = e->n, .field = e->field, .size = e->size, .seed = e->seed };
    dsp_status rc = dsp_ensemble_run(c->r->client, p, &with, in, out, traces, err);
    for (size_t i = 0; i < e->n; i++) {
        it_usage_add_trace(c->usage, &traces[i]);
        dsp_predict_trace_free(&traces[i]);
    }
    free(traces);
    free(members);
    return rc;
}

static dsp_status call_predictor(run_ctx *c, frame *f, const ir_step *st, dsp_value *dst, dsp_error *err)
{
    const ir_predictor *ip = st->predictor;
    const dsp_predictor *p = ex_runner_predictor(c->r, ip);
    if (!p)
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: predictor `%s` has no runtime descriptor", ip->name);
    const ir_signature *sig = ip->signature;
    dsp_value *in = calloc(sig->n_inputs + 1, sizeof *in);
    dsp_value *out = calloc(ip->n_outputs + 1, sizeof *out);
    if (!in || !out) {
        free(in);
        free(out);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    dsp_status rc = bind(f, st->bindings, st->n_bindings, sig->inputs, sig->n_inputs, in, err);
    if (rc == DSP_OK) {
        dsp_predict_options o = it_predict_options(c->r, c->cfg, ip);
        const ex_pred_config *pc = c->cfg ? ex_config_get(c->cfg, ip) : NULL;
        if (st->sampling) {
            rc = it_sample_run(c->r, st->sampling, p, &o, c->usage, in, out, err);
        } else if (pc && pc->ensemble) {
            rc = run_ensemble(c, pc->ensemble, p, &o, in, out, err);
        } else {
            dsp_predict_trace tr;
            dsp_predict_trace_init(&tr);
            rc = dsp_predict_ex(c->r->client, p, &o, in, out, &tr, err);
            it_usage_add_trace(c->usage, &tr);
            dsp_predict_trace_free(&tr);
        }
        if (rc != DSP_OK) {
            char msg[DSP_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            dsp_error_set(err, rc, "%s (%s:%d): %s", ip->name, st->loc.file ? st->loc.file : "?", st->loc.line, msg);
        }
    }
    if (rc == DSP_OK)
        rc = trace_step(c, ip, p, in, out, err);
    if (rc == DSP_OK) {
        /* The variable's fields are the predictor's outputs, by name. */
        int vi = var_index(f->m, st->var);
        const ir_var *var = vi >= 0 ? &f->m->vars[vi] : NULL;
        for (size_t k = 0; var && k < var->n_fields && rc == DSP_OK; k++) {
            int oi = field_index(ip->outputs, ip->n_outputs, var->fields[k].name);
            if (oi < 0)
                rc = dsp_error_set(err, DSP_ERR_INVALID, "internal: `%s` has no output `%s`", ip->name,
                                   var->fields[k].name);
            else
                rc = it_convert(&out[oi], ip->outputs[oi].type, var->fields[k].type, &dst[k], err);
        }
    }
    dsp_values_free(in, sig->n_inputs);
    dsp_values_free(out, ip->n_outputs);
    free(in);
    free(out);
    return rc;
}

static dsp_status call_module(run_ctx *c, frame *f, const ir_step *st, dsp_value *dst, dsp_error *err)
{
    const ir_module *m = st->module;
    dsp_value *params = calloc(m->n_params + 1, sizeof *params);
    dsp_value *results = calloc(m->n_results + 1, sizeof *results);
    if (!params || !results) {
        free(params);
        free(results);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    dsp_status rc = bind(f, st->bindings, st->n_bindings, m->params, m->n_params, params, err);
    if (rc == DSP_OK) {
        dsp_span span; /* a child of the caller's: the example is inherited */
        dsp_trace_module_begin(c->r->client, m->name, -1, &span);
        rc = exec_module(c, m, params, results, err);
        dsp_trace_module_end(&span, rc, err);
    }
    if (rc == DSP_OK) {
        int vi = var_index(f->m, st->var);
        const ir_var *var = vi >= 0 ? &f->m->vars[vi] : NULL;
        for (size_t k = 0; var && k < var->n_fields && rc == DSP_OK; k++) {
            int ri = field_index(m->results, m->n_results, var->fields[k].name);
            if (ri < 0)
                rc = dsp_error_set(err, DSP_ERR_INVALID, "internal: module `%s` has no result `%s`", m->name,
                                   var->fields[k].name);
            else
                rc = it_convert(&results[ri], m->results[ri].type, var->fields[k].type, &dst[k], err);
        }
    }
    if (rc != DSP_OK && rc != DSP_ERR_NOMEM) {
        /* The call site in front of the callee's own, as the generated
         * code says it: "Outer.n (x.dsp:9): Inner.t (x.dsp:3): ...". */
        char msg[DSP_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        dsp_error_set(err, rc, "%s.%s (%s:%d): %s", f->m->name, st->var, st->loc.file ? st->loc.file : "?",
                      st->loc.line, msg);
    }
    dsp_values_free(params, m->n_params);
    dsp_values_free(results, m->n_results);
    free(params);
    free(results);
    return rc;
}

/* A tool call binds the IN parameters by name; a tool with outputs fills
 * the variable's record (its fields are the outputs, by name), one without
 * fills its single value. */
static dsp_status call_tool(run_ctx *c, frame *f, const ir_step *st, dsp_value *dst, dsp_error *err)
{
    const ir_tool *t = st->tool;
    size_t na = it_tool_n_args(t), nr = it_tool_n_results(t);
    ir_field *fs = calloc(na + 1, sizeof *fs);
    dsp_value *args = calloc(na + 1, sizeof *args);
    dsp_value *res = calloc(nr + 1, sizeof *res);
    dsp_status rc = DSP_OK;
    if (!fs || !args || !res)
        rc = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0, k = 0; fs && i < t->n_params; i++) {
        if (t->params[i].role != IR_PARAM_IN)
            continue;
        fs[k].name = t->params[i].name;
        fs[k].type = t->params[i].type;
        k++;
    }
    if (rc == DSP_OK)
        rc = bind(f, st->bindings, st->n_bindings, fs, na, args, err);
    if (rc == DSP_OK)
        rc = it_tool_call(c->r, t, args, res, err);
    if (rc == DSP_OK) {
        int vi = var_index(f->m, st->var);
        const ir_var *var = vi >= 0 ? &f->m->vars[vi] : NULL;
        if (!var) {
            rc = dsp_error_set(err, DSP_ERR_INVALID, "internal: module `%s` has no variable `%s`", f->m->name,
                               st->var);
        } else if (t->n_outputs == 0) {
            dst[0] = res[0];
            memset(&res[0], 0, sizeof res[0]);
        }
        for (size_t k = 0; var && t->n_outputs > 0 && k < var->n_fields && rc == DSP_OK; k++) {
            int oi = field_index(t->outputs, t->n_outputs, var->fields[k].name);
            if (oi < 0)
                rc = dsp_error_set(err, DSP_ERR_INVALID, "internal: tool `%s` has no output `%s`", t->name,
                                   var->fields[k].name);
            else
                rc = it_convert(&res[oi], t->outputs[oi].type, var->fields[k].type, &dst[k], err);
        }
    }
    if (rc != DSP_OK && rc != DSP_ERR_NOMEM) {
        char msg[DSP_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        /* Named like the generated code names it: the module's variable. */
        dsp_error_set(err, rc, "%s.%s (%s:%d): %s", f->m->name, st->var, st->loc.file ? st->loc.file : "?",
                      st->loc.line, msg);
    }
    if (args)
        dsp_values_free(args, na);
    if (res)
        dsp_values_free(res, nr);
    free(args);
    free(res);
    free(fs);
    return rc;
}

static dsp_status exec_steps(run_ctx *c, frame *f, const ir_step *steps, size_t n, dsp_value *results,
                             bool *returned, dsp_error *err);

static dsp_status exec_step(run_ctx *c, frame *f, const ir_step *st, dsp_value *results, bool *returned,
                            dsp_error *err)
{
    switch (st->kind) {
    case IR_STEP_PREDICT:
    case IR_STEP_MODULE:
    case IR_STEP_TOOL:
    case IR_STEP_REACT:
    case IR_STEP_MCC: {
        int vi = var_index(f->m, st->var);
        if (vi < 0)
            return dsp_error_set(err, DSP_ERR_INVALID, "internal: module `%s` has no variable `%s`", f->m->name,
                                 st->var);
        /* The call reads its arguments before its result replaces the
         * variable, as the generated C does, so `s = predict(S)(draft:
         * s.summary)` in a repeat reads the previous pass's `s`. */
        size_t slots = ir_var_slots(&f->m->vars[vi]);
        dsp_value *next = calloc(slots + 1, sizeof *next);
        if (!next)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        dsp_status rc = st->kind == IR_STEP_PREDICT  ? call_predictor(c, f, st, next, err)
                        : st->kind == IR_STEP_MODULE ? call_module(c, f, st, next, err)
                        : st->kind == IR_STEP_REACT  ? call_react(c, f, st, next, err)
                        : st->kind == IR_STEP_MCC    ? call_mcc(c, f, st, next, err)
                                                     : call_tool(c, f, st, next, err);
        clear_var(f, (size_t)vi);
        if (rc == DSP_OK) {
            memcpy(f->vars[vi], next, slots * sizeof *next);
            f->assigned[vi] = true;
        } else {
            dsp_values_free(next, slots);
        }
        free(next);
        return rc;
    }
    case IR_STEP_REPEAT:
        for (long long k = 0; k < st->count && !*returned; k++) {
            dsp_status rc = exec_steps(c, f, st->body, st->n_body, results, returned, err);
            if (rc != DSP_OK)
                return rc;
        }
        return DSP_OK;
    case IR_STEP_IF: {
        dsp_value lt = { 0 }, rt = { 0 }, lconv = { 0 }, conv = { 0 };
        const dsp_value *l, *r;
        const ir_type *ltype, *rtype;
        dsp_status rc = resolve(f, &st->lhs, &lt, &l, &ltype, err);
        if (rc == DSP_OK)
            rc = resolve(f, &st->rhs, &rt, &r, &rtype, err);
        bool eq = false;
        if (rc == DSP_OK && ltype->kind == IR_ENUM && rtype->kind == IR_ENUM) {
            /* Two enums compare by name: a value of one need not exist in
             * the other (that is "not equal", not an error). */
            const char *ln = l->as.e < ltype->n_values ? ltype->values[l->as.e] : "";
            const char *rn = r->as.e < rtype->n_values ? rtype->values[r->as.e] : "";
            eq = strcmp(ln, rn) == 0;
        } else if (rc == DSP_OK) {
            /* An int against a float compares as floats (2 == 2.0), as
             * metrics do, also inside optionals; a value against an
             * optional as optionals (an absent one equals nothing);
             * anything else as the left side's type. cg_module.c picks the
             * same. */
            static const ir_type t_float = { .kind = IR_FLOAT };
            static const ir_type t_opt_float = { .kind = IR_OPTIONAL, .elem = &t_float };
            const ir_type *lb = ltype->kind == IR_OPTIONAL ? ltype->elem : ltype;
            const ir_type *rb = rtype->kind == IR_OPTIONAL ? rtype->elem : rtype;
            const ir_type *common = ltype;
            if (lb->kind == IR_INT && rb->kind == IR_FLOAT)
                common = ltype->kind == IR_OPTIONAL || rtype->kind == IR_OPTIONAL ? &t_opt_float : &t_float;
            else if (ltype->kind != IR_OPTIONAL && rtype->kind == IR_OPTIONAL)
                common = rtype;
            rc = it_convert(l, ltype, common, &lconv, err);
            if (rc == DSP_OK)
                rc = it_convert(r, rtype, common, &conv, err);
            eq = rc == DSP_OK && dsp_value_equal(&lconv, &conv);
        }
        dsp_value_free(&lt);
        dsp_value_free(&rt);
        dsp_value_free(&lconv);
        dsp_value_free(&conv);
        if (rc != DSP_OK)
            return rc;
        if (eq != (st->negate != 0))
            return exec_steps(c, f, st->body, st->n_body, results, returned, err);
        return exec_steps(c, f, st->else_body, st->n_else, results, returned, err);
    }
    case IR_STEP_RETURN: {
        dsp_status rc = bind(f, st->bindings, st->n_bindings, f->m->results, f->m->n_results, results, err);
        if (rc != DSP_OK) {
            dsp_values_free(results, f->m->n_results);
            return rc;
        }
        *returned = true;
        return DSP_OK;
    }
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "internal: unknown step kind %d", (int)st->kind);
}

static dsp_status exec_steps(run_ctx *c, frame *f, const ir_step *steps, size_t n, dsp_value *results,
                             bool *returned, dsp_error *err)
{
    for (size_t i = 0; i < n && !*returned; i++) {
        dsp_status rc = exec_step(c, f, &steps[i], results, returned, err);
        if (rc != DSP_OK)
            return rc;
    }
    return DSP_OK;
}

static dsp_status exec_module(run_ctx *c, const ir_module *m, const dsp_value *params, dsp_value *results,
                              dsp_error *err)
{
    frame f = { m, params, calloc(m->n_vars + 1, sizeof *f.vars), calloc(m->n_vars + 1, sizeof *f.assigned) };
    dsp_status rc = DSP_OK;
    if (!f.vars || !f.assigned)
        rc = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == DSP_OK && i < m->n_vars; i++) {
        f.vars[i] = calloc(ir_var_slots(&m->vars[i]) + 1, sizeof *f.vars[i]);
        if (!f.vars[i])
            rc = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    bool returned = false;
    if (rc == DSP_OK)
        rc = exec_steps(c, &f, m->steps, m->n_steps, results, &returned, err);
    if (rc == DSP_OK && !returned)
        rc = dsp_error_set(err, DSP_ERR_INVALID, "module `%s` ended without a return", m->name);
    for (size_t i = 0; f.vars && i < m->n_vars; i++) {
        if (f.vars[i])
            dsp_values_free(f.vars[i], ir_var_slots(&m->vars[i]));
        free(f.vars[i]);
    }
    free(f.vars);
    free(f.assigned);
    return rc;
}

static void fail(ex_result *out, dsp_status rc, const dsp_error *err)
{
    out->status = rc;
    out->score = 0;
    free(out->error);
    out->error = strdup(err->message[0] ? err->message : dsp_status_name(rc));
}

dsp_status ex_run(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, size_t row, ex_result *out)
{
    memset(out, 0, sizeof *out);
    dsp_error err = { 0 };
    const ir_module *m = r->module;
    if (row >= d->n_rows || d->module != m) {
        dsp_error_set(&err, DSP_ERR_INVALID, row >= d->n_rows ? "row %zu is out of range" :
                      "the data set was loaded for another module (row %zu)", row);
        fail(out, err.status, &err);
        return out->status;
    }
    const ex_example *ex = &d->rows[row];
    dsp_value *params = calloc(m->n_params + 1, sizeof *params);
    out->outputs = calloc(m->n_results + 1, sizeof *out->outputs);
    out->n_outputs = m->n_results;
    dsp_status rc = DSP_OK;
    if (!params || !out->outputs)
        rc = dsp_error_set(&err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == DSP_OK && i < m->n_params; i++) {
        if (!ex->present[i]) {
            params[i] = dsp_value_none();
            continue;
        }
        rc = dsp_value_copy(&params[i], &ex->values[i], &err);
    }
    run_ctx c = { r, cfg, &out->trace, &out->usage };
    /* One trace span per example (dsp/trace.h): its LM calls, the metric's
     * judges included, are its children. */
    dsp_span span;
    dsp_trace_module_begin(r->client, m->name, (int64_t)row, &span);
    if (rc == DSP_OK)
        rc = exec_module(&c, m, params, out->outputs, &err);
    if (params)
        dsp_values_free(params, m->n_params);
    free(params);
    char *tool_feedback = NULL;
    size_t n_pf = r->metric ? r->metric->n_pred_feedback : 0;
    if (rc == DSP_OK && n_pf) {
        out->pred_feedback = calloc(n_pf, sizeof *out->pred_feedback);
        if (!out->pred_feedback)
            rc = dsp_error_set(&err, DSP_ERR_NOMEM, "out of memory");
        else
            out->n_pred_feedback = n_pf, out->pred_feedback_of = r->metric->pred_feedback;
    }
    if (rc == DSP_OK && r->metric)
        rc = it_metric_score_feedback(r, d, row, out->outputs, &out->score, &tool_feedback, out->pred_feedback,
                                      &out->usage, &out->counts, &err);
    /* The metric's feedback arms, else what its scoring tool wrote; each
     * predictor's the same (sema lets only one of the two name it). */
    if (rc == DSP_OK && r->metric && r->metric->n_feedback)
        out->feedback = it_metric_feedback(r, d, row, out->outputs, &out->usage);
    else if (rc == DSP_OK)
        out->feedback = tool_feedback, tool_feedback = NULL;
    for (size_t k = 0; rc == DSP_OK && k < n_pf; k++)
        if (!r->metric->pred_feedback[k].tool_output)
            out->pred_feedback[k] = it_metric_pred_feedback(r, d, row, out->outputs, &out->usage, k);
    free(tool_feedback);
    dsp_trace_module_end(&span, rc, &err);
    if (rc != DSP_OK) {
        fail(out, rc, &err);
        /* Pooled items: a failed run found none of its gold ones. */
        dsp_error gerr = { 0 };
        if (r->metric && it_metric_gold_count(r, d, row, &out->counts, &gerr) != DSP_OK)
            memset(&out->counts, 0, sizeof out->counts);
        dsp_error_clear(&gerr);
        if (out->outputs)
            dsp_values_free(out->outputs, out->n_outputs);
        free(out->outputs);
        out->outputs = NULL;
    }
    dsp_error_clear(&err);
    return out->status;
}

dsp_status ex_score(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs, double *score,
                    ex_usage *usage, dsp_error *err)
{
    ex_usage ignored = { 0 };
    *score = 0;
    if (!r->metric)
        return dsp_error_set(err, DSP_ERR_INVALID, "no metric to score module `%s` with", r->module->name);
    if (row >= d->n_rows)
        return dsp_error_set(err, DSP_ERR_INVALID, "row %zu is out of range", row);
    return it_metric_score(r, d, row, outputs, score, usage ? usage : &ignored, NULL, err);
}
