#!/bin/sh
# dspcc eval --batch-export / --batch-import: a data set's LM requests as
# the OpenAI batch input JSONL that vLLM's offline batch runner reads
# (python -m vllm.entrypoints.openai.run_batch -i IN -o OUT), and its output
# JSONL loaded into the response cache. vLLM is not installed here: a
# stand-in below sends each line's body to build/dsp-refserver (a TEST
# FIXTURE, not a language model) and writes the reply as vLLM's runner
# writes it (BatchRequestOutput.model_dump_json(): "id" vllm-<uuid>,
# "custom_id", "response" {status_code, request_id vllm-batch-<uuid>, body:
# a ChatCompletionResponse with vLLM's extra members}, "error": null; a
# failed request with body null and "error" a string, or vLLM's
# ErrorResponse). Checked: no chat request goes to the LM while exporting;
# after the import the eval scores as a plain one from the cache alone; a
# three-step program takes three rounds; errored requests are reported and
# sent as normal calls; lines for other requests are not used; a damaged
# file is an error naming its line. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

if ! command -v jq >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
    echo "ok - # SKIP the vLLM stand-in needs jq and curl (scripts/setup.sh installs them)"
    exit 0
fi

export OPENAI_API_KEY=sk-test-vllm-batch-key-0123456789
unset DSPCC_BASE_URL DSPCC_CACHE_URL
chats() { grep -c '"path":"/v1/chat/completions"' "$tmp/lm.log"; }
ev() { # NAME FILE CACHE ARGS...: an eval of 20 dev rows, --json
    n=$1 f=$2 c=$3
    shift 3
    "$dspcc" eval "$f" --data dev --limit 20 --json --base-url "$base" --cache-dir "$tmp/$c" "$@" \
        >"$tmp/$n.json" 2>"$tmp/$n.err"
}
score() { json_key "$tmp/$1.json" score; }
uuid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# run_batch IN OUT: the stand-in for vLLM's batch runner. FAIL_EVERY=N: every
# Nth request fails with vLLM's string error; ERROR_OBJECT=K: request K gets
# vLLM's ErrorResponse instead.
FAIL_EVERY=0 ERROR_OBJECT=0
run_batch() {
    i=0
    : >"$2"
    while IFS= read -r line; do
        i=$((i + 1))
        cid=$(printf '%s' "$line" | jq -r .custom_id)
        if [ "$FAIL_EVERY" -gt 0 ] && [ $((i % FAIL_EVERY)) = 0 ]; then
            jq -cn --arg id "vllm-$(uuid)" --arg cid "$cid" --arg rid "vllm-batch-$(uuid)" \
                '{id: $id, custom_id: $cid, response: {status_code: 400, request_id: $rid, body: null},
                  error: "Request must not be sent in stream mode"}' >>"$2"
            continue
        fi
        if [ "$i" = "$ERROR_OBJECT" ]; then
            jq -cn --arg id "vllm-$(uuid)" --arg cid "$cid" --arg rid "vllm-batch-$(uuid)" \
                '{id: $id, custom_id: $cid, response: {status_code: 400, request_id: $rid, body: null},
                  error: {error: {message: "This model'"'"'s maximum context length is 2048 tokens.",
                                  type: "BadRequestError", param: null, code: 400}}}' >>"$2"
            continue
        fi
        printf '%s' "$line" | jq -c .body |
            curl -s -H 'Content-Type: application/json' --data-binary @- "$base/chat/completions" |
            jq -c --arg id "vllm-$(uuid)" --arg cid "$cid" --arg rid "vllm-batch-$(uuid)" \
                '{id: $id, custom_id: $cid,
                  response: {status_code: 200, request_id: $rid,
                             body: (. + {service_tier: null, prompt_logprobs: null, kv_transfer_params: null}
                                    | .choices |= map(. + {stop_reason: null}
                                        | .message += {refusal: null, annotations: null, audio: null,
                                                       function_call: null, tool_calls: [],
                                                       reasoning_content: null}))},
                  error: null}' >>"$2"
    done <"$1"
}

rs_start --log "$tmp/lm.log"
base="http://127.0.0.1:$port/v1"
tickets=examples/tickets/tickets.dsp
ev plain $tickets plain-cache
check "a plain eval scores" test -n "$(score plain)"

# ---- one step ------------------------------------------------------------
: >"$tmp/lm.log"
ev exp $tickets vcache --batch-export "$tmp/in.jsonl"
check "--batch-export succeeds" test $? = 0
check "it writes one line per request the cache lacks" test "$(wc -l <"$tmp/in.jsonl")" = 20
check "and sends the LM nothing" test "$(chats)" = 0
check "nor prints a score (no eval ran)" test ! -s "$tmp/exp.json"
check "each line is OpenAI's batch input: custom_id, POST, /v1/chat/completions, the request body" \
    sh -c "jq -e -s 'all(.[]; (.custom_id | test(\"^[0-9a-f]{64}\$\")) and .method == \"POST\" and
                       .url == \"/v1/chat/completions\" and .body.model == \"gpt-4o-mini\" and
                       (.body.messages | length) >= 2)' '$tmp/in.jsonl' >/dev/null"
check "stderr says how to run vLLM's batch runner next" grep -q "vllm.entrypoints.openai.run_batch -i $tmp/in.jsonl" "$tmp/exp.err"
ev exp_again $tickets vcache --batch-export "$tmp/in_again.jsonl"
check "exporting again writes the same requests, byte for byte" cmp -s "$tmp/in.jsonl" "$tmp/in_again.jsonl"

run_batch "$tmp/in.jsonl" "$tmp/out.jsonl"
check "the stand-in wrote vLLM's output lines" \
    sh -c "jq -e -s 'length == 20 and all(.[]; (.id | startswith(\"vllm-\")) and .response.status_code == 200 and
                       (.response.request_id | startswith(\"vllm-batch-\")) and .error == null)' '$tmp/out.jsonl' >/dev/null"
: >"$tmp/lm.log"
ev imp $tickets vcache --batch-import "$tmp/out.jsonl" --batch-export "$tmp/in2.jsonl"
check "--batch-import keeps the 20 replies" grep -q "20 replies kept for the 20 requests the cache lacks" "$tmp/imp.err"
check "and a one-step program has no next round: the new file is empty" test ! -s "$tmp/in2.jsonl"
check "saying so" grep -q "the cache holds every request" "$tmp/imp.err"
ev done $tickets vcache
check "the eval then completes from the cache alone" \
    sh -c "test '$(chats)' = 0 && test '$(json_key "$tmp/done.json" cache_hits)' = 20"
check "with the plain eval's score" test "$(score done)" = "$(score plain)"

# --batch-import alone: import, then evaluate, in one command.
ev exp1 $tickets one-cache --batch-export "$tmp/one_in.jsonl"
run_batch "$tmp/one_in.jsonl" "$tmp/one_out.jsonl"
: >"$tmp/lm.log"
ev one $tickets one-cache --batch-import "$tmp/one_out.jsonl"
check "--batch-import alone imports and evaluates: no chat request, the plain score" \
    sh -c "test '$(chats)' = 0 && test '$(score one)' = '$(score plain)'"

# ---- a program of three LM steps: a round per step -----------------------
hop=examples/multihop/multihop.dsp
ev hop_plain $hop hop-plain
: >"$tmp/lm.log"
rounds=0
ev hop_exp $hop hop-cache --batch-export "$tmp/hop_in.jsonl"
while [ -s "$tmp/hop_in.jsonl" ] && [ $rounds -lt 6 ]; do
    rounds=$((rounds + 1))
    run_batch "$tmp/hop_in.jsonl" "$tmp/hop_out.jsonl"
    ev hop_exp $hop hop-cache --batch-import "$tmp/hop_out.jsonl" --batch-export "$tmp/hop_in.jsonl"
done
check "a three-step program takes three rounds of files" test "$rounds" = 3
: >"$tmp/lm.log"
ev hop $hop hop-cache
check "then evaluates from the cache alone, with the plain score" \
    sh -c "test '$(chats)' = 0 && test '$(score hop)' = '$(score hop_plain)'"

# ---- failures --------------------------------------------------------------
ev fexp $tickets fail-cache --batch-export "$tmp/f_in.jsonl"
FAIL_EVERY=5 ERROR_OBJECT=3 run_batch "$tmp/f_in.jsonl" "$tmp/f_out.jsonl"
# A line for a request this run does not make (another data set, say).
jq -cn '{id: "vllm-0", custom_id: "0000000000000000000000000000000000000000000000000000000000000000",
         response: {status_code: 200, request_id: "vllm-batch-0", body: null}, error: null}' >>"$tmp/f_out.jsonl"
: >"$tmp/lm.log"
ev fimp $tickets fail-cache --batch-import "$tmp/f_out.jsonl"
check "errored requests are sent as normal calls, and the eval scores as a plain one" \
    sh -c "test '$(chats)' = 5 && test '$(score fimp)' = '$(score plain)'"
check "the report counts them and quotes vLLM's message" \
    grep -q "15 replies kept for the 20 requests the cache lacks, 5 answered with an error .*the first: .*context length is 2048 tokens" "$tmp/fimp.err"
check "and counts the line for another request, unused" grep -q "1 of its 21 lines are for requests this run does not make" "$tmp/fimp.err"

# A hostile file: every line an error whose message holds terminal escape
# sequences. The report quotes the first with its control bytes as '?'.
jq -c '{id: "vllm-e", custom_id: .custom_id, response: {status_code: 400, body: null},
        error: "\u001b]0;pwned\u0007\u001b[2J\rbad request"}' "$tmp/f_in.jsonl" >"$tmp/esc_out.jsonl"
ev escimp $tickets esc-cache --batch-import "$tmp/esc_out.jsonl" --batch-export "$tmp/esc_in.jsonl"
check "an error line with escape sequences is quoted with them as '?'" \
    grep -qF 'the first: HTTP 400: ?]0;pwned??[2J?bad request' "$tmp/escimp.err"
check "no control byte but newlines reaches the terminal" \
    sh -c "! LC_ALL=C grep -q \"\$(printf '[\\001-\\010\\013-\\037\\177]')\" '$tmp/escimp.err'"

printf '{"id":"vllm-1","custom_id":"x"}\nnot json\n' >"$tmp/bad.jsonl"
ev bad $tickets bad-cache --batch-import "$tmp/bad.jsonl"
check "a damaged file is an error naming its line" sh -c "test $? != 0 && grep -q 'bad.jsonl:2: not a batch output line' '$tmp/bad.err'"
ev missing $tickets bad-cache --batch-import "$tmp/nothing.jsonl"
check "a missing file is an error naming it" sh -c "test $? != 0 && grep -q 'batch-import $tmp/nothing.jsonl' '$tmp/missing.err'"
ev both $tickets bad-cache --batch --batch-export "$tmp/x.jsonl"
check "--batch with --batch-export is refused" sh -c "test $? = 2 && grep -q 'use one way' '$tmp/both.err'"
ev nocache $tickets bad-cache --no-cache --batch-import "$tmp/out.jsonl"
check "--no-cache with --batch-import is refused" sh -c "test $? = 2 && grep -q 'no-cache' '$tmp/nocache.err'"
sed -e 's#"openai/gpt-4o-mini"#"anthropic/claude-3-5-haiku-latest"#' -e 's#OPENAI_API_KEY#ANTHROPIC_API_KEY#' \
    -e "s#\"data/#\"$PWD/examples/tickets/data/#" $tickets >"$tmp/anthropic.dsp"
ANTHROPIC_API_KEY=sk-ant-test-0123456789 ev an "$tmp/anthropic.dsp" an-cache --batch-export "$tmp/an.jsonl"
check "an Anthropic lm's requests are refused for a vLLM file, naming the lm and --batch" \
    sh -c "test $? != 0 && grep -q 'anthropic/claude-3-5-haiku-latest: .*use --batch' '$tmp/an.err'"
