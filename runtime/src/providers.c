/* providers.c — the one table of providers. It depends on nothing but
 * dsp/client.h, so the compiler's front end links it alone (compiler/
 * build.mk) and resolves a .dsp lm's defaults from the same rows the
 * runtime reads. */
#include "dsp/client.h"

#include <string.h>

/* The one table of providers: the compiler resolves a .dsp lm's defaults
 * from it and the runtime its prefixes. Base URLs and key variables are the
 * ones each service documents for OpenAI-compatible clients. */
static const dsp_provider_info providers[] = {
    {"openai", DSP_PROVIDER_OPENAI, "https://api.openai.com/v1", "OPENAI_API_KEY", false, "OpenAI chat completions"},
    {"anthropic", DSP_PROVIDER_ANTHROPIC, "https://api.anthropic.com", "ANTHROPIC_API_KEY", false,
     "Anthropic messages"},
    {"ollama", DSP_PROVIDER_OLLAMA, "http://127.0.0.1:11434/v1", NULL, false, "a local Ollama server"},
    {"vllm", DSP_PROVIDER_VLLM, "http://localhost:8000/v1", NULL, true, "a vLLM server (give base_url)"},
    {"compatible", DSP_PROVIDER_COMPATIBLE, NULL, NULL, false, "any OpenAI-compatible server (give base_url)"},
    {"mistral", DSP_PROVIDER_MISTRAL, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", false, "Mistral AI"},
    {"groq", DSP_PROVIDER_GROQ, "https://api.groq.com/openai/v1", "GROQ_API_KEY", false, "Groq"},
    {"together", DSP_PROVIDER_TOGETHER, "https://api.together.xyz/v1", "TOGETHER_API_KEY", false, "Together AI"},
    {"deepseek", DSP_PROVIDER_DEEPSEEK, "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", false, "DeepSeek"},
    {"openrouter", DSP_PROVIDER_OPENROUTER, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", false,
     "OpenRouter"},
    {"fireworks", DSP_PROVIDER_FIREWORKS, "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", false,
     "Fireworks AI"},
    {"cohere", DSP_PROVIDER_COHERE, "https://api.cohere.ai/compatibility/v1", "CO_API_KEY", false,
     "Cohere's OpenAI compatibility API"},
    {"lmstudio", DSP_PROVIDER_LMSTUDIO, "http://localhost:1234/v1", NULL, false, "a local LM Studio server"},
    {"llamacpp", DSP_PROVIDER_LLAMACPP, "http://localhost:8080/v1", NULL, false, "a local llama.cpp server"},
    /* The resource endpoint (https://RESOURCE.openai.azure.com) is the
     * user's own: no default. AZURE_OPENAI_API_KEY is the official SDKs'. */
    {"azure", DSP_PROVIDER_AZURE, NULL, "AZURE_OPENAI_API_KEY", false,
     "Azure OpenAI (give base_url: the resource endpoint)"},
    /* GEMINI_API_KEY is the variable Google's own SDKs read. */
    {"gemini", DSP_PROVIDER_GEMINI, "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", false,
     "Google's Gemini API (generateContent)"},
    /* Credentials are AWS's standard variables (AWS_ACCESS_KEY_ID with
     * this one, AWS_SESSION_TOKEN when set); the region is the base URL's,
     * else AWS_REGION's (client.c). */
    {"bedrock", DSP_PROVIDER_BEDROCK, "https://bedrock-runtime.us-east-1.amazonaws.com", "AWS_SECRET_ACCESS_KEY",
     false, "Amazon Bedrock (Converse API, AWS SigV4)"},
};
#define N_PROVIDERS (sizeof providers / sizeof providers[0])

const dsp_provider_info *dsp_provider_find(const char *name, size_t len)
{
    for (size_t i = 0; name && i < N_PROVIDERS; i++)
        if (strlen(providers[i].name) == len && strncmp(name, providers[i].name, len) == 0)
            return &providers[i];
    return NULL;
}

const char *dsp_provider_otel_name(dsp_provider p, const char *name)
{
    /* OpenTelemetry's well-known gen_ai.provider.name values (semantic
     * conventions for generative AI); a provider without one keeps its own
     * name, as the conventions ask. */
    switch (p) {
    case DSP_PROVIDER_AZURE: return "azure.ai.openai";
    case DSP_PROVIDER_GEMINI: return "gcp.gemini";
    case DSP_PROVIDER_BEDROCK: return "aws.bedrock";
    case DSP_PROVIDER_MISTRAL: return "mistral_ai";
    default: return name;
    }
}

const dsp_provider_info *dsp_provider_table(size_t *n)
{
    *n = N_PROVIDERS;
    return providers;
}

