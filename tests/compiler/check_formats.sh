#!/bin/sh
# dspcc check --diagnostics-format=json|sarif and --color: the JSON layout
# GCC uses, a SARIF 2.1.0 log with every property its schema requires
# (version, runs, tool.driver.name, results' message.text, a valid level,
# physicalLocation with artifactLocation.uri and region.startLine >= 1), and
# colour only when asked or on a terminal without NO_COLOR. Needs jq.
# Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! command -v jq >/dev/null 2>&1; then
    echo "ok - # SKIP jq is not installed (scripts/setup.sh installs it)"
    exit 0
fi
bad=tests/bad/type_unknown.dsp
good=examples/tickets/tickets.dsp
esc=$(printf '\033')

"$dspcc" check --diagnostics-format=json "$bad" "$good" >"$tmp/j" 2>"$tmp/j.err"
check "json: exit 1 on errors" test $? -eq 1
check "json: nothing on stderr" test ! -s "$tmp/j.err"
check "json: one error with kind, message and a caret location" test "$(jq -c '.[0] | [.kind, (.message | length > 0),
    .locations[0].caret.file, .locations[0].caret.line, .locations[0].caret.column]' "$tmp/j")" = \
    "[\"error\",true,\"$bad\",3,9]"
check "json: the clean file adds nothing" test "$(jq length "$tmp/j")" = 1

"$dspcc" check --diagnostics-format sarif "$bad" "$good" >"$tmp/s" 2>/dev/null
check "sarif: exit 1 on errors" test $? -eq 1
check "sarif: version 2.1.0 and a schema" test "$(jq -r '.version + " " + (."$schema" | tostring)' "$tmp/s")" = \
    "2.1.0 https://json.schemastore.org/sarif-2.1.0.json"
check "sarif: one run whose tool.driver is named" test "$(jq -r '.runs | length, .[0].tool.driver.name' "$tmp/s" | tr '\n' ' ')" = \
    "1 dspcc "
check "sarif: every result has message.text and a valid level" test "$(jq '[.runs[0].results[] |
    select((.message.text | type) == "string" and (.level | IN("none", "note", "warning", "error")))] | length' "$tmp/s")" = \
    "$(jq '.runs[0].results | length' "$tmp/s")"
check "sarif: the result's location is file, line and column" test "$(jq -c '.runs[0].results[0].locations[0].physicalLocation |
    [.artifactLocation.uri, .region.startLine, .region.startColumn]' "$tmp/s")" = "[\"$bad\",3,9]"
"$dspcc" check --diagnostics-format=sarif "$good" >"$tmp/s2"
rc=$?
check "sarif: a clean file is exit 0 with no results" sh -c "test $rc -eq 0 && test \"\$(jq '.runs[0].results | length' '$tmp/s2')\" = 0"
# A warning (an lm nobody uses: the first is the one the module runs on)
# keeps its level; --werror makes it fail.
printf 'lm first = "openai/m"\nlm a = "openai/m" { api_key_env: "K" }\nsignature S { in x: string out y: string }\nmodule M(x: string) -> (y: string) {\n  r = predict(S)(x: x)\n  return r\n}\n' >"$tmp/w.dsp"
"$dspcc" check --diagnostics-format=sarif "$tmp/w.dsp" >"$tmp/s3" 2>/dev/null
rc=$?
check "sarif: a warning is level warning, exit 0" sh -c "test $rc -eq 0 && test \"\$(jq -r '[.runs[0].results[].level] | unique | join(\",\")' '$tmp/s3')\" = warning"
"$dspcc" check --werror --diagnostics-format=sarif "$tmp/w.dsp" >/dev/null 2>&1
check "sarif: --werror still fails on it" test $? -eq 1

"$dspcc" check --diagnostics-format=xml "$bad" >/dev/null 2>"$tmp/e"
check "an unknown format is a usage error naming the formats" sh -c "test $? -eq 2 && grep -q 'text, json or sarif' '$tmp/e'"

# Colour.
"$dspcc" check --color=always "$bad" 2>"$tmp/c1"
check "--color=always colours the severity" grep -q "${esc}\[01;31merror:" "$tmp/c1"
NO_COLOR=1 "$dspcc" check --color=always "$bad" 2>"$tmp/c1b"
check "--color=always wins over NO_COLOR" grep -q "$esc" "$tmp/c1b"
"$dspcc" check --color=never "$bad" 2>"$tmp/c2"
check "--color=never has no escapes" sh -c "! grep -q '$esc' '$tmp/c2'"
"$dspcc" check "$bad" 2>"$tmp/c3"
check "auto: no colour into a pipe" sh -c "! grep -q '$esc' '$tmp/c3'"
check "uncoloured text is the plain diagnostic" grep -q "^$bad:3:9: error: unknown type" "$tmp/c3"
if command -v script >/dev/null 2>&1; then
    script -qec "'$dspcc' check '$bad'" /dev/null >"$tmp/c4" 2>&1
    check "auto: colour on a terminal" grep -q "$esc" "$tmp/c4"
    NO_COLOR=1 script -qec "'$dspcc' check '$bad'" /dev/null >"$tmp/c5" 2>&1
    check "auto: NO_COLOR turns it off on a terminal" sh -c "! grep -q '$esc' '$tmp/c5' && grep -q 'error:' '$tmp/c5'"
else
    echo "ok - # SKIP script(1) is not installed: no terminal to test --color=auto on"
fi
"$dspcc" check --color=sometimes "$bad" >/dev/null 2>"$tmp/e2"
check "--color takes auto, always or never" sh -c "test $? -eq 2 && grep -q 'auto, always or never' '$tmp/e2'"
