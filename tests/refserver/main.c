/* main.c — dsp-refserver: the reference LM server, a TEST FIXTURE.
 *
 * Prints the port on the first line of stdout, serves until SIGTERM or
 * SIGINT, then stops cleanly.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "server.h"

int main(int argc, char **argv)
{
    rs_options o;
    int rc = rs_options_parse(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;

    /* Block the stop signals in every thread (the workers inherit the
     * mask) and take them synchronously here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[256];
    rs_server *s = rs_server_start(&o, err, sizeof err);
    if (!s) {
        fprintf(stderr, "dsp-refserver: %s\n", err);
        return 1;
    }
    printf("%u\n", rs_server_port(s));
    fflush(stdout);
    fprintf(stderr,
            "dsp-refserver: TEST FIXTURE (a deterministic in-context learner, not a language model) "
            "listening on http://127.0.0.1:%u (OpenAI /v1/chat/completions, /v1/embeddings, /v1/models, /v1/files, "
            "/v1/fine_tuning/jobs; Anthropic /v1/messages)\n",
            rs_server_port(s));

    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "dsp-refserver: stopping on %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rs_server_stop(s);
    return 0;
}
