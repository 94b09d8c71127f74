/* reply.h — the text of an answer: chat-format blocks or a JSON object,
 * optionally damaged on purpose for the missing-field and wrong-type faults.
 */
#ifndef RS_REPLY_H
#define RS_REPLY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "prompt.h"

typedef enum rs_damage {
    RS_DAMAGE_NONE = 0,
    RS_DAMAGE_MISSING_FIELD, /* the last output field is left out */
    RS_DAMAGE_WRONG_TYPE     /* the first typed output gets a value of another type */
} rs_damage;

/* values: one per output of t (from rs_learn). json: answer with one JSON
 * object (JSON adapter prompts, response_format json_object/json_schema);
 * schema: the json_schema's "schema" object or NULL. */
const char *rs_render_reply(rs_arena *a, const rs_task *t, const char **values, bool json,
                            const cJSON *schema, rs_damage damage);

/* The answer to a prompt that is not in the chat format. */
const char *rs_render_unstructured(rs_arena *a, const char *last_user, bool json,
                                   const cJSON *schema);

#endif
