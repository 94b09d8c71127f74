/* batch_api.h — the fixture's batch APIs, in their documented shapes:
 *
 * OpenAI's Batch API (the JSONL vLLM's batch runner reads too):
 *   POST /v1/files                 multipart purpose=batch, file=JSONL of
 *                                  {custom_id, method, url, body}
 *   POST /v1/batches               {input_file_id, endpoint, completion_window}
 *   GET  /v1/batches/{id}          status validating, in_progress, completed,
 *                                  expired or failed; output_file_id, error_file_id
 *   GET  /v1/files/{id}/content    the output or error JSONL
 * Anthropic's Message Batches:
 *   POST /v1/messages/batches      {requests: [{custom_id, params}]}
 *   GET  /v1/messages/batches/{id} processing_status in_progress or ended; results_url
 *   GET  /v1/messages/batches/{id}/results
 *
 * Each request is answered like the same chat call (answer.c) when the
 * batch is created; what the client sees follows the wall clock: the batch
 * ends --batch-delay-ms after its creation, its counts growing on the way.
 * --batch-error-rate and --batch-expire-rate pick requests (by a hash of
 * the seed and the custom_id: deterministic) that end errored (a 500 in
 * the error file; Anthropic's "errored") or expired (OpenAI's batch_expired
 * and a batch status "expired"; Anthropic's "expired"); --batch-garbage-rate
 * picks requests whose result line is damaged (cut off, or a reply that
 * does not follow the API). Thread-safe;
 * nothing persists across a restart. */
#ifndef RS_BATCH_API_H
#define RS_BATCH_API_H

#include <stdbool.h>
#include <stddef.h>

#include "answer.h"
#include "arena.h"
#include "ft_store.h"
#include "options.h"

typedef struct rs_batch_store rs_batch_store;

rs_batch_store *rs_batch_store_new(const rs_options *o, rs_ft_store *ft);
void rs_batch_store_free(rs_batch_store *s);

/* Whether url is one of the batch endpoints above (POST /v1/files aside). */
bool rs_batch_route(const char *url);

/* POST /v1/files with purpose "batch": stores the JSONL. */
void rs_batch_upload(rs_batch_store *s, rs_arena *a, const char *filename, const char *data, size_t len,
                     rs_answer *out);

/* Any other batch endpoint. host: the request's Host header (for
 * Anthropic's results_url); key: the request's API key (NULL: none), which
 * --echo-key batch puts into a new batch's id. *allow: the methods, for a
 * 405. */
void rs_batch_answer(rs_batch_store *s, rs_arena *a, const char *method, const char *url, const char *host,
                     const char *key, const char *body, size_t len, rs_answer *out, const char **allow);

#endif
