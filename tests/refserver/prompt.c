/* prompt.c — parse a chat-format prompt into a task (see prompt.h). */
#include "prompt.h"

#include "extract.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

static const char *skip_ws(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* A trimmed copy of [s, e). */
static char *trim_dup(rs_arena *a, const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return rs_strndup(a, s, (size_t)(e - s));
}

/* Case-insensitive substring test (strcasestr is a GNU extension). */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static const char *line_end(const char *s)
{
    const char *e = strchr(s, '\n');
    return e ? e : s + strlen(s);
}

/* Parses "[[ ## name ## ]]" at s; returns the name and sets *after. */
static char *parse_marker(rs_arena *a, const char *s, const char **after)
{
    if (strncmp(s, "[[ ## ", 6) != 0)
        return NULL;
    const char *n = s + 6;
    const char *close = strstr(n, " ## ]]");
    const char *nl = line_end(n);
    if (!close || close > nl || close == n)
        return NULL;
    *after = close + 6;
    return rs_strndup(a, n, (size_t)(close - n));
}

rs_section *rs_sections(rs_arena *a, const char *text, size_t *n)
{
    size_t cap = 8, cnt = 0;
    rs_section *secs = rs_alloc(a, cap * sizeof *secs);
    const char *p = text;
    const char *cur_name = NULL, *cur_start = NULL;
    while (*p) {
        const char *after;
        char *name = parse_marker(a, p, &after);
        if (name) {
            if (cur_name) {
                if (cnt == cap) {
                    secs = rs_grow(a, secs, cnt * sizeof *secs, cap * 2 * sizeof *secs);
                    cap *= 2;
                }
                secs[cnt].name = cur_name;
                secs[cnt].value = trim_dup(a, cur_start, p);
                cnt++;
            }
            cur_name = name;
            cur_start = after;
        }
        const char *e = line_end(p);
        p = *e ? e + 1 : e;
    }
    if (cur_name) {
        if (cnt == cap) {
            secs = rs_grow(a, secs, cnt * sizeof *secs, (cap + 1) * sizeof *secs);
            cap++;
        }
        secs[cnt].name = cur_name;
        secs[cnt].value = trim_dup(a, cur_start, p);
        cnt++;
    }
    *n = cnt;
    return secs;
}

int rs_field_index(const rs_field *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int rs_match_label(const char *const *labels, size_t n, const char *text)
{
    if (!text)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i], text) == 0)
            return (int)i;
    const char *s = skip_ws(text);
    const char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    while (e - s >= 2 && (*s == '"' || *s == '\'' || *s == '`') && e[-1] == *s)
        s++, e--;
    size_t len = (size_t)(e - s);
    for (size_t i = 0; i < n; i++)
        if (strlen(labels[i]) == len && strncasecmp(labels[i], s, len) == 0)
            return (int)i;
    return -1;
}

static rs_kind kind_of_name(const char *t)
{
    while (strncasecmp(t, "optional[", 9) == 0)
        t += 9;
    if (strncasecmp(t, "str", 3) == 0)
        return RS_STRING;
    if (strncasecmp(t, "int", 3) == 0)
        return RS_INT;
    if (strncasecmp(t, "float", 5) == 0 || strncasecmp(t, "number", 6) == 0)
        return RS_FLOAT;
    if (strncasecmp(t, "bool", 4) == 0)
        return RS_BOOL;
    if (strncasecmp(t, "enum", 4) == 0 || strncasecmp(t, "literal", 7) == 0)
        return RS_ENUM;
    if (strncasecmp(t, "list", 4) == 0 || strncasecmp(t, "array", 5) == 0)
        return RS_LIST;
    if (strncasecmp(t, "dict", 4) == 0 || strncasecmp(t, "object", 6) == 0)
        return RS_OBJECT;
    return RS_STRING;
}

static void set_kind(rs_field *f)
{
    const char *t = f->type;
    while (strncasecmp(t, "optional[", 9) == 0)
        t += 9;
    f->kind = kind_of_name(t);
    if (f->kind == RS_LIST) {
        const char *lb = strchr(t, '[');
        f->elem = lb ? kind_of_name(lb + 1) : RS_STRING;
        if (f->elem == RS_LIST || f->elem == RS_ENUM)
            f->elem = RS_STRING;
    }
}

/* Reads the numbered field lines ("1. `name` (type): desc") after header. */
static rs_field *parse_field_list(rs_arena *a, const char *s, const char *end, size_t *n)
{
    size_t cap = 4, cnt = 0;
    rs_field *fs = rs_alloc(a, cap * sizeof *fs);
    while (s < end) {
        const char *e = line_end(s);
        if (e > end)
            e = end;
        const char *p = skip_ws(s);
        if (p < e && isdigit((unsigned char)*p)) {
            while (p < e && isdigit((unsigned char)*p))
                p++;
            if (p < e && *p == '.')
                p++;
            p = skip_ws(p);
            const char *bt = p < e && *p == '`' ? memchr(p + 1, '`', (size_t)(e - p - 1)) : NULL;
            if (bt) {
                if (cnt == cap) {
                    fs = rs_grow(a, fs, cnt * sizeof *fs, cap * 2 * sizeof *fs);
                    cap *= 2;
                }
                rs_field *f = &fs[cnt++];
                f->name = rs_strndup(a, p + 1, (size_t)(bt - p - 1));
                f->type = "string";
                f->desc = "";
                const char *q = skip_ws(bt + 1);
                if (q < e && *q == '(') {
                    /* Types may nest brackets but not parentheses. */
                    const char *rp = memchr(q, ')', (size_t)(e - q));
                    if (rp) {
                        f->type = rs_strndup(a, q + 1, (size_t)(rp - q - 1));
                        q = rp + 1;
                    }
                }
                q = skip_ws(q) < e ? skip_ws(q) : e;
                if (q < e && *q == ':')
                    q++;
                f->desc = trim_dup(a, q, e);
                set_kind(f);
            }
        }
        s = *e ? e + 1 : e;
    }
    *n = cnt;
    return fs;
}

/* Enum values from "... one of: a; b; c" (also accepts commas). */
static void parse_enum_note(rs_arena *a, rs_field *f, const char *note, const char *end)
{
    const char *p = strstr(note, "one of:");
    if (!p || p > end)
        return;
    p += 7;
    int semi = memchr(p, ';', (size_t)(end - p)) != NULL;
    char sep = semi ? ';' : ',';
    size_t cap = 4, cnt = 0;
    const char **vals = rs_alloc(a, cap * sizeof *vals);
    while (p < end) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        if (!q)
            q = end;
        char *v = trim_dup(a, p, q);
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        if (*v) {
            if (cnt == cap) {
                vals = rs_grow(a, vals, cnt * sizeof *vals, cap * 2 * sizeof *vals);
                cap *= 2;
            }
            vals[cnt++] = v;
        }
        p = q + 1;
    }
    if (cnt) {
        f->kind = RS_ENUM;
        f->enum_values = vals;
        f->n_enum = cnt;
    }
}

static void parse_schema_note(rs_arena *a, rs_field *f, const char *json, const char *end)
{
    cJSON *schema = cJSON_ParseWithLength(json, (size_t)(end - json));
    if (!schema)
        return;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    if (cJSON_IsString(type)) {
        if (strcmp(type->valuestring, "array") == 0) {
            f->kind = RS_LIST;
            const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(items, "type");
            f->elem = RS_STRING;
            if (cJSON_IsString(it) && strcmp(it->valuestring, "object") == 0)
                rs_extract_set_items(a, f, items);
            if (cJSON_IsString(it)) {
                if (strcmp(it->valuestring, "integer") == 0)
                    f->elem = RS_INT;
                else if (strcmp(it->valuestring, "number") == 0)
                    f->elem = RS_FLOAT;
                else if (strcmp(it->valuestring, "boolean") == 0)
                    f->elem = RS_BOOL;
            }
        } else if (strcmp(type->valuestring, "object") == 0) {
            f->kind = RS_OBJECT;
            char *text = cJSON_PrintUnformatted(schema);
            if (text) {
                f->object_schema = rs_strdup(a, text);
                cJSON_free(text);
            }
        }
    }
    cJSON_Delete(schema);
}

/* The structure block: type notes on the lines after each output marker. */
static void parse_notes(rs_arena *a, rs_task *t, const char *sys)
{
    const char *p = sys;
    while ((p = strstr(p, "[[ ## ")) != NULL) {
        const char *after;
        char *name = parse_marker(a, p, &after);
        if (!name) {
            p += 6;
            continue;
        }
        int i = rs_field_index(t->out, t->n_out, name);
        const char *next = strstr(after, "[[ ## ");
        const char *obj = strstr(after, "your objective is:");
        const char *end = next ? next : after + strlen(after);
        if (obj && obj < end)
            end = obj;
        if (i >= 0) {
            const char *note = strstr(after, "# note:");
            if (note && note < end) {
                const char *ne = line_end(note);
                if (ne > end)
                    ne = end;
                rs_field *f = &t->out[i];
                const char *schema = strstr(note, "JSON schema");
                const char *brace = schema && schema < ne ? strchr(schema, '{') : NULL;
                if (strstr(note, "one of:") && strstr(note, "one of:") < ne)
                    parse_enum_note(a, f, note, ne);
                else if (brace && brace < ne)
                    parse_schema_note(a, f, brace, ne);
            }
        }
        p = after;
    }
}

/* Instructions after "your objective is:", with each line's indent removed. */
static const char *parse_instructions(rs_arena *a, const char *sys)
{
    const char *p = strstr(sys, "your objective is:");
    if (!p)
        return "";
    p += strlen("your objective is:");
    rs_buf b;
    rs_buf_init(&b, a);
    while (*p) {
        const char *e = line_end(p);
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        rs_buf_add(&b, s, (size_t)(e - s));
        if (*e)
            rs_buf_add(&b, "\n", 1);
        p = *e ? e + 1 : e;
    }
    const char *s = rs_buf_str(&b);
    return trim_dup(a, s, s + strlen(s));
}

/* Values of the blocks that name fields, one per field (NULL if absent). */
static const char **section_values(rs_arena *a, const rs_field *fields, size_t nf, const char *text)
{
    const char **vals = rs_alloc(a, (nf + 1) * sizeof *vals);
    size_t ns;
    rs_section *secs = rs_sections(a, text, &ns);
    int last = -1;
    for (size_t i = 0; i < ns; i++) {
        int k = rs_field_index(fields, nf, secs[i].name);
        if (k >= 0 && !vals[k]) {
            vals[k] = secs[i].value; /* the first block of a name wins */
            last = k;
        } else if (k < 0 && last >= 0 && strcmp(secs[i].name, "completed") != 0) {
            /* A block no field is named after belongs to the text of the
             * field before it: a react trajectory holds `[[ ## thought_0 ## ]]`
             * and the like. */
            rs_buf b;
            rs_buf_init(&b, a);
            rs_buf_printf(&b, "%s\n\n[[ ## %s ## ]]\n%s", vals[last], secs[i].name, secs[i].value);
            vals[last] = rs_buf_str(&b);
        } else {
            last = -1;
        }
    }
    return vals;
}

/* Output values of a JSON-adapter demo reply: one key per output field. */
static const char **json_values(rs_arena *a, const rs_field *fields, size_t nf, const char *text)
{
    const char **vals = rs_alloc(a, (nf + 1) * sizeof *vals);
    cJSON *obj = cJSON_Parse(text);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return vals;
    }
    for (size_t i = 0; i < nf; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, fields[i].name);
        if (!v)
            continue;
        if (cJSON_IsString(v)) {
            vals[i] = rs_strdup(a, v->valuestring);
        } else if (cJSON_IsBool(v)) {
            vals[i] = cJSON_IsTrue(v) ? "True" : "False";
        } else {
            char *s = cJSON_PrintUnformatted(v);
            if (s) {
                vals[i] = rs_strdup(a, s);
                cJSON_free(s);
            }
        }
    }
    cJSON_Delete(obj);
    return vals;
}

/* The final message ends with the request to respond; that is not input. */
static const char *strip_respond(rs_arena *a, const char *v)
{
    if (!v)
        return v;
    const char *r = strstr(v, "\n\nRespond with ");
    if (!r && strncmp(v, "Respond with ", 13) == 0)
        r = v;
    return r ? trim_dup(a, v, r) : v;
}

/* An enum whose values the prompt does not list (the JSON adapter writes no
 * type notes): the distinct values its demos show, in order. */
static void infer_enum_values(rs_arena *a, rs_task *t)
{
    for (size_t f = 0; f < t->n_out; f++) {
        rs_field *fd = &t->out[f];
        if (fd->kind != RS_ENUM || fd->n_enum)
            continue;
        fd->enum_values = rs_alloc(a, (t->n_demos + 1) * sizeof *fd->enum_values);
        for (size_t d = 0; d < t->n_demos; d++) {
            const char *v = t->demos[d].out[f];
            if (v && *v && rs_match_label(fd->enum_values, fd->n_enum, v) < 0)
                fd->enum_values[fd->n_enum++] = v;
        }
    }
}

void rs_task_parse(rs_arena *a, const rs_message *msgs, size_t n, rs_task *t)
{
    memset(t, 0, sizeof *t);
    t->instructions = "";
    t->last_user = "";
    for (size_t i = n; i-- > 0;)
        if (strcmp(msgs[i].role, "user") == 0) {
            t->last_user = msgs[i].text;
            break;
        }
    if (n == 0 || strcmp(msgs[0].role, "system") != 0)
        return;
    const char *sys = msgs[0].text;
    const char *in_h = strstr(sys, "Your input fields are:");
    const char *out_h = strstr(sys, "Your output fields are:");
    if (!out_h)
        return;
    const char *out_end = strstr(out_h, "\n\n");
    if (!out_end)
        out_end = out_h + strlen(out_h);
    if (in_h && in_h < out_h)
        t->in = parse_field_list(a, in_h, out_h, &t->n_in);
    t->out = parse_field_list(a, out_h, out_end, &t->n_out);
    if (t->n_out == 0)
        return;
    t->structured = true;
    parse_notes(a, t, sys);
    t->instructions = parse_instructions(a, sys);
    t->json_reply = !strstr(t->last_user, "[[ ## completed ## ]]") &&
                    (contains_ci(t->last_user, "json") || contains_ci(sys, "json object"));

    /* Demos: user/assistant pairs between the system and the final user. */
    size_t last = n - 1;
    while (last > 0 && strcmp(msgs[last].role, "user") != 0)
        last--;
    t->demos = rs_alloc(a, (n / 2 + 1) * sizeof *t->demos);
    for (size_t i = 1; i + 1 < last; i++) {
        if (strcmp(msgs[i].role, "user") != 0 || strcmp(msgs[i + 1].role, "assistant") != 0)
            continue;
        rs_example *d = &t->demos[t->n_demos++];
        d->in = section_values(a, t->in, t->n_in, msgs[i].text);
        const char *reply = skip_ws(msgs[i + 1].text);
        d->out = *reply == '{' ? json_values(a, t->out, t->n_out, reply)
                               : section_values(a, t->out, t->n_out, reply);
        i++;
    }
    infer_enum_values(a, t);
    t->query = section_values(a, t->in, t->n_in, t->last_user);
    for (size_t i = 0; i < t->n_in; i++)
        t->query[i] = strip_respond(a, t->query[i]);
}
