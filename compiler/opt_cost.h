/* opt_cost.h — the cost case of better_together: the prompted teacher and
 * the fine-tuned student side by side (valset score, tokens per call, cost
 * per 1,000 calls, the ratio), for the optimize summary and report.
 *
 * "A call" is one run of the program on one valset example (all its LM
 * calls); tokens are what the endpoint reported for the valset evaluation
 * of the candidate, cached replies included (the cache keeps their usage),
 * so a warm re-run shows the same figures. Cost is tokens times the lm's
 * input_usd_per_mtok and output_usd_per_mtok (US dollars per million
 * tokens).
 */
#ifndef DSPCC_OPT_COST_H
#define DSPCC_OPT_COST_H

#include <stddef.h>
#include <stdio.h>

#include "ir.h"
#include "opt.h"

typedef struct opt_cost_row {
    const char *role;            /* "teacher" or "student" */
    const char *lm;              /* the lm it runs on */
    const char *candidate;       /* the better_together candidate (stage label) */
    double score;                /* on the whole valset */
    double in_per_call, out_per_call; /* tokens per program call */
    int priced;                  /* the lm declares both prices */
    double price_input, price_output; /* USD per million tokens */
    double per_1k;               /* USD for 1,000 calls (priced only) */
} opt_cost_row;

/* The best candidate on the base model (the teacher, lm teacher) and the
 * best on the fine-tuned model (the student, lm student) of a
 * better_together result; returns 2, or 0 when none ran on a fine-tuned
 * model. */
size_t opt_cost_rows(const opt_result *r, const ir_lm *teacher, const ir_lm *student, opt_cost_row out[2]);

/* The summary's lines for rows[0..n) (n 0: nothing). */
void opt_cost_print(FILE *f, const opt_cost_row *rows, size_t n, const char *valset, size_t n_val);

#endif
