/* dsp/batch.h — running n independent jobs on a pool of threads: the one
 * implementation behind dsp_chat_batch and every generated NAME_run_batch.
 * How many LM requests are in flight at once is the client's to bound
 * (dsp_client_options.max_in_flight); this bounds the threads. */
#ifndef DSP_BATCH_H
#define DSP_BATCH_H

#include <stddef.h>

/* One job: returns 0 on success, else a status (dsp_status or the caller's). */
typedef int (*dsp_each_fn)(void *ctx, size_t i);

/* Runs fn(ctx, i) for every i in [0, n), on up to max_threads threads at
 * once (<= 0: 8), never more threads than jobs; the calling thread is one
 * of them, so a thread that cannot be created only slows the batch down.
 * Each i runs exactly once. Returns 0 when every job returned 0, else the
 * return of the failed job with the lowest i. */
int dsp_run_each(size_t n, int max_threads, dsp_each_fn fn, void *ctx);

#endif
