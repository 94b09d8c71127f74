/* dsp/batch.h — running n independent jobs: on a pool of threads, or on
 * one thread's event loop (behind dsp_chat_batch and every generated
 * NAME_run_batch). How many LM requests are in flight at once is the
 * client's to bound (dsp_client_options.max_in_flight); these bound the
 * jobs under way. */
#ifndef DSP_BATCH_H
#define DSP_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/client.h"
#include "dsp/error.h"

/* One job: returns 0 on success, else a status (dsp_status or the caller's). */
typedef int (*dsp_each_fn)(void *ctx, size_t i);

/* Runs fn(ctx, i) for every i in [0, n), on up to max_threads threads at
 * once (<= 0: 8), never more threads than jobs; the calling thread is one
 * of them, so a thread that cannot be created only slows the batch down.
 * Each i runs exactly once. Returns 0 when every job returned 0, else the
 * return of the failed job with the lowest i. */
int dsp_run_each(size_t n, int max_threads, dsp_each_fn fn, void *ctx);

/* One example of a program: NAME_run's body in a generated file, with the
 * example's index in the batch (for traces; -1 for a single call). */
typedef int (*dsp_run_fn)(dsp_client *client, const void *in, void *out, dsp_error *err, int64_t example);

/* A generated NAME_run_batch: run(client, &in[i], &out[i], ...) for every i
 * in [0, n) on the calling thread's event loop (dsp_loop_run_each), max_threads
 * of them under way at once (in_size and out_size are the sizes of
 * one input and one output struct). statuses[i] (when not NULL) gets each
 * run's status and errs[i] (when not NULL) its error. Then the client's
 * cache is flushed, so the batch's replies survive a kill from there. A
 * NULL client, or NULL in or out with n > 0, is DSP_ERR_INVALID in errs[0]
 * naming `name`. Returns dsp_loop_run_each's status. */
int dsp_run_batch(dsp_client *client, const char *name, dsp_run_fn run, const void *in, size_t in_size, void *out,
                  size_t out_size, size_t n, int *statuses, dsp_error *errs, int max_threads);

/* Runs fn(ctx, i) for every i in [0, n) with up to max_jobs (<= 0: 8) of
 * them under way at once, all on the calling thread: each job runs as a
 * fiber with a stack of its own, and while one waits for the LM (a
 * request, a backoff, a free request slot) the others run. All their
 * requests go through one libcurl multi handle (docs/runtime.md, "The
 * event loop"). Thousands of LM calls can so be in flight on one thread
 * at a small, flat cost each: what the job's stack touches plus libcurl's
 * transfer. Jobs must not block the thread for long themselves (a tool
 * that sleeps or waits on the network holds up every other job), nor keep
 * a lock while calling the LM. A job that runs a batch of its own (a
 * dsp_chat_batch inside a module) adds its jobs to the same loop. Each i
 * runs exactly once; returns as dsp_run_each does. */
int dsp_loop_run_each(size_t n, int max_jobs, dsp_each_fn fn, void *ctx);

#endif
