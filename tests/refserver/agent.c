/* agent.c — the fixture's react steps (see agent.h). */
#include "agent.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stdio.h>

static const char *fmt(rs_arena *a, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(rs_arena *a, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = rs_alloc(a, (size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, f);
    vsnprintf(s, (size_t)(n > 0 ? n : 0) + 1, f, ap);
    va_end(ap);
    return s;
}

typedef struct tool {
    const char *name;
    const char *desc;
    cJSON *schema;      /* {"arg": {"type": ...}}; NULL when unknown */
} tool;

typedef struct step {
    const char *name, *args, *obs;
} step;

static int input_index(const rs_task *t, const char *name)
{
    return rs_field_index(t->in, t->n_in, name);
}

bool rs_agent_is_step(const rs_task *t)
{
    return t->structured && input_index(t, "trajectory") >= 0 &&
           rs_field_index(t->out, t->n_out, "next_tool_name") >= 0 &&
           rs_field_index(t->out, t->n_out, "next_tool_args") >= 0;
}

static bool is_error(const char *obs)
{
    return strncmp(obs, "Error", 5) == 0 || strncmp(obs, "Execution error", 15) == 0;
}

/* The steps of a trajectory text. */
static step *parse_steps(rs_arena *a, const char *traj, size_t *n)
{
    size_t ns = 0;
    rs_section *secs = traj ? rs_sections(a, traj, &ns) : NULL;
    step *out = rs_alloc(a, (ns + 1) * sizeof *out);
    *n = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *nm = secs[i].name;
        const char *us = strrchr(nm, '_');
        if (!us || !isdigit((unsigned char)us[1]))
            continue;
        size_t k = (size_t)strtoul(us + 1, NULL, 10);
        if (k > ns)
            continue;
        if (k + 1 > *n)
            *n = k + 1;
        size_t pl = (size_t)(us - nm);
        if (pl == 9 && strncmp(nm, "tool_name", 9) == 0)
            out[k].name = secs[i].value;
        else if (pl == 9 && strncmp(nm, "tool_args", 9) == 0)
            out[k].args = secs[i].value;
        else if (pl == 11 && strncmp(nm, "observation", 11) == 0)
            out[k].obs = secs[i].value;
    }
    return out;
}

/* "(1) search: Find passages. Arguments: {...}" lines of the instructions. */
static size_t parse_tools(rs_arena *a, const rs_task *t, tool *tools, size_t max)
{
    size_t n = 0;
    for (const char *p = t->instructions; p && *p && n < max;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        if (*p == '(' && isdigit((unsigned char)p[1])) {
            const char *q = strchr(p, ')');
            if (q && q < e) {
                q++;
                while (*q == ' ')
                    q++;
                const char *ne = q;
                while (ne < e && (isalnum((unsigned char)*ne) || *ne == '_'))
                    ne++;
                const char *args = strstr(q, "Arguments: ");
                tool *tl = &tools[n++];
                tl->name = rs_strndup(a, q, (size_t)(ne - q));
                tl->desc = rs_strndup(a, ne, (size_t)((args && args < e ? args : e) - ne));
                tl->schema = args && args < e ? cJSON_ParseWithLength(args + 11, (size_t)(e - args - 11)) : NULL;
            }
        }
        p = *e ? e + 1 : e;
    }
    if (n)
        return n;
    /* Instructions rewritten: the names and schemas from the fields'
     * descriptions ("search takes {...}; finish takes {}"). */
    int fa = rs_field_index(t->out, t->n_out, "next_tool_args");
    for (const char *p = fa >= 0 && t->out[fa].desc ? strstr(t->out[fa].desc, "JSON object: ") : NULL; p && *p && n < max;) {
        p += p[0] == 'J' ? 13 : 0;
        const char *e = p;
        while (isalnum((unsigned char)*e) || *e == '_')
            e++;
        if (e == p || strncmp(e, " takes ", 7) != 0)
            break;
        const char *js = e + 7, *end = strstr(js, "; ");
        size_t jl = end ? (size_t)(end - js) : strlen(js);
        if (!(e - p == 6 && strncmp(p, "finish", 6) == 0)) {
            tools[n].name = rs_strndup(a, p, (size_t)(e - p));
            tools[n].desc = "";
            tools[n++].schema = cJSON_ParseWithLength(js, jl);
        }
        p = end ? end + 2 : NULL;
    }
    if (n)
        return n;
    /* Else the names from the next_tool_name description. */
    int f = rs_field_index(t->out, t->n_out, "next_tool_name");
    const char *d = f >= 0 && t->out[f].desc ? strstr(t->out[f].desc, "One of: ") : NULL;
    for (const char *p = d ? d + 8 : NULL; p && *p && n < max;) {
        const char *e = p;
        while (isalnum((unsigned char)*e) || *e == '_')
            e++;
        if (e > p) {
            tools[n].name = rs_strndup(a, p, (size_t)(e - p));
            tools[n].desc = "";
            tools[n++].schema = NULL;
        }
        while (*e == ',' || *e == ' ')
            e++;
        if (e == p)
            break;
        p = e;
    }
    return n;
}

static bool stopword(const char *w, size_t n)
{
    static const char *const words[] = { "the", "a", "an", "of", "in", "on", "to", "is", "was", "were", "are", "what",
                                         "which", "who", "whom", "when", "where", "why", "how", "did", "does", "do",
                                         "and", "or", "for", "by", "with", "as", "at", "from", "that", "this", "it",
                                         "its", "be", "been", "has", "have", "had", "many", "much" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && strncasecmp(words[i], w, n) == 0)
            return true;
    return false;
}

/* The question's key words, lowercased, space-separated. */
static const char *key_words(rs_arena *a, const char *q)
{
    rs_buf b;
    rs_buf_init(&b, a);
    for (const char *p = q; p && *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *s = p;
        while (isalnum((unsigned char)*p) || *p == '\'')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || stopword(s, n))
            continue;
        if (b.len)
            rs_buf_add(&b, " ", 1);
        for (size_t i = 0; i < n; i++) {
            char c = (char)tolower((unsigned char)s[i]);
            rs_buf_add(&b, &c, 1);
        }
    }
    return b.len ? rs_buf_str(&b) : "";
}

/* How many key words of a occur in b (case-insensitively, as words or stems). */
static size_t shared_words(rs_arena *a, const char *kw, const char *text)
{
    const char *low = key_words(a, text);
    size_t n = 0;
    for (const char *p = kw; *p;) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t stem = len > 4 ? len - 1 : len;
        for (const char *q = low; (q = strstr(q, rs_strndup(a, p, stem))) != NULL; q++)
            if (q == low || q[-1] == ' ') {
                n++;
                break;
            }
        p += len;
        while (*p == ' ')
            p++;
    }
    return n;
}

/* A demo's value of key in its args JSON, or NULL. */
static cJSON *demo_arg(const rs_task *t, size_t n_steps, const char *tool_name, const char *key)
{
    int ti = input_index(t, "trajectory"), fn = rs_field_index(t->out, t->n_out, "next_tool_name"),
        fa = rs_field_index(t->out, t->n_out, "next_tool_args");
    (void)n_steps;
    for (size_t i = 0; i < t->n_demos; i++) {
        const rs_example *d = &t->demos[i];
        if (ti < 0 || fn < 0 || fa < 0 || !d->out[fn] || !d->out[fa] || strcmp(d->out[fn], tool_name) != 0)
            continue;
        cJSON *o = cJSON_Parse(d->out[fa]);
        cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(o, key);
        cJSON_Delete(o);
        if (v)
            return v;
    }
    return NULL;
}

/* A value of the JSON schema s: strings are the question's key words,
 * numbers 1, an array one such element, an object (a record argument) each
 * of its properties, a map (additionalProperties a schema) one entry keyed
 * by the key words, anyOf its first choice. */
static cJSON *example_of(const cJSON *s, const char *kw, int depth)
{
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(s, "type");
    const char *type = cJSON_IsString(ty) ? ty->valuestring : "string";
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    if (cJSON_IsArray(any) && any->child && depth < 16)
        return example_of(any->child, kw, depth + 1);
    if (strcmp(type, "integer") == 0)
        return cJSON_CreateNumber(1);
    if (strcmp(type, "number") == 0)
        return cJSON_CreateNumber(1.0);
    if (strcmp(type, "boolean") == 0)
        return cJSON_CreateTrue();
    if (strcmp(type, "array") == 0) {
        cJSON *arr = cJSON_CreateArray();
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
        cJSON_AddItemToArray(arr, items && depth < 16 ? example_of(items, kw, depth + 1) : cJSON_CreateString(kw));
        return arr;
    }
    if (strcmp(type, "object") == 0) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        for (const cJSON *p = props && depth < 16 ? props->child : NULL; p; p = p->next)
            cJSON_AddItemToObject(o, p->string, example_of(p, kw, depth + 1));
        const cJSON *more = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
        if (!props && cJSON_IsObject(more) && depth < 16)
            cJSON_AddItemToObject(o, kw, example_of(more, kw, depth + 1));
        return o;
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (cJSON_IsArray(en) && cJSON_IsString(en->child))
        return cJSON_CreateString(en->child->valuestring);
    return cJSON_CreateString(kw);
}

static const char *make_args(rs_arena *a, const rs_task *t, const tool *tl, const char *kw, size_t n_steps)
{
    cJSON *o = cJSON_CreateObject();
    for (const cJSON *p = tl->schema ? tl->schema->child : NULL; p; p = p->next) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(p, "type");
        const char *type = cJSON_IsString(ty) ? ty->valuestring : "string";
        cJSON *learned = demo_arg(t, n_steps, tl->name, p->string);
        if (learned && strcmp(type, "string") != 0 && strcmp(type, "array") != 0) {
            cJSON_AddItemToObject(o, p->string, learned);
            continue;
        }
        cJSON_Delete(learned);
        cJSON_AddItemToObject(o, p->string, example_of(p, kw, 0));
    }
    char *s = cJSON_PrintUnformatted(o);
    const char *out = rs_strdup(a, s ? s : "{}");
    free(s);
    cJSON_Delete(o);
    return out;
}

/* The tool the demos chose at this step (most votes, first on ties), or NULL. */
static const char *demo_choice(rs_arena *a, const rs_task *t, size_t n_steps)
{
    int ti = input_index(t, "trajectory"), fn = rs_field_index(t->out, t->n_out, "next_tool_name");
    const char *best = NULL;
    size_t best_votes = 0;
    for (size_t i = 0; i < t->n_demos && fn >= 0 && ti >= 0; i++) {
        const rs_example *d = &t->demos[i];
        size_t ns;
        parse_steps(a, d->in[ti], &ns);
        if (ns != n_steps || !d->out[fn])
            continue;
        size_t votes = 0;
        for (size_t k = 0; k < t->n_demos; k++) {
            size_t nk;
            parse_steps(a, t->demos[k].in[ti], &nk);
            votes += nk == n_steps && t->demos[k].out[fn] && strcmp(t->demos[k].out[fn], d->out[fn]) == 0;
        }
        if (votes > best_votes)
            best = d->out[fn], best_votes = votes;
    }
    return best;
}

void rs_agent_step(rs_arena *a, const rs_task *t, const rs_gen *g, const char **values)
{
    (void)g;
    int ti = input_index(t, "trajectory");
    rs_buf qb;
    rs_buf_init(&qb, a);
    for (size_t k = 0; k < t->n_in; k++)
        if ((int)k != ti && t->query[k]) {
            rs_buf_puts(&qb, t->query[k]);
            rs_buf_puts(&qb, " ");
        }
    const char *question = qb.len ? rs_buf_str(&qb) : "";
    const char *kw = key_words(a, question);
    size_t n_steps;
    step *steps = parse_steps(a, t->query[ti], &n_steps);
    tool tools[32];
    size_t n_tools = parse_tools(a, t, tools, 32);

    size_t good = 0;
    bool answered = false;
    for (size_t k = 0; k < n_steps; k++)
        if (steps[k].obs && !is_error(steps[k].obs)) {
            good++;
            answered |= shared_words(a, kw, steps[k].obs) > 0;
        }
    const step *last = n_steps ? &steps[n_steps - 1] : NULL;

    const char *choice = demo_choice(a, t, n_steps);
    if (!choice && (answered || good >= 2 || n_tools == 0 || n_steps >= 4))
        choice = "finish";
    if (!choice && last && last->obs && is_error(last->obs) && last->name && strstr(last->obs, "do not fit"))
        choice = last->name; /* try again, with the schema the error gave */
    if (!choice) {
        size_t best = 0, best_score = 0;
        for (size_t i = 0; i < n_tools; i++) {
            if (strcmp(tools[i].name, "finish") == 0)
                continue;
            size_t used = 0;
            for (size_t k = 0; k < n_steps; k++)
                used += steps[k].name && strcmp(steps[k].name, tools[i].name) == 0;
            size_t score = 2 * shared_words(a, kw, fmt(a, "%s %s", tools[i].name, tools[i].desc)) + 1;
            score = used ? 0 : score;
            if (score > best_score)
                best = i, best_score = score;
        }
        choice = best_score ? tools[best].name : "finish";
    }
    const tool *tl = NULL;
    for (size_t i = 0; i < n_tools; i++)
        if (strcmp(tools[i].name, choice) == 0)
            tl = &tools[i];
    tool learned = { choice, "", NULL };
    if (tl && !tl->schema)
        tl = NULL;
    if (!tl && last && last->obs && strstr(last->obs, "It takes ")) {
        learned.schema = cJSON_Parse(strstr(last->obs, "It takes ") + 9);
        tl = &learned;
    }
    const char *args = strcmp(choice, "finish") == 0 ? "{}" : tl ? make_args(a, t, tl, kw, n_steps) : "{}";
    for (size_t f = 0; f < t->n_out; f++) {
        const char *nm = t->out[f].name;
        if (strcmp(nm, "next_thought") == 0)
            values[f] = strcmp(choice, "finish") == 0 ? "The observations so far hold what is needed; I can finish."
                                                      : fmt(a, "I should call %s next.", choice);
        else if (strcmp(nm, "next_tool_name") == 0)
            values[f] = choice;
        else if (strcmp(nm, "next_tool_args") == 0)
            values[f] = args;
        else
            values[f] = "";
    }
    for (size_t i = 0; i < n_tools; i++)
        cJSON_Delete(tools[i].schema);
    cJSON_Delete(learned.schema);
}

static const char *observations(rs_arena *a, const char *traj)
{
    size_t n;
    step *s = parse_steps(a, traj, &n);
    rs_buf b;
    rs_buf_init(&b, a);
    for (size_t k = 0; k < n; k++)
        if (s[k].obs && !is_error(s[k].obs) && strcmp(s[k].obs, "Completed.") != 0) {
            if (b.len)
                rs_buf_puts(&b, "\n");
            rs_buf_puts(&b, s[k].obs);
        }
    return b.len ? rs_buf_str(&b) : "";
}

void rs_agent_prepare(rs_arena *a, rs_task *t)
{
    int ti = input_index(t, "trajectory");
    if (ti < 0 || rs_agent_is_step(t))
        return;
    if (t->query[ti])
        t->query[ti] = observations(a, t->query[ti]);
    for (size_t i = 0; i < t->n_demos; i++)
        if (t->demos[i].in[ti])
            t->demos[i].in[ti] = observations(a, t->demos[i].in[ti]);
}
