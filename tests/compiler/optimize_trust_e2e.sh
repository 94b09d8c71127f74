#!/bin/sh
# Scores a user can trust, end to end against build/dsp-refserver (a TEST
# FIXTURE, a deterministic in-context learner, not a language model) on
# 127.0.0.1:
#  - no silent regression: on data where few-shot demos hurt (the fixture
#    learns from demos; tests/compiler/fixtures/demos_hurt has a trainset
#    whose labels are rotated), labeled_fewshot's program is not shipped:
#    the state keeps the unoptimized program, records both scores and says
#    why, and so do the summary, the report and the generated C;
#    --allow-regression ships it anyway and says so;
#  - headline scores are whole-valset scores: mipro (auto: light) searches
#    on 100 of 130 dev tickets, says so, and the baseline and final scores
#    it records are what `dspcc eval` prints on all 130;
#  - random_search does not score a candidate that repeats an earlier one;
#    it, simba and ensemble score their final candidates at once, and the
#    state at -j 16 is the state at -j 1, byte for byte;
#  - gepa, simba, knn_fewshot and ensemble print the scores `dspcc eval`
#    prints, without a cache, for the program as written and the state, and
#    never ship a program scoring below the program as written;
#  - failed examples are counted per trial and in total under injected
#    faults, and a clean run says none failed.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

hurt=tests/compiler/fixtures/demos_hurt
cp "$hurt/route.dsp" "$hurt/train.jsonl" "$hurt/dev.jsonl" "$tmp/"

serve
check "the reference server (test fixture) started" test -n "$port"

# eval_on DSP ROWS [ARGS...]: the score `dspcc eval` prints for $tmp/DSP on
# the first ROWS dev examples: its text line (4 decimals) and its --json
# value, separated by a space.
eval_on() {
    eo_dsp=$1 eo_rows=$2
    shift 2
    eo_text=$("$dspcc" eval "$tmp/$eo_dsp" --data dev --limit "$eo_rows" --base-url "$url" "$@" 2>"$tmp/eval.err" |
        sed -n 's/^score[[:space:]]*\([0-9.]*\)$/\1/p')
    "$dspcc" eval "$tmp/$eo_dsp" --data dev --limit "$eo_rows" --base-url "$url" --json "$@" >"$tmp/eval.json" \
        2>>"$tmp/eval.err"
    echo "$eo_text $(json_key "$tmp/eval.json" score)"
}
# prints SCORE "TEXT JSON": eval printed SCORE, a state's number, both ways.
prints() {
    set -- "$1" $2
    [ "$2" = "$(printf '%.4f' "$1")" ] && same_score "$3" "$1"
}
str_key() { # FILE KEY: a string value of a state file
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"\\(.*\\)\",*\$/\\1/p" "$1" | head -n 1
}

# ---- no silent regression ----------------------------------------------
optimize_into hurt route.dsp hurt.json --report "$tmp/hurt.html" --cache-dir "$tmp/c1"
check "labeled_fewshot on data where demos hurt exits 0" test $? -eq 0
base=$(json_key "$tmp/hurt.json" baseline_score)
final=$(json_key "$tmp/hurt.json" final_score)
optd=$(json_key "$tmp/hurt.json" optimized_score)
echo "# demos hurt: unoptimized $base, labeled_fewshot's program $optd, shipped $final"
check "the optimizer's program scores below the unoptimized one" ge "$base" "$optd" 0.2
check "the state keeps the unoptimized program" test "$(str_key "$tmp/hurt.json" shipped)" = unoptimized
check "its final score is the unoptimized program's" same_score "$final" "$base"
check "the state has no demos" not grep -q '"outputs": {' "$tmp/hurt.json"
check "the state says why" grep -q '"shipped_reason": "kept the unoptimized program: labeled_fewshot.s program scored' \
    "$tmp/hurt.json"
check "the summary says so in one line" \
    test "$(grep -c "^kept the unoptimized program: labeled_fewshot's program scored 0.0000, not above the unoptimized program's 1.0000, on all 9 dev examples (--allow-regression ships it anyway)\$" "$tmp/hurt.out")" -eq 1
check "the report gives both scores and the reason" \
    sh -c "grep -q '<tr><th>optimized score</th><td>0.0000' '$tmp/hurt.html' && grep -q 'kept the unoptimized program' '$tmp/hurt.html'"
check "dspcc eval --state prints the recorded final score" prints "$final" "$(eval_on route.dsp 9 --state "$tmp/hurt.json" --cache-dir "$tmp/c1")"
"$dspcc" build "$tmp/route.dsp" --state "$tmp/hurt.json" -o "$tmp/hurt.c" >/dev/null 2>&1
check "the generated C's header says the unoptimized program ships and why" \
    grep -q "^ \*            unchanged: the optimizer's program scored 0.0000, not better" "$tmp/hurt.c"

optimize_into allow route.dsp allow.json --allow-regression --cache-dir "$tmp/c1"
check "--allow-regression exits 0" test $? -eq 0
check "--allow-regression ships the optimizer's program" \
    test "$(str_key "$tmp/allow.json" shipped)" = "optimized, regression allowed"
check "with its demos" grep -q '"outputs": {' "$tmp/allow.json"
check "and its lower score as the final one" same_score "$(json_key "$tmp/allow.json" final_score)" "$optd"
check "and says so" grep -q "^shipped labeled_fewshot's program as asked (--allow-regression)" "$tmp/allow.out"
check "dspcc eval --state agrees" prints "$optd" "$(eval_on route.dsp 9 --state "$tmp/allow.json" --cache-dir "$tmp/c1")"

# dspcc build optimizes when given no state, with the same guard and the
# same way past it (the warm cache answers every call).
DSPCC_CACHE_DIR="$tmp/c1" "$dspcc" build "$tmp/route.dsp" -o "$tmp/b_kept.c" --base-url "$url" >/dev/null 2>&1
check "dspcc build keeps the unoptimized program too" \
    test "$(str_key "$tmp/b_kept.state.json" shipped)" = "unoptimized"
DSPCC_CACHE_DIR="$tmp/c1" "$dspcc" build "$tmp/route.dsp" -o "$tmp/b_allow.c" --base-url "$url" \
    --allow-regression >/dev/null 2>&1
check "dspcc build --allow-regression ships the optimizer's program" \
    test "$(str_key "$tmp/b_allow.state.json" shipped)" = "optimized, regression allowed"
"$dspcc" build "$tmp/route.dsp" --no-opt -o "$tmp/b_no.c" --allow-regression 2>"$tmp/b_no.err"
check "dspcc build --allow-regression with --no-opt is a usage error naming why" \
    sh -c "test $? -eq 2 && grep -q 'applies when the build optimizes' '$tmp/b_no.err'"

# ---- without a valset, eval --holdout reruns the held-out rows ----------
tickets_with 'labeled_fewshot(k: 4)' nv.dsp
sed -i '/^  valset: dev$/d' "$tmp/nv.dsp"
optimize_into nv nv.dsp nv.json --trainset-limit 40 --valset-limit 25 --allow-regression --cache-dir "$tmp/c3"
check "labeled_fewshot without a valset exits 0" test $? -eq 0
check "the state lists the 25 held-out rows" \
    test "$(sed -n 's/^  "holdout_rows": \[\(.*\)\],$/\1/p' "$tmp/nv.json" | tr ',' '\n' | wc -l)" -eq 25
check "the summary says how to rerun them" grep -q "^no valset: the scores are on 25 held-out train rows; \`dspcc eval .*nv.dsp --state .*nv.json --holdout\` reruns them" "$tmp/nv.out"
"$dspcc" eval "$tmp/nv.dsp" --state "$tmp/nv.json" --holdout --base-url "$url" --cache-dir "$tmp/c3" --json \
    >"$tmp/nv_eval.json" 2>"$tmp/nv_eval.err"
check "dspcc eval --holdout reproduces the final score" \
    same_score "$(json_key "$tmp/nv_eval.json" score)" "$(json_key "$tmp/nv.json" final_score)"
check "on the same 25 rows" test "$(json_key "$tmp/nv_eval.json" n)" = 25
echo "# no valset: final $(json_key "$tmp/nv.json" final_score) on 25 held-out rows, eval --holdout $(json_key "$tmp/nv_eval.json" score)"
# A row past the data's end means the data changed: refused before any
# call (the base URL is a closed port).
sed 's/^\(  "holdout_rows": \[.*\), [0-9]*\],$/\1, 99999],/' "$tmp/nv.json" >"$tmp/nv_moved.json"
"$dspcc" eval "$tmp/nv.dsp" --state "$tmp/nv_moved.json" --holdout --base-url http://127.0.0.1:9/v1 --no-cache \
    2>"$tmp/nv_moved.err" >/dev/null
check "--holdout refuses a state holding out a row the data no longer has, before any call" \
    sh -c "test $? -eq 1 && grep -q 'holds out row 99999 of .*the data changed since the state was written' '$tmp/nv_moved.err'"
"$dspcc" eval "$tmp/route.dsp" --state "$tmp/hurt.json" --holdout --base-url "$url" 2>"$tmp/nv_bad.err" >/dev/null
check "--holdout with a state scored on a valset says to use --data" \
    sh -c "test $? -eq 1 && grep -q 'not on a holdout of the trainset; run \`--data dev\`' '$tmp/nv_bad.err'"

# ---- whole-valset headline scores after a sampled search ----------------
cp examples/tickets/tickets.dsp "$tmp/mipro.dsp"
optimize_into mp mipro.dsp mp.json --trainset-limit 60 --valset-limit 130 -j 4 --cache-dir "$tmp/c2" --report "$tmp/mp.html"
check "mipro (auto: light) on 130 dev examples exits 0" test $? -eq 0
check "the state records the 130 and the sample of 100" \
    sh -c "grep -q '\"valset_examples\": 130,' '$tmp/mp.json' && grep -q '\"search_examples\": 100,' '$tmp/mp.json'"
check "the summary says where it searched" grep -q '^  mipro searched on 100 of 130 dev examples' "$tmp/mp.out"
check "the progress says so before the search" grep -q 'searching on 100 of 130 dev examples' "$tmp/mp.err"
check "the report says the search used a sample" grep -q 'on a seeded sample of 100 of the 130 examples' "$tmp/mp.html"
check "the unoptimized program and 3 candidates were scored on all 130" \
    test "$(grep -c '"examples": 130,' "$tmp/mp.json")" -eq 4
mp_final=$(json_key "$tmp/mp.json" final_score)
mp_base=$(json_key "$tmp/mp.json" baseline_score)
ev_final=$(eval_on mipro.dsp 130 --state "$tmp/mp.json" --cache-dir "$tmp/c2")
ev_base=$(eval_on mipro.dsp 130 --cache-dir "$tmp/c2")
echo "# mipro: baseline $mp_base (eval $ev_base), final $mp_final (eval $ev_final)"
check "dspcc eval --state on all 130 prints the final score the state records" prints "$mp_final" "$ev_final"
check "dspcc eval of the unoptimized program prints the recorded baseline" prints "$mp_base" "$ev_base"
# The rescoring scores its four programs at once, each trial's tokens in a
# usage group of its own: one at a time (-j 1, the cache warm: hits count
# as first made) the state is the same, byte for byte.
optimize_into mp1 mipro.dsp mp1.json --trainset-limit 60 --valset-limit 130 -j 1 --cache-dir "$tmp/c2"
check "mipro's state at -j 1 from the cache is the one -j 4 wrote (per-trial tokens of the rescoring too)" \
    cmp -s "$tmp/mp.json" "$tmp/mp1.json"

# ---- random_search skips repeated candidates ----------------------------
# Two training rows: every bootstrap falls back to their two labels, in one
# of two orders, so most shuffled candidates repeat an earlier one.
tickets_with 'random_search(num_candidates: 6)' rs.dsp
optimize_into rs rs.dsp rs.json --trainset-limit 2 --valset-limit 20 -j 16 --cache-dir "$tmp/c3" --report "$tmp/rs.html"
check "random_search on two training rows exits 0" test $? -eq 0
n_trials=$(grep -c '"trial":' "$tmp/rs.json")
echo "# random_search: $n_trials of 9 candidates scored"
check "repeated candidates are not scored" test "$n_trials" -lt 9
check "the progress names each skipped one" \
    test "$(grep -c 'is the same program as candidate [0-9]* (.*); not scored again' "$tmp/rs.err")" -eq $((9 - n_trials))
check "the summary counts them" grep -q "^  random_search: $((9 - n_trials)) of 9 candidates (" "$tmp/rs.out"
check "the report lists it" grep -q '<li>random_search: ' "$tmp/rs.html"
# The distinct candidates are scored at once (-j 16), each trial's tokens
# in a usage group of its own: one at a time (-j 1, a cache of its own)
# the state is the same, byte for byte, and eval reproduces its score.
optimize_into rs1 rs.dsp rs1.json --trainset-limit 2 --valset-limit 20 -j 1 --cache-dir "$tmp/c3j1"
check "random_search's state at -j 1 is the one -j 16 wrote" cmp -s "$tmp/rs.json" "$tmp/rs1.json"
check "random_search scored its candidates at once at -j 16" grep -q "$n_trials candidates on the valset" "$tmp/rs.err"
check "random_search: dspcc eval --state --no-cache prints the final score" \
    prints "$(json_key "$tmp/rs.json" final_score)" "$(eval_on rs.dsp 20 --state "$tmp/rs.json" --no-cache)"

# ---- gepa, simba, knn_fewshot, ensemble: printed scores are eval's ------
# Each runs on a subset (the intents fixture for knn, the tickets for the
# rest). The summary's "baseline B -> final F" must be what `dspcc eval`
# prints for the program as written and for the saved state, with no cache
# (the fixture answers every call again, so the state alone must give the
# same prompts), and the state's numbers must be eval's --json ones. The
# guard: what ships scores above the program as written, or the program as
# written ships with its own score.
cp tests/compiler/fixtures/intents/intents.dsp "$tmp/knn.dsp"
tickets_with 'gepa(max_metric_calls: 150)' gepa.dsp
tickets_with 'simba(bsize: 8, num_candidates: 3, max_steps: 3)' simba.dsp
tickets_with 'ensemble(size: 3, num_candidates: 3)' ensemble.dsp
for o in gepa simba knn ensemble; do
    rows=40
    optimize_into "new_$o" "$o.dsp" "new_$o.json" --trainset-limit 60 --valset-limit $rows -j 16 --cache-dir "$tmp/c5"
    check "$o on $rows dev rows exits 0" test $? -eq 0
    # Its final candidates are scored at once; one at a time (-j 1, the
    # cache warm: hits count as first made) the state is the same.
    case $o in simba | ensemble)
        optimize_into "new1_$o" "$o.dsp" "new1_$o.json" --trainset-limit 60 --valset-limit $rows -j 1 --cache-dir "$tmp/c5"
        check "$o: the state at -j 1 is the one -j 16 wrote" cmp -s "$tmp/new_$o.json" "$tmp/new1_$o.json" ;;
    esac
    printed=$(sed -n 's/^[A-Za-z_]*: [a-z_]* baseline \([0-9.]*\) -> final \([0-9.]*\) on .*/\1 \2/p' "$tmp/new_$o.out")
    p_base=${printed% *} p_final=${printed#* }
    s_base=$(json_key "$tmp/new_$o.json" baseline_score)
    s_final=$(json_key "$tmp/new_$o.json" final_score)
    ev_final=$(eval_on "$o.dsp" $rows --state "$tmp/new_$o.json" --no-cache)
    ev_base=$(eval_on "$o.dsp" $rows --no-cache)
    echo "# $o: printed baseline $p_base (eval $ev_base), final $p_final (eval $ev_final), shipped $(str_key "$tmp/new_$o.json" shipped)"
    check "$o: the summary prints the state's scores" \
        sh -c "test '$p_base' = \"\$(printf '%.4f' '$s_base')\" && test '$p_final' = \"\$(printf '%.4f' '$s_final')\""
    check "$o: dspcc eval --state --no-cache prints the final score" prints "$s_final" "$ev_final"
    check "$o: dspcc eval --no-cache of the program as written prints the baseline" prints "$s_base" "$ev_base"
    case $(str_key "$tmp/new_$o.json" shipped) in
    unoptimized) check "$o: kept the program as written, with its score" same_score "$s_final" "$s_base" ;;
    optimized) check "$o: shipped a program that scores above the program as written" ge "$s_final" "$s_base" 0.0001 ;;
    *) check "$o: shipped says optimized or unoptimized" false ;;
    esac
done

# ---- failures counted ----------------------------------------------------
check "a clean run's summary counts 0 failed of every example scored" \
    grep -q '^failed examples: 0 of 18 scored over 2 trials$' "$tmp/hurt.out"
check "and the state records 0" test "$(json_key "$tmp/hurt.json" failed_examples)" = 0
tickets_with 'bootstrap_fewshot()' bs.dsp
serve --fail-rate 0.2 --fail-kinds missing-field,wrong-type --seed 5
opt faulty bs.dsp c4
check "bootstrap_fewshot under injected faults exits 0" test $? -eq 0
failed=$(json_key "$tmp/faulty.json" failed_examples)
echo "# with 20% faults: $failed failed examples"
check "the state counts the failed examples" awk -v n="$failed" 'BEGIN { exit !(n > 0) }'
per_trial=$(sed -n 's/.*"failed": \([0-9]*\),.*/\1/p' "$tmp/faulty.json" | awk '{ s += $1 } END { print s + 0 }')
check "the total is the sum of the trials' counts" test "$per_trial" = "$failed"
check "the summary gives the total and the trials with failures" \
    grep -q "^failed examples: $failed of 120 scored over 2 trials, in [12] of them; failed teacher runs: [0-9]* of [0-9]*" \
    "$tmp/faulty.out"
check "a trial scored with failures says so" grep -q 'scored [0-9.]* with [0-9]* of 60 examples failed (they score 0; the first: ' \
    "$tmp/faulty.err"
check "the state counts the teacher runs and their failures" \
    awk -v n="$(json_key "$tmp/faulty.json" teacher_runs)" -v f="$(json_key "$tmp/faulty.json" failed_teacher_runs)" \
    'BEGIN { exit !(n > 0 && f != "" && f <= n) }'
