/* wire_gemini.c — Google's Gemini API, generateContent: request validation
 * and reply (see wire.h), in the shapes ai.google.dev/api/generate-content
 * documents. The model is named in the path, POST .../models/{model}:
 * generateContent; the body holds systemInstruction, contents (roles user
 * and model, text parts) and generationConfig. */
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool rs_gemini_is_stream(const char *url)
{
    static const char verb[] = ":streamGenerateContent";
    size_t n = strlen(url), vn = sizeof verb - 1;
    return n > vn && strcmp(url + n - vn, verb) == 0;
}

bool rs_gemini_route(rs_arena *a, const char *url, const char **model)
{
    static const char plain[] = ":generateContent", stream[] = ":streamGenerateContent";
    bool streamed = rs_gemini_is_stream(url);
    size_t n = strlen(url), vn = streamed ? sizeof stream - 1 : sizeof plain - 1;
    const char *m = strstr(url, "/models/");
    if (!m || n < vn || (!streamed && strcmp(url + n - vn, plain) != 0))
        return false;
    m += strlen("/models/");
    size_t ml = (size_t)(url + n - vn - m);
    if (ml == 0 || memchr(m, '/', ml))
        return false;
    if (model)
        *model = rs_strndup(a, m, ml);
    return true;
}

/* A Content's text: its text parts joined by newlines. */
static bool parts_text(rs_arena *a, const cJSON *content, const char *what, const char **out, rs_wire_error *err)
{
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
    if (!cJSON_IsObject(content) || !cJSON_IsArray(parts)) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "Invalid value at '%s' : a Content needs a 'parts' list", what);
        return rs_wire_fail(err, rs_buf_str(&m));
    }
    rs_buf b;
    rs_buf_init(&b, a);
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsObject(p))
            return rs_wire_fail(err, "Invalid value at 'parts' : each part must be an object");
        if (!text)
            continue; /* inline data, function calls: no text for the fixture */
        if (!cJSON_IsString(text))
            return rs_wire_fail(err, "Invalid value at 'parts.text' : must be a string");
        if (b.len)
            rs_buf_add(&b, "\n", 1);
        rs_buf_puts(&b, text->valuestring);
    }
    *out = rs_buf_str(&b);
    return true;
}

static bool parse_config(const cJSON *root, rs_request *req, rs_wire_error *err)
{
    const cJSON *gc = cJSON_GetObjectItemCaseSensitive(root, "generationConfig");
    if (!gc)
        return true;
    if (!cJSON_IsObject(gc))
        return rs_wire_fail(err, "Invalid value at 'generation_config' : must be an object");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(gc, "temperature");
    if (t) {
        if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 2)
            return rs_wire_fail(err, "* GenerateContentRequest.generation_config.temperature: must be in [0.0, 2.0]");
        req->temperature = t->valuedouble;
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(gc, "maxOutputTokens");
    if (mt) {
        if (!cJSON_IsNumber(mt) || mt->valuedouble != floor(mt->valuedouble) || mt->valuedouble < 1)
            return rs_wire_fail(err, "* GenerateContentRequest.generation_config.max_output_tokens: must be a positive "
                             "integer");
        req->max_tokens = (long)mt->valuedouble;
    }
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(gc, "candidateCount");
    if (cc) {
        if (!cJSON_IsNumber(cc) || cc->valuedouble < 1 || cc->valuedouble > 8)
            return rs_wire_fail(err, "* GenerateContentRequest.generation_config.candidate_count: must be in [1, 8]");
        req->n = (int)cc->valuedouble;
    }
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(gc, "seed");
    if (seed) {
        if (!cJSON_IsNumber(seed) || fabs(seed->valuedouble) > 2147483648.0)
            return rs_wire_fail(err, "Invalid value at 'generation_config.seed' (TYPE_INT32)");
        req->has_seed = true;
        req->seed = (int64_t)seed->valuedouble;
    }
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(gc, "stopSequences");
    if (stop) {
        if (!cJSON_IsArray(stop) || cJSON_GetArraySize(stop) > 5)
            return rs_wire_fail(err, "* GenerateContentRequest.generation_config.stop_sequences: at most 5 strings");
        req->stop = NULL;
        req->n_stop = 0;
    }
    const cJSON *mime = cJSON_GetObjectItemCaseSensitive(gc, "responseMimeType");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(gc, "responseSchema");
    if (mime && (!cJSON_IsString(mime) || (strcmp(mime->valuestring, "text/plain") != 0 &&
                                           strcmp(mime->valuestring, "application/json") != 0 &&
                                           strcmp(mime->valuestring, "text/x.enum") != 0)))
        return rs_wire_fail(err, "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are "
                         "`text/plain`, `application/json`, `application/xml`, `application/yaml` and "
                         "`text/x.enum`.");
    if (schema) {
        if (!cJSON_IsString(mime) || strcmp(mime->valuestring, "application/json") != 0)
            return rs_wire_fail(err, "* GenerateContentRequest.generation_config.response_schema: response_mime_type "
                             "must be application/json when response_schema is set");
        if (!cJSON_IsObject(schema))
            return rs_wire_fail(err, "Invalid value at 'generation_config.response_schema' : must be a Schema object");
        /* The Schema object is OpenAPI's subset: JSON Schema's own
         * keywords are refused, as the API refuses them. */
        if (cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties") ||
            cJSON_GetObjectItemCaseSensitive(schema, "$schema"))
            return rs_wire_fail(err, "Invalid JSON payload received. Unknown name \"additionalProperties\" at "
                             "'generation_config.response_schema': Cannot find field.");
        req->schema = schema;
    }
    req->json = cJSON_IsString(mime) && strcmp(mime->valuestring, "application/json") == 0;
    return true;
}

bool rs_gemini_parse(rs_arena *a, const cJSON *root, const char *model, rs_request *req, rs_wire_error *err)
{
    memset(req, 0, sizeof *req);
    req->api = RS_API_GEMINI;
    req->temperature = 1.0;
    req->n = 1;
    req->model = model ? model : "";
    if (!cJSON_IsObject(root))
        return rs_wire_fail(err, "Invalid JSON payload received. Expected an object.");
    const cJSON *contents = cJSON_GetObjectItemCaseSensitive(root, "contents");
    int n = cJSON_IsArray(contents) ? cJSON_GetArraySize(contents) : 0;
    if (n == 0)
        return rs_wire_fail(err, "* GenerateContentRequest.contents: contents is not specified");
    req->msgs = rs_alloc(a, ((size_t)n + 1) * sizeof *req->msgs);
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "systemInstruction");
    if (sys) {
        const char *text;
        if (!parts_text(a, sys, "system_instruction", &text, err))
            return false;
        req->msgs[0].role = "system";
        req->msgs[0].text = text;
        req->n_msgs = 1;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, contents) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(c, "role");
        const char *r = cJSON_IsString(role) ? role->valuestring : "user";
        if (strcmp(r, "user") != 0 && strcmp(r, "model") != 0)
            return rs_wire_fail(err, "Please use a valid role: user, model.");
        const char *text;
        if (!parts_text(a, c, "contents", &text, err))
            return false;
        req->msgs[req->n_msgs].role = strcmp(r, "model") == 0 ? "assistant" : "user";
        req->msgs[req->n_msgs].text = text;
        req->n_msgs++;
    }
    if (!parse_config(root, req, err))
        return false;
    /* stopSequences, once the list is known to be valid. */
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "generationConfig"),
                                                        "stopSequences");
    if (stop) {
        req->stop = rs_alloc(a, ((size_t)cJSON_GetArraySize(stop) + 1) * sizeof *req->stop);
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) {
            if (!cJSON_IsString(s))
                return rs_wire_fail(err, "Invalid value at 'generation_config.stop_sequences' (TYPE_STRING)");
            req->stop[req->n_stop++] = s->valuestring;
        }
    }
    return true;
}

const char *rs_gemini_reply(rs_arena *a, const rs_request *req, const rs_choice *choices, size_t n,
                            long prompt_tokens, uint64_t id)
{
    rs_buf b;
    rs_buf_init(&b, a);
    long completion = 0;
    rs_buf_puts(&b, "{\"candidates\":[");
    for (size_t i = 0; i < n; i++) {
        rs_buf_puts(&b, i ? ",{\"content\":{\"parts\":[{\"text\":" : "{\"content\":{\"parts\":[{\"text\":");
        rs_buf_json_string(&b, choices[i].text);
        rs_buf_puts(&b, "}],\"role\":\"model\"},\"finishReason\":");
        rs_buf_puts(&b, choices[i].hit_length ? "\"MAX_TOKENS\"" : "\"STOP\"");
        rs_buf_puts(&b, ",\"index\":");
        rs_buf_int(&b, (long long)i);
        rs_buf_puts(&b, "}");
        completion += choices[i].completion_tokens;
    }
    rs_buf_puts(&b, "],\"usageMetadata\":{\"promptTokenCount\":");
    rs_buf_int(&b, prompt_tokens);
    rs_buf_puts(&b, ",\"candidatesTokenCount\":");
    rs_buf_int(&b, completion);
    rs_buf_puts(&b, ",\"totalTokenCount\":");
    rs_buf_int(&b, prompt_tokens + completion);
    rs_buf_puts(&b, "},\"modelVersion\":");
    rs_buf_json_string(&b, req->model);
    char idbuf[48];
    snprintf(idbuf, sizeof idbuf, ",\"responseId\":\"rs%016llx\"}", (unsigned long long)id);
    rs_buf_puts(&b, idbuf);
    return rs_buf_str(&b);
}

/* google.rpc.Code names of the statuses the fixture answers with. */
const char *rs_gemini_status(int status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 413: return "INVALID_ARGUMENT";
    case 429: return "RESOURCE_EXHAUSTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
    }
}
