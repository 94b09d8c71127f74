/* adapter_chat.c — the chat adapter: predictor calls as `[[ ## field ## ]]`
 * prompts (docs: docs/runtime.md and the shared CHAT_FORMAT.md, DSPy's ChatAdapter) and
 * replies parsed back by section. */
#include <stdlib.h>
#include <string.h>

#include "adapter_common.h"
#include "error_context.h"
#include "value_json.h"

/* The note on an output's line in the structure block, starting with the
 * eight spaces that separate it from `{name}`; nothing for strings. */
static void type_note(dsp_textbuf *b, const dsp_type *t)
{
    static const char pre[] = "        # note: the value you produce ";
    if (t->kind != DSP_TYPE_STRING && t->kind != DSP_TYPE_OPTIONAL) /* an optional writes its own */
        dsp_tb_put(b, pre, sizeof pre - 1);
    switch (t->kind) {
    case DSP_TYPE_STRING:
        return;
    case DSP_TYPE_INT:
        dsp_tb_puts(b, "must be a single int value");
        return;
    case DSP_TYPE_FLOAT:
        dsp_tb_puts(b, "must be a single float value");
        return;
    case DSP_TYPE_BOOL:
        dsp_tb_puts(b, "must be True or False");
        return;
    case DSP_TYPE_ENUM:
        dsp_tb_puts(b, "must exactly match (no extra characters) one of: ");
        for (size_t i = 0; i < t->n_enum_values; i++) {
            if (i)
                dsp_tb_puts(b, "; ");
            dsp_tb_puts(b, t->enum_values[i]);
        }
        return;
    case DSP_TYPE_LIST:
    case DSP_TYPE_RECORD:
    case DSP_TYPE_MAP: {
        cJSON *schema = dsp_type_schema_cjson(t);
        char *text = schema ? cJSON_PrintUnformatted(schema) : NULL;
        cJSON_Delete(schema);
        if (!text) {
            b->failed = true;
            return;
        }
        dsp_tb_puts(b, "must adhere to the JSON schema: ");
        dsp_tb_puts(b, text);
        cJSON_free(text);
        return;
    }
    case DSP_TYPE_OPTIONAL:
        if (t->elem->kind == DSP_TYPE_STRING) {
            dsp_tb_put(b, pre, sizeof pre - 1);
            dsp_tb_puts(b, "may be None when there is no value");
        } else {
            type_note(b, t->elem);
            dsp_tb_puts(b, ", or None when there is no value");
        }
        return;
    }
}

static void system_message(dsp_textbuf *b, const dsp_prompt_spec *spec)
{
    const dsp_signature *sig = spec->signature;
    dsp_adapter_field_list(b, spec);
    dsp_tb_puts(b, "\n\nAll interactions will be structured in the following way, with the appropriate values "
                   "filled in.\n\n");
    for (size_t i = 0; i < sig->n_inputs; i++) {
        dsp_adapter_marker(b, sig->inputs[i].name);
        dsp_tb_puts(b, "{");
        dsp_tb_puts(b, sig->inputs[i].name);
        dsp_tb_puts(b, "}\n\n");
    }
    size_t n = dsp_strategy_n_outputs(sig, spec->strategy);
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = dsp_strategy_output(sig, spec->strategy, i);
        dsp_adapter_marker(b, f->name);
        dsp_tb_puts(b, "{");
        dsp_tb_puts(b, f->name);
        dsp_tb_puts(b, "}");
        type_note(b, f->type);
        dsp_tb_puts(b, "\n\n");
    }
    dsp_adapter_marker(b, "completed");
    dsp_adapter_objective(b, spec);
}

static dsp_status demo_outputs(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_demo *demo, dsp_error *err)
{
    (void)err;
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    for (size_t i = 0; i < n; i++) {
        const char *text = demo->output_texts[i];
        if (!text)
            continue;
        dsp_adapter_marker(b, dsp_strategy_output(spec->signature, spec->strategy, i)->name);
        dsp_tb_puts(b, text);
        dsp_tb_puts(b, "\n\n");
    }
    dsp_tb_puts(b, "[[ ## completed ## ]]");
    return DSP_OK;
}

static void respond_line(dsp_textbuf *b, const dsp_prompt_spec *spec)
{
    size_t n = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    dsp_tb_puts(b, "Respond with the corresponding output fields, starting with the field ");
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        dsp_tb_puts(b, i ? ", then `[[ ## " : "`[[ ## ");
        dsp_tb_puts(b, f->name);
        dsp_tb_puts(b, " ## ]]`");
        dsp_adapter_format_hint(b, f->type);
    }
    dsp_tb_puts(b, ", and then ending with the marker for `[[ ## completed ## ]]`.");
}

const dsp_adapter_style dsp_chat_adapter_style = { system_message, demo_outputs, respond_line };

dsp_status dsp_chat_adapter_render(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_messages *out,
                                   dsp_error *err)
{
    return dsp_adapter_render(&dsp_chat_adapter_style, spec, inputs, out, err);
}

dsp_status dsp_chat_adapter_render_texts(const dsp_prompt_spec *spec, const char *const *input_texts,
                                         dsp_messages *out, dsp_error *err)
{
    return dsp_adapter_render_texts(&dsp_chat_adapter_style, spec, input_texts, out, err);
}

/* A section header: a line that starts with "[[ ## name ## ]]". Sets the
 * name span and where the section's text starts (after the marker). */
bool dsp_adapter_header_at(const char *s, size_t n, const char **name, size_t *name_len, size_t *text_start)
{
    static const char open[] = "[[ ## ", close[] = " ## ]]";
    const size_t lo = sizeof open - 1, lc = sizeof close - 1;
    if (n < lo || memcmp(s, open, lo) != 0)
        return false;
    size_t k = lo;
    while (k < n && (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
                     (s[k] >= '0' && s[k] <= '9')))
        k++;
    if (k == lo || n - k < lc || memcmp(s + k, close, lc) != 0)
        return false;
    *name = s + lo;
    *name_len = k - lo;
    *text_start = k + lc;
    return true;
}

typedef struct section {
    const char *text;
    size_t len;
    bool found;
} section;

dsp_status dsp_chat_adapter_parse(const dsp_prompt_spec *spec, const char *reply, size_t len, dsp_value *outputs,
                                  dsp_error *err)
{
    dsp_status st = dsp_adapter_parse_start(spec, &reply, len, err);
    if (st != DSP_OK)
        return st;
    return dsp_chat_adapter_parse_checked(spec, reply, len, outputs, err);
}

dsp_status dsp_chat_adapter_parse_checked(const dsp_prompt_spec *spec, const char *reply, size_t len,
                                          dsp_value *outputs, dsp_error *err)
{
    dsp_status st;
    size_t n_out = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    /* A few outputs (the usual case) need no allocation. */
    section few[8];
    section *sec = n_out <= sizeof few / sizeof few[0] ? few : malloc(n_out * sizeof *sec);
    if (!sec)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory parsing a reply");
    memset(sec, 0, n_out * sizeof *sec);

    /* One pass over the lines: each header closes the open section. */
    section *open = NULL;
    for (size_t pos = 0; pos <= len;) {
        size_t eol = pos + dsp_adapter_line_end(reply + pos, len - pos);
        const char *name;
        size_t name_len, text_start;
        if (dsp_adapter_header_at(reply + pos, eol - pos, &name, &name_len, &text_start)) {
            if (open)
                open->len = (size_t)(reply + pos - open->text);
            open = NULL;
            for (size_t i = 0; i < n_out; i++) {
                const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
                if (!sec[i].found && strlen(f->name) == name_len && memcmp(f->name, name, name_len) == 0) {
                    sec[i].found = true;
                    sec[i].text = reply + pos + text_start;
                    open = &sec[i];
                    break;
                }
            }
        }
        if (eol >= len)
            break;
        pos = eol + 1;
    }
    if (open)
        open->len = (size_t)(reply + len - open->text);

    for (size_t i = 0; i < n_out; i++) {
        const dsp_field *f = dsp_strategy_output(spec->signature, spec->strategy, i);
        if (!sec[i].found) {
            if (f->type->kind == DSP_TYPE_OPTIONAL) {
                outputs[i] = dsp_value_none();
                continue;
            }
            dsp_error_set(err, DSP_ERR_PARSE, "missing: the reply has no `[[ ## %s ## ]]` section", f->name);
            if (sec != few)
                free(sec);
            return dsp_adapter_parse_failed(err, "chat", f->name, reply, len, outputs, i);
        }
        st = dsp_value_parse_checked(f->type, sec[i].text, sec[i].len, &outputs[i], err); /* spec checked */
        if (st != DSP_OK) {
            if (sec != few)
                free(sec);
            return dsp_adapter_value_failed(st, err, "chat", f->name, reply, len, outputs, i);
        }
    }
    if (sec != few)
        free(sec);
    return DSP_OK;
}
