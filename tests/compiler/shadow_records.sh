#!/bin/sh
# Shadow mode over structured results: a program returning a list of
# records and an int (tests/compiler/fixtures/shadow_records), built with a
# bootstrapped state and, in its shadow, a labeled-demos state. For each dev
# message shadow_app.c runs both variants plainly and requires
# contacts_run_shadow to agree exactly when the two typed outputs are equal
# (every record field alike), to report each disagreement once with the
# shadow's output, and to return the primary's. Against build/dsp-refserver,
# a TEST FIXTURE. Prints TAP.
set -u
: "${BUILD:=build}"
. tests/support/tap.sh
. tests/support/rt_link.sh
tmp=$(mktemp -d)
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
dspcc=$BUILD/dspcc
fx=tests/compiler/fixtures/shadow_records
cp "$fx/contacts.dsp" "$fx/train.jsonl" "$fx/dev.jsonl" "$tmp/"
sed 's/with bootstrap_fewshot([^)]*)/with labeled_fewshot(k: 1)/' "$fx/contacts.dsp" >"$tmp/labeled.dsp"
export OPENAI_API_KEY=sk-test-not-a-key DSPCC_CACHE_DIR="$tmp/cache"
unset DSPCC_BASE_URL
rs_start
check "the reference server (test fixture) started" test -n "$port"
url="http://127.0.0.1:$port/v1"
"$dspcc" optimize "$tmp/contacts.dsp" -o "$tmp/a.json" --base-url "$url" -q >/dev/null 2>"$tmp/a.err"
check "the primary is optimized (bootstrap_fewshot)" test $? -eq 0
"$dspcc" optimize "$tmp/labeled.dsp" -o "$tmp/b.json" --base-url "$url" -q --allow-regression >/dev/null 2>"$tmp/b.err"
check "the shadow is optimized (labeled_fewshot, shipped as is)" test $? -eq 0
"$dspcc" build "$tmp/contacts.dsp" --state "$tmp/a.json" --shadow-state "$tmp/b.json" -o "$tmp/contacts.c" \
    2>"$tmp/build.err"
check "dspcc build --shadow-state" test $? -eq 0
# shellcheck disable=SC2086
cc -std=c17 -Wall -Wextra -Werror -pedantic $RT_SAN -Iruntime/include -I"$tmp" -o "$tmp/shadow_app" \
    "$fx/shadow_app.c" "$tmp/contacts.c" "$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/cc.err"
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/cc.err" | head -n 10
check "the shadow program compiles with -pedantic" test $rc -eq 0
sed -n 's/^{"message": "\([^"]*\)".*/\1/p' "$tmp/dev.jsonl" >"$tmp/messages.txt"
DSPCC_BASE_URL=$url "$tmp/shadow_app" <"$tmp/messages.txt" >"$tmp/app.out" 2>"$tmp/app.err"
rc=$?
sed 's/^/# /' "$tmp/app.err" | head -n 10
tail -n 1 "$tmp/app.out" | sed 's/^/# /'
check "run_shadow agrees exactly when the typed outputs are equal, and reports the shadow's" test $rc -eq 0
check "every message was compared" test "$(grep -c '^\(agree\|disagree\)$' "$tmp/app.out")" -eq "$(grep -c . "$tmp/messages.txt")"
check "the variants agree on some messages" grep -q '^agree$' "$tmp/app.out"
check "and disagree on others (a list of records compared whole)" grep -q '^disagree$' "$tmp/app.out"
