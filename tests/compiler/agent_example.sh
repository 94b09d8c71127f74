#!/bin/sh
# examples/agent end to end against build/dsp-refserver (a TEST FIXTURE):
# the top-level make built its C search tool; `make scores` prints token F1
# on dev zero-shot and optimized, and optimizing helps; the optimized state
# has whole trajectories as demos of the react step; the generated C
# program agent_cli answers questions from stdin; the tool reads the corpus
# $AGENT_CORPUS names at run time. Needs jq. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/rt_link.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

check "the top-level make built the agent's search tool" test -f examples/agent/build/libsearch.so

make -s -C examples/agent scores BUILD="$BUILD" >"$tmp/scores.txt" 2>"$tmp/scores.err"
check "make scores runs" test $? -eq 0
line=$(grep '^dev token F1 (fixture LM): zero-shot' "$tmp/scores.txt")
echo "# $line"
zero=$(printf '%s' "$line" | sed 's/.*zero-shot \([0-9.]*\),.*/\1/')
opt=$(printf '%s' "$line" | sed 's/.*optimized \([0-9.]*\)$/\1/')
check "optimizing the agent raises its dev F1" awk -v z="$zero" -v o="$opt" 'BEGIN { exit !(o > z + 0.05) }'

rs_start
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"
"$dspcc" optimize examples/agent/agent.dsp -o "$tmp/agent.state.json" --base-url "$url" --cache-dir "$tmp/cache" \
    >/dev/null 2>"$tmp/opt.err"
check "dspcc optimize writes a state" test -s "$tmp/agent.state.json"
# A demo of the react step is a whole successful run: its trajectory holds
# the tool calls, its outputs the closing `finish` (one demo an example).
jq -r '.predictors[] | select(.name == "Agent.r.react") | .demos[] |
       "\(.outputs.next_tool_name) \(.inputs.trajectory | test("tool_name_0 ## ]]\nsearch"))"' \
    "$tmp/agent.state.json" >"$tmp/react_demos.txt" 2>/dev/null
check "the react step's demos are whole trajectories: tool calls, then finish" \
    sh -c "test -s '$tmp/react_demos.txt' && ! grep -qv '^finish true$' '$tmp/react_demos.txt'"
check "each react demo comes from a different example" \
    test "$(jq -r '.predictors[] | select(.name == "Agent.r.react") | .demos[].inputs.question' "$tmp/agent.state.json" | sort -u | wc -l)" \
         = "$(wc -l <"$tmp/react_demos.txt")"

# The same agent with the API's own tool calling (tool_calling: native):
# it optimizes as well, and its react demos are whole trajectories too.
sed 's|^  max_tokens: 256$|&\n  tool_calling: native|' examples/agent/agent.dsp >examples/agent/.agent_native.dsp
"$dspcc" eval examples/agent/.agent_native.dsp --data dev --base-url "$url" --cache-dir "$tmp/cache" --json \
    >"$tmp/native_zero.json" 2>"$tmp/native_zero.err"
"$dspcc" optimize examples/agent/.agent_native.dsp -o "$tmp/native.state.json" --base-url "$url" \
    --cache-dir "$tmp/cache" >/dev/null 2>"$tmp/native_opt.err"
"$dspcc" eval examples/agent/.agent_native.dsp --state "$tmp/native.state.json" --data dev --base-url "$url" \
    --cache-dir "$tmp/cache" --json >"$tmp/native_opt.json" 2>>"$tmp/native_opt.err"
rm -f examples/agent/.agent_native.dsp
nz=$(json_key "$tmp/native_zero.json" score) no=$(json_key "$tmp/native_opt.json" score)
echo "# native tool calling: dev token F1 zero-shot $nz, optimized $no"
check "with tool_calling: native, optimizing the agent raises its dev F1" \
    awk -v z="$nz" -v o="$no" 'BEGIN { exit !(o > z + 0.05) }'
check "with tool_calling: native, the react demos are whole trajectories too" \
    sh -c "jq -r '.predictors[] | select(.name == \"Agent.r.react\") | .demos[].outputs.next_tool_name' '$tmp/native.state.json' |
           grep -qx finish && ! jq -r '.predictors[] | select(.name == \"Agent.r.react\") | .demos[].outputs.next_tool_name' '$tmp/native.state.json' | grep -qvx finish"

# mipro proposes instructions for both predictors of the react call; the
# step predictor's field descriptions keep the tools and their schemas, so
# rewritten instructions still leave the agent its tools.
sed 's/with bootstrap_fewshot(max_bootstrapped_demos: 3, max_labeled_demos: 0)/with mipro(auto: light, max_bootstrapped_demos: 2, max_labeled_demos: 0)/' \
    examples/agent/agent.dsp >examples/agent/.agent_mipro.dsp
"$dspcc" optimize examples/agent/.agent_mipro.dsp -o "$tmp/mipro.state.json" --base-url "$url" \
    --cache-dir "$tmp/cache" >"$tmp/mipro.out" 2>&1
rm -f examples/agent/.agent_mipro.dsp
line=$(grep 'mipro baseline' "$tmp/mipro.out")
echo "# $line"
check "mipro tunes the react and extract predictors' instructions and improves the agent" \
    sh -c "grep -A3 '\"name\":[[:space:]]*\"Agent.r.react\"' '$tmp/mipro.state.json' | grep -q instructions &&
           grep -A3 '\"name\":[[:space:]]*\"Agent.r.extract\"' '$tmp/mipro.state.json' | grep -q instructions &&
           echo '$line' | awk '{ for (i = 1; i <= NF; i++) if (\$i == \"baseline\") b = \$(i + 1); else if (\$i == \"final\") f = \$(i + 1) }
                               END { exit !(f > b) }'"

"$dspcc" build examples/agent/agent.dsp --state "$tmp/agent.state.json" -o "$tmp/agent.c" 2>"$tmp/build.err"
check "dspcc build with the optimized state" test $? -eq 0
cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror $RT_SAN -I"$root/runtime/include" -I"$tmp" \
    -DSEARCH_DIR="\"$root/examples/agent\"" -o "$tmp/agent_cli" examples/agent/agent_cli.c "$tmp/agent.c" \
    examples/agent/search.c "$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/cc.err"
check "agent_cli compiles and links with the C tool" test $? -eq 0
q=$(sed -n '1s/.*"question": *"\([^"]*\)".*/\1/p' examples/agent/data/dev.jsonl)
printf '%s\n%s\n' "$q" "Who ruled Normandy in the 10th century?" |
    DSPCC_BASE_URL=$url DSPCC_CACHE_DIR="$tmp/cache" "$tmp/agent_cli" >"$tmp/answers.txt" 2>"$tmp/cli.err"
check "agent_cli answers each question on stdin" sh -c "test \$(grep -c . '$tmp/answers.txt') -eq 2"

# The corpus is named at run time: the same binary searches another file.
printf 'Zorblax is the capital of the planet Qwerty.\nThe sky is blue.\n' >"$tmp/corpus.txt"
cat >"$tmp/s.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "search.h"
int main(void) { char *r = search("capital of Qwerty", 1); printf("%s\n", r ? r : "(null)"); free(r); return 0; }
C
cc -std=c17 -D_DEFAULT_SOURCE -DSEARCH_DIR="\"$root/examples/agent\"" -Iexamples/agent -o "$tmp/s" "$tmp/s.c" examples/agent/search.c -lm
check "search reads the corpus \$AGENT_CORPUS names" \
    sh -c "AGENT_CORPUS='$tmp/corpus.txt' '$tmp/s' | grep -qx 'Zorblax is the capital of the planet Qwerty.'"
check "without it, the example's passages" sh -c "'$tmp/s' | grep -q 'capital' && ! '$tmp/s' | grep -q Zorblax"
