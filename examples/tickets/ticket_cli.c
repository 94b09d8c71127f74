/* ticket_cli — classifies support tickets with the generated program.
 *
 * Reads one ticket per line on stdin and prints one category per line on
 * stdout, in order. A line that fails prints an empty line on stdout and
 * the reason on stderr; the exit status is 1 if any line failed.
 *
 * The LM comes from tickets.dsp (baked into tickets.c); DSPCC_BASE_URL
 * points it at another OpenAI-compatible endpoint, and the key is read
 * from the environment variable the lm declaration names.
 *
 *   --verify-adapters DIR  first re-hash the LoRA adapters the program was
 *                          built with (paths relative to DIR, the .dsp's
 *                          directory as deployed); exit 1 if one is missing
 *                          or changed
 *   --shadow               shadow mode (a program built with dspcc build
 *                          --shadow-state): every ticket also runs on the
 *                          shadow variant (e.g. the fine-tuned student);
 *                          stdout stays the primary's answers, each
 *                          disagreement goes to stderr, and the agreement
 *                          rate is printed at the end (stderr) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The generated header brings dsp_client and dsp_error (dsp/client.h), or
 * carries them itself when built with --embed-runtime. */
#include "tickets.h"

typedef struct shadow_stats {
    size_t compared, agreed; /* inputs the primary answered, and of them those the shadow agreed on */
    size_t line;
} shadow_stats;

static void on_disagree(void *ctx, const ticket_classifier_input *in, const ticket_classifier_output *primary,
                        const ticket_classifier_output *shadow, const dsp_error *shadow_err)
{
    shadow_stats *s = ctx;
    (void)in;
    if (shadow)
        fprintf(stderr, "ticket_cli: shadow: line %zu: primary %s, shadow %s\n", s->line,
                ticket_classifier_category_names[primary->category], ticket_classifier_category_names[shadow->category]);
    else
        fprintf(stderr, "ticket_cli: shadow: line %zu: primary %s, shadow failed: %s\n", s->line,
                ticket_classifier_category_names[primary->category], shadow_err->message);
}

int main(int argc, char **argv)
{
    const char *verify_dir = NULL;
    int shadow_mode = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verify-adapters") == 0 && i + 1 < argc) {
            verify_dir = argv[++i];
        } else if (strcmp(argv[i], "--shadow") == 0) {
            shadow_mode = 1;
        } else {
            fprintf(stderr, "usage: ticket_cli [--verify-adapters DIR] [--shadow] < tickets.txt\n");
            return 2;
        }
    }
#ifndef TICKET_CLASSIFIER_HAS_SHADOW
    if (shadow_mode) {
        fputs("ticket_cli: --shadow needs a program built with dspcc build --shadow-state STATE\n", stderr);
        return 2;
    }
#endif
    if (verify_dir) {
        dsp_error verr = {0};
        if (ticket_classifier_verify_adapters(verify_dir, &verr) != 0) {
            fprintf(stderr, "ticket_cli: %s\n", verr.message);
            dsp_error_clear(&verr);
            return 1;
        }
    }
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
    dsp_client *shadow = NULL;
    shadow_stats stats = {0, 0, 0};
    if (shadow_mode) {
#ifdef TICKET_CLASSIFIER_HAS_SHADOW
        dsp_client_options so = dsp_client_options_default();
        so.variant = ticket_classifier_shadow_variant;
        so.n_variant = TICKET_CLASSIFIER_N_PREDICTORS;
        if (dsp_client_new(&so, &shadow, &err) != DSP_OK) {
            fprintf(stderr, "ticket_cli: %s\n", err.message);
            return 1;
        }
#endif
        for (size_t i = 0; i < n; i++) {
            stats.line = i + 1;
            int agreed = 0;
            statuses[i] = ticket_classifier_run_shadow(client, &in[i], &out[i], shadow, on_disagree, &stats, &agreed,
                                                       &errs[i]);
            stats.compared += statuses[i] == 0;
            stats.agreed += (size_t)agreed;
        }
    } else {
        ticket_classifier_run_batch(client, in, n, out, statuses, errs, 8);
    }
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
    if (shadow_mode)
        fprintf(stderr, "ticket_cli: shadow: agreed on %zu of %zu tickets (%.1f%%)\n", stats.agreed, stats.compared,
                stats.compared ? 100.0 * (double)stats.agreed / (double)stats.compared : 100.0);
    dsp_client_free(shadow);
    free(lines);
    free(in);
    free(out);
    free(statuses);
    free(errs);
    dsp_client_free(client);
    return failed;
}
