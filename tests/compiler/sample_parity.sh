#!/bin/sh
# best_of_n, refine, majority and multi_chain_comparison against build/dsp-refserver (a TEST
# FIXTURE that samples at temperature > 0 with the seed each sample sends):
# the generated C (rewards called directly) and `dspcc eval` (rewards
# through libffi) run the same dsp_sample_run and keep the same samples:
# the rows the generated programs print are the data, and the metric
# requires the same outputs. Also: how many requests each strategy makes
# (best_of_n's and majority's samples run at once, refine's in order and
# stop at the threshold; with -j 1 best_of_n's too),
# that samples are distinct requests, and refine's feedback. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
if [ -n "${KEEP:-}" ]; then echo "# kept in $tmp"; trap 'rs_stop' EXIT INT TERM
else trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM; fi

SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
RTLIBS="$root/$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include -I/usr/include/cjson"

P=$tmp/p
cp -r tests/compiler/fixtures/sample "$P"
mkdir -p "$P/build" "$tmp/gen"
cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/libreward.so" "$P/reward.c"
check "libreward.so builds" test $? -eq 0
echo '{"text": "q", "category": "general"}' >"$P/rows.jsonl"
echo '{"text": "q", "category": "general", "reasoning": "r"}' >"$P/rows_cot.jsonl"
echo '{"text": "q", "category": "general", "rationale": "r"}' >"$P/rows_mcc.jsonl"

progs="best:Best fix:Fix vote:Vote vote_cot:VoteCot longest:Longest compare:Compare warm:Warm cool:Cool"
for pm in $progs; do
    l=${pm%%:*} m=${pm#*:}
    "$DSPCC" build "$P/sample.dsp" --no-opt --program "$m" -o "$tmp/gen/gen_$l.c" 2>"$tmp/$l.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$l.err"
    check "dspcc build --program $m" test $r -eq 0
done
check "the generated C calls dsp_sample_run with a static dsp_sampling and a reward function" \
    sh -c "grep -q 'st = dsp_sample_run(c, &k_p0, &k_sample0, NULL, args, v_r, err);' '$tmp/gen/gen_best.c' &&
           grep -q 'static const dsp_sampling k_sample0 = { DSP_PICK_BEST_OF_N, 4, cg_reward0, true, 1.0, 0 };' '$tmp/gen/gen_best.c' &&
           grep -q 'static const dsp_sampling k_sample0 = { DSP_PICK_MAJORITY, 5, NULL, false, 0.0, 0 };' '$tmp/gen/gen_vote.c'"
for cc in gcc clang; do
    $cc $STRICT $SAN -I"$tmp/gen" -o "$tmp/sample_$cc" "$P/sample_main.c" "$tmp"/gen/gen_*.c \
        "$P/build/libreward.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "the generated programs compile strictly and link with the reward tools ($cc)" test $r -eq 0
done

rs_start --log "$tmp/requests.log"
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"

n=$(wc -l <"$P/tickets.txt")
for pm in $progs; do
    l=${pm%%:*} m=${pm#*:}
    metric=same data=rows
    [ "$l" = vote_cot ] && metric=same_reasoned data=rows_cot
    [ "$l" = compare ] && metric=same_rationale data=rows_mcc
    DSPCC_BASE_URL=$url "$tmp/sample_gcc" "$l" <"$P/tickets.txt" >"$P/$data.jsonl" 2>"$tmp/run.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err" | head -5
    check "$m: the generated program answers every ticket" sh -c "test $r -eq 0 && test \$(wc -l <'$P/$data.jsonl') -eq $n"
    cp "$P/$data.jsonl" "$tmp/$l.rows"
    "$DSPCC" eval "$P/sample.dsp" --data $data --module "$m" --metric $metric --json --no-cache --base-url "$url" \
        >"$tmp/$l.json" 2>"$tmp/$l.eval.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/$l.eval.err" | head -5
    check "$m: eval and the generated C keep the same samples (score 1)" test "$(json_key "$tmp/$l.json" score)" = 1
    eval "calls_$l=\$(json_key '$tmp/$l.json' lm_calls)"
    [ "$l" = warm ] && cp "$tmp/requests.log" "$tmp/warm.log"
done
# Per-call temperature: in the generated C's and eval's requests alike.
check "temperature: 0.5 on majority: every sample is sent at 0.5, each with its own seed" \
    sh -c "test \$(jq -r '.request' '$tmp/warm.log' | grep -c '\"temperature\":0.5,.*\"seed\":[1-4][,}]') -eq $((2 * 4 * n))"
check "temperature: 0.3 on predict is sent with the call" \
    sh -c "jq -r '.request' '$tmp/requests.log' | tail -n $n | grep -q '\"temperature\":0.3[,}]' &&
           test \$(jq -r '.request' '$tmp/requests.log' | tail -n $((2 * n)) | grep -c '\"temperature\":0.3[,}]') -eq $((2 * n))"
check "majority samples n times for every ticket (5 x $n)" test "$calls_vote" = $((5 * n))
check "best_of_n samples all n at once (4 x $n)" test "$calls_best" = $((4 * n))
# One request at a time (-j 1): samples go in order, best_of_n stops at the
# threshold, and it keeps the same samples.
cp "$tmp/best.rows" "$P/rows.jsonl"
"$DSPCC" eval "$P/sample.dsp" --data rows --module Best --metric same --json --no-cache --base-url "$url" -j 1 \
    >"$tmp/best1.json" 2>"$tmp/best1.err"
check "best_of_n with -j 1 keeps the same samples (score 1)" test "$(json_key "$tmp/best1.json" score)" = 1
check "best_of_n with -j 1 stops early at the threshold (fewer than 4 x $n calls)" \
    test "$(json_key "$tmp/best1.json" lm_calls)" -lt $((4 * n))
check "best_of_n without a threshold always samples n" test "$calls_longest" = $((3 * n))
check "refine makes at most n calls a ticket" test "$calls_fix" -le $((3 * n))
check "multi_chain_comparison makes m attempts and one comparison a ticket" test "$calls_compare" = $((4 * n))
check "multi_chain_comparison's temperature: 0.9: its 3 attempts a ticket are sent at 0.9" \
    test "$(jq -r '.request' "$tmp/requests.log" | grep -c '"temperature":0.9,')" -eq $((2 * 3 * n))
check "the comparison sees the attempts" grep -q 'reasoning_attempt_3 ## ]].*I.m not sure but my prediction is' "$tmp/requests.log"
check "samples are distinct requests: each sends its own seed" \
    sh -c "grep -q 'seed..:1[,}]' '$tmp/requests.log' && grep -q 'seed..:5[,}]' '$tmp/requests.log'"

# Samples run at once: 5 samples of a 300-400 ms fixture take well under
# 5 x 300 ms, and whatever order they finish in, the same one is kept.
rs_start --latency-ms 300:100
url="http://127.0.0.1:$port/v1"
t0=$(date +%s%N)
head -n 1 "$P/tickets.txt" | DSPCC_BASE_URL=$url "$tmp/sample_gcc" vote >"$tmp/vote_slow.jsonl" 2>"$tmp/slow.err"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "majority's 5 samples run at once (one ticket in $ms ms, under 1200)" test "$ms" -lt 1200
check "with jittered latency the same sample is kept" sh -c "head -n 1 '$tmp/vote.rows' | cmp -s - '$tmp/vote_slow.jsonl'"
