/* program.c — running a generated program from its descriptor
 * (dsp/program.h): one run, a stream, shadow mode and batches. */
#include "dsp/program.h"

#include <stdlib.h>
#include <string.h>

#include "dsp/batch.h"
#include "dsp/glue.h"
#include "dsp/trace.h"

/* Argument and result arrays live on the stack up to this many values, on
 * the heap beyond: a batch runs each item on a small fiber stack whose
 * touched pages stay resident while it waits (dsp/batch.h). */
enum { LOCAL_VALUES = 4 };

typedef struct values {
    dsp_value local[LOCAL_VALUES];
    dsp_value *v;
    size_t n;
} values;

static dsp_status values_init(values *vs, size_t n, dsp_error *err)
{
    vs->n = n;
    vs->v = n <= LOCAL_VALUES ? vs->local : calloc(n, sizeof *vs->v);
    if (!vs->v) return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    memset(vs->v, 0, n * sizeof *vs->v);
    return DSP_OK;
}

static void values_free(values *vs)
{
    if (!vs->v) return;
    dsp_values_free(vs->v, vs->n);
    if (vs->v != vs->local) free(vs->v);
    vs->v = NULL;
}

/* The module on *in, its results in res (initialized here; the caller
 * frees them), inside the module's trace span. */
static dsp_status exec(const dsp_program *p, dsp_client *client, const void *in, values *res, dsp_error *err,
                       int64_t example)
{
    values args;
    dsp_status st = values_init(res, p->n_results, err);
    if (st != DSP_OK) return st;
    st = values_init(&args, p->n_params, err);
    if (st != DSP_OK) return st;
    st = p->args(in, args.v, err);
    dsp_span span;
    dsp_trace_module_begin(client, p->module, example, &span);
    if (st == DSP_OK) st = p->run(client, args.v, res->v, err);
    dsp_trace_module_end(&span, st, err);
    values_free(&args);
    return st;
}

/* res as the typed *out; *out is left empty on failure. */
static dsp_status output(const dsp_program *p, const values *res, void *out, dsp_error *err)
{
    memset(out, 0, p->out_size);
    dsp_status st = p->output(res->v, out, err);
    if (st != DSP_OK) p->free_output(out);
    return st;
}

int dsp_program_run(const dsp_program *p, dsp_client *client, const void *in, void *out, dsp_error *err,
                    int64_t example)
{
    /* err says what this run did, and nothing of an earlier one: a run
     * that succeeds without a predictor call (C tools only) would leave an
     * earlier failure in it, one refused at once the earlier raw reply. */
    dsp_error_clear(err);
    if (!client || !in || !out)
        return (int)dsp_error_set(err, DSP_ERR_INVALID, "%s_run: client, in and out must not be NULL", p->name);
    memset(out, 0, p->out_size);
    values res = {0};
    dsp_status st = exec(p, client, in, &res, err, example);
    if (st == DSP_OK) st = output(p, &res, out, err);
    values_free(&res);
    return (int)st;
}

int dsp_program_run_stream(const dsp_program *p, dsp_client *client, const void *in, const dsp_stream_callbacks *cb,
                           void *out, dsp_error *err)
{
    const dsp_stream_callbacks *was = dsp_stream_use(cb);
    int st = dsp_program_run(p, client, in, out, err, -1);
    (void)dsp_stream_use(was);
    return st;
}

int dsp_program_run_shadow(const dsp_program *p, dsp_client *client, const void *in, void *out, dsp_client *shadow,
                           dsp_disagree_fn on_disagree, void *ctx, int *agreed, dsp_error *err)
{
    if (agreed) *agreed = 0;
    if (!shadow) return dsp_program_run(p, client, in, out, err, -1);
    dsp_error_clear(err); /* as dsp_program_run */
    if (!client || !in || !out)
        return (int)dsp_error_set(err, DSP_ERR_INVALID, "%s_run_shadow: client, in and out must not be NULL",
                                  p->name);
    memset(out, 0, p->out_size);
    values res = {0}, sres = {0};
    dsp_status st = exec(p, client, in, &res, err, -1);
    if (st == DSP_OK) st = output(p, &res, out, err);
    if (st == DSP_OK) {
        dsp_error serr = {0};
        dsp_status sst = exec(p, shadow, in, &sres, &serr, -1);
        int same = sst == DSP_OK && dsp_glue_agree(res.v, sres.v, p->decides, p->n_results);
        if (agreed) *agreed = same;
        if (!same) {
            /* Only a disagreement needs the shadow's output as a struct. */
            void *s = sst == DSP_OK ? calloc(1, p->out_size) : NULL;
            if (sst == DSP_OK && !s) sst = dsp_error_set(&serr, DSP_ERR_NOMEM, "out of memory");
            if (s && sst == DSP_OK) sst = output(p, &sres, s, &serr);
            if (on_disagree) on_disagree(ctx, in, out, sst == DSP_OK ? s : NULL, &serr);
            if (s) {
                p->free_output(s);
                free(s);
            }
        }
        dsp_error_clear(&serr);
    }
    values_free(&res);
    values_free(&sres);
    return (int)st;
}

typedef struct program_batch {
    const dsp_program *p;
    dsp_client *client;
    const char *in;
    char *out;
    int *statuses;
    dsp_error *errs;
} program_batch;

static int batch_item(void *arg, size_t i)
{
    const program_batch *b = arg;
    /* Without errs, the item's error goes to the heap: the item runs on a
     * fiber whose stack pages stay resident while it waits. */
    dsp_error *local = b->errs ? NULL : calloc(1, sizeof *local);
    dsp_error *e = b->errs ? &b->errs[i] : local;
    /* errs[i] is an output, overwritten and never read: an array the caller
     * left uninitialized (`dsp_error errs[n];`) must not have its garbage
     * `raw` freed by its first predictor call. */
    if (b->errs)
        memset(e, 0, sizeof *e);
    int s = dsp_program_run(b->p, b->client, b->in + i * b->p->in_size, b->out + i * b->p->out_size, e, (int64_t)i);
    if (local) {
        dsp_error_clear(local);
        free(local);
    }
    if (b->statuses) b->statuses[i] = s;
    return s;
}

int dsp_program_run_batch(const dsp_program *p, dsp_client *client, const void *in, size_t n, void *out,
                          int *statuses, dsp_error *errs, int max_threads)
{
    if (!client || (n && (!in || !out)))
        return (int)dsp_error_set(errs, DSP_ERR_INVALID, "%s_run_batch: client, in and out must not be NULL",
                                  p->name);
    program_batch b = {p, client, in, out, statuses, errs};
    int rc = dsp_loop_run_each(n, max_threads, batch_item, &b);
    (void)dsp_client_flush(client, NULL); /* the batch's replies survive a kill from here */
    return rc;
}
