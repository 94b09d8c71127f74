#!/bin/sh
# Valgrind's memcheck over a generated program linked with libdsprt, as a
# user runs theirs: tsan_threads.c's 8 threads share one client against
# build/dsp-refserver (a TEST FIXTURE, not a language model), with batches
# whose jobs run as fibers on stacks of their own (fiber.c registers each
# with valgrind), streams, cancellations, shadow runs, a dead endpoint and
# failed calls whose errors are redacted. Any memcheck error or leak fails
# it. Skips without valgrind, and in the ASan pass (the two do not mix).
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

if ! command -v valgrind >/dev/null 2>&1; then
    echo "ok - # SKIP valgrind is not installed (scripts/setup.sh installs it)"
    exit 0
fi
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then
    echo "ok - # SKIP the plain pass runs it (valgrind and ASan do not mix)"
    exit 0
fi

"$BUILD/dspcc" build tests/runtime/tsan_threads.dsp --no-opt -o "$tmp/tsan_threads_gen.c"
"$CC" -std=c17 -O1 -g -Wall -Wextra -Werror -pedantic -include dsp/predict.h -Iruntime/include -I"$tmp" \
    tests/runtime/tsan_threads.c "$tmp/tsan_threads_gen.c" "$BUILD/libdsprt.a" -o "$tmp/threads" \
    -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$tmp/cc.err"
check "the program builds against libdsprt" test $? -eq 0
[ -s "$tmp/cc.err" ] && sed 's/^/# /' "$tmp/cc.err"

rs_start
dead="http://127.0.0.1:$port/v1"
rs_stop
rs_start --latency-ms 20:10 --threads 4
DSPCC_BASE_URL="http://127.0.0.1:$port/v1" valgrind -q --error-exitcode=9 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    "$tmp/threads" "$tmp/cache" "$dead" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "memcheck: no error, no leak" test "$rc" -eq 0
[ "$rc" -ne 0 ] && sed -n '1,60s/^/# /p' "$tmp/err"
check "and every call answered: failed 0, 16 cancelled, 8 dead endpoint" \
    grep -q "failed 0 cancelled 16 dead 8\$" "$tmp/out"
