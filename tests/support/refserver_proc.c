/* refserver_proc.c — the dsp-refserver process for C tests
 * (refserver_proc.h). */
#include "refserver_proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_ARGS = 32 };

bool rs_proc_binary(char *bin, size_t size)
{
    const char *build = getenv("BUILD");
    snprintf(bin, size, "%s/dsp-refserver", build && *build ? build : "build");
    return access(bin, X_OK) == 0;
}

bool rs_proc_start(rs_proc *s, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    char bin[512];
    if (!rs_proc_binary(bin, sizeof bin))
        return false;
    const char *argv[MAX_ARGS] = { bin, "--port", "0" };
    size_t n = 3;
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n + 1 >= MAX_ARGS) {
            fprintf(stderr, "refserver_proc: more than %d arguments\n", MAX_ARGS - 4);
            return false;
        }
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    /* Byte by byte: the port, alone on the first line; nothing more is read. */
    char line[64] = { 0 };
    size_t len = 0;
    while (len + 1 < sizeof line && read(fds[0], &line[len], 1) == 1 && line[len] != '\n')
        len++;
    close(fds[0]);
    long port = strtol(line, NULL, 10);
    if (port <= 0 || port > 65535) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return false;
    }
    s->pid = pid;
    s->port = (unsigned)port;
    return true;
}

int rs_proc_stop(rs_proc *s, int max_ms, int *took_ms)
{
    if (s->pid <= 0)
        return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(s->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < max_ms; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (took_ms)
                *took_ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(1000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return -1;
}

void rs_proc_base_url(const rs_proc *s, char *url, size_t size)
{
    snprintf(url, size, "http://127.0.0.1:%u/v1", s->port);
}
