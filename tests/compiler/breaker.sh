#!/bin/sh
# A run that gives up: against build/dsp-refserver (a TEST FIXTURE, not a
# language model) failing every request with one kind of fault, `dspcc
# eval` of 60 examples stops after 8 calls in a row failed the same way
# (24 for replies that do not parse), with one error saying what failed, how many requests the run sent and
# that the cache keeps what worked, and exits 1; the fixture's log shows it
# stayed within the breaker's budget: (8 + the calls in flight) x the
# attempts of a call. Mixed faults trip it by their rate; a run below the
# thresholds completes. `dspcc optimize` stops the same way and writes no
# state. Prints TAP.
set -u
: "${BUILD:=build}"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/lm_program.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
head -n 60 examples/tickets/data/dev.jsonl >"$tmp/dev.jsonl"

# 4 examples in flight, 2 attempts a call: at most (8 + 4) x 2 requests.
# Unparseable replies need 24 calls in a row; a chat reply the JSON
# fallback asks again for is not counted, only the fallback's: each call
# is two requests, at most (24 + 4) x 2.
for case in "429:8:24:HTTP 429 (rate limited)" "500:8:24:a server error (HTTP 5xx)" \
    "503:8:24:a server error (HTTP 5xx)" "badjson:8:24:a malformed reply" \
    "wrong-type:24:56:a reply that does not parse into the signature"; do
    kind=${case%%:*} rest=${case#*:}
    n=${rest%%:*} rest=${rest#*:}
    budget=${rest%%:*} said=${rest#*:}
    start --fail-rate 1 --fail-kinds "$kind" --retry-after-ms 50
    prog "b$kind.dsp" "  base_url: \"$url\"
  retries: 1"
    run "b$kind" 60 -j 4 --no-cache
    check "$kind on every request: eval stops with status 1 after $reqs requests (budget $budget), in ${ms} ms" \
        sh -c "test $rc -eq 1 && test $reqs -le $budget && test $reqs -ge 8"
    check "$kind: one error says what failed, what it cost and that --no-cache kept nothing" \
        sh -c "grep -q 'dspcc eval: stopped: $n LM calls in a row failed with $said' '$tmp/b$kind.err' &&
               grep -q 'the run sent [0-9]* HTTP requests' '$tmp/b$kind.err' &&
               grep -q 'nothing was kept (--no-cache)' '$tmp/b$kind.err' && ! grep -q 'response cache' '$tmp/b$kind.err' &&
               test \$(grep -c 'dspcc eval' '$tmp/b$kind.err') -eq 1 && ! grep -q '\"score\"' '$tmp/b$kind.json'"
done

# Faults of several kinds, none 8 in a row: the failure rate stops the run.
# One call at a time, so the calls fail in the order the fixture's seeded
# kinds were drawn (with several in flight, completion order could line up
# 8 of one kind and trip the other rule).
start --fail-rate 1 --fail-kinds 429,500,badjson --retry-after-ms 50
prog mixed.dsp "  base_url: \"$url\"
  retries: 0"
run mixed 60 -j 1 --no-cache
check "mixed faults on every request: stopped by the failure rate after $reqs requests (of 60 examples)" \
    sh -c "test $rc -eq 1 && test $reqs -le 50 && grep -q 'stopped: [0-9]* of the last [0-9]* LM calls failed' '$tmp/mixed.err'"

# Below the threshold nothing stops: 30% of requests fail, retries recover
# them; half the replies unparseable is a weak model, not a dead endpoint.
start --fail-rate 0.3 --fail-kinds 500,429 --retry-after-ms 50
prog some.dsp "  base_url: \"$url\"
  retries: 3"
run some 60 -j 4 --no-cache
check "30% failed requests with retries: the run completes and scores (exit 0)" \
    sh -c "test $rc -eq 0 && grep -q '\"score\"' '$tmp/some.json' && ! grep -q stopped '$tmp/some.err'"
start --fail-rate 0.5 --fail-kinds wrong-type --seed 5
prog weak.dsp "  base_url: \"$url\""
run weak 60 -j 4 --no-cache
check "half the replies wrong-typed: the run completes and scores (exit 0)" \
    sh -c "test $rc -eq 0 && grep -q '\"score\"' '$tmp/weak.json' && ! grep -q stopped '$tmp/weak.err'"

# add_optimize FILE: a bootstrap_fewshot block, 4 calls at once, after $tmp/FILE.
add_optimize() {
    cat >>"$tmp/$1" <<'DSP'

optimize M with bootstrap_fewshot(max_bootstrapped_demos: 2, max_labeled_demos: 4) {
  metric: accuracy
  trainset: dev
  valset: dev
  lm: m
  concurrency: 4
}
DSP
}

# optimize: the same stop, and no state from failed calls.
start --fail-rate 1 --fail-kinds 500
prog opt.dsp "  base_url: \"$url\"
  retries: 1"
add_optimize opt.dsp
n0=$(wc -l <"$tmp/log")
"$dspcc" optimize "$tmp/opt.dsp" -o "$tmp/opt.state.json" -q >"$tmp/opt.out" 2>"$tmp/opt.err"
rc=$?
reqs=$(($(wc -l <"$tmp/log") - n0))
check "optimize against a server failing every request stops with status 1 after $reqs requests" \
    sh -c "test $rc -eq 1 && test $reqs -le 24 && grep -q 'dspcc optimize: stopped: 8 LM calls in a row failed' '$tmp/opt.err'"
check "and writes no state" test ! -e "$tmp/opt.state.json"
check "and says the response cache keeps what worked" grep -q 'kept in the' "$tmp/opt.err"

# A server that accepts every request and never answers (a hung process, a
# dead endpoint behind a load balancer): one call deadline, not two, is
# what it costs. eval's first example, run alone, gets not a byte back for
# any of its requests until its deadline: the run stops there, saying the
# endpoint looks down, without a wave of other examples each waiting as long.
start --fail-rate 1 --fail-kinds hang --hang-ms 60000
prog hang.dsp "  base_url: \"$url\""
run hang 60 -j 4 --no-cache --timeout 1 --deadline 2
check "a silent endpoint: eval stops with status 1 after the first example's deadline (${ms} ms)" \
    sh -c "test $rc -eq 1 && test $ms -lt 3500"
check "saying it answered none of the first example's requests, and what to check" \
    sh -c "grep -q 'the endpoint answered none of its [0-9]* requests' '$tmp/hang.err' &&
           grep -q 'raise --timeout and --deadline if the model is that slow' '$tmp/hang.err'"
# optimize has no example alone: the calls in flight (4) each retried
# until their deadline are 8 silent requests, enough for the breaker.
add_optimize hang.dsp
t0=$(date +%s%N)
"$dspcc" optimize "$tmp/hang.dsp" -o "$tmp/hang.state.json" -q --timeout 1 --deadline 3 >"$tmp/hopt.out" 2>"$tmp/hopt.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "a silent endpoint: optimize's breaker stops it within the first calls' deadline (${ms} ms)" \
    sh -c "test $rc -eq 1 && test $ms -lt 5000 && test ! -e '$tmp/hang.state.json'"
check "saying the endpoint answered none of the requests in a row" \
    grep -q 'dspcc optimize: stopped: the endpoint answered none of [0-9]* HTTP requests in a row, over 4 LM calls' \
    "$tmp/hopt.err"
