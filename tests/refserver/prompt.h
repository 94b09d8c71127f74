/* prompt.h — reading a chat prompt rendered in dspcc's chat format.
 *
 * The format is described in docs/refserver.md (and the shared
 * CHAT_FORMAT.md): a system message with the field list, the
 * `[[ ## name ## ]]` structure with type notes and the instructions after
 * "your objective is:", then user/assistant pairs as demos, then the final
 * user message with the inputs. Everything is parsed leniently: a prompt
 * that does not follow the format yields a task with `structured` false and
 * the server answers it as free text.
 */
#ifndef RS_PROMPT_H
#define RS_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

typedef enum rs_kind {
    RS_STRING = 0,
    RS_ENUM,
    RS_INT,
    RS_FLOAT,
    RS_BOOL,
    RS_LIST,
    RS_OBJECT
} rs_kind;

typedef struct rs_field {
    const char *name;
    const char *type;        /* as written, e.g. "enum", "list[string]" */
    const char *desc;
    rs_kind kind;
    rs_kind elem;            /* RS_LIST: the element kind */
    const char **enum_values;
    size_t n_enum;
    /* RS_LIST of records the extractor fills (extract.h): the item schema
     * as JSON text and its text and type properties; NULL otherwise. */
    const char *item_schema, *item_text, *item_type;
    /* RS_OBJECT: the record's JSON schema as text, which a zero-shot
     * answer follows; NULL when the note gave none. */
    const char *object_schema;
} rs_field;

typedef struct rs_example {
    const char **in;  /* one per input field; NULL when absent */
    const char **out; /* one per output field; NULL when absent */
} rs_example;

typedef struct rs_message {
    const char *role; /* "system", "user", "assistant" */
    const char *text;
} rs_message;

typedef struct rs_task {
    bool structured;   /* the system message had the field list */
    bool json_reply;   /* the prompt asks for a JSON object (JSON adapter) */
    rs_field *in, *out;
    size_t n_in, n_out;
    const char *instructions; /* "" when none */
    rs_example *demos;
    size_t n_demos;
    const char **query;       /* the final inputs, one per input field */
    const char *last_user;    /* raw text of the final user message */
} rs_task;

void rs_task_parse(rs_arena *a, const rs_message *msgs, size_t n, rs_task *out);

/* One `[[ ## name ## ]]` block of a message. */
typedef struct rs_section {
    const char *name;
    const char *value; /* trimmed */
} rs_section;

/* The blocks of text in order (count in *n). */
rs_section *rs_sections(rs_arena *a, const char *text, size_t *n);

/* Index of the field called name, or -1. */
int rs_field_index(const rs_field *fields, size_t n, const char *name);

/* The enum value that text names: exact, then trimmed, case-insensitive,
 * quotes stripped; -1 when none. */
int rs_match_label(const char *const *labels, size_t n, const char *text);

#endif
