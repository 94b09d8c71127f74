#!/bin/sh
# The C examples of docs/*.md that a reader copies into a program compile
# as shown, against libdsprt's headers, with -std=c17 -Wall -Wextra
# -Werror. A ```c block is checked when a comment before it says how to
# complete it into a translation unit:
#
#   <!-- c-check
#   #include "dsp/predict.h"          (lines before the block)
#   void demo(dsp_client *client) {
#   -- block --
#   }                                 (lines after it)
#   -->
#
# Other ```c blocks (excerpts of generated headers with `...`) are not.
# Prints TAP.
set -u
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

n=0
for doc in docs/*.md; do
    awk -v out="$tmp" -v doc="$doc" '
        inpre {
            if ($0 ~ /^-->[[:space:]]*$/) { inpre = 0; armed = 1; next }
            if ($0 == "-- block --") { after = 1; next }
            if (after) post = post $0 "\n"; else pre = pre $0 "\n"
            next
        }
        !inblock && /^<!-- c-check[[:space:]]*$/ { inpre = 1; pre = ""; post = ""; after = 0; next }
        armed && !inblock && /^```c[[:space:]]*$/ { inblock = 1; body = ""; start = NR; next }
        inblock && /^```[[:space:]]*$/ {
            inblock = 0; armed = 0
            id = doc; gsub(/[^A-Za-z0-9]/, "_", id); f = out "/" id "_" start
            printf "%s%s%s", pre, body, post > (f ".c"); close(f ".c")
            print doc ":" start > (f ".where"); close(f ".where")
            next
        }
        inblock { body = body $0 "\n"; next }
        /^```/ { armed = 0 }
    ' "$doc"
done

for c in "$tmp"/*.c; do
    [ -e "$c" ] || break
    n=$((n + 1))
    where=$(cat "${c%.c}.where")
    if "$cc" -std=c17 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Iruntime/include -fsyntax-only "$c" \
        2>"$tmp/err"; then
        echo "ok - $where: the C example compiles with -Wall -Wextra -Werror"
    else
        echo "not ok - $where: the C example compiles with -Wall -Wextra -Werror"
        grep -E 'error' "$tmp/err" | head -5 | sed 's/^/#   /'
    fi
done
if [ "$n" -lt 8 ]; then
    echo "not ok - only $n \`\`\`c blocks of docs/*.md carry a <!-- c-check --> comment"
else
    echo "ok - $n C examples checked"
fi
