/* cg_module.c — each module as a static C function over dsp_value arrays:
 * its steps become straight C (predictor calls through dsp_predict, module
 * calls as calls of the callee's function, tools called directly through
 * their C prototype, repeat as a for loop, if as if).
 *
 *   static dsp_status m_NAME(dsp_client *c, const dsp_value *in, dsp_value *out, dsp_error *err)
 *
 * in: one value per parameter; out: one per result (zeroed by the caller,
 * filled on DSP_OK, left empty otherwise). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

typedef struct mctx {
    cg_ctx *g;
    strbuf *c;
    const ir_module *m;
    int used_goto;
    int n_loops;
    int n_conv;         /* dsp_conv descriptors emitted in this function */
} mctx;

static void ind(strbuf *c, int n)
{
    for (int i = 0; i < n; i++) sb_puts(c, "    ");
}

static const ir_var *var_of(const ir_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_vars; i++)
        if (strcmp(m->vars[i].name, name) == 0) return &m->vars[i];
    return NULL;
}

static const char *var_sym(mctx *x, const char *name) { return arena_printf(x->g->a, "v_%s", cg_ident(x->g->a, name, 0)); }

static size_t param_index(const ir_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) return i;
    return 0;
}

static size_t field_index(const ir_field *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0) return i;
    return 0;
}

static size_t enum_index(const ir_type *t, const char *s)
{
    while (t && t->kind == IR_OPTIONAL) t = t->elem;
    if (!t || t->kind != IR_ENUM) return 0;
    for (size_t i = 0; i < t->n_values; i++)
        if (strcmp(t->values[i], s) == 0) return i;
    return 0;
}

/* Whether two enums number their values alike (same names, same order). */
static int same_enum(const ir_type *a, const ir_type *b)
{
    if (a == b) return 1;
    if (a->n_values != b->n_values) return 0;
    for (size_t i = 0; i < a->n_values; i++)
        if (strcmp(a->values[i], b->values[i]) != 0) return 0;
    return 1;
}

/* Whether a value of type `from` is represented differently as a `to`
 * (int -> float, enum -> string, an enum into another enum's numbering),
 * also inside lists and optionals. A plain copy would read the wrong
 * member of the union: the interpreter converts (it_convert), so must we. */
static int needs_conv(const ir_type *from, const ir_type *to)
{
    if (!from || !to) return 0;
    if (to->kind == IR_OPTIONAL) return needs_conv(from->kind == IR_OPTIONAL ? from->elem : from, to->elem);
    if (from->kind == IR_OPTIONAL) return 0; /* refused by sema */
    switch (to->kind) {
    case IR_FLOAT: return from->kind == IR_INT;
    case IR_STRING: return from->kind == IR_ENUM;
    case IR_ENUM: return from->kind == IR_ENUM && !same_enum(from, to);
    case IR_LIST: return from->kind == IR_LIST && needs_conv(from->elem, to->elem);
    default: return 0;
    }
}

/* Emits the block-scope static dsp_conv descriptors that turn a `from` into
 * a `to` (children first) and returns the outermost one's name. */
static const char *emit_conv(mctx *x, int lvl, const ir_type *from, const ir_type *to)
{
    cg_ctx *g = x->g;
    strbuf *c = x->c;
    const char *name = arena_printf(g->a, "cv%d", x->n_conv++);
    if (to->kind == IR_OPTIONAL || to->kind == IR_LIST) {
        const ir_type *fe = to->kind == IR_OPTIONAL && from->kind != IR_OPTIONAL ? from : from->elem;
        const char *elem = needs_conv(fe, to->elem) ? emit_conv(x, lvl, fe, to->elem) : NULL;
        ind(c, lvl);
        sb_printf(c, "static const dsp_conv %s = { %s, NULL, NULL, 0, %s%s };\n", name,
                   to->kind == IR_OPTIONAL ? "DSP_CONV_OPTIONAL" : "DSP_CONV_LIST", elem ? "&" : "NULL",
                   elem ? elem : "");
        return name;
    }
    if (to->kind == IR_FLOAT) {
        ind(c, lvl);
        sb_printf(c, "static const dsp_conv %s = { DSP_CONV_INT_FLOAT, NULL, NULL, 0, NULL };\n", name);
        return name;
    }
    /* From an enum: its names (to a string) or each value's index in `to`. */
    ind(c, lvl);
    if (to->kind == IR_STRING) {
        sb_printf(c, "static const char *const %s_names[] = { ", name);
        for (size_t i = 0; i < from->n_values; i++) {
            if (i) sb_puts(c, ", ");
            cg_cstr(g, c, from->values[i], strlen(from->values[i]), 4 * lvl + 8);
        }
        sb_puts(c, " };\n");
        ind(c, lvl);
        sb_printf(c, "static const dsp_conv %s = { DSP_CONV_ENUM_STRING, %s_names, NULL, %zu, NULL };\n", name, name,
                   from->n_values);
    } else {
        sb_printf(c, "static const size_t %s_map[] = { ", name);
        for (size_t i = 0; i < from->n_values; i++)
            sb_printf(c, "%s%zu", i ? ", " : "", enum_index(to, from->values[i]));
        sb_printf(c, " }; /* ");
        for (size_t i = 0; i < from->n_values; i++) {
            cg_comment_text(c, from->values[i], "");
            sb_puts(c, i + 1 < from->n_values ? ", " : "");
        }
        sb_puts(c, " */\n");
        ind(c, lvl);
        sb_printf(c, "static const dsp_conv %s = { DSP_CONV_ENUM_ENUM, NULL, %s_map, %zu, NULL };\n", name, name,
                   from->n_values);
    }
    return name;
}

/* Where a parameter, field or tool result lives, as a `const dsp_value *`
 * expression; a path into records (`v.person.name`) follows the fields,
 * whose positions are known here. */
static const char *value_src(mctx *x, const ir_value *v)
{
    arena *a = x->g->a;
    const char *src;
    const ir_type *t;
    if (v->kind == IR_VAL_PARAM) {
        size_t i = param_index(x->m, v->name);
        src = arena_printf(a, "in[%zu]", i);
        t = x->m->params[i].type;
    } else if (v->kind == IR_VAL_FIELD) {
        const ir_var *var = var_of(x->m, v->name);
        size_t k = var ? field_index(var->fields, var->n_fields, v->field) : 0;
        src = arena_printf(a, "%s[%zu]", var_sym(x, v->name), k);
        t = var ? var->fields[k].type : v->type;
    } else {
        const ir_var *var = var_of(x->m, v->name);
        src = arena_printf(a, "%s[0]", var_sym(x, v->name));
        t = var ? var->type : v->type;
    }
    for (size_t p = 0; p < v->n_path && t && t->kind == IR_RECORD; p++) {
        size_t k = field_index(t->fields, t->n_fields, v->path[p]);
        src = arena_printf(a, "%s.as.record.fields[%zu]", src, k);
        t = t->fields[k].type;
    }
    return arena_printf(a, "&%s", src);
}

/* `name`, `v.field`, `v.field.sub` for comments. */
static const char *value_name(mctx *x, const ir_value *v)
{
    const char *s = v->kind == IR_VAL_FIELD ? arena_printf(x->g->a, "%s.%s", v->name, v->field) : v->name;
    for (size_t p = 0; p < v->n_path; p++) s = arena_printf(x->g->a, "%s.%s", s, v->path[p]);
    return s;
}

/* `if (st == DSP_OK) st = ...;` setting dst to the value v, converted to
 * target (may be NULL): a plain value bound to an optional is wrapped. */
static void emit_value(mctx *x, int lvl, const ir_value *v, const ir_type *target, const char *dst)
{
    cg_ctx *g = x->g;
    strbuf *c = x->c;
    int wrap = target && target->kind == IR_OPTIONAL && v->type && v->type->kind != IR_OPTIONAL;
    if (v->kind == IR_VAL_PARAM || v->kind == IR_VAL_FIELD || v->kind == IR_VAL_VAR) {
        const char *src = value_src(x, v);
        const char *what = value_name(x, v);
        ind(c, lvl);
        if (needs_conv(v->type, target)) {
            const char *cv = emit_conv(x, lvl, v->type, target);
            sb_printf(c, "if (st == DSP_OK) st = dsp_glue_convert(%s, %s, &%s, err); /* %s */\n", dst, src, cv, what);
        } else {
            sb_printf(c, "if (st == DSP_OK) st = dsp_glue_copy(%s, %s, %d, err); /* %s */\n", dst, src, wrap, what);
        }
        return;
    }
    ind(c, lvl);
    sb_puts(c, "if (st == DSP_OK) st = ");
    switch (v->kind) {
    case IR_VAL_STRING:
        sb_printf(c, "dsp_glue_string(%s, ", dst);
        cg_cstr(g, c, v->s, strlen(v->s), 4 * lvl + 8);
        sb_printf(c, ", %zu, %d, err);\n", strlen(v->s), wrap);
        return;
    case IR_VAL_INT:
        if (target && (target->kind == IR_FLOAT || (target->kind == IR_OPTIONAL && target->elem->kind == IR_FLOAT)))
            sb_printf(c, "dsp_glue_scalar(%s, dsp_value_float(%lld.0), %d, err);\n", dst, v->i, wrap);
        else
            sb_printf(c, "dsp_glue_scalar(%s, dsp_value_int(INT64_C(%lld)), %d, err);\n", dst, v->i, wrap);
        return;
    case IR_VAL_FLOAT:
        sb_printf(c, "dsp_glue_scalar(%s, dsp_value_float(", dst);
        sb_put_double(c, v->f);
        sb_printf(c, "), %d, err);\n", wrap);
        return;
    case IR_VAL_BOOL:
        sb_printf(c, "dsp_glue_scalar(%s, dsp_value_bool(%s), %d, err);\n", dst, v->i ? "true" : "false", wrap);
        return;
    case IR_VAL_ENUM:
        sb_printf(c, "dsp_glue_scalar(%s, dsp_value_enum(%zu), %d, err); /* ", dst,
                   enum_index(v->type ? v->type : target, v->s), wrap);
        cg_comment_text(c, v->s, "");
        sb_puts(c, " */\n");
        return;
    case IR_VAL_PARAM:
    case IR_VAL_FIELD:
    case IR_VAL_VAR:
        return; /* handled above */
    }
}

static const ir_binding *binding_of(const ir_step *s, const char *field)
{
    for (size_t i = 0; i < s->n_bindings; i++)
        if (strcmp(s->bindings[i].field, field) == 0) return &s->bindings[i];
    return NULL;
}

/* Declares `args` and fills it from the step's bindings in field order. */
static void emit_args(mctx *x, int lvl, const ir_step *s, const ir_field *fields, size_t n)
{
    strbuf *c = x->c;
    ind(c, lvl);
    sb_printf(c, "dsp_value args[%zu];\n", n ? n : 1);
    ind(c, lvl);
    sb_puts(c, "memset(args, 0, sizeof args);\n");
    for (size_t i = 0; i < n; i++) {
        const ir_binding *b = binding_of(s, fields[i].name);
        char dst[32];
        snprintf(dst, sizeof dst, "&args[%zu]", i);
        if (!b) {
            ind(c, lvl);
            sb_printf(c, "args[%zu] = dsp_value_none(); /* %s: not bound */\n", i, fields[i].name);
            continue;
        }
        emit_value(x, lvl, &b->value, fields[i].type, dst);
    }
}

/* On failure: say where (as the interpreter does: "Module.var (file:line): ")
 * and leave. where may be NULL. */
static void emit_fail(mctx *x, int lvl, const ir_step *s, const char *where)
{
    ind(x->c, lvl);
    if (where) {
        sb_puts(x->c, "if (st != DSP_OK) {\n");
        ind(x->c, lvl + 1);
        sb_puts(x->c, "dsp_glue_where(err, ");
        const char *w = s->loc.file ? arena_printf(x->g->a, "%s (%s:%d)", where, s->loc.file, s->loc.line) : where;
        cg_cstr(x->g, x->c, w, strlen(w), 4 * (lvl + 1));
        sb_puts(x->c, ");\n");
        ind(x->c, lvl + 1);
        sb_puts(x->c, "goto done;\n");
        ind(x->c, lvl);
        sb_puts(x->c, "}\n");
    } else {
        sb_puts(x->c, "if (st != DSP_OK) goto done;\n");
    }
    x->used_goto = 1;
}

static void emit_loc_comment(mctx *x, int lvl, const ir_step *s, const char *what)
{
    ind(x->c, lvl);
    sb_puts(x->c, "/* ");
    cg_comment_text(x->c, what, "");
    if (s->loc.file) {
        sb_puts(x->c, " (");
        cg_comment_text(x->c, s->loc.file, "");
        sb_printf(x->c, ":%d)", s->loc.line);
    }
    sb_puts(x->c, " */\n");
}

/* A step that hands its inputs to one runtime call and gets the variable's
 * values back: `{ args; if (st == DSP_OK) { decl; free the variable; st =
 * call; } free args; on failure say where }`. decl (or NULL) is a line put
 * before the call. */
static void emit_rt_call(mctx *x, int lvl, const ir_step *s, const char *what, const ir_field *ins, size_t n_in,
                         size_t n_slots, const char *decl, const char *call, const char *where)
{
    strbuf *c = x->c;
    emit_loc_comment(x, lvl, s, what);
    ind(c, lvl);
    sb_puts(c, "{\n");
    emit_args(x, lvl + 1, s, ins, n_in);
    ind(c, lvl + 1);
    sb_puts(c, "if (st == DSP_OK) {\n");
    if (decl) {
        ind(c, lvl + 2);
        sb_printf(c, "%s\n", decl);
    }
    ind(c, lvl + 2);
    sb_printf(c, "dsp_values_free(%s, %zu);\n", var_sym(x, s->var), n_slots);
    ind(c, lvl + 2);
    sb_printf(c, "st = %s;\n", call);
    ind(c, lvl + 1);
    sb_puts(c, "}\n");
    ind(c, lvl + 1);
    sb_printf(c, "dsp_values_free(args, %zu);\n", n_in);
    emit_fail(x, lvl + 1, s, where);
    ind(c, lvl);
    sb_puts(c, "}\n");
}

static void emit_steps(mctx *x, int lvl, const ir_step *steps, size_t n);

static void emit_step(mctx *x, int lvl, const ir_step *s)
{
    cg_ctx *g = x->g;
    strbuf *c = x->c;
    switch (s->kind) {
    case IR_STEP_PREDICT: {
        const ir_predictor *pr = s->predictor;
        const ir_var *v = var_of(x->m, s->var);
        const char *vs = var_sym(x, s->var);
        /* knn_fewshot: the call passes its knn, and libdsprt chooses the demos. */
        const char *knn = cg_knn_opts_sym(g, pr), *ens = cg_ensemble_sym(g, pr);
        const char *call = ens && !s->sampling
            ? arena_printf(g->a, "dsp_ensemble_run(c, &%s, &%s, args, %s, NULL, err)", cg_predictor_sym(g, pr), ens,
                           vs)
            : s->sampling
            ? arena_printf(g->a, "dsp_sample_run(c, &%s, &%s, %s, args, %s, err)", cg_predictor_sym(g, pr),
                           cg_sampling_sym(g, s->sampling),
                           knn ? arena_printf(g->a, "&(const dsp_sample_options){ .predict = &%s }", knn) : "NULL", vs)
            : knn ? arena_printf(g->a, "dsp_predict_ex(c, &%s, &%s, args, %s, NULL, err)", cg_predictor_sym(g, pr),
                                 knn, vs)
                  : arena_printf(g->a, "dsp_predict(c, &%s, args, %s, NULL, err)", cg_predictor_sym(g, pr), vs);
        emit_rt_call(x, lvl, s,
                     arena_printf(g->a, "%s = %s(%s)", s->var, s->sampling ? s->sampling->name : pr->strategy,
                                  pr->signature->name),
                     pr->signature->inputs, pr->signature->n_inputs, v ? ir_var_slots(v) : pr->n_outputs, NULL, call,
                     pr->name);
        return;
    }
    case IR_STEP_MODULE: {
        const ir_module *callee = s->module;
        emit_loc_comment(x, lvl, s, arena_printf(g->a, "%s = %s(...)", s->var, callee->name));
        ind(c, lvl);
        sb_puts(c, "{\n");
        emit_args(x, lvl + 1, s, callee->params, callee->n_params);
        ind(c, lvl + 1);
        sb_puts(c, "if (st == DSP_OK) {\n");
        ind(c, lvl + 2);
        sb_printf(c, "dsp_values_free(%s, %zu);\n", var_sym(x, s->var), callee->n_results);
        /* A trace span of its own, a child of the caller's (dsp/trace.h). */
        const char *sp = arena_printf(g->a, "span_%s", var_sym(x, s->var));
        ind(c, lvl + 2);
        sb_printf(c, "dsp_span %s;\n", sp);
        ind(c, lvl + 2);
        sb_printf(c, "dsp_trace_module_begin(c, \"%s\", -1, &%s);\n", callee->name, sp);
        ind(c, lvl + 2);
        sb_printf(c, "st = m_%s(c, args, %s, err);\n", cg_ident(g->a, callee->name, 0), var_sym(x, s->var));
        ind(c, lvl + 2);
        sb_printf(c, "dsp_trace_module_end(&%s, st, err);\n", sp);
        ind(c, lvl + 1);
        sb_puts(c, "}\n");
        ind(c, lvl + 1);
        sb_printf(c, "dsp_values_free(args, %zu);\n", callee->n_params);
        emit_fail(x, lvl + 1, s, arena_printf(g->a, "%s.%s", x->m->name, s->var));
        ind(c, lvl);
        sb_puts(c, "}\n");
        return;
    }
    case IR_STEP_TOOL: {
        const ir_tool *t = s->tool;
        const ir_var *v = var_of(x->m, s->var);
        emit_loc_comment(x, lvl, s, arena_printf(g->a, "%s = %s(...), a C function", s->var, t->name));
        ind(c, lvl);
        sb_puts(c, "{\n");
        /* args: the IN parameters in C order (lengths and outputs are not arguments). */
        ir_field *pf = arena_array(g->a, t->n_params + 1, sizeof *pf);
        size_t n_in = 0;
        for (size_t i = 0; i < t->n_params; i++) {
            if (t->params[i].role != IR_PARAM_IN) continue;
            pf[n_in].name = t->params[i].name;
            pf[n_in++].type = t->params[i].type;
        }
        emit_args(x, lvl + 1, s, pf, n_in);
        cg_emit_tool_call(g, c, lvl + 1, t, var_sym(x, s->var), v ? ir_var_slots(v) : 1);
        ind(c, lvl + 1);
        sb_printf(c, "dsp_values_free(args, %zu);\n", n_in);
        emit_fail(x, lvl + 1, s, arena_printf(g->a, "%s.%s", x->m->name, s->var));
        ind(c, lvl);
        sb_puts(c, "}\n");
        return;
    }
    case IR_STEP_REACT: {
        /* The loop is libdsprt's; the tables are cg_react.c's. */
        const ir_react *r = s->react;
        const ir_signature *sig = r->extract->signature;
        const ir_var *v = var_of(x->m, s->var);
        emit_rt_call(x, lvl, s, arena_printf(g->a, "%s = react(%s), an agent over C tools", s->var, sig->name),
                     sig->inputs, sig->n_inputs - 1, v ? ir_var_slots(v) : r->extract->n_outputs + 1, NULL,
                     arena_printf(g->a, "dsp_react_run(c, &%s, NULL, args, %s, err)", cg_react_sym(g, r),
                                  var_sym(x, s->var)),
                     arena_printf(g->a, "%s.%s", x->m->name, s->var));
        return;
    }
    case IR_STEP_MCC: {
        const ir_mcc *mc = s->mcc;
        const ir_signature *sig = mc->attempt->signature;
        const ir_var *v = var_of(x->m, s->var);
        emit_rt_call(x, lvl, s, arena_printf(g->a, "%s = multi_chain_comparison(%s, m: %lld)", s->var, sig->name, mc->m),
                     sig->inputs, sig->n_inputs, v ? ir_var_slots(v) : mc->compare->n_outputs,
                     arena_printf(g->a, "static const dsp_mcc mcc = { &%s, &%s, %lld };", cg_predictor_sym(g, mc->attempt),
                                  cg_predictor_sym(g, mc->compare), mc->m),
                     arena_printf(g->a, "dsp_mcc_run(c, &mcc, NULL, NULL, args, %s, err)", var_sym(x, s->var)),
                     arena_printf(g->a, "%s.%s", x->m->name, s->var));
        return;
    }
    case IR_STEP_REPEAT: {
        int id = ++x->n_loops;
        emit_loc_comment(x, lvl, s, arena_printf(g->a, "repeat %lld", s->count));
        ind(c, lvl);
        sb_printf(c, "for (long long i%d = 0; i%d < %lldLL; i%d++) {\n", id, id, s->count, id);
        emit_steps(x, lvl + 1, s->body, s->n_body);
        ind(c, lvl);
        sb_puts(c, "}\n");
        return;
    }
    case IR_STEP_IF: {
        emit_loc_comment(x, lvl, s, "if");
        ind(c, lvl);
        sb_puts(c, "{\n");
        ind(c, lvl + 1);
        sb_puts(c, "dsp_value lhs, rhs;\n");
        ind(c, lvl + 1);
        sb_puts(c, "memset(&lhs, 0, sizeof lhs);\n");
        ind(c, lvl + 1);
        sb_puts(c, "memset(&rhs, 0, sizeof rhs);\n");
        /* Two enums that number their values differently compare by name
         * (a value of one need not exist in the other); anything else as
         * the left side's type. */
        static const ir_type by_name = { .kind = IR_STRING };
        static const ir_type as_float = { .kind = IR_FLOAT };
        static const ir_type as_opt_float = { .kind = IR_OPTIONAL, .elem = &as_float };
        const ir_type *lt = s->lhs.type, *rt = s->rhs.type;
        int names = lt && rt && lt->kind == IR_ENUM && rt->kind == IR_ENUM && !same_enum(lt, rt);
        /* An int against a float compares as floats (2 == 2.0), also inside
         * optionals; a value against an optional as optionals (an absent
         * one equals nothing), as the interpreter does. */
        const ir_type *lb = lt && lt->kind == IR_OPTIONAL ? lt->elem : lt;
        const ir_type *rb = rt && rt->kind == IR_OPTIONAL ? rt->elem : rt;
        int floats = lb && rb && lb->kind == IR_INT && rb->kind == IR_FLOAT;
        int opt = lt && rt && lt->kind != IR_OPTIONAL && rt->kind == IR_OPTIONAL;
        const ir_type *common = names ? &by_name
                              : floats ? (lt->kind == IR_OPTIONAL || rt->kind == IR_OPTIONAL ? &as_opt_float : &as_float)
                              : opt ? rt
                                    : NULL;
        emit_value(x, lvl + 1, &s->lhs, common, "&lhs");
        emit_value(x, lvl + 1, &s->rhs, common ? common : s->lhs.type, "&rhs");
        ind(c, lvl + 1);
        sb_printf(c, "int cond = st == DSP_OK && %sdsp_value_equal(&lhs, &rhs);\n", s->negate ? "!" : "");
        ind(c, lvl + 1);
        sb_puts(c, "dsp_value_free(&lhs);\n");
        ind(c, lvl + 1);
        sb_puts(c, "dsp_value_free(&rhs);\n");
        emit_fail(x, lvl + 1, s, NULL);
        ind(c, lvl + 1);
        sb_puts(c, "if (cond) {\n");
        emit_steps(x, lvl + 2, s->body, s->n_body);
        if (s->n_else) {
            ind(c, lvl + 1);
            sb_puts(c, "} else {\n");
            emit_steps(x, lvl + 2, s->else_body, s->n_else);
        }
        ind(c, lvl + 1);
        sb_puts(c, "}\n");
        ind(c, lvl);
        sb_puts(c, "}\n");
        return;
    }
    case IR_STEP_RETURN: {
        emit_loc_comment(x, lvl, s, "return");
        for (size_t i = 0; i < x->m->n_results; i++) {
            const ir_binding *b = binding_of(s, x->m->results[i].name);
            if (!b) continue;
            char dst[32];
            snprintf(dst, sizeof dst, "&out[%zu]", i);
            emit_value(x, lvl, &b->value, x->m->results[i].type, dst);
        }
        return;
    }
    }
}

static void emit_steps(mctx *x, int lvl, const ir_step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) emit_step(x, lvl, &steps[i]);
}

static void emit_module(cg_ctx *g, strbuf *c, const ir_module *m)
{
    mctx x = {g, NULL, m, 0, 0, 0};
    strbuf body = {0};
    x.c = &body;
    emit_steps(&x, 1, m->steps, m->n_steps);

    sb_printf(c, "/* module %s(", m->name);
    for (size_t i = 0; i < m->n_params; i++) sb_printf(c, "%s%s", i ? ", " : "", m->params[i].name);
    sb_puts(c, ") -> (");
    for (size_t i = 0; i < m->n_results; i++) sb_printf(c, "%s%s", i ? ", " : "", m->results[i].name);
    sb_puts(c, ") */\n");
    sb_printf(c, "static dsp_status m_%s(dsp_client *c, const dsp_value *in, dsp_value *out, dsp_error *err)\n{\n",
               cg_ident(g->a, m->name, 0));
    sb_puts(c, "    dsp_status st = DSP_OK;\n");
    /* Unused-parameter warnings: a module need not use all of these. */
    sb_puts(c, "    (void)c;\n    (void)in;\n");
    for (size_t i = 0; i < m->n_vars; i++) {
        const ir_var *v = &m->vars[i];
        const char *sym = var_sym(&x, v->name);
        size_t n = ir_var_slots(v);
        sb_printf(c, "    dsp_value %s[%zu];\n    memset(%s, 0, sizeof %s);\n", sym, n ? n : 1, sym, sym);
    }
    if (body.p) sb_puts(c, body.p);
    if (body.oom) c->oom = 1;
    sb_free(&body);
    if (x.used_goto) sb_puts(c, "done:\n");
    for (size_t i = 0; i < m->n_vars; i++)
        sb_printf(c, "    dsp_values_free(%s, %zu);\n", var_sym(&x, m->vars[i].name), ir_var_slots(&m->vars[i]));
    sb_printf(c, "    if (st != DSP_OK) dsp_values_free(out, %zu);\n", m->n_results);
    sb_puts(c, "    return st;\n}\n\n");
}

void cg_emit_modules(cg_ctx *g, strbuf *c)
{
    const ir_module **mods;
    size_t n = cg_modules(g, &mods);
    cg_emit_react_glue(g, c);
    cg_emit_sampling_glue(g, c);
    for (size_t i = 0; i < n; i++) emit_module(g, c, mods[i]);
}
