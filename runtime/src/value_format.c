/* value_format.c — dsp_value to the text the chat adapter writes, and to JSON. */
#include "dsp/value.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"
#include "value_json.h"

void dsp_format_double(double d, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

cJSON *dsp_value_to_cjson(const dsp_value *v, const dsp_type *t, dsp_error *err)
{
    char num[64];
    cJSON *j = NULL;
    switch (t->kind) {
    case DSP_TYPE_STRING:
        if (v->as.s.len && memchr(v->as.s.data, '\0', v->as.s.len)) {
            dsp_error_set(err, DSP_ERR_INVALID, "a string holding a NUL byte cannot be written as JSON");
            return NULL;
        }
        j = cJSON_CreateString(v->as.s.data ? v->as.s.data : "");
        break;
    case DSP_TYPE_INT:
        /* Raw text: cJSON prints large doubles in %.15g when that reads
         * back "close enough", which loses integers near 2^53. */
        snprintf(num, sizeof num, "%" PRId64, v->as.i);
        j = cJSON_CreateRaw(num);
        break;
    case DSP_TYPE_FLOAT:
        /* Raw text keeps the shortest exact form (cJSON would print 15 or 17 digits). */
        dsp_format_double(v->as.f, num, sizeof num);
        j = cJSON_CreateRaw(num);
        break;
    case DSP_TYPE_BOOL:
        j = cJSON_CreateBool(v->as.b);
        break;
    case DSP_TYPE_ENUM:
        j = cJSON_CreateString(t->enum_values[v->as.e]);
        break;
    case DSP_TYPE_LIST:
        j = cJSON_CreateArray();
        for (size_t i = 0; j && i < v->as.list.len; i++) {
            cJSON *item = dsp_value_to_cjson(&v->as.list.items[i], t->elem, err);
            if (!item) {
                cJSON_Delete(j);
                return NULL;
            }
            cJSON_AddItemToArray(j, item);
        }
        break;
    case DSP_TYPE_OPTIONAL:
        if (!v->as.some)
            j = cJSON_CreateNull();
        else
            return dsp_value_to_cjson(v->as.some, t->elem, err);
        break;
    case DSP_TYPE_RECORD:
        j = cJSON_CreateObject();
        for (size_t i = 0; j && i < t->n_fields && i < v->as.record.len; i++) {
            const dsp_value *f = &v->as.record.fields[i];
            /* An absent optional field is left out, as a data file or an LM
             * would write it; parsing reads a missing key back as absent. */
            if (f->kind == DSP_TYPE_OPTIONAL && !f->as.some)
                continue;
            cJSON *item = dsp_value_to_cjson(f, t->fields[i].type, err);
            if (!item) {
                cJSON_Delete(j);
                return NULL;
            }
            cJSON_AddItemToObject(j, t->fields[i].name, item);
        }
        break;
    case DSP_TYPE_MAP:
        j = cJSON_CreateObject();
        for (size_t i = 0; j && i < v->as.map.len; i++) {
            cJSON *item = dsp_value_to_cjson(&v->as.map.vals[i], t->elem, err);
            if (!item) {
                cJSON_Delete(j);
                return NULL;
            }
            cJSON_AddItemToObject(j, v->as.map.keys[i], item);
        }
        break;
    }
    if (!j)
        dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building JSON");
    return j;
}

static dsp_status print_json(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err)
{
    cJSON *j = dsp_value_to_cjson(v, t, err);
    if (!j)
        return err ? err->status : DSP_ERR_INVALID;
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing JSON");
    /* cJSON allocates with malloc by default; copy anyway so callers can
     * always free() what we return, whatever hooks cJSON was built with. */
    size_t len = strlen(text);
    *out = malloc(len + 1);
    if (!*out) {
        cJSON_free(text);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing JSON");
    }
    memcpy(*out, text, len + 1);
    cJSON_free(text);
    if (out_len)
        *out_len = len;
    return DSP_OK;
}

dsp_status dsp_value_to_json(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err)
{
    *out = NULL;
    dsp_status st = dsp_value_check(v, t, "value", err);
    if (st != DSP_OK)
        return st;
    return print_json(v, t, out, out_len, err);
}

dsp_status dsp_value_format(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err)
{
    *out = NULL;
    dsp_status st = dsp_value_check(v, t, "value", err);
    if (st != DSP_OK)
        return st;
    if (t->kind == DSP_TYPE_OPTIONAL) {
        if (!v->as.some) {
            /* DSPy writes Python's None; dsp_value_parse reads it back as absent. */
            dsp_textbuf b;
            dsp_tb_init(&b);
            dsp_tb_puts(&b, "None");
            *out = dsp_tb_take(&b, out_len);
            return *out ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory formatting a value");
        }
        return dsp_value_format(v->as.some, t->elem, out, out_len, err);
    }
    if (t->kind == DSP_TYPE_LIST || t->kind == DSP_TYPE_RECORD || t->kind == DSP_TYPE_MAP)
        return print_json(v, t, out, out_len, err);

    dsp_textbuf b;
    dsp_tb_init(&b);
    char num[64];
    switch (t->kind) {
    case DSP_TYPE_STRING: dsp_tb_put(&b, v->as.s.data, v->as.s.len); break;
    case DSP_TYPE_INT: dsp_tb_printf(&b, "%" PRId64, v->as.i); break;
    case DSP_TYPE_FLOAT:
        dsp_format_double(v->as.f, num, sizeof num);
        dsp_tb_puts(&b, num);
        break;
    case DSP_TYPE_BOOL: dsp_tb_puts(&b, v->as.b ? "True" : "False"); break;
    case DSP_TYPE_ENUM: dsp_tb_puts(&b, t->enum_values[v->as.e]); break;
    default: break;
    }
    *out = dsp_tb_take(&b, out_len);
    return *out ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory formatting a value");
}
