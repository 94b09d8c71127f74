/* extract.h — the fixture's span extractor, for an output that is a list of
 * records with a text field and an enum type field (entities, mentions).
 *
 * It learns the way the classifier does, so optimizing an extraction
 * program measurably matters (docs/refserver.md, "Records"):
 *   - demos: each span a demo's output lists is remembered with its type
 *     (a gazetteer, matched case-insensitively on whole tokens); each
 *     token of a span votes for its type; capitalised words of demo inputs
 *     that are no part of any span are learned as non-entities;
 *   - instructions: `Word (type)` names a span and its type;
 *   - surface cues: runs of capitalised tokens (and @mentions / #tags) are
 *     candidate spans; without a gazetteer entry they take the type their
 *     tokens voted for, else the demos' most common type, else the first.
 * A fixture, deterministic, not a language model.
 */
#ifndef RS_EXTRACT_H
#define RS_EXTRACT_H

#include <stdbool.h>

#include "arena.h"
#include "prompt.h"

struct cJSON;

/* Notes on f that its items are records: from the item schema (a JSON
 * object schema) picks the text property (a string one, `text` first) and
 * the type property (the first with an enum) and keeps the schema. */
void rs_extract_set_items(rs_arena *a, rs_field *f, const struct cJSON *items);

/* Whether field f is a list of records the extractor can fill. */
bool rs_extract_applies(const rs_field *f);

/* The value of output f (a JSON array of records) for the task's query. */
const char *rs_extract(rs_arena *a, const rs_task *t, size_t f);

#endif
