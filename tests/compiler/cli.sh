#!/bin/sh
# The dspcc driver: help, version, exit codes, several errors in one run.
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, command...
    name=$1
    shift
    if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fi
}

check "--help lists the commands" sh -c "'$dspcc' --help | grep -q 'check' && '$dspcc' --help | grep -q 'dump-ir'"
version=$(sed -n 's/^VERSION ?= *//p' Makefile)
check "--version prints the Makefile's VERSION" sh -c "'$dspcc' --version | grep -qx 'dspcc $version'"
check "no arguments is a usage error (2)" sh -c "'$dspcc' >/dev/null 2>&1; test \$? -eq 2"
check "unknown command is a usage error (2)" sh -c "'$dspcc' frobnicate >/dev/null 2>&1; test \$? -eq 2"
check "check --help" sh -c "'$dspcc' check --help | grep -q 'usage: dspcc check'"
check "help CMD is CMD --help" sh -c "'$dspcc' help eval | grep -q 'usage: dspcc eval'"
check "help of an unknown command is a usage error (2)" sh -c "'$dspcc' help frob >/dev/null 2>&1; test \$? -eq 2"
check "check without a file is a usage error (2)" sh -c "'$dspcc' check 2>/dev/null; test \$? -eq 2"
check "a missing file is an error (1)" sh -c "'$dspcc' check '$tmp/none.dsp' 2>'$tmp/err'; test \$? -eq 1 && grep -q 'cannot open' '$tmp/err'"

# An empty file is a valid, empty program.
: >"$tmp/empty.dsp"
check "an empty file checks" "$dspcc" check "$tmp/empty.dsp"

# Several syntax errors are reported in one run, each with a caret line.
cat >"$tmp/three.dsp" <<'DSP'
signature A {
  in q string
  out a: string
}
signature B {
  in q: string
  out a: = string
}
module M(q: string) -> (a: string) {
  r = = predict(A)(q: q)
  return r
}
DSP
"$dspcc" check "$tmp/three.dsp" 2>"$tmp/err"
rc=$?
check "syntax errors exit 1" test "$rc" -eq 1
check "three syntax errors in one run" test "$(grep -c ': error: ' "$tmp/err")" -eq 3
check "errors carry file:line:col" grep -q "three.dsp:2:8: error:" "$tmp/err"
check "each error has a caret line" test "$(grep -c '^ *| *\^' "$tmp/err")" -ge 3

# Warnings do not fail the check, unless --werror.
cat >"$tmp/warn.dsp" <<'DSP'
signature Unused { in q: string out a: string }
DSP
check "warnings exit 0" "$dspcc" check "$tmp/warn.dsp" 2>/dev/null
check "warning text" sh -c "'$dspcc' check '$tmp/warn.dsp' 2>&1 | grep -q \"warning: signature \\\`Unused\\\` is declared but never used\""
check "--werror fails on warnings" sh -c "'$dspcc' check --werror '$tmp/warn.dsp' 2>/dev/null; test \$? -eq 1"

# Imports: relative to the importing file, diamonds load once.
mkdir -p "$tmp/lib"
cat >"$tmp/lib/shared.dsp" <<'DSP'
signature Answer "Answer the question." { in question: string out answer: string }
DSP
cat >"$tmp/lib/other.dsp" <<'DSP'
import "shared.dsp"
DSP
cat >"$tmp/main.dsp" <<'DSP'
import "lib/shared.dsp"
import "lib/other.dsp"
module QA(question: string) -> (answer: string) {
  r = predict(Answer)(question: question)
  return r
}
DSP
check "imports resolve relative to the importing file" "$dspcc" check "$tmp/main.dsp"
check "dump-ir of an import" sh -c "'$dspcc' dump-ir '$tmp/main.dsp' | grep -q '\"loc\":.*\"lib/shared.dsp:1:1\"'"
check "every example checks" sh -c "for f in examples/*/*.dsp; do '$dspcc' check \$f || exit 1; done"
