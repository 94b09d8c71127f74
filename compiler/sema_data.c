/* sema_data.c — looks into data files at check time: which columns they
 * have (so a mapping typo is a compile error, not a run-time surprise) and
 * whether enum columns hold only values the program declares. The runtime
 * has its own loader; this reads just enough to check. */
#include "sema_int.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_buf {
    char *text;
    size_t len;
} file_buf;

static int read_all(const char *path, file_buf *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        errno = EINVAL;  /* a device or FIFO could block or never end */
        return 0;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (len < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(fp);
    if (!buf)
        return 0;
    buf[len] = '\0';
    out->text = buf;
    out->len = len;
    return 1;
}

/* One CSV record (RFC 4180: quoted fields, "" inside quotes). Advances *p. */
static void csv_record(arena *a, const char **p, const char *end, ptr_vec *fields)
{
    const char *s = *p;
    /* The record ends at the first newline outside quotes; a field is never
     * longer than the record. */
    const char *rec_end = s;
    for (int q = 0; rec_end < end && (q || *rec_end != '\n'); rec_end++)
        q ^= *rec_end == '"';
    size_t cap = (size_t)(rec_end - s) + 1;
    char *field = malloc(cap);
    size_t n = 0;
    int quoted = 0;
    if (!field) {
        *p = end;
        return;
    }
    while (s < end) {
        char c = *s++;
        if (quoted) {
            if (c == '"' && s < end && *s == '"') {
                field[n++] = '"';
                s++;
            } else if (c == '"') {
                quoted = 0;
            } else {
                field[n++] = c;
            }
        } else if (c == '"') {
            quoted = 1;
        } else if (c == ',') {
            ptr_vec_push(a, fields, arena_strndup(a, field, n));
            n = 0;
        } else if (c == '\n') {
            break;
        } else if (c != '\r') {
            field[n++] = c;
        }
    }
    ptr_vec_push(a, fields, arena_strndup(a, field, n));
    free(field);
    *p = s;
}

static const char *data_file(sema *s, const ir_data *data)
{
    return sema_path_join(s->a, s->main->dir, data->path);
}

int sema_data_columns(sema *s, const ir_data *data, src_loc at, ptr_vec *columns)
{
    const char *path = data_file(s, data);
    file_buf fb;
    if (!read_all(path, &fb)) {
        diag_error(s->d, at, "cannot read data file `%s`: %s (paths are relative to the .dsp file)",
                   path, strerror(errno ? errno : EIO));
        return 0;
    }
    int ok = 1;
    if (strcmp(data->format, "csv") == 0) {
        const char *p = fb.text;
        csv_record(s->a, &p, fb.text + fb.len, columns);
        if (columns->len == 1 && !((char *)columns->items[0])[0]) {
            diag_error(s->d, at, "data file `%s` is empty; a CSV file starts with a header row", path);
            ok = 0;
        }
    } else {
        /* Every line must be a JSON object; the first gives the columns. */
        const char *p = fb.text, *end = fb.text + fb.len;
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
                } else if (!seen) {
                    for (cJSON *c = obj->child; c; c = c->next)
                        ptr_vec_push(s->a, columns, arena_strdup(s->a, c->string));
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
    free(fb.text);
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

/* Reports the first value outside the enum, per column. */
void sema_data_check_enums(sema *s, const ir_data *data, const ir_module *m, src_loc at)
{
    int any = 0;
    for (size_t c = 0; c < data->n_columns; c++)
        any |= enum_of(field_type(m, data->columns[c].field)) != NULL;
    if (!any)
        return;
    const char *path = data_file(s, data);
    file_buf fb;
    if (!read_all(path, &fb))
        return;
    const char *p = fb.text, *end = fb.text + fb.len;
    int is_csv = strcmp(data->format, "csv") == 0;
    ptr_vec header = { 0 };
    if (is_csv)
        csv_record(s->a, &p, end, &header);
    char *reported = arena_alloc(s->a, data->n_columns + 1);
    int line = is_csv ? 1 : 0;
    while (p < end) {
        line++;
        const char *rec_start = p;
        ptr_vec row = { 0 };
        cJSON *obj = NULL;
        if (is_csv) {
            csv_record(s->a, &p, end, &row);
        } else {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            obj = cJSON_ParseWithLength(rec_start, (size_t)(le - rec_start));
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
                for (size_t h = 0; h < header.len && h < row.len; h++)
                    if (strcmp(header.items[h], data->columns[c].column) == 0)
                        v = row.items[h];
                if (!v || !v[0])
                    continue;
            }
            if (!ir_enum_has(et, v)) {
                diag_error(s->d, at, "data `%s` (%s line %d): `%s` is \"%.60s\", which is not a "
                           "value of %s%s", data->name, data->path, line, data->columns[c].field, v,
                           sema_type_str(s, et),
                           sema_did_you_mean(s, v, et->values, et->n_values));
                reported[c] = 1;
            }
        }
        cJSON_Delete(obj);
    }
    free(fb.text);
}

/* The type of a data column that is not a module field (an extra gold
 * field an example carries, like a list of aliases), from the first
 * record: text, number, bool, or a list of those. NULL if unknown. */
const ir_type *sema_data_field_type(sema *s, const ir_data *data, const char *field)
{
    const char *column = NULL;
    for (size_t i = 0; i < data->n_columns; i++)
        if (strcmp(data->columns[i].field, field) == 0)
            column = data->columns[i].column;
    if (!column)
        return NULL;
    if (strcmp(data->format, "csv") == 0)
        return &s->t_string;
    file_buf fb;
    if (!read_all(data_file(s, data), &fb))
        return NULL;
    const ir_type *t = NULL;
    const char *p = fb.text, *end = fb.text + fb.len;
    while (p < end && (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t'))
        p++;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    cJSON *obj = cJSON_ParseWithLength(p, (size_t)((nl ? nl : end) - p));
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, column);
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
    free(fb.text);
    return t;
}
