#!/bin/sh
# Every file dspcc reads must be a regular file: a FIFO (named pipe) as an
# import, the main source, a data file (in the program or by --data), a
# state or a tool's header or library is a clear error naming the path,
# never a hang (each command runs under `timeout`; before the check, the
# open itself waited for a writer for ever); a directory likewise. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
trap 'rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key

# refused CMD-NAME PATTERN ARGS...: dspcc ARGS exits 1 within 10 s, and its
# stderr matches PATTERN.
refused() {
    name=$1 pattern=$2
    shift 2
    timeout 10 "$dspcc" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 124 ]; then
        check "$name (it hung)" false
    elif [ $rc -ne 1 ] || ! grep -q -- "$pattern" "$tmp/err"; then
        sed 's/^/# /' "$tmp/err"
        check "$name (exit $rc)" false
    else
        check "$name" true
    fi
}

mkfifo "$tmp/lib.dsp" "$tmp/pipe.dsp" "$tmp/rows.jsonl" "$tmp/state.json" "$tmp/tool.h" "$tmp/libtool.so"
mkdir "$tmp/dir.jsonl"
cp examples/tickets/tickets.dsp "$tmp/tickets.dsp"
mkdir -p "$tmp/data"
head -n 5 examples/tickets/data/dev.jsonl >"$tmp/data/dev.jsonl"
cp "$tmp/data/dev.jsonl" "$tmp/data/train.jsonl"

printf 'import "lib.dsp"\n' >"$tmp/imports.dsp"
refused "a FIFO import is refused, naming it" "lib.dsp. is a FIFO (named pipe), not a regular file" check "$tmp/imports.dsp"
refused "a FIFO as the main source is refused" "pipe.dsp. is a FIFO" check "$tmp/pipe.dsp"

sed 's|jsonl("data/dev.jsonl")|jsonl("rows.jsonl")|' "$tmp/tickets.dsp" >"$tmp/fifo_data.dsp"
refused "a FIFO data file is refused, naming it" "rows.jsonl.: is a FIFO (named pipe), not a regular file" \
    check "$tmp/fifo_data.dsp"
sed 's|jsonl("data/dev.jsonl")|jsonl("dir.jsonl")|' "$tmp/tickets.dsp" >"$tmp/dir_data.dsp"
refused "a directory as a data file is refused" "dir.jsonl.: is a directory, not a regular file" \
    check "$tmp/dir_data.dsp"
refused "eval --data with a FIFO is refused" "rows.jsonl.: is a FIFO" \
    eval "$tmp/tickets.dsp" --data "$tmp/rows.jsonl" --base-url http://127.0.0.1:9/v1 --cache-dir "$tmp/cache"
refused "a FIFO state is refused" "state.json: is a FIFO" \
    build "$tmp/tickets.dsp" --state "$tmp/state.json" -o "$tmp/out.c"
printf 'tool probe from "libtool.so" header "tool.h"\n' >"$tmp/tool_header.dsp"
refused "a FIFO tool header is refused" "tool.h" check "$tmp/tool_header.dsp"
grep -q "FIFO" "$tmp/err"
check "and the message says it is a FIFO" test $? -eq 0
