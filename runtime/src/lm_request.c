/* lm_request.c — what the providers' request writers share: one entry
 * that picks the provider's writer and sizes its buffer; the turns and
 * system texts of Bedrock and Gemini, alike but for two names; the checks
 * of the APIs that keep system messages apart from the conversation
 * (Anthropic Messages, Bedrock Converse, Gemini generateContent): that
 * there is a turn to send and, for those not speaking it yet, that native
 * tool calling was not asked for; and the stop sequences, a JSON array
 * under each API's own key. One place, so they read and write alike. */
#include "lm_wire.h"

dsp_status dsp_wire_count_turns(const dsp_message *msgs, size_t n_msgs, const char *request, size_t *n_sys,
                                dsp_error *err)
{
    size_t n_turns = 0, sys = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].role == DSP_ROLE_SYSTEM)
            sys++;
        else
            n_turns++;
    }
    *n_sys = sys;
    if (n_turns == 0)
        return dsp_error_set(err, DSP_ERR_INVALID, "%s needs at least one user message", request);
    return DSP_OK;
}

void dsp_wire_system_texts(dsp_jw *w, const dsp_message *msgs, size_t n_msgs)
{
    size_t k = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].role != DSP_ROLE_SYSTEM)
            continue;
        dsp_jw_lit(w, k++ ? ",{\"text\":" : "{\"text\":");
        dsp_jw_str(w, msgs[i].content ? msgs[i].content : "");
        dsp_jw_lit(w, "}");
    }
}

void dsp_wire_turns(dsp_jw *w, const dsp_message *msgs, size_t n_msgs, const char *assistant,
                    const char *content_key)
{
    size_t k = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].role == DSP_ROLE_SYSTEM)
            continue;
        dsp_jw_lit(w, k++ ? ",{\"role\":\"" : "{\"role\":\"");
        dsp_jw_lit(w, msgs[i].role == DSP_ROLE_ASSISTANT ? assistant : "user");
        dsp_jw_lit(w, "\",\"");
        dsp_jw_lit(w, content_key);
        dsp_jw_lit(w, "\":[{\"text\":");
        dsp_jw_str(w, msgs[i].content ? msgs[i].content : "");
        dsp_jw_lit(w, "}]}");
    }
}

void dsp_wire_stops(dsp_jw *w, const char *key, const dsp_lm_params *p)
{
    dsp_jw_lit(w, key);
    dsp_jw_lit(w, "[");
    for (int i = 0; i < DSP_MAX_STOP && p->stop[i]; i++) {
        if (i)
            dsp_jw_lit(w, ",");
        dsp_jw_str(w, p->stop[i]);
    }
    dsp_jw_lit(w, "]");
}

dsp_status dsp_wire_no_native_tools(const dsp_lm_params *p, const char *provider, dsp_error *err)
{
    if (!p->tools)
        return DSP_OK;
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "native tool calling (tool_calling: native) is spoken with OpenAI-compatible and "
                         "Anthropic lms, not %s yet; use tool_calling: text", provider);
}

dsp_status dsp_wire_request_write(dsp_jw *w, dsp_provider provider, const char *model, const dsp_message *msgs,
                                  size_t n_msgs, const dsp_lm_params *p, dsp_error *err)
{
    if (provider == DSP_PROVIDER_GEMINI)
        return dsp_gemini_request_write(w, msgs, n_msgs, p, err);
    if (provider == DSP_PROVIDER_BEDROCK)
        return dsp_bedrock_request_write(w, msgs, n_msgs, p, err);
    return provider == DSP_PROVIDER_ANTHROPIC ? dsp_anthropic_request_write(w, model, msgs, n_msgs, p, err)
                                              : dsp_openai_request_write(w, model, msgs, n_msgs, p, err);
}

dsp_status dsp_wire_request_body(dsp_provider provider, const char *model, const dsp_message *msgs, size_t n_msgs,
                                 const dsp_lm_params *p, char **body, dsp_error *err)
{
    *body = NULL;
    dsp_jw w;
    dsp_jw_init(&w, dsp_body_size_hint(msgs, n_msgs, p));
    dsp_status st = dsp_wire_request_write(&w, provider, model, msgs, n_msgs, p, err);
    if (st == DSP_OK && !(*body = dsp_jw_take(&w)))
        st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing a request body");
    dsp_jw_free(&w);
    return st;
}
