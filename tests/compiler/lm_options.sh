#!/bin/sh
# Every documented lm option reaches the requests. Walks the option table
# of stdlib/lm_options.c (and requires docs/language.md's table to list the
# same options), and for each option runs `dspcc eval` against
# build/dsp-refserver (a TEST FIXTURE, not a language model) with and
# without it, proving from the fixture's --log (what each request sent) or
# from the client's behaviour (requests, wall time) that the option is
# used. An option added to the table without a case here fails the test.
# Also: the command line's --retries/--timeout win over an lm's own, a
# call's deadline bounds its retries, and the generated C carries every
# option. Prints TAP.
set -u
: "${BUILD:=build}"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/lm_program.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

table=$(sed -n 's/^ *{ "\([a-z_]*\)", BI_OPT_.*/\1/p' stdlib/lm_options.c | sort | tr '\n' ' ')
documented=$(sed -n '/^| option | value |/,/^$/s/^| `\([a-z_]*\)` |.*/\1/p' docs/language.md | sort | tr '\n' ' ')
check "the option table lists options ($table)" test -n "$table"
check "docs/language.md's lm table lists the same options as stdlib/lm_options.c" test "$table" = "$documented"

head -n 3 examples/tickets/data/dev.jsonl >"$tmp/dev.jsonl"

start
check "the fixture started" test -n "$port"
base="  base_url: \"$url\""

case_base_url() {
    prog nourl.dsp '  cache: false'
    run nourl 1
    check "base_url: without it a compatible lm is refused (no request)" sh -c "test $rc -ne 0 && test $reqs -eq 0"
    prog url.dsp "$base
  cache: false"
    run url 2
    check "base_url: with it the requests reach that server" sh -c "test $rc -eq 0 && test $reqs -eq 2"
    # Several URLs: a dead one first (nothing listens on port 9 of
    # 127.0.0.1), then the fixture; every call ends on the fixture.
    prog urls.dsp "  base_url: \"http://127.0.0.1:9/v1 $url\"
  cache: false"
    run urls 3
    check "base_url: of two URLs, one dead, every call reaches the live one" sh -c "test $rc -eq 0 && test $reqs -eq 3"
}
# arrival_span N: ms between the first and the last of the log's last N
# chat requests, as the fixture saw them (t_ms).
arrival_span() {
    tail -n "$1" "$tmp/log" | jq -s '[.[].t_ms] | (max - min)'
}
case_rpm() {
    prog rpm.dsp "$base
  rpm: 300
  cache: false"
    run rpm 3 --concurrency 3
    span=$(arrival_span 3)
    check "rpm: 300 spaces 3 concurrent calls 200 ms apart (the fixture saw them over $span ms)" \
        sh -c "test $rc -eq 0 && test $reqs -eq 3 && awk 'BEGIN { exit !($span >= 360) }'"
    prog norpm.dsp "$base
  cache: false"
    run norpm 3 --concurrency 3
    span=$(arrival_span 3)
    check "without rpm the same calls arrive together (over $span ms)" awk "BEGIN { exit !($span < 360) }"
}
case_tpm() {
    # A request here counts about 250 tokens (body bytes / 4 + max_tokens
    # 50); 6000 a minute is 100 a second: after the first, ~2.5 s apart.
    prog tpm.dsp "$base
  max_tokens: 50
  tpm: 6000
  cache: false"
    run tpm 3 --concurrency 3
    span=$(arrival_span 3)
    check "tpm: 6000 spaces 3 concurrent calls by their tokens (the fixture saw them over $span ms)" \
        sh -c "test $rc -eq 0 && test $reqs -eq 3 && awk 'BEGIN { exit !($span >= 2000) }'"
}
case_api_key_env() {
    prog key.dsp "$base
  api_key_env: \"LMOPT_TEST_KEY\"
  cache: false"
    export LMOPT_TEST_KEY=sk-lmopt-not-a-key
    run key 1
    check "api_key_env: the key in that variable is sent" sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":true'"
    prog nokey.dsp "$base
  cache: false"
    run nokey 1
    unset LMOPT_TEST_KEY
    check "api_key_env: without it no key is sent" sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":false'"
}
case_temperature() {
    prog t.dsp "$base
  temperature: 0.7
  cache: false"
    run t 1
    check "temperature: 0.7 is sent" has '\"temperature\":0.7'
}
case_top_p() {
    prog p.dsp "$base
  top_p: 0.3
  cache: false"
    run p 1
    check "top_p: 0.3 is sent" has '\"top_p\":0.3'
    prog nop.dsp "$base
  cache: false"
    run nop 1
    check "top_p: not sent when not given" hasnt '\"top_p\"'
}
case_adapter() {
    prog js.dsp "$base
  adapter: json
  cache: false"
    run js 1
    check "adapter: json sends the outputs' schema, strict, in one request" \
        sh -c "test $rc -eq 0 && test $reqs -eq 1"
    check "adapter: json: the request carries response_format json_schema with strict" has '\"strict\":true'
    prog ch.dsp "$base
  adapter: chat
  cache: false"
    run ch 1
    check "adapter: chat sends no response_format" hasnt '\"response_format\"'
}
case_max_tokens() {
    prog mt.dsp "$base
  max_tokens: 77
  cache: false"
    run mt 1
    check "max_tokens: 77 is sent" has '\"max_tokens\":77'
}
case_cache() {
    prog c.dsp "$base"
    run c 2
    run c 2
    check "cache: on by default, a second run sends nothing" test "$reqs" -eq 0
    prog nc.dsp "$base
  cache: false"
    run nc 2
    run nc 2
    check "cache: false neither reads nor writes the cache (the second run asks again)" test "$reqs" -eq 2
}
case_retries() {
    start --fail-rate 1 --fail-kinds 500
    base="  base_url: \"$url\""
    prog r2.dsp "$base
  retries: 2
  cache: false"
    run r2 1
    check "retries: 2 makes 3 attempts at a failing server" test "$reqs" -eq 3
    prog r0.dsp "$base
  retries: 0
  cache: false"
    run r0 1
    check "retries: 0 makes 1 attempt" test "$reqs" -eq 1
    run r2 1 --retries 0
    check "--retries 0 wins over the lm's retries: 2" test "$reqs" -eq 1
    start
    base="  base_url: \"$url\""
}
# Prices reach eval's cost: the tokens the run reports at the prices given.
price_case() { # option-lines expected-awk-expression-over-p-and-c
    prog price.dsp "$base
  cache: false
$1"
    run price 2
    p=$(json_key "$tmp/price.json" prompt_tokens)
    c=$(json_key "$tmp/price.json" completion_tokens)
    cost=$(json_key "$tmp/price.json" cost_usd)
    check "$3 (cost $cost for $p prompt, $c completion tokens)" \
        awk -v p="$p" -v c="$c" -v x="$cost" "BEGIN { e = $2; exit !(p > 0 && x > 0 && x - e < 1e-9 && e - x < 1e-9) }"
}
case_input_usd_per_mtok() {
    price_case "  input_usd_per_mtok: 2.5" "p * 2.5 / 1e6" "input_usd_per_mtok prices the prompt tokens"
}
case_output_usd_per_mtok() {
    price_case "  input_usd_per_mtok: 1
  output_usd_per_mtok: 10" "(p * 1 + c * 10) / 1e6" "output_usd_per_mtok prices the completion tokens"
    prog noprice.dsp "$base
  cache: false"
    run noprice 1
    check "without prices the cost is null, not 0" grep -q '"cost_usd":[[:space:]]*null' "$tmp/noprice.json"
}
case_timeout_ms() {
    start --fail-rate 1 --fail-kinds hang --hang-ms 60000
    base="  base_url: \"$url\""
    prog h.dsp "$base
  timeout_ms: 2000
  retries: 0
  cache: false"
    run h 1
    check "timeout_ms: 2000, retries: 0 against a hanging server gives up in about 2 s (took ${ms} ms)" \
        sh -c "test $ms -ge 1900 && test $ms -lt 5000 && test $reqs -eq 1 && grep -q 'timed out' '$tmp/h.err'"
    prog hl.dsp "$base
  timeout_ms: 60000
  retries: 0
  cache: false"
    run hl 1 --timeout 1
    check "--timeout 1 wins over the lm's timeout_ms: 60000 (took ${ms} ms)" sh -c "test $ms -lt 4000 && test $reqs -eq 1"
    prog hd.dsp "$base
  timeout_ms: 1500
  retries: 10
  cache: false"
    run hd 1 --deadline 4
    check "--deadline 4 bounds a call's retries together (took ${ms} ms, $reqs requests)" \
        sh -c "test $ms -lt 6500 && test $reqs -ge 2 && test $reqs -le 3 && grep -q 'deadline' '$tmp/hd.err'"
    start
    base="  base_url: \"$url\""
}

# A state whose predictor runs with a LoRA adapter (ad.bin), for the
# adapter options: `dspcc prompt --wire openai` prints the bodies sent.
printf abc >"$tmp/ad.bin"
cat >"$tmp/ad.state.json" <<'JSON'
{
  "dspcc_state": 1, "program": "M", "source": "x.dsp", "source_sha256": "x", "optimizer": "better_together",
  "seed": 0, "metric": "accuracy", "baseline_score": 0, "final_score": 0, "lm_calls": 0,
  "predictors": [
    { "name": "M.r", "model": "dspcc-ba7816bf8f01cfea",
      "adapter": { "name": "dspcc-ba7816bf8f01cfea", "path": "ad.bin",
                   "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" } }
  ]
}
JSON
case_lora_serving() {
    prog lv.dsp "$base
  lora_serving: \"vllm\""
    "$dspcc" prompt "$tmp/lv.dsp" --state "$tmp/ad.state.json" --wire openai --input '{"ticket_text":"hi"}' \
        2>/dev/null | grep '^{' >"$tmp/lv.body"
    check "lora_serving: \"vllm\" names the adapter as the request's model, no lora field" \
        sh -c "grep -qF '{\"model\":\"dspcc-ba7816bf8f01cfea\"' '$tmp/lv.body' && ! grep -qF '\"lora\"' '$tmp/lv.body'"
    prog ll.dsp "$base
  lora_serving: \"llama.cpp\""
    check "lora_serving: \"llama.cpp\" sends lora: [{id: 0, scale: 1}]" \
        sh -c "dspcc='$dspcc'; '$dspcc' prompt '$tmp/ll.dsp' --state '$tmp/ad.state.json' --wire openai --input '{\"ticket_text\":\"hi\"}' 2>/dev/null | grep -qF '\"lora\":[{\"id\":0,\"scale\":1}]'"
}
case_lora_id() {
    prog li.dsp "$base
  lora_serving: \"llama.cpp\"
  lora_id: 3"
    check "lora_id: 3 selects adapter 3" \
        sh -c "'$dspcc' prompt '$tmp/li.dsp' --state '$tmp/ad.state.json' --wire openai --input '{\"ticket_text\":\"hi\"}' 2>/dev/null | grep -qF '\"lora\":[{\"id\":3,\"scale\":1}]'"
}
case_tool_calling() {
    # The requests of react steps are checked in tests/compiler/react_native.sh;
    # here: the option reaches the generated lm table, and only its two values
    # and the providers that speak it are taken.
    prog tc.dsp "$base
  tool_calling: native"
    "$dspcc" build "$tmp/tc.dsp" --no-opt -o "$tmp/gen_tc.c" 2>"$tmp/tc.err"
    check "tool_calling: native reaches the generated lm table" grep -q '.tool_calling = DSP_TOOL_CALLING_NATIVE,' "$tmp/gen_tc.c"
    prog tct.dsp "$base
  tool_calling: text"
    "$dspcc" build "$tmp/tct.dsp" --no-opt -o "$tmp/gen_tct.c" 2>"$tmp/tct.err"
    check "tool_calling: text (the default) leaves the table as it was" sh -c "test $? -eq 0 && ! grep -q tool_calling '$tmp/gen_tct.c'"
    prog tcb.dsp "$base
  tool_calling: json"
    "$dspcc" check "$tmp/tcb.dsp" >/dev/null 2>"$tmp/tcb.err"
    check "tool_calling: another value is refused, naming the two" grep -q 'tcb.dsp:[0-9]*:[0-9]*: error: .*text.*native' "$tmp/tcb.err"
    prog tcg.dsp "  tool_calling: native" "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
    "$dspcc" check "$tmp/tcg.dsp" >/dev/null 2>"$tmp/tcg.err"
    check "tool_calling: native is refused on bedrock" grep -q "error: tool_calling: native is spoken with OpenAI-compatible and Anthropic lms, not .bedrock." "$tmp/tcg.err"
}
case_trainer() {
    # Run end to end in tests/compiler/lora_e2e.sh; here: it is read and checked.
    prog tr.dsp "$base
  trainer: \"sh train.sh {data} {model}\""
    "$dspcc" check "$tmp/tr.dsp" >/dev/null 2>"$tmp/tr.err"
    check "trainer: a template is checked (unknown placeholder {model})" grep -q 'tr.dsp:[0-9]*:[0-9]*: error: trainer: unknown placeholder {model}' "$tmp/tr.err"
    prog trk.dsp "$base
  trainer: \"sh train.sh {data} {output} --token sk-abcdefabcdef\""
    "$dspcc" check "$tmp/trk.dsp" >/dev/null 2>"$tmp/trk.err"
    check "trainer: a key in the command is refused" grep -q 'error: this looks like an API key' "$tmp/trk.err"
    prog trl.dsp "$base
  trainer: \"python3 /opt/models/llama-3.1-8b-instruct-v2/train.py {data} {output}\""
    check "trainer: a long path with digits is not taken for a key" "$dspcc" check "$tmp/trl.dsp"
}

for opt in $table; do
    if command -v "case_$opt" >/dev/null 2>&1; then
        "case_$opt"
    else
        echo "not ok - lm option $opt has no case in tests/compiler/lm_options.sh proving that it is used"
    fi
done

# The generated C carries every option.
prog g.dsp "$base
  temperature: 0.5
  top_p: 0.25
  max_tokens: 64
  timeout_ms: 2000
  retries: 0
  cache: false
  rpm: 600
  tpm: 90000
  api_key_env: \"LMOPT_TEST_KEY\""
"$dspcc" build "$tmp/g.dsp" --no-opt -o "$tmp/gen_g.c" 2>"$tmp/g.err"
check "dspcc build of a program with every lm option" test $? -eq 0
grep -q '.has_top_p = true, .top_p = 0.25 },$' "$tmp/gen_g.c"
r=$?
grep -q '.timeout_ms = 2000, .has_retries = true, .retries = 0, .no_cache = true,$' "$tmp/gen_g.c"
check "the generated lm has top_p, timeout_ms, retries and cache" test $r -eq 0 -a $? -eq 0
check "the generated lm has rpm and tpm" grep -q '^    .rpm = 600, .tpm = 90000,$' "$tmp/gen_g.c"
cc -std=c17 -Wall -Wextra -Werror -pedantic -Iruntime/include -I/usr/include/cjson -c "$tmp/gen_g.c" \
    -o "$tmp/gen_g.o" 2>"$tmp/cc.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -10
check "the generated C compiles" test $r -eq 0
