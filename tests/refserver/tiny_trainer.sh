#!/bin/sh
# tiny_trainer.sh — a FIXTURE LoRA trainer for dsp-refserver, not a trainer.
#
#   tiny_trainer.sh --data FILE.jsonl --base-model MODEL --output DIR [--epochs N] [--seed N]
#
# It "trains" the way dsp-refserver's fine-tuned models learn: it copies the
# training examples (OpenAI chat fine-tuning JSONL, as dspcc writes them)
# into DIR/adapter_memory.jsonl, which dsp-refserver --lora NAME=DIR (or
# POST /v1/load_lora_adapter) reads back and recalls as demos, and writes a
# PEFT-style DIR/adapter_config.json. A real trainer (PEFT, Unsloth,
# llama.cpp's finetune) takes the same command-line slots:
#
#   lm small = "vllm/llama-3.1-8b" { trainer: "python3 train.py {data} {base_model} {output}" }
#
# TINY_TRAINER_FAIL plays a trainer that fails, for dspcc's tests:
#   exit   prints an error and exits 3
#   empty  exits 0 having written nothing
#   crash  writes half an adapter, then kills itself (SIGKILL)
set -eu
data= base= out= epochs=3 seed=0
while [ $# -gt 0 ]; do
    case $1 in
    --data) data=$2; shift 2 ;;
    --base-model) base=$2; shift 2 ;;
    --output) out=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "tiny_trainer: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$data" ] || [ -z "$base" ] || [ -z "$out" ]; then
    echo "usage: tiny_trainer.sh --data FILE --base-model MODEL --output DIR [--epochs N] [--seed N]" >&2
    exit 2
fi
n=$(wc -l < "$data" | tr -d ' ')
echo "tiny_trainer (a test fixture): $n examples, base model $base, $epochs epochs, seed $seed"
case ${TINY_TRAINER_FAIL:-} in
exit)
    echo "tiny_trainer: RuntimeError: CUDA out of memory (simulated by TINY_TRAINER_FAIL=exit)" >&2
    exit 3 ;;
empty)
    echo "tiny_trainer: done (but wrote nothing: TINY_TRAINER_FAIL=empty)"
    exit 0 ;;
crash)
    mkdir -p "$out"
    head -n 1 "$data" > "$out/adapter_memory.jsonl"
    echo "tiny_trainer: epoch 1/$epochs ... (crashing: TINY_TRAINER_FAIL=crash)"
    kill -9 $$ ;;
esac
mkdir -p "$out"
e=1
while [ "$e" -le "$epochs" ]; do
    echo "tiny_trainer: epoch $e/$epochs"
    e=$((e + 1))
done
cp "$data" "$out/adapter_memory.jsonl"
# The base model goes into JSON: keep it to characters that need no escape.
case $base in *[!A-Za-z0-9._:/-]*) base=unknown ;; esac
printf '{"peft_type": "LORA", "base_model_name_or_path": "%s", "r": 8, "lora_alpha": 16, "dspcc_fixture": true}\n' \
    "$base" > "$out/adapter_config.json"
echo "tiny_trainer: wrote $out"
