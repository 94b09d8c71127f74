# tests/support/lm_program.sh — sourced by shell tests of lm declarations
# (tests/compiler/lm_options.sh, lm_endpoints.sh, reply_limits.sh,
# breaker.sh) that run them with
# `dspcc eval` against the fixture. Needs $BUILD, $tmp and
# tests/support/refserver.sh; sets $dspcc, a cache in $tmp/cache, and no
# DSPCC_BASE_URL (each test says where its calls go).
dspcc="$BUILD/dspcc"
unset DSPCC_BASE_URL
export DSPCC_CACHE_DIR="$tmp/cache"

# prog FILE OPTION-LINES [MODEL]: $tmp/FILE, a one-predictor program on
# lm m = MODEL (default "compatible/fixture") with those option lines,
# reading $tmp/dev.jsonl (ticket rows) as data set dev.
prog() {
    {
        echo "lm m = \"${3:-compatible/fixture}\" {"
        printf '%s\n' "$2"
        echo '}'
        cat <<'DSP'
enum Category { billing, account, orders, general }

signature Classify "Classify a customer support ticket." {
  in ticket_text: string "The ticket"
  out category: Category "The queue"
}

module M(ticket_text: string) -> (category: Category) {
  r = predict(Classify)(ticket_text: ticket_text)
  return r
}

metric accuracy(ex, pred) = exact_match(pred.category, ex.category)

data dev = jsonl("dev.jsonl") { text -> ticket_text, category -> category }
DSP
    } >"$tmp/$1"
}

# run NAME LIMIT [ARGS...]: dspcc eval of $tmp/NAME.dsp on the first LIMIT
# rows; sets $rc, $ms (wall time) and $reqs (requests the log gained).
run() {
    n0=$(wc -l <"$tmp/log" 2>/dev/null || echo 0)
    t0=$(date +%s%N)
    name=$1 limit=$2
    shift 2
    "$dspcc" eval "$tmp/$name.dsp" --data dev --limit "$limit" --json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    reqs=$(($(wc -l <"$tmp/log") - n0))
}
last_line() { tail -n 1 "$tmp/log"; }
start() { : >"$tmp/log"; rs_start --log "$tmp/log" "$@"; url="http://127.0.0.1:$port/v1"; }
# has/hasnt TEXT: the last request's body (JSON-escaped in the log) holds TEXT.
has() { last_line | grep -qF "$1"; }
hasnt() { ! last_line | grep -qF "$1"; }

