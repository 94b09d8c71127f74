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
pid2=
trap 'rs_stop; [ -n "$pid2" ] && kill "$pid2" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
# A second fixture fails every chat request (503): its Bedrock streams end
# in an exception message.
"$BUILD/dsp-refserver" --port 0 --fail-rate 1 --fail-kinds 503 >"$tmp/port2" 2>"$tmp/server2.err" &
pid2=$!
rs_start
i=0
while [ ! -s "$tmp/port2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
port2=$(head -n 1 "$tmp/port2")
if [ -z "$port" ] || [ -z "$port2" ]; then
    echo "not ok - the fixtures started"
    exit 1
fi
timeout 120 node "$DIR/wire_clients.mjs" "$port" "$port2"
