#!/bin/sh
# Local endpoints need no key, and a host that does not resolve fails at
# once. Runs `dspcc eval` against build/dsp-refserver (a TEST FIXTURE, not
# a language model) on 127.0.0.1: an openai/... lm pointed at a loopback
# server, and ollama/vllm/compatible lms with a key variable that is not
# set, run without the key (and send it when it is set); an openai/... lm
# at a non-local URL still demands it, before any request. A compatible lm
# at a host that does not resolve fails within a second, without retries,
# and its message names `compatible`, the provider as declared. The
# OpenAI-compatible presets use their own key variables. Prints TAP.
set -u
: "${BUILD:=build}"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
. tests/support/lm_program.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
unset OPENAI_API_KEY LMEP_KEY

head -n 2 examples/tickets/data/dev.jsonl >"$tmp/dev.jsonl"
start
check "the fixture started" test -n "$port"

# openai/... reads OPENAI_API_KEY by default; at a loopback server it is optional.
prog oa.dsp "  cache: false" openai/gpt-4o-mini
run oa 1 --base-url "$url"
check "an openai lm at 127.0.0.1 runs without OPENAI_API_KEY, and sends no key" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":false'"
run oa 1 --base-url "http://localhost:$port/v1"
check "... and at localhost" test "$rc" -eq 0
OPENAI_API_KEY=sk-lmep-not-a-key
export OPENAI_API_KEY
run oa 1 --base-url "$url"
check "with OPENAI_API_KEY set, the key is sent to the local server" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":true'"
unset OPENAI_API_KEY

for provider in ollama vllm compatible; do
    prog "$provider.dsp" "  base_url: \"$url\"
  api_key_env: \"LMEP_KEY\"
  cache: false" "$provider/fixture"
    run "$provider" 1
    check "lm $provider/fixture, whose key variable is not set runs without a key" \
        sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":false'"
done

# A non-local openai endpoint still needs its key: refused before any request.
prog remote.dsp "  base_url: \"https://api.openai.com/v1\"
  cache: false" openai/gpt-4o-mini
run remote 1
check "an openai lm at api.openai.com without OPENAI_API_KEY is refused, nothing sent" \
    sh -c "test $rc -ne 0 && test $reqs -eq 0 && grep -q 'OPENAI_API_KEY is not set' '$tmp/remote.err'"

# A host that does not resolve (.invalid never does, RFC 2606).
prog dns.dsp "  base_url: \"http://no-such-host.invalid/v1\"
  cache: false" compatible/fixture
run dns 2
check "a host that does not resolve fails at once, not after retries (took ${ms} ms)" \
    sh -c "test $rc -ne 0 && test $ms -lt 3000 && grep -q 'cannot resolve the host' '$tmp/dns.err'"
check "its message names the provider as declared (compatible/fixture, not openai)" \
    sh -c "grep -q 'compatible/fixture: cannot resolve' '$tmp/dns.err' && ! grep -q 'openai' '$tmp/dns.err'"
check "and it is not retried" sh -c "! grep -q 'gave up after' '$tmp/dns.err'"

# OpenAI-compatible presets: a remote one demands its own key variable,
# before any request; pointed at the fixture it sends that key; a local
# one (lmstudio, llamacpp) runs without a key.
unset MISTRAL_API_KEY GROQ_API_KEY
prog mistral.dsp "  cache: false" mistral/mistral-small-latest
run mistral 1
check "a mistral lm without MISTRAL_API_KEY is refused naming that variable, nothing sent" \
    sh -c "test $rc -ne 0 && test $reqs -eq 0 && grep -q 'MISTRAL_API_KEY is not set' '$tmp/mistral.err'"
prog groq.dsp "  cache: false" groq/llama-3.1-8b-instant
GROQ_API_KEY=gsk-lmep-not-a-key
export GROQ_API_KEY
run groq 1 --base-url "http://127.0.0.1:$port"
unset GROQ_API_KEY
check "a groq lm sent to the fixture with --base-url (no path) reaches /v1/chat/completions with GROQ_API_KEY" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":true' &&
           tail -n 1 '$tmp/log' | grep -q '\"path\":\"/v1/chat/completions\"'"
for provider in lmstudio llamacpp; do
    prog "$provider.dsp" "  base_url: \"$url\"
  cache: false" "$provider/fixture"
    run "$provider" 1
    check "lm $provider/fixture runs without a key" \
        sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth\":false'"
done

# Azure OpenAI: the deployment in the path with ?api-version= (the fixture
# answers 404 "Resource not found" without it, as Azure does), the key in
# an api-key header; a variable named ..._TOKEN is an Entra ID bearer token.
unset AZURE_OPENAI_API_KEY AZURE_OPENAI_AD_TOKEN
prog azure.dsp "  base_url: \"http://127.0.0.1:$port\"
  cache: false" azure/fixture
AZURE_OPENAI_API_KEY=azure-lmep-not-a-key
export AZURE_OPENAI_API_KEY
run azure 1
check "an azure lm reaches /openai/deployments/fixture/chat/completions with its key in api-key" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"path\":\"/openai/deployments/fixture/chat/completions\"' &&
           tail -n 1 '$tmp/log' | grep -q '\"auth_header\":\"api-key\"'"
run azure 1 --base-url "$url"
check "... and through a --base-url with a path (/v1/openai/deployments/...)" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"path\":\"/v1/openai/deployments/fixture/chat/completions\"'"
unset AZURE_OPENAI_API_KEY
prog azure_entra.dsp "  base_url: \"http://127.0.0.1:$port\"
  api_key_env: \"AZURE_OPENAI_AD_TOKEN\"
  cache: false" azure/fixture
AZURE_OPENAI_AD_TOKEN=entra-lmep-not-a-token
export AZURE_OPENAI_AD_TOKEN
run azure_entra 1
unset AZURE_OPENAI_AD_TOKEN
check "an azure lm whose api_key_env ends in _TOKEN sends an Entra ID bearer token" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"auth_header\":\"authorization\"'"
prog azure_remote.dsp "  base_url: \"https://lmep.openai.azure.com\"
  cache: false" azure/gpt-4o-mini
run azure_remote 1
check "an azure lm at a remote endpoint without AZURE_OPENAI_API_KEY is refused, nothing sent" \
    sh -c "test $rc -ne 0 && test $reqs -eq 0 && grep -q 'AZURE_OPENAI_API_KEY is not set' '$tmp/azure_remote.err'"
prog azure_nourl.dsp "" azure/gpt-4o-mini
"$dspcc" check "$tmp/azure_nourl.dsp" >/dev/null 2>"$tmp/azure_nourl.err"
check "an azure lm without base_url is refused at check time, asking for it" \
    grep -q "provider \`azure\` has no default address" "$tmp/azure_nourl.err"

# Gemini: generateContent at /v1beta/models/MODEL (the base URL has no
# path), the key in x-goog-api-key, structured output as responseSchema,
# and Gemini's error shape kept in the message.
unset GEMINI_API_KEY
prog gemini.dsp "  base_url: \"http://127.0.0.1:$port\"
  cache: false" gemini/fixture
GEMINI_API_KEY=gem-lmep-not-a-key
export GEMINI_API_KEY
run gemini 2
check "a gemini lm reaches /v1beta/models/fixture:generateContent with its key in x-goog-api-key" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"path\":\"/v1beta/models/fixture:generateContent\"' &&
           tail -n 1 '$tmp/log' | grep -q '\"auth_header\":\"x-goog-api-key\"' && tail -n 1 '$tmp/log' | grep -q systemInstruction"
check "... every reply parsed, usage read from usageMetadata" \
    sh -c "grep -q '\"failed\":[[:space:]]*0,' '$tmp/gemini.json' && grep -q '\"completion_tokens\":[[:space:]]*[1-9]' '$tmp/gemini.json'"
prog gemini_json.dsp "  base_url: \"http://127.0.0.1:$port\"
  adapter: json
  cache: false" gemini/fixture
run gemini_json 1
check "with adapter: json the request carries responseMimeType and responseSchema, and the reply parses" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q 'responseSchema' && tail -n 1 '$tmp/log' | grep -q 'application/json'"
prog gemini_ft.dsp "  base_url: \"http://127.0.0.1:$port\"
  cache: false" gemini/ft:missing
run gemini_ft 1
check "a Gemini error keeps its status and message (404 NOT_FOUND: The model ...)" \
    sh -c "test $rc -ne 0 && grep -q 'HTTP 404 from http://127.0.0.1:$port/v1beta/models/ft%3Amissing:generateContent: NOT_FOUND: The model' '$tmp/gemini_ft.err'"
unset GEMINI_API_KEY
prog gemini_remote.dsp "  cache: false" gemini/gemini-2.0-flash
run gemini_remote 1
check "a gemini lm at Google without GEMINI_API_KEY is refused, nothing sent" \
    sh -c "test $rc -ne 0 && test $reqs -eq 0 && grep -q 'GEMINI_API_KEY is not set' '$tmp/gemini_remote.err'"

# Bedrock: Converse at /model/ID/converse, signed with AWS SigV4 by libcurl
# (the fixture checks the signature's documented form: credential scope,
# signed headers, the session token signed); credentials never logged.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION
prog bedrock.dsp "  base_url: \"http://127.0.0.1:$port\"
  cache: false" "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
AWS_ACCESS_KEY_ID=AKIDLMEPEXAMPLE AWS_SECRET_ACCESS_KEY=lmep-secret-not-a-real-one AWS_SESSION_TOKEN=lmep-session-token-x
AWS_REGION=eu-west-3
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION
run bedrock 2
check "a bedrock lm reaches /model/ID/converse signed with SigV4 (session token signed), replies parsed" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q '\"path\":\"/model/anthropic.claude-3-haiku-20240307-v1:0/converse\"' &&
           tail -n 1 '$tmp/log' | grep -q '\"auth_header\":\"aws-sigv4\"' && grep -q '\"failed\":[[:space:]]*0,' '$tmp/bedrock.json' &&
           grep -q '\"completion_tokens\":[[:space:]]*[1-9]' '$tmp/bedrock.json'"
check "no AWS credential reaches the fixture's log" \
    sh -c "! grep -q -e lmep-secret -e lmep-session -e AKIDLMEP '$tmp/log'"
prog bedrock_json.dsp "  base_url: \"http://127.0.0.1:$port\"
  adapter: json
  cache: false" bedrock/fixture
run bedrock_json 1
check "with adapter: json the Converse request forces the output tool and its toolUse input is the reply" \
    sh -c "test $rc -eq 0 && tail -n 1 '$tmp/log' | grep -q 'toolConfig' && grep -q '\"failed\":[[:space:]]*0,' '$tmp/bedrock_json.json'"
prog bedrock_ft.dsp "  base_url: \"http://127.0.0.1:$port\"
  cache: false" bedrock/ft:missing
run bedrock_ft 1
check "a Bedrock error keeps AWS's message ({\"message\":...})" \
    sh -c "test $rc -ne 0 && grep -q 'HTTP 404 from .*/converse: The model' '$tmp/bedrock_ft.err' &&
           ! grep -q -e lmep-secret -e lmep-session '$tmp/bedrock_ft.err'"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
prog bedrock_remote.dsp "  cache: false" bedrock/amazon.nova-lite-v1:0
run bedrock_remote 1
check "a bedrock lm at AWS without credentials is refused naming AWS_ACCESS_KEY_ID, nothing sent" \
    sh -c "test $rc -ne 0 && test $reqs -eq 0 && grep -q 'AWS_ACCESS_KEY_ID is not set' '$tmp/bedrock_remote.err'"
unset AWS_REGION

# Retries and error text per provider, through DSPCC_BASE_URL (a URL
# without a path: each provider keeps its own paths): a fixture failing
# every request with 503 answers in Gemini's and Bedrock's own error
# shapes; both are retried (503 is retryable for each) and keep the text.
start --fail-rate 1 --fail-kinds 503
for spec in gemini/fixture bedrock/fixture azure/fixture; do
    pv=$(echo "$spec" | cut -d/ -f1)
    prog "retry_$pv.dsp" "  base_url: \"https://example.invalid\"
  retries: 1
  cache: false" "$spec"
    DSPCC_BASE_URL="http://127.0.0.1:$port"
    export DSPCC_BASE_URL
    AZURE_OPENAI_API_KEY=azure-lmep-not-a-key GEMINI_API_KEY=gem-lmep-not-a-key
    export AZURE_OPENAI_API_KEY GEMINI_API_KEY
    run "retry_$pv" 1
    unset DSPCC_BASE_URL AZURE_OPENAI_API_KEY GEMINI_API_KEY
    check "$spec through DSPCC_BASE_URL: a 503 is retried once more, then reported with the provider's text" \
        sh -c "test $rc -ne 0 && test $reqs -eq 2 && grep -q 'HTTP 503 from http://127.0.0.1:$port/' '$tmp/retry_$pv.err' &&
               grep -q 'overloaded or not ready' '$tmp/retry_$pv.err' && grep -q 'gave up after 2 attempts' '$tmp/retry_$pv.err'"
done
grep -q 'UNAVAILABLE: The server is overloaded' "$tmp/retry_gemini.err"
check "Gemini's error reads as STATUS: message" test $? -eq 0
