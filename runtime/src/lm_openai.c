/* lm_openai.c — OpenAI chat completions (POST {base}/chat/completions):
 * request bodies and replies. vLLM, Ollama's /v1, llama.cpp's server and
 * other compatible servers take the same shapes. */
#include "lm_wire.h"

#include "dsp/value.h"
#include "json_write.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENAI_NOT_API "OpenAI-compatible reply does not follow the API"

static const char *role_name(dsp_role r)
{
    switch (r) {
    case DSP_ROLE_SYSTEM: return "system";
    case DSP_ROLE_USER: return "user";
    case DSP_ROLE_ASSISTANT: return "assistant";
    case DSP_ROLE_TOOL: return "tool";
    }
    return "user";
}

size_t dsp_body_size_hint(const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p)
{
    size_t n = 256 + (p->json_schema ? strlen(p->json_schema) : 0);
    for (size_t i = 0; i < n_msgs; i++)
        n += 32 + (msgs[i].content ? strlen(msgs[i].content) : 0);
    for (int i = 0; i < DSP_MAX_STOP && p->stop[i]; i++)
        n += 8 + strlen(p->stop[i]);
    return n + n / 16; /* room for a few escapes */
}

dsp_status dsp_schema_text(const char *json_schema, char **out, dsp_error *err)
{
    *out = NULL;
    cJSON *schema = cJSON_Parse(json_schema);
    if (!schema || !cJSON_IsObject(schema)) {
        cJSON_Delete(schema);
        return dsp_error_set(err, DSP_ERR_INVALID, "params.json_schema is not a JSON object: %.80s", json_schema);
    }
    *out = cJSON_PrintUnformatted(schema);
    cJSON_Delete(schema);
    if (!*out)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing a JSON schema");
    return DSP_OK;
}

dsp_status dsp_openai_request_write(dsp_jw *wp, const char *model, const dsp_message *msgs, size_t n_msgs,
                                    const dsp_lm_params *p, dsp_error *err)
{
    if (n_msgs == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "a chat request needs at least one message");
    char *schema = NULL;
    if (p->json_schema) {
        dsp_status st = dsp_schema_text(p->json_schema, &schema, err);
        if (st != DSP_OK)
            return st;
    }
    dsp_jw w = *wp; /* a local copy the compiler can keep in registers */
    dsp_jw_lit(&w, "{\"model\":");
    dsp_jw_str(&w, model);
    dsp_jw_lit(&w, ",\"messages\":[");
    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].role == DSP_ROLE_TOOL || msgs[i].n_tool_calls) {
            dsp_jw_lit(&w, i ? "," : "");
            dsp_openai_write_tool_turn(&w, &msgs[i]);
            continue;
        }
        dsp_jw_lit(&w, i ? ",{\"role\":\"" : "{\"role\":\"");
        dsp_jw_lit(&w, role_name(msgs[i].role));
        dsp_jw_lit(&w, "\",\"content\":");
        dsp_jw_content(&w, &msgs[i]);
        dsp_jw_lit(&w, "}");
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
    if (p->max_tokens > 0) {
        dsp_jw_lit(&w, ",\"max_tokens\":");
        dsp_jw_int(&w, p->max_tokens);
    }
    if (p->n > 1) {
        dsp_jw_lit(&w, ",\"n\":");
        dsp_jw_int(&w, p->n);
    }
    if (p->has_seed) {
        /* Exact digits: a double would round seeds above 2^53. */
        dsp_jw_lit(&w, ",\"seed\":");
        dsp_jw_int(&w, p->seed);
    }
    if (p->stop[0])
        dsp_wire_stops(&w, ",\"stop\":", p);
    if (p->has_lora) {
        dsp_jw_lit(&w, ",\"lora\":[{\"id\":");
        dsp_jw_int(&w, p->lora_id);
        dsp_jw_lit(&w, ",\"scale\":");
        dsp_jw_double(&w, p->lora_scale > 0 ? p->lora_scale : 1.0);
        dsp_jw_lit(&w, "}]");
    }
    if (schema) {
        dsp_jw_lit(&w, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"output\",\"schema\":");
        dsp_jw_lit(&w, schema);
        /* Strict decoding where the schema allows it: OpenAI's strict mode
         * takes no free-form objects (maps). */
        dsp_jw_lit(&w, p->json_strict ? ",\"strict\":true}}" : "}}");
        free(schema);
    }
    if (p->tools) {
        dsp_status st = dsp_tools_write(&w, false, p->tools, err);
        if (st != DSP_OK) {
            *wp = w;
            return st;
        }
    }
    /* Usage comes in a last chunk only when asked for. */
    if (p->stream)
        dsp_jw_lit(&w, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    dsp_jw_lit(&w, "}");
    *wp = w;
    if (!dsp_jw_finish(wp))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a request");
    return DSP_OK;
}

dsp_status dsp_openai_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    cJSON *root = dsp_reply_json(body, len, OPENAI_NOT_API, err);
    if (!root)
        return DSP_ERR_PROTOCOL;
    dsp_status st = DSP_OK;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    int n = cJSON_GetArraySize(choices);
    if (!cJSON_IsArray(choices) || n == 0) {
        st = dsp_reply_protocol_error(err, body, len, OPENAI_NOT_API, "no \"choices\" array");
        goto done;
    }
    resp->choices = calloc((size_t)n, sizeof *resp->choices);
    if (!resp->choices) {
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading %d choices", n);
        goto done;
    }
    resp->n_choices = (size_t)n;
    int pos = 0;
    const cJSON *choice;
    for (choice = choices ? choices->child : NULL; choice; choice = choice->next) {
        /* Servers may list choices out of order; "index" says where each goes. */
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(choice, "index");
        int at = pos;
        if (cJSON_IsNumber(idx) && idx->valuedouble >= 0 && idx->valuedouble < n)
            at = (int)idx->valuedouble;
        pos++;
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        const cJSON *tool_calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
        /* A turn that only calls tools has content null. */
        bool calls = cJSON_IsArray(tool_calls) && cJSON_GetArraySize(tool_calls) > 0;
        if (!cJSON_IsString(content) && !calls) {
            const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
            char what[200];
            if (cJSON_IsString(refusal))
                snprintf(what, sizeof what, "choice %d is a refusal: %.150s", at, refusal->valuestring);
            else
                snprintf(what, sizeof what, "choice %d has no message.content string", at);
            st = dsp_reply_protocol_error(err, body, len, OPENAI_NOT_API, what);
            goto done;
        }
        if (resp->choices[at]) {
            st = dsp_reply_protocol_error(err, body, len, OPENAI_NOT_API, "two choices share one index");
            goto done;
        }
        resp->choices[at] = strdup(cJSON_IsString(content) ? content->valuestring : "");
        if (!resp->choices[at]) {
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a choice");
            goto done;
        }
        if (calls && at == 0 && (st = dsp_openai_read_tool_calls(tool_calls, resp, err)) != DSP_OK)
            goto done;
    }
    for (int i = 0; i < n; i++) {
        if (!resp->choices[i]) {
            st = dsp_reply_protocol_error(err, body, len, OPENAI_NOT_API, "choice indexes are not 0..n-1");
            goto done;
        }
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    resp->usage.prompt_tokens = dsp_reply_count(usage, "prompt_tokens");
    resp->usage.completion_tokens = dsp_reply_count(usage, "completion_tokens");
done:
    cJSON_Delete(root);
    if (st != DSP_OK)
        dsp_chat_response_free(resp);
    return st;
}
