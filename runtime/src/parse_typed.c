/* parse_typed.c — text and JSON from an LM reply (or a data set) to typed
 * values. The rule everywhere: accept the forms an LM plausibly writes for
 * the right value, reject everything else with a message that quotes it;
 * never guess a value. */
#include "dsp/value.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error_context.h"
#include "textbuf.h"
#include "value_json.h"

#define EXCERPT 80
#define DSP_JSON_EXACT_INT 9007199254740992.0

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Strips one pair of matching quotes or backticks around the whole text. */
static void strip_quotes(const char **s, size_t *n)
{
    if (*n >= 2) {
        char a = (*s)[0], b = (*s)[*n - 1];
        if (a == b && (a == '"' || a == '\'' || a == '`')) {
            (*s)++;
            *n -= 2;
            trim(s, n);
        }
    }
}

static dsp_status bad(dsp_error *err, const char *expected, const char *s, size_t n)
{
    char q[EXCERPT * 4 + 8];
    dsp_quote_excerpt(s, n, EXCERPT, q, sizeof q);
    return dsp_error_set(err, DSP_ERR_PARSE, "expected %s, got \"%s\"", expected, q);
}

static dsp_status parse_int(const char *s, size_t n, dsp_value *out, dsp_error *err)
{
    char buf[64];
    size_t i = 0;
    if (n == 0 || n >= sizeof buf)
        return bad(err, "an integer", s, n);
    if (s[0] == '+' || s[0] == '-')
        i = 1;
    if (i == n)
        return bad(err, "an integer", s, n);
    for (size_t k = i; k < n; k++)
        if (!isdigit((unsigned char)s[k]))
            return bad(err, "an integer", s, n);
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return dsp_error_set(err, DSP_ERR_PARSE, "integer %s is outside the int64 range", buf);
    *out = dsp_value_int((int64_t)v);
    return DSP_OK;
}

static dsp_status parse_float(const char *s, size_t n, dsp_value *out, dsp_error *err)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return bad(err, "a number", s, n);
    /* Only decimal notation: strtod would also take hex, "inf" and "nan". */
    bool digit = false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (isdigit((unsigned char)c))
            digit = true;
        else if (!(c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E'))
            return bad(err, "a number", s, n);
    }
    if (!digit)
        return bad(err, "a number", s, n);
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end != '\0')
        return bad(err, "a number", s, n);
    if (!isfinite(d) || errno == ERANGE) {
        if (!isfinite(d) || fabs(d) > 1.0)
            return dsp_error_set(err, DSP_ERR_PARSE, "number %s is outside the range of a double", buf);
        /* underflow to a tiny or zero value is fine */
    }
    *out = dsp_value_float(d);
    return DSP_OK;
}

static dsp_status parse_bool(const char *s, size_t n, dsp_value *out, dsp_error *err)
{
    static const struct { const char *word; bool value; } words[] = {
        { "true", true }, { "false", false }, { "yes", true }, { "no", false },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].word) == n && strncasecmp(s, words[i].word, n) == 0) {
            *out = dsp_value_bool(words[i].value);
            return DSP_OK;
        }
    }
    return bad(err, "True or False", s, n);
}

/* raw: untrimmed text, matched exactly first, as CHAT_FORMAT says. */
static dsp_status parse_enum(const dsp_type *t, const char *raw, size_t raw_n, dsp_value *out, dsp_error *err)
{
    for (size_t i = 0; i < t->n_enum_values; i++) {
        if (strlen(t->enum_values[i]) == raw_n && memcmp(raw, t->enum_values[i], raw_n) == 0) {
            *out = dsp_value_enum(i);
            return DSP_OK;
        }
    }
    const char *s = raw;
    size_t n = raw_n;
    trim(&s, &n);
    strip_quotes(&s, &n);
    for (size_t i = 0; i < t->n_enum_values; i++) {
        if (strlen(t->enum_values[i]) == n && strncasecmp(s, t->enum_values[i], n) == 0) {
            *out = dsp_value_enum(i);
            return DSP_OK;
        }
    }
    dsp_textbuf names;
    dsp_tb_init(&names);
    for (size_t i = 0; i < t->n_enum_values; i++)
        dsp_tb_printf(&names, "%s%s", i ? "; " : "", t->enum_values[i]);
    char q[EXCERPT * 4 + 8];
    dsp_quote_excerpt(s, n, EXCERPT, q, sizeof q);
    const char *list = dsp_tb_ok(&names) && names.data ? names.data : "(the enum values)";
    dsp_status st = t->name ? dsp_error_set(err, DSP_ERR_PARSE, "\"%s\" is not a value of %s (one of: %s)", q,
                                            t->name, list)
                            : dsp_error_set(err, DSP_ERR_PARSE, "\"%s\" is not one of: %s", q, list);
    dsp_tb_free(&names);
    return st;
}

/* A NUL that JSON text would decode to (\u0000) is refused: cJSON's strings
 * end at it, so the value would be cut there without a word. */
static dsp_status nul_refused(const char *s, size_t n, dsp_error *err)
{
    size_t at = dsp_json_nul_at(s, n);
    if (at < n)
        return dsp_error_set(err, DSP_ERR_PARSE,
                             "a NUL character (\\u0000) at byte %zu; text with NULs is refused, not cut", at);
    return DSP_OK;
}

/* Strips a Markdown code fence (```json ... ```) that LMs often put around
 * JSON in a reply section. */
static void strip_fence(const char **s, size_t *n)
{
    if (*n < 6 || memcmp(*s, "```", 3) != 0 || memcmp(*s + *n - 3, "```", 3) != 0)
        return;
    const char *nl = memchr(*s, '\n', *n - 3);
    if (!nl)
        return;
    size_t skip = (size_t)(nl + 1 - *s);
    *n -= skip + 3;
    *s += skip;
    trim(s, n);
}

/* Lists, records and maps: JSON arrays and objects. */
static dsp_status parse_json_text(const dsp_type *t, const char *s, size_t n, dsp_value *out, dsp_error *err)
{
    strip_fence(&s, &n);
    if (nul_refused(s, n, err) != DSP_OK)
        return DSP_ERR_PARSE;
    bool want_array = t->kind == DSP_TYPE_LIST;
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (!j || (want_array ? !cJSON_IsArray(j) : !cJSON_IsObject(j))) {
        cJSON_Delete(j);
        if (want_array)
            return bad(err, "a JSON array", s, n);
        char want[160];
        snprintf(want, sizeof want, "a JSON object (%s)", dsp_type_name(t, (char[128]){ 0 }, 128));
        return bad(err, want, s, n);
    }
    dsp_status st = dsp_value_from_cjson(t, j, out, err);
    cJSON_Delete(j);
    return st;
}

static dsp_status parse_text(const dsp_type *t, const char *raw, size_t raw_n, dsp_value *out, dsp_error *err)
{
    const char *s = raw;
    size_t n = raw_n;
    trim(&s, &n);
    switch (t->kind) {
    case DSP_TYPE_STRING:
        return dsp_value_set_string(out, s, n, err);
    case DSP_TYPE_ENUM:
        return parse_enum(t, raw, raw_n, out, err);
    case DSP_TYPE_LIST:
    case DSP_TYPE_RECORD:
    case DSP_TYPE_MAP:
        return parse_json_text(t, s, n, out, err);
    case DSP_TYPE_OPTIONAL: {
        if (n == 0 || (n == 4 && (strncasecmp(s, "none", 4) == 0 || strncasecmp(s, "null", 4) == 0))) {
            *out = dsp_value_none();
            return DSP_OK;
        }
        dsp_value inner = { 0 };
        dsp_status st = parse_text(t->elem, s, n, &inner, err);
        if (st == DSP_OK)
            st = dsp_value_some(out, &inner, err);
        if (st != DSP_OK)
            dsp_value_free(&inner);
        return st;
    }
    default:
        break;
    }
    strip_quotes(&s, &n);
    switch (t->kind) {
    case DSP_TYPE_INT: return parse_int(s, n, out, err);
    case DSP_TYPE_FLOAT: return parse_float(s, n, out, err);
    case DSP_TYPE_BOOL: return parse_bool(s, n, out, err);
    default: return dsp_error_set(err, DSP_ERR_INVALID, "unknown type kind %d", (int)t->kind);
    }
}

dsp_status dsp_value_parse(const dsp_type *t, const char *text, size_t len, dsp_value *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_status st = dsp_type_check(t, err);
    if (st != DSP_OK)
        return st;
    return dsp_value_parse_checked(t, text, len, out, err);
}

dsp_status dsp_value_parse_checked(const dsp_type *t, const char *text, size_t len, dsp_value *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!text && len)
        return dsp_error_set(err, DSP_ERR_INVALID, "text of %zu bytes given as NULL", len);
    dsp_status st = parse_text(t, text ? text : "", len, out, err);
    if (st != DSP_OK)
        dsp_value_free(out);
    return st;
}

static const char *json_kind(const cJSON *j)
{
    if (cJSON_IsString(j)) return "a JSON string";
    if (cJSON_IsNumber(j)) return "a JSON number";
    if (cJSON_IsBool(j)) return "a JSON bool";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "a JSON array";
    if (cJSON_IsObject(j)) return "a JSON object";
    return "an unknown JSON item";
}

static dsp_status wrong_json(const dsp_type *t, const cJSON *j, dsp_error *err)
{
    char want[128];
    return dsp_error_set(err, DSP_ERR_PARSE, "expected a value of type %s, got %s", dsp_type_name(t, want, sizeof want),
                         json_kind(j));
}

/* A JSON object into a record: every required field present and not null,
 * optional ones absent when missing or null, unknown keys ignored (an LM
 * adding a field it was not asked for is harmless). */
static dsp_status record_from_cjson(const dsp_type *t, const cJSON *j, dsp_value *out, dsp_error *err)
{
    if (!cJSON_IsObject(j))
        return wrong_json(t, j, err);
    dsp_value rec;
    dsp_status st = dsp_value_record(&rec, t->n_fields, err);
    for (size_t i = 0; st == DSP_OK && i < t->n_fields; i++) {
        const dsp_field *f = &t->fields[i];
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, f->name);
        bool optional = f->type->kind == DSP_TYPE_OPTIONAL;
        if (!item || (cJSON_IsNull(item) && !optional)) {
            if (optional) {
                rec.as.record.fields[i] = dsp_value_none();
                continue;
            }
            st = dsp_error_set(err, DSP_ERR_PARSE, "%s, but it is a required field of %s",
                               item ? "null" : "missing", t->name);
            st = dsp_error_path(err, st, ".%s", f->name);
            break;
        }
        st = dsp_value_from_cjson(f->type, item, &rec.as.record.fields[i], err);
        if (st == DSP_ERR_PARSE)
            st = dsp_error_path(err, st, ".%s", f->name);
    }
    if (st != DSP_OK) {
        dsp_value_free(&rec);
        return st;
    }
    *out = rec;
    return DSP_OK;
}

typedef struct keyed_item {
    const char *key;
    size_t index;
} keyed_item;

static int by_key_then_index(const void *a, const void *b)
{
    const keyed_item *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* For a JSON object's members, *later[i] says whether member i's key
 * appears again after it (*later stays NULL when no key repeats). Sorting
 * keeps a hostile reply of millions of keys at n log n, where a search per
 * key would take hours. */
static dsp_status later_duplicates(const cJSON *obj, bool **later, dsp_error *err)
{
    *later = NULL;
    size_t n = 0;
    for (const cJSON *item = obj->child; item; item = item->next)
        n++;
    if (n < 2)
        return DSP_OK;
    keyed_item *items = malloc(n * sizeof *items);
    if (!items)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading a map of %zu keys", n);
    size_t i = 0;
    for (const cJSON *item = obj->child; item; item = item->next, i++)
        items[i] = (keyed_item){item->string ? item->string : "", i};
    qsort(items, n, sizeof *items, by_key_then_index);
    for (i = 0; i + 1 < n; i++) {
        if (strcmp(items[i].key, items[i + 1].key) != 0)
            continue;
        if (!*later && !(*later = calloc(n, sizeof **later))) {
            free(items);
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading a map of %zu keys", n);
        }
        (*later)[items[i].index] = true;
    }
    free(items);
    return DSP_OK;
}

dsp_status dsp_value_from_cjson(const dsp_type *t, const cJSON *j, dsp_value *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    /* A JSON string where a number, bool, enum or list belongs: read its
     * text as a reply section would be read (this also makes "None" an
     * absent optional). An optional string takes the string as is. */
    bool string_like = t->kind == DSP_TYPE_STRING ||
                       (t->kind == DSP_TYPE_OPTIONAL && t->elem->kind == DSP_TYPE_STRING);
    if (cJSON_IsString(j) && !string_like) {
        const char *s = j->valuestring;
        return parse_text(t, s, strlen(s), out, err);
    }
    if (t->kind == DSP_TYPE_OPTIONAL) {
        if (cJSON_IsNull(j)) {
            *out = dsp_value_none();
            return DSP_OK;
        }
        dsp_value inner;
        dsp_status st = dsp_value_from_cjson(t->elem, j, &inner, err);
        if (st == DSP_OK)
            st = dsp_value_some(out, &inner, err);
        if (st != DSP_OK)
            dsp_value_free(&inner);
        return st;
    }
    switch (t->kind) {
    case DSP_TYPE_STRING: {
        if (cJSON_IsString(j))
            return dsp_value_set_string(out, j->valuestring, strlen(j->valuestring), err);
        if (!cJSON_IsNumber(j) && !cJSON_IsBool(j))
            return wrong_json(t, j, err);
        char *text = cJSON_PrintUnformatted(j);
        if (!text)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing JSON");
        dsp_status st = dsp_value_set_string(out, text, strlen(text), err);
        cJSON_free(text);
        return st;
    }
    case DSP_TYPE_INT: {
        if (!cJSON_IsNumber(j))
            return wrong_json(t, j, err);
        double d = j->valuedouble;
        if (d != floor(d))
            return dsp_error_set(err, DSP_ERR_PARSE, "expected an integer, got %.15g", d);
        if (fabs(d) > DSP_JSON_EXACT_INT)
            return dsp_error_set(err, DSP_ERR_PARSE,
                                 "integer %.15g is beyond ±2^53, which JSON numbers cannot carry exactly; "
                                 "write it as a string",
                                 d);
        *out = dsp_value_int((int64_t)d);
        return DSP_OK;
    }
    case DSP_TYPE_FLOAT:
        if (!cJSON_IsNumber(j))
            return wrong_json(t, j, err);
        if (!isfinite(j->valuedouble))
            return dsp_error_set(err, DSP_ERR_PARSE, "number is outside the range of a double");
        *out = dsp_value_float(j->valuedouble);
        return DSP_OK;
    case DSP_TYPE_BOOL:
        if (!cJSON_IsBool(j))
            return wrong_json(t, j, err);
        *out = dsp_value_bool(cJSON_IsTrue(j));
        return DSP_OK;
    case DSP_TYPE_ENUM:
        return wrong_json(t, j, err); /* strings were handled above */
    case DSP_TYPE_LIST: {
        if (!cJSON_IsArray(j))
            return wrong_json(t, j, err);
        dsp_value list = dsp_value_list();
        size_t i = 0;
        for (const cJSON *item = j->child; item; item = item->next, i++) {
            dsp_value v;
            dsp_status st = dsp_value_from_cjson(t->elem, item, &v, err);
            if (st == DSP_OK)
                st = dsp_value_list_append(&list, &v, err);
            if (st != DSP_OK) {
                dsp_value_free(&v);
                dsp_value_free(&list);
                return st == DSP_ERR_PARSE ? dsp_error_path(err, st, "[%zu]", i) : st;
            }
        }
        *out = list;
        return DSP_OK;
    }
    case DSP_TYPE_RECORD:
        return record_from_cjson(t, j, out, err);
    case DSP_TYPE_MAP: {
        if (!cJSON_IsObject(j))
            return wrong_json(t, j, err);
        bool *later = NULL;
        dsp_status st = later_duplicates(j, &later, err);
        if (st != DSP_OK)
            return st;
        dsp_value map = dsp_value_map();
        size_t i = 0;
        for (const cJSON *item = j->child; item; item = item->next, i++) {
            if (later && later[i])
                continue; /* the key appears again further on: as a JSON reader does, the last one wins */
            dsp_value v;
            st = dsp_value_from_cjson(t->elem, item, &v, err);
            if (st == DSP_OK)
                st = dsp_value_map_append(&map, item->string ? item->string : "", &v, err);
            if (st != DSP_OK) {
                dsp_value_free(&v);
                dsp_value_free(&map);
                free(later);
                return st == DSP_ERR_PARSE ? dsp_error_path(err, st, "[\"%.64s\"]", item->string ? item->string : "")
                                           : st;
            }
        }
        free(later);
        *out = map;
        return DSP_OK;
    }
    default:
        return dsp_error_set(err, DSP_ERR_INVALID, "unknown type kind %d", (int)t->kind);
    }
}

dsp_status dsp_value_parse_json(const dsp_type *t, const char *json, size_t len, dsp_value *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_status st = dsp_type_check(t, err);
    if (st != DSP_OK)
        return st;
    if (!json)
        return dsp_error_set(err, DSP_ERR_INVALID, "no JSON text");
    if (nul_refused(json, len, err) != DSP_OK)
        return DSP_ERR_PARSE;
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (!j)
        return bad(err, "JSON", json, len);
    st = dsp_value_from_cjson(t, j, out, err);
    cJSON_Delete(j);
    return st;
}
