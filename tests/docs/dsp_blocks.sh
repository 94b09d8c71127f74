#!/bin/sh
# Every ```dsp code block of README.md and docs/*.md is a program that
# works as shown. Each block is written to tests/docs/sandbox (a copy),
# which holds the files examples name (data/train.jsonl, tools.h, an
# import, ...), and:
#   ```dsp        `dspcc check` accepts it (warnings allowed) and
#                 `dspcc fmt --check` finds it formatted;
#   ```dsp error  preceded by `<!-- dsp-expect: LINE:COL: error: ... -->`:
#                 `dspcc check` rejects it and its first diagnostic, the
#                 file name left out, is exactly that line.
# A `<!-- dsp-prelude ... -->` comment before a block holds declarations
# the block uses but does not show (checked with it, not formatted).
# Blocks fenced otherwise (```c, ``` for shell or output) are not checked.
# Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp -r tests/docs/sandbox "$tmp/sb"
# The rest of the sandbox comes from the files it stands for: the tickets
# program (imported by examples) with a few rows of its data, and the
# tools headers the list-tool, struct and map examples name.
cp examples/tickets/tickets.dsp "$tmp/sb/"
head -n 12 examples/tickets/data/train.jsonl >"$tmp/sb/data/train.jsonl"
head -n 12 examples/tickets/data/dev.jsonl >"$tmp/sb/data/dev.jsonl"
cp tests/compiler/fixtures/list_tools/words.h "$tmp/sb/"
cp tests/compiler/fixtures/react_records/geo.h "$tmp/sb/"
cp tests/compiler/fixtures/react_maps/shop.h "$tmp/sb/"

# Splits each doc into $tmp/blocks/N.{dsp,pre,kind,expect,where}.
mkdir -p "$tmp/blocks"
for doc in README.md docs/*.md; do
    awk -v doc="$doc" -v out="$tmp/blocks" '
        function flush_pre() { pre = ""; expect = "" }
        BEGIN { n = 0; inblock = 0; inpre = 0; flush_pre() }
        inpre {
            if ($0 ~ /-->[[:space:]]*$/) { inpre = 0; next }
            pre = pre $0 "\n"; next
        }
        !inblock && /^<!-- dsp-prelude[[:space:]]*$/ { inpre = 1; pre = ""; next }
        !inblock && /^<!-- dsp-expect: .* -->[[:space:]]*$/ {
            expect = $0; sub(/^<!-- dsp-expect: /, "", expect); sub(/ -->[[:space:]]*$/, "", expect); next
        }
        !inblock && /^```dsp( error)?[[:space:]]*$/ {
            inblock = 1; kind = ($0 ~ /error/) ? "error" : "ok"; body = ""; start = NR; next
        }
        inblock && /^```[[:space:]]*$/ {
            inblock = 0
            id = FILENAME; gsub(/[^A-Za-z0-9]/, "_", id); f = out "/" id "_" start
            printf "%s", body > (f ".dsp"); close(f ".dsp")
            printf "%s", pre > (f ".pre"); close(f ".pre")
            print kind > (f ".kind"); close(f ".kind")
            print expect > (f ".expect"); close(f ".expect")
            print doc ":" start > (f ".where"); close(f ".where")
            flush_pre(); next
        }
        inblock { body = body $0 "\n"; next }
        /^```/ { flush_pre() }
    ' "$doc"
done

# Fences: a block closes with a bare ``` line, and every block closes, so
# no text after a closing fence (or a missing one) swallows the prose that
# follows into a code block.
for doc in README.md docs/*.md; do
    bad=$(awk '
        /^[[:space:]]*```/ {
            line = $0; sub(/^[[:space:]]*/, "", line)
            if (inblock) {
                if (line !~ /^```[[:space:]]*$/) { print NR ": text after a closing fence: " line; exit }
                inblock = 0
            } else { inblock = 1; start = NR }
        }
        END { if (inblock) print start ": a fence opened here is never closed" }
    ' "$doc")
    if [ -z "$bad" ]; then
        echo "ok - $doc: every code fence closes on a line of its own"
    else
        echo "not ok - $doc: every code fence closes on a line of its own"
        echo "#   $doc:$bad"
    fi
done

n=0
for b in "$tmp"/blocks/*.dsp; do
    [ -e "$b" ] || break
    n=$((n + 1))
    base=${b%.dsp}
    where=$(cat "$base.where")
    kind=$(cat "$base.kind")
    cat "$base.pre" "$b" >"$tmp/sb/block.dsp"
    if "$dspcc" fmt --check - <"$b" >/dev/null 2>"$tmp/fmt.err"; then
        echo "ok - $where: formatted as dspcc fmt writes it"
    else
        echo "not ok - $where: formatted as dspcc fmt writes it"
        "$dspcc" fmt - <"$b" 2>&1 | diff "$b" - | sed 's/^/#   /' | head -20
    fi
    (cd "$tmp/sb" && "$dspcc" check block.dsp) >/dev/null 2>"$tmp/check.err"
    rc=$?
    if [ "$kind" = ok ]; then
        if [ $rc -eq 0 ]; then
            echo "ok - $where: dspcc check accepts it"
        else
            echo "not ok - $where: dspcc check accepts it"
            grep -E ': (error|warning|note):' "$tmp/check.err" | head -5 | sed 's/^/#   /'
        fi
    else
        expect=$(cat "$base.expect")
        first=$(head -n 1 "$tmp/check.err")
        first=${first#block.dsp:}
        if [ -z "$expect" ]; then
            echo "not ok - $where: a \`\`\`dsp error block needs <!-- dsp-expect: LINE:COL: error: ... --> before it"
        elif [ $rc -eq 1 ] && [ "$first" = "$expect" ]; then
            echo "ok - $where: dspcc check gives the error shown"
        else
            echo "not ok - $where: dspcc check gives the error shown (exit $rc)"
            echo "#   expected: $expect"
            echo "#   got:      $first"
        fi
    fi
done
if [ "$n" -lt 15 ]; then
    echo "not ok - only $n \`\`\`dsp blocks found in README.md and docs/*.md; the docs' .dsp examples are fenced \`\`\`dsp"
else
    echo "ok - $n \`\`\`dsp blocks checked"
fi
