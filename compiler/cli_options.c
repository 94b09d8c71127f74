/* cli_options.c — one way for every dspcc command to read its options
 * (cli_options.h): getopt_long over the command's table, whole names only,
 * and one set of messages. */
#include "cli_options.h"

#include <stdio.h>
#include <string.h>

#include "cli_common.h"
#include "diag.h"

void cli_opts_init(cli_opts *o, const dspcc_cmd *cmd, int argc, char **argv, const char *shorts,
                   const struct option *longs)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->argc = argc;
    o->argv = argv;
    o->longs = longs;
    o->operands = argv + 1;
    /* '-': operands come back in order (options may follow them even
     * under POSIXLY_CORRECT); ':': a missing value is told apart from an
     * unknown option; -h is --help. */
    snprintf(o->shorts, sizeof o->shorts, "-:h%s", shorts ? shorts : "");
    optind = 1;
    opterr = 0;
}

/* The table's entry named exactly name[0..n), or NULL. */
static const struct option *find_long(const struct option *longs, const char *name, size_t n)
{
    for (const struct option *lo = longs; lo->name; lo++)
        if (strlen(lo->name) == n && strncmp(lo->name, name, n) == 0)
            return lo;
    return NULL;
}

static int bad(const cli_opts *o, const char *opt, const char *why)
{
    fprintf(stderr, "dspcc %s: %s %s; see `dspcc %s --help`\n", o->cmd->name, opt, why, o->cmd->name);
    return CLI_OPTS_BAD;
}

int cli_opts_unknown(const cli_opts *o, const char *arg)
{
    const char *names[64];
    size_t n = 0;
    for (const struct option *lo = o->longs; lo->name && n < sizeof names / sizeof names[0]; lo++)
        names[n++] = lo->name;
    const char *near = strncmp(arg, "--", 2) == 0 ? diag_suggest(arg + 2, names, n) : NULL;
    if (near)
        fprintf(stderr, "dspcc %s: unknown option `%s`; did you mean `--%s`? see `dspcc %s --help`\n",
                o->cmd->name, arg, near, o->cmd->name);
    else
        fprintf(stderr, "dspcc %s: unknown option `%s`; see `dspcc %s --help`\n", o->cmd->name, arg,
                o->cmd->name);
    return CLI_OPTS_BAD;
}

/* getopt_long's ':' (a missing value) or '?' (anything else wrong), told
 * apart by what was written. */
static int mistake(cli_opts *o, int c)
{
    const char *arg = optind > 1 && optind - 1 < o->argc ? o->argv[optind - 1] : "";
    if (strncmp(arg, "--", 2) == 0 && arg[2]) {
        size_t n = strcspn(arg + 2, "=");
        snprintf(o->name, sizeof o->name, "%.*s", (int)(n + 2), arg);
        const struct option *lo = find_long(o->longs, arg + 2, n);
        if (lo && c == ':')
            return bad(o, o->name, "needs a value");
        if (lo && lo->has_arg == no_argument && arg[2 + n] == '=')
            return bad(o, o->name, "takes no value");
        return cli_opts_unknown(o, o->name);
    }
    snprintf(o->name, sizeof o->name, "-%c", optopt ? optopt : '?');
    return c == ':' ? bad(o, o->name, "needs a value") : cli_opts_unknown(o, o->name);
}

int cli_opts_next(cli_opts *o)
{
    o->name[0] = '\0';
    o->value = NULL;
    int idx = -1, c;
    /* An operand moves to the next free slot at argv's front: every
     * argument before optind was read, and none of them is read again
     * (operands come back in order, so getopt_long permutes nothing). */
    while (optopt = 0, (c = getopt_long(o->argc, o->argv, o->shorts, o->longs, &idx)) == 1)
        o->operands[o->n_operands++] = optarg;
    if (c == -1) { /* the end, or `--`: what follows it are operands */
        while (optind < o->argc)
            o->operands[o->n_operands++] = o->argv[optind++];
        return CLI_OPTS_END;
    }
    if (c == ':' || c == '?')
        return mistake(o, c);
    if (idx >= 0) {
        /* The option as written: before its value when that was the next
         * argument. getopt_long took any unambiguous prefix; only the
         * whole name is an option here. */
        const struct option *lo = &o->longs[idx];
        const char *arg = o->argv[optind - 1];
        if (lo->has_arg != no_argument && optarg == arg && optind >= 2)
            arg = o->argv[optind - 2];
        size_t n = strcspn(arg + 2, "=");
        if (strlen(lo->name) != n || strncmp(arg + 2, lo->name, n) != 0) {
            snprintf(o->name, sizeof o->name, "%.*s", (int)(n + 2), arg);
            return cli_opts_unknown(o, o->name);
        }
        snprintf(o->name, sizeof o->name, "--%s", lo->name);
    } else {
        snprintf(o->name, sizeof o->name, "-%c", c);
    }
    if (c == 'h') {
        fputs(o->cmd->usage, stdout);
        return CLI_OPTS_HELP;
    }
    o->value = optarg;
    return c;
}

int cli_opts_take_value(cli_opts *o, const char *opt, const char **out)
{
    if (optind >= o->argc) {
        bad(o, opt, "needs a value");
        return 0;
    }
    *out = o->argv[optind++];
    return 1;
}

int cli_opts_file(const cli_opts *o, const char **file)
{
    *file = o->n_operands ? o->operands[0] : NULL;
    if (o->n_operands > 1) {
        fprintf(stderr, "dspcc %s: one .dsp file at a time (got `%s` and `%s`)\n", o->cmd->name, o->operands[0],
                o->operands[1]);
        return 0;
    }
    return 1;
}

int cli_opts_range(const cli_opts *o, long long min, long long max, long long *out)
{
    return cli_parse_range(o->cmd->name, o->name, o->value, min, max, out);
}

int cli_opts_whole(const cli_opts *o, long long min, long long *out)
{
    return cli_parse_whole(o->cmd->name, o->name, o->value, min, out);
}

int cli_opts_duration(const cli_opts *o, long long min_s, long long max_s, long long *out_s)
{
    return cli_parse_duration(o->cmd->name, o->name, o->value, min_s, max_s, out_s);
}

int cli_client_option(const cli_opts *o, int code, cli_client_args *a)
{
    long long v;
    switch (code) {
    case CLI_OPT_BASE_URL:
        if (!cli_check_url(o->cmd->name, o->value))
            return -1;
        a->base_url = o->value;
        return 1;
    case CLI_OPT_CACHE_DIR: a->cache_dir = o->value; return 1;
    case CLI_OPT_NO_CACHE: a->no_cache = 1; return 1;
    case CLI_OPT_TRACE: a->trace = o->value; return 1;
    case 'j':
        if (!cli_opts_range(o, 1, 1024, &v))
            return -1;
        a->max_in_flight = (int)v;
        return 1;
    case CLI_OPT_RETRIES:
        if (!cli_opts_range(o, 0, 20, &v))
            return -1;
        a->retries = (int)v;
        return 1;
    case CLI_OPT_TIMEOUT:
        if (!cli_opts_range(o, 1, 3600, &v))
            return -1;
        a->timeout_s = (long)v;
        return 1;
    case CLI_OPT_DEADLINE:
        if (!cli_opts_range(o, 1, 86400, &v))
            return -1;
        a->deadline_s = (long)v;
        return 1;
    default:
        return 0;
    }
}

int cli_batch_option(const cli_opts *o, int code, cli_batch_args *b)
{
    switch (code) {
    case CLI_OPT_BATCH: b->on = 1; return 1;
    case CLI_OPT_BATCH_POLL: return cli_opts_range(o, 10, 3600000, &b->poll_ms) ? 1 : -1;
    case CLI_OPT_BATCH_MAX_WAIT: return cli_opts_duration(o, 1, 48 * 3600, &b->max_wait_s) ? 1 : -1;
    default: return 0;
    }
}

int cli_batch_check(const cli_opts *o, const cli_batch_args *b)
{
    if (!b->max_wait_s || b->on)
        return 1;
    fprintf(stderr, "dspcc %s: --batch-max-wait is how long --batch waits for the provider's batches; add --batch, "
                    "or drop it\n", o->cmd->name);
    return 0;
}
