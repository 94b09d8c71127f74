/* sema_data.c — looks into data files at check time: which columns they
 * have (so a mapping typo is a compile error, not a run-time surprise) and
 * whether enum columns hold only values the program declares. It reads
 * them through datafile.c, as the loader does, so both see the same
 * cells; this reads just enough to check. */
#include "sema_int.h"
#include "datafile.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The data file's text (NUL-terminated, malloc'ed) past any byte order
 * mark, as the loader reads it; 0 with *why set if it cannot be read. */
static int read_data(const char *path, char **buf, const char **text, size_t *len, const char **why)
{
    size_t n;
    *why = "out of memory";
    if (df_read_file(path, buf, &n, why) != DF_OK)
        return 0;
    size_t skip = df_bom_len(*buf, n);
    *text = *buf + skip;
    *len = n - skip;
    return 1;
}

static const char *data_file(sema *s, const ir_data *data)
{
    return sema_path_join(s->a, s->main->dir, data->path);
}

int sema_data_columns(sema *s, const ir_data *data, src_loc at, ptr_vec *columns)
{
    const char *path = data_file(s, data);
    char *buf;
    const char *text;
    size_t text_len;
    const char *why;
    if (!read_data(path, &buf, &text, &text_len, &why)) {
        diag_error(s->d, at, "cannot read data file `%s`: %s (paths are relative to the .dsp file)", path, why);
        return 0;
    }
    int ok = 1;
    if (strcmp(data->format, "csv") == 0) {
        csv_reader r;
        csv_reader_init(&r, text, text_len, path);
        csv_record header;
        int done;
        char why[512];
        df_status st = csv_read(&r, &header, &done, why, sizeof why);
        if (st == DF_INVALID) {
            diag_error(s->d, at, "data file %s", why);
            ok = 0;
        } else if (st != DF_OK) {
            diag_error(s->d, at, "out of memory reading data file `%s`", path);
            ok = 0;
        } else if (done || (header.n_cells == 1 && !header.cells[0][0])) {
            diag_error(s->d, at, "data file `%s` is empty; a CSV file starts with a header row", path);
            ok = 0;
        }
        for (size_t i = 0; ok && i < header.n_cells; i++)
            ptr_vec_push(s->a, columns, arena_strdup(s->a, header.cells[i]));
        csv_record_free(&header);
    } else {
        /* Every line must be a JSON object; the columns are the keys of
         * all of them, in the order first seen (a key the first row leaves
         * out, an optional input say, is still a column). */
        const char *p = text, *end = text + text_len;
        int line = 0, seen = 0;
        while (p < end && ok) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            line++;
            size_t len = (size_t)(le - p);
            int blank = 1;
            for (size_t i = 0; i < len; i++)
                blank &= p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
            if (!blank) {
                cJSON *obj = cJSON_ParseWithLength(p, len);
                if (!cJSON_IsObject(obj)) {
                    diag_error(s->d, at, "data file `%s` line %d is not a JSON object", path, line);
                    ok = 0;
                } else {
                    for (cJSON *c = obj->child; c; c = c->next) {
                        size_t k = 0;
                        while (k < columns->len && strcmp(columns->items[k], c->string) != 0)
                            k++;
                        if (k == columns->len)
                            ptr_vec_push(s->a, columns, arena_strdup(s->a, c->string));
                    }
                    seen = 1;
                }
                cJSON_Delete(obj);
            }
            p = le + 1;
        }
        if (ok && !seen) {
            diag_error(s->d, at, "data file `%s` has no records", path);
            ok = 0;
        }
    }
    free(buf);
    return ok;
}

static const ir_type *enum_of(const ir_type *t)
{
    if (t && t->kind == IR_OPTIONAL)
        t = t->elem;
    return t && t->kind == IR_ENUM ? t : NULL;
}

static const ir_type *field_type(const ir_module *m, const char *name)
{
    const ir_field *f = ir_field_find(m->params, m->n_params, name);
    if (!f)
        f = ir_field_find(m->results, m->n_results, name);
    return f ? f->type : NULL;
}

/* A label the data spells with spaces or punctuation ("HR Support") is
 * best declared as the data spells it, so the fix offered is the enum's,
 * not a rewrite of the data. */
static const char *enum_hint(sema *s, const char *v, const ir_type *et)
{
    if (ir_is_name(v))
        return sema_enum_did_you_mean(s, v, et);
    const char *near = diag_suggest(v, et->values, et->n_values);
    if (near)
        return arena_printf(s->a, "; to match the data, write the enum's `%s` as the string \"%s\"", near, v);
    return arena_printf(s->a, "; if it is a label, add it to the enum as the string \"%s\"", v);
}

/* Reports the first value outside the enum, per column. */
void sema_data_check_enums(sema *s, const ir_data *data, const ir_module *m, src_loc at)
{
    int any = 0;
    for (size_t c = 0; c < data->n_columns; c++)
        any |= enum_of(field_type(m, data->columns[c].field)) != NULL;
    if (!any)
        return;
    const char *path = data_file(s, data);
    char *buf;
    const char *text;
    size_t text_len;
    const char *unread;
    if (!read_data(path, &buf, &text, &text_len, &unread))
        return;
    const char *p = text, *end = text + text_len;
    int is_csv = strcmp(data->format, "csv") == 0;
    /* Malformed CSV ends the check quietly: the columns check reports a
     * bad header and the loader names the bad record. */
    csv_reader r;
    csv_record header = { 0 }, row = { 0 };
    int done = 0;
    char why[512];
    if (is_csv) {
        csv_reader_init(&r, text, text_len, path);
        if (csv_read(&r, &header, &done, why, sizeof why) != DF_OK)
            done = 1;
    }
    char *reported = arena_alloc(s->a, data->n_columns + 1);
    int line = 0;
    for (;;) {
        cJSON *obj = NULL;
        if (is_csv) {
            if (done || csv_read(&r, &row, &done, why, sizeof why) != DF_OK || done)
                break;
            line = row.line;
        } else {
            if (p >= end)
                break;
            line++;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            obj = cJSON_ParseWithLength(p, (size_t)(le - p));
            p = le + 1;
            if (!obj)
                continue;
        }
        for (size_t c = 0; c < data->n_columns; c++) {
            const ir_type *et = enum_of(field_type(m, data->columns[c].field));
            if (!et || reported[c])
                continue;
            const char *v = NULL;
            if (obj) {
                cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, data->columns[c].column);
                v = cJSON_IsString(item) ? item->valuestring : NULL;
                if (!item || cJSON_IsNull(item))
                    continue;
                if (!v) {
                    diag_error(s->d, at, "data `%s` (%s line %d): column `%s` is not a string, but "
                               "field `%s` is an enum", data->name, data->path, line,
                               data->columns[c].column, data->columns[c].field);
                    reported[c] = 1;
                    continue;
                }
            } else {
                for (size_t h = 0; h < header.n_cells && h < row.n_cells; h++)
                    if (strcmp(header.cells[h], data->columns[c].column) == 0)
                        v = row.cells[h];
                if (!v || !v[0])
                    continue;
            }
            if (!ir_enum_has(et, v)) {
                diag_error(s->d, at, "data `%s` (%s line %d): `%s` is \"%.60s\", which is not a "
                           "value of %s%s", data->name, data->path, line, data->columns[c].field, v,
                           sema_type_str(s, et), enum_hint(s, v, et));
                reported[c] = 1;
            }
        }
        cJSON_Delete(obj);
        csv_record_free(&row);
    }
    csv_record_free(&header);
    free(buf);
}

/* The type of a data column that is not a module field (a gold-only
 * field an example carries, like a list of aliases): the type its mapping
 * declares, else from the first record that holds a value for it: text,
 * number (float), bool, or a list of those (typed by its first item). CSV
 * cells are text. NULL if unknown. */
const ir_type *sema_data_field_type(sema *s, const ir_data *data, const char *field)
{
    const char *column = NULL;
    for (size_t i = 0; i < data->n_columns; i++)
        if (strcmp(data->columns[i].field, field) == 0) {
            if (data->columns[i].type)
                return data->columns[i].type;   /* declared: `gold -> answers: list<string>` */
            column = data->columns[i].column;
        }
    if (!column)
        return NULL;
    if (strcmp(data->format, "csv") == 0)
        return &s->t_string;
    char *buf;
    const char *text;
    size_t text_len;
    const char *unread;
    if (!read_data(data_file(s, data), &buf, &text, &text_len, &unread))
        return NULL;
    const ir_type *t = NULL;
    const char *p = text, *end = text + text_len;
    cJSON *obj = NULL, *item = NULL;
    /* The first record that holds a value for the column: a row without
     * one (null, or no key) says nothing about its type. */
    while (p < end && (!item || cJSON_IsNull(item))) {
        cJSON_Delete(obj);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        obj = cJSON_ParseWithLength(p, (size_t)((nl ? nl : end) - p));
        item = cJSON_GetObjectItemCaseSensitive(obj, column);
        p = nl ? nl + 1 : end;
    }
    const cJSON *scalar = cJSON_IsArray(item) ? item->child : item;
    const ir_type *elem = NULL;
    if (cJSON_IsString(scalar))
        elem = &s->t_string;
    else if (cJSON_IsNumber(scalar))
        elem = &s->t_float;
    else if (cJSON_IsBool(scalar))
        elem = &s->t_bool;
    if (elem && cJSON_IsArray(item)) {
        ir_type *lt = arena_alloc(s->a, sizeof *lt);
        lt->kind = IR_LIST;
        lt->elem = elem;
        t = lt;
    } else {
        t = elem;
    }
    cJSON_Delete(obj);
    free(buf);
    return t;
}
