#!/bin/sh
# Records, lists, maps and optionals end to end (tests/compiler/fixtures/
# records): the checker and dump-ir (golden tests/golden/records.json), fmt,
# the data loader (nested JSONL rows, errors naming the path, CSV refused),
# the interpreter and set metrics (`dspcc eval`), the generated C with gcc
# and clang -pedantic (also --embed-runtime), and parity: the rows the
# interpreter moves intact (metric `intact` scores 1) come back intact from
# the generated C (pass_main.c, under ASan when libdsprt is). Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
DSPCC=$root/$BUILD/dspcc
F=tests/compiler/fixtures/records
T=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "# kept in $T"; else trap 'rm -rf "$T"' EXIT INT TERM; fi
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else bad "$2"; fi; }
SAN=
if nm "$BUILD/libdsprt.a" 2>/dev/null | grep -q __asan; then SAN="-fsanitize=address,undefined"; fi
RTLIBS="$root/$BUILD/libdsprt.a -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include"

# ---- checker, IR, fmt ---------------------------------------------------
"$DSPCC" check "$F/records.dsp" 2>"$T/check.err"
r=$?
[ $r -ne 0 ] && sed 's/^/#   /' "$T/check.err"
check $r "records.dsp checks"
"$DSPCC" dump-ir "$F/records.dsp" >"$T/ir.json" 2>/dev/null
[ -n "${UPDATE_GOLDEN:-}" ] && cp "$T/ir.json" tests/golden/records.json
if cmp -s "$T/ir.json" tests/golden/records.json; then ok "dump-ir matches tests/golden/records.json"; else
    diff tests/golden/records.json "$T/ir.json" | head -20 | sed 's/^/#   /'
    bad "dump-ir matches tests/golden/records.json"
fi
"$DSPCC" fmt --check "$F/records.dsp" >/dev/null
check $? "records.dsp is formatted (fmt keeps records, maps and dotted paths)"
# fmt writes records canonically: fields one a line, commas dropped, descriptions aligned.
printf 'record   R "d" { a : string "x", bb: map< string ,int >  c: optional<R2> }\nrecord R2 { z: int }\n' |
    "$DSPCC" fmt - >"$T/fmt.out"
printf 'record R "d" {\n  a: string  "x"\n  bb: map<string, int>\n  c: optional<R2>\n}\nrecord R2 {\n  z: int\n}\n' >"$T/fmt.want"
cmp -s "$T/fmt.out" "$T/fmt.want"
r=$?
[ $r -ne 0 ] && diff "$T/fmt.want" "$T/fmt.out" | sed 's/^/#   /'
check $r "fmt lays out a record declaration"

# ---- interpreter, data, set metrics ---------------------------------------
score() { # MODULE DATA METRIC -> prints the score
    "$DSPCC" eval "$F/records.dsp" --module "$1" --data "$2" --metric "$3" --json --no-cache 2>"$T/eval.err" |
        sed -n 's/^[[:space:]]*"score":[[:space:]]*\([0-9.e-]*\),$/\1/p'
}
[ "$(score Pass rows intact)" = 1 ]
check $? "eval: the interpreter moves nested records, maps, lists and optionals intact"
[ "$(score Sets sets set_scores)" = 1 ]
check $? "set_f1, set_precision, set_recall: multisets, records on all fields, text normalized as f1"
case "$(score Sets sets by_text)" in 0.6266666666666667*) r=0 ;; *) r=1 ;; esac
check $r "set_f1(..., by: text) matches on the text alone"
case "$(score Sets sets by_both)" in 0.666666666666666*) r=0 ;; *) r=1 ;; esac
check $r "set_recall(..., by: [text, type])"
"$DSPCC" eval "$F/records.dsp" --module Pass --data bad_type --metric intact --no-cache >/dev/null 2>"$T/bad.err"
[ $? -ne 0 ] && grep -q 'bad_type.jsonl:1: column `m` (field `m`, Mention): .entity.type: "persn" is not a value of EntityType' "$T/bad.err"
check $? "a bad enum deep in a JSONL row names the line, the field and the path"
"$DSPCC" eval "$F/records.dsp" --module Pass --data bad_missing --metric intact --no-cache >/dev/null 2>"$T/bad.err"
[ $? -ne 0 ] && grep -q '.entity.text: missing, but it is a required field of Entity' "$T/bad.err"
check $? "a missing required field deep in a JSONL row is an error naming it"
mkdir -p "$T/csv"
sed -e 's|jsonl("rows.jsonl")|csv("rows.csv")|' "$F/records.dsp" >"$T/csv/records.dsp"
cp "$F"/*.jsonl "$T/csv/"
printf 'm,extra\n"{}","[]"\n' >"$T/csv/rows.csv"
"$DSPCC" eval "$T/csv/records.dsp" --module Pass --data rows --metric intact --no-cache >/dev/null 2>"$T/csv.err"
[ $? -ne 0 ] && grep -q 'field `m` is Mention, which a CSV cell cannot hold.*JSONL' "$T/csv.err"
check $? "a CSV data set cannot hold records: a clear error"

# ---- generated C ------------------------------------------------------------
for prog in Extractor Pass Sets; do
    lower=$(printf '%s' "$prog" | tr 'A-Z' 'a-z')
    "$DSPCC" build "$F/records.dsp" --no-opt --program "$prog" -o "$T/gen_$lower.c" 2>"$T/b.err"
    check $? "build --program $prog"
    for cc in gcc clang; do
        $cc $STRICT -I"$T" -c "$T/gen_$lower.c" -o "$T/gen_$lower.$cc.o" 2>"$T/cc.err"
        r=$?
        [ $r -ne 0 ] && head -20 "$T/cc.err" | sed 's/^/#   /'
        check $r "$prog: generated C compiles with $cc -std=c17 -pedantic -Werror"
    done
done
grep -q 'typedef struct extractor_entity {' "$T/gen_extractor.h" &&
    grep -q 'by extractor_output_free; in an input everything is borrowed' "$T/gen_extractor.h" &&
    grep -q '\.kind = DSP_TYPE_RECORD, \.fields = k_record_entity_fields, \.n_fields = 3, \.name = "Entity"' "$T/gen_extractor.c"
check $? "a struct per record, ownership documented, record tables for the runtime"
mkdir -p "$T/emb"
"$DSPCC" build "$F/records.dsp" --no-opt --program Extractor --embed-runtime -o "$T/emb/ex.c" 2>/dev/null
check $? "build --embed-runtime"
for cc in gcc clang; do
    $cc -std=c17 -Wall -Wextra -Werror -pedantic -I/usr/include/cjson -c "$T/emb/ex.c" -o "$T/emb/ex.$cc.o" 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && head -20 "$T/cc.err" | sed 's/^/#   /'
    check $r "embedded runtime with records compiles with $cc -std=c17 -pedantic -Werror"
done
for cc in gcc clang; do
    $cc $STRICT $SAN -I"$T" -o "$T/pass_main" "$F/pass_main.c" "$T/gen_pass.c" $RTLIBS 2>"$T/cc.err"
    r=$?
    [ $r -ne 0 ] && head -20 "$T/cc.err" | sed 's/^/#   /'
    check $r "pass_main links with the generated Pass ($cc)"
    if [ $r -eq 0 ]; then
        DSPCC_CACHE_DIR="$T/cache" "$T/pass_main"
        check $? "pass_main ($cc) exits 0: every check passed, nothing leaked under ASan"
    fi
done
