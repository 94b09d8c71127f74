#!/bin/sh
# ensemble(states: [...]): saved states of one program combined into one,
# against build/dsp-refserver (a TEST FIXTURE, not a language model), on
# the ticket classifier (60 train, 60 dev rows, seed 7). Three states
# (labeled_fewshot, bootstrap_fewshot, random_search) are optimized, then
# ensemble(states: ["a.json", "b.json", "c.json"]):
#  - each state is scored as a trial, then the ensemble; no search;
#  - the state's members are the three states' prompts, in order;
#    `dspcc eval --state` reproduces the score, 3 calls an example; the
#    generated C (gcc and clang, strict) chooses as eval does on every row;
#  - with size: 2 each call runs 2 of the 3 (eval: 2 calls an example);
#  - dspcc fmt keeps the list; a state of another program, an ensemble
#    state as a member, a missing file, one state, a string for the list,
#    and `members:` beside `states:` are errors that say what to do.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/gen_parity.sh

tickets_with 'labeled_fewshot(k: 8)' a.dsp
tickets_with 'bootstrap_fewshot()' b.dsp
tickets_with 'random_search(num_candidates: 2)' c.dsp
tickets_with 'ensemble(states: ["a.json", "b.json", "c.json"])' e.dsp
tickets_with 'ensemble(states: ["a.json", "b.json", "c.json"], size: 2)' e2.dsp
serve
check "the reference server (test fixture) started" test -n "$port"
for s in a b c; do
    opt "$s" "$s.dsp" cache --allow-regression -q
    check "state $s optimized" test $? -eq 0
done

opt e e.dsp cache
check "ensemble(states: [...]) exits 0" test $? -eq 0
final=$(json_key "$tmp/e.json" final_score)
echo "# tickets 60/60, seed 7: states $(json_key "$tmp/a.json" optimized_score), $(json_key "$tmp/b.json" optimized_score), $(json_key "$tmp/c.json" optimized_score); their ensemble $final"
check "each state is a trial, then the ensemble" \
    test "$(jq -c '[.trials[].config]' "$tmp/e.json")" = \
    '["zero-shot","state a.json","state b.json","state c.json","ensemble of states a.json, b.json, c.json (majority)"]'
for s in a b c; do
    i=$(printf 'a b c' | tr ' ' '\n' | grep -n "^$s\$" | cut -d: -f1)
    check "member $i is state $s's prompt" test "$(jq -c ".predictors[0].ensemble.members[$((i - 1))].demos" "$tmp/e.json")" = \
        "$(jq -c '.predictors[0].demos // []' "$tmp/$s.json")"
done
ev=$(eval_score eval e.dsp e.json 60 --cache-dir "$tmp/cache")
check "dspcc eval --state reproduces the score" same_score "$ev" "$final"
check "calling every member (3 calls an example)" test "$(json_key "$tmp/eval.json" lm_calls)" = 180
gen_parity e.dsp e.json tickets ticket_classifier category category 60
check "the generated program's accuracy is the state's ($right)" same_score "$right" "$final"

opt e2 e2.dsp cache
check "with size: 2 it exits 0" test $? -eq 0
check "and says 2 are drawn per input" \
    grep -q '"config": "ensemble of states a.json, b.json, c.json (majority of 2 drawn per input)"' "$tmp/e2.json"
ev=$(eval_score eval2 e2.dsp e2.json 60 --cache-dir "$tmp/cache")
check "eval reproduces it with 2 calls an example" \
    sh -c "test '$(json_key "$tmp/eval2.json" lm_calls)' = 120 && awk -v a='$ev' -v b='$(json_key "$tmp/e2.json" final_score)' 'BEGIN { exit !(a == b) }'"

cp "$tmp/e.dsp" "$tmp/fmt.dsp"
sed -i 's/\["a.json", "b.json", "c.json"\]/[ "a.json","b.json",\n   "c.json" ]/' "$tmp/fmt.dsp"
"$dspcc" fmt "$tmp/fmt.dsp"
check "dspcc fmt writes the list on one line" cmp -s "$tmp/fmt.dsp" "$tmp/e.dsp"

bad() { # NAME LIST EXPECTED: `dspcc optimize` with ensemble(states: LIST) fails saying EXPECTED
    tickets_with "ensemble(states: $2)" "$1.dsp"
    "$dspcc" optimize "$tmp/$1.dsp" -o "$tmp/$1.json" --base-url "$url" --cache-dir "$tmp/cache" $limits \
        >/dev/null 2>"$tmp/$1.err"
    rc=$?
    sed "s/^/# /" "$tmp/$1.err" | head -n 3
    check "$1: exits 1" test $rc -eq 1
    check "$1: says: $3" grep -qF "$3" "$tmp/$1.err"
    check "$1: writes no state" test ! -e "$tmp/$1.json"
}
cp "$here/tests/compiler/fixtures/intents/intents.dsp" "$tmp/intents.dsp"
"$dspcc" optimize "$tmp/intents.dsp" -o "$tmp/intents.json" --base-url "$url" --cache-dir "$tmp/cache" \
    --trainset-limit 20 --valset-limit 5 --allow-regression -q >/dev/null 2>&1
bad other '["a.json", "intents.json"]' 'intents.json has predictor `IntentClassifier.r`, which other.dsp does not (a state of another program?)'
bad nested '["a.json", "e.json"]' 'e.json: predictor `TicketClassifier.r` has an ensemble; a member is a prompt'
bad missing '["a.json", "nosuch.json"]' 'nosuch.json: cannot open the state file: No such file or directory'
bad one '["a.json"]' '`states` must list 2 to 16 strings'
bad string '"a.json"' '`states` must be a list of strings'
bad both '["a.json", "b.json"], members: 3' 'with `states:` every state listed is a member and nothing is searched for'
