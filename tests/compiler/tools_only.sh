#!/bin/sh
# A program made only of C tools makes no LM call, so it needs no lm:
# `dspcc eval` scores it and `dspcc build` writes its C without an lm
# declared and without optimizing (there is no prompt to optimize); the
# generated C compiles and links. A program that does call an LM, or a
# metric that asks a judge, without an lm is refused naming what needs it.
# No LM server is started: the endpoint given refuses connections.
# Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
case "$BUILD" in /*) DSPCC=$BUILD/dspcc ;; *) DSPCC=$root/$BUILD/dspcc ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
. tests/support/tap.sh
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

mkdir -p "$T/build"
cp tests/compiler/fixtures/codegen_tools/range.h tests/compiler/fixtures/codegen_tools/range.c "$T/"
cc -shared -fPIC -o "$T/build/librange.so" "$T/range.c"
check "the fixture library builds" test $? -eq 0

cat >"$T/sizes.dsp" <<'DSP'
tool add_sizes from "build/librange.so" header "range.h"

module Sizes(a: int, b: int) -> (sum: int) {
  s = add_sizes(a: a, b: b)
  return (sum: s)
}

metric right(ex, pred) = exact_match(pred.sum, ex.sum)

data dev = jsonl("dev.jsonl")
DSP
printf '{"a": 1, "b": 2, "sum": 3}\n{"a": 2, "b": 2, "sum": 5}\n{"a": 40, "b": 2, "sum": 42}\n' >"$T/dev.jsonl"

cd "$T" || exit 1
# Port 9 (discard) refuses: any LM call would fail.
"$DSPCC" eval sizes.dsp --data dev --json --base-url http://127.0.0.1:9/v1 --cache-dir "$T/cache" \
    >eval.json 2>eval.err
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' eval.err
check "eval of a tools-only program without an lm exits 0" test $r -eq 0
check "it scores the rows (2 of 3 right)" sh -c "test \"\$(jq .score eval.json)\" = 0.6666666666666666"
check "with no LM call and no failure" sh -c "test \"\$(jq -c '[.lm_calls, .failed]' eval.json)\" = '[0,0]'"

# Nothing to batch: say why, not that the cache holds every request.
"$DSPCC" eval sizes.dsp --data dev --batch-export reqs.jsonl --base-url http://127.0.0.1:9/v1 \
    --cache-dir "$T/cache" >/dev/null 2>export.err
r=$?
check "--batch-export of a tools-only program exits 0 with an empty file" test $r -eq 0 -a -e reqs.jsonl -a ! -s reqs.jsonl
check "it says the program makes no LM call" grep -q "batch: the program makes no LM call (C tools only" export.err
check "not that the cache holds every request" sh -c '! grep -q "cache holds" export.err'
"$DSPCC" eval sizes.dsp --data dev --batch-import reqs.jsonl --base-url http://127.0.0.1:9/v1 \
    --cache-dir "$T/cache" >/dev/null 2>import.err
r=$?
check "--batch-import of it exits 0 (it evaluates)" test $r -eq 0
check "it says the program makes no LM call" \
    grep -q "reqs.jsonl: the program makes no LM call (C tools only.*nothing to import" import.err

"$DSPCC" build sizes.dsp -o gen_sizes.c --base-url http://127.0.0.1:9/v1 >build.out 2>build.err
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' build.err
check "build of a tools-only program without --no-opt exits 0" test $r -eq 0
check "it writes the C and the header" test -s gen_sizes.c -a -s gen_sizes.h
check "and no optimized state (nothing to optimize)" test ! -e gen_sizes.state.json
"$DSPCC" build sizes.dsp --no-opt -o nopt_sizes.c >/dev/null 2>&1
sed 's/nopt_sizes/gen_sizes/g' nopt_sizes.c | cmp -s - gen_sizes.c
check "the same C as --no-opt" test $? -eq 0
cc -std=c17 -Wall -Wextra -Werror -I"$root/runtime/include" -c gen_sizes.c -o gen_sizes.o 2>cc.err
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' cc.err | head -20
check "the generated C compiles with -Wall -Wextra -Werror" test $r -eq 0

# An LM call without an lm: refused, naming the predictor.
cat >"$T/ask.dsp" <<'DSP'
tool add_sizes from "build/librange.so" header "range.h"

signature Explain { in n: int out text: string }

module Ask(a: int, b: int) -> (sum: int, text: string) {
  s = add_sizes(a: a, b: b)
  e = predict(Explain)(n: s)
  return (sum: s, text: e.text)
}

metric right(ex, pred) = exact_match(pred.sum, ex.sum)

data dev = jsonl("dev.jsonl")
DSP
"$DSPCC" eval ask.dsp --data dev --base-url http://127.0.0.1:9/v1 --cache-dir "$T/cache" >ask.out 2>ask.err
check "eval of a program calling an LM without an lm exits 1" test $? -eq 1
check "naming the predictor that needs it and the fix" \
    grep -q 'module `Ask` calls an LM (predictor `Ask.e`), but ask.dsp declares no lm to run it on; declare one' \
    ask.err

# A judge in the metric's feedback without an lm: refused, naming it.
sed 's/^metric right.*/metric right(ex, pred) = exact_match(pred.sum, ex.sum)\
  feedback judge(Explain)(n: pred.sum).text/' sizes.dsp | sed 's/^module Sizes/signature Explain { in n: int out text: string }\
\
module Sizes/' >judged.dsp
"$DSPCC" check judged.dsp >/dev/null 2>judged.check
check "a tools-only program whose metric's feedback asks a judge checks" test $? -eq 0
"$DSPCC" eval judged.dsp --data dev --base-url http://127.0.0.1:9/v1 --cache-dir "$T/cache" >judged.out 2>judged.err
check "its eval without an lm exits 1" test $? -eq 1
check "naming the metric and the judge" \
    grep -q 'metric `right` asks judge(Explain) without `lm:`, and judged.dsp declares no lm for it' judged.err

# --embed-runtime puts libdsprt's sources into the program's own .c, so a
# tool may share its name with a static function of the runtime (client.c's
# `priced`): the embedded runtime's file-scope statics are renamed, and the
# program compiles with gcc and clang.
grep -q '^static bool priced(' "$root/runtime/src/client.c"
check "the runtime still has a static function named priced (else pick another name here)" test $? -eq 0
printf 'int priced(int cents);\n' >priced.h
printf '#include "priced.h"\nint priced(int cents) { return cents * 2; }\n' >priced.c
cc -shared -fPIC -o build/libpriced.so priced.c
cat >priced.dsp <<'DSP'
tool priced from "build/libpriced.so" header "priced.h"

module Price(cents: int) -> (total: int) {
  t = priced(cents: cents)
  return (total: t)
}
DSP
"$DSPCC" build priced.dsp --no-opt --embed-runtime -o emb_priced.c >/dev/null 2>emb.err
check "a tool named like a runtime static builds with --embed-runtime" test $? -eq 0
DEPS_CFLAGS=$(pkg-config --cflags libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null)
for c in gcc clang; do
    command -v $c >/dev/null 2>&1 || continue
    $c -std=c17 -Wall -Wextra -Werror -pedantic $DEPS_CFLAGS -c emb_priced.c -o emb_priced.$c.o 2>cc.err
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' cc.err | head -10
    check "and its embedded C compiles with $c" test $r -eq 0
done
# A runtime static that is also a member name (http_request.c's `collect`)
# keeps its name; a tool named like it is refused by name, not left to the
# C compiler.
sed 's/priced/collect/g' priced.h >collect.h
sed 's/priced/collect/g' priced.c >collect.c
cc -shared -fPIC -o build/libcollect.so collect.c
sed 's/priced/collect/g' priced.dsp >collect.dsp
"$DSPCC" build collect.dsp --no-opt --embed-runtime -o emb_collect.c >/dev/null 2>collect.err
check "a tool named like a runtime static kept as named is refused with --embed-runtime" test $? -ne 0
check "naming the tool and the two ways out" \
    grep -q 'tool `collect` is named like a static function of libdsprt, which --embed-runtime puts into the same .c; give the C function another name, or link libdsprt' \
    collect.err
"$DSPCC" build collect.dsp --no-opt -o lib_collect.c >/dev/null 2>&1
check "and builds without --embed-runtime" test $? -eq 0
