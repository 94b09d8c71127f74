/* dataset.c — data sets typed per a module's fields (see exec.h): JSONL
 * rows through cJSON, CSV rows through datafile.c, every cell checked
 * against its field's type so a bad row fails at load time, naming
 * file:line and the column, instead of in the middle of an optimization. */
#include "exec.h"
#include "dataset_int.h"
#include "ir_runtime.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where each field's value comes from in a row. */
typedef struct ds_ctx {
    ex_dataset *d;
    const char *path;
    const char **columns;       /* n_fields: the column read, NULL when unmapped */
    int *csv_index;             /* n_fields: the header position, -1 when absent */
} ds_ctx;

static dsp_status cell_error(const ds_ctx *c, int line, size_t f, dsp_error *err, const char *why)
{
    char tb[128];
    return dsp_error_set(err, DSP_ERR_INVALID, "%s:%d: column `%s` (field `%s`, %s): %s", c->path, line,
                         c->columns[f], c->d->fields[f]->name, ir_type_str(c->d->fields[f]->type, tb, sizeof tb),
                         why);
}

static const ir_type *unwrap_optional(const ir_type *t)
{
    return t->kind == IR_OPTIONAL ? t->elem : t;
}

/* Checks that an enum cell holds a declared value, exactly as written. */
static dsp_status check_enum(const ds_ctx *c, int line, size_t f, const char *text, dsp_error *err)
{
    const ir_type *t = unwrap_optional(c->d->fields[f]->type);
    if (t->kind != IR_ENUM || ir_enum_has(t, text))
        return DSP_OK;
    char why[DSP_ERROR_MESSAGE_MAX / 2];
    int n = snprintf(why, sizeof why, "\"%.60s\" is not one of", text);
    for (size_t i = 0; i < t->n_values && n > 0 && (size_t)n < sizeof why; i++)
        n += snprintf(why + n, sizeof why - (size_t)n, ir_is_name(t->values[i]) ? "%s %s" : "%s \"%s\"",
                      i ? "," : "", t->values[i]);
    return cell_error(c, line, f, err, why);
}

/* A cell of text (CSV, or a JSON string for a non-string field). */
static dsp_status from_text(const ds_ctx *c, int line, size_t f, const char *text, dsp_value *out,
                            bool *present, dsp_error *err)
{
    const ir_type *t = c->d->fields[f]->type;
    if (t->kind == IR_OPTIONAL && text[0] == '\0') {
        *present = false;
        return DSP_OK;
    }
    const ir_type *base = unwrap_optional(t);
    if (base->kind == IR_STRING && t->kind == IR_STRING) {
        *present = true;
        return dsp_value_set_string(out, text, strlen(text), err);
    }
    dsp_status rc = check_enum(c, line, f, text, err);
    if (rc != DSP_OK)
        return rc;
    dsp_error perr = { 0 };
    rc = dsp_value_parse(c->d->types[f], text, strlen(text), out, &perr);
    if (rc != DSP_OK) {
        rc = cell_error(c, line, f, err, perr.message);
        dsp_error_clear(&perr);
        return rc;
    }
    *present = true;
    return DSP_OK;
}

/* The shortest text that reads back as exactly d. cJSON prints 15 digits
 * whenever they read back within an epsilon, which would turn
 * 0.30000000000000004 into 0.3 and 9007199254740992 into 9.00719925474099e+15. */
static void exact_number(double d, char buf[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* item as JSON text with every number spelled exactly (malloc'ed): numbers
 * inside lists become raw nodes holding their exact text. */
static char *print_exact(const cJSON *item)
{
    char num[32];
    if (cJSON_IsNumber(item)) {
        exact_number(item->valuedouble, num);
        return strdup(num);
    }
    cJSON *copy = cJSON_Duplicate(item, 1);
    if (!copy)
        return NULL;
    int ok = 1;
    cJSON *stack[64];
    size_t depth = 0;
    stack[depth++] = copy;
    while (depth > 0 && ok) {
        cJSON *parent = stack[--depth];
        for (cJSON *ch = parent->child, *next; ch && ok; ch = next) {
            next = ch->next;
            if (cJSON_IsNumber(ch)) {
                exact_number(ch->valuedouble, num);
                cJSON *raw = cJSON_CreateRaw(num);
                /* In an object the replacement needs the member's key, which
                 * ReplaceItemViaPointer does not carry over. */
                if (raw && ch->string && cJSON_IsObject(parent))
                    ok = cJSON_ReplaceItemInObjectCaseSensitive(parent, ch->string, raw);
                else
                    ok = raw && cJSON_ReplaceItemViaPointer(parent, ch, raw);
            } else if (ch->child) {
                if (depth == sizeof stack / sizeof stack[0])
                    ok = 0;
                else
                    stack[depth++] = ch;
            }
        }
    }
    char *json = ok ? cJSON_PrintUnformatted(copy) : NULL;
    cJSON_Delete(copy);
    return json;
}

static dsp_status from_json(const ds_ctx *c, int line, size_t f, const cJSON *item, dsp_value *out,
                            bool *present, dsp_error *err)
{
    const ir_type *t = c->d->fields[f]->type;
    if (!item || cJSON_IsNull(item)) {
        *present = false;
        return DSP_OK;
    }
    const ir_type *base = unwrap_optional(t);
    if (base->kind == IR_ENUM) {
        if (!cJSON_IsString(item))
            return cell_error(c, line, f, err, "expected a JSON string naming an enum value");
        dsp_status rc = check_enum(c, line, f, item->valuestring, err);
        if (rc != DSP_OK)
            return rc;
    }
    if (base->kind == IR_STRING && !cJSON_IsString(item) && !cJSON_IsNumber(item))
        return cell_error(c, line, f, err, "expected a JSON string");
    char *json = print_exact(item);
    if (!json)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading `%s` (or a value nested more than 64 deep)",
                             c->path);
    dsp_status rc;
    if (base->kind == IR_STRING && cJSON_IsNumber(item)) {
        /* An id-like number in a string field reads as its digits. */
        dsp_value inner = { 0 };
        rc = dsp_value_set_string(&inner, json, strlen(json), err);
        if (rc == DSP_OK && t->kind == IR_OPTIONAL)
            rc = dsp_value_some(out, &inner, err);
        else if (rc == DSP_OK) {
            *out = inner;             /* ownership moves to *out */
            memset(&inner, 0, sizeof inner);
        }
        dsp_value_free(&inner);
    } else {
        dsp_error perr = { 0 };
        rc = dsp_value_parse_json(c->d->types[f], json, strlen(json), out, &perr);
        if (rc != DSP_OK)
            rc = cell_error(c, line, f, err, perr.message);
        dsp_error_clear(&perr);
    }
    free(json);
    if (rc == DSP_OK)
        *present = true;
    return rc;
}

/* A non-optional input must be there: the module cannot run without it. */
static dsp_status check_required(const ds_ctx *c, int line, const ex_example *row, dsp_error *err)
{
    for (size_t f = 0; f < c->d->n_inputs; f++) {
        if (row->present[f] || c->d->fields[f]->type->kind == IR_OPTIONAL)
            continue;
        if (!c->columns[f])
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "data set `%s` maps no column to input `%s` of module `%s`; add "
                                 "`{ column -> %s }` to its declaration",
                                 c->d->name, c->d->fields[f]->name, c->d->module->name, c->d->fields[f]->name);
        char have[512];
        ds_row_columns(c->d, line, have, sizeof have);
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "%s:%d: column `%s` (input `%s`) is missing or null; this row has columns: %.400s",
                             c->path, line, c->columns[f], c->d->fields[f]->name, have);
    }
    return DSP_OK;
}

static dsp_status add_row(ex_dataset *d, ex_example **row, dsp_error *err)
{
    if ((d->n_rows & (d->n_rows - 1)) == 0) {
        size_t cap = d->n_rows ? d->n_rows * 2 : 1;
        ex_example *n = realloc(d->rows, cap * sizeof *n);
        if (!n)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory loading `%s`", d->path);
        d->rows = n;
    }
    ex_example *r = &d->rows[d->n_rows];
    memset(r, 0, sizeof *r);
    r->values = calloc(d->n_fields + 1, sizeof *r->values);
    r->present = calloc(d->n_fields + 1, sizeof *r->present);
    d->n_rows++;
    if (!r->values || !r->present)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory loading `%s`", d->path);
    *row = r;
    return DSP_OK;
}

/* Data keeps the runtime's rule for text (dsp/value.h): a NUL (a raw byte,
 * or \u0000 in JSONL) or bytes that are not UTF-8 are an error at their
 * line and column, never a value cut at the NUL or sent on as a request
 * that is not JSON. */
static dsp_status check_text(const char *path, const char *text, size_t len, int json, dsp_error *err)
{
    size_t nul = json ? dsp_json_nul_at(text, len) : len;
    size_t bad = dsp_text_invalid_at(text, len);
    size_t at = nul < bad ? nul : bad;
    if (at == len)
        return DSP_OK;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        col++;
        if (text[i] == '\n') {
            line++;
            col = 1;
        }
    }
    if (text[at] == '\0' || at == nul)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s:%zu:%zu: a NUL character%s; text in data must not hold NULs",
                             path, line, col, text[at] == '\0' ? "" : " (\\u0000)");
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "%s:%zu:%zu: not valid UTF-8 (byte 0x%02x); data files must be UTF-8 (convert one in "
                         "another encoding with iconv, e.g. iconv -f LATIN1 -t UTF-8)",
                         path, line, col, (unsigned)(unsigned char)text[at]);
}

static dsp_status load_jsonl(ds_ctx *c, const char *text, size_t len, dsp_error *err)
{
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        size_t n = (size_t)(le - p);
        const char *q = p;
        p = le + 1;
        int blank = 1;
        for (size_t i = 0; i < n && blank; i++)
            blank = q[i] == ' ' || q[i] == '\t' || q[i] == '\r';
        if (blank)
            continue;
        const char *bad = NULL;
        cJSON *obj = cJSON_ParseWithLengthOpts(q, n, &bad, 0);
        if (!obj) {
            /* Where cJSON stopped, as a column, so a typo in row 1000 is found
             * without counting characters. */
            int col = bad && bad >= q && bad <= q + n ? (int)(bad - q) + 1 : 1;
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "%s:%d:%d: not valid JSON (JSONL holds one object a line; a string or "
                                 "object that goes on past the line?)",
                                 c->path, line, col);
        }
        if (!cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            return dsp_error_set(err, DSP_ERR_INVALID, "%s:%d: not a JSON object (JSONL holds one object a line)",
                                 c->path, line);
        }
        ex_example *row;
        dsp_status rc = add_row(c->d, &row, err);
        if (rc == DSP_OK) {
            row->line = line;
            for (size_t f = 0; f < c->d->n_fields && rc == DSP_OK; f++)
                if (c->columns[f])
                    rc = from_json(c, line, f, cJSON_GetObjectItemCaseSensitive(obj, c->columns[f]),
                                   &row->values[f], &row->present[f], err);
        }
        cJSON_Delete(obj);
        if (rc == DSP_OK)
            rc = check_required(c, line, row, err);
        if (rc != DSP_OK)
            return rc;
    }
    return DSP_OK;
}

/* Whether a type holds a record or a map somewhere inside. */
static bool has_object(const ir_type *t)
{
    if (t->kind == IR_RECORD || t->kind == IR_MAP)
        return true;
    return (t->kind == IR_LIST || t->kind == IR_OPTIONAL) && has_object(t->elem);
}

static dsp_status load_csv(ds_ctx *c, const char *text, size_t len, dsp_error *err)
{
    for (size_t f = 0; f < c->d->n_fields; f++) {
        char tb[128];
        if (c->columns[f] && has_object(c->d->fields[f]->type))
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "%s: field `%s` is %s, which a CSV cell cannot hold (records and maps are "
                                 "nested JSON); store this data set as JSONL, one JSON object a line",
                                 c->path, c->d->fields[f]->name,
                                 ir_type_str(c->d->fields[f]->type, tb, sizeof tb));
    }
    csv_reader rd;
    csv_reader_init(&rd, text, len, c->path);
    csv_record header;
    int done;
    dsp_status rc = csv_next(&rd, &header, &done, err);
    if (rc != DSP_OK)
        return rc;
    if (done)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: empty; a CSV file starts with a header row", c->path);
    for (size_t f = 0; f < c->d->n_fields; f++) {
        c->csv_index[f] = -1;
        for (size_t h = 0; c->columns[f] && h < header.n_cells; h++)
            if (strcmp(header.cells[h], c->columns[f]) == 0)
                c->csv_index[f] = (int)h;
    }
    /* A required input the header lacks would fail on every row: say so
     * once, at the header, with the columns it does have. */
    for (size_t f = 0; f < c->d->n_inputs; f++) {
        if (c->csv_index[f] >= 0 || !c->columns[f] || c->d->fields[f]->type->kind == IR_OPTIONAL)
            continue;
        char have[512] = "";
        size_t used = 0;
        for (size_t h = 0; h < header.n_cells && used + 1 < sizeof have; h++) {
            int w = snprintf(have + used, sizeof have - used, "%s%s", h ? ", " : "", header.cells[h]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        dsp_status st = dsp_error_set(err, DSP_ERR_INVALID,
                                      "%s:%d: the header has no column `%s` (input `%s`); it has: %.400s",
                                      c->path, header.line, c->columns[f], c->d->fields[f]->name, have);
        csv_record_free(&header);
        return st;
    }
    size_t width = header.n_cells;
    csv_record_free(&header);
    for (;;) {
        csv_record rec;
        rc = csv_next(&rd, &rec, &done, err);
        if (rc != DSP_OK || done)
            return rc;
        if (rec.n_cells != width) {
            int line = rec.line;
            size_t n = rec.n_cells;
            csv_record_free(&rec);
            return dsp_error_set(err, DSP_ERR_INVALID, "%s:%d: %zu cells, but the header has %zu", c->path, line,
                                 n, width);
        }
        ex_example *row;
        rc = add_row(c->d, &row, err);
        if (rc == DSP_OK) {
            row->line = rec.line;
            for (size_t f = 0; f < c->d->n_fields && rc == DSP_OK; f++)
                if (c->csv_index[f] >= 0)
                    rc = from_text(c, rec.line, f, rec.cells[c->csv_index[f]], &row->values[f], &row->present[f],
                                   err);
        }
        int line = rec.line;
        csv_record_free(&rec);
        if (rc == DSP_OK)
            rc = check_required(c, line, row, err);
        if (rc != DSP_OK)
            return rc;
    }
}

static const char *join_path(arena *a, const char *dir, const char *path)
{
    if (!dir || !dir[0] || path[0] == '/')
        return arena_strdup(a, path);
    size_t n = strlen(dir);
    return arena_printf(a, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", path);
}

/* The fields metrics of module m read from `ex` that are none of m's
 * parameters or results (gold-only: `ex.answers`), typed as sema checked
 * the metric (from the data, see sema_data_field_type). */
typedef struct gold_set {
    arena *a;
    const ir_module *m;
    const ir_field **f;
    size_t n, cap;
} gold_set;

static void gold_collect(gold_set *g, const ir_expr *e)
{
    /* ex.meta.id reads into a record: e->type is the leaf's, not the field's. */
    if (e->kind == IR_E_FIELD && e->source == IR_SRC_EXAMPLE && e->n_path == 0 &&
        !ir_field_find(g->m->params, g->m->n_params, e->field) &&
        !ir_field_find(g->m->results, g->m->n_results, e->field)) {
        int seen = 0;
        for (size_t i = 0; i < g->n; i++)
            seen |= strcmp(g->f[i]->name, e->field) == 0;
        if (!seen) {
            if (g->n == g->cap) {
                size_t cap = g->cap ? 2 * g->cap : 4;
                const ir_field **n = arena_array(g->a, cap, sizeof *n);
                if (g->n)
                    memcpy(n, g->f, g->n * sizeof *n);
                g->f = n;
                g->cap = cap;
            }
            ir_field *f = arena_alloc(g->a, sizeof *f);
            f->name = e->field;
            f->type = e->type;
            g->f[g->n++] = f;
        }
    }
    for (size_t i = 0; i < e->n_args; i++)
        gold_collect(g, e->args[i].value);
}

/* columns: the ir_data mapping, or NULL for same-name columns. inline_text:
 * the rows themselves (path only names them), or NULL to read path. p:
 * the program whose metrics may read gold-only fields, or NULL. */
static dsp_status load(const ir_program *p, const ir_module *m, const char *name, const char *path,
                       const char *format, const ir_column *map, size_t n_map, const char *inline_text,
                       ex_dataset *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    arena_init(&out->mem);
    ex_dataset *d = out;
    d->name = arena_strdup(&d->mem, name);
    d->path = arena_strdup(&d->mem, path);
    d->module = m;
    d->n_inputs = m->n_params;
    gold_set gold = { .a = &d->mem, .m = m };
    for (size_t i = 0; p && i < p->n_metrics; i++)
        if (strcmp(p->metrics[i]->module, m->name) == 0)
            gold_collect(&gold, p->metrics[i]->expr);
    d->n_fields = m->n_params + m->n_results + gold.n;
    const ir_field **fields = arena_array(&d->mem, d->n_fields + 1, sizeof *fields);
    const dsp_type **types = arena_array(&d->mem, d->n_fields + 1, sizeof *types);
    const char **columns = arena_array(&d->mem, d->n_fields + 1, sizeof *columns);
    int *idx = arena_array(&d->mem, d->n_fields + 1, sizeof *idx);
    for (size_t f = 0; f < d->n_fields; f++) {
        size_t nm = m->n_params + m->n_results;
        fields[f] = f < m->n_params ? &m->params[f] : f < nm ? &m->results[f - m->n_params] : gold.f[f - nm];
        types[f] = irt_type(&d->mem, fields[f]->type);
        columns[f] = map ? NULL : fields[f]->name;
        for (size_t k = 0; map && k < n_map; k++)
            if (strcmp(map[k].field, fields[f]->name) == 0)
                columns[f] = map[k].column;
    }
    d->fields = fields;
    d->types = types;
    d->columns = columns;
    d->csv = strcmp(format, "csv") == 0;
    ds_ctx c = { d, d->path, columns, idx };
    char *text;
    size_t len;
    dsp_status rc = inline_text ? DSP_OK : ds_read_file(path, &text, &len, err);
    if (rc != DSP_OK)
        return rc;
    if (inline_text) {
        len = strlen(inline_text);
        if (!(text = malloc(len + 1)))
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
        memcpy(text, inline_text, len + 1);
    }
    size_t skip = df_bom_len(text, len);
    rc = check_text(path, text + skip, len - skip, strcmp(format, "csv") != 0, err);
    if (rc != DSP_OK) {
        free(text);
        return rc;
    }
    if (strcmp(format, "csv") == 0)
        rc = load_csv(&c, text + skip, len - skip, err);
    else
        rc = load_jsonl(&c, text + skip, len - skip, err);
    free(text);
    if (rc == DSP_OK && d->n_rows == 0)
        rc = dsp_error_set(err, DSP_ERR_INVALID, "%s: the data set has no rows", path);
    return rc;
}

dsp_status ex_dataset_load(const ir_program *p, const ir_module *m, const ir_data *data, ex_dataset *out,
                           dsp_error *err)
{
    arena tmp;
    arena_init(&tmp);
    const char *path = join_path(&tmp, p->base_dir, data->path);
    dsp_status rc = load(p, m, data->name, path, data->format, data->n_columns ? data->columns : NULL,
                         data->n_columns, NULL, out, err);
    arena_free(&tmp);
    if (rc != DSP_OK)
        ex_dataset_free(out);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The format a file's name says (.jsonl, .json, .ndjson, .csv), or NULL. */
static const char *format_of(const char *path)
{
    if (ends_with(path, ".csv"))
        return "csv";
    if (ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".ndjson"))
        return "jsonl";
    return NULL;
}

dsp_status ex_dataset_load_path(const ir_program *p, const ir_module *m, const char *path, ex_dataset *out,
                                dsp_error *err)
{
    const char *format = format_of(path);
    if (!format) {
        memset(out, 0, sizeof *out);
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "`%s`: cannot tell the format of a data file from its name; use a .jsonl or .csv "
                             "file, or the name of a `data` declaration",
                             path);
    }
    dsp_status rc = load(p, m, path, path, format, NULL, 0, NULL, out, err);
    if (rc != DSP_OK)
        ex_dataset_free(out);
    return rc;
}

static const ir_data *data_named(const ir_program *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->n_data; i++)
        if (strlen(p->data[i]->name) == len && strncmp(p->data[i]->name, name, len) == 0)
            return p->data[i];
    return NULL;
}

static dsp_status no_such_data(const ir_program *p, const char *name, int len, ex_dataset *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    char names[512];
    size_t n = 0;
    names[0] = '\0';
    for (size_t i = 0; i < p->n_data && n < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", p->data[i]->name);
    return dsp_error_set(err, DSP_ERR_INVALID, "no data set named `%.*s` (declared: %s); give a name, a "
                         "path to a .jsonl or .csv file, or NAME=PATH", len, name, p->n_data ? names : "none");
}

/* NAME=PATH: the file at PATH (as given, not relative to the .dsp) read
 * with declaration NAME's column mapping, in the format its name says,
 * else NAME's. */
static dsp_status open_mapped(const ir_program *p, const ir_module *m, const char *arg, const char *eq,
                              ex_dataset *out, dsp_error *err)
{
    const ir_data *data = data_named(p, arg, (size_t)(eq - arg));
    if (!data && access(arg, F_OK) == 0)
        return ex_dataset_load_path(p, m, arg, out, err);   /* a file named a=b.jsonl */
    if (!data)
        return no_such_data(p, arg, (int)(eq - arg), out, err);
    const char *path = eq + 1;
    if (!*path) {
        memset(out, 0, sizeof *out);
        return dsp_error_set(err, DSP_ERR_INVALID, "`%s`: no path after `=`; write NAME=PATH", arg);
    }
    const char *format = format_of(path);
    dsp_status rc = load(p, m, arg, path, format ? format : data->format, data->n_columns ? data->columns : NULL,
                         data->n_columns, NULL, out, err);
    if (rc != DSP_OK)
        ex_dataset_free(out);
    return rc;
}

dsp_status ex_dataset_open(const ir_program *p, const ir_module *m, const char *name_or_path, ex_dataset *out,
                           dsp_error *err)
{
    const ir_data *data = data_named(p, name_or_path, strlen(name_or_path));
    if (data)
        return ex_dataset_load(p, m, data, out, err);
    const char *eq = strchr(name_or_path, '=');
    if (eq && eq > name_or_path && !memchr(name_or_path, '/', (size_t)(eq - name_or_path)))
        return open_mapped(p, m, name_or_path, eq, out, err);
    if (!strchr(name_or_path, '/') && !strchr(name_or_path, '.'))
        return no_such_data(p, name_or_path, (int)strlen(name_or_path), out, err);
    dsp_status rc = ex_dataset_load_path(p, m, name_or_path, out, err);
    if (rc == DSP_OK || p->n_data == 0 || !err || !(strstr(err->message, "has no column") ||
                                                    strstr(err->message, "is missing or null; this row has")))
        return rc;
    /* A file given by path has columns named like the module's fields; one
     * laid out as a declared data set's file reads with its mapping. */
    char first[sizeof err->message];
    snprintf(first, sizeof first, "%s", err->message);
    char names[256] = "";
    for (size_t i = 0; i < p->n_data; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", p->data[i]->name);
    }
    return dsp_error_set(err, rc, "%s (a file given by its path has columns named like the module's fields; to "
                         "read it with a `data` declaration's mapping, write `--data NAME=%s`, NAME one of: %s)", first,
                         name_or_path, names);
}

dsp_status ex_dataset_from_json(const ir_module *m, const char *label, const char *json, ex_dataset *out,
                                dsp_error *err)
{
    /* One line: a newline inside the object would read as a second row. */
    if (strchr(json, '\n')) {
        memset(out, 0, sizeof *out);
        return dsp_error_set(err, DSP_ERR_INVALID, "%s: give the JSON object on one line", label);
    }
    dsp_status rc = load(NULL, m, label, label, "jsonl", NULL, 0, json, out, err);
    if (rc != DSP_OK)
        ex_dataset_free(out);
    return rc;
}

void ex_dataset_free(ex_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_rows; i++) {
        if (d->rows[i].values)
            dsp_values_free(d->rows[i].values, d->n_fields);
        free(d->rows[i].values);
        free(d->rows[i].present);
    }
    free(d->rows);
    arena_free(&d->mem);
    memset(d, 0, sizeof *d);
}

int ex_dataset_field(const ex_dataset *d, const char *name)
{
    for (size_t f = 0; f < d->n_fields; f++)
        if (strcmp(d->fields[f]->name, name) == 0)
            return (int)f;
    return -1;
}
