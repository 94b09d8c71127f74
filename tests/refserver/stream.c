/* stream.c — replies re-sent as event streams (see stream.h). */
#include "stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void str_header(rs_buf *h, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    unsigned char head[4] = {(unsigned char)nl, 0, 0, 0};
    rs_buf_add(h, (const char *)head, 1);
    rs_buf_add(h, name, nl);
    head[0] = 7; /* string */
    head[1] = (unsigned char)(vl >> 8);
    head[2] = (unsigned char)vl;
    rs_buf_add(h, (const char *)head, 3);
    rs_buf_add(h, value, vl);
}

/* One event-stream message: prelude (total length, headers length, their
 * CRC32), the string headers, the JSON payload, the message's CRC32. */
static void es_message(rs_buf *b, const char *kind, const char *type, cJSON *payload)
{
    bool exception = strcmp(kind, "exception") == 0;
    rs_buf h;
    rs_buf_init(&h, b->arena);
    str_header(&h, exception ? ":exception-type" : ":event-type", type);
    str_header(&h, ":content-type", "application/json");
    str_header(&h, ":message-type", kind);
    char *json = cJSON_PrintUnformatted(payload);
    size_t pl = json ? strlen(json) : 2;
    size_t start = b->len, total = 12 + h.len + pl + 4;
    unsigned char prelude[12];
    put32(prelude, (uint32_t)total);
    put32(prelude + 4, (uint32_t)h.len);
    put32(prelude + 8, (uint32_t)crc32(0, prelude, 8));
    rs_buf_add(b, (const char *)prelude, 12);
    rs_buf_add(b, h.data, h.len);
    rs_buf_add(b, json ? json : "{}", pl);
    unsigned char crc[4];
    put32(crc, (uint32_t)crc32(0, (const unsigned char *)b->data + start, (uInt)(total - 4)));
    rs_buf_add(b, (const char *)crc, 4);
    cJSON_free(json);
    cJSON_Delete(payload);
}

size_t rs_stream_message_len(const char *p, size_t avail)
{
    if (avail < 4)
        return avail;
    const unsigned char *u = (const unsigned char *)p;
    size_t total = (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
    return total && total <= avail ? total : avail;
}

static cJSON *block_event(int index)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "contentBlockIndex", index);
    return e;
}

static void bedrock_stream(rs_buf *b, const cJSON *reply)
{
    cJSON *start = cJSON_CreateObject();
    cJSON_AddStringToObject(start, "role", "assistant");
    es_message(b, "event", "messageStart", start);
    const cJSON *content =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(reply, "output"), "message");
    const cJSON *block;
    int index = 0;
    cJSON_ArrayForEach(block, cJSON_GetObjectItemCaseSensitive(content, "content")) {
        const cJSON *tu = cJSON_GetObjectItemCaseSensitive(block, "toolUse");
        char *text = NULL;
        if (tu) {
            cJSON *st = cJSON_CreateObject();
            cJSON_AddItemToObject(st, "toolUseId", dup_item(tu, "toolUseId"));
            cJSON_AddItemToObject(st, "name", dup_item(tu, "name"));
            cJSON *s = cJSON_CreateObject();
            cJSON_AddItemToObject(s, "toolUse", st);
            cJSON *e = block_event(index);
            cJSON_AddItemToObject(e, "start", s);
            es_message(b, "event", "contentBlockStart", e);
            text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(tu, "input"));
        } else {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(block, "text");
            text = strdup(cJSON_IsString(t) ? t->valuestring : "");
        }
        for (const char *s = text ? text : ""; *s;) {
            size_t n = piece_len(s);
            char *piece = strndup(s, n);
            cJSON *d = cJSON_CreateObject();
            if (tu) {
                cJSON *in = cJSON_CreateObject();
                cJSON_AddStringToObject(in, "input", piece ? piece : "");
                cJSON_AddItemToObject(d, "toolUse", in);
            } else {
                cJSON_AddStringToObject(d, "text", piece ? piece : "");
            }
            free(piece);
            cJSON *e = block_event(index);
            cJSON_AddItemToObject(e, "delta", d);
            es_message(b, "event", "contentBlockDelta", e);
            s += n;
        }
        if (tu)
            cJSON_free(text);
        else
            free(text);
        es_message(b, "event", "contentBlockStop", block_event(index));
        index++;
    }
    cJSON *stop = cJSON_CreateObject();
    cJSON_AddItemToObject(stop, "stopReason", dup_item(reply, "stopReason"));
    es_message(b, "event", "messageStop", stop);
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddItemToObject(meta, "usage", dup_item(reply, "usage"));
    cJSON_AddItemToObject(meta, "metrics", dup_item(reply, "metrics"));
    es_message(b, "event", "metadata", meta);
}

const char *rs_stream_bedrock_exception(rs_arena *a, const char *exception_type, const char *message, size_t *len)
{
    rs_buf b;
    rs_buf_init(&b, a);
    cJSON *start = cJSON_CreateObject();
    cJSON_AddStringToObject(start, "role", "assistant");
    es_message(&b, "event", "messageStart", start);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "message", message);
    es_message(&b, "exception", exception_type, e);
    *len = b.len;
    return rs_buf_str(&b);
}

const char *rs_stream_body(rs_arena *a, rs_api api, const char *reply, bool include_usage, size_t *len)
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
    else if (api == RS_API_BEDROCK)
        bedrock_stream(&b, root);
    else
        openai_stream(&b, root, include_usage);
    cJSON_Delete(root);
    *len = b.len;
    return rs_buf_str(&b);
}
