#!/bin/sh
# make bench-refserver: starts dsp-refserver on a free port, runs wrk with
# tests/refserver/bench.lua for a few seconds and prints requests/s with
# PASS/FAIL against the 20,000 requests/s target. Always stops the server.
set -u
: "${BUILD:=build}"
: "${BENCH_SECONDS:=5}"
: "${BENCH_TARGET:=20000}"
here=$(dirname "$0")
bin="$BUILD/dsp-refserver"
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

command -v wrk >/dev/null || { echo "bench-refserver: wrk is not installed (apt-get install wrk)"; exit 1; }
"$bin" --port 0 --threads "${BENCH_THREADS:-2}" >"$tmp/port" 2>"$tmp/err" &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(head -n 1 "$tmp/port")
[ -n "$port" ] || { echo "bench-refserver: server did not start"; cat "$tmp/err"; exit 1; }

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
