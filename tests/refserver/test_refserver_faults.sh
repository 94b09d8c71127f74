#!/bin/sh
# dsp-refserver's injected faults seen from a real HTTP client (curl): each
# kind, alone at --fail-rate 0.5, shows up in about half of the requests,
# in the way a client sees it (status + Retry-After, timeout, truncated
# body, malformed JSON, a missing field, a wrong-typed value). Prints TAP.
set -u
: "${BUILD:=build}"
bin="$BUILD/dsp-refserver"
tmp=$(mktemp -d)
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM

start_server() { rs_start --seed 11 "$@"; }

# A chain-of-thought ticket prompt: reasoning, then the enum `category`.
cat >"$tmp/body.json" <<'JSON'
{"model":"dsp-refserver","temperature":0,"messages":[
{"role":"system","content":"Your input fields are:\n1. `ticket_text` (string): The ticket\nYour output fields are:\n1. `reasoning` (string):\n2. `category` (enum): The queue\n\nAll interactions will be structured in the following way, with the appropriate values filled in.\n\n[[ ## ticket_text ## ]]\n{ticket_text}\n\n[[ ## reasoning ## ]]\n{reasoning}\n\n[[ ## category ## ]]\n{category}        # note: the value you produce must exactly match (no extra characters) one of: billing; account; orders; general\n\n[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Classify a customer support ticket."},
{"role":"user","content":"[[ ## ticket_text ## ]]\nI was charged twice this month.\n\nRespond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then `[[ ## category ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`."}]}
JSON

# One request; prints what the client saw: a fault name or "ok". Probes that
# run in parallel pass a distinct tag so they do not share reply files.
probe() {
    out="$tmp/out${1:-}" hdr="$tmp/hdr${1:-}"
    rm -f "$out" "$hdr"
    code=$(curl -s --noproxy '*' --max-time "${MAXTIME:-5}" -D "$hdr" -o "$out" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-not-a-key' \
        --data-binary @"$tmp/body.json" "http://127.0.0.1:$port/v1/chat/completions")
    rc=$?
    body=$(cat "$out" 2>/dev/null)
    if [ $rc -eq 28 ]; then echo hang; return; fi
    if [ $rc -eq 18 ]; then echo truncate; return; fi
    if [ $rc -ne 0 ]; then echo "curl-error-$rc"; return; fi
    case "$code" in
        429) if grep -qi '^retry-after: *[0-9]' "$hdr"; then echo 429; else echo 429-without-retry-after; fi; return ;;
        500|503) echo "$code"; return ;;
        200) ;;
        *) echo "status-$code"; return ;;
    esac
    case "$body" in
        *\}) ;;
        *) echo badjson; return ;;
    esac
    case "$body" in
        *'## category ## ]]\nnot-one-of-the-labels'*) echo wrong-type ;;
        *'[[ ## category ## ]]'*) echo ok ;;
        *'[[ ## reasoning ## ]]'*) echo missing-field ;;
        *) echo unexpected ;;
    esac
}

n=24
for kind in 429 500 503 truncate badjson missing-field wrong-type hang; do
    extra=
    MAXTIME=5
    if [ "$kind" = hang ]; then extra="--hang-ms 3000"; MAXTIME=0.6; n=12; fi
    # shellcheck disable=SC2086
    start_server --fail-rate 0.5 --fail-kinds "$kind" $extra
    if [ -z "$port" ]; then echo "not ok - $kind: server did not start"; cat "$tmp/server.err"; continue; fi
    hits=0 oks=0 other=
    j=0
    while [ $j -lt $n ]; do
        seen=$(MAXTIME=$MAXTIME probe)
        if [ "$seen" = "$kind" ]; then hits=$((hits + 1));
        elif [ "$seen" = ok ]; then oks=$((oks + 1));
        else other="$other $seen"; fi
        j=$((j + 1))
    done
    rs_stop
    lo=$((n / 5)) hi=$((n - n / 5))
    if [ -z "$other" ] && [ $hits -ge $lo ] && [ $hits -le $hi ]; then
        echo "ok - $kind: $hits of $n requests faulted, the rest answered"
    else
        echo "not ok - $kind: $hits of $n faulted ($oks ok; unexpected:$other)"
    fi
done

# With no fault configured every request is answered.
start_server
bad=0
for j in 1 2 3 4 5 6 7 8; do [ "$(probe)" = ok ] || bad=$((bad + 1)); done
rs_stop
if [ $bad -eq 0 ]; then echo "ok - no faults without --fail-rate"; else echo "not ok - $bad failures without --fail-rate"; fi

# Latency: about the configured delay, and parallel requests overlap (four
# in a row would take 1600 ms at least).
start_server --latency-ms 400:50
t0=$(date +%s%N)
pids=
for j in 1 2 3 4; do probe "$j" >"$tmp/lat$j" & pids="$pids $!"; done
# Not a bare `wait`: that would wait for the server too.
for p in $pids; do wait "$p"; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
rs_stop
if [ "$(cat "$tmp"/lat1 "$tmp"/lat2 "$tmp"/lat3 "$tmp"/lat4 | sort -u)" = ok ] && [ $ms -ge 400 ] && [ $ms -lt 1400 ]; then
    echo "ok - --latency-ms 400:50: 4 parallel requests in ${ms} ms"
else
    echo "not ok - --latency-ms 400:50: 4 parallel requests in ${ms} ms"
fi

# Startup is fast and bad options are refused with a message.
t0=$(date +%s%N)
start_server
t1=$(date +%s%N)
rs_stop
ms=$(( (t1 - t0) / 1000000 ))
if [ -n "$port" ] && [ $ms -lt 1000 ]; then echo "ok - started in ${ms} ms"; else echo "not ok - start took ${ms} ms"; fi
if "$bin" --fail-kinds teapot >/dev/null 2>"$tmp/err"; then
    echo "not ok - --fail-kinds teapot accepted"
elif grep -q 'fail-kinds' "$tmp/err"; then
    echo "ok - bad option refused with a message"
else
    echo "not ok - bad option refused without a message"
fi
if "$bin" --help | grep -q 'TEST FIXTURE'; then echo "ok - --help says it is a test fixture"; else echo "not ok - --help"; fi
