/* ensemble.c — members of one predictor voting on an output (dsp/ensemble.h). */
#include "dsp/ensemble.h"

#include "dsp/sample.h"

#include "client_settings.h"
#include "error_context.h"

#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

size_t dsp_ensemble_choose(const dsp_ensemble *e, const dsp_signature *sig, const dsp_value *inputs, size_t *idx,
                           dsp_error *err)
{
    for (size_t i = 0; i < e->n; i++)
        idx[i] = i;
    if (e->size == 0 || e->size >= e->n)
        return e->n;
    /* FNV-1a over the inputs as the prompt writes them (each ended by a
     * NUL, so "a","bc" and "ab","c" differ), mixed with the seed: the
     * draw depends on nothing else (not on memory, threads or time). */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < sig->n_inputs; i++) {
        char *text = NULL;
        size_t len = 0;
        if (dsp_value_format(&inputs[i], sig->inputs[i].type, &text, &len, err) != DSP_OK)
            return 0;
        for (size_t j = 0; j <= len; j++) {
            h ^= j < len ? (unsigned char)text[j] : 0;
            h *= 0x100000001b3ULL;
        }
        free(text);
    }
    uint64_t r = splitmix(h ^ splitmix(e->seed));
    /* The first `size` of a Fisher-Yates shuffle, then in member order. */
    for (size_t i = 0; i < e->size; i++) {
        r = splitmix(r);
        size_t j = i + (size_t)(r % (e->n - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    for (size_t i = 1; i < e->size; i++)
        for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return e->size;
}

dsp_status dsp_ensemble_run(dsp_client *c, const dsp_predictor *p, const dsp_ensemble *e, const dsp_value *inputs,
                            dsp_value *outputs, dsp_predict_trace *traces, dsp_error *err)
{
    if (!p || !p->signature || !e || (e->n && !e->members))
        return dsp_error_set(err, DSP_ERR_INVALID, "ensemble: a predictor and an ensemble are required");
    /* A client's variant of p (shadow mode) runs its own ensemble, or
     * plainly when it has none: e's members are p's. */
    const dsp_predictor *v = dsp_client_predictor(c, p);
    if (v != p) {
        p = v;
        e = e->shadow;
    }
    if (!e || e->n == 0)
        return dsp_predict_ex(c, p, NULL, inputs, outputs, traces, err);
    size_t n_out = dsp_strategy_n_outputs(p->signature, p->strategy);
    if (e->field >= n_out)
        return dsp_error_set(err, DSP_ERR_INVALID, "ensemble of %s: no output %zu", p->name ? p->name : "?",
                             e->field);
    const dsp_field *f = dsp_strategy_output(p->signature, p->strategy, e->field);
    dsp_value *rows = calloc(e->n * n_out + 1, sizeof *rows);
    char **texts = calloc(e->n + 1, sizeof *texts);
    size_t *idx = calloc(e->n + 1, sizeof *idx), m = 0;
    dsp_status st = rows && texts && idx ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    if (st == DSP_OK && (m = dsp_ensemble_choose(e, p->signature, inputs, idx, err)) == 0)
        st = err && err->status != DSP_OK ? err->status : DSP_ERR_INVALID;
    for (size_t j = 0; st == DSP_OK && j < m; j++) {
        size_t i = idx[j];
        st = dsp_predict_ex(c, p, &e->members[i], inputs, &rows[j * n_out], traces ? &traces[i] : NULL, err);
        if (st != DSP_OK)
            dsp_error_prefix(err, st, "ensemble member %zu of %zu", i + 1, e->n);
        else
            st = dsp_value_format(&rows[j * n_out + e->field], f->type, &texts[j], NULL, err);
    }
    if (st == DSP_OK) {
        size_t best = dsp_majority_index((const char *const *)texts, m);
        /* Hand over the chosen member's values. */
        memcpy(outputs, &rows[best * n_out], n_out * sizeof *outputs);
        memset(&rows[best * n_out], 0, n_out * sizeof *rows);
    }
    for (size_t j = 0; rows && texts && j < m; j++) {
        dsp_values_free(&rows[j * n_out], n_out);
        free(texts[j]);
    }
    free(rows);
    free(texts);
    free(idx);
    return st;
}
