#!/bin/sh
# Training rows that repeat a valset row's inputs are left out of the
# trainset, end to end against build/dsp-refserver (a TEST FIXTURE, a
# deterministic in-context learner, not a language model) on 127.0.0.1:
# a demo of such a row would show the valset row its own answer (the
# fixture copies the label of the nearest demo), and the valset's scores,
# which choose candidates and decide what ships, would be optimistic.
# On 40 training tickets with the 20 dev tickets appended to them:
#  - labeled_fewshot and knn_fewshot say on stderr how many rows they left
#    out and where the first is;
#  - their states are those of a run on the 40 rows alone (no demo or pool
#    row is a dev ticket);
#  - a trainset made only of valset rows is an error saying to hold out
#    separate data;
#  - `valset: train` (the trainset itself, which dspcc check warns of)
#    still runs.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

head -n 40 examples/tickets/data/train.jsonl >"$tmp/clean.jsonl"
head -n 20 examples/tickets/data/dev.jsonl >"$tmp/dev.jsonl"
cat "$tmp/clean.jsonl" "$tmp/dev.jsonl" >"$tmp/leaky.jsonl"
# prog FILE OPTIMIZER [VALSET]: the ticket classifier on train.jsonl.
prog() {
    sed -e "s/with mipro([^)]*)/with $2/" -e 's|"data/train.jsonl"|"train.jsonl"|' \
        -e 's|"data/dev.jsonl"|"dev.jsonl"|' -e "s/valset: dev/valset: ${3:-dev}/" \
        examples/tickets/tickets.dsp >"$tmp/$1"
    if [ "$2" != "${2#knn}" ]; then
        sed -i 's/^  seed: 7$/  seed: 7\n  embedder: embed/' "$tmp/$1"
        echo 'lm embed = "openai/text-embedding-3-small"' >>"$tmp/$1"
    fi
}
# the state without what depends on the cache
strip() { grep -v -e '"cache_hits"' -e '"lm_calls"' "$1"; }

serve
check "the reference server (test fixture) started" test -n "$port"

for o in labeled_fewshot knn_fewshot; do
    prog "$o.dsp" "$o(k: 16)"
    cp "$tmp/clean.jsonl" "$tmp/train.jsonl"
    optimize_into "${o}_clean" "$o.dsp" "${o}_clean.json" -j 4 --cache-dir "$tmp/cache"
    check "$o on 40 training rows exits 0" test $? -eq 0
    check "$o on them says nothing of repeated rows" not grep -q 'repeat rows of' "$tmp/${o}_clean.err"
    cp "$tmp/leaky.jsonl" "$tmp/train.jsonl"
    optimize_into "${o}_leaky" "$o.dsp" "${o}_leaky.json" -j 4 --cache-dir "$tmp/cache"
    check "$o with the 20 dev rows appended exits 0" test $? -eq 0
    check "$o says it left them out, and where the first is" grep -q \
        "^dspcc optimize: warning: left 20 of the 60 rows of train out (the first: .*train.jsonl:41): their inputs repeat rows of dev" \
        "$tmp/${o}_leaky.err"
    strip "$tmp/${o}_clean.json" >"$tmp/a"
    strip "$tmp/${o}_leaky.json" >"$tmp/b"
    check "$o: the state is the one of the 40 rows alone" cmp -s "$tmp/a" "$tmp/b"
done
check "no demo is a dev ticket" sh -c "! grep -F -q \"\$(sed -n '1s/^{\"text\": \"\\([^\"]*\\)\".*/\\1/p' '$tmp/dev.jsonl')\" '$tmp/knn_fewshot_leaky.json'"

cp "$tmp/dev.jsonl" "$tmp/train.jsonl"
optimize_into only labeled_fewshot.dsp only.json --cache-dir "$tmp/cache"
check "a trainset of valset rows only is an error" test $? -eq 1
check "saying to hold out separate data" grep -q \
    "every row of train repeats the inputs of a row of dev (.*train.jsonl:1 the first); hold out separate data" \
    "$tmp/only.err"
check "and writes no state" test ! -e "$tmp/only.json"

prog self.dsp "labeled_fewshot(k: 4)" train
cp "$tmp/clean.jsonl" "$tmp/train.jsonl"
optimize_into self self.dsp self.json --cache-dir "$tmp/cache"
check "valset: train still runs" test $? -eq 0
