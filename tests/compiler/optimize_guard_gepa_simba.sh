#!/bin/sh
# The no-regression guard holds for gepa and simba, end to end against
# build/dsp-refserver (a TEST FIXTURE, a deterministic in-context learner,
# not a language model) on 127.0.0.1. The trainset
# (tests/compiler/fixtures/demos_hurt/train_unnamed.jsonl) has rotated
# labels and texts that do not name a queue; the dev set names each queue,
# so the program as written solves it. What gepa's reflections learn from
# the trainset (hints for the rotated labels), and simba's demos and rules,
# hurt on dev:
#  - each scores candidates on the whole valset below the program as
#    written, and ships the program as written: the state records that,
#    why, its score as the final one, and no hints or demos; the summary
#    says so in one line; `dspcc eval --state` reproduces the score;
#  - a warm re-run writes the same state without HTTP requests.
# (optimize_gepa_e2e.sh and optimize_simba_e2e.sh cover determinism and
# resuming after SIGKILL on the ticket classifier.) Prints TAP.
set -u
. tests/support/optimize_e2e.sh

hurt=tests/compiler/fixtures/demos_hurt
cp "$hurt/dev.jsonl" "$tmp/"
cp "$hurt/train_unnamed.jsonl" "$tmp/train.jsonl"
sed 's/with labeled_fewshot(k: 6)/with gepa(max_metric_calls: 60)/' "$hurt/route.dsp" >"$tmp/gepa.dsp"
sed 's/with labeled_fewshot(k: 6)/with simba(bsize: 4, num_candidates: 3, max_steps: 3)/' \
    "$hurt/route.dsp" >"$tmp/simba.dsp"

serve
check "the reference server (test fixture) started" test -n "$port"

str_key() { # FILE KEY: a string value of a state file
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"\\(.*\\)\",*\$/\\1/p" "$1" | head -n 1
}
# worse_candidates FILE BASE: how many whole-valset trials (9 rows) of
# candidates other than the program as written scored below BASE.
worse_candidates() {
    grep '"examples": 9,' "$1" | grep -v '"config": "candidate 0' |
        sed -n 's/.*"score": \([0-9.e-]*\),.*/\1/p' | awk -v b="$2" '$1 < b { n++ } END { print n + 0 }'
}

for o in gepa simba; do
    optimize_into "$o" "$o.dsp" "$o.json" --cache-dir "$tmp/cache_$o"
    check "$o on data where what it learns hurts exits 0" test $? -eq 0
    base=$(json_key "$tmp/$o.json" baseline_score)
    final=$(json_key "$tmp/$o.json" final_score)
    worse=$(worse_candidates "$tmp/$o.json" "$base")
    echo "# $o: the program as written $base, $worse candidates below it on the whole valset, shipped $final"
    check "$o scored candidates on the whole valset below the program as written" test "$worse" -ge 1
    check "$o: the state keeps the unoptimized program" test "$(str_key "$tmp/$o.json" shipped)" = unoptimized
    check "$o: its final score is the unoptimized program's" same_score "$final" "$base"
    check "$o: the state says why" \
        grep -q "\"shipped_reason\": \"kept the unoptimized program: no $o candidate scored above its" "$tmp/$o.json"
    check "$o: the state has no hints and no demos" \
        sh -c "! grep -q 'Label hints' '$tmp/$o.json' && ! grep -q '\"outputs\": {' '$tmp/$o.json'"
    check "$o: the summary says so in one line" \
        test "$(grep -c "^kept the unoptimized program: no $o candidate scored above its" "$tmp/$o.out")" -eq 1
    ev=$(eval_score "ev_$o" "$o.dsp" "$o.json" 9 --cache-dir "$tmp/cache_$o")
    check "$o: dspcc eval --state reproduces the final score" same_score "$ev" "$final"
    optimize_into "${o}_warm" "$o.dsp" "${o}_warm.json" --cache-dir "$tmp/cache_$o"
    check "$o: a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/${o}_warm.out"
    check "$o: and writes the same state" cmp -s "$tmp/$o.json" "$tmp/${o}_warm.json"
done
