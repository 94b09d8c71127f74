#!/bin/sh
# The shared cache (DSPCC_CACHE_URL=redis://HOST:PORT) against a real
# redis-server this test starts on a free port of 127.0.0.1, and
# build/dsp-refserver (a TEST FIXTURE, not a language model): a second
# "machine" (a fresh local cache directory) gets every reply from Redis and
# sends no request; the rows are the local cache's (hashed keys, parsed
# replies, no piece of the API key); a dead Redis, one that accepts
# connections but never answers, and one that refuses the password each
# cost one warning and no hang, and the run completes from the LM; a
# malformed URL is an error naming DSPCC_CACHE_URL; rediss:// (TLS, a CA
# and client certificate made here) shares the same rows, and a missing
# client certificate, an untrusted server certificate or plain text to the
# TLS port each cost one warning. The same for a generated program. Prints
# TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
prog=examples/tickets/tickets.dsp
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/ticket_cli.sh
rpid=
redis_stop() {
    if [ -n "$rpid" ]; then kill -CONT "$rpid" 2>/dev/null; kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; fi
    rpid=
}
trap 'redis_stop; rs_stop; rm -rf "$tmp"' EXIT INT TERM

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "ok - # SKIP redis-server is not installed (scripts/setup.sh installs it): the shared cache is not tested"
    exit 0
fi

# redis_start ARGS...: redis-server on a free port ($rport), no persistence.
# A port another server holds makes ours exit; the pid it reports must be ours.
redis_start() {
    redis_stop
    ri=0
    while [ $ri -lt 30 ]; do
        rport=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
        mkdir -p "$tmp/redis"
        redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp/redis" \
            --loglevel warning "$@" >"$tmp/redis.log" 2>&1 &
        rpid=$!
        rj=0
        while [ $rj -lt 100 ] && kill -0 "$rpid" 2>/dev/null; do
            owner=$(redis_cli info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
            [ "$owner" = "$rpid" ] && return 0
            sleep 0.05
            rj=$((rj + 1))
        done
        redis_stop
        ri=$((ri + 1))
    done
    return 1
}
redis_cli() { redis-cli -p "$rport" ${rpass:+--no-auth-warning -a "$rpass"} "$@"; }
chat_requests() { cat "$1" 2>/dev/null | grep -c '"path":"/v1/chat/completions"'; }
warnings() { grep -c 'warning: shared cache' "$1"; }

export OPENAI_API_KEY=sk-test-shared-cache-key-0123456789
unset DSPCC_BASE_URL DSPCC_CACHE_DIR
rpass=
redis_start
check "redis-server started on a free port" test -n "$rpid"
rs_start --seed 3 --log "$tmp/lm.log"
url="redis://127.0.0.1:$rport"

eval_run() { # NAME CACHE_URL: an eval of 20 dev rows with its own local cache directory
    start=$(date +%s)
    DSPCC_CACHE_URL="$2" "$dspcc" eval "$prog" --data dev --limit 20 --json --base-url "http://127.0.0.1:$port/v1" \
        --cache-dir "$tmp/$1-cache" >"$tmp/$1.json" 2>"$tmp/$1.err"
    rc=$?
    secs=$(( $(date +%s) - start ))
}

eval_run a "$url"
check "machine A's eval succeeds" test "$rc" = 0
asked=$(json_key "$tmp/a.json" http_requests)
check "machine A asks the LM for every row" test "${asked:-0}" = 20
check "Redis holds one row per request" test "$(redis_cli --scan --pattern 'dspcc:v2:*' | wc -l)" = 20
key=$(redis_cli --scan --pattern 'dspcc:v2:*' | head -n 1)
check "its keys are the local cache's SHA-256 keys" sh -c "echo '$key' | grep -Eq '^dspcc:v2:[0-9a-f]{64}$'"
redis_cli --scan --pattern 'dspcc:v2:*' | while read -r k; do redis_cli get "$k"; done >"$tmp/values.txt"
check "its values are parsed replies, each naming its key" \
    sh -c "test \$(grep -Ec '^\\{\"key\":\"[0-9a-f]{64}\",\"choices\":\\[' '$tmp/values.txt') = 20"
check "no value holds a piece of the API key" sh -c "! grep -q 'shared-cache-key\|sk-test' '$tmp/values.txt'"
check "machine A warned of nothing" test "$(warnings "$tmp/a.err")" = 0

: >"$tmp/lm.log"
eval_run b "$url"
check "machine B (a fresh local cache) sends the LM no request" \
    sh -c "test '$(json_key "$tmp/b.json" http_requests)' = 0 && test '$(chat_requests "$tmp/lm.log")' = 0"
check "machine B's answers are all cache hits" test "$(json_key "$tmp/b.json" cache_hits)" = 20
check "machine B scores as machine A" test "$(json_key "$tmp/b.json" score)" = "$(json_key "$tmp/a.json" score)"
eval_run b ""
check "machine B kept the shared rows in its local cache" test "$(json_key "$tmp/b.json" cache_hits)" = 20

# A dead Redis: refused at once.
redis_stop
eval_run c "$url"
check "with Redis down the eval still succeeds" test "$rc" = 0
check "from the LM" test "$(json_key "$tmp/c.json" http_requests)" = 20
check "with exactly one warning" test "$(warnings "$tmp/c.err")" = 1
check "that names the server and the fallback" grep -q "redis://127.0.0.1:$rport/0: cannot connect.*local cache alone" "$tmp/c.err"
check "and the same score" test "$(json_key "$tmp/c.json" score)" = "$(json_key "$tmp/a.json" score)"

# A Redis that accepts connections and never answers (stopped): one timeout, no hang.
redis_start
kill -STOP "$rpid"
eval_run d "redis://127.0.0.1:$rport"
check "a Redis that never answers does not stop the eval" test "$rc" = 0
check "one warning saying it did not answer" \
    sh -c "test '$(warnings "$tmp/d.err")' = 1 && grep -q 'no answer within' '$tmp/d.err'"
check "nor hang it (${secs}s)" test "$secs" -lt 20
kill -CONT "$rpid"

# A password: the right one works, a wrong one warns without printing it.
rpass=s3cret-pass-word
redis_start --requirepass "$rpass"
eval_run e "redis://:s3cret-pass-word@127.0.0.1:$rport/2"
check "a password and a database number in the URL are used" \
    sh -c "test '$rc' = 0 && test '$(redis_cli -n 2 dbsize)' = 20"
check "nothing stored in database 0" test "$(redis_cli -n 0 dbsize)" = 0
eval_run f "redis://:wrong-pass-word@127.0.0.1:$rport"
check "a wrong password warns once and the eval goes on" sh -c "test '$rc' = 0 && test '$(warnings "$tmp/f.err")' = 1"
check "the warning does not print the password" sh -c "! grep -q 'pass-word' '$tmp/f.err'"
rpass=
redis_stop

eval_run g "http://127.0.0.1:1"
check "a URL that is not redis:// is an error" test "$rc" != 0
check "naming DSPCC_CACHE_URL and the form to write" grep -q "DSPCC_CACHE_URL: .*redis://HOST:PORT" "$tmp/g.err"
eval_run g "redis://127.0.0.1:99999"
check "a port out of range is an error naming it" sh -c "test $rc != 0 && grep -q 'port is not a number from 1 to 65535' '$tmp/g.err'"

# ---- TLS (rediss://) ---------------------------------------------------------
# A CA, a server certificate for 127.0.0.1 and a client certificate, made
# here; Redis serves TLS on a second port and requires client certificates.
tls="$tmp/tls"
mkdir -p "$tls"
mk_cert() { # NAME SUBJECT EXT: a key and a certificate signed by the CA
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$tls/$1.key" -out "$tls/$1.csr" 2>/dev/null &&
        printf '%s\n' "$3" >"$tls/$1.ext" &&
        openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
            -extfile "$tls/$1.ext" -out "$tls/$1.pem" 2>/dev/null
}
tls_up=
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dspcc test CA" -keyout "$tls/ca.key" \
        -out "$tls/ca.pem" 2>/dev/null &&
    mk_cert server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost" &&
    mk_cert client "/CN=dspcc-client" "extendedKeyUsage=clientAuth"; then
    for try in 1 2 3 4 5; do
        tport=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
        if redis_start --tls-port "$tport" --tls-cert-file "$tls/server.pem" --tls-key-file "$tls/server.key" \
            --tls-ca-cert-file "$tls/ca.pem" --tls-auth-clients yes; then
            tls_up=1
            break
        fi
    done
fi
if [ -z "$tls_up" ]; then
    echo "ok - # SKIP rediss:// is not tested: openssl or a redis-server built with TLS is missing"
else
    turl="rediss://127.0.0.1:$tport"
    export DSPCC_CACHE_CACERT="$tls/ca.pem" DSPCC_CACHE_CERT="$tls/client.pem" DSPCC_CACHE_KEY="$tls/client.key"
    : >"$tmp/lm.log"
    eval_run t1 "$turl"
    check "rediss:// with the CA and a client certificate: the eval succeeds and warns of nothing" \
        sh -c "test '$rc' = 0 && test '$(warnings "$tmp/t1.err")' = 0"
    check "Redis holds its rows, sent over TLS" test "$(redis_cli --scan --pattern 'dspcc:v2:*' | wc -l)" = 20
    : >"$tmp/lm.log"
    eval_run t2 "$turl"
    check "another machine over TLS sends the LM no request" \
        sh -c "test '$(json_key "$tmp/t2.json" cache_hits)' = 20 && test '$(chat_requests "$tmp/lm.log")' = 0"
    unset DSPCC_CACHE_CERT DSPCC_CACHE_KEY
    eval_run t3 "$turl"
    check "without the client certificate Redis refuses: one warning, the eval goes on from the LM" \
        sh -c "test '$rc' = 0 && test '$(warnings "$tmp/t3.err")' = 1 && test '$(json_key "$tmp/t3.json" http_requests)' = 20"
    unset DSPCC_CACHE_CACERT
    export DSPCC_CACHE_CERT="$tls/client.pem" DSPCC_CACHE_KEY="$tls/client.key"
    eval_run t4 "$turl"
    check "a server certificate no trusted CA signed: one warning naming the certificate" \
        sh -c "test '$rc' = 0 && test '$(warnings "$tmp/t4.err")' = 1 && grep -qi 'certificate' '$tmp/t4.err'"
    unset DSPCC_CACHE_CERT DSPCC_CACHE_KEY
    eval_run t5 "redis://127.0.0.1:$tport"
    check "redis:// (no TLS) to the TLS port: one warning, no hang (${secs}s)" \
        sh -c "test '$rc' = 0 && test '$(warnings "$tmp/t5.err")' = 1 && test '$secs' -lt 20"
    redis_stop
fi

# ---- a generated program -------------------------------------------------
redis_start
url="redis://127.0.0.1:$rport"
build_ticket_cli "$tmp"
head -n 12 examples/tickets/data/dev.jsonl | sed 's/.*"text": *"\([^"]*\)".*/\1/' >"$tmp/tickets.txt"
cli_run() { # NAME
    DSPCC_CACHE_URL="$url" DSPCC_BASE_URL="http://127.0.0.1:$port/v1" DSPCC_CACHE_DIR="$tmp/$1-cache" \
        "$tmp/ticket_cli" <"$tmp/tickets.txt" >"$tmp/$1.out" 2>"$tmp/$1.err"
}
: >"$tmp/lm.log"
cli_run cli1
check "the generated program runs with a shared cache" test $? -eq 0
n1=$(chat_requests "$tmp/lm.log")
: >"$tmp/lm.log"
cli_run cli2
check "on another machine it is answered from Redis" sh -c "test '$n1' -gt 0 && test '$(chat_requests "$tmp/lm.log")' = 0"
cmp -s "$tmp/cli1.out" "$tmp/cli2.out"
check "with the same answers" test $? -eq 0
redis_stop
cli_run cli3
check "with Redis down it answers from the LM with one warning" \
    sh -c "cmp -s '$tmp/cli1.out' '$tmp/cli3.out' && test '$(warnings "$tmp/cli3.err")' = 1"
