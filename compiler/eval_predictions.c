/* eval_predictions.c — `dspcc eval --predictions FILE.jsonl`: one JSON line
 * per evaluated example, in data order, with what a reviewer needs to see
 * why it scored what it did (see exec.h, ex_write_predictions). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "file_write.h"
#include "strbuf.h"

/* A value as a JSON item; a value JSON cannot carry (a NUL in a string)
 * becomes its error message, so the line still says what happened. */
static cJSON *value_item(const dsp_value *v, const dsp_type *t)
{
    char *text = NULL;
    size_t len;
    dsp_error err = { 0 };
    if (dsp_value_to_json(v, t, &text, &len, &err) != DSP_OK) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "unprintable", err.message);
        dsp_error_clear(&err);
        return e;
    }
    cJSON *item = cJSON_ParseWithLength(text, len);
    free(text);
    return item ? item : cJSON_CreateNull();
}

/* fields [from, to) of the example, those present in the row. */
static cJSON *fields_object(const ex_dataset *d, const ex_example *ex, size_t from, size_t to)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t f = from; f < to; f++)
        if (ex->present[f])
            cJSON_AddItemToObject(o, d->fields[f]->name, value_item(&ex->values[f], d->types[f]));
    return o;
}

static cJSON *line_of(const ex_dataset *d, const ex_result *r, size_t row)
{
    const ex_example *ex = &d->rows[row];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "row", (double)row);
    cJSON_AddNumberToObject(o, "line", ex->line);
    cJSON_AddItemToObject(o, "inputs", fields_object(d, ex, 0, d->n_inputs));
    cJSON_AddItemToObject(o, "gold", fields_object(d, ex, d->n_inputs, d->n_fields));
    if (r->outputs) {
        cJSON *out = cJSON_CreateObject();
        for (size_t k = 0; k < r->n_outputs && d->n_inputs + k < d->n_fields; k++)
            cJSON_AddItemToObject(out, d->fields[d->n_inputs + k]->name,
                                  value_item(&r->outputs[k], d->types[d->n_inputs + k]));
        cJSON_AddItemToObject(o, "outputs", out);
    } else {
        cJSON_AddNullToObject(o, "outputs");
    }
    cJSON_AddNumberToObject(o, "score", r->score);
    /* The metric's feedback text, when it has one (null otherwise). */
    if (r->feedback)
        cJSON_AddStringToObject(o, "feedback", r->feedback);
    else
        cJSON_AddNullToObject(o, "feedback");
    /* The feedback aimed at predictors, by the name the metric gives them. */
    if (r->n_pred_feedback) {
        cJSON *pf = cJSON_AddObjectToObject(o, "predictor_feedback");
        for (size_t k = 0; k < r->n_pred_feedback; k++)
            if (r->pred_feedback[k])
                cJSON_AddStringToObject(pf, r->pred_feedback_of[k].target, r->pred_feedback[k]);
    }
    cJSON_AddStringToObject(o, "status", dsp_status_name(r->status));
    if (r->status != DSP_OK)
        cJSON_AddStringToObject(o, "error", r->error ? r->error : "");
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddNumberToObject(o, "lm_calls", (double)r->usage.lm_calls);
    cJSON_AddNumberToObject(o, "cache_hits", (double)r->usage.cache_hits);
    /* Every call answered from the cache: the latency is not the LM's. */
    cJSON_AddBoolToObject(o, "cache_hit", r->usage.lm_calls > 0 && r->usage.cache_hits == r->usage.lm_calls);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)r->usage.prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)r->usage.completion_tokens);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    return o;
}

int ex_write_predictions(const char *path, const ex_dataset *d, const ex_eval_result *res, char why[FW_WHY_MAX])
{
    strbuf b = { 0 };
    for (size_t i = 0; i < res->n; i++) {
        cJSON *o = line_of(d, &res->results[i], res->rows[i]);
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) {
            sb_free(&b);
            snprintf(why, FW_WHY_MAX, "cannot write %s: out of memory", path);
            return -1;
        }
        sb_puts(&b, s);
        sb_puts(&b, "\n");
        cJSON_free(s);
    }
    if (b.oom) {
        sb_free(&b);
        snprintf(why, FW_WHY_MAX, "cannot write %s: out of memory", path);
        return -1;
    }
    int rc = fw_write_file(path, b.p ? b.p : "", b.len, 0644, why);
    sb_free(&b);
    return rc;
}
