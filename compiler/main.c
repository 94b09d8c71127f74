/* main.c — the dspcc driver: dispatches to a subcommand (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#ifndef DSPCC_VERSION
#define DSPCC_VERSION "unknown"
#endif

static const dspcc_cmd *const commands[] = {
    &cmd_check,
    &cmd_dump_ir,
    &cmd_build,
    &cmd_eval,
    &cmd_prompt,
    &cmd_optimize,
    &cmd_fmt,
    &cmd_init,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: dspcc <command> [options] FILE.dsp\n\n"
                 "dspcc compiles LM task specifications (.dsp) into C.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\noptions:\n"
                 "  --help     show this help; `dspcc <command> --help` (or `dspcc help <command>`)\n"
                 "             for a command\n"
                 "  --version  print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        /* `dspcc help eval` is `dspcc eval --help`, as with git. */
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(commands[i]->name, argv[2]) == 0) {
                    fputs(commands[i]->usage, stdout);
                    return 0;
                }
            fprintf(stderr, "dspcc: no command `%s`; run `dspcc --help` for the list\n", argv[2]);
            return 2;
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("dspcc %s\n", DSPCC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "dspcc: unknown command `%s`; run `dspcc --help` for the list\n", name);
    return 2;
}
