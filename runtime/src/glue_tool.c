/* glue_tool.c — the checks around a C tool call that every generated
 * program shares (dsp/glue.h). The messages are the interpreter's
 * (compiler/interp_tools.c), word for word: tests/compiler/tools_parity.sh
 * holds the two to the same text. */
#include "dsp/glue.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsp_status dsp_glue_int_in(int64_t v, int64_t lo, uint64_t hi, const char *tool, const char *param, const char *ctype,
                           long long i, dsp_error *err)
{
    if (v >= lo && (v <= 0 || (uint64_t)v <= hi))
        return DSP_OK;
    char what[160], bounds[64] = "";
    if (i >= 0)
        snprintf(what, sizeof what, "element %lld of parameter `%s`", i, param);
    else
        snprintf(what, sizeof what, "parameter `%s`", param);
    if (lo == 0 && hi == UINT64_MAX)
        snprintf(bounds, sizeof bounds, " (it takes no negative number)");
    else if (lo != INT64_MIN || hi != (uint64_t)INT64_MAX)
        snprintf(bounds, sizeof bounds, " (%lld to %llu)", (long long)lo, (unsigned long long)hi);
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: %s is %lld, out of range for C type `%s`%s", tool, what,
                         (long long)v, ctype, bounds);
}

dsp_status dsp_glue_float_in(double v, const char *tool, const char *param, long long i, dsp_error *err)
{
    /* Finite is within +-DBL_MAX; NaN and infinities pass as they are. */
    if (!(v <= DBL_MAX && v >= -DBL_MAX) || (v <= FLT_MAX && v >= -FLT_MAX))
        return DSP_OK;
    char what[160];
    if (i >= 0)
        snprintf(what, sizeof what, "element %lld of parameter `%s`", i, param);
    else
        snprintf(what, sizeof what, "parameter `%s`", param);
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s`: %s is %.17g, out of range for C type `float`", tool, what,
                         v);
}

dsp_status dsp_glue_u64_out(dsp_value *dst, uint64_t v, const char *tool, const char *out, const char *ctype,
                            long long i, dsp_error *err)
{
    if (v <= (uint64_t)INT64_MAX) {
        *dst = dsp_value_int((int64_t)v);
        return DSP_OK;
    }
    char what[160] = "its result";
    if (out && i >= 0)
        snprintf(what, sizeof what, "element %lld of output `%s`", i, out);
    else if (out)
        snprintf(what, sizeof what, "output `%s`", out);
    return dsp_error_set(err, DSP_ERR_INVALID,
                         "tool `%s`: %s is %llu (C type `%s`), above the largest .dsp int, %lld", tool, what,
                         (unsigned long long)v, ctype, (long long)INT64_MAX);
}

void *dsp_glue_array(size_t n, size_t size, dsp_status *st, dsp_error *err)
{
    void *p = malloc((n ? n : 1) * size);
    if (!p)
        *st = dsp_error_set(err, DSP_ERR_NOMEM, "out of memory passing a list to a tool");
    return p;
}

dsp_status dsp_glue_tool_status(const char *tool, int status, dsp_error *err)
{
    return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` failed with status %d", tool, status);
}

dsp_status dsp_glue_out_str(dsp_value *dst, const char *s, const char *tool, const char *out, dsp_error *err)
{
    if (!s)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left output `%s` NULL", tool, out);
    return dsp_value_set_string(dst, s, strlen(s), err);
}

dsp_status dsp_glue_out_list(dsp_value *dst, const void *a, size_t n, const char *tool, const char *out,
                             dsp_error *err)
{
    if (!a && n)
        return dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left output `%s` NULL with length %zu", tool, out, n);
    *dst = dsp_value_list();
    return DSP_OK;
}

dsp_status dsp_glue_out_strs(dsp_value *dst, char *const *a, size_t n, const char *tool, const char *out,
                             dsp_error *err)
{
    dsp_status st = dsp_glue_out_list(dst, a, n, tool, out, err);
    for (size_t i = 0; st == DSP_OK && i < n; i++) {
        if (!a[i]) {
            st = dsp_error_set(err, DSP_ERR_INVALID, "tool `%s` left element %zu of output `%s` NULL", tool, i, out);
            break;
        }
        dsp_value v;
        memset(&v, 0, sizeof v);
        st = dsp_value_set_string(&v, a[i], strlen(a[i]), err);
        if (st == DSP_OK)
            st = dsp_value_list_append(dst, &v, err);
        dsp_value_free(&v);
    }
    return st;
}

void dsp_glue_free_strs(char **a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}
