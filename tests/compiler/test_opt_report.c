/* test_opt_report.c — the optimization report: escaped text, one point per
 * trial, deterministic bytes, atomic writing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "report.h"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static report_info sample(opt_trial *trials, report_predictor *preds)
{
    trials[0] = (opt_trial){ 1, 0.25, 1, "instr 0, demos 0", 40, 0, { 1, 40, 5000, 400, 0.00099, 1, 1.5 } };
    trials[1] = (opt_trial){ 2, 0.5, 0, "instr 1, demos <2>", 35, 2, { 1, 35, 6100, 380, 0.00114, 1, 1.25 } };
    trials[2] = (opt_trial){ 3, 0.75, 1, "instr 1, demos <2>", 40, 1, { 1, 40, 7000, 420, 0.00130, 1, 2 } };
    preds[0] = (report_predictor){ .name = "M.r", .instructions = "Say \"billing\" & <nothing> else", .n_demos = 6,
                                   .n_bootstrapped = 4 };
    report_info r = { 0 };
    r.program = "M<1>";
    r.source = "m.dsp";
    r.optimizer = "mipro";
    r.metric = "accuracy";
    r.trainset = "train";
    r.valset = "dev";
    r.seed = 7;
    r.n_train = 60;
    r.n_val = 40;
    r.baseline_score = 0.25;
    r.final_score = 0.75;
    r.optimized_score = 0.75;
    r.n_search = 40;
    r.n_failed = 3;
    r.n_failed_trials = 2;
    r.trials = trials;
    r.n_trials = 3;
    r.preds = preds;
    r.n_preds = 1;
    r.lm_calls = 100;
    r.cache_hits = 40;
    r.http_requests = 60;
    r.lm_note = "a test fixture";
    return r;
}

static void escapes_and_reports_the_figures(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    char *html = report_html(&r);
    assert_non_null(html);
    assert_non_null(strstr(html, "<h1>M&lt;1&gt;: mipro</h1>"));
    assert_non_null(strstr(html, "Say &quot;billing&quot; &amp; &lt;nothing&gt; else"));
    assert_null(strstr(html, "<nothing>"));
    assert_non_null(strstr(html, "demos &lt;2&gt;"));
    assert_non_null(strstr(html, "0.2500"));
    assert_non_null(strstr(html, "<b>0.7500</b> (+0.5000)"));
    assert_non_null(strstr(html, "100 (40 answered from the cache, 60 HTTP requests)"));
    assert_non_null(strstr(html, "6 demos (4 bootstrapped from teacher traces, 2 labelled)"));
    assert_non_null(strstr(html, "a test fixture"));
    assert_null(strstr(html, "fine-tuned model"));
    assert_int_equal(count(html, "</circle>"), 3); /* the trials (the legend's are self-closed) */
    assert_int_equal(count(html, "fill=\"none\" stroke=\"#36c\">"), 1); /* the minibatch trial */
    assert_int_equal(count(html, "<tr><td class=\"n\">"), 3);
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "</html>\n"));
    free(html);
}

/* What a reviewer reads: axis titles and a legend, tokens and cost per
 * trial, every candidate and demo in full, per-class scores. */
static void shows_candidates_demos_costs_and_classes(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    static const char *const cands[] = { NULL, "Route <billing> first." };
    static const char *const in0[] = { "I was charged twice" }, *const out0[] = { "charge", "billing" };
    static const char *const in_names[] = { "ticket" }, *const out_names[] = { "reasoning", "queue" };
    opt_demo demo = { in0, 1, out0, 2, 17, 1 };
    opt_demos demos = { &demo, 1 };
    p[0].candidates = cands;
    p[0].n_candidates = 2;
    p[0].demos = &demos;
    p[0].input_names = in_names;
    p[0].output_names = out_names;
    r.cost_usd = 0.0123;
    static const char *const labels[] = { "billing", "other" };
    size_t conf[] = { 3, 1, 0, 0, 2, 1 }, support[] = { 4, 3 };
    double prec[] = { 1, 2.0 / 3 }, rec[] = { 0.75, 2.0 / 3 }, f1[] = { 6.0 / 7, 2.0 / 3 };
    ex_class_report cr = { "queue", labels, 2, conf, support, prec, rec, f1, 5.0 / 7, 0.7619, 7, 0 };
    r.classes = &cr;
    char *html = report_html(&r);
    assert_non_null(html);
    assert_non_null(strstr(html, ">score: mean accuracy</text>"));
    assert_non_null(strstr(html, "class=\"legend\""));
    assert_non_null(strstr(html, "<td class=\"n\">5000</td><td class=\"n\">400</td><td class=\"n\">$0.0010</td>"));
    assert_non_null(strstr(html, "<tr><th>cost</th><td>$0.0123"));
    assert_non_null(strstr(html, "<h4>Instruction candidates (2)</h4>"));
    assert_non_null(strstr(html, "<li><pre>Route &lt;billing&gt; first.</pre></li>"));
    assert_non_null(strstr(html, "<h4>Demo 1 (bootstrapped, training row 17)</h4>\n<pre>[[ ## ticket ## ]]\n"
                                 "I was charged twice\n\n[[ ## reasoning ## ]]\ncharge\n\n[[ ## queue ## ]]\nbilling</pre>"));
    assert_non_null(strstr(html, "<h2>Per class: <code>queue</code></h2>"));
    assert_non_null(strstr(html, "<tr><td>billing</td><td class=\"n\">1.0000</td><td class=\"n\">0.7500</td>"));
    assert_non_null(strstr(html, "<tr><th>other</th><td class=\"n\">0</td><td class=\"n\">2</td><td class=\"n\">1</td>"));
    assert_int_equal(count(html, "<section class=\"predictor\">"), 1);
    r.cost_usd = -1;
    free(html);
    html = report_html(&r);
    assert_non_null(strstr(html, "<tr><th>cost</th><td>unknown"));
    free(html);
}

static void says_what_shipped_what_was_sampled_and_what_failed(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    char *html = report_html(&r);
    assert_non_null(html);
    /* Every trial's failures, and the total. */
    assert_non_null(strstr(html, "<td>minibatch (35)</td><td class=\"n\">2</td>"));
    assert_non_null(strstr(html, "<td>valset (40)</td><td class=\"n\">1</td>"));
    assert_non_null(strstr(html, "<tr><th>failed examples</th><td>3, in 2 of 3 trials"));
    assert_null(strstr(html, "teacher runs"));
    assert_null(strstr(html, "<th>search</th>"));
    free(html);

    /* A sampled search, the unoptimized program kept, notes, teacher runs. */
    const char *notes[] = { "candidate 5 <same> as 4" };
    t[1].full_eval = 1; /* on the sample of 35 */
    r.n_search = 35;
    r.final_score = r.baseline_score;
    r.optimized_score = 0.2;
    r.shipped_reason = "kept the unoptimized program: mipro's program scored 0.2000, not above 0.2500";
    r.notes = notes;
    r.n_notes = 1;
    r.teacher_runs = 60;
    r.failed_teacher_runs = 4;
    html = report_html(&r);
    assert_non_null(html);
    assert_non_null(strstr(html, "<td>sample (35)</td>"));
    assert_non_null(strstr(html, "on a seeded sample of 35 of the 40 examples"));
    assert_non_null(strstr(html, "<tr><th>optimized score</th><td>0.2000"));
    assert_non_null(strstr(html, "<b>0.2500</b> (+0.0000)<br>kept the unoptimized program: mipro&#39;s program"));
    assert_non_null(strstr(html, "<li>candidate 5 &lt;same&gt; as 4</li>"));
    assert_non_null(strstr(html, "teacher runs: 4 of 60 failed"));
    free(html);
}

static void names_the_fine_tuned_model(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    p[0].model = "ft:base:<dspcc>:1";
    char *html = report_html(&r);
    assert_non_null(html);
    assert_non_null(strstr(html, "runs on the fine-tuned model <code>ft:base:&lt;dspcc&gt;:1</code>"));
    free(html);
}

static void same_input_same_bytes(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    char *a = report_html(&r), *b = report_html(&r);
    assert_string_equal(a, b);
    r.final_score = 0.8;
    char *c = report_html(&r);
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
}

static void no_trials_still_renders(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    r.n_trials = 0;
    r.n_preds = 0;
    r.lm_note = NULL;
    char *html = report_html(&r);
    assert_non_null(html);
    assert_int_equal(count(html, "</circle>"), 0);
    assert_null(strstr(html, "class=\"note\""));
    free(html);
}

static void writes_atomically_and_reports_bad_paths(void **state)
{
    (void)state;
    opt_trial t[3];
    report_predictor p[1];
    report_info r = sample(t, p);
    char dir[] = "/tmp/dspcc-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], tmp[300];
    snprintf(path, sizeof path, "%s/r.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    dsp_error err = { 0 };
    assert_int_equal(report_write_html(&r, path, &err), DSP_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[64] = { 0 };
    assert_true(fread(buf, 1, 15, f) == 15);
    fclose(f);
    assert_string_equal(buf, "<!DOCTYPE html>");
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */
    remove(path);
    rmdir(dir);
    assert_int_equal(report_write_html(&r, "/nonexistent-dir/r.html", &err), DSP_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/r.html"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_and_reports_the_figures),
        cmocka_unit_test(says_what_shipped_what_was_sampled_and_what_failed),
        cmocka_unit_test(shows_candidates_demos_costs_and_classes),
        cmocka_unit_test(names_the_fine_tuned_model),
        cmocka_unit_test(same_input_same_bytes),
        cmocka_unit_test(no_trials_still_renders),
        cmocka_unit_test(writes_atomically_and_reports_bad_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
