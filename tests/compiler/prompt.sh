#!/bin/sh
# `dspcc prompt` against what the program really sends: for every example in
# examples/ (and the tickets example with an optimized state, so demos are
# in it), `dspcc eval --limit 1` runs against build/dsp-refserver (a TEST
# FIXTURE) with --log, and the first request's logged messages must equal
# `dspcc prompt --example 0` byte for byte, its logged body must equal
# `--wire openai`, and the body of the same program with its lm declared
# as anthropic/..., gemini/... or bedrock/... must equal `--wire anthropic`,
# `--wire gemini` or `--wire bedrock`. Needs jq. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

if ! command -v jq >/dev/null 2>&1; then
    echo "ok - # SKIP jq is not installed (scripts/setup.sh installs it)"
    exit 0
fi

# The fixture ignores keys; the programs need the variables set.
export OPENAI_API_KEY=sk-test-not-a-key ANTHROPIC_API_KEY=sk-ant-test-not-a-key GEMINI_API_KEY=gem-test-not-a-key
export BEDROCK_API_KEY=unused
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
unset DSPCC_BASE_URL

rs_start --log "$tmp/log.jsonl"
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

# logged N FIELD: field FIELD of request N (1-based) of the log, as raw text.
logged() { sed -n "${1}p" "$tmp/log.jsonl" | jq -j ".$2"; }

# golden NAME PROG PREDICTOR [--state FILE]: eval one example, compare.
golden() {
    g=$1 prog=$2 pred=$3
    shift 3
    : >"$tmp/log.jsonl"
    "$dspcc" eval "$prog" --data dev --limit 1 --no-cache --retries 0 --base-url "$url" "$@" \
        >"$tmp/$g.eval" 2>&1
    check "$g: eval of one example ran" test -s "$tmp/log.jsonl"
    logged 1 prompt >"$tmp/$g.logged"
    "$dspcc" prompt "$prog" --predictor "$pred" --example 0 --data dev "$@" >"$tmp/$g.shown" 2>"$tmp/$g.err"
    # prompt ends its output with a newline the log's text does not have.
    printf '\n' >>"$tmp/$g.logged"
    check "$g: dspcc prompt prints the messages the call sent" cmp -s "$tmp/$g.logged" "$tmp/$g.shown"
    logged 1 request >"$tmp/$g.body.logged"
    printf '\n' >>"$tmp/$g.body.logged"
    "$dspcc" prompt "$prog" --predictor "$pred" --example 0 --data dev --wire openai "$@" >"$tmp/$g.body" 2>&1
    check "$g: --wire openai prints the body that was sent" cmp -s "$tmp/$g.body.logged" "$tmp/$g.body"

    # The same program on Anthropic's, Gemini's and Bedrock's APIs: what
    # went over each wire. A copy beside links to the example's data and
    # tools (paths in a .dsp are relative to it).
    for w in anthropic gemini bedrock; do
        mkdir -p "$tmp/$g.$w"
        for f in "$(dirname "$prog")"/*; do ln -sf "$(pwd)/$f" "$tmp/$g.$w/"; done
        rm -f "$tmp/$g.$w/$(basename "$prog")"
        key=$(echo "$w" | tr a-z A-Z)_API_KEY
        sed -e "s#= \"[a-z]*/#= \"$w/#" -e "s#OPENAI_API_KEY#$key#" "$prog" >"$tmp/$g.$w/$(basename "$prog")"
        : >"$tmp/log.jsonl"
        "$dspcc" eval "$tmp/$g.$w/$(basename "$prog")" --data dev --limit 1 --no-cache --retries 0 \
            --base-url "$url" "$@" >"$tmp/$g.$w.eval" 2>&1
        case $w in
        anthropic) want='/v1/messages' ;;
        gemini) want=':generateContent' ;;
        bedrock) want='/converse' ;;
        esac
        check "$g: the $w variant went to ...$want" \
            sh -c "sed -n 1p '$tmp/log.jsonl' | jq -e '.path | endswith(\"$want\")' >/dev/null"
        logged 1 request >"$tmp/$g.$w.body.logged"
        printf '\n' >>"$tmp/$g.$w.body.logged"
        "$dspcc" prompt "$prog" --predictor "$pred" --example 0 --data dev --wire $w "$@" >"$tmp/$g.$w.body" 2>&1
        check "$g: --wire $w prints the body that was sent" cmp -s "$tmp/$g.$w.body.logged" "$tmp/$g.$w.body"
    done
}

golden tickets examples/tickets/tickets.dsp TicketClassifier.r
golden tickets-state examples/tickets/tickets.dsp TicketClassifier.r --state tests/compiler/fixtures/tickets.state.json
check "the state's demos are in its prompt" grep -q '^\[assistant\]' "$tmp/tickets-state.shown"
golden extract examples/extract/extract.dsp Extractor.e
golden multihop examples/multihop/multihop.dsp MultiHop.q1
golden entities examples/entities/entities.dsp Entities.e

# A call with the JSON adapter: its messages and its body (with the schema
# the provider enforces) are what was sent.
mkdir -p "$tmp/ej"
ln -s "$(pwd)/examples/entities/data" "$tmp/ej/data"
sed 's/predict(ExtractEntities)/predict(ExtractEntities, adapter: json)/' examples/entities/entities.dsp >"$tmp/ej/e.dsp"
: >"$tmp/log.jsonl"
"$dspcc" eval "$tmp/ej/e.dsp" --data dev --limit 1 --no-cache --retries 0 --base-url "$url" >/dev/null 2>&1
logged 1 prompt >"$tmp/ej.logged"
printf '\n' >>"$tmp/ej.logged"
"$dspcc" prompt "$tmp/ej/e.dsp" --predictor Entities.e --example 0 --data dev >"$tmp/ej.shown" 2>&1
check "adapter json: dspcc prompt prints the JSON adapter's messages" cmp -s "$tmp/ej.logged" "$tmp/ej.shown"
logged 1 request >"$tmp/ej.body.logged"
printf '\n' >>"$tmp/ej.body.logged"
"$dspcc" prompt "$tmp/ej/e.dsp" --predictor Entities.e --example 0 --data dev --wire openai >"$tmp/ej.body" 2>&1
check "adapter json: --wire openai prints the body, schema included" \
    sh -c "cmp -s '$tmp/ej.body.logged' '$tmp/ej.body' && grep -q 'json_schema' '$tmp/ej.body'"

# Later predictors get inputs from earlier steps: the part of the prompt
# that does not depend on them (every message before the last) is what was
# sent, and the unknown inputs show as placeholders.
: >"$tmp/log.jsonl"
"$dspcc" eval examples/multihop/multihop.dsp --data dev --limit 1 --no-cache --retries 0 --base-url "$url" \
    >/dev/null 2>&1
for n in 2 3; do
    pred=$(test $n = 2 && echo MultiHop.q2 || echo MultiHop.a)
    sed -n "${n}p" "$tmp/log.jsonl" | jq -j '.prompt | split("\n\n[user]\n") | .[0]' >"$tmp/sys$n.logged"
    "$dspcc" prompt examples/multihop/multihop.dsp --predictor "$pred" --example 0 --data dev >"$tmp/p$n" 2>&1
    awk 'BEGIN { RS = "\n\n\\[user\\]\n" } NR == 1 { printf "%s", $0 }' "$tmp/p$n" >"$tmp/sys$n.shown"
    check "multihop $pred: the system message is what was sent" cmp -s "$tmp/sys$n.logged" "$tmp/sys$n.shown"
done
check "multihop: an input from an earlier step is a placeholder" grep -q '^{context}$' "$tmp/p2"
question=$(sed -n 1p examples/multihop/data/dev.jsonl | jq -r .question)
check "multihop: a module input is filled in" grep -qF "$question" "$tmp/p2"

# --run: every call of a multi-step program, later steps and react
# iterations filled in, equals what the fixture received, and what
# `dspcc eval` sent for the same example. prompts FILE: the log's messages
# as --run --predictor prints them (calls separated by a blank line).
prompts() { jq -s -j 'map(.prompt) | join("\n\n")' "$1"; printf '\n'; }
bodies() { jq -j '.request + "\n"' "$1"; }
run_golden() {
    g=$1 prog=$2 pred=$3 calls=$4
    : >"$tmp/log.jsonl"
    "$dspcc" eval "$prog" --data dev --limit 1 --no-cache --retries 0 --base-url "$url" >/dev/null 2>&1
    cp "$tmp/log.jsonl" "$tmp/$g.eval.log"
    : >"$tmp/log.jsonl"
    "$dspcc" prompt "$prog" --example 0 --data dev --run --no-cache --retries 0 --base-url "$url" \
        >"$tmp/$g.run" 2>"$tmp/$g.run.err"
    check "$g --run: ran and exited 0" test $? -eq 0
    check "$g --run: $calls calls, each headed" test "$(grep -c '^=== call [0-9]*: ' "$tmp/$g.run")" = "$calls"
    check "$g --run: the run made the calls eval made" \
        sh -c "test \"\$(jq -c .prompt '$tmp/log.jsonl')\" = \"\$(jq -c .prompt '$tmp/$g.eval.log')\""
    prompts "$tmp/log.jsonl" >"$tmp/$g.run.logged"
    "$dspcc" prompt "$prog" --example 0 --data dev --run --predictor "$pred" --base-url "$url" >"$tmp/$g.run.shown" 2>&1
    check "$g --run --predictor $pred: every call's messages as sent, byte for byte" \
        cmp -s "$tmp/$g.run.logged" "$tmp/$g.run.shown"
    : >"$tmp/log.jsonl"
    "$dspcc" prompt "$prog" --example 0 --data dev --run --no-cache --wire openai --predictor "$pred" \
        --base-url "$url" \
        >"$tmp/$g.run.body" 2>&1
    bodies "$tmp/log.jsonl" >"$tmp/$g.run.body.logged"
    check "$g --run --wire openai: every body as sent" cmp -s "$tmp/$g.run.body.logged" "$tmp/$g.run.body"
}
run_golden multihop-run examples/multihop/multihop.dsp MultiHop 3
run_golden agent-run examples/agent/agent.dsp Agent.r 3
check "agent --run: the react loop's later calls carry the tool's observation" \
    grep -q 'observation_0' "$tmp/agent-run.run"
"$dspcc" prompt examples/multihop/multihop.dsp --run >/dev/null 2>"$tmp/e5"
check "--run without inputs says to give them (exit 2)" sh -c "test $? -eq 2 && grep -q -- '--example N' '$tmp/e5'"
"$dspcc" prompt examples/multihop/multihop.dsp --no-cache --base-url http://127.0.0.1:9/v1 >"$tmp/e6" 2>&1
check "client flags without --run are taken (for a knn state's embeddings call) and call nothing" \
    sh -c "test $? -eq 0 && grep -q '^=== MultiHop' '$tmp/e6'"

# Without inputs every input is a placeholder; the headings name each predictor.
"$dspcc" prompt examples/multihop/multihop.dsp >"$tmp/all" 2>&1
check "without --predictor every predictor has a heading" test "$(grep -c '^=== MultiHop\.' "$tmp/all")" = 3
check "without inputs the question is a placeholder" grep -q '^{question}$' "$tmp/all"

# --input fills the module's inputs from JSON.
"$dspcc" prompt examples/tickets/tickets.dsp --input '{"ticket_text": "I was charged twice"}' >"$tmp/in" 2>&1
check "--input fills the inputs" grep -q '^I was charged twice$' "$tmp/in"

# Usage errors.
"$dspcc" prompt examples/tickets/tickets.dsp --wire grpc >/dev/null 2>"$tmp/e1"
check "--wire takes openai, anthropic, gemini or bedrock (exit 2)" \
    sh -c "test $? -eq 2 && grep -q 'openai, anthropic, gemini or bedrock' '$tmp/e1'"
"$dspcc" prompt examples/tickets/tickets.dsp --predictor Nope.x >/dev/null 2>"$tmp/e2"
check "an unknown predictor lists the predictors" grep -q 'TicketClassifier.r' "$tmp/e2"
"$dspcc" prompt examples/tickets/tickets.dsp --example 100000 --data dev >/dev/null 2>"$tmp/e3"
check "an example past the end says how many there are" grep -q 'numbered 0 to' "$tmp/e3"
"$dspcc" prompt examples/tickets/tickets.dsp --input '{"ticket_text": 3' >/dev/null 2>"$tmp/e4"
check "bad --input JSON names --input" grep -q -- '--input' "$tmp/e4"
"$dspcc" prompt --help >"$tmp/help"
check "--help names --wire" grep -q -- '--wire openai|anthropic|gemini|bedrock' "$tmp/help"
check "no key is printed by --wire" \
    sh -c "test -s '$tmp/tickets.anthropic.body' && ! grep -q 'sk-' '$tmp/tickets.body' '$tmp/tickets.'*.body"
