#!/bin/sh
# react with `tool_calling: native` end to end against build/dsp-refserver
# (a TEST FIXTURE that speaks OpenAI's tool_calls and Anthropic's tool_use):
# for both wires, the generated C and `dspcc eval` run the same loop and
# give the same answers and trajectories, byte for byte (the metric
# requires both equal), and the same trajectories the text loop gives; the
# requests carry the tools in each API's shape; with --tool-call-faults the
# fixture's damaged calls (arguments that are not JSON, an unknown tool, a
# call without an id) become observations and the agent still answers.
# check refuses native tool calling on gemini. Needs jq. Prints TAP.
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
mkdir -p "$P/build"
cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/libagent.so" "$P/tools.c"
check "libagent.so builds" test $? -eq 0
echo '{"question": "q", "answer": "a", "trajectory": "t"}' >"$P/rows.jsonl"
cp "$P/agent.dsp" "$P/text.dsp"
# The same program with native tool calling, on each wire.
sed 's|^  base_url: "http://127.0.0.1:9/v1"$|&\n  tool_calling: native|' "$P/agent.dsp" >"$P/openai.dsp"
sed 's|"compatible/refserver"|"anthropic/claude-fixture"|' "$P/openai.dsp" >"$P/anthropic.dsp"
check "the native programs name tool_calling: native" grep -q 'tool_calling: native' "$P/anthropic.dsp"

# sent TEXT...: every TEXT is in a request body the fixture logged.
sent() {
    for t in "$@"; do grep -qF "$t" "$tmp/$wire/requests.txt" || return 1; done
}

rs_start --log "$tmp/log.jsonl"
check "the reference server started" test -n "$port"

for wire in openai anthropic; do
    url="http://127.0.0.1:$port/v1"
    [ "$wire" = anthropic ] && url="http://127.0.0.1:$port"
    mkdir -p "$tmp/$wire"
    for m in Agent Dumper; do
        l=$(printf '%s' "$m" | tr 'A-Z' 'a-z')
        "$DSPCC" build "$P/$wire.dsp" --no-opt --program "$m" -o "$tmp/$wire/gen_$l.c" 2>"$tmp/$wire/$l.err"
        check "$wire: dspcc build --program $m" test $? -eq 0
    done
    check "$wire: the generated lm table asks for native tool calling" \
        grep -q '.tool_calling = DSP_TOOL_CALLING_NATIVE' "$tmp/$wire/gen_agent.c"
    check "$wire: the tools' doc comments are their descriptions in the generated table" \
        grep -q '"Finds sentences about novels that share words with the query."' "$tmp/$wire/gen_agent.c"
    cc $STRICT $SAN -I"$tmp/$wire" -o "$tmp/$wire/agent" "$P/agent_main.c" "$tmp/$wire/gen_agent.c" \
        "$tmp/$wire/gen_dumper.c" "$P/build/libagent.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/$wire/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$wire/cc.err" | head -20
    check "$wire: the generated agent compiles strictly" test $r -eq 0
    DSPCC_BASE_URL=$url "$tmp/$wire/agent" agent <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/$wire/run.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$wire/run.err" | head
    check "$wire: the generated agent answers every question" \
        sh -c "test $r -eq 0 && test \$(wc -l <'$P/rows.jsonl') -eq 5"
    cp "$P/rows.jsonl" "$tmp/$wire/rows.jsonl"
    jq -r .request "$tmp/log.jsonl" >"$tmp/$wire/requests.txt" 2>/dev/null
    if [ "$wire" = openai ]; then
        check "openai: the steps sent function tools and answered the tool_calls with tool messages" \
            sent '"tools":[{"type":"function","function":{"name":"search","description":"Finds sentences' \
                 '"parallel_tool_calls":false' '{"role":"tool","tool_call_id":"call_'
    else
        check "anthropic: the steps sent tools with an input_schema and answered tool_use with tool_result blocks" \
            sent '"tools":[{"name":"search","description":"Finds sentences' '"input_schema":{"type":"object"' \
                 '"tool_choice":{"type":"auto","disable_parallel_tool_use":true}' \
                 '{"type":"tool_result","tool_use_id":"toolu_'
    fi
    check "$wire: the fixture searched with the question's key words, then finished" \
        sh -c "grep -q 'search.*query.*dune' '$P/rows.jsonl' && grep -q 'tool_name_1 ## \]\]\\\\nfinish' '$P/rows.jsonl'"
    "$DSPCC" eval "$P/$wire.dsp" --data rows --module Agent --metric same --json --no-cache --base-url "$url" \
        >"$tmp/$wire/eval.json" 2>"$tmp/$wire/eval.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$wire/eval.err" | head
    check "$wire: eval and the generated C give the same answers and trajectories (score 1)" \
        test "$(json_key "$tmp/$wire/eval.json" score)" = 1
    check "$wire: each question took two steps and an extract call" \
        test "$(json_key "$tmp/$wire/eval.json" lm_calls)" = 15
    # Traces with contents show the calls and results as OpenTelemetry's
    # gen_ai message parts.
    DSPCC_TRACE_CONTENT=1 "$DSPCC" eval "$P/$wire.dsp" --data rows --module Agent --metric same --no-cache \
        --base-url "$url" --trace "$tmp/$wire/trace.jsonl" >/dev/null 2>&1
    check "$wire: traces show tool_call and tool_call_response parts" \
        sh -c "grep -q '\"type\":\"tool_call\",\"id\":\"[a-z]*_[0-9a-f]*\",\"name\":\"search\",\"arguments\":{\"query\":' '$tmp/$wire/trace.jsonl' &&
               grep -q '\"role\":\"tool\",\"parts\":\[{\"type\":\"tool_call_response\",\"id\":' '$tmp/$wire/trace.jsonl'"
    # dspcc prompt --run's text view shows each assistant turn's calls and
    # which call a tool turn answers.
    "$DSPCC" prompt "$P/$wire.dsp" --module Agent --example 0 --data rows --run --no-cache --base-url "$url" \
        >"$tmp/$wire/prompt.txt" 2>"$tmp/$wire/prompt.err"
    check "$wire: prompt --run shows the native turns' tool calls and what each result answers" \
        sh -c "grep -q '^calls search {\"query\":.*} (call [a-z]*_[0-9a-f]*)\$' '$tmp/$wire/prompt.txt' &&
               grep -q '^\[tool\] (the result of call [a-z]*_[0-9a-f]*)\$' '$tmp/$wire/prompt.txt'"

    # Damaged calls: the first three steps of each conversation.
    rs_start --tool-call-faults 3
    url="http://127.0.0.1:$port/v1"
    [ "$wire" = anthropic ] && url="http://127.0.0.1:$port"
    DSPCC_BASE_URL=$url "$tmp/$wire/agent" agent <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/$wire/faults.err"
    r=$?
    check "$wire: with damaged tool calls the generated agent still answers every question" \
        sh -c "test $r -eq 0 && test \$(wc -l <'$P/rows.jsonl') -eq 5"
    if [ "$wire" = openai ]; then
        check "openai: arguments that are not JSON are an observation" \
            grep -q 'observation_0 ## \]\]\\nError: the arguments do not fit tool `search`: they must be a JSON object' "$P/rows.jsonl"
    fi
    check "$wire: an unknown tool is an observation" \
        grep -q 'observation_1 ## \]\]\\nError: there is no tool `search_unknown`' "$P/rows.jsonl"
    check "$wire: a call without an id is an observation, not run" \
        grep -q 'observation_2 ## \]\]\\nError: the call of tool `[a-z]*` had no id, so it was not run' "$P/rows.jsonl"
    check "$wire: after the damaged calls the loop went on to a fourth step" \
        grep -q 'tool_name_3 ## \]\]\\n[a-z]' "$P/rows.jsonl"
    "$DSPCC" eval "$P/$wire.dsp" --data rows --module Agent --metric same --json --no-cache --base-url "$url" \
        >"$tmp/$wire/eval_faults.json" 2>"$tmp/$wire/eval_faults.err"
    check "$wire: the interpreter meets the damaged calls the same way (score 1)" \
        test "$(json_key "$tmp/$wire/eval_faults.json" score)" = 1
    rs_start --log "$tmp/log_next.jsonl"
    mv "$tmp/log_next.jsonl" "$tmp/log.jsonl"
done

check "both wires give the same trajectories" cmp -s "$tmp/openai/rows.jsonl" "$tmp/anthropic/rows.jsonl"
# The text loop (next_tool_name/next_tool_args fields) takes the same steps on the fixture.
cp "$tmp/openai/rows.jsonl" "$P/rows.jsonl"
"$DSPCC" eval "$P/text.dsp" --data rows --module Agent --metric same --json --no-cache \
    --base-url "http://127.0.0.1:$port/v1" >"$tmp/text.json" 2>"$tmp/text.err"
check "the text loop gives the same trajectories as the native one (score 1)" \
    test "$(json_key "$tmp/text.json" score)" = 1

sed 's|"compatible/refserver"|"gemini/gemini-2.0-flash"|; /base_url/d' "$P/openai.dsp" >"$P/gemini.dsp"
"$DSPCC" check "$P/gemini.dsp" >"$tmp/gemini.out" 2>&1
r=$?
check "check refuses tool_calling: native on gemini, at the option" \
    sh -c "test $r -ne 0 && grep -q 'gemini.dsp:[0-9]*:[0-9]*: error: tool_calling: native is spoken with OpenAI-compatible and Anthropic lms, not .gemini.' '$tmp/gemini.out'"
