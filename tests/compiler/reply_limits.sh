#!/bin/sh
# A reply larger than the client's limit (64 MiB) is fetched once: refused
# when its Content-Length announces it, or when reading passes the limit
# (a chunked reply), and never asked for again, though the lm allows
# retries. Runs `dspcc eval` against build/dsp-refserver (a TEST FIXTURE,
# not a language model) answering every request with 100 MB. Prints TAP.
set -u
: "${BUILD:=build}"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/lm_program.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
head -n 1 examples/tickets/data/dev.jsonl >"$tmp/dev.jsonl"

for kind in oversize oversize-chunked; do
    start --fail-rate 1 --fail-kinds "$kind" --oversize-bytes 100000000
    prog "$kind.dsp" "  base_url: \"$url\"
  retries: 3"
    run "$kind" 1
    check "$kind: a 100 MB reply is requested once, not retried ($reqs requests, ${ms} ms)" \
        sh -c "test $reqs -eq 1 && test $ms -lt 10000"
    check "$kind: the example fails saying the reply is over the limit" \
        sh -c "test $rc -ne 0 && grep -q 'larger than 64 MiB' '$tmp/$kind.err' && ! grep -q 'gave up after' '$tmp/$kind.err'"
done
grep -q 'its Content-Length says so' "$tmp/oversize.err"
check "an announced size is refused before the body is read" test $? -eq 0
grep -q 'found while reading' "$tmp/oversize-chunked.err"
check "an unannounced one when reading passes the limit" test $? -eq 0
