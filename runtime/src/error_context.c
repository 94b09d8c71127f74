/* error_context.c — prefixing error messages with where they happened. */
#include "error_context.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Joins parts[0..n_parts) into err->message by hand, the result cut to
 * the message size on purpose; returns the length written. */
static size_t join_cut(dsp_error *err, const char *const *parts, size_t n_parts)
{
    size_t o = 0, cap = sizeof err->message - 1;
    for (size_t p = 0; p < n_parts; p++) {
        size_t n = strlen(parts[p]);
        if (n > cap - o)
            n = cap - o;
        memcpy(err->message + o, parts[p], n);
        o += n;
    }
    err->message[o] = '\0';
    return o;
}

dsp_status dsp_error_prefix(dsp_error *err, dsp_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    char prefix[DSP_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char inner[DSP_ERROR_MESSAGE_MAX];
    memcpy(inner, err->message, sizeof inner);
    inner[sizeof inner - 1] = '\0';
    size_t plen = strlen(prefix);
    const char *path = "", *rest = inner;
    char pathbuf[DSP_ERROR_MESSAGE_MAX];
    if (err->path_len && err->path_len < sizeof pathbuf && plen && prefix[plen - 1] == '`') {
        /* "output `x`" + "[2].a: msg" -> "output `x[2].a`: msg" */
        memcpy(pathbuf, inner, err->path_len);
        pathbuf[err->path_len] = '\0';
        path = pathbuf;
        rest = inner + err->path_len;
        if (rest[0] == ':' && rest[1] == ' ')
            rest += 2;
        prefix[--plen] = '\0';
    }
    const char *parts[] = { prefix, path, *path ? "`: " : ": ", rest };
    join_cut(err, parts, sizeof parts / sizeof parts[0]);
    err->status = status;
    err->path_len = 0;
    return status;
}

dsp_status dsp_error_path(dsp_error *err, dsp_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    char step[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(step, sizeof step, fmt, ap);
    va_end(ap);
    char inner[DSP_ERROR_MESSAGE_MAX];
    memcpy(inner, err->message, sizeof inner);
    inner[sizeof inner - 1] = '\0';
    size_t slen = strlen(step);
    const char *parts[] = { step, err->path_len ? "" : ": ", inner };
    size_t o = join_cut(err, parts, sizeof parts / sizeof parts[0]);
    err->status = status;
    if (err->path_len + slen < o)
        err->path_len += slen;
    else
        err->path_len = 0; /* cut: no longer a reliable path */
    return status;
}
