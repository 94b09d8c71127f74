#!/bin/sh
# make bench-refserver: starts dsp-refserver on a free port, runs wrk with
# tests/refserver/bench.lua for a few seconds and prints requests/s with
# PASS/FAIL against the 20,000 requests/s target. Always stops the server.
set -u
: "${BUILD:=build}"
: "${BENCH_SECONDS:=5}"
: "${BENCH_TARGET:=20000}"
here=$(dirname "$0")
tmp=$(mktemp -d)
. "$here/../support/refserver.sh"
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

command -v wrk >/dev/null || { echo "bench-refserver: wrk is not installed (apt-get install wrk)"; exit 1; }
rs_start --threads "${BENCH_THREADS:-2}"
[ -n "$port" ] || { echo "bench-refserver: server did not start"; cat "$tmp/server.err"; exit 1; }

wrk -t2 -c64 -d"${BENCH_SECONDS}s" -s "$here/bench.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$tmp/wrk" 2>&1
cat "$tmp/wrk"
rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
errs=$(sed -n 's/^refserver-bench: requests=[0-9]* errors=\([0-9]*\).*/\1/p' "$tmp/wrk")
[ -n "$rps" ] || { echo "bench-refserver: wrk gave no figure"; exit 1; }
verdict=FAIL
if [ "${errs:-1}" -eq 0 ] && awk -v r="$rps" -v t="$BENCH_TARGET" 'BEGIN { exit !(r >= t) }'; then
    verdict=PASS
fi
printf 'dsp-refserver: %.0f requests/s (target %s, errors %s): %s\n' "$rps" "$BENCH_TARGET" "${errs:-?}" "$verdict"
[ "$verdict" = PASS ]
