#!/bin/sh
# No piece of the API key is ever written. build/dsp-refserver (a TEST
# FIXTURE, not a language model) plays a server that quotes the key back:
# `--echo-key error` answers 401 quoting it cut at 200 bytes (only a prefix
# remains), `--echo-key reply` puts it inside every reply. Through `dspcc
# eval` (with a trace holding contents, and --predictions), `dspcc prompt
# --run`, `dspcc optimize` (state and report), `dspcc build` and a generated
# program, no run of 8 or more characters of the key appears in stdout,
# stderr, --json, the trace, the predictions, the state, the report, the
# generated C or the cache files; a reply holding the key is refused with
# an error. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
prog=examples/tickets/tickets.dsp
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/ticket_cli.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

# A long key, so that a quote cut at 200 bytes keeps only its start.
KEY="sk-canary-XY$(printf '%s' "$$-leak-check" | sha256sum | cut -c1-64)Q7v0T2w9R4u6P1s3"
export OPENAI_API_KEY="$KEY"
unset DSPCC_BASE_URL
# Every 8-byte window of the key: a file holds a piece of 8 or more bytes
# exactly when it holds one of these.
i=1
: >"$tmp/pieces"
while [ $((i + 7)) -le ${#KEY} ]; do
    printf '%s\n' "$KEY" | cut -c"$i-$((i + 7))" >>"$tmp/pieces"
    i=$((i + 1))
done
out="$tmp/out"
mkdir -p "$out"
# no_piece NAME: no file under $out holds a piece of the key.
no_piece() {
    if grep -a -r -l -F -f "$tmp/pieces" "$out" >"$tmp/leaks"; then
        sed 's/^/# leaked in /' "$tmp/leaks"
        check "$1" false
    else
        check "$1" true
    fi
}

build_ticket_cli "$out"
head -n 3 examples/tickets/data/dev.jsonl | sed 's/.*"text": *"\([^"]*\)".*/\1/' >"$tmp/tickets.txt"

# ---- an error that quotes the key cut short --------------------------------
# direct NAME: one chat request to the fixture with the key, by curl.
direct() {
    curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{"model":"m","messages":[{"role":"user","content":"[[ ## ticket_text ## ]]\nhi"}]}' \
        "$url/chat/completions" >"$tmp/$1"
}
rs_start --echo-key error
url="http://127.0.0.1:$port/v1"
direct quoted.json
check "the fixture quotes only the start of the key" \
    sh -c "grep -qF 'sk-canary-XY' '$tmp/quoted.json' && ! grep -qF '$KEY' '$tmp/quoted.json'"
DSPCC_TRACE_CONTENT=1 "$dspcc" eval "$prog" --data dev --limit 3 --json --base-url "$url" --cache-dir "$out/cache" \
    --trace "$out/trace_error.jsonl" --predictions "$out/pred_error.jsonl" >"$out/eval_error.json" 2>"$out/eval_error.err"
check "eval fails on the 401" test $? -ne 0
grep -q 'HTTP 401' "$out/eval_error.json" "$out/eval_error.err"
check "and says so" test $? -eq 0
"$dspcc" eval "$prog" --data dev --limit 3 --base-url "$url" --cache-dir "$out/cache" \
    >"$out/eval_error.txt" 2>&1
"$dspcc" prompt "$prog" --example 0 --data dev --run --base-url "$url" --cache-dir "$out/cache" \
    >"$out/prompt_error.txt" 2>&1
check "prompt --run fails on the 401" test $? -ne 0
DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$out/cli-cache" "$out/ticket_cli" <"$tmp/tickets.txt" \
    >"$out/cli_error.out" 2>"$out/cli_error.err"
grep -q 'HTTP 401' "$out/cli_error.err"
check "the generated program reports the 401" test $? -eq 0
no_piece "no piece of a key quoted cut short in any output"

# ---- a reply that holds the key ----------------------------------------------
rs_start --echo-key reply
url="http://127.0.0.1:$port/v1"
direct echoed.json
check "the fixture echoes the whole key in a reply" grep -qF "$KEY" "$tmp/echoed.json"
DSPCC_TRACE_CONTENT=1 "$dspcc" eval "$prog" --data dev --limit 3 --json --base-url "$url" --cache-dir "$out/cache" \
    --trace "$out/trace_reply.jsonl" --predictions "$out/pred_reply.jsonl" >"$out/eval_reply.json" 2>"$out/eval_reply.err"
"$dspcc" prompt "$prog" --example 0 --data dev --run --base-url "$url" --cache-dir "$out/cache" \
    >"$out/prompt_reply.txt" 2>&1
check "prompt --run fails: the reply holds the key" sh -c "test $? -ne 0 && grep -q 'holds the API key' '$out/prompt_reply.txt'"
check "eval's examples fail: the replies hold the key" \
    sh -c "test '$(json_key "$out/eval_reply.json" failed)' = 3 && grep -q 'holds the API key' '$out/eval_reply.json'"
"$dspcc" optimize "$prog" -o "$out/state.json" --report "$out/report.html" --trainset-limit 4 --valset-limit 3 \
    --base-url "$url" --cache-dir "$out/cache" >"$out/optimize.out" 2>"$out/optimize.err"
if [ -f "$out/state.json" ]; then
    "$dspcc" build "$prog" --state "$out/state.json" -o "$out/tickets_opt.c" >"$out/build_opt.out" 2>&1
fi
DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$out/cli-cache" "$out/ticket_cli" <"$tmp/tickets.txt" \
    >"$out/cli_reply.out" 2>"$out/cli_reply.err"
check "the generated program fails each line: the replies hold the key" \
    test "$(grep -c 'holds the API key' "$out/cli_reply.err")" -ge 3
no_piece "no piece of an echoed key in any output, state, report, generated C or cache file"
check "nothing was cached" sh -c "test \"\$(sqlite3 '$out/cache/responses.sqlite3' 'select count(*) from responses' 2>/dev/null || echo 0)\" = 0"
check "optimize wrote no state from replies it refused, or one without the key" \
    sh -c "test ! -f '$out/state.json' || ! grep -q 'sk-canar' '$out/state.json'"

# ---- a placeholder key ---------------------------------------------------------
# A key shorter than 8 bytes ("x", as users set for a local server) is no
# secret: ordinary replies hold it, and they must not be refused.
rs_start
url="http://127.0.0.1:$port/v1"
OPENAI_API_KEY=x "$dspcc" eval "$prog" --data dev --limit 3 --json --base-url "$url" --no-cache \
    >"$tmp/eval_short.json" 2>"$tmp/eval_short.err"
rc=$?
check "a placeholder key of one byte refuses no reply" \
    test "$rc/$(json_key "$tmp/eval_short.json" failed)" = "0/0"

# ---- a cached reply that holds the key ----------------------------------------
# Rows stored before replies were checked may hold a key. Here the "key" is
# text every chat-adapter reply holds, so the rows cached under one key hold
# the next: they must be asked for again (and refused), never served.
OPENAI_API_KEY=x "$dspcc" eval "$prog" --data dev --limit 3 --json --base-url "$url" --cache-dir "$tmp/kcache" \
    >"$tmp/eval_fill.json" 2>&1
check "a first run fills the cache" test "$(json_key "$tmp/eval_fill.json" failed)" = 0
OPENAI_API_KEY="[[ ## completed ## ]]" "$dspcc" eval "$prog" --data dev --limit 3 --json --base-url "$url" \
    --cache-dir "$tmp/kcache" >"$tmp/eval_cached_key.json" 2>"$tmp/eval_cached_key.err"
check "cached replies holding the key are not served: asked again and refused" \
    sh -c "test '$(json_key "$tmp/eval_cached_key.json" failed)' = 3 && grep -q 'holds the API key' '$tmp/eval_cached_key.json'"
