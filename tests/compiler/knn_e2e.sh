#!/bin/sh
# knn_fewshot end to end against build/dsp-refserver (a TEST FIXTURE, not a
# language model; its /v1/embeddings are hashed bag-of-words vectors) on
# the 27-way intent task (tests/compiler/fixtures/intents: Bitext `label`),
# on a SUBSET to stay fast: the first 400 training and 100 dev rows, seed 7
# (the whole-dev figures are in docs/optimize.md):
#  - knn_fewshot(k: 3) beats labeled_fewshot(k: 3) and zero-shot on dev;
#  - the state holds the pool (400 demos) and one vector each, the
#    embedder and its dimensions; `dspcc eval --state` reproduces the score;
#  - the embeddings went to POST /v1/embeddings with the dimensions asked;
#  - a warm re-run makes no HTTP request and writes the same state; a run
#    killed with SIGKILL completes from the cache with the same state;
#  - the no-regression guard: on demos that hurt, knn's program is not
#    shipped;
#  - the generated C (built twice: the same bytes; gcc and clang, strict)
#    bakes the pool and its vectors as static tables, calls libdsprt's knn,
#    and chooses as `dspcc eval` does on every dev row (eval scores the C
#    program's answers 1.0), with the same accuracy;
#  - a missing or misplaced `embedder:` and an embedder without an
#    embeddings API are errors that say what to do.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/gen_parity.sh

cp tests/compiler/fixtures/intents/intents.dsp "$tmp/"
sed 's/knn_fewshot(k: 3, dimensions: 256)/labeled_fewshot(k: 3)/; /embedder: embed/d' \
    tests/compiler/fixtures/intents/intents.dsp >"$tmp/labeled.dsp"
sub="--trainset-limit 400 --valset-limit 100 -j 4"

serve --log "$tmp/requests.log"
check "the reference server (test fixture) started" test -n "$port"

# shellcheck disable=SC2086
optimize_into knn intents.dsp knn.json $sub --cache-dir "$tmp/cache" --report "$tmp/knn.html"
check "knn_fewshot exits 0" test $? -eq 0
check "the report says how the demos are chosen" \
    grep -q 'demos chosen per input at run time: its 3 nearest of 400 training rows by lm `embed`' "$tmp/knn.html"
# shellcheck disable=SC2086
optimize_into labeled labeled.dsp labeled.json $sub --cache-dir "$tmp/cache"
check "labeled_fewshot exits 0" test $? -eq 0
base=$(json_key "$tmp/knn.json" baseline_score)
knn=$(json_key "$tmp/knn.json" final_score)
lab=$(json_key "$tmp/labeled.json" optimized_score)
echo "# 27-way intents, 400 train / 100 dev rows, seed 7: zero-shot $base, labeled_fewshot(k: 3) $lab, knn_fewshot(k: 3) $knn"
check "knn_fewshot beats labeled_fewshot with the same k on dev" ge "$knn" "$lab" 0.1
check "and the zero-shot program" ge "$knn" "$base" 0.1
check "the state holds the pool and a vector per demo, with the embedder" \
    sh -c "grep -q '\"knn\": { \"k\": 3, \"embedder\": \"embed\", \"dimensions\": 256, \"dim\": 256,' '$tmp/knn.json' &&
           test \$(grep -c '^          \[' '$tmp/knn.json') -eq 400 && test \$(grep -c '\"intent\": ' '$tmp/knn.json') -eq 400"
check "the pool was embedded through POST /v1/embeddings with the dimensions asked" \
    sh -c "grep -q '\"path\":\"/v1/embeddings\"' '$tmp/requests.log' && grep -q 'dimensions.\":256' '$tmp/requests.log'"
# --estimate counts the pool's and each call's embeddings, and sends nothing.
lines=$(wc -l <"$tmp/requests.log")
# shellcheck disable=SC2086
"$dspcc" optimize "$tmp/intents.dsp" --estimate $sub --base-url "$url" --cache-dir "$tmp/cache4" >"$tmp/est.out" 2>&1
check "optimize --estimate exits 0" test $? -eq 0
est=$(sed -n 's/^  lm calls *\([0-9]*\).*/\1/p' "$tmp/est.out" | head -n 1)
echo "# estimate: ${est:-?} lm calls (the run made $(json_key "$tmp/knn.json" lm_calls))"
check "and counts what the run makes (1084 calls: 200 predictions, 384 teacher runs, 400 + 100 embeddings)" \
    test "${est:-0}" = 1084
check "without a request" test "$(wc -l <"$tmp/requests.log")" = "$lines"
ev=$(eval_score eval intents.dsp knn.json 100 --cache-dir "$tmp/cache")
check "dspcc eval --state reproduces knn_fewshot's score" same_score "$ev" "$knn"

# shellcheck disable=SC2086
optimize_into warm intents.dsp warm.json $sub --cache-dir "$tmp/cache"
check "a warm re-run exits 0" test $? -eq 0
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/warm.out"
check "a warm re-run writes the same state" cmp -s "$tmp/knn.json" "$tmp/warm.json"

# Resume: a slow server, a kill -9 once the knn candidate is being scored.
serve --latency-ms 20
# shellcheck disable=SC2086
optimize_bg killed intents.dsp killed.json $sub --cache-dir "$tmp/cache2"
kill_when grep -q 'embedding 400' "$tmp/killed.err"
check "the first run was killed mid-search" test "$alive" -eq 1
check "a killed run leaves no state behind" test ! -e "$tmp/killed.json"
# shellcheck disable=SC2086
optimize_into resumed intents.dsp resumed.json $sub --cache-dir "$tmp/cache2"
check "the re-run after SIGKILL completes" test $? -eq 0
hits=$(sed -n 's/.*cache hits \([0-9]*\),.*/\1/p' "$tmp/resumed.out")
echo "# resumed run: ${hits:-?} calls from the cache"
check "the re-run reused the killed run's calls" awk -v h="${hits:-0}" 'BEGIN { exit !(h > 0) }'
check "the resumed run finds the same state" cmp -s "$tmp/knn.json" "$tmp/resumed.json"

serve
# The no-regression guard, on demos that hurt (rotated training labels).
hurt=tests/compiler/fixtures/demos_hurt
mkdir -p "$tmp/hurt"
cp "$hurt/train.jsonl" "$hurt/dev.jsonl" "$tmp/hurt/"
sed 's/with labeled_fewshot(k: 6)/with knn_fewshot(k: 3)/; s/  lm: fixture/  lm: fixture\n  embedder: fixture/' \
    "$hurt/route.dsp" >"$tmp/hurt/route.dsp"
"$dspcc" optimize "$tmp/hurt/route.dsp" -o "$tmp/hurt.json" --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/hurt.out" 2>"$tmp/hurt.err"
check "knn_fewshot on demos that hurt exits 0" test $? -eq 0
check "and ships the unoptimized program, saying why" \
    sh -c "grep -q '\"shipped\": \"unoptimized\"' '$tmp/hurt.json' && ! grep -q '\"knn\"' '$tmp/hurt.json' &&
           grep -q 'kept the unoptimized program' '$tmp/hurt.out'"

# The generated C: tables, libdsprt's knn, the same choices as eval.
gen_parity intents.dsp knn.json intents intent_classifier intent label 100
check "the pool's vectors, the dsp_knn and its options are static tables" \
    sh -c "grep -q 'static const float k_p0_knn_vectors\[102400\] = {' '$tmp/gen/intents.c' &&
           grep -q 'static const dsp_knn k_p0_knn = {' '$tmp/gen/intents.c' &&
           grep -q '&k_p0_knn_lm, 256, 3, 256, k_p0_knn_vectors, k_p0_demos, 400' '$tmp/gen/intents.c'"
check "the call passes the knn to libdsprt" \
    grep -q 'st = dsp_predict_ex(c, &k_p0, &k_p0_knn_opts, args, v_r, NULL, err);' "$tmp/gen/intents.c"
check "and the generated program's accuracy is the state's ($right)" same_score "$right" "$knn"

# dspcc prompt shows the demos the input gets: its nearest training rows.
DSPCC_BASE_URL=$url "$dspcc" prompt "$tmp/intents.dsp" --state "$tmp/knn.json" \
    --input '{"text": "I need assistance with canceling my last order"}' >"$tmp/prompt.out" 2>"$tmp/prompt.err"
check "dspcc prompt with the knn state exits 0" test $? -eq 0
check "and shows 3 demos, the nearest first (the same message, cancel_order)" \
    sh -c "test \$(grep -c '^\[assistant\]' '$tmp/prompt.out') -eq 3 &&
           grep -A2 -m1 '^\[user\]' '$tmp/prompt.out' | grep -q 'canceling my last order' &&
           grep -A2 -m1 '^\[assistant\]' '$tmp/prompt.out' | grep -q 'cancel_order'"
env -u DSPCC_BASE_URL "$dspcc" prompt "$tmp/intents.dsp" --state "$tmp/knn.json" --base-url "$url" \
    --input '{"text": "I need assistance with canceling my last order"}' >"$tmp/prompt2.out" 2>&1
check "--base-url without --run sends that embeddings call there too" cmp -s "$tmp/prompt.out" "$tmp/prompt2.out"

# Bad input, before any call.
sed '/embedder: embed/d' "$tmp/intents.dsp" >"$tmp/noemb.dsp"
"$dspcc" check "$tmp/noemb.dsp" >/dev/null 2>"$tmp/noemb.err"
check "knn_fewshot without embedder: fails" test $? -ne 0
check "and says to declare the embedding model's lm" grep -q 'knn_fewshot needs `embedder: NAME`' "$tmp/noemb.err"
sed 's/  embedder: embed//; s/  seed: 7/  seed: 7\n  embedder: embed/' "$tmp/labeled.dsp" >"$tmp/misplaced.dsp"
"$dspcc" check "$tmp/misplaced.dsp" >/dev/null 2>"$tmp/misplaced.err"
check "embedder: with another optimizer fails, naming it" grep -q '`embedder` is knn_fewshot' "$tmp/misplaced.err"
sed 's|lm embed = "openai/text-embedding-3-small"|lm embed = "anthropic/claude-3-5-haiku-latest"|' \
    "$tmp/intents.dsp" >"$tmp/anthropic.dsp"
"$dspcc" check "$tmp/anthropic.dsp" >/dev/null 2>"$tmp/anthropic.err"
check "an anthropic embedder fails at check time" test $? -ne 0
check "and says which lms serve embeddings" \
    grep -q 'anthropic.dsp:[0-9]*:[0-9]*: error: embedder `embed` runs on anthropic, whose API has no OpenAI-style embeddings' \
    "$tmp/anthropic.err"
