#!/bin/sh
# make bench-inflight, tiny (16 and 32 in flight, 2 rounds, one run each, 3
# cold starts):
# the bench builds and runs, and prints its ratios. Timings are not
# asserted (they are make bench's figures, not pass/fail).
set -u
: "${BUILD:=build}"
out=$(BENCH_INFLIGHT="16 32" BENCH_ROUNDS=2 BENCH_LATENCY_MS=5 BENCH_COLD_RUNS=3 BENCH_REPEAT=1 BENCH_NO_IR=1 BUILD="$BUILD" \
    sh tests/bench/bench_inflight.sh 2>&1)
rc=$?
echo "$out"
if [ $rc -eq 0 ]; then echo "ok - bench-inflight runs"; else echo "not ok - bench-inflight runs (exit $rc)"; fi
if echo "$out" | grep -Eq '^32 +64 +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x +[0-9.]+x +[0-9.]+x +[0-9]+$'; then
    echo "ok - bench-inflight prints wall, RSS and CPU ratios per in-flight count"
else
    echo "not ok - bench-inflight prints wall, RSS and CPU ratios per in-flight count"
fi
if echo "$out" | grep -q '^  ratio: .*x wall .*x RSS'; then
    echo "ok - bench-inflight prints the cold-start ratios against curl"
else
    echo "not ok - bench-inflight prints the cold-start ratios against curl"
fi
