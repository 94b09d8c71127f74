/* opt_cost.c — teacher and student side by side (see opt_cost.h). */
#include "opt_cost.h"

#include <string.h>

static int price(const ir_lm *lm, const char *key, double *out)
{
    for (size_t i = 0; lm && i < lm->n_params; i++)
        if (strcmp(lm->params[i].key, key) == 0) {
            *out = lm->params[i].kind == IR_OPT_FLOAT ? lm->params[i].f : (double)lm->params[i].i;
            return 1;
        }
    *out = 0;
    return 0;
}

static void fill(opt_cost_row *row, const char *role, const ir_lm *lm, const opt_stage *s)
{
    memset(row, 0, sizeof *row);
    row->role = role;
    row->lm = lm ? lm->name : "?";
    row->candidate = s->label;
    row->score = s->score;
    double n = s->n ? (double)s->n : 1;
    row->in_per_call = s->prompt_tokens / n;
    row->out_per_call = s->completion_tokens / n;
    int pi = price(lm, "input_usd_per_mtok", &row->price_input), po = price(lm, "output_usd_per_mtok", &row->price_output);
    row->priced = pi && po;
    if (row->priced)
        row->per_1k = 1000.0 * (row->in_per_call * row->price_input + row->out_per_call * row->price_output) / 1e6;
}

size_t opt_cost_rows(const opt_result *r, const ir_lm *teacher, const ir_lm *student, opt_cost_row out[2])
{
    const opt_stage *t = NULL, *s = NULL;
    for (size_t i = 0; i < r->n_stages; i++) {
        const opt_stage *x = &r->stages[i];
        const opt_stage **best = x->on_finetuned ? &s : &t;
        if (!*best || x->score > (*best)->score)
            *best = x;
    }
    if (!t || !s)
        return 0;
    fill(&out[0], "teacher", teacher, t);
    fill(&out[1], "student", student, s);
    return 2;
}

void opt_cost_print(FILE *f, const opt_cost_row *rows, size_t n, const char *valset, size_t n_val)
{
    if (n < 2)
        return;
    fprintf(f, "teacher and student on %s (%zu examples; tokens per call as the endpoint reported them):\n", valset,
            n_val);
    for (size_t i = 0; i < n; i++) {
        const opt_cost_row *r = &rows[i];
        fprintf(f, "  %-7s lm %-12s score %.4f  tokens/call %.0f in + %.0f out", r->role, r->lm, r->score,
                r->in_per_call, r->out_per_call);
        if (r->priced)
            fprintf(f, "  cost/1k calls $%.4f\n", r->per_1k);
        else
            fprintf(f, "  cost unknown (give lm %s input_usd_per_mtok and output_usd_per_mtok)\n", r->lm);
        fprintf(f, "          (%s)\n", r->candidate);
    }
    const opt_cost_row *t = &rows[0], *s = &rows[1];
    fprintf(f, "  student/teacher: score %.2fx", t->score > 0 ? s->score / t->score : 0);
    double tt = t->in_per_call + t->out_per_call, st = s->in_per_call + s->out_per_call;
    if (tt > 0)
        fprintf(f, ", tokens %.2fx", st / tt);
    if (t->priced && s->priced && t->per_1k > 0)
        fprintf(f, ", cost %.3fx (%.1f%% of the teacher's)", s->per_1k / t->per_1k, 100.0 * s->per_1k / t->per_1k);
    fputc('\n', f);
}
