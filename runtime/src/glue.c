/* glue.c — the helpers every generated program shares (dsp/glue.h). */
#include "dsp/glue.h"

#include <stdlib.h>
#include <string.h>

void dsp_glue_where(dsp_error *err, const char *where)
{
    if (!err || !where)
        return;
    size_t w = strlen(where), m = strnlen(err->message, sizeof err->message - 1), room = sizeof err->message - 1;
    if (w + 2 > room)
        return;
    if (w + 2 + m > room)
        m = room - w - 2;
    memmove(err->message + w + 2, err->message, m);
    memcpy(err->message, where, w);
    memcpy(err->message + w, ": ", 2);
    err->message[w + 2 + m] = '\0';
}

/* A plain value bound to an optional field becomes a present optional. */
static dsp_status wrap_some(dsp_value *v, bool wrap, dsp_error *err)
{
    if (!wrap)
        return DSP_OK;
    dsp_value inner = *v;
    memset(v, 0, sizeof *v);
    dsp_status st = dsp_value_some(v, &inner, err);
    dsp_value_free(&inner);
    return st;
}

dsp_status dsp_glue_copy(dsp_value *dst, const dsp_value *src, bool wrap, dsp_error *err)
{
    dsp_status st = dsp_value_copy(dst, src, err);
    return st == DSP_OK ? wrap_some(dst, wrap, err) : st;
}

dsp_status dsp_glue_string(dsp_value *dst, const char *s, size_t len, bool wrap, dsp_error *err)
{
    dsp_status st = dsp_value_set_string(dst, s, len, err);
    return st == DSP_OK ? wrap_some(dst, wrap, err) : st;
}

dsp_status dsp_glue_scalar(dsp_value *dst, dsp_value v, bool wrap, dsp_error *err)
{
    *dst = v;
    return wrap_some(dst, wrap, err);
}

dsp_status dsp_glue_convert(dsp_value *dst, const dsp_value *src, const dsp_conv *cv, dsp_error *err)
{
    memset(dst, 0, sizeof *dst);
    if (!cv)
        return dsp_value_copy(dst, src, err);
    switch (cv->op) {
    case DSP_CONV_INT_FLOAT:
        *dst = dsp_value_float((double)src->as.i);
        return DSP_OK;
    case DSP_CONV_ENUM_STRING: {
        const char *s = src->as.e < cv->n ? cv->names[src->as.e] : "";
        return dsp_value_set_string(dst, s, strlen(s), err);
    }
    case DSP_CONV_ENUM_ENUM:
        *dst = dsp_value_enum(src->as.e < cv->n ? cv->map[src->as.e] : 0);
        return DSP_OK;
    case DSP_CONV_LIST:
        *dst = dsp_value_list();
        for (size_t i = 0; i < src->as.list.len; i++) {
            dsp_value item;
            dsp_status st = dsp_glue_convert(&item, &src->as.list.items[i], cv->elem, err);
            if (st == DSP_OK)
                st = dsp_value_list_append(dst, &item, err);
            if (st != DSP_OK) {
                dsp_value_free(&item);
                dsp_value_free(dst);
                return st;
            }
        }
        return DSP_OK;
    case DSP_CONV_OPTIONAL: {
        if (src->kind == DSP_TYPE_OPTIONAL && !src->as.some) {
            *dst = dsp_value_none();
            return DSP_OK;
        }
        dsp_value inner;
        dsp_status st = dsp_glue_convert(&inner, src->kind == DSP_TYPE_OPTIONAL ? src->as.some : src, cv->elem, err);
        if (st == DSP_OK)
            st = dsp_value_some(dst, &inner, err);
        dsp_value_free(&inner);
        return st;
    }
    }
    return dsp_value_copy(dst, src, err);
}

dsp_status dsp_glue_in_string(const char *x, dsp_value *v, dsp_error *err)
{
    if (!x)
        return dsp_error_set(err, DSP_ERR_INVALID, "a string input is NULL");
    return dsp_value_set_string(v, x, strlen(x), err);
}

dsp_status dsp_glue_out_string(const dsp_value *v, char **x, dsp_error *err)
{
    *x = malloc(v->as.s.len + 1);
    if (!*x)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying an output");
    if (v->as.s.len)
        memcpy(*x, v->as.s.data, v->as.s.len);
    (*x)[v->as.s.len] = '\0';
    return DSP_OK;
}

void dsp_glue_free_string(char **x)
{
    free(*x);
    *x = NULL;
}

bool dsp_glue_agree(const dsp_value *a, const dsp_value *b, const unsigned char *decides, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (decides[i] && !dsp_value_equal(&a[i], &b[i]))
            return false;
    return true;
}
