/* value.c — dsp_value: construction, ownership, copy, equality, type check. */
#include "dsp/value.h"
#include "value_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsp_value dsp_value_int(int64_t i)
{
    dsp_value v = { .kind = DSP_TYPE_INT };
    v.as.i = i;
    return v;
}

dsp_value dsp_value_float(double f)
{
    dsp_value v = { .kind = DSP_TYPE_FLOAT };
    v.as.f = f;
    return v;
}

dsp_value dsp_value_bool(bool b)
{
    dsp_value v = { .kind = DSP_TYPE_BOOL };
    v.as.b = b;
    return v;
}

dsp_value dsp_value_enum(size_t index)
{
    dsp_value v = { .kind = DSP_TYPE_ENUM };
    v.as.e = index;
    return v;
}

dsp_value dsp_value_list(void)
{
    dsp_value v = { .kind = DSP_TYPE_LIST };
    return v;
}

dsp_value dsp_value_none(void)
{
    dsp_value v = { .kind = DSP_TYPE_OPTIONAL };
    return v;
}

dsp_value dsp_value_map(void)
{
    dsp_value v = { .kind = DSP_TYPE_MAP };
    return v;
}

dsp_status dsp_value_record(dsp_value *out, size_t n_fields, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = DSP_TYPE_RECORD;
    if (n_fields == 0)
        return DSP_OK;
    out->as.record.fields = calloc(n_fields, sizeof *out->as.record.fields);
    if (!out->as.record.fields)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory making a record of %zu fields", n_fields);
    out->as.record.len = n_fields;
    return DSP_OK;
}

dsp_status dsp_value_map_put(dsp_value *map, const char *key, dsp_value *val, dsp_error *err)
{
    if (map->kind != DSP_TYPE_MAP)
        return dsp_error_set(err, DSP_ERR_INVALID, "putting a key into a value that is not a map");
    if (!key)
        return dsp_error_set(err, DSP_ERR_INVALID, "a map key is NULL");
    for (size_t i = 0; i < map->as.map.len; i++) {
        if (strcmp(map->as.map.keys[i], key) == 0) {
            dsp_value_free(&map->as.map.vals[i]);
            map->as.map.vals[i] = *val;
            memset(val, 0, sizeof *val);
            return DSP_OK;
        }
    }
    return dsp_value_map_append(map, key, val, err);
}

dsp_status dsp_value_map_append(dsp_value *map, const char *key, dsp_value *val, dsp_error *err)
{
    if (map->kind != DSP_TYPE_MAP)
        return dsp_error_set(err, DSP_ERR_INVALID, "putting a key into a value that is not a map");
    if (!key)
        return dsp_error_set(err, DSP_ERR_INVALID, "a map key is NULL");
    if (map->as.map.len == map->as.map.cap) {
        size_t cap = map->as.map.cap ? map->as.map.cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(dsp_value))
            return dsp_error_set(err, DSP_ERR_NOMEM, "map too large");
        char **keys = realloc(map->as.map.keys, cap * sizeof *keys);
        if (!keys)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory growing a map");
        map->as.map.keys = keys;
        dsp_value *vals = realloc(map->as.map.vals, cap * sizeof *vals);
        if (!vals)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory growing a map");
        map->as.map.vals = vals;
        map->as.map.cap = cap;
    }
    size_t klen = strlen(key);
    char *k = malloc(klen + 1);
    if (!k)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a map key");
    memcpy(k, key, klen + 1);
    map->as.map.keys[map->as.map.len] = k;
    map->as.map.vals[map->as.map.len++] = *val;
    memset(val, 0, sizeof *val);
    return DSP_OK;
}

/* A map key and its place, sorted by key then place. */
typedef struct key_at {
    const char *key;
    size_t at;
} key_at;

static int by_key_then_at(const void *x, const void *y)
{
    const key_at *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

dsp_status dsp_value_map_merge_repeats(dsp_value *map, dsp_error *err)
{
    if (map->kind != DSP_TYPE_MAP)
        return dsp_error_set(err, DSP_ERR_INVALID, "merging the keys of a value that is not a map");
    size_t n = map->as.map.len;
    if (n < 2)
        return DSP_OK;
    key_at *ka = malloc(n * sizeof *ka);
    if (!ka)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory merging a map of %zu keys", n);
    for (size_t i = 0; i < n; i++)
        ka[i] = (key_at){ map->as.map.keys[i], i };
    qsort(ka, n, sizeof *ka, by_key_then_at);
    bool *drop = NULL;
    for (size_t g = 0, e; g < n; g = e) {
        for (e = g + 1; e < n && strcmp(ka[e].key, ka[g].key) == 0; e++)
            ;
        if (e - g == 1)
            continue;
        if (!drop && !(drop = calloc(n, sizeof *drop))) {
            free(ka);
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory merging a map of %zu keys", n);
        }
        /* The first place keeps the key and takes the last value. */
        dsp_value *first = &map->as.map.vals[ka[g].at];
        dsp_value_free(first);
        *first = map->as.map.vals[ka[e - 1].at];
        memset(&map->as.map.vals[ka[e - 1].at], 0, sizeof *first);
        for (size_t k = g + 1; k < e; k++)
            drop[ka[k].at] = true;
    }
    free(ka);
    if (!drop)
        return DSP_OK;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop[i]) {
            free(map->as.map.keys[i]);
            dsp_value_free(&map->as.map.vals[i]);
            continue;
        }
        map->as.map.keys[w] = map->as.map.keys[i];
        map->as.map.vals[w++] = map->as.map.vals[i];
    }
    map->as.map.len = w;
    free(drop);
    return DSP_OK;
}

const dsp_value *dsp_value_map_get(const dsp_value *map, const char *key)
{
    if (!map || map->kind != DSP_TYPE_MAP)
        return NULL;
    for (size_t i = 0; i < map->as.map.len; i++)
        if (strcmp(map->as.map.keys[i], key) == 0)
            return &map->as.map.vals[i];
    return NULL;
}

const dsp_value *dsp_value_record_get(const dsp_value *rec, const dsp_type *t, const char *field)
{
    if (!rec || rec->kind != DSP_TYPE_RECORD || !t || t->kind != DSP_TYPE_RECORD)
        return NULL;
    for (size_t i = 0; i < t->n_fields && i < rec->as.record.len; i++)
        if (strcmp(t->fields[i].name, field) == 0)
            return &rec->as.record.fields[i];
    return NULL;
}

dsp_status dsp_value_set_string(dsp_value *out, const char *s, size_t len, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = DSP_TYPE_STRING;
    if (len == 0)
        return DSP_OK;
    if (!s)
        return dsp_error_set(err, DSP_ERR_INVALID, "string of %zu bytes given as NULL", len);
    if (len == SIZE_MAX)
        return dsp_error_set(err, DSP_ERR_NOMEM, "string too long");
    char *copy = malloc(len + 1);
    if (!copy)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a %zu-byte string", len);
    memcpy(copy, s, len);
    copy[len] = '\0';
    out->as.s.data = copy;
    out->as.s.len = len;
    return DSP_OK;
}

dsp_status dsp_value_list_append(dsp_value *list, dsp_value *item, dsp_error *err)
{
    if (list->kind != DSP_TYPE_LIST)
        return dsp_error_set(err, DSP_ERR_INVALID, "appending to a value that is not a list");
    if (list->as.list.len == list->as.list.cap) {
        size_t cap = list->as.list.cap ? list->as.list.cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(dsp_value))
            return dsp_error_set(err, DSP_ERR_NOMEM, "list too long");
        dsp_value *items = realloc(list->as.list.items, cap * sizeof *items);
        if (!items)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory growing a list");
        list->as.list.items = items;
        list->as.list.cap = cap;
    }
    list->as.list.items[list->as.list.len++] = *item;
    memset(item, 0, sizeof *item);
    return DSP_OK;
}

dsp_status dsp_value_some(dsp_value *out, dsp_value *inner, dsp_error *err)
{
    dsp_value *box = malloc(sizeof *box);
    if (!box)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory boxing an optional value");
    *box = *inner;
    memset(inner, 0, sizeof *inner);
    memset(out, 0, sizeof *out);
    out->kind = DSP_TYPE_OPTIONAL;
    out->as.some = box;
    return DSP_OK;
}

const char *dsp_value_cstr(const dsp_value *v)
{
    return v && v->kind == DSP_TYPE_STRING && v->as.s.data ? v->as.s.data : "";
}

void dsp_value_free(dsp_value *v)
{
    if (!v)
        return;
    switch (v->kind) {
    case DSP_TYPE_STRING:
        free(v->as.s.data);
        break;
    case DSP_TYPE_LIST:
        dsp_values_free(v->as.list.items, v->as.list.len);
        free(v->as.list.items);
        break;
    case DSP_TYPE_OPTIONAL:
        if (v->as.some) {
            dsp_value_free(v->as.some);
            free(v->as.some);
        }
        break;
    case DSP_TYPE_RECORD:
        dsp_values_free(v->as.record.fields, v->as.record.len);
        free(v->as.record.fields);
        break;
    case DSP_TYPE_MAP:
        for (size_t i = 0; i < v->as.map.len; i++)
            free(v->as.map.keys[i]);
        dsp_values_free(v->as.map.vals, v->as.map.len);
        free(v->as.map.keys);
        free(v->as.map.vals);
        break;
    default:
        break;
    }
    memset(v, 0, sizeof *v);
}

void dsp_values_free(dsp_value *vs, size_t n)
{
    for (size_t i = 0; vs && i < n; i++)
        dsp_value_free(&vs[i]);
}

dsp_status dsp_value_copy(dsp_value *out, const dsp_value *src, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    switch (src->kind) {
    case DSP_TYPE_STRING:
        return dsp_value_set_string(out, src->as.s.data, src->as.s.len, err);
    case DSP_TYPE_LIST: {
        dsp_value list = dsp_value_list();
        for (size_t i = 0; i < src->as.list.len; i++) {
            dsp_value item;
            dsp_status st = dsp_value_copy(&item, &src->as.list.items[i], err);
            if (st == DSP_OK)
                st = dsp_value_list_append(&list, &item, err);
            if (st != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(&list);
                return st;
            }
        }
        *out = list;
        return DSP_OK;
    }
    case DSP_TYPE_OPTIONAL: {
        if (!src->as.some) {
            *out = dsp_value_none();
            return DSP_OK;
        }
        dsp_value inner;
        dsp_status st = dsp_value_copy(&inner, src->as.some, err);
        if (st == DSP_OK)
            st = dsp_value_some(out, &inner, err);
        if (st != DSP_OK)
            dsp_value_free(&inner);
        return st;
    }
    case DSP_TYPE_RECORD: {
        dsp_value rec;
        dsp_status st = dsp_value_record(&rec, src->as.record.len, err);
        for (size_t i = 0; st == DSP_OK && i < src->as.record.len; i++)
            st = dsp_value_copy(&rec.as.record.fields[i], &src->as.record.fields[i], err);
        if (st != DSP_OK) {
            dsp_value_free(&rec);
            return st;
        }
        *out = rec;
        return DSP_OK;
    }
    case DSP_TYPE_MAP: {
        dsp_value map = dsp_value_map();
        for (size_t i = 0; i < src->as.map.len; i++) {
            dsp_value item;
            dsp_status st = dsp_value_copy(&item, &src->as.map.vals[i], err);
            if (st == DSP_OK) /* a map's keys are unique: no search (a search per key is quadratic) */
                st = dsp_value_map_append(&map, src->as.map.keys[i], &item, err);
            if (st != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(&map);
                return st;
            }
        }
        *out = map;
        return DSP_OK;
    }
    default:
        *out = *src;
        return DSP_OK;
    }
}

/* A map's entries ordered by key, for comparing two maps. */
typedef struct map_entry {
    const char *key;
    const dsp_value *val;
} map_entry;

static int by_key(const void *x, const void *y)
{
    return strcmp(((const map_entry *)x)->key, ((const map_entry *)y)->key);
}

static map_entry *sorted_entries(const dsp_value *m)
{
    size_t n = m->as.map.len;
    map_entry *e = malloc((n ? n : 1) * sizeof *e);
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++)
        e[i] = (map_entry){ m->as.map.keys[i], &m->as.map.vals[i] };
    qsort(e, n, sizeof *e, by_key);
    return e;
}

/* The same keys with equal values, in any order. Keys of a map are
 * distinct (dsp_value_map_put replaces; a reply keeps a repeated key's last
 * value). Small maps: a lookup per key. Larger ones: both maps' entries
 * sorted by key and walked together, O(n log n) where a lookup per key
 * was O(n^2) (a metric compares the maps of every example). */
static bool maps_equal(const dsp_value *a, const dsp_value *b)
{
    size_t n = a->as.map.len;
    if (n != b->as.map.len)
        return false;
    map_entry *ea = n > 8 ? sorted_entries(a) : NULL, *eb = ea ? sorted_entries(b) : NULL;
    bool eq = true;
    if (ea && eb) {
        for (size_t i = 0; eq && i < n; i++)
            eq = strcmp(ea[i].key, eb[i].key) == 0 && dsp_value_equal(ea[i].val, eb[i].val);
    } else { /* small, or no memory to sort: the scan */
        for (size_t i = 0; eq && i < n; i++) {
            const dsp_value *o = dsp_value_map_get(b, a->as.map.keys[i]);
            eq = o && dsp_value_equal(&a->as.map.vals[i], o);
        }
    }
    free(ea);
    free(eb);
    return eq;
}

bool dsp_value_equal(const dsp_value *a, const dsp_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case DSP_TYPE_STRING:
        return a->as.s.len == b->as.s.len && (a->as.s.len == 0 || memcmp(a->as.s.data, b->as.s.data, a->as.s.len) == 0);
    case DSP_TYPE_INT:
        return a->as.i == b->as.i;
    case DSP_TYPE_FLOAT:
        return a->as.f == b->as.f || (isnan(a->as.f) && isnan(b->as.f));
    case DSP_TYPE_BOOL:
        return a->as.b == b->as.b;
    case DSP_TYPE_ENUM:
        return a->as.e == b->as.e;
    case DSP_TYPE_LIST:
        if (a->as.list.len != b->as.list.len)
            return false;
        for (size_t i = 0; i < a->as.list.len; i++)
            if (!dsp_value_equal(&a->as.list.items[i], &b->as.list.items[i]))
                return false;
        return true;
    case DSP_TYPE_OPTIONAL:
        if (!a->as.some || !b->as.some)
            return !a->as.some && !b->as.some;
        return dsp_value_equal(a->as.some, b->as.some);
    case DSP_TYPE_RECORD:
        if (a->as.record.len != b->as.record.len)
            return false;
        for (size_t i = 0; i < a->as.record.len; i++)
            if (!dsp_value_equal(&a->as.record.fields[i], &b->as.record.fields[i]))
                return false;
        return true;
    case DSP_TYPE_MAP:
        return maps_equal(a, b);
    }
    return false;
}

static const char *kind_name(dsp_type_kind k)
{
    switch (k) {
    case DSP_TYPE_STRING: return "string";
    case DSP_TYPE_INT: return "int";
    case DSP_TYPE_FLOAT: return "float";
    case DSP_TYPE_BOOL: return "bool";
    case DSP_TYPE_ENUM: return "enum";
    case DSP_TYPE_LIST: return "list";
    case DSP_TYPE_OPTIONAL: return "optional";
    case DSP_TYPE_RECORD: return "record";
    case DSP_TYPE_MAP: return "map";
    }
    return "unknown";
}

dsp_status dsp_value_check(const dsp_value *v, const dsp_type *t, const char *what, dsp_error *err)
{
    char want[128];
    if (!what)
        what = "value";
    if (!t)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: no type to check against", what);
    if (v->kind != t->kind)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: expected a value of type %s, got a value of type %s", what,
                             dsp_type_name(t, want, sizeof want), kind_name(v->kind));
    switch (t->kind) {
    case DSP_TYPE_STRING:
        if (v->as.s.len && !v->as.s.data)
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: string of %zu bytes has no data", what, v->as.s.len);
        return DSP_OK;
    case DSP_TYPE_FLOAT:
        if (!isfinite(v->as.f))
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: float is not finite", what);
        return DSP_OK;
    case DSP_TYPE_ENUM:
        if (v->as.e >= t->n_enum_values)
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: enum index %zu is out of range (%zu values)", what,
                                 v->as.e, t->n_enum_values);
        return DSP_OK;
    case DSP_TYPE_LIST:
        for (size_t i = 0; i < v->as.list.len; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", what, i);
            dsp_status st = dsp_value_check(&v->as.list.items[i], t->elem, sub, err);
            if (st != DSP_OK)
                return st;
        }
        return DSP_OK;
    case DSP_TYPE_OPTIONAL:
        return v->as.some ? dsp_value_check(v->as.some, t->elem, what, err) : DSP_OK;
    case DSP_TYPE_RECORD:
        if (v->as.record.len != t->n_fields)
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: record %s has %zu fields, the value %zu", what,
                                 t->name ? t->name : "", t->n_fields, v->as.record.len);
        for (size_t i = 0; i < t->n_fields; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", what, t->fields[i].name);
            dsp_status st = dsp_value_check(&v->as.record.fields[i], t->fields[i].type, sub, err);
            if (st != DSP_OK)
                return st;
        }
        return DSP_OK;
    case DSP_TYPE_MAP:
        for (size_t i = 0; i < v->as.map.len; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[\"%.64s\"]", what, v->as.map.keys[i]);
            dsp_status st = dsp_value_check(&v->as.map.vals[i], t->elem, sub, err);
            if (st != DSP_OK)
                return st;
        }
        return DSP_OK;
    default:
        return DSP_OK;
    }
}
