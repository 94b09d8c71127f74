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
    } as;
} dsp_value;

/* Scalars need no allocation. */
dsp_value dsp_value_int(int64_t i);
dsp_value dsp_value_float(double f);
dsp_value dsp_value_bool(bool b);
dsp_value dsp_value_enum(size_t index);
dsp_value dsp_value_list(void); /* empty list */
dsp_value dsp_value_none(void); /* absent optional */

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

/* The text the chat adapter writes for v inside a `[[ ## f ## ]]` block:
 * strings as is, int/float as numbers (floats in the shortest form that reads
 * back exactly), bools True/False, enums by name, lists as compact JSON,
 * an absent optional as None. *out is malloc'ed and NUL-terminated. */
dsp_status dsp_value_format(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err);

/* v as JSON text (strings as JSON strings, absent optionals as null). Fails
 * for strings holding a NUL byte, which JSON libraries cannot carry, and for
 * non-finite floats. */
dsp_status dsp_value_to_json(const dsp_value *v, const dsp_type *t, char **out, size_t *out_len, dsp_error *err);

/* Parses the text of a reply section (surrounding whitespace ignored) as a
 * value of type t: enums exactly, then case-insensitively with quotes
 * stripped; int64 and finite numbers in full; bools True/False/true/false/
 * yes/no; lists as JSON arrays; optionals: empty, None or null is absent.
 * Failure is DSP_ERR_PARSE with a message saying what was expected and
 * quoting what was found. */
dsp_status dsp_value_parse(const dsp_type *t, const char *text, size_t len, dsp_value *out, dsp_error *err);

/* Parses JSON text (e.g. one row of a data set) as a value of type t. */
dsp_status dsp_value_parse_json(const dsp_type *t, const char *json, size_t len, dsp_value *out, dsp_error *err);

#ifdef __cplusplus
}
#endif
#endif
