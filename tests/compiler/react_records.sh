#!/bin/sh
# C tools that take and return structs (docs/c-headers.md, "Records and C
# structs"), typed from their header (fixture react_records: geo.h, geo.c),
# end to end against build/dsp-refserver (a TEST FIXTURE acting as an
# agent): a react agent passes a record argument from the LM's JSON and
# reads a struct result back as a JSON observation, with the text loop and
# with tool_calling: native; a module calls tools directly with records by
# value and by address, lists of records both ways, a struct returned by
# value, an optional record out (`T **out`) and in (`const T *` marked
# optional: NULL when absent), optional scalar members after their flags
# (`bool has_x; T x;`), also built with --embed-runtime (gcc and clang
# -pedantic, the same rows). The generated C (tools called directly,
# under ASan when libdsprt is) and `dspcc eval` (tools through libffi) give
# the same trajectories and the same values: the rows the generated
# programs print are the data, and the metrics require every field equal.
# Prints TAP.
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

P=$tmp/p
cp -r tests/compiler/fixtures/react_records "$P"
mkdir -p "$P/build"
cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/libgeo.so" "$P/geo.c" -lm
check "libgeo.so builds" test $? -eq 0
# Placeholders until the generated programs write the real rows (check reads data files).
echo '{"question": "q", "answer": "a", "trajectory": "t"}' >"$P/rows.jsonl"
echo '{"a": {"lat": 0, "lon": 0}, "b": {"lat": 0, "lon": 0}, "pts": [], "country": "x", "mid": {"lat": 0, "lon": 0}, "near": [], "capital": null, "by": null, "moved": {"lat": 0, "lon": 0}, "shifted": {"lat": 0, "lon": 0}, "reading": {"station": "x"}, "calibrated": {"station": "x"}}' >"$P/trips.jsonl"
sed 's|^  base_url: "http://127.0.0.1:9/v1"$|&\n  tool_calling: native|' "$P/agent.dsp" >"$P/native.dsp"

"$DSPCC" check "$P/agent.dsp" 2>"$tmp/check.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/check.err" | head
check "a program whose tools take and return structs checks" test $r -eq 0
"$DSPCC" dump-ir "$P/agent.dsp" >"$tmp/ir.json" 2>/dev/null
check "the react step shows a record argument's JSON schema to the LM" \
    grep -qF 'find_city takes {\"query\": {\"type\": \"string\"}, \"near\": {\"type\": \"object\", \"properties\": {\"lat\": {\"type\": \"number\"}, \"lon\": {\"type\": \"number\"}}, \"required\": [\"lat\", \"lon\"]}}' "$tmp/ir.json"

tr -d ' \n\t' <"$tmp/ir.json" >"$tmp/ir.squeezed"
check "dump-ir shows a struct parameter's C struct: members, the fields they hold, const pointers borrowed" \
    grep -qF '"cstruct":{"c_name":"structcity","members":[{"ctype":"char*","field":"name","name":"name"},{"borrowed":true,"ctype":"constchar*","field":"country","name":"country"}' "$tmp/ir.squeezed"

check "dump-ir names the member a list's count and an optional scalar's flag serve (no member without a field)" \
    sh -c "grep -qF '{\"count_of\":\"tags\",\"ctype\":\"size_t\",\"name\":\"n_tags\"}' '$tmp/ir.squeezed' &&
           grep -qF '{\"ctype\":\"bool\",\"flag_of\":\"temp\",\"name\":\"has_temp\"}' '$tmp/ir.squeezed' &&
           ! grep -qF '\"field\":null' '$tmp/ir.squeezed'"

mkdir -p "$tmp/text" "$tmp/native"
for v in text native; do
    dsp=$P/agent.dsp
    [ $v = native ] && dsp=$P/native.dsp
    for m in Agent Trip; do
        l=$(printf '%s' "$m" | tr 'A-Z' 'a-z')
        "$DSPCC" build "$dsp" --no-opt --program "$m" -o "$tmp/$v/gen_$l.c" 2>"$tmp/$v/$l.err"
        check "$v: dspcc build --program $m" test $? -eq 0
    done
done
check "the generated C defines each struct once, as the header lays it out" \
    sh -c "test \$(grep -c '^struct city {\$' '$tmp/text/gen_trip.c') -eq 1 &&
           grep -q '^} Point;\$' '$tmp/text/gen_trip.c' &&
           grep -q 'offsetof(struct city, n_tags)' '$tmp/text/gen_trip.c'"
"$root/$BUILD/dsp-cshape" --prefix trip_ "$tmp/text/gen_trip.c" "$tmp/text/gen_trip.h" >"$tmp/shape" 2>&1
check "dsp-cshape finds the generated C well formed" test $? -eq 0
for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    for v in text native; do
        [ $cc = clang ] && [ $v = native ] && continue # the same C but for one table: gcc suffices
        $cc $STRICT $SAN -I"$tmp/$v" -o "$tmp/$v/agent_$cc" "$P/agent_main.c" "$tmp/$v/gen_agent.c" \
            "$P/build/libgeo.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
        r=$?
        [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
        check "$v: the generated agent compiles strictly and links with the C tools ($cc)" test $r -eq 0
    done
    $cc $STRICT $SAN -I"$tmp/text" -o "$tmp/trip_$cc" "$P/trip_main.c" "$tmp/text/gen_trip.c" \
        "$P/build/libgeo.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "the generated Trip compiles strictly and links with the C tools ($cc)" test $r -eq 0
done

# ---- direct calls: records by value and by address, lists, optional ------
"$tmp/trip_gcc" >"$P/trips.jsonl" 2>"$tmp/trip.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/trip.err" | head
check "the generated Trip runs every row" sh -c "test $r -eq 0 && test \$(wc -l <'$P/trips.jsonl') -eq 3"
check "a struct returned by value is the midpoint" grep -q '"mid":{"lat":47.310000000000002,"lon":3.5949999999999998}' "$P/trips.jsonl"
check "a list of structs in, a list the tool malloc'ed out (strings, nested struct, tags)" \
    grep -q '"near":\[{"name":"Lyon","country":"France","at":{"lat":45.759999999999998,"lon":4.8399999999999999},"population":522250,"tags":\["food","rivers"\]},{"name":"Porto"' "$P/trips.jsonl"
check "an optional record: present, then absent (NULL)" \
    sh -c "grep -q '\"capital\":{\"name\":\"Paris\"' '$P/trips.jsonl' && grep -q '\"country\":\"Atlantis\".*\"capital\":null' '$P/trips.jsonl'"
check "an optional record in: moved by an offset when present, the antipode when absent (NULL)" \
    sh -c "grep -q '\"by\":{\"lat\":0.5,\"lon\":-0.25},.*\"moved\":{\"lat\":46.259999999999998,\"lon\":4.5899999999999999}' '$P/trips.jsonl' &&
           grep -q '\"by\":null,.*\"moved\":{\"lat\":-1.5,\"lon\":177.75}' '$P/trips.jsonl'"
check "optional scalar members (bool has_x; T x;): present ones in and out, absent ones null" \
    sh -c "grep -qF '\"calibrated\":{\"station\":\"LYON\",\"temp\":12.75,\"rain_mm\":6,\"windy\":true}' '$P/trips.jsonl' &&
           grep -qF '\"calibrated\":{\"station\":\"OSLO\",\"temp\":null,\"rain_mm\":null,\"windy\":null}' '$P/trips.jsonl' &&
           grep -qF '\"calibrated\":{\"station\":\"ATLANTIS\",\"temp\":null,\"rain_mm\":0,\"windy\":false}' '$P/trips.jsonl'"
check "a record passed where the tool takes an optional one is present" \
    grep -q '"shifted":{"lat":94.620000000000005,"lon":7.1899999999999995}' "$P/trips.jsonl"
"$DSPCC" eval "$P/agent.dsp" --data trips --module Trip --metric same_trip --json --no-cache \
    >"$tmp/trip.json" 2>"$tmp/trip_eval.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/trip_eval.err" | head
check "dspcc eval (libffi) gives the generated C's values on every row (score 1)" \
    test $r -eq 0 -a "$(json_key "$tmp/trip.json" score)" = 1

# ---- --embed-runtime: libdsprt inside the one .c, structs and all ---------
mkdir -p "$tmp/emb"
"$DSPCC" build "$P/agent.dsp" --no-opt --program Trip --embed-runtime -o "$tmp/emb/gen_trip.c" 2>"$tmp/emb.err"
check "dspcc build --embed-runtime of a program whose tools take structs" test $? -eq 0
DEPS_CFLAGS=$(pkg-config --cflags libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null)
DEPS_LIBS="$(pkg-config --libs libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null ||
    echo -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz) -lpthread -lm"
for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    $cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN $DEPS_CFLAGS -I"$tmp/emb" \
        -o "$tmp/emb/trip_$cc" "$P/trip_main.c" "$tmp/emb/gen_trip.c" "$P/build/libgeo.so" \
        -Wl,-rpath,"$P/build" $DEPS_LIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "the embedded Trip compiles with $cc -std=c17 -pedantic -Werror and links without libdsprt" test $r -eq 0
    "$tmp/emb/trip_$cc" 2>"$tmp/emb.err" | cmp -s - "$P/trips.jsonl"
    check "the embedded Trip ($cc) prints the rows libdsprt's build printed" test $? -eq 0
done

# ---- react: a record argument from the LM, a struct result observed -------
rs_start
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"
for v in text native; do
    dsp=$P/agent.dsp
    [ $v = native ] && dsp=$P/native.dsp
    DSPCC_BASE_URL=$url "$tmp/$v/agent_gcc" <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/run.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err" | head
    check "$v: the generated agent answers every question" \
        sh -c "test $r -eq 0 && test \$(wc -l <'$P/rows.jsonl') -eq 4"
    check "$v: the LM's JSON record argument reached the tool, its struct result is the observation" \
        grep -qF '{\"query\":\"lyon\",\"near\":{\"lat\":1,\"lon\":1}}\n\n[[ ## observation_0 ## ]]\n{\"name\":\"Lyon\",\"country\":\"France\",\"at\":{\"lat\":45.76,\"lon\":4.84},\"population\":522250,\"tags\":[\"food\",\"rivers\"]}' "$P/rows.jsonl"
    check "$v: a failing tool is an observation; a struct passed by value is then observed" \
        sh -c "grep -qF 'Execution error in find_city: tool \`find_city\` failed with status 1' '$P/rows.jsonl' &&
               grep -qF '[[ ## tool_name_1 ## ]]\nhalfway' '$P/rows.jsonl'"
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
    "$tmp/trip_clang" 2>/dev/null | cmp -s - "$P/trips.jsonl"
    check "the clang Trip gives the same rows" test $? -eq 0
fi
