#!/bin/sh
# `dspcc dump-ir` of every example must match its golden file in
# tests/golden/NAME.json byte for byte. After an intended change to the IR,
# regenerate with: UPDATE_GOLDEN=1 sh tests/compiler/golden.sh
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in examples/*/*.dsp; do
    name=$(basename "$f" .dsp)
    golden="tests/golden/$name.json"
    if ! "$dspcc" dump-ir "$f" >"$tmp"; then
        echo "not ok - dump-ir $f failed"
        continue
    fi
    if [ -n "${UPDATE_GOLDEN:-}" ]; then
        cp "$tmp" "$golden"
    fi
    if cmp -s "$tmp" "$golden"; then
        echo "ok - golden IR of $f"
    else
        echo "not ok - golden IR of $f differs from $golden:"
        diff "$golden" "$tmp" | head -n 20 | sed 's/^/#   /'
    fi
    # Stable: a second run prints the same bytes.
    if "$dspcc" dump-ir "$f" | cmp -s - "$tmp"; then
        echo "ok - dump-ir of $f is stable"
    else
        echo "not ok - dump-ir of $f differs between two runs"
    fi
done
