/* adapter_common.c — prompt pieces shared by the chat and JSON adapters. */
#include "loop.h"
#include "adapter_common.h"

#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_context.h"

/* The signature and the demos. */
static dsp_status check_spec(const dsp_prompt_spec *spec, dsp_error *err)
{
    if (!spec)
        return dsp_error_set(err, DSP_ERR_INVALID, "no prompt to render");
    const dsp_signature *sig = spec->signature;
    dsp_status st = dsp_signature_check(sig, spec->strategy, err);
    if (st != DSP_OK)
        return st;
    if (spec->n_demos && !spec->demos)
        return dsp_error_set(err, DSP_ERR_INVALID, "signature %s: %zu demos but no demo table", sig->name ? sig->name : "?",
                             spec->n_demos);
    for (size_t d = 0; d < spec->n_demos; d++)
        if ((sig->n_inputs && !spec->demos[d].input_texts) || !spec->demos[d].output_texts)
            return dsp_error_set(err, DSP_ERR_INVALID, "signature %s: demo %zu lacks its input or output texts",
                                 sig->name ? sig->name : "?", d + 1);
    return DSP_OK;
}

dsp_status dsp_adapter_check_spec(const dsp_prompt_spec *spec, dsp_error *err)
{
    return check_spec(spec, err);
}

dsp_status dsp_adapter_check(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_error *err)
{
    dsp_status st = check_spec(spec, err);
    return st != DSP_OK ? st : dsp_adapter_check_inputs(spec, inputs, err);
}

dsp_status dsp_adapter_check_inputs(const dsp_prompt_spec *spec, const dsp_value *inputs, dsp_error *err)
{
    const dsp_signature *sig = spec->signature;
    if (sig->n_inputs && !inputs)
        return dsp_error_set(err, DSP_ERR_INVALID, "signature %s: no input values given", sig->name ? sig->name : "?");
    for (size_t i = 0; i < sig->n_inputs; i++) {
        const dsp_field *f = &sig->inputs[i];
        if (dsp_value_check(&inputs[i], f->type, NULL, NULL) == DSP_OK)
            continue;
        /* Only a failure pays for naming the field. */
        char what[160];
        snprintf(what, sizeof what, "input `%s`", f->name);
        return dsp_value_check(&inputs[i], f->type, what, err);
    }
    return DSP_OK;
}

static void field_lines(dsp_textbuf *b, const dsp_prompt_spec *spec, bool outputs)
{
    const dsp_signature *sig = spec->signature;
    size_t n = outputs ? dsp_strategy_n_outputs(sig, spec->strategy) : sig->n_inputs;
    for (size_t i = 0; i < n; i++) {
        const dsp_field *f = outputs ? dsp_strategy_output(sig, spec->strategy, i) : &sig->inputs[i];
        char tn[128];
        dsp_tb_puts(b, "\n");
        dsp_tb_putu(b, i + 1);
        dsp_tb_puts(b, ". `");
        dsp_tb_puts(b, f->name);
        dsp_tb_puts(b, "` (");
        dsp_tb_puts(b, dsp_type_name(f->type, tn, sizeof tn));
        dsp_tb_puts(b, "):");
        if (f->description && *f->description) {
            dsp_tb_puts(b, " ");
            dsp_tb_puts(b, f->description);
        }
    }
}

void dsp_adapter_field_list(dsp_textbuf *b, const dsp_prompt_spec *spec)
{
    dsp_tb_puts(b, "Your input fields are:");
    field_lines(b, spec, false);
    dsp_tb_puts(b, "\nYour output fields are:");
    field_lines(b, spec, true);
}

static void names(dsp_textbuf *b, const dsp_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dsp_tb_puts(b, i ? ", `" : "`");
        dsp_tb_puts(b, fields[i].name);
        dsp_tb_puts(b, "`");
    }
}

void dsp_adapter_objective(dsp_textbuf *b, const dsp_prompt_spec *spec)
{
    const dsp_signature *sig = spec->signature;
    const char *ins = spec->instructions && *spec->instructions ? spec->instructions : sig->instructions;
    dsp_textbuf dflt;
    dsp_tb_init(&dflt);
    if (!ins || !*ins) {
        /* As DSPy, the default names the signature's own outputs: chain of
         * thought's reasoning is not part of the task statement. */
        if (sig->n_inputs) {
            dsp_tb_puts(&dflt, "Given the fields ");
            names(&dflt, sig->inputs, sig->n_inputs);
            dsp_tb_puts(&dflt, ", produce the fields ");
        } else {
            dsp_tb_puts(&dflt, "Produce the fields ");
        }
        names(&dflt, sig->outputs, sig->n_outputs);
        dsp_tb_puts(&dflt, ".");
        if (!dsp_tb_ok(&dflt))
            b->failed = true;
        ins = dflt.data ? dflt.data : "";
    }
    dsp_tb_puts(b, "In adhering to this structure, your objective is: ");
    for (const char *line = ins;;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        dsp_tb_puts(b, "\n        ");
        dsp_tb_put(b, line, n);
        if (!nl)
            break;
        line = nl + 1;
    }
    dsp_tb_free(&dflt);
}

void dsp_adapter_marker(dsp_textbuf *b, const char *name)
{
    dsp_tb_puts(b, "[[ ## ");
    dsp_tb_puts(b, name);
    dsp_tb_puts(b, " ## ]]\n");
}

/* An input's text keeps the rule of dsp/value.h (UTF-8, no NUL): a NUL
 * would end the text in C and cannot go in a chat message, and bytes that
 * are not UTF-8 would make the request body invalid JSON. */
static dsp_status check_input_text(const char *field, const char *s, size_t len, dsp_error *err)
{
    size_t at = dsp_text_invalid_at(s, len);
    if (at == len)
        return DSP_OK;
    if (s[at] == '\0')
        return dsp_error_set(err, DSP_ERR_INVALID,
                             "input `%s` holds a NUL byte at offset %zu, which a chat message cannot carry", field, at);
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "input `%s`: not valid UTF-8 at byte %zu (0x%02x); text must be UTF-8 (convert it, e.g. with "
                         "iconv)",
                         field, at, (unsigned)(unsigned char)s[at]);
}

dsp_status dsp_adapter_input_blocks(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_value *inputs,
                                    dsp_error *err)
{
    const dsp_signature *sig = spec->signature;
    for (size_t i = 0; i < sig->n_inputs; i++) {
        const dsp_field *f = &sig->inputs[i];
        if (f->type->kind == DSP_TYPE_STRING) {
            /* The common case, without a formatted copy. */
            const dsp_value *v = &inputs[i];
            if (v->as.s.len && check_input_text(f->name, v->as.s.data, v->as.s.len, err) != DSP_OK)
                return DSP_ERR_INVALID;
            if (i)
                dsp_tb_puts(b, "\n\n");
            dsp_adapter_marker(b, f->name);
            dsp_tb_put(b, v->as.s.data, v->as.s.len);
            continue;
        }
        char *text;
        size_t len;
        dsp_status st = dsp_value_format(&inputs[i], f->type, &text, &len, err);
        if (st != DSP_OK)
            return dsp_error_prefix(err, st, "input `%s`", f->name);
        if (check_input_text(f->name, text, len, err) != DSP_OK) {
            free(text);
            return DSP_ERR_INVALID;
        }
        if (i)
            dsp_tb_puts(b, "\n\n");
        dsp_adapter_marker(b, f->name);
        dsp_tb_put(b, text, len);
        free(text);
    }
    return DSP_OK;
}

size_t dsp_adapter_demo_input_blocks(dsp_textbuf *b, const dsp_prompt_spec *spec, const dsp_demo *demo)
{
    size_t written = 0;
    for (size_t i = 0; i < spec->signature->n_inputs; i++) {
        const char *text = demo->input_texts[i];
        if (!text)
            continue;
        if (written++)
            dsp_tb_puts(b, "\n\n");
        dsp_adapter_marker(b, spec->signature->inputs[i].name);
        dsp_tb_puts(b, text);
    }
    return written;
}

static const char *hint_word(const dsp_type *t)
{
    switch (t->kind) {
    case DSP_TYPE_INT: return "int";
    case DSP_TYPE_FLOAT: return "float";
    case DSP_TYPE_BOOL: return "bool";
    case DSP_TYPE_ENUM: return "enum value";
    case DSP_TYPE_LIST: return "JSON array";
    case DSP_TYPE_RECORD:
    case DSP_TYPE_MAP: return "JSON object";
    default: return NULL;
    }
}

void dsp_adapter_format_hint(dsp_textbuf *b, const dsp_type *t)
{
    if (t->kind == DSP_TYPE_OPTIONAL) {
        const char *w = hint_word(t->elem);
        if (w) {
            dsp_tb_puts(b, " (must be formatted as a valid ");
            dsp_tb_puts(b, w);
            dsp_tb_puts(b, ", or None)");
        } else {
            dsp_tb_puts(b, " (or None)");
        }
        return;
    }
    const char *w = hint_word(t);
    if (w) {
        dsp_tb_puts(b, " (must be formatted as a valid ");
        dsp_tb_puts(b, w);
        dsp_tb_puts(b, ")");
    }
}

dsp_status dsp_adapter_push(dsp_messages *out, dsp_role role, dsp_textbuf *b, dsp_error *err)
{
    if (!dsp_tb_ok(b)) {
        dsp_tb_free(b);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory rendering a prompt");
    }
    /* The rendered text becomes the message as it is, not a copy of it:
     * prompts are rendered on every call. */
    if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        dsp_message *items = realloc(out->items, cap * sizeof *items);
        if (!items) {
            dsp_tb_free(b);
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory growing a message list");
        }
        out->items = items;
        out->cap = cap;
    }
    char *text = dsp_tb_take(b, NULL);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory rendering a prompt");
    memset(&out->items[out->len], 0, sizeof out->items[out->len]);
    out->items[out->len].role = role;
    out->items[out->len].content = text;
    out->len++;
    return DSP_OK;
}

void dsp_adapter_truncate(dsp_messages *out, size_t keep)
{
    while (out->len > keep) {
        dsp_message *m = &out->items[--out->len];
        free(m->content);
        dsp_tool_calls_free(m->tool_calls, m->n_tool_calls);
        free(m->tool_call_id);
    }
}

dsp_status dsp_adapter_render(const dsp_adapter_style *style, const dsp_prompt_spec *spec, const dsp_value *inputs,
                              dsp_messages *out, dsp_error *err)
{
    return dsp_adapter_render_ex(style, spec, inputs, NULL, out, err);
}

dsp_status dsp_adapter_render_fixed(const dsp_adapter_style *style, const dsp_prompt_spec *spec, dsp_textbuf *b,
                                    dsp_messages *out, dsp_error *err)
{
    style->system(b, spec);
    dsp_status st = dsp_adapter_push(out, DSP_ROLE_SYSTEM, b, err);
    for (size_t d = 0; st == DSP_OK && d < spec->n_demos; d++) {
        dsp_adapter_demo_input_blocks(b, spec, &spec->demos[d]);
        st = dsp_adapter_push(out, DSP_ROLE_USER, b, err);
        if (st == DSP_OK)
            st = style->demo_outputs(b, spec, &spec->demos[d], err);
        if (st == DSP_OK)
            st = dsp_adapter_push(out, DSP_ROLE_ASSISTANT, b, err);
    }
    return st;
}

dsp_status dsp_adapter_render_texts(const dsp_adapter_style *style, const dsp_prompt_spec *spec,
                                    const char *const *input_texts, dsp_messages *out, dsp_error *err)
{
    if (!input_texts && spec && spec->signature && spec->signature->n_inputs)
        return dsp_error_set(err, DSP_ERR_INVALID, "no input texts given");
    static const char *const none[1] = { NULL };
    return dsp_adapter_render_ex(style, spec, NULL, input_texts ? input_texts : none, out, err);
}

dsp_status dsp_adapter_render_ex(const dsp_adapter_style *style, const dsp_prompt_spec *spec, const dsp_value *inputs,
                                 const char *const *input_texts, dsp_messages *out, dsp_error *err)
{
    dsp_status st = input_texts ? check_spec(spec, err) : dsp_adapter_check(spec, inputs, err);
    if (st != DSP_OK)
        return st;
    /* The final user message from texts is written as a demo's inputs are. */
    dsp_demo as_demo = { input_texts, NULL };
    size_t first = out->len;
    /* Each message is built here and then copied out at its exact size: no
     * buffer grown by doubling on every call, and a small message lands in
     * one of malloc's fast size classes. */
    enum { STORE = 4096 };
    char *store = dsp_loop_active() ? NULL : alloca(STORE); /* in a job, not on its resident stack */
    dsp_textbuf b;
    dsp_tb_init_in(&b, store, store ? STORE : 0);
    st = dsp_adapter_render_fixed(style, spec, &b, out, err);
    size_t blocks = spec->signature->n_inputs;
    if (st == DSP_OK && input_texts)
        blocks = dsp_adapter_demo_input_blocks(&b, spec, &as_demo);
    else if (st == DSP_OK)
        st = dsp_adapter_input_blocks(&b, spec, inputs, err);
    if (st == DSP_OK) {
        if (blocks)
            dsp_tb_puts(&b, "\n\n");
        style->respond(&b, spec);
        st = dsp_adapter_push(out, DSP_ROLE_USER, &b, err);
    }
    dsp_tb_free(&b);
    if (st != DSP_OK)
        dsp_adapter_truncate(out, first); /* callers may be appending to their own list */
    return st;
}

size_t dsp_adapter_line_end(const char *s, size_t n)
{
    const char *nl = memchr(s, '\n', n);
    return nl ? (size_t)(nl - s) : n;
}

dsp_status dsp_adapter_parse_start(const dsp_prompt_spec *spec, const char **reply, size_t len, dsp_error *err)
{
    dsp_status st = dsp_signature_check(spec->signature, spec->strategy, err);
    if (st != DSP_OK)
        return st;
    if (!*reply && len)
        return dsp_error_set(err, DSP_ERR_INVALID, "reply of %zu bytes given as NULL", len);
    if (!*reply)
        *reply = "";
    return DSP_OK;
}

dsp_status dsp_adapter_value_failed(dsp_status st, dsp_error *err, const char *adapter, const char *field,
                                    const char *reply, size_t len, dsp_value *outputs, size_t n_outputs)
{
    if (st != DSP_ERR_PARSE) {
        dsp_values_free(outputs, n_outputs);
        return st;
    }
    return dsp_adapter_parse_failed(err, adapter, field, reply, len, outputs, n_outputs);
}

dsp_status dsp_adapter_parse_failed(dsp_error *err, const char *adapter, const char *field, const char *reply,
                                    size_t len, dsp_value *outputs, size_t n_outputs)
{
    dsp_values_free(outputs, n_outputs);
    dsp_status st = field ? dsp_error_prefix(err, DSP_ERR_PARSE, "%s adapter: output `%s`", adapter, field)
                          : dsp_error_prefix(err, DSP_ERR_PARSE, "%s adapter", adapter);
    dsp_error_set_raw(err, reply, len);
    return st;
}
