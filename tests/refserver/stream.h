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
 *     objects, the last with finishReason and the final usageMetadata.
 * So the stream and the plain reply carry the same text and usage. */
#ifndef RS_STREAM_H
#define RS_STREAM_H

#include <stdbool.h>

#include "arena.h"
#include "wire.h"

/* The event stream of the plain 200 reply body `reply` of api, or NULL
 * when it is not such a reply. include_usage: OpenAI's
 * stream_options.include_usage. */
const char *rs_stream_body(rs_arena *a, rs_api api, const char *reply, bool include_usage);

#endif
