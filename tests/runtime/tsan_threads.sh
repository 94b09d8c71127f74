#!/bin/sh
# ThreadSanitizer over a generated program: tsan_threads.dsp built with
# `dspcc build --embed-runtime` (libdsprt in the same file, so the whole
# runtime is instrumented), compiled with -fsanitize=thread, then
# tsan_threads.c's 8 threads share one client against build/dsp-refserver
# (a TEST FIXTURE, not a language model) with latency, so batch jobs park
# as fibers of each thread's event loop and switch stacks (fiber.c tells
# TSan of every switch). Run twice: fault-free (every call succeeds,
# cancellations and the dead endpoint are counted), and with half the
# fixture's replies faulty (429, 500, truncated, bad JSON). Any data race
# fails the test with TSan's report. Skips where the compiler has no TSan.
# Prints TAP.
set -u
: "${BUILD:=build}"
: "${CC:=cc}"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

# The program is its own TSan build, whatever $BUILD's sanitizers: once,
# in the plain pass, is enough.
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then
    echo "ok - # SKIP the plain pass runs it (TSan and ASan do not mix)"
    exit 0
fi
echo 'int main(void) { return 0; }' >"$tmp/probe.c"
if ! "$CC" -fsanitize=thread "$tmp/probe.c" -o "$tmp/probe" 2>/dev/null || ! "$tmp/probe"; then
    echo "ok - # SKIP $CC cannot build or run a -fsanitize=thread program here"
    exit 0
fi

"$BUILD/dspcc" build tests/runtime/tsan_threads.dsp --no-opt --embed-runtime -o "$tmp/tsan_threads_gen.c"
check "dspcc build --embed-runtime" test $? -eq 0
# -O0: the embedded runtime is one large file, and -O1 takes three times
# as long to compile under TSan for no more races found.
"$CC" -std=c17 -O0 -g -fsanitize=thread -Wall -Wextra -Werror -pedantic -I"$tmp" \
    tests/runtime/tsan_threads.c "$tmp/tsan_threads_gen.c" -o "$tmp/tsan_threads" \
    -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$tmp/cc.err"
check "it compiles with -fsanitize=thread" test $? -eq 0
[ -s "$tmp/cc.err" ] && sed 's/^/# /' "$tmp/cc.err"

# A port nothing listens on: one the fixture had, once it has stopped.
rs_start
dead="http://127.0.0.1:$port/v1"
rs_stop

run() { # NAME: the program against the running fixture, into $tmp/NAME.out/.err
    DSPCC_BASE_URL="http://127.0.0.1:$port/v1" TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
        "$tmp/tsan_threads" "$tmp/cache-$1" "$dead" >"$tmp/$1.out" 2>"$tmp/$1.err"
    echo $? >"$tmp/$1.rc"
    if grep -q "ThreadSanitizer" "$tmp/$1.err"; then sed -n '1,60s/^/# /p' "$tmp/$1.err"; fi
}

rs_start --latency-ms 20:10 --threads 4
run clean
check "8 threads on one client: no data race" test "$(cat "$tmp/clean.rc")" = 0
grep -q "ThreadSanitizer" "$tmp/clean.err"
check "and no TSan report at all" test $? -ne 0
# 8 threads x 10 rounds: 8 x 8 single calls (2 cancelled, not all counted as
# calls), 8 batches of 16; every round's call was answered or cancelled.
check "every call answered: failed 0, 16 cancelled, 8 dead endpoint" \
    grep -q "failed 0 cancelled 16 dead 8\$" "$tmp/clean.out"

rs_start --latency-ms 5:5 --threads 4 --fail-rate 0.5 --fail-kinds 429,500,truncate,badjson --retry-after-ms 20 --seed 3
run faults
check "with faulty replies and retries: no data race" grep -q "^calls " "$tmp/faults.out"
grep -q "ThreadSanitizer" "$tmp/faults.err"
check "and no TSan report" test $? -ne 0
