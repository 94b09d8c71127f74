#!/bin/sh
# ensemble end to end against build/dsp-refserver (a TEST FIXTURE, not a
# language model) on the ticket classifier, 60 training and 60 dev rows,
# seed 7, ensemble(size: 3, num_candidates: 4):
#  - every random_search candidate is scored on dev, the 3 best vote, and
#    the ensemble's score is its own trial; it is the search's answer and
#    beats the program as written;
#  - the state holds each member's prompt and the field they vote on;
#    `dspcc eval --state` reproduces the score (every member called);
#  - a warm re-run makes no HTTP request and writes the same state; a run
#    killed with SIGKILL completes from the cache with the same state;
#  - the no-regression guard: on demos that hurt, the ensemble is not
#    shipped;
#  - the generated C (the same bytes twice; gcc and clang, strict) bakes
#    the members as static tables and calls libdsprt's dsp_ensemble_run,
#    and chooses as `dspcc eval` does on every dev row (eval scores the C
#    program's answers 1.0).
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/gen_parity.sh

tickets_with 'ensemble(size: 3, num_candidates: 4)' ens.dsp

serve
check "the reference server (test fixture) started" test -n "$port"

opt ens ens.dsp cache --report "$tmp/ens.html"
check "ensemble exits 0" test $? -eq 0
base=$(json_key "$tmp/ens.json" baseline_score)
final=$(json_key "$tmp/ens.json" final_score)
best=$(sed -n 's/.*"trial": [0-9]*, "score": \([0-9.]*\), "full_eval": true.*"config": "candidate .*/\1/p' "$tmp/ens.json" |
       sort -n | tail -n 1)
echo "# tickets 60/60, seed 7: zero-shot $base, best candidate ${best:-?}, ensemble of 3 $final"
check "the ensemble beats the program as written" ge "$final" "$base" 0.1
check "every candidate and the ensemble are trials" \
    sh -c "grep -q '\"config\": \"candidate 1: zero-shot\"' '$tmp/ens.json' &&
           grep -q '\"config\": \"ensemble of candidates [0-9]*, [0-9]*, [0-9]* (majority)\"' '$tmp/ens.json'"
check "the state holds 3 members voting on category" \
    sh -c "grep -q '\"ensemble\": { \"field\": \"category\", \"members\": \[' '$tmp/ens.json' &&
           test \$(sed -n '/\"ensemble\": {/,\$p' '$tmp/ens.json' | grep -c '^        {\$') -eq 3"
ev=$(eval_score eval ens.dsp ens.json 60 --cache-dir "$tmp/cache")
check "dspcc eval --state reproduces the ensemble's score" same_score "$ev" "$final"
check "and calls every member (3 calls an example)" test "$(json_key "$tmp/eval.json" lm_calls)" = 180

opt warm ens.dsp cache
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/warm.out"
check "a warm re-run writes the same state" cmp -s "$tmp/ens.json" "$tmp/warm.json"

serve --latency-ms 10
# shellcheck disable=SC2086
optimize_bg killed ens.dsp killed.json $limits --cache-dir "$tmp/cache2"
kill_when grep -q 'candidates on the valset' "$tmp/killed.err"
check "the first run was killed mid-search" test "$alive" -eq 1
opt resumed ens.dsp cache2
check "the re-run after SIGKILL completes" test $? -eq 0
hits=$(sed -n 's/.*cache hits \([0-9]*\),.*/\1/p' "$tmp/resumed.out")
check "the re-run reused the killed run's calls (${hits:-0})" awk -v h="${hits:-0}" 'BEGIN { exit !(h > 0) }'
check "the resumed run finds the same state" cmp -s "$tmp/ens.json" "$tmp/resumed.json"

serve
hurt=tests/compiler/fixtures/demos_hurt
mkdir -p "$tmp/hurt"
cp "$hurt/train.jsonl" "$hurt/dev.jsonl" "$tmp/hurt/"
sed 's/with labeled_fewshot(k: 6)/with ensemble(size: 3, num_candidates: 2)/' "$hurt/route.dsp" >"$tmp/hurt/route.dsp"
"$dspcc" optimize "$tmp/hurt/route.dsp" -o "$tmp/hurt.json" --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/hurt.out" 2>"$tmp/hurt.err"
check "ensemble on demos that hurt exits 0" test $? -eq 0
check "and ships the unoptimized program, saying why" \
    sh -c "grep -q '\"shipped\": \"unoptimized\"' '$tmp/hurt.json' && ! grep -q '\"ensemble\": {' '$tmp/hurt.json' &&
           grep -q 'kept the unoptimized program' '$tmp/hurt.out'"

gen_parity ens.dsp ens.json tickets ticket_classifier category category 60
check "the members are static tables and the call runs them through libdsprt" \
    sh -c "grep -q 'static const dsp_predict_options k_p0_ens_m\[3\] = {' '$tmp/gen/tickets.c' &&
           grep -q 'static const dsp_ensemble k_p0_ens = { k_p0_ens_m, 3, 1, 0, 0u, NULL };' '$tmp/gen/tickets.c' &&
           grep -q 'st = dsp_ensemble_run(c, &k_p0, &k_p0_ens, args, v_r, NULL, err);' '$tmp/gen/tickets.c'"
check "and the generated program's accuracy is the state's ($right)" same_score "$right" "$final"
