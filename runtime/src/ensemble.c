/* ensemble.c — members of one predictor voting on an output (dsp/ensemble.h). */
#include "dsp/ensemble.h"

#include "dsp/sample.h"

#include "client_settings.h"
#include "error_context.h"

#include <stdlib.h>
#include <string.h>

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
    dsp_status st = rows && texts ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == DSP_OK && i < e->n; i++) {
        st = dsp_predict_ex(c, p, &e->members[i], inputs, &rows[i * n_out], traces ? &traces[i] : NULL, err);
        if (st != DSP_OK)
            dsp_error_prefix(err, st, "ensemble member %zu of %zu", i + 1, e->n);
        else
            st = dsp_value_format(&rows[i * n_out + e->field], f->type, &texts[i], NULL, err);
    }
    if (st == DSP_OK) {
        size_t best = dsp_majority_index((const char *const *)texts, e->n);
        /* Hand over the chosen member's values. */
        memcpy(outputs, &rows[best * n_out], n_out * sizeof *outputs);
        memset(&rows[best * n_out], 0, n_out * sizeof *rows);
    }
    for (size_t i = 0; rows && texts && i < e->n; i++) {
        dsp_values_free(&rows[i * n_out], n_out);
        free(texts[i]);
    }
    free(rows);
    free(texts);
    return st;
}
