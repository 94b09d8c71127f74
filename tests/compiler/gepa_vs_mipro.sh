#!/bin/sh
# gepa (auto: light) against mipro (auto: light), seed 7, on build/dsp-refserver
# (a TEST FIXTURE, a deterministic in-context learner, not a language model),
# for a one-predictor `predict` classifier with exact-match accuracy and the
# generic feedback caption (tests/support/classifier_dsp.sh), on reduced
# splits: gepa scores at least as well as mipro, and above the program as
# written, on
#  - the 27-way intents (examples/tickets/data, `label`), the first 400
#    training and 150 dev rows;
#  - the IT tickets (tests/compiler/fixtures/it_tickets: 300 training and
#    120 dev rows).
# Every score is on all the dev rows given. The whole-split figures, over
# several seeds and on held-out rows, are `make bench-gepa`'s
# (docs/optimize.md, "gepa (light) against mipro (light)"). Prints TAP.
set -u
. tests/support/optimize_e2e.sh
. tests/support/classifier_dsp.sh

cp -r tests/compiler/fixtures/it_tickets "$tmp/it"

serve
check "the reference server (test fixture) started" test -n "$port"

for task in intents it; do
    if [ $task = intents ]; then
        enum=$(intent_labels examples/tickets/data/train.jsonl) dir=data rows="--trainset-limit 400 --valset-limit 150"
    else
        enum=$it_labels dir=it rows=""
    fi
    for o in gepa mipro; do
        classifier "$tmp/${task}_$o.dsp" "$enum" "$dir/train.jsonl" "$dir/dev.jsonl" "$o(auto: light)"
        # shellcheck disable=SC2086
        optimize_into "${task}_$o" "${task}_$o.dsp" "${task}_$o.json" $rows -j 4 --cache-dir "$tmp/cache"
        check "$task: $o (auto: light) exits 0" test $? -eq 0
    done
    base=$(json_key "$tmp/${task}_gepa.json" baseline_score)
    g=$(json_key "$tmp/${task}_gepa.json" final_score)
    m=$(json_key "$tmp/${task}_mipro.json" final_score)
    echo "# $task: zero-shot $base, mipro (light) $m, gepa (light) $g"
    check "$task: gepa scores above the program as written" ge "$g" "$base" 0.03
    check "$task: gepa (light) scores at least as well as mipro (light)" ge "$g" "$m" 0
done
