/* ir_json.c — the checked IR as JSON with cJSON; see ir_json.h. */
#include "ir_json.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *type_json(const ir_type *t)
{
    if (!t)
        return cJSON_CreateNull();  /* a tool with outputs; a list's length parameter */
    switch (t->kind) {
    case IR_STRING: return cJSON_CreateString("string");
    case IR_INT: return cJSON_CreateString("int");
    case IR_FLOAT: return cJSON_CreateString("float");
    case IR_BOOL: return cJSON_CreateString("bool");
    case IR_ENUM: {
        cJSON *o = cJSON_CreateObject();
        cJSON *vals = cJSON_AddArrayToObject(o, "enum");
        for (size_t i = 0; i < t->n_values; i++)
            cJSON_AddItemToArray(vals, cJSON_CreateString(t->values[i]));
        if (t->name)
            cJSON_AddStringToObject(o, "name", t->name);
        return o;
    }
    case IR_LIST:
    case IR_OPTIONAL: {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, t->kind == IR_LIST ? "list" : "optional", type_json(t->elem));
        return o;
    }
    case IR_MAP: {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "map", type_json(t->elem));
        return o;
    }
    case IR_RECORD: {
        /* By name: the program's "records" list holds the fields once. */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "record", t->name);
        return o;
    }
    }
    return cJSON_CreateNull();
}

static void add_path(cJSON *o, const char *const *path, size_t n)
{
    if (n == 0)
        return;
    cJSON *a = cJSON_AddArrayToObject(o, "path");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(path[i]));
}

static void add_loc(cJSON *o, ir_loc l)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s:%d:%d", l.file, l.line, l.col);
    cJSON_AddStringToObject(o, "loc", buf);
}

/* A tool's C struct: its C name and each member's C type and the field
 * it holds; a member that holds no field names the one it serves: a
 * list's or map's count ("count_of"), an optional scalar's flag
 * ("flag_of"), a map's values ("values_of": its keys). */
static cJSON *cstruct_json(const ir_cstruct *cs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "c_name", cs->c_name);
    cJSON_AddStringToObject(o, "record", cs->record->name);
    cJSON *ms = cJSON_AddArrayToObject(o, "members");
    for (size_t i = 0; i < cs->n_members; i++) {
        const ir_cmember *m = &cs->members[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", m->name);
        cJSON_AddStringToObject(x, "ctype", m->ctype);
        if (m->field >= 0)
            cJSON_AddStringToObject(x, "field", cs->record->fields[m->field].name);
        else if (m->is_flag && i + 1 < cs->n_members)
            cJSON_AddStringToObject(x, "flag_of", cs->members[i + 1].name);
        else if (m->is_values && i > 0)
            cJSON_AddStringToObject(x, "values_of", cs->members[i - 1].name);
        else if (i > 1 && cs->members[i - 1].is_values) /* a map's: named by its keys */
            cJSON_AddStringToObject(x, "count_of", cs->members[i - 2].name);
        else if (i > 0)
            cJSON_AddStringToObject(x, "count_of", cs->members[i - 1].name);
        if (m->borrowed)
            cJSON_AddTrueToObject(x, "borrowed");
        cJSON_AddItemToArray(ms, x);
    }
    return o;
}

static void add_opt_string(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *fields_json(const ir_field *f, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", f[i].name);
        cJSON_AddItemToObject(o, "type", type_json(f[i].type));
        add_opt_string(o, "desc", f[i].desc);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *options_json(const ir_option *opts, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        switch (opts[i].kind) {
        case IR_OPT_INT: cJSON_AddNumberToObject(o, opts[i].key, (double)opts[i].i); break;
        case IR_OPT_FLOAT: cJSON_AddNumberToObject(o, opts[i].key, opts[i].f); break;
        case IR_OPT_BOOL: cJSON_AddBoolToObject(o, opts[i].key, (cJSON_bool)opts[i].i); break;
        case IR_OPT_LIST:
            cJSON_AddItemToObject(o, opts[i].key, cJSON_CreateStringArray(opts[i].list, (int)opts[i].n_list));
            break;
        default: cJSON_AddStringToObject(o, opts[i].key, opts[i].s); break;
        }
    }
    return o;
}

static cJSON *value_json(const ir_value *v)
{
    static const char *const kinds[] = { "param", "field", "var", "string", "int", "float", "bool", "enum" };
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kinds[v->kind]);
    cJSON_AddItemToObject(o, "type", type_json(v->type));
    switch (v->kind) {
    case IR_VAL_PARAM:
    case IR_VAL_VAR:
        cJSON_AddStringToObject(o, "name", v->name);
        add_path(o, v->path, v->n_path);
        break;
    case IR_VAL_FIELD:
        cJSON_AddStringToObject(o, "var", v->name);
        cJSON_AddStringToObject(o, "field", v->field);
        add_path(o, v->path, v->n_path);
        break;
    case IR_VAL_STRING:
    case IR_VAL_ENUM:
        cJSON_AddStringToObject(o, "value", v->s);
        break;
    case IR_VAL_INT:
        cJSON_AddNumberToObject(o, "value", (double)v->i);
        break;
    case IR_VAL_FLOAT:
        cJSON_AddNumberToObject(o, "value", v->f);
        break;
    case IR_VAL_BOOL:
        cJSON_AddBoolToObject(o, "value", (cJSON_bool)v->i);
        break;
    }
    return o;
}

static cJSON *bindings_json(const ir_binding *b, size_t n)
{
    cJSON *o = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "field", b[i].field);
        cJSON_AddItemToObject(x, "value", value_json(&b[i].value));
        cJSON_AddItemToArray(o, x);
    }
    return o;
}

static cJSON *steps_json(const ir_step *s, size_t n)
{
    static const char *const kinds[] = { "predict", "module", "tool", "repeat", "if", "return", "react", "multi_chain_comparison" };
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", kinds[s[i].kind]);
        add_loc(o, s[i].loc);
        switch (s[i].kind) {
        case IR_STEP_PREDICT:
        case IR_STEP_MODULE:
        case IR_STEP_TOOL:
            cJSON_AddStringToObject(o, "var", s[i].var);
            cJSON_AddStringToObject(o, "callee", s[i].kind == IR_STEP_PREDICT ? s[i].predictor->name
                                                 : s[i].kind == IR_STEP_MODULE ? s[i].module->name
                                                                               : s[i].tool->name);
            cJSON_AddItemToObject(o, "bindings", bindings_json(s[i].bindings, s[i].n_bindings));
            if (s[i].kind == IR_STEP_PREDICT && s[i].sampling) {
                const ir_sampling *sm = s[i].sampling;
                cJSON *x = cJSON_AddObjectToObject(o, "sampling");
                cJSON_AddStringToObject(x, "pick", sm->name);
                cJSON_AddNumberToObject(x, "n", (double)sm->n);
                if (sm->reward)
                    cJSON_AddStringToObject(x, "reward", sm->reward->name);
                if (sm->has_threshold)
                    cJSON_AddNumberToObject(x, "threshold", sm->threshold);
                if (sm->pick == IR_PICK_MAJORITY)
                    cJSON_AddStringToObject(x, "field", s[i].predictor->outputs[sm->field].name);
            }
            break;
        case IR_STEP_REACT: {
            const ir_react *r = s[i].react;
            cJSON_AddStringToObject(o, "var", s[i].var);
            cJSON_AddStringToObject(o, "callee", r->step->name);
            cJSON_AddStringToObject(o, "extract", r->extract->name);
            cJSON *tools = cJSON_AddArrayToObject(o, "tools");
            for (size_t k = 0; k < r->n_tools; k++)
                cJSON_AddItemToArray(tools, cJSON_CreateString(r->tools[k]->name));
            cJSON_AddNumberToObject(o, "max_iters", (double)r->max_iters);
            cJSON_AddNumberToObject(o, "max_observation", (double)r->max_observation);
            cJSON_AddItemToObject(o, "bindings", bindings_json(s[i].bindings, s[i].n_bindings));
            break;
        }
        case IR_STEP_MCC:
            cJSON_AddStringToObject(o, "var", s[i].var);
            cJSON_AddStringToObject(o, "callee", s[i].mcc->compare->name);
            cJSON_AddStringToObject(o, "attempt", s[i].mcc->attempt->name);
            cJSON_AddNumberToObject(o, "m", (double)s[i].mcc->m);
            cJSON_AddItemToObject(o, "bindings", bindings_json(s[i].bindings, s[i].n_bindings));
            break;
        case IR_STEP_RETURN:
            cJSON_AddItemToObject(o, "bindings", bindings_json(s[i].bindings, s[i].n_bindings));
            break;
        case IR_STEP_REPEAT:
            cJSON_AddNumberToObject(o, "count", (double)s[i].count);
            cJSON_AddItemToObject(o, "body", steps_json(s[i].body, s[i].n_body));
            break;
        case IR_STEP_IF:
            cJSON_AddItemToObject(o, "lhs", value_json(&s[i].lhs));
            cJSON_AddItemToObject(o, "rhs", value_json(&s[i].rhs));
            cJSON_AddStringToObject(o, "op", s[i].negate ? "!=" : "==");
            cJSON_AddItemToObject(o, "then", steps_json(s[i].body, s[i].n_body));
            cJSON_AddItemToObject(o, "else", steps_json(s[i].else_body, s[i].n_else));
            break;
        }
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *expr_json(const ir_expr *e)
{
    static const char *const kinds[] = { "number", "string", "bool", "enum", "field", "list",
                                         "builtin", "tool", "judge", "unary", "binary", "format" };
    static const char *const ops[] = { "or", "and", "not", "==", "!=", "<", "<=", ">", ">=",
                                       "in", "+", "-", "*", "/", "neg" };
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kinds[e->kind]);
    cJSON_AddItemToObject(o, "type", type_json(e->type));
    switch (e->kind) {
    case IR_E_NUMBER: cJSON_AddNumberToObject(o, "value", e->number); break;
    case IR_E_STRING:
    case IR_E_ENUM: cJSON_AddStringToObject(o, "value", e->s); break;
    case IR_E_BOOL: cJSON_AddBoolToObject(o, "value", (cJSON_bool)e->b); break;
    case IR_E_FIELD:
        cJSON_AddStringToObject(o, "source", e->source == IR_SRC_EXAMPLE ? "example" : "prediction");
        cJSON_AddStringToObject(o, "field", e->field);
        add_path(o, e->path, e->n_path);
        break;
    case IR_E_BUILTIN:
        cJSON_AddStringToObject(o, "function", e->s);
        if (e->micro)
            cJSON_AddStringToObject(o, "average", "micro");
        break;
    case IR_E_TOOL: cJSON_AddStringToObject(o, "tool", e->tool->name); break;
    case IR_E_JUDGE:
        cJSON_AddStringToObject(o, "signature", e->judge->name);
        add_opt_string(o, "lm", e->judge_lm ? e->judge_lm->name : NULL);
        cJSON_AddStringToObject(o, "output", e->field);
        break;
    case IR_E_UNARY:
    case IR_E_BINARY: cJSON_AddStringToObject(o, "op", ops[e->op]); break;
    default: break;
    }
    if (e->kind != IR_E_NUMBER && e->kind != IR_E_STRING && e->kind != IR_E_ENUM &&
        e->kind != IR_E_BOOL && e->kind != IR_E_FIELD) {
        cJSON *args = cJSON_AddArrayToObject(o, "args");
        for (size_t i = 0; i < e->n_args; i++) {
            if (e->args[i].name) {
                cJSON *na = cJSON_CreateObject();
                cJSON_AddStringToObject(na, "name", e->args[i].name);
                cJSON_AddItemToObject(na, "value", expr_json(e->args[i].value));
                cJSON_AddItemToArray(args, na);
            } else {
                cJSON_AddItemToArray(args, expr_json(e->args[i].value));
            }
        }
    }
    return o;
}

/* A feedback's arms: [{"if": cond, "text": text}, ...]. */
static cJSON *arms_json(const ir_feedback *arms, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; k < n; k++) {
        cJSON *arm = cJSON_CreateObject();
        if (arms[k].cond)
            cJSON_AddItemToObject(arm, "if", expr_json(arms[k].cond));
        cJSON_AddItemToObject(arm, "text", expr_json(arms[k].text));
        cJSON_AddItemToArray(a, arm);
    }
    return a;
}

/* cJSON keeps insertion order; sort every object's keys so the output does
 * not depend on the order the code above happens to add them in. */
static cJSON *sort_list(cJSON *head)
{
    if (!head || !head->next)
        return head;
    cJSON *slow = head, *fast = head->next;
    while (fast && fast->next) {
        slow = slow->next;
        fast = fast->next->next;
    }
    cJSON *b = slow->next;
    slow->next = NULL;
    cJSON *a = sort_list(head);
    b = sort_list(b);
    cJSON dummy;
    cJSON *t = &dummy;
    while (a && b) {
        if (strcmp(a->string, b->string) <= 0) {
            t->next = a;
            a = a->next;
        } else {
            t->next = b;
            b = b->next;
        }
        t = t->next;
    }
    t->next = a ? a : b;
    return dummy.next;
}

static void sort_keys(cJSON *item)
{
    for (cJSON *c = item->child; c; c = c->next)
        sort_keys(c);
    if (cJSON_IsObject(item) && item->child) {
        item->child = sort_list(item->child);
        cJSON *prev = NULL;
        for (cJSON *c = item->child; c; c = c->next) {
            c->prev = prev;
            prev = c;
        }
        item->child->prev = prev;  /* cJSON keeps the tail in head->prev */
    }
}

char *ir_to_json(const ir_program *p)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "source", p->source);

    cJSON *a = cJSON_AddArrayToObject(root, "enums");
    for (size_t i = 0; i < p->n_enums; i++)
        cJSON_AddItemToArray(a, type_json(p->enums[i]));

    /* Only programs that declare records have the key, so older dumps read the same. */
    if (p->n_records) {
        a = cJSON_AddArrayToObject(root, "records");
        for (size_t i = 0; i < p->n_records; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "name", p->records[i]->name);
            add_opt_string(r, "desc", p->records[i]->desc);
            cJSON_AddItemToObject(r, "fields", fields_json(p->records[i]->fields, p->records[i]->n_fields));
            cJSON_AddItemToArray(a, r);
        }
    }

    a = cJSON_AddArrayToObject(root, "signatures");
    for (size_t i = 0; i < p->n_signatures; i++) {
        const ir_signature *s = p->signatures[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->name);
        add_opt_string(o, "instructions", s->instructions);
        cJSON_AddItemToObject(o, "inputs", fields_json(s->inputs, s->n_inputs));
        cJSON_AddItemToObject(o, "outputs", fields_json(s->outputs, s->n_outputs));
        add_loc(o, s->loc);
        cJSON_AddItemToArray(a, o);
    }

    a = cJSON_AddArrayToObject(root, "lms");
    for (size_t i = 0; i < p->n_lms; i++) {
        const ir_lm *l = p->lms[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", l->name);
        cJSON_AddStringToObject(o, "provider", l->provider);
        cJSON_AddStringToObject(o, "model", l->model);
        add_opt_string(o, "base_url", l->base_url);
        add_opt_string(o, "api_key_env", l->api_key_env);
        cJSON_AddItemToObject(o, "params", options_json(l->params, l->n_params));
        add_loc(o, l->loc);
        cJSON_AddItemToArray(a, o);
    }

    a = cJSON_AddArrayToObject(root, "tools");
    for (size_t i = 0; i < p->n_tools; i++) {
        const ir_tool *t = p->tools[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "c_return", t->c_return);
        cJSON_AddItemToObject(o, "type", type_json(t->type));
        cJSON_AddStringToObject(o, "library", t->library);
        cJSON_AddBoolToObject(o, "ret_status", t->ret_status);
        cJSON_AddItemToObject(o, "outputs", fields_json(t->outputs, t->n_outputs));
        cJSON *ps = cJSON_AddArrayToObject(o, "params");
        for (size_t j = 0; j < t->n_params; j++) {
            static const char *const roles[] = { "in", "out", "len", "values" };
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", t->params[j].name);
            cJSON_AddStringToObject(x, "ctype", t->params[j].ctype);
            cJSON_AddItemToObject(x, "type", type_json(t->params[j].type));
            cJSON_AddStringToObject(x, "role", roles[t->params[j].role]);
            add_opt_string(x, "elem_ctype", t->params[j].elem_ctype);
            if (t->params[j].cstruct)
                cJSON_AddItemToObject(x, "cstruct", cstruct_json(t->params[j].cstruct));
            cJSON_AddItemToArray(ps, x);
        }
        if (t->ret_cstruct)
            cJSON_AddItemToObject(o, "ret_cstruct", cstruct_json(t->ret_cstruct));
        add_loc(o, t->loc);
        cJSON_AddItemToArray(a, o);
    }

    a = cJSON_AddArrayToObject(root, "modules");
    for (size_t i = 0; i < p->n_modules; i++) {
        const ir_module *m = p->modules[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->name);
        cJSON_AddItemToObject(o, "params", fields_json(m->params, m->n_params));
        cJSON_AddItemToObject(o, "results", fields_json(m->results, m->n_results));
        cJSON *vars = cJSON_AddArrayToObject(o, "vars");
        for (size_t j = 0; j < m->n_vars; j++) {
            static const char *const vk[] = { "predict", "module", "tool" };
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "name", m->vars[j].name);
            cJSON_AddStringToObject(v, "kind", vk[m->vars[j].kind]);
            /* A tool var is one value, or a record of the tool's outputs. */
            if (m->vars[j].kind == IR_VAR_TOOL && m->vars[j].n_fields == 0)
                cJSON_AddItemToObject(v, "type", type_json(m->vars[j].type));
            else
                cJSON_AddItemToObject(v, "fields", fields_json(m->vars[j].fields, m->vars[j].n_fields));
            cJSON_AddItemToArray(vars, v);
        }
        cJSON *preds = cJSON_AddArrayToObject(o, "predictors");
        for (size_t j = 0; j < m->n_predictors; j++) {
            const ir_predictor *pr = m->predictors[j];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", pr->name);
            cJSON_AddStringToObject(x, "strategy", pr->strategy);
            if (pr->adapter) /* only when the call chose one, so other dumps read the same */
                cJSON_AddStringToObject(x, "adapter", pr->adapter);
            cJSON_AddStringToObject(x, "signature", pr->signature->name);
            cJSON_AddItemToObject(x, "outputs", fields_json(pr->outputs, pr->n_outputs));
            cJSON_AddItemToArray(preds, x);
        }
        cJSON_AddItemToObject(o, "steps", steps_json(m->steps, m->n_steps));
        add_loc(o, m->loc);
        cJSON_AddItemToArray(a, o);
    }

    a = cJSON_AddArrayToObject(root, "metrics");
    for (size_t i = 0; i < p->n_metrics; i++) {
        const ir_metric *m = p->metrics[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->name);
        cJSON_AddStringToObject(o, "module", m->module);
        cJSON_AddItemToObject(o, "expr", expr_json(m->expr));
        if (m->n_feedback)
            cJSON_AddItemToObject(o, "feedback", arms_json(m->feedback, m->n_feedback));
        if (m->n_pred_feedback) {
            cJSON *pfs = cJSON_AddArrayToObject(o, "predictor_feedback");
            for (size_t k = 0; k < m->n_pred_feedback; k++) {
                const ir_pred_feedback *f = &m->pred_feedback[k];
                cJSON *pf = cJSON_CreateObject();
                cJSON_AddStringToObject(pf, "target", f->target);
                cJSON *names = cJSON_AddArrayToObject(pf, "predictors");
                for (size_t j = 0; j < f->n_preds; j++)
                    cJSON_AddItemToArray(names, cJSON_CreateString(f->preds[j]));
                if (f->tool_output)
                    cJSON_AddStringToObject(pf, "tool_output", f->tool_output);
                cJSON_AddItemToObject(pf, "feedback", arms_json(f->arms, f->n_arms));
                cJSON_AddItemToArray(pfs, pf);
            }
        }
        add_loc(o, m->loc);
        cJSON_AddItemToArray(a, o);
    }

    a = cJSON_AddArrayToObject(root, "data");
    for (size_t i = 0; i < p->n_data; i++) {
        const ir_data *d = p->data[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d->name);
        cJSON_AddStringToObject(o, "format", d->format);
        cJSON_AddStringToObject(o, "path", d->path);
        cJSON *cols = cJSON_AddArrayToObject(o, "columns");
        for (size_t j = 0; j < d->n_columns; j++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "column", d->columns[j].column);
            cJSON_AddStringToObject(c, "field", d->columns[j].field);
            if (d->columns[j].type) {
                char tb[512];
                cJSON_AddStringToObject(c, "type", ir_type_str(d->columns[j].type, tb, sizeof tb));
            }
            cJSON_AddItemToArray(cols, c);
        }
        add_loc(o, d->loc);
        cJSON_AddItemToArray(a, o);
    }

    a = cJSON_AddArrayToObject(root, "optimize");
    for (size_t i = 0; i < p->n_optimizes; i++) {
        const ir_optimize *op = p->optimizes[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "module", op->module->name);
        cJSON_AddStringToObject(o, "optimizer", op->optimizer);
        cJSON_AddItemToObject(o, "params", options_json(op->params, op->n_params));
        cJSON_AddStringToObject(o, "metric", op->metric->name);
        cJSON_AddStringToObject(o, "trainset", op->trainset->name);
        add_opt_string(o, "valset", op->valset ? op->valset->name : NULL);
        cJSON_AddStringToObject(o, "lm", op->lm->name);
        add_opt_string(o, "teacher", op->teacher ? op->teacher->name : NULL);
        add_opt_string(o, "student", op->student ? op->student->name : NULL);
        if (op->embedder)
            cJSON_AddStringToObject(o, "embedder", op->embedder->name);
        cJSON_AddNumberToObject(o, "seed", (double)op->seed);
        cJSON_AddNumberToObject(o, "concurrency", (double)op->concurrency);
        add_loc(o, op->loc);
        cJSON_AddItemToArray(a, o);
    }

    sort_keys(root);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *out = malloc(n + 2);
    if (out) {
        memcpy(out, text, n);
        out[n] = '\n';
        out[n + 1] = '\0';
    }
    cJSON_free(text);
    return out;
}
