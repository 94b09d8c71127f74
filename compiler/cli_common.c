/* cli_common.c — command-line pieces shared by `dspcc eval` and
 * `dspcc optimize` (cli_common.h). */
#include "cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int cli_parse_whole(const char *cmd, const char *opt, const char *s, long long min, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v < min) {
        fprintf(stderr, "dspcc %s: %s needs a whole number >= %lld, got `%s`\n", cmd, opt, min, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

int cli_option_value(const char *cmd, int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "dspcc %s: %s needs a value\n", cmd, argv[*i]);
        return 0;
    }
    *out = argv[++*i];
    return 1;
}

int cli_operand(const char *cmd, const char *arg, const char **file)
{
    if (arg[0] == '-' && arg[1]) {
        fprintf(stderr, "dspcc %s: unknown option `%s`; see `dspcc %s --help`\n", cmd, arg, cmd);
        return 0;
    }
    if (*file) {
        fprintf(stderr, "dspcc %s: one .dsp file at a time (got `%s` and `%s`)\n", cmd, *file, arg);
        return 0;
    }
    *file = arg;
    return 1;
}

int cli_client_new(const char *cmd, const cli_client_args *a, dsp_client **out, dsp_error *err)
{
    dsp_client_options co = dsp_client_options_default();
    co.cache_dir = a->cache_dir;
    co.no_cache = a->no_cache != 0;
    co.base_url = a->base_url;
    co.max_in_flight = a->max_in_flight;
    co.max_retries = a->retries;
    if (dsp_client_new(&co, out, err) != DSP_OK) {
        fprintf(stderr, "dspcc %s: %s\n", cmd, err->message);
        return 0;
    }
    return 1;
}

dsp_usage_totals cli_usage_since(dsp_usage_totals before, dsp_usage_totals after)
{
    dsp_usage_totals u = after;
    u.calls -= before.calls;
    u.http_requests -= before.http_requests;
    u.retries -= before.retries;
    u.cache_hits -= before.cache_hits;
    u.cache_misses -= before.cache_misses;
    u.prompt_tokens -= before.prompt_tokens;
    u.completion_tokens -= before.completion_tokens;
    return u;
}
