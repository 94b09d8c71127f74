/* dsp/value.h — typed C values for signature fields.
 *
 * A dsp_value is a tagged value that owns what it points to. A zeroed
 * dsp_value is a valid empty string, so arrays of outputs can be
 * zero-initialised and freed safely whatever happened in between. Enum
 * values hold an index; the names live in the dsp_type, which is why
 * formatting and parsing take the type.
 *
 * Ownership: every function that fills a dsp_value *out expects it empty
 * (zeroed or freed) and leaves it empty on failure. dsp_value_free releases
 * everything and zeroes the value.
 */
#ifndef DSP_VALUE_H
#define DSP_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/error.h"
#include "dsp/signature.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dsp_value {
    dsp_type_kind kind;
    union {
        struct {
            char *data;  /* owned; may hold any bytes; NUL after len for convenience; NULL when len is 0 */
            size_t len;
        } s;
        int64_t i;
        double f;
        bool b;
        size_t e;        /* DSP_TYPE_ENUM: index into the type's enum_values */
        struct {
            struct dsp_value *items; /* owned */
            size_t len, cap;
        } list;
        struct dsp_value *some;      /* DSP_TYPE_OPTIONAL: owned; NULL = absent */
        struct {
            struct dsp_value *fields; /* owned: one per field of the type, in its order */
            size_t len;
        } record;
        struct {
            char **keys;             /* owned, NUL-terminated, distinct, in insertion order */
            struct dsp_value *vals;  /* owned: vals[i] belongs to keys[i] */
            size_t len, cap;
        } map;
    } as;
} dsp_value;

/* Scalars need no allocation. */
dsp_value dsp_value_int(int64_t i);
dsp_value dsp_value_float(double f);
dsp_value dsp_value_bool(bool b);
dsp_value dsp_value_enum(size_t index);
dsp_value dsp_value_list(void); /* empty list */
dsp_value dsp_value_none(void); /* absent optional */
dsp_value dsp_value_map(void);  /* empty map */

/* A record of n fields, each a zeroed value (an empty string) for the
 * caller to replace: free the old field before storing a new one. */
dsp_status dsp_value_record(dsp_value *out, size_t n_fields, dsp_error *err);
/* Adds key -> *val to a map, taking ownership of *val (zeroed); a key that
 * is already there gets the new value (the old one is freed). */
dsp_status dsp_value_map_put(dsp_value *map, const char *key, dsp_value *val, dsp_error *err);
/* dsp_value_map_put without the search for an existing key (a put is
 * O(n), so building an n-key map by puts is O(n^2)): for a caller that
 * knows key is new, e.g. copying another map's keys. O(1) amortized. */
dsp_status dsp_value_map_append(dsp_value *map, const char *key, dsp_value *val, dsp_error *err);
/* Leaves a map built by dsp_value_map_append from keys that may repeat (a
 * C map's arrays) as the same dsp_value_map_put calls would: each key
 * once, at its first place, with its last value (the others freed).
 * O(n log n), where n puts are O(n^2); a map of distinct keys is left as
 * it is. On failure (out of memory) the map is unchanged. */
dsp_status dsp_value_map_merge_repeats(dsp_value *map, dsp_error *err);
/* The value stored under key, or NULL: a scan of the keys, O(n) per
 * lookup (dsp_value_equal compares two maps by sorting, not by a lookup
 * per key). */
const dsp_value *dsp_value_map_get(const dsp_value *map, const char *key);
/* A record's field by name (t is the record's type), or NULL. */
const dsp_value *dsp_value_record_get(const dsp_value *rec, const dsp_type *t, const char *field);

/* A copy of len bytes (any bytes, NUL included). */
dsp_status dsp_value_set_string(dsp_value *out, const char *s, size_t len, dsp_error *err);
/* Appends *item to a list, taking ownership; *item is zeroed. */
dsp_status dsp_value_list_append(dsp_value *list, dsp_value *item, dsp_error *err);
/* Makes *out a present optional holding *inner (ownership moves; *inner is zeroed). */
dsp_status dsp_value_some(dsp_value *out, dsp_value *inner, dsp_error *err);

/* A string value's bytes as a C string: "" for an empty (or zeroed) one.
 * Stops at the first NUL for strings that hold one; use as.s.len for those. */
const char *dsp_value_cstr(const dsp_value *v);

void dsp_value_free(dsp_value *v);
/* Frees n values of an array (not the array itself). */
void dsp_values_free(dsp_value *vs, size_t n);
dsp_status dsp_value_copy(dsp_value *out, const dsp_value *src, dsp_error *err);
/* Deep equality; floats compare by value (NaN equals NaN so values can be
 * compared after a round trip). */
bool dsp_value_equal(const dsp_value *a, const dsp_value *b);

/* Checks that v is a value of type t (enum index in range, list elements,
 * and so on). `what` names the value in the message, e.g. "input `question`". */
dsp_status dsp_value_check(const dsp_value *v, const dsp_type *t, const char *what, dsp_error *err);

/* The rule for text: UTF-8 without NUL characters. Strings cross C APIs as
 * `char *`, where a NUL would end them silently, and requests are JSON,
 * which must be UTF-8; so text breaking the rule is refused (in inputs,
 * data rows, replies and states) with where it breaks it, never cut or
 * passed on. Rendering a prompt applies it to every input.
 *
 * dsp_text_invalid_at: the offset of the first byte of text[0..len) that
 * breaks it (a NUL, or the start of an invalid or cut-off UTF-8 sequence),
 * or len when none does. dsp_json_nul_at: the offset of the first NUL a
 * JSON text decodes to (a \u0000 escape, or a raw NUL byte), or len. */
size_t dsp_text_invalid_at(const char *text, size_t len);
size_t dsp_json_nul_at(const char *json, size_t len);

/* The text the chat adapter writes for v inside a `[[ ## f ## ]]` block:
 * strings as is, int/float as numbers (floats in the shortest form that reads
 * back exactly), bools True/False, enums by name, lists, records and maps
 * as compact JSON (an absent optional field of a record is left out), an
 * absent optional as None. *out is malloc'ed and NUL-terminated. */
dsp_status dsp_value_format(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err);

/* v as JSON text (strings as JSON strings, absent optionals as null). Fails
 * for strings holding a NUL byte, which JSON libraries cannot carry, and for
 * non-finite floats. */
dsp_status dsp_value_to_json(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err);

/* Parses the text of a reply section (surrounding whitespace ignored) as a
 * value of type t: enums exactly, then case-insensitively with quotes
 * stripped; int64 and finite numbers in full; bools True/False/true/false/
 * yes/no; lists as JSON arrays; records and maps as JSON objects (a record's
 * optional fields may be missing or null, its required ones may not;
 * unknown keys are ignored); optionals: empty, None or null is absent.
 * A ```json fence around JSON is stripped. Failure is DSP_ERR_PARSE with a
 * message that starts with the path to the bad part inside the value
 * (`[2].type: "persn" is not a value of EntityType`; err->path_len says how
 * long the path is) and quotes what was found. */
dsp_status dsp_value_parse(const dsp_type *t, const char *text, size_t len, dsp_value *out, dsp_error *err);

/* Parses JSON text (e.g. one row of a data set) as a value of type t. */
dsp_status dsp_value_parse_json(const dsp_type *t, const char *json, size_t len, dsp_value *out, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
