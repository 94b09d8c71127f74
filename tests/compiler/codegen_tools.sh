#!/bin/sh
# The C backend calls tools that pass lists and write results through
# output parameters (docs/c-headers.md, docs/codegen.md): words.dsp of
# tests/compiler/fixtures/list_tools and range.dsp of fixtures/codegen_tools
# are built in a temporary copy, compiled strictly with gcc and clang,
# checked with dsp-cshape, and run from tools_main.c against the fixture
# libraries (under ASan/LSan when libdsprt is instrumented: no leaks, also
# on the failing calls). Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
CSHAPE=$root/$BUILD/dsp-cshape
T=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "# kept in $T"; else trap 'rm -rf "$T"' EXIT INT TERM; fi
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else bad "$2"; fi; }

SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
RTLIBS="$root/$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include"

# The fixtures in a temporary folder; their libraries where the .dsp says.
cp -r tests/compiler/fixtures/list_tools "$T/words"
cp -r tests/compiler/fixtures/codegen_tools "$T/range"
mkdir -p "$T/words/build" "$T/range/build" "$T/gen" "$T/again"
cc -shared -fPIC -o "$T/words/build/libwords.so" "$T/words/words.c" &&
    cc -shared -fPIC -o "$T/range/build/librange.so" "$T/range/range.c"
check $? "the fixture libraries build"

# program .dsp MODULE: gen_<program>.c/.h, twice, byte-identical.
gen() {
    $DSPCC build "$2" --no-opt --program "$3" -o "$T/gen/gen_$1.c" 2>"$T/$1.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/$1.err"
    check $r "dspcc build --program $3 $(basename "$2")"
    [ $r -ne 0 ] && { gen_failed=1; return; }
    $DSPCC build "$2" --no-opt --program "$3" -o "$T/again/gen_$1.c" 2>/dev/null
    cmp -s "$T/gen/gen_$1.c" "$T/again/gen_$1.c" && cmp -s "$T/gen/gen_$1.h" "$T/again/gen_$1.h"
    check $? "$3: regenerating gives identical bytes"
    "$CSHAPE" --prefix "$1_" "$T/gen/gen_$1.c" "$T/gen/gen_$1.h" >"$T/$1.shape" 2>&1
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/$1.shape"
    check $r "$3: dsp-cshape finds the generated C well formed (prefix $1_)"
    if grep -q "$T" "$T/gen/gen_$1.c" "$T/gen/gen_$1.h"; then bad "$3: no absolute path"; else ok "$3: no absolute path"; fi
}
gen_failed=0
gen words "$T/words/words.dsp" Words
gen stats "$T/words/words.dsp" Stats
gen narrow "$T/range/range.dsp" Narrow
gen mix "$T/range/range.dsp" Mix
gen sizes "$T/range/range.dsp" Sizes
gen ints "$T/range/range.dsp" Ints
[ $gen_failed -eq 0 ] || exit 1

# The prototypes are the exact C types of the header.
grep -qxF 'extern int top_words(const char *text, int64_t k, char ***words, size_t *n_words);' "$T/gen/gen_words.c" &&
    grep -qxF 'extern void lengths(const char *const *words, size_t words_len, uint32_t **lens, size_t *lens_len);' \
        "$T/gen/gen_words.c" &&
    grep -qxF 'extern int stats(const double *xs, size_t n_xs, int64_t *count, double *mean, bool *any_negative);' \
        "$T/gen/gen_stats.c"
check $? "tool prototypes carry the exact C types (lists, lengths, outputs)"
# Helpers and headers only where used: Stats needs no string helpers, Sizes
# no arrays, only Ints names ssize_t.
! grep -q 'cg_out_strs\|cg_free_strs\|cg_int_in' "$T/gen/gen_stats.c" && ! grep -q 'cg_array\|<limits.h>' "$T/gen/gen_sizes.c" &&
    grep -q '^#include <limits.h>$' "$T/gen/gen_narrow.c" && ! grep -q '<limits.h>' "$T/gen/gen_words.c" &&
    grep -q '^#include <sys/types.h>$' "$T/gen/gen_ints.c" && ! grep -q '<sys/types.h>' "$T/gen/gen_narrow.c"
check $? "static helpers and <limits.h> appear only in programs that use them"

for cc in gcc clang; do
    r=0
    for p in words stats narrow mix sizes ints; do
        $cc $STRICT -I"$T/gen" -c "$T/gen/gen_$p.c" -o "$T/gen/$p.$cc.o" 2>"$T/cc.err" || { r=1; sed 's/^/#   /' "$T/cc.err" | head -20; }
    done
    check $r "generated code compiles with $cc -std=c17 -pedantic -Wall -Wextra -Werror"
    $cc $STRICT $SAN -I"$T/gen" -o "$T/tools_$cc" "$T/range/tools_main.c" "$T/gen/gen_words.c" "$T/gen/gen_stats.c" \
        "$T/gen/gen_narrow.c" "$T/gen/gen_mix.c" "$T/gen/gen_sizes.c" "$T/gen/gen_ints.c" "$T/words/build/libwords.so" "$T/range/build/librange.so" \
        -Wl,-rpath,"$T/words/build:$T/range/build" $RTLIBS 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/cc.err" | head -20
    check $r "tools_main links the six programs and the fixture libraries ($cc)"
    [ $r -ne 0 ] && continue
    TOOLS_CC=$cc ASAN_OPTIONS=detect_leaks=1 "$T/tools_$cc" 2>"$T/run.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/run.err" | head -30
    check $r "tools_main exits 0 with no sanitizer report ($cc)"
done
