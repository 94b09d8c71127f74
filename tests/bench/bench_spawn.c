/* bench_spawn — runs a command RUNS times and prints the median wall time
 * and the median peak resident set of the process (wait4's rusage): how
 * make bench-coldstart measures a cold start.
 *
 *   bench_spawn [-e NAME=VALUE]... RUNS STDIN_FILE COMMAND [ARG...]
 *
 * -e sets NAME in the command's environment, %d in VALUE replaced by the
 * run's number (a fresh cache directory per run: -e DSPCC_CACHE_DIR=d.%d).
 * STDIN_FILE ("-" for /dev/null) is the command's stdin; its stdout and
 * stderr go to /dev/null. Prints "wall_ms W rss_kib R"; exits 1 if a run
 * failed (printing its status). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *envs[16];
    int n_env = 0;
    while (argc > 2 && strcmp(argv[1], "-e") == 0 && n_env < 16 && strchr(argv[2], '=')) {
        envs[n_env++] = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: bench_spawn [-e NAME=VALUE]... RUNS STDIN_FILE COMMAND [ARG...]\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    if (runs <= 0 || runs > 1000) {
        fprintf(stderr, "bench_spawn: RUNS must be 1..1000\n");
        return 2;
    }
    double *walls = calloc((size_t)runs, sizeof *walls);
    long *rss = calloc((size_t)runs, sizeof *rss);
    if (!walls || !rss)
        return 1;
    for (int r = 0; r < runs; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench_spawn: fork");
            return 1;
        }
        if (pid == 0) {
            int in = open(argv[2][0] == '-' && !argv[2][1] ? "/dev/null" : argv[2], O_RDONLY);
            int null = open("/dev/null", O_WRONLY);
            if (in < 0 || null < 0)
                _exit(126);
            for (int k = 0; k < n_env; k++) {
                char name[256], value[4096];
                const char *eq = strchr(envs[k], '=');
                size_t nl = (size_t)(eq - envs[k]);
                if (nl >= sizeof name)
                    _exit(126);
                memcpy(name, envs[k], nl);
                name[nl] = '\0';
                /* The value is a format with at most one %d: the run's number. */
                const char *pct = strstr(eq + 1, "%d");
                if (pct)
                    snprintf(value, sizeof value, "%.*s%d%s", (int)(pct - eq - 1), eq + 1, r, pct + 2);
                else
                    snprintf(value, sizeof value, "%s", eq + 1);
                setenv(name, value, 1);
            }
            dup2(in, 0);
            dup2(null, 1);
            dup2(null, 2);
            execvp(argv[3], argv + 3);
            _exit(127);
        }
        int status = 0;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) {
            perror("bench_spawn: wait4");
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_spawn: %s exited with status %d\n", argv[3],
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return 1;
        }
        walls[r] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        rss[r] = ru.ru_maxrss;
    }
    qsort(walls, (size_t)runs, sizeof *walls, cmp_double);
    qsort(rss, (size_t)runs, sizeof *rss, cmp_long);
    printf("wall_ms %.3f rss_kib %ld\n", walls[runs / 2], rss[runs / 2]);
    free(walls);
    free(rss);
    return 0;
}
