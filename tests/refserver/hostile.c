/* hostile.c — --echo-key and --inject-nul (see hostile.h). */
#include "hostile.h"

#include <cjson/cJSON.h>
#include <string.h>

const char *rs_request_key(const char *authorization, const char *x_api_key)
{
    if (authorization && strncmp(authorization, "Bearer ", 7) == 0 && authorization[7])
        return authorization + 7;
    return x_api_key && *x_api_key ? x_api_key : NULL;
}

/* text with piece and then tail put in at byte at. */
static const char *splice(rs_arena *a, const char *text, size_t at, const char *piece, const char *tail)
{
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_add(&b, text, at);
    rs_buf_puts(&b, piece);
    rs_buf_puts(&b, tail);
    rs_buf_puts(&b, text + at);
    return rs_buf_str(&b);
}

/* The text with key put after the first "]]\n" (a field header of the chat
 * format), or in front when there is none. */
static const char *with_key(rs_arena *a, const char *text, const char *key)
{
    const char *at = strstr(text, "]]\n");
    return splice(a, text, at ? (size_t)(at + 3 - text) : 0, key, " ");
}

/* The first choice's text item of a reply body (root). */
static cJSON *first_text(cJSON *root, rs_api api)
{
    cJSON *text = NULL;
    if (api == RS_API_ANTHROPIC) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
        text = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(content, 0), "text");
    } else {
        cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "message");
        text = cJSON_GetObjectItemCaseSensitive(msg, "content");
    }
    return cJSON_IsString(text) ? text : NULL;
}

static void echo_in_reply(rs_arena *a, rs_api api, const char *key, rs_answer *ans)
{
    cJSON *root = cJSON_Parse(ans->body);
    cJSON *text = first_text(root, api);
    if (text) {
        cJSON_SetValuestring(text, with_key(a, text->valuestring, key));
        char *s = cJSON_PrintUnformatted(root);
        if (s) {
            ans->body = rs_strdup(a, s);
            ans->send_len = strlen(ans->body);
            cJSON_free(s);
        }
    }
    cJSON_Delete(root);
}

void rs_echo_key(rs_arena *a, const rs_options *o, rs_api api, const char *key, rs_answer *ans)
{
    if (!key || o->echo_key == RS_ECHO_NONE || o->echo_key == RS_ECHO_BATCH) /* batch: batch_api.c */
        return;
    if (o->echo_key == RS_ECHO_REPLY) {
        if (ans->status == 200)
            echo_in_reply(a, api, key, ans);
        return;
    }
    rs_buf m;
    rs_buf_init(&m, a);
    rs_buf_puts(&m, "Incorrect API key provided (quoted back by dsp-refserver --echo-key error, a test fixture, "
                    "cut at 200 bytes as a provider's log line might be): ");
    rs_buf_puts(&m, key);
    char *msg = (char *)rs_buf_str(&m);
    if (strlen(msg) > 200)
        msg[200] = '\0';
    const char *model = ans->model, *prompt = ans->prompt;
    size_t nm = ans->n_messages;
    rs_answer_error(a, api, 401, msg, "invalid_api_key", ans);
    ans->model = model;
    ans->prompt = prompt;
    ans->n_messages = nm;
}

void rs_inject_nul(rs_arena *a, const rs_options *o, rs_api api, rs_answer *ans)
{
    if (!o->inject_nul || ans->status != 200)
        return;
    cJSON *root = cJSON_Parse(ans->body);
    cJSON *text = first_text(root, api);
    if (!text) {
        cJSON_Delete(root);
        return;
    }
    /* A marker cJSON prints as itself, replaced by the escape afterwards
     * (a C string cannot hold the NUL). */
    static const char mark[] = "@@NUL-MARK@@";
    const char *t = text->valuestring;
    const char *head = strstr(t, "]]\n");
    const char *at = head ? strstr(head, "\n\n[[ ## ") : NULL;
    cJSON_SetValuestring(text, splice(a, t, at ? (size_t)(at - t) : 0, mark, "hacked"));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return;
    const char *m = strstr(s, mark);
    rs_buf out;
    rs_buf_init(&out, a);
    rs_buf_add(&out, s, (size_t)(m - s));
    rs_buf_puts(&out, "\\u0000");
    rs_buf_puts(&out, m + sizeof mark - 1);
    cJSON_free(s);
    ans->body = rs_buf_str(&out);
    ans->send_len = strlen(ans->body);
}
