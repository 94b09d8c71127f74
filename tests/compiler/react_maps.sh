#!/bin/sh
# C tools that take and return map<string, T> (docs/c-headers.md, "Maps"),
# typed from their header (fixture react_maps: shop.h, shop.c), end to end
# against build/dsp-refserver (a TEST FIXTURE acting as an agent): a react
# agent passes a map argument from the LM's JSON and reads a map result
# back as a JSON observation, with the text loop and with tool_calling:
# native; a module calls tools directly with a struct holding maps (`char
# **x_keys; T *x_values; size_t n_x;`: ints, records, the tool's const
# strings) in and out, and maps of ints, floats, strings and records as
# parameters (`const char *const *x_keys, const T *x_values, size_t n_x`)
# and as results (`char ***x_keys, T **x_values, size_t *n_x`), also built
# with --embed-runtime (gcc and clang -pedantic, the same rows). The
# generated C (under ASan when libdsprt is) and `dspcc eval` (tools through
# libffi) give the same trajectories and the same values. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
if [ -n "${KEEP:-}" ]; then echo "# kept in $tmp"; trap 'rs_stop' EXIT INT TERM
else trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM; fi

. tests/support/ctool_parity.sh

P=$tmp/p
ct_fixture react_maps libshop.so shop.c
# Placeholders until the generated programs write the real rows (check reads data files).
echo '{"question": "q", "answer": "a", "trajectory": "t"}' >"$P/rows.jsonl"
echo '{"shop": {"name": "x", "stock": {}, "sites": {}, "notes": {}}, "extra": {}, "prices": {}, "restocked": {"name": "x", "stock": {}, "sites": {}, "notes": {}}, "lines": {}, "sum": 0, "labels": {}, "all": 0}' >"$P/stocks.jsonl"

"$DSPCC" check "$P/agent.dsp" 2>"$tmp/check.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/check.err" | head
check "a program whose tools take and return maps checks" test $r -eq 0
"$DSPCC" dump-ir "$P/agent.dsp" >"$tmp/ir.json" 2>/dev/null
check "the react step shows a map argument's JSON schema to the LM" \
    grep -qF 'total takes {\"prices\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"number\"}}}' "$tmp/ir.json"
tr -d ' \n\t' <"$tmp/ir.json" >"$tmp/ir.squeezed"
check "dump-ir shows a struct's map: its keys hold the field, its values and count name the keys" \
    grep -qF '{"ctype":"char**","field":"stock","name":"stock_keys"},{"ctype":"int32_t*","name":"stock_values","values_of":"stock_keys"},{"count_of":"stock_keys","ctype":"size_t","name":"n_stock"}' "$tmp/ir.squeezed"
check "dump-ir shows a map parameter by its .dsp name, its values and length after it" \
    grep -qF '{"ctype":"constchar*const*","elem_ctype":"double","name":"prices","role":"in","type":{"map":"float"}},{"ctype":"constdouble*","elem_ctype":"double","name":"prices_values","role":"values","type":null},{"ctype":"size_t","elem_ctype":null,"name":"n_prices","role":"len","type":null}' "$tmp/ir.squeezed"

ct_build_all Stock
check "the generated C declares the struct's maps as the header does and a table per map parameter" \
    sh -c "grep -q '^    char \*\*stock_keys;\$' '$tmp/text/gen_stock.c' &&
           grep -q '^    const char \*const \*notes_values;\$' '$tmp/text/gen_stock.c' &&
           grep -q 'offsetof(struct shop, notes_count)' '$tmp/text/gen_stock.c' &&
           grep -q 'static const dsp_cmember k_cmap_price_lines_lines\[2\]' '$tmp/text/gen_stock.c'"
"$root/$BUILD/dsp-cshape" --prefix stock_ "$tmp/text/gen_stock.c" "$tmp/text/gen_stock.h" >"$tmp/shape" 2>&1
check "dsp-cshape finds the generated C well formed" test $? -eq 0
ct_compile_all stock libshop.so

# ---- direct calls: maps in structs, as parameters and as results ---------
"$tmp/stock_gcc" >"$P/stocks.jsonl" 2>"$tmp/stock.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/stock.err" | head
check "the generated Stock runs every row" sh -c "test $r -eq 0 && test \$(wc -l <'$P/stocks.jsonl') -eq 3"
check "a struct's maps in and out: ints updated and appended, records kept, the tool's const strings copied" \
    grep -qF '"restocked":{"name":"CORNER","stock":{"pens":3,"ink":5,"paper":12,"clips":100},"sites":{"north":{"lat":45.770000000000003,"lon":4.8300000000000001},"south":{"lat":-33.5,"lon":151.25}},"notes":{"hours":"9-18","phone":"none"}}' "$P/stocks.jsonl"
check "a map of floats in, a map of floats out (the tool's arrays), a float out beside it" \
    grep -qF '"lines":{"pens":3.75,"ink":37.5,"clips":1},"sum":42.25' "$P/stocks.jsonl"
check "a map of records in (a struct's field), a map of strings out" \
    grep -qF '"labels":{"north":"45.77,4.83","south":"-33.50,151.25"}' "$P/stocks.jsonl"
check "empty maps pass and come back empty" \
    grep -qF '"restocked":{"name":"EMPTY","stock":{},"sites":{},"notes":{}},"lines":{},"sum":0,"labels":{},"all":0}' "$P/stocks.jsonl"
"$DSPCC" eval "$P/agent.dsp" --data stocks --module Stock --metric same_stock --json --no-cache \
    >"$tmp/stock.json" 2>"$tmp/stock_eval.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/stock_eval.err" | head
check "dspcc eval (libffi) gives the generated C's values on every row (score 1)" \
    test $r -eq 0 -a "$(json_key "$tmp/stock.json" score)" = 1
sed '1s/"ink":5,"paper"/"ink":6,"paper"/' "$P/stocks.jsonl" >"$tmp/off.jsonl"
cp "$tmp/off.jsonl" "$P/stocks.jsonl.off"
sed 's|jsonl("stocks.jsonl")|jsonl("stocks.jsonl.off")|' "$P/agent.dsp" >"$P/off.dsp"
"$DSPCC" eval "$P/off.dsp" --data stocks --module Stock --metric same_stock --json --no-cache >"$tmp/off.json" 2>/dev/null
check "the parity metric sees one map value changed (score below 1)" \
    test "$(json_key "$tmp/off.json" score)" != 1

# ---- --embed-runtime: libdsprt inside the one .c, maps and all -----------
ct_embed stock Stock libshop.so "$P/stocks.jsonl"

# ---- react: a map argument from the LM, a map result observed -----------
printf 'Where are the shops of Lyon?\nWhat do pens cost?\n' >"$P/questions.txt"
# The rows' checks, after each loop (ct_react).
react_checks()
{
    check "$1: a map result is the observation (JSON object, keys in the tool's order)" \
        grep -qF '{\"city\":\"shops lyon\"}\n\n[[ ## observation_0 ## ]]\n{\"croix-rousse\":{\"lat\":45.77,\"lon\":4.83},\"part-dieu\":{\"lat\":45.76,\"lon\":4.86}}' "$P/rows.jsonl"
    check "$1: the LM's JSON map argument reached the tool (its sum observed)" \
        grep -qF '{\"prices\":{\"pens cost\":1}}\n\n[[ ## observation_1 ## ]]\n1\n' "$P/rows.jsonl"
}
ct_react 2 react_checks
if command -v clang >/dev/null; then
    "$tmp/stock_clang" 2>/dev/null | cmp -s - "$P/stocks.jsonl"
    check "the clang Stock gives the same rows" test $? -eq 0
fi
