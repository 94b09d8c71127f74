/* cli_common.c — command-line pieces shared by the dspcc subcommands
 * (cli_common.h). */
#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"
#include "sema.h"

int cli_parse_range(const char *cmd, const char *opt, const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v < min || v > max) {
        if (max == LLONG_MAX)
            fprintf(stderr, "dspcc %s: %s needs a whole number >= %lld, got `%s`\n", cmd, opt, min, s ? s : "");
        else
            fprintf(stderr, "dspcc %s: %s needs a whole number from %lld to %lld, got `%s`\n", cmd, opt, min, max,
                    s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_duration(const char *cmd, const char *opt, const char *s, long long min_s, long long max_s,
                       long long *out_s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s ? s : "", &end, 10);
    long long unit = *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
    if (*end == 'h' || *end == 'm' || *end == 's')
        end++;
    bool ok = s && *s >= '0' && *s <= '9' && !*end && !errno && v <= max_s / unit && v * unit >= min_s &&
              v * unit <= max_s;
    if (!ok) {
        fprintf(stderr,
                "dspcc %s: %s needs a duration from %lld s to %lld h: seconds, or a number and s, m or h "
                "(90, 30m, 2h), got `%s`\n",
                cmd, opt, min_s, max_s / 3600, s ? s : "");
        return 0;
    }
    *out_s = v * unit;
    return 1;
}

int cli_parse_whole(const char *cmd, const char *opt, const char *s, long long min, long long *out)
{
    return cli_parse_range(cmd, opt, s, min, LLONG_MAX, out);
}

int cli_check_url(const char *cmd, const char *url)
{
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return 1;
    fprintf(stderr,
            "dspcc %s: --base-url needs an http:// or https:// URL of an OpenAI-compatible server, "
            "got `%s` (e.g. --base-url http://127.0.0.1:8080/v1)\n",
            cmd, url);
    return 0;
}

ir_program *cli_check_input(arena *a, diag *d, const char *path)
{
    if (strcmp(path, "-") != 0)
        return sema_check_file(a, d, path);
    source_file *src = source_read_stream(a, d, stdin, "<stdin>", "standard input", src_loc_make(NULL, 0, 0));
    return src ? sema_check_source(a, d, src) : NULL;
}

int cli_check_output(const char *cmd, const char *opt, const char *out)
{
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dspcc %s: cannot write %s (%s): it is a directory; give a file name\n", cmd, out, opt);
        return 0;
    }
    const char *slash = strrchr(out, '/');
    char *dir = slash ? strndup(out, slash == out ? 1 : (size_t)(slash - out)) : strdup(".");
    if (!dir) {
        fprintf(stderr, "dspcc %s: out of memory\n", cmd);
        return 0;
    }
    int ok = 1;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dspcc %s: cannot write %s (%s): directory %s does not exist; create it (mkdir -p %s)\n",
                cmd, out, opt, dir, dir);
        ok = 0;
    } else if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dspcc %s: cannot write %s (%s): directory %s is not writable: %s\n", cmd, out, opt, dir,
                strerror(errno));
        ok = 0;
    }
    free(dir);
    return ok;
}

/* The one message the handler writes: a handler may only call
 * async-signal-safe functions (write, _exit), so it is made beforehand. */
static char interrupt_msg[256];
static size_t interrupt_len;

static void on_interrupt(int sig)
{
    ssize_t w = write(STDERR_FILENO, interrupt_msg, interrupt_len);
    (void)w;
    _exit(128 + sig);
}

void cli_on_interrupt(const char *cmd)
{
    int n = snprintf(interrupt_msg, sizeof interrupt_msg,
                     "\ndspcc %s: interrupted; the LM responses so far are kept in the response cache, "
                     "run the same command again to resume from it\n",
                     cmd);
    interrupt_len = n > 0 && (size_t)n < sizeof interrupt_msg ? (size_t)n : 0;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    /* A signal ignored on entry (a background job of a non-interactive
     * shell, nohup) stays ignored, as the shell meant. */
    int sigs[] = { SIGINT, SIGTERM };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
}

void cli_client_args_init(cli_client_args *a)
{
    memset(a, 0, sizeof *a);
    a->retries = -1;
}

int cli_client_new(const char *cmd, const cli_client_args *a, dsp_client **out, dsp_error *err)
{
    dsp_client_options co = dsp_client_options_default();
    co.cache_dir = a->cache_dir;
    co.no_cache = a->no_cache != 0;
    co.base_url = a->base_url;
    co.max_in_flight = a->max_in_flight;
    if (a->retries >= 0) {
        co.max_retries = a->retries;
        co.retries_over_lm = true;
    }
    if (a->timeout_s > 0) {
        co.timeout_s = (double)a->timeout_s;
        co.timeout_over_lm = true;
    }
    if (a->deadline_s > 0)
        co.deadline_s = (double)a->deadline_s;
    co.trace_path = a->trace;
    co.observe = a->observe;
    co.observe_embed = a->observe_embed;
    co.observe_ctx = a->observe_ctx;
    if (dsp_client_new(&co, out, err) != DSP_OK) {
        fprintf(stderr, "dspcc %s: %s\n", cmd, err->message);
        return 0;
    }
    return 1;
}

int cli_stopped(const char *cmd, dsp_client *c, dsp_usage_totals before, int no_cache)
{
    char why[DSP_ERROR_MESSAGE_MAX];
    if (!dsp_client_stopped(c, why, sizeof why))
        return 0;
    dsp_usage_totals u = cli_usage_since(before, dsp_client_usage(c));
    fprintf(stderr, "dspcc %s: stopped: %s\n  the run sent %lld HTTP requests (%lld of them retries); %s\n", cmd, why,
            (long long)u.http_requests, (long long)u.retries,
            no_cache ? "nothing was kept (--no-cache): run again once the endpoint works, and every call\n"
                       "  is made again"
                     : "every reply that worked is kept in the\n"
                       "  response cache, so the same command, run again once the endpoint works, resumes from them");
    return 1;
}

dsp_usage_totals cli_usage_since(dsp_usage_totals before, dsp_usage_totals after)
{
    dsp_usage_totals u = after;
    u.calls -= before.calls;
    u.http_requests -= before.http_requests;
    u.http_unanswered -= before.http_unanswered;
    u.retries -= before.retries;
    u.cache_hits -= before.cache_hits;
    u.cache_misses -= before.cache_misses;
    u.prompt_tokens -= before.prompt_tokens;
    u.completion_tokens -= before.completion_tokens;
    u.cost_pusd -= before.cost_pusd;
    u.cost_usd = (double)u.cost_pusd / 1e12;
    u.cached_prompt_tokens -= before.cached_prompt_tokens;
    u.cached_completion_tokens -= before.cached_completion_tokens;
    u.cached_cost_pusd -= before.cached_cost_pusd;
    u.cached_cost_usd = (double)u.cached_cost_pusd / 1e12;
    u.unpriced_calls -= before.unpriced_calls;
    return u;
}

int cli_pick_module(const char *cmd, const ir_program *p, const char *file, const char *module,
                    const char *state_path, const char *state_program, const ir_module **m,
                    const ir_optimize **opt)
{
    *m = NULL;
    *opt = NULL;
    const char *mname = module ? module : state_program;
    if (mname) {
        *m = ir_module_find(p, mname);
        if (!*m) {
            if (module)
                fprintf(stderr, "dspcc %s: %s has no module `%s`\n", cmd, file, mname);
            else
                fprintf(stderr,
                        "dspcc %s: the state %s optimizes module `%s`, which %s does not have; give the state "
                        "of this program, or re-run dspcc optimize\n",
                        cmd, state_path, mname, file);
            return 0;
        }
    }
    for (size_t i = 0; i < p->n_optimizes && !*opt; i++)
        if (!*m || p->optimizes[i]->module == *m)
            *opt = p->optimizes[i];
    if (!*m && *opt)
        *m = (*opt)->module;
    if (!*m && p->n_modules)
        *m = p->modules[p->n_modules - 1]; /* callees come first: the last is the top */
    if (!*m) {
        fprintf(stderr, "dspcc %s: %s declares no module\n", cmd, file);
        return 0;
    }
    return 1;
}

const char *cli_cost_text(const dsp_usage_totals *u, char *buf, size_t n)
{
    if (u->calls > 0 && u->unpriced_calls >= u->calls)
        snprintf(buf, n, "unknown (give the lm input_usd_per_mtok and output_usd_per_mtok)");
    else if (u->calls > 0 && u->cache_hits >= u->calls)
        snprintf(buf, n, "$0.0000 (every call from the cache; $%.4f uncached)", u->cached_cost_usd);
    else if (u->unpriced_calls > 0)
        snprintf(buf, n, "$%.4f, not counting %lld calls to an lm without prices", u->cost_usd,
                 (long long)u->unpriced_calls);
    else if (u->cache_hits > 0)
        snprintf(buf, n, "$%.4f ($%.4f uncached)", u->cost_usd,
                 (double)(u->cost_pusd + u->cached_cost_pusd) / 1e12);
    else
        snprintf(buf, n, "$%.4f", u->cost_usd);
    return buf;
}
