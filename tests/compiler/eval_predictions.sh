#!/bin/sh
# `dspcc eval --predictions` and the per-class scores against
# build/dsp-refserver (a TEST FIXTURE): one JSON line per example in data
# order with every documented field, numbers that add up to the summary,
# and a per-class table and confusion matrix (text and --json) that agree
# with the predictions file. Needs jq. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
prog=examples/tickets/tickets.dsp
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

if ! command -v jq >/dev/null 2>&1; then
    echo "ok - # SKIP jq is not installed (scripts/setup.sh installs it)"
    exit 0
fi
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

rs_start --seed 3
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

"$dspcc" eval "$prog" --data dev --limit 25 --json --predictions "$tmp/p.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" -j 4 >"$tmp/sum.json" 2>"$tmp/err"
check "eval --predictions exits 0" test $? -eq 0
check "one line per example" test "$(wc -l <"$tmp/p.jsonl")" -eq 25
check "every line has every field" test "$(jq -c 'has("row") and has("line") and has("inputs") and has("gold")
    and has("outputs") and has("score") and has("status") and has("error") and has("lm_calls")
    and has("cache_hits") and has("cache_hit") and has("prompt_tokens") and has("completion_tokens")
    and has("seconds")' "$tmp/p.jsonl" | sort -u)" = true
check "lines are in data order" test "$(jq -r .row "$tmp/p.jsonl" | tr '\n' ' ')" = \
    "$(seq 0 24 | tr '\n' ' ')"
check "inputs and gold fields are the data file's" \
    test "$(jq -r '.inputs.ticket_text + "|" + .gold.category' "$tmp/p.jsonl" | md5sum)" = \
    "$(head -n 25 examples/tickets/data/dev.jsonl | jq -r '.text + "|" + .category' | md5sum)"
check "outputs hold the module's results" sh -c "jq -e '.outputs.category and .outputs.reasoning' '$tmp/p.jsonl' >/dev/null"
check "the scores add up to the summary's" test "$(jq -s 'map(.score) | add / length' "$tmp/p.jsonl")" = \
    "$(jq .score "$tmp/sum.json")"
check "the tokens add up to the summary's" test "$(jq -s 'map(.prompt_tokens) | add' "$tmp/p.jsonl")" = \
    "$(jq .prompt_tokens "$tmp/sum.json")"
check "a first run has no cache hits" test "$(jq -s 'map(select(.cache_hit)) | length' "$tmp/p.jsonl")" = 0

"$dspcc" eval "$prog" --data dev --limit 25 --predictions "$tmp/p2.jsonl" --base-url "$url" \
    --cache-dir "$tmp/cache" >/dev/null 2>&1
check "a second run is cache hits, line by line" \
    test "$(jq -s 'map(select(.cache_hit)) | length' "$tmp/p2.jsonl")" = 25

# Per class: the confusion matrix is the predictions file's, counted again.
for g in billing account orders general; do
    for p in billing account orders general; do
        n=$(jq -s "map(select(.gold.category == \"$g\" and .outputs.category == \"$p\")) | length" "$tmp/p.jsonl")
        printf '%s ' "$n"
    done
    jq -s "map(select(.gold.category == \"$g\" and .outputs == null)) | length" "$tmp/p.jsonl"
done | tr '\n' ' ' >"$tmp/counted"
jq -r '.per_class.confusion | map(map(tostring) | join(" ")) | join(" ")' "$tmp/sum.json" >"$tmp/reported"
check "eval --json has per_class scores for the enum output" sh -c "jq -e '.per_class.field == \"category\"' '$tmp/sum.json' >/dev/null"
check "the confusion matrix counts the predictions" test "$(cat "$tmp/counted" | sed 's/ $//')" = "$(cat "$tmp/reported")"
check "supports add up to the examples" test "$(jq '[.per_class.classes[].support] | add' "$tmp/sum.json")" = 25
check "accuracy is the mean score (exact_match metric)" \
    test "$(jq .per_class.accuracy "$tmp/sum.json")" = "$(jq .score "$tmp/sum.json")"

"$dspcc" eval "$prog" --data dev --limit 25 --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/text" 2>&1
check "the text report has the per-class table" grep -q '^per class (`category`' "$tmp/text"
check "and the confusion matrix" grep -q '^confusion matrix' "$tmp/text"

# Bad paths fail before any LM call.
"$dspcc" eval "$prog" --data dev --predictions "$tmp/no/such/dir/p.jsonl" --base-url "$url" >/dev/null 2>"$tmp/e1"
check "an unwritable --predictions is a usage error naming it" \
    sh -c "test $? -eq 2 && grep -q -- '--predictions' '$tmp/e1'"
