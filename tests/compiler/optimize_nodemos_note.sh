#!/bin/sh
# `dspcc optimize` with labeled_fewshot (bootstrap_fewshot, random_search, mipro) says, on
# stderr, which predictor got no demos and why: here a two-step program whose middle output (`gist`)
# is not a column of the trainset, so its first predictor runs as written.
# A program whose every predictor gets demos prints no such note. Runs
# against build/dsp-refserver (a TEST FIXTURE, not a language model) on
# 127.0.0.1. Prints TAP.
set -u
. tests/support/optimize_e2e.sh

hurt=tests/compiler/fixtures/demos_hurt
cp "$hurt/dev.jsonl" "$hurt/train.jsonl" "$tmp/"
cp "$hurt/route.dsp" "$tmp/route.dsp"
# Two steps: a gist of the message, then the queue from the gist.
sed -e 's/^module Router/signature Gist "Say what the message is about in a few words." {\n  in  text: string\n  out gist: string\n}\n\nmodule Router/' \
    -e 's/^  r = predict(Route)(text: text)$/  s = predict(Gist)(text: text)\n  r = predict(Route)(text: s.gist)/' \
    "$hurt/route.dsp" >"$tmp/twostep.dsp"

serve
check "the reference server (test fixture) started" test -n "$port"

optimize_into route route.dsp route.json --cache-dir "$tmp/cache"
check "labeled_fewshot on a one-step program exits 0" test $? -eq 0
check "no note when every predictor gets demos" sh -c "! grep -q 'got no demos' '$tmp/route.err'"

optimize_into twostep twostep.dsp twostep.json --cache-dir "$tmp/cache"
check "labeled_fewshot on a two-step program exits 0" test $? -eq 0
note='dspcc optimize: note: labeled_fewshot: predictor `Router.s` got no demos: its output `gist` is not a column of train.jsonl; bootstrap_fewshot builds demos from traces; it runs as written'
check "the note names the predictor without demos and why" grep -qxF "$note" "$tmp/twostep.err"
check "only that predictor is named" test "$(grep -c 'got no demos' "$tmp/twostep.err")" -eq 1
check "the note goes to stderr, not stdout" sh -c "! grep -q 'got no demos' '$tmp/twostep.out'"
check "the state does not carry it" sh -c "! grep -q 'got no demos' '$tmp/twostep.json'"

# bootstrap_fewshot: the rotated labels fail the metric, so no trace helps either.
sed 's/with labeled_fewshot(k: 6)/with bootstrap_fewshot()/' "$tmp/twostep.dsp" >"$tmp/boot.dsp"
optimize_into boot boot.dsp boot.json --cache-dir "$tmp/cache"
check "bootstrap_fewshot on the two-step program exits 0" test $? -eq 0
check "bootstrap_fewshot's note says no trace gave one" grep -qF \
    'bootstrap_fewshot: predictor `Router.s` got no demos: its output `gist` is not a column of train.jsonl; no teacher run that called it passed the metric' \
    "$tmp/boot.err"

# random_search and mipro choose among candidate demo sets: with `gist`
# no column and every trace failing the metric, no candidate holds a demo
# for `Router.s`, and the note says so (these optimizers printed nothing).
# (better_together's prompt stages print the same; here it has no passing
# trace to fine-tune on and stops before.)
for opt in "random_search(num_candidates: 2)" "mipro(auto: light)"; do
    on=${opt%%(*}
    sed "s/with labeled_fewshot(k: 6)/with $opt/" "$tmp/twostep.dsp" >"$tmp/$on.dsp"
    optimize_into "$on" "$on.dsp" "$on.json" --cache-dir "$tmp/cache"
    check "$on on the two-step program exits 0" test $? -eq 0
    check "$on's note names the predictor without demos and why" grep -qxF \
        "dspcc optimize: note: $on: predictor \`Router.s\` got no demos: its output \`gist\` is not a column of train.jsonl, and the candidate that scored best on dev has no demo from a trace for it; it runs with its instruction alone" \
        "$tmp/$on.err"
    # The rotated labels hurt, so the zero-shot candidate scores best and
    # `Router.r`, whose demos other candidates had, gets none either.
    check "$on's note names \`Router.r\` too: the best candidate has none for it" grep -qxF \
        "dspcc optimize: note: $on: predictor \`Router.r\` got no demos: the candidate that scored best on dev has none for it; it runs with its instruction alone" \
        "$tmp/$on.err"
    check "$on's notes name only those two" test "$(grep -c 'got no demos' "$tmp/$on.err")" -eq 2
done
