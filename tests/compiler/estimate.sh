#!/bin/sh
# dspcc optimize --estimate: it prints calls, tokens and cost without any
# LM call (the endpoint given refuses connections), and a real run against
# build/dsp-refserver (a TEST FIXTURE) lands within the factor of 2 that
# docs/inspect.md states, for mipro on the tickets example (with prices) and
# bootstrap_fewshot on multihop (three predictors and a tool) and on the react
# agent. Also the cost
# arithmetic of the state and the summary. Prints TAP.
set -u
: "${BUILD:=build}"
here=$(pwd)
case "$BUILD" in
    /*) bin=$BUILD ;;
    *) bin=$here/$BUILD ;;
esac
dspcc="$bin/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

# within A B: A and B are within a factor of 2 of each other (both > 0).
within() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > 0 && b > 0 && a <= 2 * b && b <= 2 * a) }'; }
num() { sed -n "s/^  $2 *\\([0-9.]*\\).*/\\1/p" "$1" | head -n 1; }

# The tickets program with prices, beside links to its data.
mkdir -p "$tmp/t"
ln -s "$here/examples/tickets/data" "$tmp/t/data"
sed 's/  api_key_env: "OPENAI_API_KEY"/  api_key_env: "OPENAI_API_KEY"\n  input_usd_per_mtok: 0.15\n  output_usd_per_mtok: 0.6/' \
    examples/tickets/tickets.dsp >"$tmp/t/tickets.dsp"
limits="--trainset-limit 20 --valset-limit 20"

# Port 9 (discard) refuses: an estimate that called the LM would fail.
"$dspcc" optimize "$tmp/t/tickets.dsp" $limits --estimate --base-url http://127.0.0.1:9/v1 --cache-dir "$tmp/c0" \
    -o "$tmp/none.json" >"$tmp/est.txt" 2>"$tmp/est.err"
check "--estimate exits 0 without reaching any LM" test $? -eq 0
check "--estimate writes no state" test ! -e "$tmp/none.json"
check "--estimate says no LM was called" grep -q 'no LM was called' "$tmp/est.txt"
e_calls=$(num "$tmp/est.txt" "lm calls")
e_prompt=$(sed -n 's/^  tokens *\([0-9]*\) prompt.*/\1/p' "$tmp/est.txt")
e_cost=$(sed -n 's/^  cost *\$\([0-9.]*\).*/\1/p' "$tmp/est.txt")
check "it prints calls, tokens and a cost ($e_calls, $e_prompt, \$$e_cost)" \
    sh -c "test -n '$e_calls' && test -n '$e_prompt' && test -n '$e_cost'"

rs_start --seed 7
url="http://127.0.0.1:$port/v1"
"$dspcc" optimize "$tmp/t/tickets.dsp" $limits -q --base-url "$url" --cache-dir "$tmp/c1" -o "$tmp/t.json" \
    >"$tmp/run.txt" 2>"$tmp/run.err"
check "the real run exits 0" test $? -eq 0
a_calls=$(json_key "$tmp/t.json" lm_calls)
a_prompt=$(json_key "$tmp/t.json" prompt_tokens)
a_completion=$(json_key "$tmp/t.json" completion_tokens)
a_cost=$(json_key "$tmp/t.json" cost_usd)
check "mipro: estimated calls $e_calls within 2x of the run's $a_calls" within "$e_calls" "$a_calls"
check "mipro: estimated prompt tokens $e_prompt within 2x of the run's $a_prompt" within "$e_prompt" "$a_prompt"
check "mipro: estimated cost \$$e_cost within 2x of the run's \$$a_cost" within "$e_cost" "$a_cost"
check "the state's cost is its tokens at the prices" awk -v p="$a_prompt" -v c="$a_completion" -v x="$a_cost" \
    'BEGIN { e = (p * 0.15 + c * 0.6) / 1e6; exit !(x - e < 1e-9 && e - x < 1e-9) }'
check "the summary shows the cost next to the tokens" grep -q "^  tokens .* cost \\\$" "$tmp/run.txt"
check "and a line per trial with its cost" grep -qE '^  1 +[0-9.]+ +[0-9]+ +[0-9]+ +\$[0-9.]+' "$tmp/run.txt"
check "the state's trials carry tokens and cost" sh -c "grep -q '\"trial\": 1, .*\"prompt_tokens\": [0-9]*, \"completion_tokens\": [0-9]*, \"cost_usd\": [0-9]' '$tmp/t.json'"
"$dspcc" optimize "$tmp/t/tickets.dsp" $limits -q --base-url "$url" --cache-dir "$tmp/c1" -o "$tmp/t2.json" \
    >"$tmp/run2.txt" 2>&1
check "a warm re-run (all cache hits) writes the same state, costs included" cmp -s "$tmp/t.json" "$tmp/t2.json"
check "and says it spent nothing" grep -q 'every call from the cache' "$tmp/run2.txt"

# against NAME PROG STATE_CACHE: the estimate (10/10 examples) and a real
# run of PROG; their LM calls and prompt tokens within 2x. Leaves the
# estimate in $tmp/NAME.est and the state in $tmp/NAME.json.
against() {
    "$dspcc" optimize "$2" --trainset-limit 10 --valset-limit 10 --estimate \
        --base-url http://127.0.0.1:9/v1 --cache-dir "$tmp/c0" >"$tmp/$1.est" 2>&1
    e_c=$(num "$tmp/$1.est" "lm calls")
    e_p=$(sed -n 's/^  tokens *\([0-9]*\) prompt.*/\1/p' "$tmp/$1.est")
    "$dspcc" optimize "$2" --trainset-limit 10 --valset-limit 10 -q --base-url "$url" \
        --cache-dir "$tmp/$3" -o "$tmp/$1.json" >"$tmp/$1.run" 2>&1
    check "$1: estimated calls $e_c within 2x of the run's $(json_key "$tmp/$1.json" lm_calls)" \
        within "$e_c" "$(json_key "$tmp/$1.json" lm_calls)"
    check "$1: estimated prompt tokens $e_p within 2x of the run's $(json_key "$tmp/$1.json" prompt_tokens)" \
        within "$e_p" "$(json_key "$tmp/$1.json" prompt_tokens)"
}

# multihop: three predictors and a tool; its lm has no price.
against multihop examples/multihop/multihop.dsp c2
check "an lm without prices: the estimate's cost is unknown" grep -q '^  cost *unknown' "$tmp/multihop.est"
check "an lm without prices: the state's cost is null" grep -q '"cost_usd": null' "$tmp/multihop.json"

# The agent: a react loop (its rounds, the extract, the trajectory's
# observations cut at max_observation) over a C tool. Before, the estimate
# counted no call of a react loop at all.
against agent examples/agent/agent.dsp c3

# The metric's judges: gepa on tickets whose metric writes its feedback
# with judge(...) calls, general and aimed at the predictor; every scored
# run asks both (the fixture answers them). Before, the estimate counted
# none of them: a third of its calls, 49 against the run's 150.
sed -e '/^metric accuracy/,/^$/d' -e 's/mipro(auto: light)/gepa(max_metric_calls: 60)/' \
    examples/tickets/tickets.dsp >"$tmp/t/judged.dsp"
cat >>"$tmp/t/judged.dsp" <<'DSP'

signature Critique "Say in one sentence what decides the queue of this ticket." {
  in  ticket_text: string
  in  category: Category
  out critique: string
}

metric accuracy(ex, pred) = exact_match(pred.category, ex.category)
  feedback judge(Critique)(ticket_text: ex.ticket_text, category: pred.category).critique
  feedback r: judge(Critique)(ticket_text: ex.ticket_text, category: ex.category).critique
DSP
against judged "$tmp/t/judged.dsp" c4
j_runs=$(sed -n 's/^  program runs *\([0-9]*\) .*/\1/p' "$tmp/judged.est")
j_judges=$(sed -n "s/^  lm calls  *[0-9]* (\([0-9]*\) of them the metric's judges.*/\1/p" "$tmp/judged.est")
check "the estimate counts the metric's two judges on each of its $j_runs runs ($j_judges judge calls)" \
    test -n "$j_runs" -a "${j_judges:-0}" -eq $((2 * ${j_runs:-0})) -a "${j_runs:-0}" -gt 0
