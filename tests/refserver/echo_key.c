/* echo_key.c — --echo-key (see echo_key.h). */
#include "echo_key.h"

#include <cjson/cJSON.h>
#include <string.h>

const char *rs_request_key(const char *authorization, const char *x_api_key)
{
    if (authorization && strncmp(authorization, "Bearer ", 7) == 0 && authorization[7])
        return authorization + 7;
    return x_api_key && *x_api_key ? x_api_key : NULL;
}

/* The text with key put after the first "]]\n" (a field header of the chat
 * format), or in front when there is none. */
static char *with_key(rs_arena *a, const char *text, const char *key)
{
    const char *at = strstr(text, "]]\n");
    size_t head = at ? (size_t)(at + 3 - text) : 0;
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_add(&b, text, head);
    rs_buf_puts(&b, key);
    rs_buf_puts(&b, " ");
    rs_buf_puts(&b, text + head);
    return (char *)rs_buf_str(&b);
}

static void echo_in_reply(rs_arena *a, rs_api api, const char *key, rs_answer *ans)
{
    cJSON *root = cJSON_Parse(ans->body);
    cJSON *text = NULL;
    if (api == RS_API_ANTHROPIC) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
        text = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(content, 0), "text");
    } else {
        cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "message");
        text = cJSON_GetObjectItemCaseSensitive(msg, "content");
    }
    if (cJSON_IsString(text)) {
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
    if (!key || o->echo_key == RS_ECHO_NONE)
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
