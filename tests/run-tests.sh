#!/bin/sh
# Runs every test program and script given on the command line and prints
# one closing line, "N passed, N failed", that CI reads.
#
# cmocka programs are counted by their own summary lines
# ("[  PASSED  ] 3 test(s)." / "[  FAILED  ] 1 test(s), listed below:").
# Shell tests print TAP-style lines ("ok - name" / "not ok - name").
# A program that exits non-zero without reporting a failure counts as one
# failure, so a crash is never silently a pass.
set -u
: "${BUILD:=build}"
export BUILD
passed=0
failed=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$@"; do
    printf '== %s\n' "$t"
    case "$t" in
        *.sh) sh "$t" >"$log" 2>&1 ;;
        *) "$t" >"$log" 2>&1 ;;
    esac
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    tp=$(grep -c '^ok ' "$log")
    tf=$(grep -c '^not ok ' "$log")
    p=$((p + tp))
    f=$((f + tf))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "** $t exited with status $rc without reporting a failure"
        f=1
    fi
    if [ "$f" -gt 0 ]; then failed_names="$failed_names $t"; fi
    passed=$((passed + p))
    failed=$((failed + f))
done

if [ -n "$failed_names" ]; then
    echo "failing:$failed_names"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
