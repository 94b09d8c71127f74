# tests/support/ctool_parity.sh — sourced by the shell tests of C tools
# typed from a header (react_records.sh, react_maps.sh): a fixture with
# agent.dsp (an Agent module reacting over the tools, and a module DIRECT
# calling them), its tools' library, and a main per program. Each step
# prints TAP through check (tests/support/tap.sh). The caller sets root,
# BUILD, DSPCC, tmp and P (the fixture's copy) and sources tap.sh,
# refserver.sh and this file.
. tests/support/rt_link.sh
SAN=$RT_SAN
RTLIBS="$root/$BUILD/libdsprt.a $RT_LIBS"
STRICT="-std=c17 -Wall -Wextra -Werror -pedantic -I$root/runtime/include -I/usr/include/cjson"
AGENT_MAIN=$root/tests/compiler/fixtures/react_records/agent_main.c

# ct_fixture NAME LIB SRC: copies fixture NAME to $P, builds $P/build/LIB
# from SRC and writes $P/native.dsp (agent.dsp with tool_calling: native).
ct_fixture()
{
    cp -r "tests/compiler/fixtures/$1" "$P"
    mkdir -p "$P/build"
    cc -Wall -Wextra -Werror -shared -fPIC -o "$P/build/$2" "$P/$3" -lm
    check "$2 builds" test $? -eq 0
    sed 's|^  base_url: "http://127.0.0.1:9/v1"$|&\n  tool_calling: native|' "$P/agent.dsp" >"$P/native.dsp"
}

# ct_build_all DIRECT: dspcc build of Agent and DIRECT, text and native,
# into $tmp/{text,native}/gen_{agent,direct}.c.
ct_build_all()
{
    mkdir -p "$tmp/text" "$tmp/native"
    for v in text native; do
        dsp=$P/agent.dsp
        [ $v = native ] && dsp=$P/native.dsp
        for m in Agent "$1"; do
            l=$(printf '%s' "$m" | tr 'A-Z' 'a-z')
            "$DSPCC" build "$dsp" --no-opt --program "$m" -o "$tmp/$v/gen_$l.c" 2>"$tmp/$v/$l.err"
            check "$v: dspcc build --program $m" test $? -eq 0
        done
    done
}

# ct_cc OUT CHECK SOURCES...: compiles strictly (and under ASan when
# libdsprt is) against libdsprt, reporting CHECK.
ct_cc()
{
    out=$1 what=$2
    shift 2
    $cc $STRICT $SAN -o "$out" "$@" -Wl,-rpath,"$P/build" $RTLIBS 2>"$tmp/cc.err"
    r=$?
    [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
    check "$what" test $r -eq 0
}

# ct_compile_all direct LIB: the agents (text, native; clang: text) and
# the direct program ($tmp/direct_$cc) with gcc and clang.
ct_compile_all()
{
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        for v in text native; do
            [ $cc = clang ] && [ $v = native ] && continue # the same C but for one table: gcc suffices
            ct_cc "$tmp/$v/agent_$cc" "$v: the generated agent compiles strictly and links with the C tools ($cc)" \
                -I"$tmp/$v" "$AGENT_MAIN" "$tmp/$v/gen_agent.c" "$P/build/$2"
        done
        ct_cc "$tmp/$1_$cc" "the generated $1 compiles strictly and links with the C tools ($cc)" \
            -I"$tmp/text" "$P/$1_main.c" "$tmp/text/gen_$1.c" "$P/build/$2"
    done
}

# ct_embed direct Direct LIB ROWS: an --embed-runtime build of Direct, with
# gcc and clang -pedantic, printing the rows the libdsprt build printed.
ct_embed()
{
    mkdir -p "$tmp/emb"
    "$DSPCC" build "$P/agent.dsp" --no-opt --program "$2" --embed-runtime -o "$tmp/emb/gen_$1.c" 2>"$tmp/emb.err"
    check "dspcc build --embed-runtime of $2" test $? -eq 0
    deps_cflags=$(pkg-config --cflags libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null)
    deps_libs="$(pkg-config --libs libcurl libcjson sqlite3 hiredis libcrypto zlib 2>/dev/null ||
        echo -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz) -lpthread -lm"
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        $cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $SAN $deps_cflags -I"$tmp/emb" \
            -o "$tmp/emb/$1_$cc" "$P/$1_main.c" "$tmp/emb/gen_$1.c" "$P/build/$3" \
            -Wl,-rpath,"$P/build" $deps_libs 2>"$tmp/cc.err"
        r=$?
        [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/cc.err" | head -20
        check "the embedded $2 compiles with $cc -std=c17 -pedantic -Werror and links without libdsprt" test $r -eq 0
        "$tmp/emb/$1_$cc" 2>"$tmp/emb.err" | cmp -s - "$4"
        check "the embedded $2 ($cc) prints the rows libdsprt's build printed" test $? -eq 0
    done
}

# ct_react N CHECKS: starts the fixture server, runs the generated agents
# (text, native) on $P/questions.txt (N rows) into $P/rows.jsonl, calls
# the function CHECKS V after each, and holds dspcc eval, the native loop
# and the clang build to the same rows.
ct_react()
{
    rs_start
    check "the reference server started" test -n "$port"
    url="http://127.0.0.1:$port/v1"
    for v in text native; do
        dsp=$P/agent.dsp
        [ $v = native ] && dsp=$P/native.dsp
        DSPCC_BASE_URL=$url "$tmp/$v/agent_gcc" <"$P/questions.txt" >"$P/rows.jsonl" 2>"$tmp/run.err"
        r=$?
        [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/run.err" | head
        check "$v: the generated agent answers every question" \
            sh -c "test $r -eq 0 && test \$(wc -l <'$P/rows.jsonl') -eq $1"
        $2 $v
        "$DSPCC" eval "$dsp" --data rows --module Agent --metric same --json --no-cache --base-url "$url" \
            >"$tmp/eval.json" 2>"$tmp/eval.err"
        r=$?
        [ $r -ne 0 ] && sed 's/^/#   /' "$tmp/eval.err" | head
        check "$v: dspcc eval gives the generated C's answers and trajectories (score 1)" \
            test $r -eq 0 -a "$(json_key "$tmp/eval.json" score)" = 1
        cp "$P/rows.jsonl" "$tmp/$v.rows"
    done
    check "the native loop gives the text loop's trajectories" cmp -s "$tmp/text.rows" "$tmp/native.rows"
    if command -v clang >/dev/null; then
        DSPCC_BASE_URL=$url "$tmp/text/agent_clang" <"$P/questions.txt" >"$tmp/clang.jsonl" 2>"$tmp/clang.err"
        check "the clang build gives the same rows" cmp -s "$tmp/clang.jsonl" "$tmp/text.rows"
    fi
}
