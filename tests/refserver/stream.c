/* stream.c — replies re-sent as event streams (see stream.h). */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

/* The length of the next piece of text: a few words (through the space
 * after them) or at most 24 bytes, never ending inside a UTF-8 sequence.
 * The pieces are deterministic, so the fixture's streams are too. */
static size_t piece_len(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        size_t c = 1;
        while (((unsigned char)s[n + c] & 0xC0) == 0x80)
            c++;
        if (n && n + c > 24)
            break;
        n += c;
        if (n >= 8 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
            break;
    }
    return n;
}

static void event(rs_buf *b, const char *name, cJSON *data)
{
    char *text = cJSON_PrintUnformatted(data);
    if (name) {
        rs_buf_puts(b, "event: ");
        rs_buf_puts(b, name);
        rs_buf_puts(b, "\n");
    }
    rs_buf_puts(b, "data: ");
    rs_buf_puts(b, text ? text : "{}");
    rs_buf_puts(b, "\n\n");
    cJSON_free(text);
    cJSON_Delete(data);
}

static cJSON *dup_item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* Copies an optional member, when the reply has it. */
static void copy_if(cJSON *to, const cJSON *from, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
    if (v)
        cJSON_AddItemToObject(to, key, cJSON_Duplicate(v, 1));
}

/* An OpenAI chunk with the reply's id, created and model, and choices. */
static cJSON *openai_chunk(const cJSON *reply, cJSON *choices)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToObject(c, "id", dup_item(reply, "id"));
    cJSON_AddStringToObject(c, "object", "chat.completion.chunk");
    cJSON_AddItemToObject(c, "created", dup_item(reply, "created"));
    cJSON_AddItemToObject(c, "model", dup_item(reply, "model"));
    copy_if(c, reply, "system_fingerprint");
    cJSON_AddItemToObject(c, "choices", choices);
    return c;
}

static cJSON *openai_delta_choice(int index, cJSON *delta, const char *finish)
{
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddNumberToObject(ch, "index", index);
    cJSON_AddItemToObject(ch, "delta", delta);
    cJSON_AddNullToObject(ch, "logprobs");
    if (finish)
        cJSON_AddStringToObject(ch, "finish_reason", finish);
    else
        cJSON_AddNullToObject(ch, "finish_reason");
    return ch;
}

static void openai_stream(rs_buf *b, const cJSON *reply, bool include_usage)
{
    const cJSON *ch;
    int i = 0;
    cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(reply, "choices")) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        const cJSON *finish = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "role", "assistant");
        cJSON_AddStringToObject(d, "content", "");
        cJSON *chunk = openai_chunk(reply, cJSON_CreateArray());
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(chunk, "choices"), openai_delta_choice(i, d, NULL));
        event(b, NULL, chunk);
        const char *s = cJSON_IsString(content) ? content->valuestring : "";
        while (*s) {
            size_t n = piece_len(s);
            char *piece = strndup(s, n);
            d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "content", piece ? piece : "");
            free(piece);
            chunk = openai_chunk(reply, cJSON_CreateArray());
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(chunk, "choices"), openai_delta_choice(i, d, NULL));
            event(b, NULL, chunk);
            s += n;
        }
        chunk = openai_chunk(reply, cJSON_CreateArray());
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(chunk, "choices"),
                             openai_delta_choice(i, cJSON_CreateObject(),
                                                 cJSON_IsString(finish) ? finish->valuestring : "stop"));
        event(b, NULL, chunk);
        i++;
    }
    if (include_usage) {
        cJSON *chunk = openai_chunk(reply, cJSON_CreateArray());
        cJSON_AddItemToObject(chunk, "usage", dup_item(reply, "usage"));
        event(b, NULL, chunk);
    }
    rs_buf_puts(b, "data: [DONE]\n\n");
}

static cJSON *typed(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static void anthropic_stream(rs_buf *b, const cJSON *reply)
{
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(reply, "usage");
    cJSON *msg = cJSON_Duplicate(reply, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(msg, "content", cJSON_CreateArray());
    cJSON_ReplaceItemInObjectCaseSensitive(msg, "stop_reason", cJSON_CreateNull());
    cJSON_ReplaceItemInObjectCaseSensitive(msg, "stop_sequence", cJSON_CreateNull());
    cJSON *u = cJSON_CreateObject();
    cJSON_AddItemToObject(u, "input_tokens", dup_item(usage, "input_tokens"));
    cJSON_AddNumberToObject(u, "output_tokens", 1);
    cJSON_ReplaceItemInObjectCaseSensitive(msg, "usage", u);
    cJSON *start = typed("message_start");
    cJSON_AddItemToObject(start, "message", msg);
    event(b, "message_start", start);
    const cJSON *block;
    int index = 0;
    cJSON_ArrayForEach(block, cJSON_GetObjectItemCaseSensitive(reply, "content")) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(block, "type");
        bool tool = cJSON_IsString(type) && strcmp(type->valuestring, "tool_use") == 0;
        cJSON *head = cJSON_Duplicate(block, 1);
        char *text = NULL;
        if (tool) {
            text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(block, "input"));
            cJSON_ReplaceItemInObjectCaseSensitive(head, "input", cJSON_CreateObject());
        } else {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(block, "text");
            text = strdup(cJSON_IsString(t) ? t->valuestring : "");
            cJSON_ReplaceItemInObjectCaseSensitive(head, "text", cJSON_CreateString(""));
        }
        cJSON *e = typed("content_block_start");
        cJSON_AddNumberToObject(e, "index", index);
        cJSON_AddItemToObject(e, "content_block", head);
        event(b, "content_block_start", e);
        if (index == 0)
            event(b, "ping", typed("ping"));
        for (const char *s = text ? text : ""; *s;) {
            size_t n = piece_len(s);
            char *piece = strndup(s, n);
            cJSON *d = typed(tool ? "input_json_delta" : "text_delta");
            cJSON_AddStringToObject(d, tool ? "partial_json" : "text", piece ? piece : "");
            free(piece);
            e = typed("content_block_delta");
            cJSON_AddNumberToObject(e, "index", index);
            cJSON_AddItemToObject(e, "delta", d);
            event(b, "content_block_delta", e);
            s += n;
        }
        if (tool)
            cJSON_free(text);
        else
            free(text);
        e = typed("content_block_stop");
        cJSON_AddNumberToObject(e, "index", index);
        event(b, "content_block_stop", e);
        index++;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "stop_reason", dup_item(reply, "stop_reason"));
    cJSON_AddItemToObject(d, "stop_sequence", dup_item(reply, "stop_sequence"));
    cJSON *e = typed("message_delta");
    cJSON_AddItemToObject(e, "delta", d);
    u = cJSON_CreateObject();
    cJSON_AddItemToObject(u, "output_tokens", dup_item(usage, "output_tokens"));
    cJSON_AddItemToObject(e, "usage", u);
    event(b, "message_delta", e);
    event(b, "message_stop", typed("message_stop"));
}

/* One chunk of a Gemini stream: candidate 0 with one text part. */
static cJSON *gemini_chunk(const cJSON *reply, const char *text, bool last)
{
    const cJSON *cand = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reply, "candidates"), 0);
    cJSON *c = cJSON_CreateObject();
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "text", text);
    cJSON *parts = cJSON_CreateArray();
    cJSON_AddItemToArray(parts, part);
    cJSON *content = cJSON_CreateObject();
    cJSON_AddItemToObject(content, "parts", parts);
    cJSON_AddStringToObject(content, "role", "model");
    cJSON_AddItemToObject(c, "content", content);
    if (last)
        cJSON_AddItemToObject(c, "finishReason", dup_item(cand, "finishReason"));
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *cands = cJSON_CreateArray();
    cJSON_AddItemToArray(cands, c);
    cJSON *chunk = cJSON_CreateObject();
    cJSON_AddItemToObject(chunk, "candidates", cands);
    copy_if(chunk, reply, "usageMetadata");
    copy_if(chunk, reply, "modelVersion");
    copy_if(chunk, reply, "responseId");
    return chunk;
}

static void gemini_stream(rs_buf *b, const cJSON *reply)
{
    const cJSON *cand = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reply, "candidates"), 0);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(parts, 0), "text");
    const char *s = cJSON_IsString(t) ? t->valuestring : "";
    do {
        size_t n = piece_len(s);
        char *piece = strndup(s, n);
        event(b, NULL, gemini_chunk(reply, piece ? piece : "", s[n] == '\0'));
        free(piece);
        s += n;
    } while (*s);
}

const char *rs_stream_body(rs_arena *a, rs_api api, const char *reply, bool include_usage)
{
    cJSON *root = cJSON_Parse(reply);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    rs_buf b;
    rs_buf_init(&b, a);
    if (api == RS_API_ANTHROPIC)
        anthropic_stream(&b, root);
    else if (api == RS_API_GEMINI)
        gemini_stream(&b, root);
    else
        openai_stream(&b, root, include_usage);
    cJSON_Delete(root);
    return rs_buf_str(&b);
}
