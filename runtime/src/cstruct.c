/* cstruct.c — records into C structs and back, by a table of the struct's
 * members (dsp/cstruct.h). One implementation for the interpreter and the
 * generated C, so both pass the same bytes and report the same messages. */
#include "dsp/cstruct.h"

#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a member is inside the value: "pts[1].x", built as we descend. */
typedef struct cst_path {
    char text[256];
    size_t len;
} cst_path;

static size_t cst_path_grew(cst_path *p, size_t old, int w)
{
    if (w > 0)
        p->len += (size_t)w < sizeof p->text - p->len ? (size_t)w : sizeof p->text - p->len - 1;
    return old;
}

/* Appends ".name" (or "name" at the start); returns the length to pop to. */
static size_t cst_path_field(cst_path *p, const char *name)
{
    return cst_path_grew(p, p->len, snprintf(p->text + p->len, sizeof p->text - p->len, "%s%s", p->len ? "." : "", name));
}

static size_t cst_path_index(cst_path *p, size_t k)
{
    return cst_path_grew(p, p->len, snprintf(p->text + p->len, sizeof p->text - p->len, "[%zu]", k));
}

/* Appends ["key"] (a map's entry). */
static size_t cst_path_key(cst_path *p, const char *key)
{
    return cst_path_grew(p, p->len, snprintf(p->text + p->len, sizeof p->text - p->len, "[\"%.60s\"]", key));
}

static void cst_path_pop(cst_path *p, size_t old)
{
    p->len = old;
    p->text[old] = '\0';
}

static const dsp_type *cst_field_type(const dsp_cstruct *s, const dsp_cmember *m)
{
    return s->type->fields[m->field].type;
}

/* The name a member's path shows: its field's (a map's keys member is
 * `x_keys`, its field `x`). */
static const char *cst_member_field_name(const dsp_cstruct *s, const dsp_cmember *m)
{
    return m->kind == DSP_CM_MAP && s->type->fields[m->field].name ? s->type->fields[m->field].name : m->name;
}

/* ---- scalars ---- */

static dsp_status cst_range_in(const char *tool, const char *what, const cst_path *at, const char *value,
                           const dsp_cmember *m, dsp_cm_kind kind, size_t size, dsp_error *err)
{
    char bounds[96] = "";
    if (kind == DSP_CM_SIGNED && size < 8) {
        long long max = (long long)((INT64_C(1) << (size * 8 - 1)) - 1);
        snprintf(bounds, sizeof bounds, " (%lld to %lld)", -max - 1, max);
    } else if (kind == DSP_CM_UNSIGNED && size < 8) {
        snprintf(bounds, sizeof bounds, " (0 to %llu)", (unsigned long long)((UINT64_C(1) << (size * 8)) - 1));
    } else if (kind == DSP_CM_UNSIGNED) {
        snprintf(bounds, sizeof bounds, " (it takes no negative number)");
    }
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: field `%s` of %s is %s, out of range for C type `%s`%s",
                         tool, at->text, what, value, m->ctype ? m->ctype : "?", bounds);
}

/* Writes the scalar v as a C value of kind/size at dst. */
static dsp_status cst_scalar_in(const dsp_cmember *m, dsp_cm_kind kind, size_t size, const dsp_value *v, void *dst,
                            const char *tool, const char *what, const cst_path *at, dsp_error *err)
{
    char text[64];
    if (kind == DSP_CM_FLOAT) {
        double d = v->kind == DSP_TYPE_INT ? (double)v->as.i : v->as.f;
        if (size == sizeof(float)) {
            if (d <= DBL_MAX && d >= -DBL_MAX && (d > FLT_MAX || d < -FLT_MAX)) {
                snprintf(text, sizeof text, "%.17g", d);
                return cst_range_in(tool, what, at, text, m, kind, size, err);
            }
            float f = (float)d;
            memcpy(dst, &f, sizeof f);
        } else {
            memcpy(dst, &d, sizeof d);
        }
        return DSP_OK;
    }
    if (kind == DSP_CM_BOOL) {
        bool b = v->kind == DSP_TYPE_BOOL ? v->as.b : v->as.i != 0;
        memcpy(dst, &b, sizeof b);
        return DSP_OK;
    }
    int64_t i = v->kind == DSP_TYPE_BOOL ? v->as.b : v->as.i;
    snprintf(text, sizeof text, "%" PRId64, i);
    if (kind == DSP_CM_SIGNED) {
        if (size < 8) {
            int64_t max = (INT64_C(1) << (size * 8 - 1)) - 1;
            if (i > max || i < -max - 1)
                return cst_range_in(tool, what, at, text, m, kind, size, err);
        }
    } else if (i < 0 || (size < 8 && (uint64_t)i > (UINT64_C(1) << (size * 8)) - 1)) {
        return cst_range_in(tool, what, at, text, m, kind, size, err);
    }
    /* Little or big endian alike: narrow through the type of that size. */
    switch (size) {
    case 1: { uint8_t x = (uint8_t)i; memcpy(dst, &x, 1); break; }
    case 2: { uint16_t x = (uint16_t)i; memcpy(dst, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)i; memcpy(dst, &x, 4); break; }
    default: { uint64_t x = (uint64_t)i; memcpy(dst, &x, 8); break; }
    }
    return DSP_OK;
}

static dsp_status cst_scalar_out(const dsp_cmember *m, dsp_cm_kind kind, size_t size, const dsp_type *t,
                             const void *src, dsp_value *out, const char *tool, const char *what, const cst_path *at,
                             dsp_error *err)
{
    if (kind == DSP_CM_FLOAT) {
        if (size == sizeof(float)) {
            float f;
            memcpy(&f, src, sizeof f);
            *out = dsp_value_float((double)f);
        } else {
            double d;
            memcpy(&d, src, sizeof d);
            *out = dsp_value_float(d);
        }
        return DSP_OK;
    }
    if (kind == DSP_CM_BOOL) {
        unsigned char b;
        memcpy(&b, src, 1);
        *out = dsp_value_bool(b != 0);
        return DSP_OK;
    }
    uint64_t u = 0;
    int64_t i = 0;
    switch (size) {
    case 1: { uint8_t x; memcpy(&x, src, 1); u = x; i = (int8_t)x; break; }
    case 2: { uint16_t x; memcpy(&x, src, 2); u = x; i = (int16_t)x; break; }
    case 4: { uint32_t x; memcpy(&x, src, 4); u = x; i = (int32_t)x; break; }
    default: { uint64_t x; memcpy(&x, src, 8); u = x; i = (int64_t)x; break; }
    }
    if (kind == DSP_CM_UNSIGNED) {
        if (u > (uint64_t)INT64_MAX)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: field `%s` of %s is %" PRIu64 " (C type `%s`), "
                                 "above the largest .dsp int, %" PRId64, tool, at->text, what, u,
                                 m->ctype ? m->ctype : "?", INT64_MAX);
        i = (int64_t)u;
    }
    *out = t && t->kind == DSP_TYPE_FLOAT ? dsp_value_float((double)i) : dsp_value_int(i);
    return DSP_OK;
}

/* ---- in ---- */

static dsp_status cst_struct_in(const dsp_cstruct *s, const dsp_value *v, unsigned char *dst, const char *tool,
                            const char *what, cst_path *at, dsp_error *err);

/* The C string a string-like field passes: text, an enum's name, or NULL
 * for an absent optional. */
static const char *cst_string_in(const dsp_type *t, const dsp_value *v)
{
    if (t->kind == DSP_TYPE_OPTIONAL) {
        if (v->kind != DSP_TYPE_OPTIONAL || !v->as.some)
            return NULL;
        v = v->as.some;
        t = t->elem;
    }
    if (t->kind == DSP_TYPE_ENUM)
        return v->as.e < t->n_enum_values ? t->enum_values[v->as.e] : t->enum_values[0];
    return dsp_value_cstr(v);
}

static dsp_status cst_element_in(const dsp_cmember *m, const dsp_type *et, const dsp_value *v, unsigned char *dst,
                             const char *tool, const char *what, cst_path *at, dsp_error *err)
{
    switch (m->elem) {
    case DSP_CM_STRING: {
        const char *str = cst_string_in(et, v);
        memcpy(dst, &str, sizeof str);
        return DSP_OK;
    }
    case DSP_CM_STRUCT:
        return cst_struct_in(m->sub, v, dst, tool, what, at, err);
    default:
        return cst_scalar_in(m, m->elem, m->size, v, dst, tool, what, at, err);
    }
}

/* The map v (type t) as a keys array and a values array of *n entries;
 * km describes the keys, km + 1 the values. On failure the arrays made so
 * far are still stored in *keys and *vals for the caller to release. */
static dsp_status cst_map_in(const dsp_cmember *km, const dsp_type *t, const dsp_value *v, const char ***keys,
                             unsigned char **vals, size_t *n, const char *tool, const char *what, cst_path *at,
                             dsp_error *err)
{
    const dsp_cmember *vm = km + 1;
    size_t len = v->kind == DSP_TYPE_MAP ? v->as.map.len : 0;
    if (!at->len)
        cst_path_field(at, km->name); /* a parameter: its values' paths are `x["key"]` */
    *n = 0;
    *keys = calloc(len ? len : 1, sizeof **keys);
    *vals = calloc(len ? len : 1, vm->size ? vm->size : 1);
    if (!*keys || !*vals)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing a map to tool `%s`", tool);
    dsp_status st = DSP_OK;
    for (size_t k = 0; k < len && st == DSP_OK; k++) {
        (*keys)[k] = v->as.map.keys[k];
        *n = k + 1;
        size_t old = cst_path_key(at, v->as.map.keys[k]);
        st = cst_element_in(vm, t->elem, &v->as.map.vals[k], *vals + k * vm->size, tool, what, at, err);
        cst_path_pop(at, old);
    }
    *n = len;
    return st;
}

static dsp_status cst_member_in(const dsp_cstruct *s, const dsp_cmember *m, const dsp_value *v, unsigned char *base,
                            const char *tool, const char *what, cst_path *at, dsp_error *err)
{
    const dsp_type *t = cst_field_type(s, m);
    unsigned char *dst = base + m->offset;
    switch (m->kind) {
    case DSP_CM_COUNT:
    case DSP_CM_PRESENT:
    case DSP_CM_MAP_VALUES:
        return DSP_OK;
    case DSP_CM_STRING: {
        const char *str = cst_string_in(t, v);
        memcpy(dst, &str, sizeof str);
        return DSP_OK;
    }
    case DSP_CM_STRUCT:
        return cst_struct_in(m->sub, v, dst, tool, what, at, err);
    case DSP_CM_MAP: {
        const char **keys = NULL;
        unsigned char *vals = NULL;
        size_t n = 0;
        dsp_status st = cst_map_in(m, t, v, &keys, &vals, &n, tool, what, at, err);
        memcpy(dst, &keys, sizeof keys);
        memcpy(base + m[1].offset, &vals, sizeof vals);
        memcpy(base + m->count_offset, &n, sizeof n);
        return st;
    }
    case DSP_CM_STRUCT_PTR: {
        void *p = NULL;
        if (v->kind == DSP_TYPE_OPTIONAL && v->as.some) {
            p = calloc(1, m->sub->size ? m->sub->size : 1);
            if (!p)
                return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing a record to tool `%s`", tool);
            memcpy(dst, &p, sizeof p);
            return cst_struct_in(m->sub, v->as.some, p, tool, what, at, err);
        }
        memcpy(dst, &p, sizeof p);
        return DSP_OK;
    }
    case DSP_CM_LIST: {
        size_t n = v->kind == DSP_TYPE_LIST ? v->as.list.len : 0;
        unsigned char *a = calloc(n ? n : 1, m->size);
        if (!a)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing a record to tool `%s`", tool);
        memcpy(dst, &a, sizeof a);
        memcpy(base + m->count_offset, &n, sizeof n);
        dsp_status st = DSP_OK;
        for (size_t k = 0; k < n && st == DSP_OK; k++) {
            size_t old = cst_path_index(at, k);
            st = cst_element_in(m, t->elem, &v->as.list.items[k], a + k * m->size, tool, what, at, err);
            cst_path_pop(at, old);
        }
        return st;
    }
    default:
        if (t->kind == DSP_TYPE_OPTIONAL) {
            /* `bool has_x; T x;`: the flag says whether x is present. */
            bool present = v->kind == DSP_TYPE_OPTIONAL && v->as.some;
            memcpy(base + m->count_offset, &present, sizeof present);
            if (!present)
                return DSP_OK;
            v = v->as.some;
        }
        return cst_scalar_in(m, m->kind, m->size, v, dst, tool, what, at, err);
    }
}

static dsp_status cst_struct_in(const dsp_cstruct *s, const dsp_value *v, unsigned char *dst, const char *tool,
                            const char *what, cst_path *at, dsp_error *err)
{
    if (v->kind != DSP_TYPE_RECORD || v->as.record.len != s->type->n_fields)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: internal: %s is not a %s record", tool, what,
                             s->type->name ? s->type->name : "");
    for (size_t i = 0; i < s->n_members; i++) {
        const dsp_cmember *m = &s->members[i];
        if (m->kind == DSP_CM_COUNT || m->kind == DSP_CM_PRESENT || m->kind == DSP_CM_MAP_VALUES)
            continue;
        size_t old = cst_path_field(at, cst_member_field_name(s, m));
        dsp_status st = cst_member_in(s, m, &v->as.record.fields[m->field], dst, tool, what, at, err);
        cst_path_pop(at, old);
        if (st != DSP_OK)
            return st;
    }
    return DSP_OK;
}

dsp_status dsp_cstruct_in(const dsp_cstruct *s, const dsp_value *v, void *dst, const char *tool, const char *what,
                          dsp_error *err)
{
    cst_path at = { "", 0 };
    dsp_status st = cst_struct_in(s, v, dst, tool, what, &at, err);
    if (st != DSP_OK)
        dsp_cstruct_release(s, dst, DSP_CSTRUCT_PASSED);
    return st;
}

/* ---- out ---- */

static dsp_status cst_struct_out(const dsp_cstruct *s, const unsigned char *src, dsp_value *out, const char *tool,
                             const char *what, cst_path *at, dsp_error *err);

static dsp_status cst_left_null(const char *tool, const char *what, const cst_path *at, dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left field `%s` of %s NULL", tool, at->text, what);
}

/* A C string into a string-like value of type t. */
static dsp_status cst_string_out(const dsp_type *t, const char *str, dsp_value *out, const char *tool, const char *what,
                             const cst_path *at, dsp_error *err)
{
    bool opt = t->kind == DSP_TYPE_OPTIONAL;
    const dsp_type *vt = opt ? t->elem : t;
    if (!str) {
        if (!opt)
            return cst_left_null(tool, what, at, err);
        *out = dsp_value_none();
        return DSP_OK;
    }
    dsp_value v;
    memset(&v, 0, sizeof v);
    if (vt->kind == DSP_TYPE_ENUM) {
        size_t k = 0;
        while (k < vt->n_enum_values && strcmp(vt->enum_values[k], str) != 0)
            k++;
        if (k == vt->n_enum_values) {
            char names[300] = "";
            size_t o = 0;
            for (size_t j = 0; j < vt->n_enum_values && o < sizeof names; j++) {
                int w = snprintf(names + o, sizeof names - o, "%s%s", j ? "; " : "", vt->enum_values[j]);
                if (w > 0)
                    o += (size_t)w;
            }
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: field `%s` of %s is \"%.80s\", not a value of "
                                 "%s (one of: %s)", tool, at->text, what, str, vt->name ? vt->name : "the enum",
                                 names);
        }
        v = dsp_value_enum(k);
    } else {
        dsp_status st = dsp_value_set_string(&v, str, strlen(str), err);
        if (st != DSP_OK)
            return st;
    }
    if (!opt) {
        *out = v;
        return DSP_OK;
    }
    return dsp_value_some(out, &v, err);
}

static dsp_status cst_element_out(const dsp_cmember *m, const dsp_type *et, const unsigned char *src, dsp_value *out,
                              const char *tool, const char *what, cst_path *at, dsp_error *err)
{
    switch (m->elem) {
    case DSP_CM_STRING: {
        const char *str;
        memcpy(&str, src, sizeof str);
        return cst_string_out(et, str, out, tool, what, at, err);
    }
    case DSP_CM_STRUCT:
        return cst_struct_out(m->sub, src, out, tool, what, at, err);
    default:
        return cst_scalar_out(m, m->elem, m->size, et, src, out, tool, what, at, err);
    }
}

/* n keys and values (km + 1 describes them) as a map value of type t. */
static dsp_status cst_map_out(const dsp_cmember *km, const dsp_type *t, const unsigned char *keys_p,
                              const unsigned char *vals, size_t n, dsp_value *out, const char *tool,
                              const char *what, cst_path *at, dsp_error *err)
{
    const dsp_cmember *vm = km + 1;
    /* "field `stock` of output `s`", or "output `s`" for a parameter. */
    char where[400];
    snprintf(where, sizeof where, "%s%s%s%s", at->len ? "field `" : "", at->len ? at->text : "",
             at->len ? "` of " : "", what);
    if (!at->len)
        cst_path_field(at, km->name); /* a parameter: its values' paths are `x["key"]` */
    if ((!keys_p || !vals) && n)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left the %s of %s NULL with length %zu", tool,
                             keys_p ? "values" : "keys", where, n);
    *out = dsp_value_map();
    dsp_status st = DSP_OK;
    for (size_t k = 0; k < n && st == DSP_OK; k++) {
        const char *key;
        memcpy(&key, keys_p + k * sizeof key, sizeof key);
        if (!key) {
            st = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left key %zu of %s NULL", tool, k, where);
            break;
        }
        if (dsp_value_map_get(out, key)) {
            st = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` gave key \"%.80s\" twice in %s; a map's keys are "
                               "distinct", tool, key, where);
            break;
        }
        size_t old = cst_path_key(at, key);
        dsp_value e;
        memset(&e, 0, sizeof e);
        st = cst_element_out(vm, t->elem, vals + k * vm->size, &e, tool, what, at, err);
        if (st == DSP_OK)
            st = dsp_value_map_append(out, key, &e, err);
        dsp_value_free(&e);
        cst_path_pop(at, old);
    }
    if (st != DSP_OK)
        dsp_value_free(out);
    return st;
}

static dsp_status cst_member_out(const dsp_cstruct *s, const dsp_cmember *m, const unsigned char *base,
                             dsp_value *out, const char *tool, const char *what, cst_path *at, dsp_error *err)
{
    const dsp_type *t = cst_field_type(s, m);
    const unsigned char *src = base + m->offset;
    switch (m->kind) {
    case DSP_CM_STRING: {
        const char *str;
        memcpy(&str, src, sizeof str);
        return cst_string_out(t, str, out, tool, what, at, err);
    }
    case DSP_CM_STRUCT:
        return cst_struct_out(m->sub, src, out, tool, what, at, err);
    case DSP_CM_MAP: {
        const unsigned char *keys, *vals;
        size_t n;
        memcpy(&keys, src, sizeof keys);
        memcpy(&vals, base + m[1].offset, sizeof vals);
        memcpy(&n, base + m->count_offset, sizeof n);
        return cst_map_out(m, t, keys, vals, n, out, tool, what, at, err);
    }
    case DSP_CM_STRUCT_PTR: {
        const unsigned char *p;
        memcpy(&p, src, sizeof p);
        if (!p) {
            *out = dsp_value_none();
            return DSP_OK;
        }
        dsp_value inner;
        memset(&inner, 0, sizeof inner);
        dsp_status st = cst_struct_out(m->sub, p, &inner, tool, what, at, err);
        if (st == DSP_OK)
            st = dsp_value_some(out, &inner, err);
        dsp_value_free(&inner);
        return st;
    }
    case DSP_CM_LIST: {
        const unsigned char *a;
        size_t n;
        memcpy(&a, src, sizeof a);
        memcpy(&n, base + m->count_offset, sizeof n);
        if (!a && n)
            return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left field `%s` of %s NULL with length %zu", tool,
                                 at->text, what, n);
        *out = dsp_value_list();
        dsp_status st = DSP_OK;
        for (size_t k = 0; k < n && st == DSP_OK; k++) {
            size_t old = cst_path_index(at, k);
            dsp_value e;
            memset(&e, 0, sizeof e);
            st = cst_element_out(m, t->elem, a + k * m->size, &e, tool, what, at, err);
            if (st == DSP_OK)
                st = dsp_value_list_append(out, &e, err);
            dsp_value_free(&e);
            cst_path_pop(at, old);
        }
        if (st != DSP_OK)
            dsp_value_free(out);
        return st;
    }
    default: {
        if (t->kind != DSP_TYPE_OPTIONAL)
            return cst_scalar_out(m, m->kind, m->size, t, src, out, tool, what, at, err);
        bool present;
        memcpy(&present, base + m->count_offset, sizeof present);
        if (!present) {
            *out = dsp_value_none();
            return DSP_OK;
        }
        dsp_value v;
        memset(&v, 0, sizeof v);
        dsp_status st = cst_scalar_out(m, m->kind, m->size, t->elem, src, &v, tool, what, at, err);
        if (st == DSP_OK)
            st = dsp_value_some(out, &v, err);
        return st;
    }
    }
}

static dsp_status cst_struct_out(const dsp_cstruct *s, const unsigned char *src, dsp_value *out, const char *tool,
                             const char *what, cst_path *at, dsp_error *err)
{
    dsp_value rec;
    dsp_status st = dsp_value_record(&rec, s->type->n_fields, err);
    for (size_t i = 0; i < s->n_members && st == DSP_OK; i++) {
        const dsp_cmember *m = &s->members[i];
        if (m->kind == DSP_CM_COUNT || m->kind == DSP_CM_PRESENT || m->kind == DSP_CM_MAP_VALUES)
            continue;
        size_t old = cst_path_field(at, cst_member_field_name(s, m));
        dsp_value *f = &rec.as.record.fields[m->field];
        dsp_value_free(f);
        st = cst_member_out(s, m, src, f, tool, what, at, err);
        cst_path_pop(at, old);
    }
    if (st != DSP_OK) {
        dsp_value_free(&rec);
        return st;
    }
    *out = rec;
    return DSP_OK;
}

dsp_status dsp_cstruct_out(const dsp_cstruct *s, const void *src, dsp_value *out, const char *tool, const char *what,
                           dsp_error *err)
{
    cst_path at = { "", 0 };
    memset(out, 0, sizeof *out);
    return cst_struct_out(s, src, out, tool, what, &at, err);
}

/* ---- freeing ---- */

static void cst_struct_release(const dsp_cstruct *s, unsigned char *p, dsp_cstruct_owner owner);

/* Frees the array a of n elements m describes (a list's, a map's values)
 * and what they own. */
static void cst_array_release(const dsp_cmember *m, unsigned char *a, size_t n, dsp_cstruct_owner owner)
{
    if (!a || (owner == DSP_CSTRUCT_FROM_TOOL && m->borrowed))
        return;
    for (size_t k = 0; k < n; k++) {
        if (m->elem == DSP_CM_STRUCT) {
            cst_struct_release(m->sub, a + k * m->size, owner);
        } else if (m->elem == DSP_CM_STRING && owner == DSP_CSTRUCT_FROM_TOOL && !m->elem_borrowed) {
            char *str;
            memcpy(&str, a + k * m->size, sizeof str);
            free(str);
        }
    }
    free(a);
}

static void cst_list_release(const dsp_cmember *m, unsigned char *base, dsp_cstruct_owner owner)
{
    unsigned char *a;
    size_t n;
    memcpy(&a, base + m->offset, sizeof a);
    memcpy(&n, base + m->count_offset, sizeof n);
    cst_array_release(m, a, n, owner);
    a = NULL;
    memcpy(base + m->offset, &a, sizeof a);
}

/* A map's keys (km: the tool's unless const) and values (km + 1). */
static void cst_map_release(const dsp_cmember *km, unsigned char *keys, unsigned char *vals, size_t n,
                            dsp_cstruct_owner owner)
{
    dsp_cmember key = *km;
    key.elem = DSP_CM_STRING;
    key.size = sizeof(char *);
    cst_array_release(&key, keys, n, owner);
    cst_array_release(km + 1, vals, n, owner);
}

static void cst_struct_release(const dsp_cstruct *s, unsigned char *p, dsp_cstruct_owner owner)
{
    for (size_t i = 0; i < s->n_members; i++) {
        const dsp_cmember *m = &s->members[i];
        unsigned char *at = p + m->offset;
        void *ptr = NULL;
        switch (m->kind) {
        case DSP_CM_STRING:
            /* Passed strings point into the values. */
            if (owner == DSP_CSTRUCT_FROM_TOOL && !m->borrowed) {
                memcpy(&ptr, at, sizeof ptr);
                free(ptr);
                ptr = NULL;
                memcpy(at, &ptr, sizeof ptr);
            }
            break;
        case DSP_CM_STRUCT:
            cst_struct_release(m->sub, at, owner);
            break;
        case DSP_CM_STRUCT_PTR:
            memcpy(&ptr, at, sizeof ptr);
            if (ptr && (owner == DSP_CSTRUCT_PASSED || !m->borrowed)) {
                cst_struct_release(m->sub, ptr, owner);
                free(ptr);
                ptr = NULL;
                memcpy(at, &ptr, sizeof ptr);
            }
            break;
        case DSP_CM_LIST:
            cst_list_release(m, p, owner);
            break;
        case DSP_CM_MAP: {
            unsigned char *keys, *vals;
            size_t n;
            memcpy(&keys, at, sizeof keys);
            memcpy(&vals, p + m[1].offset, sizeof vals);
            memcpy(&n, p + m->count_offset, sizeof n);
            cst_map_release(m, keys, vals, n, owner);
            keys = vals = NULL;
            memcpy(at, &keys, sizeof keys);
            memcpy(p + m[1].offset, &vals, sizeof vals);
            break;
        }
        default:
            break;
        }
    }
}

void dsp_cstruct_release(const dsp_cstruct *s, void *p, dsp_cstruct_owner owner)
{
    if (p)
        cst_struct_release(s, p, owner);
}

dsp_status dsp_cstruct_array_in(const dsp_cstruct *s, const dsp_value *list, void **out, const char *tool,
                                const char *param, dsp_error *err)
{
    size_t n = list->kind == DSP_TYPE_LIST ? list->as.list.len : 0;
    unsigned char *a = calloc(n ? n : 1, s->size ? s->size : 1);
    *out = NULL;
    if (!a)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing `%s` to tool `%s`", param, tool);
    for (size_t k = 0; k < n; k++) {
        char what[200];
        snprintf(what, sizeof what, "element %zu of parameter `%s`", k, param);
        dsp_status st = dsp_cstruct_in(s, &list->as.list.items[k], a + k * s->size, tool, what, err);
        if (st != DSP_OK) {
            dsp_cstruct_array_free(s, a, k, DSP_CSTRUCT_PASSED);
            return st;
        }
    }
    *out = a;
    return DSP_OK;
}

dsp_status dsp_cstruct_array_out(const dsp_cstruct *s, const void *a, size_t n, dsp_value *out, const char *tool,
                                 const char *what, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!a && n)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left %s NULL with length %zu", tool, what, n);
    *out = dsp_value_list();
    dsp_status st = DSP_OK;
    for (size_t k = 0; k < n && st == DSP_OK; k++) {
        char ew[200];
        snprintf(ew, sizeof ew, "element %zu of %s", k, what);
        dsp_value e;
        st = dsp_cstruct_out(s, (const unsigned char *)a + k * s->size, &e, tool, ew, err);
        if (st == DSP_OK)
            st = dsp_value_list_append(out, &e, err);
        dsp_value_free(&e);
    }
    if (st != DSP_OK)
        dsp_value_free(out);
    return st;
}

dsp_status dsp_cstruct_optional_out(const dsp_cstruct *s, const void *p, dsp_value *out, const char *tool,
                                    const char *what, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!p) {
        *out = dsp_value_none();
        return DSP_OK;
    }
    dsp_value inner;
    dsp_status st = dsp_cstruct_out(s, p, &inner, tool, what, err);
    if (st == DSP_OK)
        st = dsp_value_some(out, &inner, err);
    dsp_value_free(&inner);
    return st;
}

dsp_status dsp_cstruct_optional_in(const dsp_cstruct *s, const dsp_value *v, void *dst, bool *present,
                                   const char *tool, const char *what, dsp_error *err)
{
    *present = false;
    if (v->kind == DSP_TYPE_OPTIONAL) {
        if (!v->as.some)
            return DSP_OK;
        v = v->as.some;
    }
    dsp_status st = dsp_cstruct_in(s, v, dst, tool, what, err);
    *present = st == DSP_OK;
    return st;
}

void dsp_cstruct_array_free(const dsp_cstruct *s, void *a, size_t n, dsp_cstruct_owner owner)
{
    if (!a)
        return;
    for (size_t k = 0; k < n; k++)
        dsp_cstruct_release(s, (unsigned char *)a + k * s->size, owner);
    free(a);
}

dsp_status dsp_cmap_in(const dsp_cmember *m, const dsp_type *t, const dsp_value *v, void *keys, void *values,
                       size_t *n, const char *tool, const char *what, dsp_error *err)
{
    cst_path at = { "", 0 };
    const char **k = NULL;
    unsigned char *vals = NULL;
    dsp_status st = cst_map_in(m, t, v, &k, &vals, n, tool, what, &at, err);
    if (st != DSP_OK) {
        dsp_cmap_release(m, k, vals, *n, DSP_CSTRUCT_PASSED);
        k = NULL;
        vals = NULL;
        *n = 0;
    }
    memcpy(keys, &k, sizeof k);
    memcpy(values, &vals, sizeof vals);
    return st;
}

dsp_status dsp_cmap_out(const dsp_cmember *m, const dsp_type *t, const void *keys, const void *values, size_t n,
                        dsp_value *out, const char *tool, const char *what, dsp_error *err)
{
    cst_path at = { "", 0 };
    memset(out, 0, sizeof *out);
    return cst_map_out(m, t, keys, values, n, out, tool, what, &at, err);
}

void dsp_cmap_release(const dsp_cmember *m, void *keys, void *values, size_t n, dsp_cstruct_owner owner)
{
    cst_map_release(m, keys, values, n, owner);
}
