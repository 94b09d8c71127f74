#!/bin/sh
# `dspcc optimize` end to end against build/dsp-refserver (a TEST FIXTURE, a
# deterministic in-context learner, not a language model) on 127.0.0.1, on
# the ticket classifier with 60 training and 60 dev examples:
#  - bootstrap_fewshot and mipro each beat the zero-shot baseline on the dev
#    split by a margin, and mipro is at least as good as bootstrap_fewshot;
#  - random_search keeps the best of its candidates;
#  - a re-run with a warm cache writes the same state and makes no HTTP
#    request;
#  - a run killed with SIGKILL, started again, completes from the cache with
#    the same result;
#  - injected faults (malformed replies) fail examples, not the run;
#  - the report is HTML with an SVG plot and names the fixture.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

# Programs in the scratch directory beside its link to the example's data,
# so each optimizer can be named in the optimize block without touching the
# example.
tickets_with 'bootstrap_fewshot()' bs.dsp
tickets_with 'random_search(num_candidates: 3)' rs.dsp
cp examples/tickets/tickets.dsp "$tmp/mipro.dsp"

serve
check "the reference server (test fixture) started" test -n "$port"

opt bs bs.dsp cache
check "bootstrap_fewshot exits 0" test $? -eq 0
bs_base=$(json_key "$tmp/bs.json" baseline_score)
bs_final=$(json_key "$tmp/bs.json" final_score)
echo "# bootstrap_fewshot: baseline $bs_base, final $bs_final"
check "bootstrap_fewshot beats zero-shot by 0.15 on dev" ge "$bs_final" "$bs_base" 0.15
check "bootstrap_fewshot's state has demos" grep -q '"outputs": {' "$tmp/bs.json"

opt mipro mipro.dsp cache --report "$tmp/mipro.html"
check "mipro exits 0" test $? -eq 0
mp_base=$(json_key "$tmp/mipro.json" baseline_score)
mp_final=$(json_key "$tmp/mipro.json" final_score)
echo "# mipro: baseline $mp_base, final $mp_final"
check "mipro beats zero-shot by 0.15 on dev" ge "$mp_final" "$mp_base" 0.15
check "mipro is at least as good as bootstrap_fewshot" ge "$mp_final" "$bs_final" 0
check "the baselines agree (same zero-shot program, same dev rows)" test "$mp_base" = "$bs_base"
check "mipro records minibatch and full trials" \
    sh -c "grep -q '\"full_eval\": false' '$tmp/mipro.json' && grep -q '\"full_eval\": true' '$tmp/mipro.json'"
check "the report has an SVG plot and a trial table" \
    sh -c "grep -q '<svg' '$tmp/mipro.html' && grep -q '<circle' '$tmp/mipro.html' && grep -q '<th>trial</th>' '$tmp/mipro.html'"
check "the report says the LM is a test fixture" grep -q 'test fixture' "$tmp/mipro.html"
check "progress lines went to stderr" grep -q '^dspcc optimize: trial' "$tmp/mipro.err"

# mipro's demo sets and proposals run at once, up to -j: cold runs at -j 1
# and -j 64 (each in a cache of its own, so every task asks the fixture and
# they finish in whatever order) write the same state, byte for byte.
opt mipro_j1 mipro.dsp cache_j1 -j 1
check "mipro at -j 1 exits 0" test $? -eq 0
opt mipro_j64 mipro.dsp cache_j64 -j 64
check "mipro at -j 64 exits 0" test $? -eq 0
check "mipro's state is the same at -j 1, 4 and 64 (completion order does not matter)" \
    sh -c "cmp -s '$tmp/mipro.json' '$tmp/mipro_j1.json' && cmp -s '$tmp/mipro.json' '$tmp/mipro_j64.json'"
check "the -j 64 run said it proposed the instructions at once" grep -q 'proposing .* instructions, up to 64 at once' "$tmp/mipro_j64.err"

# What the optimizer measured is what ships: `dspcc eval` with the state
# scores the same on the same dev rows.
ev=$(eval_score eval mipro.dsp mipro.json 60 --cache-dir "$tmp/cache")
echo "# dspcc eval with the mipro state: $ev"
check "dspcc eval --state reproduces mipro's final score" same_score "$ev" "$mp_final"

# Warm cache: the same state, byte for byte, and not one request.
opt mipro2 mipro.dsp cache --report "$tmp/mipro2.html"
check "a warm re-run exits 0" test $? -eq 0
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/mipro2.out"
check "a warm re-run writes the same state" cmp -s "$tmp/mipro.json" "$tmp/mipro2.json"
# The summary line: "...; lm calls N (cache hits H, http requests R)".
calls_of() { sed -n 's/.*lm calls \([0-9]*\) (cache hits \([0-9]*\),.*/\1 \2/p' "$1"; }
set -- $(calls_of "$tmp/mipro2.out")
check "every call of the warm re-run was a cache hit" test -n "${1:-}" -a "${1:-}" = "${2:-}"
opt mipro3 mipro.dsp cache --report "$tmp/mipro3.html"
check "two warm runs give identical state and report bytes" \
    sh -c "cmp -s '$tmp/mipro2.json' '$tmp/mipro3.json' && cmp -s '$tmp/mipro2.html' '$tmp/mipro3.html'"

opt rs rs.dsp cache
check "random_search exits 0" test $? -eq 0
rs_final=$(json_key "$tmp/rs.json" final_score)
echo "# random_search: baseline $(json_key "$tmp/rs.json" baseline_score), final $rs_final"
check "random_search keeps a candidate better than zero-shot" ge "$rs_final" "$(json_key "$tmp/rs.json" baseline_score)" 0.1
check "random_search tried zero-shot, labelled, 1 unshuffled and 3 shuffled bootstraps" \
    test "$(grep -c '"trial":' "$tmp/rs.json")" -eq 6

# Without a valset, a seeded fifth of the trainset is held out for the
# scores and never used for demos.
sed -e 's/with mipro([^)]*)/with labeled_fewshot(k: 8)/' -e '/valset: dev/d' examples/tickets/tickets.dsp \
    >"$tmp/nv.dsp"
"$dspcc" optimize "$tmp/nv.dsp" -o "$tmp/nv.json" --trainset-limit 200 --base-url "$url" --cache-dir "$tmp/cache" \
    >"$tmp/nv.out" 2>"$tmp/nv.err"
check "labeled_fewshot without a valset exits 0" test $? -eq 0
check "and says it scored on a holdout of the trainset" grep -q '"valset": "trainset holdout"' "$tmp/nv.json"
check "labeled_fewshot keeps 8 demos" test "$(grep -c '"inputs": {' "$tmp/nv.json")" -eq 8

# Faults: replies that lack a field or have a wrong type fail those examples
# (scored 0, after the JSON fallback), never the run.
serve --fail-rate 0.2 --fail-kinds missing-field,wrong-type --seed 5
opt faulty bs.dsp cache4
check "bootstrap_fewshot completes when the server injects faults" test $? -eq 0
echo "# with faults: baseline $(json_key "$tmp/faulty.json" baseline_score), final $(json_key "$tmp/faulty.json" final_score)"
check "and still improves on zero-shot" ge "$(json_key "$tmp/faulty.json" final_score)" "$(json_key "$tmp/faulty.json" baseline_score)" 0.1

# Resume: a slow server, a kill -9 in the middle, then a re-run.
serve --latency-ms 15
# shellcheck disable=SC2086
optimize_bg killed mipro.dsp killed.json $limits --cache-dir "$tmp/cache2"
kill_when grep -q 'trial 2/' "$tmp/killed.err"
check "the first run was killed mid-way" test "$alive" -eq 1
check "a killed run leaves no state behind" test ! -e "$tmp/killed.json"
opt resumed mipro.dsp cache2
check "the re-run after SIGKILL completes" test $? -eq 0
set -- $(calls_of "$tmp/resumed.out")
hits=${2:-0}
echo "# resumed run: ${1:-?} LM calls, $hits from the cache"
check "the re-run reused the killed run's calls" awk -v h="$hits" 'BEGIN { exit !(h > 0) }'
check "the resumed run finds the same state" cmp -s "$tmp/mipro.json" "$tmp/resumed.json"

# Bad input: a missing API key is a clear error, not a crash or a
# meaningless search over zero scores. (A local server needs no key: the
# base URL is OpenAI's, and the missing key stops every call before it is
# sent.)
env -u OPENAI_API_KEY "$dspcc" optimize "$tmp/bs.dsp" -o "$tmp/none.json" $limits --base-url https://api.openai.com/v1 \
    --cache-dir "$tmp/cache3" >"$tmp/nokey.out" 2>"$tmp/nokey.err"
rc=$?
check "a missing API key fails with status 1" test "$rc" -eq 1
check "and names the variable" grep -q 'OPENAI_API_KEY' "$tmp/nokey.err"
check "and writes no state" test ! -e "$tmp/none.json"
"$dspcc" optimize >/dev/null 2>&1
check "no file is a usage error (2)" test $? -eq 2
"$dspcc" optimize "$tmp/bs.dsp" --frobnicate >/dev/null 2>"$tmp/usage.err"
check "an unknown option is a usage error (2)" test $? -eq 2
