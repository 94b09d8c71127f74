/* wire_tools.c — native tool calling in the fixture (see wire.h): a request
 * with tools becomes the text loop's react step, and the agent's answer
 * becomes the API's tool call. */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

/* One exchange of the conversation: a user turn with the inputs, then the
 * tool calls made for it and their results. */
typedef struct exchange {
    const char *inputs;  /* the user turn's text: [[ ## field ## ]] blocks */
    rs_buf traj;         /* every step whose result came back */
    size_t n_steps;
    size_t last_start;   /* where the last step's blocks begin in traj */
    const char *thought, *name, *args; /* the last call (its result may be pending) */
    bool pending;        /* the last call has no result yet */
} exchange;

static void put_block(rs_buf *b, const char *kind, size_t idx, const char *text)
{
    if (b->len)
        rs_buf_puts(b, "\n\n");
    rs_buf_printf(b, "[[ ## %s_%zu ## ]]\n%s", kind, idx, text ? text : "");
}

static void add_result(exchange *x, const char *obs)
{
    if (!x->pending)
        return;
    x->last_start = x->traj.len;
    put_block(&x->traj, "thought", x->n_steps, x->thought);
    put_block(&x->traj, "tool_name", x->n_steps, x->name);
    put_block(&x->traj, "tool_args", x->n_steps, x->args);
    put_block(&x->traj, "observation", x->n_steps, obs);
    x->n_steps++;
    x->pending = false;
}

/* The tools as the react instructions list them, finish last. */
static const char *tool_list(rs_arena *a, const rs_request *req, const char **names, const char **takes)
{
    rs_buf l, n, t;
    rs_buf_init(&l, a);
    rs_buf_init(&n, a);
    rs_buf_init(&t, a);
    size_t k = 0;
    const cJSON *tool;
    cJSON_ArrayForEach(tool, req->tools)
    {
        const cJSON *fn = req->api == RS_API_OPENAI ? cJSON_GetObjectItemCaseSensitive(tool, "function") : tool;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(fn, "description");
        const cJSON *schema =
            cJSON_GetObjectItemCaseSensitive(fn, req->api == RS_API_OPENAI ? "parameters" : "input_schema");
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
        char *ps = props ? cJSON_PrintUnformatted(props) : NULL;
        if (!cJSON_IsString(name))
            continue;
        bool finish = strcmp(name->valuestring, "finish") == 0;
        rs_buf_printf(&l, "(%zu) %s%s%s. Arguments: %s\n", ++k, name->valuestring,
                      cJSON_IsString(desc) ? ": " : "", cJSON_IsString(desc) ? desc->valuestring : "",
                      ps ? ps : "{}");
        if (!finish) {
            rs_buf_printf(&n, "%s, ", name->valuestring);
            rs_buf_printf(&t, "%s takes %s; ", name->valuestring, ps ? ps : "{}");
        }
        cJSON_free(ps);
    }
    rs_buf_puts(&n, "finish");
    rs_buf_puts(&t, "finish takes {}");
    *names = rs_buf_str(&n);
    *takes = rs_buf_str(&t);
    return rs_buf_str(&l);
}

void rs_tools_rewrite(rs_arena *a, rs_request *req)
{
    size_t n = req->n_msgs;
    exchange *xs = rs_alloc(a, (n + 1) * sizeof *xs);
    size_t nx = 0;
    const char *sys = "";
    for (size_t i = 0; i < n; i++) {
        const rs_message *m = &req->msgs[i];
        const rs_call *c = &req->calls[i];
        if (strcmp(m->role, "system") == 0) {
            sys = m->text;
        } else if (strcmp(m->role, "tool") == 0) {
            if (nx)
                add_result(&xs[nx - 1], m->text);
        } else if (strcmp(m->role, "assistant") == 0 && c->name) {
            if (!nx)
                continue;
            exchange *x = &xs[nx - 1];
            add_result(x, "");
            x->thought = m->text;
            x->name = c->name;
            x->args = c->args ? c->args : "{}";
            x->pending = true;
        } else if (strcmp(m->role, "user") == 0 && m->text[0]) {
            exchange *x = &xs[nx++];
            memset(x, 0, sizeof *x);
            rs_buf_init(&x->traj, a);
            x->inputs = m->text;
        }
    }
    if (!nx)
        return;
    add_result(&xs[nx - 1], "");
    req->steps_done = xs[nx - 1].n_steps;
    /* The input fields: the blocks of the first user turn. */
    size_t ns = 0;
    rs_section *secs = rs_sections(a, xs[0].inputs, &ns);
    const char *names, *takes;
    const char *list = tool_list(a, req, &names, &takes);
    rs_buf s;
    rs_buf_init(&s, a);
    rs_buf_puts(&s, "Your input fields are:\n");
    for (size_t i = 0; i < ns; i++)
        rs_buf_printf(&s, "%zu. `%s` (string):\n", i + 1, secs[i].name);
    rs_buf_printf(&s, "%zu. `trajectory` (string):\nYour output fields are:\n1. `next_thought` (string):\n"
                      "2. `next_tool_name` (string): One of: %s\n3. `next_tool_args` (string): The tool's arguments as a "
                      "JSON object: %s\n\nAll interactions will be structured in the following way, with the "
                      "appropriate values filled in.\n\n",
                  ns + 1, names, takes);
    for (size_t i = 0; i < ns; i++)
        rs_buf_printf(&s, "[[ ## %s ## ]]\n{%s}\n\n", secs[i].name, secs[i].name);
    rs_buf_puts(&s, "[[ ## trajectory ## ]]\n{trajectory}\n\n[[ ## next_thought ## ]]\n{next_thought}\n\n"
                    "[[ ## next_tool_name ## ]]\n{next_tool_name}\n\n[[ ## next_tool_args ## ]]\n{next_tool_args}\n\n"
                    "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: ");
    /* The instructions, and the tools' list unless they already hold it. */
    rs_buf ins;
    rs_buf_init(&ins, a);
    rs_buf_puts(&ins, sys);
    if (!strstr(sys, "(1) ")) {
        rs_buf_puts(&ins, "\n\nThe tools:\n");
        rs_buf_puts(&ins, list);
    }
    for (const char *line = rs_buf_str(&ins);;) {
        const char *nl = strchr(line, '\n');
        rs_buf_puts(&s, "\n        ");
        rs_buf_add(&s, line, nl ? (size_t)(nl - line) : strlen(line));
        if (!nl)
            break;
        line = nl + 1;
    }
    rs_message *out = rs_alloc(a, (2 * nx + 2) * sizeof *out);
    size_t k = 0;
    out[k].role = "system";
    out[k++].text = rs_buf_str(&s);
    for (size_t i = 0; i < nx; i++) {
        exchange *x = &xs[i];
        bool query = i + 1 == nx;
        /* A demo's input is its trajectory before its last call, which is its output. */
        const char *traj = x->traj.len ? rs_buf_str(&x->traj) : "";
        size_t tl = query ? x->traj.len : x->last_start;
        rs_buf u;
        rs_buf_init(&u, a);
        rs_buf_printf(&u, "%s\n\n[[ ## trajectory ## ]]\n%.*s", x->inputs, (int)tl, traj);
        if (query) {
            rs_buf_puts(&u, "\n\nRespond with the corresponding output fields, starting with the field "
                            "`[[ ## next_thought ## ]]`, then `[[ ## next_tool_name ## ]]`, then "
                            "`[[ ## next_tool_args ## ]]`, and then ending with the marker for "
                            "`[[ ## completed ## ]]`.");
        } else if (!x->name) {
            continue; /* an exchange without a call teaches nothing */
        }
        out[k].role = "user";
        out[k++].text = rs_buf_str(&u);
        if (query)
            break;
        rs_buf d;
        rs_buf_init(&d, a);
        rs_buf_printf(&d, "[[ ## next_thought ## ]]\n%s\n\n[[ ## next_tool_name ## ]]\n%s\n\n[[ ## next_tool_args ## ]]\n"
                          "%s\n\n[[ ## completed ## ]]",
                      x->thought ? x->thought : "", x->name, x->args);
        out[k].role = "assistant";
        out[k++].text = rs_buf_str(&d);
    }
    req->msgs = out;
    req->n_msgs = k;
}

void rs_tools_call(rs_arena *a, const rs_request *req, const char *text, rs_tool_reply *out)
{
    size_t ns = 0;
    rs_section *secs = rs_sections(a, text, &ns);
    out->thought = "";
    out->name = "finish";
    out->args = "{}";
    for (size_t i = 0; i < ns; i++) {
        if (strcmp(secs[i].name, "next_thought") == 0)
            out->thought = secs[i].value;
        else if (strcmp(secs[i].name, "next_tool_name") == 0 && secs[i].value[0])
            out->name = secs[i].value;
        else if (strcmp(secs[i].name, "next_tool_args") == 0 && secs[i].value[0])
            out->args = secs[i].value;
    }
    if (req->api == RS_API_ANTHROPIC) {
        /* input is an object: the arguments reprinted, or {}. */
        cJSON *o = cJSON_ParseWithOpts(out->args, NULL, 1);
        char *p = cJSON_IsObject(o) ? cJSON_PrintUnformatted(o) : NULL;
        out->args = p ? rs_strdup(a, p) : "{}";
        cJSON_free(p);
        cJSON_Delete(o);
    }
    /* --tool-call-faults: what a broken model sends (the reply writers
     * leave out the id for fault 3). */
    if (req->tool_fault == 1 && req->api == RS_API_OPENAI) {
        out->args = "{\"query\": ";
    } else if (req->tool_fault == 1 || req->tool_fault == 2) {
        rs_buf b;
        rs_buf_init(&b, a);
        rs_buf_printf(&b, "%s_unknown", out->name);
        out->name = rs_buf_str(&b);
    }
}

const char *rs_tools_call_id(rs_arena *a, rs_api api, uint64_t id)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s_%016llx", api == RS_API_ANTHROPIC ? "toolu" : "call", (unsigned long long)id);
    return rs_strdup(a, buf);
}
