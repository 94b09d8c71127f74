#!/bin/sh
# Every dspcc command reads its options the same way (compiler/cli_options.c):
# `--opt value` and `--opt=value` alike, -h and --help alike, options before
# or after the file (also under POSIXLY_CORRECT), `--` ending the options,
# whole option names only, and one wording for each mistake:
#   dspcc CMD: unknown option `--x`; [did you mean `--y`? ]see `dspcc CMD --help`
#   dspcc CMD: --opt needs a value; see `dspcc CMD --help`
#   dspcc CMD: --flag takes no value; see `dspcc CMD --help`
#   dspcc CMD: one .dsp file at a time (got `A` and `B`)
# No LM is called: nothing here needs the fixture. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
trap 'rm -rf "$tmp"' EXIT INT TERM
unset DSPCC_BASE_URL POSIXLY_CORRECT

mkdir -p "$tmp/p/data"
cat >"$tmp/p/qa.dsp" <<'DSP'
lm main = "openai/m"
signature Answer "Answer." { in question: string out answer: string }
module QA(question: string) -> (answer: string) {
  r = predict(Answer)(question: question)
  return r
}
metric em(ex, pred) = exact_match(pred.answer, ex.answer)
data train = jsonl("data/train.jsonl")
optimize QA with labeled_fewshot() { metric: em  trainset: train  lm: main }
DSP
echo '{"question": "q0", "answer": "a0"}' >"$tmp/p/data/train.jsonl"
prog="$tmp/p/qa.dsp"

# run CMD...: runs it, stdout to $tmp/out, stderr to $tmp/err, status in $rc.
run() {
    "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
}
# err_is TEXT: stderr is exactly that one line.
err_is() { test "$(cat "$tmp/err")" = "$1"; }

commands=$("$dspcc" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
check "dspcc --help lists commands" test -n "$commands"
for cmd in $commands; do
    run "$dspcc" "$cmd" --bogus "$prog"
    check "$cmd: an unknown option exits 2" test "$rc" -eq 2
    check "$cmd: the one message for it" err_is "dspcc $cmd: unknown option \`--bogus\`; see \`dspcc $cmd --help\`"
    run "$dspcc" "$cmd" --bogus=1 "$prog"
    check "$cmd: --bogus=1 names --bogus" err_is "dspcc $cmd: unknown option \`--bogus\`; see \`dspcc $cmd --help\`"
    run "$dspcc" "$cmd" -Z "$prog"
    check "$cmd: an unknown short option too" err_is "dspcc $cmd: unknown option \`-Z\`; see \`dspcc $cmd --help\`"
    "$dspcc" "$cmd" --help >"$tmp/help.long" 2>&1
    long=$?
    "$dspcc" "$cmd" -h >"$tmp/help.short" 2>&1
    short=$?
    check "$cmd: --help and -h print the same usage, exit 0" \
        sh -c "test $long -eq 0 && test $short -eq 0 && cmp -s '$tmp/help.long' '$tmp/help.short' && grep -q '^usage: dspcc $cmd' '$tmp/help.long'"
    "$dspcc" help "$cmd" >"$tmp/help.cmd" 2>&1
    check "$cmd: dspcc help $cmd is the same" cmp -s "$tmp/help.long" "$tmp/help.cmd"
    run "$dspcc" "$cmd" --hel
    check "$cmd: an abbreviation is no option" \
        err_is "dspcc $cmd: unknown option \`--hel\`; did you mean \`--help\`? see \`dspcc $cmd --help\`"
done

# ---- a value: missing, joined with =, or apart -----------------------------
for c in "eval --data" "optimize --report" "build --state" "prompt --input" "check --color" "init --dir" \
         "optimize -o" "eval -j"; do
    set -- $c
    run "$dspcc" "$1" "$prog" "$2"
    check "$1 $2 without a value" err_is "dspcc $1: $2 needs a value; see \`dspcc $1 --help\`"
done
run "$dspcc" eval "$prog" --json=yes --data train
check "a flag given a value" err_is "dspcc eval: --json takes no value; see \`dspcc eval --help\`"

run "$dspcc" prompt "$prog" --input '{"question": "why?"}'
cp "$tmp/out" "$tmp/apart"
run "$dspcc" prompt --input='{"question": "why?"}' "$prog"
check "prompt --input=JSON is --input JSON" cmp -s "$tmp/apart" "$tmp/out"
check "and printed the prompt" grep -q 'why?' "$tmp/out"

run "$dspcc" check --diagnostics-format json "$prog"
cp "$tmp/out" "$tmp/apart"
run "$dspcc" check "$prog" --diagnostics-format=json
check "check --diagnostics-format=json is the same as apart" cmp -s "$tmp/apart" "$tmp/out"

run "$dspcc" build "$prog" --no-opt -o "$tmp/a.c" -MD -MF "$tmp/a.d"
cp "$tmp/a.c" "$tmp/apart.c"
cp "$tmp/a.d" "$tmp/apart.d"
rm -f "$tmp/a.c" "$tmp/a.d"
run "$dspcc" build --output="$tmp/a.c" -MD "-MF$tmp/a.d" --no-opt "$prog"
check "build --output=F -MFD is -o F -MF D" \
    sh -c "test $rc -eq 0 && cmp -s '$tmp/apart.c' '$tmp/a.c' && cmp -s '$tmp/apart.d' '$tmp/a.d'"
rm -f "$tmp/a.c"
run "$dspcc" build "$prog" --no-opt -qo "$tmp/a.c"
check "short options cluster (-qo FILE)" cmp -s "$tmp/apart.c" "$tmp/a.c"

run "$dspcc" eval "$prog" --data train -j 0
check "a bad number names the option as written (-j)" \
    grep -q -- '^dspcc eval: -j needs a whole number from 1 to 1024, got `0`$' "$tmp/err"
run "$dspcc" eval "$prog" --data train --concurrency=0
check "... or --concurrency=" \
    grep -q -- '^dspcc eval: --concurrency needs a whole number from 1 to 1024, got `0`$' "$tmp/err"

# ---- options eval, optimize and prompt share: one reading, one check ------
# (optimize takes no --data: its data is the optimize block's)
data() { [ "$1" = optimize ] || echo "--data train"; }
for c in eval optimize prompt; do
    run "$dspcc" "$c" "$prog" $(data "$c") --base-url localhost:1
    check "$c: --base-url without a scheme" \
        grep -q "^dspcc $c: --base-url needs an http:// or https:// URL" "$tmp/err"
done
for c in eval optimize; do
    run "$dspcc" "$c" "$prog" $(data "$c") --batch-max-wait 1h
    check "$c: --batch-max-wait without --batch is refused" \
        err_is "dspcc $c: --batch-max-wait is how long --batch waits for the provider's batches; add --batch, or drop it"
    run "$dspcc" "$c" "$prog" $(data "$c") -j 2000
    check "$c: -j gives its range" grep -q -- "^dspcc $c: -j needs a whole number from 1 to 1024, got \`2000\`$" "$tmp/err"
done

# ---- whole names; near misses get a suggestion ----------------------------
run "$dspcc" eval "$prog" --dat train
check "eval --dat is refused, pointing at --data" \
    err_is "dspcc eval: unknown option \`--dat\`; did you mean \`--data\`? see \`dspcc eval --help\`"
for c in optimize build; do
    run "$dspcc" "$c" "$prog" --out x
    check "$c --out points at --output" \
        err_is "dspcc $c: unknown option \`--out\`; did you mean \`--output\`? see \`dspcc $c --help\`"
done
run "$dspcc" build "$prog" -MX
check "build -MX is unknown" err_is "dspcc build: unknown option \`-MX\`; see \`dspcc build --help\`"

# ---- operands: anywhere, one file, `--` -------------------------------------
for c in eval optimize build prompt dump-ir; do
    run "$dspcc" "$c" "$prog" "$tmp/other.dsp"
    check "$c: a second file" \
        err_is "dspcc $c: one .dsp file at a time (got \`$prog\` and \`$tmp/other.dsp\`)"
done
run env POSIXLY_CORRECT=1 "$dspcc" check "$prog" --werror
check "options after the file under POSIXLY_CORRECT" test "$rc" -eq 0
cp "$prog" "$tmp/p/-odd.dsp"
abs=$(cd "$(dirname "$dspcc")" && pwd)/dspcc
(cd "$tmp/p" && "$abs" check -- -odd.dsp) >"$tmp/out" 2>"$tmp/err"
check "-- ends the options (a file named -odd.dsp)" test $? -eq 0
(cd "$tmp/p" && "$abs" fmt --check -- -odd.dsp) >"$tmp/out" 2>"$tmp/err"
check "fmt takes it after -- too" grep -q -- '-odd.dsp' "$tmp/out"
