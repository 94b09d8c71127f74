#!/bin/sh
# Installs the npm packages the editor-grammar tests use (vscode-textmate and
# vscode-oniguruma, the engine VS Code highlights with) into
# tests/editors/node_modules, exactly as tests/editors/package-lock.json pins
# them (`npm ci`, which checks each tarball's integrity; no install scripts
# run). node_modules is not committed.
#
# Idempotent: a stamp in node_modules records the SHA-256 of the lock file it
# was installed from; when it matches, nothing is fetched.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/tests/editors"
STAMP="$DIR/node_modules/.dspcc-lock.sha256"

want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "setup: editor test packages present (tests/editors/node_modules)"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm is needed for the editor tests; run scripts/setup.sh (it installs nodejs/npm)" >&2
    exit 1
fi
echo "setup: installing the editor test packages from the npm registry (npm ci in tests/editors)"
if ! (cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
    echo "setup: npm ci failed in tests/editors; the editor tests need the npm registry once" >&2
    exit 1
fi
printf '%s\n' "$want" >"$STAMP"
