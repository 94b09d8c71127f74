/* dsp/program.h — a generated program described as data, and the ways to
 * run it. A generated file holds one `static const dsp_program`: how its
 * typed input becomes values, its module function, how values become its
 * typed output and how that is freed. Its NAME_run, NAME_run_stream,
 * NAME_run_shadow and NAME_run_batch are one call each of the functions
 * below, so their logic (the argument checks, the module's trace span,
 * streaming, shadow comparison, batching) has one tested implementation
 * here (tests/runtime/test_program.c) instead of a copy in every file, as
 * nanopb's descriptors serve its generated messages. Application code
 * calls the generated functions, not these. */
#ifndef DSP_PROGRAM_H
#define DSP_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/client.h"
#include "dsp/error.h"
#include "dsp/predict.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsp_program {
    const char *name;            /* the generated prefix, for messages: "ticket_classifier" */
    const char *module;          /* the module, for traces: "TicketClassifier" */
    size_t n_params, n_results;  /* the module's, each at least 1 for results */
    size_t in_size, out_size;    /* sizeof the typed input and output structs */
    /* The typed input *in as values args[0..n_params), zeroed on entry;
     * the caller frees them, also after a failure. */
    dsp_status (*args)(const void *in, dsp_value *args, dsp_error *err);
    /* The module: args in, results res[0..n_results) out (empty on failure). */
    dsp_status (*run)(dsp_client *client, const dsp_value *args, dsp_value *res, dsp_error *err);
    /* res as the typed output *out, zeroed on entry; on failure *out may
     * hold part of it, which free_output releases. */
    dsp_status (*output)(const dsp_value *res, void *out, dsp_error *err);
    void (*free_output)(void *out);
    /* Per result, whether shadow mode compares it (dsp_program_run_shadow). */
    const unsigned char *decides;
} dsp_program;

/* NAME_run: fills *out (zeroed first) and returns 0, or returns a
 * dsp_status with *out empty and err filled. example is the index in a
 * batch, for traces (-1: a single call). */
int dsp_program_run(const dsp_program *p, dsp_client *client, const void *in, void *out, dsp_error *err,
                    int64_t example);

/* NAME_run_stream: as dsp_program_run, with cb told of each output field
 * as it arrives (dsp_stream_use around the one run). */
int dsp_program_run_stream(const dsp_program *p, dsp_client *client, const void *in, const dsp_stream_callbacks *cb,
                           void *out, dsp_error *err);

/* Shadow mode's report of a disagreement: shadow is the shadow's typed
 * output, or NULL when it failed (shadow_err says why). */
typedef void (*dsp_disagree_fn)(void *ctx, const void *in, const void *primary, const void *shadow,
                                const dsp_error *shadow_err);

/* NAME_run_shadow: runs p on client and, when the primary succeeded, on
 * shadow for the same input; returns the primary's result as
 * dsp_program_run does. The two runs agree when the results p->decides
 * marks are equal as values (dsp_value_equal: lists, records and maps
 * whole). A disagreement, the shadow's failure included, is reported to
 * on_disagree (may be NULL) and never fails the call. *agreed (may be
 * NULL) is 1 when both ran and agree, else 0. A NULL shadow is a plain run. */
int dsp_program_run_shadow(const dsp_program *p, dsp_client *client, const void *in, void *out, dsp_client *shadow,
                           dsp_disagree_fn on_disagree, void *ctx, int *agreed, dsp_error *err);

/* NAME_run_batch: dsp_program_run on in[i] into out[i] (structs of
 * p->in_size and p->out_size bytes) for every i in [0, n), on the calling
 * thread's event loop with up to max_threads under way (dsp_loop_run_each
 * in dsp/batch.h); statuses and errs (each NULL or n long) get every run's
 * status and error. Then the client's cache is flushed. Returns 0 when
 * all succeeded, else the status of the first failed item. */
int dsp_program_run_batch(const dsp_program *p, dsp_client *client, const void *in, size_t n, void *out,
                          int *statuses, dsp_error *errs, int max_threads);

#ifdef __cplusplus
}
#endif
#endif
