#!/bin/sh
# make bench-runtime, tiny (100 calls, 4 rounds, no callgrind): the client
# bench keeps building against the runtime's API and runs every path,
# the cache-on one included. Timings are not asserted (they are make
# bench's figures, not pass/fail).
set -u
: "${BUILD:=build}"
out=$(BENCH_NO_IR=1 BUILD="$BUILD" sh tests/bench/bench_runtime.sh --calls 100 --rounds 4 --inflight 4 2>&1)
rc=$?
echo "$out"
if [ $rc -eq 0 ]; then echo "ok - bench-runtime runs"; else echo "not ok - bench-runtime runs (exit $rc)"; fi
if echo "$out" | grep -Eq '^client CPU ratio \(median of rounds\): dsp_chat [0-9.]+x, dsp_predict [0-9.]+x$'; then
    echo "ok - bench-runtime prints the client CPU ratios"
else
    echo "not ok - bench-runtime prints the client CPU ratios"
fi
for mode in plain plain-curlu bare chat predict predict-cache; do
    out=$(BENCH_NO_IR=1 BUILD="$BUILD" sh tests/bench/bench_runtime.sh --calls 100 --only "$mode" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok - bench-runtime --only $mode runs"
    else
        echo "$out"
        echo "not ok - bench-runtime --only $mode runs (exit $rc)"
    fi
done
