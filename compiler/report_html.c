/* report_html.c — the optimization report as HTML with an inline SVG plot
 * of the score of every trial (see report.h). */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *s;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void printf_(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void printf_(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Text as HTML: the five special characters escaped. */
static void esc(buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': puts_(b, "&amp;"); break;
        case '<': puts_(b, "&lt;"); break;
        case '>': puts_(b, "&gt;"); break;
        case '"': puts_(b, "&quot;"); break;
        case '\'': puts_(b, "&#39;"); break;
        default: put(b, s, 1);
        }
    }
}

enum { W = 640, H = 280, ML = 48, MR = 16, MT = 16, MB = 36 };

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

static void plot(buf *b, const report_info *r)
{
    printf_(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"score per trial\">\n", W, H, W, H);
    printf_(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    for (int t = 0; t <= 4; t++) {
        double y = py(t / 4.0);
        printf_(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ML, y, W - MR, y);
        printf_(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.2f</text>\n", ML - 6, y + 4,
                t / 4.0);
    }
    size_t n = r->n_trials;
    printf_(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">trial (1 to %zu)</text>\n",
            (W + ML - MR) / 2, H - 8, n);
    /* Baseline: dashed; best full evaluation so far: a step line. */
    printf_(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n", ML,
            py(r->baseline_score), W - MR, py(r->baseline_score));
    double best = -1;
    int started = 0;
    for (size_t i = 0; i < n; i++) {
        if (!r->trials[i].full_eval)
            continue;
        if (r->trials[i].score > best) {
            if (!started) {
                printf_(b, "<polyline fill=\"none\" stroke=\"#2a7\" stroke-width=\"2\" points=\"");
                started = 1;
            } else {
                printf_(b, " %.1f,%.1f", px(i, n), py(best));
            }
            best = r->trials[i].score;
            printf_(b, " %.1f,%.1f", px(i, n), py(best));
        }
    }
    if (started)
        printf_(b, " %.1f,%.1f\"/>\n", px(n ? n - 1 : 0, n), py(best));
    for (size_t i = 0; i < n; i++) {
        const opt_trial *t = &r->trials[i];
        printf_(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" %s><title>trial %d: %.3f%s</title></circle>\n",
                px(i, n), py(t->score), t->full_eval ? "fill=\"#2a7\"" : "fill=\"none\" stroke=\"#36c\"",
                t->trial, t->score, t->full_eval ? " (full valset)" : " (minibatch)");
    }
    puts_(b, "</svg>\n");
}

char *report_html(const report_info *r)
{
    buf b = { 0 };
    puts_(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>dspcc optimize: ");
    esc(&b, r->program);
    puts_(&b, "</title>\n<style>\nbody{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}\n"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\n"
              "td.n{text-align:right}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}\n"
              ".note{background:#fff4d6;padding:.5em}\n</style>\n</head>\n<body>\n<h1>");
    esc(&b, r->program);
    puts_(&b, ": ");
    esc(&b, r->optimizer);
    puts_(&b, "</h1>\n");
    if (r->lm_note) {
        puts_(&b, "<p class=\"note\">");
        esc(&b, r->lm_note);
        puts_(&b, "</p>\n");
    }
    puts_(&b, "<table>\n<tr><th>source</th><td>");
    esc(&b, r->source);
    puts_(&b, "</td></tr>\n<tr><th>metric</th><td>");
    esc(&b, r->metric);
    printf_(&b, "</td></tr>\n<tr><th>seed</th><td>%lld</td></tr>\n<tr><th>trainset</th><td>", r->seed);
    esc(&b, r->trainset);
    printf_(&b, " (%zu examples, for demos and proposals only)</td></tr>\n<tr><th>valset</th><td>", r->n_train);
    esc(&b, r->valset);
    printf_(&b, " (%zu examples, every score below)</td></tr>\n", r->n_val);
    printf_(&b, "<tr><th>baseline score</th><td>%.4f</td></tr>\n", r->baseline_score);
    printf_(&b, "<tr><th>final score</th><td><b>%.4f</b> (%+.4f)</td></tr>\n", r->final_score,
            r->final_score - r->baseline_score);
    printf_(&b, "<tr><th>LM calls</th><td>%lld (%lld answered from the cache, %lld HTTP requests)</td></tr>\n",
            r->lm_calls, r->cache_hits, r->http_requests);
    printf_(&b, "<tr><th>tokens</th><td>%lld prompt, %lld completion (cache hits excluded)</td></tr>\n</table>\n",
            r->prompt_tokens, r->completion_tokens);
    puts_(&b, "<h2>Score per trial</h2>\n<p>Filled: scored on the whole valset; hollow: on a minibatch. "
              "Dashed: the baseline; green line: the best full score so far.</p>\n");
    plot(&b, r);
    puts_(&b, "<h2>Chosen program</h2>\n");
    for (size_t i = 0; i < r->n_preds; i++) {
        const report_predictor *p = &r->preds[i];
        puts_(&b, "<h3>");
        esc(&b, p->name);
        printf_(&b, "</h3>\n<p>%zu demos (%zu bootstrapped from teacher traces, %zu labelled)</p>\n", p->n_demos,
                p->n_bootstrapped, p->n_demos - p->n_bootstrapped);
        if (p->model) {
            puts_(&b, "<p>runs on the fine-tuned model <code>");
            esc(&b, p->model);
            puts_(&b, "</code></p>\n");
        }
        puts_(&b, "<pre>");
        esc(&b, p->instructions ? p->instructions : "(the signature's instructions)");
        puts_(&b, "</pre>\n");
    }
    puts_(&b, "<h2>Trials</h2>\n<table>\n<tr><th>trial</th><th>score</th><th>scored on</th><th>configuration</th></tr>\n");
    for (size_t i = 0; i < r->n_trials; i++) {
        const opt_trial *t = &r->trials[i];
        printf_(&b, "<tr><td class=\"n\">%d</td><td class=\"n\">%.4f</td><td>%s</td><td>", t->trial, t->score,
                t->full_eval ? "valset" : "minibatch");
        esc(&b, t->config);
        puts_(&b, "</td></tr>\n");
    }
    puts_(&b, "</table>\n</body>\n</html>\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

dsp_status report_write_html(const report_info *r, const char *path, dsp_error *err)
{
    char *html = report_html(r);
    if (!html)
        return dsp_error_set(err, DSP_ERR_NOMEM, "report: out of memory");
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        free(html);
        return dsp_error_set(err, DSP_ERR_NOMEM, "report: out of memory");
    }
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    dsp_status st = DSP_OK;
    if (!f) {
        st = dsp_error_set(err, DSP_ERR_IO, "report: cannot write %s", tmp);
    } else {
        size_t len = strlen(html);
        int bad = fwrite(html, 1, len, f) != len;
        bad |= fclose(f) != 0;
        if (bad)
            st = dsp_error_set(err, DSP_ERR_IO, "report: cannot write %s", tmp);
        else if (rename(tmp, path) != 0)
            st = dsp_error_set(err, DSP_ERR_IO, "report: cannot rename %s to %s", tmp, path);
        if (st != DSP_OK)
            remove(tmp);
    }
    free(tmp);
    free(html);
    return st;
}
