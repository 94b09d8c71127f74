/* field_stream.h — internal: a chat-adapter reply read as it streams in,
 * handed on field by field (dsp_predict_stream). Sections are found by the
 * rule dsp_chat_adapter_parse uses (a line starting with a
 * `[[ ## name ## ]]` header ends the open section, the first section of a
 * name counts), so a field handed on is the value the whole reply parses
 * to. A partial line that may still become a header is held back until it
 * ends. */
#ifndef DSP_FIELD_STREAM_H
#define DSP_FIELD_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "textbuf.h"

typedef struct dsp_field_stream {
    const char *predictor;
    const dsp_prompt_spec *spec;
    const dsp_stream_callbacks *cb;
    size_t n_out;
    dsp_textbuf text;  /* the reply so far */
    size_t line_start; /* where its unfinished line starts */
    size_t handed;     /* text before this was handed on (or is not field text) */
    long open;         /* the output whose section is open, -1: none */
    size_t open_start; /* where its text starts */
    bool *found;       /* per output: its section was seen */
    bool *sent;        /* per output: on_field was called */
    bool bad;          /* a section did not parse: no more fields from this reply */
    bool cancelled;
} dsp_field_stream;

dsp_status dsp_field_stream_init(dsp_field_stream *f, const char *predictor, const dsp_prompt_spec *spec,
                                 const dsp_stream_callbacks *cb, dsp_error *err);
void dsp_field_stream_free(dsp_field_stream *f);
/* dsp_chat_text_fn: ctx is the dsp_field_stream. */
int dsp_field_stream_text(void *ctx, const char *text, size_t len);
/* The reply is whole: the last line and section are read (when
 * chat_reply_whole: the chat reply's stream was not replaced by a JSON
 * fallback), then every output not handed on yet is, from outputs (the
 * call's parsed result). DSP_ERR_CANCELLED when a callback cancelled. */
dsp_status dsp_field_stream_finish(dsp_field_stream *f, bool chat_reply_whole, const dsp_value *outputs,
                                   dsp_error *err);

#endif
