#!/bin/sh
# ensemble's members, size and field options against build/dsp-refserver (a
# TEST FIXTURE, not a language model), on the ticket classifier (60 train,
# 60 dev rows, seed 7):
#  - ensemble(members: 4, size: 2, num_candidates: 4): 4 members, each call
#    runs 2 of them drawn per input (DSPy's size); the state says so
#    ("size": 2, "seed": 7); `dspcc eval --state` reproduces the score with
#    2 calls an example; a warm re-run writes the same state; the generated
#    C bakes size and seed and chooses as eval does on every row;
#  - field: category votes where the default does; field: reasoning votes
#    on the reasoning (index 0 in the C table, which chooses as eval does);
#    field: nosuch is a check
#    error at its place naming the outputs there are; size: 0 is out of
#    range.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/gen_parity.sh

tickets_with 'ensemble(members: 4, size: 2, num_candidates: 4)' sub.dsp
serve
check "the reference server (test fixture) started" test -n "$port"

opt sub sub.dsp cache
check "ensemble(members: 4, size: 2) exits 0" test $? -eq 0
final=$(json_key "$tmp/sub.json" final_score)
echo "# tickets 60/60, seed 7: zero-shot $(json_key "$tmp/sub.json" baseline_score), 2 of 4 members a call $final"
check "the trial says 2 members are drawn per input" \
    grep -q '"config": "ensemble of candidates [0-9, ]* (majority of 2 drawn per input)"' "$tmp/sub.json"
check "the state holds 4 members, 2 a call, and the seed" \
    sh -c "grep -q '\"ensemble\": { \"field\": \"category\", \"size\": 2, \"seed\": 7, \"members\": \[' '$tmp/sub.json' &&
           test \$(sed -n '/\"ensemble\": {/,\$p' '$tmp/sub.json' | grep -c '^        {\$') -eq 4"
ev=$(eval_score eval sub.dsp sub.json 60 --cache-dir "$tmp/cache")
check "dspcc eval --state reproduces the score" same_score "$ev" "$final"
check "with 2 calls an example" test "$(json_key "$tmp/eval.json" lm_calls)" = 120
opt warm sub.dsp cache
check "a warm re-run writes the same state" cmp -s "$tmp/sub.json" "$tmp/warm.json"
gen_parity sub.dsp sub.json tickets ticket_classifier category category 60
check "the C table holds the size and the seed" \
    grep -q 'static const dsp_ensemble k_p0_ens = { k_p0_ens_m, 4, 1, 2, 7u, NULL };' "$tmp/gen/tickets.c"
check "the generated program's accuracy is the state's ($right)" same_score "$right" "$final"

tickets_with 'ensemble(num_candidates: 4)' plain.dsp
tickets_with 'ensemble(num_candidates: 4, field: category)' cat.dsp
tickets_with 'ensemble(num_candidates: 4, field: reasoning)' why.dsp
for f in plain cat why; do
    opt "$f" "$f.dsp" cache
    check "ensemble ($f) exits 0" test $? -eq 0
done
check "field: category votes as the default does" \
    test "$(sed -n '/"ensemble": {/,$p' "$tmp/cat.json")" = "$(sed -n '/"ensemble": {/,$p' "$tmp/plain.json")"
check "field: reasoning votes on the reasoning" grep -q '"ensemble": { "field": "reasoning", "members": \[' "$tmp/why.json"
"$dspcc" build "$tmp/why.dsp" --state "$tmp/why.json" -o "$tmp/why.c" 2>"$tmp/why.err"
check "and the C votes on output 0" grep -q 'static const dsp_ensemble k_p0_ens = { k_p0_ens_m, 3, 0, 0, 0u, NULL };' \
    "$tmp/why.c"
ev=$(eval_score evwhy why.dsp why.json 60 --cache-dir "$tmp/cache")
check "dspcc eval --state reproduces its score" same_score "$ev" "$(json_key "$tmp/why.json" final_score)"
gen_parity why.dsp why.json tickets ticket_classifier category category 60

tickets_with 'ensemble(field: nosuch)' bad.dsp
"$dspcc" check "$tmp/bad.dsp" >/dev/null 2>"$tmp/bad.err"
check "field: nosuch fails dspcc check" test $? -eq 1
check "naming its place and the outputs there are" \
    grep -q "bad.dsp:[0-9]*:[0-9]*: error: ensemble: \`field: nosuch\` is not an output of any predictor of module \`TicketClassifier\` (its last, TicketClassifier.r, makes \`reasoning\`, \`category\`)" \
    "$tmp/bad.err"
tickets_with 'ensemble(size: 0)' zero.dsp
"$dspcc" check "$tmp/zero.dsp" >/dev/null 2>"$tmp/zero.err"
check "size: 0 is out of range" grep -q 'argument of ensemble: `size` must be between 1 and 16' "$tmp/zero.err"
