# tests/support/gen_parity.sh — sourced, after optimize_e2e.sh, by the tests
# that build an optimized classifier into C and check that the program
# chooses as `dspcc eval` does (tests/compiler/knn_e2e.sh, ensemble_e2e.sh).
#
# gen_parity DSP STATE NAME PROG FIELD KEY ROWS: `dspcc build $tmp/DSP
# --state $tmp/STATE` twice (the same bytes) into $tmp/gen/NAME.c, compiled
# strictly with gcc and clang (with the sanitizers when libdsprt has them)
# with tests/compiler/fixtures/classify_main.c (PROG: the C prefix, FIELD:
# the enum output, KEY: the data's column for it), run on the first ROWS
# dev texts of examples/tickets/data into $tmp/rows.jsonl, whose choices
# `dspcc eval --state` must score 1. Sets $right, the program's accuracy
# against the dev labels in column KEY. Prints TAP.
gen_parity() {
    gp_dsp=$1 gp_state=$2 gp_name=$3 gp_prog=$4 gp_field=$5 gp_key=$6 gp_rows=$7
    . tests/support/rt_link.sh
    gp_san=$RT_SAN
    gp_libs="$here/$BUILD/libdsprt.a $RT_LIBS"
    gp_strict="-std=c17 -Wall -Wextra -Werror -pedantic -I$here/runtime/include -I/usr/include/cjson"
    mkdir -p "$tmp/gen" "$tmp/gen2"
    "$dspcc" build "$tmp/$gp_dsp" --state "$tmp/$gp_state" -o "$tmp/gen/$gp_name.c" 2>"$tmp/build.err"
    check "dspcc build --state $gp_state" test $? -eq 0
    "$dspcc" build "$tmp/$gp_dsp" --state "$tmp/$gp_state" -o "$tmp/gen2/$gp_name.c" 2>/dev/null
    check "a second build writes the same bytes" cmp -s "$tmp/gen/$gp_name.c" "$tmp/gen2/$gp_name.c"
    for gp_cc in gcc clang; do
        # shellcheck disable=SC2086
        $gp_cc $gp_strict $gp_san -I"$tmp/gen" -DPROG_H="\"$gp_name.h\"" -DPROG="$gp_prog" -DFIELD="$gp_field" \
            -DKEY="\"$gp_key\"" -o "$tmp/classify_$gp_cc" "$here/tests/compiler/fixtures/classify_main.c" \
            "$tmp/gen/$gp_name.c" $gp_libs 2>"$tmp/cc.err"
        gp_r=$?
        [ $gp_r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -10
        check "the generated program compiles strictly ($gp_cc)" test $gp_r -eq 0
    done
    head -n "$gp_rows" "$here/examples/tickets/data/dev.jsonl" | sed 's/^{"text": "\(.*\)", "label": .*/\1/' \
        >"$tmp/texts.txt"
    DSPCC_BASE_URL=$url "$tmp/classify_gcc" <"$tmp/texts.txt" >"$tmp/rows.jsonl" 2>"$tmp/run.err"
    gp_r=$?
    [ $gp_r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err" | head -5
    check "the generated program answers all $gp_rows dev texts" \
        sh -c "test $gp_r -eq 0 && test \$(wc -l <'$tmp/rows.jsonl') -eq $gp_rows"
    "$dspcc" eval "$tmp/$gp_dsp" --state "$tmp/$gp_state" --data "dev=$tmp/rows.jsonl" --json --no-cache \
        --base-url "$url" >"$tmp/parity.json" 2>"$tmp/parity.err"
    check "dspcc eval makes the generated program's choice on every row (score 1)" \
        test "$(json_key "$tmp/parity.json" score)" = 1
    right=$(head -n "$gp_rows" "$here/examples/tickets/data/dev.jsonl" |
            sed "s/.*\"$gp_key\": \"\([a-z_]*\)\".*/\1/" | paste -d' ' - "$tmp/rows.jsonl" |
            awk -v k="$gp_key" '{ n++; if (index($0, "\"" k "\":\"" $1 "\"")) r++ } END { printf "%.12f\n", r / n }')
}
