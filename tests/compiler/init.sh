#!/bin/sh
# dspcc init NAME: the project it writes checks, is formatted as `dspcc fmt`
# writes it, builds with its Makefile (against this tree's dspcc and
# libdsprt), runs against build/dsp-refserver (a TEST FIXTURE), and
# `dspcc eval` reads its data; init says what to edit first, never
# overwrites a file and refuses names that are not identifiers. Prints TAP.
set -u
: "${BUILD:=build}"
here=$(pwd)
case "$BUILD" in
    /*) bin=$BUILD ;;
    *) bin=$here/$BUILD ;;
esac
dspcc="$bin/dspcc"
tmp=$(mktemp -d)
BUILD=$bin
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

# An ASan+UBSan libdsprt (make check-asan) links only with the same flags.
SAN=
if nm "$bin/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi

cd "$tmp"
"$dspcc" init my_app >out.txt 2>err.txt
check "init exits 0" test $? -eq 0
for f in my_app.dsp data/train.jsonl data/dev.jsonl main.c Makefile; do
    check "init writes $f" test -s "my_app/$f"
done
check "init says what to edit first" grep -q '^Edit first:' out.txt
check "and names the .dsp and the data" sh -c "grep -q 'my_app/my_app.dsp' out.txt && grep -q 'my_app/data/' out.txt"
cd my_app
check "the starter program checks without a warning" "$dspcc" check --werror my_app.dsp
check "it is formatted as dspcc fmt writes it" "$dspcc" fmt --check my_app.dsp
make -s DSPCC="$dspcc" RT_CFLAGS="-I$here/runtime/include" \
    RT_LIBS="$bin/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm" CFLAGS="-std=c17 -Wall -Wextra -Werror -O2 $SAN" \
    >make.log 2>&1
check "its Makefile builds build/my_app (warnings are errors)" test -x build/my_app

export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL
rs_start
url="http://127.0.0.1:$port/v1"
printf 'I love it\nIt broke\n' | DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/cache" ./build/my_app >labels.txt 2>run.err
check "the program labels each line with one of the enum's labels" \
    sh -c "test \$(wc -l <labels.txt) -eq 2 && ! grep -qvE '^(positive|negative)$' labels.txt"
"$dspcc" eval my_app.dsp --data dev --json --base-url "$url" --cache-dir "$tmp/cache" >eval.json 2>eval.err
check "dspcc eval reads the data template" test "$(json_key eval.json n)" = 2
cd ..

"$dspcc" init my_app >/dev/null 2>again.err
check "a second init refuses to overwrite (exit 1)" sh -c "test $? -eq 1 && grep -q 'never overwrites' again.err"
"$dspcc" init Bad-Name >/dev/null 2>bad.err
check "a name that is no identifier is a usage error (exit 2)" sh -c "test $? -eq 2 && grep -q 'lower-case letters' bad.err"
"$dspcc" init sentiment --dir elsewhere >/dev/null 2>&1
check "--dir puts the project there" test -s elsewhere/sentiment.dsp
check "a one-word name checks too" "$dspcc" check elsewhere/sentiment.dsp
"$dspcc" init --help >help.txt
check "--help says what init writes" grep -q 'Makefile' help.txt
