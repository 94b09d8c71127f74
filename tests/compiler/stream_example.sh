#!/bin/sh
# examples/tickets/ticket_stream: the generated ticket_classifier_run_stream
# against build/dsp-refserver (a TEST FIXTURE, not an LM), through
# examples/tickets/Makefile. The reasoning arrives in several pieces; what
# is printed equals what ticket_classifier_run gives for the same replies
# (--plain, another cache); a second run replays the cache and prints the
# same; the embedded-runtime build streams too.
set -u
: "${BUILD:=build}"
T=$(mktemp -d)
RS_PID=
cleanup() {
    [ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null && wait "$RS_PID" 2>/dev/null
    rm -rf "$T"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT INT TERM
check() { if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi; }
SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi

make -s -C examples/tickets TOP="$PWD" BUILD="$BUILD" OUT="$T/out" DSPCC="$PWD/$BUILD/dspcc" \
    CFLAGS="-std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -O1 $SAN" \
    RT_LIBS="$PWD/$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm" >"$T/make.out" 2>&1
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$T/make.out"
check $r "examples/tickets builds ticket_stream"

"$BUILD/dsp-refserver" --port 0 >"$T/rs.out" 2>"$T/rs.err" &
RS_PID=$!
i=0
while [ ! -s "$T/rs.out" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 "$T/rs.out")
[ -n "$PORT" ] || { echo "not ok - dsp-refserver started"; exit 1; }
printf 'I was charged twice for my subscription this month\nI cannot log in to my account after the reset\n' \
    >"$T/in.txt"
run() { # CACHE_DIR ARGS...
    dir=$1
    shift
    OPENAI_API_KEY=x DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 DSPCC_CACHE_DIR="$dir" \
        "$T/out/ticket_stream" "$@" <"$T/in.txt"
}
run "$T/c1" --pieces >"$T/stream.out" 2>"$T/stream.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$T/stream.err"
check $r "ticket_stream classifies through the fixture"
[ "$(grep -c '^reasoning: .' "$T/stream.out")" -eq 2 ] && [ "$(grep -c '^category: ' "$T/stream.out")" -eq 2 ]
check $? "it prints a reasoning and a category per ticket"
grep -q 'came in [2-9]' "$T/stream.err" || grep -q 'came in [1-9][0-9]' "$T/stream.err"
check $? "the reasoning arrives in several pieces"
run "$T/c2" --plain >"$T/plain.out" 2>&1
cmp -s "$T/stream.out" "$T/plain.out"
check $? "streamed output equals ticket_classifier_run's"
run "$T/c1" --pieces >"$T/replay.out" 2>"$T/replay.err"
cmp -s "$T/stream.out" "$T/replay.out"
check $? "a cached reply replays through the callbacks and prints the same"

# The same program with the runtime embedded.
mkdir -p "$T/emb"
"$BUILD/dspcc" build examples/tickets/tickets.dsp --no-opt --embed-runtime -o "$T/emb/tickets.c" 2>"$T/emb.err" &&
    cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN $(pkg-config --cflags libcurl libcjson 2>/dev/null) \
        -I"$T/emb" -o "$T/emb/ticket_stream" examples/tickets/ticket_stream.c "$T/emb/tickets.c" \
        -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>>"$T/emb.err"
r=$?
[ $r -ne 0 ] && head -20 "$T/emb.err" | sed 's/^/#   /'
check $r "ticket_stream builds with the embedded runtime"
OPENAI_API_KEY=x DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 DSPCC_CACHE_DIR="$T/c3" "$T/emb/ticket_stream" \
    <"$T/in.txt" >"$T/emb.out" 2>&1
cmp -s "$T/stream.out" "$T/emb.out"
check $? "the embedded build streams the same"
