/* sema_data_shapes.c — at check time, the first rows of a JSONL data set
 * against the declared types of fields that hold records or maps: a JSON
 * object where a record belongs, its required fields there, maps as
 * objects, lists as arrays, all the way down. The loader checks every row
 * when it runs (with libdsprt's parser); this catches a data set of the
 * wrong shape before anything is spent. A CSV data set cannot hold such a
 * field at all. */
#include "sema_int.h"
#include "datafile.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows looked at: enough to catch a data set of the wrong shape. */
#define SHAPE_ROWS 20

static int holds_object(const ir_type *t)
{
    if (!t)
        return 0;
    if (t->kind == IR_RECORD || t->kind == IR_MAP)
        return 1;
    return (t->kind == IR_LIST || t->kind == IR_OPTIONAL) && holds_object(t->elem);
}

/* NULL when j fits t, else why, with the path inside the value in front
 * (".entity.text: missing ..."). Scalars are left to the loader, which
 * accepts the forms an LM writes (a number as text, ...). */
static const char *misfit(sema *s, const ir_type *t, const cJSON *j, const char *path)
{
    if (t->kind == IR_OPTIONAL)
        return cJSON_IsNull(j) ? NULL : misfit(s, t->elem, j, path);
    switch (t->kind) {
    case IR_LIST: {
        if (!cJSON_IsArray(j))
            return arena_printf(s->a, "%s%sexpected a JSON array for %s", path, *path ? ": " : "",
                                sema_type_str(s, t));
        size_t i = 0;
        for (const cJSON *it = j->child; it; it = it->next, i++) {
            const char *why = misfit(s, t->elem, it, arena_printf(s->a, "%s[%zu]", path, i));
            if (why)
                return why;
        }
        return NULL;
    }
    case IR_MAP:
        if (!cJSON_IsObject(j))
            return arena_printf(s->a, "%s%sexpected a JSON object for %s", path, *path ? ": " : "",
                                sema_type_str(s, t));
        for (const cJSON *it = j->child; it; it = it->next) {
            const char *why = misfit(s, t->elem, it, arena_printf(s->a, "%s[\"%.40s\"]", path, it->string));
            if (why)
                return why;
        }
        return NULL;
    case IR_RECORD:
        if (!cJSON_IsObject(j))
            return arena_printf(s->a, "%s%sexpected a JSON object for record %s", path, *path ? ": " : "",
                                t->name);
        for (size_t i = 0; i < t->n_fields; i++) {
            const ir_field *f = &t->fields[i];
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, f->name);
            const char *fp = arena_printf(s->a, "%s.%s", path, f->name);
            if ((!it || cJSON_IsNull(it)) && f->type->kind != IR_OPTIONAL)
                return arena_printf(s->a, "%s: %s, but it is a required field of %s", fp,
                                    it ? "null" : "missing", t->name);
            const char *why = it ? misfit(s, f->type, it, fp) : NULL;
            if (why)
                return why;
        }
        return NULL;
    default:
        return NULL;
    }
}

void sema_data_check_shapes(sema *s, const ir_data *data, const ir_module *m, src_loc at)
{
    const ir_type **types = arena_array(s->a, data->n_columns + 1, sizeof *types);
    int any = 0;
    for (size_t c = 0; c < data->n_columns; c++) {
        const ir_field *f = ir_field_find(m->params, m->n_params, data->columns[c].field);
        if (!f)
            f = ir_field_find(m->results, m->n_results, data->columns[c].field);
        types[c] = f && holds_object(f->type) ? f->type : NULL;
        any |= types[c] != NULL;
    }
    if (!any)
        return;
    for (size_t c = 0; strcmp(data->format, "csv") == 0 && c < data->n_columns; c++) {
        if (types[c]) {
            diag_error(s->d, at, "data `%s` is CSV, but field `%s` is %s, which a CSV cell cannot hold "
                       "(records and maps are nested JSON); store the data as JSONL, one object a line",
                       data->name, data->columns[c].field, sema_type_str(s, types[c]));
            return;
        }
    }
    const char *path = sema_path_join(s->a, s->main->dir, data->path);
    char *buf;
    size_t n;
    const char *why = NULL;
    if (df_read_file(path, &buf, &n, &why) != DF_OK)
        return; /* the columns check has said why */
    size_t skip = df_bom_len(buf, n);
    const char *p = buf + skip, *end = buf + n;
    for (int line = 1; p < end && line <= SHAPE_ROWS; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        cJSON *obj = cJSON_ParseWithLength(p, (size_t)(le - p));
        p = le + 1;
        for (size_t c = 0; obj && c < data->n_columns; c++) {
            const cJSON *item = types[c] ? cJSON_GetObjectItemCaseSensitive(obj, data->columns[c].column) : NULL;
            const char *bad = item && !cJSON_IsNull(item) ? misfit(s, types[c], item, "") : NULL;
            if (bad) {
                diag_error(s->d, at, "data `%s` (%s line %d): column `%s` does not fit field `%s` (%s): %s",
                           data->name, data->path, line, data->columns[c].column, data->columns[c].field,
                           sema_type_str(s, types[c]), bad);
                cJSON_Delete(obj);
                free(buf);
                return;
            }
        }
        cJSON_Delete(obj);
    }
    free(buf);
}
