#!/bin/sh
# The interpreter runs tools that pass lists and write results through
# output parameters, end to end with `dspcc eval` (no LM is called): a temp
# copy of the shared fixture tests/compiler/fixtures/list_tools (words.dsp's
# Words and Stats modules) gets its libwords.so built beside it, a metric
# that compares every result and calls a tool with a list input, data
# files of the expected values, and an inline `size_t` tool for the range
# check. Failing rows must fail with the tool, its status (or the
# parameter, value and C type) and the call site. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/support/tap.sh

w="$tmp/w"
cp -r tests/compiler/fixtures/list_tools "$w"
cp tests/compiler/fixtures/interp_list_tools.c "$w/"
mkdir -p "$w/build"
cc=${CC:-cc}
check "the fixture libraries build" sh -c "$cc -shared -fPIC -o '$w/build/libwords.so' '$w/words.c' &&
    $cc -shared -fPIC -o '$w/build/libinterp_list_tools.so' '$w/interp_list_tools.c'"

cat >>"$w/words.dsp" <<'DSP'

tool size_t size_id(size_t x) from "build/libinterp_list_tools.so"

module Size(x: int) -> (y: int) {
  s = size_id(x: x)
  return (y: s)
}

metric words_ok(ex, pred) =
  pred.joined == ex.joined and pred.longest == ex.longest and pred.lens == ex.lens and
  pred.sum == ex.sum and pred.message == ex.message and total(xs: pred.lens) == ex.sum
metric stats_ok(ex, pred) = pred.count == ex.count and pred.mean == ex.mean and pred.any_negative == ex.any_negative
metric size_ok(ex, pred) = pred.y == ex.y

lm none = "compatible/none" { base_url: "http://127.0.0.1:9/v1" }
data wd = jsonl("words.jsonl") {
  text -> text, k -> k, fail -> fail, joined -> joined, longest -> longest, lens -> lens, sum -> sum,
  message -> message
}
data sd = jsonl("stats.jsonl") { xs -> xs, count -> count, mean -> mean, any_negative -> any_negative }
data zd = jsonl("sizes.jsonl") { x -> x, y -> y }
optimize Words with labeled_fewshot(k: 1) { metric: words_ok trainset: wd lm: none }
optimize Stats with labeled_fewshot(k: 1) { metric: stats_ok trainset: sd lm: none }
optimize Size with labeled_fewshot(k: 1) { metric: size_ok trainset: zd lm: none }
DSP

# Rows 1-2 pass, row 3 fails with status 3 (fail: true), row 4 with status 2 (k: -1).
cat >"$w/words.jsonl" <<'EOF2'
{"text": "the quick brown fox jumps", "k": 2, "fail": false, "joined": "quick+brown", "longest": ["quick", "brown"], "lens": [5, 5], "sum": 10, "message": "fine"}
{"text": "", "k": 3, "fail": false, "joined": "", "longest": [], "lens": [], "sum": 0, "message": "fine"}
{"text": "the quick brown fox jumps", "k": 2, "fail": true, "joined": "", "longest": [], "lens": [], "sum": 0, "message": ""}
{"text": "the quick brown fox jumps", "k": -1, "fail": false, "joined": "", "longest": [], "lens": [], "sum": 0, "message": ""}
EOF2
cat >"$w/stats.jsonl" <<'EOF2'
{"xs": [1.5, -2.0, 3.5], "count": 3, "mean": 1.0, "any_negative": true}
{"xs": [], "count": 0, "mean": 0.0, "any_negative": false}
{"xs": [2, 4], "count": 2, "mean": 3.0, "any_negative": false}
EOF2
cat >"$w/sizes.jsonl" <<'EOF2'
{"x": "9223372036854775807", "y": "9223372036854775807"}
{"x": -1, "y": 0}
EOF2

"$dspcc" eval "$w/words.dsp" --data wd --module Words --json --no-cache >"$tmp/words.json" 2>"$tmp/words.err"
check "eval Words exits 0" test $? -eq 0
check "Words: the two good rows score 1" test "$(json_key "$tmp/words.json" score)" = 0.5
check "Words: two rows failed" test "$(json_key "$tmp/words.json" failed)" = 2
check "Words: no LM was called" test "$(json_key "$tmp/words.json" lm_calls)" = 0
check "a nonzero status names the tool, the status and the call site" \
    grep -q '"Words.m (words.dsp:18): tool `may_fail` failed with status 3"' "$tmp/words.json"
check "k: -1 fails top_words with status 2" \
    grep -q '"Words.t (words.dsp:14): tool `top_words` failed with status 2"' "$tmp/words.json"

"$dspcc" eval "$w/words.dsp" --data sd --module Stats --json --no-cache >"$tmp/stats.json" 2>"$tmp/stats.err"
check "eval Stats exits 0" test $? -eq 0
check "Stats: count, mean and any_negative as expected on every row" \
    sh -c "test '$(json_key "$tmp/stats.json" score)' = 1 && test '$(json_key "$tmp/stats.json" failed)' = 0"

"$dspcc" eval "$w/words.dsp" --data zd --module Size --json --no-cache >"$tmp/size.json" 2>"$tmp/size.err"
check "an inline size_t tool takes INT64_MAX" test "$(json_key "$tmp/size.json" score)" = 0.5
check "a negative size_t is refused with the parameter, value and C type" \
    grep -q 'Size.s (words.dsp:[0-9]*): tool `size_id`: parameter `x` is -1, out of range for C type `size_t`' \
    "$tmp/size.json"

# The same failure in the table for people.
"$dspcc" eval "$w/words.dsp" --data wd --module Words --no-cache >"$tmp/table.txt" 2>&1
check "the text report lists the failing tool" grep -q 'tool `may_fail` failed with status 3' "$tmp/table.txt"
