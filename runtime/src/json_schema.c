/* json_schema.c — JSON schemas of types and of the JSON adapter's reply
 * object (for the list/object notes in prompts and for response_format). */
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "value_json.h"

cJSON *dsp_type_schema_cjson(const dsp_type *t)
{
    cJSON *s = cJSON_CreateObject();
    if (!s)
        return NULL;
    bool ok = true;
    switch (t->kind) {
    case DSP_TYPE_STRING: ok = cJSON_AddStringToObject(s, "type", "string") != NULL; break;
    case DSP_TYPE_INT: ok = cJSON_AddStringToObject(s, "type", "integer") != NULL; break;
    case DSP_TYPE_FLOAT: ok = cJSON_AddStringToObject(s, "type", "number") != NULL; break;
    case DSP_TYPE_BOOL: ok = cJSON_AddStringToObject(s, "type", "boolean") != NULL; break;
    case DSP_TYPE_ENUM: {
        ok = cJSON_AddStringToObject(s, "type", "string") != NULL;
        cJSON *values = ok ? cJSON_AddArrayToObject(s, "enum") : NULL;
        ok = values != NULL;
        for (size_t i = 0; ok && i < t->n_enum_values; i++) {
            cJSON *v = cJSON_CreateString(t->enum_values[i]);
            ok = v != NULL;
            if (ok)
                cJSON_AddItemToArray(values, v);
        }
        break;
    }
    case DSP_TYPE_LIST: {
        ok = cJSON_AddStringToObject(s, "type", "array") != NULL;
        cJSON *items = ok ? dsp_type_schema_cjson(t->elem) : NULL;
        ok = items != NULL;
        if (ok)
            cJSON_AddItemToObject(s, "items", items);
        break;
    }
    case DSP_TYPE_RECORD: {
        /* Every key required and no others, as OpenAI's strict structured
         * outputs demand; an optional field is required but nullable. */
        ok = cJSON_AddStringToObject(s, "type", "object") != NULL;
        cJSON *props = ok ? cJSON_AddObjectToObject(s, "properties") : NULL;
        cJSON *req = props ? cJSON_AddArrayToObject(s, "required") : NULL;
        ok = req != NULL;
        for (size_t i = 0; ok && i < t->n_fields; i++) {
            const dsp_field *f = &t->fields[i];
            cJSON *fs = dsp_type_schema_cjson(f->type);
            cJSON *name = fs ? cJSON_CreateString(f->name) : NULL;
            ok = name != NULL;
            if (ok && f->description && *f->description)
                ok = cJSON_AddStringToObject(fs, "description", f->description) != NULL;
            if (ok) {
                cJSON_AddItemToObject(props, f->name, fs);
                cJSON_AddItemToArray(req, name);
            } else {
                cJSON_Delete(fs);
                cJSON_Delete(name);
            }
        }
        if (ok)
            ok = cJSON_AddFalseToObject(s, "additionalProperties") != NULL;
        break;
    }
    case DSP_TYPE_MAP: {
        ok = cJSON_AddStringToObject(s, "type", "object") != NULL;
        cJSON *vals = ok ? dsp_type_schema_cjson(t->elem) : NULL;
        ok = vals != NULL;
        if (ok)
            cJSON_AddItemToObject(s, "additionalProperties", vals);
        break;
    }
    case DSP_TYPE_OPTIONAL: {
        cJSON *any = cJSON_AddArrayToObject(s, "anyOf");
        cJSON *inner = any ? dsp_type_schema_cjson(t->elem) : NULL;
        cJSON *null = inner ? cJSON_CreateObject() : NULL;
        ok = null && cJSON_AddStringToObject(null, "type", "null");
        if (inner)
            cJSON_AddItemToArray(any, inner);
        if (null)
            cJSON_AddItemToArray(any, null);
        break;
    }
    }
    if (!ok) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

static dsp_status print_owned(cJSON *j, char **out, dsp_error *err)
{
    *out = NULL;
    if (!j)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a JSON schema");
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing a JSON schema");
    size_t len = strlen(text);
    *out = malloc(len + 1);
    if (*out)
        memcpy(*out, text, len + 1);
    cJSON_free(text);
    return *out ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing a JSON schema");
}

dsp_status dsp_type_json_schema(const dsp_type *t, char **out, dsp_error *err)
{
    *out = NULL;
    dsp_status st = dsp_type_check(t, err);
    if (st != DSP_OK)
        return st;
    return print_owned(dsp_type_schema_cjson(t), out, err);
}

dsp_status dsp_json_adapter_schema(const dsp_prompt_spec *spec, char **out, dsp_error *err)
{
    *out = NULL;
    dsp_status st = dsp_signature_check(spec->signature, spec->strategy, err);
    if (st != DSP_OK)
        return st;
    cJSON *s = cJSON_CreateObject();
    cJSON *props = s ? cJSON_CreateObject() : NULL;
    cJSON *required = props ? cJSON_CreateArray() : NULL;
    bool ok = s && props && required && cJSON_AddStringToObject(s, "type", "object");
    if (ok) {
        cJSON_AddItemToObject(s, "properties", props);
        cJSON_AddItemToObject(s, "required", required);
        props = required = NULL; /* owned by s now */
    }
    cJSON *p = ok ? cJSON_GetObjectItemCaseSensitive(s, "properties") : NULL;
    cJSON *r = ok ? cJSON_GetObjectItemCaseSensitive(s, "required") : NULL;
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    for (size_t i = 0; ok && i < n; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        cJSON *fs = dsp_type_schema_cjson(f->type);
        cJSON *name = cJSON_CreateString(f->name);
        ok = fs && name;
        if (ok && f->description && *f->description)
            ok = cJSON_AddStringToObject(fs, "description", f->description) != NULL;
        if (ok) {
            cJSON_AddItemToObject(p, f->name, fs);
            /* Every key is required (strict structured outputs demand it);
             * an optional output is required but nullable. */
            cJSON_AddItemToArray(r, name);
        } else {
            cJSON_Delete(fs);
            cJSON_Delete(name);
        }
    }
    if (ok)
        ok = cJSON_AddFalseToObject(s, "additionalProperties") != NULL;
    cJSON_Delete(props);
    cJSON_Delete(required);
    if (!ok) {
        cJSON_Delete(s);
        s = NULL;
    }
    return print_owned(s, out, err);
}

static bool has_map(const dsp_type *t, int depth)
{
    if (!t || depth > 16)
        return false;
    if (t->kind == DSP_TYPE_MAP)
        return true;
    for (size_t i = 0; t->kind == DSP_TYPE_RECORD && i < t->n_fields; i++)
        if (has_map(t->fields[i].type, depth + 1))
            return true;
    return (t->kind == DSP_TYPE_LIST || t->kind == DSP_TYPE_OPTIONAL) && has_map(t->elem, depth + 1);
}

bool dsp_json_adapter_strict_ok(const dsp_prompt_spec *spec)
{
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    for (size_t i = 0; i < n; i++)
        if (has_map(dsp_strategy_output(spec->signature, spec->strategy, i)->type, 0))
            return false;
    return true;
}
