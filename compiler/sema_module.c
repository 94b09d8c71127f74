/* sema_module.c — module headers and bodies: calls of predictors, modules
 * and tools with their field bindings, repeat, if, return.
 *
 * Variables: every `x = call(...)` names a variable. A name keeps one shape
 * (the outputs of one signature, module or tool) for the whole module, so
 * each becomes one C local later. A variable is visible after its
 * assignment; after `repeat` (which runs at least once) its body's
 * variables stay visible; after `if`, those assigned in both branches. */
#include "sema_int.h"

#include <string.h>

typedef struct var_info {
    const char *name;
    src_loc loc;
    ir_var_kind kind;
    const void *shape;        /* ir_signature+strategy, ir_module or ir_tool */
    const ir_field *fields;   /* records */
    size_t n_fields;
    const ir_type *type;      /* tool scalar */
    const char *origin;       /* for messages: "the outputs of signature `S`" */
    int used;
    int broken;               /* its call had an error: uses stay silent (no cascade) */
} var_info;

typedef struct mctx {
    sema *s;
    sym *sy;
    ir_module *m;
    ptr_vec vars;             /* var_info *, every variable of the module */
    ptr_vec visible;          /* var_info * in scope */
    ptr_vec predictors;       /* ir_predictor * */
    int ok;
} mctx;

int sema_assignable(const ir_type *from, const ir_type *to)
{
    if (!from || !to)
        return 1;  /* an earlier error; do not pile on */
    if (ir_type_equal(from, to))
        return 1;
    if (to->kind == IR_OPTIONAL)
        return sema_assignable(from->kind == IR_OPTIONAL ? from->elem : from, to->elem);
    switch (from->kind) {
    case IR_ENUM:
        if (to->kind == IR_STRING)
            return 1;  /* an enum value is text */
        if (to->kind == IR_ENUM) {
            for (size_t i = 0; i < from->n_values; i++)
                if (!ir_enum_has(to, from->values[i]))
                    return 0;
            return 1;
        }
        return 0;
    case IR_INT:
        return to->kind == IR_FLOAT;
    case IR_LIST:
    case IR_MAP:
        return to->kind == from->kind && sema_assignable(from->elem, to->elem);
    default:
        return 0;
    }
}

static var_info *find_visible(mctx *mc, const char *name)
{
    for (size_t i = mc->visible.len; i-- > 0;) {
        var_info *v = mc->visible.items[i];
        if (strcmp(v->name, name) == 0)
            return v;
    }
    return NULL;
}

static var_info *find_var(mctx *mc, const char *name)
{
    for (size_t i = 0; i < mc->vars.len; i++) {
        var_info *v = mc->vars.items[i];
        if (strcmp(v->name, name) == 0)
            return v;
    }
    return NULL;
}

static const char *visible_hint(mctx *mc, const char *name)
{
    size_t n = mc->visible.len + mc->m->n_params;
    const char **names = arena_array(mc->s->a, n + 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < mc->m->n_params; i++)
        names[k++] = mc->m->params[i].name;
    for (size_t i = 0; i < mc->visible.len; i++)
        names[k++] = ((var_info *)mc->visible.items[i])->name;
    return sema_did_you_mean(mc->s, name, names, k);
}

/* Resolves a value; `expected` (may be NULL) lets a bare name or a string
 * literal stand for an enum value. Returns 0 after reporting an error. */
/* Follows `a.b.c` into records: the idents after the variable are
 * v->field then v->path; from the `start`th of them, starting at type t.
 * Sets out->path and out->type. */
static int record_path(mctx *mc, const ast_value *v, const ir_type *t, size_t start, const char *what,
                       ir_value *out)
{
    sema *s = mc->s;
    size_t n = 1 + v->path.len;
    const char **path = arena_array(s->a, n + 1, sizeof *path);
    size_t k = 0;
    for (size_t i = start; i < n; i++) {
        const ast_ident *id = i == 0 ? &v->field : v->path.items[i - 1];
        const ir_field *f = sema_record_field(s, t, id->name, id->loc, arena_printf(s->a, "`%s`", what));
        if (!f)
            return 0;
        path[k++] = f->name;
        t = f->type;
        what = arena_printf(s->a, "%s.%s", what, f->name);
    }
    out->path = path;
    out->n_path = k;
    out->type = t;
    return 1;
}

static int resolve_value(mctx *mc, const ast_value *v, const ir_type *expected, ir_value *out)
{
    sema *s = mc->s;
    memset(out, 0, sizeof *out);
    const ir_type *enum_t = expected && expected->kind == IR_OPTIONAL ? expected->elem : expected;
    if (enum_t && enum_t->kind != IR_ENUM)
        enum_t = NULL;
    switch (v->kind) {
    case AV_STRING:
        if (enum_t) {
            if (!ir_enum_has(enum_t, v->s)) {
                diag_error(s->d, v->loc, "\"%s\" is not a value of %s%s", v->s,
                           sema_type_str(s, enum_t),
                           sema_enum_did_you_mean(s, v->s, enum_t));
                return 0;
            }
            out->kind = IR_VAL_ENUM;
            out->type = enum_t;
        } else {
            out->kind = IR_VAL_STRING;
            out->type = &s->t_string;
        }
        out->s = v->s;
        return 1;
    case AV_INT:
        out->kind = IR_VAL_INT;
        out->type = &s->t_int;
        out->i = v->i;
        return 1;
    case AV_FLOAT:
        out->kind = IR_VAL_FLOAT;
        out->type = &s->t_float;
        out->f = v->f;
        return 1;
    case AV_BOOL:
        out->kind = IR_VAL_BOOL;
        out->type = &s->t_bool;
        out->i = v->i;
        return 1;
    case AV_NAME: {
        const ir_field *p = ir_field_find(mc->m->params, mc->m->n_params, v->s);
        if ((p || find_visible(mc, v->s)) && enum_t && ir_enum_has(enum_t, v->s))
            diag_warning(s->d, v->loc, "`%s` is both %s and a value of %s; it reads the %s here: write \"%s\" for "
                         "the value, or rename the %s", v->s, p ? "a parameter" : "a variable",
                         sema_type_str(s, enum_t), p ? "parameter" : "variable", v->s, p ? "parameter" : "variable");
        if (p) {
            out->kind = IR_VAL_PARAM;
            out->type = p->type;
            out->name = p->name;
            return 1;
        }
        var_info *var = find_visible(mc, v->s);
        if (var) {
            var->used = 1;
            if (var->broken)
                return 0;
            if (var->kind == IR_VAR_TOOL && var->n_fields > 0) {
                const char *names = var->fields[0].name;
                for (size_t k = 1; k < var->n_fields; k++)
                    names = arena_printf(s->a, "%s, %s", names, var->fields[k].name);
                diag_error(s->d, v->loc, "`%s` holds %s (%s); pick one, e.g. `%s.%s`", v->s,
                           var->origin, names, v->s, var->fields[0].name);
                return 0;
            }
            if (var->n_fields > 0) {
                diag_error(s->d, v->loc, "`%s` holds several fields (%s%s...); pick one, e.g. `%s.%s`",
                           v->s, var->fields[0].name, var->n_fields > 1 ? ", " : "", v->s,
                           var->fields[var->n_fields > 1 ? 1 : 0].name);
                return 0;
            }
            out->kind = IR_VAL_VAR;
            out->type = var->type;
            out->name = var->name;
            return 1;
        }
        if (enum_t && ir_enum_has(enum_t, v->s)) {
            out->kind = IR_VAL_ENUM;
            out->type = enum_t;
            out->s = v->s;
            return 1;
        }
        if (find_var(mc, v->s)) {
            diag_error(s->d, v->loc, "`%s` is not assigned on every path to here (it is set inside "
                       "an `if` branch); assign it in both branches or before the `if`", v->s);
            return 0;
        }
        if (enum_t) {
            diag_error(s->d, v->loc, "`%s` is neither a name in scope nor a value of %s%s", v->s,
                       sema_type_str(s, enum_t),
                       sema_enum_did_you_mean(s, v->s, enum_t));
            return 0;
        }
        diag_error(s->d, v->loc, "unknown name `%s`%s", v->s, visible_hint(mc, v->s));
        return 0;
    }
    case AV_FIELD: {
        var_info *var = find_visible(mc, v->s);
        const ir_field *param = var ? NULL : ir_field_find(mc->m->params, mc->m->n_params, v->s);
        if (param && param->type->kind == IR_RECORD) {
            /* `person.name` of a record parameter: the whole dotted path. */
            out->kind = IR_VAL_PARAM;
            out->name = param->name;
            return record_path(mc, v, param->type, 0, v->s, out);
        }
        if (!var) {
            if (param)
                diag_error(s->d, v->loc, "parameter `%s` is a single value; write `%s` without "
                           "`.%s`", v->s, v->s, v->field.name);
            else
                diag_error(s->d, v->loc, "unknown name `%s`%s", v->s, visible_hint(mc, v->s));
            return 0;
        }
        var->used = 1;
        if (var->broken)
            return 0;
        if (var->n_fields == 0) {
            diag_error(s->d, v->field.loc, "`%s` is the single result of a tool; write `%s` without "
                       "`.%s`", v->s, v->s, v->field.name);
            return 0;
        }
        const ir_field *f = ir_field_find(var->fields, var->n_fields, v->field.name);
        if (!f) {
            diag_error(s->d, v->field.loc, "unknown field `%s` of `%s` (%s)%s", v->field.name, v->s,
                       var->origin, sema_field_names_hint(s, v->field.name, var->fields, var->n_fields));
            return 0;
        }
        out->kind = IR_VAL_FIELD;
        out->type = f->type;
        out->name = var->name;
        out->field = f->name;
        if (v->path.len == 0)
            return 1;
        return record_path(mc, v, f->type, 1, arena_printf(s->a, "%s.%s", v->s, f->name), out);
    }
    case AV_LIST:
        if (expected && expected->kind == IR_LIST)
            diag_error(s->d, v->loc, "a list literal `[...]` cannot be an argument: pass a list value instead, "
                       "a module parameter of type `%s` or a list field of an earlier result (the caller builds "
                       "the list)", sema_type_str(s, expected));
        else
            diag_error(s->d, v->loc, "a list literal `[...]` cannot be a value here; %s", expected
                       ? "give one value" : "compare a field with one value (or use `in [...]` in a metric)");
        return 0;
    }
    return 0;
}

static const char *value_text(sema *s, const ast_value *v)
{
    switch (v->kind) {
    case AV_NAME: return v->s;
    case AV_FIELD: {
        const char *t = arena_printf(s->a, "%s.%s", v->s, v->field.name);
        for (size_t i = 0; i < v->path.len; i++)
            t = arena_printf(s->a, "%s.%s", t, ((ast_ident *)v->path.items[i])->name);
        return t;
    }
    case AV_STRING: return arena_printf(s->a, "\"%.40s\"", v->s);
    case AV_INT: return arena_printf(s->a, "%lld", v->i);
    case AV_BOOL: return v->i ? "true" : "false";
    case AV_FLOAT: return arena_printf(s->a, "%g", v->f);
    default: return "this value";
    }
}

/* Binds named arguments to the callee's inputs, in input order. */
static ir_binding *check_bindings(mctx *mc, const ptr_vec *bindings, const char *callee,
                                  const ir_field *inputs, size_t n_inputs,
                                  const ir_field *outputs, size_t n_outputs, src_loc call_loc,
                                  size_t *n_out)
{
    sema *s = mc->s;
    ir_binding *out = arena_array(s->a, n_inputs + 1, sizeof *out);
    const ast_binding **by_input = arena_array(s->a, n_inputs + 1, sizeof *by_input);
    for (size_t i = 0; i < bindings->len; i++) {
        const ast_binding *b = bindings->items[i];
        const ir_field *f = ir_field_find(inputs, n_inputs, b->name.name);
        if (!f) {
            if (ir_field_find(outputs, n_outputs, b->name.name))
                diag_error(s->d, b->name.loc, "`%s` is an output of %s, not an input; only inputs "
                           "are bound in a call", b->name.name, callee);
            else
                diag_error(s->d, b->name.loc, "unknown input `%s` of %s%s", b->name.name, callee,
                           sema_field_names_hint(s, b->name.name, inputs, n_inputs));
            mc->ok = 0;
            continue;
        }
        size_t idx = (size_t)(f - inputs);
        if (by_input[idx]) {
            diag_error(s->d, b->name.loc, "input `%s` is bound twice", b->name.name);
            mc->ok = 0;
            continue;
        }
        by_input[idx] = b;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_inputs; i++) {
        const ast_binding *b = by_input[i];
        if (!b) {
            if (inputs[i].type->kind != IR_OPTIONAL) {
                diag_error(s->d, call_loc, "missing required input `%s` (%s) of %s; bind it with "
                           "`%s: ...`", inputs[i].name, sema_type_str(s, inputs[i].type), callee,
                           inputs[i].name);
                mc->ok = 0;
            }
            continue;
        }
        ir_value v;
        if (!resolve_value(mc, b->value, inputs[i].type, &v)) {
            mc->ok = 0;
            continue;
        }
        if (!sema_assignable(v.type, inputs[i].type)) {
            diag_error(s->d, b->value->loc, "cannot pass `%s` (%s) to input `%s` of %s, which is %s",
                       value_text(s, b->value), sema_type_str(s, v.type), inputs[i].name, callee,
                       sema_type_str(s, inputs[i].type));
            const ir_type *rt = v.type->kind == IR_OPTIONAL ? v.type->elem : v.type;
            if (strncmp(callee, "tool ", 5) == 0 && rt->kind == IR_RECORD && rt->n_fields &&
                inputs[i].type->kind != IR_RECORD)
                /* A record goes to a struct parameter of the header, or
                 * field by field to scalar ones. */
                diag_note(s->d, b->value->loc,
                          "a C tool takes a record only where its header has a struct parameter (`const %s *%s`, "
                          "docs/c-headers.md); this one takes a scalar: pass the fields one by one (`%s: %s.%s`, "
                          "...)", rt->name, inputs[i].name, inputs[i].name, value_text(s, b->value),
                          rt->fields[0].name);
            mc->ok = 0;
            continue;
        }
        out[n].field = inputs[i].name;
        out[n].value = v;
        n++;
    }
    *n_out = n;
    return out;
}

/* Declares (or re-assigns) a variable; 0 if the name is taken by another shape. */
static var_info *assign_var(mctx *mc, const ast_ident *name, ir_var_kind kind, const void *shape,
                            const ir_field *fields, size_t n_fields, const ir_type *type,
                            const char *origin)
{
    sema *s = mc->s;
    if (ir_field_find(mc->m->params, mc->m->n_params, name->name)) {
        diag_error(s->d, name->loc, "`%s` is a parameter of module `%s`; give the result another name",
                   name->name, mc->m->name);
        return NULL;
    }
    var_info *v = find_var(mc, name->name);
    if (v) {
        if (v->broken)
            return NULL;  /* its first call was reported; stay quiet */
        if (v->shape != shape) {
            diag_error(s->d, name->loc, "`%s` already holds the result of another call; a variable "
                       "keeps one shape, so use a new name", name->name);
            diag_note(s->d, v->loc, "`%s` is first assigned here", name->name);
            /* Still assigned here (with its first shape), so the branch
             * counts for visibility after an `if` and later reads are not
             * reported again as unknown names. */
            v->used = 1;
            if (find_visible(mc, v->name) != v)
                ptr_vec_push(s->a, &mc->visible, v);
            return NULL;
        }
    } else {
        v = arena_alloc(s->a, sizeof *v);
        v->name = name->name;
        v->loc = name->loc;
        v->kind = kind;
        v->shape = shape;
        v->fields = fields;
        v->n_fields = n_fields;
        v->type = type;
        v->origin = origin;
        ptr_vec_push(s->a, &mc->vars, v);
    }
    if (find_visible(mc, v->name) != v)
        ptr_vec_push(s->a, &mc->visible, v);
    return v;
}

static const char *predictor_name(mctx *mc, const char *var)
{
    const char *base = arena_printf(mc->s->a, "%s.%s", mc->m->name, var);
    const char *name = base;
    for (int k = 2;; k++) {
        int taken = 0;
        size_t nl = strlen(name);
        for (size_t i = 0; i < mc->predictors.len; i++) {
            /* "M.v.react" and "M.v.extract" of a react call take "M.v" too. */
            const char *pn = ((ir_predictor *)mc->predictors.items[i])->name;
            taken |= strncmp(pn, name, nl) == 0 && (pn[nl] == '\0' || pn[nl] == '.');
        }
        if (!taken)
            return name;
        name = arena_printf(mc->s->a, "%s_%d", base, k);
    }
}

/* One shape per (signature, strategy) pair, so re-running the same call
 * in a loop re-assigns the same variable: the first predictor's outputs
 * array stands for the pair. */
static const void *pred_shape_of(mctx *mc, const ir_signature *sig, const bi_strategy *st)
{
    for (size_t i = 0; i < mc->predictors.len; i++) {
        ir_predictor *p = mc->predictors.items[i];
        if (p->signature == sig && strcmp(p->strategy, st->name) == 0)
            return p->outputs;  /* stable address per pair */
    }
    return NULL;
}

/* The fields of an earlier variable made by the same strategy over the
 * same signature (origin names both): one shape, so the name may be
 * assigned again. NULL if there is none. */
static const ir_field *shape_by_origin(mctx *mc, const char *origin)
{
    for (size_t i = 0; i < mc->vars.len; i++) {
        var_info *v = mc->vars.items[i];
        if (v->origin && strcmp(v->origin, origin) == 0)
            return v->fields;
    }
    return NULL;
}

/* `v = react(Sig, tools: [...])(inputs)`: the variable holds the extract
 * predictor's outputs (reasoning, then Sig's), then `trajectory`. */
static int check_react(mctx *mc, const ast_stmt *st, ir_step *step, const ir_signature *sig)
{
    sema *s = mc->s;
    const ast_call *c = st->call;
    const char *callee = arena_printf(s->a, "signature `%s`", sig->name);
    size_t nb;
    const ir_binding *b = check_bindings(mc, &c->bindings, callee, sig->inputs, sig->n_inputs, sig->outputs,
                                         sig->n_outputs, c->loc, &nb);
    const char *base = predictor_name(mc, st->var.name);
    ir_react *r = sema_react_build(s, c, sig, base, mc->m->name);
    if (!r)
        return 0;
    const char *origin = arena_printf(s->a, "the outputs of react(%s)", sig->name);
    const ir_field *fields = shape_by_origin(mc, origin);
    size_t n_fields = r->extract->n_outputs + 1;
    if (!fields) {
        ir_field *f = arena_array(s->a, n_fields + 1, sizeof *f);
        memcpy(f, r->extract->outputs, r->extract->n_outputs * sizeof *f);
        f[n_fields - 1] = (ir_field){ "trajectory", &s->t_string, "The agent's thoughts, tool calls and observations" };
        fields = f;
    }
    if (!assign_var(mc, &st->var, IR_VAR_PREDICT, fields, fields, n_fields, NULL, origin))
        return 0;
    ptr_vec_push(s->a, &mc->predictors, (void *)r->step);
    ptr_vec_push(s->a, &mc->predictors, (void *)r->extract);
    step->kind = IR_STEP_REACT;
    step->react = r;
    step->bindings = b;
    step->n_bindings = nb;
    return 1;
}

/* `v = multi_chain_comparison(Sig, m: 3)(inputs)`: the variable holds the
 * compare predictor's outputs (rationale, then Sig's). */
static int check_mcc(mctx *mc, const ast_stmt *st, ir_step *step, const ir_signature *sig)
{
    sema *s = mc->s;
    const ast_call *c = st->call;
    const char *callee = arena_printf(s->a, "signature `%s`", sig->name);
    size_t nb;
    const ir_binding *b = check_bindings(mc, &c->bindings, callee, sig->inputs, sig->n_inputs, sig->outputs,
                                         sig->n_outputs, c->loc, &nb);
    ir_mcc *x = sema_mcc_build(s, c, sig, predictor_name(mc, st->var.name), mc->m->name);
    if (!x)
        return 0;
    const char *origin = arena_printf(s->a, "the outputs of multi_chain_comparison(%s)", sig->name);
    const ir_field *fields = shape_by_origin(mc, origin);
    if (!fields)
        fields = x->compare->outputs;
    if (!assign_var(mc, &st->var, IR_VAR_PREDICT, fields, fields, x->compare->n_outputs, NULL, origin))
        return 0;
    ptr_vec_push(s->a, &mc->predictors, (void *)x->attempt);
    ptr_vec_push(s->a, &mc->predictors, (void *)x->compare);
    step->kind = IR_STEP_MCC;
    step->mcc = x;
    step->bindings = b;
    step->n_bindings = nb;
    return 1;
}

/* The options predict and chain_of_thought take: `adapter: chat|json`, how
 * this call asks for its outputs (the lm's `adapter` otherwise), and
 * `temperature: 0.7`, this call's sampling temperature (the lm's
 * otherwise). Returns 0 after reporting anything else. */
static int call_options(sema *s, const ast_call *c, const char *strategy, const char *sig, ir_predictor *p)
{
    const char *adapter = NULL;
    for (size_t i = 0; i < c->opts.len; i++) {
        const ast_sopt *o = c->opts.items[i];
        if (strcmp(o->key.name, "temperature") == 0) {
            const ast_value *v = o->value;
            double t = o->is_list || !v ? -1 : v->kind == AV_INT ? (double)v->i : v->kind == AV_FLOAT ? v->f : -1;
            if (t < 0 || t > 2) {
                diag_error(s->d, o->loc, "`temperature` takes a number from 0 to 2");
                return 0;
            }
            if (p->has_temperature) {
                diag_error(s->d, o->key.loc, "`temperature` is given twice");
                return 0;
            }
            p->has_temperature = 1;
            p->temperature = t;
            continue;
        }
        if (strcmp(o->key.name, "n") == 0) {
            diag_error(s->d, o->key.loc, "`%s` makes one call; for n samples with a rule to keep one, write "
                       "`majority(%s, n: 5)` or `best_of_n(%s, n: 5, reward: ...)`", strategy, sig, sig);
            return 0;
        }
        if (strcmp(o->key.name, "adapter") != 0) {
            diag_error(s->d, o->key.loc, "`%s` takes the options `adapter: chat|json` and `temperature: 0 to 2`: "
                       "`%s(%s, adapter: json, temperature: 0.7)`", strategy, strategy, sig);
            return 0;
        }
        const ast_value *v = o->value;
        if (o->is_list || !v || (v->kind != AV_NAME && v->kind != AV_STRING) ||
            (strcmp(v->s, "chat") != 0 && strcmp(v->s, "json") != 0)) {
            diag_error(s->d, o->loc, "`adapter` is `chat` or `json`");
            return 0;
        }
        if (adapter) {
            diag_error(s->d, o->key.loc, "`adapter` is given twice");
            return 0;
        }
        adapter = v->s;
    }
    p->adapter = adapter;
    return 1;
}

static int check_assign(mctx *mc, const ast_stmt *st, ir_step *step)
{
    sema *s = mc->s;
    const ast_call *c = st->call;
    step->var = st->var.name;
    if (c->kind == CALL_STRATEGY) {
        const bi_strategy *strat = bi_strategy_find(c->callee.name);
        if (!strat) {
            const char *names[16];
            for (size_t i = 0; i < bi_n_strategies && i < 16; i++)
                names[i] = bi_strategies[i].name;
            diag_error(s->d, c->callee.loc, "unknown predictor strategy `%s`%s (known: predict, "
                       "chain_of_thought, react, best_of_n, refine, majority, multi_chain_comparison)", c->callee.name,
                       sema_did_you_mean(s, c->callee.name, names, bi_n_strategies));
            return 0;
        }
        sym *sig_sym = sema_expect(s, &c->sig, SYM_SIGNATURE);
        if (!sig_sym || !sig_sym->ir)
            return 0;
        const ir_signature *sig = sig_sym->ir;
        if (strcmp(strat->name, "react") == 0)
            return check_react(mc, st, step, sig);
        if (strcmp(strat->name, "multi_chain_comparison") == 0)
            return check_mcc(mc, st, step, sig);
        ir_sampling *sampling = NULL;
        ir_predictor *p = arena_alloc(s->a, sizeof *p);
        if (sema_is_sampling(strat->name)) {
            /* n samples of predict (or chain of thought) over Sig, one kept. */
            int reasoning;
            sampling = sema_sampling_options(s, c, &reasoning);
            if (!sampling)
                return 0;
            strat = bi_strategy_find(reasoning ? "chain_of_thought" : "predict");
            p->has_temperature = sampling->has_temperature;
            p->temperature = sampling->temperature;
        } else if (c->opts.len && !call_options(s, c, strat->name, sig->name, p)) {
            return 0;
        }
        if (strat->adds_reasoning && ir_field_find(sig->outputs, sig->n_outputs, "reasoning")) {
            diag_error(s->d, c->callee.loc, "`%s` adds an output `reasoning`, but signature `%s` "
                       "already has one; rename that field or use `predict`", strat->name, sig->name);
            return 0;
        }
        const char *callee = arena_printf(s->a, "signature `%s`", sig->name);
        size_t nb;
        const ir_binding *b = check_bindings(mc, &c->bindings, callee, sig->inputs, sig->n_inputs,
                                             sig->outputs, sig->n_outputs, c->loc, &nb);
        const ir_field *outs = sig->outputs;
        size_t n_outs = sig->n_outputs;
        const void *shape = pred_shape_of(mc, sig, strat);
        if (strat->adds_reasoning) {
            ir_field *o = arena_array(s->a, n_outs + 1, sizeof *o);
            o[0].name = "reasoning";
            o[0].type = &s->t_string;
            o[0].desc = NULL;  /* CHAT_FORMAT.md shows it without a description */
            memcpy(o + 1, outs, n_outs * sizeof *o);
            outs = o;
            n_outs++;
        }
        if (shape)
            outs = shape;  /* same pair: share the outputs so shapes compare equal */
        p->module = mc->m->name;
        p->strategy = strat->name;
        p->signature = sig;
        p->outputs = outs;
        p->n_outputs = n_outs;
        if (!assign_var(mc, &st->var, IR_VAR_PREDICT, outs, outs, n_outs, NULL,
                        arena_printf(s->a, "the outputs of %s(%s)", strat->name, sig->name)))
            return 0;
        if (sampling && !sema_sampling_bind(s, sampling, c, sig, outs, n_outs))
            return 0;
        p->name = predictor_name(mc, st->var.name);
        ptr_vec_push(s->a, &mc->predictors, p);
        step->kind = IR_STEP_PREDICT;
        step->predictor = p;
        step->sampling = sampling;
        step->bindings = b;
        step->n_bindings = nb;
        return 1;
    }
    sym *callee = sema_lookup(s, c->callee.name);
    if (!callee) {
        if (bi_strategy_find(c->callee.name)) {
            diag_error(s->d, c->callee.loc, "`%s` needs a signature: write `%s(SignatureName)(...)`",
                       c->callee.name, c->callee.name);
            return 0;
        }
        const char **names = arena_array(s->a, s->syms.len + 1, sizeof *names);
        size_t n = 0;
        for (size_t i = 0; i < s->syms.len; i++) {
            sym *o = s->syms.items[i];
            if (o->kind == SYM_MODULE || o->kind == SYM_TOOL)
                names[n++] = o->name;
        }
        diag_error(s->d, c->callee.loc, "unknown module or tool `%s`%s", c->callee.name,
                   sema_did_you_mean(s, c->callee.name, names, n));
        return 0;
    }
    callee->used = 1;
    if (callee->kind == SYM_SIGNATURE) {
        diag_error(s->d, c->callee.loc, "a signature is called through a strategy: write "
                   "`predict(%s)(...)` or `chain_of_thought(%s)(...)`", callee->name, callee->name);
        return 0;
    }
    if (callee->kind == SYM_MODULE) {
        if (callee == mc->sy) {
            diag_error(s->d, c->callee.loc, "module `%s` calls itself: modules cannot be "
                       "recursive; use `repeat N { }` for loops", mc->m->name);
            return 0;
        }
        /* Only the callee's header is needed here; bodies are ordered and
         * checked for cycles once all are known (sema_order_modules). */
        call_edge *edge = arena_alloc(s->a, sizeof *edge);
        edge->callee = callee;
        edge->loc = c->callee.loc;
        ptr_vec_push(s->a, &mc->sy->calls, edge);
        const ir_module *m = callee->ir;
        if (!m)
            return 0;
        const char *what = arena_printf(s->a, "module `%s`", m->name);
        size_t nb;
        const ir_binding *b = check_bindings(mc, &c->bindings, what, m->params, m->n_params,
                                             m->results, m->n_results, c->loc, &nb);
        if (!assign_var(mc, &st->var, IR_VAR_MODULE, m, m->results, m->n_results, NULL,
                        arena_printf(s->a, "the results of module `%s`", m->name)))
            return 0;
        step->kind = IR_STEP_MODULE;
        step->module = m;
        step->bindings = b;
        step->n_bindings = nb;
        return 1;
    }
    if (callee->kind == SYM_TOOL) {
        const ir_tool *t = callee->ir;
        if (!t)
            return 0;
        /* Only IN parameters are arguments: the caller fills a list's
         * length, and OUT parameters are the results (`v.name`). */
        ir_field *ins = arena_array(s->a, t->n_params + 1, sizeof *ins);
        size_t n_ins = 0;
        for (size_t i = 0; i < t->n_params; i++) {
            if (t->params[i].role != IR_PARAM_IN)
                continue;
            ins[n_ins].name = t->params[i].name;
            ins[n_ins].type = t->params[i].type;
            n_ins++;
        }
        const char *what = arena_printf(s->a, "tool `%s`", t->name);
        ptr_vec args = { 0 };
        for (size_t i = 0; i < c->bindings.len; i++) {
            const ast_binding *bd = c->bindings.items[i];
            const ir_tool_param *len = NULL;
            for (size_t k = 1; k < t->n_params; k++)
                if ((t->params[k].role == IR_PARAM_LEN || t->params[k].role == IR_PARAM_VALUES) &&
                    strcmp(t->params[k].name, bd->name.name) == 0)
                    len = &t->params[k];
            /* A map's length and values follow its keys, which bear its name. */
            const ir_tool_param *of = len && len->role == IR_PARAM_LEN && len[-1].role == IR_PARAM_VALUES ? len - 2
                                    : len ? len - 1 : NULL;
            if (len) {
                int map = of->type && of->type->kind == IR_MAP;
                diag_error(s->d, bd->name.loc, "`%s` is the %s of %s `%s` of %s; it is filled in from the %s, so "
                           "bind only `%s`", bd->name.name, len->role == IR_PARAM_LEN ? "length" : "values",
                           map ? "map" : "list", of->name, what, map ? "map" : "list", of->name);
                mc->ok = 0;
                continue;
            }
            ptr_vec_push(s->a, &args, (void *)bd);
        }
        size_t nb;
        const ir_binding *b = check_bindings(mc, &args, what, ins, n_ins, t->outputs, t->n_outputs,
                                             c->loc, &nb);
        const char *origin = t->n_outputs ? arena_printf(s->a, "the outputs of tool `%s`", t->name)
                                          : arena_printf(s->a, "the result of tool `%s`", t->name);
        if (!assign_var(mc, &st->var, IR_VAR_TOOL, t, t->outputs, t->n_outputs, t->type, origin))
            return 0;
        step->kind = IR_STEP_TOOL;
        step->tool = t;
        step->bindings = b;
        step->n_bindings = nb;
        return 1;
    }
    diag_error(s->d, c->callee.loc, "`%s` is %s %s; only modules, tools and strategies over "
               "signatures can be called here", callee->name, sym_kind_article(callee->kind),
               sym_kind_name(callee->kind));
    return 0;
}

static int comparable(const ir_type *t)
{
    if (t && t->kind == IR_OPTIONAL)
        t = t->elem;
    return t && t->kind != IR_LIST;
}

static int check_if(mctx *mc, const ast_stmt *st, ir_step *step)
{
    sema *s = mc->s;
    ir_value l, r;
    int ok = resolve_value(mc, st->lhs, NULL, &l);
    ok = ok && resolve_value(mc, st->rhs, l.type, &r);
    if (!ok)
        return 0;
    if (!comparable(l.type) || !comparable(r.type)) {
        diag_error(s->d, st->lhs->loc, "lists cannot be compared with `%s`; compare a single field",
                   st->negate ? "!=" : "==");
        return 0;
    }
    if (!sema_assignable(r.type, l.type) && !sema_assignable(l.type, r.type)) {
        diag_error(s->d, st->rhs->loc, "cannot compare `%s` (%s) with `%s` (%s)",
                   value_text(s, st->lhs), sema_type_str(s, l.type), value_text(s, st->rhs),
                   sema_type_str(s, r.type));
        return 0;
    }
    step->kind = IR_STEP_IF;
    step->lhs = l;
    step->rhs = r;
    step->negate = st->negate;
    return 1;
}

static void check_stmts(mctx *mc, const ptr_vec *stmts, int top, const ir_step **out, size_t *n_out);

static int check_return(mctx *mc, const ast_stmt *st, ir_step *step)
{
    sema *s = mc->s;
    const ir_module *m = mc->m;
    step->kind = IR_STEP_RETURN;
    const char *what = arena_printf(s->a, "the results of module `%s`", m->name);
    if (st->returns_record) {
        size_t nb;
        step->bindings = check_bindings(mc, &st->bindings, what, m->results, m->n_results, NULL, 0,
                                        st->loc, &nb);
        step->n_bindings = nb;
        return 1;
    }
    var_info *v = find_visible(mc, st->var.name);
    if (!v) {
        if (find_var(mc, st->var.name))
            diag_error(s->d, st->var.loc, "`%s` is not assigned on every path to here (it is set "
                       "inside an `if` branch); assign it in both branches or before the `if`",
                       st->var.name);
        else
            diag_error(s->d, st->var.loc, "unknown name `%s`%s", st->var.name,
                       visible_hint(mc, st->var.name));
        return 0;
    }
    v->used = 1;
    if (v->broken)
        return 0;
    if (v->n_fields == 0) {
        diag_error(s->d, st->var.loc, "`%s` is a single value; return named results: "
                   "`return (%s: %s)`", v->name, m->results[0].name, v->name);
        return 0;
    }
    ir_binding *b = arena_array(s->a, m->n_results + 1, sizeof *b);
    int ok = 1;
    for (size_t i = 0; i < m->n_results; i++) {
        const ir_field *f = ir_field_find(v->fields, v->n_fields, m->results[i].name);
        if (!f) {
            diag_error(s->d, st->var.loc, "`%s` has no field `%s` for the result `%s` of module "
                       "`%s`; return it explicitly: `return (%s: ...)`", v->name,
                       m->results[i].name, m->results[i].name, m->name, m->results[i].name);
            ok = 0;
            continue;
        }
        if (!sema_assignable(f->type, m->results[i].type)) {
            diag_error(s->d, st->var.loc, "`%s.%s` is %s, but result `%s` of module `%s` is %s",
                       v->name, f->name, sema_type_str(s, f->type), m->results[i].name, m->name,
                       sema_type_str(s, m->results[i].type));
            ok = 0;
            continue;
        }
        b[i].field = m->results[i].name;
        b[i].value.kind = IR_VAL_FIELD;
        b[i].value.type = f->type;
        b[i].value.name = v->name;
        b[i].value.field = f->name;
    }
    step->bindings = b;
    step->n_bindings = m->n_results;
    return ok;
}

static void check_stmts(mctx *mc, const ptr_vec *stmts, int top, const ir_step **out, size_t *n_out)
{
    sema *s = mc->s;
    ir_step *steps = arena_array(s->a, stmts->len + 1, sizeof *steps);
    size_t n = 0;
    for (size_t i = 0; i < stmts->len; i++) {
        const ast_stmt *st = stmts->items[i];
        ir_step *step = &steps[n];
        step->loc = sema_loc(s, st->loc);
        int ok = 1;
        switch (st->kind) {
        case ST_ASSIGN:
            ok = check_assign(mc, st, step);
            if (!ok && !find_var(mc, st->var.name)) {
                /* The call was already reported (e.g. its tool's declaration
                 * failed); the name still exists, so its uses do not also
                 * say "unknown name". */
                var_info *v = arena_alloc(s->a, sizeof *v);
                v->name = st->var.name;
                v->loc = st->var.loc;
                v->kind = IR_VAR_TOOL;
                v->used = 1;
                v->broken = 1;
                ptr_vec_push(s->a, &mc->vars, v);
                ptr_vec_push(s->a, &mc->visible, v);
            }
            break;
        case ST_REPEAT:
            if (st->count < 1 || st->count > 1000) {
                diag_error(s->d, st->count_loc, "repeat count must be between 1 and 1000, got %lld",
                           st->count);
                ok = 0;
            }
            step->kind = IR_STEP_REPEAT;
            step->count = st->count;
            check_stmts(mc, &st->body, 0, &step->body, &step->n_body);
            break;
        case ST_IF: {
            ok = check_if(mc, st, step);
            size_t base = mc->visible.len;
            check_stmts(mc, &st->body, 0, &step->body, &step->n_body);
            ptr_vec then_vars = { 0 };
            for (size_t k = base; k < mc->visible.len; k++)
                ptr_vec_push(s->a, &then_vars, mc->visible.items[k]);
            mc->visible.len = base;
            check_stmts(mc, &st->else_body, 0, &step->else_body, &step->n_else);
            ptr_vec else_vars = { 0 };
            for (size_t k = base; k < mc->visible.len; k++)
                ptr_vec_push(s->a, &else_vars, mc->visible.items[k]);
            mc->visible.len = base;
            for (size_t k = 0; k < then_vars.len; k++)
                for (size_t j = 0; j < else_vars.len; j++)
                    if (then_vars.items[k] == else_vars.items[j])
                        ptr_vec_push(s->a, &mc->visible, then_vars.items[k]);
            break;
        }
        case ST_RETURN:
            if (!top) {
                diag_error(s->d, st->loc, "`return` inside `repeat` or `if` is not supported; "
                           "assign the results in both branches and return at the end of the module");
                ok = 0;
            } else if (i + 1 != stmts->len) {
                const ast_stmt *next = stmts->items[i + 1];
                diag_error(s->d, next->loc, "statement after `return` is never run; `return` must "
                           "be the last statement of the module");
                ok = 0;
            } else {
                ok = check_return(mc, st, step);
            }
            break;
        }
        if (!ok)
            mc->ok = 0;
        n++;
    }
    *out = steps;
    *n_out = n;
}

static ir_field *check_params(sema *s, const ptr_vec *params, size_t *n_out, int *ok,
                              const ir_field *others, size_t n_others, const char *module,
                              const char *what)
{
    ir_field *out = arena_array(s->a, params->len + 1, sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < params->len; i++) {
        ast_param *p = params->items[i];
        if (ir_field_find(out, n, p->name.name)) {
            diag_error(s->d, p->name.loc, "`%s` is declared twice", p->name.name);
            *ok = 0;
            continue;
        }
        if (ir_field_find(others, n_others, p->name.name)) {
            diag_error(s->d, p->name.loc, "`%s` is both a parameter and a result; results need "
                       "their own names", p->name.name);
            *ok = 0;
            continue;
        }
        if (sema_is_c_keyword(p->name.name)) {
            diag_error(s->d, p->name.loc, "%s `%s` of module `%s` is named like a C keyword, and "
                       "each %s becomes a member of a C struct; rename it (e.g. `%s_`)",
                       what, p->name.name, module, what, p->name.name);
            *ok = 0;
            continue;
        }
        const ir_type *t = sema_resolve_type(s, p->type);
        if (!t) {
            *ok = 0;
            continue;
        }
        out[n].name = p->name.name;
        out[n].type = t;
        n++;
    }
    *n_out = n;
    return out;
}

void sema_check_module_header(sema *s, sym *sy)
{
    ast_decl *d = sy->decl;
    ir_module *m = arena_alloc(s->a, sizeof *m);
    m->name = sy->name;
    m->loc = sema_loc(s, d->loc);
    int ok = 1;
    size_t np, nr;
    m->params = check_params(s, &d->params, &np, &ok, NULL, 0, sy->name, "parameter");
    m->n_params = np;
    m->results = check_params(s, &d->results, &nr, &ok, m->params, np, sy->name, "result");
    m->n_results = nr;
    if (ok && nr == 0) {
        diag_error(s->d, d->name.loc, "module `%s` has no results; declare them, e.g. "
                   "`-> (answer: string)`", sy->name);
        ok = 0;
    }
    sy->state = 1;
    if (ok)
        sy->ir = m;
}

void sema_check_module_body(sema *s, sym *sy)
{
    if (sy->state != 1)
        return;
    ir_module *m = sy->ir;
    sy->state = 3;
    if (!m)
        return;
    mctx mc = { .s = s, .sy = sy, .m = m, .ok = 1 };
    ast_decl *d = sy->decl;
    const ir_step *steps;
    size_t n;
    check_stmts(&mc, &d->body, 1, &steps, &n);
    if (n == 0 || steps[n - 1].kind != IR_STEP_RETURN) {
        diag_error(s->d, d->name.loc, "module `%s` never returns its results; end its body with "
                   "`return var` or `return (%s: ...)`", m->name,
                   m->n_results ? m->results[0].name : "result");
        mc.ok = 0;
    }
    for (size_t i = 0; i < mc.vars.len; i++) {
        var_info *v = mc.vars.items[i];
        if (!v->used)
            diag_warning(s->d, v->loc, "`%s` is assigned but never used", v->name);
    }
    m->steps = steps;
    m->n_steps = n;
    ir_var *vars = arena_array(s->a, mc.vars.len + 1, sizeof *vars);
    size_t nv = 0;
    for (size_t i = 0; i < mc.vars.len; i++) {
        var_info *v = mc.vars.items[i];
        if (v->broken)
            continue;
        vars[nv].name = v->name;
        vars[nv].kind = v->kind;
        vars[nv].fields = v->fields;
        vars[nv].n_fields = v->n_fields;
        vars[nv].type = v->type;
        nv++;
    }
    m->vars = vars;
    m->n_vars = nv;
    m->predictors = (const ir_predictor *const *)mc.predictors.items;
    m->n_predictors = mc.predictors.len;
    sy->body_ok = mc.ok;
}

void sema_order_modules(sema *s)
{
    /* Depth-first over call edges with an explicit stack; colors in
     * sym.state: 3 unvisited, 4 on the stack, 5 done. */
    typedef struct frame {
        sym *sy;
        size_t next;
    } frame;
    frame *stack = arena_array(s->a, s->syms.len + 1, sizeof *stack);
    for (size_t i = 0; i < s->syms.len; i++) {
        sym *root = s->syms.items[i];
        if (root->kind != SYM_MODULE || root->state != 3)
            continue;
        size_t depth = 0;
        stack[depth++] = (frame){ root, 0 };
        root->state = 4;
        while (depth > 0) {
            frame *f = &stack[depth - 1];
            if (f->next < f->sy->calls.len) {
                call_edge *e = f->sy->calls.items[f->next++];
                if (e->callee->state == 4) {
                    diag_error(s->d, e->loc, "module `%s` calls `%s`, which calls `%s` back: modules "
                               "cannot be recursive; use `repeat N { }` for loops", f->sy->name,
                               e->callee->name, f->sy->name);
                    f->sy->body_ok = 0;
                } else if (e->callee->state == 3) {
                    e->callee->state = 4;
                    stack[depth++] = (frame){ e->callee, 0 };
                }
                continue;
            }
            f->sy->state = 5;
            if (f->sy->body_ok && f->sy->ir)
                ptr_vec_push(s->a, &s->modules_done, f->sy->ir);
            depth--;
        }
    }
}
