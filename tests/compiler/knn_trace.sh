#!/bin/sh
# Embeddings calls are traced and observed as chat calls are, against
# build/dsp-refserver (a TEST FIXTURE, not a language model), on the 27-way
# intents with knn_fewshot(k: 3, dimensions: 256) (40 train, 5 dev rows):
#  - `dspcc optimize --trace` writes one embeddings line for the pool (40
#    inputs) and `dspcc eval --trace` one per dev row, each OpenTelemetry's
#    GenAI embeddings span: gen_ai.operation.name "embeddings", name
#    "embeddings MODEL", the model, the dimensions, input tokens, the
#    predictor, a module span of the same trace as parent; a warm re-run's
#    lines are cache hits with the same tokens; no key anywhere;
#  - `dspcc prompt --run` shows the embeddings call before the chat call it
#    chose demos for (the text embedded; with --wire the request body).
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

cp tests/compiler/fixtures/intents/intents.dsp "$tmp/"
sub="--trainset-limit 40 --valset-limit 5 -j 2"
serve
check "the reference server (test fixture) started" test -n "$port"

# shellcheck disable=SC2086
optimize_into knn intents.dsp knn.json $sub --cache-dir "$tmp/cache" --trace "$tmp/opt.jsonl" \
    --allow-regression
check "knn_fewshot --trace exits 0" test $? -eq 0
check "the pool's embeddings call is one trace line of 40 inputs" \
    test "$(jq -s '[.[] | select(.attributes."gen_ai.operation.name" == "embeddings")
                   | select(.attributes."dspcc.inputs" == 40)] | length' "$tmp/opt.jsonl")" = 1

ev() { # NAME: eval --trace on 5 dev rows into $tmp/NAME.jsonl
    "$dspcc" eval "$tmp/intents.dsp" --state "$tmp/knn.json" --data dev --limit 5 --base-url "$url" \
        --cache-dir "$tmp/cache" --trace "$tmp/$1.jsonl" >"$tmp/$1.out" 2>"$tmp/$1.err"
}
emb() { # FILE JQ-FILTER: how many embeddings lines pass the filter
    jq -s "[.[] | select(.attributes.\"gen_ai.operation.name\" == \"embeddings\") | select($2)] | length" "$1"
}
ev cold
check "eval --trace exits 0" test $? -eq 0
check "one embeddings line per row" test "$(emb "$tmp/cold.jsonl" true)" = 5
check "each an OpenTelemetry GenAI embeddings span of the model, its dimensions and input tokens" \
    test "$(emb "$tmp/cold.jsonl" '.kind == "lm" and .name == "embeddings text-embedding-3-small"
        and .attributes."gen_ai.request.model" == "text-embedding-3-small"
        and .attributes."gen_ai.provider.name" == "openai"
        and .attributes."gen_ai.embeddings.dimension.count" == 256
        and .attributes."gen_ai.usage.input_tokens" > 0 and .attributes."dspcc.inputs" == 1
        and .status.code == "OK"')" = 5
check "naming the predictor, under a module span of the same trace" \
    test "$(jq -s '(map(select(.kind == "module") | {key: .span_id, value: .trace_id}) | from_entries) as $m
        | [.[] | select(.attributes."gen_ai.operation.name" == "embeddings")
               | select($m[.parent_span_id] == .trace_id and .attributes."dspcc.predictor" == "IntentClassifier.r")]
        | length' "$tmp/cold.jsonl")" = 5
check "chat lines stay chat" test "$(jq -s '[.[] | select(.attributes."gen_ai.operation.name" == "chat")] | length' \
    "$tmp/cold.jsonl")" = 5
ev warm
check "a warm re-run's embeddings lines are cache hits" \
    test "$(emb "$tmp/warm.jsonl" '.attributes."dspcc.cache_hit" == true and .attributes."dspcc.cache_hits" == 1')" = 5
tokens() { # FILE: each row's embeddings input tokens, by row
    jq -c -s '[.[] | select(.attributes."gen_ai.operation.name" == "embeddings")
              | [.attributes."dspcc.example", .attributes."gen_ai.usage.input_tokens"]] | sort' "$1"
}
check "counting the same input tokens" test "$(tokens "$tmp/cold.jsonl")" = "$(tokens "$tmp/warm.jsonl")"
check "no API key in any trace" sh -c "! grep -q 'sk-test' '$tmp/opt.jsonl' '$tmp/cold.jsonl' '$tmp/warm.jsonl'"

"$dspcc" prompt "$tmp/intents.dsp" --state "$tmp/knn.json" --example 0 --data dev --run --base-url "$url" \
    --cache-dir "$tmp/cache" >"$tmp/run.txt" 2>"$tmp/run.err"
check "prompt --run exits 0" test $? -eq 0
check "it shows the embeddings call first, from the cache" \
    test "$(sed -n 1p "$tmp/run.txt")" = "=== call 1: embeddings for IntentClassifier.r on openai/text-embedding-3-small, 1 input; answered from the cache ==="
check "with the text embedded" test "$(sed -n 2p "$tmp/run.txt")" = "[input 1]"
check "as DSPy writes it" sh -c "sed -n 3p '$tmp/run.txt' | grep -q '^text: '"
check "then the chat call with the 3 demos it chose" \
    sh -c "grep -q '^=== call 2: IntentClassifier.r on openai/gpt-4o-mini, 8 messages; answered from the cache ===' '$tmp/run.txt'"
"$dspcc" prompt "$tmp/intents.dsp" --state "$tmp/knn.json" --example 0 --data dev --run --wire openai \
    --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/wire.txt" 2>"$tmp/wire.err"
check "prompt --run --wire shows the embeddings request body" \
    sh -c "sed -n 2p '$tmp/wire.txt' | jq -e '.model == \"text-embedding-3-small\" and .dimensions == 256 and
        (.input | length) == 1' >/dev/null"
"$dspcc" prompt "$tmp/intents.dsp" --state "$tmp/knn.json" --example 0 --data dev --run --predictor IntentClassifier.r \
    --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/pred.txt" 2>"$tmp/pred.err"
check "--predictor keeps both of its calls" test "$(grep -c '^\[input 1\]$\|^\[system\]$' "$tmp/pred.txt")" = 2
DSPCC_TRACE_CONTENT=1 "$dspcc" eval "$tmp/intents.dsp" --state "$tmp/knn.json" --data dev --limit 1 --base-url "$url" \
    --cache-dir "$tmp/cache" --trace "$tmp/content.jsonl" >/dev/null 2>&1
check "with DSPCC_TRACE_CONTENT=1 the line holds the text embedded" \
    test "$(emb "$tmp/content.jsonl" '.attributes."dspcc.embeddings.input"[0] | startswith("text: ")')" = 1
check "and without it, no text" test "$(emb "$tmp/cold.jsonl" '.attributes."dspcc.embeddings.input" != null')" = 0
