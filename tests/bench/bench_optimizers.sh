#!/bin/sh
# make bench-optimizers: every optimizer on every example, against
# build/dsp-refserver (a TEST FIXTURE, a deterministic in-context learner,
# not a language model), for a few seeds; the program each run ships and
# the program as written, compared on rows no optimizer saw.
#
# For each example of examples/ (its .dsp, its optimize block's metric,
# data and lms), each optimizer of BENCH_OPT_OPTIMIZERS (the example's
# block with `with OPTIMIZER` in its place: the optimizer's defaults; an
# embedder for knn_fewshot, a student trained by tests/refserver/
# tiny_trainer.sh for better_together) and each seed:
#  - optimize on the example's training rows (at most BENCH_OPT_TRAIN)
#    with its first dev rows (at most BENCH_OPT_VAL) as the valset;
#  - (a) the baseline and final scores optimize prints against
#    `dspcc eval --no-cache` of the program as written and of the state on
#    the same dev rows: `a:ok`, else `a:DIFF`;
#  - (b) the guard: when the optimizer's own program (the state's
#    optimized_score) is not above the baseline on the valset, the state
#    must ship the unoptimized program and the summary must say so: `b:ok`,
#    else `b:SILENT`; a better program must ship (`b:LOST` otherwise);
#  - (c) held-out rows no optimizer saw (at most BENCH_OPT_HELD): where the
#    example's train.jsonl is the first rows of a data set of
#    BENCH_OPT_DATA (entities: wnut17_entities; multihop, agent:
#    squad2_answerable_sample), that set's training rows after them; else
#    (tickets, extract) the example's own training rows after the first
#    2/3 (or BENCH_OPT_TRAIN), the rest being optimized on. `dspcc eval`
#    scores there the program as written (base-h), what shipped (ship-h)
#    and the optimizer's own program (opt-h; re-run with
#    --allow-regression, from the cache, when the guard kept the program
#    as written); d-ship and d-opt are their differences from base-h.
# Prints one line per run and a summary per optimizer; asserts nothing.
# A run dspcc refuses prints the first line of the error.
#
#   BENCH_OPT_EXAMPLES    (default: tickets entities extract multihop agent)
#   BENCH_OPT_OPTIMIZERS  (default: all ten)
#   BENCH_OPT_SEEDS       (default "1 2 3")
#   BENCH_OPT_TRAIN, BENCH_OPT_VAL, BENCH_OPT_HELD   (default 300, 100, 300)
#   BENCH_OPT_J           examples in flight for each dspcc run (default 4)
#   BENCH_OPT_DATA        the shared data sets (default ../shared/data)
set -u
: "${BUILD:=build}"
: "${BENCH_OPT_EXAMPLES:=tickets entities extract multihop agent}"
: "${BENCH_OPT_OPTIMIZERS:=labeled_fewshot bootstrap_fewshot random_search mipro copro simba gepa knn_fewshot ensemble better_together}"
: "${BENCH_OPT_SEEDS:=1 2 3}"
: "${BENCH_OPT_TRAIN:=300}"
: "${BENCH_OPT_VAL:=100}"
: "${BENCH_OPT_HELD:=300}"
: "${BENCH_OPT_J:=4}"
: "${BENCH_OPT_DATA:=../shared/data}"
top=$(pwd)
dspcc="$top/$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL DSPCC_CACHE_URL

rs_start --threads 2 --ft-delay-ms 30
if [ -z "$port" ]; then
    echo "bench-optimizers: $BUILD/dsp-refserver printed no port" >&2
    exit 1
fi
url="http://127.0.0.1:$port/v1"
cache="$tmp/cache"

# json_num FILE KEY: the first number KEY holds in a JSON file.
json_num() {
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1
}
json_str() {
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}

# evalscore DSP DATA [STATE] [extra...]: the mean `dspcc eval --no-cache` prints.
evalscore() {
    e_dsp=$1 e_data=$2
    shift 2
    "$dspcc" eval "$e_dsp" --data "$e_data" --base-url "$url" --no-cache -j "$BENCH_OPT_J" --json "$@" \
        2>>"$tmp/eval.err" >"$tmp/eval.json" || {
        echo "error"
        return
    }
    json_num "$tmp/eval.json" score
}

# variant SRC DST OPTIMIZER: the example SRC with its optimize block's
# header saying `with OPTIMIZER`, and the lms knn_fewshot and
# better_together need declared and named in the block.
variant() {
    extra_lm= extra_key=
    case $3 in
    knn_fewshot)
        extra_lm='lm bench_embed = "openai/text-embedding-3-small"'
        extra_key='  embedder: bench_embed'
        ;;
    better_together)
        extra_lm="lm bench_student = \"vllm/llama-3.1-8b-instruct\" {
  base_url: \"http://127.0.0.1:8000/v1\"
  temperature: 0.0
  trainer: \"sh $top/tests/refserver/tiny_trainer.sh --data {data} --base-model {base_model} --output {output} --epochs {epochs}\"
  lora_serving: \"vllm\"
}"
        extra_key='  student: bench_student'
        ;;
    esac
    awk -v opt="$3" -v lm="$extra_lm" -v key="$extra_key" '
        /^optimize / { inblock = 1; header = 1 }
        inblock && header {
            if ($0 ~ /\{[[:space:]]*$/) {
                split($0, w, " ")
                print "optimize " w[2] " with " opt " {"
                if (key != "") print key
                header = 0
            }
            next
        }
        inblock && /^}/ { inblock = 0 }
        { print }
        END { if (lm != "") print lm }' "$1" >"$2"
}

rows() { wc -l <"$1" | tr -d ' '; }
# shared_source EXAMPLE: the data set of $BENCH_OPT_DATA whose training
# rows start with the example's (its data/SOURCE.md says which rows).
shared_source() {
    case $1 in
    entities) echo wnut17_entities ;;
    multihop | agent) echo squad2_answerable_sample ;;
    esac
}
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }

printf '%-9s %-17s %4s %5s %5s %5s | %-7s %-6s %-6s %-11s | %-6s %-6s %-6s %-6s %-6s | %s\n' \
    example optimizer seed train val held baseline final eval-a shipped base-h ship-h opt-h d-ship d-opt checks
for ex in $BENCH_OPT_EXAMPLES; do
    src=$(ls "examples/$ex"/*.dsp | grep -v _bt.dsp | head -n 1)
    dir="$tmp/$ex"
    mkdir -p "$dir"
    # The example's folder, linked, so its data, tools and headers resolve.
    for f in "$top/examples/$ex"/*; do
        case $f in *.dsp) ;; *) ln -s "$f" "$dir/" ;; esac
    done
    n_train=$(rows "examples/$ex/data/train.jsonl")
    n_dev=$(rows "examples/$ex/data/dev.jsonl")
    val=$(min "$n_dev" "$BENCH_OPT_VAL")
    # Held-out: the shared data set's training rows after those the
    # example copied (its train.jsonl is their prefix), else the example's
    # own training rows after the first 2/3 (or BENCH_OPT_TRAIN).
    shared=$(shared_source "$ex")
    if [ -n "$shared" ] && [ -f "$BENCH_OPT_DATA/$shared/train.jsonl" ]; then
        train=$(min "$n_train" "$BENCH_OPT_TRAIN")
        from=$((n_train + 1))
        heldsrc="$BENCH_OPT_DATA/$shared/train.jsonl"
    else
        train=$(min $((n_train * 2 / 3)) "$BENCH_OPT_TRAIN")
        from=$((train + 1))
        heldsrc="examples/$ex/data/train.jsonl"
    fi
    tail -n "+$from" "$heldsrc" | head -n "$BENCH_OPT_HELD" >"$dir/held.jsonl"
    held=$(rows "$dir/held.jsonl")
    for opt in $BENCH_OPT_OPTIMIZERS; do
        dsp="$dir/$opt.dsp"
        variant "$src" "$dsp" "$opt"
        base_h=
        for seed in $BENCH_OPT_SEEDS; do
            n="$dir/$opt-$seed"
            line=$(printf '%-9s %-17s %4s %5s %5s %5s' "$ex" "$opt" "$seed" "$train" "$val" "$held")
            if ! "$dspcc" optimize "$dsp" -o "$n.json" --base-url "$url" --cache-dir "$cache" --seed "$seed" \
                --trainset-limit "$train" --valset-limit "$val" -j "$BENCH_OPT_J" -q >"$n.out" 2>"$n.err"; then
                echo "$line | refused or failed: $(tail -n 1 "$n.err" | cut -c 1-110)"
                continue
            fi
            base=$(json_num "$n.json" baseline_score)
            final=$(json_num "$n.json" final_score)
            optd=$(json_num "$n.json" optimized_score)
            shipped=$(json_str "$n.json" shipped)
            printed=$(sed -n 's/.* baseline \([0-9.]*\) -> final \([0-9.]*\) on .*/\1 \2/p' "$n.out" | head -n 1)
            # (a) what optimize printed, against eval --no-cache on the same rows.
            ev_base=$(evalscore "$dsp" "$(json_str "$n.json" valset)" --limit "$val")
            ev_final=$(evalscore "$dsp" "$(json_str "$n.json" valset)" --limit "$val" --state "$n.json")
            a=$(awk -v p="$printed" -v b="$ev_base" -v f="$ev_final" 'BEGIN {
                split(p, x, " ");
                ok = (x[1] != "" && sprintf("%.4f", b) == sprintf("%.4f", x[1]) && sprintf("%.4f", f) == sprintf("%.4f", x[2]));
                print ok ? "a:ok" : "a:DIFF(" x[1] "/" x[2] " vs " b "/" f ")" }')
            # (b) the guard.
            b=$(awk -v o="$optd" -v z="$base" -v s="$shipped" -v said="$(grep -c 'kept the unoptimized program' "$n.out")" 'BEGIN {
                if (o + 0 > z + 0) print (s == "optimized") ? "b:ok" : "b:LOST(" s ")";
                else print (s == "unoptimized" && said > 0) ? "b:ok" : "b:SILENT(" s ")" }')
            # (c) held-out.
            [ -n "$base_h" ] || base_h=$(evalscore "$dsp" "train=$dir/held.jsonl")
            ship_h=$(evalscore "$dsp" "train=$dir/held.jsonl" --state "$n.json")
            if [ "$shipped" = unoptimized ] && grep -q "'s program scored" "$n.out"; then
                "$dspcc" optimize "$dsp" -o "$n.raw.json" --base-url "$url" --cache-dir "$cache" --seed "$seed" \
                    --trainset-limit "$train" --valset-limit "$val" -j "$BENCH_OPT_J" -q --allow-regression \
                    >/dev/null 2>&1
                opt_h=$(evalscore "$dsp" "train=$dir/held.jsonl" --state "$n.raw.json")
            else
                opt_h=$ship_h
            fi
            awk -v l="$line" -v z="$base" -v f="$final" -v e="$ev_final" -v s="$shipped" -v bh="$base_h" \
                -v sh="$ship_h" -v oh="$opt_h" -v a="$a" -v b="$b" 'BEGIN {
                printf "%s | %-7.4f %-6.4f %-6.4f %-11s | %-6.3f %-6.3f %-6.3f %+-6.3f %+-6.3f | %s %s\n",
                    l, z, f, e, (s == "optimized, regression allowed" ? "regression" : s), bh, sh, oh, sh - bh, oh - bh, a, b }'
        done
    done
done | tee "$tmp/table"
echo
echo "per optimizer, over the runs above (held-out: the training rows after those optimized on):"
awk -F'|' 'NF >= 4 {
        split($1, k, " "); o = k[2]; n[o]++
        split($3, h, " "); ds = h[4]; dop = h[5]
        worse[o] += (dop < -0.0005); shipworse[o] += (ds < -0.0005); sumd[o] += ds
        if ($4 ~ /DIFF/) adiff[o]++
        if ($4 ~ /SILENT|LOST/) bbad[o]++
        split($2, v, " "); if (v[4] == "unoptimized") kept[o]++
    }
    END { for (o in n) printf "  %-17s runs %2d  kept unoptimized %2d  optimizer program < baseline held-out %2d  shipped < baseline %2d  mean shipped-baseline %+.3f  score DIFF %d  guard failures %d\n",
            o, n[o], kept[o], worse[o], shipworse[o], sumd[o] / n[o], adiff[o], bbad[o] }' "$tmp/table" | sort
