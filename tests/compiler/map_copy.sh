#!/bin/sh
# The generated C copies a map<string, T> input (C arrays) into the
# runtime's map in O(n log n), not with a put per key (O(n^2)): a map of
# 200,000 keys passes through a module (fixture map_copy) well within 10 s
# of CPU (a put per key ran past it), whole and in order, and keys that repeat keep
# their first place and last value, as the puts left them. Programs
# without maps generate the same bytes as before (tests/golden/codegen).
# Runs under ASan/LSan when libdsprt is instrumented. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
case "$BUILD" in /*) B=$BUILD ;; *) B=$root/$BUILD ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
. tests/support/tap.sh
. tests/support/rt_link.sh

cp tests/compiler/fixtures/map_copy/echo.dsp tests/compiler/fixtures/map_copy/map_main.c "$T/"
"$B/dspcc" build "$T/echo.dsp" --no-opt -o "$T/gen_echo.c" 2>"$T/build.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$T/build.err"
check "dspcc build echo.dsp" test $r -eq 0
cc -std=c17 -Wall -Wextra -Werror -I"$root/runtime/include" -I"$T" $RT_SAN -o "$T/map_main" "$T/map_main.c" \
    "$T/gen_echo.c" "$B/libdsprt.a" $RT_LIBS 2>"$T/cc.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$T/cc.err" | head -20
check "the generated C compiles with -Wall -Wextra -Werror and links" test $r -eq 0
# CPU seconds, not wall time: the machine may be busy.
(ulimit -t 10 && exec timeout 300 "$T/map_main" 200000)
check "map_main exits 0 within 10 s of CPU" test $? -eq 0
