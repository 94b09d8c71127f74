#!/bin/sh
# react(Sig, tools: [...]) end to end against build/dsp-refserver (a TEST
# FIXTURE acting as an agent): the generated C (tools called directly) and
# `dspcc eval` (tools through libffi) run the same loop in libdsprt and give
# the same answers and the same trajectories, byte for byte: the rows the
# generated program prints are the data, and the metric requires both
# fields equal. Also: the trajectory's format, an observation cut at
# max_observation with a note, max_iters, and the step and extract
# predictors in the IR. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
if [ -n "${KEEP:-}" ]; then echo "# kept in $tmp"; trap 'rs_stop' EXIT INT TERM
else trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM; fi

SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
RTLIBS="$root/$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include -I/usr/include/cjson"

P=$tmp/p
cp -r tests/compiler/fixtures/react "$P"
mkdir -p "$P/build" "$tmp/gen"
cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/libagent.so" "$P/tools.c"
check "libagent.so builds" test $? -eq 0
# Until the generated program writes the real rows, a placeholder (build checks data files).
echo '{"question": "q", "answer": "a", "trajectory": "t"}' >"$P/rows.jsonl"

"$DSPCC" dump-ir "$P/agent.dsp" >"$tmp/ir.json" 2>"$tmp/ir.err"
check "dump-ir shows the react step with its tools" grep -q '"kind":	"react"' "$tmp/ir.json"
check "react makes a step and an extract predictor" \
    sh -c "grep -q '\"Agent.r.react\"' '$tmp/ir.json' && grep -q '\"Agent.r.extract\"' '$tmp/ir.json'"

for m in Agent Dumper; do
    l=$(printf '%s' "$m" | tr 'A-Z' 'a-z')
    "$DSPCC" build "$P/agent.dsp" --no-opt --program "$m" -o "$tmp/gen/gen_$l.c" 2>"$tmp/$l.err"
    check "dspcc build --program $m" test $? -eq 0
    "$root/$BUILD/dsp-cshape" --prefix "${l}_" "$tmp/gen/gen_$l.c" "$tmp/gen/gen_$l.h" >"$tmp/$l.shape" 2>&1
    check "$m: dsp-cshape finds the generated C well formed" test $? -eq 0
done
check "the generated C calls dsp_react_run over a static table of tools" \
    sh -c "grep -q 'st = dsp_react_run(c, &k_react0, NULL, args, v_r, err);' '$tmp/gen/gen_agent.c' &&
           grep -q 'static const dsp_tool k_react0_tools\[2\]' '$tmp/gen/gen_agent.c'"

"$DSPCC" build "$P/agent.dsp" --no-opt --program Named -o "$tmp/named.c" 2>"$tmp/named.err" &&
    cc $STRICT -c -o "$tmp/named.o" "$tmp/named.c" 2>>"$tmp/named.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/named.err" | head
check "a react tool named status (and a status-returning lookup) compiles beside the tool helpers" test $r -eq 0
for cc in gcc clang; do
    $cc $STRICT $SAN -I"$tmp/gen" -o "$tmp/agent_$cc" "$P/agent_main.c" "$tmp/gen/gen_agent.c" "$tmp/gen/gen_dumper.c" \
        "$P/build/libagent.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "the generated agent compiles strictly and links with the C tools ($cc)" test $r -eq 0
done

rs_start
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

DSPCC_BASE_URL=$url "$tmp/agent_gcc" agent <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/run.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err" | head
check "the generated agent answers every question" sh -c "test $r -eq 0 && test \$(wc -l <'$P/rows.jsonl') -eq 5"
check "a trajectory holds thought, tool, arguments and observation blocks" \
    sh -c "grep -q '\[\[ ## thought_0 ## \]\]' '$P/rows.jsonl' && grep -q '\[\[ ## tool_name_0 ## \]\]' '$P/rows.jsonl' &&
           grep -q '\[\[ ## tool_args_0 ## \]\]' '$P/rows.jsonl' && grep -q '\[\[ ## observation_0 ## \]\]' '$P/rows.jsonl'"
check "the fixture searched with the question's key words and then finished" \
    sh -c "grep -q 'search.*query.*dune' '$P/rows.jsonl' && grep -q 'tool_name_1 ## \]\]\\\\nfinish' '$P/rows.jsonl'"
check "a tool's result is the observation" grep -q 'Frank Herbert' "$P/rows.jsonl"

"$DSPCC" eval "$P/agent.dsp" --data rows --module Agent --metric same --json --no-cache --base-url "$url" \
    >"$tmp/eval.json" 2>"$tmp/eval.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/eval.err" | head
check "dspcc eval runs the agent" test $r -eq 0
check "eval and the generated C give the same answers and trajectories (score 1)" \
    test "$(json_key "$tmp/eval.json" score)" = 1
check "each question took a step, a finish step and an extract call" test "$(json_key "$tmp/eval.json" lm_calls)" = 15

# An observation longer than max_observation is cut with a note; max_iters bounds the loop.
DSPCC_BASE_URL=$url "$tmp/agent_gcc" dumper <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/dump.err"
check "the dumper runs" test $? -eq 0
check "a long observation is cut at max_observation with a note" \
    grep -q 'observation truncated: the first 300 of 20000 bytes shown' "$P/rows.jsonl"
check "max_iters: 1 stops the loop after one step, without finish" \
    sh -c "grep -q 'tool_name_0' '$P/rows.jsonl' && ! grep -q 'tool_name_1\|finish' '$P/rows.jsonl'"
"$DSPCC" eval "$P/agent.dsp" --data rows --module Dumper --metric same_dumped --json --no-cache --base-url "$url" \
    >"$tmp/eval2.json" 2>"$tmp/eval2.err"
check "the interpreter cuts and stops the same way (score 1)" test "$(json_key "$tmp/eval2.json" score)" = 1

if [ -n "$SAN" ] || command -v clang >/dev/null; then
    DSPCC_BASE_URL=$url "$tmp/agent_clang" agent <"$P/questions.txt" >"$tmp/clang.jsonl" 2>"$tmp/clang.err"
    check "the clang build gives the same rows" sh -c "test -s '$tmp/clang.jsonl' && DSPCC_BASE_URL=$url '$tmp/agent_gcc' agent <'$P/questions.txt' | cmp -s - '$tmp/clang.jsonl'"
fi

