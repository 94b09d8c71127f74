/* agent_cli.c — the search agent as a plain C program: questions on stdin,
 * one a line; each answer on stdout, one a line. Links the generated
 * agent.c (dspcc build), build/libsearch.so's search() and libdsprt. The
 * LM endpoint is the program's (`lm task`), or $DSPCC_BASE_URL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int main(void)
{
    dsp_error err = {0};
    dsp_client *client = NULL;
    dsp_client_options opts = dsp_client_options_default();
    if (dsp_client_new(&opts, &client, &err) != DSP_OK) {
        fprintf(stderr, "agent_cli: %s\n", err.message);
        return 1;
    }
    char line[4096];
    int failed = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        agent_input in = {line};
        agent_output out = {0};
        if (agent_run(client, &in, &out, &err) == 0) {
            printf("%s\n", out.answer);
        } else {
            printf("\n");
            fprintf(stderr, "agent_cli: %s\n", err.message);
            failed = 1;
        }
        agent_output_free(&out);
        dsp_error_clear(&err);
    }
    dsp_client_free(client);
    return failed;
}
