/* dsp/batch.h — running n independent jobs: on a pool of threads, or on
 * one thread's event loop (behind dsp_chat_batch and every generated
 * NAME_run_batch: dsp_program_run_batch in dsp/program.h). How many LM
 * requests are in flight at once is the client's to bound
 * (dsp_client_options.max_in_flight); these bound the jobs under way. */
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

/* dsp_loop_run_each with each job's stack reserved at stack_bytes (the
 * default, 512 KiB, when smaller): for jobs that run code whose depth is
 * not known, such as an interpreter calling C tools (a thread's stack is
 * 8 MiB). Reserved, not committed: a job costs the pages it touches. The
 * batches its jobs start get stacks as large. */
int dsp_loop_run_each_stack(size_t n, int max_jobs, size_t stack_bytes, dsp_each_fn fn, void *ctx);

#endif
