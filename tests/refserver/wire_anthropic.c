/* wire_anthropic.c — Anthropic messages: request validation and reply
 * (see wire.h). */
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static bool fail(rs_wire_error *err, const char *message)
{
    err->status = 400;
    err->param = NULL;
    err->code = NULL;
    err->message = message;
    return false;
}

/* A string, or an array of content blocks whose text blocks are joined. */
static bool blocks_text(rs_arena *a, const cJSON *content, const char *what, const char **out,
                        rs_wire_error *err)
{
    if (cJSON_IsString(content)) {
        *out = content->valuestring;
        return true;
    }
    if (!cJSON_IsArray(content)) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "%s: Input should be a valid string or a list of content blocks", what);
        return fail(err, rs_buf_str(&m));
    }
    rs_buf b;
    rs_buf_init(&b, a);
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(blk, "type");
        if (!cJSON_IsObject(blk) || !cJSON_IsString(type))
            return fail(err, "content blocks must be objects with a string 'type'");
        if (strcmp(type->valuestring, "text") != 0)
            continue; /* images, tool results: no text for the fixture */
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(blk, "text");
        if (!cJSON_IsString(text))
            return fail(err, "a text content block needs a string 'text'");
        if (b.len)
            rs_buf_add(&b, "\n", 1);
        rs_buf_puts(&b, text->valuestring);
    }
    *out = rs_buf_str(&b);
    return true;
}

static bool parse_tools(const cJSON *root, rs_request *req, rs_wire_error *err);

/* tool_use blocks of an assistant turn (id, name, input object: the first
 * is kept as the turn's call) and tool_result blocks of a user turn (each a
 * message of role "tool" with its tool_use_id), as the API requires them. */
static bool tool_blocks(rs_arena *a, const cJSON *content, const char *role, rs_request *req, rs_wire_error *err)
{
    const cJSON *blk;
    bool user = strcmp(role, "user") == 0;
    if (!cJSON_IsArray(content))
        return true;
    cJSON_ArrayForEach(blk, content) {
        const char *type = cJSON_GetObjectItemCaseSensitive(blk, "type")->valuestring; /* checked by blocks_text */
        if (strcmp(type, "tool_use") == 0) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(blk, "id");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(blk, "name");
            const cJSON *input = cJSON_GetObjectItemCaseSensitive(blk, "input");
            if (user)
                return fail(err, "messages: tool_use blocks may only be in assistant turns");
            if (!cJSON_IsString(id) || !cJSON_IsString(name) || !cJSON_IsObject(input))
                return fail(err, "messages.content.tool_use: `id`, `name` and an `input` object are required");
            rs_call *c = &req->calls[req->n_msgs];
            if (!c->name) {
                c->id = id->valuestring;
                c->name = name->valuestring;
                char *args = cJSON_PrintUnformatted(input);
                c->args = args ? rs_strdup(a, args) : "{}";
                cJSON_free(args);
            }
        } else if (strcmp(type, "tool_result") == 0) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(blk, "tool_use_id");
            const cJSON *rc = cJSON_GetObjectItemCaseSensitive(blk, "content");
            if (!user)
                return fail(err, "messages: tool_result blocks may only be in user turns");
            if (!cJSON_IsString(id))
                return fail(err, "messages.content.tool_result.tool_use_id: Field required");
            const char *text = "";
            if (rc && !blocks_text(a, rc, "tool_result.content", &text, err))
                return false;
            req->msgs[req->n_msgs].role = "tool";
            req->msgs[req->n_msgs].text = text;
            req->calls[req->n_msgs].id = id->valuestring;
            req->n_msgs++;
        }
    }
    return true;
}

bool rs_anthropic_parse(rs_arena *a, const cJSON *root, const char *version, rs_request *req,
                        rs_wire_error *err)
{
    memset(req, 0, sizeof *req);
    req->api = RS_API_ANTHROPIC;
    req->temperature = 1.0;
    req->n = 1;
    if (!version || !*version)
        return fail(err, "anthropic-version: header is required");
    if (!cJSON_IsObject(root))
        return fail(err, "The request body must be a JSON object.");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(model) || !*model->valuestring)
        return fail(err, "model: Field required");
    req->model = model->valuestring;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "max_tokens");
    if (!mt)
        return fail(err, "max_tokens: Field required");
    if (!cJSON_IsNumber(mt) || mt->valuedouble != floor(mt->valuedouble) || mt->valuedouble < 1 ||
        mt->valuedouble > 1e9)
        return fail(err, "max_tokens: Input should be a valid integer greater than or equal to 1");
    req->max_tokens = (long)mt->valuedouble;

    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(msgs))
        return fail(err, "messages: Field required");
    int n = cJSON_GetArraySize(msgs);
    if (n == 0)
        return fail(err, "messages: at least one message is required");
    /* Each tool_result block becomes a message of its own (role "tool"). */
    size_t cap = (size_t)n + 1;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
        cap += cJSON_IsArray(c) ? (size_t)cJSON_GetArraySize(c) : 0;
    }
    req->msgs = rs_alloc(a, cap * sizeof *req->msgs);
    req->calls = rs_alloc(a, cap * sizeof *req->calls);
    memset(req->calls, 0, cap * sizeof *req->calls);
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
    if (sys && !cJSON_IsNull(sys)) {
        const char *text;
        if (!blocks_text(a, sys, "system", &text, err))
            return false;
        req->msgs[0].role = "system";
        req->msgs[0].text = text;
        req->n_msgs = 1;
    }
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role))
            return fail(err, "messages: each message must be an object with a string 'role'");
        if (strcmp(role->valuestring, "user") != 0 && strcmp(role->valuestring, "assistant") != 0)
            return fail(err, "messages: Unexpected role. The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role; roles must be \"user\" or \"assistant\"");
        const char *text;
        if (!blocks_text(a, cJSON_GetObjectItemCaseSensitive(m, "content"), "messages.content", &text, err))
            return false;
        if (!tool_blocks(a, cJSON_GetObjectItemCaseSensitive(m, "content"), role->valuestring, req, err))
            return false;
        req->msgs[req->n_msgs].role = strcmp(role->valuestring, "user") == 0 ? "user" : "assistant";
        req->msgs[req->n_msgs].text = text;
        req->n_msgs++;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 1)
            return fail(err, "temperature: Input should be less than or equal to 1 and at least 0");
        req->temperature = t->valuedouble;
    }
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(root, "stop_sequences");
    if (stop && !cJSON_IsNull(stop)) {
        if (!cJSON_IsArray(stop))
            return fail(err, "stop_sequences: Input should be a valid list of strings");
        req->stop = rs_alloc(a, ((size_t)cJSON_GetArraySize(stop) + 1) * sizeof *req->stop);
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) {
            if (!cJSON_IsString(s))
                return fail(err, "stop_sequences: Input should be a valid list of strings");
            req->stop[req->n_stop++] = s->valuestring;
        }
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsBool(stream))
        return fail(err, "stream: Input should be a valid boolean");
    req->stream = cJSON_IsTrue(stream);
    return parse_tools(root, req, err);
}

/* tools: [{name, description?, input_schema}], tool_choice: {type: auto|any|
 * tool|none, name (with tool)}, as the Messages API documents them. A
 * forced tool (type tool, or any with one tool) makes the reply that tool's
 * call, its input shaped by the input_schema. */
static bool parse_tools(const cJSON *root, rs_request *req, rs_wire_error *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(root, "tool_choice");
    if (!tools || cJSON_IsNull(tools)) {
        if (choice && !cJSON_IsNull(choice))
            return fail(err, "tool_choice: may only be specified while providing tools");
        return true;
    }
    if (!cJSON_IsArray(tools))
        return fail(err, "tools: Input should be a valid list");
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!cJSON_IsObject(t) || !cJSON_IsString(name) || !*name->valuestring)
            return fail(err, "tools.name: Field required");
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(t, "input_schema")))
            return fail(err, "tools.input_schema: Field required");
    }
    if (!choice || cJSON_IsNull(choice)) {
        req->tools = cJSON_GetArraySize(tools) ? tools : NULL;
        return true;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(choice, "type");
    if (!cJSON_IsObject(choice) || !cJSON_IsString(type))
        return fail(err, "tool_choice: Input should be an object with a 'type'");
    const char *want = NULL;
    if (strcmp(type->valuestring, "tool") == 0) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(choice, "name");
        if (!cJSON_IsString(name))
            return fail(err, "tool_choice.tool.name: Field required");
        want = name->valuestring;
    } else if (strcmp(type->valuestring, "any") == 0 && cJSON_GetArraySize(tools) == 1) {
        want = cJSON_GetObjectItemCaseSensitive(tools->child, "name")->valuestring;
    } else if (strcmp(type->valuestring, "auto") != 0 && strcmp(type->valuestring, "any") != 0 &&
               strcmp(type->valuestring, "none") != 0) {
        return fail(err, "tool_choice.type: Input tag does not match any of the expected tags: 'auto', 'any', "
                         "'tool', 'none'");
    }
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(choice, "disable_parallel_tool_use");
    if (dp && !cJSON_IsBool(dp))
        return fail(err, "tool_choice.disable_parallel_tool_use: Input should be a valid boolean");
    if (!want) {
        /* The model chooses: native tool calling. */
        if (strcmp(type->valuestring, "none") != 0 && cJSON_GetArraySize(tools))
            req->tools = tools;
        return true;
    }
    cJSON_ArrayForEach(t, tools) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring, want) == 0) {
            req->tool = want;
            req->json = true;
            req->schema = cJSON_GetObjectItemCaseSensitive(t, "input_schema");
            return true;
        }
    }
    return fail(err, "tool_choice.name: the tool named is not in tools");
}

const char *rs_anthropic_reply(rs_arena *a, const rs_request *req, const rs_choice *choice,
                               long prompt_tokens, uint64_t id)
{
    rs_buf b;
    rs_buf_init(&b, a);
    char idbuf[64];
    snprintf(idbuf, sizeof idbuf, "{\"id\":\"msg_refserver%016llx\"", (unsigned long long)id);
    rs_buf_puts(&b, idbuf);
    rs_buf_puts(&b, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    rs_buf_json_string(&b, req->model);
    /* A forced tool answers with its call; a reply that is not a JSON
     * object (an injected fault) stays text, as a broken model's would. */
    cJSON *input = req->tool ? cJSON_Parse(choice->text) : NULL;
    if (input && cJSON_IsObject(input) && !choice->hit_length) {
        char *in = cJSON_PrintUnformatted(input);
        snprintf(idbuf, sizeof idbuf, "\"toolu_refserver%016llx\"", (unsigned long long)id);
        rs_buf_puts(&b, ",\"content\":[{\"type\":\"tool_use\",\"id\":");
        rs_buf_puts(&b, idbuf);
        rs_buf_puts(&b, ",\"name\":");
        rs_buf_json_string(&b, req->tool);
        rs_buf_puts(&b, ",\"input\":");
        rs_buf_puts(&b, in ? in : "{}");
        rs_buf_puts(&b, "}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null");
        cJSON_free(in);
        cJSON_Delete(input);
        goto usage;
    }
    cJSON_Delete(input);
    if (req->tools && !choice->hit_length) {
        /* The agent's step as a tool_use block after its thought. */
        rs_tool_reply tr;
        rs_tools_call(a, req, choice->text, &tr);
        rs_buf_puts(&b, ",\"content\":[");
        if (tr.thought[0]) {
            rs_buf_puts(&b, "{\"type\":\"text\",\"text\":");
            rs_buf_json_string(&b, tr.thought);
            rs_buf_puts(&b, "},");
        }
        rs_buf_puts(&b, "{\"type\":\"tool_use\",");
        if (req->tool_fault != 3) {
            rs_buf_puts(&b, "\"id\":");
            rs_buf_json_string(&b, rs_tools_call_id(a, RS_API_ANTHROPIC, id));
            rs_buf_puts(&b, ",");
        }
        rs_buf_puts(&b, "\"name\":");
        rs_buf_json_string(&b, tr.name);
        rs_buf_puts(&b, ",\"input\":");
        rs_buf_puts(&b, tr.args);
        rs_buf_puts(&b, "}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null");
        goto usage;
    }
    rs_buf_puts(&b, ",\"content\":[{\"type\":\"text\",\"text\":");
    rs_buf_json_string(&b, choice->text);
    rs_buf_puts(&b, "}],\"stop_reason\":");
    if (choice->hit_length) {
        rs_buf_puts(&b, "\"max_tokens\",\"stop_sequence\":null");
    } else if (choice->stop_seq) {
        rs_buf_puts(&b, "\"stop_sequence\",\"stop_sequence\":");
        rs_buf_json_string(&b, choice->stop_seq);
    } else {
        rs_buf_puts(&b, "\"end_turn\",\"stop_sequence\":null");
    }
usage:
    rs_buf_puts(&b, ",\"usage\":{\"input_tokens\":");
    rs_buf_int(&b, prompt_tokens);
    rs_buf_puts(&b, ",\"output_tokens\":");
    rs_buf_int(&b, choice->completion_tokens);
    rs_buf_puts(&b, "}}");
    return rs_buf_str(&b);
}
