/* lm_anthropic.c — Anthropic Messages (POST {base}/v1/messages): request
 * bodies and replies. System messages go to the top-level "system" field;
 * other turns carry their text as content blocks; max_tokens is required.
 * The API has no n, seed or response_format: n > 1 is served by the client
 * with several requests, seed is not sent, and a json_schema becomes a tool
 * (`output`, its input_schema the schema) that tool_choice forces, whose
 * `tool_use` block's input is the reply (as compact JSON text). */
#include "lm_wire.h"

#include "json_write.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANTHROPIC_NOT_API "Anthropic reply does not follow the Messages API"

dsp_status dsp_anthropic_request_write(dsp_jw *wp, const char *model, const dsp_message *msgs, size_t n_msgs,
                                       const dsp_lm_params *p, dsp_error *err)
{
    size_t n_sys = 0;
    dsp_status tst = dsp_wire_count_turns(msgs, n_msgs, "an Anthropic request", &n_sys, err);
    if (tst != DSP_OK)
        return tst;
    dsp_jw w = *wp; /* a local copy the compiler can keep in registers */
    dsp_jw_lit(&w, "{\"model\":");
    dsp_jw_str(&w, model);
    dsp_jw_lit(&w, ",\"max_tokens\":");
    dsp_jw_int(&w, p->max_tokens > 0 ? p->max_tokens : DSP_ANTHROPIC_DEFAULT_MAX_TOKENS);
    if (n_sys > 0) {
        /* Several system messages become one system prompt, in order,
         * separated by blank lines. */
        dsp_jw sys;
        dsp_jw_init(&sys, 256);
        size_t k = 0;
        for (size_t i = 0; i < n_msgs; i++) {
            if (msgs[i].role != DSP_ROLE_SYSTEM)
                continue;
            if (k++)
                dsp_jw_lit(&sys, "\n\n");
            dsp_jw_lit(&sys, msgs[i].content ? msgs[i].content : "");
        }
        char *text = dsp_jw_take(&sys);
        if (!text) {
            *wp = w;
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory joining system messages");
        }
        dsp_jw_lit(&w, ",\"system\":");
        dsp_jw_str(&w, text);
        free(text);
    }
    dsp_jw_lit(&w, ",\"messages\":[");
    size_t k = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].role == DSP_ROLE_SYSTEM)
            continue;
        if (msgs[i].role == DSP_ROLE_TOOL || msgs[i].n_tool_calls) {
            dsp_jw_lit(&w, k++ ? "," : "");
            i += dsp_anthropic_write_tool_turn(&w, msgs, i, n_msgs) - 1;
            continue;
        }
        dsp_jw_lit(&w, k++ ? ",{\"role\":\"" : "{\"role\":\"");
        dsp_jw_lit(&w, msgs[i].role == DSP_ROLE_ASSISTANT ? "assistant" : "user");
        dsp_jw_lit(&w, "\",\"content\":[{\"type\":\"text\",\"text\":");
        dsp_jw_content(&w, &msgs[i]);
        dsp_jw_lit(&w, "}]}");
    }
    dsp_jw_lit(&w, "]");
    if (p->temperature >= 0) {
        dsp_jw_lit(&w, ",\"temperature\":");
        dsp_jw_double(&w, p->temperature);
    }
    if (p->has_top_p) {
        dsp_jw_lit(&w, ",\"top_p\":");
        dsp_jw_double(&w, p->top_p);
    }
    if (p->stop[0])
        dsp_wire_stops(&w, ",\"stop_sequences\":", p);
    if (p->json_schema) {
        char *schema = NULL;
        dsp_status st = dsp_schema_text(p->json_schema, &schema, err);
        if (st != DSP_OK) {
            *wp = w;
            return st;
        }
        dsp_jw_lit(&w, ",\"tools\":[{\"name\":\"output\",\"description\":"
                       "\"Record the output fields, each of its declared type.\",\"input_schema\":");
        dsp_jw_lit(&w, schema);
        dsp_jw_lit(&w, "}],\"tool_choice\":{\"type\":\"tool\",\"name\":\"output\"}");
        free(schema);
    } else if (p->tools) {
        dsp_status st = dsp_tools_write(&w, true, p->tools, err);
        if (st != DSP_OK) {
            *wp = w;
            return st;
        }
    }
    if (p->stream)
        dsp_jw_lit(&w, ",\"stream\":true");
    dsp_jw_lit(&w, "}");
    *wp = w;
    if (!dsp_jw_finish(wp))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a request");
    return DSP_OK;
}

/* forced: the request forced the JSON adapter's "output" tool, whose call
 * is then the answer; in a turn offered native tools, a call of a tool the
 * user named `output` is a tool call like any other. */
static dsp_status parse_reply(const char *body, size_t len, bool forced, dsp_chat_response *resp, dsp_error *err)
{
    cJSON *root = dsp_reply_json(body, len, ANTHROPIC_NOT_API, err);
    if (!root)
        return DSP_ERR_PROTOCOL;
    dsp_status st = DSP_OK;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (!cJSON_IsArray(content)) {
        st = dsp_reply_protocol_error(err, body, len, ANTHROPIC_NOT_API, "no \"content\" array");
        goto done;
    }
    /* A forced tool's call (the JSON adapter's schema) is the answer: its
     * input object, as JSON text. */
    const cJSON *block;
    for (block = forced ? content->child : NULL; block; block = block->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(block, "type");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(block, "name");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "tool_use") != 0 || !cJSON_IsString(name) ||
            strcmp(name->valuestring, "output") != 0)
            continue;
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
        if (!cJSON_IsObject(input)) {
            st = dsp_reply_protocol_error(err, body, len, ANTHROPIC_NOT_API,
                                          "a tool_use block has no \"input\" object");
            goto done;
        }
        char *text = cJSON_PrintUnformatted(input);
        size_t tl = text ? strlen(text) : 0;
        char *s = text ? malloc(tl + 1) : NULL;
        resp->choices = s ? calloc(1, sizeof *resp->choices) : NULL;
        if (!resp->choices) {
            free(s);
            cJSON_free(text);
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a reply");
            goto done;
        }
        memcpy(s, text, tl + 1);
        cJSON_free(text);
        resp->choices[0] = s;
        resp->n_choices = 1;
        goto usage;
    }
    /* The reply's text is the concatenation of its text blocks; other
     * blocks (tool use, thinking) carry no answer text. */
    size_t total = 0;
    int n_text = 0;
    for (block = content ? content->child : NULL; block; block = block->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(block, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(block, "text");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0) {
            if (!cJSON_IsString(text)) {
                st = dsp_reply_protocol_error(err, body, len, ANTHROPIC_NOT_API, "a text block has no \"text\" string");
                goto done;
            }
            total += strlen(text->valuestring);
            n_text++;
        }
    }
    if ((st = dsp_anthropic_read_tool_uses(content, resp, err)) != DSP_OK)
        goto done;
    /* A turn that only calls tools has no text. */
    if (n_text == 0 && resp->n_tool_calls == 0) {
        st = dsp_reply_protocol_error(err, body, len, ANTHROPIC_NOT_API, "no text content block");
        goto done;
    }
    char *s = malloc(total + 1);
    resp->choices = calloc(1, sizeof *resp->choices);
    if (!s || !resp->choices) {
        free(s);
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a reply");
        goto done;
    }
    size_t at = 0;
    for (block = content ? content->child : NULL; block; block = block->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(block, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(block, "text");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0) {
            size_t l = strlen(text->valuestring);
            memcpy(s + at, text->valuestring, l);
            at += l;
        }
    }
    s[at] = '\0';
    resp->choices[0] = s;
    resp->n_choices = 1;
usage:;
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    resp->usage.prompt_tokens = dsp_reply_count(usage, "input_tokens");
    resp->usage.completion_tokens = dsp_reply_count(usage, "output_tokens");
done:
    cJSON_Delete(root);
    if (st != DSP_OK)
        dsp_chat_response_free(resp);
    return st;
}

dsp_status dsp_anthropic_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    return parse_reply(body, len, true, resp, err);
}

dsp_status dsp_anthropic_parse_tool_turn(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    return parse_reply(body, len, false, resp, err);
}
