/* cmd_optimize.c — `dspcc optimize FILE.dsp`: runs the program's optimize
 * block (labeled_fewshot, knn_fewshot, bootstrap_fewshot, random_search, ensemble, mipro, copro
 * or better_together)
 * through the interpreter against the LM, then writes the optimized state
 * (NAME.state.json, for `dspcc build --state`) and optionally an HTML
 * report.
 *
 * Every LM call goes through the response cache, and every choice is
 * seeded, so a re-run after an interruption (Ctrl-C, kill -9) replays what
 * was done from the cache and only makes the calls it lacks; the report
 * says how many calls the cache answered. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "file_read.h"
#include "cli_common.h"
#include "cli_options.h"
#include "cmd.h"
#include "diag.h"
#include "exec.h"
#include "opt.h"
#include "opt_estimate.h"
#include "opt_cost.h"
#include "dsp/lm_batch.h"
#include "opt_exec.h"
#include "report.h"
#include "rng.h"
#include "sema.h"
#include "state.h"

typedef struct optimize_args {
    const char *file, *out, *report, *module;
    int quiet, has_seed, allow_regression, estimate, report_times;
    long long seed;
    long valset_limit, trainset_limit;
    /* --base-url, --cache-dir, --trace, -j (max_in_flight; 0: the optimize
     * block's, else 8), --retries, --timeout, --deadline */
    cli_client_args client;
    cli_batch_args batch; /* --batch, --batch-poll, --batch-max-wait */
} optimize_args;

enum {
    OPT_REPORT = 256, OPT_MODULE, OPT_SEED, OPT_VALSET_LIMIT, OPT_TRAINSET_LIMIT, OPT_ESTIMATE, OPT_REPORT_TIMES,
    OPT_ALLOW_REGRESSION
};

static const struct option options[] = {
    { "output", required_argument, NULL, 'o' },
    { "report", required_argument, NULL, OPT_REPORT },
    { "module", required_argument, NULL, OPT_MODULE },
    { "seed", required_argument, NULL, OPT_SEED },
    { "valset-limit", required_argument, NULL, OPT_VALSET_LIMIT },
    { "trainset-limit", required_argument, NULL, OPT_TRAINSET_LIMIT },
    { "quiet", no_argument, NULL, 'q' },
    { "estimate", no_argument, NULL, OPT_ESTIMATE },
    { "report-times", no_argument, NULL, OPT_REPORT_TIMES },
    { "allow-regression", no_argument, NULL, OPT_ALLOW_REGRESSION },
    CLI_OPT_BASE_URL_ENTRY,
    CLI_OPT_CACHE_DIR_ENTRY,
    CLI_OPT_TRACE_ENTRY,
    CLI_OPT_CONCURRENCY_ENTRY,
    CLI_OPT_RETRIES_ENTRY,
    CLI_OPT_TIMEOUT_ENTRY,
    CLI_OPT_DEADLINE_ENTRY,
    CLI_OPT_BATCH_ENTRY,
    CLI_OPT_BATCH_POLL_ENTRY,
    CLI_OPT_BATCH_MAX_WAIT_ENTRY,
    CLI_OPTIONS_END,
};

/* 0: go on; -1: help was printed; else the exit status. */
static int parse_args(int argc, char **argv, optimize_args *a)
{
    memset(a, 0, sizeof *a);
    a->batch = (cli_batch_args)CLI_BATCH_ARGS_DEFAULT;
    cli_client_args_init(&a->client);
    cli_opts o;
    cli_opts_init(&o, &cmd_optimize, argc, argv, "o:j:q", options);
    long long v;
    int c;
    while ((c = cli_opts_next(&o)) != CLI_OPTS_END) {
        switch (c) {
        case 'o': a->out = o.value; break;
        case OPT_REPORT: a->report = o.value; break;
        case OPT_MODULE: a->module = o.value; break;
        case OPT_SEED:
            if (!cli_opts_whole(&o, 0, &a->seed))
                return 2;
            a->has_seed = 1;
            break;
        case OPT_VALSET_LIMIT:
        case OPT_TRAINSET_LIMIT:
            if (!cli_opts_whole(&o, 1, &v))
                return 2;
            *(c == OPT_VALSET_LIMIT ? &a->valset_limit : &a->trainset_limit) = (long)v;
            break;
        case 'q': a->quiet = 1; break;
        case OPT_ESTIMATE: a->estimate = 1; break;
        case OPT_REPORT_TIMES: a->report_times = 1; break;
        case OPT_ALLOW_REGRESSION: a->allow_regression = 1; break;
        case CLI_OPTS_HELP: return -1;
        case CLI_OPTS_BAD: return 2;
        default:
            if (cli_client_option(&o, c, &a->client) < 0 || cli_batch_option(&o, c, &a->batch) < 0)
                return 2;
        }
    }
    if (!cli_opts_file(&o, &a->file) || !cli_batch_check(&o, &a->batch))
        return 2;
    if (a->out && strcmp(a->out, "-") == 0) {
        /* The state is read back by build --state and eval --state, and
         * better_together keeps files beside it: it needs a name. */
        fputs("dspcc optimize: -o - (standard output) is not supported; the state is a file for "
              "`dspcc build --state`: give its name, e.g. -o NAME.state.json\n",
              stderr);
        return 2;
    }
    if (!a->file) {
        fputs("dspcc optimize: usage: dspcc optimize FILE.dsp [-o STATE.json] [--report R.html]; see `dspcc optimize --help`\n",
              stderr);
        return 2;
    }
    return 0;
}

static int sha256_file(const char *path, char hex[65])
{
    FILE *f = fr_open_regular(path, NULL);
    if (!f)
        return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    unsigned char buf[8192];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    ok = ok && !ferror(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    for (unsigned i = 0; ok && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return ok;
}

typedef struct progress_ctx {
    dsp_client *client;
    int quiet;
    dsp_usage_totals start;
} progress_ctx;

/* One line per phase or trial on stderr, with the LM calls so far, so a
 * long run shows where it is and how much the cache is answering. */
static void progress(void *ctx, const char *msg)
{
    progress_ctx *pc = ctx;
    if (pc->quiet)
        return;
    dsp_usage_totals u = dsp_client_usage(pc->client);
    fprintf(stderr, "dspcc optimize: %s [lm calls %lld, cache hits %lld]\n", msg,
            (long long)(u.calls - pc->start.calls), (long long)(u.cache_hits - pc->start.cache_hits));
}

static const ir_optimize *pick_optimize(const ir_program *p, const optimize_args *a)
{
    for (size_t i = 0; i < p->n_optimizes; i++)
        if (!a->module || strcmp(p->optimizes[i]->module->name, a->module) == 0)
            return p->optimizes[i];
    if (a->module)
        fprintf(stderr, "dspcc optimize: %s has no `optimize %s with ...` block\n", a->file, a->module);
    else
        fprintf(stderr,
                "dspcc optimize: %s has no optimize block; add e.g.\n"
                "  optimize MODULE with bootstrap_fewshot() { metric: M  trainset: train  valset: dev  lm: L }\n",
                a->file);
    return NULL;
}

static char *default_out(arena *m, const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".dsp") == 0)
        n -= 4;
    return arena_printf(m, "%.*s.state.json", (int)n, base);
}

/* NAME.finetune.jsonl and NAME.finetune-jobs.json beside the state
 * NAME.state.json (or NAME.json, or NAME). */
static void finetune_paths(arena *m, const char *state, const char **data, const char **jobs,
                           const char **adapters)
{
    size_t n = strlen(state);
    if (n > 11 && strcmp(state + n - 11, ".state.json") == 0)
        n -= 11;
    else if (n > 5 && strcmp(state + n - 5, ".json") == 0)
        n -= 5;
    *data = arena_printf(m, "%.*s.finetune.jsonl", (int)n, state);
    *jobs = arena_printf(m, "%.*s.finetune-jobs.json", (int)n, state);
    *adapters = arena_printf(m, "%.*s.adapters", (int)n, state);
}

/* better_together: each candidate's valset score, the one kept, and the
 * fine-tuning it did. */
static void print_stages(const opt_result *res, const char *data_path, const char *jobs_path)
{
    size_t kept = 0;
    for (size_t i = 0; i < res->n_stages; i++)
        if (res->stages[i].score > res->stages[kept].score)
            kept = i;
    for (size_t i = 0; i < res->n_stages; i++)
        if (res->stages[i].kept)
            kept = i;
    for (size_t i = 0; i < res->n_stages; i++)
        printf("  %-62s %.4f%s\n", res->stages[i].label, res->stages[i].score, i == kept ? "  (kept)" : "");
    if (res->finetune.adapter_path)
        printf("LoRA adapter %s (served as %s, SHA-256 %s%s) trained on %zu examples: %s\n",
               res->finetune.adapter_path, res->finetune.adapter_name, res->finetune.adapter_sha256,
               res->finetune.resumed ? ", from an earlier run" : "", res->n_finetune_examples, data_path);
    else if (res->finetune.model)
        printf("fine-tuned model %s (job %s%s) on %zu examples: %s (jobs in %s)\n", res->finetune.model,
               res->finetune.job_id ? res->finetune.job_id : "?", res->finetune.resumed ? ", from an earlier run" : "",
               res->n_finetune_examples, data_path, jobs_path);
}

/* What a user needs to trust the summary's scores: what shipped and why,
 * the optimizer's notes (a sampled search, skipped candidates) and the
 * failures behind the scores. */
static void print_trust(const opt_result *res, const opt_exec *x)
{
    if (res->shipped != OPT_SHIPPED_OPTIMIZED)
        printf("%s\n", res->shipped_reason);
    for (size_t i = 0; i < res->n_notes; i++)
        printf("  %s\n", res->notes[i]);
    size_t scored = 0;
    for (size_t i = 0; i < res->n_trials; i++)
        scored += res->trials[i].n_examples;
    printf("failed examples: %zu of %zu scored over %zu trials", res->n_failed, scored, res->n_trials);
    if (res->n_failed)
        printf(", in %zu of them", res->n_failed_trials);
    if (x->n_teacher_runs)
        printf("; failed teacher runs: %zu of %zu", x->n_teacher_failed, x->n_teacher_runs);
    printf("%s\n", res->n_failed || x->n_teacher_failed ? " (they score 0; the state and report list them per trial)"
                                                         : "");
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Whether module m returns an enum (or an optional one), the only
 * outputs per-class scores are for. */
static int has_enum_result(const ir_module *m)
{
    for (size_t i = 0; i < m->n_results; i++) {
        const ir_type *t = m->results[i].type;
        if (t->kind == IR_OPTIONAL)
            t = t->elem;
        if (t->kind == IR_ENUM)
            return 1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line per trial: its score and what it cost (usage since the
 * previous trial, its own scoring included). */
static void print_trials(const opt_result *res)
{
    if (!res->n_trials || !res->trials[0].usage.known)
        return;
    printf("  %-5s %-8s %10s %10s %10s %8s  %s\n", "trial", "score", "prompt", "completion", "cost", "time",
           "candidate");
    for (size_t i = 0; i < res->n_trials; i++) {
        const opt_trial *t = &res->trials[i];
        char cost[32];
        if (t->usage.priced)
            snprintf(cost, sizeof cost, "$%.4f", t->usage.cost_usd);
        else
            snprintf(cost, sizeof cost, "?");
        printf("  %-5d %-8.4f %10lld %10lld %10s %7.1fs  %s\n", t->trial, t->score, t->usage.prompt_tokens,
               t->usage.completion_tokens, cost, t->usage.seconds, t->config ? t->config : "");
    }
}

/* --estimate: the calls, tokens and cost the optimizer and its budget
 * imply, without an LM call. 0 on an error (reported). */
static int print_estimate(opt_exec *x, const opt_params *params, arena *mem, const ir_optimize *o, size_t n_train,
                          size_t n_val)
{
    opt_estimate e;
    dsp_error err = { 0 };
    if (opt_estimate_run(x, params, mem, &e, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize --estimate: %s\n", err.message);
        dsp_error_clear(&err);
        return 0;
    }
    printf("estimate for %s with %s on %s (%zu examples), scored on %zu examples, seed %llu; no LM was called\n",
           o->module->name, params->optimizer, o->trainset->name, n_train, n_val, (unsigned long long)params->seed);
    printf("  trials         %zu\n", e.trials);
    printf("  program runs   %lld (scoring candidates), %lld teacher runs (bootstrapping), %lld proposals\n",
           e.program_runs, e.teacher_runs, e.proposals);
    if (e.judge_calls)
        printf("  lm calls       %lld (%lld of them the metric's judges, scoring and writing feedback)\n", e.lm_calls,
               e.judge_calls);
    else
        printf("  lm calls       %lld\n", e.lm_calls);
    printf("  tokens         %lld prompt, %lld completion\n", e.prompt_tokens, e.completion_tokens);
    if (e.unpriced_calls >= e.lm_calls)
        printf("  cost           unknown (give the lm input_usd_per_mtok and output_usd_per_mtok)\n");
    else if (e.unpriced_calls)
        printf("  cost           $%.4f, not counting %lld calls to an lm without prices\n", e.cost_usd,
               e.unpriced_calls);
    else
        printf("  cost           $%.4f\n", e.cost_usd);
    if (e.finetune_jobs)
        printf("  fine-tuning    %lld job(s) on about %lld examples, billed by the provider apart from the above\n",
               e.finetune_jobs, e.finetune_examples);
    printf("  the search ran on stand-in scores, and cache hits are not foreseen: real runs differ; "
           "docs/inspect.md says by how much\n");
    return 1;
}

static int is_local(const char *url)
{
    return url && (strstr(url, "://127.0.0.1") || strstr(url, "://localhost") || strstr(url, "://[::1]"));
}

static int run(int argc, char **argv)
{
    double t_start = now_s();
    optimize_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    cli_on_interrupt("optimize");

    arena mem;
    arena_init(&mem);
    diag dg;
    diag_init(&dg, &mem, stderr);
    int status = 1;
    dsp_error err = { 0 };
    dsp_client *client = NULL;
    dsp_lm_batch *batch = NULL;
    ex_runner *runner = NULL;
    ex_dataset train, val;
    memset(&train, 0, sizeof train);
    memset(&val, 0, sizeof val);
    int have_val = 0, have_exec = 0;
    opt_exec x;
    ex_class_report classes;
    memset(&classes, 0, sizeof classes);

    ir_program *p = sema_check_file(&mem, &dg, a.file);
    if (!p)
        goto out;
    const char *out_path = a.out ? a.out : default_out(&mem, a.file);
    if (!cli_check_output("optimize", "-o", out_path) ||
        (a.report && !cli_check_output("optimize", "--report", a.report)))
        goto out;
    const ir_optimize *o = pick_optimize(p, &a);
    if (!o)
        goto out;
    opt_params params;
    if (opt_params_from_ir(o, &params, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }
    if (a.has_seed)
        params.seed = (uint64_t)a.seed;
    params.allow_regression = a.allow_regression;

    if (ex_dataset_load(p, o->module, o->trainset, &train, &err) != DSP_OK ||
        ex_dataset_require(&train, o->metric, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }
    if (o->valset) {
        if (ex_dataset_load(p, o->module, o->valset, &val, &err) != DSP_OK ||
            ex_dataset_require(&val, o->metric, &err) != DSP_OK) {
            fprintf(stderr, "dspcc optimize: %s\n", err.message);
            goto out;
        }
        have_val = 1;
    }

    /* Rows: without a valset, a seeded fifth of the trainset is held out
     * for scoring and never used for demos or proposals. Limits keep the
     * first rows, so a quick run is a prefix of the full one. */
    size_t n_train = 0, n_val = 0;
    size_t *train_rows = arena_array(&mem, train.n_rows + 1, sizeof *train_rows);
    size_t *val_rows = arena_array(&mem, (have_val ? val.n_rows : train.n_rows) + 1, sizeof *val_rows);
    if (have_val) {
        for (size_t i = 0; i < train.n_rows; i++)
            train_rows[n_train++] = i;
        for (size_t i = 0; i < val.n_rows; i++)
            val_rows[n_val++] = i;
    } else {
        size_t *perm = arena_array(&mem, train.n_rows + 1, sizeof *perm);
        for (size_t i = 0; i < train.n_rows; i++)
            perm[i] = i;
        rng r;
        rng_derive(&r, params.seed, 0x686f6c64u); /* "hold" */
        rng_shuffle(&r, perm, train.n_rows);
        size_t hold = train.n_rows / 5 ? train.n_rows / 5 : (train.n_rows > 1);
        for (size_t i = 0; i < train.n_rows; i++) {
            if (i < hold)
                val_rows[n_val++] = perm[i];
            else
                train_rows[n_train++] = perm[i];
        }
    }
    if (a.trainset_limit > 0 && (size_t)a.trainset_limit < n_train)
        n_train = (size_t)a.trainset_limit;
    if (a.valset_limit > 0 && (size_t)a.valset_limit < n_val)
        n_val = (size_t)a.valset_limit;
    /* A training row whose inputs repeat a row scored (the valset's, or
     * the holdout's: a trainset can hold a row twice) would show that row
     * its answer as a demo: left out, and said. (`valset: train` is the
     * trainset itself, which dspcc check warns of.) */
    if (!have_val || o->valset != o->trainset) {
        size_t before = n_train;
        opt_overlap ov;
        if (opt_drop_overlap(&train, train_rows, &n_train, have_val ? &val : &train, val_rows, n_val, &ov, &err) !=
            DSP_OK) {
            fprintf(stderr, "dspcc optimize: %s\n", err.message);
            goto out;
        }
        const char *scored = have_val ? arena_printf(&mem, "rows of %s", o->valset->name)
                                      : "rows held out of it for scoring";
        if (before && ov.n_dropped == before) {
            fprintf(stderr, "dspcc optimize: every row of %s repeats the inputs of %s (%s:%d the first); hold out "
                            "separate data for the valset\n",
                    o->trainset->name, scored, train.path, ov.first_line);
            goto out;
        }
        if (ov.n_dropped)
            fprintf(stderr, "dspcc optimize: warning: left %zu of the %zu rows of %s out (the first: %s:%d): their "
                            "inputs repeat %s, and a demo of one would show the valset its own answer\n",
                    ov.n_dropped, before, o->trainset->name, train.path, ov.first_line, scored);
    }

    /* -j, else the block's `concurrency`, else 8: the rule dspcc eval has. */
    if (a.client.max_in_flight <= 0)
        a.client.max_in_flight = o->concurrency > 0 ? (int)o->concurrency : 8;
    int conc = a.client.max_in_flight;
    if (!cli_client_new("optimize", &a.client, &client, &err))
        goto out;
    if (a.batch.on && dsp_lm_batch_new(&batch, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }
    ex_runner_options ro = ex_runner_options_default();
    ro.client = client;
    ro.lm = o->lm;
    ro.judge_lm = o->lm;
    ro.metric = o->metric;
    if (ex_runner_new(p, o->module, &ro, &runner, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }
    if (opt_exec_init(&x, p, o, runner, &train, train_rows, n_train, have_val ? &val : &train, val_rows, n_val,
                      conc, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }
    have_exec = 1;
    x.batch = batch;
    x.batch_client = client;
    x.batch_poll_s = (double)a.batch.poll_ms / 1000.0;
    x.batch_max_wait_s = (double)a.batch.max_wait_s;
    if (a.estimate) {
        status = print_estimate(&x, &params, &mem, o, n_train, n_val) ? 0 : 1;
        goto out;
    }
    const char *valset_name = have_val ? o->valset->name : "trainset holdout";
    x.b.valset_name = valset_name;
    progress_ctx pc = { client, a.quiet, dsp_client_usage(client) };
    x.bar = !a.quiet;
    x.progress = progress;
    x.progress_ctx = &pc;
    finetune_paths(&mem, out_path, &x.ft_data_path, &x.ft_jobs_path, &x.ft_adapters_dir);
    x.quiet = a.quiet;
    /* The endpoint the client calls, as it chooses it (a job is keyed by it). */
    x.ft_base_url = a.client.base_url ? a.client.base_url : getenv("DSPCC_BASE_URL");
    /* better_together: its stages and what each p runs. */
    const char *what = params.strategy ? arena_printf(&mem, "%s (%s, p: %s)", params.optimizer, params.strategy,
                                                      params.prompt_optimizer)
                                       : params.optimizer;
    if (!a.quiet)
        fprintf(stderr, "dspcc optimize: %s with %s on %s (%zu examples), scored on %s (%zu examples), seed %llu\n",
                o->module->name, what, o->trainset->name, n_train,
                have_val ? o->valset->name : "a holdout of the trainset", n_val, (unsigned long long)params.seed);

    opt_result res;
    dsp_status ost = opt_optimize(&params, &x.b, &mem, &res, &err);
    /* Stopped by the breaker: one error, no state from failed calls. */
    if (cli_stopped("optimize", client, pc.start, a.client.no_cache))
        goto out;
    if (ost != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        if (err.status == DSP_ERR_ENV && o->lm->api_key_env)
            /* Where the name comes from, so the fix is one look away. */
            fprintf(stderr, "  the lm `%s` (%s:%d) reads its key from %s; export it and run again\n",
                    o->lm->name, o->lm->loc.file ? o->lm->loc.file : a.file, o->lm->loc.line, o->lm->api_key_env);
        goto out;
    }
    dsp_usage_totals u = cli_usage_since(pc.start, dsp_client_usage(client));
    opt_exec_note_no_demos(&x, &params, &res.optimized, &mem);

    st_state st;
    opt_exec_state(&x, &res, &mem, &st);
    /* better_together: the prompted teacher and the fine-tuned student. */
    opt_cost_row cost[2];
    size_t n_cost = res.finetune.model ? opt_cost_rows(&res, o->lm, x.student, cost) : 0;
    char hex[65] = "";
    if (!sha256_file(a.file, hex)) {
        fprintf(stderr, "dspcc optimize: cannot read %s to hash it\n", a.file);
        goto out;
    }
    st.program = (char *)o->module->name;
    st.source = (char *)p->source;
    st.source_sha256 = hex;
    st.optimizer = (char *)params.optimizer;
    st.seed = (long long)params.seed;
    st.metric = (char *)o->metric->name;
    st.valset = (char *)valset_name;
    if (!have_val) {
        /* The rows behind the scores, so `dspcc eval --holdout` reruns them. */
        st.holdout_rows = arena_array(&mem, n_val + 1, sizeof *st.holdout_rows);
        for (size_t i = 0; i < n_val; i++)
            st.holdout_rows[i] = (long long)val_rows[i];
        qsort(st.holdout_rows, n_val, sizeof *st.holdout_rows, cmp_ll);
        st.n_holdout_rows = n_val;
    }
    st.lm_calls = u.calls;
    /* Cache hits count as first made: a warm re-run writes the same state. */
    st.has_usage = 1;
    st.prompt_tokens = u.prompt_tokens + u.cached_prompt_tokens;
    st.completion_tokens = u.completion_tokens + u.cached_completion_tokens;
    st.cost_usd = u.unpriced_calls ? -1 : (double)(u.cost_pusd + u.cached_cost_pusd) / 1e12;
    if (st_write_file(&st, out_path, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }
    /* Per-class scores of the chosen program on the valset, when the
     * metric compares an enum output: in the summary and the report. Its
     * calls were made when it was scored, so the cache answers them. */
    if (has_enum_result(o->module) && opt_exec_class_report(&x, &res.best, &classes, &err) != DSP_OK) {
        fprintf(stderr, "dspcc optimize: %s\n", err.message);
        goto out;
    }

    if (a.report) {
        report_predictor *rp = arena_array(&mem, x.b.n_preds + 1, sizeof *rp);
        for (size_t i = 0; i < x.b.n_preds; i++) {
            rp[i].name = x.b.pred_names[i];
            rp[i].instructions = res.best.instructions[i];
            rp[i].n_demos = res.best.demos[i].n;
            rp[i].model = res.best.model;
            rp[i].demos = &res.best.demos[i];
            const opt_knn *kn = res.best.knn ? &res.best.knn[i] : NULL;
            size_t traced = 0;
            for (size_t d = 0; kn && d < kn->pool.n; d++)
                traced += kn->pool.items[d].bootstrapped != 0;
            if (kn && kn->k > 0 && kn->pool.n > 0)
                rp[i].knn = arena_printf(&mem, "demos chosen per input at run time: its %zu nearest of %zu training "
                                               "rows by lm `%s`'s vectors (%zu numbers each; knn_fewshot); %zu of "
                                               "them are the teacher's traces, the others labelled",
                                         kn->k, kn->pool.n, o->embedder->name, kn->dim, traced);
            const ir_predictor *ip = x.preds[i];
            const char **in = arena_array(&mem, ip->signature->n_inputs + 1, sizeof *in);
            for (size_t k = 0; k < ip->signature->n_inputs; k++)
                in[k] = ip->signature->inputs[k].name;
            const char **outn = arena_array(&mem, ip->n_outputs + 1, sizeof *outn);
            for (size_t k = 0; k < ip->n_outputs; k++)
                outn[k] = ip->outputs[k].name;
            rp[i].input_names = in;
            rp[i].output_names = outn;
            if (res.candidates && res.n_candidates) {
                rp[i].candidates = res.candidates[i];
                rp[i].n_candidates = res.n_candidates[i];
            }
            for (size_t d = 0; d < res.best.demos[i].n; d++)
                rp[i].n_bootstrapped += res.best.demos[i].items[d].bootstrapped != 0;
        }
        const char *url = a.client.base_url ? a.client.base_url : getenv("DSPCC_BASE_URL");
        if (!url || !*url)
            url = o->lm->base_url;
        report_info ri = { 0 };
        ri.program = o->module->name;
        ri.source = p->source;
        ri.optimizer = params.optimizer;
        ri.metric = o->metric->name;
        ri.trainset = o->trainset->name;
        ri.valset = st.valset;
        ri.seed = (long long)params.seed;
        ri.n_train = n_train;
        ri.n_val = n_val;
        ri.baseline_score = res.baseline_score;
        ri.final_score = res.final_score;
        ri.optimized_score = res.optimized_score;
        ri.shipped_reason = res.shipped_reason;
        ri.n_search = res.n_search;
        ri.notes = res.notes;
        ri.n_notes = res.n_notes;
        ri.n_failed = res.n_failed;
        ri.n_failed_trials = res.n_failed_trials;
        ri.teacher_runs = x.n_teacher_runs;
        ri.failed_teacher_runs = x.n_teacher_failed;
        ri.trials = res.trials;
        ri.n_trials = res.n_trials;
        ri.stages = res.stages;
        ri.n_stages = res.n_stages;
        ri.preds = rp;
        ri.n_preds = x.b.n_preds;
        ri.lm_calls = u.calls;
        ri.cache_hits = u.cache_hits;
        ri.http_requests = u.http_requests;
        ri.prompt_tokens = u.prompt_tokens;
        ri.completion_tokens = u.completion_tokens;
        ri.cost = cost;
        ri.n_cost = n_cost;
        /* As the state counts them: the same page cold or warm. */
        ri.prompt_tokens = st.prompt_tokens;
        ri.completion_tokens = st.completion_tokens;
        ri.cost_usd = st.cost_usd;
        ri.classes = &classes;
        ri.times = a.report_times;
        ri.seconds = now_s() - t_start;
        if (is_local(url))
            ri.lm_note = "The LM endpoint is a local server on this machine. In this project's tests that is "
                         "dsp-refserver, a deterministic reference model that is a test fixture, not a real LM: "
                         "its scores show the optimizer works, not how a real model would do.";
        if (report_write_html(&ri, a.report, &err) != DSP_OK) {
            fprintf(stderr, "dspcc optimize: %s\n", err.message);
            goto out;
        }
    }
    printf("%s: %s baseline %.4f -> final %.4f on %s (%zu examples); %zu trials; lm calls %lld (cache hits %lld, "
           "http requests %lld)\n",
           o->module->name, params.optimizer, res.baseline_score, res.final_score, st.valset, n_val, res.n_trials,
           (long long)u.calls, (long long)u.cache_hits, (long long)u.http_requests);
    {
        char cost[200];
        printf("  tokens %lld prompt, %lld completion (cache hits counted as first made); cost %s; %.1fs\n",
               (long long)(u.prompt_tokens + u.cached_prompt_tokens),
               (long long)(u.completion_tokens + u.cached_completion_tokens), cli_cost_text(&u, cost, sizeof cost),
               now_s() - t_start);
        print_trials(&res);
    }
    ex_class_report_print(stdout, &classes);
    /* The lines below belong to the summary line above; what was written comes last. */
    print_trust(&res, &x);
    print_stages(&res, x.ft_data_path, x.ft_jobs_path);
    opt_cost_print(stdout, cost, n_cost, st.valset, n_val);
    if (!have_val)
        printf("no valset: the scores are on %zu held-out %s rows; `dspcc eval %s --state %s --holdout` "
               "reruns them\n", n_val, o->trainset->name, a.file, out_path);
    printf("wrote %s%s%s\n", out_path, a.report ? " and " : "", a.report ? a.report : "");
    status = 0;
out:
    ex_class_report_free(&classes);
    if (have_exec)
        opt_exec_free(&x);
    ex_runner_free(runner);
    ex_dataset_free(&train);
    if (have_val)
        ex_dataset_free(&val);
    dsp_client_attach_batch(client, NULL, false);
    dsp_lm_batch_free(batch);
    dsp_client_free(client);
    dsp_error_clear(&err);
    arena_free(&mem);
    return status;
}

const dspcc_cmd cmd_optimize = {
    "optimize",
    "search for the best prompts (demos, instructions) and write an optimized state",
    "usage: dspcc optimize FILE.dsp [-o STATE.json] [--report R.html] [options]\n\n"
    "Runs the optimize block of FILE.dsp: executes the program on the trainset\n"
    "through the same runtime the generated C uses, picks demos and instructions\n"
    "(labeled_fewshot, bootstrap_fewshot, random_search, mipro, copro, gepa,\n"
    "simba; knn_fewshot chooses each input's demos at run time by an embedding\n"
    "model's vectors; ensemble has the best random_search candidates, or the\n"
    "saved states it lists, vote), or\n"
    "also fine-tunes the lm (better_together), scores candidates on\n"
    "the valset with the metric, and writes the winner as an optimized state for\n"
    "`dspcc build --state`. The trainset is never used for the scores, and its\n"
    "rows whose inputs repeat a row scored on are left out (with a warning).\n"
    "better_together writes its training data to NAME.finetune.jsonl and records\n"
    "its job in NAME.finetune-jobs.json, beside the state, so that neither a\n"
    "re-run nor a run at the same time starts the same job twice. With a\n"
    "`trainer` on the student lm it trains a LoRA adapter locally instead, into\n"
    "NAME.adapters/KEY, reused by a re-run on the same data while its SHA-256\n"
    "matches (docs/optimize.md).\n\n"
    "  -o, --output FILE    the state to write (default: NAME.state.json here)\n"
    "  --report FILE        also write an HTML report: scores, trials, a plot\n"
    "  --report-times       the report also shows wall time per trial and in all\n"
    "                       (off by default: without it a re-run writes the same page)\n"
    "  --seed N             override the optimize block's seed\n"
    "  --trainset-limit N   only the first N training examples (quick runs)\n"
    "  --valset-limit N     only the first N validation examples (quick runs)\n"
    "  -j, --concurrency N  examples in flight (default: the block's, else 8)\n"
    "  --base-url URL       send every LM call to this OpenAI-compatible server\n"
    "  --cache-dir DIR      the response cache (default $DSPCC_CACHE_DIR or ~/.cache/dspcc)\n"
    "                       (DSPCC_CACHE_URL=redis://HOST:PORT adds a Redis that\n"
    "                       several machines share: docs/runtime.md)\n"
    "  --batch              bootstrapping (the teacher's runs over the trainset) sends\n"
    "                       the requests the cache lacks through the provider's batch\n"
    "                       API first and waits (OpenAI Batch, Anthropic Message\n"
    "                       Batches: half the price; docs/runtime.md); scoring and\n"
    "                       search run as usual\n"
    "  --batch-poll MS      between two status requests of a batch (default 10000)\n"
    "  --batch-max-wait DURATION\n"
    "                       give up waiting for each bootstrapping's batches after\n"
    "                       DURATION (90, 90s, 30m, 2h; default 25h); they stay\n"
    "                       recorded, and the same command resumes them\n"
    "  --module NAME        which optimize block, when there are several\n"
    "  --trace FILE         append a JSON line per LM call and per module call\n"
    "                       (docs/inspect.md; $DSPCC_TRACE does the same)\n"
    "  --estimate           print the LM calls, tokens and cost this run implies\n"
    "                       (from the rendered prompts' sizes) and exit without\n"
    "                       calling any LM (docs/inspect.md)\n"
    "  --allow-regression   ship the optimizer's program even when it does not beat\n"
    "                       the unoptimized one on the valset (default: keep the\n"
    "                       unoptimized program and say so)\n"
    CLI_CLIENT_FLAGS_HELP("  ")
    "  -q, --quiet          no progress lines on stderr\n\n"
    "Every score printed and recorded is the mean metric over the whole valset,\n"
    "the score `dspcc eval --data VALSET --state STATE` prints. mipro's auto presets\n"
    "search on a seeded sample of the valset (light: 100, as DSPy) and then score\n"
    "the unoptimized program and the top 3 candidates on all of it.\n\n"
    "Same program, data, seed and a warm cache give the same state. An interrupted\n"
    "run, started again, only makes the LM calls the cache does not hold.\n\n"
    "Exit status: 0 written, 1 errors, 2 bad usage.\n",
    run,
};
