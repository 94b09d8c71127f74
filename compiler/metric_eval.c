/* metric_eval.c — evaluates a metric expression on an example and a
 * prediction: builtins (metric_text.c), comparisons, membership,
 * arithmetic, boolean logic, LM judges through dsp_predict, and C metric
 * functions through the tool loader. */
#include "interp_int.h"
#include "metric_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum mv_kind { MV_ABSENT, MV_NUM, MV_BOOL, MV_STR, MV_LIST, MV_RECORD, MV_MAP } mv_kind;

/* A metric value: numbers are doubles, enums read as their names. */
typedef struct mval {
    mv_kind kind;
    double num;
    bool b;
    char *s;                    /* owned */
    struct mval *items;         /* owned: LIST items, RECORD fields, MAP values */
    size_t n;
    const ir_type *rtype;       /* RECORD: its type (field names) */
    char **keys;                /* MAP: owned, keys[i] for items[i] */
} mval;

typedef struct mctx {
    const ex_runner *r;
    const ex_dataset *d;
    const ex_example *ex;
    const dsp_value *outputs;
    ex_usage *usage;
    ex_item_counts *counts;       /* NULL, or where a set metric leaves its counts */
    char **tool_feedback;         /* a scoring tool's feedback output goes here (NULL: dropped) */
    char **tool_pred;             /* its `feedback_NAME` outputs, by pred_feedback entry (NULL: dropped) */
} mctx;

static void mv_free(mval *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++) {
        mv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static dsp_status nomem(dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory evaluating the metric");
}

static dsp_status mv_str(mval *out, const char *s, size_t n, dsp_error *err)
{
    out->kind = MV_STR;
    out->s = malloc(n + 1);
    if (!out->s)
        return nomem(err);
    memcpy(out->s, s, n);
    out->s[n] = '\0';
    return DSP_OK;
}

static dsp_status from_value(const dsp_value *v, const ir_type *t, mval *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    switch (t->kind) {
    case IR_STRING: return mv_str(out, v->as.s.data ? v->as.s.data : "", v->as.s.len, err);
    case IR_ENUM: {
        const char *name = v->as.e < t->n_values ? t->values[v->as.e] : "";
        return mv_str(out, name, strlen(name), err);
    }
    case IR_INT: out->kind = MV_NUM; out->num = (double)v->as.i; return DSP_OK;
    case IR_FLOAT: out->kind = MV_NUM; out->num = v->as.f; return DSP_OK;
    case IR_BOOL: out->kind = MV_BOOL; out->b = v->as.b; return DSP_OK;
    case IR_OPTIONAL:
        if (v->kind != DSP_TYPE_OPTIONAL || !v->as.some)
            return DSP_OK;  /* MV_ABSENT */
        return from_value(v->as.some, t->elem, out, err);
    case IR_LIST:
        out->kind = MV_LIST;
        out->items = calloc(v->as.list.len + 1, sizeof *out->items);
        if (!out->items)
            return nomem(err);
        for (size_t i = 0; i < v->as.list.len; i++, out->n++) {
            dsp_status rc = from_value(&v->as.list.items[i], t->elem, &out->items[i], err);
            if (rc != DSP_OK)
                return rc;
        }
        return DSP_OK;
    case IR_RECORD:
        out->kind = MV_RECORD;
        out->rtype = t;
        out->items = calloc(t->n_fields + 1, sizeof *out->items);
        if (!out->items)
            return nomem(err);
        for (size_t i = 0; i < t->n_fields && i < v->as.record.len; i++, out->n++) {
            dsp_status rc = from_value(&v->as.record.fields[i], t->fields[i].type, &out->items[i], err);
            if (rc != DSP_OK)
                return rc;
        }
        return DSP_OK;
    case IR_MAP:
        out->kind = MV_MAP;
        out->items = calloc(v->as.map.len + 1, sizeof *out->items);
        out->keys = calloc(v->as.map.len + 1, sizeof *out->keys);
        if (!out->items || !out->keys)
            return nomem(err);
        for (size_t i = 0; i < v->as.map.len; i++, out->n++) {
            size_t kl = strlen(v->as.map.keys[i]);
            out->keys[i] = malloc(kl + 1);
            if (!out->keys[i])
                return nomem(err);
            memcpy(out->keys[i], v->as.map.keys[i], kl + 1);
            dsp_status rc = from_value(&v->as.map.vals[i], t->elem, &out->items[i], err);
            if (rc != DSP_OK)
                return rc;
        }
        return DSP_OK;
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "internal: metric value of unknown type");
}

/* An mval as a runtime value of type t (for judge inputs and tool args). */
static dsp_status to_value(const mval *v, const ir_type *t, dsp_value *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (t->kind == IR_OPTIONAL) {
        if (v->kind == MV_ABSENT) {
            *out = dsp_value_none();
            return DSP_OK;
        }
        dsp_value inner;
        dsp_status rc = to_value(v, t->elem, &inner, err);
        if (rc == DSP_OK)
            rc = dsp_value_some(out, &inner, err);
        dsp_value_free(&inner);
        return rc;
    }
    switch (t->kind) {
    case IR_STRING:
        if (v->kind == MV_STR)
            return dsp_value_set_string(out, v->s, strlen(v->s), err);
        if (v->kind == MV_NUM) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.17g", v->num);
            return dsp_value_set_string(out, buf, strlen(buf), err);
        }
        break;
    case IR_ENUM:
        for (size_t i = 0; v->kind == MV_STR && i < t->n_values; i++)
            if (strcmp(t->values[i], v->s) == 0) {
                *out = dsp_value_enum(i);
                return DSP_OK;
            }
        break;
    case IR_INT:
        if (v->kind != MV_NUM)
            break;
        /* Metric numbers are doubles; an int parameter gets only a whole
         * number an int64_t holds, never a truncated one. */
        if (!(v->num >= -0x1p63 && v->num < 0x1p63) || v->num != trunc(v->num))
            return dsp_error_set(err, DSP_ERR_INVALID, "metric: %.17g is passed as an int, but it is not a whole "
                                 "number in the range of int64_t", v->num);
        *out = dsp_value_int((int64_t)v->num);
        return DSP_OK;
    case IR_FLOAT:
        if (v->kind == MV_NUM) { *out = dsp_value_float(v->num); return DSP_OK; }
        break;
    case IR_BOOL:
        if (v->kind == MV_BOOL) { *out = dsp_value_bool(v->b); return DSP_OK; }
        break;
    case IR_LIST:
        if (v->kind != MV_LIST)
            break;
        *out = dsp_value_list();
        for (size_t i = 0; i < v->n; i++) {
            dsp_value item;
            dsp_status rc = to_value(&v->items[i], t->elem, &item, err);
            if (rc == DSP_OK)
                rc = dsp_value_list_append(out, &item, err);
            if (rc != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(out);
                return rc;
            }
        }
        return DSP_OK;
    case IR_RECORD: {
        if (v->kind != MV_RECORD || !v->rtype || strcmp(v->rtype->name, t->name) != 0)
            break;
        dsp_status rc = dsp_value_record(out, t->n_fields, err);
        for (size_t i = 0; rc == DSP_OK && i < t->n_fields; i++)
            rc = to_value(&v->items[i], t->fields[i].type, &out->as.record.fields[i], err);
        if (rc != DSP_OK)
            dsp_value_free(out);
        return rc;
    }
    case IR_MAP:
        if (v->kind != MV_MAP)
            break;
        *out = dsp_value_map();
        for (size_t i = 0; i < v->n; i++) {
            dsp_value item;
            dsp_status rc = to_value(&v->items[i], t->elem, &item, err);
            if (rc == DSP_OK)
                rc = dsp_value_map_append(out, v->keys[i], &item, err); /* distinct: read from a map */
            if (rc != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(out);
                return rc;
            }
        }
        return DSP_OK;
    default: break;
    }
    char tb[128];
    return dsp_error_set(err, DSP_ERR_INVALID, "metric: a value cannot be passed as %s", ir_type_str(t, tb, sizeof tb));
}

static dsp_status eval(mctx *c, const ir_expr *e, mval *out, dsp_error *err);
static dsp_status format(mctx *c, const ir_expr *e, mval *out, dsp_error *err);

static dsp_status want_num(const mval *v, const char *what, double *out, dsp_error *err)
{
    if (v->kind == MV_NUM) { *out = v->num; return DSP_OK; }
    if (v->kind == MV_BOOL) { *out = v->b ? 1 : 0; return DSP_OK; }
    return dsp_error_set(err, DSP_ERR_INVALID, "metric: %s needs a number, got %s", what,
                         v->kind == MV_ABSENT ? "an absent value" : v->kind == MV_STR ? "text" : "a list");
}

static bool truthy(const mval *v)
{
    switch (v->kind) {
    case MV_BOOL: return v->b;
    case MV_NUM: return v->num != 0;
    case MV_STR: return v->s[0] != '\0';
    case MV_LIST:
    case MV_MAP: return v->n != 0;
    case MV_RECORD: return true;
    default: return false;
    }
}

/* Equality for `==`, `in` and exact_match; `loose` ignores case and
 * surrounding white space in text. */
static bool mv_equal(const mval *a, const mval *b, bool loose)
{
    if (a->kind == MV_ABSENT || b->kind == MV_ABSENT)
        return a->kind == b->kind;
    if ((a->kind == MV_NUM || a->kind == MV_BOOL) && (b->kind == MV_NUM || b->kind == MV_BOOL)) {
        double x = a->kind == MV_NUM ? a->num : a->b, y = b->kind == MV_NUM ? b->num : b->b;
        return x == y;
    }
    if (a->kind != b->kind)
        return false;
    if (a->kind == MV_STR)
        return loose ? mt_text_equal(a->s, b->s) : strcmp(a->s, b->s) == 0;
    if (a->n != b->n)
        return false;
    if (a->kind == MV_MAP) {
        /* The same keys (exactly) with equal values, in any order. */
        for (size_t i = 0; i < a->n; i++) {
            size_t j = 0;
            while (j < b->n && strcmp(a->keys[i], b->keys[j]) != 0)
                j++;
            if (j == b->n || !mv_equal(&a->items[i], &b->items[j], loose))
                return false;
        }
        return true;
    }
    for (size_t i = 0; i < a->n; i++)
        if (!mv_equal(&a->items[i], &b->items[i], loose))
            return false;
    return true;
}

static void set_num(mval *out, double x) { memset(out, 0, sizeof *out); out->kind = MV_NUM; out->num = x; }
static void set_bool(mval *out, bool b) { memset(out, 0, sizeof *out); out->kind = MV_BOOL; out->b = b; }

/* Items of set metrics match when equal after f1's normalization for text
 * (numbers and bools by value); records on the fields `by` names (all of
 * them when by is empty). -1 when out of memory. */
static int item_match(const mval *p, const mval *g, const mval *by, size_t n_by)
{
    if (p->kind == MV_RECORD && g->kind == MV_RECORD && p->rtype && p->n == g->n) {
        for (size_t i = 0; i < p->n; i++) {
            bool keyed = n_by == 0;
            for (size_t k = 0; k < n_by && !keyed; k++)
                keyed = by[k].kind == MV_STR && strcmp(by[k].s, p->rtype->fields[i].name) == 0;
            if (!keyed)
                continue;
            int m = item_match(&p->items[i], &g->items[i], NULL, 0);
            if (m != 1)
                return m;
        }
        return 1;
    }
    if (p->kind == MV_STR && g->kind == MV_STR)
        return mt_norm_equal(p->s, g->s);
    if ((p->kind == MV_LIST && g->kind == MV_LIST) || (p->kind == MV_MAP && g->kind == MV_MAP)) {
        if (p->n != g->n)
            return 0;
        for (size_t i = 0; i < p->n; i++) {
            if (p->kind == MV_MAP && strcmp(p->keys[i], g->keys[i]) != 0)
                return 0;
            int m = item_match(&p->items[i], &g->items[i], NULL, 0);
            if (m != 1)
                return m;
        }
        return 1;
    }
    return mv_equal(p, g, false);
}

/* set_f1 / set_precision / set_recall: the lists as multisets; each gold
 * item matches at most one predicted item. Two empty lists score 1 (nothing
 * to find, nothing wrongly found); one empty list scores 0. */
static dsp_status set_metric(mctx *c, const char *which, const mval *a, size_t n, mval *out, dsp_error *err)
{
    size_t np = a[0].kind == MV_LIST ? a[0].n : 0, ng = a[1].kind == MV_LIST ? a[1].n : 0;
    if (c->counts)
        *c->counts = (ex_item_counts){ true, 0, np, ng };
    if (np == 0 || ng == 0) {
        set_num(out, np == ng ? 1.0 : 0.0);
        return DSP_OK;
    }
    char *used = calloc(ng, 1);
    if (!used)
        return nomem(err);
    size_t tp = 0;
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < ng; j++) {
            if (used[j])
                continue;
            int m = item_match(&a[0].items[i], &a[1].items[j], a + 2, n - 2);
            if (m < 0) {
                free(used);
                return nomem(err);
            }
            if (m) {
                used[j] = 1;
                tp++;
                break;
            }
        }
    free(used);
    if (c->counts)
        c->counts->matched = tp;
    double prec = (double)tp / (double)np, rec = (double)tp / (double)ng;
    if (strcmp(which, "precision") == 0)
        set_num(out, prec);
    else if (strcmp(which, "recall") == 0)
        set_num(out, rec);
    else
        set_num(out, tp ? 2 * prec * rec / (prec + rec) : 0.0);
    return DSP_OK;
}

static dsp_status builtin(mctx *c, const ir_expr *e, mval *a, size_t n, mval *out, dsp_error *err)
{
    const char *f = e->s;
    if (strcmp(f, "exact_match") == 0 && n == 2) {
        set_bool(out, mv_equal(&a[0], &a[1], true));
        return DSP_OK;
    }
    if (strcmp(f, "contains") == 0 && n == 2) {
        if (a[1].kind != MV_STR) {
            set_bool(out, false);
            return DSP_OK;
        }
        bool found = false;
        if (a[0].kind == MV_STR)
            found = mt_text_contains(a[0].s, a[1].s);
        for (size_t i = 0; a[0].kind == MV_LIST && i < a[0].n && !found; i++)
            found = mv_equal(&a[0].items[i], &a[1], true);
        set_bool(out, found);
        return DSP_OK;
    }
    if (strcmp(f, "f1") == 0 && n == 2) {
        /* A list on either side: the best pair (SQuAD scores against every
         * gold answer and keeps the maximum). */
        const mval *ps = a[0].kind == MV_LIST ? a[0].items : &a[0];
        size_t np = a[0].kind == MV_LIST ? a[0].n : 1;
        const mval *gs = a[1].kind == MV_LIST ? a[1].items : &a[1];
        size_t ng = a[1].kind == MV_LIST ? a[1].n : 1;
        double best = 0;
        for (size_t i = 0; i < np; i++)
            for (size_t j = 0; j < ng; j++) {
                if (ps[i].kind != MV_STR || gs[j].kind != MV_STR)
                    continue;
                double s = mt_f1(ps[i].s, gs[j].s);
                if (s < 0)
                    return nomem(err);
                if (s > best)
                    best = s;
            }
        set_num(out, best);
        return DSP_OK;
    }
    double x = 0, y = 0, z = 0;
    dsp_status rc;
    if (strcmp(f, "approx") == 0 && n == 3) {
        if ((rc = want_num(&a[0], "approx", &x, err)) || (rc = want_num(&a[1], "approx", &y, err)) ||
            (rc = want_num(&a[2], "approx", &z, err)))
            return rc;
        set_bool(out, fabs(x - y) <= z);
        return DSP_OK;
    }
    if (strcmp(f, "abs") == 0 && n == 1) {
        if ((rc = want_num(&a[0], "abs", &x, err)))
            return rc;
        set_num(out, fabs(x));
        return DSP_OK;
    }
    if ((strcmp(f, "min") == 0 || strcmp(f, "max") == 0) && n == 2) {
        if ((rc = want_num(&a[0], f, &x, err)) || (rc = want_num(&a[1], f, &y, err)))
            return rc;
        set_num(out, f[1] == 'i' ? fmin(x, y) : fmax(x, y));
        return DSP_OK;
    }
    if (strcmp(f, "len") == 0 && n == 1) {
        set_num(out, a[0].kind == MV_STR ? (double)strlen(a[0].s)
                     : a[0].kind == MV_LIST || a[0].kind == MV_MAP ? (double)a[0].n : 0);
        return DSP_OK;
    }
    if (strncmp(f, "set_", 4) == 0 && n >= 2)
        return set_metric(c, f + 4, a, n, out, err);
    return dsp_error_set(err, DSP_ERR_INVALID, "metric: the interpreter does not know function `%s` with %zu "
                         "arguments", f, n);
}

static dsp_status judge(mctx *c, const ir_expr *e, dsp_error *err, mval *out)
{
    const it_judge *j = it_judge_of(c->r, e);
    const ir_signature *sig = e->judge;
    if (!j)
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: judge(%s) was not prepared", sig->name);
    dsp_value *in = calloc(sig->n_inputs + 1, sizeof *in);
    dsp_value *res = calloc(sig->n_outputs + 1, sizeof *res);
    dsp_status rc = in && res ? DSP_OK : nomem(err);
    for (size_t i = 0; rc == DSP_OK && i < sig->n_inputs; i++) {
        const ir_expr *arg = NULL;
        for (size_t k = 0; k < e->n_args; k++)
            if (strcmp(e->args[k].name, sig->inputs[i].name) == 0)
                arg = e->args[k].value;
        if (!arg) {
            in[i] = dsp_value_none();
            continue;
        }
        mval v;
        rc = eval(c, arg, &v, err);
        if (rc == DSP_OK)
            rc = to_value(&v, sig->inputs[i].type, &in[i], err);
        mv_free(&v);
    }
    if (rc == DSP_OK) {
        dsp_predict_options o = dsp_predict_options_default();
        o.bypass_cache = c->r->bypass_cache;
        dsp_predict_trace tr;
        dsp_predict_trace_init(&tr);
        rc = dsp_predict_ex(c->r->client, j->pred, &o, in, res, &tr, err);
        it_usage_add_trace(c->usage, &tr);
        dsp_predict_trace_free(&tr);
    }
    if (rc == DSP_OK) {
        int fi = -1;
        for (size_t i = 0; i < sig->n_outputs; i++)
            if (strcmp(sig->outputs[i].name, e->field) == 0)
                fi = (int)i;
        rc = fi < 0 ? dsp_error_set(err, DSP_ERR_INVALID, "internal: judge(%s) has no output `%s`", sig->name, e->field)
                    : from_value(&res[fi], sig->outputs[fi].type, out, err);
    }
    if (in)
        dsp_values_free(in, sig->n_inputs);
    if (res)
        dsp_values_free(res, sig->n_outputs);
    free(in);
    free(res);
    return rc;
}

/* A tool in a metric returns its score, or (the whole metric, checked by
 * sema) writes it through an output with, optionally, a feedback text.
 * Arguments are its IN parameters, by name (or by position). */
static dsp_status tool(mctx *c, const ir_expr *e, dsp_error *err, mval *out)
{
    const ir_tool *t = e->tool;
    size_t na = it_tool_n_args(t);
    dsp_value *args = calloc(na + 1, sizeof *args);
    dsp_status rc = args ? DSP_OK : nomem(err);
    for (size_t i = 0, k = 0; rc == DSP_OK && i < t->n_params; i++) {
        const ir_tool_param *p = &t->params[i];
        if (p->role != IR_PARAM_IN)
            continue;
        const ir_expr *arg = k < e->n_args ? e->args[k].value : NULL;
        for (size_t j = 0; j < e->n_args; j++)
            if (e->args[j].name && strcmp(e->args[j].name, p->name) == 0)
                arg = e->args[j].value;
        if (!arg) {
            rc = dsp_error_set(err, DSP_ERR_INVALID, "metric: tool `%s` needs `%s`", t->name, p->name);
            break;
        }
        mval v;
        rc = eval(c, arg, &v, err);
        if (rc == DSP_OK)
            rc = to_value(&v, p->type, &args[k], err);
        mv_free(&v);
        k++;
    }
    size_t n_res = it_tool_n_results(t);
    dsp_value *res = rc == DSP_OK ? calloc(n_res, sizeof *res) : NULL;
    if (rc == DSP_OK && !res)
        rc = nomem(err);
    if (rc == DSP_OK)
        rc = it_tool_call(c->r, t, args, res, err);
    if (rc == DSP_OK && !t->n_outputs)
        rc = from_value(&res[0], t->type, out, err);
    int scored = 0;
    for (size_t i = 0; rc == DSP_OK && i < t->n_outputs; i++) {
        if (t->outputs[i].type->kind != IR_STRING && !scored) {
            rc = from_value(&res[i], t->outputs[i].type, out, err);
            scored = 1;
        } else if (t->outputs[i].type->kind == IR_STRING && res[i].as.s.data) {
            /* A predictor's (sema matched `feedback_NAME` to an entry), else the general one. */
            const ir_metric *m = c->r->metric;
            char **dst = c->tool_feedback;
            for (size_t k = 0; k < m->n_pred_feedback; k++)
                if (m->pred_feedback[k].tool_output && strcmp(m->pred_feedback[k].tool_output, t->outputs[i].name) == 0)
                    dst = c->tool_pred ? &c->tool_pred[k] : NULL;
            if (dst) {
                free(*dst);
                *dst = strndup(res[i].as.s.data, res[i].as.s.len);
            }
        }
    }
    if (res)
        dsp_values_free(res, n_res);
    free(res);
    if (args)
        dsp_values_free(args, na);
    free(args);
    return rc;
}

/* A field's value, or with a path (`pred.person.name`) the value inside it. */
static dsp_status from_path(const dsp_value *v, const ir_type *t, const ir_expr *e, mval *out, dsp_error *err)
{
    const ir_type *at = t;
    const dsp_value *x = it_value_at(v, t, e->path, e->n_path, &at);
    if (!x)
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: `%s` has no field path of %zu steps", e->field,
                             e->n_path);
    return from_value(x, at, out, err);
}

static dsp_status field(mctx *c, const ir_expr *e, mval *out, dsp_error *err)
{
    const ir_module *m = c->r->module;
    if (e->source == IR_SRC_PREDICTION) {
        for (size_t i = 0; i < m->n_results; i++)
            if (strcmp(m->results[i].name, e->field) == 0)
                return from_path(&c->outputs[i], m->results[i].type, e, out, err);
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: module `%s` has no result `%s`", m->name, e->field);
    }
    int fi = ex_dataset_field(c->d, e->field);
    if (fi < 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: examples have no field `%s`", e->field);
    if (!c->ex->present[fi]) {
        if (c->d->fields[fi]->type->kind == IR_OPTIONAL) {
            memset(out, 0, sizeof *out);
            return DSP_OK;
        }
        return dsp_error_set(err, DSP_ERR_INVALID, "%s:%d: the example has no `%s`, which the metric reads",
                             c->d->path, c->ex->line, e->field);
    }
    return from_path(&c->ex->values[fi], c->d->fields[fi]->type, e, out, err);
}

static dsp_status binary(mctx *c, const ir_expr *e, mval *out, dsp_error *err)
{
    mval a = { 0 }, b = { 0 };
    dsp_status rc = eval(c, e->args[0].value, &a, err);
    if (rc != DSP_OK)
        return rc;
    /* and/or short-circuit, so a judge on the right is only asked when needed. */
    if ((e->op == IR_OP_AND && !truthy(&a)) || (e->op == IR_OP_OR && truthy(&a))) {
        set_bool(out, e->op == IR_OP_OR);
        mv_free(&a);
        return DSP_OK;
    }
    rc = eval(c, e->args[1].value, &b, err);
    double x = 0, y = 0;
    if (rc == DSP_OK) {
        switch (e->op) {
        case IR_OP_AND:
        case IR_OP_OR: set_bool(out, truthy(&b)); break;
        case IR_OP_EQ: set_bool(out, mv_equal(&a, &b, false)); break;
        case IR_OP_NE: set_bool(out, !mv_equal(&a, &b, false)); break;
        case IR_OP_IN: {
            bool found = false;
            if (b.kind == MV_LIST)
                for (size_t i = 0; i < b.n && !found; i++)
                    found = mv_equal(&a, &b.items[i], false);
            else if (b.kind == MV_STR && a.kind == MV_STR)
                found = strstr(b.s, a.s) != NULL;
            set_bool(out, found);
            break;
        }
        default:
            if ((rc = want_num(&a, "an arithmetic or comparison operator", &x, err)) == DSP_OK &&
                (rc = want_num(&b, "an arithmetic or comparison operator", &y, err)) == DSP_OK) {
                switch (e->op) {
                case IR_OP_LT: set_bool(out, x < y); break;
                case IR_OP_LE: set_bool(out, x <= y); break;
                case IR_OP_GT: set_bool(out, x > y); break;
                case IR_OP_GE: set_bool(out, x >= y); break;
                case IR_OP_ADD: set_num(out, x + y); break;
                case IR_OP_SUB: set_num(out, x - y); break;
                case IR_OP_MUL: set_num(out, x * y); break;
                case IR_OP_DIV:
                    if (y == 0)
                        rc = dsp_error_set(err, DSP_ERR_INVALID, "metric: division by zero");
                    else
                        set_num(out, x / y);
                    break;
                default: rc = dsp_error_set(err, DSP_ERR_INVALID, "internal: operator %d", (int)e->op);
                }
            }
        }
    }
    mv_free(&a);
    mv_free(&b);
    return rc;
}

/* Appends t to the malloc'ed *s. */
static dsp_status put_text(char **s, const char *t, dsp_error *err)
{
    size_t a = *s ? strlen(*s) : 0, b = strlen(t);
    char *n = realloc(*s, a + b + 1);
    if (!n)
        return nomem(err);
    memcpy(n + a, t, b + 1);
    *s = n;
    return DSP_OK;
}

/* Appends the text of v to the malloc'ed *s: numbers as %g, lists joined
 * with ", ", records and maps as `name: value` pairs in braces, an absent
 * value as "(none)". */
static dsp_status append_text(char **s, const mval *v, dsp_error *err)
{
    char num[64] = "";
    dsp_status rc = DSP_OK;
    switch (v->kind) {
    case MV_STR: return put_text(s, v->s, err);
    case MV_NUM: snprintf(num, sizeof num, "%g", v->num); return put_text(s, num, err);
    case MV_BOOL: return put_text(s, v->b ? "true" : "false", err);
    case MV_ABSENT: return put_text(s, "(none)", err);
    case MV_LIST:
        for (size_t i = 0; i < v->n && rc == DSP_OK; i++)
            if ((rc = put_text(s, i ? ", " : "", err)) == DSP_OK)
                rc = append_text(s, &v->items[i], err);
        return rc;
    case MV_RECORD:
    case MV_MAP:
        rc = put_text(s, "{", err);
        for (size_t i = 0; i < v->n && rc == DSP_OK; i++) {
            const char *key = v->kind == MV_MAP ? v->keys[i] : v->rtype->fields[i].name;
            if ((rc = put_text(s, i ? ", " : "", err)) == DSP_OK && (rc = put_text(s, key, err)) == DSP_OK &&
                (rc = put_text(s, ": ", err)) == DSP_OK)
                rc = append_text(s, &v->items[i], err);
        }
        return rc == DSP_OK ? put_text(s, "}", err) : rc;
    }
    return DSP_OK;
}

/* A feedback text: its parts' texts joined. */
static dsp_status format(mctx *c, const ir_expr *e, mval *out, dsp_error *err)
{
    char *s = calloc(1, 1);
    if (!s)
        return nomem(err);
    dsp_status rc = DSP_OK;
    for (size_t i = 0; i < e->n_args && rc == DSP_OK; i++) {
        mval v;
        rc = eval(c, e->args[i].value, &v, err);
        if (rc == DSP_OK)
            rc = append_text(&s, &v, err);
        mv_free(&v);
    }
    if (rc != DSP_OK) {
        free(s);
        return rc;
    }
    out->kind = MV_STR;
    out->s = s;
    return DSP_OK;
}

static dsp_status eval(mctx *c, const ir_expr *e, mval *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    switch (e->kind) {
    case IR_E_NUMBER: set_num(out, e->number); return DSP_OK;
    case IR_E_BOOL: set_bool(out, e->b != 0); return DSP_OK;
    case IR_E_STRING:
    case IR_E_ENUM: return mv_str(out, e->s, strlen(e->s), err);
    case IR_E_FIELD: return field(c, e, out, err);
    case IR_E_LIST:
    case IR_E_BUILTIN: {
        mval *args = calloc(e->n_args + 1, sizeof *args);
        if (!args)
            return nomem(err);
        dsp_status rc = DSP_OK;
        size_t n = 0;
        for (; n < e->n_args && rc == DSP_OK; n++)
            rc = eval(c, e->args[n].value, &args[n], err);
        if (rc == DSP_OK && e->kind == IR_E_LIST) {
            out->kind = MV_LIST;
            out->items = args;
            out->n = n;
            return DSP_OK;
        }
        if (rc == DSP_OK)
            rc = builtin(c, e, args, n, out, err);
        for (size_t i = 0; i < n; i++)
            mv_free(&args[i]);
        free(args);
        return rc;
    }
    case IR_E_TOOL: return tool(c, e, err, out);
    case IR_E_JUDGE: return judge(c, e, err, out);
    case IR_E_UNARY: {
        mval a;
        dsp_status rc = eval(c, e->args[0].value, &a, err);
        double x = 0;
        if (rc == DSP_OK && e->op == IR_OP_NOT)
            set_bool(out, !truthy(&a));
        else if (rc == DSP_OK && (rc = want_num(&a, "`-`", &x, err)) == DSP_OK)
            set_num(out, -x);
        mv_free(&a);
        return rc;
    }
    case IR_E_BINARY: return binary(c, e, out, err);
    case IR_E_FORMAT: return format(c, e, out, err);
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "internal: metric expression kind %d", (int)e->kind);
}

dsp_status it_metric_score(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                           double *score, ex_usage *usage, ex_item_counts *counts, dsp_error *err)
{
    return it_metric_score_feedback(r, d, row, outputs, score, NULL, NULL, usage, counts, err);
}

dsp_status it_metric_score_feedback(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                                    double *score, char **tool_feedback, char **tool_pred, ex_usage *usage,
                                    ex_item_counts *counts, dsp_error *err)
{
    *score = 0;
    mctx c = { r, d, &d->rows[row], outputs, usage, r->metric->expr->micro ? counts : NULL, tool_feedback,
               tool_pred };
    mval v;
    dsp_status rc = eval(&c, r->metric->expr, &v, err);
    if (rc == DSP_OK) {
        if (v.kind == MV_BOOL)
            *score = v.b ? 1 : 0;
        else if (v.kind == MV_NUM && isfinite(v.num))
            *score = v.num;
        else
            rc = dsp_error_set(err, DSP_ERR_INVALID, "metric `%s` gave %s, not a number or a bool", r->metric->name,
                               v.kind == MV_NUM ? "a non-finite number" : "a non-numeric value");
    }
    mv_free(&v);
    if (rc != DSP_OK) {
        char msg[DSP_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        dsp_error_set(err, rc, "metric `%s`: %s", r->metric->name, msg);
    }
    return rc;
}

dsp_status it_metric_gold_count(const ex_runner *r, const ex_dataset *d, size_t row, ex_item_counts *counts,
                                dsp_error *err)
{
    const ir_expr *e = r->metric->expr;
    memset(counts, 0, sizeof *counts);
    /* The gold list is read from the example alone (a failed run has no
     * prediction to read). */
    const ir_expr *gold = e->micro ? e->args[1].value : NULL;
    if (!gold || gold->kind != IR_E_FIELD || gold->source != IR_SRC_EXAMPLE)
        return DSP_OK;
    ex_usage usage = { 0 };
    mctx c = { r, d, &d->rows[row], NULL, &usage, NULL, NULL, NULL };
    mval g;
    dsp_status rc = eval(&c, gold, &g, err);
    if (rc == DSP_OK)
        *counts = (ex_item_counts){ true, 0, 0, g.kind == MV_LIST ? g.n : 0 };
    mv_free(&g);
    return rc;
}

/* The text of the first arm whose condition holds (malloc'ed), or NULL. */
static char *arms_text(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                       ex_usage *usage, const ir_feedback *arms, size_t n_arms)
{
    const ir_metric *m = r->metric;
    mctx c = { r, d, &d->rows[row], outputs, usage, NULL, NULL, NULL };
    dsp_error err = { 0 };
    char *text = NULL;
    for (size_t k = 0; k < n_arms && !text; k++) {
        mval v;
        dsp_status rc = DSP_OK;
        bool take = true;
        if (arms[k].cond) {
            rc = eval(&c, arms[k].cond, &v, &err);
            take = rc == DSP_OK && truthy(&v);
            mv_free(&v);
        }
        if (rc == DSP_OK && take) {
            rc = eval(&c, arms[k].text, &v, &err);
            if (rc == DSP_OK)
                text = v.kind == MV_STR ? v.s : NULL, v.s = NULL;
            mv_free(&v);
        }
        if (rc != DSP_OK) {
            /* Feedback explains a score; failing to write it leaves the
             * score alone and says why in its place. */
            char buf[DSP_ERROR_MESSAGE_MAX + 64];
            snprintf(buf, sizeof buf, "(the feedback of metric `%s` failed: %s)", m->name, err.message);
            text = strdup(buf);
        }
        dsp_error_clear(&err);
    }
    return text;
}

char *it_metric_feedback(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                         ex_usage *usage)
{
    return arms_text(r, d, row, outputs, usage, r->metric->feedback, r->metric->n_feedback);
}

char *it_metric_pred_feedback(const ex_runner *r, const ex_dataset *d, size_t row, const dsp_value *outputs,
                              ex_usage *usage, size_t k)
{
    const ir_pred_feedback *f = &r->metric->pred_feedback[k];
    return arms_text(r, d, row, outputs, usage, f->arms, f->n_arms);
}
