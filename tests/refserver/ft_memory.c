/* ft_memory.c — training examples as demos (see ft_memory.h). */
#include "ft_memory.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "text.h"

static bool bad_line(rs_arena *a, const char **msg, size_t line, const char *why)
{
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_printf(&b,
                  "Invalid file format for Fine-Tuning API. Line %zu: %s. Each line must be a JSON object "
                  "{\"messages\": [{\"role\": \"system\"|\"user\"|\"assistant\", \"content\": \"...\"}, ...]} "
                  "with at least one assistant message.",
                  line, why);
    *msg = rs_buf_str(&b);
    return false;
}

/* Output values of the final reply, by the names of fields: the
 * `[[ ## name ## ]]` blocks, or the members of a JSON object (JSON adapter). */
static size_t reply_values(rs_arena *a, const rs_field *fields, size_t nf, const char *reply, rs_ft_pair *out)
{
    size_t n = 0;
    while (*reply == ' ' || *reply == '\n' || *reply == '\r' || *reply == '\t')
        reply++;
    if (*reply == '{') {
        cJSON *obj = cJSON_Parse(reply);
        for (size_t i = 0; cJSON_IsObject(obj) && i < nf; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, fields[i].name);
            const char *s = NULL;
            char *printed = NULL;
            if (cJSON_IsString(v))
                s = v->valuestring;
            else if (cJSON_IsBool(v))
                s = cJSON_IsTrue(v) ? "True" : "False";
            else if (v)
                s = printed = cJSON_PrintUnformatted(v);
            if (s) {
                out[n].name = rs_strdup(a, fields[i].name);
                out[n++].value = rs_strdup(a, s);
            }
            cJSON_free(printed);
        }
        cJSON_Delete(obj);
        return n;
    }
    size_t ns;
    rs_section *secs = rs_sections(a, reply, &ns);
    for (size_t i = 0; i < ns; i++) {
        int k = rs_field_index(fields, nf, secs[i].name);
        bool dup = false;
        for (size_t j = 0; k >= 0 && j < n; j++)
            dup |= strcmp(out[j].name, secs[i].name) == 0;
        if (k >= 0 && !dup) {
            out[n].name = rs_strdup(a, secs[i].name);
            out[n++].value = rs_strdup(a, secs[i].value);
        }
    }
    return n;
}

/* One example in dspcc's chat format as a demo: parse the conversation up
 * to its final user message as a request (the task parser strips the
 * "Respond with ..." line from the inputs), then read the final reply. */
static bool example_of(rs_arena *keep, rs_arena *tmp, const rs_message *msgs, size_t n, rs_ft_example *ex)
{
    size_t last = n;
    while (last > 0 && strcmp(msgs[last - 1].role, "assistant") != 0)
        last--;
    if (last < 2 || strcmp(msgs[last - 2].role, "user") != 0)
        return false;
    rs_task t;
    rs_task_parse(tmp, msgs, last - 1, &t);
    if (!t.structured || t.n_in == 0)
        return false;
    memset(ex, 0, sizeof *ex);
    ex->in = rs_alloc(keep, t.n_in * sizeof *ex->in);
    for (size_t i = 0; i < t.n_in; i++)
        if (t.query && t.query[i]) {
            ex->in[ex->n_in].name = rs_strdup(keep, t.in[i].name);
            ex->in[ex->n_in++].value = rs_strdup(keep, t.query[i]);
        }
    ex->out = rs_alloc(keep, t.n_out * sizeof *ex->out);
    ex->n_out = reply_values(keep, t.out, t.n_out, msgs[last - 1].text, ex->out);
    return ex->n_in > 0 && ex->n_out > 0;
}

static bool parse_line(rs_arena *keep, rs_arena *tmp, const char *s, size_t len, size_t line, rs_ft_memory *m,
                       size_t *cap, const char **msg)
{
    cJSON *root = cJSON_ParseWithLength(s, len);
    if (!root)
        return bad_line(keep, msg, line, "not valid JSON");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "messages");
    bool ok = true;
    const char *why = NULL;
    if (!cJSON_IsObject(root) || !cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        ok = false, why = "no non-empty \"messages\" array";
    size_t n = ok ? (size_t)cJSON_GetArraySize(arr) : 0;
    rs_message *msgs = rs_alloc(tmp, (n + 1) * sizeof *msgs);
    size_t k = 0;
    bool has_assistant = false;
    const cJSON *it, *list = ok ? arr : NULL;
    cJSON_ArrayForEach(it, list) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
            ok = false, why = "a message lacks a string \"role\" or \"content\"";
            break;
        }
        const char *r = role->valuestring;
        if (strcmp(r, "developer") == 0)
            r = "system";
        if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0) {
            ok = false, why = "a message's role is not one of system, developer, user, assistant";
            break;
        }
        has_assistant |= strcmp(r, "assistant") == 0;
        msgs[k].role = rs_strdup(tmp, r); /* root dies before the example is read */
        msgs[k++].text = rs_strdup(tmp, content->valuestring);
        m->words += rs_count_words(content->valuestring);
    }
    if (ok && !has_assistant)
        ok = false, why = "no assistant message to learn from";
    cJSON_Delete(root);
    if (!ok)
        return bad_line(keep, msg, line, why);
    m->n_examples++;
    rs_ft_example ex;
    if (example_of(keep, tmp, msgs, k, &ex)) {
        if (m->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            m->ex = rs_grow(keep, m->ex, *cap * sizeof *m->ex, nc * sizeof *m->ex);
            *cap = nc;
        }
        m->ex[m->n++] = ex;
    }
    return true;
}

bool rs_ft_memory_parse(rs_arena *a, const char *data, size_t len, rs_ft_memory *m, const char **msg)
{
    memset(m, 0, sizeof *m);
    *msg = NULL;
    size_t cap = 0, line = 0;
    const char *p = data, *end = data + len;
    bool ok = true;
    while (ok && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < e) {
            /* Parsing garbage of one line dies with its own arena. */
            rs_arena tmp;
            rs_arena_init(&tmp);
            ok = parse_line(a, &tmp, s, (size_t)(e - s), line, m, &cap, msg);
            rs_arena_free(&tmp);
        }
        p = e + 1;
    }
    if (ok && m->n_examples == 0) {
        *msg = "Invalid file format for Fine-Tuning API. The file holds no examples: one JSON object "
               "{\"messages\": [...]} per line is expected.";
        ok = false;
    }
    return ok;
}

static const char *value_of(const rs_ft_pair *pairs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pairs[i].name, name) == 0)
            return pairs[i].value;
    return NULL;
}

void rs_ft_memory_add_demos(rs_arena *a, const rs_ft_memory *m, rs_task *t)
{
    if (!m || m->n == 0 || !t->structured)
        return;
    rs_example *demos = rs_alloc(a, (t->n_demos + m->n) * sizeof *demos);
    if (t->n_demos)
        memcpy(demos, t->demos, t->n_demos * sizeof *demos);
    size_t nd = t->n_demos;
    for (size_t e = 0; e < m->n; e++) {
        const rs_ft_example *ex = &m->ex[e];
        const char **in = rs_alloc(a, (t->n_in + 1) * sizeof *in);
        const char **out = rs_alloc(a, (t->n_out + 1) * sizeof *out);
        size_t hits_in = 0, hits_out = 0;
        for (size_t i = 0; i < t->n_in; i++)
            hits_in += (in[i] = value_of(ex->in, ex->n_in, t->in[i].name)) != NULL;
        for (size_t i = 0; i < t->n_out; i++)
            hits_out += (out[i] = value_of(ex->out, ex->n_out, t->out[i].name)) != NULL;
        if (hits_in && hits_out) {
            demos[nd].in = in;
            demos[nd++].out = out;
        }
    }
    t->demos = demos;
    t->n_demos = nd;
}
