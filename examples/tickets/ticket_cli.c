/* ticket_cli — classifies support tickets with the generated program.
 *
 * Reads one ticket per line on stdin and prints one category per line on
 * stdout, in order. A line that fails prints an empty line on stdout and
 * the reason on stderr; the exit status is 1 if any line failed.
 *
 * The LM comes from tickets.dsp (baked into tickets.c); DSPCC_BASE_URL
 * points it at another OpenAI-compatible endpoint, and the key is read
 * from the environment variable the lm declaration names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The generated header brings dsp_client and dsp_error (dsp/client.h), or
 * carries them itself when built with --embed-runtime. */
#include "tickets.h"

int main(void)
{
    size_t n = 0, cap = 0;
    char **lines = NULL;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    while ((got = getline(&line, &lcap, stdin)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(lines, cap * sizeof *p);
            if (!p) {
                fputs("ticket_cli: out of memory\n", stderr);
                return 1;
            }
            lines = p;
        }
        lines[n] = malloc((size_t)got + 1);
        if (!lines[n]) {
            fputs("ticket_cli: out of memory\n", stderr);
            return 1;
        }
        memcpy(lines[n], line, (size_t)got + 1);
        n++;
    }
    free(line);

    dsp_error err = {0};
    dsp_client *client = NULL;
    dsp_client_options opts = dsp_client_options_default();
    if (dsp_client_new(&opts, &client, &err) != DSP_OK) {
        fprintf(stderr, "ticket_cli: %s\n", err.message);
        return 1;
    }
    ticket_classifier_input *in = calloc(n ? n : 1, sizeof *in);
    ticket_classifier_output *out = calloc(n ? n : 1, sizeof *out);
    int *statuses = calloc(n ? n : 1, sizeof *statuses);
    dsp_error *errs = calloc(n ? n : 1, sizeof *errs);
    if (!in || !out || !statuses || !errs) {
        fputs("ticket_cli: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n; i++) in[i].ticket_text = lines[i];
    ticket_classifier_run_batch(client, in, n, out, statuses, errs, 8);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (statuses[i] == 0) {
            printf("%s\n", ticket_classifier_category_names[out[i].category]);
        } else {
            printf("\n");
            fprintf(stderr, "ticket_cli: line %zu: %s\n", i + 1, errs[i].message);
            failed = 1;
        }
        ticket_classifier_output_free(&out[i]);
        dsp_error_clear(&errs[i]);
        free(lines[i]);
    }
    free(lines);
    free(in);
    free(out);
    free(statuses);
    free(errs);
    dsp_client_free(client);
    return failed;
}
