#!/bin/sh
# make bench-codegen: `dspcc build` against `dspcc check` on a generated
# program of BENCH_MODULES modules (default 800), each calling a predictor
# and the module before it. Code generation should cost a small multiple
# of checking (issue 18's target: build <= 3x check); a generator that
# walks the module graph per predictor shows up here as a ratio that grows
# with the program. Prints figures and the ratio; asserts nothing.
#
#   BENCH_MODULES   modules in the generated program (default 800)
#   BENCH_RUNS      runs of each command; the fastest counts (default 5)
set -u
: "${BUILD:=build}"
: "${BENCH_MODULES:=800}"
: "${BENCH_RUNS:=5}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

awk -v n="$BENCH_MODULES" 'BEGIN {
    print "lm task = \"openai/gpt-4o-mini\" {\n  temperature: 0.0\n}\n"
    print "signature Step \"Rewrite the text.\" {\n  in  text: string\n  out rewritten: string\n}\n"
    for (k = 0; k < n; k++) {
        printf "module M%d(text: string) -> (result: string) {\n  r = predict(Step)(text: text)\n", k
        if (k > 0)
            printf "  s = M%d(text: r.rewritten)\n  return (result: s.result)\n}\n\n", k - 1
        else
            printf "  return (result: r.rewritten)\n}\n\n"
    }
}' >"$tmp/big.dsp"

# The fastest of BENCH_RUNS runs of "$@", in milliseconds.
best_ms() {
    best=""
    r=0
    while [ "$r" -lt "$BENCH_RUNS" ]; do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>"$tmp/err" || {
            echo "bench: $* failed:" >&2
            cat "$tmp/err" >&2
            return 1
        }
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
        r=$((r + 1))
    done
    echo "$best"
}
check_ms=$(best_ms "$dspcc" check "$tmp/big.dsp") || exit 1
build_ms=$(best_ms "$dspcc" build "$tmp/big.dsp" -o "$tmp/big.c" --no-opt) || exit 1
lines=$(wc -l <"$tmp/big.c")
awk -v n="$BENCH_MODULES" -v c="$check_ms" -v b="$build_ms" -v l="$lines" -v runs="$BENCH_RUNS" 'BEGIN {
    printf "code generation, %d modules (%d lines of C), fastest of %d runs:\n", n, l, runs
    printf "dspcc check:             %6d ms\n", c
    printf "dspcc build --no-opt:    %6d ms\n", b
    if (c < 1) c = 1
    r = b / c
    printf "build / check:           %6.2fx (target <= 3x: %s)\n", r, r <= 3 ? "PASS" : "FAIL"
}'

# Instructions repeat where wall time on a loaded machine does not.
if ! command -v valgrind >/dev/null 2>&1; then
    echo "instructions: valgrind not installed; no instruction-count ratio"
    exit 0
fi
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" >/dev/null 2>"$tmp/cg.err" || return 1
    sed -n 's/.*Collected : *\([0-9][0-9]*\).*/\1/p' "$tmp/cg.err" | head -n 1
}
ir_check=$(ir "$dspcc" check "$tmp/big.dsp") || exit 1
ir_build=$(ir "$dspcc" build "$tmp/big.dsp" -o "$tmp/big.c" --no-opt) || exit 1
awk -v c="$ir_check" -v b="$ir_build" 'BEGIN {
    printf "instructions (callgrind, whole process): check %.0fM, build %.0fM, build / check %.2fx\n",
        c / 1e6, b / 1e6, b / c
}'
