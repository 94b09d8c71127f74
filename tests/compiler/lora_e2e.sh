#!/bin/sh
# better_together with a local LoRA trainer, end to end against
# build/dsp-refserver (a TEST FIXTURE) and tests/refserver/tiny_trainer.sh
# (a FIXTURE trainer that writes the training examples into the adapter,
# which the fixture recalls), on 30 training and 30 dev tickets:
#  - the student lm's trainer runs with live output; the adapter is kept
#    under NAME.adapters/KEY and recorded in the state (name, path relative
#    to the .dsp, SHA-256 over its files, which a shell recomputation
#    agrees with); the student runs with it and beats zero-shot;
#  - vLLM serving: the adapter is loaded with POST /v1/load_lora_adapter and
#    requests name it as the model;
#  - a re-run on the same data reuses the adapter without training; a
#    changed adapter is trained again;
#  - a trainer that exits non-zero, writes nothing, or crashes half way is
#    a clear error quoting its last lines, and leaves no adapter;
#  - a template naming an unknown placeholder is refused before it runs;
#  - llama.cpp serving: requests carry "lora": [{"id": 0, "scale": 1}];
#    with the adapter not served yet the run fails saying so, and once the
#    fixture serves it (--lora NAME=PATH) the re-run goes on without
#    training again; dspcc eval --state sends the same selection.
# Prints TAP.
set -u
. tests/support/optimize_e2e.sh

cp tests/refserver/tiny_trainer.sh "$tmp/"
# student_dsp FILE SERVING: the ticket classifier, better_together with the
# student lm trained by the tiny trainer and served as SERVING says.
student_dsp() {
    tickets_with 'better_together(strategy: "p -> w", prompt_optimizer: bootstrap_fewshot, max_bootstrapped_demos: 4, max_labeled_demos: 4, n_epochs: 2)' "$1.tmp"
    sed -e "s|^optimize TicketClassifier|lm student = \"vllm/llama-3.1-8b\" {\\
  base_url: \"http://127.0.0.1:9/v1\"\\
  temperature: 0.0\\
  trainer: \"sh tiny_trainer.sh --data {data} --base-model '{base_model}' --output {output} --epochs {epochs}\"\\
  $2\\
}\\
\\
optimize TicketClassifier|" -e 's|^  lm: teacher$|  lm: teacher\
  student: student|' "$tmp/$1.tmp" >"$tmp/$1"
}
student_dsp lora.dsp 'lora_serving: "vllm"'

serve --log "$tmp/requests.jsonl"
check "the reference server (test fixture) started" test -n "$port"

run() { # name dsp state extra...
    r_name=$1 r_dsp=$2 r_state=$3
    shift 3
    optimize_into "$r_name" "$r_dsp" "$r_state" --trainset-limit 30 --valset-limit 30 -j 4 --cache-dir "$tmp/cache" "$@"
}

# The SHA-256 of an adapter directory as dsp/lora.h defines it, in shell.
dir_sha() (
    cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r f; do
        printf '%s\0%s\0' "$f" "$(wc -c <"$f" | tr -d ' ')"
        cat "$f"
    done | sha256sum | cut -d' ' -f1
)
state_str() { sed -n "s/.*\"$2\": \"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1; }

# 1. Trained, loaded, served, recorded.
run first lora.dsp lora.state.json
check "better_together with a local trainer exits 0" test $? -eq 0
check "the trainer's output is shown live" grep -q '^trainer| tiny_trainer (a test fixture): [0-9]* examples, base model llama-3.1-8b, 2 epochs' "$tmp/first.err"
path=$(sed -n 's/.*"path": "\([^"]*\)".*/\1/p' "$tmp/lora.state.json")
sha=$(sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$tmp/lora.state.json")
adname=$(sed -n 's/.*"adapter": { "name": "\([^"]*\)".*/\1/p' "$tmp/lora.state.json")
echo "# adapter $adname at $path, sha256 $sha"
check "the state records the adapter relative to the .dsp" sh -c "case '$path' in lora.adapters/????????????????) test -d '$tmp/$path' ;; *) false ;; esac"
check "the adapter holds what the trainer wrote" test -s "$tmp/$path/adapter_memory.jsonl" -a -s "$tmp/$path/adapter_config.json"
check "the recorded SHA-256 is the one its files give" test "$sha" = "$(dir_sha "$tmp/$path")"
check "the serving name carries the hash" test "$adname" = "dspcc-$(echo "$sha" | cut -c1-16)"
check "the state runs the predictor on the student lm" grep -q '"lm": "student"' "$tmp/lora.state.json"
check "vLLM serving: the adapter was loaded through /v1/load_lora_adapter" \
    grep -q '"method":"POST","path":"/v1/load_lora_adapter","status":200' "$tmp/requests.jsonl"
check "vLLM serving: requests name the adapter as the model" grep -q "\"model\":\"$adname\"" "$tmp/requests.jsonl"
base=$(json_key "$tmp/lora.state.json" baseline_score)
ft=$(sed -n 's/^  stage 2 (w): fine-tuned model, zero-shot *\([0-9.]*\).*/\1/p' "$tmp/first.out")
echo "# zero-shot $base, student with its adapter $ft (fixture figures)"
check "the student with its adapter beats zero-shot on dev" ge "$ft" "$base" 0.1
check "the summary names the adapter" grep -q "LoRA adapter $path (served as $adname" "$tmp/first.out"
check "the summary puts teacher and student side by side" \
    sh -c "grep -q '^teacher and student on dev (30 examples' '$tmp/first.out' && grep -q '^  student lm student .*score 0.6000' '$tmp/first.out'"
check "... and says which lm lacks prices" grep -q 'cost unknown (give lm teacher input_usd_per_mtok and output_usd_per_mtok)' "$tmp/first.out"

# 2. The same data again: nothing trained.
run again lora.dsp lora.state.json
check "a re-run exits 0" test $? -eq 0
check "a re-run does not train again" not grep -q '^trainer|' "$tmp/again.err"
check "a re-run says it reuses the adapter" grep -q "trained earlier on this data" "$tmp/again.err"
check "a re-run records the same adapter" test "$(state_str "$tmp/lora.state.json" sha256)" = "$sha"

# 3. A changed adapter is trained again.
echo '{"messages":[]}' >>"$tmp/$path/adapter_memory.jsonl"
run changed lora.dsp lora.state.json
check "a changed adapter: the run exits 0" test $? -eq 0
check "a changed adapter is reported and trained again" \
    sh -c "grep -q 'has changed since it was trained' '$tmp/changed.err' && grep -q '^trainer| tiny_trainer: wrote' '$tmp/changed.err'"
check "the retrained adapter has the original hash again" test "$(dir_sha "$tmp/$path")" = "$sha"

# 3b. The generated C: the teacher as written (primary) with the student as
# its shadow, ticket_cli built against it; its adapter verified, and shadow
# mode over dev tickets.
mkdir -p "$tmp/c"
"$dspcc" build "$tmp/lora.dsp" --no-opt --shadow-state "$tmp/lora.state.json" -o "$tmp/c/tickets.c" 2>"$tmp/build.err"
check "dspcc build --shadow-state writes the shadow variant" grep -q 'ticket_classifier_shadow_variant\[' "$tmp/c/tickets.c"
check "the shadow models table carries the adapter's name, path and SHA-256" \
    grep -q "\"TicketClassifier.r\", \"vllm/$adname\", \"$path\", \"$sha\", \"$adname\"" "$tmp/c/tickets.c"
. tests/support/rt_link.sh
# shellcheck disable=SC2086
cc -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -O1 $RT_SAN -Iruntime/include -I"$tmp/c" \
    -o "$tmp/c/ticket_cli" examples/tickets/ticket_cli.c "$tmp/c/tickets.c" "$BUILD/libdsprt.a" $RT_LIBS 2>"$tmp/cc.err"
check "ticket_cli builds against the teacher with the student as shadow" test -x "$tmp/c/ticket_cli"
head -n 20 examples/tickets/data/dev.jsonl | sed 's/^{"text": *"\([^"]*\)".*/\1/' >"$tmp/tickets.txt"
cli() { # ARGS...: ticket_cli on the 20 tickets against the fixture; stdout/stderr in $tmp/cli.{out,err}
    DSPCC_BASE_URL="$url" DSPCC_CACHE_DIR="$tmp/cache-cli" "$tmp/c/ticket_cli" "$@" <"$tmp/tickets.txt" \
        >"$tmp/cli.out" 2>"$tmp/cli.err"
}
cli --verify-adapters "$tmp" --shadow
check "shadow mode exits 0" test $? -eq 0
check "shadow mode prints the primary's 20 answers" test "$(grep -c . "$tmp/cli.out")" -eq 20
agreed=$(sed -n 's/.*shadow: agreed on \([0-9]*\) of \([0-9]*\) tickets.*/\1/p' "$tmp/cli.err")
compared=$(sed -n 's/.*shadow: agreed on \([0-9]*\) of \([0-9]*\) tickets.*/\2/p' "$tmp/cli.err")
disagreed=$(grep -c 'shadow: line [0-9]*: primary [a-z]*, shadow [a-z]*$' "$tmp/cli.err")
echo "# shadow mode: the student agreed with the teacher on $agreed of $compared tickets (fixture figures)"
check "shadow mode prints the agreement rate" test -n "$agreed" -a "$compared" = 20
check "each disagreement is reported with both outputs ($disagreed)" test "$disagreed" -eq $((compared - agreed)) -a "$disagreed" -gt 0
check "the shadow's calls name the adapter" grep -q "\"model\":\"$adname\"" "$tmp/requests.jsonl"
cp -r "$tmp/$path" "$tmp/saved-adapter"
echo tampered >>"$tmp/$path/adapter_config.json"
cli --verify-adapters "$tmp"
check "a changed adapter fails --verify-adapters" test $? -ne 0
check "... naming the file and both hashes" sh -c "grep -q 'LoRA adapter .*$path has changed: its SHA-256 is [0-9a-f]*, the program was built with $sha' '$tmp/cli.err'"
rm -rf "$tmp/${path:?}"
cli --verify-adapters "$tmp"
check "a missing adapter fails --verify-adapters, naming it" sh -c "test $? -ne 0 && grep -q '$path is missing' '$tmp/cli.err'"
mv "$tmp/saved-adapter" "$tmp/$path"

# 4. Trainers that fail. A fresh state name, so nothing is reused.
fail_run() { # mode
    TINY_TRAINER_FAIL=$1 run "fail_$1" lora.dsp "fail_$1.state.json" >/dev/null
}
fail_run exit
check "a trainer exiting non-zero fails the run" test $? -ne 0
check "... naming its status and quoting its last lines" \
    sh -c "grep -q 'exited with status 3' '$tmp/fail_exit.err' && grep -q 'CUDA out of memory' '$tmp/fail_exit.err'"
fail_run empty
check "a trainer writing no adapter fails the run" test $? -ne 0
check "... saying it wrote no adapter" grep -q 'exited 0 but wrote no adapter' "$tmp/fail_empty.err"
fail_run crash
check "a trainer crashing half way fails the run" test $? -ne 0
check "... naming the signal and its last line" \
    sh -c "grep -q 'was killed by signal 9' '$tmp/fail_crash.err' && grep -q 'epoch 1/2' '$tmp/fail_crash.err'"
check "failed trainers leave no adapter and no partial directory" \
    test -z "$(ls "$tmp/fail_exit.adapters" "$tmp/fail_empty.adapters" "$tmp/fail_crash.adapters" 2>/dev/null | grep -v ':$' | grep .)"
check "failed runs write no state" test ! -e "$tmp/fail_crash.state.json"

# 5. A template with an unknown placeholder is refused by dspcc check.
sed 's/{epochs}/{epoch}/' "$tmp/lora.dsp" >"$tmp/badtpl.dsp"
"$dspcc" check "$tmp/badtpl.dsp" >"$tmp/badtpl.out" 2>"$tmp/badtpl.err"
check "an unknown placeholder fails dspcc check" test $? -ne 0
check "... at the trainer's line, naming it and the placeholders there are" \
    grep -q 'badtpl.dsp:[0-9]*:[0-9]*: error: trainer: unknown placeholder {epoch}; the placeholders are {data}, {base_model}, {output}, {epochs} and {seed}' "$tmp/badtpl.err"
sed 's/--output {output}//' "$tmp/lora.dsp" >"$tmp/noout.dsp"
"$dspcc" check "$tmp/noout.dsp" >/dev/null 2>"$tmp/noout.err"
check "a trainer without {output} fails dspcc check" grep -q 'error: trainer: the command must name {data} .* {output} is missing' "$tmp/noout.err"

# 6. llama.cpp serving.
student_dsp llama.dsp 'lora_serving: "llama.cpp"'
serve --log "$tmp/requests1.jsonl" # a fresh fixture: no adapter loaded
run llama1 llama.dsp llama.state.json
check "llama.cpp serving, adapter not served yet: the run fails" test $? -ne 0
check "... saying the server must run with --lora" grep -q 'the server must run with --lora' "$tmp/llama1.err"
check "llama.cpp serving: requests carry the adapter selection" \
    grep -q '\\"lora\\":\[{\\"id\\":0,\\"scale\\":1}\]' "$tmp/requests1.jsonl"
lpath=$(ls -d "$tmp"/llama.adapters/???????????????? | head -n 1)
serve --log "$tmp/requests2.jsonl" --lora "tickets=$lpath"
run llama2 llama.dsp llama.state.json
check "served with --lora, the re-run exits 0" test $? -eq 0
check "... without training again" not grep -q '^trainer|' "$tmp/llama2.err"
check "... and the fixture answered the selected adapter" \
    grep -q '"status":200.*\\"lora\\":\[{\\"id\\":0' "$tmp/requests2.jsonl"
check "llama.cpp serving: the state keeps the base model" not grep -q '"model":' "$tmp/llama.state.json"
check "llama.cpp serving: the state records the adapter" grep -q '"adapter": { "name": "dspcc-' "$tmp/llama.state.json"
: >"$tmp/requests2.jsonl"
"$dspcc" eval "$tmp/llama.dsp" --state "$tmp/llama.state.json" --data dev --limit 5 --base-url "$url" \
    --cache-dir "$tmp/cache2" >"$tmp/leval.out" 2>"$tmp/leval.err"
check "dspcc eval --state runs the llama.cpp adapter" test $? -eq 0
check "... sending the adapter selection" grep -q '\\"lora\\":\[{\\"id\\":0,\\"scale\\":1}\]' "$tmp/requests2.jsonl"
"$dspcc" build "$tmp/llama.dsp" --state "$tmp/llama.state.json" -o "$tmp/c/llama.c" 2>/dev/null
check "llama.cpp serving: the generated C selects the adapter per request" \
    grep -q '\.has_lora = true, \.lora_id = 0, \.lora_sha256 = ' "$tmp/c/llama.c"
