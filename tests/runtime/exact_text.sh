#!/bin/sh
# Text keeps its exact bytes or is refused, never cut or garbled (the rule
# of docs/runtime.md: UTF-8 without NUL characters), the same through
# `dspcc eval` and a generated program, against build/dsp-refserver (a TEST
# FIXTURE, not a language model): non-ASCII UTF-8 reaches the request
# byte for byte; an input that is not UTF-8 is an error naming the field
# (generated program) or the data file's line and column (eval) and the
# byte; a data row with \u0000 is an error at its place; a reply holding
# `billing\u0000hacked` (--inject-nul) is refused, not read as `billing`,
# and not cached. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
prog=examples/tickets/tickets.dsp
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/ticket_cli.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

build_ticket_cli "$tmp"

rs_start --log "$tmp/fixture.log"
url="http://127.0.0.1:$port/v1"
run_eval() { # NAME DATA: eval of DATA into $tmp/NAME.json / .err
    "$dspcc" eval "$prog" --data "$2" --json --base-url "$url" --cache-dir "$tmp/cache" \
        >"$tmp/$1.json" 2>"$tmp/$1.err"
}
run_cli() { # NAME: ticket_cli on $tmp/NAME.txt
    DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/cli-cache" "$tmp/ticket_cli" <"$tmp/$1.txt" \
        >"$tmp/$1.out" 2>"$tmp/$1.err"
}

# ---- exact bytes ----------------------------------------------------------
text='Caf\303\251 \342\234\223 \346\227\245\346\234\254\350\252\236 \360\237\231\202 refund, please'
printf "{\"ticket_text\": \"$text\", \"category\": \"billing\"}\n" >"$tmp/utf8.jsonl"
printf "$text" >"$tmp/want.txt"
run_eval utf8 "$tmp/utf8.jsonl"
check "eval takes non-ASCII UTF-8" test "$(json_key "$tmp/utf8.json" failed)" = 0
grep -qF "$(cat "$tmp/want.txt")" "$tmp/fixture.log"
check "and the request holds its exact bytes" test $? -eq 0
: >"$tmp/fixture.log"
printf "$text\n" >"$tmp/cli_utf8.txt"
run_cli cli_utf8
check "the generated program takes it too" test $? -eq 0
grep -qF "$(cat "$tmp/want.txt")" "$tmp/fixture.log"
check "and its request holds the exact bytes" test $? -eq 0

# ---- not UTF-8 --------------------------------------------------------------
printf '{"ticket_text": "ok", "category": "billing"}\n{"ticket_text": "caf\351 latin-1", "category": "billing"}\n' \
    >"$tmp/latin1.jsonl"
: >"$tmp/fixture.log"
run_eval latin1 "$tmp/latin1.jsonl"
check "eval refuses a data file that is not UTF-8" test $? -ne 0
grep -q "latin1.jsonl:2:21: not valid UTF-8 (byte 0xe9)" "$tmp/latin1.err" "$tmp/latin1.json"
check "naming its line, column and byte" test $? -eq 0
check "before any request" test ! -s "$tmp/fixture.log"
printf 'ok\ncaf\351 latin-1\n' >"$tmp/cli_latin1.txt"
run_cli cli_latin1
check "the generated program refuses an input that is not UTF-8" test $? -ne 0
grep -q "line 2: .*input \`ticket_text\`: not valid UTF-8 at byte 3 (0xe9)" "$tmp/cli_latin1.err"
check "naming the field and the byte" test $? -eq 0
check "and still answers the other line" test "$(head -n 1 "$tmp/cli_latin1.out" | wc -c)" -gt 1

# ---- NUL in data ----------------------------------------------------------------
printf '{"ticket_text": "billing\\u0000hacked", "category": "billing"}\n' >"$tmp/nul.jsonl"
run_eval nul "$tmp/nul.jsonl"
check "eval refuses a data row with \\u0000" test $? -ne 0
grep -q 'nul.jsonl:1:25: a NUL character (\\u0000)' "$tmp/nul.err" "$tmp/nul.json"
check "naming its place" test $? -eq 0
printf 'ticket_text,category\n"billing\000hacked",billing\n' >"$tmp/nul.csv"
run_eval nul_csv "$tmp/nul.csv"
grep -q 'nul.csv:2:9: a NUL character' "$tmp/nul_csv.err" "$tmp/nul_csv.json"
check "and a CSV row with a NUL byte" test $? -eq 0

# ---- NUL in a reply -----------------------------------------------------------
rs_start --inject-nul
url="http://127.0.0.1:$port/v1"
head -n 3 examples/tickets/data/dev.jsonl | sed 's/"text"/"ticket_text"/' >"$tmp/three.jsonl"
"$dspcc" eval "$prog" --data "$tmp/three.jsonl" --json --base-url "$url" --cache-dir "$tmp/nul-cache" \
    >"$tmp/reply.json" 2>"$tmp/reply.err"
check "eval refuses replies holding billing\\u0000hacked" \
    sh -c "test '$(json_key "$tmp/reply.json" failed)' = 3 && grep -q 'NUL character' '$tmp/reply.json'"
check "and caches none of them" \
    test "$(sqlite3 "$tmp/nul-cache/responses.sqlite3" 'select count(*) from responses' 2>/dev/null || echo 0)" = 0
printf 'I was charged twice\n' >"$tmp/cli_reply.txt"
run_cli cli_reply
check "the generated program refuses them too" test $? -ne 0
grep -q 'NUL character (\\u0000)' "$tmp/cli_reply.err"
check "saying why" test $? -eq 0
