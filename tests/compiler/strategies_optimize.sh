#!/bin/sh
# Every inference-time strategy in optimize: best_of_n, refine, majority
# and multi_chain_comparison programs are optimized with bootstrap_fewshot
# against build/dsp-refserver (a TEST FIXTURE, not a language model), each
# state gives the sampled (or attempt and compare) predictors bootstrapped
# demos, `dspcc eval --state` reproduces the state's score, and the C built
# with that state keeps the same samples as eval does (its rows are the
# data; the metric requires the same outputs). react's counterpart is
# tests/compiler/agent_example.sh. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/rt_link.sh
if [ -n "${KEEP:-}" ]; then echo "# kept in $tmp"; trap 'rs_stop' EXIT INT TERM
else trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM; fi
STRICT="-std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I$root/runtime/include -I/usr/include/cjson"

P=$tmp/p
mkdir -p "$P/build"
cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/libreward.so" tests/compiler/fixtures/sample/reward.c
check "libreward.so builds" test $? -eq 0
head -n 40 examples/tickets/data/train.jsonl >"$P/train.jsonl"
head -n 10 examples/tickets/data/dev.jsonl >"$P/dev.jsonl"
cat >"$P/opt.dsp" <<'DSP'
// How well a category fits the ticket's key words (1 fits, 0 does not).
tool double cat_score(const char *text, const char *category) from "build/libreward.so"

enum Category { billing, account, orders, general }

signature Classify "Classify a customer support ticket." {
  in  text: string
  out category: Category
}

module Best(text: string) -> (category: Category) {
  r = best_of_n(Classify, n: 3, reward: cat_score, threshold: 1.0)(text: text)
  return (category: r.category)
}

module Fix(text: string) -> (category: Category) {
  r = refine(Classify, n: 3, reward: cat_score, threshold: 1.0)(text: text)
  return (category: r.category)
}

module Vote(text: string) -> (category: Category) {
  r = majority(Classify, n: 3, temperature: 0.8)(text: text)
  return (category: r.category)
}

module Compare(text: string) -> (category: Category) {
  r = multi_chain_comparison(Classify, m: 2)(text: text)
  return (category: r.category)
}

metric accuracy(ex, pred) = exact_match(pred.category, ex.category)

lm fixture = "compatible/refserver" {
  base_url: "http://127.0.0.1:9/v1"
}

data train = jsonl("train.jsonl") { text -> text, category -> category }
data dev = jsonl("dev.jsonl") { text -> text, category -> category }
DSP
for m in Best Fix Vote Compare; do
    cat >>"$P/opt.dsp" <<DSP

optimize $m with bootstrap_fewshot(max_bootstrapped_demos: 2, max_labeled_demos: 1) {
  metric: accuracy
  trainset: train
  valset: dev
  lm: fixture
  seed: 3
}
DSP
done
"$DSPCC" check "$P/opt.dsp" >/dev/null 2>"$tmp/check.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/check.err" | head
check "the program checks" test $r -eq 0

rs_start
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

for m in Best Fix Vote Compare; do
    l=$(printf '%s' "$m" | tr 'A-Z' 'a-z')
    "$DSPCC" optimize "$P/opt.dsp" --module "$m" -o "$tmp/$l.state.json" --allow-regression --base-url "$url" \
        --cache-dir "$tmp/cache" >"$tmp/$l.opt" 2>&1
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$l.opt" | tail -5
    check "$m: dspcc optimize writes a state" sh -c "test $r -eq 0 && test -s '$tmp/$l.state.json'"
    # A demo of the compare step, or with reasoning, can only be bootstrapped
    # (a training row has neither the attempts nor a reasoning).
    if [ "$m" = Compare ]; then preds="Compare.r.attempt:reasoning Compare.r.compare:rationale"; else preds="$m.r:category"; fi
    for pf in $preds; do
        pr=${pf%%:*} f=${pf#*:}
        nd=$(jq -r --arg p "$pr" --arg f "$f" '[.predictors[] | select(.name == $p) | .demos[] | select(.outputs[$f] != null)] | length' \
            "$tmp/$l.state.json" 2>/dev/null)
        check "$m: $pr has demos in the state ($nd with $f)" test "${nd:-0}" -ge 1
    done
    score=$(jq -r '.optimized_score' "$tmp/$l.state.json")
    "$DSPCC" eval "$P/opt.dsp" --module "$m" --state "$tmp/$l.state.json" --data dev --json --base-url "$url" \
        --cache-dir "$tmp/cache" >"$tmp/$l.eval.json" 2>"$tmp/$l.eval.err"
    check "$m: eval --state reproduces the state's score ($score)" \
        awk -v a="$(json_key "$tmp/$l.eval.json" score)" -v b="$score" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9) }'
    "$DSPCC" build "$P/opt.dsp" --program "$m" --state "$tmp/$l.state.json" -o "$tmp/gen_$l.c" 2>"$tmp/$l.build.err"
    check "$m: dspcc build --state" test $? -eq 0
    cat >"$tmp/main_$l.c" <<C
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include "gen_$l.h"
int main(void)
{
    dsp_error err = {0};
    dsp_client *client = NULL;
    dsp_client_options opts = dsp_client_options_default();
    opts.no_cache = 1;
    if (dsp_client_new(&opts, &client, &err) != DSP_OK) return 1;
    char line[4096];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        cJSON *row = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(row, "text");
        ${l}_input in = { cJSON_IsString(t) ? t->valuestring : "" };
        ${l}_output out = {0};
        if (${l}_run(client, &in, &out, &err) != 0) { fprintf(stderr, "%s\n", err.message); rc = 1; }
        else printf("{\"text\": \"%s\", \"category\": \"%s\"}\n", in.text, ${l}_category_names[out.category]);
        cJSON_Delete(row);
    }
    dsp_client_free(client);
    return rc;
}
C
    cc $STRICT $RT_SAN -I"$tmp" -o "$tmp/$l" "$tmp/main_$l.c" "$tmp/gen_$l.c" "$P/build/libreward.so" \
        -Wl,-rpath,"$P/build" "$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/$l.cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$l.cc.err" | head
    check "$m: the optimized C compiles with the reward tool" test $r -eq 0
    DSPCC_BASE_URL=$url "$tmp/$l" <"$P/dev.jsonl" >"$P/rows_$l.jsonl" 2>"$tmp/$l.run.err"
    check "$m: the optimized C answers every dev ticket" \
        sh -c "test $? -eq 0 && test \$(wc -l <'$P/rows_$l.jsonl') -eq \$(wc -l <'$P/dev.jsonl')"
    sed "s|^data dev = jsonl(\"dev.jsonl\")|data dev = jsonl(\"rows_$l.jsonl\")|" "$P/opt.dsp" >"$P/same_$l.dsp"
    "$DSPCC" eval "$P/same_$l.dsp" --module "$m" --state "$tmp/$l.state.json" --data dev --json --no-cache \
        --base-url "$url" >"$tmp/$l.same.json" 2>"$tmp/$l.same.err"
    check "$m: eval --state and the optimized C keep the same samples (score 1)" \
        test "$(json_key "$tmp/$l.same.json" score)" = 1
done
