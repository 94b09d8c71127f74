/* opt_overlap.c — training rows whose inputs repeat a valset row's. A
 * demo made of such a row shows that valset row its own answer (a knn
 * pool or a fine-tune holds it too), so the valset's scores, which choose
 * among candidates and decide whether anything ships, would be
 * optimistic: dspcc optimize leaves those rows out of the trainset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt_exec.h"

/* The module's inputs of one row, as one string: each as its length and
 * the text dsp_value_format writes, "-" when absent. */
static char *row_key(const ex_dataset *d, size_t row, arena *a, dsp_error *err, dsp_status *st)
{
    const ex_example *ex = &d->rows[row];
    char *key = "";
    for (size_t i = 0; i < d->n_inputs; i++) {
        if (!ex->present[i]) {
            key = arena_printf(a, "%s-;", key);
            continue;
        }
        char *s = NULL;
        size_t len = 0;
        *st = dsp_value_format(&ex->values[i], d->types[i], &s, &len, err);
        if (*st != DSP_OK)
            return NULL;
        key = arena_printf(a, "%s%zu:%.*s;", key, len, (int)len, s);
        free(s);
    }
    return key;
}

static int cmp_key(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

dsp_status opt_drop_overlap(const ex_dataset *train, size_t *rows, size_t *n, const ex_dataset *val,
                            const size_t *val_rows, size_t n_val, opt_overlap *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    arena a;
    arena_init(&a);
    dsp_status st = DSP_OK;
    char **keys = arena_array(&a, n_val + 1, sizeof *keys);
    for (size_t i = 0; i < n_val && st == DSP_OK; i++)
        keys[i] = row_key(val, val_rows[i], &a, err, &st);
    if (st == DSP_OK)
        qsort(keys, n_val, sizeof *keys, cmp_key);
    size_t kept = 0;
    for (size_t i = 0; i < *n && st == DSP_OK; i++) {
        char *k = row_key(train, rows[i], &a, err, &st);
        if (st != DSP_OK)
            break;
        if (n_val && bsearch(&k, keys, n_val, sizeof *keys, cmp_key)) {
            if (!out->n_dropped++)
                out->first_line = train->rows[rows[i]].line;
            continue;
        }
        rows[kept++] = rows[i];
    }
    if (st == DSP_OK)
        *n = kept;
    arena_free(&a);
    return st;
}
