#!/bin/sh
# Installs the providers' official npm clients the wire-format tests use
# (openai, @anthropic-ai/sdk, @google/genai, @aws-sdk/client-bedrock-runtime) into
# tests/wire_clients/node_modules, exactly as tests/wire_clients/
# package-lock.json pins them (`npm ci`, which checks each tarball's
# integrity; no install scripts run). node_modules is not committed.
#
# Idempotent: a stamp in node_modules records the SHA-256 of the lock file it
# was installed from; when it matches, nothing is fetched.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/tests/wire_clients"
STAMP="$DIR/node_modules/.dspcc-lock.sha256"

want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "setup: wire-client test packages present (tests/wire_clients/node_modules)"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm is needed for the wire-client tests; they will be skipped" >&2
    exit 0
fi
echo "setup: installing the wire-client test packages from the npm registry (npm ci in tests/wire_clients)"
if ! (cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
    # Not fatal: tests/wire_clients/wire_clients.sh skips, saying why.
    echo "setup: npm ci failed in tests/wire_clients; the wire-client tests will be skipped until it runs" >&2
    exit 0
fi
printf '%s\n' "$want" >"$STAMP"
