/* reply_notes.c — what a structured reply held that no field declares.
 * Parsing ignores a JSON object's unknown keys (an LM adding a field it
 * was not asked for is harmless); a traced call notes them, so a prompt
 * whose model keeps inventing fields can be seen. Run after a reply
 * parsed, and only when the client traces: it parses the JSON again. */
#include "adapter_common.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

typedef struct rn_notes {
    char *out;
    size_t cap, len;
    size_t n;
} rn_notes;

static void rn_add(rn_notes *w, const char *path, const char *key)
{
    if (w->len + 1 >= w->cap)
        return;
    int k = snprintf(w->out + w->len, w->cap - w->len, "%s%s%s%s", w->n ? ", " : "unknown keys ignored: ", path,
                     *path ? "." : "", key);
    w->n++;
    if (k < 0 || (size_t)k >= w->cap - w->len) { /* cut: end on "..." */
        if (w->cap >= 4)
            memcpy(w->out + w->cap - 4, "...", 4);
        w->len = w->cap;
        return;
    }
    w->len += (size_t)k;
}

/* Unknown keys of the records inside j, a value of type t at path. */
static void rn_walk(rn_notes *w, const dsp_type *t, const cJSON *j, const char *path, int depth)
{
    if (!t || !j || depth > 32 || w->len >= w->cap)
        return;
    char sub[256];
    switch (t->kind) {
    case DSP_TYPE_OPTIONAL:
        rn_walk(w, t->elem, j, path, depth + 1);
        break;
    case DSP_TYPE_LIST:
        if (!cJSON_IsArray(j))
            break;
        {
            size_t i = 0;
            for (const cJSON *c = j->child; c; c = c->next, i++) {
                snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                rn_walk(w, t->elem, c, sub, depth + 1);
            }
        }
        break;
    case DSP_TYPE_MAP:
        if (!cJSON_IsObject(j))
            break;
        for (const cJSON *c = j->child; c; c = c->next) {
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", c->string ? c->string : "");
            rn_walk(w, t->elem, c, sub, depth + 1);
        }
        break;
    case DSP_TYPE_RECORD:
        if (!cJSON_IsObject(j))
            break;
        for (const cJSON *c = j->child; c; c = c->next) {
            const dsp_field *f = NULL;
            for (size_t i = 0; i < t->n_fields && !f; i++)
                if (c->string && strcmp(t->fields[i].name, c->string) == 0)
                    f = &t->fields[i];
            if (!f) {
                rn_add(w, path, c->string ? c->string : "");
                continue;
            }
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", f->name);
            rn_walk(w, f->type, c, sub, depth + 1);
        }
        break;
    default:
        break;
    }
}

static bool rn_structured(const dsp_type *t)
{
    while (t && (t->kind == DSP_TYPE_OPTIONAL || t->kind == DSP_TYPE_LIST || t->kind == DSP_TYPE_MAP))
        t = t->elem;
    return t && t->kind == DSP_TYPE_RECORD;
}

/* A chat section's JSON: its text trimmed, out of a ``` fence. */
static cJSON *rn_section_json(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n >= 6 && memcmp(s, "```", 3) == 0 && memcmp(s + n - 3, "```", 3) == 0) {
        const char *nl = memchr(s, '\n', n - 3);
        if (nl) {
            n -= (size_t)(nl + 1 - s) + 3;
            s = nl + 1;
        }
    }
    return cJSON_ParseWithLength(s, n);
}

void dsp_reply_unknown_keys(const dsp_prompt_spec *spec, const char *reply, size_t len, bool json, char *out,
                            size_t cap)
{
    if (!cap)
        return;
    out[0] = '\0';
    if (!spec || !spec->signature || !reply)
        return;
    rn_notes w = { out, cap, 0, 0 };
    size_t n_out = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    if (json) {
        const char *start;
        size_t span;
        cJSON *obj = dsp_json_object_span(reply, len, &start, &span) ? cJSON_ParseWithLength(start, span) : NULL;
        for (const cJSON *c = obj ? obj->child : NULL; c; c = c->next) {
            const dsp_field *f = NULL;
            for (size_t i = 0; i < n_out && !f; i++) {
                const dsp_field *o = dsp_strategy_output(spec->signature, spec->strategy, i);
                if (c->string && strcmp(o->name, c->string) == 0)
                    f = o;
            }
            if (!f)
                rn_add(&w, "", c->string ? c->string : "");
            else
                rn_walk(&w, f->type, c, f->name, 0);
        }
        cJSON_Delete(obj);
        return;
    }
    /* The chat adapter: the first section of each structured output, up
     * to the next header, as the parse takes it. */
    for (size_t i = 0; i < n_out; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        if (!rn_structured(f->type))
            continue;
        const char *text = NULL;
        size_t text_len = 0;
        for (size_t pos = 0; pos <= len;) {
            size_t eol = pos + dsp_adapter_line_end(reply + pos, len - pos);
            const char *name;
            size_t name_len, start;
            if (dsp_adapter_header_at(reply + pos, eol - pos, &name, &name_len, &start)) {
                if (text) {
                    text_len = (size_t)(reply + pos - text);
                    break;
                }
                if (strlen(f->name) == name_len && memcmp(f->name, name, name_len) == 0)
                    text = reply + pos + start;
            }
            if (eol >= len) {
                if (text)
                    text_len = (size_t)(reply + len - text);
                break;
            }
            pos = eol + 1;
        }
        if (!text)
            continue;
        cJSON *j = rn_section_json(text, text_len);
        rn_walk(&w, f->type, j, f->name, 0);
        cJSON_Delete(j);
    }
}
