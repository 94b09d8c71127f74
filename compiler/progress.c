/* progress.c — a one-line progress bar on stderr, drawn only when stderr
 * is a terminal so logs and pipes stay clean. */
#include "exec.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ex_progress_init(ex_progress *pg, const char *label)
{
    memset(pg, 0, sizeof *pg);
    pg->label = label;
    pg->enabled = isatty(STDERR_FILENO) == 1;
    pg->started = now();
}

void ex_progress_update(void *ctx, size_t done, size_t total, double mean_so_far)
{
    ex_progress *pg = ctx;
    if (!pg->enabled || total == 0)
        return;
    /* Redraw at most ~100 times a run: a terminal write per example would
     * slow a fast, cached evaluation. */
    if (done != total && done * 100 / total == pg->last_drawn * 100 / total)
        return;
    pg->last_drawn = done;
    enum { WIDTH = 30 };
    size_t fill = done * WIDTH / total;
    char bar[WIDTH + 1];
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double el = now() - pg->started;
    fprintf(stderr, "\r%s [%s] %zu/%zu  score %.3f  %.1fs", pg->label ? pg->label : "", bar, done, total,
            mean_so_far, el);
    fflush(stderr);
}

void ex_progress_done(ex_progress *pg)
{
    if (pg->enabled && pg->last_drawn) {
        fputc('\n', stderr);
        fflush(stderr);
    }
}
