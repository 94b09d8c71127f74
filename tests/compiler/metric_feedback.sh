#!/bin/sh
# Metric feedback end to end: `feedback` arms after a metric's expression
# (conditions, `{ex.f}` / `{pred.f}` placeholders, `{{` braces, a judge's
# string output, a C tool returning char *) are checked by `dspcc check`
# with clear errors, kept by `dspcc fmt`, shown by dump-ir, written per
# example by `dspcc eval --predictions`, and shown to GEPA's reflection LM, here build/dsp-refserver
# (a TEST FIXTURE, not a language model) on 127.0.0.1. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
here=$(pwd)
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL
ln -s "$here/examples/tickets/data" "$tmp/data"

# program METRIC_TAIL OPTIMIZER: the ticket classifier, its metric followed
# by METRIC_TAIL (the feedback), optimized with OPTIMIZER.
program() {
    cat <<DSP
lm teacher = "openai/gpt-4o-mini" {
  temperature: 0.0
}

enum Category { billing, account, orders, general }

signature ClassifyTicket "Classify a customer support ticket into the queue that should handle it." {
  in  ticket_text: string
  out category: Category
}

signature Critique "Say what is wrong with the answer." {
  in  ticket: string
  in  answer: string
  out critique: string
}

module TicketClassifier(ticket_text: string) -> (category: Category) {
  r = predict(ClassifyTicket)(ticket_text: ticket_text)
  return r
}

metric accuracy(ex, pred) = exact_match(pred.category, ex.category)
$1

data train = jsonl("data/train.jsonl") { text -> ticket_text, category -> category }
data dev = jsonl("data/dev.jsonl") { text -> ticket_text, category -> category }

optimize TicketClassifier with ${2:-gepa(max_metric_calls: 200)} {
  metric: accuracy
  trainset: train
  valset: dev
  lm: teacher
  seed: 7
}
DSP
}

good='  feedback
    if pred.category == ex.category: "Right: the queue is {ex.category}."
    else: "Wrong: the category should be {ex.category}, not {pred.category} ({{sic}})."'
program "$good" >"$tmp/fb.dsp"
"$dspcc" check "$tmp/fb.dsp" >"$tmp/check.out" 2>&1
check "a metric with feedback arms checks" test $? -eq 0
"$dspcc" fmt - <"$tmp/fb.dsp" >"$tmp/fmt.out" 2>&1 && cmp -s "$tmp/fb.dsp" "$tmp/fmt.out"
check "and is as dspcc fmt writes it" test $? -eq 0
printf '%s\n' 'metric m(ex, pred) = exact_match(pred.category, ex.category) feedback if pred.category != ex.category: "no" else: "yes"' \
    >"$tmp/flat.dsp"
"$dspcc" fmt - <"$tmp/flat.dsp" >"$tmp/flat.out" 2>"$tmp/flat.err"
check "fmt puts feedback and each arm on their own lines" \
    sh -c "grep -q '^  feedback\$' '$tmp/flat.out' && grep -q '^    if pred.category != ex.category: \"no\"\$' '$tmp/flat.out' && grep -q '^    else: \"yes\"\$' '$tmp/flat.out'"
"$dspcc" dump-ir "$tmp/fb.dsp" >"$tmp/ir.json" 2>/dev/null
check "dump-ir shows the arms, placeholders as format parts" \
    sh -c "grep -q '\"feedback\"' '$tmp/ir.json' && grep -q '\"kind\":[[:space:]]*\"format\"' '$tmp/ir.json' && grep -q 'Right: the queue is ' '$tmp/ir.json'"

# Bad feedback: each is one error naming the place and the fix.
bad() { # NAME TAIL EXPECTED-TEXT
    program "$2" >"$tmp/$1.dsp"
    "$dspcc" check "$tmp/$1.dsp" >"$tmp/$1.out" 2>&1
    b_rc=$?
    check "$1: check fails" test "$b_rc" -eq 1
    check "$1: says $3" grep -q "$3" "$tmp/$1.out"
}
bad placeholder '  feedback "the queue is {category}"' 'a placeholder is `{ex.FIELD}` or `{pred.FIELD}`'
bad unknown_field '  feedback "the queue is {ex.queue}"' 'queue'
bad condition '  feedback if len(pred.category): "x"' 'a feedback condition must be a bool'
bad number '  feedback 1 + 2' 'feedback must be text'
bad typo '  feedbak "x"' 'unexpected `feedbak` after the metric'
grep -q 'fb.dsp\|:[0-9]*:[0-9]*:' "$tmp/placeholder.out"
check "errors carry file:line:col" grep -q 'placeholder.dsp:[0-9]*:[0-9]*: error' "$tmp/placeholder.out"

rs_start --threads 4 --log "$tmp/requests.log"
check "the reference server (test fixture) started" test -n "$port"
url="http://127.0.0.1:$port/v1"

"$dspcc" eval "$tmp/fb.dsp" --data dev --limit 20 --predictions "$tmp/preds.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" >"$tmp/eval.out" 2>"$tmp/eval.err"
check "eval with a feedback metric exits 0" test $? -eq 0
check "--predictions has each example's feedback" \
    sh -c "grep -q '\"feedback\":\"Right: the queue is ' '$tmp/preds.jsonl' && grep -q '\"feedback\":\"Wrong: the category should be [a-z]*, not [a-z]* ({sic}).\"' '$tmp/preds.jsonl'"
check "right and wrong examples get their arm" \
    sh -c "! grep '\"score\":1,' '$tmp/preds.jsonl' | grep -q 'Wrong:' && ! grep '\"score\":0,' '$tmp/preds.jsonl' | grep -q 'Right:'"

"$dspcc" optimize "$tmp/fb.dsp" -o "$tmp/fb.json" --base-url "$url" --cache-dir "$tmp/cache" \
    --trainset-limit 60 --valset-limit 60 >"$tmp/opt.out" 2>"$tmp/opt.err"
check "gepa with a feedback metric exits 0" test $? -eq 0
check "the reflection prompt carries the metric's feedback" \
    sh -c "grep 'examples_with_feedback ## ]]' '$tmp/requests.log' | grep -q '## Feedback.*Wrong: the category should be'"
check "and not the generic caption" sh -c "! grep -q 'The expected outputs:' '$tmp/requests.log'"

# A judge's string output as the feedback.
program '  feedback judge(Critique, lm: teacher)(ticket: ex.ticket_text, answer: pred.category).critique' \
    >"$tmp/judge.dsp"
"$dspcc" eval "$tmp/judge.dsp" --data dev --limit 5 --predictions "$tmp/jpreds.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" >"$tmp/judge.out" 2>"$tmp/judge.err"
check "a judge's string output can be the feedback" test $? -eq 0
check "each example's feedback is the judge's text" \
    sh -c "test \$(grep -c '\"feedback\":\"[^\"]' '$tmp/jpreds.jsonl') -eq 5"
check "the judge was asked with the Critique signature" grep -q 'critique' "$tmp/requests.log"

# A C tool returning char * as the feedback (the interpreter's test tools:
# shout() upper-cases its text and adds '!').
so="$(cd "$BUILD" && pwd)/tests/compiler/libinterp_tools.so"
program "tool char *shout(const char *text) from \"$so\"
metric loud(ex, pred) = exact_match(pred.category, ex.category)
  feedback shout(ex.category)" >"$tmp/tool.dsp"
sed -i 's/^  metric: accuracy$/  metric: loud/' "$tmp/tool.dsp"
"$dspcc" eval "$tmp/tool.dsp" --data dev --limit 3 --predictions "$tmp/tpreds.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" >"$tmp/tool.out" 2>"$tmp/tool.err"
check "a C tool returning char * can be the feedback" test $? -eq 0
check "each example's feedback is the tool's text" \
    sh -c "test \$(grep -c '\"feedback\":\"[A-Z_]*!\"' '$tmp/tpreds.jsonl') -eq 3"

# A C tool that writes both the score and the feedback (grade(): 1 when its
# two texts match, and "graded right: ..." or "graded wrong: expected ...,
# got ..."), as the whole metric; eval and gepa's reflection get its text.
program "tool int grade(const char *got, const char *want, double *score, char **feedback) from \"$so\"
metric graded(ex, pred) = grade(pred.category, ex.category)" 'gepa(max_metric_calls: 60)' >"$tmp/grade.dsp"
sed -i 's/^  metric: accuracy$/  metric: graded/' "$tmp/grade.dsp"
"$dspcc" eval "$tmp/grade.dsp" --data dev --limit 6 --predictions "$tmp/gpreds.jsonl" --json --base-url "$url" \
    --cache-dir "$tmp/cache" >"$tmp/grade.json" 2>"$tmp/grade.err"
check "a C tool writing a score and a feedback can be the metric" test $? -eq 0
"$dspcc" eval "$tmp/tool.dsp" --data dev --limit 6 --json --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/loud6.json" 2>/dev/null
check "its score is the tool's (exact match's, here)" \
    test "$(grep -o '"score": *[0-9.e-]*' "$tmp/grade.json")" = "$(grep -o '"score": *[0-9.e-]*' "$tmp/loud6.json")"
check "each example's feedback is the tool's text" \
    test "$(grep -c '"feedback":"graded \(right: [a-z]*\|wrong: expected [a-z]*, got [a-z]*\)"' "$tmp/gpreds.jsonl")" -eq 6
check "right and wrong rows get the tool's two texts" \
    sh -c "grep -q 'graded right' '$tmp/gpreds.jsonl' && grep -q 'graded wrong' '$tmp/gpreds.jsonl'"
: >"$tmp/requests.log"
"$dspcc" optimize "$tmp/grade.dsp" -o "$tmp/grade_state.json" --base-url "$url" --cache-dir "$tmp/cache" \
    --trainset-limit 30 --valset-limit 20 >"$tmp/gopt.out" 2>"$tmp/gopt.err"
check "gepa with it exits 0" test $? -eq 0
check "gepa's reflection prompt carries the tool's feedback" \
    sh -c "grep 'examples_with_feedback ## ]]' '$tmp/requests.log' | grep -q '## Feedback.*graded wrong: expected '"
program "tool int grade(const char *got, const char *want, double *score, char **feedback) from \"$so\"
metric twice(ex, pred) = grade(pred.category, ex.category) * 2" >"$tmp/grade_bad.dsp"
sed -i 's/^  metric: accuracy$/  metric: twice/' "$tmp/grade_bad.dsp"
"$dspcc" check "$tmp/grade_bad.dsp" >/dev/null 2>"$tmp/grade_bad.err"
check "inside a larger expression it is an error naming the form" \
    sh -c "grep -q 'as the whole metric, one that writes a score and a feedback text' '$tmp/grade_bad.err'"
