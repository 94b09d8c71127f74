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

. tests/support/rt_link.sh
SAN=$RT_SAN
RTLIBS="$root/$BUILD/libdsprt.a $RT_LIBS"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include -I/usr/include/cjson"
AGENT_MAIN=$root/tests/compiler/fixtures/react_records/agent_main.c

P=$tmp/p
cp -r tests/compiler/fixtures/react_maps "$P"
mkdir -p "$P/build"
cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/libshop.so" "$P/shop.c"
check "libshop.so builds" test $? -eq 0
# Placeholders until the generated programs write the real rows (check reads data files).
echo '{"question": "q", "answer": "a", "trajectory": "t"}' >"$P/rows.jsonl"
echo '{"shop": {"name": "x", "stock": {}, "sites": {}, "notes": {}}, "extra": {}, "prices": {}, "restocked": {"name": "x", "stock": {}, "sites": {}, "notes": {}}, "lines": {}, "sum": 0, "labels": {}, "all": 0}' >"$P/stocks.jsonl"
sed 's|^  base_url: "http://127.0.0.1:9/v1"$|&\n  tool_calling: native|' "$P/agent.dsp" >"$P/native.dsp"

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

mkdir -p "$tmp/text" "$tmp/native"
for v in text native; do
    dsp=$P/agent.dsp
    [ $v = native ] && dsp=$P/native.dsp
    for m in Agent Stock; do
        l=$(printf '%s' "$m" | tr 'A-Z' 'a-z')
        "$DSPCC" build "$dsp" --no-opt --program "$m" -o "$tmp/$v/gen_$l.c" 2>"$tmp/$v/$l.err"
        check "$v: dspcc build --program $m" test $? -eq 0
    done
done
check "the generated C declares the struct's maps as the header does and a table per map parameter" \
    sh -c "grep -q '^    char \*\*stock_keys;\$' '$tmp/text/gen_stock.c' &&
           grep -q '^    const char \*const \*notes_values;\$' '$tmp/text/gen_stock.c' &&
           grep -q 'offsetof(struct shop, notes_count)' '$tmp/text/gen_stock.c' &&
           grep -q 'static const dsp_cmember k_cmap_price_lines_lines\[2\]' '$tmp/text/gen_stock.c'"
"$root/$BUILD/dsp-cshape" --prefix stock_ "$tmp/text/gen_stock.c" "$tmp/text/gen_stock.h" >"$tmp/shape" 2>&1
check "dsp-cshape finds the generated C well formed" test $? -eq 0
for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    for v in text native; do
        [ $cc = clang ] && [ $v = native ] && continue # the same C but for one table: gcc suffices
        $cc $STRICT $SAN -I"$tmp/$v" -o "$tmp/$v/agent_$cc" "$AGENT_MAIN" "$tmp/$v/gen_agent.c" \
            "$P/build/libshop.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
        r=$?
        [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
        check "$v: the generated agent compiles strictly and links with the C tools ($cc)" test $r -eq 0
    done
    $cc $STRICT $SAN -I"$tmp/text" -o "$tmp/stock_$cc" "$P/stock_main.c" "$tmp/text/gen_stock.c" \
        "$P/build/libshop.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "the generated Stock compiles strictly and links with the C tools ($cc)" test $r -eq 0
done

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
mkdir -p "$tmp/emb"
"$DSPCC" build "$P/agent.dsp" --no-opt --program Stock --embed-runtime -o "$tmp/emb/gen_stock.c" 2>"$tmp/emb.err"
check "dspcc build --embed-runtime of a program whose tools take maps" test $? -eq 0
DEPS_CFLAGS=$(pkg-config --cflags libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null)
DEPS_LIBS="$(pkg-config --libs libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null ||
    echo -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz) -lpthread -lm"
for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    $cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN $DEPS_CFLAGS -I"$tmp/emb" \
        -o "$tmp/emb/stock_$cc" "$P/stock_main.c" "$tmp/emb/gen_stock.c" "$P/build/libshop.so" \
        -Wl,-rpath,"$P/build" $DEPS_LIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "the embedded Stock compiles with $cc -std=c17 -pedantic -Werror and links without libdsprt" test $r -eq 0
    "$tmp/emb/stock_$cc" 2>"$tmp/emb.err" | cmp -s - "$P/stocks.jsonl"
    check "the embedded Stock ($cc) prints the rows libdsprt's build printed" test $? -eq 0
done

# ---- react: a map argument from the LM, a map result observed -----------
rs_start
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"
printf 'Where are the shops of Lyon?\nWhat do pens cost?\n' >"$P/questions.txt"
for v in text native; do
    dsp=$P/agent.dsp
    [ $v = native ] && dsp=$P/native.dsp
    DSPCC_BASE_URL=$url "$tmp/$v/agent_gcc" <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/run.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err" | head
    check "$v: the generated agent answers every question" \
        sh -c "test $r -eq 0 && test \$(wc -l <'$P/rows.jsonl') -eq 2"
    check "$v: a map result is the observation (JSON object, keys in the tool's order)" \
        grep -qF '{\"city\":\"shops lyon\"}\n\n[[ ## observation_0 ## ]]\n{\"croix-rousse\":{\"lat\":45.77,\"lon\":4.83},\"part-dieu\":{\"lat\":45.76,\"lon\":4.86}}' "$P/rows.jsonl"
    check "$v: the LM's JSON map argument reached the tool (its sum observed)" \
        grep -qF '{\"prices\":{\"pens cost\":1}}\n\n[[ ## observation_1 ## ]]\n1\n' "$P/rows.jsonl"
    "$DSPCC" eval "$dsp" --data rows --module Agent --metric same --json --no-cache --base-url "$url" \
        >"$tmp/eval.json" 2>"$tmp/eval.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/eval.err" | head
    check "$v: dspcc eval gives the generated C's answers and trajectories (score 1)" \
        test $r -eq 0 -a "$(json_key "$tmp/eval.json" score)" = 1
    cp "$P/rows.jsonl" "$tmp/$v.rows"
done
check "the native loop gives the text loop's trajectories" cmp -s "$tmp/text.rows" "$tmp/native.rows"
if command -v clang >/dev/null; then
    DSPCC_BASE_URL=$url "$tmp/text/agent_clang" <"$P/questions.txt" >"$tmp/clang.jsonl" 2>"$tmp/clang.err"
    check "the clang build gives the same rows" cmp -s "$tmp/clang.jsonl" "$tmp/text.rows"
    "$tmp/stock_clang" 2>/dev/null | cmp -s - "$P/stocks.jsonl"
    check "the clang Stock gives the same rows" test $? -eq 0
fi
