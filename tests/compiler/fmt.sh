#!/bin/sh
# dspcc fmt over every .dsp file of the repository (examples, test
# programs, imports used by tests): idempotent, layout the only change
# (the text without spaces, line breaks and commas is the same, so every
# token and comment is kept), and the same IR (`dump-ir` without source
# locations, which move with the layout). Then: files with syntax errors
# are refused and left untouched, --check exit codes, stdin to stdout,
# atomic writes that keep the mode, and the examples are formatted.
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; }
check() { # name, command...
    name=$1
    shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}
# Layout-free text: no spaces, tabs, line breaks or commas.
squeeze() { tr -d ' \t\n,' <"$1"; }
# The IR without source locations.
ir() { "$dspcc" dump-ir "$1" 2>/dev/null | sed '/"loc":/d'; }
# Diagnostic messages without their positions.
messages() { sed -n 's/^[^ ]*:[0-9]*:[0-9]*: //p'; }
dspcc_abs=$(cd "$(dirname "$dspcc")" && pwd)/$(basename "$dspcc")

n=0
for f in $(find examples tests -name node_modules -prune -o \( -name '*.dsp' -o -name '*.dsp.inc' \) -print | sort); do
    if ! "$dspcc" fmt - <"$f" >"$tmp/once" 2>"$tmp/err"; then
        # Only files with syntax errors may be refused.
        if grep -q 'syntax errors' "$tmp/err"; then continue; fi
        notok "fmt $f failed: $(head -n 1 "$tmp/err")"
        continue
    fi
    n=$((n + 1))
    "$dspcc" fmt - <"$tmp/once" >"$tmp/twice" 2>/dev/null
    check "fmt $f is idempotent" cmp -s "$tmp/once" "$tmp/twice"
    squeeze "$f" >"$tmp/a"
    squeeze "$tmp/once" >"$tmp/b"
    check "fmt $f keeps every token and comment" cmp -s "$tmp/a" "$tmp/b"
    c1=$(grep -c '//\|/\*' "$f")
    c2=$(grep -c '//\|/\*' "$tmp/once")
    check "fmt $f keeps its comment lines ($c1)" test "$c1" -le "$c2"
    # The IR: format a copy of the file's folder, so imports, headers and
    # data resolve the same way and the IR names the same file. A program
    # with semantic errors: the same diagnostics, positions aside.
    dir=$(dirname "$f")
    base=$(basename "$f")
    rm -rf "$tmp/copy"
    mkdir "$tmp/copy"
    cp -R "$dir/." "$tmp/copy/"
    cp "$tmp/once" "$tmp/copy/$base"
    if "$dspcc" check "$f" >/dev/null 2>&1; then
        ir "$f" >"$tmp/ir1"
        ir "$tmp/copy/$base" >"$tmp/ir2"
        check "fmt $f keeps the IR" sh -c "test -s '$tmp/ir1' && cmp -s '$tmp/ir1' '$tmp/ir2'"
    else
        (cd "$dir" && "$dspcc_abs" check "$base" 2>&1) | messages >"$tmp/m1"
        (cd "$tmp/copy" && "$dspcc_abs" check "$base" 2>&1) | messages >"$tmp/m2"
        check "fmt $f keeps the diagnostics" sh -c "test -s '$tmp/m1' && cmp -s '$tmp/m1' '$tmp/m2'"
    fi
done
check "fmt ran over the repository's programs ($n)" test "$n" -ge 10

# The examples are formatted; CI enforces it.
check "fmt --check examples/*/*.dsp" "$dspcc" fmt --check examples/*/*.dsp

# Refusal: a syntax error leaves the file untouched, exit 1, diagnostics.
printf 'signature S {\n  in q string\n  out a: string\n}\n' >"$tmp/bad.dsp"
cp "$tmp/bad.dsp" "$tmp/bad.orig"
"$dspcc" fmt "$tmp/bad.dsp" 2>"$tmp/err"
rc=$?
check "a syntax error: exit 1" test "$rc" -eq 1
check "a syntax error: the diagnostic is shown" grep -q "bad.dsp:2:8: error: expected" "$tmp/err"
check "a syntax error: the file is untouched" cmp -s "$tmp/bad.dsp" "$tmp/bad.orig"
for f in tests/bad/syntax_*.dsp; do
    cp "$f" "$tmp/s.dsp"
    "$dspcc" fmt "$tmp/s.dsp" 2>/dev/null
    rc=$?
    check "refused, untouched: $f" sh -c "test $rc -eq 1 && cmp -s '$f' '$tmp/s.dsp'"
done

# --check: exit 0 and silent when formatted, 1 naming the files otherwise.
printf 'lm a = "openai/x" { temperature: 0.5, max_tokens: 9 }\n' >"$tmp/messy.dsp"
cp "$tmp/messy.dsp" "$tmp/messy.orig"
"$dspcc" fmt - <"$tmp/messy.dsp" >"$tmp/clean.dsp"
"$dspcc" fmt --check "$tmp/clean.dsp" >"$tmp/out"
rc=$?
check "--check on a formatted file: exit 0, no output" sh -c "test $rc -eq 0 && ! test -s '$tmp/out'"
"$dspcc" fmt --check "$tmp/clean.dsp" "$tmp/messy.dsp" >"$tmp/out"
rc=$?
check "--check on an unformatted file: exit 1" test "$rc" -eq 1
check "--check names only the file that would change" sh -c "grep -qx '$tmp/messy.dsp' '$tmp/out' && test \$(wc -l <'$tmp/out') -eq 1"
check "--check changes nothing" cmp -s "$tmp/messy.dsp" "$tmp/messy.orig"
"$dspcc" fmt --check - <"$tmp/messy.dsp" >/dev/null
check "--check - on unformatted input: exit 1" test $? -eq 1
check "stdin to stdout: the canonical layout" sh -c "printf 'lm a = \"openai/x\" {\n  temperature: 0.5\n  max_tokens: 9\n}\n' | cmp -s - '$tmp/clean.dsp'"

# In place: atomic (no temporary left), the mode kept, same bytes as stdin mode.
chmod 640 "$tmp/messy.dsp"
mode1=$(stat -c %a "$tmp/messy.dsp")
check "fmt FILE: exit 0" "$dspcc" fmt "$tmp/messy.dsp"
check "fmt FILE writes what fmt - prints" cmp -s "$tmp/messy.dsp" "$tmp/clean.dsp"
check "fmt FILE keeps the mode ($mode1)" test "$(stat -c %a "$tmp/messy.dsp")" = "$mode1"
check "fmt FILE leaves no temporary file" sh -c "! ls -A '$tmp' | grep -q '^\\..*\\.[A-Za-z0-9]\\{6\\}\$'"
ino1=$(stat -c %i "$tmp/clean.dsp")
"$dspcc" fmt "$tmp/clean.dsp"
check "an already formatted file is not rewritten" test "$(stat -c %i "$tmp/clean.dsp")" = "$ino1"

# Through a symbolic link the file it names is formatted; the link stays.
printf 'enum E{a,b}\n' >"$tmp/target.dsp"
ln -s target.dsp "$tmp/link.dsp"
"$dspcc" fmt "$tmp/link.dsp"
check "fmt LINK formats the file the link names" sh -c "test -L '$tmp/link.dsp' && grep -qx 'enum E { a, b }' '$tmp/target.dsp'"

check "fmt without a file is a usage error (2)" sh -c "'$dspcc' fmt 2>/dev/null; test \$? -eq 2"
check "fmt --bogus is a usage error (2)" sh -c "'$dspcc' fmt --bogus x.dsp 2>/dev/null; test \$? -eq 2"
check "fmt of a missing file: exit 1" sh -c "'$dspcc' fmt '$tmp/none.dsp' 2>/dev/null; test \$? -eq 1"
check "fmt --help" sh -c "'$dspcc' fmt --help | grep -q 'usage: dspcc fmt'"
