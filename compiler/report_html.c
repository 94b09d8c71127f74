/* report_html.c — the optimization report as HTML with an inline SVG plot
 * of the score of every trial (see report.h). */
#include "file_write.h"
#include "report.h"
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text as HTML: the five special characters escaped. */
static void esc(strbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_put(b, s, 1);
        }
    }
}

enum { W = 640, H = 300, ML = 64, MR = 16, MT = 16, MB = 56 };

static double px(size_t i, size_t n)
{
    return ML + (n > 1 ? (double)i / (double)(n - 1) : 0.5) * (W - ML - MR);
}

static double py(double score)
{
    if (score < 0)
        score = 0;
    if (score > 1)
        score = 1;
    return MT + (1.0 - score) * (H - MT - MB);
}

static void plot(strbuf *b, const report_info *r)
{
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"score per trial\">\n", W, H, W, H);
    sb_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    for (int t = 0; t <= 4; t++) {
        double y = py(t / 4.0);
        sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ML, y, W - MR, y);
        sb_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.2f</text>\n", ML - 6, y + 4,
                t / 4.0);
    }
    size_t n = r->n_trials;
    /* Axis titles, and a legend under the x axis. */
    sb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">trial (1 to %zu)</text>\n",
            (W + ML - MR) / 2, H - MB + 26, n);
    sb_printf(b, "<text x=\"14\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">"
                 "score: mean ", (MT + H - MB) / 2, (MT + H - MB) / 2);
    esc(b, r->metric);
    sb_puts(b, "</text>\n");
    int ly = H - 10, lx = ML;
    sb_printf(b, "<g font-size=\"11\" class=\"legend\">"
                 "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#2a7\"/><text x=\"%d\" y=\"%d\">whole valset or sample</text>"
                 "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"none\" stroke=\"#36c\"/><text x=\"%d\" y=\"%d\">minibatch</text>"
                 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"
                 "<text x=\"%d\" y=\"%d\">baseline</text>"
                 "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#2a7\" stroke-width=\"2\"/>"
                 "<text x=\"%d\" y=\"%d\">best so far</text></g>\n",
              lx, ly - 4, lx + 8, ly, lx + 170, ly - 4, lx + 178, ly, lx + 260, ly - 4, lx + 284, ly - 4, lx + 290, ly,
              lx + 360, ly - 4, lx + 384, ly - 4, lx + 390, ly);
    /* Baseline: dashed; best full evaluation so far: a step line. */
    sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n", ML,
            py(r->baseline_score), W - MR, py(r->baseline_score));
    double best = -1;
    int started = 0;
    for (size_t i = 0; i < n; i++) {
        if (!r->trials[i].full_eval)
            continue;
        if (r->trials[i].score > best) {
            if (!started) {
                sb_printf(b, "<polyline fill=\"none\" stroke=\"#2a7\" stroke-width=\"2\" points=\"");
                started = 1;
            } else {
                sb_printf(b, " %.1f,%.1f", px(i, n), py(best));
            }
            best = r->trials[i].score;
            sb_printf(b, " %.1f,%.1f", px(i, n), py(best));
        }
    }
    if (started)
        sb_printf(b, " %.1f,%.1f\"/>\n", px(n ? n - 1 : 0, n), py(best));
    for (size_t i = 0; i < n; i++) {
        const opt_trial *t = &r->trials[i];
        sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" %s><title>trial %d: %.3f%s</title></circle>\n",
                px(i, n), py(t->score), t->full_eval ? "fill=\"#2a7\"" : "fill=\"none\" stroke=\"#36c\"",
                t->trial, t->score, !t->full_eval ? " (minibatch)" : t->n_examples < r->n_val ? " (sample)" : " (full valset)");
    }
    sb_puts(b, "</svg>\n");
}

static void predictor_section(strbuf *b, const report_predictor *p)
{
    sb_puts(b, "<section class=\"predictor\">\n<h3>");
    esc(b, p->name);
    if (p->knn) {
        sb_puts(b, "</h3>\n<p>");
        esc(b, p->knn);
        sb_puts(b, "</p>\n");
    } else {
        sb_printf(b, "</h3>\n<p>%zu demos (%zu bootstrapped from teacher traces, %zu labelled)</p>\n", p->n_demos,
                  p->n_bootstrapped, p->n_demos - p->n_bootstrapped);
    }
    if (p->model) {
        sb_puts(b, "<p>runs on the fine-tuned model <code>");
        esc(b, p->model);
        sb_puts(b, "</code></p>\n");
    }
    sb_puts(b, "<h4>Instructions</h4>\n<pre>");
    esc(b, p->instructions ? p->instructions : "(the signature's instructions)");
    sb_puts(b, "</pre>\n");
    for (size_t d = 0; p->demos && d < p->demos->n; d++) {
        const opt_demo *x = &p->demos->items[d];
        sb_printf(b, "<h4>Demo %zu (%s, training row %zu)</h4>\n<pre>", d + 1,
                  x->bootstrapped ? "bootstrapped" : "labelled", x->row);
        for (size_t k = 0; k < x->n_inputs + x->n_outputs; k++) {
            const char *name = k < x->n_inputs ? (p->input_names ? p->input_names[k] : "input")
                                               : (p->output_names ? p->output_names[k - x->n_inputs] : "output");
            const char *text = k < x->n_inputs ? x->inputs[k] : x->outputs[k - x->n_inputs];
            if (!text)
                continue;
            sb_puts(b, k ? "\n\n[[ ## " : "[[ ## ");
            esc(b, name);
            sb_puts(b, " ## ]]\n");
            esc(b, text);
        }
        sb_puts(b, "</pre>\n");
    }
    if (p->n_candidates) {
        sb_printf(b, "<h4>Instruction candidates (%zu)</h4>\n<ol start=\"0\">\n", p->n_candidates);
        for (size_t k = 0; k < p->n_candidates; k++) {
            sb_puts(b, "<li><pre>");
            esc(b, p->candidates[k] ? p->candidates[k] : "(the signature's instructions)");
            sb_puts(b, "</pre></li>\n");
        }
        sb_puts(b, "</ol>\n");
    }
    sb_puts(b, "</section>\n");
}

static void class_section(strbuf *b, const ex_class_report *cr)
{
    sb_puts(b, "<h2>Per class: <code>");
    esc(b, cr->field);
    sb_printf(b, "</code></h2>\n<p>The final program on the valset (%zu labelled examples): accuracy %.4f, macro F1 "
                 "%.4f.</p>\n<table class=\"classes\">\n<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
                 "<th>support</th></tr>\n",
              cr->n, cr->accuracy, cr->macro_f1);
    for (size_t c = 0; c < cr->n_labels; c++) {
        sb_puts(b, "<tr><td>");
        esc(b, cr->labels[c]);
        sb_printf(b, "</td><td class=\"n\">%.4f</td><td class=\"n\">%.4f</td><td class=\"n\">%.4f</td>"
                     "<td class=\"n\">%zu</td></tr>\n",
                  cr->precision[c], cr->recall[c], cr->f1[c], cr->support[c]);
    }
    sb_puts(b, "</table>\n<h3>Confusion matrix</h3>\n<p>Rows: gold label; columns: predicted; (failed): no valid "
               "prediction.</p>\n<table class=\"confusion\">\n<tr><th></th>");
    size_t cols = cr->n_labels + 1;
    for (size_t c = 0; c < cols; c++) {
        sb_puts(b, "<th>");
        esc(b, c < cr->n_labels ? cr->labels[c] : "(failed)");
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr>\n");
    for (size_t g = 0; g < cr->n_labels; g++) {
        sb_puts(b, "<tr><th>");
        esc(b, cr->labels[g]);
        sb_puts(b, "</th>");
        for (size_t c = 0; c < cols; c++)
            sb_printf(b, "<td class=\"n\">%zu</td>", cr->confusion[g * cols + c]);
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</table>\n");
}

char *report_html(const report_info *r)
{
    strbuf b = { 0 };
    sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>dspcc optimize: ");
    esc(&b, r->program);
    sb_puts(&b, "</title>\n<style>\nbody{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}\n"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\n"
              "td.n{text-align:right}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}\n"
              ".note{background:#fff4d6;padding:.5em}\n</style>\n</head>\n<body>\n<h1>");
    esc(&b, r->program);
    sb_puts(&b, ": ");
    esc(&b, r->optimizer);
    sb_puts(&b, "</h1>\n");
    if (r->lm_note) {
        sb_puts(&b, "<p class=\"note\">");
        esc(&b, r->lm_note);
        sb_puts(&b, "</p>\n");
    }
    sb_puts(&b, "<table>\n<tr><th>source</th><td>");
    esc(&b, r->source);
    sb_puts(&b, "</td></tr>\n<tr><th>metric</th><td>");
    esc(&b, r->metric);
    sb_printf(&b, "</td></tr>\n<tr><th>seed</th><td>%lld</td></tr>\n<tr><th>trainset</th><td>", r->seed);
    esc(&b, r->trainset);
    sb_printf(&b, " (%zu examples, for demos and proposals only)</td></tr>\n<tr><th>valset</th><td>", r->n_train);
    esc(&b, r->valset);
    sb_printf(&b, " (%zu examples: the baseline, optimized and final scores are means over all of them)</td></tr>\n",
              r->n_val);
    if (r->n_search && r->n_search < r->n_val)
        sb_printf(&b, "<tr><th>search</th><td>on a seeded sample of %zu of the %zu examples; the best candidates "
                      "were then scored on all of them</td></tr>\n",
                  r->n_search, r->n_val);
    sb_printf(&b, "<tr><th>baseline score</th><td>%.4f (the unoptimized program)</td></tr>\n", r->baseline_score);
    sb_printf(&b, "<tr><th>optimized score</th><td>%.4f (the optimizer's program)</td></tr>\n", r->optimized_score);
    sb_printf(&b, "<tr><th>final score</th><td><b>%.4f</b> (%+.4f)", r->final_score,
              r->final_score - r->baseline_score);
    if (r->shipped_reason) {
        sb_puts(&b, "<br>");
        esc(&b, r->shipped_reason);
    }
    sb_puts(&b, "</td></tr>\n");
    sb_printf(&b, "<tr><th>failed examples</th><td>%zu, in %zu of %zu trials (failed examples score 0)", r->n_failed,
              r->n_failed_trials, r->n_trials);
    if (r->teacher_runs)
        sb_printf(&b, "; teacher runs: %zu of %zu failed", r->failed_teacher_runs, r->teacher_runs);
    sb_puts(&b, "</td></tr>\n");
    sb_printf(&b, "<tr><th>LM calls</th><td>%lld (%lld answered from the cache, %lld HTTP requests)</td></tr>\n",
            r->lm_calls, r->cache_hits, r->http_requests);
    sb_printf(&b, "<tr><th>tokens</th><td>%lld prompt, %lld completion (calls the cache answered counted as first "
                  "made)</td></tr>\n",
            r->prompt_tokens, r->completion_tokens);
    if (r->cost_usd >= 0)
        sb_printf(&b, "<tr><th>cost</th><td>$%.4f at the lm's prices (input_usd_per_mtok, output_usd_per_mtok)"
                      "</td></tr>\n", r->cost_usd);
    else
        sb_puts(&b, "<tr><th>cost</th><td>unknown: give the lm input_usd_per_mtok and output_usd_per_mtok"
                    "</td></tr>\n");
    sb_puts(&b, "</table>\n");
    if (r->n_notes) {
        sb_puts(&b, "<ul>\n");
        for (size_t i = 0; i < r->n_notes; i++) {
            sb_puts(&b, "<li>");
            esc(&b, r->notes[i]);
            sb_puts(&b, "</li>\n");
        }
        sb_puts(&b, "</ul>\n");
    }
    sb_puts(&b, "<h2>Score per trial</h2>\n<p>Filled: scored on the whole valset (or the search's sample); hollow: on a minibatch. "
              "Dashed: the baseline; green line: the best full score so far.</p>\n");
    plot(&b, r);
    if (r->n_cost == 2) {
        /* The cost case: what the fine-tuned student saves against the
         * prompted teacher, at what score. */
        sb_puts(&b, "<h2>Teacher and student</h2>\n<table>\n<tr><th></th><th>lm</th><th>valset score</th>"
                    "<th>tokens per call (in + out)</th><th>cost per 1,000 calls (USD)</th><th>candidate</th></tr>\n");
        for (size_t i = 0; i < 2; i++) {
            const opt_cost_row *c = &r->cost[i];
            sb_printf(&b, "<tr><td>%s</td><td>", c->role);
            esc(&b, c->lm);
            sb_printf(&b, "</td><td class=\"n\">%.4f</td><td class=\"n\">%.0f + %.0f</td><td class=\"n\">", c->score,
                      c->in_per_call, c->out_per_call);
            if (c->priced)
                sb_printf(&b, "$%.4f", c->per_1k);
            else
                sb_puts(&b, "no prices on this lm");
            sb_puts(&b, "</td><td>");
            esc(&b, c->candidate);
            sb_puts(&b, "</td></tr>\n");
        }
        const opt_cost_row *t = &r->cost[0], *s = &r->cost[1];
        sb_printf(&b, "</table>\n<p>student/teacher: score %.2fx", t->score > 0 ? s->score / t->score : 0);
        if (t->priced && s->priced && t->per_1k > 0)
            sb_printf(&b, ", cost %.3fx (%.1f%% of the teacher's)", s->per_1k / t->per_1k, 100 * s->per_1k / t->per_1k);
        sb_puts(&b, "</p>\n");
    }
    sb_puts(&b, "<h2>Chosen program, one section per predictor</h2>\n");
    for (size_t i = 0; i < r->n_preds; i++)
        predictor_section(&b, &r->preds[i]);
    if (r->classes && r->classes->field)
        class_section(&b, r->classes);
    if (r->n_stages) {
        sb_puts(&b, "<h2>Stages and candidates</h2>\n<table>\n<tr><th>score</th><th>what</th></tr>\n");
        for (size_t i = 0; i < r->n_stages; i++) {
            sb_printf(&b, "<tr><td class=\"n\">%.4f</td><td>", r->stages[i].score);
            esc(&b, r->stages[i].label);
            sb_puts(&b, r->stages[i].kept ? " (kept)</td></tr>\n" : "</td></tr>\n");
        }
        sb_puts(&b, "</table>\n");
    }
    sb_puts(&b, "<h2>Trials</h2>\n<p>Tokens and cost of a trial: its LM calls since the previous trial was scored "
                "(proposals, bootstrapping, its own scoring), calls the cache answered counted as first made. ");
    if (r->times)
        sb_printf(&b, "Seconds: a trial's wall time over the same span (written with --report-times: it differs from "
                      "run to run, and a warm cache makes it short); the run took %.1f s.</p>\n",
                  r->seconds);
    else
        sb_puts(&b, "Wall time per trial is in the optimize summary (or here with --report-times): this page is the "
                    "same on a re-run.</p>\n");
    sb_printf(&b, "<table>\n<tr><th>trial</th><th>score</th><th>scored on</th><th>failed</th>"
                  "<th>prompt tokens</th><th>completion tokens</th><th>cost</th>%s<th>configuration</th></tr>\n",
              r->times ? "<th>seconds</th>" : "");
    for (size_t i = 0; i < r->n_trials; i++) {
        const opt_trial *t = &r->trials[i];
        const char *on = !t->full_eval ? "minibatch" : t->n_examples < r->n_val ? "sample" : "valset";
        sb_printf(&b, "<tr><td class=\"n\">%d</td><td class=\"n\">%.4f</td><td>%s (%zu)</td><td class=\"n\">%zu"
                      "</td>",
                  t->trial, t->score, on, t->n_examples, t->n_failed);
        if (t->usage.known) {
            sb_printf(&b, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>", t->usage.prompt_tokens,
                      t->usage.completion_tokens);
            if (t->usage.priced)
                sb_printf(&b, "<td class=\"n\">$%.4f</td><td>", t->usage.cost_usd);
            else
                sb_puts(&b, "<td>unknown</td><td>");
        } else {
            sb_puts(&b, "<td></td><td></td><td></td><td>");
        }
        if (r->times)
            sb_printf(&b, "%.2f</td><td>", t->usage.seconds);
        esc(&b, t->config);
        sb_puts(&b, "</td></tr>\n");
    }
    sb_puts(&b, "</table>\n</body>\n</html>\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

dsp_status report_write_html(const report_info *r, const char *path, dsp_error *err)
{
    char *html = report_html(r);
    if (!html)
        return dsp_error_set(err, DSP_ERR_NOMEM, "report: out of memory");
    char why[FW_WHY_MAX];
    dsp_status st = DSP_OK;
    if (fw_write_file(path, html, strlen(html), 0644, why) != 0)
        st = dsp_error_set(err, DSP_ERR_IO, "report: %s", why);
    free(html);
    return st;
}
