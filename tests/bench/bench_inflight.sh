#!/bin/sh
# make bench-inflight: the event loop under load, and a cold start.
#
# 1. Requests in flight: the tickets example's generated run_batch
#    (bench_inflight.c) against a plain libcurl multi loop (bench_raw_multi.c)
#    sending the same request body, at each of BENCH_INFLIGHT requests in
#    flight, BENCH_ROUNDS x that many requests in all, against
#    build/dsp-refserver (the FIXTURE) at BENCH_LATENCY_MS of latency per
#    reply. The raw loop waits as the event loop does (epoll and
#    curl_multi_socket_action) and runs twice: with its transfers spread
#    over multi handles of BENCH_PER_MULTI each, as libdsprt spreads its
#    own (the ratios are against this one: what the runtime adds to
#    libcurl), and with all of them on one multi handle (the loop most
#    code writes, printed below it: libcurl 7.88 walks a multi handle's
#    connection cache per transfer, so it slows as the count grows). Each
#    client runs BENCH_REPEAT times, interleaved (the raw loops first);
#    prints the median wall time, peak RSS and CPU of each and the ratios
#    of the medians (issue 18's targets: wall <= 1.15x, RSS <= 1.5x), and
#    the requests the generated program sent again.
# 2. Cold start, one call: the generated ticket_cli (cache on, as shipped,
#    in an empty cache directory each run) against the curl command line
#    tool POSTing the same body, taking turns run by run; medians of
#    BENCH_COLD_RUNS runs of each and of their ratios
#    (target: wall and peak RSS <= 1.2x), and the instructions of one run of
#    each under callgrind, which do not swing with the machine's load.
#
# Figures and ratios only: nothing is asserted on them (exit status 0
# unless a program failed). Each connection is a file descriptor: the
# largest in-flight count needs `ulimit -n` of at least that plus 256; the
# script raises the soft limit when the hard limit allows, and otherwise
# skips the counts it cannot run, saying so.
#
#   BENCH_INFLIGHT    in-flight counts (default "1024 4096")
#   BENCH_ROUNDS      requests per in-flight slot (default 4)
#   BENCH_LATENCY_MS  the fixture's latency (default 50)
#   BENCH_COLD_RUNS   runs of each cold start (default 21)
#   BENCH_THREADS     the fixture's worker threads (default 2)
#   BENCH_REPEAT      runs of each client per in-flight count (default 3)
#   BENCH_NO_IR=1     skip the cold starts' instruction counts (valgrind)
#   BENCH_PER_MULTI   transfers per multi handle of the raw loop (default 64,
#                     libdsprt's; 0: one multi handle)
set -u
: "${BUILD:=build}"
: "${BENCH_INFLIGHT:=1024 4096}"
: "${BENCH_ROUNDS:=4}"
: "${BENCH_LATENCY_MS:=50}"
: "${BENCH_COLD_RUNS:=21}"
: "${BENCH_THREADS:=2}"
: "${BENCH_REPEAT:=3}"
: "${BENCH_PER_MULTI:=64}"
tmp=$(mktemp -d)
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

. tests/support/rt_link.sh

max=0
for n in $BENCH_INFLIGHT; do [ "$n" -gt "$max" ] && max=$n; done
need=$((max + 256))
have=$(ulimit -n)
if [ "$have" != unlimited ] && [ "$have" -lt "$need" ]; then
    ulimit -n "$need" 2>/dev/null || true
    have=$(ulimit -n)
fi
echo "file descriptors: ulimit -n is $have (the largest count, $max in flight, needs $need)"

start_fixture() { # extra arguments for the fixture; sets url
    rs_start --threads "$BENCH_THREADS" --max-connections "$need" "$@"
    if [ -z "$port" ]; then
        echo "bench: $BUILD/dsp-refserver printed no port" >&2
        cat "$tmp/server.err" >&2
        exit 1
    fi
    url="http://127.0.0.1:$port/v1"
}
stop_fixture() { rs_stop; }

# The generated program and its drivers.
"$BUILD/dspcc" build examples/tickets/tickets.dsp --no-opt -o "$tmp/tickets.c" || exit 1
# shellcheck disable=SC2086 # RT_SAN and RT_LIBS are word lists
cc -std=c17 -D_DEFAULT_SOURCE -O2 $RT_SAN -Iruntime/include -I"$tmp" -o "$tmp/bench_inflight" \
    tests/bench/bench_inflight.c "$tmp/tickets.c" "$BUILD/libdsprt.a" $RT_LIBS || exit 1
# shellcheck disable=SC2086
cc -std=c17 -D_DEFAULT_SOURCE -O2 $RT_SAN -Iruntime/include -I"$tmp" -o "$tmp/ticket_cli" \
    examples/tickets/ticket_cli.c "$tmp/tickets.c" "$BUILD/libdsprt.a" $RT_LIBS || exit 1
raw="$BUILD/bench/bench_raw_multi"
spawn="$BUILD/bench/bench_spawn"
ticket="My invoice shows a charge I do not recognise; please refund it."

# The body the generated program sends, from the fixture's log: the raw
# loop and curl send exactly these bytes.
start_fixture --log "$tmp/log.jsonl"
"$tmp/bench_inflight" "$url" 1 1 "$ticket" >/dev/null || { echo "bench: the generated program failed" >&2; exit 1; }
stop_fixture
jq -j 'select(.in_flight != null) | .request' "$tmp/log.jsonl" | head -c 1000000 >"$tmp/body.json"
if [ ! -s "$tmp/body.json" ]; then
    echo "bench: no request body in the fixture's log" >&2
    exit 1
fi

echo "requests in flight, against the fixture at ${BENCH_LATENCY_MS} ms latency ($BENCH_THREADS server threads),"
echo "$BENCH_ROUNDS requests per slot; medians of $BENCH_REPEAT interleaved runs of each client process; raw: the"
echo "raw loop on multi handles of $BENCH_PER_MULTI transfers each (below each row: on one multi handle):"
printf '%-9s %-9s %11s %11s %12s %12s %10s %10s %7s %7s %7s %7s\n' "in flight" requests "raw wall s" "dsp wall s" \
    "raw RSS KiB" "dsp RSS KiB" "raw CPU s" "dsp CPU s" "wall x" "RSS x" "CPU x" retries
start_fixture --latency-ms "$BENCH_LATENCY_MS"
for n in $BENCH_INFLIGHT; do
    if [ "$have" != unlimited ] && [ "$have" -lt $((n + 256)) ]; then
        echo "$n in flight: skipped, ulimit -n is $have (needs $((n + 256)))"
        continue
    fi
    total=$((n * BENCH_ROUNDS))
    # Interleaved, the raw loops first; each figure from its own process.
    : >"$tmp/runs"
    i=0
    while [ "$i" -lt "$BENCH_REPEAT" ]; do
        r1=$("$raw" "$url/chat/completions" "$tmp/body.json" "$n" "$total" 0) ||
            { echo "bench: raw loop failed: $r1" >&2; exit 1; }
        r=$("$raw" "$url/chat/completions" "$tmp/body.json" "$n" "$total" "$BENCH_PER_MULTI") ||
            { echo "bench: raw loop failed: $r" >&2; exit 1; }
        d=$("$tmp/bench_inflight" "$url" "$n" "$total" "$ticket") || { echo "bench: generated batch failed: $d" >&2; exit 1; }
        echo "$r $d $r1" >>"$tmp/runs"
        i=$((i + 1))
    done
    awk -v n="$n" -v t="$total" '
        function median(a, k,    i, j, x) {
            for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        { k++; rw[k] = $2; rr[k] = $4; rc[k] = $8; dw[k] = $10; dr[k] = $12; dc[k] = $16; retries += $18
          ow[k] = $20; os[k] = $22; oc[k] = $26 }
        END {
            w1 = median(rw, k); w2 = median(dw, k); r1 = median(rr, k); r2 = median(dr, k); c1 = median(rc, k); c2 = median(dc, k)
            printf "%-9d %-9d %11.3f %11.3f %12d %12d %10.3f %10.3f %6.2fx %6.2fx %6.2fx %7d\n", n, t, w1, w2, r1, r2, c1, c2,
                w2 / w1, r2 / r1, c2 / c1, retries
            w0 = median(ow, k); r0 = median(os, k); c0 = median(oc, k)
            printf "  raw on one multi handle: %.3f s wall, %d KiB, %.3f s CPU; dsp against it: %.2fx wall, %.2fx RSS, %.2fx CPU\n",
                w0, r0, c0, w2 / w0, r2 / r0, c2 / c0
        }' "$tmp/runs"
done
stop_fixture
echo "targets: wall <= 1.15x, RSS <= 1.5x (issue 18); both clients wait with epoll (curl_multi_socket_action);"
echo "retries: requests the generated program sent again (refused or reset connections of a loaded fixture),"
echo "which the raw loop does not"

# Cold start: one call, a fresh process each run. The three commands take
# turns run by run (the order rotated each round), so a burst of load from
# other processes falls on all of them alike; the figures are the medians
# of the runs and of the per-run ratios.
start_fixture
printf '%s\n' "$ticket" >"$tmp/one.txt"
: >"$tmp/cold.txt"
r=0
while [ "$r" -lt "$BENCH_COLD_RUNS" ]; do
    for k in 0 1 2; do
        case $(((k + r) % 3)) in
        0) x=$("$spawn" -e "DSPCC_BASE_URL=$url" -e "DSPCC_CACHE_DIR=$tmp/cache.$r" 1 "$tmp/one.txt" \
            "$tmp/ticket_cli") || exit 1
           c=$x ;;
        1) x=$("$spawn" 1 - curl -sS -o /dev/null -X POST -H "Content-Type: application/json" \
            --data-binary "@$tmp/body.json" "$url/chat/completions") || exit 1
           k_=$x ;;
        2) x=$("$spawn" 1 - "$tmp/bench_inflight" "$url" 1 1 "$ticket") || exit 1
           g=$x ;;
        esac
    done
    # The same generated program with the cache off (bench_inflight, one
    # call) shows what the cache's first use adds.
    echo "$c $k_ $g" >>"$tmp/cold.txt"
    r=$((r + 1))
done
# The same two starts counted in instructions (callgrind, the whole process
# from exec to exit, one run each): wall time on the shared machine swings
# by a third from run to run, these do not.
ir_ticket="" ir_curl=""
if [ "${BENCH_NO_IR:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
    ir_of() { # NAME: the instructions of that counted run
        sed -n 's/.*Collected : *\([0-9][0-9]*\).*/\1/p' "$tmp/cold_cg.$1.err" | head -n 1
    }
    if env DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/cache.ir" valgrind --tool=callgrind \
        --callgrind-out-file="$tmp/cold_cg.ticket" "$tmp/ticket_cli" <"$tmp/one.txt" >/dev/null \
        2>"$tmp/cold_cg.ticket.err"; then
        ir_ticket=$(ir_of ticket)
    fi
    if valgrind --tool=callgrind --callgrind-out-file="$tmp/cold_cg.curl" curl -sS -o /dev/null -X POST \
        -H "Content-Type: application/json" --data-binary "@$tmp/body.json" "$url/chat/completions" \
        </dev/null >/dev/null 2>"$tmp/cold_cg.curl.err"; then
        ir_curl=$(ir_of curl)
    fi
fi
stop_fixture
echo "cold start, one call (median of $BENCH_COLD_RUNS interleaved runs each; ticket_cli with its cache on, empty):"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v f="$1" '{ print $f }' "$tmp/cold.txt" | median; }
ratio() { awk -v a="$1" -v b="$2" '{ print $a / $b }' "$tmp/cold.txt" | median; }
echo "$(col 2) $(col 4) $(col 6) $(col 8) $(col 10) $(col 12) $(ratio 2 6) $(ratio 4 8) $(ratio 10 6) $(ratio 12 8)" | awk '{
    printf "  ticket_cli:           %8.2f ms %8d KiB peak RSS\n", $1, $2
    printf "  curl:                 %8.2f ms %8d KiB peak RSS\n", $3, $4
    printf "  ratio:                %8.2fx wall %6.2fx RSS (target <= 1.2x each; medians of the runs'"'"' ratios)\n", $7, $8
    printf "  generated, cache off: %8.2f ms %8d KiB peak RSS (%.2fx wall, %.2fx RSS of curl)\n", $5, $6, $9, $10
}'
if [ -n "$ir_ticket" ] && [ -n "$ir_curl" ]; then
    awk -v t="$ir_ticket" -v c="$ir_curl" 'BEGIN {
        printf "  instructions, exec to exit (callgrind, one run each; repeatable): ticket_cli %.1fM, curl %.1fM: %.2fx\n",
            t / 1e6, c / 1e6, t / c
    }'
elif [ "${BENCH_NO_IR:-0}" != 1 ]; then
    echo "  instructions: not counted (valgrind missing or a counted run failed)"
fi
