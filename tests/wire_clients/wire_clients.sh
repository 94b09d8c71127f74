#!/bin/sh
# The fixture speaks the real protocols: the providers' official npm
# clients (openai's OpenAI with tool calls and AzureOpenAI, @anthropic-ai/sdk, @google/genai,
# @aws-sdk/client-bedrock-runtime; tests/wire_clients/package-lock.json)
# send requests to build/dsp-refserver (a TEST FIXTURE, not a model) and
# must parse its replies, its streams (openai, Azure, Anthropic, Gemini) and
# its error bodies; the Bedrock client signs with SigV4 and the fixture
# checks the signature's form. Prints TAP. Without node or the
# packages (scripts/setup.d/wire-clients-npm.sh) it skips, saying so.
set -u
: "${BUILD:=build}"
DIR=$(cd "$(dirname "$0")" && pwd)
STAMP="$DIR/node_modules/.dspcc-lock.sha256"
if ! command -v node >/dev/null 2>&1; then
    echo "ok - # SKIP the wire-client tests need node (scripts/setup.sh installs it)"
    exit 0
fi
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    echo "ok - # SKIP the providers' npm clients are not installed as package-lock.json pins them;" \
         "run scripts/setup.d/wire-clients-npm.sh (npm ci in tests/wire_clients)"
    exit 0
fi
tmp=$(mktemp -d)
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
rs_start
if [ -z "$port" ]; then
    echo "not ok - the fixture started"
    exit 1
fi
timeout 120 node "$DIR/wire_clients.mjs" "$port"
