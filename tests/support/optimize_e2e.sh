# tests/support/optimize_e2e.sh — sourced (`. tests/support/optimize_e2e.sh`)
# by the end-to-end tests of `dspcc optimize` (tests/compiler/optimize_e2e.sh,
# optimize_copro_e2e.sh, better_together_e2e.sh), which run the ticket
# classifier against build/dsp-refserver (a TEST FIXTURE, not a language
# model) on 127.0.0.1.
#
# Sets $dspcc, $here (the repository), $tmp (a scratch directory holding
# `data`, a link to the tickets data, so that programs written there find
# it), $opt_pid (a background run; the exit trap kills it), and a fake
# OpenAI key; unsets DSPCC_BASE_URL. The exit trap also stops the fixture
# and removes $tmp. Sources tap.sh and refserver.sh.
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
here=$(pwd)
tmp=$(mktemp -d)
opt_pid=
url=
. tests/support/tap.sh
. tests/support/refserver.sh

e2e_cleanup() {
    if [ -n "$opt_pid" ]; then kill -9 "$opt_pid" 2>/dev/null; wait "$opt_pid" 2>/dev/null; fi
    rs_stop
    rm -rf "$tmp"
}
trap e2e_cleanup EXIT INT TERM

ln -s "$here/examples/tickets/data" "$tmp/data"
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

# tickets_with 'OPTIMIZER(ARGS)' FILE: the ticket classifier optimized with
# OPTIMIZER(ARGS) instead of its mipro, written to $tmp/FILE.
tickets_with() {
    sed "s/with mipro([^)]*)/with $1/" examples/tickets/tickets.dsp >"$tmp/$2"
}

# serve ARGS...: (re)starts the fixture with 4 threads and ARGS; sets $url
# to its OpenAI base URL ($port is empty if it did not start).
serve() {
    rs_start --threads 4 "$@"
    url="http://127.0.0.1:$port/v1"
}

# optimize_into NAME DSP STATE ARGS...: `dspcc optimize $tmp/DSP -o
# $tmp/STATE ARGS...` on the fixture at $url, stdout and stderr in
# $tmp/NAME.out and $tmp/NAME.err; returns its status, and on failure
# prints the end of its stderr as TAP comments, which say why.
optimize_into() {
    oi_name=$1 oi_dsp=$2 oi_state=$3
    shift 3
    "$dspcc" optimize "$tmp/$oi_dsp" -o "$tmp/$oi_state" --base-url "$url" "$@" \
        >"$tmp/$oi_name.out" 2>"$tmp/$oi_name.err"
    oi_rc=$?
    [ $oi_rc -eq 0 ] || tail -n 5 "$tmp/$oi_name.err" | sed 's/^/# /'
    return $oi_rc
}

# The rows most runs optimize on, and opt NAME DSP CACHE ARGS...: a run on
# them into $tmp/NAME.json with the response cache $tmp/CACHE.
limits="--trainset-limit 60 --valset-limit 60 -j 4"
opt() {
    o_name=$1 o_dsp=$2 o_cache=$3
    shift 3
    # shellcheck disable=SC2086
    optimize_into "$o_name" "$o_dsp" "$o_name.json" $limits --cache-dir "$tmp/$o_cache" "$@"
}

# optimize_bg NAME DSP STATE ARGS...: the same run in the background, the
# dspcc process itself (not a subshell, which a SIGKILL would leave it
# running without), its pid in $opt_pid.
optimize_bg() {
    ob_name=$1 ob_dsp=$2 ob_state=$3
    shift 3
    "$dspcc" optimize "$tmp/$ob_dsp" -o "$tmp/$ob_state" --base-url "$url" "$@" \
        >"$tmp/$ob_name.out" 2>"$tmp/$ob_name.err" &
    opt_pid=$!
}

# kill_when COMMAND...: waits (up to 20 s, while the background run
# $opt_pid lives) until COMMAND succeeds, then kills the run with SIGKILL.
# $alive says whether it was still running when killed.
kill_when() {
    kw_i=0
    while ! "$@" 2>/dev/null && [ $kw_i -lt 400 ] && kill -0 "$opt_pid" 2>/dev/null; do
        sleep 0.05
        kw_i=$((kw_i + 1))
    done
    alive=0
    kill -0 "$opt_pid" 2>/dev/null && alive=1
    kill -9 "$opt_pid" 2>/dev/null
    wait "$opt_pid" 2>/dev/null
    opt_pid=
}

not() { ! "$@"; } # COMMAND...: succeeds if COMMAND fails

ge() { # a >= b + margin
    awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + m) }'
}

same_score() { # a b: two scores that agree to 1e-9
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && d < 1e-9 && d > -1e-9) }'
}

# eval_score NAME DSP STATE ROWS ARGS...: `dspcc eval --state $tmp/STATE
# --data dev --limit ROWS --json` on the fixture, output in $tmp/NAME.json
# and $tmp/NAME.err; prints the score.
eval_score() {
    es_name=$1 es_dsp=$2 es_state=$3 es_rows=$4
    shift 4
    "$dspcc" eval "$tmp/$es_dsp" --state "$tmp/$es_state" --data dev --limit "$es_rows" --json --base-url "$url" \
        "$@" >"$tmp/$es_name.json" 2>"$tmp/$es_name.err"
    json_key "$tmp/$es_name.json" score
}
