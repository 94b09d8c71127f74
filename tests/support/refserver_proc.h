/* refserver_proc.h — starting and stopping $BUILD/dsp-refserver (the
 * reference LM test fixture) from C tests, on a free port of 127.0.0.1. */
#ifndef TESTS_REFSERVER_PROC_H
#define TESTS_REFSERVER_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct rs_proc {
    pid_t pid;     /* 0: not running */
    unsigned port;
} rs_proc;

/* Writes the fixture's path ($BUILD, default "build", + /dsp-refserver)
 * into bin; returns whether it is there to run, so tests can skip. */
bool rs_proc_binary(char *bin, size_t size);

/* Starts the fixture with `--port 0` and the NULL-terminated extra
 * arguments (may be NULL) and reads the port it prints first. On failure
 * nothing is left running and *s is zeroed. The child dies with the test
 * (PR_SET_PDEATHSIG), so a crashed test leaves no server behind. */
bool rs_proc_start(rs_proc *s, const char *const *extra);

/* Sends SIGTERM and waits up to max_ms for it to exit, then kills it.
 * Returns its exit status, or -1 if it did not exit by itself cleanly
 * (killed or ended by a signal); *took_ms (may be NULL) is how long the
 * clean exit took. Always reaps it; s->pid becomes 0. */
int rs_proc_stop(rs_proc *s, int max_ms, int *took_ms);

/* "http://127.0.0.1:PORT/v1", the base URL OpenAI-style clients take. */
void rs_proc_base_url(const rs_proc *s, char *url, size_t size);

/* In a cmocka test: skips it when the fixture is not built; bin (a char
 * array) gets the fixture's path either way. */
#define RS_PROC_NEED(bin)                                          \
    do {                                                           \
        if (!rs_proc_binary(bin, sizeof bin)) {                    \
            print_message("%s not built: skipped\n", bin);         \
            skip();                                                \
        }                                                          \
    } while (0)

#endif
