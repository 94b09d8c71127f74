#!/bin/sh
# `dspcc optimize` with gepa end to end against build/dsp-refserver (a TEST
# FIXTURE, a deterministic in-context learner, not a language model) on
# 127.0.0.1, on the ticket classifier with 60 training and 60 dev examples
# and a small budget (max_metric_calls: 400):
#  - gepa beats the zero-shot baseline on dev, with an instruction (label
#    hints the reflection wrote from the failures it was shown) and no demos;
#  - the reflection prompt shows the current instruction and examples with
#    their outputs and feedback (the caption with the expected outputs, the
#    metric having no feedback of its own);
#  - the summary and the HTML report list every candidate with its parent,
#    instruction and place on the frontier; the state records the lineage
#    in its trials;
#  - the budget holds; `dspcc eval --state` reproduces the final score;
#  - a warm re-run writes the same state without HTTP requests; a run
#    killed with SIGKILL, started again, completes from the cache with the
#    same result;
#  - a bad candidate_selection is an error at check time.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

tickets_with 'gepa(max_metric_calls: 400)' gepa.dsp

serve --log "$tmp/requests.log"
check "the reference server (test fixture) started" test -n "$port"

opt gepa gepa.dsp cache --report "$tmp/gepa.html"
check "gepa exits 0" test $? -eq 0
base=$(json_key "$tmp/gepa.json" baseline_score)
final=$(json_key "$tmp/gepa.json" final_score)
echo "# gepa(max_metric_calls: 400): baseline $base, final $final"
check "gepa beats zero-shot by 0.1 on dev" ge "$final" "$base" 0.1
check "the state has an instruction with label hints" grep -q '"instructions": "Classify.*Label hints' "$tmp/gepa.json"
check "and no demos (gepa tunes instructions)" \
    sh -c "grep -q '\"demos\": \[\]' '$tmp/gepa.json' && ! grep -q '\"inputs\": {' '$tmp/gepa.json'"
check "the trials record each candidate's parent" \
    grep -q '"config": "candidate 1: TicketClassifier.r reflected from candidate 0 (minibatch' "$tmp/gepa.json"
check "the summary lists candidates with their parents and the frontier" \
    sh -c "grep -q '^  candidate 0 (the program as written)' '$tmp/gepa.out' && grep -q '^  candidate [1-9][0-9]* <- [0-9]*, frontier (best on [0-9]* valset rows)' '$tmp/gepa.out' && grep -q '(kept)\$' '$tmp/gepa.out'"
check "the report lists the candidates with lineage, frontier and instructions" \
    sh -c "grep -q 'Stages and candidates' '$tmp/gepa.html' && grep -q 'candidate [0-9]* &lt;- [0-9]*, frontier (best on [0-9]* valset rows); TicketClassifier.r: Classify' '$tmp/gepa.html'"
n_cands=$(grep -c '^  candidate [0-9]' "$tmp/gepa.out")
check "the report's predictor section lists every candidate's full instruction, numbered as the candidates" \
    sh -c "grep -q 'Instruction candidates ($n_cands)</h4>' '$tmp/gepa.html' && grep -q '^Label hints (label: keywords that point to it):\$' '$tmp/gepa.html'"
used=$(sed -n 's/.*after \([0-9]*\) metric calls.*/\1/p' "$tmp/gepa.err" | tail -n 1)
echo "# metric calls used: ${used:-?}"
check "the budget of 400 metric calls holds" awk -v u="${used:-9999}" 'BEGIN { exit !(u <= 400 && u >= 60) }'
check "the reflection prompt shows the instruction, outputs and feedback" \
    sh -c "grep 'examples_with_feedback ## ]]' '$tmp/requests.log' | grep -q '## Outputs.*### category.*## Feedback.*The expected outputs: category: '"
check "the reflection asks for new_instruction" grep -q 'new_instruction' "$tmp/requests.log"

ev=$(eval_score eval gepa.dsp gepa.json 60 --cache-dir "$tmp/cache")
echo "# dspcc eval with the gepa state: $ev"
check "dspcc eval --state reproduces gepa's final score" same_score "$ev" "$final"

opt warm gepa.dsp cache
check "a warm re-run exits 0" test $? -eq 0
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/warm.out"
check "a warm re-run writes the same state" cmp -s "$tmp/gepa.json" "$tmp/warm.json"

# Resume: a slow server, a kill -9 after the second candidate, then a re-run.
serve --latency-ms 10
# shellcheck disable=SC2086
optimize_bg killed gepa.dsp killed.json $limits --cache-dir "$tmp/cache2"
kill_when grep -q 'iteration 3:' "$tmp/killed.err"
check "the first run was killed mid-search" test "$alive" -eq 1
check "a killed run leaves no state behind" test ! -e "$tmp/killed.json"
opt resumed gepa.dsp cache2
check "the re-run after SIGKILL completes" test $? -eq 0
hits=$(sed -n 's/.*cache hits \([0-9]*\),.*/\1/p' "$tmp/resumed.out")
echo "# resumed run: ${hits:-?} calls from the cache"
check "the re-run reused the killed run's calls" awk -v h="${hits:-0}" 'BEGIN { exit !(h > 0) }'
check "the resumed run finds the same state" cmp -s "$tmp/gepa.json" "$tmp/resumed.json"

# Bad input, caught by the checker before any call.
tickets_with 'gepa(candidate_selection: best)' bad.dsp
"$dspcc" optimize "$tmp/bad.dsp" -o "$tmp/bad.json" --base-url "$url" --cache-dir "$tmp/cache3" \
    >/dev/null 2>"$tmp/bad.err"
rc=$?
check "gepa(candidate_selection: best) fails with status 1" test "$rc" -eq 1
check "and names the choices" grep -q 'pareto.*current_best' "$tmp/bad.err"
check "and writes no state" test ! -e "$tmp/bad.json"
