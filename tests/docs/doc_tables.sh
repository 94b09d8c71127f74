#!/bin/sh
# The tables of docs/language.md name what dspcc takes, no more, no less:
#   - the optimizer table (## optimize): each optimizer's arguments;
#   - the lm option table (## lm): every lm option;
#   - the provider table (## lm): every provider.
# What dspcc takes comes from its own errors: an unknown argument or lm
# option is answered with `it takes `a`, `b` and `c``, an unknown provider
# with `(known: ...)`. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
doc=${DSP_DOC:-docs/language.md}  # DSP_DOC: another copy, to see the test fail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# The names `dspcc check` lists after "it takes" in its first error.
takes() {
    "$dspcc" check "$1" 2>&1 | sed -n '1s/.*; it takes //p' | grep -oE '`[a-z_]+`' | tr -d '`' | sort -u
}

# A table's rows of docs/language.md: the section from `## NAME` to the
# next `## `, rows starting `| `.
rows() {
    awk -v sec="$1" '/^## / { on = ($0 == "## " sec) } on && /^\| `/' "$doc"
}

cat >"$tmp/base.dsp" <<'EOF'
signature S {
  in  question: string
  out answer: string
}

module M(question: string) -> (answer: string) {
  r = predict(S)(question: question)
  return r
}

lm l = "openai/gpt-4o-mini"

metric m(ex, pred) = exact_match(pred.answer, ex.answer)
EOF
printf '{"question": "q", "answer": "a"}\n' >"$tmp/qa.jsonl"

# Optimizers: the first backticked word of a row is the optimizer, the
# other backticked words that look like argument names (before a `(`,
# `,`, `;` or the row's end) are its arguments.
rows optimize | while IFS= read -r row; do
    name=$(echo "$row" | sed -E 's/^\| `([a-z_]+)`.*/\1/')
    args=$(echo "$row" | sed -E 's/^\| `[a-z_]+` \|//' | grep -oE '`[a-z_]+`( \(|,|;| \||$)' |
        grep -oE '`[a-z_]+`' | tr -d '`' | grep -v -x -E 'light|medium|heavy|pareto|current_best|true|false|random_search|bootstrap_fewshot|mipro' | sort -u)
    { cat "$tmp/base.dsp"; echo 'data train = jsonl("qa.jsonl")'; echo "lm e = \"openai/text-embedding-3-small\""
      echo "optimize M with $name(zzz_not_an_argument: 1) { metric: m trainset: train lm: l embedder: e }"; } >"$tmp/o.dsp"
    takes "$tmp/o.dsp" >"$tmp/takes"
    echo "$args" >"$tmp/doc"
    if [ ! -s "$tmp/takes" ]; then
        notok "docs/language.md optimizer $name: dspcc lists its arguments" "$("$dspcc" check "$tmp/o.dsp" 2>&1 | head -n 1)"
    elif diff "$tmp/doc" "$tmp/takes" >"$tmp/diff"; then
        ok "docs/language.md optimizer $name: the table names its arguments"
    else
        notok "docs/language.md optimizer $name: the table names its arguments" \
            "< the table, > dspcc: $(grep '^[<>]' "$tmp/diff" | tr '\n' ' ')"
    fi
done

# lm options: the first backticked word of each row of the option table
# (the one headed `| option | value |`).
awk -v sec=lm '/^## / { on = ($0 == "## " sec) } on && /^\| option \| value \|/ { t = 1; next } on && t && /^\| `/ { print } on && t && !/^\|/ { t = 0 }' "$doc" |
    sed -E 's/^\| `([a-z_]+)`.*/\1/' | sort -u >"$tmp/doc"
{ echo 'lm x = "openai/gpt-4o-mini" {'; echo '  zzz_not_an_option: 1'; echo '}'; } >"$tmp/l.dsp"
takes "$tmp/l.dsp" >"$tmp/takes"
if [ -s "$tmp/takes" ] && diff "$tmp/doc" "$tmp/takes" >"$tmp/diff"; then
    ok "docs/language.md's lm option table names every lm option"
else
    notok "docs/language.md's lm option table names every lm option" \
        "< the table, > dspcc: $(grep '^[<>]' "$tmp/diff" 2>/dev/null | tr '\n' ' ')"
fi

# Providers: the rows of the table headed `| provider |`.
awk -v sec=lm '/^## / { on = ($0 == "## " sec) } on && /^\| provider \|/ { t = 1; next } on && t && /^\| `/ { print } on && t && !/^\|/ { t = 0 }' "$doc" |
    sed -E 's/^\| `([a-z]+)`.*/\1/' | sort -u >"$tmp/doc"
echo 'lm x = "zzz/model"' >"$tmp/p.dsp"
"$dspcc" check "$tmp/p.dsp" 2>&1 | sed -n '1s/.*(known: \(.*\)).*/\1/p' | tr ',' '\n' | tr -d ' ' | sort -u >"$tmp/takes"
if [ -s "$tmp/takes" ] && diff "$tmp/doc" "$tmp/takes" >"$tmp/diff"; then
    ok "docs/language.md's provider table names every provider"
else
    notok "docs/language.md's provider table names every provider" \
        "< the table, > dspcc: $(grep '^[<>]' "$tmp/diff" 2>/dev/null | tr '\n' ' ')"
fi

# Every libdsprt name the docs mention (`dsp_predict`, `dsp_client_options`,
# ...) exists: in the public headers, or (internals the docs explain) in
# runtime/src. A prefix written as `dsp_finetune_*` is a family.
missing=""
for id in $(grep -ohE '\bdsp_[a-z0-9_]*[a-z0-9]\b' README.md docs/*.md | sort -u); do
    [ "$id" = dsp_blocks ] && continue   # tests/docs/dsp_blocks.sh
    grep -rqw -- "$id" runtime/include runtime/src || missing="$missing $id"
done
if [ -z "$missing" ]; then
    ok "every dsp_ name in README.md and docs/*.md is libdsprt's"
else
    notok "every dsp_ name in README.md and docs/*.md is libdsprt's" "not in runtime/:$missing"
fi
