#!/bin/sh
# make bench-runtime: runs the libdsprt client benchmark against a
# zero-latency build/dsp-refserver on 127.0.0.1 (or, until the refserver is
# built, against the bench's own stub). Prints figures; asserts nothing.
set -u
: "${BUILD:=build}"
bench="$BUILD/bench/bench_client"
server="$BUILD/dsp-refserver"
if [ ! -x "$server" ]; then
    echo "note: $server not built; measuring against the bench's own stub server"
    exec "$bench" "$@"
fi
out=$(mktemp)
"$server" --port 0 >"$out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$out"' EXIT INT TERM
port=""
i=0
while [ $i -lt 100 ]; do
    port=$(head -n 1 "$out" 2>/dev/null | tr -dc '0-9')
    [ -n "$port" ] && break
    sleep 0.05
    i=$((i + 1))
done
if [ -z "$port" ]; then
    echo "bench: $server printed no port" >&2
    exit 1
fi
"$bench" --url "http://127.0.0.1:$port/v1" "$@"
