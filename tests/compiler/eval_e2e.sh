#!/bin/sh
# `dspcc eval` end to end against build/dsp-refserver (a TEST FIXTURE, not a
# language model) on 127.0.0.1: the ticket classifier on the first 40 dev
# rows gives a JSON summary whose numbers add up; a second run is answered
# entirely from the cache with the same score; with injected faults
# (500s and malformed JSON, no retries) every example still gets a result
# and the failures are counted and listed. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
prog=examples/tickets/tickets.dsp
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

start_server() { rs_start --seed 3 "$@"; }

# The program reads its key from OPENAI_API_KEY; the fixture ignores it.
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

start_server
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

"$dspcc" eval "$prog" --data dev --limit 40 --json --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/run1.json" 2>"$tmp/run1.err"
rc=$?
check "eval --json exits 0" test "$rc" -eq 0
score=$(json_key "$tmp/run1.json" score)
check "the summary has a score in [0, 1]" awk -v s="$score" 'BEGIN { exit !(s != "" && s >= 0 && s <= 1) }'
check "it ran 40 examples" test "$(json_key "$tmp/run1.json" n)" = 40
check "no example failed" test "$(json_key "$tmp/run1.json" failed)" = 0
check "one LM call per example, none cached" \
    sh -c "test '$(json_key "$tmp/run1.json" lm_calls)' = 40 && test '$(json_key "$tmp/run1.json" cache_hits)' = 0"
check "tokens are counted" awk -v t="$(json_key "$tmp/run1.json" prompt_tokens)" 'BEGIN { exit !(t > 0) }'
check "the classifier does better than never answering" awk -v s="$score" 'BEGIN { exit !(s > 0.05) }'

"$dspcc" eval "$prog" --data dev --limit 40 --json --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/run2.json" 2>"$tmp/run2.err"
check "a second run is all cache hits" \
    sh -c "test '$(json_key "$tmp/run2.json" cache_hits)' = 40 && test '$(json_key "$tmp/run2.json" http_requests)' = 0"
check "a cached run scores the same" test "$(json_key "$tmp/run2.json" score)" = "$score"

# The table for people: score, failures, calls.
"$dspcc" eval "$prog" --data dev --limit 40 --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/table.txt" 2>&1
check "the text report shows the score and the cache hits" \
    sh -c "grep -q '^score ' '$tmp/table.txt' && grep -q 'cache hits 40' '$tmp/table.txt'"

# A data file given by path, columns named like the module's fields.
head -n 5 examples/tickets/data/dev.jsonl | sed 's/"text"/"ticket_text"/' >"$tmp/five.jsonl"
"$dspcc" eval "$prog" --data "$tmp/five.jsonl" --json --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/five.json" 2>"$tmp/five.err"
check "--data takes a .jsonl path" test "$(json_key "$tmp/five.json" n)" = 5

# An optimized state (written by hand here: label hints in the instructions
# and one labelled demo per queue) changes the prompt, and the fixture
# server, which learns in context, answers better with it.
"$dspcc" eval "$prog" --data dev --limit 40 --json --state tests/compiler/fixtures/tickets.state.json \
    --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/state.json" 2>"$tmp/state.err"
rc=$?
check "eval --state exits 0" test "$rc" -eq 0
check "the state's demos and instructions are used (score rises by 0.1 or more)" \
    awk -v a="$(json_key "$tmp/state.json" score)" -v b="$score" 'BEGIN { exit !(a >= b + 0.1) }'
check "the state's prompts are new to the cache" test "$(json_key "$tmp/state.json" cache_hits)" = 0
sed 's/ticket_text/text/g' tests/compiler/fixtures/tickets.state.json >"$tmp/stale.json"
"$dspcc" eval "$prog" --data dev --limit 4 --state "$tmp/stale.json" --base-url "$url" \
    --cache-dir "$tmp/cache" >/dev/null 2>"$tmp/stale.err"
rc=$?
check "a state whose demo fields do not match the program is refused" \
    sh -c "test $rc -eq 1 && grep -q 'TicketClassifier.r' '$tmp/stale.err'"

# What the optimizer measured is what eval measures: the state written by
# `dspcc optimize` (a small bootstrap_fewshot) scores its final_score again,
# every call from the cache, because the prompts are byte for byte the same.
mkdir -p "$tmp/opt"
cp -r examples/tickets/data "$tmp/opt/"
sed 's/mipro(auto: light)/bootstrap_fewshot(max_bootstrapped_demos: 2, max_labeled_demos: 4)/' "$prog" >"$tmp/opt/b.dsp"
"$dspcc" optimize "$tmp/opt/b.dsp" -o "$tmp/opt/b.state.json" --trainset-limit 30 --valset-limit 40 -q \
    --base-url "$url" --cache-dir "$tmp/cache" >/dev/null 2>"$tmp/opt/err"
rc=$?
check "dspcc optimize wrote a state" sh -c "test $rc -eq 0 && test -s '$tmp/opt/b.state.json'"
final=$(json_key "$tmp/opt/b.state.json" final_score)
"$dspcc" eval "$tmp/opt/b.dsp" --data dev --limit 40 --json --state "$tmp/opt/b.state.json" \
    --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/opt/eval.json" 2>"$tmp/opt/eval.err"
check "eval --state reproduces the optimizer's final score" \
    awk -v a="$(json_key "$tmp/opt/eval.json" score)" -v b="$final" 'BEGIN { exit !(a != "" && a - b < 1e-9 && b - a < 1e-9) }'
check "and every call is a cache hit (the same prompts)" test "$(json_key "$tmp/opt/eval.json" cache_hits)" = 40

# An LM judge as the metric: one more call per example, through the same
# client (and the same fixture server).
mkdir -p "$tmp/judge"
cp -r examples/tickets/data "$tmp/judge/"
sed 's/^metric accuracy(ex, pred) = .*/signature Grade "Is the predicted queue the gold queue?" { in predicted: string in gold: string out correct: bool }\
metric accuracy(ex, pred) = judge(Grade)(predicted: pred.category, gold: ex.category).correct/' "$prog" >"$tmp/judge/j.dsp"
"$dspcc" eval "$tmp/judge/j.dsp" --data dev --limit 20 --json --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/judge.json" 2>"$tmp/judge.err"
check "a judge metric runs: two LM calls per example, none failed" \
    sh -c "test '$(json_key "$tmp/judge.json" lm_calls)' = 40 && test '$(json_key "$tmp/judge.json" failed)' = 0"
check "a judge metric scores in [0, 1]" \
    awk -v s="$(json_key "$tmp/judge.json" score)" 'BEGIN { exit !(s != "" && s >= 0 && s <= 1) }'

# Faults: 30% of the requests get a 500 or malformed JSON, and no retries.
start_server --fail-rate 0.3 --fail-kinds 500,badjson
url="http://127.0.0.1:$port/v1"
"$dspcc" eval "$prog" --data dev --limit 40 --json --retries 0 --base-url "$url" --cache-dir "$tmp/cache2" \
    >"$tmp/fault.json" 2>"$tmp/fault.err"
rc=$?
check "a run with injected faults completes (exit 0)" test "$rc" -eq 0
failed=$(json_key "$tmp/fault.json" failed)
check "it still reports all 40 examples" test "$(json_key "$tmp/fault.json" n)" = 40
check "the failures are counted (some, not all)" awk -v f="$failed" 'BEGIN { exit !(f > 0 && f < 40) }'
check "each failure is listed with its error" \
    sh -c "test \$(grep -c '\"status\":' '$tmp/fault.json') -eq '$failed'"
check "failures score 0: the score drops" \
    awk -v a="$(json_key "$tmp/fault.json" score)" -v b="$score" 'BEGIN { exit !(a < b) }'

# A hostile server's error message holds terminal escape sequences (clear
# the screen, retitle the terminal, a CR to overwrite the line): the error
# dspcc prints quotes it with each control byte as '?'.
start_server --fail-rate 1 --fail-kinds escape
url="http://127.0.0.1:$port/v1"
"$dspcc" eval "$prog" --data dev --limit 3 --retries 0 --base-url "$url" --no-cache >"$tmp/esc.out" 2>"$tmp/esc.err"
check "an error message with escape sequences: the run fails, quoting it" \
    grep -qF 'server_error: ?[2J?]0;dsp-refserver??injected by dsp-refserver --fail-kinds escape' "$tmp/esc.err"
check "no control byte but newlines reaches the terminal" \
    sh -c "! LC_ALL=C grep -q \"\$(printf '[\\001-\\010\\013-\\037\\177]')\" '$tmp/esc.err' '$tmp/esc.out'"

# Usage errors.
"$dspcc" eval "$prog" >/dev/null 2>&1
check "eval without --data is a usage error (2)" test $? -eq 2
"$dspcc" eval "$prog" --data nosuch --base-url "$url" >/dev/null 2>"$tmp/nosuch.err"
rc=$?
check "an unknown data set is an error naming it" sh -c "test $rc -eq 1 && grep -q 'nosuch' '$tmp/nosuch.err'"

# `adapter: json` on the lm: one JSON request per example with the schema
# sent as response_format (strict), parsed as JSON; it classifies as well.
start_server --seed 3
url="http://127.0.0.1:$port/v1"
mkdir -p "$tmp/json"
cp -r examples/tickets/data "$tmp/json/"
sed 's/^  max_tokens: 512$/  max_tokens: 512\n  adapter: json/' "$prog" >"$tmp/json/tickets.dsp"
"$dspcc" eval "$tmp/json/tickets.dsp" --data dev --limit 20 --json --base-url "$url" --no-cache \
    >"$tmp/json.json" 2>"$tmp/json.err"
check "eval with adapter: json exits 0" test $? -eq 0
check "adapter: json: every example answered, one call each" \
    sh -c "test '$(json_key "$tmp/json.json" failed)' = 0 && test '$(json_key "$tmp/json.json" lm_calls)' = 20"
check "adapter: json classifies too" awk -v s="$(json_key "$tmp/json.json" score)" 'BEGIN { exit !(s > 0.05) }'

# `adapter: json` on one call: that call sends response_format, the
# generated C bakes the choice into that predictor's lm config.
: >"$tmp/call.log"
start_server --seed 3 --log "$tmp/call.log"
url="http://127.0.0.1:$port/v1"
sed 's/chain_of_thought(ClassifyTicket)(/chain_of_thought(ClassifyTicket, adapter: json)(/' "$prog" >"$tmp/json/call.dsp"
"$dspcc" eval "$tmp/json/call.dsp" --data dev --limit 5 --json --base-url "$url" --no-cache \
    >"$tmp/call.json" 2>"$tmp/call.err"
check "a call with adapter: json runs" test $? -eq 0
check "adapter: json on the call: each of its requests carries the schema, strict" \
    sh -c "test \$(grep -c '\\\\\"strict\\\\\":true' '$tmp/call.log') -eq 5"
"$dspcc" build "$tmp/json/call.dsp" --no-opt -o "$tmp/call.c" 2>/dev/null
check "the generated C bakes the call's adapter in" grep -q '\.adapter = DSP_ADAPTER_JSON' "$tmp/call.c"
"$dspcc" build "$prog" --no-opt -o "$tmp/plain.c" 2>/dev/null
check "without it, the chat adapter" grep -q '\.adapter = DSP_ADAPTER_CHAT' "$tmp/plain.c"
rs_stop
