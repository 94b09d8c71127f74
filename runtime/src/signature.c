/* signature.c — built-in types, the outputs a strategy adds, and checks of
 * descriptors (which generated code and the optimizer build as plain data). */
#include "dsp/signature.h"

#include <stdio.h>
#include <string.h>

#include "error_context.h"

const dsp_type dsp_type_string = { .kind = DSP_TYPE_STRING };
const dsp_type dsp_type_int = { .kind = DSP_TYPE_INT };
const dsp_type dsp_type_float = { .kind = DSP_TYPE_FLOAT };
const dsp_type dsp_type_bool = { .kind = DSP_TYPE_BOOL };

/* An empty description: CHAT_FORMAT's example lists it as "(string):". */
const dsp_field dsp_reasoning_field = { "reasoning", &dsp_type_string, NULL };

size_t dsp_strategy_n_outputs(const dsp_signature *sig, dsp_strategy strategy)
{
    return sig->n_outputs + (strategy == DSP_STRATEGY_CHAIN_OF_THOUGHT ? 1 : 0);
}

const dsp_field *dsp_strategy_output(const dsp_signature *sig, dsp_strategy strategy, size_t i)
{
    if (strategy == DSP_STRATEGY_CHAIN_OF_THOUGHT) {
        if (i == 0)
            return &dsp_reasoning_field;
        i--;
    }
    return i < sig->n_outputs ? &sig->outputs[i] : NULL;
}

const char *dsp_type_name(const dsp_type *t, char *buf, size_t size)
{
    if (!buf || size == 0)
        return "";
    buf[0] = '\0';
    if (!t)
        return buf;
    /* Scalars are copied, not printed: every prompt names its fields'
     * types, and snprintf costs more than the rest of a field line. */
    const char *scalar = NULL;
    switch (t->kind) {
    case DSP_TYPE_STRING: scalar = "string"; break;
    case DSP_TYPE_INT: scalar = "int"; break;
    case DSP_TYPE_FLOAT: scalar = "float"; break;
    case DSP_TYPE_BOOL: scalar = "bool"; break;
    case DSP_TYPE_ENUM: scalar = "enum"; break;
    case DSP_TYPE_LIST:
    case DSP_TYPE_OPTIONAL: {
        char inner[128];
        dsp_type_name(t->elem, inner, sizeof inner);
        snprintf(buf, size, "%s[%s]", t->kind == DSP_TYPE_LIST ? "list" : "optional", inner);
        break;
    }
    case DSP_TYPE_MAP: {
        /* DSPy's name for a str-keyed dict. */
        char inner[128];
        dsp_type_name(t->elem, inner, sizeof inner);
        snprintf(buf, size, "dict[str, %s]", inner);
        break;
    }
    case DSP_TYPE_RECORD: scalar = t->name ? t->name : "object"; break;
    default: scalar = "?"; break;
    }
    if (scalar) {
        size_t n = strlen(scalar);
        if (n >= size)
            n = size - 1;
        memcpy(buf, scalar, n);
        buf[n] = '\0';
    }
    return buf;
}

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static dsp_status type_check(const dsp_type *t, int depth, dsp_error *err)
{
    if (!t)
        return dsp_error_set(err, DSP_ERR_INVALID, "a field has no type");
    /* Deep nesting is never useful in a prompt and would make the recursive
     * formatters and parsers unbounded. */
    if (depth > 16)
        return dsp_error_set(err, DSP_ERR_INVALID, "a type nests more than 16 levels deep");
    switch (t->kind) {
    case DSP_TYPE_STRING:
    case DSP_TYPE_INT:
    case DSP_TYPE_FLOAT:
    case DSP_TYPE_BOOL:
        return DSP_OK;
    case DSP_TYPE_ENUM:
        if (t->n_enum_values == 0 || !t->enum_values)
            return dsp_error_set(err, DSP_ERR_INVALID, "an enum type has no values");
        for (size_t i = 0; i < t->n_enum_values; i++) {
            const char *a = t->enum_values[i];
            if (!a || !*a)
                return dsp_error_set(err, DSP_ERR_INVALID, "enum value %zu is empty", i + 1);
            for (size_t j = 0; j < i; j++)
                if (strcmp(a, t->enum_values[j]) == 0)
                    return dsp_error_set(err, DSP_ERR_INVALID, "enum value \"%s\" appears twice", a);
        }
        return DSP_OK;
    case DSP_TYPE_LIST:
        return type_check(t->elem, depth + 1, err);
    case DSP_TYPE_OPTIONAL:
        if (t->elem && t->elem->kind == DSP_TYPE_OPTIONAL)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "optional of optional cannot tell absent from absent-inside; use one optional");
        return type_check(t->elem, depth + 1, err);
    case DSP_TYPE_MAP:
        return type_check(t->elem, depth + 1, err);
    case DSP_TYPE_RECORD:
        if (!valid_name(t->name))
            return dsp_error_set(err, DSP_ERR_INVALID, "a record type has no valid name");
        if (t->n_fields == 0 || !t->fields)
            return dsp_error_set(err, DSP_ERR_INVALID, "record %s has no fields", t->name);
        for (size_t i = 0; i < t->n_fields; i++) {
            const char *a = t->fields[i].name;
            if (!valid_name(a))
                return dsp_error_set(err, DSP_ERR_INVALID, "record %s: field %zu has no valid name", t->name, i + 1);
            for (size_t j = 0; j < i; j++)
                if (strcmp(a, t->fields[j].name) == 0)
                    return dsp_error_set(err, DSP_ERR_INVALID, "record %s: field `%s` appears twice", t->name, a);
            dsp_status st = type_check(t->fields[i].type, depth + 1, err);
            if (st != DSP_OK)
                return dsp_error_prefix(err, st, "record %s, field `%s`", t->name, a);
        }
        return DSP_OK;
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "unknown type kind %d", (int)t->kind);
}

dsp_status dsp_type_check(const dsp_type *t, dsp_error *err)
{
    return type_check(t, 0, err);
}


static dsp_status check_fields(const dsp_signature *sig, const dsp_field *fields, size_t n, const char *kind,
                               dsp_error *err)
{
    if (n && !fields)
        return dsp_error_set(err, DSP_ERR_INVALID, "signature %s: %zu %s fields but no table",
                             sig->name ? sig->name : "?", n, kind);
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = &fields[i];
        if (!valid_name(f->name))
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "signature %s: %s field %zu has name \"%s\"; names are letters, digits and _",
                                 sig->name ? sig->name : "?", kind, i + 1, f->name ? f->name : "");
        dsp_status st = dsp_type_check(f->type, err);
        if (st != DSP_OK)
            return dsp_error_prefix(err, st, "signature %s: %s field `%s`", sig->name ? sig->name : "?", kind,
                                    f->name);
    }
    return DSP_OK;
}

dsp_status dsp_signature_check(const dsp_signature *sig, dsp_strategy strategy, dsp_error *err)
{
    if (!sig)
        return dsp_error_set(err, DSP_ERR_INVALID, "no signature");
    if (strategy != DSP_STRATEGY_PREDICT && strategy != DSP_STRATEGY_CHAIN_OF_THOUGHT)
        return dsp_error_set(err, DSP_ERR_INVALID, "unknown strategy %d", (int)strategy);
    if (sig->n_outputs == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "signature %s has no output fields",
                             sig->name ? sig->name : "?");
    dsp_status st = check_fields(sig, sig->inputs, sig->n_inputs, "input", err);
    if (st == DSP_OK)
        st = check_fields(sig, sig->outputs, sig->n_outputs, "output", err);
    if (st != DSP_OK)
        return st;
    /* Names must be unique across inputs and outputs: a reply section or a
     * demo block is found by name alone. */
    size_t total = sig->n_inputs + dsp_strategy_n_outputs(sig, strategy);
    for (size_t i = 0; i < total; i++) {
        const char *a = i < sig->n_inputs ? sig->inputs[i].name
                                          : dsp_strategy_output(sig, strategy, i - sig->n_inputs)->name;
        if (strcmp(a, "completed") == 0)
            return dsp_error_set(err, DSP_ERR_INVALID, "signature %s: `completed` is reserved as the end marker",
                                 sig->name ? sig->name : "?");
        for (size_t j = 0; j < i; j++) {
            const char *b = j < sig->n_inputs ? sig->inputs[j].name
                                              : dsp_strategy_output(sig, strategy, j - sig->n_inputs)->name;
            if (strcmp(a, b) == 0)
                return dsp_error_set(err, DSP_ERR_INVALID, "signature %s: field `%s` appears twice%s",
                                     sig->name ? sig->name : "?", a,
                                     strcmp(a, "reasoning") == 0 && strategy == DSP_STRATEGY_CHAIN_OF_THOUGHT
                                         ? " (chain of thought adds its own `reasoning` output)"
                                         : "");
        }
    }
    return DSP_OK;
}
