/* eval_batch.c — the passes of `dspcc eval --batch`, and its files for
 * vLLM's batch runner (`--batch-export`, `--batch-import`; see
 * eval_batch.h). */
#include "eval_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datafile.h"
#include "file_write.h"

/* A program whose requests depend on earlier replies needs one round per
 * step; loops (refine, react) may need more. Past this, the rest goes as
 * normal calls in the eval itself. */
#define EX_BATCH_MAX_ROUNDS 32

/* A pass over the rows that records the requests the cache cannot answer
 * (its scores mean nothing); replies b holds are served and cached. */
static dsp_status collect_pass(const ex_runner *r, const ex_config *cfg, const ex_dataset *d,
                               const ex_eval_options *eo, dsp_client *c, dsp_lm_batch *b, dsp_error *err)
{
    ex_eval_options o = *eo;
    o.progress = NULL;
    o.keep_outputs = false;
    dsp_client_attach_batch(c, b, true);
    ex_eval_result res;
    dsp_status st = ex_evaluate(r, cfg, d, &o, &res, err);
    if (st == DSP_OK)
        ex_eval_result_free(&res);
    dsp_client_attach_batch(c, b, false);
    return st;
}

/* Why no request is pending after a pass: the cache held them all, or
 * the program asked no LM anything (C tools only, no judge). */
static bool asked_no_lm(dsp_client *c)
{
    dsp_usage_totals u = dsp_client_usage(c);
    return u.calls == 0 && u.cache_hits == 0 && u.cache_misses == 0;
}

static const char *nothing_pending(dsp_client *c)
{
    return asked_no_lm(c) ? "the program makes no LM call (C tools only, and its metric asks no judge)"
                          : "the cache holds every request";
}

dsp_status ex_batch_prefill(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *eo,
                            dsp_client *c, dsp_lm_batch *b, double poll_s, double max_wait_s, dsp_error *err)
{
    dsp_lm_batch_options bo;
    memset(&bo, 0, sizeof bo);
    bo.poll_s = poll_s;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dsp_lm_batch_report rep;
    memset(&rep, 0, sizeof rep);
    dsp_status st = DSP_OK;
    for (int round = 1; st == DSP_OK; round++) {
        /* A pass: replies of the last round are stored in the cache, the
         * requests that follow from them recorded. */
        st = collect_pass(r, cfg, d, eo, c, b, err);
        size_t n = st == DSP_OK ? dsp_lm_batch_pending(b) : 0;
        if (n == 0)
            break;
        if (round > EX_BATCH_MAX_ROUNDS) {
            fprintf(stderr, "batch: %zu requests still follow after %d rounds; the eval sends them as normal calls\n",
                    n, EX_BATCH_MAX_ROUNDS);
            break;
        }
        fprintf(stderr, "batch: round %d: %zu requests the cache does not hold\n", round, n);
        if (max_wait_s > 0) { /* what the rounds before left; one status request at least */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double left = max_wait_s - (double)(now.tv_sec - t0.tv_sec) - (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
            bo.max_wait_s = left > 0.001 ? left : 0.001;
        }
        st = dsp_lm_batch_run(c, b, &bo, &rep, err);
    }
    /* The last pass stored the last replies: the cache must hold them
     * before the records of their batches go. */
    if (st == DSP_OK)
        st = dsp_lm_batch_finish(c, b, err);
    if (rep.batches)
        fprintf(stderr,
                "batch: %zu batch%s (%zu resumed) of %zu requests: %zu replies kept, %zu sent as normal calls\n",
                rep.batches, rep.batches == 1 ? "" : "es", rep.resumed, rep.requests, rep.succeeded, rep.failed);
    else if (st == DSP_OK)
        fprintf(stderr, "batch: %s: nothing to send\n", nothing_pending(c));
    return st;
}

/* Reads import_path's results against the requests a pass records. */
static dsp_status import_file(const ex_runner *r, const ex_config *cfg, const ex_dataset *d,
                              const ex_eval_options *eo, dsp_client *c, dsp_lm_batch *b, const char *path,
                              dsp_error *err)
{
    char *text = NULL;
    size_t len = 0;
    const char *why = NULL;
    df_status ds = df_read_file(path, &text, &len, &why);
    if (ds != DF_OK)
        return dsp_error_set(err, DSP_ERR_IO, "--batch-import %s: %s", path,
                             ds == DF_NOMEM ? "out of memory" : why ? why : "cannot read it");
    dsp_status st = collect_pass(r, cfg, d, eo, c, b, err);
    size_t asked = st == DSP_OK ? dsp_lm_batch_pending(b) : 0;
    dsp_lm_batch_import_report rep;
    if (st == DSP_OK)
        st = dsp_lm_batch_import(b, path, text, len, &rep, err);
    free(text);
    if (st != DSP_OK)
        return st;
    if (asked == 0 && asked_no_lm(c)) {
        fprintf(stderr, "batch: %s: %s: nothing to import\n", path, nothing_pending(c));
        return DSP_OK;
    }
    fprintf(stderr, "batch: %s: %zu replies kept for the %zu requests the cache lacks", path, rep.replies, asked);
    if (rep.failed)
        fprintf(stderr, ", %zu answered with an error (sent as normal calls; the first: %s)", rep.failed,
                rep.first_failure);
    if (rep.missing)
        fprintf(stderr, ", %zu not in the file", rep.missing);
    if (rep.unknown)
        fprintf(stderr, "; %zu of its %zu lines are for requests this run does not make (another program, data "
                        "set or round), not used", rep.unknown, rep.lines);
    fputc('\n', stderr);
    return DSP_OK;
}

dsp_status ex_batch_files(const ex_runner *r, const ex_config *cfg, const ex_dataset *d, const ex_eval_options *eo,
                          dsp_client *c, dsp_lm_batch *b, const char *import_path, const char *export_path,
                          bool *exported, dsp_error *err)
{
    *exported = false;
    dsp_status st = import_path ? import_file(r, cfg, d, eo, c, b, import_path, err) : DSP_OK;
    if (st != DSP_OK || !export_path)
        return st;
    /* The imported replies go into the cache; the requests that follow
     * from them (the next step of the program) are recorded. Requests the
     * file did not answer are still pending: they are written again. */
    st = collect_pass(r, cfg, d, eo, c, b, err);
    if (st == DSP_OK)
        st = dsp_lm_batch_finish(c, b, err);
    char *jsonl = NULL;
    size_t len = 0, n = 0;
    if (st == DSP_OK)
        st = dsp_lm_batch_export(b, &jsonl, &len, &n, err);
    char why[FW_WHY_MAX];
    if (st == DSP_OK && fw_write_file(export_path, jsonl, len, 0644, why) != 0)
        st = dsp_error_set(err, DSP_ERR_IO, "--batch-export: %s", why);
    free(jsonl);
    if (st != DSP_OK)
        return st;
    *exported = true;
    if (n)
        fprintf(stderr,
                "batch: wrote %zu requests the cache lacks to %s; run them through vLLM's batch runner\n"
                "  (python -m vllm.entrypoints.openai.run_batch -i %s -o OUT.jsonl --model MODEL),\n"
                "  then run this command again with --batch-import OUT.jsonl: a program of several steps\n"
                "  takes a round per step, until a round writes no request\n",
                n, export_path, export_path);
    else
        fprintf(stderr, "batch: %s: %s is empty; run the eval without --batch-export\n", nothing_pending(c),
                export_path);
    return DSP_OK;
}
