#!/bin/sh
# examples/tickets/bettertogether.sh, the seed's workflow against
# build/dsp-refserver (a TEST FIXTURE) with tests/refserver/tiny_trainer.sh
# (a FIXTURE trainer), on small limits: prompts optimized, a LoRA student
# trained, served and prompted, the cost case in the summary, held-out rows
# scored, ticket_cli built against the student with its adapter verified,
# and shadow mode beside the teacher. Prints TAP.
set -u
: "${BUILD:=build}"
. tests/support/tap.sh
OUT=$BUILD/bettertogether
BUILD=$BUILD TRAIN=30 VAL=30 HELDOUT=30 sh examples/tickets/bettertogether.sh >"$BUILD/bettertogether.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 15 "$BUILD/bettertogether.log" | sed 's/^/# /'
check "examples/tickets/bettertogether.sh exits 0" test $rc -eq 0
log=$BUILD/bettertogether.log
sed -n '/^teacher and student/,/student\/teacher/p;/^held-out/p;/shadow: agreed/p' "$log" | sed 's/^/# /'
check "the student's adapter was trained by the tiny trainer" grep -q '^trainer| tiny_trainer (a test fixture)' "$log"
check "the summary puts teacher and student side by side" \
    sh -c "grep -q '^  teacher lm teacher .*cost/1k calls [\$][0-9.]*\$' '$log' && grep -q '^  student lm student .*cost/1k calls [\$][0-9.]*\$' '$log'"
check "... with the cost ratio" grep -q '^  student/teacher: score [0-9.]*x, tokens [0-9.]*x, cost [0-9.]*x' "$log"
# The cost per 1,000 calls is tokens per call times the lms' prices.
check 'the teacher'"'"'s cost is its tokens at $0.15/$0.60 per million' awk '
    /^  teacher lm teacher/ { for (i = 1; i <= NF; i++) { if ($i == "tokens/call") { tin = $(i+1); tout = $(i+4) } if ($i == "calls") { c = $(i+1); sub(/^[$]/, "", c) } }
                              want = 1000 * (tin * 0.15 + tout * 0.6) / 1e6; d = c - want; ok = d < 0.0001 && d > -0.0001 }
    END { exit !ok }' "$log"
check "the report has the teacher and student table" grep -q '<h2>Teacher and student</h2>' "$OUT/bt.report.html"
check "the shipped program runs on the student with its adapter" \
    sh -c "grep -q '\"lm\": \"student\"' '$OUT/bt.state.json' && grep -q '\"adapter\": { \"name\": \"dspcc-' '$OUT/bt.state.json'"
check "held-out rows are scored for teacher and shipped program" grep -q '^held-out accuracy: teacher as written [0-9.]*, shipped (student with its adapter and prompt) [0-9.]*$' "$log"
check "ticket_cli on the student verified its adapter and classified tickets" \
    test "$(sed -n '/== 3\./,/== 4\./p' "$log" | grep -c '^\(billing\|account\|orders\|general\) ')" -eq 5
check "shadow mode printed the agreement rate" grep -q 'ticket_cli: shadow: agreed on [0-9]* of 12 tickets' "$log"
check "shadow mode answered every ticket with the teacher" test "$(grep -c . "$OUT/shadow.out")" -eq 12
