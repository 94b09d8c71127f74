/* eval_classes.c — per-class scores of an enum output: when the metric
 * reads a module output whose type is an enum (the ticket queue), a mean
 * score hides which classes fail; precision, recall, F1 and support per
 * class and the confusion matrix show it (see exec.h, ex_class_report). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static const ir_type *unwrap(const ir_type *t)
{
    return t && t->kind == IR_OPTIONAL ? t->elem : t;
}

/* The first pred.FIELD of enum type in e, depth first. */
static const char *enum_field(const ir_expr *e, const ir_module *m)
{
    if (!e)
        return NULL;
    if (e->kind == IR_E_FIELD && e->source == IR_SRC_PREDICTION) {
        for (size_t i = 0; i < m->n_results; i++)
            if (strcmp(m->results[i].name, e->field) == 0 && unwrap(m->results[i].type)->kind == IR_ENUM)
                return e->field;
        return NULL;
    }
    for (size_t i = 0; i < e->n_args; i++) {
        const char *f = enum_field(e->args[i].value, m);
        if (f)
            return f;
    }
    return NULL;
}

/* The label index of a value of an (optional) enum of type t, mapped by
 * name onto labels; -1 when absent or not one of them. */
static int label_of(const dsp_value *v, const dsp_type *t, const char *const *labels, size_t n)
{
    if (t->kind == DSP_TYPE_OPTIONAL) {
        if (v->kind != DSP_TYPE_OPTIONAL || !v->as.some)
            return -1;
        return label_of(v->as.some, t->elem, labels, n);
    }
    if (t->kind != DSP_TYPE_ENUM || v->as.e >= t->n_enum_values)
        return -1;
    const char *name = t->enum_values[v->as.e];
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i], name) == 0)
            return (int)i;
    return -1;
}

dsp_status ex_class_report_build(const ir_metric *metric, const ex_dataset *d, const ex_eval_result *res,
                                 ex_class_report *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    const ir_module *m = d->module;
    const char *field = metric ? enum_field(metric->expr, m) : NULL;
    int pi = field ? ex_dataset_field(d, field) : -1;
    if (pi < 0 || (size_t)pi < d->n_inputs)
        return DSP_OK; /* no enum output is compared: nothing to break down */
    size_t out_idx = (size_t)pi - d->n_inputs;
    const ir_type *et = unwrap(d->fields[pi]->type);
    size_t n = et->n_values, cols = n + 1;
    out->field = field;
    out->labels = et->values;
    out->n_labels = n;
    out->confusion = calloc(n * cols + 1, sizeof *out->confusion);
    out->support = calloc(n + 1, sizeof *out->support);
    out->precision = calloc(n + 1, sizeof *out->precision);
    out->recall = calloc(n + 1, sizeof *out->recall);
    out->f1 = calloc(n + 1, sizeof *out->f1);
    if (!out->confusion || !out->support || !out->precision || !out->recall || !out->f1) {
        ex_class_report_free(out);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    const dsp_type *t = d->types[pi];
    size_t correct = 0;
    for (size_t i = 0; i < res->n; i++) {
        const ex_example *ex = &d->rows[res->rows[i]];
        int g = ex->present[pi] ? label_of(&ex->values[pi], t, et->values, n) : -1;
        if (g < 0) {
            out->n_unlabelled++;
            continue;
        }
        const ex_result *r = &res->results[i];
        int p = r->outputs && out_idx < r->n_outputs ? label_of(&r->outputs[out_idx], t, et->values, n) : -1;
        out->confusion[(size_t)g * cols + (p < 0 ? n : (size_t)p)]++;
        out->support[g]++;
        out->n++;
        correct += p == g;
    }
    double f1_sum = 0;
    size_t f1_classes = 0;
    for (size_t c = 0; c < n; c++) {
        size_t tp = out->confusion[c * cols + c], predicted = 0;
        for (size_t g = 0; g < n; g++)
            predicted += out->confusion[g * cols + c];
        out->precision[c] = predicted ? (double)tp / (double)predicted : 0;
        out->recall[c] = out->support[c] ? (double)tp / (double)out->support[c] : 0;
        double pr = out->precision[c] + out->recall[c];
        out->f1[c] = pr > 0 ? 2 * out->precision[c] * out->recall[c] / pr : 0;
        if (out->support[c]) {
            f1_sum += out->f1[c];
            f1_classes++;
        }
    }
    out->macro_f1 = f1_classes ? f1_sum / (double)f1_classes : 0;
    out->accuracy = out->n ? (double)correct / (double)out->n : 0;
    return DSP_OK;
}

void ex_class_report_free(ex_class_report *cr)
{
    free(cr->confusion);
    free(cr->support);
    free(cr->precision);
    free(cr->recall);
    free(cr->f1);
    memset(cr, 0, sizeof *cr);
}

static int label_width(const ex_class_report *cr)
{
    int w = 9; /* "(failed)" and a space */
    for (size_t i = 0; i < cr->n_labels; i++)
        if ((int)strlen(cr->labels[i]) + 1 > w)
            w = (int)strlen(cr->labels[i]) + 1;
    return w;
}

void ex_class_report_print(FILE *f, const ex_class_report *cr)
{
    if (!cr->field)
        return;
    int w = label_width(cr);
    size_t cols = cr->n_labels + 1;
    fprintf(f, "\nper class (`%s`, %zu labelled examples; accuracy %.4f, macro F1 %.4f):\n", cr->field, cr->n,
            cr->accuracy, cr->macro_f1);
    fprintf(f, "  %-*s %9s %9s %9s %8s\n", w, "class", "precision", "recall", "f1", "support");
    for (size_t c = 0; c < cr->n_labels; c++)
        fprintf(f, "  %-*s %9.4f %9.4f %9.4f %8zu\n", w, cr->labels[c], cr->precision[c], cr->recall[c], cr->f1[c],
                cr->support[c]);
    fprintf(f, "\nconfusion matrix (rows: gold, columns: predicted; (failed): no valid prediction):\n  %-*s", w, "");
    for (size_t c = 0; c < cols; c++)
        fprintf(f, " %*s", w, c < cr->n_labels ? cr->labels[c] : "(failed)");
    fputc('\n', f);
    for (size_t g = 0; g < cr->n_labels; g++) {
        fprintf(f, "  %-*s", w, cr->labels[g]);
        for (size_t c = 0; c < cols; c++)
            fprintf(f, " %*zu", w, cr->confusion[g * cols + c]);
        fputc('\n', f);
    }
    if (cr->n_unlabelled)
        fprintf(f, "  (%zu examples without a gold `%s` are left out)\n", cr->n_unlabelled, cr->field);
}

cJSON *ex_class_report_json(const ex_class_report *cr)
{
    if (!cr->field)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "field", cr->field);
    cJSON_AddNumberToObject(o, "n", (double)cr->n);
    cJSON_AddNumberToObject(o, "accuracy", cr->accuracy);
    cJSON_AddNumberToObject(o, "macro_f1", cr->macro_f1);
    cJSON *classes = cJSON_AddArrayToObject(o, "classes");
    for (size_t c = 0; c < cr->n_labels; c++) {
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "label", cr->labels[c]);
        cJSON_AddNumberToObject(k, "precision", cr->precision[c]);
        cJSON_AddNumberToObject(k, "recall", cr->recall[c]);
        cJSON_AddNumberToObject(k, "f1", cr->f1[c]);
        cJSON_AddNumberToObject(k, "support", (double)cr->support[c]);
        cJSON_AddItemToArray(classes, k);
    }
    /* confusion[gold][predicted], the last column the failed examples. */
    cJSON *labels = cJSON_AddArrayToObject(o, "columns");
    for (size_t c = 0; c <= cr->n_labels; c++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(c < cr->n_labels ? cr->labels[c] : "(failed)"));
    cJSON *rows = cJSON_AddArrayToObject(o, "confusion");
    size_t cols = cr->n_labels + 1;
    for (size_t g = 0; g < cr->n_labels; g++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t c = 0; c < cols; c++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)cr->confusion[g * cols + c]));
        cJSON_AddItemToArray(rows, row);
    }
    return o;
}
