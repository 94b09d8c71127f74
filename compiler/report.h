/* report.h — the optimization report: one self-contained HTML page with
 * inline SVG (no scripts, no external files), written with deterministic
 * bytes (no dates, no absolute paths) so it can be checked in and diffed.
 */
#ifndef DSPCC_REPORT_H
#define DSPCC_REPORT_H

#include <stddef.h>

#include "dsp/error.h"
#include "exec.h"
#include "opt.h"
#include "opt_cost.h"

typedef struct report_predictor {
    const char *name;
    const char *instructions;    /* NULL: the signature's */
    size_t n_demos, n_bootstrapped;
    const char *model;           /* a fine-tuned model it runs on; NULL: the lm's */
    const opt_demos *demos;      /* the chosen demos, shown in full; NULL: none */
    const char *const *input_names, *const *output_names; /* the demo fields' names */
    const char *const *candidates; /* every instruction candidate (NULL entry: the signature's); may be NULL */
    size_t n_candidates;
    const char *knn;             /* knn_fewshot: how its demos are chosen per input; NULL: fixed demos */
} report_predictor;

typedef struct report_info {
    const char *program, *source, *optimizer, *metric, *trainset, *valset;
    long long seed;
    size_t n_train, n_val;
    double baseline_score, final_score;
    double optimized_score;      /* the optimizer's program (final_score unless the unoptimized one was kept) */
    const char *shipped_reason;  /* NULL: the optimizer's program shipped, being better */
    size_t n_search;             /* examples the search chose on; < n_val: a sample */
    const char *const *notes;
    size_t n_notes;
    size_t n_failed, n_failed_trials;
    size_t teacher_runs, failed_teacher_runs;
    const opt_trial *trials;
    size_t n_trials;
    const opt_stage *stages;     /* copro's rounds, gepa's candidates (lineage, frontier), better_together's stages */
    size_t n_stages;
    const report_predictor *preds;
    size_t n_preds;
    long long lm_calls, cache_hits, http_requests;
    long long prompt_tokens, completion_tokens;
    const opt_cost_row *cost;    /* better_together: teacher and student (opt_cost.h); n_cost 0: none */
    size_t n_cost;
    const char *lm_note;         /* e.g. that the LM is the reference server, a test fixture; NULL: none */
    double cost_usd;             /* the run's cost, cache hits counted as first made; < 0: unknown */
    const ex_class_report *classes; /* per-class scores of the final program on the valset; NULL: none */
    int times;                   /* show wall time per trial and in all (`--report-times`): the page then
                                    differs from run to run, so it is off by default */
    double seconds;              /* the run's wall time (with times) */
} report_info;

/* The page in a malloc'ed NUL-terminated buffer, or NULL when out of memory. */
char *report_html(const report_info *r);
/* Writes the page atomically (temporary file, then rename). */
dsp_status report_write_html(const report_info *r, const char *path, dsp_error *err);

#endif
