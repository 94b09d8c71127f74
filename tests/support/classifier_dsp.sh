# tests/support/classifier_dsp.sh — sourced by tests/compiler/gepa_vs_mipro.sh
# and tests/bench/bench_gepa.sh: a one-predictor `predict` classifier of a
# `text` into a `label` with exact-match accuracy and no feedback of its
# own (gepa's reflection reads the generic caption), seed 7 unless given.

# classifier FILE ENUM TRAIN DEV OPTIMIZER [SEED]: the program, in FILE;
# TRAIN and DEV are JSONL paths relative to FILE's directory, ENUM the
# labels as the enum lists them (`a, b, "c d"`).
classifier() {
    cat >"$1" <<DSP
lm teacher = "openai/gpt-4o-mini" {
  temperature: 0.0
  max_tokens: 512
}
enum Label { $2 }
signature Classify "Classify the text into its label." {
  in  text: string  "The text"
  out label: Label  "Its label"
}
module Classifier(text: string) -> (label: Label) {
  r = predict(Classify)(text: text)
  return r
}
metric accuracy(ex, pred) = exact_match(pred.label, ex.label)
data train = jsonl("$3")
data dev = jsonl("$4")
optimize Classifier with $5 {
  metric: accuracy
  trainset: train
  valset: dev
  lm: teacher
  seed: ${6:-7}
}
DSP
}

# intent_labels FILE: the 27 intents of a Bitext JSONL file, as an enum lists them.
intent_labels() {
    sed -n 's/.*"label": "\([a-z_]*\)".*/\1/p' "$1" | sort -u | paste -sd, - | sed 's/,/, /g'
}

# The 8 IT service ticket queues, as an enum lists them.
it_labels='Access, "Administrative rights", Hardware, "HR Support", "Internal Project", Miscellaneous, Purchase, Storage'
