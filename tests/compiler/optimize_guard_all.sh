#!/bin/sh
# The no-regression guard holds for bootstrap_fewshot, random_search,
# mipro, copro and better_together too (labeled_fewshot, knn_fewshot and
# ensemble: optimize_trust_e2e.sh, knn_e2e.sh, ensemble_e2e.sh; gepa and
# simba: optimize_guard_gepa_simba.sh), end to end against
# build/dsp-refserver (a TEST FIXTURE, a deterministic in-context learner,
# not a language model) on 127.0.0.1. The trainset of
# tests/compiler/fixtures/demos_hurt has rotated labels, so what each
# optimizer learns from it (demos, label hints, a fine-tuned student)
# hurts on its dev set, which the program as written solves. For each:
#  - the run exits 0 and ships the program as written: the state says
#    `unoptimized`, its final score is the baseline, and it has no demos
#    and no hints;
#  - the summary says so in one line;
#  - `dspcc eval --no-cache` reproduces the printed baseline and final
#    scores.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

hurt=tests/compiler/fixtures/demos_hurt
cp "$hurt/dev.jsonl" "$hurt/train.jsonl" "$tmp/"

serve
check "the reference server (test fixture) started" test -n "$port"

str_key() { # FILE KEY: a string value of a state file
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"\\(.*\\)\",*\$/\\1/p" "$1" | head -n 1
}
# nocache_score DSP [ARGS...]: `dspcc eval --no-cache` on all 9 dev rows.
nocache_score() {
    nc_dsp=$1
    shift
    "$dspcc" eval "$tmp/$nc_dsp" --data dev --json --no-cache --base-url "$url" "$@" >"$tmp/nc.json" 2>"$tmp/nc.err"
    json_key "$tmp/nc.json" score
}

for o in "bootstrap_fewshot()" "random_search(num_candidates: 4)" "mipro(auto: light)" \
    "copro(breadth: 3, depth: 2)" "better_together(prompt_optimizer: bootstrap_fewshot)"; do
    n=${o%%(*}
    sed "s/with labeled_fewshot(k: 6)/with $o/" "$hurt/route.dsp" >"$tmp/$n.dsp"
    if [ "$n" = better_together ]; then
        # The student, trained by the fixture's trainer on the teacher's traces.
        sed -i 's/^  seed: 1$/  seed: 1\n  student: small/' "$tmp/$n.dsp"
        cat >>"$tmp/$n.dsp" <<DSP
lm small = "vllm/llama-3.1-8b-instruct" {
  base_url: "http://127.0.0.1:8000/v1"
  trainer: "sh $here/tests/refserver/tiny_trainer.sh --data {data} --base-model {base_model} --output {output} --epochs {epochs}"
  lora_serving: "vllm"
}
DSP
    fi
    optimize_into "$n" "$n.dsp" "$n.json" --cache-dir "$tmp/cache"
    check "$n on data where what it learns hurts exits 0" test $? -eq 0
    base=$(json_key "$tmp/$n.json" baseline_score)
    final=$(json_key "$tmp/$n.json" final_score)
    echo "# $n: the program as written $base, its own $(json_key "$tmp/$n.json" optimized_score), shipped $final"
    check "$n: the state keeps the unoptimized program" test "$(str_key "$tmp/$n.json" shipped)" = unoptimized
    check "$n: its final score is the unoptimized program's" same_score "$final" "$base"
    check "$n: the state has no demos and no hints" \
        sh -c "! grep -q 'Label hints' '$tmp/$n.json' && ! grep -q '\"outputs\": {' '$tmp/$n.json'"
    check "$n: the summary says so in one line" test "$(grep -c '^kept the unoptimized program: ' "$tmp/$n.out")" -eq 1
    printed=$(sed -n 's/.* baseline \([0-9.]*\) -> final \([0-9.]*\) on dev (9 examples).*/\1 \2/p' "$tmp/$n.out")
    ev_base=$(nocache_score "$n.dsp")
    ev_final=$(nocache_score "$n.dsp" --state "$tmp/$n.json")
    check "$n: dspcc eval --no-cache prints the baseline and final scores it printed ($printed)" \
        test "$printed" = "$(printf '%.4f %.4f' "$ev_base" "$ev_final")"
done
