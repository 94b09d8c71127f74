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
    for (size_t i = 0; i < m->len; i++)
        free(m->items[i].content);
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
    m->items[m->len].role = role;
    m->items[m->len].content = copy;
    m->len++;
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
    memset(r, 0, sizeof *r);
}
