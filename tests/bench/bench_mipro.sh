#!/bin/sh
# make bench-mipro: `dspcc optimize` with mipro(auto: light) on the ticket
# classifier (BENCH_MIPRO_TRAIN / BENCH_MIPRO_VAL rows) at -j BENCH_MIPRO_J
# against build/dsp-refserver (a TEST FIXTURE, not a language model) that
# waits BENCH_MIPRO_LATENCY_MS before each reply, with a cold cache; its wall
# time against the concurrency bound (issue 18's target: <= 1.5x):
#
#   bound = LM calls x latency / J  +  sequential steps x latency
#
# The sequential steps are the ones no concurrency can overlap, named in the
# output: each search trial waits for the one before (the search picks the
# next configuration from the scores so far) and takes ceil(examples / J)
# rounds of calls; the per-class report at the end is one more evaluation;
# the instruction proposals wait for the demo sets they are grounded on
# (one round), and the demo sets take at least one round of teacher calls.
# With more valset rows than the preset searches on (BENCH_MIPRO_VALS'
# 130: light searches on 100), the unoptimized program and the top 3 are
# then scored on every row, all four at once: one step of
# ceil(their examples / J) rounds. Prints figures; asserts nothing.
#
#   BENCH_MIPRO_LATENCY_MS  the fixture's latency (default 50)
#   BENCH_MIPRO_J           -j (default 64)
#   BENCH_MIPRO_TRAIN       training rows (default 60)
#   BENCH_MIPRO_VALS        valset rows, one run each (default "60 130")
set -u
: "${BUILD:=build}"
: "${BENCH_MIPRO_LATENCY_MS:=50}"
: "${BENCH_MIPRO_J:=64}"
: "${BENCH_MIPRO_TRAIN:=60}"
: "${BENCH_MIPRO_VALS:=60 130}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

here=$(pwd)
ln -s "$here/examples/tickets/data" "$tmp/data"
cp examples/tickets/tickets.dsp "$tmp/tickets.dsp"
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

rs_start --threads 4 --latency-ms "$BENCH_MIPRO_LATENCY_MS"
if [ -z "$port" ]; then
    echo "bench: $BUILD/dsp-refserver printed no port" >&2
    exit 1
fi

for BENCH_MIPRO_VAL in $BENCH_MIPRO_VALS; do
    rm -rf "$tmp/cache" "$tmp/state.json"
    t0=$(date +%s%N)
    "$dspcc" optimize "$tmp/tickets.dsp" -o "$tmp/state.json" --base-url "http://127.0.0.1:$port/v1" \
        --trainset-limit "$BENCH_MIPRO_TRAIN" --valset-limit "$BENCH_MIPRO_VAL" -j "$BENCH_MIPRO_J" \
        --cache-dir "$tmp/cache" --quiet >"$tmp/out" 2>"$tmp/err" || {
        echo "bench: dspcc optimize failed:" >&2
        tail -n 5 "$tmp/err" >&2
        exit 1
    }
    t1=$(date +%s%N)
    calls=$(sed -n 's/.*lm calls \([0-9]*\) (cache hits.*/\1/p' "$tmp/out" | head -n 1)
    if [ -z "$calls" ]; then
        echo "bench: no call count in dspcc optimize's summary" >&2
        exit 1
    fi
    examples_of() { grep '"trial":' "$tmp/state.json" | grep "$@" 'on the whole valset' |
        grep -o '"examples": [0-9]*' | sed 's/.*: //' | tr '\n' ' '; }
    trial_examples=$(examples_of -v)
    rescore_examples=$(examples_of)
    awk -v ms="$(( (t1 - t0) / 1000000 ))" -v calls="$calls" -v lat="$BENCH_MIPRO_LATENCY_MS" -v j="$BENCH_MIPRO_J" \
        -v val="$BENCH_MIPRO_VAL" -v train="$BENCH_MIPRO_TRAIN" -v ex="$trial_examples" -v rex="$rescore_examples" 'BEGIN {
        n = split(ex, e, " ")
        rounds = 0
        in_trials = 0
        for (i = 1; i <= n; i++) {
            rounds += int((e[i] + j - 1) / j)
            in_trials += e[i]
        }
        k = split(rex, re, " ")
        together = 0
        for (i = 1; i <= k; i++) together += re[i]
        rescore = int((together + j - 1) / j)
        in_trials += together
        report = int((val + j - 1) / j)
        seq = rounds + rescore + report + 2
        rest = calls - in_trials - val
        if (rest < 0) rest = 0
        bound = rest * lat / j + seq * lat
        printf "mipro(auto: light), tickets %d train / %d dev rows, -j %d, fixture latency %d ms, cold cache:\n", train, val, j, lat
        printf "wall:                  %6d ms (%d LM calls)\n", ms, calls
        printf "concurrency bound:     %6.0f ms = %d other calls x %d ms / %d + %d sequential steps x %d ms\n", bound, rest, lat, j, seq, lat
        printf "  sequential steps: %d search trials (%d calls) in %d rounds, each waiting for the one before;\n", n, in_trials - together, rounds
        if (k) printf "  the final rescoring: %d programs on all %d rows at once (%d calls, %d %s);\n", k, val, together, rescore, rescore == 1 ? "round" : "rounds"
        printf "  the per-class report (%d calls, %d %s); the proposals (1 round, after the demo sets);\n", val, report, report == 1 ? "round" : "rounds"
        printf "  the demo sets (at least 1 round of teacher calls)\n"
        r = ms / bound
        printf "wall / bound:          %6.2fx (target <= 1.5x: %s)\n", r, r <= 1.5 ? "PASS" : "FAIL"
    }'
done
