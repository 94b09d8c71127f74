/* cmd_dump_ir.c — `dspcc dump-ir FILE.dsp`: the checked IR as stable JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "cli_common.h"
#include "cli_options.h"
#include "cmd.h"
#include "diag.h"
#include "ir_json.h"
#include "sema.h"

static const struct option options[] = { CLI_OPTIONS_END };

static int run(int argc, char **argv)
{
    const char *path = NULL;
    cli_opts o;
    cli_opts_init(&o, &cmd_dump_ir, argc, argv, "", options);
    int c = cli_opts_next(&o);
    if (c != CLI_OPTS_END) /* it has no options but --help */
        return c == CLI_OPTS_HELP ? 0 : 2;
    if (!cli_opts_file(&o, &path))
        return 2;
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
