/* lm_stream.h — internal: reading a streamed chat reply. The server-sent
 * events of each provider's streaming API become the reply's text, handed
 * on piece by piece as it arrives, and its token usage:
 *   OpenAI-compatible (and Azure): chat.completion.chunk objects, each
 *     choices[0].delta.content; usage in the last chunk (stream_options
 *     include_usage); the end is `data: [DONE]`.
 *   Anthropic: message_start (input tokens), content_block_start/_delta/
 *     _stop (text_delta, or input_json_delta for the JSON adapter's forced
 *     tool), message_delta (output tokens), message_stop (the end); error.
 *   Gemini (streamGenerateContent?alt=sse): GenerateContentResponse
 *     objects, each candidates[0].content.parts[].text; the end is the
 *     chunk with candidates[0].finishReason; usageMetadata as it grows.
 *   Bedrock (ConverseStream): not server-sent events but AWS's binary
 *     event-stream messages (eventstream.h): messageStart,
 *     contentBlockStart (the JSON adapter's forced toolUse), contentBlockDelta
 *     (delta.text, or delta.toolUse.input pieces), contentBlockStop,
 *     messageStop, then metadata (usage), the end; exception messages
 *     (throttlingException, ...) end it with their message.
 * A stream that stops before its end is an error, so a reply cut off half
 * way is never taken for a whole one. */
#ifndef DSP_LM_STREAM_H
#define DSP_LM_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/error.h"
#include "eventstream.h"
#include "sse.h"
#include "textbuf.h"

typedef struct dsp_stream_reader {
    dsp_provider provider;
    dsp_sse sse;           /* every provider but Bedrock */
    dsp_es es;             /* Bedrock */
    dsp_textbuf text;      /* the reply's text so far */
    dsp_textbuf tool_json; /* Anthropic, Bedrock: the forced tool's input, as its deltas arrive */
    bool in_tool;          /* ... while that tool block is open */
    bool stopped;          /* Bedrock: messageStop arrived (metadata, the end, follows) */
    dsp_usage usage;
    bool done;             /* the provider's end of stream arrived */
    dsp_status st;         /* DSP_OK until the stream failed or was cancelled */
    dsp_error err;
    /* Each piece of text as it arrives (NULL: none); nonzero cancels. */
    dsp_chat_text_fn on_text;
    void *ctx;
    /* Credentials the call sent: text holding a piece of one stops the
     * stream before that piece is handed on. NULL entries: none. */
    const char *keys[3];
} dsp_stream_reader;

void dsp_stream_reader_init(dsp_stream_reader *r, dsp_provider provider, dsp_chat_text_fn on_text, void *ctx);
void dsp_stream_reader_free(dsp_stream_reader *r);
/* Reads n more bytes of the body. Returns true to go on, false once the
 * stream failed or was cancelled (r->st says which). */
bool dsp_stream_reader_feed(dsp_stream_reader *r, const char *bytes, size_t n);
/* After the body ended: the reply (one choice) in resp, zeroed by the
 * caller; or the stream's failure (DSP_ERR_CANCELLED when the callback
 * cancelled it, DSP_ERR_NETWORK for a stream cut off before its end or
 * ended by an error event, DSP_ERR_PROTOCOL for events that do not follow
 * the API) with what (the URL) named in the message. */
dsp_status dsp_stream_reader_finish(dsp_stream_reader *r, const char *what, dsp_chat_response *resp,
                                    dsp_error *err);

#endif
