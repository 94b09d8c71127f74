/* bench_inflight — the generated program's batch path under load, for make
 * bench-inflight: the tickets example's generated ticket_classifier_run_batch
 * (examples/tickets/tickets.dsp, built by the bench script) on REQUESTS
 * copies of one ticket, IN_FLIGHT of them under way at once, on a client
 * with max_in_flight IN_FLIGHT and the cache off (every item is a request,
 * as in the raw loop it is compared with).
 *
 *   bench_inflight URL IN_FLIGHT REQUESTS TICKET_TEXT
 *
 * Prints one line: "wall_s W rss_kib R ok N cpu_s C retries K", as
 * bench_raw_multi does, and the requests the client sent again. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "tickets.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_inflight URL IN_FLIGHT REQUESTS TICKET_TEXT\n");
        return 2;
    }
    long in_flight = strtol(argv[2], NULL, 10), total = strtol(argv[3], NULL, 10);
    if (in_flight <= 0 || total <= 0) {
        fprintf(stderr, "bench_inflight: IN_FLIGHT and REQUESTS must be positive\n");
        return 2;
    }
    double t0 = now_s();
    dsp_client_options o = dsp_client_options_default();
    o.base_url = argv[1];
    o.no_cache = true;
    o.max_in_flight = (int)in_flight;
    dsp_client *c = NULL;
    dsp_error err = {0};
    if (dsp_client_new(&o, &c, &err) != DSP_OK) {
        fprintf(stderr, "bench_inflight: %s\n", err.message);
        return 1;
    }
    ticket_classifier_input *in = calloc((size_t)total, sizeof *in);
    ticket_classifier_output *out = calloc((size_t)total, sizeof *out);
    int *st = calloc((size_t)total, sizeof *st);
    if (!in || !out || !st) {
        fprintf(stderr, "bench_inflight: out of memory\n");
        return 1;
    }
    for (long i = 0; i < total; i++)
        in[i].ticket_text = argv[4];
    ticket_classifier_run_batch(c, in, (size_t)total, out, st, NULL, (int)in_flight);
    long ok = 0;
    for (long i = 0; i < total; i++) {
        ok += st[i] == 0;
        ticket_classifier_output_free(&out[i]);
    }
    double wall = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    /* Retries say when the fixture, not the client, made a run slow
     * (connections refused or reset under load). */
    dsp_usage_totals u = dsp_client_usage(c);
    printf("wall_s %.4f rss_kib %ld ok %ld cpu_s %.4f retries %lld\n", wall, ru.ru_maxrss, ok, cpu,
           (long long)u.retries);
    free(in);
    free(out);
    free(st);
    dsp_client_free(c);
    return ok == total ? 0 : 1;
}
