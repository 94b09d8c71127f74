#!/bin/sh
# Data fields as eval and optimize read them, against build/dsp-refserver
# (a TEST FIXTURE, not a language model):
# - a metric reads a gold-only field the data block maps (`gold -> answers`,
#   a list the module never returns), in eval and optimize, also through a
#   metric no optimize block uses (`eval --metric`); a mapping may declare
#   its type (`id -> ref: string`);
# - a file without a field the metric or the module reads fails before the
#   first LM call, naming the field, the row and the columns it has;
# - `--data NAME=PATH` reads another file with declaration NAME's mapping.
# Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
P=$tmp/p
cp -r tests/compiler/fixtures/gold_fields "$P"
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

check "check accepts a metric that reads a gold-only list field" "$dspcc" check "$P/qa.dsp"

rs_start --seed 3
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

"$dspcc" eval "$P/qa.dsp" --data dev --json --no-cache --base-url "$url" >"$tmp/dev.json" 2>"$tmp/dev.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/dev.err"
check "eval scores with ex.answers (it said: examples have no field 'answers')" test $r -eq 0
check "no example failed" test "$(json_key "$tmp/dev.json" failed)" = 0
check "the score is the F1 against the best alias, above 0" \
    awk -v s="$(json_key "$tmp/dev.json" score)" 'BEGIN { exit !(s > 0 && s <= 1) }'

"$dspcc" eval "$P/qa.dsp" --data dev --metric any_alias --json --no-cache --base-url "$url" \
    >"$tmp/alias.json" 2>"$tmp/alias.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/alias.err"
check "a metric no optimize block uses reads the gold-only field too" \
    sh -c "test $r -eq 0 && test '$(json_key "$tmp/alias.json" failed)' = 0"

"$dspcc" optimize "$P/qa.dsp" --base-url "$url" --cache-dir "$tmp/cache" -o "$tmp/qa.state.json" >"$tmp/opt.out" 2>&1
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/opt.out" | tail -5
check "optimize runs with the gold-only field" test $r -eq 0

# A declared type: `id -> ref: string` reads the numbers of `id` as text.
check "fmt keeps a mapping's declared type" "$dspcc" fmt --check "$P/qa.dsp"
"$dspcc" eval "$P/qa.dsp" --data dev --metric has_ref --json --no-cache --base-url "$url" \
    >"$tmp/ref.json" 2>"$tmp/ref.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/ref.err"
check "a gold-only field declared string reads the file's numbers as text (len(\"1000\") == 4)" \
    sh -c "test $r -eq 0 && test '$(json_key "$tmp/ref.json" score)' = 1"
sed 's/  id   -> ref: string/  id   -> ref/; s/, id -> ref: string }/, id -> ref }/' "$P/qa.dsp" >"$P/undeclared.dsp"
"$dspcc" eval "$P/undeclared.dsp" --data dev --metric has_ref --base-url "$url" >/dev/null 2>"$tmp/undeclared.err"
check "without the declaration the numbers are floats, and has_ref (len of a number) does not fit" \
    grep -q "metric \`has_ref\` is never used by an \`optimize\` block, and it does not fit" "$tmp/undeclared.err"

# NAME=PATH: a held-out file laid out like `dev`, read with dev's mapping.
head -n 2 "$P/dev.jsonl" >"$tmp/heldout.jsonl"
"$dspcc" eval "$P/qa.dsp" --data "dev=$tmp/heldout.jsonl" --json --no-cache --base-url "$url" \
    >"$tmp/held.json" 2>"$tmp/held.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/held.err"
check "--data dev=PATH evaluates a file with dev's column mapping" \
    sh -c "test $r -eq 0 && test '$(json_key "$tmp/held.json" n)' = 2 && test '$(json_key "$tmp/held.json" failed)' = 0"
"$dspcc" prompt "$P/qa.dsp" --example 1 --data "dev=$tmp/heldout.jsonl" >"$tmp/prompt.out" 2>&1
check "dspcc prompt --data dev=PATH takes example 1's inputs through dev's mapping" \
    grep -qF "What is the capital of Australia?" "$tmp/prompt.out"
"$dspcc" eval "$P/qa.dsp" --data "$tmp/heldout.jsonl" --no-cache --base-url "$url" >/dev/null 2>"$tmp/plain.err"
check "the same file by plain path has no field named like the module's and fails" \
    grep -q "column \`context\` (input \`context\`) is missing or null; this row has columns: ctx, q, gold" \
    "$tmp/plain.err"
"$dspcc" eval "$P/qa.dsp" --data "nosuch=$tmp/heldout.jsonl" >/dev/null 2>"$tmp/nosuch.err"
check "NAME=PATH with an undeclared NAME names the declared sets" \
    grep -q "no data set named \`nosuch\` (declared: train, dev)" "$tmp/nosuch.err"
"$dspcc" eval "$P/qa.dsp" --data "dev=" >/dev/null 2>"$tmp/empty.err"
check "NAME= with no path says so" grep -q "no path after \`=\`" "$tmp/empty.err"

# Validate before spending: the endpoint below refuses connections, so any
# LM call would fail with a connection error, not with the field's name.
dead="http://127.0.0.1:9/v1"
sed 's/"gold"/"golden"/' "$P/dev.jsonl" >"$tmp/renamed.jsonl"
"$dspcc" eval "$P/qa.dsp" --data "dev=$tmp/renamed.jsonl" --no-cache --base-url "$dead" >"$tmp/renamed.out" 2>&1
r=$?
check "a gold column named otherwise fails with status 1" test $r -eq 1
check "before any LM call, naming the field, the first row and its columns" \
    grep -qF "renamed.jsonl:1: no \`answers\` for metric \`f1_score\` (it reads ex.answers from column \`gold\`, missing or null here); this row has columns: ctx, q, golden, id." \
    "$tmp/renamed.out"
check "and says nothing of API keys or connections" sh -c "! grep -qi 'api key\|connect' '$tmp/renamed.out'"

# A module result read by the metric, missing in row 3 only.
sed '3s/, "gold": \[[^]]*\]//' "$P/dev.jsonl" >"$tmp/row3.jsonl"
"$dspcc" eval "$P/qa.dsp" --data "dev=$tmp/row3.jsonl" --no-cache --base-url "$dead" >"$tmp/row3.out" 2>&1
check "the first row without the field is the one named" grep -q "row3.jsonl:3: no \`answers\`" "$tmp/row3.out"

# optimize checks its trainset and valset the same way, before any call
# (a column missing from the whole file is already `dspcc check`'s error).
cp "$tmp/row3.jsonl" "$P/dev.jsonl"
"$dspcc" optimize "$P/qa.dsp" --base-url "$dead" --cache-dir "$tmp/cache2" -o "$tmp/qa2.state.json" >"$tmp/opt2.out" 2>&1
r=$?
check "optimize with a valset lacking the gold column fails at once, naming it" \
    sh -c "test $r -eq 1 && grep -q 'dev.jsonl:3: no \`answers\` for metric \`f1_score\`' '$tmp/opt2.out'"

# A data set without a mapping: its columns are every row's keys, not only
# the first row's. Row 1 lacks the optional input `k`, row 2 has it: the
# `if k == 3` branch must see it (before, `k` was never read, so eval took
# the else branch on every row).
mkdir -p "$tmp/opt"
cat >"$tmp/opt/opt.dsp" <<'DSP'
lm fx = "compatible/fixture" {
  base_url: "http://127.0.0.1:9/v1"
}

signature S {
  in  q: string
  out a: string
}

module M(q: string, k: optional<int>) -> (a: string) {
  if k == 3 {
    r = predict(S)(q: "three")
  } else {
    r = predict(S)(q: q)
  }
  return r
}

metric m(ex, pred) = exact_match(pred.a, ex.a)

data d = jsonl("opt.jsonl")
DSP
printf '{"q": "a", "a": "x"}\n{"q": "b", "k": 3, "a": "y"}\n' >"$tmp/opt/opt.jsonl"
check "dump-ir lists a column only a later row has" \
    sh -c "'$dspcc' dump-ir '$tmp/opt/opt.dsp' | grep -q '\"column\":[[:space:]]*\"k\"'"
"$dspcc" eval "$tmp/opt/opt.dsp" --data d --predictions "$tmp/opt/p.jsonl" --no-cache --base-url "$url" \
    >/dev/null 2>"$tmp/opt/err"
check "eval reads it on the row that has it" grep -q '"inputs":{"q":"b","k":3}' "$tmp/opt/p.jsonl"
