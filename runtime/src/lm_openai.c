/* lm_openai.c — OpenAI chat completions (POST {base}/chat/completions):
 * request bodies and replies. vLLM, Ollama's /v1, llama.cpp's server and
 * other compatible servers take the same shapes. */
#include "lm_wire.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *role_name(dsp_role r)
{
    switch (r) {
    case DSP_ROLE_SYSTEM: return "system";
    case DSP_ROLE_USER: return "user";
    case DSP_ROLE_ASSISTANT: return "assistant";
    }
    return "user";
}

size_t dsp_body_size_hint(const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p)
{
    size_t n = 512 + (p->json_schema ? strlen(p->json_schema) : 0);
    for (size_t i = 0; i < n_msgs; i++)
        n += 32 + (msgs[i].content ? strlen(msgs[i].content) : 0);
    for (int i = 0; i < DSP_MAX_STOP && p->stop[i]; i++)
        n += 8 + strlen(p->stop[i]);
    return n + n / 8; /* room for escapes */
}

/* Prints into one buffer of about the right size instead of letting cJSON
 * grow its buffer step by step (a third of the cost of a request body). */
char *dsp_json_print(const cJSON *item, size_t hint)
{
    char *buf = malloc(hint);
    if (buf && cJSON_PrintPreallocated((cJSON *)item, buf, (int)hint, 0))
        return buf;
    free(buf);
    return cJSON_PrintUnformatted(item);
}

dsp_status dsp_openai_request_body(const char *model, const dsp_message *msgs, size_t n_msgs,
                                   const dsp_lm_params *p, char **body, dsp_error *err)
{
    *body = NULL;
    if (n_msgs == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "a chat request needs at least one message");
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory building a request");
    cJSON_AddStringToObject(root, "model", model);
    cJSON *arr = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; arr && i < n_msgs; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, m);
        cJSON_AddStringToObject(m, "role", role_name(msgs[i].role));
        cJSON_AddStringToObject(m, "content", msgs[i].content ? msgs[i].content : "");
    }
    if (p->temperature >= 0)
        cJSON_AddNumberToObject(root, "temperature", p->temperature);
    if (p->max_tokens > 0)
        cJSON_AddNumberToObject(root, "max_tokens", p->max_tokens);
    if (p->n > 1)
        cJSON_AddNumberToObject(root, "n", p->n);
    if (p->has_seed) {
        /* As raw text: a double would round seeds above 2^53. */
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, p->seed);
        cJSON_AddRawToObject(root, "seed", buf);
    }
    if (p->stop[0]) {
        cJSON *stop = cJSON_AddArrayToObject(root, "stop");
        for (int i = 0; stop && i < DSP_MAX_STOP && p->stop[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(p->stop[i]));
    }
    if (p->json_schema) {
        cJSON *schema = cJSON_Parse(p->json_schema);
        if (!schema || !cJSON_IsObject(schema)) {
            cJSON_Delete(schema);
            cJSON_Delete(root);
            return dsp_error_set(err, DSP_ERR_INVALID, "params.json_schema is not a JSON object: %.80s",
                                 p->json_schema);
        }
        cJSON *rf = cJSON_AddObjectToObject(root, "response_format");
        cJSON_AddStringToObject(rf, "type", "json_schema");
        cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
        cJSON_AddStringToObject(js, "name", "output");
        cJSON_AddItemToObject(js, "schema", schema);
    }
    *body = dsp_json_print(root, dsp_body_size_hint(msgs, n_msgs, p));
    cJSON_Delete(root);
    if (!*body)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory printing a request");
    return DSP_OK;
}

static dsp_status protocol_error(dsp_error *err, const char *body, size_t len, const char *what)
{
    dsp_error_set(err, DSP_ERR_PROTOCOL, "OpenAI-compatible reply does not follow the API: %s", what);
    dsp_error_set_raw(err, body, len);
    return DSP_ERR_PROTOCOL;
}

static int64_t usage_field(const cJSON *usage, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, name);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (int64_t)v->valuedouble : 0;
}

dsp_status dsp_openai_parse_reply(const char *body, size_t len, dsp_chat_response *resp, dsp_error *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        return protocol_error(err, body, len, "the body is not JSON");
    dsp_status st = DSP_OK;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    int n = cJSON_GetArraySize(choices);
    if (!cJSON_IsArray(choices) || n == 0) {
        st = protocol_error(err, body, len, "no \"choices\" array");
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
    cJSON_ArrayForEach(choice, choices) {
        /* Servers may list choices out of order; "index" says where each goes. */
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(choice, "index");
        int at = pos;
        if (cJSON_IsNumber(idx) && idx->valuedouble >= 0 && idx->valuedouble < n)
            at = (int)idx->valuedouble;
        pos++;
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (!cJSON_IsString(content)) {
            const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
            char what[200];
            if (cJSON_IsString(refusal))
                snprintf(what, sizeof what, "choice %d is a refusal: %.150s", at, refusal->valuestring);
            else
                snprintf(what, sizeof what, "choice %d has no message.content string", at);
            st = protocol_error(err, body, len, what);
            goto done;
        }
        if (resp->choices[at]) {
            st = protocol_error(err, body, len, "two choices share one index");
            goto done;
        }
        resp->choices[at] = strdup(content->valuestring);
        if (!resp->choices[at]) {
            st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a choice");
            goto done;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!resp->choices[i]) {
            st = protocol_error(err, body, len, "choice indexes are not 0..n-1");
            goto done;
        }
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    resp->usage.prompt_tokens = usage_field(usage, "prompt_tokens");
    resp->usage.completion_tokens = usage_field(usage, "completion_tokens");
done:
    cJSON_Delete(root);
    if (st != DSP_OK)
        dsp_chat_response_free(resp);
    return st;
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
    if (cJSON_IsString(msg)) {
        if (cJSON_IsString(type) && type->valuestring[0])
            snprintf(out, outsz, "%s: %s", type->valuestring, msg->valuestring);
        else
            snprintf(out, outsz, "%s", msg->valuestring);
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
