/* answer.c — request in, answer out (see answer.h). */
#include "answer.h"

#include "extract.h"
#include "agent.h"

#include <string.h>

#include "learner.h"
#include "prompt.h"
#include "reply.h"

void rs_answer_error(rs_arena *a, rs_api api, int status, const char *message, const char *code,
                     rs_answer *out)
{
    memset(out, 0, sizeof *out);
    rs_wire_error err = {status, message, NULL, code};
    out->status = status;
    out->body = rs_wire_error_body(a, api, &err);
    out->send_len = strlen(out->body);
}

static uint64_t messages_hash(const rs_request *req)
{
    uint64_t h = rs_hash(req->model, strlen(req->model), 1);
    for (size_t i = 0; i < req->n_msgs; i++) {
        h = rs_hash(req->msgs[i].role, strlen(req->msgs[i].role), h);
        h = rs_hash(req->msgs[i].text, strlen(req->msgs[i].text), h);
    }
    return h;
}

static const char *prompt_text(rs_arena *a, const rs_request *req)
{
    rs_buf b;
    rs_buf_init(&b, a);
    for (size_t i = 0; i < req->n_msgs; i++)
        rs_buf_printf(&b, "%s[%s]\n%s", i ? "\n\n" : "", req->msgs[i].role, req->msgs[i].text);
    return rs_buf_str(&b);
}

/* A property's record schema: an object, or the object of an optional's
 * anyOf; NULL for other types. */
static const cJSON *record_schema(const cJSON *p)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type"), *alt;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "object") == 0 &&
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "properties")))
        return p;
    cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(p, "anyOf")) {
        const cJSON *r = record_schema(alt);
        if (r)
            return r;
    }
    return NULL;
}

/* A json_schema's "enum" lists are the label sets of the outputs they
 * describe (the JSON adapter's prompt itself lists no enum values), and
 * its record properties the shapes of record outputs. */
static void apply_schema_enums(rs_arena *a, rs_task *t, const cJSON *schema)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    for (size_t f = 0; cJSON_IsObject(props) && f < t->n_out; f++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(props, t->out[f].name);
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(p, "items");
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(items, "type");
        if (cJSON_IsString(it) && strcmp(it->valuestring, "object") == 0) {
            t->out[f].kind = RS_LIST;
            rs_extract_set_items(a, &t->out[f], items);
        }
        const cJSON *rec = record_schema(p);
        if (rec) {
            char *text = cJSON_PrintUnformatted(rec);
            if (text) {
                t->out[f].kind = RS_OBJECT;
                t->out[f].object_schema = rs_strdup(a, text);
                cJSON_free(text);
            }
        }
        const cJSON *en = cJSON_GetObjectItemCaseSensitive(p, "enum");
        if (!cJSON_IsArray(en) || cJSON_GetArraySize(en) == 0)
            continue;
        size_t n = 0;
        const char **vals = rs_alloc(a, ((size_t)cJSON_GetArraySize(en) + 1) * sizeof *vals);
        const cJSON *v;
        cJSON_ArrayForEach(v, en)
            if (cJSON_IsString(v))
                vals[n++] = rs_strdup(a, v->valuestring);
        if (n) {
            t->out[f].kind = RS_ENUM;
            t->out[f].enum_values = vals;
            t->out[f].n_enum = n;
        }
    }
}

rs_fault rs_pick_fault(const rs_options *o, uint64_t request_no)
{
    if (o->fail_rate <= 0 || o->n_kinds == 0)
        return RS_FAULT_NONE;
    uint64_t state = rs_mix(o->seed ^ rs_mix(request_no + 0x5eed));
    if (rs_rand01(&state) >= o->fail_rate)
        return RS_FAULT_NONE;
    return o->kinds[rs_mix(state) % o->n_kinds];
}

void rs_answer_chat(rs_arena *a, const rs_options *o, rs_api api, const char *body, size_t len,
                    const char *anthropic_version, uint64_t request_no, rs_answer *out)
{
    rs_answer_chat_ft(a, o, NULL, api, body, len, anthropic_version, request_no, out);
}

void rs_answer_chat_ft(rs_arena *a, const rs_options *o, rs_ft_store *ft, rs_api api, const char *body,
                       size_t len, const char *anthropic_version, uint64_t request_no, rs_answer *out)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        rs_answer_error(a, api, 400,
                        api == RS_API_ANTHROPIC
                            ? "The request body is not valid JSON."
                            : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
                        NULL, out);
        return;
    }
    rs_request req;
    rs_wire_error err;
    bool ok = api == RS_API_ANTHROPIC ? rs_anthropic_parse(a, root, anthropic_version, &req, &err)
              : api == RS_API_GEMINI  ? rs_gemini_parse(a, root, anthropic_version, &req, &err)
              : api == RS_API_BEDROCK ? rs_bedrock_parse(a, root, anthropic_version, &req, &err)
                                      : rs_openai_parse(a, root, &req, &err);
    if (!ok) {
        memset(out, 0, sizeof *out);
        out->status = err.status;
        out->body = rs_wire_error_body(a, api, &err);
        out->send_len = strlen(out->body);
        cJSON_Delete(root);
        return;
    }
    out->model = rs_strdup(a, req.model);
    out->n_messages = req.n_msgs;
    out->stream = req.stream;
    out->stream_usage = req.include_usage;
    /* Only the log needs the flattened prompt; skip it on the fast path. */
    out->prompt = o->log_path ? prompt_text(a, &req) : NULL;

    /* A fine-tuned model recalls what it was trained on. */
    const rs_ft_memory *memory = NULL;
    /* A LoRA adapter: named as the model (vLLM), or selected by
     * "lora": [{"id", "scale"}] (llama.cpp's server; scale 0 is off). */
    rs_lora_set *loras = ft ? rs_ft_store_loras(ft) : NULL;
    if (loras)
        memory = rs_lora_by_name(loras, req.model);
    const cJSON *sel;
    cJSON_ArrayForEach(sel, cJSON_GetObjectItemCaseSensitive(root, "lora"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(sel, "id");
        const cJSON *scale = cJSON_GetObjectItemCaseSensitive(sel, "scale");
        const rs_ft_memory *m = loras && cJSON_IsNumber(id) ? rs_lora_by_id(loras, (long)id->valuedouble) : NULL;
        if (!m || (cJSON_IsNumber(scale) && scale->valuedouble <= 0)) {
            if (!m) {
                rs_buf b;
                rs_buf_init(&b, a);
                rs_buf_printf(&b, "invalid adapter id %ld: this test fixture serves no LoRA adapter with that id "
                                  "(start it with --lora NAME=PATH)",
                              cJSON_IsNumber(id) ? (long)id->valuedouble : -1L);
                rs_answer_error(a, api, 400, rs_buf_str(&b), "invalid_request_error", out);
                cJSON_Delete(root);
                return;
            }
            continue;
        }
        memory = m;
    }
    if (!memory && strncmp(req.model, "ft:", 3) == 0 && !(ft && (memory = rs_ft_store_model(ft, req.model)))) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "The model `%s` does not exist or you do not have access to it (no fine-tuning job of "
                          "this test fixture has produced it).", req.model);
        const char *model = out->model, *prompt = out->prompt;
        size_t nm = out->n_messages;
        rs_answer_error(a, api, 404, rs_buf_str(&m), "model_not_found", out);
        out->model = model;
        out->prompt = prompt;
        out->n_messages = nm;
        cJSON_Delete(root);
        return;
    }

    rs_fault fault = rs_pick_fault(o, request_no);
    out->fault = fault;
    out->delay_ms = o->latency_ms;
    if (o->jitter_ms)
        out->delay_ms += (unsigned)(rs_mix(o->seed ^ request_no ^ 0x7177e5) % (o->jitter_ms + 1u));

    if (fault == RS_FAULT_429 || fault == RS_FAULT_500 || fault == RS_FAULT_503 || fault == RS_FAULT_ESCAPE) {
        static const char *const msgs[] = {
            "Rate limit reached (injected by dsp-refserver --fail-kinds 429). Please try again later.",
            "The server had an error while processing your request (injected by dsp-refserver --fail-kinds 500).",
            "The server is overloaded or not ready yet (injected by dsp-refserver --fail-kinds 503).",
            /* Clear the screen, retitle the terminal, overwrite the line. */
            "\x1b[2J\x1b]0;dsp-refserver\x07\rinjected by dsp-refserver --fail-kinds escape",
        };
        static const char *const codes[] = {"rate_limit_exceeded", NULL, "service_unavailable", NULL};
        int k = fault == RS_FAULT_429 ? 0 : fault == RS_FAULT_500 ? 1 : fault == RS_FAULT_503 ? 2 : 3;
        unsigned delay = out->delay_ms;
        const char *model = out->model, *prompt = out->prompt;
        size_t nm = out->n_messages;
        rs_answer_error(a, api, fault == RS_FAULT_429 ? 429 : fault == RS_FAULT_503 ? 503 : 500,
                        msgs[k], codes[k], out);
        out->fault = fault;
        out->delay_ms = delay;
        out->model = model;
        out->prompt = prompt;
        out->n_messages = nm;
        if (fault == RS_FAULT_429)
            out->retry_after_ms = o->retry_after_ms;
        cJSON_Delete(root);
        return;
    }
    if (fault == RS_FAULT_HANG)
        out->delay_ms = o->hang_ms;
    if (fault == RS_FAULT_OVERSIZE || fault == RS_FAULT_OVERSIZE_CHUNKED) {
        out->status = 200;
        out->body = "";
        out->send_len = 0;
        out->oversize = o->oversize_bytes;
        cJSON_Delete(root);
        return;
    }

    if (req.tools) {
        rs_tools_rewrite(a, &req);
        if (req.steps_done < o->tool_call_faults)
            req.tool_fault = (int)(req.steps_done % 3) + 1;
    }
    rs_task task;
    rs_task_parse(a, req.msgs, req.n_msgs, &task);
    apply_schema_enums(a, &task, req.schema);
    rs_ft_memory_add_demos(a, memory, &task);
    rs_agent_prepare(a, &task);
    rs_damage damage = fault == RS_FAULT_MISSING_FIELD ? RS_DAMAGE_MISSING_FIELD
                       : fault == RS_FAULT_WRONG_TYPE  ? RS_DAMAGE_WRONG_TYPE
                                                       : RS_DAMAGE_NONE;
    bool json = req.json || task.json_reply;
    uint64_t content = messages_hash(&req);
    size_t n = (size_t)req.n;
    rs_choice *choices = rs_alloc(a, n * sizeof *choices);
    for (size_t i = 0; i < n; i++) {
        const char *text;
        if (task.structured) {
            rs_gen g = {req.temperature, rs_mix(content ^ rs_mix(o->seed) ^
                                                rs_mix((uint64_t)req.seed + 0x51ed * req.has_seed) ^
                                                rs_mix(i + 0xc401ce))};
            const char **values = rs_alloc(a, (task.n_out + 1) * sizeof *values);
            if (rs_agent_is_step(&task))
                rs_agent_step(a, &task, &g, values);
            else
                rs_learn(a, &task, &g, values);
            text = rs_render_reply(a, &task, values, json, req.schema, damage);
        } else {
            text = rs_render_unstructured(a, task.last_user, json, req.schema);
        }
        rs_finish_choice(a, &req, text, &choices[i]);
    }
    out->reply = choices[0].text;
    uint64_t id = rs_mix(content ^ (uint64_t)req.seed);
    long prompt_tokens = rs_prompt_tokens(&req);
    out->status = 200;
    out->body = api == RS_API_ANTHROPIC ? rs_anthropic_reply(a, &req, &choices[0], prompt_tokens, id)
                : api == RS_API_GEMINI  ? rs_gemini_reply(a, &req, choices, n, prompt_tokens, id)
                : api == RS_API_BEDROCK ? rs_bedrock_reply(a, &req, &choices[0], prompt_tokens)
                                        : rs_openai_reply(a, &req, choices, n, prompt_tokens, id);
    out->send_len = strlen(out->body);
    if (fault == RS_FAULT_TRUNCATE) {
        out->send_len /= 2;
    } else if (fault == RS_FAULT_BADJSON) {
        /* A complete HTTP body that is not JSON: the reply cut in half. */
        out->body = rs_strndup(a, out->body, out->send_len / 2);
        out->send_len = strlen(out->body);
    }
    cJSON_Delete(root);
}
