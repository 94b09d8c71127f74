#!/bin/sh
# The interpreter and the generated C agree on tool calls: the same rows
# (tests/compiler/fixtures/tools_parity/*.jsonl) go through `dspcc eval`
# and through the generated programs of parity.dsp, and parity_main.c
# checks row by row that both give the expected results, or fail with the
# same message. The rows cover values a call converts (an int passed as a
# float, an enum as a string or as a wider enum, lists of them, an int
# returned as a float), tools and parameters named like the generated
# code's locals (st, r, args, c, err, i1, cv0, ...), a tool with 20
# parameters, tools that fail (range, NULL element, status), and `if`
# comparing an int with a float or with an optional, and a failure inside a
# module call (both call sites named), results fed back into the call that
# replaces them in a `repeat` (tool value, module result, tool output),
# and doubles passed as C floats (out
# of range is an error). Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
T=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "# kept in $T"; else trap 'rm -rf "$T"' EXIT INT TERM; fi
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else bad "$2"; fi; }

SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
RTLIBS="$root/$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include -I/usr/include/cjson"

P=$T/p
cp -r tests/compiler/fixtures/tools_parity "$P"
mkdir -p "$P/build" "$T/gen"
cc -shared -fPIC -o "$P/build/libparity.so" "$P/parity.c"
check $? "libparity.so builds"

# The interpreter: one eval per module, its JSON beside the rows.
for m in conv names pick cmp nest wid loop; do
    M=$(printf '%s' "$m" | sed 's/^./\U&/')
    "$DSPCC" eval "$P/parity.dsp" --data "${m}_rows" --module "$M" --json --no-cache >"$P/$m.eval.json" 2>"$T/$m.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/$m.err"
    check $r "dspcc eval --module $M runs the rows"
    "$DSPCC" build "$P/parity.dsp" --no-opt --program "$M" -o "$T/gen/gen_$m.c" 2>"$T/$m.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/$m.err"
    check $r "dspcc build --program $M"
    "$root/$BUILD/dsp-cshape" --prefix "${m}_" "$T/gen/gen_$m.c" "$T/gen/gen_$m.h" >"$T/$m.shape" 2>&1
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/$m.shape"
    check $r "$M: dsp-cshape finds the generated C well formed"
done

# A program without LM calls says so in its header (no empty list of predictors).
grep -qxF ' * The program Names makes no LM call: it has no prompts to optimize.' "$T/gen/gen_names.h" &&
    ! grep -q 'LM call sites\|prompts are unoptimized' "$T/gen/gen_names.h"
check $? "the header of a program without LM calls says so"

# A tool named like a local of the generated function is called through a
# file-scope pointer; the others directly.
grep -qxF 'static int64_t (*const cg_fn_st)(int64_t) = st;' "$T/gen/gen_names.c" &&
    grep -q 'int r = cg_fn_err((int64_t)args\[0\].as.i, &o_st);' "$T/gen/gen_names.c" &&
    ! grep -q 'cg_fn_sum20\|cg_fn_half' "$T/gen/gen_names.c" "$T/gen/gen_conv.c"
check $? "tools named st, r, args, c, err are called through cg_fn_ pointers, others by name"

for cc in gcc clang; do
    $cc $STRICT $SAN -I"$T/gen" -o "$T/parity_$cc" "$P/parity_main.c" "$T/gen/gen_conv.c" "$T/gen/gen_names.c" \
        "$T/gen/gen_pick.c" "$T/gen/gen_cmp.c" "$T/gen/gen_nest.c" "$T/gen/gen_wid.c" "$T/gen/gen_loop.c" "$P/build/libparity.so" -Wl,-rpath,"$P/build" $RTLIBS 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/cc.err" | head -20
    check $r "the generated programs compile strictly and link with parity_main ($cc)"
    [ $r -ne 0 ] && continue
    ASAN_OPTIONS=detect_leaks=1 "$T/parity_$cc" "$P" >"$T/run.out" 2>"$T/run.err"
    r=$?
    sed "s/^\(not \)*ok - /&$cc: /" "$T/run.out"
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/run.err" | head -30
    check $r "parity_main exits 0 with no sanitizer report ($cc)"
done

# A tool named like a <math.h> function, in a program whose float argument
# needs the FLT_MAX check: the generated C includes no <math.h>, so only
# the compilers' built-in warnings remain (silenced here), no conflict; and
# the finiteness test compares no floats for equality (-Wfloat-equal).
mkdir -p "$T/m"
cat >"$T/m/m.dsp" <<'DSP'
tool int log(const char *msg) from "libm_tools.so"
tool double scale(float f) from "libm_tools.so"

module L(m: string, f: float) -> (r: int, s: float) {
  a = log(msg: m)
  b = scale(f: f)
  return (r: a, s: b)
}
DSP
"$DSPCC" build "$T/m/m.dsp" --no-opt -o "$T/m/gen_m.c" 2>"$T/m.err"
check $? "dspcc build of a program calling a tool named log"
! grep -q '^#include <math.h>' "$T/m/gen_m.c"
check $? "the generated C does not include <math.h>"
for cc in gcc clang; do
    case $cc in
        gcc) quiet=-Wno-builtin-declaration-mismatch ;;
        *) quiet=-Wno-incompatible-library-redeclaration ;;
    esac
    $cc $STRICT $quiet -Wfloat-equal -c "$T/m/gen_m.c" -o "$T/m/gen_m.$cc.o" 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$T/cc.err" | head -10
    check $r "a tool named log compiles beside the float range check ($cc)"
done
