/* lm_tools.c — native tool calling on the wire (docs/runtime.md, "Native
 * tool calling"): the tools of a request, assistant turns that called
 * tools and the results sent back, in OpenAI's chat completions shapes
 * (`tools` of type function, `tool_calls`, `role: tool` messages with
 * `tool_call_id`) and Anthropic's Messages shapes (`tools` with an
 * `input_schema`, `tool_use` and `tool_result` content blocks); and the
 * tool calls of a reply. A malformed call in a reply (arguments that are
 * not JSON, no id, no name) is kept as it came, never an error here: the
 * agent loop answers it with an error observation. */
#include "lm_wire.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* params.tools parsed, or NULL with err set. */
static cJSON *lmt_parse_tools(const char *tools, dsp_error *err)
{
    cJSON *arr = cJSON_Parse(tools);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        dsp_error_set(err, DSP_ERR_INVALID, "params.tools is not a JSON array: %.80s", tools);
        return NULL;
    }
    const cJSON *t;
    for (t = arr ? arr->child : NULL; t; t = t->next) {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "name")) ||
            !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(t, "parameters"))) {
            cJSON_Delete(arr);
            dsp_error_set(err, DSP_ERR_INVALID, "params.tools: every tool needs a \"name\" and a \"parameters\" object");
            return NULL;
        }
    }
    return arr;
}

static void lmt_write_printed(dsp_jw *w, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text) {
        w->failed = true;
        return;
    }
    dsp_jw_lit(w, text);
    cJSON_free(text);
}

dsp_status dsp_tools_write(dsp_jw *w, bool anthropic, const char *tools, dsp_error *err)
{
    cJSON *arr = lmt_parse_tools(tools, err);
    if (!arr)
        return DSP_ERR_INVALID;
    dsp_jw_lit(w, ",\"tools\":[");
    const cJSON *t;
    int k = 0;
    for (t = arr ? arr->child : NULL; t; t = t->next) {
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(t, "description");
        dsp_jw_lit(w, k++ ? "," : "");
        dsp_jw_lit(w, anthropic ? "{\"name\":" : "{\"type\":\"function\",\"function\":{\"name\":");
        dsp_jw_str(w, cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring);
        if (cJSON_IsString(desc) && desc->valuestring[0]) {
            dsp_jw_lit(w, ",\"description\":");
            dsp_jw_str(w, desc->valuestring);
        }
        dsp_jw_lit(w, anthropic ? ",\"input_schema\":" : ",\"parameters\":");
        lmt_write_printed(w, cJSON_GetObjectItemCaseSensitive(t, "parameters"));
        dsp_jw_lit(w, anthropic ? "}" : "}}");
    }
    /* One call a turn: the agent loop runs a step per turn. */
    dsp_jw_lit(w, anthropic ? "],\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":true}"
                            : "],\"parallel_tool_calls\":false");
    cJSON_Delete(arr);
    return DSP_OK;
}

void dsp_openai_write_tool_turn(dsp_jw *w, const dsp_message *m)
{
    if (m->role == DSP_ROLE_TOOL) {
        dsp_jw_lit(w, "{\"role\":\"tool\",\"tool_call_id\":");
        dsp_jw_str(w, m->tool_call_id ? m->tool_call_id : "");
        dsp_jw_lit(w, ",\"content\":");
        dsp_jw_str(w, m->content ? m->content : "");
        dsp_jw_lit(w, "}");
        return;
    }
    /* An assistant turn that called tools: content is null when it wrote no text. */
    dsp_jw_lit(w, "{\"role\":\"assistant\",\"content\":");
    if (m->content && m->content[0])
        dsp_jw_str(w, m->content);
    else
        dsp_jw_lit(w, "null");
    dsp_jw_lit(w, ",\"tool_calls\":[");
    for (size_t i = 0; i < m->n_tool_calls; i++) {
        const dsp_tool_call *c = &m->tool_calls[i];
        dsp_jw_lit(w, i ? ",{\"id\":" : "{\"id\":");
        dsp_jw_str(w, c->id ? c->id : "");
        dsp_jw_lit(w, ",\"type\":\"function\",\"function\":{\"name\":");
        dsp_jw_str(w, c->name ? c->name : "");
        dsp_jw_lit(w, ",\"arguments\":");
        dsp_jw_str(w, c->arguments ? c->arguments : "{}");
        dsp_jw_lit(w, "}}");
    }
    dsp_jw_lit(w, "]}");
}

size_t dsp_anthropic_write_tool_turn(dsp_jw *w, const dsp_message *msgs, size_t i, size_t n)
{
    const dsp_message *m = &msgs[i];
    if (m->role == DSP_ROLE_TOOL) {
        /* The results of one turn's calls go back together, as the
         * tool_result blocks of one user turn. */
        dsp_jw_lit(w, "{\"role\":\"user\",\"content\":[");
        size_t k = i;
        for (; k < n && msgs[k].role == DSP_ROLE_TOOL; k++) {
            dsp_jw_lit(w, k > i ? ",{\"type\":\"tool_result\",\"tool_use_id\":" : "{\"type\":\"tool_result\",\"tool_use_id\":");
            dsp_jw_str(w, msgs[k].tool_call_id ? msgs[k].tool_call_id : "");
            dsp_jw_lit(w, ",\"content\":");
            dsp_jw_str(w, msgs[k].content ? msgs[k].content : "");
            if (msgs[k].tool_error)
                dsp_jw_lit(w, ",\"is_error\":true");
            dsp_jw_lit(w, "}");
        }
        dsp_jw_lit(w, "]}");
        return k - i;
    }
    dsp_jw_lit(w, "{\"role\":\"assistant\",\"content\":[");
    int k = 0;
    if (m->content && m->content[0]) {
        dsp_jw_lit(w, "{\"type\":\"text\",\"text\":");
        dsp_jw_str(w, m->content);
        dsp_jw_lit(w, "}");
        k++;
    }
    for (size_t j = 0; j < m->n_tool_calls; j++) {
        const dsp_tool_call *c = &m->tool_calls[j];
        dsp_jw_lit(w, k++ ? ",{\"type\":\"tool_use\",\"id\":" : "{\"type\":\"tool_use\",\"id\":");
        dsp_jw_str(w, c->id ? c->id : "");
        dsp_jw_lit(w, ",\"name\":");
        dsp_jw_str(w, c->name ? c->name : "");
        /* input must be an object: arguments that were not one are sent as
         * {} (the observation already told the model what was wrong). */
        dsp_jw_lit(w, ",\"input\":");
        cJSON *in = c->arguments ? cJSON_Parse(c->arguments) : NULL;
        if (cJSON_IsObject(in))
            lmt_write_printed(w, in);
        else
            dsp_jw_lit(w, "{}");
        cJSON_Delete(in);
        dsp_jw_lit(w, "}");
    }
    dsp_jw_lit(w, "]}");
    return 1;
}

/* Arguments as text: a string as it is (OpenAI's documented form), any
 * other JSON value printed (servers that send an object); NULL when absent. */
static char *lmt_arguments_text(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    char *t = cJSON_PrintUnformatted(v);
    char *s = t ? strdup(t) : NULL;
    cJSON_free(t);
    return s;
}

/* Appends one call to resp, each field copied as the reply gave it (a
 * field it left out, or of another type, stays NULL). */
static dsp_status lmt_add_call(dsp_chat_response *resp, const cJSON *id, const cJSON *name, const cJSON *args,
                               dsp_error *err)
{
    dsp_tool_call *calls = realloc(resp->tool_calls, (resp->n_tool_calls + 1) * sizeof *calls);
    if (!calls)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading tool calls");
    resp->tool_calls = calls;
    dsp_tool_call *c = &calls[resp->n_tool_calls++];
    memset(c, 0, sizeof *c);
    c->id = cJSON_IsString(id) ? strdup(id->valuestring) : NULL;
    c->name = cJSON_IsString(name) ? strdup(name->valuestring) : NULL;
    c->arguments = lmt_arguments_text(args);
    if ((cJSON_IsString(id) && !c->id) || (cJSON_IsString(name) && !c->name) ||
        (args && !cJSON_IsNull(args) && !c->arguments))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading tool calls");
    return DSP_OK;
}

dsp_status dsp_openai_read_tool_calls(const cJSON *tool_calls, dsp_chat_response *resp, dsp_error *err)
{
    dsp_status st = DSP_OK;
    for (const cJSON *tc = tool_calls ? tool_calls->child : NULL; tc && st == DSP_OK; tc = tc->next) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        st = lmt_add_call(resp, cJSON_GetObjectItemCaseSensitive(tc, "id"), cJSON_GetObjectItemCaseSensitive(fn, "name"),
                          cJSON_GetObjectItemCaseSensitive(fn, "arguments"), err);
    }
    return st;
}

dsp_status dsp_anthropic_read_tool_uses(const cJSON *content, dsp_chat_response *resp, dsp_error *err)
{
    dsp_status st = DSP_OK;
    for (const cJSON *b = content ? content->child : NULL; b && st == DSP_OK; b = b->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "tool_use") == 0)
            st = lmt_add_call(resp, cJSON_GetObjectItemCaseSensitive(b, "id"), cJSON_GetObjectItemCaseSensitive(b, "name"),
                              cJSON_GetObjectItemCaseSensitive(b, "input"), err);
    }
    return st;
}
