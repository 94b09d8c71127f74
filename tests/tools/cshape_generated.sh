#!/bin/sh
# Generated C has the shape users rely on (issue 8, part 2): every function
# the header declares is defined, every external symbol carries the
# program's prefix, no literal holds an absolute path or a key, and the
# files parse with no ERROR node. Checked with build/dsp-cshape on code
# generated now from every example. Prints TAP.
set -u
: "${BUILD:=build}"
root=$(pwd)
dspcc="$root/$BUILD/dspcc"
cshape="$root/$BUILD/dsp-cshape"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Example, its module's C prefix, extra build flags.
check_one() {
    name=$1 dsp=$2 prefix=$3
    shift 3
    out="$tmp/$name.c"
    if ! "$dspcc" build "$dsp" -o "$out" "$@" >"$tmp/$name.build" 2>&1; then
        echo "not ok - $name: dspcc build failed"; sed 's/^/#   /' "$tmp/$name.build"
        return
    fi
    if "$cshape" --prefix "$prefix" "$out" "$tmp/$name.h" >"$tmp/$name.shape" 2>&1; then
        echo "ok - $name: generated C has the expected shape (prefix $prefix)"
    else
        echo "not ok - $name: generated C shape"; sed 's/^/#   /' "$tmp/$name.shape"
    fi
}

check_one tickets examples/tickets/tickets.dsp ticket_classifier_ --no-opt
check_one tickets_opt examples/tickets/tickets.dsp ticket_classifier_ \
    --state tests/golden/codegen/tickets_opt.state.json
check_one extract examples/extract/extract.dsp extractor_ --no-opt
check_one multihop examples/multihop/multihop.dsp multi_hop_ --no-opt

# The checker is not vacuous: a wrong prefix is reported.
if "$cshape" --prefix wrong_ "$tmp/tickets.c" "$tmp/tickets.h" >/dev/null 2>&1; then
    echo "not ok - a wrong prefix is reported"
else
    echo "ok - a wrong prefix is reported"
fi

# --embed-runtime: the runtime's sources come along, so dsp_ symbols are
# external too; the runtime is written without statement macros (no
# cJSON_ArrayForEach) so the file parses without a preprocessor.
if "$dspcc" build examples/tickets/tickets.dsp --no-opt --embed-runtime -o "$tmp/emb.c" >"$tmp/emb.build" 2>&1; then
    if "$cshape" --prefix ticket_classifier_ --prefix dsp_ "$tmp/emb.c" "$tmp/emb.h" >"$tmp/emb.shape" 2>&1; then
        echo "ok - embedded runtime: parses, and every external symbol is the program's or dsp_"
    else
        echo "not ok - embedded runtime shape"; sed 's/^/#   /' "$tmp/emb.shape" | head -20
    fi
    if "$cshape" --prefix ticket_classifier_ "$tmp/emb.c" "$tmp/emb.h" >/dev/null 2>&1; then
        echo "not ok - with one --prefix, the embedded dsp_ symbols are reported"
    else
        echo "ok - with one --prefix, the embedded dsp_ symbols are reported"
    fi
else
    echo "not ok - build --embed-runtime"; sed 's/^/#   /' "$tmp/emb.build"
fi
