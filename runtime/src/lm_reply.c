/* lm_reply.c — reading a reply body, the same for every API's parser
 * (lm_openai.c, lm_anthropic.c, lm_gemini.c, lm_bedrock.c, lm_stream.c):
 * the text rule of dsp/value.h checked before JSON is parsed, protocol
 * errors that carry the body, token counts bounded before their cast, text
 * parts joined, and a provider's error message. */
#include "lm_wire.h"

#include "dsp/value.h"
#include "text_check.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsp_status dsp_reply_protocol_error(dsp_error *err, const char *body, size_t len, const char *api, const char *why)
{
    dsp_error_set(err, DSP_ERR_PROTOCOL, "%s: %s", api, why);
    dsp_error_set_raw(err, body, len);
    return DSP_ERR_PROTOCOL;
}

static const char *reply_part_text(const cJSON *part, bool skip_thoughts)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (!cJSON_IsString(text))
        return NULL;
    if (skip_thoughts && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
        return NULL;
    return text->valuestring;
}

char *dsp_reply_join_texts(const cJSON *items, bool skip_thoughts, int *n_text)
{
    size_t total = 0;
    *n_text = 0;
    const cJSON *part;
    for (part = items ? items->child : NULL; part; part = part->next) {
        const char *t = reply_part_text(part, skip_thoughts);
        if (t) {
            total += strlen(t);
            (*n_text)++;
        }
    }
    if (*n_text == 0)
        return NULL;
    char *s = malloc(total + 1);
    if (!s)
        return NULL;
    size_t at = 0;
    for (part = items->child; part; part = part->next) {
        const char *t = reply_part_text(part, skip_thoughts);
        if (t) {
            size_t l = strlen(t);
            memcpy(s + at, t, l);
            at += l;
        }
    }
    s[at] = '\0';
    return s;
}

cJSON *dsp_reply_json(const char *body, size_t len, const char *api, dsp_error *err)
{
    char why[160];
    const char *problem = body ? dsp_reply_text_problem(body, len, why, sizeof why) : NULL;
    cJSON *root = problem ? NULL : cJSON_ParseWithLength(body, len);
    if (!root)
        dsp_reply_protocol_error(err, body, len, api, problem ? problem : "the body is not JSON");
    return root;
}

int64_t dsp_json_count(const cJSON *v)
{
    /* Bounded before the cast: a count past int64 (1e300, or 1e999 read as
     * infinity) would make it undefined; no real count is that large. */
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 ? (int64_t)v->valuedouble : -1;
}

int64_t dsp_reply_count(const cJSON *usage, const char *name)
{
    int64_t n = dsp_json_count(cJSON_GetObjectItemCaseSensitive(usage, name));
    return n < 0 ? 0 : n;
}

const char *dsp_reply_text_problem(const char *body, size_t len, char *buf, size_t bufsz)
{
    if (dsp_json_text_plain(body, len)) /* the common case, in one pass */
        return NULL;
    size_t at = dsp_json_nul_at(body, len);
    if (at < len) {
        snprintf(buf, bufsz, "a NUL character (\\u0000) at byte %zu; text with NULs is refused, not cut there", at);
        return buf;
    }
    at = dsp_text_invalid_at(body, len);
    if (at < len) {
        snprintf(buf, bufsz, "not valid UTF-8 at byte %zu (0x%02x)", at, (unsigned)(unsigned char)body[at]);
        return buf;
    }
    return NULL;
}

bool dsp_json_is_valid(const char *body, size_t len)
{
    if (!body)
        return false;
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON_Delete(root);
    return root != NULL;
}

void dsp_provider_error_message(const char *body, size_t len, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    out[0] = '\0';
    cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    if (!cJSON_IsString(type))
        type = cJSON_GetObjectItemCaseSensitive(e, "status"); /* Google's google.rpc status name */
    if (cJSON_IsString(msg)) {
        if (cJSON_IsString(type) && type->valuestring[0])
            snprintf(out, outsz, "%s: %s", type->valuestring, msg->valuestring);
        else
            snprintf(out, outsz, "%s", msg->valuestring);
    } else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "message")) ||
               cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "Message"))) {
        /* AWS's {"message":"..."}; its error type is in a header. */
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
        if (!cJSON_IsString(m))
            m = cJSON_GetObjectItemCaseSensitive(root, "Message");
        snprintf(out, outsz, "%s", m->valuestring);
    } else if (cJSON_IsString(e)) {
        snprintf(out, outsz, "%s", e->valuestring); /* some servers send {"error":"text"} */
    } else if (body && len > 0) {
        size_t n = len < 200 ? len : 200;
        snprintf(out, outsz, "%.*s", (int)n, body);
        /* An error page may hold newlines; keep the message on one line. */
        for (char *c = out; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    } else {
        snprintf(out, outsz, "(empty body)");
    }
    cJSON_Delete(root);
}
