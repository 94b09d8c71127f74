#!/bin/sh
# Enum values written as strings, as real data spells its labels
# (`enum Queue { "HR Support", Hardware }`): `dspcc check` accepts them and
# reads data that holds them; `dspcc fmt` keeps them as written; the
# generated C names each value with a derived identifier and keeps the
# exact string in its names table; `dspcc eval` against build/dsp-refserver
# (a TEST FIXTURE, not a language model) prompts with and parses the exact
# strings. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/rt_link.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
P=$tmp/p
cp -r tests/compiler/fixtures/enum_strings "$P"

check "check accepts string enum values and data that holds them" "$dspcc" check "$P/queues.dsp"
check "fmt keeps string enum values as written" "$dspcc" fmt --check "$P/queues.dsp"

# A messy layout comes out canonical, and formatting again changes nothing.
sed 's/^enum Queue { "HR Support", Hardware, "Internal Project", "C++ \/ Build" }$/enum   Queue {"HR Support" ,Hardware,\n  "Internal Project", "C++ \/ Build",}/' \
    "$P/queues.dsp" >"$tmp/messy.dsp"
"$dspcc" fmt - <"$tmp/messy.dsp" >"$tmp/fmt1.dsp" 2>"$tmp/fmt.err"
check "fmt rewrites a messy string enum to the canonical line" \
    sh -c "! cmp -s '$tmp/messy.dsp' '$P/queues.dsp' && grep -qxF 'enum Queue { \"HR Support\", Hardware, \"Internal Project\", \"C++ / Build\" }' '$tmp/fmt1.dsp'"
"$dspcc" fmt - <"$tmp/fmt1.dsp" >"$tmp/fmt2.dsp" 2>>"$tmp/fmt.err"
check "fmt is idempotent on string enums" cmp -s "$tmp/fmt1.dsp" "$tmp/fmt2.dsp"

# The generated C: derived identifiers, exact strings, strict C17.
"$dspcc" build "$P/queues.dsp" --no-opt -o "$P/queues.c" 2>"$tmp/build.err"
check "dspcc build --no-opt" test $? -eq 0
check "the names table holds the exact strings" \
    grep -qF '{ "HR Support", "Hardware", "Internal Project", "C++ / Build" };' "$P/queues.c"
cc -std=c17 -Wall -Wextra -Werror -pedantic $RT_SAN -I"$root/runtime/include" -I"$P" -o "$tmp/main" "$P/main.c" "$P/queues.c" \
    "$root/$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/cc.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
check "the generated C compiles strictly with an application that uses the derived identifiers" test $r -eq 0
[ $r -eq 0 ] && "$tmp/main"

# The prompt lists the exact strings, and the replies parse back to them:
# each dev row names its queue's words, so the fixture (which scores a
# label by the words of its name found in the input) answers all four.
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL
rs_start --seed 3
check "the reference server started" test -n "$port"
"$dspcc" eval "$P/queues.dsp" --data dev --json --no-cache --base-url "http://127.0.0.1:$port/v1" \
    >"$tmp/eval.json" 2>"$tmp/eval.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$tmp/eval.err"
check "eval runs the string-labelled rows" test $r -eq 0
check "no reply failed to parse" test "$(json_key "$tmp/eval.json" failed)" = 0
check "every row gets its exact label (score 1)" test "$(json_key "$tmp/eval.json" score)" = 1
