/* wire_bedrock.c — Amazon Bedrock's Converse API: request validation,
 * the shape of a SigV4 signature, and the reply (see wire.h), as
 * docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * documents them. POST .../model/{modelId}/converse (or /converse-stream,
 * the same body, answered as AWS event-stream messages by stream.c); the
 * body holds messages (text content blocks), system, inferenceConfig and
 * toolConfig. */
#include "wire.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

bool rs_bedrock_is_stream(const char *url)
{
    static const char verb[] = "/converse-stream";
    size_t n = strlen(url), vn = sizeof verb - 1;
    return n > vn && strcmp(url + n - vn, verb) == 0;
}

bool rs_bedrock_route(rs_arena *a, const char *url, const char **model)
{
    const char *verb = rs_bedrock_is_stream(url) ? "/converse-stream" : "/converse";
    size_t n = strlen(url), vn = strlen(verb);
    const char *m = strstr(url, "/model/");
    if (!m || n < vn || strcmp(url + n - vn, verb) != 0)
        return false;
    m += strlen("/model/");
    if (url + n - vn <= m)
        return false;
    size_t ml = (size_t)(url + n - vn - m);
    if (memchr(m, '/', ml))
        return false;
    if (model)
        *model = rs_strndup(a, m, ml);
    return true;
}

const char *rs_bedrock_check_signature(const char *authorization, const char *amz_date, const char *token,
                                       bool want_token)
{
    if (!authorization)
        return "Missing Authentication Token";
    if (strncmp(authorization, "AWS4-HMAC-SHA256 Credential=", 28) != 0)
        return "Authorization header requires 'Credential' parameter (AWS4-HMAC-SHA256).";
    if (!amz_date || strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
        return "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
    /* Credential=ID/YYYYMMDD/REGION/bedrock/aws4_request */
    const char *cred = authorization + 28;
    const char *slash = strchr(cred, '/');
    if (!slash || strncmp(slash + 1, amz_date, 8) != 0 || slash[9] != '/')
        return "Credential should be scoped to a valid date matching X-Amz-Date.";
    const char *region = slash + 10;
    const char *svc = strchr(region, '/');
    if (!svc || svc == region || strncmp(svc, "/bedrock/aws4_request,", 22) != 0)
        return "Credential should be scoped to correct service: 'bedrock'.";
    const char *sh = strstr(authorization, "SignedHeaders=");
    const char *sig = strstr(authorization, "Signature=");
    if (!sh || !sig)
        return "Authorization header requires 'SignedHeaders' and 'Signature' parameters.";
    if (!strstr(sh, "host") || !strstr(sh, "x-amz-date"))
        return "SignedHeaders must include host and x-amz-date.";
    if (want_token && (!token || !strstr(sh, "x-amz-security-token")))
        return "The security token included in the request is invalid (x-amz-security-token not sent or not signed).";
    sig += strlen("Signature=");
    size_t hex = 0;
    while (isxdigit((unsigned char)sig[hex]))
        hex++;
    if (hex != 64 || (sig[hex] && sig[hex] != ','))
        return "The request signature we calculated does not match the signature you provided (not 64 hex digits).";
    return NULL;
}

static bool blocks_text(rs_arena *a, const cJSON *blocks, const char *what, const char **out, rs_wire_error *err)
{
    if (!cJSON_IsArray(blocks)) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must "
                          "not be null", what);
        return rs_wire_fail(err, rs_buf_str(&m));
    }
    rs_buf b;
    rs_buf_init(&b, a);
    const cJSON *blk;
    cJSON_ArrayForEach(blk, blocks) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(blk, "text");
        if (!cJSON_IsObject(blk))
            return rs_wire_fail(err, "Malformed input request: content blocks must be objects");
        if (!text)
            continue;
        if (!cJSON_IsString(text))
            return rs_wire_fail(err, "Malformed input request: a text block's text must be a string");
        if (b.len)
            rs_buf_add(&b, "\n", 1);
        rs_buf_puts(&b, text->valuestring);
    }
    *out = rs_buf_str(&b);
    return true;
}

static bool parse_tools(const cJSON *root, rs_request *req, rs_wire_error *err)
{
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "toolConfig");
    if (!tc)
        return true;
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(tc, "tools");
    if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) == 0)
        return rs_wire_fail(err, "1 validation error detected: Value at 'toolConfig.tools' failed to satisfy constraint: "
                         "Member must have length greater than or equal to 1");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tc, "toolChoice"), "tool"), "name");
    if (!cJSON_IsString(name))
        return true; /* auto or any: the fixture answers in text */
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(t, "toolSpec");
        const cJSON *tn = cJSON_GetObjectItemCaseSensitive(spec, "name");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "inputSchema"), "json");
        if (cJSON_IsString(tn) && strcmp(tn->valuestring, name->valuestring) == 0) {
            if (!cJSON_IsObject(js))
                return rs_wire_fail(err, "The value at toolConfig.tools.0.toolSpec.inputSchema.json is not a JSON object.");
            req->tool = tn->valuestring;
            req->json = true;
            req->schema = js;
            return true;
        }
    }
    return rs_wire_fail(err, "The tool named in toolChoice is not in toolConfig.tools.");
}

bool rs_bedrock_parse(rs_arena *a, const cJSON *root, const char *model, rs_request *req, rs_wire_error *err)
{
    memset(req, 0, sizeof *req);
    req->api = RS_API_BEDROCK;
    req->temperature = 1.0;
    req->n = 1;
    req->model = model ? model : "";
    if (!cJSON_IsObject(root))
        return rs_wire_fail(err, "Malformed input request: the body must be a JSON object");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    int n = cJSON_IsArray(msgs) ? cJSON_GetArraySize(msgs) : 0;
    if (n == 0)
        return rs_wire_fail(err, "A conversation must start with a user message. Try again with a conversation that starts "
                         "with a user message.");
    req->msgs = rs_alloc(a, ((size_t)n + 1) * sizeof *req->msgs);
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
    if (sys) {
        const char *text;
        if (!blocks_text(a, sys, "system", &text, err))
            return false;
        req->msgs[0].role = "system";
        req->msgs[0].text = text;
        req->n_msgs = 1;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role) || (strcmp(role->valuestring, "user") != 0 &&
                                      strcmp(role->valuestring, "assistant") != 0))
            return rs_wire_fail(err, "1 validation error detected: Value at 'messages.role' failed to satisfy constraint: "
                             "Member must satisfy enum value set: [user, assistant]");
        const char *text;
        if (!blocks_text(a, cJSON_GetObjectItemCaseSensitive(m, "content"), "messages.content", &text, err))
            return false;
        req->msgs[req->n_msgs].role = strcmp(role->valuestring, "user") == 0 ? "user" : "assistant";
        req->msgs[req->n_msgs].text = text;
        req->n_msgs++;
    }
    const cJSON *ic = cJSON_GetObjectItemCaseSensitive(root, "inferenceConfig");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ic, "maxTokens");
    if (mt) {
        if (!cJSON_IsNumber(mt) || mt->valuedouble != floor(mt->valuedouble) || mt->valuedouble < 1)
            return rs_wire_fail(err, "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy "
                             "constraint: Member must have value greater than or equal to 1");
        req->max_tokens = (long)mt->valuedouble;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ic, "temperature");
    if (t) {
        if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 1)
            return rs_wire_fail(err, "1 validation error detected: Value at 'inferenceConfig.temperature' failed to "
                             "satisfy constraint: Member must have value less than or equal to 1");
        req->temperature = t->valuedouble;
    }
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(ic, "stopSequences");
    if (stop) {
        if (!cJSON_IsArray(stop))
            return rs_wire_fail(err, "Malformed input request: stopSequences must be a list of strings");
        req->stop = rs_alloc(a, ((size_t)cJSON_GetArraySize(stop) + 1) * sizeof *req->stop);
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) {
            if (!cJSON_IsString(s))
                return rs_wire_fail(err, "Malformed input request: stopSequences must be a list of strings");
            req->stop[req->n_stop++] = s->valuestring;
        }
    }
    return parse_tools(root, req, err);
}

const char *rs_bedrock_reply(rs_arena *a, const rs_request *req, const rs_choice *choice, long prompt_tokens)
{
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_puts(&b, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[");
    const char *stop = choice->hit_length ? "max_tokens" : choice->stop_seq ? "stop_sequence" : "end_turn";
    /* A forced tool answers with its call (a reply that is not a JSON
     * object, an injected fault, stays text as a broken model's would). */
    cJSON *input = req->tool ? cJSON_Parse(choice->text) : NULL;
    if (input && cJSON_IsObject(input) && !choice->hit_length) {
        char *in = cJSON_PrintUnformatted(input);
        rs_buf_puts(&b, "{\"toolUse\":{\"toolUseId\":\"tooluse_refserver\",\"name\":");
        rs_buf_json_string(&b, req->tool);
        rs_buf_puts(&b, ",\"input\":");
        rs_buf_puts(&b, in ? in : "{}");
        rs_buf_puts(&b, "}}");
        cJSON_free(in);
        stop = "tool_use";
    } else {
        rs_buf_puts(&b, "{\"text\":");
        rs_buf_json_string(&b, choice->text);
        rs_buf_puts(&b, "}");
    }
    cJSON_Delete(input);
    rs_buf_puts(&b, "]}},\"stopReason\":\"");
    rs_buf_puts(&b, stop);
    rs_buf_puts(&b, "\",\"usage\":{\"inputTokens\":");
    rs_buf_int(&b, prompt_tokens);
    rs_buf_puts(&b, ",\"outputTokens\":");
    rs_buf_int(&b, choice->completion_tokens);
    rs_buf_puts(&b, ",\"totalTokens\":");
    rs_buf_int(&b, prompt_tokens + choice->completion_tokens);
    rs_buf_puts(&b, "},\"metrics\":{\"latencyMs\":0}}");
    return rs_buf_str(&b);
}
