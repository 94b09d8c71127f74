/* lm_gemini.c — Google's Gemini API (POST {base}/v1beta/models/{model}:
 * generateContent): request bodies and replies. System messages become
 * `systemInstruction`, the other turns `contents` with roles user and
 * model; sampling goes in `generationConfig`, and a json_schema becomes
 * `responseMimeType: application/json` with `responseSchema`, Gemini's
 * OpenAPI subset of JSON Schema (keywords outside it are dropped, a
 * ["T","null"] type becomes T with nullable). A reply's text is each
 * candidate's text parts (thought parts left out); usage comes from
 * `usageMetadata`. */
#include "lm_wire.h"

#include "json_write.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEMINI_NOT_API "Gemini reply does not follow the generateContent API"

/* The Schema object's fields (ai.google.dev/api/caching#Schema). */
static const char *const schema_keys[] = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum", NULL,
};

static bool schema_key(const char *k)
{
    for (int i = 0; schema_keys[i]; i++)
        if (strcmp(schema_keys[i], k) == 0)
            return true;
    return false;
}

/* s as a Gemini Schema (a new tree, NULL when out of memory). */
static cJSON *gemini_schema(const cJSON *s)
{
    cJSON *out = cJSON_CreateObject();
    if (!out || !cJSON_IsObject(s))
        return out;
    for (const cJSON *kv = s->child; kv; kv = kv->next) {
        if (!schema_key(kv->string))
            continue;
        cJSON *v = NULL;
        if (strcmp(kv->string, "properties") == 0 && cJSON_IsObject(kv)) {
            v = cJSON_CreateObject();
            cJSON *order = cJSON_CreateArray();
            for (const cJSON *p = kv->child; v && order && p; p = p->next) {
                cJSON_AddItemToObject(v, p->string, gemini_schema(p));
                cJSON_AddItemToArray(order, cJSON_CreateString(p->string));
            }
            /* Gemini orders a reply's keys alphabetically unless told:
             * the declared order is the signature's. */
            if (order && !cJSON_GetObjectItemCaseSensitive(s, "propertyOrdering"))
                cJSON_AddItemToObject(out, "propertyOrdering", order);
            else
                cJSON_Delete(order);
        } else if (strcmp(kv->string, "items") == 0 && cJSON_IsObject(kv)) {
            v = gemini_schema(kv);
        } else if (strcmp(kv->string, "anyOf") == 0 && cJSON_IsArray(kv)) {
            v = cJSON_CreateArray();
            for (const cJSON *e = kv->child; v && e; e = e->next)
                cJSON_AddItemToArray(v, gemini_schema(e));
        } else if (strcmp(kv->string, "type") == 0 && cJSON_IsArray(kv)) {
            /* ["string","null"]: OpenAPI 3.0 says nullable instead. */
            const cJSON *t;
            for (t = kv ? kv->child : NULL; t; t = t->next) {
                if (cJSON_IsString(t) && strcmp(t->valuestring, "null") == 0)
                    cJSON_AddTrueToObject(out, "nullable");
                else if (cJSON_IsString(t) && !v)
                    v = cJSON_CreateString(t->valuestring);
            }
        } else {
            v = cJSON_Duplicate(kv, true);
        }
        if (v)
            cJSON_AddItemToObject(out, kv->string, v);
    }
    return out;
}

/* generationConfig's fields after its "{", each with a leading comma. */
static dsp_status write_config(dsp_jw *w, const dsp_lm_params *p, dsp_error *err)
{
    if (p->temperature >= 0) {
        dsp_jw_lit(w, ",\"temperature\":");
        dsp_jw_double(w, p->temperature);
    }
    if (p->has_top_p) {
        dsp_jw_lit(w, ",\"topP\":");
        dsp_jw_double(w, p->top_p);
    }
    if (p->max_tokens > 0) {
        dsp_jw_lit(w, ",\"maxOutputTokens\":");
        dsp_jw_int(w, p->max_tokens);
    }
    if (p->n > 1) {
        dsp_jw_lit(w, ",\"candidateCount\":");
        dsp_jw_int(w, p->n);
    }
    if (p->has_seed) {
        /* An int32 in the API: a larger seed is folded into range. */
        dsp_jw_lit(w, ",\"seed\":");
        dsp_jw_int(w, (int64_t)(int32_t)(uint32_t)(uint64_t)p->seed);
    }
    if (p->stop[0])
        dsp_wire_stops(w, ",\"stopSequences\":", p);
    if (p->json_schema) {
        cJSON *src = cJSON_Parse(p->json_schema);
        if (!cJSON_IsObject(src)) {
            cJSON_Delete(src);
            return dsp_error_set(err, DSP_ERR_INVALID, "json_schema is not a JSON object");
        }
        cJSON *g = gemini_schema(src);
        cJSON_Delete(src);
        char *text = g ? cJSON_PrintUnformatted(g) : NULL;
        cJSON_Delete(g);
        if (!text)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing responseSchema");
        dsp_jw_lit(w, ",\"responseMimeType\":\"application/json\",\"responseSchema\":");
        dsp_jw_lit(w, text);
        cJSON_free(text);
    }
    return DSP_OK;
}

dsp_status dsp_gemini_request_write(dsp_jw *wp, const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p,
                                    dsp_error *err)
{
    size_t n_sys = 0;
    dsp_status tst = dsp_wire_no_native_tools(p, "Gemini", err);
    if (tst == DSP_OK)
        tst = dsp_wire_count_turns(msgs, n_msgs, "a Gemini request", &n_sys, err);
    if (tst != DSP_OK)
        return tst;
    dsp_jw w = *wp;
    dsp_jw_lit(&w, "{");
    if (n_sys > 0) {
        /* One part per system message, in order. */
        dsp_jw_lit(&w, "\"systemInstruction\":{\"parts\":[");
        dsp_wire_system_texts(&w, msgs, n_msgs);
        dsp_jw_lit(&w, "]},");
    }
    dsp_jw_lit(&w, "\"contents\":[");
    dsp_wire_turns(&w, msgs, n_msgs, "model", "parts");
    dsp_jw_lit(&w, "]");
    /* The config's fields are written with a leading comma each; the
     * first one's is dropped (no config at all: no generationConfig). */
    dsp_jw cfg;
    dsp_jw_init(&cfg, 256);
    dsp_status st = write_config(&cfg, p, err);
    if (st == DSP_OK && !dsp_jw_finish(&cfg))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a request");
    if (st == DSP_OK && cfg.len > 0) {
        dsp_jw_lit(&w, ",\"generationConfig\":{");
        dsp_jw_raw(&w, cfg.buf + 1, cfg.len - 1);
        dsp_jw_lit(&w, "}");
    }
    dsp_jw_free(&cfg);
    dsp_jw_lit(&w, "}");
    *wp = w;
    if (st != DSP_OK)
        return st;
    if (!dsp_jw_finish(wp))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a request");
    return DSP_OK;
}

/* A candidate's answer: its text parts joined, thought parts left out.
 * NULL with *why set when it has none. */
static char *candidate_text(const cJSON *cand, char *why, size_t whysz)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(cand, "content");
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
    int n_text;
    char *s = dsp_reply_join_texts(parts, true, &n_text);
    if (!s && n_text == 0) {
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(cand, "finishReason");
        snprintf(why, whysz, "a candidate has no text part (finishReason %s)",
                 cJSON_IsString(fr) ? fr->valuestring : "missing");
    } else if (!s) {
        snprintf(why, whysz, "out of memory");
    }
    return s;
}

dsp_status dsp_gemini_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    char why[200];
    cJSON *root = dsp_reply_json(body, len, GEMINI_NOT_API, err);
    if (!root)
        return DSP_ERR_PROTOCOL;
    dsp_status st = DSP_OK;
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    int n = cJSON_IsArray(cands) ? cJSON_GetArraySize(cands) : 0;
    if (n == 0) {
        /* A prompt blocked by safety settings has promptFeedback instead. */
        const cJSON *fb = cJSON_GetObjectItemCaseSensitive(root, "promptFeedback");
        const cJSON *br = cJSON_GetObjectItemCaseSensitive(fb, "blockReason");
        snprintf(why, sizeof why, "no candidates%s%s", cJSON_IsString(br) ? " (promptFeedback.blockReason " : "",
                 cJSON_IsString(br) ? br->valuestring : "");
        if (cJSON_IsString(br))
            strncat(why, ")", sizeof why - strlen(why) - 1);
        st = dsp_reply_protocol_error(err, body, len, GEMINI_NOT_API, why);
        goto done;
    }
    resp->choices = calloc((size_t)n, sizeof *resp->choices);
    if (!resp->choices) {
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a reply");
        goto done;
    }
    resp->n_choices = (size_t)n;
    int i = 0;
    const cJSON *cand;
    for (cand = cands ? cands->child : NULL; cand; cand = cand->next) {
        /* Placed by index when the candidate has one. */
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(cand, "index");
        /* Out of range (1e40 too) before the cast: casting it is undefined. */
        int at = !cJSON_IsNumber(ix)                          ? i
                 : ix->valuedouble >= 0 && ix->valuedouble < n ? (int)ix->valuedouble
                                                               : -1;
        if (at < 0 || at >= n || resp->choices[at]) {
            st = dsp_reply_protocol_error(err, body, len, GEMINI_NOT_API, "candidate indexes are not 0..n-1, each once");
            goto done;
        }
        resp->choices[at] = candidate_text(cand, why, sizeof why);
        if (!resp->choices[at]) {
            st = dsp_reply_protocol_error(err, body, len, GEMINI_NOT_API, why);
            goto done;
        }
        i++;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usageMetadata");
    resp->usage.prompt_tokens = dsp_reply_count(usage, "promptTokenCount");
    /* Thinking tokens are billed as output. */
    resp->usage.completion_tokens = dsp_reply_count(usage, "candidatesTokenCount") + dsp_reply_count(usage, "thoughtsTokenCount");
done:
    cJSON_Delete(root);
    if (st != DSP_OK)
        dsp_chat_response_free(resp);
    return st;
}
