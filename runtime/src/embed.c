/* embed.c — dsp_embed: POST /v1/embeddings through the client's fault
 * handling (dsp_client_post_json), one cache row per input. */
#include "dsp/embed.h"

#include "cache.h"
#include "client_settings.h"
#include "json_write.h"
#include "lm_wire.h"
#include "sha256.h"
#include "trace_int.h"

#include "dsp/value.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_NOT_API "the embeddings reply does not follow OpenAI's API"

void dsp_embeddings_free(dsp_embeddings *e)
{
    if (!e)
        return;
    free(e->vectors);
    memset(e, 0, sizeof *e);
}

static void embed_write_body(dsp_jw *w, const char *model, const char *const *texts, size_t n, int dimensions)
{
    dsp_jw_lit(w, "{\"model\":");
    dsp_jw_str(w, model);
    dsp_jw_lit(w, ",\"input\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            dsp_jw_lit(w, ",");
        dsp_jw_str(w, texts[i]);
    }
    dsp_jw_lit(w, "],\"encoding_format\":\"float\"");
    if (dimensions > 0) {
        dsp_jw_lit(w, ",\"dimensions\":");
        dsp_jw_int(w, dimensions);
    }
    dsp_jw_lit(w, "}");
}

/* The provider and model name of an embedding lm: OpenAI's wire only. */
static dsp_status embed_model(const dsp_lm_config *lm, dsp_provider *provider, const char **name, dsp_error *err)
{
    dsp_status st = dsp_parse_model(lm->model, provider, name, err);
    if (st != DSP_OK)
        return st;
    if (*provider == DSP_PROVIDER_ANTHROPIC || *provider == DSP_PROVIDER_GEMINI || *provider == DSP_PROVIDER_BEDROCK ||
        *provider == DSP_PROVIDER_AZURE)
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "%s: embeddings go through OpenAI's POST /v1/embeddings, which the %s API does not "
                             "serve; use an openai/, ollama/, vllm/, llamacpp/ or compatible/ lm (with base_url) "
                             "for the embedding model",
                             lm->model, dsp_provider_name(*provider));
    return DSP_OK;
}

dsp_status dsp_embed_request_body(const dsp_lm_config *lm, const char *const *texts, size_t n,
                                  const dsp_embed_options *opts, char **body, dsp_error *err)
{
    *body = NULL;
    if (!lm || (!texts && n))
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_embed_request_body: lm and texts are required");
    dsp_provider provider;
    const char *name;
    dsp_status st = embed_model(lm, &provider, &name, err);
    if (st != DSP_OK)
        return st;
    dsp_jw w;
    dsp_jw_init(&w, 256);
    embed_write_body(&w, name, texts, n, opts ? opts->dimensions : 0);
    *body = dsp_jw_take(&w);
    return *body ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing an embeddings request");
}

/* A vector as the text the cache keeps: a JSON array of floats, each in
 * nine significant digits (which read back as the same float). */
static char *embed_vector_text(const float *v, size_t dim)
{
    dsp_jw w;
    dsp_jw_init(&w, 2 + dim * 16);
    dsp_jw_lit(&w, "[");
    for (size_t d = 0; d < dim; d++) {
        char b[32];
        int k = snprintf(b, sizeof b, d ? ",%.9g" : "%.9g", (double)v[d]);
        dsp_jw_raw(&w, b, (size_t)k);
    }
    dsp_jw_lit(&w, "]");
    return dsp_jw_take(&w);
}

/* Reads a JSON array of finite numbers into floats (malloc'ed, *dim of
 * them); NULL with why set when it is not one. */
static float *embed_read_vector(const cJSON *arr, size_t *dim, const char **why)
{
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n < 1 || n > DSP_EMBED_MAX_DIM) {
        *why = "an \"embedding\" is not an array of 1 to 65536 numbers";
        return NULL;
    }
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        *why = "out of memory reading a vector";
        return NULL;
    }
    size_t i = 0;
    for (const cJSON *x = arr->child; x; x = x->next, i++) {
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || fabs(x->valuedouble) > 3.4e38) {
            free(v);
            *why = "an \"embedding\" holds something other than a finite number";
            return NULL;
        }
        v[i] = (float)x->valuedouble;
    }
    *dim = (size_t)n;
    return v;
}

/* The reply's vectors, in index order, as one choice each (their cache
 * text); the usage's prompt tokens. */
dsp_status dsp_embed_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    cJSON *root = dsp_reply_json(body, len, EMBED_NOT_API, err);
    if (!root)
        return DSP_ERR_PROTOCOL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    int n = cJSON_GetArraySize(data);
    const char *why = NULL;
    if (!cJSON_IsArray(data) || n < 1)
        why = "no \"data\" array of embeddings";
    if (!why && !(resp->choices = calloc((size_t)n, sizeof *resp->choices)))
        why = "out of memory reading the reply";
    if (!why)
        resp->n_choices = (size_t)n;
    int pos = 0;
    for (const cJSON *item = why ? NULL : data->child; item && !why; item = item->next, pos++) {
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(item, "index");
        int at = pos;
        if (index) {
            if (!cJSON_IsNumber(index) || index->valuedouble < 0 || index->valuedouble >= n ||
                index->valuedouble != floor(index->valuedouble)) {
                why = "an item's \"index\" is not one of the inputs";
                break;
            }
            at = (int)index->valuedouble;
        }
        if (resp->choices[at]) {
            why = "two items have the same \"index\"";
            break;
        }
        size_t dim = 0;
        float *v = embed_read_vector(cJSON_GetObjectItemCaseSensitive(item, "embedding"), &dim, &why);
        if (!v)
            break;
        resp->choices[at] = embed_vector_text(v, dim);
        free(v);
        if (!resp->choices[at])
            why = "out of memory reading the reply";
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    resp->usage.prompt_tokens = dsp_reply_count(usage, "prompt_tokens");
    dsp_status st = DSP_OK;
    if (why) {
        dsp_chat_response_free(resp);
        st = dsp_reply_protocol_error(err, body, len, EMBED_NOT_API, why);
    }
    cJSON_Delete(root);
    return st;
}

/* The cache key of one input: SHA-256 of a canonical JSON text that no
 * chat key's text can equal ("kind" comes where chat keys have "provider"). */
static dsp_status embed_cache_key(const char *provider, const char *base_url, const char *model, int dimensions,
                                  const char *text, char out[DSP_CACHE_KEY_HEX], dsp_error *err)
{
    dsp_jw w;
    dsp_jw_init(&w, 128 + strlen(base_url) + strlen(model) + strlen(text) * 2);
    dsp_jw_lit(&w, "{\"v\":1,\"kind\":\"embeddings\",\"provider\":");
    dsp_jw_str(&w, provider);
    dsp_jw_lit(&w, ",\"base_url\":");
    dsp_jw_str(&w, base_url);
    dsp_jw_lit(&w, ",\"model\":");
    dsp_jw_str(&w, model);
    dsp_jw_lit(&w, ",\"dimensions\":");
    dsp_jw_int(&w, dimensions > 0 ? dimensions : 0);
    dsp_jw_lit(&w, ",\"input\":");
    dsp_jw_str(&w, text);
    dsp_jw_lit(&w, "}");
    if (!dsp_jw_finish(&w)) {
        dsp_jw_free(&w);
        return dsp_error_set(err, DSP_ERR_CACHE, "SHA-256 of an embeddings cache key failed");
    }
    unsigned char digest[32];
    dsp_sha256 ctx;
    dsp_sha256_init(&ctx);
    dsp_sha256_update(&ctx, w.buf, w.len);
    dsp_sha256_final(&ctx, digest);
    dsp_jw_free(&w);
    dsp_cache_key_hex(digest, out);
    return DSP_OK;
}

/* What dsp_embed holds per input while it works. */
typedef struct embed_row {
    float *v;
    size_t dim;
    int64_t tokens;
    char key[DSP_CACHE_KEY_HEX];
} embed_row;

/* Reads a cached row's vector; false (a miss) when it does not read back. */
static bool embed_from_cache(const dsp_chat_response *r, embed_row *row)
{
    if (r->n_choices != 1 || !r->choices[0])
        return false;
    cJSON *arr = cJSON_Parse(r->choices[0]);
    const char *why = NULL;
    row->v = embed_read_vector(arr, &row->dim, &why);
    cJSON_Delete(arr);
    row->tokens = r->usage.prompt_tokens;
    return row->v != NULL;
}

/* Whether a shared cache's row is a vector (else it is not kept locally). */
bool dsp_embed_row_usable(void *ctx, const dsp_chat_response *r)
{
    (void)ctx;
    embed_row row = {0};
    bool ok = embed_from_cache(r, &row);
    free(row.v);
    return ok;
}

/* Asks the server for rows[idx[0..m)]. */
static dsp_status embed_fetch(dsp_client *c, const dsp_lm_config *lm, const char *name, const char *const *texts,
                              const size_t *idx, size_t m, int dimensions, embed_row *rows, dsp_cache *cache,
                              dsp_error *err)
{
    /* Not `batch`: with --embed-runtime every file shares one translation
     * unit, where batch.c's type of that name is in scope (-Wshadow). */
    const char **sent = malloc(m * sizeof *sent);
    if (!sent)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory sending embeddings");
    for (size_t j = 0; j < m; j++)
        sent[j] = texts[idx[j]];
    dsp_jw w;
    dsp_jw_init(&w, 256);
    embed_write_body(&w, name, sent, m, dimensions);
    free(sent);
    if (!dsp_jw_finish(&w)) {
        dsp_jw_free(&w);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing an embeddings request");
    }
    dsp_chat_response resp;
    dsp_status st = dsp_client_post_json(c, lm, "/embeddings", w.buf, w.len, (int)m, dsp_embed_parse_reply, &resp, err);
    dsp_jw_free(&w);
    if (st != DSP_OK)
        return st;
    if (resp.n_choices != m) {
        st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: %s: %zu inputs were sent and %zu vectors came back", lm->model,
                           EMBED_NOT_API, m, resp.n_choices);
    }
    int64_t total = resp.usage.prompt_tokens;
    for (size_t j = 0; st == DSP_OK && j < m; j++) {
        embed_row *row = &rows[idx[j]];
        const char *why = NULL;
        cJSON *arr = resp.choices[j] ? cJSON_Parse(resp.choices[j]) : NULL;
        row->v = embed_read_vector(arr, &row->dim, &why);
        cJSON_Delete(arr);
        if (!row->v) {
            st = dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: %s: the vector of input %zu is missing", lm->model,
                               EMBED_NOT_API, idx[j]);
            break;
        }
        if (row->dim != rows[idx[0]].dim)
            st = dsp_error_set(err, DSP_ERR_PROTOCOL,
                               "%s: %s: vectors of different lengths came back in one reply (%zu for text %zu, "
                               "%zu for text %zu)",
                               lm->model, EMBED_NOT_API, rows[idx[0]].dim, idx[0], row->dim, idx[j]);
        /* The request's tokens, shared out so the shares add up to it. */
        row->tokens = total * (int64_t)(j + 1) / (int64_t)m - total * (int64_t)j / (int64_t)m;
    }
    /* Cached only once the whole reply checked out: a garbage reply's good
     * half in the cache would fail every later run the same way. */
    for (size_t j = 0; st == DSP_OK && cache && j < m; j++) {
        dsp_chat_response one = { .choices = &resp.choices[j], .n_choices = 1 };
        one.usage.prompt_tokens = rows[idx[j]].tokens;
        (void)dsp_cache_put(cache, rows[idx[j]].key, &one, NULL);
    }
    dsp_chat_response_free(&resp);
    return st;
}

/* What a call was, as far as it got, for its trace line and observer. */
typedef struct embed_seen {
    dsp_provider provider;
    const char *name, *base_url; /* NULL until known */
    int64_t sent_tokens;
    size_t cache_hits;
} embed_seen;

static dsp_status embed(dsp_client *c, const dsp_lm_config *lm, const char *const *texts, size_t n,
                        const dsp_embed_options *opts, dsp_embeddings *out, dsp_error *err, embed_seen *seen);

dsp_status dsp_embed(dsp_client *c, const dsp_lm_config *lm, const char *const *texts, size_t n,
                     const dsp_embed_options *opts, dsp_embeddings *out, dsp_error *err)
{
    if (!out)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_embed: out is NULL");
    memset(out, 0, sizeof *out);
    if (!c || !lm || !texts || n == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "dsp_embed: a client, an lm and at least one text are required");
    dsp_tracer *t = dsp_client_tracer(c);
    dsp_client_options co = dsp_client_settings(c);
    if (!t && !co.observe_embed)
        return embed(c, lm, texts, n, opts, out, err, NULL);
    embed_seen seen = { 0 };
    uint64_t t0 = t ? dsp_trace_now_ns() : 0;
    dsp_status st = embed(c, lm, texts, n, opts, out, err, &seen);
    int dimensions = opts && opts->dimensions > 0 ? opts->dimensions : 0;
    const char *label = opts ? opts->label : NULL;
    if (t) {
        dsp_embed_call_trace ec = { seen.name ? dsp_provider_otel_name(seen.provider, dsp_provider_name(seen.provider))
                                              : NULL,
                                    seen.name, seen.base_url, lm, label, texts, n, dimensions,
                                    st == DSP_OK ? out->dim : 0, st == DSP_OK ? out->usage.prompt_tokens : 0,
                                    seen.sent_tokens, seen.cache_hits, st, err, t0, dsp_trace_now_ns() };
        dsp_trace_embed_call(t, &ec);
    }
    if (co.observe_embed)
        co.observe_embed(co.observe_ctx, lm, label, texts, n, dimensions, seen.cache_hits, st);
    return st;
}

static dsp_status embed(dsp_client *c, const dsp_lm_config *lm, const char *const *texts, size_t n,
                        const dsp_embed_options *opts, dsp_embeddings *out, dsp_error *err, embed_seen *seen)
{
    dsp_provider provider;
    const char *name;
    dsp_status st = embed_model(lm, &provider, &name, err);
    if (st != DSP_OK)
        return st;
    int dimensions = opts && opts->dimensions > 0 ? opts->dimensions : 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = texts[i] ? strlen(texts[i]) : 0;
        if (len == 0)
            return dsp_error_set(err, DSP_ERR_INVALID, "%s: text %zu to embed is empty (embedding APIs refuse it)",
                                 lm->model, i);
        size_t bad = dsp_text_invalid_at(texts[i], len);
        if (bad < len)
            return dsp_error_set(err, DSP_ERR_INVALID,
                                 "%s: text %zu to embed is not UTF-8 without NUL at byte %zu", lm->model, i, bad);
    }
    dsp_client_options co = dsp_client_settings(c);
    const char *base_url = co.base_url ? co.base_url : lm->base_url ? lm->base_url
                                                                    : dsp_provider_default_base_url(provider);
    if (seen) {
        seen->provider = provider;
        seen->name = name;
        seen->base_url = base_url;
    }
    dsp_cache *cache = opts && opts->bypass_cache ? NULL : lm->no_cache ? NULL : dsp_client_cache(c);
    embed_row *rows = calloc(n, sizeof *rows);
    size_t *idx = calloc(DSP_EMBED_BATCH, sizeof *idx);
    if (!rows || !idx) {
        free(rows);
        free(idx);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory embedding %zu texts", n);
    }
    size_t n_sent = 0;
    /* A compatible server is keyed "openai", as chat replies are. */
    const char *pname = dsp_provider_name(provider == DSP_PROVIDER_COMPATIBLE ? DSP_PROVIDER_OPENAI : provider);
    /* Requests go by fixed chunks of the inputs, each whole or not at all:
     * a chunk the cache holds only in part is asked again, so each input's
     * share of its request's tokens is the same in a cold, warm or resumed
     * run. */
    for (size_t j = 0; st == DSP_OK && j < n; j += DSP_EMBED_BATCH) {
        size_t m = n - j < DSP_EMBED_BATCH ? n - j : DSP_EMBED_BATCH;
        bool all = cache != NULL;
        for (size_t i = j; st == DSP_OK && all && i < j + m; i++) {
            bool found = false;
            st = embed_cache_key(pname, base_url ? base_url : "", name, dimensions, texts[i], rows[i].key, err);
            dsp_chat_response hit;
            memset(&hit, 0, sizeof hit);
            if (st == DSP_OK)
                st = dsp_cache_get_checked(cache, rows[i].key, &hit, &found, dsp_embed_row_usable, NULL, err);
            if (found) {
                found = embed_from_cache(&hit, &rows[i]);
                dsp_chat_response_free(&hit);
            }
            all = found;
        }
        if (st == DSP_OK && all) {
            for (size_t i = j; i < j + m; i++) {
                out->cache_hits++;
                dsp_client_count_cached(c, lm, rows[i].tokens);
            }
            continue;
        }
        for (size_t i = j; i < j + m; i++) {
            free(rows[i].v);
            rows[i].v = NULL;
            rows[i].dim = 0;
            idx[i - j] = i;
            if (cache && st == DSP_OK && !rows[i].key[0])
                st = embed_cache_key(pname, base_url ? base_url : "", name, dimensions, texts[i], rows[i].key, err);
        }
        if (st == DSP_OK)
            st = embed_fetch(c, lm, name, texts, idx, m, dimensions, rows, cache, err);
        for (size_t i = j; seen && st == DSP_OK && i < j + m; i++)
            seen->sent_tokens += rows[i].tokens;
        n_sent += m;
    }
    if (cache && n_sent)
        (void)dsp_client_flush(c, NULL);
    size_t dim = st == DSP_OK ? rows[0].dim : 0;
    for (size_t i = 0; st == DSP_OK && i < n; i++)
        if (rows[i].dim != dim)
            st = dsp_error_set(err, DSP_ERR_PROTOCOL,
                               "%s: vectors of different lengths came back (%zu for text 0, %zu for text %zu)",
                               lm->model, dim, rows[i].dim, i);
    if (st == DSP_OK && !(out->vectors = malloc(n * dim * sizeof *out->vectors)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory embedding %zu texts", n);
    for (size_t i = 0; i < n; i++) {
        if (st == DSP_OK) {
            memcpy(out->vectors + i * dim, rows[i].v, dim * sizeof *rows[i].v);
            out->usage.prompt_tokens += rows[i].tokens;
        }
        free(rows[i].v);
    }
    free(rows);
    free(idx);
    if (st != DSP_OK) {
        dsp_embeddings_free(out);
        return st;
    }
    out->n = n;
    out->dim = dim;
    if (seen)
        seen->cache_hits = out->cache_hits;
    return DSP_OK;
}
