#!/bin/sh
# dsp-cshape on hand-written fixtures: a clean pair passes, and each kind of
# violation is reported at its file:line:col with exit status 1.
set -u
: "${BUILD:=build}"
CSHAPE="$BUILD/dsp-cshape"
FX=tests/tools/fixtures
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# check NAME WANT_RC "expected text" ARGS... — runs dsp-cshape and passes if
# it exits with WANT_RC and its output contains every line of the text.
check() {
    name=$1 want_rc=$2 want=$3
    shift 3
    "$CSHAPE" "$@" >"$out" 2>&1
    rc=$?
    ok=1
    [ "$rc" -eq "$want_rc" ] || ok=0
    if [ -n "$want" ]; then
        printf '%s\n' "$want" | while IFS= read -r line; do
            grep -qF -- "$line" "$out" || { echo "#   missing: $line"; exit 1; }
        done || ok=0
    fi
    if [ "$ok" -eq 1 ]; then
        echo "ok - $name"
    else
        echo "not ok - $name (exit $rc, want $want_rc)"
        sed 's/^/#   /' "$out"
    fi
}

check "clean generated pair passes silently" 0 "" \
    --prefix tickets_ $FX/good/tickets.c $FX/good/tickets.h
[ -s "$out" ] && echo "not ok - clean pair prints nothing" || echo "ok - clean pair prints nothing"

check "header functions must be defined" 1 \
"$FX/undefined/tickets.h:4:5: error: function 'tickets_missing' is declared in the header but defined in none of the .c files given
$FX/undefined/tickets.h:5:5: error: 'tickets_hidden' is declared in the header but defined static at $FX/undefined/tickets.c:8:12
$FX/undefined/tickets.h:6:12: error: variable 'tickets_counter' is declared in the header but defined in none
dsp-cshape: 3 problems in 2 files" \
    --prefix tickets_ $FX/undefined/tickets.c $FX/undefined/tickets.h

check "external symbols carry the prefix" 1 \
"$FX/prefix.c:4:5: error: external function 'classify' does not start with the prefix 'tickets_'
$FX/prefix.c:5:5: error: external variable 'counter' does not start with the prefix 'tickets_'
$FX/prefix.c:6:13: error: external variable 'labels' does not start
dsp-cshape: 3 problems in 1 file" \
    --prefix tickets_ $FX/prefix.c

check "without --prefix the prefix is not checked" 0 "" $FX/prefix.c

check "absolute paths in literals, comments and includes" 1 \
"$FX/paths.c:3:6: error: string literal holds an absolute path '/home/alice/project/data/dev.jsonl'
$FX/paths.c:4:6: error: string literal holds an absolute path 'C:\\\\Users\\\\bob\\\\data.jsonl'
$FX/paths.c:7:14: error: comment holds an absolute path '/tmp/dspcc-cache/'
$FX/paths.c:8:29: error: concatenated string holds an absolute path
$FX/paths.c:9:11: error: string literal holds an absolute path '/work/main/runtime/include/dsp/client.h'
dsp-cshape: 5 problems in 1 file" \
    --prefix tickets_ $FX/paths.c

check "API keys, without printing them" 1 \
"$FX/keys.c:1:49: error: string literal holds what looks like an OpenAI or Anthropic API key (sk-...) ('sk-pro...', 35 characters)
$FX/keys.c:2:38: error: string literal holds what looks like an OpenAI or Anthropic API key
$FX/keys.c:3:33: error: string literal holds what looks like a long random token
$FX/keys.c:4:27: error: string literal holds what looks like an AWS access key id
dsp-cshape: 4 problems in 1 file" \
    --prefix tickets_ $FX/keys.c
if grep -q 'notarealkey0000' "$out"; then echo "not ok - a key is never echoed"; else echo "ok - a key is never echoed"; fi

check "syntax errors are reported" 1 \
"$FX/syntax.c:2:31: error: syntax error: missing ';'" --prefix tickets_ $FX/syntax.c

check "a missing file is a violation" 1 \
"$FX/nope.c: error: cannot open: No such file or directory" $FX/nope.c

check "usage: no files" 2 "usage: dsp-cshape"
# The harness itself: an expectation that does not hold must fail.
if check "inner" 0 "no such text" $FX/good/tickets.h | grep -q '^not ok - inner'; then
    echo "ok - the harness fails on a missing line"
else
    echo "not ok - the harness fails on a missing line"
fi
check "usage: --prefix needs a value" 2 "--prefix needs a value" --prefix
check "usage: only .c and .h" 2 "is neither a .c nor a .h file" $FX/README
check "the C++ linkage guard of a header parses" 0 "" $FX/good/tickets.h
