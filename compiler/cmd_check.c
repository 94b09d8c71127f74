/* cmd_check.c — `dspcc check FILE.dsp...`: parse and check, print
 * diagnostics, exit 1 if there were errors. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "cli_common.h"
#include "cmd.h"
#include "diag.h"
#include "sema.h"

static int run(int argc, char **argv)
{
    int werror = 0, nfiles = 0, status = 0;
    for (int i = 1; i < argc; i++) {
        if (cmd_wants_help(&cmd_check, argv[i]))
            return 0;
        if (strcmp(argv[i], "--werror") == 0)
            werror = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dspcc check: unknown option `%s`\n", argv[i]);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            continue;
        nfiles++;
        arena a;
        arena_init(&a);
        diag d;
        diag_init(&d, &a, stderr);
        cli_check_input(&a, &d, argv[i]);
        if (d.errors || (werror && d.warnings))
            status = 1;
        arena_free(&a);
    }
    if (nfiles == 0) {
        fputs("dspcc check: no input file; usage: dspcc check FILE.dsp\n", stderr);
        return 2;
    }
    return status;
}

const dspcc_cmd cmd_check = {
    "check",
    "parse and check .dsp files; print diagnostics",
    "usage: dspcc check [--werror] FILE.dsp...\n"
    "       dspcc check [--werror] -\n\n"
    "Parses and checks each file and its imports. Diagnostics go to stderr as\n"
    "file:line:col: error: message, with the source line and a caret. `-` reads\n"
    "the program from standard input (named <stdin>; imports are relative to\n"
    "the current directory).\n\n"
    "  --werror   treat warnings as errors\n\n"
    "Exit status: 0 no errors, 1 errors, 2 bad usage.\n",
    run,
};
