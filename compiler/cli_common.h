/* cli_common.h — what the dspcc subcommands share on their command lines
 * (how options are read is cli_options.h): whole-number and duration
 * values, the input (a file or `-`), outputs checked before
 * a long run, Ctrl-C, the LM client built from --base-url/--cache-dir, and
 * the LM usage of one run. */
#ifndef DSPCC_CLI_COMMON_H
#define DSPCC_CLI_COMMON_H

#include "arena.h"
#include "diag.h"
#include "dsp/client.h"
#include "ir.h"

/* Reads s as a whole number >= min into *out. On bad input (or a missing
 * value, s NULL) prints "dspcc CMD: OPT needs a whole number >= MIN, got `S`"
 * and returns 0; else 1. */
int cli_parse_whole(const char *cmd, const char *opt, const char *s, long long min, long long *out);

/* The same for a whole number from min to max ("needs a whole number from
 * MIN to MAX, got `S`"). */
int cli_parse_range(const char *cmd, const char *opt, const char *s, long long min, long long max, long long *out);

/* A duration: a whole number of seconds, or of minutes or hours with the
 * suffix s, m or h ("90", "90s", "30m", "2h"), from min_s to max_s
 * seconds, into *out_s. Else prints "dspcc CMD: OPT needs a duration
 * ..." and returns 0. */
int cli_parse_duration(const char *cmd, const char *opt, const char *s, long long min_s, long long max_s,
                       long long *out_s);

/* A --base-url value: an http:// or https:// URL. Else prints "dspcc CMD:
 * --base-url needs an http:// or https:// URL ..." and returns 0. */
int cli_check_url(const char *cmd, const char *url);

/* Parses and checks PATH, or standard input when PATH is `-` (named
 * <stdin> in diagnostics, imports relative to the current directory), so
 * an editor can check the buffer it holds. NULL on errors (reported). */
ir_program *cli_check_input(arena *a, diag *d, const char *path);

/* Checks before a long run that OUT (given to option OPT, e.g. "-o") can
 * be written: its directory exists and is writable, and OUT is not a
 * directory. Else prints "dspcc CMD: cannot write OUT (OPT): why; fix"
 * and returns 0. Finding that out after an hour of LM calls is too late. */
int cli_check_output(const char *cmd, const char *opt, const char *out);

/* Ctrl-C (SIGINT) or SIGTERM during a long run: prints "dspcc CMD:
 * interrupted; ..." saying that the LM responses so far are kept in the
 * response cache and the same command resumes from it, then exits
 * 128 + the signal (130 for Ctrl-C). Outputs are written through a temporary file and a
 * rename, so an interrupted run leaves no half file behind. */
void cli_on_interrupt(const char *cmd);

/* The module a command runs and its optimize block (NULL if none): module
 * (--module) if given, else state_program (the program an optimized
 * state at state_path is for), else the first optimize block's module, else
 * the last module (callees come first: the top one). Else prints why
 * ("dspcc CMD: FILE has no module `X`", ...) and returns 0. */
int cli_pick_module(const char *cmd, const ir_program *p, const char *file, const char *module,
                    const char *state_path, const char *state_program, const ir_module **m,
                    const ir_optimize **opt);

/* The client options both commands take; retries < 0, timeout_s and
 * deadline_s 0 mean the default (each lm's own, else the client's). */
typedef struct cli_client_args {
    const char *base_url, *cache_dir;
    int no_cache, max_in_flight, retries;
    long timeout_s, deadline_s;
    const char *trace;          /* --trace FILE, or NULL ($DSPCC_TRACE applies) */
    /* dsp_client_options.observe: sees every LM call as sent; NULL: none. */
    void (*observe)(void *ctx, const dsp_lm_config *lm, const dsp_chat_request *req,
                    const dsp_chat_response *resp, dsp_status st);
    /* dsp_client_options.observe_embed: sees every embeddings call; NULL: none. */
    void (*observe_embed)(void *ctx, const dsp_lm_config *lm, const char *label, const char *const *texts, size_t n,
                          int dimensions, size_t cache_hits, dsp_status st);
    void *observe_ctx;
} cli_client_args;

/* Sets the args fields with no default (retries -1, the rest zero). */
void cli_client_args_init(cli_client_args *a);

/* The --help lines of the limits both commands take (cli_client_option in
 * cli_options.h reads them); PAD ("" or spaces) widens the option
 * column to the command's. */
#define CLI_CLIENT_FLAGS_HELP(PAD) \
    "  --retries N        " PAD "retries of a failed LM call, over every lm's `retries`\n" \
    "                     " PAD "(default: the lm's, else 5, with backoff)\n" \
    "  --timeout S        " PAD "seconds one attempt may take, connecting included, over\n" \
    "                     " PAD "every lm's `timeout_ms` (default: the lm's, else 120)\n" \
    "  --deadline S       " PAD "seconds one LM call may take, all retries and waits\n" \
    "                     " PAD "included (default 300)\n"

/* A client for those options; on failure prints "dspcc CMD: why" and
 * returns 0 (err is filled too). */
int cli_client_new(const char *cmd, const cli_client_args *a, dsp_client **out, dsp_error *err);

/* The cost of usage u for people: "$0.0123", with "($X uncached)" when
 * the cache answered some calls, "unknown (give the lm ...)" when no call
 * had a price, or the cost with how many calls it leaves out. Returns buf. */
const char *cli_cost_text(const dsp_usage_totals *u, char *buf, size_t n);

/* The usage between two snapshots of the same client's totals. */
dsp_usage_totals cli_usage_since(dsp_usage_totals before, dsp_usage_totals after);

/* When the client's breaker stopped it (LM calls kept failing the same
 * way), prints the one error the run ends with: what failed, the HTTP
 * requests the run sent since `before`, and that the response cache keeps
 * the calls that succeeded, so the same command resumes (with no_cache,
 * that nothing was kept). Returns 1 then, else 0. */
int cli_stopped(const char *cmd, dsp_client *c, dsp_usage_totals before, int no_cache);

#endif
