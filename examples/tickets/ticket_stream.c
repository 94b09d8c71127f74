/* ticket_stream — classifies support tickets, printing the reasoning as
 * the LM writes it.
 *
 * Reads one ticket per line on stdin. For each it runs the generated
 * ticket_classifier_run_stream, which hands on the text of each output
 * field as it arrives: the reasoning is printed piece by piece on a
 * "reasoning: " line while the reply streams in, then the category once
 * the reply is whole:
 *
 *   reasoning: The customer was charged twice, a payment matter.
 *   category: billing
 *
 * A failed ticket prints its reason on stderr; the exit status is then 1.
 * A reply from the cache is replayed through the same callbacks (in one
 * piece). --plain prints the same lines from ticket_classifier_run, with
 * no streaming, to compare with. --pieces reports on stderr how many
 * pieces each reasoning came in.
 *
 * The LM comes from tickets.dsp; DSPCC_BASE_URL points it at another
 * endpoint, and the key is read from the variable its lm names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickets.h"
/* dsp_stream_callbacks; the header carries it already when built with
 * --embed-runtime. */
#ifndef DSP_PREDICT_H
#include "dsp/predict.h"
#endif

typedef struct printer {
    int started;    /* "reasoning: " written */
    size_t pending; /* whitespace held back: written only if more text follows */
    char held[256];
    int pieces;
} printer;

/* The section's text as it comes: leading whitespace dropped, trailing
 * whitespace held until text follows it, so the line reads as the parsed
 * value does. */
static int on_delta(void *ctx, const dsp_stream_field *f, const char *text, size_t len)
{
    printer *p = ctx;
    if (strcmp(f->name, "reasoning") != 0)
        return 0;
    p->pieces++;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (isspace(ch)) {
            if (p->started && p->pending < sizeof p->held)
                p->held[p->pending++] = ch == '\n' ? ' ' : (char)ch;
            continue;
        }
        if (!p->started) {
            fputs("reasoning: ", stdout);
            p->started = 1;
        }
        fwrite(p->held, 1, p->pending, stdout);
        p->pending = 0;
        putchar(ch);
    }
    fflush(stdout); /* a terminal shows each piece as it comes */
    return 0;
}

static int on_field(void *ctx, const dsp_stream_field *f, const dsp_value *v)
{
    printer *p = ctx;
    (void)v;
    if (strcmp(f->name, "reasoning") == 0 && p->started)
        putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    int plain = 0, pieces = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plain") == 0) {
            plain = 1;
        } else if (strcmp(argv[i], "--pieces") == 0) {
            pieces = 1;
        } else {
            fprintf(stderr, "usage: ticket_stream [--plain] [--pieces] < tickets.txt\n");
            return 2;
        }
    }
    dsp_error err = {0};
    dsp_client *client = NULL;
    dsp_client_options opts = dsp_client_options_default();
    if (dsp_client_new(&opts, &client, &err) != DSP_OK) {
        fprintf(stderr, "ticket_stream: %s\n", err.message);
        return 1;
    }
    int failed = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    for (size_t n = 1; (got = getline(&line, &cap, stdin)) >= 0; n++) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        ticket_classifier_input in = {line};
        ticket_classifier_output out;
        printer p;
        memset(&p, 0, sizeof p);
        dsp_stream_callbacks cb = {on_delta, on_field, &p};
        int st = plain ? ticket_classifier_run(client, &in, &out, &err)
                       : ticket_classifier_run_stream(client, &in, &cb, &out, &err);
        if (st != 0) {
            fprintf(stderr, "ticket_stream: line %zu: %s\n", n, err.message);
            dsp_error_clear(&err);
            failed = 1;
            continue;
        }
        if (plain)
            printf("reasoning: %s\n", out.reasoning);
        printf("category: %s\n", ticket_classifier_category_names[out.category]);
        if (pieces && !plain)
            fprintf(stderr, "ticket_stream: line %zu: the reasoning came in %d pieces\n", n, p.pieces);
        ticket_classifier_output_free(&out);
    }
    free(line);
    dsp_client_free(client);
    return failed;
}
