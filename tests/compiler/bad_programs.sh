#!/bin/sh
# Every tests/bad/*.dsp must be rejected (exit 1) and its FIRST diagnostic
# line must be the one its first line announces:
#   // expect: LINE:COL: error: message
# (the file name is left out of the expectation when the diagnostic is in
# the file itself).
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
cd tests/bad || exit 1
n=0
for f in *.dsp; do
    n=$((n + 1))
    expect=$(head -n 1 "$f" | sed -n 's|^// expect: ||p')
    if [ -z "$expect" ]; then
        echo "not ok - $f: first line has no '// expect: ...'"
        continue
    fi
    out=$("$dspcc" check "$f" 2>&1 >/dev/null)
    rc=$?
    first=$(printf '%s\n' "$out" | head -n 1)
    first=${first#"$f:"}
    if [ "$rc" -ne 1 ]; then
        echo "not ok - $f: exit status $rc, expected 1"
    elif [ "$first" != "$expect" ]; then
        echo "not ok - $f"
        echo "#   expected: $expect"
        echo "#   got:      $first"
    else
        echo "ok - $f"
    fi
done
if [ "$n" -lt 30 ]; then
    echo "not ok - only $n bad programs; keep at least 30"
fi
