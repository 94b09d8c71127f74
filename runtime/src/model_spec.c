/* model_spec.c — "provider/model" strings, provider defaults and endpoint URLs. */
#include "lm_wire.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const dsp_provider_info *info_of(dsp_provider p)
{
    size_t n = 0;
    const dsp_provider_info *all = dsp_provider_table(&n);
    for (size_t i = 0; i < n; i++)
        if (all[i].provider == p)
            return &all[i];
    return NULL;
}

/* "openai, anthropic, ..." into buf, for messages. */
static const char *known_names(char *buf, size_t size)
{
    size_t used = 0, n = 0;
    const dsp_provider_info *all = dsp_provider_table(&n);
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", all[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

dsp_status dsp_parse_model(const char *spec, dsp_provider *provider, const char **model_name, dsp_error *err)
{
    char known[256];
    if (!spec || !*spec)
        return dsp_error_set(err, DSP_ERR_INVALID, "empty model: write \"provider/model\", e.g. \"openai/gpt-4o-mini\"");
    const char *slash = strchr(spec, '/');
    if (!slash)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "model \"%s\" has no provider: write \"provider/model\" with provider one of %s", spec,
                             known_names(known, sizeof known));
    size_t plen = (size_t)(slash - spec);
    const dsp_provider_info *info = dsp_provider_find(spec, plen);
    if (!info)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "model \"%s\": unknown provider \"%.*s\" (known: %s; any other OpenAI-compatible "
                             "server is \"compatible/...\" with a base URL)",
                             spec, (int)plen, spec, known_names(known, sizeof known));
    if (!slash[1])
        return dsp_error_set(err, DSP_ERR_INVALID, "model \"%s\" names no model after the provider", spec);
    if (provider)
        *provider = info->provider;
    if (model_name)
        *model_name = slash + 1;
    return DSP_OK;
}

const char *dsp_provider_name(dsp_provider p)
{
    const dsp_provider_info *i = info_of(p);
    return i ? i->name : "unknown";
}

const char *dsp_provider_default_base_url(dsp_provider p)
{
    const dsp_provider_info *i = info_of(p);
    return i ? i->base_url : NULL;
}

/* True when the URL is just scheme://host[:port], with no path. */
static int url_has_no_path(const char *url, size_t len)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    return memchr(p, '/', len - (size_t)(p - url)) == NULL;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* base_url's length without trailing slashes, once its scheme is checked. */
static dsp_status base_len(const char *base_url, size_t *len, dsp_error *err)
{
    if (!base_url || (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0))
        return dsp_error_set(err, DSP_ERR_INVALID, "base URL \"%s\" must start with http:// or https://",
                             base_url ? base_url : "(none)");
    /* Of several base URLs (separated by spaces), the first: control-plane
     * calls (fine-tuning, loading adapters) go there. */
    size_t n = strcspn(base_url, " ");
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    *len = n;
    return DSP_OK;
}

/* The first len bytes of base_url, then suffix, malloc'ed into *out. */
static dsp_status url_join(const char *base_url, size_t len, const char *suffix, char **out, dsp_error *err)
{
    size_t sl = strlen(suffix);
    char *url = malloc(len + sl + 1);
    if (!url)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building an endpoint URL");
    /* memcpy, not snprintf: this runs on every call. */
    memcpy(url, base_url, len);
    memcpy(url + len, suffix, sl + 1);
    *out = url;
    return DSP_OK;
}

/* The URL fmt makes of its arguments, malloc'ed into *out: the endpoints
 * with the model in their path (Bedrock, Gemini, Azure). */
static dsp_status url_printf(char **out, dsp_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static dsp_status url_printf(char **out, dsp_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *url = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!url)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building an endpoint URL");
    va_start(ap, fmt);
    vsnprintf(url, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *out = url;
    return DSP_OK;
}

/* One base URL has to work for both kinds of endpoint, because
 * DSPCC_BASE_URL overrides every LM of a program: "http://host:port" and
 * "http://host:port/v1" both reach /v1/chat/completions and /v1/messages. */
dsp_status dsp_endpoint_url(dsp_provider p, const char *base_url, char **out, dsp_error *err)
{
    *out = NULL;
    if (!base_url)
        base_url = dsp_provider_default_base_url(p);
    if (!base_url)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "a %s lm has no default base URL: give the server's, e.g. \"http://127.0.0.1:8080/v1\"",
                             dsp_provider_name(p));
    size_t len = 0;
    dsp_status st = base_len(base_url, &len, err);
    if (st != DSP_OK)
        return st;
    const char *suffix;
    if (p == DSP_PROVIDER_ANTHROPIC)
        suffix = ends_with(base_url, len, "/v1") ? "/messages" : "/v1/messages";
    else
        suffix = url_has_no_path(base_url, len) ? "/v1/chat/completions" : "/chat/completions";
    return url_join(base_url, len, suffix, out, err);
}

/* The model name as one path segment: ':' and '/' escaped (Bedrock's ids
 * hold ':', a deployment or model name may hold anything). */
static dsp_status path_segment(const char *model, char **out, dsp_error *err)
{
    char *e = curl_easy_escape(NULL, model, 0);
    if (!e)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building an endpoint URL");
    *out = strdup(e);
    curl_free(e);
    return *out ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building an endpoint URL");
}

const char *dsp_azure_api_version(void)
{
    const char *v = getenv("OPENAI_API_VERSION");
    return v && *v ? v : DSP_AZURE_API_VERSION;
}

/* Bedrock: BASE/model/MODEL/converse. The default endpoint (us-east-1's)
 * moves to $AWS_REGION's region when that is set. */
static dsp_status bedrock_url(const char *base_url, const char *model, char **out, dsp_error *err)
{
    *out = NULL;
    char host[96];
    if (strcmp(base_url, dsp_provider_default_base_url(DSP_PROVIDER_BEDROCK)) == 0) {
        char region[DSP_AWS_REGION_MAX];
        dsp_status st = dsp_bedrock_region(NULL, region, err);
        if (st != DSP_OK)
            return st;
        snprintf(host, sizeof host, "https://bedrock-runtime.%s.amazonaws.com", region);
        base_url = host;
    }
    size_t len = 0;
    dsp_status st = base_len(base_url, &len, err);
    if (st != DSP_OK)
        return st;
    char *seg = NULL;
    st = path_segment(model, &seg, err);
    if (st != DSP_OK)
        return st;
    st = url_printf(out, err, "%.*s/model/%s/converse", (int)len, base_url, seg);
    free(seg);
    return st;
}

dsp_status dsp_stream_url(dsp_provider provider, char **url, dsp_error *err)
{
    const char *verb = provider == DSP_PROVIDER_GEMINI ? ":generateContent" : "/converse";
    const char *stream = provider == DSP_PROVIDER_GEMINI ? ":streamGenerateContent?alt=sse" : "/converse-stream";
    if (provider != DSP_PROVIDER_GEMINI && provider != DSP_PROVIDER_BEDROCK)
        return DSP_OK;
    size_t n = strlen(*url), vn = strlen(verb), sn = strlen(stream);
    if (n < vn || strcmp(*url + n - vn, verb) != 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s does not end in %s", *url, verb);
    char *s = malloc(n - vn + sn + 1);
    if (!s)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a URL");
    memcpy(s, *url, n - vn);
    memcpy(s + n - vn, stream, sn + 1);
    free(*url);
    *url = s;
    return DSP_OK;
}

/* Gemini: BASE/v1beta/models/MODEL:generateContent for a base without a
 * path (the API's own), BASE/models/MODEL:generateContent under a path
 * (".../v1beta", or a proxy's prefix). */
static dsp_status gemini_url(const char *base_url, const char *model, char **out, dsp_error *err)
{
    *out = NULL;
    size_t len = 0;
    dsp_status st = base_len(base_url, &len, err);
    if (st != DSP_OK)
        return st;
    char *seg = NULL;
    st = path_segment(model, &seg, err);
    if (st != DSP_OK)
        return st;
    const char *version = url_has_no_path(base_url, len) ? "/v1beta" : "";
    st = url_printf(out, err, "%.*s%s/models/%s:generateContent", (int)len, base_url, version, seg);
    free(seg);
    return st;
}

dsp_status dsp_model_endpoint_url(dsp_provider p, const char *base_url, const char *model, char **out,
                                  dsp_error *err)
{
    if (p == DSP_PROVIDER_BEDROCK)
        return bedrock_url(base_url ? base_url : dsp_provider_default_base_url(p), model, out, err);
    if (p == DSP_PROVIDER_GEMINI)
        return gemini_url(base_url ? base_url : dsp_provider_default_base_url(p), model, out, err);
    if (p != DSP_PROVIDER_AZURE)
        return dsp_endpoint_url(p, base_url, out, err);
    *out = NULL;
    if (!base_url)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "an azure lm has no default base URL: give the resource endpoint, e.g. "
                             "\"https://RESOURCE.openai.azure.com\"");
    size_t len = 0;
    dsp_status st = base_len(base_url, &len, err);
    if (st != DSP_OK)
        return st;
    const char *version = dsp_azure_api_version();
    for (const char *c = version; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || *c == '-'))
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "OPENAI_API_VERSION \"%s\" is not an Azure API version like \"%s\"", version,
                                 DSP_AZURE_API_VERSION);
    char *seg = NULL;
    st = path_segment(model, &seg, err);
    if (st != DSP_OK)
        return st;
    /* A base that already ends in /openai (as Azure's portal shows some
     * endpoints) gets the rest of the path only. */
    const char *prefix = ends_with(base_url, len, "/openai") ? "" : "/openai";
    st = url_printf(out, err, "%.*s%s/deployments/%s/chat/completions?api-version=%s", (int)len, base_url, prefix,
                    seg, version);
    free(seg);
    return st;
}

dsp_status dsp_api_base_url(const char *base_url, char **out, dsp_error *err)
{
    *out = NULL;
    size_t len = 0;
    dsp_status st = base_len(base_url, &len, err);
    if (st != DSP_OK)
        return st;
    return url_join(base_url, len, url_has_no_path(base_url, len) ? "/v1" : "", out, err);
}

bool dsp_url_is_loopback(const char *url)
{
    /* The host of a loopback URL is a server on this machine (the fixture,
     * a local vLLM behind an openai/... lm). */
    CURLU *u = curl_url();
    char *host = NULL;
    bool local = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        local = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0 ||
                (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host));
    }
    curl_free(host);
    curl_url_cleanup(u);
    return local;
}

bool dsp_provider_needs_key(dsp_provider p, const char *base_url)
{
    /* Servers that are local by nature (or of unknown kind) get no demand. */
    const dsp_provider_info *info = info_of(p);
    if (!info || !info->api_key_env)
        return false;
    /* A server on this machine: no key to demand. */
    return !base_url || !dsp_url_is_loopback(base_url);
}

/* Per-call parameters win field by field over the LM's defaults. */
dsp_lm_params dsp_params_merge(const dsp_lm_params *defaults, const dsp_lm_params *call)
{
    dsp_lm_params p = *defaults;
    if (call->temperature >= 0)
        p.temperature = call->temperature;
    if (call->max_tokens > 0)
        p.max_tokens = call->max_tokens;
    if (call->n > 1)
        p.n = call->n;
    if (call->has_seed) {
        p.has_seed = true;
        p.seed = call->seed;
    }
    if (call->stop[0])
        memcpy(p.stop, call->stop, sizeof p.stop);
    if (call->json_schema) {
        p.json_schema = call->json_schema;
        p.json_strict = call->json_strict;
    }
    if (call->has_top_p) {
        p.has_top_p = true;
        p.top_p = call->top_p;
    }
    if (call->has_lora) {
        p.has_lora = true;
        p.lora_id = call->lora_id;
        p.lora_scale = call->lora_scale;
        p.lora_sha256 = call->lora_sha256;
    }
    if (call->tools)
        p.tools = call->tools;
    return p;
}
