/* wire_openai.c — OpenAI chat completions: request validation, reply and
 * model list (see wire.h). */
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool fail(rs_wire_error *err, const char *param, const char *message)
{
    err->status = 400;
    err->param = param;
    err->code = NULL;
    err->message = message;
    return false;
}

/* A message's content: a string, or an array of parts whose text parts are
 * joined; other part types (images, audio) carry no text for the fixture. */
static bool content_text(rs_arena *a, const cJSON *content, bool allow_null, const char **out,
                         rs_wire_error *err)
{
    if (cJSON_IsString(content)) {
        *out = content->valuestring;
        return true;
    }
    if (allow_null && (!content || cJSON_IsNull(content))) {
        *out = "";
        return true;
    }
    if (!cJSON_IsArray(content))
        return fail(err, "messages", "Invalid type for 'messages[].content': expected a string or an array of content parts.");
    rs_buf b;
    rs_buf_init(&b, a);
    const cJSON *part;
    cJSON_ArrayForEach(part, content) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type))
            return fail(err, "messages", "Invalid content part: each part must be an object with a string 'type'.");
        if (strcmp(type->valuestring, "text") != 0)
            continue;
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(text))
            return fail(err, "messages", "Invalid content part: a 'text' part needs a string 'text'.");
        if (b.len)
            rs_buf_add(&b, "\n", 1);
        rs_buf_puts(&b, text->valuestring);
    }
    *out = rs_buf_str(&b);
    return true;
}

/* A tool message's tool_call_id, or an assistant message's tool_calls
 * (each an object with an id, type "function" and a function with a name
 * and an arguments string, as the API requires); the first is kept. */
static bool parse_call(const cJSON *m, const char *role, rs_call *c, rs_wire_error *err)
{
    if (strcmp(role, "tool") == 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
        if (!cJSON_IsString(id))
            return fail(err, "messages", "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'.");
        c->id = id->valuestring;
        return true;
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
    if (!calls || cJSON_IsNull(calls))
        return true;
    if (strcmp(role, "assistant") != 0 || !cJSON_IsArray(calls))
        return fail(err, "messages", "Invalid 'messages[].tool_calls': only assistant messages carry an array of tool calls.");
    const cJSON *tc;
    cJSON_ArrayForEach(tc, calls) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(tc, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (!cJSON_IsString(id) || !cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0 ||
            !cJSON_IsString(name) || !cJSON_IsString(args))
            return fail(err, "messages", "Invalid 'messages[].tool_calls[]': each needs an 'id', 'type': 'function' and a 'function' with a 'name' and an 'arguments' string.");
        if (!c->name) {
            c->id = id->valuestring;
            c->name = name->valuestring;
            c->args = args->valuestring;
        }
    }
    return true;
}

/* tools: [{type: "function", function: {name, description?, parameters?}}]. */
static bool parse_tools(const cJSON *root, rs_request *req, rs_wire_error *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    if (!tools || cJSON_IsNull(tools))
        return true;
    if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) > 128)
        return fail(err, "tools", "Invalid 'tools': expected an array of at most 128 tools.");
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "function"), "name");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0 || !cJSON_IsString(name) ||
            !*name->valuestring)
            return fail(err, "tools", "Invalid 'tools[]': each tool needs 'type': 'function' and a 'function' with a 'name'.");
    }
    const cJSON *ptc = cJSON_GetObjectItemCaseSensitive(root, "parallel_tool_calls");
    if (ptc && !cJSON_IsBool(ptc))
        return fail(err, "parallel_tool_calls", "Invalid 'parallel_tool_calls': expected a boolean.");
    if (cJSON_GetArraySize(tools) > 0)
        req->tools = tools;
    return true;
}

static bool parse_messages(rs_arena *a, const cJSON *msgs, rs_request *req, rs_wire_error *err)
{
    if (!cJSON_IsArray(msgs))
        return fail(err, "messages", "Missing required parameter: 'messages' (an array of messages).");
    int n = cJSON_GetArraySize(msgs);
    if (n == 0)
        return fail(err, "messages", "Invalid 'messages': empty array. Expected an array with minimum length 1.");
    req->msgs = rs_alloc(a, (size_t)n * sizeof *req->msgs);
    req->calls = rs_alloc(a, (size_t)n * sizeof *req->calls);
    memset(req->calls, 0, (size_t)n * sizeof *req->calls);
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return fail(err, "messages", "Invalid 'messages': each message must be an object with a string 'role'.");
        const char *r = role->valuestring;
        if (strcmp(r, "developer") == 0)
            r = "system"; /* the newer name of the system role */
        if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0 &&
            strcmp(r, "tool") != 0 && strcmp(r, "function") != 0)
            return fail(err, "messages", "Invalid value for 'messages[].role': expected one of 'system', 'developer', 'user', 'assistant', 'tool'.");
        const char *text;
        if (!content_text(a, cJSON_GetObjectItemCaseSensitive(m, "content"), strcmp(r, "assistant") == 0,
                          &text, err))
            return false;
        if (!parse_call(m, r, &req->calls[req->n_msgs], err))
            return false;
        req->msgs[req->n_msgs].role = r;
        req->msgs[req->n_msgs].text = text;
        req->n_msgs++;
    }
    return true;
}

static bool parse_stop(rs_arena *a, const cJSON *stop, rs_request *req, rs_wire_error *err)
{
    if (!stop || cJSON_IsNull(stop))
        return true;
    if (cJSON_IsString(stop)) {
        req->stop = rs_alloc(a, sizeof *req->stop);
        req->stop[0] = stop->valuestring;
        req->n_stop = 1;
        return true;
    }
    if (!cJSON_IsArray(stop) || cJSON_GetArraySize(stop) > 4)
        return fail(err, "stop", "Invalid 'stop': expected a string or an array of at most 4 strings.");
    req->stop = rs_alloc(a, 4 * sizeof *req->stop);
    const cJSON *s;
    cJSON_ArrayForEach(s, stop) {
        if (!cJSON_IsString(s))
            return fail(err, "stop", "Invalid 'stop': expected a string or an array of at most 4 strings.");
        req->stop[req->n_stop++] = s->valuestring;
    }
    return true;
}

static bool parse_response_format(const cJSON *rf, rs_request *req, rs_wire_error *err)
{
    if (!rf || cJSON_IsNull(rf))
        return true;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rf, "type");
    if (!cJSON_IsObject(rf) || !cJSON_IsString(type))
        return fail(err, "response_format", "Invalid 'response_format': expected an object with a 'type'.");
    if (strcmp(type->valuestring, "text") == 0)
        return true;
    if (strcmp(type->valuestring, "json_object") == 0) {
        req->json = true;
        return true;
    }
    if (strcmp(type->valuestring, "json_schema") == 0) {
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(js, "name");
        if (!cJSON_IsObject(js) || !cJSON_IsString(name))
            return fail(err, "response_format.json_schema", "Missing required parameter: 'response_format.json_schema.name'.");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(js, "schema");
        if (schema && !cJSON_IsObject(schema))
            return fail(err, "response_format.json_schema.schema", "Invalid 'response_format.json_schema.schema': expected an object.");
        req->json = true;
        req->schema = schema;
        return true;
    }
    return fail(err, "response_format.type", "Invalid value for 'response_format.type': expected one of 'text', 'json_object', 'json_schema'.");
}

static bool is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15;
}

bool rs_openai_parse(rs_arena *a, const cJSON *root, rs_request *req, rs_wire_error *err)
{
    memset(req, 0, sizeof *req);
    req->api = RS_API_OPENAI;
    req->temperature = 1.0;
    req->n = 1;
    if (!cJSON_IsObject(root))
        return fail(err, NULL, "The request body must be a JSON object.");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(model) || !*model->valuestring)
        return fail(err, "model", "Missing required parameter: 'model'.");
    req->model = model->valuestring;
    if (!parse_messages(a, cJSON_GetObjectItemCaseSensitive(root, "messages"), req, err))
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 2)
            return fail(err, "temperature", "Invalid 'temperature': expected a number between 0 and 2.");
        req->temperature = t->valuedouble;
    }
    const char *mt_name = "max_completion_tokens";
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, mt_name);
    if (!mt || cJSON_IsNull(mt)) {
        mt_name = "max_tokens";
        mt = cJSON_GetObjectItemCaseSensitive(root, mt_name);
    }
    if (mt && !cJSON_IsNull(mt)) {
        if (!is_int(mt) || mt->valuedouble < 1)
            return fail(err, mt_name, "Invalid 'max_tokens': expected an integer of at least 1.");
        req->max_tokens = (long)mt->valuedouble;
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "n");
    if (n && !cJSON_IsNull(n)) {
        if (!is_int(n) || n->valuedouble < 1 || n->valuedouble > 128)
            return fail(err, "n", "Invalid 'n': expected an integer between 1 and 128.");
        req->n = (int)n->valuedouble;
    }
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (seed && !cJSON_IsNull(seed)) {
        if (!is_int(seed))
            return fail(err, "seed", "Invalid 'seed': expected an integer.");
        req->has_seed = true;
        req->seed = (int64_t)seed->valuedouble;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream))
        return fail(err, "stream", "Invalid type for 'stream': expected a boolean.");
    req->stream = cJSON_IsTrue(stream);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!req->stream)
            return fail(err, "stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        const cJSON *iu = cJSON_GetObjectItemCaseSensitive(so, "include_usage");
        if (!cJSON_IsObject(so) || (iu && !cJSON_IsBool(iu)))
            return fail(err, "stream_options", "Invalid 'stream_options': expected an object with a boolean 'include_usage'.");
        req->include_usage = cJSON_IsTrue(iu);
    }
    if (!parse_stop(a, cJSON_GetObjectItemCaseSensitive(root, "stop"), req, err))
        return false;
    if (!parse_tools(root, req, err))
        return false;
    return parse_response_format(cJSON_GetObjectItemCaseSensitive(root, "response_format"), req, err);
}

const char *rs_openai_reply(rs_arena *a, const rs_request *req, const rs_choice *choices, size_t n,
                            long prompt_tokens, uint64_t id)
{
    rs_buf b;
    rs_buf_init(&b, a);
    char idbuf[64];
    snprintf(idbuf, sizeof idbuf, "{\"id\":\"chatcmpl-%016llx\"", (unsigned long long)id);
    rs_buf_puts(&b, idbuf);
    /* `created` is a constant: replies must be byte-identical for identical
     * requests. */
    rs_buf_puts(&b, ",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":");
    rs_buf_json_string(&b, req->model);
    rs_buf_puts(&b, ",\"choices\":[");
    long completion = 0;
    for (size_t i = 0; i < n; i++) {
        rs_buf_puts(&b, i ? ",{\"index\":" : "{\"index\":");
        rs_buf_int(&b, (long long)i);
        rs_buf_puts(&b, ",\"message\":{\"role\":\"assistant\",\"content\":");
        if (req->tools && !choices[i].hit_length) {
            /* The agent's step as a tool call: its thought is the content. */
            rs_tool_reply tr;
            rs_tools_call(a, req, choices[i].text, &tr);
            if (tr.thought[0])
                rs_buf_json_string(&b, tr.thought);
            else
                rs_buf_puts(&b, "null");
            rs_buf_puts(&b, ",\"refusal\":null,\"tool_calls\":[{");
            if (req->tool_fault != 3) {
                rs_buf_puts(&b, "\"id\":");
                rs_buf_json_string(&b, rs_tools_call_id(a, RS_API_OPENAI, id + i));
                rs_buf_puts(&b, ",");
            }
            rs_buf_puts(&b, "\"type\":\"function\",\"function\":{\"name\":");
            rs_buf_json_string(&b, tr.name);
            rs_buf_puts(&b, ",\"arguments\":");
            rs_buf_json_string(&b, tr.args);
            rs_buf_puts(&b, "}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}");
        } else {
            rs_buf_json_string(&b, choices[i].text);
            rs_buf_puts(&b, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
            rs_buf_puts(&b, choices[i].hit_length ? "\"length\"}" : "\"stop\"}");
        }
        completion += choices[i].completion_tokens;
    }
    rs_buf_puts(&b, "],\"usage\":{\"prompt_tokens\":");
    rs_buf_int(&b, prompt_tokens);
    rs_buf_puts(&b, ",\"completion_tokens\":");
    rs_buf_int(&b, completion);
    rs_buf_puts(&b, ",\"total_tokens\":");
    rs_buf_int(&b, prompt_tokens + completion);
    rs_buf_puts(&b, "},\"system_fingerprint\":\"dsp-refserver-fixture\"}");
    return rs_buf_str(&b);
}

const char *rs_openai_models(rs_arena *a)
{
    (void)a;
    return "{\"object\":\"list\",\"data\":[{\"id\":\"dsp-refserver\",\"object\":\"model\","
           "\"created\":1700000000,\"owned_by\":\"dspcc-test-fixture\"}]}";
}
