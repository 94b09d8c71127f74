/* lm_options.c — LM providers and the options an `lm` block accepts. */
#include "builtins.h"

#include <string.h>

/* The providers and their defaults are libdsprt's table (dsp_provider_find),
 * shared with the runtime. */

static const char *const adapters[] = { "chat", "json", NULL };
static const char *const tool_callings[] = { "text", "native", NULL };
const char *const bi_lora_servings[] = { "vllm", "llama.cpp", NULL };

const bi_option bi_lm_options[] = {
    { "base_url", BI_OPT_STRING, 0, 0, NULL,
      "http(s) URL of the API, ending before /chat/completions; several separated by spaces: "
      "calls go to each in turn and fail over" },
    { "api_key_env", BI_OPT_STRING, 0, 0, NULL, "NAME of the environment variable with the key" },
    { "temperature", BI_OPT_FLOAT, 0, 2, NULL, "sampling temperature" },
    { "top_p", BI_OPT_FLOAT, 0, 1, NULL, "nucleus sampling" },
    { "max_tokens", BI_OPT_INT, 1, 1e9, NULL, "longest reply" },
    { "timeout_ms", BI_OPT_INT, 1, 3.6e6, NULL, "per-request timeout" },
    { "retries", BI_OPT_INT, 0, 20, NULL, "retries on transient failures" },
    { "cache", BI_OPT_BOOL, 0, 0, NULL, "cache replies on disk" },
    { "adapter", BI_OPT_CHOICE, 0, 0, adapters,
      "chat ([[ ## field ## ]] sections, the default) or json (a JSON object the API enforces)" },
    { "tool_calling", BI_OPT_CHOICE, 0, 0, tool_callings,
      "how react steps call tools: text (next_tool_name/next_tool_args fields, the default) or native "
      "(the API's tools: OpenAI tool_calls, Anthropic tool_use)" },
    { "rpm", BI_OPT_INT, 1, 1e9, NULL, "requests per minute the client paces itself to (the endpoint's rate limit)" },
    { "tpm", BI_OPT_INT, 1, 1e12, NULL, "tokens per minute the client paces itself to (prompt bytes / 4 + max_tokens a request)" },
    { "input_usd_per_mtok", BI_OPT_FLOAT, 0, 1e6, NULL, "price of a million prompt tokens, for cost reports" },
    { "output_usd_per_mtok", BI_OPT_FLOAT, 0, 1e6, NULL, "price of a million completion tokens, for cost reports" },
    { "trainer", BI_OPT_STRING, 0, 0, NULL,
      "local LoRA trainer: a command with {data}, {base_model}, {output} (and {epochs}, {seed})" },
    { "lora_serving", BI_OPT_CHOICE, 0, 0, bi_lora_servings,
      "how the server selects a LoRA adapter: vllm (as the model) or llama.cpp (lora: [{id, scale}])" },
    { "lora_id", BI_OPT_INT, 0, 1e6, NULL, "llama.cpp: the adapter's index in the server's --lora list" },
};
const size_t bi_n_lm_options = sizeof bi_lm_options / sizeof bi_lm_options[0];
