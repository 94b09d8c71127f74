/* stream.h — a reply as the provider's stream of server-sent events.
 *
 * The fixture builds every reply whole (wire_*.c), then, when the request
 * asked for a stream, re-sends the same reply as the events the provider
 * documents, its text cut into pieces of a few words:
 *   OpenAI (and Azure): chat.completion.chunk objects (`data: {...}`), the
 *     first with the role, the last with finish_reason, then a usage chunk
 *     with empty choices when stream_options.include_usage, then
 *     `data: [DONE]`;
 *   Anthropic: `event: message_start`, then per content block
 *     content_block_start / content_block_delta (text_delta, or
 *     input_json_delta for a tool's input) / content_block_stop, then
 *     message_delta (stop_reason, output tokens) and message_stop; a ping
 *     after the first block starts, as the API sends;
 *   Gemini (streamGenerateContent?alt=sse): GenerateContentResponse
 *     objects, the last with finishReason and the final usageMetadata;
 *   Bedrock (converse-stream): not server-sent events but AWS's binary
 *     event-stream messages (application/vnd.amazon.eventstream; headers
 *     :event-type, :content-type, :message-type; CRC32s from zlib):
 *     messageStart, per content block a contentBlockStart (toolUse
 *     blocks only, as Bedrock sends), contentBlockDelta (delta.text, or
 *     delta.toolUse.input pieces) and contentBlockStop, then messageStop
 *     (stopReason) and metadata (usage, metrics).
 * So the stream and the plain reply carry the same text and usage. */
#ifndef RS_STREAM_H
#define RS_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "wire.h"

/* The event stream of the plain 200 reply body `reply` of api, or NULL
 * when it is not such a reply; its length in *len (Bedrock's is binary).
 * include_usage: OpenAI's stream_options.include_usage. */
const char *rs_stream_body(rs_arena *a, rs_api api, const char *reply, bool include_usage, size_t *len);

/* A Bedrock stream that fails after it started, as ConverseStream does:
 * messageStart, then an exception message of exception_type (e.g.
 * "serviceUnavailableException") whose payload is {"message": message}. */
const char *rs_stream_bedrock_exception(rs_arena *a, const char *exception_type, const char *message, size_t *len);

/* Where the message that starts at p ends (p + its total length): the
 * fixture sends one event-stream message per chunk. */
size_t rs_stream_message_len(const char *p, size_t avail);

#endif
