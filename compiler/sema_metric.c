/* sema_metric.c — metric expressions, checked against the module they
 * score: `ex` is an example (the module's inputs and gold results), `pred`
 * the module's results. Every number is a float in the IR; a bool metric
 * scores 1 or 0. */
#include "sema_int.h"

#include <string.h>

typedef struct xctx {
    sema *s;
    const ast_decl *decl;
    const ir_module *m;
    const ir_data *train;
    int ok;
    const ast_expr *root;         /* the metric's whole expression */
    const ir_tool *scorer;        /* the whole expression's tool when it writes its score */
    src_loc scorer_loc;
} xctx;

/* A scoring tool's output `char **feedback_NAME` is predictor NAME's
 * feedback: NULL when name has no such prefix. */
static const char *feedback_output_target(const char *name)
{
    return strncmp(name, "feedback_", 9) == 0 && name[9] ? name + 9 : NULL;
}

static ir_expr *new_expr(xctx *x, ir_expr_kind k, const ir_type *t)
{
    ir_expr *e = arena_alloc(x->s->a, sizeof *e);
    e->kind = k;
    e->type = t;
    return e;
}

static const ir_type *strip_optional(const ir_type *t)
{
    return t && t->kind == IR_OPTIONAL ? t->elem : t;
}

static int is_number(const ir_type *t)
{
    t = strip_optional(t);
    return t && (t->kind == IR_INT || t->kind == IR_FLOAT || t->kind == IR_BOOL);
}

static int is_text(const ir_type *t)
{
    t = strip_optional(t);
    return t && (t->kind == IR_STRING || t->kind == IR_ENUM);
}

static int is_texts(const ir_type *t)
{
    t = strip_optional(t);
    return is_text(t) || (t && t->kind == IR_LIST && is_text(t->elem));
}

static int compatible(const ir_type *a, const ir_type *b)
{
    a = strip_optional(a);
    b = strip_optional(b);
    if (is_number(a) && is_number(b))
        return 1;
    return sema_assignable(a, b) || sema_assignable(b, a);
}

static const ir_expr *check(xctx *x, const ast_expr *e, const ir_type *hint);

/* Literals and bare names take their type from the other operand, so
 * check that one first. */
static int is_literalish(const ast_expr *e)
{
    return e->kind == AE_NAME || e->kind == AE_STRING || e->kind == AE_LIST;
}

static const char *builtin_names_hint(xctx *x, const char *name)
{
    sema *s = x->s;
    const char **names = arena_array(s->a, bi_n_functions + s->syms.len + 4, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < bi_n_functions; i++)
        names[n++] = bi_functions[i].name;
    names[n++] = "judge";
    names[n++] = x->decl->ex.name;
    names[n++] = x->decl->pred.name;
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *o = s->syms.items[i];
        if (o->kind == SYM_TOOL)
            names[n++] = o->name;
    }
    return sema_did_you_mean(s, name, names, n);
}

static const ir_expr *check_name(xctx *x, const ast_expr *e, const ir_type *hint)
{
    sema *s = x->s;
    const ir_type *et = strip_optional(hint);
    if (strcmp(e->s, x->decl->ex.name) == 0 || strcmp(e->s, x->decl->pred.name) == 0) {
        const ir_field *first = x->m->n_results ? &x->m->results[0] : NULL;
        diag_error(s->d, e->loc, "`%s` is a whole record; read one field, e.g. `%s.%s`", e->s, e->s,
                   first ? first->name : "answer");
        return NULL;
    }
    if (et && et->kind == IR_ENUM) {
        if (ir_enum_has(et, e->s)) {
            ir_expr *r = new_expr(x, IR_E_ENUM, et);
            r->s = e->s;
            return r;
        }
        diag_error(s->d, e->loc, "`%s` is not a value of %s%s", e->s, sema_type_str(s, et),
                   sema_enum_did_you_mean(s, e->s, et));
        return NULL;
    }
    diag_error(s->d, e->loc, "unknown name `%s`%s", e->s, builtin_names_hint(x, e->s));
    return NULL;
}

static const ir_expr *check_field(xctx *x, const ast_expr *e);

/* `pred.person.name`: a field of a record-typed field, kept as one field
 * expression with a path. */
static const ir_expr *check_record_field(xctx *x, const ast_expr *e)
{
    sema *s = x->s;
    const ir_expr *base = check_field(x, e->a);
    if (!base)
        return NULL;
    /* The text the user wrote up to here, for messages. */
    const ast_expr *o = e->a;
    const char *t = o->s;
    for (o = o->a; o && o->kind == AE_FIELD; o = o->a)
        t = arena_printf(s->a, "%s.%s", o->s, t);
    const char *what = arena_printf(s->a, "`%s.%s`", o && o->kind == AE_NAME ? o->s : "?", t);
    const ir_field *f = sema_record_field(s, base->type, e->s, e->loc, what);
    if (!f)
        return NULL;
    ir_expr *r = new_expr(x, IR_E_FIELD, f->type);
    r->source = base->source;
    r->field = base->field;
    const char **path = arena_array(s->a, base->n_path + 2, sizeof *path);
    for (size_t i = 0; i < base->n_path; i++)
        path[i] = base->path[i];
    path[base->n_path] = f->name;
    r->path = path;
    r->n_path = base->n_path + 1;
    return r;
}

/* A metric no optimize block uses has no trainset: a gold-only field is
 * typed from the first data declaration that maps a column to it, so
 * `dspcc eval --metric NAME --data SET` reads it. */
static const ir_data *data_mapping(sema *s, const char *field)
{
    for (size_t i = 0; i < s->syms.len; i++) {
        const sym *sy = s->syms.items[i];
        const ir_data *d = sy->kind == SYM_DATA ? sy->ir : NULL;
        for (size_t k = 0; d && k < d->n_columns; k++)
            if (strcmp(d->columns[k].field, field) == 0)
                return d;
    }
    return NULL;
}

/* For a type error on a gold-only field typed from the data (no type in
 * its mapping): where the type came from, and how to declare another. */
static const char *typed_from_data_hint(xctx *x, const ir_expr *l, const ir_expr *r, int numbers)
{
    const ir_expr *sides[2] = { l, r };
    for (int i = 0; i < 2; i++) {
        const ir_expr *f = sides[i];
        if (f->kind != IR_E_FIELD || f->source != IR_SRC_EXAMPLE || f->n_path > 0 ||
            ir_field_find(x->m->results, x->m->n_results, f->field) ||
            ir_field_find(x->m->params, x->m->n_params, f->field))
            continue;
        const ir_data *d = x->train ? x->train : data_mapping(x->s, f->field);
        const char *column = f->field;
        for (size_t k = 0; d && k < d->n_columns; k++) {
            if (strcmp(d->columns[k].field, f->field) != 0)
                continue;
            if (d->columns[k].type)
                return "";
            column = d->columns[k].column;
        }
        return arena_printf(x->s->a, "; `%s.%s` is %s as its first value in data `%s` reads; if the "
                            "column holds other values, declare its type in the data block (`%s -> %s: "
                            "%s`)", x->decl->ex.name, f->field, sema_type_str(x->s, f->type),
                            d ? d->name : "?", column, f->field,
                            numbers ? "float" : sema_type_str(x->s, sides[1 - i]->type));
    }
    return "";
}

static const ir_expr *check_field(xctx *x, const ast_expr *e)
{
    sema *s = x->s;
    const ast_expr *obj = e->a;
    if (obj->kind == AE_FIELD && obj->a->kind != AE_CALL)
        return check_record_field(x, e);
    if (obj->kind == AE_CALL && obj->a->kind == AE_CALL && obj->a->a->kind == AE_NAME &&
        strcmp(obj->a->a->s, "judge") == 0)
        return NULL;  /* handled by check_judge through check_call */
    if (obj->kind != AE_NAME ||
        (strcmp(obj->s, x->decl->ex.name) != 0 && strcmp(obj->s, x->decl->pred.name) != 0)) {
        diag_error(s->d, e->loc, "only `%s.field`, `%s.field` and judge results have fields",
                   x->decl->ex.name, x->decl->pred.name);
        return NULL;
    }
    int is_pred = strcmp(obj->s, x->decl->pred.name) == 0;
    const ir_field *f = ir_field_find(x->m->results, x->m->n_results, e->s);
    if (!f && !is_pred)
        f = ir_field_find(x->m->params, x->m->n_params, e->s);
    const ir_data *gold = x->train ? x->train : data_mapping(s, e->s);
    if (!f && !is_pred && gold) {
        /* An extra gold field the data carries (aliases, a rationale). */
        const ir_type *t = sema_data_field_type(s, gold, e->s);
        if (t) {
            ir_expr *r = new_expr(x, IR_E_FIELD, t);
            r->source = IR_SRC_EXAMPLE;
            r->field = e->s;
            return r;
        }
    }
    if (!f) {
        if (is_pred && ir_field_find(x->m->params, x->m->n_params, e->s))
            diag_error(s->d, e->loc, "metric reads `%s.%s`, but `%s` is an input of module `%s`, "
                       "not a result it produces; read it from `%s.%s`", obj->s, e->s, e->s,
                       x->m->name, x->decl->ex.name, e->s);
        else if (is_pred)
            diag_error(s->d, e->loc, "metric reads `%s.%s`, but module `%s` produces no field `%s`%s",
                       obj->s, e->s, x->m->name, e->s,
                       sema_field_names_hint(s, e->s, x->m->results, x->m->n_results));
        else {
            size_t n_cols = x->train ? x->train->n_columns : 0, n = 0;
            ir_field *all = arena_array(s->a, x->m->n_params + x->m->n_results + n_cols + 1,
                                        sizeof *all);
            memcpy(all, x->m->params, x->m->n_params * sizeof *all);
            memcpy(all + x->m->n_params, x->m->results, x->m->n_results * sizeof *all);
            n = x->m->n_params + x->m->n_results;
            for (size_t i = 0; i < n_cols; i++)
                all[n++].name = x->train->columns[i].field;
            diag_error(s->d, e->loc, "metric reads `%s.%s`, but examples of module `%s` have no "
                       "field `%s`%s", obj->s, e->s, x->m->name, e->s,
                       sema_field_names_hint(s, e->s, all, n));
        }
        return NULL;
    }
    if (!is_pred && x->train) {
        int found = 0;
        for (size_t i = 0; i < x->train->n_columns; i++)
            found |= strcmp(x->train->columns[i].field, e->s) == 0;
        if (!found) {
            diag_error(s->d, e->loc, "metric reads `%s.%s`, but data set `%s` provides no field `%s`; "
                       "map a column to it: `{ column -> %s }`", obj->s, e->s, x->train->name,
                       e->s, e->s);
            return NULL;
        }
    }
    ir_expr *r = new_expr(x, IR_E_FIELD, f->type);
    r->source = is_pred ? IR_SRC_PREDICTION : IR_SRC_EXAMPLE;
    r->field = f->name;
    return r;
}

static const ir_expr *check_judge(xctx *x, const ast_expr *call, const char *field, src_loc floc)
{
    sema *s = x->s;
    const ast_expr *head = call->a;  /* judge(Sig, lm: x) */
    if (head->args.len < 1 || ((ast_arg *)head->args.items[0])->name.name ||
        ((ast_arg *)head->args.items[0])->value->kind != AE_NAME) {
        diag_error(s->d, head->loc, "write `judge(SignatureName)(input: ...)` or "
                   "`judge(SignatureName, lm: name)(input: ...)`");
        return NULL;
    }
    const ast_expr *sig_name = ((ast_arg *)head->args.items[0])->value;
    ast_ident sid = { .name = sig_name->s, .loc = sig_name->loc };
    sym *sig_sym = sema_expect(s, &sid, SYM_SIGNATURE);
    if (!sig_sym || !sig_sym->ir)
        return NULL;
    const ir_signature *sig = sig_sym->ir;
    const ir_lm *lm = NULL;
    for (size_t i = 1; i < head->args.len; i++) {
        ast_arg *a = head->args.items[i];
        if (!a->name.name || strcmp(a->name.name, "lm") != 0 || a->value->kind != AE_NAME) {
            diag_error(s->d, a->value->loc, "judge takes a signature and optionally `lm: name`");
            return NULL;
        }
        ast_ident lid = { .name = a->value->s, .loc = a->value->loc };
        sym *lsym = sema_expect(s, &lid, SYM_LM);
        if (!lsym || !lsym->ir)
            return NULL;
        lm = lsym->ir;
    }
    ir_expr_arg *args = arena_array(s->a, sig->n_inputs + 1, sizeof *args);
    const ast_arg **by = arena_array(s->a, sig->n_inputs + 1, sizeof *by);
    int ok = 1;
    for (size_t i = 0; i < call->args.len; i++) {
        ast_arg *a = call->args.items[i];
        if (!a->name.name) {
            diag_error(s->d, a->value->loc, "judge inputs are named: `(%s: ...)`",
                       sig->n_inputs ? sig->inputs[0].name : "input");
            ok = 0;
            continue;
        }
        const ir_field *f = ir_field_find(sig->inputs, sig->n_inputs, a->name.name);
        if (!f) {
            diag_error(s->d, a->name.loc, "unknown input `%s` of signature `%s`%s", a->name.name,
                       sig->name, sema_field_names_hint(s, a->name.name, sig->inputs, sig->n_inputs));
            ok = 0;
            continue;
        }
        by[f - sig->inputs] = a;
    }
    size_t n = 0;
    for (size_t i = 0; i < sig->n_inputs; i++) {
        if (!by[i]) {
            if (sig->inputs[i].type->kind != IR_OPTIONAL) {
                diag_error(s->d, call->loc, "missing required input `%s` of signature `%s`",
                           sig->inputs[i].name, sig->name);
                ok = 0;
            }
            continue;
        }
        const ir_expr *v = check(x, by[i]->value, sig->inputs[i].type);
        if (!v) {
            ok = 0;
            continue;
        }
        if (!sema_assignable(v->type, sig->inputs[i].type) &&
            !(is_number(v->type) && is_number(sig->inputs[i].type))) {
            diag_error(s->d, by[i]->value->loc, "input `%s` of signature `%s` is %s, not %s",
                       sig->inputs[i].name, sig->name, sema_type_str(s, sig->inputs[i].type),
                       sema_type_str(s, v->type));
            ok = 0;
            continue;
        }
        args[n].name = sig->inputs[i].name;
        args[n].value = v;
        n++;
    }
    if (!ok)
        return NULL;
    const ir_field *out;
    if (field) {
        out = ir_field_find(sig->outputs, sig->n_outputs, field);
        if (!out) {
            diag_error(s->d, floc, "signature `%s` has no output `%s`%s", sig->name, field,
                       sema_field_names_hint(s, field, sig->outputs, sig->n_outputs));
            return NULL;
        }
    } else if (sig->n_outputs == 1) {
        out = &sig->outputs[0];
    } else {
        diag_error(s->d, call->loc, "signature `%s` has several outputs; pick the one to score, "
                   "e.g. `judge(%s)(...).%s`", sig->name, sig->name, sig->outputs[0].name);
        return NULL;
    }
    ir_expr *r = new_expr(x, IR_E_JUDGE, out->type);
    r->judge = sig;
    r->judge_lm = lm;
    r->field = out->name;
    r->args = args;
    r->n_args = n;
    return r;
}

static const ir_expr *check_tool_call(xctx *x, const ast_expr *e, sym *tsym)
{
    sema *s = x->s;
    const ir_tool *t = tsym->ir;
    if (!t)
        return NULL;
    /* A tool with outputs scores only as the whole metric, writing its
     * score (a number or bool) and, optionally, a feedback text. */
    const ir_type *score_t = NULL;
    size_t n_texts = 0;
    for (size_t i = 0; i < t->n_outputs; i++) {
        if (is_number(t->outputs[i].type) && !score_t)
            score_t = t->outputs[i].type;
        else if (t->outputs[i].type->kind == IR_STRING && feedback_output_target(t->outputs[i].name))
            continue; /* a predictor's feedback (check_feedback) */
        else if (t->outputs[i].type->kind == IR_STRING)
            n_texts++;
        else
            score_t = NULL, n_texts = 2;
    }
    if (t->n_outputs && (e != x->root || !score_t || n_texts > 1)) {
        diag_error(s->d, e->loc, "tool `%s` writes its results through output parameters (%s%s); "
                   "a metric needs a tool that returns its score, e.g. `double %s(...)`, or, as the whole "
                   "metric, one that writes a score and a feedback text, e.g. `int %s(..., double *score, "
                   "char **feedback)` (and `char **feedback_NAME` for predictor NAME)", t->name,
                   t->outputs[0].name, t->n_outputs > 1 ? ", ..." : "", t->name, t->name);
        return NULL;
    }
    if (t->n_outputs) {
        x->scorer = t;
        x->scorer_loc = e->loc;
    }
    /* The arguments are the IN parameters, in C order: a list's length is
     * filled in from the list. */
    const ir_tool_param **ins = arena_array(s->a, t->n_params + 1, sizeof *ins);
    size_t n_ins = 0;
    for (size_t i = 0; i < t->n_params; i++)
        if (t->params[i].role == IR_PARAM_IN)
            ins[n_ins++] = &t->params[i];
    if (e->args.len != n_ins) {
        diag_error(s->d, e->loc, "tool `%s` takes %zu argument%s, got %zu", t->name, n_ins,
                   n_ins == 1 ? "" : "s", e->args.len);
        return NULL;
    }
    ir_expr_arg *args = arena_array(s->a, n_ins + 1, sizeof *args);
    for (size_t i = 0; i < n_ins; i++) {
        ast_arg *a = e->args.items[i];
        const ir_tool_param *p = ins[i];
        if (a->name.name && strcmp(a->name.name, p->name) != 0) {
            diag_error(s->d, a->name.loc, "argument %zu of tool `%s` is `%s`, not `%s`", i + 1,
                       t->name, p->name, a->name.name);
            return NULL;
        }
        const ir_expr *v = check(x, a->value, p->type);
        if (!v)
            return NULL;
        if (!sema_assignable(v->type, p->type) && !(is_number(v->type) && is_number(p->type)) &&
            !(v->type && p->type && v->type->kind == IR_LIST && p->type->kind == IR_LIST &&
              is_number(v->type->elem) && is_number(p->type->elem))) {
            diag_error(s->d, a->value->loc, "parameter `%s` of tool `%s` is %s (%s), not %s",
                       p->name, t->name, sema_type_str(s, p->type), p->ctype,
                       sema_type_str(s, v->type));
            return NULL;
        }
        args[i].name = p->name;
        args[i].value = v;
    }
    const ir_type *rt = score_t ? score_t : t->type;
    rt = rt->kind == IR_INT ? &s->t_float : rt;
    ir_expr *r = new_expr(x, IR_E_TOOL, rt);
    r->tool = t;
    r->args = args;
    r->n_args = n_ins;
    return r;
}

static const ir_expr *check_call(xctx *x, const ast_expr *e, const char *field, src_loc floc)
{
    sema *s = x->s;
    const ast_expr *callee = e->a;
    if (callee->kind == AE_CALL && callee->a->kind == AE_NAME && strcmp(callee->a->s, "judge") == 0)
        return check_judge(x, e, field, floc);
    if (callee->kind != AE_NAME) {
        diag_error(s->d, e->loc, "only functions, tools and `judge(Sig)` can be called");
        return NULL;
    }
    if (strcmp(callee->s, "judge") == 0) {
        diag_error(s->d, e->loc, "`judge(Sig)` is followed by the inputs: "
                   "`judge(Sig)(input: ...).output`");
        return NULL;
    }
    const bi_function *fn = bi_function_find(callee->s);
    if (!fn) {
        sym *t = sema_lookup(s, callee->s);
        if (t && t->kind == SYM_TOOL) {
            t->used = 1;
            return check_tool_call(x, e, t);
        }
        diag_error(s->d, callee->loc, "unknown function `%s`%s", callee->s,
                   builtin_names_hint(x, callee->s));
        return NULL;
    }
    const ast_arg *by = NULL, *average = NULL;
    if (strncmp(fn->name, "set_", 4) == 0 && e->args.len > fn->n_args && e->args.len <= fn->n_args + 2) {
        for (size_t k = fn->n_args; k < e->args.len; k++) {
            const ast_arg *o = e->args.items[k];
            const char *nm = o->name.name;
            const ast_arg **slot = !nm ? NULL : strcmp(nm, "by") == 0 ? &by : strcmp(nm, "average") == 0 ? &average : NULL;
            if (!slot || *slot) {
                diag_error(s->d, o->value->loc, "`%s` takes two lists and optionally `by: field` (or "
                           "`by: [field, ...]`), the record fields items match on, and `average: micro`",
                           fn->name);
                return NULL;
            }
            *slot = o;
        }
    } else if (e->args.len != fn->n_args) {
        diag_error(s->d, e->loc, "`%s` takes %zu argument%s, got %zu", fn->name, fn->n_args,
                   fn->n_args == 1 ? "" : "s", e->args.len);
        return NULL;
    }
    const ptr_vec by_names = by ? (by->value->kind == AE_LIST ? by->value->args : (ptr_vec){ 0 }) : (ptr_vec){ 0 };
    size_t n_by = by ? (by->value->kind == AE_LIST ? by_names.len : 1) : 0;
    ir_expr_arg *args = arena_array(s->a, fn->n_args + n_by + 1, sizeof *args);
    const ir_type *any_t = NULL;
    /* Check non-literal arguments first so literals can take their type. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < fn->n_args; i++) {
            ast_arg *a = e->args.items[i];
            if (is_literalish(a->value) != pass)
                continue;
            if (a->name.name) {
                diag_error(s->d, a->name.loc, "`%s` takes positional arguments: drop `%s:`",
                           fn->name, a->name.name);
                return NULL;
            }
            const ir_expr *v = check(x, a->value, fn->args[i] == BI_ANY ? any_t : NULL);
            if (!v)
                return NULL;
            int good = 1;
            const char *want = "";
            switch (fn->args[i]) {
            case BI_TEXT: good = is_text(v->type); want = "text (string or enum)"; break;
            case BI_TEXTS: good = is_texts(v->type); want = "text or a list of text"; break;
            case BI_NUMBER: good = is_number(v->type); want = "a number"; break;
            case BI_SIZED: {
                const ir_type *b = strip_optional(v->type);
                good = is_text(b) || b->kind == IR_LIST || b->kind == IR_MAP;
                want = "text, a list or a map";
                break;
            }
            case BI_LIST:
                good = strip_optional(v->type)->kind == IR_LIST;
                want = "a list";
                if (good && any_t && !compatible(any_t, v->type)) {
                    good = 0;
                    want = arena_printf(s->a, "a list comparable with %s", sema_type_str(s, any_t));
                }
                if (good && !any_t)
                    any_t = v->type;
                break;
            case BI_ANY:
                if (any_t && !compatible(any_t, v->type)) {
                    good = 0;
                    want = arena_printf(s->a, "comparable with %s", sema_type_str(s, any_t));
                }
                if (!any_t)
                    any_t = v->type;
                break;
            }
            if (!good) {
                diag_error(s->d, a->value->loc, "argument %zu of `%s` must be %s, not %s", i + 1,
                           fn->name, want, sema_type_str(s, v->type));
                return NULL;
            }
            args[i].value = v;
        }
    }
    if (by) {
        /* The fields named must be fields of the items' record type. */
        const ir_type *elem = any_t ? strip_optional(any_t)->elem : NULL;
        for (size_t k = 0; k < n_by; k++) {
            const ast_expr *f = by->value->kind == AE_LIST ? by_names.items[k] : by->value;
            if (f->kind != AE_NAME) {
                diag_error(s->d, f->loc, "`by:` names record fields: `by: text` or `by: [text, type]`");
                return NULL;
            }
            if (!elem || elem->kind != IR_RECORD) {
                diag_error(s->d, f->loc, "`by:` picks fields of records, but the items are %s",
                           elem ? sema_type_str(s, elem) : "not records");
                return NULL;
            }
            const ir_field *rf = sema_record_field(s, elem, f->s, f->loc,
                                                   arena_printf(s->a, "an item of the lists of `%s`", fn->name));
            if (!rf)
                return NULL;
            ir_expr *name = new_expr(x, IR_E_STRING, &s->t_string);
            name->s = rf->name;
            args[fn->n_args + k].name = "by";
            args[fn->n_args + k].value = name;
        }
    }
    ir_expr *r = new_expr(x, IR_E_BUILTIN, fn->result == BI_RESULT_BOOL ? &s->t_bool : &s->t_float);
    r->s = fn->name;
    r->args = args;
    r->n_args = fn->n_args + n_by;
    if (average) {
        const ast_expr *v = average->value;
        if (v->kind != AE_NAME || (strcmp(v->s, "micro") != 0 && strcmp(v->s, "example") != 0)) {
            diag_error(s->d, v->loc, "`average:` is `micro` (every example's items pooled into one score, as "
                       "seqeval and WNUT report span F1) or `example` (the mean of each example's score, the default)");
            return NULL;
        }
        r->micro = strcmp(v->s, "micro") == 0;
        if (r->micro && e != x->root) {
            diag_error(s->d, e->loc, "`%s(..., average: micro)` pools the items of every example into one score, "
                       "so it must be the metric's whole expression: `metric m(ex, pred) = %s(..., average: micro)`",
                       fn->name, fn->name);
            return NULL;
        }
    }
    return r;
}

static ir_op map_op(ast_op op)
{
    switch (op) {
    case OP_OR: return IR_OP_OR;
    case OP_AND: return IR_OP_AND;
    case OP_NOT: return IR_OP_NOT;
    case OP_EQ: return IR_OP_EQ;
    case OP_NE: return IR_OP_NE;
    case OP_LT: return IR_OP_LT;
    case OP_LE: return IR_OP_LE;
    case OP_GT: return IR_OP_GT;
    case OP_GE: return IR_OP_GE;
    case OP_IN: return IR_OP_IN;
    case OP_ADD: return IR_OP_ADD;
    case OP_SUB: return IR_OP_SUB;
    case OP_MUL: return IR_OP_MUL;
    case OP_DIV: return IR_OP_DIV;
    default: return IR_OP_NEG;
    }
}

static const ir_expr *check_binary(xctx *x, const ast_expr *e)
{
    sema *s = x->s;
    const ir_expr *l, *r;
    const char *op = ast_op_text(e->op);
    if (e->op == OP_IN) {
        l = check(x, e->a, NULL);
        if (!l)
            return NULL;
        ir_type *lt = arena_alloc(s->a, sizeof *lt);
        lt->kind = IR_LIST;
        lt->elem = strip_optional(l->type);
        r = check(x, e->b, lt);
        if (!r)
            return NULL;
        const ir_type *rt = strip_optional(r->type);
        int good = (rt->kind == IR_LIST && compatible(l->type, rt->elem)) ||
                   (is_text(rt) && is_text(l->type));
        if (!good) {
            diag_error(s->d, e->loc, "`in` needs a list of %s or a text on its right, not %s",
                       sema_type_str(s, l->type), sema_type_str(s, r->type));
            return NULL;
        }
    } else if (is_literalish(e->a) && !is_literalish(e->b)) {
        r = check(x, e->b, NULL);
        l = r ? check(x, e->a, r->type) : NULL;
    } else {
        l = check(x, e->a, NULL);
        r = l ? check(x, e->b, l->type) : NULL;
    }
    if (!l || !r)
        return NULL;
    const ir_type *t = &s->t_bool;
    switch (e->op) {
    case OP_AND:
    case OP_OR:
        if (strip_optional(l->type)->kind != IR_BOOL || strip_optional(r->type)->kind != IR_BOOL) {
            diag_error(s->d, e->loc, "`%s` needs bools on both sides, not %s and %s", op,
                       sema_type_str(s, l->type), sema_type_str(s, r->type));
            return NULL;
        }
        break;
    case OP_EQ:
    case OP_NE:
        if (!compatible(l->type, r->type)) {
            diag_error(s->d, e->loc, "cannot compare %s with %s%s", sema_type_str(s, l->type),
                       sema_type_str(s, r->type), typed_from_data_hint(x, l, r, 0));
            return NULL;
        }
        break;
    case OP_IN:
        break;
    default:
        if (!is_number(l->type) || !is_number(r->type)) {
            diag_error(s->d, e->loc, "`%s` needs numbers on both sides, not %s and %s%s", op,
                       sema_type_str(s, l->type), sema_type_str(s, r->type), typed_from_data_hint(x, l, r, 1));
            return NULL;
        }
        if (e->op == OP_ADD || e->op == OP_SUB || e->op == OP_MUL || e->op == OP_DIV)
            t = &s->t_float;
    }
    ir_expr *res = new_expr(x, IR_E_BINARY, t);
    res->op = map_op(e->op);
    ir_expr_arg *args = arena_array(s->a, 2, sizeof *args);
    args[0].value = l;
    args[1].value = r;
    res->args = args;
    res->n_args = 2;
    return res;
}

static const ir_expr *check(xctx *x, const ast_expr *e, const ir_type *hint)
{
    sema *s = x->s;
    switch (e->kind) {
    case AE_INT: {
        ir_expr *r = new_expr(x, IR_E_NUMBER, &s->t_float);
        r->number = (double)e->i;
        return r;
    }
    case AE_FLOAT: {
        ir_expr *r = new_expr(x, IR_E_NUMBER, &s->t_float);
        r->number = e->f;
        return r;
    }
    case AE_BOOL: {
        ir_expr *r = new_expr(x, IR_E_BOOL, &s->t_bool);
        r->b = (int)e->i;
        return r;
    }
    case AE_STRING: {
        const ir_type *et = strip_optional(hint);
        if (et && et->kind == IR_ENUM) {
            if (!ir_enum_has(et, e->s)) {
                diag_error(s->d, e->loc, "\"%s\" is not a value of %s%s", e->s, sema_type_str(s, et),
                           sema_enum_did_you_mean(s, e->s, et));
                return NULL;
            }
            ir_expr *r = new_expr(x, IR_E_ENUM, et);
            r->s = e->s;
            return r;
        }
        ir_expr *r = new_expr(x, IR_E_STRING, &s->t_string);
        r->s = e->s;
        return r;
    }
    case AE_NAME:
        return check_name(x, e, hint);
    case AE_FIELD:
        if (e->a->kind == AE_CALL)
            return check_call(x, e->a, e->s, e->loc);
        return check_field(x, e);
    case AE_CALL:
        return check_call(x, e, NULL, e->loc);
    case AE_LIST: {
        const ir_type *eh = hint && hint->kind == IR_LIST ? hint->elem : NULL;
        ir_expr_arg *args = arena_array(s->a, e->args.len + 1, sizeof *args);
        const ir_type *elem = eh;
        for (size_t i = 0; i < e->args.len; i++) {
            const ir_expr *v = check(x, e->args.items[i], elem);
            if (!v)
                return NULL;
            if (elem && !compatible(elem, v->type)) {
                diag_error(s->d, ((ast_expr *)e->args.items[i])->loc, "list element is %s, but "
                           "the list holds %s", sema_type_str(s, v->type), sema_type_str(s, elem));
                return NULL;
            }
            if (!elem)
                elem = v->type;
            args[i].value = v;
        }
        ir_type *lt = arena_alloc(s->a, sizeof *lt);
        lt->kind = IR_LIST;
        lt->elem = elem ? elem : &s->t_string;
        ir_expr *r = new_expr(x, IR_E_LIST, lt);
        r->args = args;
        r->n_args = e->args.len;
        return r;
    }
    case AE_UNARY: {
        const ir_expr *v = check(x, e->a, NULL);
        if (!v)
            return NULL;
        if (e->op == OP_NOT && strip_optional(v->type)->kind != IR_BOOL) {
            diag_error(s->d, e->loc, "`not` needs a bool, not %s", sema_type_str(s, v->type));
            return NULL;
        }
        if (e->op == OP_NEG && !is_number(v->type)) {
            diag_error(s->d, e->loc, "`-` needs a number, not %s", sema_type_str(s, v->type));
            return NULL;
        }
        ir_expr *r = new_expr(x, IR_E_UNARY, e->op == OP_NOT ? &s->t_bool : &s->t_float);
        r->op = map_op(e->op);
        ir_expr_arg *args = arena_array(s->a, 1, sizeof *args);
        args[0].value = v;
        r->args = args;
        r->n_args = 1;
        return r;
    }
    case AE_BINARY:
        return check_binary(x, e);
    }
    return NULL;
}

/* A string literal with `{ex.f}` / `{pred.f}` placeholders as a FORMAT of
 * its pieces (`{{` and `}}` are braces); a string without any stays one. */
static const ir_expr *check_template(xctx *x, const ast_expr *e)
{
    sema *s = x->s;
    ptr_vec parts = { 0 };
    char *lit = arena_alloc(s->a, strlen(e->s) + 1);
    size_t n = 0;
    for (const char *p = e->s;; p++) {
        int brace = *p == '{' && p[1] != '{';
        if ((*p == '\0' || brace) && n) {
            lit[n] = '\0';
            ir_expr *t = new_expr(x, IR_E_STRING, &s->t_string);
            t->s = arena_strdup(s->a, lit);
            ptr_vec_push(s->a, &parts, t);
            n = 0;
        }
        if (*p == '\0')
            break;
        if ((*p == '{' || *p == '}') && p[1] == *p) {
            lit[n++] = *p++;
            continue;
        }
        if (!brace) {
            lit[n++] = *p;
            continue;
        }
        const char *end = strchr(p, '}');
        const char *dot = end ? memchr(p, '.', (size_t)(end - p)) : NULL;
        if (!dot || dot == p + 1 || dot + 1 == end) {
            diag_error(s->d, e->loc, "feedback text: a placeholder is `{%s.FIELD}` or `{%s.FIELD}`; write `{{` "
                       "for a brace", x->decl->ex.name, x->decl->pred.name);
            return NULL;
        }
        ast_expr *obj = arena_alloc(s->a, sizeof *obj), *f = arena_alloc(s->a, sizeof *f);
        *obj = (ast_expr){ .kind = AE_NAME, .loc = e->loc, .s = arena_strndup(s->a, p + 1, (size_t)(dot - p - 1)) };
        *f = (ast_expr){ .kind = AE_FIELD, .loc = e->loc, .s = arena_strndup(s->a, dot + 1, (size_t)(end - dot - 1)),
                         .a = obj };
        const ir_expr *v = check(x, f, NULL);
        if (!v)
            return NULL;
        ptr_vec_push(s->a, &parts, (void *)v);
        p = end;
    }
    if (parts.len == 1 && ((const ir_expr *)parts.items[0])->kind == IR_E_STRING)
        return parts.items[0];
    ir_expr *fmt = new_expr(x, IR_E_FORMAT, &s->t_string);
    ir_expr_arg *args = arena_array(s->a, parts.len + 1, sizeof *args);
    for (size_t i = 0; i < parts.len; i++)
        args[i].value = parts.items[i];
    fmt->args = args;
    fmt->n_args = parts.len;
    return fmt;
}

/* Feedback arms: bool conditions, text values; *out gets them. */
static int check_arms(xctx *x, const ptr_vec *arms, const ir_feedback **out)
{
    sema *s = x->s;
    ir_feedback *fb = arena_array(s->a, arms->len + 1, sizeof *fb);
    int ok = 1;
    for (size_t i = 0; i < arms->len; i++) {
        const ast_feedback *a = arms->items[i];
        if (a->cond) {
            fb[i].cond = check(x, a->cond, NULL);
            if (fb[i].cond && strip_optional(fb[i].cond->type)->kind != IR_BOOL) {
                diag_error(s->d, a->cond->loc, "a feedback condition must be a bool, not %s",
                           sema_type_str(s, fb[i].cond->type));
                fb[i].cond = NULL;
            }
            ok &= fb[i].cond != NULL;
        }
        fb[i].text = a->text->kind == AE_STRING ? check_template(x, a->text) : check(x, a->text, NULL);
        if (fb[i].text && !is_texts(fb[i].text->type)) {
            diag_error(s->d, a->text->loc, "feedback must be text (a string, `{...}` placeholders, or a judge's "
                       "string output), not %s", sema_type_str(s, fb[i].text->type));
            fb[i].text = NULL;
        }
        ok &= fb[i].text != NULL;
    }
    *out = fb;
    return ok;
}

/* `q1` or `Module.q1` as written; NULL for anything else. */
static const char *target_text(sema *s, const ast_expr *e)
{
    if (e->kind == AE_NAME)
        return e->s;
    if (e->kind == AE_FIELD && e->a && e->a->kind == AE_NAME)
        return arena_printf(s->a, "%s.%s", e->a->s, e->s);
    return NULL;
}

/* The general feedback arms, then each predictor's (`feedback NAME:`
 * clauses and a scoring tool's `feedback_NAME` outputs), every predictor
 * named once. */
static int check_feedback(xctx *x, ir_metric *mi)
{
    sema *s = x->s;
    const ast_decl *d = x->decl;
    int ok = check_arms(x, &d->feedback, &mi->feedback);
    mi->n_feedback = d->feedback.len;
    size_t n_out = 0;
    for (size_t i = 0; x->scorer && i < x->scorer->n_outputs; i++)
        n_out += x->scorer->outputs[i].type->kind == IR_STRING &&
                 feedback_output_target(x->scorer->outputs[i].name) != NULL;
    ir_pred_feedback *pf = arena_array(s->a, d->pred_feedback.len + n_out + 1, sizeof *pf);
    size_t n = 0;
    for (size_t i = 0; i < d->pred_feedback.len + n_out; i++) {
        ir_pred_feedback *f = &pf[n];
        src_loc at;
        if (i < d->pred_feedback.len) {
            const ast_pred_feedback *c = d->pred_feedback.items[i];
            at = c->target->kind == AE_FIELD && c->target->a ? c->target->a->loc : c->target->loc;
            f->target = target_text(s, c->target);
            if (!f->target) {
                diag_error(s->d, at, "`feedback NAME:` names a predictor: its binding in the module (`q1` in "
                           "`q1 = predict(...)`) or `Module.q1`");
                ok = 0;
                continue;
            }
            ok &= check_arms(x, &c->arms, &f->arms);
            f->n_arms = c->arms.len;
        } else {
            size_t k = 0;
            for (size_t o = 0, seen = 0; o < x->scorer->n_outputs; o++)
                if (x->scorer->outputs[o].type->kind == IR_STRING &&
                    feedback_output_target(x->scorer->outputs[o].name) && seen++ == i - d->pred_feedback.len)
                    k = o;
            at = x->scorer_loc;
            f->tool_output = x->scorer->outputs[k].name;
            f->target = feedback_output_target(f->tool_output);
        }
        f->preds = sema_feedback_target(s, x->m, f->target, at, d->name.name, &f->n_preds);
        if (!f->preds) {
            if (f->tool_output)
                diag_note(s->d, at, "tool `%s` writes it through its output `%s`", x->scorer->name, f->tool_output);
            ok = 0;
            continue;
        }
        for (size_t j = 0; j < n; j++)
            for (size_t a = 0; a < pf[j].n_preds; a++)
                for (size_t b = 0; b < f->n_preds; b++)
                    if (strcmp(pf[j].preds[a], f->preds[b]) == 0 && ok) {
                        diag_error(s->d, at, "metric `%s` has feedback for predictor `%s` twice (`%s` and `%s`); "
                                   "keep one", d->name.name, f->preds[b], pf[j].target, f->target);
                        ok = 0;
                    }
        n++;
    }
    mi->pred_feedback = pf;
    mi->n_pred_feedback = n;
    return ok;
}

const ir_metric *sema_check_metric(sema *s, sym *metric, const ir_module *m, const ir_data *train,
                                   const ast_ident *use)
{
    for (size_t i = 0; i < metric->instances.len; i++) {
        const ir_metric *mi = metric->instances.items[i];
        if (strcmp(mi->module, m->name) == 0)
            return mi;
    }
    const ast_decl *d = metric->decl;
    if (strcmp(d->ex.name, d->pred.name) == 0) {
        diag_error(s->d, d->pred.loc, "the two parameters of metric `%s` need different names, "
                   "e.g. `(ex, pred)`", metric->name);
        return NULL;
    }
    xctx x = { .s = s, .decl = d, .m = m, .train = train, .ok = 1, .root = d->expr };
    int before = s->d->errors;
    const ir_expr *e = check(&x, d->expr, NULL);
    if (e && !is_number(e->type)) {
        diag_error(s->d, d->expr->loc, "metric `%s` produces %s; a metric must produce a number or "
                   "a bool", metric->name, sema_type_str(s, e->type));
        e = NULL;
    }
    if (!e) {
        if (s->d->errors > before)
            diag_note(s->d, use->loc, "metric `%s` is checked against module `%s` here",
                      metric->name, m->name);
        return NULL;
    }
    ir_metric *mi = arena_alloc(s->a, sizeof *mi);
    mi->name = metric->name;
    mi->module = m->name;
    mi->expr = e;
    if (!check_feedback(&x, mi)) {
        diag_note(s->d, use->loc, "metric `%s` is checked against module `%s` here", metric->name, m->name);
        return NULL;
    }
    mi->loc = sema_loc(s, d->loc);
    ptr_vec_push(s->a, &metric->instances, mi);
    return mi;
}
