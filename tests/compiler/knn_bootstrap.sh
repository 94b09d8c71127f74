#!/bin/sh
# knn_fewshot's bootstrapped pool (DSPy's KNNFewShot wraps BootstrapFewShot)
# against build/dsp-refserver (a TEST FIXTURE, not a language model), on
# the chain-of-thought ticket classifier with an embedder (60 train, 60 dev
# rows, seed 7), knn_fewshot(k: 3, dimensions: 64):
#  - by default the teacher (16 labelled demos) runs once on every other
#    training row; the rows it gets right join the pool as its traces (with
#    their reasoning), the others and the teacher's own demo rows with their
#    labels; the trial says how many of each;
#  - --estimate counts the teacher's runs (the run makes what it says);
#  - `dspcc eval --state` reproduces the score; the generated C bakes the
#    traces (their reasoning is in the tables) and chooses as eval does;
#  - bootstrap: false keeps the labelled rows only (no reasoning, no
#    teacher run);
#  - a two-step program whose fields the data lacks
#    (tests/compiler/fixtures/knn_two_step) gets a pool of traces for both
#    steps; with bootstrap: false it has none, and says so.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/gen_parity.sh

# The ticket classifier with an embedding model and knn_fewshot(ARGS).
knn_tickets() {
    sed -e "s/with mipro([^)]*)/with knn_fewshot($1)/" -e 's/^  lm: teacher$/  lm: teacher\n  embedder: embed/' \
        -e 's/^enum Category/lm embed = "openai\/text-embedding-3-small"\n\nenum Category/' \
        examples/tickets/tickets.dsp >"$tmp/$2"
}
knn_tickets 'k: 3, dimensions: 64' boot.dsp
knn_tickets 'k: 3, dimensions: 64, bootstrap: false' lab.dsp
serve
check "the reference server (test fixture) started" test -n "$port"

opt boot boot.dsp cache
check "knn_fewshot (bootstrapped pool) exits 0" test $? -eq 0
traces=$(sed -n 's/.*"config": "knn k=3, pool of \([0-9]*\) traces and \([0-9]*\) labelled".*/\1/p' "$tmp/boot.json")
labelled=$(sed -n 's/.*"config": "knn k=3, pool of \([0-9]*\) traces and \([0-9]*\) labelled".*/\2/p' "$tmp/boot.json")
echo "# pool: ${traces:-?} traces, ${labelled:-?} labelled"
check "the trial says the pool holds traces and labelled rows, one per training row" \
    sh -c "test '${traces:-0}' -gt 0 && test '${labelled:-0}' -gt 0 && test $((${traces:-0} + ${labelled:-0})) -eq 60"
check "the traces carry their reasoning, the labelled rows none" \
    test "$(jq '.predictors[0].demos | map(select(.outputs.reasoning != null)) | length' "$tmp/boot.json")" = "${traces:-x}"
check "the teacher's 16 demo rows stay labelled" test "${labelled:-0}" -ge 16
"$dspcc" optimize "$tmp/boot.dsp" --estimate $limits --base-url "$url" --cache-dir "$tmp/cache-est" >"$tmp/est.out" 2>&1
est=$(sed -n 's/^  lm calls *\([0-9]*\).*/\1/p' "$tmp/est.out" | head -n 1)
check "--estimate counts the teacher's runs (${est:-?} calls; the run made $(json_key "$tmp/boot.json" lm_calls))" \
    test "${est:-0}" = "$(json_key "$tmp/boot.json" lm_calls)"
ev=$(eval_score eval boot.dsp boot.json 60 --cache-dir "$tmp/cache")
check "dspcc eval --state reproduces the score" same_score "$ev" "$(json_key "$tmp/boot.json" final_score)"
gen_parity boot.dsp boot.json tickets ticket_classifier category category 60
check "the C tables hold the traces' reasoning (one text per trace)" \
    test "$(grep -c '/\* reasoning \*/ "' "$tmp/gen/tickets.c")" = "${traces:-x}"

opt lab lab.dsp cache
check "bootstrap: false exits 0" test $? -eq 0
check "and keeps 60 labelled rows, no reasoning" \
    sh -c "grep -q '\"config\": \"knn k=3\"' '$tmp/lab.json' &&
           test \"\$(jq '.predictors[0].demos | map(select(.outputs.reasoning != null)) | length' '$tmp/lab.json')\" = 0 &&
           test \"\$(jq '.predictors[0].demos | length' '$tmp/lab.json')\" = 60"
check "without running the teacher" test "$(json_key "$tmp/lab.json" lm_calls)" -lt "$(json_key "$tmp/boot.json" lm_calls)"
echo "# tickets 60/60, seed 7: zero-shot $(json_key "$tmp/boot.json" baseline_score), knn labelled pool $(json_key "$tmp/lab.json" optimized_score), bootstrapped pool $(json_key "$tmp/boot.json" optimized_score)"

# Two steps whose fields the data lacks (a summary, then the queue from
# it): only traces can fill the pools.
cp tests/compiler/fixtures/knn_two_step/two.dsp "$tmp/two.dsp"
sed 's/dimensions: 64)/dimensions: 64, bootstrap: false)/' "$tmp/two.dsp" >"$tmp/two_lab.dsp"
opt two two.dsp cache --allow-regression
check "a two-step program's pools are bootstrapped" test $? -eq 0
check "both steps get a pool of traces" \
    test "$(jq -c '[.predictors[] | {name, n: (.demos | length), k: .knn.k}]' "$tmp/two.json")" = \
    '[{"name":"TwoStep.r","n":22,"k":3},{"name":"TwoStep.s","n":22,"k":3}]'
check "the second's demos are the first's summaries" \
    test "$(jq -r '.predictors[0].demos[0].inputs.summary | length > 0' "$tmp/two.json")" = true
echo "# two steps, 60/60: zero-shot $(json_key "$tmp/two.json" baseline_score), bootstrapped knn $(json_key "$tmp/two.json" optimized_score)"
opt two_lab two_lab.dsp cache
check "with bootstrap: false there is nothing to choose from, and it says so" \
    sh -c "test $? -eq 1 && grep -q 'no training row has the inputs and outputs of any predictor' '$tmp/two_lab.err'"
