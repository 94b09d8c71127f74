#!/bin/sh
# knn_fewshot and ensemble states in shadow mode (`dspcc build --state A
# --shadow-state B`), against build/dsp-refserver (a TEST FIXTURE, not a
# language model), on the 27-way intents (tests/compiler/fixtures/intents;
# 60 train rows, 20 dev rows). Three states: K (knn_fewshot(k: 3)), E
# (ensemble(size: 3, num_candidates: 2)) and L (labeled_fewshot(k: 3)).
# For each pair (K, E), (E, K) and (L, K), the program built with both
# (tests/compiler/fixtures/shadow_knn/shadow_classify.c) must answer every
# dev text, on its primary client, as the program built with A alone and, on
# a client given its shadow variant, as the program built with B alone;
# run_shadow returns the primary's answer and agrees exactly when the two
# labels are equal. Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/rt_link.sh

cp tests/compiler/fixtures/intents/intents.dsp "$tmp/k.dsp"
sed 's/knn_fewshot(k: 3, dimensions: 256)/ensemble(size: 3, num_candidates: 2)/; /embedder: embed/d' \
    "$tmp/k.dsp" >"$tmp/e.dsp"
sed 's/knn_fewshot(k: 3, dimensions: 256)/labeled_fewshot(k: 3)/; /embedder: embed/d' "$tmp/k.dsp" >"$tmp/l.dsp"
serve
check "the reference server (test fixture) started" test -n "$port"
for s in k e l; do
    # shellcheck disable=SC2086
    optimize_into "opt_$s" "$s.dsp" "$s.json" --trainset-limit 60 --valset-limit 20 -j 4 --cache-dir "$tmp/cache" \
        --allow-regression -q
    check "state $s optimized" test $? -eq 0
done
check "K has a knn, E an ensemble" sh -c "grep -q '\"knn\": {' '$tmp/k.json' && grep -q '\"ensemble\": {' '$tmp/e.json'"
sed -n 's/^{"text": "\([^"]*\)".*/\1/p' examples/tickets/data/dev.jsonl | head -n 20 >"$tmp/texts.txt"
strict="-std=c17 -Wall -Wextra -Werror -pedantic -Iruntime/include -I/usr/include/cjson"

# alone S: the labels the program built with state S alone gives.
alone() {
    mkdir -p "$tmp/alone_$1"
    "$dspcc" build "$tmp/k.dsp" --state "$tmp/$1.json" -o "$tmp/alone_$1/intents.c" 2>"$tmp/build.err" &&
    # shellcheck disable=SC2086
    cc $strict $RT_SAN -I"$tmp/alone_$1" -DPROG_H='"intents.h"' -DPROG=intent_classifier -DFIELD=intent \
        -DKEY='"label"' -o "$tmp/alone_$1/classify" tests/compiler/fixtures/classify_main.c "$tmp/alone_$1/intents.c" \
        "$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/cc.err" &&
    DSPCC_BASE_URL=$url "$tmp/alone_$1/classify" <"$tmp/texts.txt" | sed 's/.*"label":"\([a-z_]*\)".*/\1/' \
        >"$tmp/alone_$1/labels"
}
for s in k e l; do
    alone $s
    check "the program of $s alone answers the 20 texts" test "$(grep -c . "$tmp/alone_$s/labels")" -eq 20
done

for pair in "k e" "e k" "l k"; do
    set -- $pair
    d="$tmp/$1$2"
    mkdir -p "$d"
    "$dspcc" build "$tmp/k.dsp" --state "$tmp/$1.json" --shadow-state "$tmp/$2.json" -o "$d/intents.c" \
        2>"$tmp/build.err"
    check "$1 with $2 in its shadow: dspcc build" test $? -eq 0
    for cc in gcc clang; do
        # shellcheck disable=SC2086
        $cc $strict $RT_SAN -I"$d" -o "$d/shadow_$cc" tests/compiler/fixtures/shadow_knn/shadow_classify.c \
            "$d/intents.c" "$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/cc.err"
        rc=$?
        [ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/cc.err" | head -n 10
        check "$1 with $2: the program compiles strictly ($cc)" test $rc -eq 0
    done
    DSPCC_BASE_URL=$url "$d/shadow_gcc" <"$tmp/texts.txt" >"$d/out" 2>"$d/err"
    rc=$?
    sed 's/^/# /' "$d/err" | head -n 5
    check "$1 with $2: run_shadow answers the primary's and agrees exactly when the labels are equal" test $rc -eq 0
    cut -d' ' -f1 "$d/out" >"$d/primary"
    cut -d' ' -f2 "$d/out" >"$d/shadow"
    check "$1 with $2: the primary answers as $1 alone" cmp -s "$d/primary" "$tmp/alone_$1/labels"
    check "$1 with $2: the shadow answers as $2 alone" cmp -s "$d/shadow" "$tmp/alone_$2/labels"
    echo "# $1 with $2: agreed on $(grep -c ' 1$' "$d/out") of 20"
done
check "K and E disagree somewhere (the shadow's own choices matter)" not cmp -s "$tmp/alone_k/labels" "$tmp/alone_e/labels"
check "K and L disagree somewhere" not cmp -s "$tmp/alone_k/labels" "$tmp/alone_l/labels"
