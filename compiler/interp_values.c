/* interp_values.c — moving values between fields of different but
 * compatible types (see interp_int.h). */
#include "interp_int.h"

#include <string.h>

static size_t enum_index(const ir_type *t, const char *name)
{
    for (size_t i = 0; i < t->n_values; i++)
        if (strcmp(t->values[i], name) == 0)
            return i;
    return (size_t)-1;
}

dsp_status it_convert(const dsp_value *src, const ir_type *from, const ir_type *to, dsp_value *dst,
                      dsp_error *err)
{
    char fb[128], tb[128];
    memset(dst, 0, sizeof *dst);
    if (to->kind == IR_OPTIONAL) {
        if (from->kind == IR_OPTIONAL) {
            if (!src->as.some) {
                *dst = dsp_value_none();
                return DSP_OK;
            }
            src = src->as.some;
            from = from->elem;
        }
        dsp_value inner;
        dsp_status rc = it_convert(src, from, to->elem, &inner, err);
        if (rc != DSP_OK)
            return rc;
        rc = dsp_value_some(dst, &inner, err);
        dsp_value_free(&inner);
        return rc;
    }
    if (from->kind == IR_OPTIONAL) {
        if (src->kind != DSP_TYPE_OPTIONAL || !src->as.some)
            return dsp_error_set(err, DSP_ERR_INVALID, "an absent optional value was passed where %s is required",
                                 ir_type_str(to, tb, sizeof tb));
        return it_convert(src->as.some, from->elem, to, dst, err);
    }
    if (to->kind == IR_ENUM && (from->kind == IR_ENUM || from->kind == IR_STRING)) {
        const char *name = from->kind == IR_ENUM ? (src->as.e < from->n_values ? from->values[src->as.e] : "")
                                                 : (src->as.s.data ? src->as.s.data : "");
        size_t i = enum_index(to, name);
        if (i == (size_t)-1)
            return dsp_error_set(err, DSP_ERR_INVALID, "\"%.60s\" is not a value of %s", name,
                                 ir_type_str(to, tb, sizeof tb));
        *dst = dsp_value_enum(i);
        return DSP_OK;
    }
    if (to->kind == IR_STRING && from->kind == IR_ENUM) {
        const char *name = src->as.e < from->n_values ? from->values[src->as.e] : "";
        return dsp_value_set_string(dst, name, strlen(name), err);
    }
    if (to->kind == IR_FLOAT && from->kind == IR_INT) {
        *dst = dsp_value_float((double)src->as.i);
        return DSP_OK;
    }
    if (to->kind == IR_LIST && from->kind == IR_LIST) {
        *dst = dsp_value_list();
        for (size_t i = 0; i < src->as.list.len; i++) {
            dsp_value item;
            dsp_status rc = it_convert(&src->as.list.items[i], from->elem, to->elem, &item, err);
            if (rc == DSP_OK)
                rc = dsp_value_list_append(dst, &item, err);
            if (rc != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(dst);
                return rc;
            }
        }
        return DSP_OK;
    }
    if (to->kind == IR_MAP && from->kind == IR_MAP) {
        *dst = dsp_value_map();
        for (size_t i = 0; i < src->as.map.len; i++) {
            dsp_value item;
            dsp_status rc = it_convert(&src->as.map.vals[i], from->elem, to->elem, &item, err);
            if (rc == DSP_OK)
                rc = dsp_value_map_append(dst, src->as.map.keys[i], &item, err); /* keys already distinct */
            if (rc != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(dst);
                return rc;
            }
        }
        return DSP_OK;
    }
    if (to->kind != from->kind)
        return dsp_error_set(err, DSP_ERR_INVALID, "cannot pass %s where %s is expected",
                             ir_type_str(from, fb, sizeof fb), ir_type_str(to, tb, sizeof tb));
    return dsp_value_copy(dst, src, err);
}

const dsp_value *it_value_at(const dsp_value *v, const ir_type *t, const char *const *path, size_t n,
                             const ir_type **t_out)
{
    for (size_t k = 0; k < n; k++) {
        if (!v || t->kind != IR_RECORD || v->kind != DSP_TYPE_RECORD)
            return NULL;
        const ir_field *f = ir_field_find(t->fields, t->n_fields, path[k]);
        size_t i = f ? (size_t)(f - t->fields) : t->n_fields;
        if (i >= v->as.record.len)
            return NULL;
        v = &v->as.record.fields[i];
        t = f->type;
    }
    *t_out = t;
    return v;
}

dsp_status it_literal(const ir_value *v, dsp_value *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    switch (v->kind) {
    case IR_VAL_STRING: return dsp_value_set_string(out, v->s, strlen(v->s), err);
    case IR_VAL_INT: *out = dsp_value_int(v->i); return DSP_OK;
    case IR_VAL_FLOAT: *out = dsp_value_float(v->f); return DSP_OK;
    case IR_VAL_BOOL: *out = dsp_value_bool(v->i != 0); return DSP_OK;
    case IR_VAL_ENUM: {
        const ir_type *t = v->type->kind == IR_OPTIONAL ? v->type->elem : v->type;
        size_t i = t->kind == IR_ENUM ? enum_index(t, v->s) : (size_t)-1;
        if (i == (size_t)-1)
            return dsp_error_set(err, DSP_ERR_INVALID, "`%s` is not a value of its enum", v->s);
        *out = dsp_value_enum(i);
        return DSP_OK;
    }
    default:
        return dsp_error_set(err, DSP_ERR_INVALID, "internal: value kind %d is not a literal", (int)v->kind);
    }
}

void it_usage_add_trace(ex_usage *u, const dsp_predict_trace *t)
{
    u->lm_calls++;
    u->cache_hits += t->cache_hit ? 1 : 0;
    u->prompt_tokens += t->usage.prompt_tokens;
    u->completion_tokens += t->usage.completion_tokens;
}
