#!/bin/sh
# Resume after SIGKILL for bootstrap_fewshot, labeled_fewshot and
# random_search, against build/dsp-refserver (a TEST FIXTURE, not a language
# model), on the ticket classifier (60 train, 60 dev rows, -j 4). For each:
#  - a cold run on a fresh cache gives the reference state and its count of
#    HTTP requests;
#  - a run on another fresh cache, against the fixture slowed to 50 ms a
#    reply, is killed with SIGKILL once the fixture has answered three
#    quarters of that many requests; it leaves no state (at 20 ms the last
#    quarter took ~150 ms, which the log's 50 ms polling on a loaded
#    machine could miss: the run ended before the kill);
#  - the re-run on the killed run's cache (and fixture) completes with the same state
#    bytes, makes the same number of LM calls, answers from the cache every
#    request the killed run got a reply to but those the cache could lose
#    (docs/runtime.md, "Durability": the at most 64 replies queued since
#    its last flush, and the at most 4 in flight), and sends only the rest:
#    killed + resumed requests are at most the cold run's + 68
#    (docs/optimize.md, "Determinism and resume").
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

tickets_with 'bootstrap_fewshot()' bs.dsp
tickets_with 'labeled_fewshot(k: 8)' lf.dsp
tickets_with 'random_search(num_candidates: 2)' rs.dsp
rows="--trainset-limit 60 --valset-limit 60 -j 4"
lost=68 # replies a SIGKILL may lose: 64 queued for the cache, 4 in flight

# calls OUT: "LM_CALLS HITS HTTP" from a run's summary line.
calls() { sed -n 's/.*lm calls \([0-9]*\) (cache hits \([0-9]*\), http requests \([0-9]*\)).*/\1 \2 \3/p' "$1"; }
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
atleast() { test "$(lines "$1")" -ge "$2"; } # FILE N: FILE has N lines or more

for o in bs lf rs; do
    serve
    # shellcheck disable=SC2086
    optimize_into "$o-cold" "$o.dsp" "$o-cold.json" $rows --cache-dir "$tmp/$o-cache-cold"
    check "$o: the cold run exits 0" test $? -eq 0
    set -- $(calls "$tmp/$o-cold.out")
    full_calls=${1:-0} full_http=${3:-0}

    serve --latency-ms 50 --log "$tmp/$o-killed.log"
    # shellcheck disable=SC2086
    optimize_bg "$o-killed" "$o.dsp" "$o-killed.json" $rows --cache-dir "$tmp/$o-cache"
    kill_when atleast "$tmp/$o-killed.log" $((full_http * 3 / 4))
    killed=$(lines "$tmp/$o-killed.log")
    check "$o: the first run was killed mid-way ($killed of $full_http requests)" \
        sh -c "test $alive -eq 1 && test $killed -lt $full_http"
    check "$o: a killed run leaves no state behind" test ! -e "$tmp/$o-killed.json"

    # The same fixture: its URL is part of every cache key.
    # shellcheck disable=SC2086
    optimize_into "$o-resumed" "$o.dsp" "$o-resumed.json" $rows --cache-dir "$tmp/$o-cache"
    check "$o: the re-run after SIGKILL completes" test $? -eq 0
    set -- $(calls "$tmp/$o-resumed.out")
    calls=${1:-0} hits=${2:-0} http=${3:-0}
    echo "# $o: cold $full_calls calls ($full_http sent); killed after $killed; resumed $calls calls, $hits from the cache, $http sent"
    check "$o: the resumed run finds the same state bytes" cmp -s "$tmp/$o-cold.json" "$tmp/$o-resumed.json"
    check "$o: the resumed run makes the same LM calls" test "$calls" -eq "$full_calls"
    check "$o: it reuses the killed run's replies" test "$hits" -gt 0
    check "$o: every one the cache kept" test "$hits" -ge $((killed - lost))
    check "$o: it repeats no call but those the cache may lose" test $((killed + http)) -le $((full_http + lost))
done
