/* cmd_eval.c — `dspcc eval FILE.dsp --data NAME|PATH`: runs the program
 * (as written, or with an optimized state) over a data set through the
 * interpreter and reports the mean metric, the failures, LM calls, cache
 * hits and tokens; `--json` prints the same as one JSON object. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli_common.h"
#include "cli_options.h"
#include "cmd.h"
#include "diag.h"
#include "eval_batch.h"
#include "exec.h"
#include "sema.h"
#include "state.h"

typedef struct eval_args {
    const char *file, *state, *data, *module, *metric, *predictions;
    const char *batch_export, *batch_import; /* vLLM's batch runner's files */
    int json, max_failures, holdout;
    long limit;
    /* --base-url, --cache-dir, --no-cache, --trace, -j (max_in_flight; 0:
     * the optimize block's, else 8), --retries, --timeout, --deadline */
    cli_client_args client;
    cli_batch_args batch; /* --batch, --batch-poll, --batch-max-wait */
} eval_args;

enum {
    OPT_STATE = 256, OPT_DATA, OPT_MODULE, OPT_METRIC, OPT_PREDICTIONS, OPT_BATCH_EXPORT, OPT_BATCH_IMPORT,
    OPT_JSON, OPT_HOLDOUT, OPT_LIMIT
};

static const struct option options[] = {
    { "state", required_argument, NULL, OPT_STATE },
    { "data", required_argument, NULL, OPT_DATA },
    { "module", required_argument, NULL, OPT_MODULE },
    { "metric", required_argument, NULL, OPT_METRIC },
    { "predictions", required_argument, NULL, OPT_PREDICTIONS },
    { "batch-export", required_argument, NULL, OPT_BATCH_EXPORT },
    { "batch-import", required_argument, NULL, OPT_BATCH_IMPORT },
    { "json", no_argument, NULL, OPT_JSON },
    { "holdout", no_argument, NULL, OPT_HOLDOUT },
    { "limit", required_argument, NULL, OPT_LIMIT },
    CLI_OPT_BASE_URL_ENTRY,
    CLI_OPT_CACHE_DIR_ENTRY,
    CLI_OPT_NO_CACHE_ENTRY,
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
static int parse_args(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->max_failures = 20;
    a->batch = (cli_batch_args)CLI_BATCH_ARGS_DEFAULT;
    cli_client_args_init(&a->client);
    cli_opts o;
    cli_opts_init(&o, &cmd_eval, argc, argv, "j:", options);
    long long v;
    int c;
    while ((c = cli_opts_next(&o)) != CLI_OPTS_END) {
        switch (c) {
        case OPT_STATE: a->state = o.value; break;
        case OPT_DATA: a->data = o.value; break;
        case OPT_MODULE: a->module = o.value; break;
        case OPT_METRIC: a->metric = o.value; break;
        case OPT_PREDICTIONS: a->predictions = o.value; break;
        case OPT_BATCH_EXPORT: a->batch_export = o.value; break;
        case OPT_BATCH_IMPORT: a->batch_import = o.value; break;
        case OPT_JSON: a->json = 1; break;
        case OPT_HOLDOUT: a->holdout = 1; break;
        case OPT_LIMIT:
            if (!cli_opts_whole(&o, 1, &v))
                return 2;
            a->limit = (long)v;
            break;
        case CLI_OPTS_HELP: return -1;
        case CLI_OPTS_BAD: return 2;
        default:
            if (cli_client_option(&o, c, &a->client) < 0 || cli_batch_option(&o, c, &a->batch) < 0)
                return 2;
        }
    }
    if (!cli_opts_file(&o, &a->file))
        return 2;
    bool files = a->batch_export || a->batch_import;
    if ((a->batch.on || files) && a->client.no_cache) {
        fprintf(stderr, "dspcc eval: %s puts the batches' replies in the response cache, which --no-cache "
                        "turns off; drop one of them\n", a->batch.on ? "--batch" : a->batch_export ? "--batch-export" : "--batch-import");
        return 2;
    }
    if (!cli_batch_check(&o, &a->batch))
        return 2;
    if (a->batch.on && files) {
        fprintf(stderr, "dspcc eval: --batch sends batches to the provider's API; --batch-export and --batch-import "
                        "hand them to vLLM's batch runner as files: use one way\n");
        return 2;
    }
    if (a->batch_export && !cli_check_output("eval", "--batch-export", a->batch_export))
        return 2;
    if (a->predictions && !cli_check_output("eval", "--predictions", a->predictions))
        return 2;
    if (a->holdout && !a->state) {
        fputs("dspcc eval: --holdout runs the trainset rows a state was scored on; give that state with "
              "--state\n", stderr);
        return 2;
    }
    /* --holdout defaults to the optimize block's trainset (run() knows it). */
    if (!a->file || (!a->data && !a->holdout)) {
        fprintf(stderr, "dspcc eval: usage: dspcc eval FILE.dsp --data NAME|PATH [options]; see `dspcc eval --help`\n");
        return 2;
    }
    return 0;
}

/* What to run: the module, its lm and metric. The optimize block of the
 * module says; without one, the only module/metric/lm there is. */
typedef struct eval_target {
    const ir_module *module;
    const ir_optimize *opt;     /* the module's optimize block, or NULL */
    const ir_metric *metric;
    const ir_lm *lm;
    const ir_lm *judge_lm;
} eval_target;

/* --holdout: the state must have been scored on a trainset holdout, and
 * --data (default: the optimize block's trainset) names that trainset. */
static int holdout_data(eval_args *a, const st_state *st, const eval_target *t)
{
    if (!st->n_holdout_rows) {
        fprintf(stderr, "dspcc eval: %s was scored on %s%s, not on a holdout of the trainset; run "
                        "`--data %s` instead of --holdout\n",
                a->state, st->valset ? "the valset " : "a valset", st->valset ? st->valset : "",
                st->valset ? st->valset : "VALSET");
        return 0;
    }
    if (!a->data) {
        if (!t->opt) {
            fprintf(stderr, "dspcc eval: --holdout needs --data TRAINSET: %s has no optimize block for %s\n",
                    a->file, t->module->name);
            return 0;
        }
        a->data = t->opt->trainset->name;
    }
    return 1;
}

/* Stops the walk at a judge on the default lm (one with no `lm:`). */
static int default_judge(void *ctx, const ir_expr *j)
{
    if (j->judge_lm)
        return 0;
    *(const ir_expr **)ctx = j;
    return 1;
}

static int pick_target(const ir_program *p, const eval_args *a, const st_state *st, eval_target *t)
{
    memset(t, 0, sizeof *t);
    if (!cli_pick_module("eval", p, a->file, a->module, a->state, st ? st->program : NULL, &t->module, &t->opt))
        return 0;
    const ir_optimize *opt = t->opt;
    const char *metric = a->metric ? a->metric : st && st->metric ? st->metric : NULL;
    if (metric) {
        /* A metric several optimize blocks use is checked once per module:
         * take the instance of the module run. */
        for (size_t i = 0; i < p->n_metrics; i++)
            if (strcmp(p->metrics[i]->name, metric) == 0 &&
                (!t->metric || strcmp(p->metrics[i]->module, t->module->name) == 0))
                t->metric = p->metrics[i];
        if (!t->metric) {
            fprintf(stderr, "dspcc eval: %s has no metric `%s` that scores module `%s` (", a->file, metric,
                    t->module->name);
            int any = 0;
            for (size_t i = 0; i < p->n_metrics; i++)
                if (strcmp(p->metrics[i]->module, t->module->name) == 0)
                    fprintf(stderr, "%s`%s`", any++ ? ", " : "metrics that do: ", p->metrics[i]->name);
            fprintf(stderr, "%s); a metric of that name that does not fit the module is warned about above, "
                            "with why\n", any ? "" : "none does");
            return 0;
        }
    } else if (opt) {
        t->metric = opt->metric;
    } else {
        for (size_t i = 0; i < p->n_metrics && !t->metric; i++)
            if (strcmp(p->metrics[i]->module, t->module->name) == 0)
                t->metric = p->metrics[i];
    }
    if (!t->metric) {
        fprintf(stderr, "dspcc eval: no metric scores module `%s`; declare `metric NAME(ex, pred) = ...`\n",
                t->module->name);
        return 0;
    }
    if (strcmp(t->metric->module, t->module->name) != 0) {
        fprintf(stderr, "dspcc eval: metric `%s` scores module `%s`, not `%s`\n", t->metric->name,
                t->metric->module, t->module->name);
        return 0;
    }
    t->lm = opt ? opt->lm : p->n_lms ? p->lms[0] : NULL;
    t->judge_lm = t->lm;
    if (!t->lm) {
        /* A program of C tools only makes no LM call: it needs no lm. */
        const ir_predictor *ip = ir_module_first_predictor(t->module);
        const ir_expr *judge = NULL;
        ir_metric_judges(t->metric, default_judge, &judge);
        if (ip)
            fprintf(stderr, "dspcc eval: module `%s` calls an LM (predictor `%s`), but %s declares no lm to run it "
                            "on; declare one, e.g. `lm main = \"openai/gpt-4o-mini\"`\n",
                    t->module->name, ip->name, a->file);
        else if (judge)
            fprintf(stderr, "dspcc eval: metric `%s` asks judge(%s) without `lm:`, and %s declares no lm for it; "
                            "declare one, e.g. `lm main = \"openai/gpt-4o-mini\"`\n",
                    t->metric->name, judge->judge->name, a->file);
        if (ip || judge)
            return 0;
    }
    return 1;
}

/* Failures that every example would repeat: no API key, no endpoint. */
static int fails_everywhere(dsp_status s)
{
    return s == DSP_ERR_ENV || s == DSP_ERR_NETWORK;
}

/* Moves rest's results after res's and sums what ex_evaluate sums, in the
 * same order, so two parts give the numbers one run would. rest is
 * emptied either way; 0 when out of memory (res unchanged). */
static int append_results(const ir_metric *metric, ex_eval_result *res, ex_eval_result *rest)
{
    size_t n = res->n + rest->n;
    ex_result *results = malloc((n + 1) * sizeof *results);
    size_t *rows = malloc((n + 1) * sizeof *rows);
    if (!results || !rows) {
        free(results);
        free(rows);
        ex_eval_result_free(rest);
        return 0;
    }
    memcpy(results, res->results, res->n * sizeof *results);
    memcpy(results + res->n, rest->results, rest->n * sizeof *results);
    memcpy(rows, res->rows, res->n * sizeof *rows);
    memcpy(rows + res->n, rest->rows, rest->n * sizeof *rows);
    free(res->results);
    free(res->rows);
    free(rest->results);
    free(rest->rows);
    res->results = results;
    res->rows = rows;
    res->n = n;
    res->n_failed += rest->n_failed;
    res->usage.lm_calls += rest->usage.lm_calls;
    res->usage.cache_hits += rest->usage.cache_hits;
    res->usage.prompt_tokens += rest->usage.prompt_tokens;
    res->usage.completion_tokens += rest->usage.completion_tokens;
    res->seconds += rest->seconds;
    ex_eval_score(metric, res);
    memset(rest, 0, sizeof *rest);
    return 1;
}

static void print_failures(const ex_eval_result *res, const ex_dataset *d, int max)
{
    if (!res->n_failed)
        return;
    printf("\nfailures (%zu, scored 0):\n", res->n_failed);
    printf("  %-6s %-6s %s\n", "row", "line", "error");
    int shown = 0;
    for (size_t i = 0; i < res->n && shown < max; i++) {
        const ex_result *r = &res->results[i];
        if (r->status == DSP_OK)
            continue;
        printf("  %-6zu %-6d %s: %.200s\n", res->rows[i], d->rows[res->rows[i]].line, dsp_status_name(r->status),
               r->error ? r->error : "");
        shown++;
    }
    if (res->n_failed > (size_t)shown)
        printf("  ... and %zu more (--json lists them all)\n", res->n_failed - (size_t)shown);
}

/* The mean of the examples' own scores (failures 0): the score, unless
 * the metric pools items (`average: micro`). */
static double example_mean(const ex_eval_result *res)
{
    double sum = 0;
    for (size_t i = 0; i < res->n; i++)
        sum += res->results[i].score;
    return res->n ? sum / (double)res->n : 0;
}

static int print_json(const ex_eval_result *res, const ex_dataset *d, const eval_target *t, const eval_args *a,
                      const dsp_usage_totals *u, const ex_class_report *cr)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "program", t->module->name);
    cJSON_AddStringToObject(o, "metric", t->metric->name);
    cJSON_AddStringToObject(o, "data", d->name);
    if (a->state)
        cJSON_AddStringToObject(o, "state", a->state);
    cJSON_AddNumberToObject(o, "score", res->mean);
    if (res->counts.counted) {
        cJSON *m = cJSON_AddObjectToObject(o, "micro");
        cJSON_AddNumberToObject(m, "matched", (double)res->counts.matched);
        cJSON_AddNumberToObject(m, "predicted", (double)res->counts.predicted);
        cJSON_AddNumberToObject(m, "gold", (double)res->counts.gold);
        cJSON_AddNumberToObject(m, "example_mean", example_mean(res));
    }
    cJSON_AddNumberToObject(o, "n", (double)res->n);
    cJSON_AddNumberToObject(o, "failed", (double)res->n_failed);
    cJSON_AddNumberToObject(o, "lm_calls", (double)u->calls);
    cJSON_AddNumberToObject(o, "cache_hits", (double)u->cache_hits);
    cJSON_AddNumberToObject(o, "http_requests", (double)u->http_requests);
    cJSON_AddNumberToObject(o, "retries", (double)u->retries);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)u->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)u->completion_tokens);
    /* null when no call that reached an LM had a price */
    if (u->calls > 0 && u->unpriced_calls >= u->calls) {
        cJSON_AddNullToObject(o, "cost_usd");
        cJSON_AddNullToObject(o, "cost_usd_uncached");
    } else {
        cJSON_AddNumberToObject(o, "cost_usd", u->cost_usd);
        cJSON_AddNumberToObject(o, "cost_usd_uncached", (double)(u->cost_pusd + u->cached_cost_pusd) / 1e12);
    }
    cJSON_AddNumberToObject(o, "unpriced_calls", (double)u->unpriced_calls);
    cJSON_AddNumberToObject(o, "seconds", res->seconds);
    cJSON *fails = cJSON_AddArrayToObject(o, "failures");
    for (size_t i = 0; i < res->n; i++) {
        const ex_result *r = &res->results[i];
        if (r->status == DSP_OK)
            continue;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddNumberToObject(f, "row", (double)res->rows[i]);
        cJSON_AddNumberToObject(f, "line", d->rows[res->rows[i]].line);
        cJSON_AddStringToObject(f, "status", dsp_status_name(r->status));
        cJSON_AddStringToObject(f, "error", r->error ? r->error : "");
        cJSON_AddItemToArray(fails, f);
    }
    cJSON *classes = ex_class_report_json(cr);
    if (classes)
        cJSON_AddItemToObject(o, "per_class", classes);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s) {
        fputs("dspcc eval: out of memory\n", stderr);
        return 0;
    }
    puts(s);
    free(s);
    return 1;
}

static int run(int argc, char **argv)
{
    eval_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    cli_on_interrupt("eval");

    arena mem;
    arena_init(&mem);
    diag dg;
    diag_init(&dg, &mem, stderr);
    int status = 1;
    dsp_error err = { 0 };
    st_state st;
    memset(&st, 0, sizeof st);
    int have_state = 0;
    dsp_client *client = NULL;
    dsp_lm_batch *batch = NULL;
    ex_runner *runner = NULL;
    ex_dataset data;
    memset(&data, 0, sizeof data);
    ex_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ex_eval_result res;
    memset(&res, 0, sizeof res);
    size_t *rows = NULL;
    ex_class_report classes;
    memset(&classes, 0, sizeof classes);

    ir_program *p = sema_check_file(&mem, &dg, a.file);
    if (!p)
        goto out;
    if (a.state) {
        if (st_read_file(a.state, &st, &err) != DSP_OK) {
            fprintf(stderr, "dspcc eval: %s\n", err.message);
            goto out;
        }
        have_state = 1;
    }
    eval_target t;
    if (!pick_target(p, &a, have_state ? &st : NULL, &t))
        goto out;
    if (a.holdout && !holdout_data(&a, &st, &t))
        goto out;
    if (ex_dataset_open(p, t.module, a.data, &data, &err) != DSP_OK ||
        ex_dataset_require(&data, t.metric, &err) != DSP_OK) {
        fprintf(stderr, "dspcc eval: %s\n", err.message);
        goto out;
    }
    /* Before any client is made or call sent (the rows are ascending:
     * st_read_file checks). */
    size_t n_held = st.n_holdout_rows;
    if (a.holdout && n_held && (size_t)st.holdout_rows[n_held - 1] >= data.n_rows) {
        fprintf(stderr, "dspcc eval: %s holds out row %zu of %s, which has %zu rows; the data changed since "
                        "the state was written: optimize again\n",
                a.state, (size_t)st.holdout_rows[n_held - 1], data.name, data.n_rows);
        goto out;
    }
    if (a.client.max_in_flight <= 0)
        a.client.max_in_flight = t.opt && t.opt->concurrency > 0 ? (int)t.opt->concurrency : 8;
    if (!cli_client_new("eval", &a.client, &client, &err))
        goto out;
    ex_runner_options ro = ex_runner_options_default();
    ro.client = client;
    ro.lm = t.lm;
    ro.judge_lm = t.judge_lm;
    ro.metric = t.metric;
    if (ex_runner_new(p, t.module, &ro, &runner, &err) != DSP_OK || ex_config_init(runner, &cfg, &err) != DSP_OK ||
        (have_state && ex_config_apply_state(runner, &cfg, &st, &err) != DSP_OK)) {
        fprintf(stderr, "dspcc eval: %s\n", err.message);
        goto out;
    }
    ex_eval_options eo = ex_eval_options_default();
    eo.concurrency = a.client.max_in_flight;
    eo.keep_outputs = true; /* for --predictions and the per-class scores */
    /* The first rows, so a limited run is a prefix of the full one. */
    size_t n_rows = a.holdout ? st.n_holdout_rows : data.n_rows;
    size_t n_all = a.limit > 0 && (size_t)a.limit < n_rows ? (size_t)a.limit : n_rows;
    rows = malloc((n_all + 1) * sizeof *rows);
    if (!rows) {
        fputs("dspcc eval: out of memory\n", stderr);
        goto out;
    }
    for (size_t i = 0; i < n_all; i++)
        rows[i] = a.holdout ? (size_t)st.holdout_rows[i] : i;
    if (a.batch.on || a.batch_export || a.batch_import) {
        eo.indices = rows;
        eo.n_indices = n_all;
        bool exported = false;
        if (dsp_lm_batch_new(&batch, &err) != DSP_OK ||
            (a.batch.on ? ex_batch_prefill(runner, &cfg, &data, &eo, client, batch, (double)a.batch.poll_ms / 1000.0,
                                        (double)a.batch.max_wait_s, &err)
                     : ex_batch_files(runner, &cfg, &data, &eo, client, batch, a.batch_import, a.batch_export,
                                      &exported, &err)) != DSP_OK) {
            fprintf(stderr, "dspcc eval: %s\n", err.message);
            goto out;
        }
        if (exported) { /* the requests are in the file: no eval until their replies come back */
            status = 0;
            goto out;
        }
    }
    ex_progress pg;
    ex_progress_init(&pg, "eval");
    dsp_usage_totals before = dsp_client_usage(client);
    /* The first example alone, first: when it fails because the key
     * variable is missing or the endpoint cannot be reached (after its
     * retries), every other example would fail the same way, each after
     * retries of its own: minutes of waiting for nothing. */
    ex_eval_options e1 = eo;
    e1.indices = rows;
    e1.n_indices = n_all ? 1 : 0;
    if (ex_evaluate(runner, &cfg, &data, &e1, &res, &err) != DSP_OK) {
        fprintf(stderr, "dspcc eval: %s\n", err.message);
        goto out;
    }
    /* An endpoint that answered none of the first example's requests, not
     * a byte until the call's deadline, is down (or hangs): every other
     * example would wait its own deadline for nothing, and the breaker
     * would need a wave of them to trip. One deadline is enough. */
    dsp_usage_totals u1 = cli_usage_since(before, dsp_client_usage(client));
    if (res.n == 1 && n_all > 1 && res.results[0].status == DSP_ERR_TIMEOUT && u1.http_requests > 0 &&
        u1.http_unanswered == u1.http_requests) {
        fprintf(stderr,
                "dspcc eval: the first example failed with timeout: %.400s\n"
                "  the endpoint answered none of its %lld requests (not a byte within the timeout of each,\n"
                "  until the call's deadline): it looks down, so the other %zu were not run, each of\n"
                "  which would wait as long; check the endpoint (--base-url, the lm declaration), or\n"
                "  raise --timeout and --deadline if the model is that slow, and run again\n",
                res.results[0].error ? res.results[0].error : "", (long long)u1.http_requests, n_all - 1);
        goto out;
    }
    if (res.n == 1 && n_all > 1 && fails_everywhere(res.results[0].status)) {
        fprintf(stderr,
                "dspcc eval: the first example failed with %s: %.400s\n"
                "  the other %zu would fail the same way, so they were not run; fix that (the API key\n"
                "  variable, --base-url, the lm declaration) and run again\n",
                dsp_status_name(res.results[0].status), res.results[0].error ? res.results[0].error : "",
                n_all - 1);
        goto out;
    }
    if (n_all > 1) {
        ex_eval_result rest;
        eo.indices = rows + 1;
        eo.n_indices = n_all - 1;
        eo.progress = ex_progress_update;
        eo.progress_ctx = &pg;
        if (ex_evaluate(runner, &cfg, &data, &eo, &rest, &err) != DSP_OK) {
            ex_progress_done(&pg);
            fprintf(stderr, "dspcc eval: %s\n", err.message);
            goto out;
        }
        if (!append_results(t.metric, &res, &rest)) {
            ex_progress_done(&pg);
            fputs("dspcc eval: out of memory\n", stderr);
            goto out;
        }
    }
    ex_progress_done(&pg);
    /* The cache holds the batches' replies now: their records can go. */
    if (batch)
        (void)dsp_lm_batch_finish(client, batch, NULL);
    /* Stopped by the breaker: the failures it cut short are no score. */
    if (cli_stopped("eval", client, before, a.client.no_cache))
        goto out;
    dsp_usage_totals u = cli_usage_since(before, dsp_client_usage(client));
    if (a.predictions) {
        char why[1024];
        if (ex_write_predictions(a.predictions, &data, &res, why) != 0) {
            fprintf(stderr, "dspcc eval: %s\n", why);
            goto out;
        }
    }
    if (ex_class_report_build(t.metric, &data, &res, &classes, &err) != DSP_OK) {
        fprintf(stderr, "dspcc eval: %s\n", err.message);
        goto out;
    }
    if (a.json) {
        if (!print_json(&res, &data, &t, &a, &u, &classes))
            goto out;
    } else {
        printf("%s on %s (%zu examples), metric %s%s%s\n", t.module->name, data.name, res.n, t.metric->name,
               a.state ? ", state " : "", a.state ? a.state : "");
        printf("score     %.4f\n", res.mean);
        if (res.counts.counted)
            printf("          micro-averaged over the pooled items: %zu matched of %zu predicted and %zu gold\n"
                   "          (the mean of the examples' own scores is %.4f)\n",
                   res.counts.matched, res.counts.predicted, res.counts.gold, example_mean(&res));
        printf("failed    %zu\n", res.n_failed);
        printf("lm calls  %lld (cache hits %lld, http requests %lld, retries %lld)\n", (long long)u.calls,
               (long long)u.cache_hits, (long long)u.http_requests, (long long)u.retries);
        char cost[160];
        printf("tokens    %lld prompt, %lld completion\n", (long long)u.prompt_tokens,
               (long long)u.completion_tokens);
        printf("cost      %s\n", cli_cost_text(&u, cost, sizeof cost));
        printf("time      %.2fs\n", res.seconds);
        ex_class_report_print(stdout, &classes);
        print_failures(&res, &data, a.max_failures);
    }
    status = 0;
    if (res.n > 0 && res.n_failed == res.n) {
        /* Nothing was scored: a missing API key, an endpoint that is down,
         * a wrong model name. A script must not read that as a score of 0. */
        const ex_result *r0 = &res.results[0];
        fprintf(stderr,
                "dspcc eval: every example failed, so there is no score; the first: %s: %.300s\n"
                "  fix that (the API key variable, --base-url, the lm declaration) and run again\n",
                dsp_status_name(r0->status), r0->error ? r0->error : "");
        status = 1;
    }
out:
    ex_class_report_free(&classes);
    free(rows);
    ex_eval_result_free(&res);
    ex_config_free(&cfg);
    ex_runner_free(runner);
    ex_dataset_free(&data);
    dsp_client_attach_batch(client, NULL, false);
    dsp_lm_batch_free(batch);
    dsp_client_free(client);
    if (have_state)
        st_free(&st);
    dsp_error_clear(&err);
    arena_free(&mem);
    return status;
}

const dspcc_cmd cmd_eval = {
    "eval",
    "run a program over a data set and report its metric",
    "usage: dspcc eval FILE.dsp --data NAME|PATH [--predictions FILE.jsonl] [options]\n\n"
    "Runs the program (as written, or with an optimized state) on every example of\n"
    "a data set through the same runtime the generated C uses, scores each with\n"
    "the metric and prints the mean score, the failed examples (scored 0), LM\n"
    "calls, cache hits and tokens.\n\n"
    "  --data NAME|PATH   a `data` declaration, or a .jsonl/.csv file whose columns\n"
    "                     are named like the module's fields\n"
    "  --data NAME=PATH   the file PATH read with declaration NAME's column mapping\n"
    "  --state FILE       an optimized state (NAME.state.json) to run with\n"
    "  --holdout          only the trainset rows the state was scored on, when its\n"
    "                     optimize block has no valset (--data defaults to the trainset)\n"
    "  --json             print a JSON summary; its `score` is the mean metric\n"
    "  --limit N          only the first N examples\n"
    "  -j, --concurrency N  examples in flight (default: the optimize block's, else 8)\n"
    "  --base-url URL     send every LM call to this OpenAI-compatible server\n"
    "  --cache-dir DIR    the response cache (default $DSPCC_CACHE_DIR or ~/.cache/dspcc)\n"
    "                     (DSPCC_CACHE_URL=redis://HOST:PORT adds a Redis that\n"
    "                     several machines share: docs/runtime.md)\n"
    "  --no-cache         neither read nor write the cache\n"
    "  --batch            send the LM requests the cache lacks through the provider's\n"
    "                     batch API first (OpenAI Batch, Anthropic Message Batches:\n"
    "                     half the price, answers within 24 h), one round per program\n"
    "                     step, then evaluate from the cache; a killed run resumes\n"
    "                     its batches (docs/runtime.md, \"Provider batch APIs\")\n"
    "  --batch-poll MS    between two status requests of a batch (default 10000)\n"
    "  --batch-max-wait DURATION\n"
    "                     give up waiting for the batches after DURATION in all\n"
    "                     (90, 90s, 30m, 2h; default 25h); they stay recorded, and\n"
    "                     the same command resumes them without sending again\n"
    "  --batch-export FILE\n"
    "                     write the LM requests the cache lacks as OpenAI batch\n"
    "                     input JSONL for vLLM's offline batch runner (python\n"
    "                     module vllm.entrypoints.openai.run_batch); no eval\n"
    "  --batch-import OUT put the batch runner's results in the cache first; with\n"
    "                     --batch-export, then write the next step's requests,\n"
    "                     else evaluate (docs/runtime.md, \"vLLM's batch runner\")\n"
    CLI_CLIENT_FLAGS_HELP("")
    "  --module NAME      the module to run (default: the optimize block's, else the\n"
    "                     last module)\n"
    "  --metric NAME      the metric (default: the optimize block's, else the first\n"
    "                     one that scores the module)\n"
    "  --predictions FILE write one JSON line per example, in data order: inputs,\n"
    "                     gold fields, outputs, score, error, tokens, seconds and\n"
    "                     whether the cache answered (docs/inspect.md)\n"
    "  --trace FILE       append a JSON line per LM call and per module call\n"
    "                     (docs/inspect.md; $DSPCC_TRACE does the same)\n\n"
    "When the metric compares an enum output, precision, recall, F1 and support\n"
    "per class and the confusion matrix follow the score (`per_class` in --json).\n\n"
    "The first example runs alone first; if it fails for a missing API key\n"
    "variable, an endpoint that cannot be reached, or one that answered none of\n"
    "its requests until the call's deadline, the others are not run.\n\n"
    "Exit status: 0 evaluated (failed examples included), 1 errors (also when every\n"
    "example failed: there is no score), 2 bad usage.\n",
    run,
};
