#!/bin/sh
# `make demo`: the support-ticket classifier end to end against the local
# reference server build/dsp-refserver, which is a TEST FIXTURE (a
# deterministic in-context learner), not a language model.
#
# Builds the example with optimization (dspcc build runs the optimize
# block), prints dev accuracy unoptimized vs optimized vs the generated C,
# and classifies a few tickets with ticket_cli.
set -eu
: "${BUILD:=build}"
TOP=$(pwd)
DSPCC=$TOP/$BUILD/dspcc
OUT=$TOP/$BUILD/demo
mkdir -p "$OUT"
export DSPCC_CACHE_DIR="$OUT/cache"
# The fixture needs no key; a dummy keeps any real key you have set from
# being sent anywhere.
export OPENAI_API_KEY=refserver-fixture-needs-no-key

rm -f "$OUT/refserver.out"
"$TOP/$BUILD/dsp-refserver" --port 0 >"$OUT/refserver.out" 2>"$OUT/refserver.err" &
RS=$!
trap 'kill $RS 2>/dev/null; wait $RS 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$OUT/refserver.out" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 "$OUT/refserver.out")
if [ -z "$PORT" ]; then
    echo "demo: build/dsp-refserver did not start: $(cat "$OUT/refserver.err")" >&2
    exit 1
fi
URL=http://127.0.0.1:$PORT/v1
echo "== LM: build/dsp-refserver at $URL — the local reference TEST FIXTURE, not a real LM"

echo "== make -C examples/tickets: dspcc build runs the optimize block, then generates C and links ticket_cli"
make -s -C examples/tickets BUILD="$BUILD" OUT="$OUT/tickets" BASE_URL="$URL" >/dev/null
STATE=$OUT/tickets/tickets.state.json

score() { sed -n 's/.*"score":[[:space:]]*\([0-9.eE+-]*\).*/\1/p' | head -1; }
BASE=$("$DSPCC" eval examples/tickets/tickets.dsp --data dev --json --base-url "$URL" | score)
OPT=$("$DSPCC" eval examples/tickets/tickets.dsp --data dev --json --base-url "$URL" \
    --state "$STATE" | score)

# The dev set's texts and gold labels, one per line (texts hold no quotes
# that matter here: the fields are plain JSON strings).
sed -n 's/.*"text": *"\([^"]*\)".*/\1/p' examples/tickets/data/dev.jsonl >"$OUT/dev.txt"
sed -n 's/.*"category": *"\([^"]*\)".*/\1/p' examples/tickets/data/dev.jsonl >"$OUT/dev.gold"
DSPCC_BASE_URL=$URL "$OUT/tickets/ticket_cli" <"$OUT/dev.txt" >"$OUT/dev.out"
C_ACC=$(paste -d '\t' "$OUT/dev.out" "$OUT/dev.gold" | awk -F '\t' '{ n++; if ($1 == $2) k++ } END { printf "%.4f", k / n }')
echo "== dev accuracy:"
printf '   %-14s %-14s %-14s\n' unoptimized optimized "generated C (ticket_cli, optimized)"
printf '   %-14.4f %-14.4f %-14s\n' "$BASE" "$OPT" "$C_ACC"

echo "== ticket_cli on a few dev tickets (category <tab> ticket):"
head -5 "$OUT/dev.txt" >"$OUT/few.txt"
DSPCC_BASE_URL=$URL "$OUT/tickets/ticket_cli" <"$OUT/few.txt" >"$OUT/few.out"
paste -d '\t' "$OUT/few.out" "$OUT/few.txt" | sed 's/^/   /'

cat <<MSG
== Done. The LM above was build/dsp-refserver, a local TEST FIXTURE.
   To use a real endpoint: run the generated program with
   DSPCC_BASE_URL=https://your-endpoint/v1 (any OpenAI-compatible server), or
   edit the lm declaration in examples/tickets/tickets.dsp and set the key's
   environment variable it names (OPENAI_API_KEY); dspcc optimize/eval take
   --base-url URL.
MSG
