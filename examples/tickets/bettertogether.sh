#!/bin/sh
# The seed's workflow on the support-ticket classifier, end to end against
# the local reference server build/dsp-refserver, a TEST FIXTURE (its
# scores are a fixture's, not a model's). Run from the repository's top:
#
#   sh examples/tickets/bettertogether.sh
#
#  1. dspcc optimize tickets_bt.dsp: better_together "p -> w -> p" prompts
#     the teacher (bootstrap_fewshot), trains a LoRA adapter of the student
#     on the teacher's passing traces with the trainer the student lm names
#     (tests/refserver/tiny_trainer.sh, a fixture), loads it into the
#     server (POST /v1/load_lora_adapter, as vLLM takes it) and prompts the
#     student again; the summary puts teacher and student side by side
#     (score, tokens per call, cost per 1,000 calls at the lms' prices);
#  2. dspcc eval on held-out rows: dev rows the optimizer never saw;
#  3. dspcc build --state: ticket_cli against the student, its adapter
#     verified (--verify-adapters), classifying tickets;
#  4. dspcc build --shadow-state: ticket_cli with the teacher answering and
#     the student in its shadow (--shadow): the agreement rate before a
#     cut-over.
# TRAIN and VAL (default 30 each) limit the rows optimized on; HELDOUT
# (default 30) the dev rows after them that the eval scores.
set -eu
: "${BUILD:=build}" "${TRAIN:=30}" "${VAL:=30}" "${HELDOUT:=30}"
TOP=$(pwd)
DSPCC=$TOP/$BUILD/dspcc
OUT=$TOP/$BUILD/bettertogether
EX=$TOP/examples/tickets
rm -rf "$OUT"
mkdir -p "$OUT/student" "$OUT/shadow"
export DSPCC_CACHE_DIR="$OUT/cache"
# The fixture needs no key; a dummy keeps a real key from being sent anywhere.
export OPENAI_API_KEY=refserver-fixture-needs-no-key

"$TOP/$BUILD/dsp-refserver" --port 0 >"$OUT/refserver.out" 2>"$OUT/refserver.err" &
RS=$!
trap 'kill $RS 2>/dev/null; wait $RS 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$OUT/refserver.out" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 "$OUT/refserver.out")
[ -n "$PORT" ] || { echo "bettertogether: build/dsp-refserver did not start" >&2; exit 1; }
URL=http://127.0.0.1:$PORT/v1
export DSPCC_BASE_URL=$URL
echo "== LM: build/dsp-refserver at $URL, the local reference TEST FIXTURE (teacher and student alike)"

echo "== 1. dspcc optimize: better_together, p -> w -> p, the student trained by tests/refserver/tiny_trainer.sh"
"$DSPCC" optimize "$EX/tickets_bt.dsp" -o "$OUT/bt.state.json" --report "$OUT/bt.report.html" \
    --trainset-limit "$TRAIN" --valset-limit "$VAL" -j 4 2>"$OUT/optimize.err" || {
    tail -n 20 "$OUT/optimize.err" >&2
    exit 1
}
grep '^trainer|' "$OUT/optimize.err" || true

echo "== 2. held-out: dev rows $((VAL + 1)) to $((VAL + HELDOUT)), which the optimizer never scored"
head -n $((VAL + HELDOUT)) "$EX/data/dev.jsonl" | tail -n "$HELDOUT" >"$OUT/heldout.jsonl"
score() { sed -n 's/.*"score":[[:space:]]*\([0-9.eE+-]*\).*/\1/p' | head -1; }
T=$("$DSPCC" eval "$EX/tickets_bt.dsp" --data "dev=$OUT/heldout.jsonl" --json -j 4 | score)
S=$("$DSPCC" eval "$EX/tickets_bt.dsp" --data "dev=$OUT/heldout.jsonl" --state "$OUT/bt.state.json" --json -j 4 | score)
echo "held-out accuracy: teacher as written $T, shipped (student with its adapter and prompt) $S"

# The cut-over binary: ticket_cli against the student.
CC=${CC:-cc}
# A libdsprt.a built with sanitizers (make check-asan) needs them to link.
SAN=
if nm "$TOP/$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
cli() { # OUTDIR: links OUTDIR/ticket_cli against OUTDIR/tickets.c
    # shellcheck disable=SC2086
    $CC -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -O2 $SAN -I"$TOP/runtime/include" -I"$1" \
        -o "$1/ticket_cli" "$EX/ticket_cli.c" "$1/tickets.c" "$TOP/$BUILD/libdsprt.a" \
        -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm
}
head -n 12 "$EX/data/dev.jsonl" | sed 's/^{"text": *"\([^"]*\)".*/\1/' >"$OUT/tickets.txt"
echo "== 3. dspcc build --state: ticket_cli on the student; its LoRA adapter verified first"
"$DSPCC" build "$EX/tickets_bt.dsp" --state "$OUT/bt.state.json" -o "$OUT/student/tickets.c"
cli "$OUT/student"
"$OUT/student/ticket_cli" --verify-adapters "$EX" <"$OUT/tickets.txt" | paste -d' ' - "$OUT/tickets.txt" | head -n 5

echo "== 4. shadow mode: the teacher answers, the student runs in its shadow"
"$DSPCC" build "$EX/tickets_bt.dsp" --no-opt --shadow-state "$OUT/bt.state.json" -o "$OUT/shadow/tickets.c"
cli "$OUT/shadow"
"$OUT/shadow/ticket_cli" --verify-adapters "$EX" --shadow <"$OUT/tickets.txt" >"$OUT/shadow.out"
echo "(each line's answer is the teacher's: $OUT/shadow.out)"
