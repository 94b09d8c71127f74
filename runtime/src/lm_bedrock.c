/* lm_bedrock.c — Amazon Bedrock's Converse API (POST {base}/model/
 * {modelId}/converse): request bodies, replies and the region. System
 * messages become `system` text blocks, the other turns `messages` with
 * text content blocks; sampling goes in `inferenceConfig`. The API has no
 * n or seed: n > 1 is served by the client with several requests, seed is
 * not sent. A json_schema becomes a tool (`output`, inputSchema.json the
 * schema) that toolChoice forces; its toolUse input is the reply. Requests
 * are signed with AWS Signature Version 4 by libcurl (client.c). */
#include "lm_wire.h"

#include "json_write.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEDROCK_NOT_API "Bedrock reply does not follow the Converse API"

const char *const dsp_aws_env_names[DSP_AWS_N_ENV] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                       "AWS_SESSION_TOKEN" };

void dsp_aws_env_read(const char *values[DSP_AWS_N_ENV])
{
    for (int i = 0; i < DSP_AWS_N_ENV; i++)
        values[i] = getenv(dsp_aws_env_names[i]);
}

dsp_status dsp_bedrock_request_write(dsp_jw *wp, const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p,
                                     dsp_error *err)
{
    size_t n_sys = 0;
    dsp_status tst = dsp_wire_no_native_tools(p, "Bedrock", err);
    if (tst == DSP_OK)
        tst = dsp_wire_count_turns(msgs, n_msgs, "a Bedrock Converse request", &n_sys, err);
    if (tst != DSP_OK)
        return tst;
    char *schema = NULL;
    if (p->json_schema) {
        dsp_status st = dsp_schema_text(p->json_schema, &schema, err);
        if (st != DSP_OK)
            return st;
    }
    dsp_jw w = *wp;
    dsp_jw_lit(&w, "{\"messages\":[");
    dsp_wire_turns(&w, msgs, n_msgs, "assistant", "content");
    dsp_jw_lit(&w, "]");
    if (n_sys > 0) {
        dsp_jw_lit(&w, ",\"system\":[");
        dsp_wire_system_texts(&w, msgs, n_msgs);
        dsp_jw_lit(&w, "]");
    }
    if (p->max_tokens > 0 || p->temperature >= 0 || p->has_top_p || p->stop[0]) {
        const char *sep = "";
        dsp_jw_lit(&w, ",\"inferenceConfig\":{");
        if (p->max_tokens > 0) {
            dsp_jw_lit(&w, "\"maxTokens\":");
            dsp_jw_int(&w, p->max_tokens);
            sep = ",";
        }
        if (p->temperature >= 0) {
            dsp_jw_lit(&w, sep);
            dsp_jw_lit(&w, "\"temperature\":");
            dsp_jw_double(&w, p->temperature);
            sep = ",";
        }
        if (p->has_top_p) {
            dsp_jw_lit(&w, sep);
            dsp_jw_lit(&w, "\"topP\":");
            dsp_jw_double(&w, p->top_p);
            sep = ",";
        }
        if (p->stop[0]) {
            dsp_jw_lit(&w, sep);
            dsp_wire_stops(&w, "\"stopSequences\":", p);
        }
        dsp_jw_lit(&w, "}");
    }
    if (schema) {
        dsp_jw_lit(&w, ",\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"output\",\"description\":"
                       "\"Record the output fields, each of its declared type.\",\"inputSchema\":{\"json\":");
        dsp_jw_lit(&w, schema);
        dsp_jw_lit(&w, "}}}],\"toolChoice\":{\"tool\":{\"name\":\"output\"}}}");
        free(schema);
    }
    dsp_jw_lit(&w, "}");
    *wp = w;
    if (!dsp_jw_finish(wp))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a request");
    return DSP_OK;
}

/* The answer: the forced tool's input as JSON text when there is one,
 * else the text blocks joined. NULL with *why set when neither. */
static char *answer_text(const cJSON *content, const char **why)
{
    const cJSON *blk;
    for (blk = content ? content->child : NULL; blk; blk = blk->next) {
        const cJSON *tu = cJSON_GetObjectItemCaseSensitive(blk, "toolUse");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(tu, "name");
        if (!cJSON_IsString(name) || strcmp(name->valuestring, "output") != 0)
            continue;
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(tu, "input");
        if (!cJSON_IsObject(input)) {
            *why = "a toolUse block has no \"input\" object";
            return NULL;
        }
        char *t = cJSON_PrintUnformatted(input);
        char *s = t ? strdup(t) : NULL;
        cJSON_free(t);
        if (!s)
            *why = "out of memory";
        return s;
    }
    int n;
    char *s = dsp_reply_join_texts(content, false, &n);
    if (!s)
        *why = n ? "out of memory" : "no text content block";
    return s;
}

dsp_status dsp_bedrock_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    char buf[160];
    cJSON *root = dsp_reply_json(body, len, BEDROCK_NOT_API, err);
    if (!root)
        return DSP_ERR_PROTOCOL;
    dsp_status st = DSP_OK;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "output"), "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (!cJSON_IsArray(content)) {
        st = dsp_reply_protocol_error(err, body, len, BEDROCK_NOT_API, "no \"output.message.content\" array");
        goto done;
    }
    const char *why = NULL;
    char *text = answer_text(content, &why);
    if (!text) {
        const cJSON *sr = cJSON_GetObjectItemCaseSensitive(root, "stopReason");
        snprintf(buf, sizeof buf, "%s (stopReason %s)", why, cJSON_IsString(sr) ? sr->valuestring : "missing");
        st = dsp_reply_protocol_error(err, body, len, BEDROCK_NOT_API, buf);
        goto done;
    }
    resp->choices = calloc(1, sizeof *resp->choices);
    if (!resp->choices) {
        free(text);
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a reply");
        goto done;
    }
    resp->choices[0] = text;
    resp->n_choices = 1;
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    resp->usage.prompt_tokens = dsp_reply_count(usage, "inputTokens");
    resp->usage.completion_tokens = dsp_reply_count(usage, "outputTokens");
done:
    cJSON_Delete(root);
    if (st != DSP_OK)
        dsp_chat_response_free(resp);
    return st;
}

static bool region_ok(const char *r, size_t n)
{
    if (n == 0 || n >= DSP_AWS_REGION_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return false;
    return true;
}

dsp_status dsp_bedrock_region(const char *base_url, char out[DSP_AWS_REGION_MAX], dsp_error *err)
{
    /* https://bedrock-runtime[-fips].REGION.amazonaws.com[...] names it. */
    const char *h = base_url ? strstr(base_url, "://") : NULL;
    if (h) {
        h += 3;
        const char *dot = strchr(h, '.');
        const char *rest = dot ? strchr(dot + 1, '.') : NULL;
        if (dot && rest && strncmp(h, "bedrock-runtime", 15) == 0 && strncmp(rest, ".amazonaws.com", 14) == 0 &&
            region_ok(dot + 1, (size_t)(rest - dot - 1))) {
            memcpy(out, dot + 1, (size_t)(rest - dot - 1));
            out[rest - dot - 1] = '\0';
            return DSP_OK;
        }
    }
    const char *env = getenv("AWS_REGION");
    const char *name = "AWS_REGION";
    if (!env || !*env) {
        env = getenv("AWS_DEFAULT_REGION");
        name = "AWS_DEFAULT_REGION";
    }
    if (!env || !*env) {
        snprintf(out, DSP_AWS_REGION_MAX, "%s", DSP_BEDROCK_DEFAULT_REGION);
        return DSP_OK;
    }
    if (!region_ok(env, strlen(env)))
        return dsp_error_set(err, DSP_ERR_ENV, "%s \"%.40s\" is not an AWS region like \"us-east-1\"", name, env);
    snprintf(out, DSP_AWS_REGION_MAX, "%s", env);
    return DSP_OK;
}
