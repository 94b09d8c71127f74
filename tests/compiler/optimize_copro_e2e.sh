#!/bin/sh
# `dspcc optimize` with copro end to end against build/dsp-refserver (a TEST
# FIXTURE, a deterministic in-context learner, not a language model) on
# 127.0.0.1, on the ticket classifier with 60 training and 60 dev examples:
#  - copro beats the zero-shot baseline on the dev split by a margin, with
#    an instruction and no demos, one valset score per candidate, and each
#    round's best in a progress line and in the summary;
#  - later rounds show the teacher the attempts so far with their scores;
#  - `dspcc eval --state` reproduces the final score;
#  - runs at -j 1 and -j 16 write the state -j 4 wrote, byte for byte;
#  - a re-run with a warm cache writes the same state and makes no HTTP
#    request; a run killed with SIGKILL, started again, completes from the
#    cache with the same result;
#  - a breadth below 2 is an error at check time.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

# The example's program with copro in its optimize block, beside the link
# to its data.
tickets_with 'copro(breadth: 5, depth: 2)' copro.dsp

serve --log "$tmp/requests.log"
check "the reference server (test fixture) started" test -n "$port"

opt copro copro.dsp cache --report "$tmp/copro.html"
check "copro exits 0" test $? -eq 0
base=$(json_key "$tmp/copro.json" baseline_score)
final=$(json_key "$tmp/copro.json" final_score)
echo "# copro(breadth: 5, depth: 2): baseline $base, final $final"
check "copro beats zero-shot by 0.15 on dev" ge "$final" "$base" 0.15
check "the state has an instruction with label hints" grep -q '"instructions": "Classify.*Label hints' "$tmp/copro.json"
check "and no demos (copro tunes instructions only)" \
    sh -c "grep -q '\"demos\": \[\]' '$tmp/copro.json' && ! grep -q '\"inputs\": {' '$tmp/copro.json'"
# The baseline, then breadth - 1 candidates in round 1 and breadth in round 2
# (fewer if the teacher repeats itself), each scored on the whole valset.
n=$(grep -c '"trial":' "$tmp/copro.json")
echo "# $n trials"
check "one trial per distinct candidate (at most 1 + 4 + 5)" test "$n" -ge 6 -a "$n" -le 10
check "every trial is a full valset score" sh -c "! grep -q '\"full_eval\": false' '$tmp/copro.json'"
check "the trials name round and candidate" grep -q 'TicketClassifier.r: round 2 candidate' "$tmp/copro.json"
check "progress lines give each round's best" \
    sh -c "grep -q '^dspcc optimize: round 1/2: best ' '$tmp/copro.err' && grep -q '^dspcc optimize: round 2/2: best ' '$tmp/copro.err'"
check "the summary lists the baseline and each round's best, and marks the one kept" \
    sh -c "grep -q '^  baseline: ' '$tmp/copro.out' && grep -q '^  round 1 best: TicketClassifier.r: round 1 candidate' '$tmp/copro.out' && grep -q '^  round [12] best: .*(kept)\$' '$tmp/copro.out'"
check "the report has the trials and the plot" \
    sh -c "grep -q '<svg' '$tmp/copro.html' && grep -q 'round 1 candidate 1' '$tmp/copro.html'"
# Round 2's proposals show the teacher the attempts, worst first, with scores.
check "round 1 proposals ground on labelled rows" grep -q 'task_demos ## ]].* -> billing' "$tmp/requests.log"
check "round 2 proposals show the attempts with their scores" \
    sh -c "grep 'attempted_instructions ## ]]' '$tmp/requests.log' | grep -q 'Instruction #1: .*Resulting Score #1: 0\.'"

ev=$(eval_score eval copro.dsp copro.json 60 --cache-dir "$tmp/cache")
echo "# dspcc eval with the copro state: $ev"
check "dspcc eval --state reproduces copro's final score" same_score "$ev" "$final"

opt warm copro.dsp cache
check "a warm re-run exits 0" test $? -eq 0
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/warm.out"
check "a warm re-run writes the same state" cmp -s "$tmp/copro.json" "$tmp/warm.json"

# A predictor's proposals and candidates of a round go at once: one at a
# time (-j 1) and 16 at once, each from an empty cache, write the state
# -j 4 wrote, byte for byte.
opt j1 copro.dsp cache_j1 -j 1
check "copro at -j 1 writes the same state" cmp -s "$tmp/copro.json" "$tmp/j1.json"
opt j16 copro.dsp cache_j16 -j 16
check "copro at -j 16 writes the same state" cmp -s "$tmp/copro.json" "$tmp/j16.json"

# Resume: a slow server, a kill -9 in round 2, then a re-run.
serve --latency-ms 10
# shellcheck disable=SC2086
optimize_bg killed copro.dsp killed.json $limits --cache-dir "$tmp/cache2"
kill_when grep -q 'round 2/2: proposing' "$tmp/killed.err"
check "the first run was killed in round 2" test "$alive" -eq 1
check "a killed run leaves no state behind" test ! -e "$tmp/killed.json"
opt resumed copro.dsp cache2
check "the re-run after SIGKILL completes" test $? -eq 0
hits=$(sed -n 's/.*cache hits \([0-9]*\),.*/\1/p' "$tmp/resumed.out")
echo "# resumed run: ${hits:-?} calls from the cache"
check "the re-run reused the killed run's calls" awk -v h="${hits:-0}" 'BEGIN { exit !(h > 0) }'
check "the resumed run finds the same state" cmp -s "$tmp/copro.json" "$tmp/resumed.json"

# Bad input: DSPy's COPRO needs a breadth of at least 2.
tickets_with 'copro(breadth: 1)' bad.dsp
"$dspcc" optimize "$tmp/bad.dsp" -o "$tmp/bad.json" --base-url "$url" --cache-dir "$tmp/cache3" \
    >/dev/null 2>"$tmp/bad.err"
rc=$?
check "copro(breadth: 1) fails with status 1" test "$rc" -eq 1
check "and says breadth's range" grep -q 'breadth.*between 2 and 64' "$tmp/bad.err"
check "and writes no state" test ! -e "$tmp/bad.json"
