#!/bin/sh
# Traces (dsp/trace.h) against build/dsp-refserver (a TEST FIXTURE): `dspcc
# eval --trace` and a generated program run with DSPCC_TRACE write one line
# per LM call (as many as the run counted) and one per module call, every LM
# call's parent is a module call of the same trace, examples are numbered,
# the attributes carry OpenTelemetry's gen_ai names, the API key never
# appears, and message contents only with DSPCC_TRACE_CONTENT=1. Needs jq.
# Prints TAP.
set -u
: "${BUILD:=build}"
here=$(pwd)
case "$BUILD" in
    /*) bin=$BUILD ;;
    *) bin=$here/$BUILD ;;
esac
dspcc="$bin/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

if ! command -v jq >/dev/null 2>&1; then
    echo "ok - # SKIP jq is not installed (scripts/setup.sh installs it)"
    exit 0
fi
key=sk-trace-test-9f8e7d6c5b4a
export OPENAI_API_KEY=$key
unset DSPCC_BASE_URL DSPCC_TRACE DSPCC_TRACE_CONTENT
rs_start
url="http://127.0.0.1:$port/v1"

# links FILE: every lm line's parent is a module line of its trace.
links() {
    jq -s '(map(select(.kind == "module") | {key: .span_id, value: .trace_id}) | from_entries) as $m
        | [.[] | select(.kind == "lm") | select($m[.parent_span_id] != .trace_id)] | length' "$1"
}

"$dspcc" eval examples/multihop/multihop.dsp --data dev --limit 3 --json --no-cache --base-url "$url" \
    --trace "$tmp/eval.jsonl" >"$tmp/sum.json" 2>"$tmp/err"
check "eval --trace exits 0" test $? -eq 0
calls=$(jq .lm_calls "$tmp/sum.json")
check "one lm line per LM call the run counted ($calls)" \
    test "$(jq -s 'map(select(.kind == "lm")) | length' "$tmp/eval.jsonl")" = "$calls"
check "one module line per example" test "$(jq -s 'map(select(.kind == "module")) | length' "$tmp/eval.jsonl")" = 3
check "every LM call's parent is a module call of its trace" test "$(links "$tmp/eval.jsonl")" = 0
check "module calls are numbered by example" \
    test "$(jq -s -c '[.[] | select(.kind == "module") | .attributes."dspcc.example"] | sort' "$tmp/eval.jsonl")" = "[0,1,2]"
check "ids are OpenTelemetry's sizes" test "$(jq -s '[.[] | select((.trace_id | length) != 32 or (.span_id | length) != 16)] | length' "$tmp/eval.jsonl")" = 0
check "lm lines carry the gen_ai attributes" test "$(jq -s -c '[.[] | select(.kind == "lm") | .attributes |
    (."gen_ai.request.model" == "llama3.1:8b" and ."gen_ai.operation.name" == "chat" and ."gen_ai.provider.name" == "ollama"
     and (."gen_ai.usage.input_tokens" > 0) and has("gen_ai.usage.output_tokens") and has("dspcc.retries")
     and has("dspcc.cache_hit") and has("dspcc.latency_ms"))] | unique' "$tmp/eval.jsonl")" = "[true]"
check "each LM call names its predictor" test "$(jq -s -c '[.[] | select(.kind == "lm") | .attributes."dspcc.predictor"] | unique' "$tmp/eval.jsonl")" = \
    '["MultiHop.a","MultiHop.q1","MultiHop.q2"]'
check "the tokens add up to the run's" test "$(jq -s '[.[] | select(.kind == "lm") | .attributes."gen_ai.usage.input_tokens"] | add' "$tmp/eval.jsonl")" = \
    "$(jq .prompt_tokens "$tmp/sum.json")"
check "no message contents unless asked" sh -c "! grep -q 'gen_ai.input.messages' '$tmp/eval.jsonl'"
check "the API key appears nowhere" sh -c "! grep -q 'sk-trace' '$tmp/eval.jsonl'"

# DSPCC_TRACE and DSPCC_TRACE_CONTENT=1, a cached second run.
"$dspcc" eval examples/tickets/tickets.dsp --data dev --limit 2 --base-url "$url" --cache-dir "$tmp/cache" \
    >/dev/null 2>&1
DSPCC_TRACE="$tmp/env.jsonl" DSPCC_TRACE_CONTENT=1 "$dspcc" eval examples/tickets/tickets.dsp --data dev --limit 2 \
    --base-url "$url" --cache-dir "$tmp/cache" >/dev/null 2>&1
check "DSPCC_TRACE traces dspcc too" test "$(jq -s 'map(select(.kind == "lm")) | length' "$tmp/env.jsonl")" = 2
check "cache hits say so" test "$(jq -s -c '[.[] | select(.kind == "lm") | .attributes."dspcc.cache_hit"] | unique' "$tmp/env.jsonl")" = "[true]"
check "DSPCC_TRACE_CONTENT=1 adds the messages and the reply" test "$(jq -s -c '[.[] | select(.kind == "lm") | .attributes |
    (."gen_ai.input.messages"[0].role == "system" and (."gen_ai.output.messages"[0].parts[0].content | length > 0))] | unique' "$tmp/env.jsonl")" = "[true]"
check "still no key with contents" sh -c "! grep -q 'sk-trace' '$tmp/env.jsonl'"

# A failed call is traced with its status.
rs_start --fail-rate 1 --fail-kinds 500
check "the faulty server started" test -n "$port"
DSPCC_TRACE="$tmp/fail.jsonl" "$dspcc" eval examples/tickets/tickets.dsp --data dev --limit 1 --retries 1 --no-cache \
    --base-url "http://127.0.0.1:$port/v1" >/dev/null 2>&1
check "a failed LM call is status ERROR with its retries and the HTTP status" test "$(jq -s -c '[.[] | select(.kind == "lm") |
    [.status.code, .attributes."dspcc.retries", .attributes."http.response.status_code"]] | unique' "$tmp/fail.jsonl")" = '[["ERROR",1,500]]'
check "and its module call failed too" test "$(jq -s -c '[.[] | select(.kind == "module") | .status.code] | unique' "$tmp/fail.jsonl")" = '["ERROR"]'
rs_start
url="http://127.0.0.1:$port/v1"

# A generated program, built as examples/tickets builds it, traced by the
# environment alone: run_batch numbers the examples.
SAN=
if nm "$bin/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
"$dspcc" build examples/tickets/tickets.dsp --no-opt -o "$tmp/tickets.c" >/dev/null 2>&1 &&
    cc -std=c17 -D_DEFAULT_SOURCE $SAN -Iruntime/include -I"$tmp" -o "$tmp/ticket_cli" examples/tickets/ticket_cli.c \
        "$tmp/tickets.c" "$bin/libdsprt.a" -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$tmp/cc.err"
check "the generated program builds" test -x "$tmp/ticket_cli"
printf 'I was charged twice\nI cannot log in\nWhere is my order\n' |
    DSPCC_TRACE="$tmp/gen.jsonl" DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/gencache" "$tmp/ticket_cli" >/dev/null 2>&1
check "DSPCC_TRACE: one lm line per call of the program" test "$(jq -s 'map(select(.kind == "lm")) | length' "$tmp/gen.jsonl")" = 3
check "and one module line per input, numbered" \
    test "$(jq -s -c '[.[] | select(.kind == "module") | .attributes."dspcc.example"] | sort' "$tmp/gen.jsonl")" = "[0,1,2]"
check "parents are valid in the generated program's trace" test "$(links "$tmp/gen.jsonl")" = 0
check "no key in the generated program's trace" sh -c "! grep -q 'sk-trace' '$tmp/gen.jsonl'"
# Prices declared on the lm reach the generated program's trace.
sed 's/  api_key_env: "OPENAI_API_KEY"/  api_key_env: "OPENAI_API_KEY"\n  input_usd_per_mtok: 0.15\n  output_usd_per_mtok: 0.6/' \
    examples/tickets/tickets.dsp >"$tmp/priced.dsp"
mkdir -p "$tmp/priced"
ln -s "$here/examples/tickets/data" "$tmp/data"
"$dspcc" build "$tmp/priced.dsp" --no-opt -o "$tmp/priced/tickets.c" >/dev/null 2>&1 &&
    cc -std=c17 -D_DEFAULT_SOURCE $SAN -Iruntime/include -I"$tmp/priced" -o "$tmp/priced_cli" examples/tickets/ticket_cli.c \
        "$tmp/priced/tickets.c" "$bin/libdsprt.a" -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$tmp/pcc.err"
echo 'I was charged twice' | DSPCC_TRACE="$tmp/priced.jsonl" DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/pcache" \
    "$tmp/priced_cli" >/dev/null 2>&1
check "a priced lm's calls carry dspcc.cost_usd in the generated program's trace" \
    test "$(jq -s '[.[] | select(.kind == "lm") | .attributes | select(."dspcc.cost_usd" > 0 and
        ((."dspcc.cost_usd" - (."gen_ai.usage.input_tokens" * 0.15 + ."gen_ai.usage.output_tokens" * 0.6) / 1e6)
         | if . < 0 then -. else . end) < 1e-12)] | length' "$tmp/priced.jsonl")" = 1

# Nested module calls: each is a span, a child of its caller's, in the
# interpreter and in generated C alike.
cat >"$tmp/nested.dsp" <<'DSP'
lm m = "compatible/fixture" {
  base_url: "http://127.0.0.1:9/v1"
}

signature S "Answer the question." {
  in  question: string
  out answer: string
}

module Inner(question: string) -> (answer: string) {
  r = predict(S)(question: question)
  return r
}

module Outer(question: string) -> (answer: string) {
  a = Inner(question: question)
  b = Inner(question: a.answer)
  return b
}

metric same(ex, pred) = exact_match(pred.answer, ex.answer)
DSP
head -n 2 examples/multihop/data/dev.jsonl >"$tmp/q.jsonl"
# nested FILE: Outer spans have no parent, Inner spans have an Outer parent,
# LM spans an Inner parent.
nested() {
    jq -s -c '(map({key: .span_id, value: .attributes."dspcc.module"}) | from_entries) as $m
        | [.[] | [.kind, .attributes."dspcc.module" // "", $m[.parent_span_id // ""] // "-"]] | unique' "$1"
}
"$dspcc" eval "$tmp/nested.dsp" --module Outer --data "$tmp/q.jsonl" --base-url "$url" --no-cache \
    --trace "$tmp/nested.jsonl" >/dev/null 2>"$tmp/nested.err"
check "eval: nested module calls are spans under their caller" test "$(nested "$tmp/nested.jsonl")" = \
    '[["lm","Inner","Inner"],["module","Inner","Outer"],["module","Outer","-"]]'
"$dspcc" build "$tmp/nested.dsp" --no-opt --program Outer -o "$tmp/nested.c" >/dev/null 2>&1
cat >"$tmp/nested_main.c" <<'C'
#include <stdio.h>
#include "nested.h"
int main(void)
{
    dsp_client *c = NULL;
    dsp_error err = { 0 };
    dsp_client_options o = dsp_client_options_default();
    if (dsp_client_new(&o, &c, &err) != DSP_OK)
        return 1;
    /* Two single runs: their lines are told apart by dspcc.run. */
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        outer_input in = { i ? "Who painted it?" : "Who wrote it?" };
        outer_output out;
        rc = outer_run(c, &in, &out, &err);
        if (rc == 0)
            outer_output_free(&out);
    }
    dsp_error_clear(&err);
    dsp_client_free(c);
    return rc;
}
C
cc -std=c17 -D_DEFAULT_SOURCE $SAN -Iruntime/include -I"$tmp" -o "$tmp/nested_app" "$tmp/nested_main.c" "$tmp/nested.c" \
    "$bin/libdsprt.a" -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$tmp/ncc.err"
DSPCC_TRACE="$tmp/gnested.jsonl" DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/gencache" "$tmp/nested_app" 2>/dev/null
check "generated C: nested module calls are spans under their caller" test "$(nested "$tmp/gnested.jsonl")" = \
    '[["lm","Inner","Inner"],["module","Inner","Outer"],["module","Outer","-"]]'
# runs FILE: per dspcc.run, the kinds of its lines and how many trace ids they share.
runs() {
    jq -s -c 'group_by(.attributes."dspcc.run") | map({run: .[0].attributes."dspcc.run",
        lines: length, lm: map(select(.kind == "lm")) | length, traces: (map(.trace_id) | unique | length)})' "$1"
}
check "generated C: every line of one single _run carries its run number (two runs, 5 lines each)" \
    test "$(runs "$tmp/gnested.jsonl")" = \
    '[{"run":0,"lines":5,"lm":2,"traces":1},{"run":1,"lines":5,"lm":2,"traces":1}]'
check "eval: runs are numbered too, beside the example index" \
    test "$(jq -s -c '[.[] | select(.kind == "module") | .attributes."dspcc.run"] | sort' "$tmp/eval.jsonl")" = "[0,1,2]"

"$dspcc" eval examples/tickets/tickets.dsp --data dev --limit 1 --base-url "$url" --trace "$tmp/no/such/dir/t.jsonl" \
    >/dev/null 2>"$tmp/e1"
check "an unwritable --trace names the file" grep -q 'trace file' "$tmp/e1"
