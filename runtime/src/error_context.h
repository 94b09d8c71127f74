/* error_context.h — adding context to an error on its way up (internal). */
#ifndef DSP_ERROR_CONTEXT_H
#define DSP_ERROR_CONTEXT_H

#include "dsp/error.h"

/* Puts a printf-style prefix and ": " in front of err->message, so an inner
 * "expected an integer, got \"12abc\"" becomes "output `count`: expected
 * ...". Sets and returns status (err may be NULL). */
dsp_status dsp_error_prefix(dsp_error *err, dsp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
