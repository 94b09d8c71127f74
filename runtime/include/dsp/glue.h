/* dsp/glue.h — what every generated program shares: error prefixing, the
 * value copies of its module functions, the conversions between types held
 * differently, and the string fields of its typed structs. Generated files
 * hold their tables, module functions and typed wrappers and call these,
 * so the logic has one tested implementation here (tests/runtime/test_glue.c)
 * instead of a copy in every file. Application code rarely needs them. */
#ifndef DSP_GLUE_H
#define DSP_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsp/error.h"
#include "dsp/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Puts "where: " in front of err's message, cutting the message's end to
 * fit; the status is kept. Nothing happens when err is NULL or where does
 * not fit with room to spare. */
void dsp_glue_where(dsp_error *err, const char *where);

/* *dst = a copy of src, as a present optional when wrap (a plain value
 * bound to an optional field). *dst is written only on success. */
dsp_status dsp_glue_copy(dsp_value *dst, const dsp_value *src, bool wrap, dsp_error *err);
/* *dst = the string s[0..len), wrapped as above. */
dsp_status dsp_glue_string(dsp_value *dst, const char *s, size_t len, bool wrap, dsp_error *err);
/* *dst = v (a scalar: int, float, bool or enum), wrapped as above. */
dsp_status dsp_glue_scalar(dsp_value *dst, dsp_value v, bool wrap, dsp_error *err);

/* How a value becomes the type it is bound to, where the two are held
 * differently (as the interpreter converts them): an int as a float, an
 * enum as its name or as the same value of a wider enum, inside lists and
 * optionals. Generated files hold these as const tables. */
typedef enum dsp_conv_op {
    DSP_CONV_INT_FLOAT,
    DSP_CONV_ENUM_STRING,
    DSP_CONV_ENUM_ENUM,
    DSP_CONV_LIST,
    DSP_CONV_OPTIONAL
} dsp_conv_op;

typedef struct dsp_conv {
    dsp_conv_op op;
    const char *const *names;    /* ENUM_STRING: the source enum's names */
    const size_t *map;           /* ENUM_ENUM: each source value's index in the target */
    size_t n;                    /* ENUM_*: the source enum's number of values */
    const struct dsp_conv *elem; /* LIST, OPTIONAL: the element's (NULL: a copy) */
} dsp_conv;

/* *dst = src converted by cv (NULL: a copy). An enum value out of range
 * becomes the first name or value. On failure *dst is empty. */
dsp_status dsp_glue_convert(dsp_value *dst, const dsp_value *src, const dsp_conv *cv, dsp_error *err);

/* Shadow mode: whether two runs' results a[0..n) and b[0..n) are equal
 * (dsp_value_equal) at every i where decides[i] is non-zero. */
bool dsp_glue_agree(const dsp_value *a, const dsp_value *b, const unsigned char *decides, size_t n);

/* A string field of a generated input struct as a value; NULL is an error. */
dsp_status dsp_glue_in_string(const char *x, dsp_value *v, dsp_error *err);
/* A string value as a NUL-terminated copy in *x (free with free()). */
dsp_status dsp_glue_out_string(const dsp_value *v, char **x, dsp_error *err);
/* free(*x) and *x = NULL. */
void dsp_glue_free_string(char **x);

/* Around a C tool call (the messages are dspcc eval's, word for word). i is
 * a list element's index, or -1 for a plain argument or result. */
/* A .dsp int passed to a C integer type of range lo..hi (`ctype`): out of
 * range is an error naming the tool and parameter, never a truncation. */
dsp_status dsp_glue_int_in(int64_t v, int64_t lo, uint64_t hi, const char *tool, const char *param, const char *ctype,
                           long long i, dsp_error *err);
/* A .dsp float passed as a C float: a finite value beyond FLT_MAX is an
 * error, not an infinity. */
dsp_status dsp_glue_float_in(double v, const char *tool, const char *param, long long i, dsp_error *err);
/* An unsigned C result as a .dsp int: above INT64_MAX is an error. out: the
 * output's name, NULL for the return value. */
dsp_status dsp_glue_u64_out(dsp_value *dst, uint64_t v, const char *tool, const char *out, const char *ctype,
                            long long i, dsp_error *err);
/* A temporary C array of n items for a list argument (never NULL on
 * success, even for n == 0); on failure *st is set. */
void *dsp_glue_array(size_t n, size_t size, dsp_status *st, dsp_error *err);
/* A tool's nonzero int status, as an error. */
dsp_status dsp_glue_tool_status(const char *tool, int status, dsp_error *err);
/* A string output, copied (the caller frees the tool's); NULL is an error. */
dsp_status dsp_glue_out_str(dsp_value *dst, const char *s, const char *tool, const char *out, dsp_error *err);
/* An array output starts an empty list; NULL is empty only with length 0. */
dsp_status dsp_glue_out_list(dsp_value *dst, const void *a, size_t n, const char *tool, const char *out,
                             dsp_error *err);
/* A string array output: each string copied; a NULL string is an error. */
dsp_status dsp_glue_out_strs(dsp_value *dst, char *const *a, size_t n, const char *tool, const char *out,
                             dsp_error *err);
/* Frees a string array a tool malloc'ed: each string, then the array. */
void dsp_glue_free_strs(char **a, size_t n);

#ifdef __cplusplus
}
#endif
#endif
