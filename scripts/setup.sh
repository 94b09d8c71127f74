#!/bin/sh
# Installs everything dspcc needs to build, test and run its demo on Debian
# (bookworm). Idempotent: when everything is present it only checks and exits.
set -eu

PACKAGES="build-essential clang pkg-config flex bison curl wrk
libcurl4-openssl-dev libcjson-dev libsqlite3-dev libmicrohttpd-dev
libtree-sitter-dev libcmocka-dev libssl-dev libffi-dev nodejs vim valgrind jq
libclang-rt-14-dev sqlite3"
# Headless browser check of the optimize report (tests/compiler/report_view.sh).
PACKAGES="$PACKAGES chromium"
# The shared response cache (DSPCC_CACHE_URL) and the Redis its test starts.
PACKAGES="$PACKAGES libhiredis-dev redis-server"
# CRC32 of the AWS event-stream messages (Bedrock ConverseStream).
PACKAGES="$PACKAGES zlib1g-dev"
# Certificates for the rediss:// (TLS) test of the shared cache.
PACKAGES="$PACKAGES openssl"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

# npm ships inside some nodejs builds and as its own package in Debian's.
if ! command -v npm >/dev/null 2>&1; then missing="$missing npm"; fi

if [ -n "$missing" ]; then
    echo "setup: installing:$missing"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
else
    echo "setup: system packages present"
fi

# Further steps (fetching the tree-sitter C grammar from the npm registry)
# live in their own scripts so each can be re-run alone.
for s in "$(dirname "$0")"/setup.d/*.sh; do
    [ -e "$s" ] || continue
    sh "$s"
done
