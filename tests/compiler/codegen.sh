#!/bin/sh
# The C backend end to end: golden output for the examples, determinism,
# -std=c17 -pedantic with gcc and clang, any bytes in prompts round-trip
# through generated C, depfiles drive make, no key value leaks, and the
# generated tickets program runs against build/dsp-refserver (a TEST
# FIXTURE, not an LM). UPDATE_GOLDEN=1 rewrites tests/golden/codegen.
set -u
: "${BUILD:=build}"
DSPCC=$BUILD/dspcc
T=$(mktemp -d)
RS_PID=
cleanup() {
    [ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null && wait "$RS_PID" 2>/dev/null
    rm -rf "$T"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT INT TERM
n=0
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else bad "$2"; fi; }
# golden GOT_STEM WANT_STEM NAME: compares STEM.c and STEM.h, shows the
# difference and how to accept an intended change.
golden() {
    if cmp -s "$1.c" "$2.c" && cmp -s "$1.h" "$2.h"; then
        ok "$3"
    else
        diff -u "$2.c" "$1.c" | head -20
        diff -u "$2.h" "$1.h" | head -20
        echo "# intended (e.g. an example changed)? UPDATE_GOLDEN=1 sh tests/compiler/codegen.sh"
        bad "$3"
    fi
}

# Link flags for programs using $BUILD/libdsprt.a (instrumented under ASan).
SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
RTLIBS="$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -Iruntime/include"
# compiles C_FILE INCLUDE_DIR WHAT: C_FILE compiles with gcc and with clang
# under $STRICT (one check each, WHAT naming it).
compiles() {
    for cc in gcc clang; do
        $cc $STRICT -I"$2" -c "$1" -o "$1.$cc.o" 2>"$T/cc.err"
        r=$?
        [ $r -ne 0 ] && head -20 "$T/cc.err"
        check $r "$3 compiles with $cc -std=c17 -pedantic -Werror"
    done
}

# ---- golden and determinism ---------------------------------------------
for ex in tickets multihop extract; do
    $DSPCC build examples/$ex/$ex.dsp --no-opt -o "$T/$ex.c" 2>"$T/err"
    check $? "build --no-opt examples/$ex"
    # Same inputs, same bytes (the file names inside differ only by name).
    mkdir -p "$T/again"
    $DSPCC build examples/$ex/$ex.dsp --no-opt -o "$T/again/$ex.c" 2>/dev/null
    cmp -s "$T/$ex.c" "$T/again/$ex.c" && cmp -s "$T/$ex.h" "$T/again/$ex.h"
    check $? "examples/$ex: two builds give identical bytes"
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$T/$ex.c" "$T/$ex.h" tests/golden/codegen/
    fi
    golden "$T/$ex" tests/golden/codegen/$ex "examples/$ex: matches tests/golden/codegen/$ex.{c,h}"
    if ! grep -q '/work/\|/home/\|/tmp/' "$T/$ex.c" "$T/$ex.h"; then ok "examples/$ex: no absolute paths"; else bad "examples/$ex: no absolute paths"; fi
    for cc in gcc clang; do
        $cc $STRICT -I"$T" -c "$T/$ex.c" -o "$T/$ex.$cc.o" 2>"$T/cc.err"
        r=$?
        [ $r -ne 0 ] && cat "$T/cc.err"
        check $r "examples/$ex: generated code compiles with $cc -std=c17 -pedantic -Werror"
    done
done

# An optimized state (instructions, demos, a fine-tuned model, a LoRA
# adapter) baked in: golden too.
G=tests/golden/codegen
$DSPCC build examples/tickets/tickets.dsp --state $G/tickets_opt.state.json -o "$T/tickets_opt.c" 2>"$T/opt.err"
check $? "build --state (golden state)"
grep -q 'warning: .*optimized for another version' "$T/opt.err"
check $? "a state for another version of the source gives a warning"
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$T/tickets_opt.c" "$T/tickets_opt.h" $G/; fi
golden "$T/tickets_opt" $G/tickets_opt "optimized tickets: matches $G/tickets_opt.{c,h}"
grep -q '"openai/ft:gpt-4o-mini:acme::tickets1"' "$T/tickets_opt.c" && grep -q '"lora/tickets.safetensors"' "$T/tickets_opt.c"
check $? "the fine-tuned model and the LoRA adapter with its SHA-256 are baked in"
compiles "$T/tickets_opt.c" "$T" "optimized tickets.c"
# A state that does not fit the program is refused with a reason.
sed 's/TicketClassifier.r/TicketClassifier.zz/' $G/tickets_opt.state.json >"$T/wrong.state.json"
$DSPCC build examples/tickets/tickets.dsp --state "$T/wrong.state.json" -o "$T/wrong.c" 2>"$T/wrong.err"
[ $? -ne 0 ] && grep -q 'TicketClassifier.zz' "$T/wrong.err" && [ ! -e "$T/wrong.c" ]
check $? "a state naming an unknown predictor is an error and writes nothing"

# ---- adversarial bytes ----------------------------------------------------
# Instructions and demos holding quotes, backslashes, comment ends,
# trigraphs, control characters, invalid UTF-8 and a string longer than
# C17 promises for one literal must come back byte for byte.
LONG=$(head -c 9000 /dev/zero | tr '\0' 'x')
{
    printf '{"dspcc_state": 1, "program": "TicketClassifier", "source": "tickets.dsp",\n'
    printf ' "source_sha256": "00", "optimizer": "mipro", "seed": 7, "metric": "accuracy",\n'
    printf ' "baseline_score": 0.25, "final_score": 0.75, "lm_calls": 3,\n'
    printf ' "predictors": [{"name": "TicketClassifier.r",\n'
    printf '  "instructions": "Say \\"hi\\" \\\\ */ /* ??= ??/ ?? \\u0001\\u001f\\t\\r\\n \377\376 end\\\\",\n'
    printf '  "inputs": ["ticket_text"], "outputs": ["reasoning", "category"],\n'
    printf '  "demos": [{"inputs": {"ticket_text": "%s"}, "outputs": {"category": "billing"}},\n' "$LONG"
    printf '            {"inputs": {"ticket_text": "0\\u0007\\u00081"}, "outputs": {"reasoning": "\\\\\\"\\u007f\\\\n", "category": "orders"}}]}],\n'
    printf ' "trials": []}\n'
} >"$T/adv.state.json"
printf 'Say "hi" \\ */ /* ??= ??/ ?? \001\037\t\r\n \377\376 end\\' >"$T/exp.instr"
printf '%s' "$LONG" >"$T/exp.long"
printf '0\007\0101' >"$T/exp.in1"
printf '\\"\177\\n' >"$T/exp.out1"
$DSPCC build examples/tickets/tickets.dsp --state "$T/adv.state.json" -o "$T/adv.c" 2>"$T/adv.err"
check $? "build with an adversarial state"
cat >"$T/adv_check.c" <<'CEOF'
#include <stdio.h>
#include <string.h>
#include "adv.c"
static int dump(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    fwrite(s, 1, strlen(s), f);
    return fclose(f) != 0;
}
int main(int argc, char **argv)
{
    (void)argc;
    char p[4096];
    int r = 0;
    snprintf(p, sizeof p, "%s/got.instr", argv[1]); r |= dump(p, k_p0.signature->instructions);
    snprintf(p, sizeof p, "%s/got.long", argv[1]);  r |= dump(p, k_p0.demos[0].input_texts[0]);
    snprintf(p, sizeof p, "%s/got.in1", argv[1]);   r |= dump(p, k_p0.demos[1].input_texts[0]);
    snprintf(p, sizeof p, "%s/got.out1", argv[1]);  r |= dump(p, k_p0.demos[1].output_texts[0]);
    r |= k_p0.demos[0].output_texts[0] != NULL; /* a partial demo stays partial */
    r |= strcmp(k_p0.demos[1].output_texts[1], "orders") != 0;
    return r;
}
CEOF
for cc in gcc clang; do
    rm -f "$T"/got.*
    $cc $STRICT $SAN -I"$T" -o "$T/adv_check" "$T/adv_check.c" $RTLIBS 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && head -20 "$T/cc.err"
    check $r "adversarial strings compile with $cc -std=c17 -pedantic -Werror"
    "$T/adv_check" "$T" && cmp "$T/exp.instr" "$T/got.instr" && cmp "$T/exp.long" "$T/got.long" &&
        cmp "$T/exp.in1" "$T/got.in1" && cmp "$T/exp.out1" "$T/got.out1"
    check $? "adversarial strings round-trip byte for byte ($cc)"
done
if grep -q '??=' "$T/adv.c"; then bad "no trigraph sequence in generated code"; else ok "no trigraph sequence in generated code"; fi

# ---- shared tables ------------------------------------------------------------
# Predictors with the same signature, fields and lm share one table of each
# (and a long prompt one char array); a call's own temperature gets its own
# lm table. The generated program still compiles.
long=$(awk 'BEGIN { for (i = 0; i < 170; i++) printf "Rewrite the text plainly. " }')
cat >"$T/share.dsp" <<EOF
lm fast = "openai/gpt-4o-mini" {
  temperature: 0.0
}

signature Step "$long" {
  in  text: string
  out rewritten: string
}

signature Again "$long" {
  in  text: string
  out rewritten: string
}

module Share(text: string) -> (result: string) {
  a = predict(Step)(text: text)
  b = predict(Step)(text: a.rewritten)
  c = predict(Step, temperature: 0.7)(text: b.rewritten)
  d = predict(Again)(text: c.rewritten)
  return (result: d.rewritten)
}
EOF
$DSPCC build "$T/share.dsp" --no-opt -o "$T/share.c" 2>"$T/err"
check $? "build a program whose predictors share a signature and an lm"
count() { grep -c "^static const $1" "$T/share.c"; }
[ "$(count 'dsp_predictor ')" = 4 ] && [ "$(count 'dsp_signature ')" = 2 ] && [ "$(count 'dsp_field ')" = 2 ] &&
    [ "$(count 'dsp_lm_config ')" = 2 ] && [ "$(count 'char k_str_')" = 1 ]
r=$?
[ $r -ne 0 ] && grep -n "^static const" "$T/share.c"
check $r "4 predictors of 2 signatures: 2 signature, 2 field and 2 lm tables, one array for the long prompt"
grep -q 'temperature = 0.7' "$T/share.c"
check $? "the call's own temperature keeps an lm table of its own"
mkdir -p "$T/share2"
$DSPCC build "$T/share.dsp" --no-opt -o "$T/share2/share.c" 2>/dev/null
cmp -s "$T/share.c" "$T/share2/share.c"
check $? "shared tables: two builds give identical bytes"
compiles "$T/share.c" "$T" "the shared tables"

# ---- depfile through make ----------------------------------------------------
mkdir -p "$T/dep/data"
cp examples/tickets/tickets.dsp "$T/dep/"
head -5 examples/tickets/data/train.jsonl >"$T/dep/data/train.jsonl"
head -5 examples/tickets/data/dev.jsonl >"$T/dep/data/dev.jsonl"
D=$(cd "$(dirname "$DSPCC")" && pwd)/$(basename "$DSPCC")
cat >"$T/dep/Makefile" <<MEOF
out.c: tickets.dsp
	$D build tickets.dsp --no-opt -o out.c -MD -MF out.d
-include out.d
MEOF
make -s -C "$T/dep" >/dev/null 2>&1
check $? "make runs dspcc build with a depfile"
grep -q 'data/dev.jsonl' "$T/dep/out.d" && grep -q 'tickets.dsp' "$T/dep/out.d"
check $? "depfile lists the .dsp and its data files"
[ -z "$(make -s -C "$T/dep" -n 2>/dev/null)" ]
check $? "nothing to rebuild when nothing changed"
sleep 1
echo '{"text": "new", "category": "billing"}' >>"$T/dep/data/dev.jsonl"
make -s -C "$T/dep" -n 2>/dev/null | grep -q 'dspcc build'
check $? "a changed data file makes make rebuild"

# Imports are dependencies too.
mkdir -p "$T/imp/lib"
cat >"$T/imp/lib/common.dsp" <<'DEOF'
enum Label { yes, no }
signature Classify "Answer yes or no." {
  in  text: string
  out label: Label
}
DEOF
cat >"$T/imp/main.dsp" <<'DEOF'
import "lib/common.dsp"
module Judge(text: string) -> (label: Label) {
  r = predict(Classify)(text: text)
  return r
}
DEOF
cat >"$T/imp/Makefile" <<MEOF
out.c: main.dsp
	$D build main.dsp --no-opt -o out.c -MD -MF out.d
-include out.d
MEOF
make -s -C "$T/imp" >/dev/null 2>&1 && grep -q 'lib/common.dsp' "$T/imp/out.d"
check $? "depfile lists imported files"
sleep 1
echo '// touched' >>"$T/imp/lib/common.dsp"
make -s -C "$T/imp" -n 2>/dev/null | grep -q 'dspcc build'
check $? "a changed import makes make rebuild"

# So are a tool's header and the header its struct is defined in: the
# generated C copies the struct and the prototype.
mkdir -p "$T/hdr/inc"
cat >"$T/hdr/inc/types.h" <<'DEOF'
typedef struct {
    double lat;
    double lon;
} Point;
DEOF
cat >"$T/hdr/geo.h" <<'DEOF'
#include "inc/types.h"
Point halfway(Point a, const Point *b);
DEOF
cat >"$T/hdr/main.dsp" <<'DEOF'
record Point {
  lat: float
  lon: float
}

tool halfway from "build/libgeo.so" header "geo.h"

module Mid(a: Point, b: Point) -> (mid: Point) {
  m = halfway(a: a, b: b)
  return (mid: m)
}
DEOF
cat >"$T/hdr/Makefile" <<MEOF
out.c: main.dsp
	$D build main.dsp --no-opt -o out.c -MD -MF out.d
-include out.d
MEOF
make -s -C "$T/hdr" >/dev/null 2>&1 && grep -q '^  geo.h' "$T/hdr/out.d" && grep -q '^  inc/types.h' "$T/hdr/out.d"
check $? "depfile lists a tool's header and the header its struct comes from"
sleep 1
echo '/* touched */' >>"$T/hdr/inc/types.h"
make -s -C "$T/hdr" -n 2>/dev/null | grep -q 'dspcc build'
check $? "a changed struct header makes make rebuild"

# ---- the generated program against the reference server -------------------------
"$BUILD/dsp-refserver" --port 0 >"$T/rs.out" 2>"$T/rs.err" &
RS_PID=$!
i=0
while [ ! -s "$T/rs.out" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 "$T/rs.out")
[ -n "$PORT" ] || { echo "not ok - dsp-refserver started"; exit 1; }
SECRET="sk-test-$$-do-not-leak-0123456789"
cc $STRICT $SAN -D_DEFAULT_SOURCE -I"$T" -o "$T/ticket_cli" examples/tickets/ticket_cli.c "$T/tickets.c" $RTLIBS 2>"$T/cc.err"
check $? "ticket_cli links with the generated code"
printf 'I was charged twice for my subscription\nI cannot log in to my account\n' |
    OPENAI_API_KEY=$SECRET DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 DSPCC_CACHE_DIR="$T/cache" \
    "$T/ticket_cli" >"$T/cli.out" 2>"$T/cli.err"
r=$?
[ $r -ne 0 ] && cat "$T/cli.err"
check $r "ticket_cli classifies tickets through the refserver fixture"
[ "$(wc -l <"$T/cli.out")" -eq 2 ] && grep -qx 'billing\|account\|orders\|general' "$T/cli.out"
check $? "one category per input line"
# OpenAI's URL, as a local server needs no key; nothing is sent without one.
printf 'hello\n' | env -u OPENAI_API_KEY DSPCC_BASE_URL=https://api.openai.com/v1 DSPCC_CACHE_DIR="$T/cache2" \
    "$T/ticket_cli" >/dev/null 2>"$T/cli2.err"
[ $? -ne 0 ] && grep -q 'line 1: TicketClassifier.r (tickets.dsp:21): .*OPENAI_API_KEY' "$T/cli2.err"
check $? "a failed line exits non-zero with the reason and the failing step on stderr"
# Every step kind (module call, tool, repeat, if, literals, optional and
# list fields), compiled strictly and run against the fixture.
F=tests/compiler/fixtures/codegen
$DSPCC build $F/flow.dsp --no-opt -o "$T/flow.c" 2>/dev/null
check $? "build --no-opt $F/flow.dsp"
for cc in gcc clang; do
    $cc $STRICT $SAN -D_DEFAULT_SOURCE -I"$T" -o "$T/flow_$cc" $F/flow_main.c "$T/flow.c" $RTLIBS 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && head -20 "$T/cc.err"
    check $r "flow.c (every step kind) compiles and links with $cc -std=c17 -pedantic -Werror"
done
OPENAI_API_KEY=$SECRET DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 DSPCC_CACHE_DIR="$T/cache" "$T/flow_gcc" >"$T/flow.out" 2>"$T/flow.err"
r=$?
[ $r -ne 0 ] && cat "$T/flow.err"
check $r "flow runs through the refserver fixture"
grep -qx 'loud=THE SERVER IS DOWN THE SERVER IS DOWN' "$T/flow.out"
check $? "flow: the tool ran inside repeat with its literal argument"
grep -qx 'level=low\|level=high' "$T/flow.out" && grep -qx 'answer_set=1' "$T/flow.out" && grep -q '^tags=[0-9]' "$T/flow.out"
check $? "flow: enum, string and list results come back typed"
grep -qx 'sentinel=1' "$T/flow.out" && grep -qx 'models=Inner.a openai/fixture-model' "$T/flow.out"
check $? "flow: the model table names each predictor and ends with a NULL entry"
grep -qx 'null_input=1 flow_run: input `text` is NULL' "$T/flow.out"
check $? "flow: a NULL input is a clear error"
grep -qx 'batch=0 A A BB BB CCC CCC' "$T/flow.out"
check $? "flow: the batch keeps results in input order"

# make install, then build an application the way the header says:
# cc app.c OUT.c $(pkg-config --cflags --libs dsprt).
if [ -n "$SAN" ]; then
    make -s install BUILD="$BUILD" SANITIZE=1 OPT="-O1 -g" PREFIX="$T/inst" >"$T/install.log" 2>&1
else
    make -s install BUILD="$BUILD" PREFIX="$T/inst" >"$T/install.log" 2>&1
fi
r=$?
[ $r -ne 0 ] && tail -5 "$T/install.log"
check $r "make install PREFIX=..."
PC="env PKG_CONFIG_PATH=$T/inst/lib/pkgconfig pkg-config"
mkdir -p "$T/app"
"$T/inst/bin/dspcc" build examples/tickets/tickets.dsp --no-opt -o "$T/app/tickets.c" 2>/dev/null &&
    cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN -I"$T/app" -o "$T/app/ticket_cli" \
        examples/tickets/ticket_cli.c "$T/app/tickets.c" $($PC --cflags --libs dsprt) 2>"$T/cc.err"
r=$?
[ $r -ne 0 ] && head -20 "$T/cc.err"
check $r "an application builds with the installed dspcc and pkg-config --cflags --libs dsprt"
echo 'I need a refund for a double charge' | OPENAI_API_KEY=$SECRET DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 \
    DSPCC_CACHE_DIR="$T/cache" LD_LIBRARY_PATH="$T/inst/lib" "$T/app/ticket_cli" >"$T/app.out" 2>"$T/app.err"
r=$?
[ $r -ne 0 ] && cat "$T/app.err"
[ $r -eq 0 ] && grep -qx 'billing\|account\|orders\|general' "$T/app.out"
check $? "the installed application runs (shared libdsprt)"

# --embed-runtime: one .c and .h with libdsprt inside, internal symbols
# static; an application links only the runtime's own dependencies.
mkdir -p "$T/emb" "$T/emb2"
$DSPCC build examples/tickets/tickets.dsp --no-opt --embed-runtime -o "$T/emb/tickets.c" 2>/dev/null
check $? "build --embed-runtime"
$DSPCC build examples/tickets/tickets.dsp --no-opt --embed-runtime -o "$T/emb2/tickets.c" 2>/dev/null
cmp -s "$T/emb/tickets.c" "$T/emb2/tickets.c" && cmp -s "$T/emb/tickets.h" "$T/emb2/tickets.h"
check $? "--embed-runtime output is byte-identical across builds"
DEPS_CFLAGS=$(pkg-config --cflags libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null)
DEPS_LIBS="$(pkg-config --libs libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null || echo -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz) -lpthread -lm"
for cc in gcc clang; do
    $cc -std=c17 -Wall -Wextra -Wshadow -Wconversion -Werror -pedantic $DEPS_CFLAGS -c "$T/emb/tickets.c" -o "$T/emb/tickets.$cc.o" 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && head -20 "$T/cc.err"
    check $r "embedded runtime compiles with $cc -std=c17 -pedantic -Wshadow -Wconversion -Werror (no dsp headers on the path)"
done
if nm "$T/emb/tickets.gcc.o" | awk '$2 ~ /^[TDRB]$/ {print $3}' | grep -qv '^dsp_\|^ticket_classifier_'; then
    bad "embedded: only dsp_ and the program's symbols are global"
else
    ok "embedded: only dsp_ and the program's symbols are global"
fi
cp examples/tickets/ticket_cli.c "$T/emb/"
cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN $DEPS_CFLAGS -I"$T/emb" -o "$T/emb/ticket_cli" \
    "$T/emb/ticket_cli.c" "$T/emb/tickets.c" $DEPS_LIBS 2>"$T/cc.err"
r=$?
[ $r -ne 0 ] && head -20 "$T/cc.err"
check $r "ticket_cli links with the embedded runtime and no libdsprt"
printf 'I was charged twice\n' | OPENAI_API_KEY=$SECRET DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 DSPCC_CACHE_DIR="$T/cache" \
    "$T/emb/ticket_cli" >"$T/emb.out" 2>"$T/emb.err"
r=$?
[ $r -ne 0 ] && cat "$T/emb.err"
[ $r -eq 0 ] && grep -qx 'billing\|account\|orders\|general' "$T/emb.out"
check $? "the embedded build classifies through the refserver fixture"

# The multihop example: three predictors and a C tool linked directly.
cc $STRICT $SAN -D_DEFAULT_SOURCE -I"$T" -o "$T/multihop_main" $F/multihop_main.c "$T/multihop.c" \
    examples/multihop/retriever.c $RTLIBS 2>"$T/cc.err"
r=$?
[ $r -ne 0 ] && head -20 "$T/cc.err"
check $r "multihop links with its retrieve() tool"
Q1=$(sed -n '1s/.*"question": *"\([^"]*\)".*/\1/p' examples/multihop/data/dev.jsonl)
(cd examples/multihop && DSPCC_BASE_URL=http://127.0.0.1:$PORT/v1 DSPCC_CACHE_DIR="$T/cache" \
    "$T/multihop_main" "$Q1") >"$T/mh.out" 2>"$T/mh.err"
r=$?
[ $r -ne 0 ] && cat "$T/mh.err"
[ $r -eq 0 ] && [ -s "$T/mh.out" ]
check $? "multihop answers a dev question through the refserver fixture"

# dspcc build without --state/--no-opt runs the optimize block; a rebuild
# with a warm cache makes no HTTP request and gives the same bytes.
mkdir -p "$T/o1" "$T/o2"
OPENAI_API_KEY=$SECRET DSPCC_CACHE_DIR="$T/cache" $DSPCC build examples/tickets/tickets.dsp -o "$T/o1/tickets.c" \
    --base-url http://127.0.0.1:$PORT/v1 >"$T/o1.log" 2>&1
r=$?
[ $r -ne 0 ] && tail -5 "$T/o1.log"
[ $r -eq 0 ] && [ -s "$T/o1/tickets.state.json" ] && [ -s "$T/o1/tickets.report.html" ] &&
    grep -q 'Optimizer: mipro' "$T/o1/tickets.c" && grep -q 'static const dsp_demo' "$T/o1/tickets.c"
check $? "build runs the optimize block and bakes demos in, keeping the state and report"
OPENAI_API_KEY=$SECRET DSPCC_CACHE_DIR="$T/cache" $DSPCC build examples/tickets/tickets.dsp -o "$T/o2/tickets.c" \
    --base-url http://127.0.0.1:$PORT/v1 >"$T/o2.log" 2>&1
grep -q 'http requests 0)' "$T/o2.log" && cmp -s "$T/o1/tickets.c" "$T/o2/tickets.c" &&
    cmp -s "$T/o1/tickets.h" "$T/o2/tickets.h"
check $? "an optimizing rebuild with a warm cache: zero HTTP requests, identical bytes"
mkdir -p "$T/o3"
OPENAI_API_KEY=$SECRET DSPCC_CACHE_DIR="$T/cache" $DSPCC build examples/tickets/tickets.dsp -o "$T/o3/tickets.c" \
    --base-url http://127.0.0.1:$PORT/v1 -q >"$T/o3.log" 2>&1
[ $? -eq 0 ] && cmp -s "$T/o1/tickets.c" "$T/o3/tickets.c" && grep -q 'wrote' "$T/o3.log" &&
    ! grep -q '^dspcc optimize: trial' "$T/o3.log" && grep -q '^dspcc optimize: trial' "$T/o1.log"
check $? "build -q optimizes without progress lines, to the same bytes"
compiles "$T/o1/tickets.c" "$T/o1" "optimized tickets.c"

# Build once more with the key set: it must appear nowhere we wrote.
OPENAI_API_KEY=$SECRET $DSPCC build examples/tickets/tickets.dsp --no-opt -o "$T/keyed.c" -MD -MF "$T/keyed.d" 2>/dev/null
if grep -rqa -- "$SECRET" "$T"/*.c "$T"/*.h "$T"/*.d "$T/cache" "$T/o1" "$T/o2" "$T"/*.log 2>/dev/null; then
    bad "the key value appears in no generated file, state, report, depfile, log or cache"
else
    ok "the key value appears in no generated file, state, report, depfile, log or cache"
fi
