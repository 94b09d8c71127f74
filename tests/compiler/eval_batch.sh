#!/bin/sh
# dspcc eval --batch against build/dsp-refserver (a TEST FIXTURE, not a
# language model) serving OpenAI's Batch API and Anthropic's Message
# Batches: the same scores as a plain eval with no chat request sent; a
# multi-step program takes one batch per step; a run killed while waiting
# resumes its batch without sending another; expired and errored requests
# are reported and sent as normal calls, as are those whose result line is
# damaged; records go once the cache holds
# the replies; a batch id quoting the API key is refused, never recorded or
# printed. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
epid=
trap '[ -n "$epid" ] && kill -9 "$epid" 2>/dev/null; rs_stop; rm -rf "$tmp"' EXIT INT TERM

export OPENAI_API_KEY=sk-test-batch-key-0123456789
export ANTHROPIC_API_KEY=sk-ant-test-batch-key-0123456789
unset DSPCC_BASE_URL DSPCC_CACHE_URL
count() { grep -c "\"method\":\"$1\",\"path\":\"$2\"" "$tmp/lm.log"; }
ev() { # NAME FILE CACHE ARGS...: an eval of 20 dev rows, --json
    n=$1 f=$2 c=$3
    shift 3
    "$dspcc" eval "$f" --data dev --limit 20 --json --base-url "$base" --cache-dir "$tmp/$c" "$@" \
        >"$tmp/$n.json" 2>"$tmp/$n.err"
}
score() { json_key "$tmp/$1.json" score; }

rs_start --log "$tmp/lm.log" --batch-delay-ms 300
base="http://127.0.0.1:$port/v1"
tickets=examples/tickets/tickets.dsp
ev plain $tickets plain-cache
check "a plain eval scores" test -n "$(score plain)"
: >"$tmp/lm.log"
ev batch $tickets batch-cache --batch --batch-poll 50
check "eval --batch succeeds" test $? = 0
check "eval --batch gives the plain eval's score" test "$(score batch)" = "$(score plain)"
check "it sent no chat request" test "$(count POST /v1/chat/completions)" = 0
check "one file upload and one batch" sh -c "test $(count POST /v1/files) = 1 && test $(count POST /v1/batches) = 1"
check "the eval itself is all cache hits" test "$(json_key "$tmp/batch.json" cache_hits)" = 20
check "progress on stderr" grep -q "batch: batch_.*(openai/gpt-4o-mini, 20 requests): completed, 20 of 20" "$tmp/batch.err"
check "the batch's record is gone once the cache holds its replies" \
    sh -c "test -d '$tmp/batch-cache/batches' && test -z \"\$(ls '$tmp/batch-cache/batches')\""
: >"$tmp/lm.log"
ev again $tickets batch-cache --batch --batch-poll 50
check "run again, it sends nothing" sh -c "test $(count POST /v1/batches) = 0 && grep -q 'nothing to send' '$tmp/again.err'"

# A program of three LM steps: a batch per step, the same score.
: >"$tmp/lm.log"
ev hop_plain examples/multihop/multihop.dsp hop-plain
ev hop examples/multihop/multihop.dsp hop-cache --batch --batch-poll 50
check "a three-step program: three rounds of batches" test "$(grep -c '^batch: round' "$tmp/hop.err")" = 3
check "with the plain eval's score" test "$(score hop)" = "$(score hop_plain)"

# Anthropic's Message Batches.
sed -e 's#"openai/gpt-4o-mini"#"anthropic/claude-3-5-haiku-latest"#' -e 's#OPENAI_API_KEY#ANTHROPIC_API_KEY#' \
    -e "s#\"data/#\"$PWD/examples/tickets/data/#" $tickets >"$tmp/anthropic.dsp"
base="http://127.0.0.1:$port"
ev an_plain "$tmp/anthropic.dsp" an-plain
: >"$tmp/lm.log"
ev an "$tmp/anthropic.dsp" an-cache --batch --batch-poll 50
check "an Anthropic message batch gives the plain eval's score" test "$(score an)" = "$(score an_plain)"
check "through /v1/messages/batches, with no message request" \
    sh -c "test $(count POST /v1/messages/batches) = 1 && test $(count POST /v1/messages) = 0"
base="http://127.0.0.1:$port/v1"

# Killed while waiting, then run again: the recorded batch is resumed.
rs_start --log "$tmp/lm.log" --batch-delay-ms 4000
base="http://127.0.0.1:$port/v1"
"$dspcc" eval $tickets --data dev --limit 20 --json --base-url "$base" --cache-dir "$tmp/kill-cache" --batch \
    --batch-poll 50 >"$tmp/killed.json" 2>"$tmp/killed.err" &
epid=$!
i=0
# The record itself (*.json), not the temporary file it is renamed from.
recorded() { ls "$tmp/kill-cache/batches/"*.json >/dev/null 2>&1; }
while [ $i -lt 300 ] && ! recorded; do sleep 0.05; i=$((i + 1)); done
kill -9 "$epid" 2>/dev/null
wait "$epid" 2>/dev/null
epid=
check "the batch was recorded before the kill" recorded
ev resumed $tickets kill-cache --batch --batch-poll 50
check "the run after the kill resumes the recorded batch" grep -q "batch: resuming batch_" "$tmp/resumed.err"
check "without sending another" sh -c "test $(count POST /v1/batches) = 1 && test $(count POST /v1/files) = 1"
check "and gives the plain eval's score" test "$(score resumed)" = "$(score plain)"

# --batch-max-wait: a batch still running at the limit stops the run (exit
# 1) within it, saying how to resume; the same command then resumes the
# recorded batch, sends nothing again, and gives the plain eval's score.
: >"$tmp/lm.log"
ev waitcap $tickets wait-cache --batch --batch-poll 50 --batch-max-wait 1s
rc=$?
# How long the run waited is what the client decided: its polls, one every
# 50 ms at least, stop within the 1 s (at most 1 s / 50 ms and the first,
# and one for rounding).
# A loaded machine only spaces them further apart, where the wall time of
# the whole run (start-up and upload included) went past any tight bound;
# waiting to the batch's end (4 s) polls 80 times, waiting 2 s 40 times.
polls=$(grep -c '"method":"GET","path":"/v1/batches/batch_' "$tmp/lm.log")
check "--batch-max-wait 1s: the run stops with exit status 1 ($rc), its polls within the limit ($polls)" \
    sh -c "test $rc = 1 && test $polls -ge 1 && test $polls -le 22"
check "saying the batch did not end within the 1 s allowed, and how to resume" \
    grep -q "batch batch_.* did not end within the 1 s allowed to wait ([a-z_]*, [0-9]* of 20 completed.*run the same command again to resume" \
    "$tmp/waitcap.err"
check "progress says how long it waits at most" grep -q "(waiting [01] s more at most)" "$tmp/waitcap.err"
ev waitcap2 $tickets wait-cache --batch --batch-poll 50
check "the same command then resumes the batch, sending nothing again" \
    sh -c "grep -q 'batch: resuming batch_' '$tmp/waitcap2.err' && test $(count POST /v1/batches) = 1 &&
           test $(count POST /v1/chat/completions) = 0"
check "with the plain eval's score" test "$(score waitcap2)" = "$(score plain)"
"$dspcc" eval $tickets --data dev --batch --batch-max-wait 2d 2>"$tmp/mw.err"
check "--batch-max-wait 2d is a usage error naming the forms it takes" \
    sh -c "test $? = 2 && grep -q 'needs a duration from 1 s to 48 h: seconds, or a number and s, m or h' '$tmp/mw.err'"
"$dspcc" eval $tickets --data dev --batch-max-wait 30m 2>"$tmp/mw2.err"
check "--batch-max-wait without --batch is a usage error" \
    sh -c "test $? = 2 && grep -q 'add --batch' '$tmp/mw2.err'"

# Expired and errored requests: reported, then sent as normal calls.
for kind in expire error; do
    label=$( [ $kind = expire ] && echo expired || echo errored )
    rs_start --log "$tmp/lm.log" --batch-delay-ms 200 --batch-$kind-rate 0.3
    base="http://127.0.0.1:$port/v1"
    : >"$tmp/lm.log"
    ev $kind $tickets $kind-cache --batch --batch-poll 50
    n=$(count POST /v1/chat/completions)
    check "$label requests: the eval still gives the plain score" test "$(score $kind)" = "$(score plain)"
    check "$label requests are sent as normal calls ($n)" sh -c "test $n -gt 0 && test $n -lt 20"
    check "and reported" grep -q "batch: batch_.*: $n requests failed in the batch .*sent as normal calls" "$tmp/$kind.err"
done
check "an expired request says so" grep -q "batch_expired" "$tmp/expire.err"

# Every request errored: all sent as normal calls, the same score.
rs_start --log "$tmp/lm.log" --batch-delay-ms 100 --batch-error-rate 1
base="http://127.0.0.1:$port/v1"
: >"$tmp/lm.log"
ev allerr $tickets allerr-cache --batch --batch-poll 50
check "a batch whose every request errored: all 20 go as normal calls, the same score" \
    sh -c "test $(count POST /v1/chat/completions) = 20 && test '$(score allerr)' = '$(score plain)'"

# A broken batch service: half the result lines damaged (cut off, or a
# reply that does not follow the API), OpenAI's and Anthropic's. Nothing of
# them is kept: those requests go as normal calls, the same score.
rs_start --log "$tmp/lm.log" --batch-delay-ms 100 --batch-garbage-rate 0.5
base="http://127.0.0.1:$port/v1"
: >"$tmp/lm.log"
ev garbage $tickets garbage-cache --batch --batch-poll 50
n=$(count POST /v1/chat/completions)
check "damaged result lines: the eval still gives the plain score" test "$(score garbage)" = "$(score plain)"
check "their requests ($n) go as normal calls, and are reported" \
    sh -c "test $n -gt 0 && test $n -lt 20 && grep -q 'batch: batch_.*: $n requests failed in the batch' '$tmp/garbage.err'"
base="http://127.0.0.1:$port"
: >"$tmp/lm.log"
ev an_garbage "$tmp/anthropic.dsp" an-garbage-cache --batch --batch-poll 50
n=$(count POST /v1/messages)
check "damaged Anthropic result lines: the plain score, $n requests as normal calls" \
    sh -c "test '$(score an_garbage)' = '$(score an_plain)' && test $n -gt 0 && test $n -lt 20"
base="http://127.0.0.1:$port/v1"

# A hostile server whose new batch's id quotes the API key: the id is
# refused, never written (the record under the cache directory would hold
# it while the run waits) nor printed, and the requests go as normal calls.
rs_start --log "$tmp/lm.log" --batch-delay-ms 1500 --echo-key batch
base="http://127.0.0.1:$port/v1"
: >"$tmp/lm.log"
"$dspcc" eval $tickets --data dev --limit 20 --json --base-url "$base" --cache-dir "$tmp/echo-cache" --batch \
    --batch-poll 50 >"$tmp/echo.json" 2>"$tmp/echo.err" &
epid=$!
leaked=0 i=0
while kill -0 "$epid" 2>/dev/null && [ $i -lt 600 ]; do
    grep -rqs 'batch-key-0123' "$tmp/echo-cache" && leaked=1
    sleep 0.05
    i=$((i + 1))
done
wait "$epid"
rc=$?
epid=
check "a batch id quoting the key is never written under the cache directory" test $leaked = 0
check "nor printed" sh -c "! grep -qs 'batch-key-0123' '$tmp/echo.json' '$tmp/echo.err' && ! grep -rqs 'batch-key-0123' '$tmp/echo-cache'"
check "the eval says why and sends the 20 requests as normal calls, with the plain score" \
    sh -c "test $rc = 0 && grep -q 'id holds the API key or a piece of it' '$tmp/echo.err' &&
           test $(count POST /v1/chat/completions) = 20 && test '$(score echo)' = '$(score plain)'"

# A hostile server's status text holding a terminal escape sequence: the
# progress lines print it with its control bytes replaced.
rs_start --log "$tmp/lm.log" --batch-delay-ms 300 --batch-escape
base="http://127.0.0.1:$port/v1"
ev escape $tickets escape-cache --batch --batch-poll 50
check "a status holding an escape sequence is printed without its control bytes, with the plain score" \
    sh -c "! grep -q \"\$(printf '\\033')\" '$tmp/escape.err' && grep -q 'in_progress?]0;dsp-refserver?' '$tmp/escape.err' &&
           test '$(score escape)' = '$(score plain)'"

# The fixture validates a batch's input as OpenAI does: a bad line fails the batch, naming it.
if command -v curl >/dev/null 2>&1; then
    printf '%s\n' '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}' \
        '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}' >"$tmp/dup.jsonl"
    fid=$(curl -s -F purpose=batch -F file=@"$tmp/dup.jsonl" "$base/files" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    curl -s -H 'Content-Type: application/json' \
        -d "{\"input_file_id\":\"$fid\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" \
        "$base/batches" >"$tmp/dup.json"
    check "the fixture fails a batch with a repeated custom_id, naming the line" \
        sh -c "grep -q '\"status\":\"failed\"' '$tmp/dup.json' && grep -q 'Line 2: the custom_id a is not unique' '$tmp/dup.json'"
else
    echo "ok - # SKIP curl is not installed: the fixture's batch validation is not checked"
fi

check "--batch with --no-cache is a usage error" sh -c \
    "'$dspcc' eval $tickets --data dev --batch --no-cache 2>'$tmp/nc.err'; test \$? = 2 && grep -q 'no-cache' '$tmp/nc.err'"

# optimize --batch: bootstrapping's teacher runs go through batches; the
# optimized program is the same (only the usage counts differ).
rs_start --log "$tmp/lm.log" --batch-delay-ms 100
base="http://127.0.0.1:$port/v1"
opt() { # NAME ARGS...
    n=$1
    shift
    "$dspcc" optimize examples/multihop/multihop.dsp --trainset-limit 8 --valset-limit 6 -q --base-url "$base" \
        --cache-dir "$tmp/$n-cache" -o "$tmp/$n.state.json" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err"
}
opt opt_plain
: >"$tmp/lm.log"
opt opt_batch --batch --batch-poll 50
check "optimize --batch succeeds" test $? = 0
check "its teacher runs went through batches" sh -c "test $(count POST /v1/batches) -ge 3"
strip() { grep -v -E '"(lm_calls|prompt_tokens|completion_tokens)"|"trial": ' "$1"; }
strip "$tmp/opt_plain.state.json" >"$tmp/a.state"
strip "$tmp/opt_batch.state.json" >"$tmp/b.state"
cmp -s "$tmp/a.state" "$tmp/b.state"
check "and it chose the program a plain optimize chooses" test $? = 0
