# tests/support/refserver.sh — sourced (`. tests/support/refserver.sh`) by
# shell tests that run $BUILD/dsp-refserver, the reference LM test fixture,
# on a free port of 127.0.0.1. Needs $BUILD and a scratch directory $tmp;
# sets $pid and $port. The sourcing script calls rs_stop from its EXIT trap
# so the server never outlives the test.
pid=
port=

rs_stop() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    pid=
}

# rs_start ARGS...: stops the running one, starts `dsp-refserver --port 0
# ARGS...` and waits up to 10 s for the port it prints first ($port stays
# empty if it never does). Its stderr goes to $tmp/server.err.
rs_start() {
    rs_stop
    : >"$tmp/port"
    "$BUILD/dsp-refserver" --port 0 "$@" >"$tmp/port" 2>"$tmp/server.err" &
    pid=$!
    rs_i=0
    while [ ! -s "$tmp/port" ] && [ $rs_i -lt 200 ]; do sleep 0.05; rs_i=$((rs_i + 1)); done
    port=$(head -n 1 "$tmp/port")
}
