#!/bin/sh
# Editor support for .dsp: runs the Node tests of tests/editors (the TextMate
# grammar through vscode-textmate, the keyword check of every editor file
# against grammar/lexer.l, the tree-sitter grammar's consistency) and prints
# one TAP line per test for tests/run-tests.sh.
#
# The npm packages come from scripts/setup.d/editors-npm.sh. Without them this
# fails, loudly: a missing dependency is never a skipped test.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
STAMP="$DIR/node_modules/.dspcc-lock.sha256"

if ! command -v node >/dev/null 2>&1; then
    echo "not ok - editor tests need node (run scripts/setup.sh)"
    exit 1
fi
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    echo "not ok - editor test packages missing or not the ones package-lock.json pins;" \
         "run scripts/setup.d/editors-npm.sh (npm ci in tests/editors)"
    exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Top-level results of node's TAP reporter are "ok N - name"; subtests and
# diagnostics are indented, so only the top level is counted.
# A test that hangs fails after two minutes; the whole run after five.
timeout 300 node --test --test-reporter=tap --test-timeout=120000 "$DIR"/*.test.mjs >"$out" 2>&1
rc=$?
sed -e 's/^ok [0-9][0-9]* - /ok - /' -e 's/^not ok [0-9][0-9]* - /not ok - /' "$out"
if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out"; then
    echo "not ok - node --test exited with status $rc"
fi
exit "$rc"
