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

. tests/support/ctool_parity.sh

P=$tmp/p
ct_fixture react_records libgeo.so geo.c
# Placeholders until the generated programs write the real rows (check reads data files).
echo '{"question": "q", "answer": "a", "trajectory": "t"}' >"$P/rows.jsonl"
echo '{"a": {"lat": 0, "lon": 0}, "b": {"lat": 0, "lon": 0}, "pts": [], "country": "x", "mid": {"lat": 0, "lon": 0}, "near": [], "capital": null, "by": null, "moved": {"lat": 0, "lon": 0}, "shifted": {"lat": 0, "lon": 0}, "reading": {"station": "x"}, "calibrated": {"station": "x"}}' >"$P/trips.jsonl"

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

ct_build_all Trip
check "the generated C defines each struct once, as the header lays it out" \
    sh -c "test \$(grep -c '^struct city {\$' '$tmp/text/gen_trip.c') -eq 1 &&
           grep -q '^} Point;\$' '$tmp/text/gen_trip.c' &&
           grep -q 'offsetof(struct city, n_tags)' '$tmp/text/gen_trip.c'"
"$root/$BUILD/dsp-cshape" --prefix trip_ "$tmp/text/gen_trip.c" "$tmp/text/gen_trip.h" >"$tmp/shape" 2>&1
check "dsp-cshape finds the generated C well formed" test $? -eq 0
ct_compile_all trip libgeo.so

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
ct_embed trip Trip libgeo.so "$P/trips.jsonl"

# ---- react: a record argument from the LM, a struct result observed -------
# The rows' checks, after each loop (ct_react).
react_checks()
{
    check "$1: the LM's JSON record argument reached the tool, its struct result is the observation" \
        grep -qF '{\"query\":\"lyon\",\"near\":{\"lat\":1,\"lon\":1}}\n\n[[ ## observation_0 ## ]]\n{\"name\":\"Lyon\",\"country\":\"France\",\"at\":{\"lat\":45.76,\"lon\":4.84},\"population\":522250,\"tags\":[\"food\",\"rivers\"]}' "$P/rows.jsonl"
    check "$1: a failing tool is an observation; a struct passed by value is then observed" \
        sh -c "grep -qF 'Execution error in find_city: tool \`find_city\` failed with status 1' '$P/rows.jsonl' &&
               grep -qF '[[ ## tool_name_1 ## ]]\nhalfway' '$P/rows.jsonl'"
}
ct_react 4 react_checks
if command -v clang >/dev/null; then
    "$tmp/trip_clang" 2>/dev/null | cmp -s - "$P/trips.jsonl"
    check "the clang Trip gives the same rows" test $? -eq 0
fi
