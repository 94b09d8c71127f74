#!/bin/sh
# `dspcc optimize` with simba end to end against build/dsp-refserver (a TEST
# FIXTURE, a deterministic in-context learner, not a language model) on
# 127.0.0.1, on the ticket classifier with 60 training and 60 dev examples:
#  - simba(bsize: 16, num_candidates: 4, max_steps: 8) beats the zero-shot
#    baseline on dev; its candidates come from both moves (a demo from the
#    best sampled run, a rule the teacher wrote from the best and the worst
#    run), scored on minibatches, the finalists on the whole valset;
#  - a warm re-run writes the same state without HTTP requests; a run
#    killed with SIGKILL, started again, completes from the cache with the
#    same result;
#  - num_candidates: 0 is an error at check time.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

tickets_with 'simba(bsize: 16, num_candidates: 4, max_steps: 8)' simba.dsp

serve --log "$tmp/requests.log"
check "the reference server (test fixture) started" test -n "$port"

opt simba simba.dsp cache
check "simba exits 0" test $? -eq 0
base=$(json_key "$tmp/simba.json" baseline_score)
final=$(json_key "$tmp/simba.json" final_score)
echo "# simba(bsize: 16, num_candidates: 4, max_steps: 8): baseline $base, final $final"
check "simba beats zero-shot by 0.05 on dev" ge "$final" "$base" 0.05
check "candidates come from demos of sampled runs" grep -q '"config": "candidate [0-9]*: demo of training row' "$tmp/simba.json"
check "and from the teacher's rules" grep -q '"config": "candidate [0-9]*: rule from training row' "$tmp/simba.json"
check "finalists are scored on the whole valset, the rest on minibatches" \
    sh -c "grep -q '\"full_eval\": true' '$tmp/simba.json' && grep -q '\"full_eval\": false' '$tmp/simba.json'"
check "runs are sampled hotter than the lm's temperature" grep -Eq 'temperature[^0-9]{1,6}0\.[5-9]' "$tmp/requests.log"
check "rules come from reflections on a better and a worse run" \
    sh -c "grep 'examples_with_feedback ## ]]' '$tmp/requests.log' | grep -q 'The worse run (score .*The better run (score '"

opt warm simba.dsp cache
check "a warm re-run exits 0" test $? -eq 0
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/warm.out"
check "a warm re-run writes the same state" cmp -s "$tmp/simba.json" "$tmp/warm.json"

serve --latency-ms 10
# shellcheck disable=SC2086
optimize_bg killed simba.dsp killed.json $limits --cache-dir "$tmp/cache2"
kill_when grep -q 'step 3/8' "$tmp/killed.err"
check "the first run was killed mid-search" test "$alive" -eq 1
opt resumed simba.dsp cache2
check "the re-run after SIGKILL completes" test $? -eq 0
check "the resumed run finds the same state" cmp -s "$tmp/simba.json" "$tmp/resumed.json"

tickets_with 'simba(num_candidates: 0)' bad.dsp
"$dspcc" optimize "$tmp/bad.dsp" -o "$tmp/bad.json" --base-url "$url" --cache-dir "$tmp/cache3" \
    >/dev/null 2>"$tmp/bad.err"
rc=$?
check "simba(num_candidates: 0) fails with status 1" test "$rc" -eq 1
check "and says the range" grep -q 'num_candidates.*between 1 and 64' "$tmp/bad.err"

# --estimate runs simba's search on stand-in scores and calls no LM (port 9
# refuses every connection).
# shellcheck disable=SC2086
"$dspcc" optimize "$tmp/simba.dsp" $limits --estimate --base-url http://127.0.0.1:9/v1 --cache-dir "$tmp/cache4" \
    >"$tmp/est.txt" 2>&1
check "simba --estimate exits 0 without reaching any LM" test $? -eq 0
check "and counts its sampled runs and rules" grep -q 'program runs *[1-9][0-9]*.*proposals' "$tmp/est.txt"
