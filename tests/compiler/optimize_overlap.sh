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
#  - without a valset, a trainset holding each row twice leaves out the
#    copies of the rows held out for scoring;
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
    "every row of train repeats the inputs of rows of dev (.*train.jsonl:1 the first); hold out separate data" \
    "$tmp/only.err"
check "and writes no state" test ! -e "$tmp/only.json"

# Without a valset the scores are on a seeded fifth of the trainset: a row
# the trainset holds twice must not be a demo for its own copy.
sed '/^  valset: dev$/d' "$tmp/labeled_fewshot.dsp" >"$tmp/hold.dsp"
cp "$tmp/clean.jsonl" "$tmp/train.jsonl"
optimize_into hold_clean hold.dsp hold_clean.json --cache-dir "$tmp/cache"
check "without a valset, 40 distinct rows: nothing left out" not grep -q 'repeat rows' "$tmp/hold_clean.err"
cat "$tmp/clean.jsonl" "$tmp/clean.jsonl" >"$tmp/train.jsonl"
optimize_into hold hold.dsp hold.json --cache-dir "$tmp/cache"
check "without a valset, each of 40 rows twice: exits 0" test $? -eq 0
check "the copies of the held-out rows are left out, and said" grep -q \
    "^dspcc optimize: warning: left [1-9][0-9]* of the 64 rows of train out (the first: .*train.jsonl:[0-9]*): their inputs repeat rows held out of it for scoring" \
    "$tmp/hold.err"
held_texts() { # the texts of the rows a state was scored on (its holdout_rows, 0-based)
    tr -d ' \n' <"$1" | sed 's/.*"holdout_rows":\[\([0-9,]*\)\].*/\1/' | tr ',' '\n' |
        while read -r r; do sed -n "$((r + 1))p" "$tmp/train.jsonl"; done
}
held_texts "$tmp/hold.json" | sed 's/^{"text": "\([^"]*\)".*/\1/' >"$tmp/held.txt"
check "the state's demos show none of the held-out rows" \
    sh -c "test -s '$tmp/held.txt' && ! grep -F -f '$tmp/held.txt' '$tmp/hold.json' | grep -q '\"ticket_text\":'"

prog self.dsp "labeled_fewshot(k: 4)" train
cp "$tmp/clean.jsonl" "$tmp/train.jsonl"
optimize_into self self.dsp self.json --cache-dir "$tmp/cache"
check "valset: train still runs" test $? -eq 0
