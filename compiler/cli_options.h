/* cli_options.h — how every dspcc command reads its command line:
 * getopt_long over the command's own table of options (struct option,
 * ended by CLI_OPTIONS_END), so that everywhere
 *   - `--opt value` and `--opt=value` mean the same, short options take
 *     their value joined or apart (`-j4`, `-j 4`) and cluster (`-qj 4`);
 *   - options and operands mix in any order (also under POSIXLY_CORRECT),
 *     and `--` ends the options (`dspcc check -- -odd.dsp`);
 *   - `-h` and `--help` print the command's usage on stdout;
 *   - a long option is matched whole: getopt_long's unambiguous prefixes
 *     (`--stat` for `--state`) are refused, so a new option can never make
 *     a script's abbreviation ambiguous;
 *   - a mistake gets the same words from every command (exit 2):
 *       dspcc CMD: unknown option `--bogus`; see `dspcc CMD --help`
 *       dspcc CMD: unknown option `--out`; did you mean `--output`? see `dspcc CMD --help`
 *       dspcc CMD: --data needs a value; see `dspcc CMD --help`
 *       dspcc CMD: --json takes no value; see `dspcc CMD --help`
 *       dspcc CMD: one .dsp file at a time (got `a.dsp` and `b.dsp`)
 */
#ifndef DSPCC_CLI_OPTIONS_H
#define DSPCC_CLI_OPTIONS_H

#include <getopt.h>

#include "cmd.h"

struct cli_client_args; /* cli_common.h */

/* Every table ends with these: --help, then the terminator. */
#define CLI_OPTIONS_END { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }

/* What cli_opts_next returns besides an option's code (its `val` in the
 * table, or its short letter). */
enum {
    CLI_OPTS_END = -1,     /* no more options: the operands are in o->operands */
    CLI_OPTS_HELP = -2,    /* -h or --help: the usage is printed; exit 0 */
    CLI_OPTS_BAD = -3,     /* a mistake, printed; exit 2 */
};

/* The options of the LM client (cli_client_option) and of provider
 * batches (cli_batch_option) that eval, optimize and prompt share: a
 * command's table lists the entries it takes. Their codes are past any
 * command's own; -j/--concurrency is 'j'. */
enum {
    CLI_OPT_RETRIES = 0x1000, CLI_OPT_TIMEOUT, CLI_OPT_DEADLINE, CLI_OPT_BASE_URL, CLI_OPT_CACHE_DIR, CLI_OPT_NO_CACHE,
    CLI_OPT_TRACE, CLI_OPT_BATCH, CLI_OPT_BATCH_POLL, CLI_OPT_BATCH_MAX_WAIT
};
#define CLI_OPT_RETRIES_ENTRY { "retries", required_argument, NULL, CLI_OPT_RETRIES }
#define CLI_OPT_TIMEOUT_ENTRY { "timeout", required_argument, NULL, CLI_OPT_TIMEOUT }
#define CLI_OPT_DEADLINE_ENTRY { "deadline", required_argument, NULL, CLI_OPT_DEADLINE }
#define CLI_OPT_BASE_URL_ENTRY { "base-url", required_argument, NULL, CLI_OPT_BASE_URL }
#define CLI_OPT_CACHE_DIR_ENTRY { "cache-dir", required_argument, NULL, CLI_OPT_CACHE_DIR }
#define CLI_OPT_NO_CACHE_ENTRY { "no-cache", no_argument, NULL, CLI_OPT_NO_CACHE }
#define CLI_OPT_TRACE_ENTRY { "trace", required_argument, NULL, CLI_OPT_TRACE }
#define CLI_OPT_CONCURRENCY_ENTRY { "concurrency", required_argument, NULL, 'j' }
#define CLI_OPT_BATCH_ENTRY { "batch", no_argument, NULL, CLI_OPT_BATCH }
#define CLI_OPT_BATCH_POLL_ENTRY { "batch-poll", required_argument, NULL, CLI_OPT_BATCH_POLL }
#define CLI_OPT_BATCH_MAX_WAIT_ENTRY { "batch-max-wait", required_argument, NULL, CLI_OPT_BATCH_MAX_WAIT }

typedef struct cli_opts {
    const dspcc_cmd *cmd;
    int argc;
    char **argv;
    const struct option *longs;
    char shorts[48];         /* "-:h" and the command's short options */
    char name[64];           /* the option just read as written: "--data", "-j" */
    const char *value;       /* its value; NULL: none */
    /* The operands (files, names) in the order given, gathered at the
     * front of argv (argv[1..]) as they are read: n_operands of them. */
    char **operands;
    int n_operands;
} cli_opts;

/* Starts reading argv (argv[0] is the command's name). shorts are the
 * command's short options as getopt spells them ("o:qj:"; -h is added). */
void cli_opts_init(cli_opts *o, const dspcc_cmd *cmd, int argc, char **argv, const char *shorts,
                   const struct option *longs);

/* The next option: its code with o->name and o->value set, or
 * CLI_OPTS_END, HELP or BAD (see above). Operands are gathered on the way. */
int cli_opts_next(cli_opts *o);

/* The value of an option spelled as two arguments the table cannot hold
 * (build's `-MF FILE`): takes the next argument into *out. Without one
 * prints "OPT needs a value" as above and returns 0. */
int cli_opts_take_value(cli_opts *o, const char *opt, const char **out);

/* Prints "dspcc CMD: unknown option `ARG`; see ..." (with a suggestion
 * when one is close) and returns CLI_OPTS_BAD. */
int cli_opts_unknown(const cli_opts *o, const char *arg);

/* After CLI_OPTS_END, for the one .dsp file most commands take: *file is
 * the operand, or NULL when there is none; a second one prints "one .dsp
 * file at a time (got `A` and `B`)" and returns 0. */
int cli_opts_file(const cli_opts *o, const char **file);

/* The value of the option just read as a whole number from min to max (as
 * cli_parse_range, naming the option as written), a whole number >= min,
 * or a duration (cli_parse_duration). 1 when good; else the error is
 * printed and 0 returned. */
int cli_opts_range(const cli_opts *o, long long min, long long max, long long *out);
int cli_opts_whole(const cli_opts *o, long long min, long long *out);
int cli_opts_duration(const cli_opts *o, long long min_s, long long max_s, long long *out_s);

/* code as one of the LM client's options into a: --base-url URL (an
 * http(s) URL, cli_check_url), --cache-dir DIR, --no-cache, --trace FILE,
 * -j/--concurrency N (1 to 1024, max_in_flight), --retries N (0 to 20),
 * --timeout SECONDS (1 to 3600), --deadline SECONDS (1 to 86400). 1 when it
 * was one and its value is good, -1 when its value is bad (printed), 0
 * when code is another option. */
int cli_client_option(const cli_opts *o, int code, struct cli_client_args *a);

/* Provider batches (eval and optimize): --batch, --batch-poll MS (10 to
 * 3600000, default 10000), --batch-max-wait DURATION (1 s to 48 h; 0:
 * none given). */
typedef struct cli_batch_args {
    int on;
    long long poll_ms, max_wait_s;
} cli_batch_args;
#define CLI_BATCH_ARGS_DEFAULT { 0, 10000, 0 }
/* As cli_client_option, for those. */
int cli_batch_option(const cli_opts *o, int code, cli_batch_args *b);
/* After the options: --batch-max-wait without --batch prints "dspcc CMD:
 * --batch-max-wait is how long --batch waits ...; add --batch, or drop it"
 * and returns 0; else 1. */
int cli_batch_check(const cli_opts *o, const cli_batch_args *b);

#endif
