/* wire_common.c — what both providers share: error bodies, token counts,
 * stop sequences and max_tokens (see wire.h). */
#include "wire.h"

#include "text.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

void rs_buf_json_string(rs_buf *b, const char *s)
{
    size_t len = strlen(s);
    /* Worst case: every byte a six-byte \\u00XX escape, plus quotes. */
    size_t cap = 6 * len + 3;
    if (cap > INT_MAX) {
        rs_buf_puts(b, "\"\"");
        return;
    }
    char *out = rs_alloc(b->arena, cap);
    cJSON item;
    memset(&item, 0, sizeof item);
    item.type = cJSON_String | cJSON_IsReference;
    item.valuestring = (char *)s;
    if (cJSON_PrintPreallocated(&item, out, (int)cap, 0))
        rs_buf_puts(b, out);
    else
        rs_buf_puts(b, "\"\"");
}

void rs_buf_int(rs_buf *b, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    rs_buf_add(b, buf, (size_t)n);
}

bool rs_wire_fail(rs_wire_error *err, const char *message)
{
    err->status = 400;
    err->param = NULL;
    err->code = NULL;
    err->message = message;
    return false;
}

static const char *openai_type(int status)
{
    switch (status) {
    case 429: return "requests";
    case 500:
    case 503: return "server_error";
    default: return "invalid_request_error";
    }
}

static const char *anthropic_type(int status)
{
    switch (status) {
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 500: return "api_error";
    case 503:
    case 529: return "overloaded_error";
    default: return "invalid_request_error";
    }
}

const char *rs_wire_error_body(rs_arena *a, rs_api api, const rs_wire_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_CreateObject();
    if (api == RS_API_BEDROCK) {
        /* {"message":"..."}; the type goes in the x-amzn-ErrorType header. */
        cJSON_Delete(e);
        cJSON_AddStringToObject(root, "message", err->message);
        char *s = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        const char *out = rs_strdup(a, s ? s : "{}");
        cJSON_free(s);
        return out;
    }
    if (api == RS_API_GEMINI) {
        /* {"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT"}} */
        cJSON_AddNumberToObject(e, "code", err->status);
        cJSON_AddStringToObject(e, "message", err->message);
        cJSON_AddStringToObject(e, "status", rs_gemini_status(err->status));
    } else if (api == RS_API_ANTHROPIC) {
        cJSON_AddStringToObject(root, "type", "error");
        cJSON_AddStringToObject(e, "type", anthropic_type(err->status));
        cJSON_AddStringToObject(e, "message", err->message);
    } else {
        cJSON_AddStringToObject(e, "message", err->message);
        cJSON_AddStringToObject(e, "type", openai_type(err->status));
        if (err->param)
            cJSON_AddStringToObject(e, "param", err->param);
        else
            cJSON_AddNullToObject(e, "param");
        if (err->code)
            cJSON_AddStringToObject(e, "code", err->code);
        else
            cJSON_AddNullToObject(e, "code");
    }
    cJSON_AddItemToObject(root, "error", e);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    const char *out = rs_strdup(a, s ? s : "{}");
    cJSON_free(s);
    return out;
}

long rs_prompt_tokens(const rs_request *req)
{
    long n = 0;
    for (size_t i = 0; i < req->n_msgs; i++)
        n += rs_count_words(req->msgs[i].text) + 3;
    return n;
}

void rs_finish_choice(rs_arena *a, const rs_request *req, const char *text, rs_choice *out)
{
    out->hit_length = false;
    out->stop_seq = NULL;
    size_t len = strlen(text);
    /* The earliest stop sequence wins; it is not part of the text. */
    for (size_t i = 0; i < req->n_stop; i++) {
        if (!*req->stop[i])
            continue;
        const char *p = strstr(text, req->stop[i]);
        if (p && (size_t)(p - text) < len) {
            len = (size_t)(p - text);
            out->stop_seq = req->stop[i];
        }
    }
    if (req->max_tokens > 0) {
        long words = 0;
        size_t i = 0;
        while (i < len) {
            while (i < len && isspace((unsigned char)text[i]))
                i++;
            if (i == len)
                break;
            if (words == req->max_tokens) {
                len = i;
                while (len && isspace((unsigned char)text[len - 1]))
                    len--;
                out->hit_length = true;
                out->stop_seq = NULL;
                break;
            }
            words++;
            while (i < len && !isspace((unsigned char)text[i]))
                i++;
        }
    }
    out->text = rs_strndup(a, text, len);
    out->completion_tokens = rs_count_words(out->text);
}
