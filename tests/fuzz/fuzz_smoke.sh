#!/bin/sh
# The libFuzzer harnesses of tests/fuzz as a short check in make test: build
# them (build/fuzz, clang, ASan+UBSan), replay every seed of each corpus,
# then fuzz each for FUZZ_SMOKE_SECONDS (default 3) s. Skips, saying why,
# when clang cannot link libFuzzer. `make fuzz` is the long run. Prints TAP.
set -u
. tests/support/tap.sh
secs=${FUZZ_SMOKE_SECONDS:-3}
if ! sh tests/fuzz/have_libfuzzer.sh clang; then
    echo "ok - # SKIP clang's libFuzzer is missing (install clang and libclang-rt-14-dev: scripts/setup.sh)"
    exit 0
fi
# Not the make test run's settings (BUILD, SANITIZE, OPT): build/fuzz has its own.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 -s --no-print-directory fuzz-build >/tmp/fuzz_smoke.$$.log 2>&1; then
    tail -20 /tmp/fuzz_smoke.$$.log | sed 's/^/# /'
    rm -f /tmp/fuzz_smoke.$$.log
    check "the libFuzzer harnesses build" false
    exit 0
fi
rm -f /tmp/fuzz_smoke.$$.log
check "the libFuzzer harnesses build" true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# Each corpus directory is a harness's seeds.
for t in $(cd tests/fuzz/corpus && ls); do
    bin=build/fuzz/tests/fuzz/$t
    # Replay: each seed once, as a list of files.
    "$bin" -runs=0 tests/fuzz/corpus/$t >"$tmp/$t.replay" 2>&1
    r=$?
    [ $r -ne 0 ] && tail -20 "$tmp/$t.replay" | sed 's/^/# /'
    check "$t: every seed runs clean" test $r -eq 0
    mkdir -p "$tmp/corpus/$t"
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$tmp/" -print_final_stats=1 \
        "$tmp/corpus/$t" tests/fuzz/corpus/$t >"$tmp/$t.log" 2>&1
    r=$?
    [ $r -ne 0 ] && tail -30 "$tmp/$t.log" | sed 's/^/# /'
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
    [ -z "$runs" ] && runs=$(grep -o 'DONE.*' "$tmp/$t.log" | head -1)
    echo "# $t: $secs s, $runs"
    check "$t: ${secs} s of fuzzing find nothing" test $r -eq 0
done
