/* opt_parallel.c — independent tasks of an optimizer phase (demo sets,
 * instruction proposals, a final rescoring) at once, as jobs of the calling
 * thread's event loop (dsp/batch.h): a task's evaluations join the same
 * loop, so one thread keeps every request of the phase in flight. Each
 * task writes only its own slot and arena, so the results are the same
 * whichever finishes first. opt_evaluate_all scores several programs on
 * the same rows the same way. */
#include <stdlib.h>
#include <string.h>

#include "dsp/batch.h"
#include "opt.h"

typedef struct par_job {
    opt_task_fn fn;
    void *ctx;
    arena *arenas;
    dsp_error *errs;
    dsp_status *sts;
} par_job;

static int par_item(void *arg, size_t i)
{
    par_job *j = arg;
    j->sts[i] = j->fn(j->ctx, i, &j->arenas[i], &j->errs[i]);
    return (int)j->sts[i];
}

dsp_status opt_parallel(const opt_backend *b, arena *a, size_t n, opt_task_fn fn, void *ctx, dsp_error *err)
{
    if (n == 0)
        return DSP_OK;
    par_job j = { fn, ctx, calloc(n, sizeof *j.arenas), calloc(n, sizeof *j.errs), calloc(n, sizeof *j.sts) };
    if (!j.arenas || !j.errs || !j.sts) {
        free(j.arenas);
        free(j.errs);
        free(j.sts);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory starting %zu optimizer tasks", n);
    }
    for (size_t i = 0; i < n; i++)
        arena_init(&j.arenas[i]);
    int threads = b->max_parallel > 1 ? b->max_parallel : 1;
    if (threads == 1) {
        /* One at a time stops at the first failure, as a loop would. */
        for (size_t i = 0; i < n && par_item(&j, i) == 0; i++)
            ;
    } else {
        /* A task runs the interpreter (and the program's C tools): a
         * stack as large as a thread's, of which it touches a little. */
        (void)dsp_loop_run_each_stack(n, threads, (size_t)8 << 20, par_item, &j);
    }
    dsp_status st = DSP_OK;
    for (size_t i = 0; i < n; i++) {
        if (st == DSP_OK && j.sts[i] != DSP_OK) {
            st = j.sts[i];
            if (err) {
                /* The first failure by index, its raw reply and all. */
                dsp_error_clear(err);
                *err = j.errs[i];
                memset(&j.errs[i], 0, sizeof j.errs[i]);
            }
        }
        dsp_error_clear(&j.errs[i]);
        arena_adopt(a, &j.arenas[i]);
    }
    free(j.arenas);
    free(j.errs);
    free(j.sts);
    return st;
}

dsp_status opt_evaluate_all(const opt_backend *b, const opt_program *progs, size_t k, const size_t *rows, size_t n,
                            opt_score *outs, dsp_error *err)
{
    if (k == 0)
        return DSP_OK;
    if (b->evaluate_many && k > 1)
        return b->evaluate_many(b->ctx, progs, k, rows, n, outs, err);
    dsp_status st = DSP_OK;
    for (size_t i = 0; st == DSP_OK && i < k; i++)
        st = b->evaluate(b->ctx, &progs[i], rows, n, &outs[i], err);
    return st;
}
