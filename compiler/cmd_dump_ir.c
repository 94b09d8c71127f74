/* cmd_dump_ir.c — `dspcc dump-ir FILE.dsp`: the checked IR as stable JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "cli_common.h"
#include "cmd.h"
#include "diag.h"
#include "ir_json.h"
#include "sema.h"

static int run(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cmd_wants_help(&cmd_dump_ir, argv[i]))
            return 0;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dspcc dump-ir: unknown option `%s`\n", argv[i]);
            return 2;
        }
        if (path) {
            fputs("dspcc dump-ir: give one file\n", stderr);
            return 2;
        }
        path = argv[i];
    }
    if (!path) {
        fputs("dspcc dump-ir: no input file; usage: dspcc dump-ir FILE.dsp\n", stderr);
        return 2;
    }
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, stderr);
    int status = 1;
    ir_program *p = cli_check_input(&a, &d, path);
    if (p) {
        char *json = ir_to_json(p);
        if (json) {
            fputs(json, stdout);
            free(json);
            status = 0;
        } else {
            fputs("dspcc dump-ir: out of memory\n", stderr);
        }
    }
    arena_free(&a);
    return status;
}

const dspcc_cmd cmd_dump_ir = {
    "dump-ir",
    "print the checked IR as JSON (sorted keys, relative paths)",
    "usage: dspcc dump-ir FILE.dsp|-\n\n"
    "Checks the file and prints its intermediate representation as JSON on\n"
    "stdout: object keys sorted, arrays in declaration order, paths relative\n"
    "to the file's directory. Used by golden tests and for debugging.\n"
    "FILE `-` reads the program from standard input.\n\n"
    "Exit status: 0 printed, 1 errors in the input, 2 bad usage.\n",
    run,
};
