/* dataset_check.c — before the first LM call: does every example hold
 * each field the metric reads? A data file whose gold column is named
 * otherwise would otherwise cost a whole run of LM calls before the first
 * score fails. The error names the field, the first row without it and
 * the columns that row has, so the fix (a mapping) can be written at once. */
#include "exec.h"
#include "dataset_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ds_row_columns(const ex_dataset *d, int line, char *buf, size_t size)
{
    buf[0] = '\0';
    char *text;
    size_t len, used = 0;
    dsp_error ignored = { 0 };
    if (ds_read_file(d->path, &text, &len, &ignored) != DSP_OK) {
        dsp_error_clear(&ignored);
        return;
    }
#define ADD(name)                                                                                          \
    do {                                                                                                   \
        int w_ = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", (name));                     \
        used = w_ < 0 || (size_t)w_ >= size - used ? size - 1 : used + (size_t)w_;                        \
    } while (0)
    size_t skip = df_bom_len(text, len);
    if (d->csv) {
        csv_reader rd;
        csv_reader_init(&rd, text + skip, len - skip, d->path);
        csv_record header;
        int done = 1;
        char why[256];
        if (csv_read(&rd, &header, &done, why, sizeof why) == DF_OK && !done) {
            for (size_t h = 0; h < header.n_cells; h++)
                ADD(header.cells[h]);
            csv_record_free(&header);
        }
    } else {
        const char *p = text + skip, *end = text + len;
        for (int l = 1; l < line && p < end; l++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cJSON *obj = cJSON_ParseWithLength(p, (size_t)((nl ? nl : end) - p));
        for (const cJSON *it = obj ? obj->child : NULL; it; it = it->next)
            ADD(it->string);
        cJSON_Delete(obj);
    }
#undef ADD
    if (!buf[0])
        snprintf(buf, size, "none");
    free(text);
}

/* The first field of `ex` that e reads and some row lacks. */
static dsp_status require_expr(const ex_dataset *d, const ir_metric *metric, const ir_expr *e, dsp_error *err)
{
    for (size_t i = 0; i < e->n_args; i++) {
        dsp_status rc = require_expr(d, metric, e->args[i].value, err);
        if (rc != DSP_OK)
            return rc;
    }
    if (e->kind != IR_E_FIELD || e->source != IR_SRC_EXAMPLE)
        return DSP_OK;
    int f = ex_dataset_field(d, e->field);
    if (f < 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "metric `%s` reads `ex.%s`, which module `%s` does not have",
                             metric->name, e->field, d->module->name);
    if (d->fields[f]->type->kind == IR_OPTIONAL)
        return DSP_OK;
    for (size_t r = 0; r < d->n_rows; r++) {
        if (d->rows[r].present[f])
            continue;
        char have[512];
        ds_row_columns(d, d->rows[r].line, have, sizeof have);
        if (!d->columns[f])
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "data set `%s` maps no column to `%s`, which metric `%s` reads (ex.%s); add "
                                 "`{ COLUMN -> %s }` to its declaration (%s:%d has columns: %.400s)",
                                 d->name, e->field, metric->name, e->field, e->field, d->path, d->rows[r].line,
                                 have);
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "%s:%d: no `%s` for metric `%s` (it reads ex.%s from column `%s`, missing or "
                             "null here); this row has columns: %.400s. Map the column that holds it in a "
                             "data block (`{ COLUMN -> %s }`, then --data NAME=PATH), or rename the column",
                             d->path, d->rows[r].line, e->field, metric->name, e->field, d->columns[f], have,
                             e->field);
    }
    return DSP_OK;
}

dsp_status ex_dataset_require(const ex_dataset *d, const ir_metric *metric, dsp_error *err)
{
    return metric ? require_expr(d, metric, metric->expr, err) : DSP_OK;
}
