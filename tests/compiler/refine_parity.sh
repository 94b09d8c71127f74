#!/bin/sh
# A loop that feeds a predictor's result back into the call that replaces
# it (`s = predict(Improve)(draft: s.summary, ...)` in a `repeat`): the
# interpreter reads a call's arguments before binding its result, as the
# generated C does. The generated program runs the rows against
# build/dsp-refserver (a TEST FIXTURE, not a language model) and writes its
# summaries as the gold column; `dspcc eval` must then match every row
# exactly, with the same number of LM calls. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
P=$tmp/p
cp -r tests/compiler/fixtures/refine "$P"

check "check accepts a result fed back into its own call" "$dspcc" check "$P/refine.dsp"
"$dspcc" build "$P/refine.dsp" --no-opt -o "$P/refine.c" 2>"$tmp/build.err"
check "dspcc build --no-opt" test $? -eq 0
cc -std=c17 -Wall -Wextra -Werror $SAN -I"$root/runtime/include" -I/usr/include/cjson -I"$P" -o "$tmp/refine_main" \
    "$P/refine_main.c" "$P/refine.c" "$root/$BUILD/libdsprt.a" -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm \
    2>"$tmp/cc.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
check "the generated C compiles with refine_main" test $r -eq 0

export OPENAI_API_KEY=sk-test-not-a-key
rs_start --seed 3
check "the reference server started" test -n "$port"
export DSPCC_BASE_URL="http://127.0.0.1:$port/v1"

"$tmp/refine_main" "$P/rows.jsonl" "$P/gold.jsonl" 2>"$tmp/run.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err"
check "the generated program refines every row" test $r -eq 0
check "and writes a non-empty summary for each" \
    sh -c "test \$(grep -c '\"summary\":\"[^\"]' '$P/gold.jsonl') -eq 3"

"$dspcc" eval "$P/refine.dsp" --data "$P/gold.jsonl" --json --no-cache >"$tmp/eval.json" 2>"$tmp/eval.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/eval.err"
check "dspcc eval runs the loop (no 'read before it is assigned')" test $r -eq 0
check "no example failed" test "$(json_key "$tmp/eval.json" failed)" = 0
check "the interpreter's summaries equal the generated C's on every row" \
    test "$(json_key "$tmp/eval.json" score)" = 1
check "four LM calls a row: the draft and three passes" test "$(json_key "$tmp/eval.json" lm_calls)" = 12
