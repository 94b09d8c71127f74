/* dsp/cstruct.h — .dsp records passed to and read back from a C tool's
 * structs (docs/c-headers.md, "Records and C structs").
 *
 * A C struct is described by a table: each member's kind, offset and size,
 * and which field of the record it holds. The interpreter builds the table
 * at run time (offsets from libffi), a generated program holds it as static
 * const data (offsets from offsetof); both convert through these functions,
 * so the two give the same values and the same messages.
 *
 * Ownership:
 *   - In (dsp_cstruct_in): strings point into the record value, valid for
 *     the call; the arrays of list members are malloc'ed here and freed by
 *     dsp_cstruct_release(s, p, DSP_CSTRUCT_PASSED).
 *   - Out (dsp_cstruct_out): the struct the tool filled or returned is read
 *     into a record value (strings copied); then
 *     dsp_cstruct_release(s, p, DSP_CSTRUCT_FROM_TOOL) frees every non-const
 *     pointer member (`char *`, `T *` arrays, `struct U *`), which the tool
 *     malloc'ed; a const one (`const char *`) is the tool's to keep.
 *   - Maps (`char **x_keys; T *x_values; size_t n_x;`): as two lists. In,
 *     the key and value arrays are malloc'ed here, keys point into the
 *     value. Out, a non-const keys array and each key in it, and a
 *     non-const values array (and what its values own, as a list's) are
 *     the tool's malloc'ed memory, freed by the release.
 */
#ifndef DSP_CSTRUCT_H
#define DSP_CSTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/error.h"
#include "dsp/signature.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsp_cm_kind {
    DSP_CM_SIGNED,     /* an integer type of `size` bytes: .dsp int (optional<int> after a
                          DSP_CM_PRESENT flag; so too for UNSIGNED, FLOAT and BOOL) */
    DSP_CM_UNSIGNED,
    DSP_CM_FLOAT,      /* float (size 4) or double (size 8): .dsp float */
    DSP_CM_BOOL,       /* bool: .dsp bool */
    DSP_CM_STRING,     /* char *: .dsp string, an enum's name, or optional<string> (NULL: absent) */
    DSP_CM_STRUCT,     /* a nested struct held by value: .dsp record */
    DSP_CM_STRUCT_PTR, /* a pointer to one struct: optional<record> (NULL: absent) */
    DSP_CM_LIST,       /* a pointer to `elem` elements: .dsp list; the count is a size_t member */
    DSP_CM_COUNT,      /* the size_t count of a list member: no field */
    DSP_CM_PRESENT,    /* the bool `has_x` of an optional scalar member x: no field */
    DSP_CM_MAP,        /* `char **x_keys`: .dsp map<string, T>; the DSP_CM_MAP_VALUES member
                          right after it holds the values, the size_t count_offset their number */
    DSP_CM_MAP_VALUES  /* `T *x_values`, the values of the map member just before it: no field;
                          `elem`, `size`, `sub` and `ctype` describe one value as a LIST's do */
} dsp_cm_kind;

struct dsp_cstruct;

typedef struct dsp_cmember {
    const char *name;               /* the C member's name, also the field's */
    dsp_cm_kind kind;
    size_t offset;                  /* offsetof(struct, member) */
    size_t size;                    /* scalars: their size; LIST: one element's */
    size_t field;                   /* the record field it holds (unused for COUNT) */
    bool borrowed;                  /* a pointer to const: in results, copied and never freed
                                       (MAP: the keys array, MAP_VALUES: the values array) */
    dsp_cm_kind elem;               /* LIST, MAP_VALUES: the elements' kind (not LIST, COUNT,
                                       STRUCT_PTR, MAP) */
    bool elem_borrowed;             /* LIST (MAP_VALUES) of STRING: `const char *` elements, never
                                       freed; MAP: `const char *` keys */
    const struct dsp_cstruct *sub;  /* STRUCT, STRUCT_PTR, LIST or MAP_VALUES of STRUCT: its table */
    size_t count_offset;            /* LIST, MAP: offsetof its size_t count; a scalar whose field
                                       is optional<int|float|bool>: offsetof its bool `has_x` */
    const char *ctype;              /* scalars (and a list's scalar elements): the C type, for messages */
} dsp_cmember;

typedef struct dsp_cstruct {
    const char *name;               /* how C spells it: "struct point", "Point" */
    size_t size;                    /* sizeof */
    const dsp_type *type;           /* the record */
    const dsp_cmember *members;     /* every member, in C order */
    size_t n_members;
} dsp_cstruct;

/* Fills the zeroed struct *dst from the record value v. tool and what name
 * the value in messages ("parameter `a`", "element 2 of parameter `xs`"):
 * an integer out of its C type's range or a finite double beyond a float's
 * is an error naming the member's path (``field `pts[1].x` of parameter
 * `a` ...``). On failure what was allocated is freed already. */
dsp_status dsp_cstruct_in(const dsp_cstruct *s, const dsp_value *v, void *dst, const char *tool, const char *what,
                          dsp_error *err);

/* Reads the struct at src into *out (empty) as a record value. A NULL
 * string for a field that is not optional, a list pointer that is NULL
 * with a nonzero count, a name that is not a value of the field's enum, and
 * an unsigned value above INT64_MAX are errors naming the path. Frees
 * nothing: call dsp_cstruct_release after, whatever it returned. */
dsp_status dsp_cstruct_out(const dsp_cstruct *s, const void *src, dsp_value *out, const char *tool, const char *what,
                           dsp_error *err);

typedef enum dsp_cstruct_owner {
    DSP_CSTRUCT_PASSED,   /* filled by dsp_cstruct_in: free the list arrays it made */
    DSP_CSTRUCT_FROM_TOOL /* filled by the tool: free its non-const pointers */
} dsp_cstruct_owner;

/* Frees what the struct at p points to (not p itself), nested structs and
 * list elements included, and zeroes those pointers. */
void dsp_cstruct_release(const dsp_cstruct *s, void *p, dsp_cstruct_owner owner);

/* A list of records as a malloc'ed array of n structs (never NULL on
 * success, also for an empty list); free with dsp_cstruct_array_free(s, a,
 * n, DSP_CSTRUCT_PASSED). */
dsp_status dsp_cstruct_array_in(const dsp_cstruct *s, const dsp_value *list, void **out, const char *tool,
                                const char *param, dsp_error *err);

/* An array of n structs a tool malloc'ed, as a list of records in *out.
 * NULL with n > 0 is an error. Frees nothing. */
dsp_status dsp_cstruct_array_out(const dsp_cstruct *s, const void *a, size_t n, dsp_value *out, const char *tool,
                                 const char *what, dsp_error *err);

/* One struct a tool malloc'ed or left NULL (`T **out`): an optional record
 * in *out, absent for NULL. Frees nothing. */
dsp_status dsp_cstruct_optional_out(const dsp_cstruct *s, const void *p, dsp_value *out, const char *tool,
                                    const char *what, dsp_error *err);

/* An optional record passed to a `const T *p` marked optional: when v is
 * present (a record, or an optional holding one) fills the zeroed *dst as
 * dsp_cstruct_in does and sets *present, which says whether to pass dst or
 * NULL. Release dst with dsp_cstruct_release(s, dst, DSP_CSTRUCT_PASSED)
 * either way. */
dsp_status dsp_cstruct_optional_in(const dsp_cstruct *s, const dsp_value *v, void *dst, bool *present,
                                   const char *tool, const char *what, dsp_error *err);

/* ---- maps as parameters: `const char *const *x_keys, const T *x_values,
 * size_t n_x` in, `char ***x_keys, T **x_values, size_t *n_x` out ----
 *
 * m[0] (DSP_CM_MAP) describes the keys, m[1] (DSP_CM_MAP_VALUES) one value,
 * as a struct's map members do (offsets unused); t is the map's type. */

/* The map v as two malloc'ed arrays of *n entries in *keys (a `const char
 * **`) and *values (a `T *`), never NULL on success, also for an empty map:
 * keys and strings point into v, valid for the call. On failure what was
 * allocated is freed already; else free with dsp_cmap_release(m, *keys,
 * *values, *n, DSP_CSTRUCT_PASSED). */
dsp_status dsp_cmap_in(const dsp_cmember *m, const dsp_type *t, const dsp_value *v, void *keys, void *values,
                       size_t *n, const char *tool, const char *what, dsp_error *err);

/* The n keys and values a tool wrote as a map value in *out. NULL arrays
 * with n > 0, a NULL key and a key given twice are errors. Frees nothing. */
dsp_status dsp_cmap_out(const dsp_cmember *m, const dsp_type *t, const void *keys, const void *values, size_t n,
                        dsp_value *out, const char *tool, const char *what, dsp_error *err);

/* Frees the two arrays (PASSED: as dsp_cmap_in made them; FROM_TOOL: the
 * tool's keys, values and what they point to that is not const). */
void dsp_cmap_release(const dsp_cmember *m, void *keys, void *values, size_t n, dsp_cstruct_owner owner);

/* Releases each of the n structs of a, then free(a) (NULL: nothing). */
void dsp_cstruct_array_free(const dsp_cstruct *s, void *a, size_t n, dsp_cstruct_owner owner);

#ifdef __cplusplus
}
#endif
#endif
