/* eval.c — evaluates a configuration over rows of a data set, N examples
 * under way at once as jobs of the calling thread's event loop
 * (dsp_loop_run_each_stack): while one waits for the LM, the others run,
 * and thousands of requests in flight cost no thread each. Each example's
 * outcome lands in its own slot, so the results are in the order of the
 * indices whatever the scheduling; a failed example scores 0 and is
 * counted, never stops the run. */
#include "interp_int.h"

#include "dsp/batch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct eval_job {
    const ex_runner *r;
    const ex_config *cfg;
    const ex_dataset *d;
    const ex_eval_options *o;
    ex_eval_result *out;
    size_t done; /* the jobs share one thread: no lock */
    double sum;
} eval_job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An example's stack: the interpreter's frames and whatever the program's
 * C tools use, as much as a thread would have (reserved, not committed). */
#define EX_JOB_STACK (8u << 20)

static int run_one(void *arg, size_t i)
{
    eval_job *j = arg;
    ex_result *res = &j->out->results[i];
    double t0 = now();
    ex_run(j->r, j->cfg, j->d, j->out->rows[i], res);
    res->seconds = now() - t0;
    if (!j->o->keep_outputs && res->outputs) {
        dsp_values_free(res->outputs, res->n_outputs);
        free(res->outputs);
        res->outputs = NULL;
    }
    if (!j->o->keep_traces)
        ex_trace_free(&res->trace);
    j->done++;
    j->sum += res->score;
    if (j->o->progress)
        j->o->progress(j->o->progress_ctx, j->done, j->out->n, j->sum / (double)j->done);
    return 0;
}

dsp_status ex_evaluate(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *o,
                       ex_eval_result *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    ex_eval_options defaults = ex_eval_options_default();
    if (!o)
        o = &defaults;
    size_t n = o->indices ? o->n_indices : d->n_rows;
    for (size_t i = 0; o->indices && i < n; i++)
        if (o->indices[i] >= d->n_rows)
            return dsp_error_set(err, DSP_ERR_INVALID, "row %zu is out of range (the data set has %zu)", o->indices[i],
                                 d->n_rows);
    out->results = calloc(n + 1, sizeof *out->results);
    out->rows = calloc(n + 1, sizeof *out->rows);
    if (!out->results || !out->rows) {
        ex_eval_result_free(out);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    }
    out->n = n;
    for (size_t i = 0; i < n; i++)
        out->rows[i] = o->indices ? o->indices[i] : i;
    double t0 = now();
    eval_job j = { r, cfg, d, o, out, 0, 0 };
    /* Run from a job of a loop already (an optimizer's tasks at once), the
     * examples join that loop. */
    (void)dsp_loop_run_each_stack(n, o->concurrency > 0 ? o->concurrency : 8, EX_JOB_STACK, run_one, &j);
    /* Every evaluation is a phase (eval's run, each optimizer trial, a
     * bootstrap round): its replies become durable here, so a kill in the
     * next phase keeps them (the cache would otherwise hold up to a
     * flush's worth of rows in memory until the 1 s timer or the client's
     * end). A failed flush costs only a later cache miss. */
    (void)dsp_client_flush(r->client, NULL);
    for (size_t i = 0; i < n; i++) {
        const ex_result *res = &out->results[i];
        out->n_failed += res->status != DSP_OK;
        out->usage.lm_calls += res->usage.lm_calls;
        out->usage.cache_hits += res->usage.cache_hits;
        out->usage.prompt_tokens += res->usage.prompt_tokens;
        out->usage.completion_tokens += res->usage.completion_tokens;
    }
    ex_eval_score(r->metric, out);
    out->seconds = now() - t0;
    return DSP_OK;
}

void ex_eval_score(const ir_metric *metric, ex_eval_result *res)
{
    double sum = 0;
    for (size_t i = 0; i < res->n; i++)
        sum += res->results[i].score;
    res->mean = res->n ? sum / (double)res->n : 0;
    memset(&res->counts, 0, sizeof res->counts);
    /* `average: micro`: the metric over every example's items pooled, as
     * seqeval and the WNUT shared tasks score spans (an example without
     * entities then adds nothing, where its own score would be 1). */
    if (metric && metric->expr->micro) {
        ex_item_counts *t = &res->counts;
        t->counted = true;
        for (size_t i = 0; i < res->n; i++) {
            t->matched += res->results[i].counts.matched;
            t->predicted += res->results[i].counts.predicted;
            t->gold += res->results[i].counts.gold;
        }
        res->mean = ex_micro_score(metric->expr->s, t);
    }
}

double ex_micro_score(const char *fn, const ex_item_counts *t)
{
    if (t->predicted == 0 || t->gold == 0) /* as set_f1 scores one example */
        return t->predicted == t->gold ? 1.0 : 0.0;
    double p = (double)t->matched / (double)t->predicted, rec = (double)t->matched / (double)t->gold;
    if (strcmp(fn, "set_precision") == 0)
        return p;
    if (strcmp(fn, "set_recall") == 0)
        return rec;
    return t->matched ? 2 * p * rec / (p + rec) : 0.0;
}

void ex_eval_result_free(ex_eval_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; res->results && i < res->n; i++)
        ex_result_free(&res->results[i]);
    free(res->results);
    free(res->rows);
    memset(res, 0, sizeof *res);
}
