#!/bin/sh
# Feedback aimed at one predictor of a two-step program (a keywords step
# `k`, then the routing step `r`), end to end: `feedback NAME: ...` clauses
# after the general feedback and a scoring C tool's `char **feedback_NAME`
# output are kept by `dspcc fmt`, shown by dump-ir, written per example by
# `dspcc eval --predictions` ("predictor_feedback"), and shown to GEPA's
# reflection on that predictor in place of the general feedback (which a
# predictor whose arms give no text falls back to), and to SIMBA's rules,
# here against
# build/dsp-refserver (a TEST FIXTURE, not a language model) on 127.0.0.1.
# The checker's errors are tests/bad/metric_feedback_*.dsp. Prints TAP.
set -u
. tests/support/optimize_e2e.sh

# program METRIC [OPTIMIZER]: the two-step router scored by METRIC (a
# `metric` named accuracy, its feedback clauses included), optimized with
# OPTIMIZER (gepa's default).
program() {
    cat <<DSP
lm teacher = "openai/gpt-4o-mini" {
  temperature: 0.0
}

enum Category { billing, account, orders, general }

signature Keywords "List the words of the ticket that say what it is about." {
  in  ticket_text: string
  out keywords: string
}

signature Route "Route the ticket to the queue that should handle it." {
  in  ticket_text: string
  in  keywords: string
  out category: Category
}

module Router(ticket_text: string) -> (category: Category) {
  k = predict(Keywords)(ticket_text: ticket_text)
  r = predict(Route)(ticket_text: ticket_text, keywords: k.keywords)
  return (category: r.category)
}

$1

data train = jsonl("data/train.jsonl") { text -> ticket_text, category -> category }
data dev = jsonl("data/dev.jsonl") { text -> ticket_text, category -> category }

optimize Router with ${2:-gepa(max_metric_calls: 80)} {
  metric: accuracy
  trainset: train
  valset: dev
  lm: teacher
  seed: 7
}
DSP
}

metric='metric accuracy(ex, pred) = exact_match(pred.category, ex.category)
  feedback "The queue is {ex.category}."
  feedback k: "Name the words that show the queue {ex.category}."
  feedback Router.r:
    if pred.category != ex.category: "Wrong: the category should be {ex.category}, not {pred.category}."'
program "$metric" >"$tmp/pf.dsp"

"$dspcc" check "$tmp/pf.dsp" >/dev/null 2>"$tmp/check.err"
check "a metric with feedback for two predictors checks" test $? -eq 0
cp "$tmp/pf.dsp" "$tmp/fmt.dsp"
"$dspcc" fmt "$tmp/fmt.dsp" 2>/dev/null
check "dspcc fmt keeps the clauses as written" cmp -s "$tmp/pf.dsp" "$tmp/fmt.dsp"
"$dspcc" dump-ir "$tmp/pf.dsp" >"$tmp/ir.json" 2>/dev/null
check "dump-ir names each clause's predictors" \
    test "$(jq -c '.metrics[0].predictor_feedback | map([.target, .predictors])' "$tmp/ir.json")" = \
    '[["k",["Router.k"]],["Router.r",["Router.r"]]]'

serve --log "$tmp/requests.log"
check "the reference server (test fixture) started" test -n "$port"

"$dspcc" eval "$tmp/pf.dsp" --data dev --limit 20 --predictions "$tmp/preds.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" >/dev/null 2>"$tmp/eval.err"
check "eval with predictor feedback exits 0" test $? -eq 0
check "every example has the general feedback and k's" \
    test "$(jq -c 'select(.feedback == "The queue is " + .gold.category + "." and
        .predictor_feedback.k == "Name the words that show the queue " + .gold.category + ".")' \
        "$tmp/preds.jsonl" | wc -l)" -eq 20
check "r's arm gives its text on the wrong rows only" \
    test "$(jq -c 'select((.score == 0) == (.predictor_feedback["Router.r"] != null))' "$tmp/preds.jsonl" |
        wc -l)" -eq 20
check "and some rows are right, some wrong" \
    test "$(jq -s 'map(.score) | unique | length' "$tmp/preds.jsonl")" -eq 2

"$dspcc" optimize "$tmp/pf.dsp" -o "$tmp/pf.json" --base-url "$url" --cache-dir "$tmp/cache" \
    --trainset-limit 30 --valset-limit 10 >"$tmp/opt.out" 2>"$tmp/opt.err"
check "gepa with predictor feedback exits 0" test $? -eq 0
# The reflection prompts, one a line, by the predictor whose outputs they show.
grep 'examples_with_feedback ## ]]' "$tmp/requests.log" >"$tmp/reflections"
grep 'Outputs\\n### keywords' "$tmp/reflections" >"$tmp/refl_k"
grep 'Outputs\\n### category' "$tmp/reflections" >"$tmp/refl_r"
check "gepa reflected on both predictors" sh -c "test -s '$tmp/refl_k' && test -s '$tmp/refl_r'"
check "k's reflection reads k's feedback" grep -q 'Feedback.*Name the words that show the queue' "$tmp/refl_k"
check "and not the general one" sh -c "! grep -q 'The queue is' '$tmp/refl_k'"
check "r's reflection reads r's feedback on wrong rows" grep -q 'Feedback.*Wrong: the category should be' "$tmp/refl_r"
check "and the general feedback where r's arm gives none" grep -q 'Feedback.*The queue is' "$tmp/refl_r"
check "and never k's" sh -c "! grep -q 'Name the words' '$tmp/refl_r'"

# simba's rules: the teacher reads each predictor's feedback after the run's score.
program "$metric" 'simba(bsize: 8, num_candidates: 2, max_steps: 2, max_demos: 0)' >"$tmp/simba.dsp"
: >"$tmp/requests.log"
"$dspcc" optimize "$tmp/simba.dsp" -o "$tmp/simba.json" --base-url "$url" --cache-dir "$tmp/cache" \
    --trainset-limit 30 --valset-limit 10 >"$tmp/simba.out" 2>"$tmp/simba.err"
check "simba with predictor feedback exits 0" test $? -eq 0
grep 'examples_with_feedback ## ]]' "$tmp/requests.log" | grep 'Outputs\\n### keywords' >"$tmp/simba_k"
check "simba's rule for k reads k's feedback after the score" \
    grep -q 'Feedback\\nThe [a-z]* run (score [0-9.]*). Name the words that show the queue' "$tmp/simba_k"

# A scoring C tool's `feedback_k` output is k's feedback (grade_steps():
# "graded right|wrong: ..." and "the keywords should point to QUEUE").
so="$(cd "$BUILD" && pwd)/tests/compiler/libinterp_tools.so"
program "tool int grade_steps(
  const char *got,
  const char *want,
  double *score,
  char **feedback,
  char **feedback_k
) from \"$so\"
metric accuracy(ex, pred) = grade_steps(pred.category, ex.category)" >"$tmp/tool.dsp"
"$dspcc" eval "$tmp/tool.dsp" --data dev --limit 6 --predictions "$tmp/tpreds.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" >/dev/null 2>"$tmp/tool.err"
check "a C tool writing feedback_k can be the metric" test $? -eq 0
check "its feedback_k is k's feedback, its feedback the general one" \
    test "$(jq -c 'select((.feedback | startswith("graded ")) and
        .predictor_feedback.k == "the keywords should point to " + .gold.category)' "$tmp/tpreds.jsonl" |
        wc -l)" -eq 6
