#!/bin/sh
# examples/entities end to end against build/dsp-refserver (a TEST FIXTURE,
# not a language model): `make scores` prints span-level F1 on dev,
# zero-shot and optimized, and optimizing helps; the optimized state has
# demos whose outputs are lists of records; the chat and JSON adapters
# (OpenAI response_format, Anthropic forced tool) score the same; the
# generated C program entities_cli prints each line's entities as JSON, the
# same lists of records the interpreter gives on the same replies.
# Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
unset DSPCC_BASE_URL
SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi

make -s -C examples/entities scores BUILD="$BUILD" >"$tmp/scores.txt" 2>"$tmp/scores.err"
check "make scores runs" test $? -eq 0
line=$(grep '^dev span F1 (fixture LM): zero-shot' "$tmp/scores.txt")
echo "# $line"
zero=$(printf '%s' "$line" | sed 's/.*zero-shot \([0-9.]*\),.*/\1/')
opt=$(printf '%s' "$line" | sed 's/.*optimized \([0-9.]*\)$/\1/')
# The metric pools every sentence's entities (average: micro), so the empty
# sentences the optimized program gets right no longer lift it: the fixture's
# gain is 0.218 -> 0.253 (examples/entities/README.md).
check "optimizing the extractor raises its dev span F1 (micro-averaged)" \
    awk -v z="$zero" -v o="$opt" 'BEGIN { exit !(o > z + 0.02) }'

rs_start
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"
"$dspcc" optimize examples/entities/entities.dsp -o "$tmp/entities.state.json" --base-url "$url" \
    --cache-dir "$tmp/cache" >/dev/null 2>"$tmp/opt.err"
check "dspcc optimize writes a state" test -s "$tmp/entities.state.json"
check "its demos' outputs are lists of records" grep -q '\[{\\"text\\":' "$tmp/entities.state.json"

# average: micro pools the items: the score is 2 x matched / (predicted +
# gold), gold counts every entity of the rows evaluated, and the mean of the
# sentences' own scores (each empty sentence scoring 1) is printed apart.
if command -v jq >/dev/null 2>&1; then
    "$dspcc" eval examples/entities/entities.dsp --data dev --limit 100 --base-url "$url" --cache-dir "$tmp/cache" \
        --json >"$tmp/micro.json" 2>/dev/null
    check "the pooled score is 2 x matched / (predicted + gold)" \
        sh -c "jq -e '(.score - 2 * .micro.matched / (.micro.predicted + .micro.gold)) | fabs < 1e-9' '$tmp/micro.json' >/dev/null"
    check "its gold items are every entity of the 100 rows" test "$(jq -r .micro.gold "$tmp/micro.json")" = \
        "$(head -n 100 examples/entities/data/dev.jsonl | jq -s 'map(.entities | length) | add')"
    check "and the mean of the sentences' own scores differs (empty sentences score 1 there)" \
        sh -c "jq -e '(.micro.example_mean - .score) | fabs > 0.001' '$tmp/micro.json' >/dev/null"
else
    echo "ok - # SKIP jq is not installed (scripts/setup.sh installs it)"
fi

# The same program with adapter: json, on OpenAI's and Anthropic's wire.
mkdir -p "$tmp/json"
cp -r examples/entities/data "$tmp/json/"
sed 's/^  max_tokens: 400$/  max_tokens: 400\n  adapter: json/' examples/entities/entities.dsp >"$tmp/json/openai.dsp"
sed -e 's/^  max_tokens: 400$/  max_tokens: 400\n  adapter: json/' -e 's|"openai/gpt-4o-mini"|"anthropic/claude-fixture"|' \
    -e 's/OPENAI_API_KEY/ANTHROPIC_API_KEY/' examples/entities/entities.dsp >"$tmp/json/anthropic.dsp"
score() { sed -n 's/^[[:space:]]*"score":[[:space:]]*\([0-9.e-]*\),$/\1/p' "$1"; }
"$dspcc" eval examples/entities/entities.dsp --state "$tmp/entities.state.json" --data dev --limit 100 \
    --base-url "$url" --no-cache --json >"$tmp/chat.json" 2>/dev/null
for api in openai anthropic; do
    ANTHROPIC_API_KEY=fixture-needs-no-key "$dspcc" eval "$tmp/json/$api.dsp" --state "$tmp/entities.state.json" \
        --data dev --limit 100 --base-url "$url" --no-cache --json >"$tmp/$api.json" 2>"$tmp/$api.err"
    check "adapter: json on the $api wire runs, no example failed" \
        sh -c "test \$? -eq 0 && grep -q '\"failed\":[[:space:]]*0,' '$tmp/$api.json'"
    check "adapter: json on the $api wire scores as the chat adapter does" \
        test "$(score "$tmp/$api.json")" = "$(score "$tmp/chat.json")"
done

"$dspcc" build examples/entities/entities.dsp --state "$tmp/entities.state.json" -o "$tmp/entities.c" 2>"$tmp/build.err"
check "dspcc build with the optimized state" test $? -eq 0
cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN -I"$root/runtime/include" -I"$tmp" \
    -o "$tmp/entities_cli" examples/entities/entities_cli.c "$tmp/entities.c" \
    "$BUILD/libdsprt.a" -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$tmp/cc.err"
check "entities_cli compiles with -pedantic and links" test $? -eq 0
printf 'You should stay on Redondo Beach Blvd near Compton\nnothing to see here\n' |
    DSPCC_BASE_URL=$url DSPCC_CACHE_DIR="$tmp/cache" "$tmp/entities_cli" >"$tmp/ents.jsonl" 2>"$tmp/cli.err"
check "entities_cli exits 0" test $? -eq 0
check "one JSON line per sentence" sh -c "test \$(grep -c '^{\"sentence\": ' '$tmp/ents.jsonl') -eq 2"
check "the entities of the first sentence, in order, each with one of the six types" \
    grep -qE '"entities": \[\{"text": "Redondo Beach Blvd", "type": "(person|location|corporation|product|creative-work|group)"\}, \{"text": "Compton", "type": "[a-z-]+"\}\]' \
    "$tmp/ents.jsonl"
check "a sentence without entities gets []" grep -qF '{"sentence": "nothing to see here", "entities": []}' "$tmp/ents.jsonl"

# Parity on the same replies: the interpreter (eval --predictions) and the
# generated C (entities_cli) give the same lists of records on 60 dev rows.
jq -r '.text' examples/entities/data/dev.jsonl | head -n 60 >"$tmp/dev60.txt"
head -n 60 examples/entities/data/dev.jsonl >"$tmp/json/dev60.jsonl"
sed 's|"data/dev.jsonl"|"dev60.jsonl"|' examples/entities/entities.dsp >"$tmp/json/parity.dsp"
"$dspcc" eval "$tmp/json/parity.dsp" --state "$tmp/entities.state.json" --data dev --base-url "$url" \
    --cache-dir "$tmp/cache" --predictions "$tmp/interp.jsonl" >/dev/null 2>"$tmp/interp.err"
check "eval --predictions of the optimized program" test $? -eq 0
DSPCC_BASE_URL=$url DSPCC_CACHE_DIR="$tmp/cache" "$tmp/entities_cli" <"$tmp/dev60.txt" >"$tmp/c.jsonl" 2>"$tmp/c.err"
check "entities_cli on the same rows" test $? -eq 0
jq -c '.outputs.entities' "$tmp/interp.jsonl" >"$tmp/interp.ents"
jq -c '.entities' "$tmp/c.jsonl" >"$tmp/c.ents"
check "interpreter and generated C give identical entities on every row" \
    sh -c "test \$(wc -l <'$tmp/c.ents') -eq 60 && cmp -s '$tmp/interp.ents' '$tmp/c.ents'"
check "and not all of them empty" sh -c "test \$(grep -vcx '\\[\\]' '$tmp/c.ents') -gt 10"
