/* dsp/client.h — the LM client: endpoints, retries, concurrency, cache, usage.
 *
 * A dsp_client is created once per process (or per component) and shared by
 * many threads. It owns the connection pool, the response cache and the
 * running usage totals. Which endpoint a call goes to is described per call
 * by a dsp_lm_config, because one program may use several LMs (task LM,
 * teacher, judge).
 */
#ifndef DSP_CLIENT_H
#define DSP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/chat.h"
#include "dsp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsp_provider {
    DSP_PROVIDER_OPENAI,     /* OpenAI chat completions and every compatible server */
    DSP_PROVIDER_ANTHROPIC,  /* Anthropic Messages API */
    DSP_PROVIDER_OLLAMA,     /* OpenAI-compatible, default base URL http://localhost:11434/v1 */
    DSP_PROVIDER_VLLM,       /* OpenAI-compatible, default base URL http://localhost:8000/v1 */
    DSP_PROVIDER_COMPATIBLE, /* any OpenAI-compatible server; no default base URL */
    /* Presets: OpenAI-compatible services with their own default base URL
     * and key variable (dsp_provider_find lists them). */
    DSP_PROVIDER_MISTRAL,
    DSP_PROVIDER_GROQ,
    DSP_PROVIDER_TOGETHER,
    DSP_PROVIDER_DEEPSEEK,
    DSP_PROVIDER_OPENROUTER,
    DSP_PROVIDER_FIREWORKS,
    DSP_PROVIDER_COHERE,     /* Cohere's OpenAI compatibility API */
    DSP_PROVIDER_LMSTUDIO,
    DSP_PROVIDER_LLAMACPP,
    DSP_PROVIDER_AZURE,      /* Azure OpenAI: the model part is the deployment */
    DSP_PROVIDER_GEMINI,     /* Google's Gemini API, generateContent */
    DSP_PROVIDER_BEDROCK     /* Amazon Bedrock's Converse API, signed with AWS SigV4 */
} dsp_provider;

/* What a provider prefix means: the one table of providers, which both the
 * compiler (lm strings in .dsp files) and the runtime read. */
typedef struct dsp_provider_info {
    const char *name;           /* the prefix of "name/model" */
    dsp_provider provider;
    const char *base_url;       /* default; NULL: the lm must give one */
    const char *api_key_env;    /* default key variable; NULL: no key */
    bool dsp_needs_base_url;    /* a .dsp lm must name its server (vllm: no one address is usual) */
    const char *doc;
} dsp_provider_info;

/* The entry for the first len bytes of name, or NULL. */
const dsp_provider_info *dsp_provider_find(const char *name, size_t len);
/* The whole table (*n entries), in the order docs list it. */
const dsp_provider_info *dsp_provider_table(size_t *n);
/* The provider as OpenTelemetry names it (gen_ai.provider.name):
 * "azure.ai.openai", "gcp.gemini", "aws.bedrock", "mistral_ai"; openai,
 * anthropic, groq, deepseek and cohere are already their names, and a
 * provider with no well-known value keeps name (its prefix, e.g. ollama). */
const char *dsp_provider_otel_name(dsp_provider p, const char *name);

/* One LM endpoint, as a program declares it. All strings are borrowed and
 * must outlive every call that uses the config (generated code keeps them in
 * static const tables). */
/* How a predictor call asks for its outputs (docs/runtime.md):
 *   CHAT: `[[ ## field ## ]]` sections (DSPy's ChatAdapter); a reply that
 *         does not parse is asked again with JSON.
 *   JSON: one JSON object with a key per output, enforced natively where
 *         the API can: OpenAI-compatible `response_format` json_schema with
 *         `strict: true`, Anthropic a forced tool whose input is the object.
 * DEFAULT: in an lm config, CHAT; in dsp_predict_options, the lm's. */
typedef enum dsp_adapter_kind { DSP_ADAPTER_DEFAULT = 0, DSP_ADAPTER_CHAT, DSP_ADAPTER_JSON } dsp_adapter_kind;

/* How a react step (dsp/react.h) asks the LM for its next tool:
 *   TEXT:   the step's next_thought, next_tool_name and next_tool_args
 *           fields, through the lm's adapter (DSPy's ReAct).
 *   NATIVE: the API's own tool calling: OpenAI-compatible `tools` and
 *           `tool_calls` (results as `role: tool` messages), Anthropic
 *           `tools` and `tool_use` blocks (results as `tool_result`
 *           blocks). Not spoken with Gemini or Bedrock. */
typedef enum dsp_tool_calling { DSP_TOOL_CALLING_TEXT = 0, DSP_TOOL_CALLING_NATIVE } dsp_tool_calling;
/* The most base URLs one lm may list (dsp_lm_config.base_url). */
#define DSP_MAX_BASE_URLS 8

typedef struct dsp_lm_config {
    const char *model;        /* "provider/model", e.g. "openai/gpt-4o-mini" */
    /* NULL: the provider's default. Several URLs separated by spaces: the
     * same model served at each; calls go to each in turn and fail over
     * from one that cannot be reached or answers 5xx (docs/runtime.md,
     * "Several endpoints"). The first names the lm in cache keys. */
    const char *base_url;
    const char *api_key_env;  /* NAME of the environment variable holding the key; NULL: none */
    dsp_lm_params params;     /* defaults for calls that use this LM */
    /* Limits of this LM's calls; zero values leave the client's options in
     * force (dsp_client_options: timeout_s, max_retries, the cache). */
    int timeout_ms;           /* > 0: each attempt's limit, connecting included */
    bool has_retries;         /* true: `retries` replaces the client's max_retries */
    int retries;
    bool no_cache;            /* neither read nor write the cache for this LM */
    dsp_adapter_kind adapter; /* DEFAULT or CHAT: the chat adapter; JSON: the JSON adapter */
    /* Prices in US dollars per million tokens, for cost reports (0: not
     * known). A call answered from the cache costs nothing. */
    double usd_per_mtok_in, usd_per_mtok_out;
    dsp_tool_calling tool_calling; /* react steps on this lm: TEXT (the default) or NATIVE */
    /* Rate limits of the endpoint: requests and tokens per minute the
     * client paces itself to (0: none; docs/runtime.md, "Rate limits"). */
    int rpm, tpm;
} dsp_lm_config;

/* What tokens cost on lm: prompt and completion tokens at its prices. */
double dsp_lm_cost(const dsp_lm_config *lm, int64_t prompt_tokens, int64_t completion_tokens);

/* Splits "provider/model" into a provider and the model name the API expects. */
dsp_status dsp_parse_model(const char *spec, dsp_provider *provider, const char **model_name, dsp_error *err);

struct dsp_predictor; /* dsp/signature.h */

/* Receives a warning the client gives once and goes on (a shared cache
 * that cannot be reached): msg is one line without a newline. */
typedef void (*dsp_warn_fn)(void *ctx, const char *msg);

typedef struct dsp_client_options {
    const char *cache_dir;     /* NULL: $DSPCC_CACHE_DIR, else $XDG_CACHE_HOME/dspcc, else ~/.cache/dspcc */
    bool no_cache;             /* disable the response cache entirely */
    /* A shared cache beside the local one, redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
     * (docs/runtime.md, "A shared cache"). NULL: $DSPCC_CACHE_URL if set,
     * else none. A malformed URL fails dsp_client_new; a Redis that cannot
     * be reached or fails later warns once and the local cache goes on alone. */
    const char *cache_url;
    dsp_warn_fn warn;          /* NULL: such warnings go to stderr as "warning: ..." */
    void *warn_ctx;
    const char *base_url;      /* overrides every config's base URL; NULL: $DSPCC_BASE_URL if set */
    int max_in_flight;         /* <= 0: 16 */
    int max_retries;           /* < 0: 5 */
    double connect_timeout_s;  /* <= 0: 10 */
    double timeout_s;          /* <= 0: 120 (total per attempt) */
    double backoff_base_s;     /* <= 0: 0.5; attempt k waits base*2^k plus jitter, capped at 30 s */
    double deadline_s;         /* <= 0: 300; one call, all its attempts and waits together */
    /* An LM's own timeout_ms and retries win over timeout_s and
     * max_retries, unless these say otherwise (the command line's
     * --timeout and --retries set them). */
    bool timeout_over_lm, retries_over_lm;
    const char *trace_path;    /* append a JSON line per LM and module call here (dsp/trace.h);
                                * NULL: $DSPCC_TRACE if set, else no trace */
    int trace_content;         /* 1: traces hold message contents; 0: not; < 0 (the default):
                                * $DSPCC_TRACE_CONTENT=1 says */
    /* The breaker: after breaker_after LM calls in a row failed with the
     * same kind of error (HTTP 429, 5xx, another HTTP error, connection
     * errors, timeouts, malformed replies; replies the caller could not
     * parse after 3 x as many), or once more than breaker_rate of the last
     * 50 calls failed (unparseable replies aside), the client stops: every
     * later call that is not a cache hit fails at once with
     * DSP_ERR_STOPPED, saying why. 0: 8 calls and 0.8; < 0: off. */
    int breaker_after;
    double breaker_rate;
    /* A variant of the program, for shadow mode: predictors that replace,
     * in every call on this client, the program's predictor of the same
     * name (its instructions, demos, lm). NULL entries end it early.
     * Borrowed: must outlive the client (generated code's
     * NAME_shadow_variant is static). NULL: none. */
    const struct dsp_predictor *const *variant;
    size_t n_variant;
    /* Called once per dsp_chat call when it ends (a cache hit and a failure
     * too), on the calling thread, with the lm and the request exactly as
     * the call sent them and the reply (NULL unless st is DSP_OK). For
     * seeing every prompt of a run as it went out (`dspcc prompt --run`).
     * It must not call the client. NULL: none. */
    void (*observe)(void *ctx, const dsp_lm_config *lm, const dsp_chat_request *req,
                    const dsp_chat_response *resp, dsp_status st);
    /* The same for each dsp_embed call (dsp/embed.h): the lm, what the call
     * is for (its options' label: knn passes the predictor's name; may be
     * NULL), the texts[0..n) as given, the vector length asked (0: the
     * model's own), how many the cache answered, and st. NULL: none. */
    void (*observe_embed)(void *ctx, const dsp_lm_config *lm, const char *label, const char *const *texts, size_t n,
                          int dimensions, size_t cache_hits, dsp_status st);
    void *observe_ctx;                 /* both observers' */
} dsp_client_options;

dsp_client_options dsp_client_options_default(void);

typedef struct dsp_client dsp_client;

dsp_status dsp_client_new(const dsp_client_options *opts, dsp_client **out, dsp_error *err);
/* Writes what the response cache still holds in memory (docs/runtime.md,
 * "The response cache") to its file, then frees the client. */
void dsp_client_free(dsp_client *c);
/* Writes the cache's queued replies to its file now, in one transaction:
 * they then survive a kill -9. dsp_chat_batch and every generated
 * NAME_run_batch do at their end. DSP_OK when there is no cache. */
dsp_status dsp_client_flush(dsp_client *c, dsp_error *err);

/* The JSON body dsp_chat sends for req on lm (for Anthropic with n > 1,
 * each of the n requests), as malloc'ed text: the same writer, no key (the
 * key travels in a header, never in the body) and no network. For showing
 * exactly what goes over the wire. */
dsp_status dsp_chat_request_body(const dsp_lm_config *lm, const dsp_chat_request *req, char **body, dsp_error *err);

/* One chat completion. On DSP_OK, *resp holds the choices (free with
 * dsp_chat_response_free). Retries transient failures (connection errors,
 * timeouts, 408, 409, 429, 5xx) with backoff, honouring Retry-After; 400,
 * 401, 403 and 404 fail at once with the provider's message. */
dsp_status dsp_chat(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *req,
                    dsp_chat_response *resp, dsp_error *err);

/* Runs n independent requests with up to max_in_flight in flight; results
 * come back in order. statuses[i] and errs[i] (each may be NULL as arrays)
 * report each request; returns DSP_OK when every request succeeded. */
dsp_status dsp_chat_batch(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *reqs, size_t n,
                          dsp_chat_response *resps, dsp_status *statuses, dsp_error *errs);

typedef struct dsp_usage_totals {
    int64_t calls;          /* completed LM calls, cache hits included */
    int64_t http_requests;  /* requests actually sent, retries included */
    int64_t http_unanswered; /* of those, the ones that got not one byte back (timed out or the
                              * connection failed before a status line): an endpoint that says nothing */
    int64_t retries;
    int64_t cache_hits;
    int64_t cache_misses;
    int64_t prompt_tokens;  /* from the endpoint's usage reports, cache hits excluded */
    int64_t completion_tokens;
    double cost_usd;        /* the tokens above at their lm's prices (dsp_lm_config): money spent */
    /* What the calls answered from the cache used when first made, and what
     * that costs at the prices: with the fields above, the same numbers
     * whether or not the cache was warm. */
    int64_t cached_prompt_tokens, cached_completion_tokens;
    double cached_cost_usd;
    int64_t unpriced_calls; /* completed calls (cached too) whose lm has no price: in no cost */
    /* The two costs exact, in whole picodollars (1e-12 USD): cost_usd and
     * cached_cost_usd are these / 1e12. Sums and differences of these are
     * the same whatever order the calls finished in (those of the doubles
     * may differ in their last digits), so compute with these. */
    int64_t cost_pusd, cached_cost_pusd;
} dsp_usage_totals;

/* A consistent snapshot of the running totals. */
dsp_usage_totals dsp_client_usage(dsp_client *c);

/* The usage of one group of calls, counted besides the client's totals:
 * an optimizer's trial evaluated while others run, whose own calls the
 * difference of two snapshots of the totals would not tell apart. Zero
 * one, make it current with dsp_usage_group_use on the thread or event-loop
 * job that makes the calls, and read it with dsp_client_group_usage once
 * they are done. The jobs a job starts (dsp_loop_run_each, dsp_run_each,
 * dsp_chat_batch) count into their starter's group. One client counts into
 * a group. */
typedef struct dsp_usage_group {
    dsp_usage_totals totals; /* costs in its picodollar fields (read with dsp_client_group_usage) */
} dsp_usage_group;

/* Makes g (NULL: none) the group of the calling thread, or of the calling
 * job of an event loop; returns the group it had. */
dsp_usage_group *dsp_usage_group_use(dsp_usage_group *g);
/* The calling thread's (or job's) group; NULL: none. */
dsp_usage_group *dsp_usage_group_current(void);
/* g's totals so far, costs in dollars, read under c's lock. */
dsp_usage_totals dsp_client_group_usage(dsp_client *c, const dsp_usage_group *g);

/* Whether the client's breaker stopped it (see breaker_after); if so and
 * why is not NULL, why gets the reason (at most n bytes, NUL-terminated). */
bool dsp_client_stopped(dsp_client *c, char *why, size_t n);

#ifdef __cplusplus
}
#endif
#endif
