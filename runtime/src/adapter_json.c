/* adapter_json.c — the JSON adapter: asks for one JSON object with a key per
 * output (with a JSON schema for response_format) and parses it. It is the
 * fallback when a chat-adapter reply cannot be parsed, as in DSPy. */
#include <stdlib.h>
#include <string.h>

#include "adapter_common.h"
#include "error_context.h"
#include "value_json.h"

static bool is_textual(const dsp_type *t)
{
    if (t->kind == DSP_TYPE_OPTIONAL)
        t = t->elem;
    return t->kind == DSP_TYPE_STRING || t->kind == DSP_TYPE_ENUM;
}

static void system_message(dsp_textbuf *b, const dsp_prompt_spec *spec)
{
    const dsp_signature *sig = spec->signature;
    dsp_adapter_field_list(b, spec);
    dsp_tb_puts(b, "\n\nAll interactions will be structured in the following way, with the appropriate values "
                   "filled in.\n\n");
    for (size_t i = 0; i < sig->n_inputs; i++) {
        dsp_adapter_marker(b, sig->inputs[i].name);
        dsp_tb_printf(b, "{%s}\n\n", sig->inputs[i].name);
    }
    dsp_tb_puts(b, "Outputs will be a JSON object with the following fields.\n\n{");
    size_t n = dsp_strategy_n_outputs(sig, spec->strategy);
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = dsp_strategy_output(sig, spec->strategy, i);
        const char *q = is_textual(f->type) ? "\"" : "";
        dsp_tb_printf(b, "%s\n  \"%s\": %s{%s}%s", i ? "," : "", f->name, q, f->name, q);
    }
    dsp_tb_puts(b, "\n}\n");
    dsp_adapter_objective(b, spec);
}

/* A demo's outputs as a JSON object. Demo texts are chat-adapter text, so
 * each is read back as a value of its type; text that does not parse (a
 * hand-written demo, say) goes in as a JSON string rather than failing. */
static cJSON *demo_object(const dsp_prompt_spec *spec, const dsp_demo *demo)
{
    cJSON *obj = cJSON_CreateObject();
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    for (size_t i = 0; obj && i < n; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        const char *text = demo->output_texts[i];
        if (!text)
            continue;
        dsp_value v;
        cJSON *item = NULL;
        if (dsp_value_parse(f->type, text, strlen(text), &v, NULL) == DSP_OK) {
            item = dsp_value_to_cjson(&v, f->type, NULL);
            dsp_value_free(&v);
        }
        if (!item)
            item = cJSON_CreateString(text);
        if (!item) {
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_AddItemToObject(obj, f->name, item);
    }
    return obj;
}

/* The demo's outputs as the pretty-printed JSON object the reply should be. */
static dsp_status demo_json(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_demo *demo, dsp_error *err)
{
    cJSON *obj = demo_object(spec, demo);
    char *text = obj ? cJSON_Print(obj) : NULL;
    cJSON_Delete(obj);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory rendering a demo");
    dsp_tb_puts(b, text);
    cJSON_free(text);
    return DSP_OK;
}

static void respond_line(dsp_textbuf *b, const dsp_prompt_spec *spec)
{
    dsp_tb_puts(b, "Respond with a JSON object in the following order of fields: ");
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        dsp_tb_printf(b, "%s`%s`", i ? ", then " : "", f->name);
        dsp_adapter_format_hint(b, f->type);
    }
    dsp_tb_puts(b, ".");
}

const dsp_adapter_style dsp_json_adapter_style = { system_message, demo_json, respond_line };

dsp_status dsp_json_adapter_render(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_messages *out,
                                   dsp_error *err)
{
    return dsp_adapter_render(&dsp_json_adapter_style, spec, inputs, out, err);
}

dsp_status dsp_json_adapter_render_texts(const dsp_prompt_spec *spec, const char *const *input_texts,
                                         dsp_messages *out, dsp_error *err)
{
    return dsp_adapter_render_texts(&dsp_json_adapter_style, spec, input_texts, out, err);
}

/* The first "```" in s[0..n), or NULL (memmem is a GNU extension). */
static const char *find_fence(const char *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (s[i] == '`' && s[i + 1] == '`' && s[i + 2] == '`')
            return s + i;
    return NULL;
}

/* The span of the JSON object in a reply: inside a ``` fence if there is
 * one, then from the first '{' to the last '}', since models like to wrap
 * the object in a sentence or two. */
bool dsp_json_object_span(const char *s, size_t n, const char **start, size_t *len)
{
    const char *fence = find_fence(s, n);
    if (fence) {
        size_t after = (size_t)(fence - s) + 3;
        size_t eol = after + dsp_adapter_line_end(s + after, n - after); /* skip "json" */
        if (eol < n) {
            const char *body = s + eol + 1;
            size_t rest = n - eol - 1;
            const char *close = find_fence(body, rest);
            s = body;
            n = close ? (size_t)(close - body) : rest;
        }
    }
    const char *open = memchr(s, '{', n);
    if (!open)
        return false;
    const char *close = NULL;
    for (const char *p = s + n; p > open; p--)
        if (p[-1] == '}') {
            close = p - 1;
            break;
        }
    if (!close)
        return false;
    *start = open;
    *len = (size_t)(close - open) + 1;
    return true;
}

dsp_status dsp_json_adapter_parse(const dsp_prompt_spec *spec, const char *reply, size_t len, dsp_value *outputs,
                                  dsp_error *err)
{
    dsp_status st = dsp_adapter_parse_start(spec, &reply, len, err);
    if (st != DSP_OK)
        return st;
    size_t n_out = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    const char *start;
    size_t span;
    cJSON *obj = NULL;
    if (dsp_json_object_span(reply, len, &start, &span)) {
        size_t at = dsp_json_nul_at(start, span);
        if (at < span) {
            dsp_error_set(err, DSP_ERR_PARSE,
                          "a NUL character (\\u0000) at byte %zu of the JSON object; text with NULs is refused, not cut",
                          (size_t)(start - reply) + at);
            return dsp_adapter_parse_failed(err, "JSON", NULL, reply, len, outputs, 0);
        }
        obj = cJSON_ParseWithLength(start, span);
    }
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        dsp_error_set(err, DSP_ERR_PARSE, "the reply is not a JSON object");
        return dsp_adapter_parse_failed(err, "JSON", NULL, reply, len, outputs, 0);
    }
    for (size_t i = 0; i < n_out; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, f->name);
        if (!item) {
            if (f->type->kind == DSP_TYPE_OPTIONAL) {
                outputs[i] = dsp_value_none();
                continue;
            }
            cJSON_Delete(obj);
            dsp_error_set(err, DSP_ERR_PARSE, "missing: the JSON object has no key \"%s\"", f->name);
            return dsp_adapter_parse_failed(err, "JSON", f->name, reply, len, outputs, i);
        }
        st = dsp_value_from_cjson(f->type, item, &outputs[i], err);
        if (st != DSP_OK) {
            cJSON_Delete(obj);
            return dsp_adapter_value_failed(st, err, "JSON", f->name, reply, len, outputs, i);
        }
    }
    cJSON_Delete(obj);
    return DSP_OK;
}
