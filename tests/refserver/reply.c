/* reply.c — render answers as chat-format text or JSON (see reply.h). */
#include "reply.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The output field that the wrong-type fault damages: the first one whose
 * type can be violated in text (enum, number, bool, list, object); in JSON
 * any field can (a string becomes a number). */
static int wrong_type_target(const rs_task *t, bool json)
{
    for (size_t i = 0; i < t->n_out; i++)
        if (t->out[i].kind != RS_STRING)
            return (int)i;
    return json && t->n_out ? (int)t->n_out - 1 : -1;
}

static const char *wrong_text(rs_kind k)
{
    switch (k) {
    case RS_ENUM: return "not-one-of-the-labels";
    case RS_INT:
    case RS_FLOAT: return "many";
    case RS_BOOL: return "perhaps";
    case RS_LIST: return "not a list";
    case RS_OBJECT: return "not an object";
    default: return "42";
    }
}

static cJSON *typed_json(rs_kind k, const char *v)
{
    switch (k) {
    case RS_INT:
    case RS_FLOAT: {
        char *end;
        double d = strtod(v, &end);
        return end != v ? cJSON_CreateNumber(d) : cJSON_CreateString(v);
    }
    case RS_BOOL:
        return cJSON_CreateBool(tolower((unsigned char)v[0]) == 't' || tolower((unsigned char)v[0]) == 'y');
    case RS_LIST:
    case RS_OBJECT: {
        cJSON *j = cJSON_Parse(v);
        return j ? j : cJSON_CreateString(v);
    }
    default:
        return cJSON_CreateString(v);
    }
}

static cJSON *wrong_json(rs_kind k)
{
    switch (k) {
    case RS_STRING:
    case RS_ENUM: return cJSON_CreateNumber(42);
    case RS_LIST: return cJSON_CreateString("not a list");
    case RS_OBJECT: return cJSON_CreateArray();
    default: return cJSON_CreateString(wrong_text(k));
    }
}

static rs_kind kind_of_schema(const cJSON *prop)
{
    /* An optional's anyOf: the kind of its value when present. */
    const cJSON *alt;
    cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(prop, "anyOf")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(alt, "type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "null") != 0)
            return kind_of_schema(alt);
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(prop, "type");
    const char *s = cJSON_IsString(type) ? type->valuestring : "string";
    if (cJSON_GetObjectItemCaseSensitive(prop, "enum"))
        return RS_ENUM;
    if (strcmp(s, "integer") == 0)
        return RS_INT;
    if (strcmp(s, "number") == 0)
        return RS_FLOAT;
    if (strcmp(s, "boolean") == 0)
        return RS_BOOL;
    if (strcmp(s, "array") == 0)
        return RS_LIST;
    if (strcmp(s, "object") == 0)
        return RS_OBJECT;
    return RS_STRING;
}

/* A value for a schema property the prompt did not define. */
static cJSON *schema_default(const cJSON *prop, const char *text)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(prop, "enum");
    if (cJSON_IsArray(en) && cJSON_GetArraySize(en) > 0)
        return cJSON_Duplicate(cJSON_GetArrayItem(en, 0), 1);
    switch (kind_of_schema(prop)) {
    case RS_INT:
    case RS_FLOAT: return cJSON_CreateNumber(0);
    case RS_BOOL: return cJSON_CreateFalse();
    case RS_LIST: return cJSON_CreateArray();
    case RS_OBJECT: return cJSON_CreateObject();
    default: return cJSON_CreateString(text);
    }
}

static const char *print_json(rs_arena *a, cJSON *obj)
{
    char *s = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    const char *out = rs_strdup(a, s ? s : "{}");
    cJSON_free(s);
    return out;
}

static const char *render_json(rs_arena *a, const rs_task *t, const char **values,
                               const cJSON *schema, rs_damage damage)
{
    cJSON *obj = cJSON_CreateObject();
    int wrong = damage == RS_DAMAGE_WRONG_TYPE ? wrong_type_target(t, true) : -1;
    int skip = damage == RS_DAMAGE_MISSING_FIELD ? (int)t->n_out - 1 : -1;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    if (cJSON_IsObject(props)) {
        const cJSON *p;
        int i = 0, n = cJSON_GetArraySize(props);
        cJSON_ArrayForEach(p, props) {
            if (damage == RS_DAMAGE_MISSING_FIELD && i++ == n - 1)
                break;
            int f = rs_field_index(t->out, t->n_out, p->string);
            rs_kind k = kind_of_schema(p);
            cJSON *v;
            if (f >= 0 && f == wrong)
                v = wrong_json(k);
            else if (f >= 0)
                v = typed_json(k == RS_ENUM ? RS_STRING : k, values[f]);
            else
                v = schema_default(p, "");
            cJSON_AddItemToObject(obj, p->string, v);
        }
        if (damage == RS_DAMAGE_WRONG_TYPE && wrong < 0 && obj->child) {
            cJSON *first = obj->child;
            cJSON_ReplaceItemViaPointer(obj, first, cJSON_IsString(first) ? cJSON_CreateNumber(42)
                                                                         : cJSON_CreateString("42"));
        }
        return print_json(a, obj);
    }
    for (size_t i = 0; i < t->n_out; i++) {
        if ((int)i == skip)
            continue;
        cJSON *v = (int)i == wrong ? wrong_json(t->out[i].kind) : typed_json(t->out[i].kind, values[i]);
        cJSON_AddItemToObject(obj, t->out[i].name, v);
    }
    return print_json(a, obj);
}

const char *rs_render_reply(rs_arena *a, const rs_task *t, const char **values, bool json,
                            const cJSON *schema, rs_damage damage)
{
    if (json)
        return render_json(a, t, values, schema, damage);
    int wrong = damage == RS_DAMAGE_WRONG_TYPE ? wrong_type_target(t, false) : -1;
    int skip = damage == RS_DAMAGE_MISSING_FIELD ? (int)t->n_out - 1 : -1;
    rs_buf b;
    rs_buf_init(&b, a);
    for (size_t i = 0; i < t->n_out; i++) {
        if ((int)i == skip)
            continue;
        const char *v = (int)i == wrong ? wrong_text(t->out[i].kind) : values[i];
        rs_buf_puts(&b, "[[ ## ");
        rs_buf_puts(&b, t->out[i].name);
        rs_buf_puts(&b, " ## ]]\n");
        rs_buf_puts(&b, v);
        rs_buf_puts(&b, "\n\n");
    }
    rs_buf_puts(&b, "[[ ## completed ## ]]");
    return rs_buf_str(&b);
}

const char *rs_render_unstructured(rs_arena *a, const char *last_user, bool json,
                                   const cJSON *schema)
{
    size_t words = (size_t)rs_count_words(last_user);
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_printf(&b,
                  "This is dsp-refserver, a deterministic test fixture (not a language model). "
                  "Your message has %zu words; send a prompt in the dspcc chat format to get a "
                  "structured answer.",
                  words);
    const char *text = rs_buf_str(&b);
    if (!json)
        return text;
    cJSON *obj = cJSON_CreateObject();
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    if (cJSON_IsObject(props)) {
        const cJSON *p;
        cJSON_ArrayForEach(p, props)
            cJSON_AddItemToObject(obj, p->string, schema_default(p, text));
    } else {
        cJSON_AddStringToObject(obj, "text", text);
    }
    return print_json(a, obj);
}
