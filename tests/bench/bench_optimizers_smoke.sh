#!/bin/sh
# make bench-optimizers, tiny (the tickets and extract examples,
# labeled_fewshot and random_search, seed 1, 40 training, 20 dev and 30
# held-out rows), against build/dsp-refserver (a TEST FIXTURE): the bench
# runs, and on each run the scores optimize prints are what
# `dspcc eval --no-cache` prints (a:ok) and the no-regression guard held
# (b:ok). Held-out figures are not asserted (they are make bench's).
set -u
: "${BUILD:=build}"
out=$(BENCH_OPT_EXAMPLES="tickets extract" BENCH_OPT_OPTIMIZERS="labeled_fewshot random_search" BENCH_OPT_SEEDS=1 \
    BENCH_OPT_TRAIN=40 BENCH_OPT_VAL=20 BENCH_OPT_HELD=30 BUILD="$BUILD" sh tests/bench/bench_optimizers.sh 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
if [ $rc -eq 0 ]; then echo "ok - bench-optimizers runs"; else echo "not ok - bench-optimizers runs (exit $rc)"; fi
runs=$(echo "$out" | grep -Ec '^(tickets|extract) +(labeled_fewshot|random_search) +1 +[0-9]+ +20 +[0-9]+ \| ')
checked=$(echo "$out" | grep -Ec '\| a:ok b:ok$')
if [ "$runs" -eq 4 ]; then echo "ok - a line per example, optimizer and seed"; else
    echo "not ok - a line per example, optimizer and seed ($runs of 4)"; fi
if [ "$checked" -eq 4 ]; then echo "ok - every run's printed scores match eval --no-cache, and the guard held"; else
    echo "not ok - every run's printed scores match eval --no-cache, and the guard held ($checked of 4)"; fi
if echo "$out" | grep -Eq '^  random_search +runs +2 .*score DIFF 0  guard failures 0$'; then
    echo "ok - the summary counts the runs per optimizer"
else
    echo "not ok - the summary counts the runs per optimizer"
fi
