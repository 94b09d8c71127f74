#!/bin/sh
# Fetches the generated tree-sitter C parser (npm package tree-sitter-c) and
# unpacks its C sources into third_party/tree-sitter-c/ for the build.
#
# Why npm: the package ships src/parser.c already generated (ABI 14, which
# Debian's libtree-sitter 0.20.7 loads), and `npm pack` only downloads the
# tarball: it runs no install scripts. None of this code is committed
# (/third_party/ is gitignored); the Makefile compiles it into the build tree.
#
# The tarball's SHA-512 is pinned here, so a changed or tampered package is
# refused instead of compiled. Idempotent: when the pinned version is already
# unpacked it checks one stamp file and exits.
set -eu

NAME=tree-sitter-c
VERSION=0.23.4
# sha512 of tree-sitter-c-0.23.4.tgz, hex (npm's dist.integrity, decoded).
SHA512=869df162e59bb9305a9c7130ac0c4e0610e3770883d64deed97a559a9164e46749263ecdda3adc178e6162b64f730b808cd5dd2f4d58146ed348b7663e2da5ca

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST="$ROOT/third_party/$NAME"
CACHE="${DSPCC_CACHE:-$ROOT/third_party/.cache}"
TARBALL="$CACHE/$NAME-$VERSION.tgz"
STAMP="$DEST/VERSION"
WANT="$NAME@$VERSION sha512:$SHA512"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -f "$DEST/src/parser.c" ]; then
    echo "setup: $NAME $VERSION present"
    exit 0
fi

verify() {
    [ -f "$1" ] || return 1
    got=$(sha512sum "$1" | cut -d' ' -f1)
    [ "$got" = "$SHA512" ]
}

mkdir -p "$CACHE"
if ! verify "$TARBALL"; then
    rm -f "$TARBALL"
    if ! command -v npm >/dev/null 2>&1; then
        echo "setup: npm is needed to fetch $NAME; run scripts/setup.sh (it installs nodejs/npm)" >&2
        exit 1
    fi
    echo "setup: fetching $NAME@$VERSION from the npm registry"
    # --ignore-scripts is the default for pack; say it anyway.
    (cd "$CACHE" && npm pack --ignore-scripts --silent "$NAME@$VERSION" >/dev/null)
    if ! verify "$TARBALL"; then
        echo "setup: $TARBALL does not match the pinned SHA-512; refusing to use it" >&2
        rm -f "$TARBALL"
        exit 1
    fi
fi

# Unpack into a temporary folder beside the destination, then move it into
# place, so an interrupted run never leaves a half-written parser behind.
tmp=$(mktemp -d "$ROOT/third_party/.$NAME.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$TARBALL" -C "$tmp" package/src/parser.c package/src/tree_sitter package/LICENSE
mkdir -p "$tmp/out/src/tree_sitter"
cp "$tmp/package/src/parser.c" "$tmp/out/src/"
cp "$tmp"/package/src/tree_sitter/*.h "$tmp/out/src/tree_sitter/"
cp "$tmp/package/LICENSE" "$tmp/out/"
printf '%s\n' "$WANT" >"$tmp/out/VERSION"
rm -rf "$DEST"
mv "$tmp/out" "$DEST"
echo "setup: $NAME $VERSION unpacked into third_party/$NAME"
