/* chat.c — message lists, parameter defaults and responses. */
#include "dsp/chat.h"

#include <stdlib.h>
#include <string.h>

void dsp_messages_init(dsp_messages *m)
{
    memset(m, 0, sizeof *m);
}

void dsp_messages_free(dsp_messages *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->len; i++) {
        free(m->items[i].content);
        dsp_tool_calls_free(m->items[i].tool_calls, m->items[i].n_tool_calls);
        free(m->items[i].tool_call_id);
    }
    free(m->items);
    memset(m, 0, sizeof *m);
}

dsp_status dsp_messages_push(dsp_messages *m, dsp_role role, const char *content, size_t len, dsp_error *err)
{
    if (m->len == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        dsp_message *items = realloc(m->items, cap * sizeof *items);
        if (!items)
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory growing a message list");
        m->items = items;
        m->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a %zu-byte message", len);
    memcpy(copy, content, len);
    copy[len] = '\0';
    memset(&m->items[m->len], 0, sizeof m->items[m->len]);
    m->items[m->len].role = role;
    m->items[m->len].content = copy;
    m->len++;
    return DSP_OK;
}

void dsp_tool_calls_free(dsp_tool_call *calls, size_t n)
{
    for (size_t i = 0; calls && i < n; i++) {
        free(calls[i].id);
        free(calls[i].name);
        free(calls[i].arguments);
    }
    free(calls);
}

static bool copy_opt(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

dsp_status dsp_messages_push_tool_calls(dsp_messages *m, const char *content, const dsp_tool_call *calls, size_t n,
                                        dsp_error *err)
{
    dsp_tool_call *copy = n ? calloc(n, sizeof *copy) : NULL;
    bool ok = !n || copy;
    for (size_t i = 0; ok && i < n; i++)
        ok = copy_opt(&copy[i].id, calls[i].id) && copy_opt(&copy[i].name, calls[i].name) &&
             copy_opt(&copy[i].arguments, calls[i].arguments);
    const char *text = content ? content : "";
    dsp_status st = ok ? dsp_messages_push(m, DSP_ROLE_ASSISTANT, text, strlen(text), err)
                       : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying tool calls");
    if (st != DSP_OK) {
        dsp_tool_calls_free(copy, n);
        return st;
    }
    m->items[m->len - 1].tool_calls = copy;
    m->items[m->len - 1].n_tool_calls = n;
    return DSP_OK;
}

dsp_status dsp_messages_push_tool_result(dsp_messages *m, const char *id, const char *content, bool is_error,
                                         dsp_error *err)
{
    char *idc = strdup(id ? id : "");
    const char *text = content ? content : "";
    dsp_status st = idc ? dsp_messages_push(m, DSP_ROLE_TOOL, text, strlen(text), err)
                        : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory copying a tool call id");
    if (st != DSP_OK) {
        free(idc);
        return st;
    }
    m->items[m->len - 1].tool_call_id = idc;
    m->items[m->len - 1].tool_error = is_error;
    return DSP_OK;
}

dsp_lm_params dsp_lm_params_default(void)
{
    dsp_lm_params p;
    memset(&p, 0, sizeof p);
    p.temperature = -1.0;
    return p;
}

void dsp_chat_response_free(dsp_chat_response *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_choices; i++)
        free(r->choices[i]);
    free(r->choices);
    dsp_tool_calls_free(r->tool_calls, r->n_tool_calls);
    memset(r, 0, sizeof *r);
}
