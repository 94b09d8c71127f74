#!/bin/sh
# Only replies that parsed are cached. Against build/dsp-refserver (a TEST
# FIXTURE, not a language model): a run whose fixture answers half the
# requests with a wrong-typed field fails some examples; the next run,
# against a healthy fixture, asks for those again (counted in the fixture's
# log) and succeeds, and the run after that is all cache hits. A cache
# written before replies were checked (rows that do not parse) heals on
# read: each such row is a miss, asked for again and replaced. The same
# holds for `dspcc eval` and for a generated program. Prints TAP.
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
# rs_restart ARGS...: the fixture again on the same port, since the base
# URL is part of each cache key (rs_start would take a new free port).
rs_restart() {
    rs_port=$port
    rs_stop
    rs_i=0
    while [ $rs_i -lt 50 ]; do
        : >"$tmp/port"
        "$BUILD/dsp-refserver" --port "$rs_port" "$@" >"$tmp/port" 2>"$tmp/server.err" &
        pid=$!
        rs_j=0
        while [ ! -s "$tmp/port" ] && kill -0 "$pid" 2>/dev/null && [ $rs_j -lt 100 ]; do sleep 0.05; rs_j=$((rs_j + 1)); done
        [ -s "$tmp/port" ] && break
        rs_stop
        sleep 0.1
        rs_i=$((rs_i + 1))
    done
    port=$(head -n 1 "$tmp/port")
}
chat_requests() { cat "$1" 2>/dev/null | grep -c '"path":"/v1/chat/completions"'; }

# ---- dspcc eval --------------------------------------------------------
rs_start --seed 5 --fail-rate 0.5 --fail-kinds wrong-type --log "$tmp/poisoned.log"
check "the fixture started with wrong-typed replies" test -n "$port"
eval_run() { # NAME: an eval of 30 dev rows into $tmp/NAME.json
    "$dspcc" eval "$prog" --data dev --limit 30 --json --base-url "http://127.0.0.1:$port/v1" \
        --cache-dir "$tmp/cache" >"$tmp/$1.json" 2>"$tmp/$1.err"
}
eval_run poisoned
failed=$(json_key "$tmp/poisoned.json" failed)
check "wrong-typed replies fail some examples" test "${failed:-0}" -gt 0

rs_restart --seed 5 --log "$tmp/healthy.log"
eval_run healthy
check "against a healthy fixture no example fails" test "$(json_key "$tmp/healthy.json" failed)" = 0
asked=$(json_key "$tmp/healthy.json" http_requests)
check "the replies that did not parse are asked for again" test "${asked:-0}" -gt 0
check "the fixture's log counts the same requests" test "$(chat_requests "$tmp/healthy.log")" = "$asked"
check "replies that parsed are not asked for again" test "$asked" -lt 30

eval_run again
check "the run after is all cache hits" \
    sh -c "test '$(json_key "$tmp/again.json" http_requests)' = 0 && test '$(json_key "$tmp/again.json" cache_hits)' = 30"
check "and scores the same" test "$(json_key "$tmp/again.json" score)" = "$(json_key "$tmp/healthy.json" score)"

# A cache from before replies were checked: every row's reply is garbage.
db="$tmp/cache/responses.sqlite3"
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 "$db" "UPDATE responses SET value = '{\"choices\":[\"not the format\"],\"usage\":{}}'"
    : >"$tmp/healthy.log"
    eval_run healed
    check "rows that do not parse are misses, asked for again" \
        sh -c "test '$(json_key "$tmp/healed.json" http_requests)' = 30 && test '$(chat_requests "$tmp/healthy.log")' = 30"
    check "and the run succeeds" test "$(json_key "$tmp/healed.json" failed)" = 0
    eval_run after_heal
    check "the bad rows were replaced" test "$(json_key "$tmp/after_heal.json" cache_hits)" = 30
else
    echo "ok - # SKIP sqlite3 (the command) is not installed: the healing of old rows is not tested"
fi

# ---- a generated program -------------------------------------------------
build_ticket_cli "$tmp"
head -n 30 examples/tickets/data/dev.jsonl | sed 's/.*"text": *"\([^"]*\)".*/\1/' >"$tmp/tickets.txt"
cli_run() { # NAME
    DSPCC_BASE_URL="http://127.0.0.1:$port/v1" DSPCC_CACHE_DIR="$tmp/cli-cache" \
        "$tmp/ticket_cli" <"$tmp/tickets.txt" >"$tmp/$1.out" 2>"$tmp/$1.err"
}
rs_start --seed 5 --fail-rate 0.5 --fail-kinds wrong-type
cli_run cli_poisoned
check "the generated program fails some lines on wrong-typed replies" test -s "$tmp/cli_poisoned.err"
rs_restart --seed 5 --log "$tmp/cli_healthy.log"
cli_run cli_healthy
check "against a healthy fixture the generated program succeeds on every line" test $? -eq 0
n=$(chat_requests "$tmp/cli_healthy.log")
check "it asked again for the replies that did not parse, and only those" sh -c "test $n -gt 0 && test $n -lt 30"
: >"$tmp/cli_healthy.log"
cli_run cli_again
check "its next run is answered from the cache" test "$(chat_requests "$tmp/cli_healthy.log")" = 0
cmp -s "$tmp/cli_healthy.out" "$tmp/cli_again.out"
check "with the same answers" test $? -eq 0
