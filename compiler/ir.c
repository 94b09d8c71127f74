/* ir.c — small queries over the checked IR. */
#include "ir.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int ir_type_equal(const ir_type *a, const ir_type *b)
{
    if (a == b)
        return 1;
    if (!a || !b || a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case IR_ENUM:
        /* Enums are structural: the same set of values is the same type. */
        if (a->n_values != b->n_values)
            return 0;
        for (size_t i = 0; i < a->n_values; i++)
            if (!ir_enum_has(b, a->values[i]))
                return 0;
        return 1;
    case IR_LIST:
    case IR_OPTIONAL:
    case IR_MAP:
        return ir_type_equal(a->elem, b->elem);
    case IR_RECORD:
        /* Records are nominal: one declaration, one type. */
        return a->name && b->name && strcmp(a->name, b->name) == 0;
    default:
        return 1;
    }
}

int ir_enum_has(const ir_type *t, const char *value)
{
    if (!t || t->kind != IR_ENUM)
        return 0;
    for (size_t i = 0; i < t->n_values; i++)
        if (strcmp(t->values[i], value) == 0)
            return 1;
    return 0;
}

int ir_is_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

char *ir_enum_ident(const char *value, char *buf)
{
    size_t k = 0;
    int in_run = 0;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        int keep = isalnum(*c) || *c == '_';
        if (keep)
            buf[k++] = (char)toupper(*c);
        else if (!in_run)
            buf[k++] = '_';
        in_run = !keep;
    }
    buf[k] = '\0';
    return buf;
}

static size_t type_write(const ir_type *t, char *buf, size_t size, size_t n)
{
#define PUT(...) (n += (size_t)snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, __VA_ARGS__))
    if (!t) {
        PUT("?");
        return n;
    }
    switch (t->kind) {
    case IR_STRING: PUT("string"); break;
    case IR_INT: PUT("int"); break;
    case IR_FLOAT: PUT("float"); break;
    case IR_BOOL: PUT("bool"); break;
    case IR_ENUM:
        if (t->name) {
            PUT("%s", t->name);
            break;
        }
        PUT("enum {");
        for (size_t i = 0; i < t->n_values; i++)
            PUT(ir_is_name(t->values[i]) ? "%s%s" : "%s\"%s\"", i ? ", " : "", t->values[i]);
        PUT("}");
        break;
    case IR_LIST:
    case IR_OPTIONAL:
        PUT("%s<", t->kind == IR_LIST ? "list" : "optional");
        n = type_write(t->elem, buf, size, n);
        PUT(">");
        break;
    case IR_RECORD: PUT("%s", t->name); break;
    case IR_MAP:
        PUT("map<string, ");
        n = type_write(t->elem, buf, size, n);
        PUT(">");
        break;
    }
    return n;
#undef PUT
}

const char *ir_type_str(const ir_type *t, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    type_write(t, buf, size, 0);
    return buf;
}

const ir_field *ir_field_find(const ir_field *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

const ir_module *ir_module_find(const ir_program *p, const char *name)
{
    for (size_t i = 0; i < p->n_modules; i++)
        if (strcmp(p->modules[i]->name, name) == 0)
            return p->modules[i];
    return NULL;
}

const ir_signature *ir_signature_find(const ir_program *p, const char *name)
{
    for (size_t i = 0; i < p->n_signatures; i++)
        if (strcmp(p->signatures[i]->name, name) == 0)
            return p->signatures[i];
    return NULL;
}

const ir_predictor *ir_predictor_find(const ir_program *p, const char *name)
{
    for (size_t i = 0; i < p->n_modules; i++)
        for (size_t j = 0; j < p->modules[i]->n_predictors; j++)
            if (strcmp(p->modules[i]->predictors[j]->name, name) == 0)
                return p->modules[i]->predictors[j];
    return NULL;
}

static int steps_reach(const ir_step *s, size_t n, const ir_module *m)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i].kind == IR_STEP_MODULE && ir_module_reaches(s[i].module, m)) ||
            steps_reach(s[i].body, s[i].n_body, m) || steps_reach(s[i].else_body, s[i].n_else, m))
            return 1;
    return 0;
}

int ir_module_reaches(const ir_module *top, const ir_module *m)
{
    return top == m || steps_reach(top->steps, top->n_steps, m);
}

int ir_expr_judges(const ir_expr *e, ir_judge_fn fn, void *ctx)
{
    if (!e)
        return 0;
    int rc = e->kind == IR_E_JUDGE ? fn(ctx, e) : 0;
    for (size_t i = 0; i < e->n_args && !rc; i++)
        rc = ir_expr_judges(e->args[i].value, fn, ctx);
    return rc;
}

static int arms_judges(const ir_feedback *arms, size_t n, ir_judge_fn fn, void *ctx)
{
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++)
        if (!(rc = ir_expr_judges(arms[k].cond, fn, ctx)))
            rc = ir_expr_judges(arms[k].text, fn, ctx);
    return rc;
}

int ir_metric_judges(const ir_metric *m, ir_judge_fn fn, void *ctx)
{
    int rc = ir_expr_judges(m->expr, fn, ctx);
    if (!rc)
        rc = arms_judges(m->feedback, m->n_feedback, fn, ctx);
    for (size_t f = 0; f < m->n_pred_feedback && !rc; f++)
        rc = arms_judges(m->pred_feedback[f].arms, m->pred_feedback[f].n_arms, fn, ctx);
    return rc;
}

static const ir_predictor *steps_first_predictor(const ir_step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const ir_predictor *p = s[i].kind == IR_STEP_MODULE ? ir_module_first_predictor(s[i].module) : NULL;
        if (!p)
            p = steps_first_predictor(s[i].body, s[i].n_body);
        if (!p)
            p = steps_first_predictor(s[i].else_body, s[i].n_else);
        if (p)
            return p;
    }
    return NULL;
}

const ir_predictor *ir_module_first_predictor(const ir_module *m)
{
    return m->n_predictors ? m->predictors[0] : steps_first_predictor(m->steps, m->n_steps);
}

size_t ir_var_slots(const ir_var *v)
{
    return v->n_fields ? v->n_fields : 1;
}
