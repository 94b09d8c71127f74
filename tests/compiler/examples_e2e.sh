#!/bin/sh
# Every example runs end to end against build/dsp-refserver (a TEST FIXTURE,
# a deterministic in-context learner, not a language model) on 127.0.0.1:
# for tickets, multihop and extract, `dspcc optimize` with small limits and
# a private cache exits 0 with scores in [0, 1] and a final score no worse
# than the baseline, and `dspcc eval --state` on the result scores the
# optimizer's final score with no failed example, `dspcc eval` without a
# state its baseline: both are means over every dev row it scored.
#
# The multihop example loads examples/multihop/build/libretriever.so (built
# by the top-level make) and passes a relative corpus path: it is optimized
# from the repository root, evaluated from its own folder and from a
# scratch directory, so the corpus resolves wherever the program runs.
# Prints TAP.
set -u
: "${BUILD:=build}"
here=$(pwd)
case "$BUILD" in
    /*) bin=$BUILD ;;
    *) bin=$here/$BUILD ;;
esac
dspcc="$bin/dspcc"
server="$bin/dsp-refserver"
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

check() { # test name, command...
    what=$1
    shift
    if "$@"; then echo "ok - $what"; else echo "not ok - $what"; fi
}

# A number from a state or eval --json file (one key per line).
key() { # file key
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\\([-0-9.eE+]*\\),*\$/\\1/p" "$1" | head -n 1
}

in_unit() { awk -v s="$1" 'BEGIN { exit !(s != "" && s >= 0 && s <= 1) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + 0) }'; }
same() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 1e-9 && d > -1e-9) }'; }

"$server" --port 0 --threads 4 >"$tmp/port" 2>"$tmp/server.err" &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
port=$(head -n 1 "$tmp/port")
url="http://127.0.0.1:$port/v1"
check "the reference server (test fixture) started" test -n "$port"
check "the top-level make built the multihop retriever" test -f examples/multihop/build/libretriever.so

export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL
limit=24

# optimize NAME DIR: examples/NAME/NAME.dsp, run in DIR.
optimize() {
    ex=$1
    (cd "$2" && "$dspcc" optimize "$here/examples/$ex/$ex.dsp" -o "$tmp/$ex.state.json" \
        --trainset-limit $limit --valset-limit $limit -j 2 --base-url "$url" --cache-dir "$tmp/cache-$ex") \
        >"$tmp/$ex.opt.out" 2>"$tmp/$ex.opt.err"
    rc=$?
    [ $rc -eq 0 ] || tail -n 5 "$tmp/$ex.opt.err" | sed 's/^/# /'
    check "$ex: dspcc optimize exits 0" test $rc -eq 0
    base=$(key "$tmp/$ex.state.json" baseline_score)
    final=$(key "$tmp/$ex.state.json" final_score)
    echo "# $ex: baseline $base, final $final"
    check "$ex: the baseline is in [0, 1]" in_unit "$base"
    check "$ex: the final score is in [0, 1]" in_unit "$final"
    check "$ex: the final score is at least the baseline" ge "$final" "$base"
}

# evaluate NAME DIR TAG: dspcc eval --state on the dev rows the optimizer scored.
evaluate() {
    ex=$1 tag=$3
    (cd "$2" && "$dspcc" eval "$here/examples/$ex/$ex.dsp" --state "$tmp/$ex.state.json" --data dev \
        --limit $limit --json --base-url "$url" --cache-dir "$tmp/cache-$ex") \
        >"$tmp/$ex.$tag.json" 2>"$tmp/$ex.$tag.err"
    rc=$?
    [ $rc -eq 0 ] || tail -n 5 "$tmp/$ex.$tag.err" | sed 's/^/# /'
    check "$ex: dspcc eval --state exits 0 ($tag)" test $rc -eq 0
    score=$(key "$tmp/$ex.$tag.json" score)
    check "$ex: eval's score is in [0, 1] ($tag)" in_unit "$score"
    check "$ex: no example failed ($tag)" test "$(key "$tmp/$ex.$tag.json" failed)" = 0
    check "$ex: eval reproduces the optimizer's final score ($tag)" \
        same "$score" "$(key "$tmp/$ex.state.json" final_score)"
    check "$ex: the state's scores are over all $limit dev examples ($tag)" \
        test "$(key "$tmp/$ex.state.json" valset_examples)" = "$limit"
}

# evaluate_baseline NAME: dspcc eval without a state (the program as
# written) prints the baseline score the state records.
evaluate_baseline() {
    ex=$1
    "$dspcc" eval "$here/examples/$ex/$ex.dsp" --data dev --limit $limit --json --base-url "$url" \
        --cache-dir "$tmp/cache-$ex" >"$tmp/$ex.base.json" 2>"$tmp/$ex.base.err"
    check "$ex: eval of the unoptimized program reproduces the recorded baseline" \
        same "$(key "$tmp/$ex.base.json" score)" "$(key "$tmp/$ex.state.json" baseline_score)"
}

optimize tickets "$here"
evaluate tickets "$here" "from the repository root"
evaluate_baseline tickets

optimize extract "$here"
evaluate extract "$here" "from the repository root"
evaluate_baseline extract
# The fixture's confidences stay in range, so the penalty cannot dominate:
# the scores above are in [0, 1]; a real LM's odd value is clamped by the
# metric itself (see extract.dsp).

optimize multihop "$here"
evaluate multihop "$here/examples/multihop" "from the example folder"
(cd examples/multihop && evaluate_baseline multihop)
mkdir -p "$tmp/elsewhere"
evaluate multihop "$tmp/elsewhere" "from another directory"
