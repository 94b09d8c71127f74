/* field_stream.c — a streamed chat-adapter reply handed on field by field
 * (see field_stream.h). */
#include "field_stream.h"

#include <stdlib.h>
#include <string.h>

#include "adapter_common.h"

dsp_status dsp_field_stream_init(dsp_field_stream *f, const char *predictor, const dsp_prompt_spec *spec,
                                 const dsp_stream_callbacks *cb, dsp_error *err)
{
    memset(f, 0, sizeof *f);
    f->predictor = predictor;
    f->spec = spec;
    f->cb = cb;
    f->open = -1;
    f->n_out = dsp_strategy_n_outputs(spec->signature, spec->strategy);
    dsp_tb_init(&f->text);
    f->found = calloc(f->n_out ? f->n_out : 1, sizeof *f->found);
    f->sent = calloc(f->n_out ? f->n_out : 1, sizeof *f->sent);
    if (!f->found || !f->sent) {
        dsp_field_stream_free(f);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory starting a stream");
    }
    return DSP_OK;
}

void dsp_field_stream_free(dsp_field_stream *f)
{
    dsp_tb_free(&f->text);
    free(f->found);
    free(f->sent);
    f->found = f->sent = NULL;
}

static dsp_stream_field field_of(const dsp_field_stream *f, size_t i)
{
    dsp_stream_field sf = {f->predictor, i, dsp_strategy_output(f->spec->signature, f->spec->strategy, i)->name};
    return sf;
}

/* Hands on the open section's text up to `to`. */
static void hand_delta(dsp_field_stream *f, size_t to)
{
    if (f->open >= 0 && to > f->handed && !f->cancelled && f->cb->on_delta) {
        dsp_stream_field sf = field_of(f, (size_t)f->open);
        if (f->cb->on_delta(f->cb->ctx, &sf, f->text.data + f->handed, to - f->handed) != 0)
            f->cancelled = true;
    }
    if (to > f->handed)
        f->handed = to;
}

static void hand_field(dsp_field_stream *f, size_t i, const dsp_value *v)
{
    f->sent[i] = true;
    dsp_stream_field sf = field_of(f, i);
    if (!f->cancelled && f->cb->on_field && f->cb->on_field(f->cb->ctx, &sf, v) != 0)
        f->cancelled = true;
}

/* The open section ends at `end`: its value, parsed as the whole reply's
 * parse will, is handed on. */
static void close_section(dsp_field_stream *f, size_t end)
{
    if (f->open < 0)
        return;
    size_t i = (size_t)f->open;
    hand_delta(f, end);
    f->open = -1;
    if (f->bad || f->cancelled)
        return;
    const dsp_field *fd = dsp_strategy_output(f->spec->signature, f->spec->strategy, i);
    dsp_value v;
    memset(&v, 0, sizeof v);
    dsp_error e = {0};
    if (dsp_value_parse(fd->type, f->text.data + f->open_start, end - f->open_start, &v, &e) != DSP_OK) {
        f->bad = true; /* the call's own parse reports it */
        dsp_error_clear(&e);
        return;
    }
    hand_field(f, i, &v);
    dsp_value_free(&v);
}

/* A whole line text[start, eol): a header closes the open section and may
 * open the section of an output not seen yet. */
static void fs_line(dsp_field_stream *f, size_t start, size_t eol)
{
    const char *name;
    size_t name_len, text_start;
    if (!dsp_adapter_header_at(f->text.data + start, eol - start, &name, &name_len, &text_start)) {
        hand_delta(f, eol);
        return;
    }
    close_section(f, start);
    f->handed = start + text_start;
    for (size_t i = 0; i < f->n_out; i++) {
        const char *fn = field_of(f, i).name;
        if (!f->found[i] && strlen(fn) == name_len && memcmp(fn, name, name_len) == 0) {
            f->found[i] = true;
            f->open = (long)i;
            f->open_start = start + text_start;
            break;
        }
    }
    hand_delta(f, eol);
}

/* Whether an unfinished line may still turn out to be a header. */
static bool may_be_header(const char *s, size_t n)
{
    static const char open[] = "[[ ## ";
    size_t k = n < sizeof open - 1 ? n : sizeof open - 1;
    return memcmp(s, open, k) == 0;
}

int dsp_field_stream_text(void *ctx, const char *text, size_t len)
{
    dsp_field_stream *f = ctx;
    size_t from = f->text.len;
    dsp_tb_put(&f->text, text, len);
    if (!dsp_tb_ok(&f->text))
        return 1; /* stops the call; finish reports it */
    for (size_t i = from; i < f->text.len; i++) {
        if (f->text.data[i] != '\n')
            continue;
        fs_line(f, f->line_start, i);
        f->line_start = i + 1;
    }
    size_t rest = f->text.len - f->line_start;
    if (!may_be_header(f->text.data + f->line_start, rest))
        hand_delta(f, f->text.len);
    else
        hand_delta(f, f->line_start);
    return f->cancelled;
}

dsp_status dsp_field_stream_finish(dsp_field_stream *f, bool chat_reply_whole, const dsp_value *outputs,
                                   dsp_error *err)
{
    if (!dsp_tb_ok(&f->text))
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory reading a streamed reply");
    if (chat_reply_whole && !f->cancelled) {
        if (f->line_start <= f->text.len && f->text.len > 0)
            fs_line(f, f->line_start, f->text.len);
        close_section(f, f->text.len);
    }
    for (size_t i = 0; i < f->n_out && outputs && !f->cancelled; i++)
        if (!f->sent[i])
            hand_field(f, i, &outputs[i]);
    if (f->cancelled)
        return dsp_error_set(err, DSP_ERR_CANCELLED, "cancelled by the streaming callback");
    return DSP_OK;
}
