#!/bin/sh
# What a first-time user gets wrong on the dspcc command line, and what
# they must get back: a message naming the place and the fix, the
# documented exit status (1 errors, 2 bad usage), and no half files.
# Option spellings (--out; the rest in cli_options.sh), an output directory that does not
# exist (found before any LM call), a JSONL syntax error deep in a file, a
# directory given as the state, an eval with no API key or no endpoint
# (stopped after the first example), an eval where every example fails, two builds of one output at once (make -j), and Ctrl-C
# during eval and optimize against build/dsp-refserver (a TEST FIXTURE,
# not a language model) with a latency, then a resume from the cache.
# Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
unset DSPCC_BASE_URL
export DSPCC_CACHE_DIR="$tmp/cache"

# A one-predictor program whose key lives in a variable nobody sets.
mkdir -p "$tmp/p/data"
cat >"$tmp/p/qa.dsp" <<'DSP'
lm main = "openai/m" { api_key_env: "DSPCC_TEST_UNSET_KEY" }
signature Answer "Answer." { in question: string out answer: string }
module QA(question: string) -> (answer: string) {
  r = predict(Answer)(question: question)
  return r
}
metric em(ex, pred) = exact_match(pred.answer, ex.answer)
data train = jsonl("data/train.jsonl")
optimize QA with labeled_fewshot() { metric: em  trainset: train  lm: main }
DSP
i=0
while [ $i -lt 1200 ]; do
    echo "{\"question\": \"q$i\", \"answer\": \"a$i\"}"
    i=$((i + 1))
done >"$tmp/p/data/train.jsonl"
prog="$tmp/p/qa.dsp"
unset DSPCC_TEST_UNSET_KEY

# status NAME WANT CMD...: runs CMD (stderr to $tmp/err) and checks its status.
status() {
    name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "$name (exit $want)" test "$rc" -eq "$want"
}

# ---- option spellings -------------------------------------------------
status "optimize --out" 2 "$dspcc" optimize "$prog" --out x.json
check "--out points to --output" grep -q 'did you mean `--output`' "$tmp/err"
status "build --out" 2 "$dspcc" build "$prog" --out x.c
check "build --out points to --output" grep -q 'did you mean `--output`' "$tmp/err"
status "eval --data=train is --data train (exit 1: no key)" 1 "$dspcc" eval "$prog" --data=train --limit 1
check "it ran the data set train" grep -q 'DSPCC_TEST_UNSET_KEY' "$tmp/err"
status "eval --base-url without a scheme" 2 "$dspcc" eval "$prog" --data train --base-url 127.0.0.1:8080
check "it asks for an http(s) URL" grep -q -- '--base-url needs an http:// or https:// URL' "$tmp/err"
status "build --base-url without a scheme" 2 "$dspcc" build "$prog" -o "$tmp/qa.c" --base-url localhost
status "optimize -o without a value" 2 "$dspcc" optimize "$prog" -o
status "optimize --seed abc" 2 "$dspcc" optimize "$prog" --seed abc
check "--seed abc names the option" grep -q -- '--seed needs a whole number >= 0, got `abc`' "$tmp/err"
status "eval --limit -1" 2 "$dspcc" eval "$prog" --data train --limit -1
status "eval -j 5000" 2 "$dspcc" eval "$prog" --data train -j 5000
check "a number out of range gives the range" grep -q -- '-j needs a whole number from 1 to 1024, got `5000`' "$tmp/err"
status "eval --retries 50" 2 "$dspcc" eval "$prog" --data train --retries 50
check "--retries gives its range" grep -q -- '--retries needs a whole number from 0 to 20' "$tmp/err"
status "optimize --concurrency 0" 2 "$dspcc" optimize "$prog" --concurrency 0
check "--concurrency gives its range" grep -q -- '--concurrency needs a whole number from 1 to 1024' "$tmp/err"

# ---- outputs that cannot be written, found before the run -------------
status "build -o into a missing directory" 1 "$dspcc" build "$prog" -o "$tmp/none/qa.c"
check "it names the directory and the fix" grep -q "directory $tmp/none does not exist; create it" "$tmp/err"
check "no optimization ran first" sh -c "! grep -q 'dspcc optimize' '$tmp/err'"
status "build -MF into a missing directory" 1 \
    "$dspcc" build "$prog" --no-opt -o "$tmp/qa.c" -MD -MF "$tmp/none/qa.d"
check "nothing was written" test ! -e "$tmp/qa.c"
status "optimize -o a directory" 1 "$dspcc" optimize "$prog" -o "$tmp"
check "it says the output is a directory" grep -q "cannot write $tmp (-o): it is a directory" "$tmp/err"
status "optimize --report into a missing directory" 1 \
    "$dspcc" optimize "$prog" -o "$tmp/s.json" --report "$tmp/none/r.html"
check "no state was written" test ! -e "$tmp/s.json"

# ---- bad inputs ---------------------------------------------------------
cp "$tmp/p/data/train.jsonl" "$tmp/bad.jsonl"
sed -i '1000s/.*/{"question": "q", "answer": /' "$tmp/bad.jsonl"
status "a JSONL syntax error on line 1000" 1 "$dspcc" eval "$prog" --data "$tmp/bad.jsonl"
check "it names file:line:col" grep -q "bad.jsonl:1000:28: not valid JSON" "$tmp/err"
printf 'text,answer\nq0,a0\n' >"$tmp/wrongcol.csv"
status "a CSV whose header lacks an input column" 1 "$dspcc" eval "$prog" --data "$tmp/wrongcol.csv"
check "it names the header line, the column and the columns it has" \
    grep -q "wrongcol.csv:1: the header has no column \`question\` (input \`question\`); it has: text, answer" "$tmp/err"
status "a directory as the state" 1 "$dspcc" eval "$prog" --data train --state "$tmp"
check "it says it is a directory" grep -q "$tmp: is a directory, not a regular file; give the state file" "$tmp/err"

echo '{"name": "package", "version": "1.0"}' >"$tmp/package.json"
status "a JSON file of another program as the state" 1 "$dspcc" eval "$prog" --data train --state "$tmp/package.json"
check "it says it is no dspcc state" grep -q "package.json: not a dspcc state file (no \`dspcc_state\` key)" "$tmp/err"
printf '{\n  "dspcc_state": 1,\n  "program": "QA",,\n}\n' >"$tmp/edited.json"
status "a hand-edited state with a stray comma" 1 "$dspcc" build "$prog" --state "$tmp/edited.json" -o "$tmp/qa.c"
check "it names file:line:col" grep -q "edited.json:3:20: not valid JSON" "$tmp/err"
"$dspcc" build "$prog" --no-opt -o "$tmp/base.c" 2>"$tmp/err"
cat >"$tmp/other.json" <<'JSON'
{"dspcc_state": 1, "program": "Other", "source": "o.dsp", "source_sha256": "00", "optimizer": "mipro",
 "seed": 1, "metric": "em", "baseline_score": 0, "final_score": 0, "lm_calls": 0, "predictors": [], "trials": []}
JSON
status "the state of another module" 1 "$dspcc" eval "$prog" --data train --state "$tmp/other.json"
check "it names the state and its module" \
    grep -q "the state $tmp/other.json optimizes module \`Other\`, which $prog does not have" "$tmp/err"

status "build --program of a module that is not there" 1 "$dspcc" build "$prog" --no-opt --program Nope -o "$tmp/qa.c"
check "it lists the modules there are" grep -q "qa.dsp has no module \`Nope\` (--program); its modules: QA$" "$tmp/err"
# A metric that fits no module: check says why at its place, eval names
# the metrics that do fit (it said "qa.dsp has no metric `near`").
cp "$prog" "$tmp/p/misfit.dsp"
echo 'metric near(ex, pred) = pred.answr == ex.answer' >>"$tmp/p/misfit.dsp"
status "eval --metric of a metric that fits no module" 1 \
    "$dspcc" eval "$tmp/p/misfit.dsp" --data train --metric near
check "the warning gives the reason at its place" \
    grep -q "misfit.dsp:10:30: note: metric reads \`pred.answr\`, but module \`QA\` produces no field \`answr\`" "$tmp/err"
check "eval names the metrics that do fit" \
    grep -q "has no metric \`near\` that scores module \`QA\` (metrics that do: \`em\`)" "$tmp/err"
# A file by path laid out as a declared data set's: the hint names --data NAME=PATH.
printf '{"q": "q1", "a": "a1"}\n' >"$tmp/p/renamed.jsonl"
status "eval --data PATH whose columns are not the module's fields" 1 \
    "$dspcc" eval "$prog" --data "$tmp/p/renamed.jsonl"
check "it says to read it with a declaration's mapping" \
    grep -q "to read it with a \`data\` declaration's mapping, write \`--data NAME=$tmp/p/renamed.jsonl\`, NAME one of: train)" "$tmp/err"
rm -f "$tmp/p/misfit.dsp" "$tmp/p/renamed.jsonl" # the interrupt checks below want $tmp/p as it was
# A module whose C prefix would be libdsprt's (`Dsp` is `dsp_input`,
# `dsp_disagree_fn`...): the generated C did not compile.
sed 's/QA/DspProgram/g' "$prog" >"$tmp/p/dspmod.dsp"
status "build of a module named DspProgram" 1 "$dspcc" build "$tmp/p/dspmod.dsp" --no-opt -o "$tmp/dspmod.c"
rm -f "$tmp/p/dspmod.dsp"
check "it says the prefix is libdsprt's and to rename the module" \
    grep -q "module \`DspProgram\` would have the C prefix \`dsp_program\`, but names starting \`dsp_\` are libdsprt's" "$tmp/err"
check "and writes no C" test ! -e "$tmp/dspmod.c"
status "init of a project named dsp_bot" 2 "$dspcc" init dsp_bot --dir "$tmp/dsp_bot"
check "init says why" grep -q "names starting \`dsp_\` are libdsprt's; pick another (e.g. \`my_dsp_bot\`)" "$tmp/err"
status "build --module, eval's spelling of --program, of a module that is not there" 1 \
    "$dspcc" build "$prog" --no-opt --module Nope -o "$tmp/qa.c"
check "it is --program's error, not an unknown option" grep -q "qa.dsp has no module \`Nope\`" "$tmp/err"

# ---- `-`: standard input where it makes sense, a clear no elsewhere -----
printf 'signature A "x" {\n  in q string\n  out a: string\n}\n' >"$tmp/typo.dsp"
status "check - with an error" 1 sh -c "'$dspcc' check - <'$tmp/typo.dsp'"
check "check - names <stdin>:line:col" grep -q "^<stdin>:2:8: error: expected \`:\`" "$tmp/err"
sed 's/q string/q: string/' "$tmp/typo.dsp" >"$tmp/fixed.dsp"
status "dump-ir -" 0 sh -c "'$dspcc' dump-ir - <'$tmp/fixed.dsp'"
check "dump-ir - prints the IR" grep -q '"source":.*"<stdin>"' "$tmp/out"
status "optimize -o -" 2 "$dspcc" optimize "$prog" -o -
check "optimize -o - asks for a file name" grep -q "give its name, e.g. -o NAME.state.json" "$tmp/err"

# ---- no key, no endpoint: stop after the first example -----------------
status "eval without the API key variable" 1 "$dspcc" eval "$prog" --data train
check "it stops after the first example and says why" \
    grep -q 'the first example failed with environment: .*DSPCC_TEST_UNSET_KEY' "$tmp/err"
check "and that the other 1199 were not run" grep -q 'the other 1199 would fail the same way' "$tmp/err"
status "optimize without the API key variable" 1 "$dspcc" optimize "$prog" -o "$tmp/nokey.json" -q
check "it names the lm, where it is declared, and the variable" \
    grep -q "the lm \`main\` (qa.dsp:1) reads its key from DSPCC_TEST_UNSET_KEY; export it" "$tmp/err"
export DSPCC_TEST_UNSET_KEY=fixture-needs-no-key
status "eval against an endpoint that refuses connections" 1 \
    "$dspcc" eval "$prog" --data train --base-url http://127.0.0.1:1/v1 --retries 0
check "it stops after the first example with the network error" \
    grep -q 'the first example failed with network: .*127.0.0.1:1' "$tmp/err"
unset DSPCC_TEST_UNSET_KEY

# ---- every example failed: no score, exit 1 ----------------------------
status "eval of one example without the API key variable" 1 "$dspcc" eval "$prog" --data train --limit 1
check "the summary is still printed" grep -q '^failed    1$' "$tmp/out"
check "it says why there is no score" \
    grep -q 'every example failed, so there is no score; the first: environment: .*DSPCC_TEST_UNSET_KEY' "$tmp/err"
status "eval --json of one example without the API key variable" 1 "$dspcc" eval "$prog" --data train --limit 1 --json
check "the JSON is still printed" test "$(json_key "$tmp/out" failed)" = 1

# ---- two builds of one output at once (make -j) -------------------------
mkdir -p "$tmp/par"
i=0
while [ $i -lt 15 ]; do
    "$dspcc" build "$prog" --no-opt -o "$tmp/par/qa.c" -MD -MF "$tmp/par/qa.d" 2>>"$tmp/par.err" &
    "$dspcc" build "$prog" --no-opt -o "$tmp/par/qa.c" -MD -MF "$tmp/par/qa.d" 2>>"$tmp/par.err" &
    wait
    i=$((i + 1))
done
check "parallel builds of one output all succeed" test ! -s "$tmp/par.err"
check "and leave only qa.c, qa.h, qa.d" test "$(ls "$tmp/par" | tr '\n' ' ')" = "qa.c qa.d qa.h "

# ---- Ctrl-C during eval and optimize -----------------------------------
export DSPCC_TEST_UNSET_KEY=fixture-needs-no-key
rs_start --latency-ms 100
check "the reference server started" test -n "$port"
url="http://127.0.0.1:$port/v1"
# interrupt NAME SIG STATUS CMD...: starts CMD, sends SIG after a second,
# checks the exit status and the message. A background job of sh starts
# with SIGINT ignored (and dspcc leaves it so); env --default-signal gives
# it the SIGINT of a terminal's Ctrl-C.
interrupt() {
    name=$1 sig=$2 want=$3
    shift 3
    env --default-signal=INT "$@" >"$tmp/out" 2>"$tmp/err" &
    job=$!
    sleep 1
    kill -"$sig" "$job"
    wait "$job"
    rc=$?
    check "$name: SIG$sig exits $want" test "$rc" -eq "$want"
    check "$name: it says the cache keeps what was done" \
        grep -q 'interrupted; the LM responses so far are kept in the response cache' "$tmp/err"
}
interrupt eval INT 130 "$dspcc" eval "$prog" --data train --base-url "$url" -j 2
interrupt optimize INT 130 "$dspcc" optimize "$prog" -o "$tmp/p/qa.state.json" --base-url "$url" -j 2
interrupt "optimize (SIGTERM)" TERM 143 "$dspcc" optimize "$prog" -o "$tmp/p/qa.state.json" --base-url "$url"
check "no state or temporary file is left" test "$(ls -A "$tmp/p" | tr '\n' ' ')" = "data qa.dsp "
"$dspcc" eval "$prog" --data train --limit 20 --json --base-url "$url" -j 2 >"$tmp/resume.json" 2>"$tmp/err"
check "a run after Ctrl-C resumes from the cache" \
    awk -v h="$(json_key "$tmp/resume.json" cache_hits)" 'BEGIN { exit !(h > 0) }'

# A file saved by a Windows editor: a UTF-8 byte order mark and CRLF line
# ends. The mark is not part of the program, and a quoted line shows no \r.
printf '\357\273\277lm x = "openai/m"\r\nsignature S "x" { in a: strin out b: string }\r\n' >"$tmp/win.dsp"
"$dspcc" check "$tmp/win.dsp" >/dev/null 2>"$tmp/err"
check "a BOM and CRLF file: the first error is the real one, at 2:25" \
    sh -c "head -n 1 '$tmp/err' | grep -q 'win.dsp:2:25: error: unknown type .strin.'"
check "the quoted line ends without a stray character" \
    sh -c "sed -n 2p '$tmp/err' | grep -q 'b: string }\$'"
