#!/bin/sh
# `dspcc optimize` with better_together(strategy: "p -> w -> p") end to end
# against build/dsp-refserver (a TEST FIXTURE: a deterministic in-context
# learner whose "fine-tuned" models recall their training examples), on 30
# training and 30 dev tickets:
#  - a run killed with SIGKILL while its fine-tuning job trains, started
#    again, resumes that job: one job is created in all;
#  - the stages run, the summary lists each candidate's valset score and the
#    one kept, the fine-tuned model beats zero-shot on dev;
#  - the JSONL holds one chat example (system, user, assistant) per line;
#  - the state records the fine-tuned model; `dspcc eval --state` runs on it
#    and reproduces the score, `dspcc build --state` bakes it into the C;
#  - a warm re-run makes no HTTP request (no job either) and writes the same
#    state;
#  - a job the provider fails stops the run with the provider's message;
#  - a job is keyed by its endpoint: the same data on another fixture
#    starts a job there; the jobs file names provider and base URL, never
#    the key;
#  - a recorded job the provider does not know (the fixture restarted on
#    its port) is forgotten with a clear error, and the next run starts a
#    new one;
#  - two runs on the same state at once create one job between them: the
#    second waits for the lock, then polls the first one's job;
#  - a garbled jobs file is an error and is left as it is;
#  - an lm without a fine-tuning API (Anthropic) fails the w stage at once,
#    naming the JSONL it wrote for fine-tuning elsewhere;
#  - a job that outlasts finetune_wait_minutes stops the run with a clear
#    error and stays recorded: the next run waits for the same job.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

tickets_with 'better_together(strategy: "p -> w -> p", prompt_optimizer: bootstrap_fewshot, max_bootstrapped_demos: 4, max_labeled_demos: 4, n_epochs: 2)' bt.dsp

# Jobs train for 3 s, long enough to interrupt one.
serve --ft-delay-ms 3000 --log "$tmp/requests.jsonl"
check "the reference server (test fixture) started" test -n "$port"

run() { # name limit extra...: optimize into $tmp/bt.state.json, output in $tmp/name.{out,err}
    name=$1 limit=$2
    shift 2
    optimize_into "$name" bt.dsp bt.state.json --trainset-limit "$limit" --valset-limit 30 -j 4 \
        --cache-dir "$tmp/cache" "$@"
}
jobs_created() { # [log]: the jobs the fixture created, from its request log
    grep -c '"method":"POST","path":"/v1/fine_tuning/jobs"' "${1:-$tmp/requests.jsonl}"
}
jobs_recorded() { grep -c '"job":' "$tmp/bt.finetune-jobs.json"; }

# 1. Killed while the job trains: the job is recorded before the first poll.
optimize_bg killed bt.dsp bt.state.json --trainset-limit 30 --valset-limit 30 -j 4 --cache-dir "$tmp/cache"
kill_when test -s "$tmp/bt.finetune-jobs.json"
check "the job was recorded before the run was killed" grep -q '"job":' "$tmp/bt.finetune-jobs.json"
check "the killed run wrote no state" test ! -e "$tmp/bt.state.json"
job=$(sed -n 's/.*"job":[[:space:]]*"\([^"]*\)".*/\1/p' "$tmp/bt.finetune-jobs.json")

# 2. Started again: the same job is polled, not a second one created.
run resumed 30
check "the resumed run exits 0" test $? -eq 0
[ -s "$tmp/bt.state.json" ] || tail -n 5 "$tmp/resumed.err" | sed 's/^/# /'
check "the resumed run polls the recorded job" grep -q "resuming fine-tuning job $job" "$tmp/resumed.err"
check "one fine-tuning job was created in all" test "$(jobs_created)" -eq 1
check "polling shows the job's progress to success" \
    sh -c "grep -q 'fine-tuning job $job: [a-z_]* \[lm calls' '$tmp/resumed.err' && grep -q 'fine-tuning job $job: succeeded, model ft:' '$tmp/resumed.err'"
check "the stages ran in order" sh -c "grep -n 'stage [123]: [pw]' '$tmp/resumed.err' | cut -d: -f3 | tr -d ' ' |
    tr '\n' ' ' | grep -qx 'stage1 stage2 stage3 '"
sed -n '/^  /p' "$tmp/resumed.out" | sed 's/^/# /'
# (the per-trial cost table's rows, "  N  SCORE  TOKENS ...", the per-class
# table's rows and the teacher and student rows of the cost case are not
# candidates)
check "the summary lists the five candidates' scores" \
    test "$(sed '/^per class/,/^$/d' "$tmp/resumed.out" | grep '^  .* [01]\.[0-9]\{4\}' |
        grep -v '^  \(teacher\|student\) lm ' |
        grep -vc '^  [0-9][0-9]* *[01]\.[0-9]\{4\} ')" -eq 5
check "the summary marks the candidate kept" test "$(grep -c '(kept)$' "$tmp/resumed.out")" -eq 1
base=$(json_key "$tmp/bt.state.json" baseline_score)
final=$(json_key "$tmp/bt.state.json" final_score)
ft_zero=$(sed -n 's/^  stage 2 (w): fine-tuned model, zero-shot *\([0-9.]*\).*/\1/p' "$tmp/resumed.out")
echo "# better_together: zero-shot $base, fine-tuned zero-shot $ft_zero, kept $final"
check "the chosen candidate's valset score is printed" grep -q "baseline .* -> final $final" "$tmp/resumed.out"
check "the fine-tuned model alone beats zero-shot by 0.15 on dev" ge "$ft_zero" "$base" 0.15
check "the final score is the best candidate's" ge "$final" "$ft_zero" 0

# 3. The data: one chat example a line, as many as the summary says.
n=$(sed -n 's/.* on \([0-9]*\) examples: .*/\1/p' "$tmp/resumed.out")
check "the summary names the JSONL beside the state" grep -q "bt.finetune.jsonl" "$tmp/resumed.out"
check "the JSONL has one line per example" test "$(wc -l <"$tmp/bt.finetune.jsonl")" -eq "${n:-0}"
check "every line is system, user, assistant" test "$(grep -c '^{"messages":\[{"role":"system","content":"Your input fields are:.*},{"role":"user","content":"\[\[ ## ticket_text ## \]\].*},{"role":"assistant","content":"\[\[ ## reasoning ## \]\].*\[\[ ## completed ## \]\]"}\]}$' "$tmp/bt.finetune.jsonl")" -eq "${n:-0}"

# 4. The state has the model; eval and build use it.
model=$(sed -n 's/.*"model": "\(ft:[^"]*\)".*/\1/p' "$tmp/bt.state.json" | head -n 1)
check "the state records the fine-tuned model" test -n "$model"
check "the state's model is the job's" grep -q "\"fine_tuned_model\":[[:space:]]*\"$model\"" "$tmp/bt.finetune-jobs.json"
# A cold cache, so every call reaches the fixture and its log shows the model.
ft_calls() { grep -c "\"model\":\"$model\"" "$tmp/requests.jsonl"; }
before=$(ft_calls)
ev=$(eval_score eval bt.dsp bt.state.json 30 --cache-dir "$tmp/cache_eval")
check "dspcc eval --state reproduces the final score" same_score "$ev" "$final"
check "dspcc eval --state ran on the fine-tuned model" test "$(ft_calls)" -eq $((before + 30))
"$dspcc" build "$tmp/bt.dsp" --state "$tmp/bt.state.json" -o "$tmp/bt.c" >/dev/null 2>"$tmp/build.err"
check "dspcc build --state bakes the fine-tuned model" grep -q "\"openai/$model\"" "$tmp/bt.c"

# 5. Warm: the recorded model, the cache, not one request.
cp "$tmp/bt.state.json" "$tmp/first.json"
run warm 30 --report "$tmp/bt.html"
check "a warm re-run exits 0" test $? -eq 0
check "the report names the fine-tuned model and the stages" \
    sh -c "grep -q 'fine-tuned model <code>$model</code>' '$tmp/bt.html' && grep -q 'stage 3 (p)' '$tmp/bt.html'"
check "a warm re-run makes no HTTP request" grep -q 'http requests 0)' "$tmp/warm.out"
check "a warm re-run takes the recorded model" grep -q "from an earlier run" "$tmp/warm.out"
check "a warm re-run writes the same state" cmp -s "$tmp/first.json" "$tmp/bt.state.json"
check "still one fine-tuning job" test "$(jobs_created)" -eq 1
# The base URL is keyed without trailing slashes: the same endpoint.
run slash 30 --base-url "$url/"
check "a trailing slash on the base URL finds the same recorded model" \
    sh -c "test $? -eq 0 && grep -q 'from an earlier run' '$tmp/slash.out'"
check "and starts no job" test "$(jobs_created)" -eq 1

# 6. A job the provider fails (the fixture wants 10 examples, as OpenAI
# does): the run stops with its message and forgets the job.
rm -f "$tmp/bt.state.json"
run failed 6
check "a failed job fails the run" test $? -eq 1
check "the provider's message is shown" grep -q "fine-tuning job .* failed: .*at least 10 examples" "$tmp/failed.err"
check "the failed job is forgotten (one job left in the file)" test "$(grep -c '"job":' "$tmp/bt.finetune-jobs.json")" -eq 1
check "no state after a failed job" test ! -e "$tmp/bt.state.json"

# 7. A job is keyed by its endpoint as well as its data. A run killed
# while its second job trains leaves that job recorded for this fixture.
optimize_bg lost bt.dsp bt.state.json --trainset-limit 20 --valset-limit 30 -j 4 --cache-dir "$tmp/cache"
two_jobs() { test "$(jobs_recorded)" -ge 2; }
kill_when two_jobs
check "a second job was recorded before the kill" test "$(jobs_recorded)" -eq 2
first_port=$port
first_url=$url
# The same data on another fixture (another port, another seed, so other
# ids): a job of its own there, not a poll of the first fixture's job.
serve --seed 2 --log "$tmp/requests2.jsonl"
run moved 20
check "the same data on another endpoint succeeds" test $? -eq 0
check "it does not poll the job recorded for the first endpoint" not grep -q 'resuming fine-tuning job' "$tmp/moved.err"
check "it starts a job of its own there" test "$(jobs_created "$tmp/requests2.jsonl")" -eq 1
check "the jobs file names each job's provider and base URL" \
    test "$(grep -c "\"base_url\":[[:space:]]*\"$first_url\"" "$tmp/bt.finetune-jobs.json")" -eq 2 -a \
    "$(grep -c "\"base_url\":[[:space:]]*\"$url\"" "$tmp/bt.finetune-jobs.json")" -eq 1 -a \
    "$(grep -c '"provider":[[:space:]]*"openai"' "$tmp/bt.finetune-jobs.json")" -eq 3
check "and never the API key" not grep -q "$OPENAI_API_KEY" "$tmp/bt.finetune-jobs.json"

# A recorded job the provider does not know: the first fixture restarted
# on its port without --state-dir (another seed, so other ids) forgot it.
serve --port "$first_port" --seed 3 --log "$tmp/requests3.jsonl"
check "the first fixture restarted on its port" test "$url" = "$first_url"
run lost2 20
check "an unknown recorded job fails the run" test $? -eq 1
check "the error says the job is unknown and forgotten" grep -q "is unknown to the provider; it is forgotten" "$tmp/lost2.err"
check "the unknown job is dropped from the file" test "$(jobs_recorded)" -eq 2
run lost3 20
check "the next run starts a new job and succeeds" test $? -eq 0 -a "$(jobs_created "$tmp/requests3.jsonl")" -eq 1

# 8. Two runs on the same data at once (make -j): creating a job is
# exclusive, so the second waits for the first to record its job, then
# polls it. An flock(1) on the jobs file's lock lines both runs up at the
# w stage, so that neither can be done before the other gets there.
jobs_listed() { # the jobs the fixture lists (GET /v1/fine_tuning/jobs)
    curl -s -H "Authorization: Bearer $OPENAI_API_KEY" "$url/fine_tuning/jobs" | grep -o '"object":"fine_tuning.job"' | wc -l
}
waiting() { grep -q 'waiting for another dspcc that holds .*/cc.finetune-jobs.json.lock' "$tmp/$1.err"; }
both_waiting() { waiting cc1 && waiting cc2; }
before=$(jobs_created "$tmp/requests3.jsonl")
listed_before=$(jobs_listed)
flock "$tmp/cc.finetune-jobs.json.lock" sh -c ': >"$1/held"; i=0
    while [ ! -e "$1/release" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done' _ "$tmp" &
holder=$!
i=0
while [ ! -e "$tmp/held" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
optimize_bg cc1 bt.dsp cc.state.json --trainset-limit 25 --valset-limit 30 -j 4 --cache-dir "$tmp/cache_cc"
cc1=$opt_pid
optimize_bg cc2 bt.dsp cc.state.json --trainset-limit 25 --valset-limit 30 -j 4 --cache-dir "$tmp/cache_cc"
one_gone() { ! kill -0 "$cc1" 2>/dev/null || ! kill -0 "$opt_pid" 2>/dev/null; }
i=0
while ! both_waiting && ! one_gone && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
check "both runs wait while another process holds the jobs lock" both_waiting
: >"$tmp/release"
wait "$holder"
wait "$cc1"
cc1_rc=$?
wait "$opt_pid"
cc2_rc=$?
opt_pid=
check "two runs on the same data at once both succeed" test "$cc1_rc" -eq 0 -a "$cc2_rc" -eq 0
check "they created one fine-tuning job between them" test $(($(jobs_created "$tmp/requests3.jsonl") - before)) -eq 1
check "the fixture lists one more job" test $(($(jobs_listed) - listed_before)) -eq 1
check "one of them polled the other's job" \
    test "$(grep -l 'resuming fine-tuning job' "$tmp/cc1.err" "$tmp/cc2.err" | wc -l)" -eq 1
check "the jobs file records that one job, with its model" \
    test "$(grep -c '"job":' "$tmp/cc.finetune-jobs.json")" -eq 1 -a \
    "$(grep -c '"fine_tuned_model":[[:space:]]*"ft:' "$tmp/cc.finetune-jobs.json")" -eq 1
# file_write.h's temporaries are .NAME.XXXXXX beside the file.
no_tmp() { for f in "$tmp"/.cc.finetune-jobs.json.* "$tmp"/.cc.finetune.jsonl.*; do test ! -e "$f" || return 1; done; }
check "no temporary jobs file is left behind" no_tmp

# 9. A jobs file that is not one is an error that says what to do, and is
# left as it is (it may record jobs that cost money).
echo '[1, 2]' >"$tmp/bt.finetune-jobs.json"
run garbled 30
check "a garbled jobs file fails the run" test $? -eq 1
check "the error names the file and what to do" \
    grep -q "bt.finetune-jobs.json is not a dspcc fine-tuning jobs file.*repair it, or move it away" "$tmp/garbled.err"
check "the garbled file is left as it was" test "$(cat "$tmp/bt.finetune-jobs.json")" = "[1, 2]"

# 10. No fine-tuning API: the error says so and names the data written.
sed 's#"openai/gpt-4o-mini"#"anthropic/claude-3-5-haiku-latest"#' "$tmp/bt.dsp" >"$tmp/anth.dsp"
"$dspcc" optimize "$tmp/anth.dsp" -o "$tmp/anth.state.json" --trainset-limit 20 --valset-limit 10 -j 4 \
    --base-url "$url" --cache-dir "$tmp/cache" >"$tmp/anth.out" 2>"$tmp/anth.err"
check "an lm without fine-tuning fails the run" test $? -eq 1
check "the error names the provider and the JSONL written" \
    grep -q "fine-tun.*Anthropic.*(the training data is in $tmp/anth.finetune.jsonl)" "$tmp/anth.err"
check "the JSONL is there" test -s "$tmp/anth.finetune.jsonl"

# 11. A job that takes longer than finetune_wait_minutes: the run stops
# instead of hanging a build for ever, and the job stays recorded, so the
# next run (with more patience) waits for that same job.
serve --ft-delay-ms 2500 --log "$tmp/requests4.jsonl"
tickets_with 'better_together(strategy: "p -> w", prompt_optimizer: bootstrap_fewshot, max_bootstrapped_demos: 2, max_labeled_demos: 2, finetune_wait_minutes: 0.01)' wait.dsp
optimize_into waited wait.dsp wait.state.json --trainset-limit 30 --valset-limit 10 -j 4 --cache-dir "$tmp/cache"
check "a job that outlasts finetune_wait_minutes fails the run" test $? -eq 1
check "the error says the job goes on and how to resume" \
    grep -q "fine-tuning job ftjob-[0-9a-f]*: still [a-z_]* after [0-9]* s (finetune_wait_minutes: 0.01); it goes on at the provider (run again to resume it)" "$tmp/waited.err"
check "the job stays recorded" grep -q '"job":' "$tmp/wait.finetune-jobs.json"
wjob=$(sed -n 's/.*"job":[[:space:]]*"\([^"]*\)".*/\1/p' "$tmp/wait.finetune-jobs.json")
sed -i 's/finetune_wait_minutes: 0.01/finetune_wait_minutes: 10/' "$tmp/wait.dsp"
optimize_into waited2 wait.dsp wait.state.json --trainset-limit 30 --valset-limit 10 -j 4 --cache-dir "$tmp/cache"
check "the next run succeeds" test $? -eq 0
check "it waits for the recorded job" grep -q "resuming fine-tuning job $wjob" "$tmp/waited2.err"
check "no second job was created" test "$(jobs_created "$tmp/requests4.jsonl")" -eq 1
