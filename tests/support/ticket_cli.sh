# tests/support/ticket_cli.sh — sourced by shell tests that run the
# generated ticket classifier: build_ticket_cli DIR writes DIR/tickets.c and
# .h (`dspcc build --no-opt` of examples/tickets) and links DIR/ticket_cli
# with $BUILD/libdsprt.a (instrumented under ASan, so linked with it then).
# Needs $BUILD and the TAP helpers; prints one TAP line.
build_ticket_cli() {
    btc_san=
    if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then btc_san="-fsanitize=address,undefined"; fi
    "$BUILD/dspcc" build examples/tickets/tickets.dsp --no-opt -o "$1/tickets.c" 2>"$1/build.err" &&
        cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror $btc_san -Iruntime/include -I"$1" -o "$1/ticket_cli" \
            examples/tickets/ticket_cli.c "$1/tickets.c" "$BUILD/libdsprt.a" \
            -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm 2>"$1/cc.err"
    check "the generated ticket classifier builds" test $? -eq 0
}
