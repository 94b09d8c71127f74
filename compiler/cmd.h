/* cmd.h — dspcc subcommands. Each lives in its own cmd_NAME.c and is listed
 * in the table in main.c; adding one is a new file plus one line there.
 * Each reads its options with cli_options.h, from a table of its own. */
#ifndef DSPCC_CMD_H
#define DSPCC_CMD_H

typedef struct dspcc_cmd {
    const char *name;
    const char *summary;        /* one line for `dspcc --help` */
    const char *usage;          /* full help for `dspcc NAME --help` */
    /* argv[0] is the subcommand name. Returns the exit status:
     * 0 success, 1 errors in the input, 2 bad usage. */
    int (*run)(int argc, char **argv);
} dspcc_cmd;

extern const dspcc_cmd cmd_check;
extern const dspcc_cmd cmd_dump_ir;
extern const dspcc_cmd cmd_build;
extern const dspcc_cmd cmd_eval;
extern const dspcc_cmd cmd_prompt;
extern const dspcc_cmd cmd_optimize;
extern const dspcc_cmd cmd_fmt;
extern const dspcc_cmd cmd_init;

#endif
