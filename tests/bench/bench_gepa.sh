#!/bin/sh
# make bench-gepa: gepa (auto: light) against mipro (auto: light) on
# build/dsp-refserver (a TEST FIXTURE, a deterministic in-context learner,
# not a language model), for the one-predictor classifier of
# tests/support/classifier_dsp.sh, on the 27-way intents
# (examples/tickets/data) and the IT service tickets
# ($BENCH_GEPA_DATA/it_service_tickets), for each seed of BENCH_GEPA_SEEDS:
#  - dev: optimized on the whole trainset with dev as the valset; the
#    optimizer's final score, on all of dev;
#  - held-out: optimized on the first BENCH_GEPA_SPLIT training rows with
#    dev as the valset, scored by `dspcc eval --state` on the training rows
#    after them, which no optimizer saw.
# Prints one line per task, split and seed, and the means; asserts nothing
# (tests/compiler/gepa_vs_mipro.sh checks the order on reduced splits).
#
#   BENCH_GEPA_DATA   the shared data sets (default ../shared/data)
#   BENCH_GEPA_SEEDS  (default "1 2 3 4 7")
#   BENCH_GEPA_SPLIT  training rows optimized on for held-out (default 1650)
set -u
: "${BUILD:=build}"
: "${BENCH_GEPA_DATA:=../shared/data}"
: "${BENCH_GEPA_SEEDS:=1 2 3 4 7}"
: "${BENCH_GEPA_SPLIT:=1650}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/refserver.sh
. tests/support/classifier_dsp.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL

it="$BENCH_GEPA_DATA/it_service_tickets"
if [ ! -f "$it/train.jsonl" ]; then
    echo "bench-gepa: no $it/train.jsonl (set BENCH_GEPA_DATA to the folder of the shared data sets)" >&2
    exit 1
fi
for task in intents it; do
    [ $task = intents ] && src=examples/tickets/data || src=$it
    mkdir -p "$tmp/$task"
    cp "$src/train.jsonl" "$tmp/$task/train.jsonl"
    cp "$src/dev.jsonl" "$tmp/$task/dev.jsonl"
    head -n "$BENCH_GEPA_SPLIT" "$src/train.jsonl" >"$tmp/$task/head.jsonl"
    tail -n "+$((BENCH_GEPA_SPLIT + 1))" "$src/train.jsonl" >"$tmp/$task/held.jsonl"
done

rs_start --threads 4
if [ -z "$port" ]; then
    echo "bench-gepa: $BUILD/dsp-refserver printed no port" >&2
    exit 1
fi
url="http://127.0.0.1:$port/v1"

# score DSP STATE [HELD]: the state's final score, or with HELD its score
# on that file by `dspcc eval`.
score() {
    if [ $# -eq 2 ]; then
        sed -n 's/^[[:space:]]*"final_score":[[:space:]]*\([0-9.]*\).*/\1/p' "$2" | head -n 1
    else
        "$dspcc" eval "$1" --state "$2" --data "$3" --base-url "$url" --cache-dir "$tmp/cache" --json 2>/dev/null |
            sed -n 's/^[[:space:]]*"score":[[:space:]]*\([0-9.]*\).*/\1/p'
    fi
}

printf '%-8s %-9s %4s  %-9s %-9s %-9s\n' task split seed zero-shot mipro gepa
for task in intents it; do
    [ $task = intents ] && enum=$(intent_labels "$tmp/intents/train.jsonl") || enum=$it_labels
    for split in dev held-out; do
        [ $split = dev ] && train=train.jsonl || train=head.jsonl
        for seed in $BENCH_GEPA_SEEDS; do
            line="$task $split $seed"
            for o in mipro gepa; do
                n="$tmp/$task/$o-$split-$seed"
                classifier "$n.dsp" "$enum" "$train" dev.jsonl "$o(auto: light)" "$seed"
                if ! "$dspcc" optimize "$n.dsp" -o "$n.json" --base-url "$url" -j 4 --cache-dir "$tmp/cache" \
                    >"$n.out" 2>"$n.err"; then
                    echo "bench-gepa: $o on $task ($split, seed $seed) failed:" >&2
                    tail -n 3 "$n.err" >&2
                    exit 1
                fi
                if [ $split = dev ]; then
                    s=$(score "$n.dsp" "$n.json")
                    z=$(sed -n 's/^[[:space:]]*"baseline_score":[[:space:]]*\([0-9.]*\).*/\1/p' "$n.json" | head -n 1)
                else
                    s=$(score "$n.dsp" "$n.json" "$tmp/$task/held.jsonl")
                    z=$("$dspcc" eval "$n.dsp" --data "$tmp/$task/held.jsonl" --base-url "$url" \
                        --cache-dir "$tmp/cache" --json 2>/dev/null |
                        sed -n 's/^[[:space:]]*"score":[[:space:]]*\([0-9.]*\).*/\1/p')
                fi
                line="$line $s"
            done
            echo "$line" | awk -v z="$z" '{ printf "%-8s %-9s %4s  %-9.3f %-9.3f %-9.3f\n", $1, $2, $3, z, $4, $5 }'
        done
    done
done | tee "$tmp/table"
awk '{ k = $1 " " $2; n[k]++; z[k] += $4; m[k] += $5; g[k] += $6; w[k] += ($6 >= $5) }
     END { for (k in n) printf "mean %-17s zero-shot %.3f  mipro %.3f  gepa %.3f  (gepa >= mipro on %d of %d seeds)\n",
                                k, z[k] / n[k], m[k] / n[k], g[k] / n[k], w[k], n[k] }' "$tmp/table" | sort
