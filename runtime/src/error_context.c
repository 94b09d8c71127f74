/* error_context.c — prefixing error messages with where they happened. */
#include "error_context.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    /* Joined by hand: the result is cut to the message size on purpose. */
    size_t o = 0, cap = sizeof err->message - 1;
    for (const char *parts[] = { prefix, ": ", inner }, **p = parts; p < parts + 3; p++) {
        size_t n = strlen(*p);
        if (n > cap - o)
            n = cap - o;
        memcpy(err->message + o, *p, n);
        o += n;
    }
    err->message[o] = '\0';
    err->status = status;
    return status;
}
