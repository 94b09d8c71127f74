/* error_context.h — adding context to an error on its way up (internal). */
#ifndef DSP_ERROR_CONTEXT_H
#define DSP_ERROR_CONTEXT_H

#include "dsp/error.h"

/* Puts a printf-style prefix and ": " in front of err->message, so an inner
 * "expected an integer, got \"12abc\"" becomes "output `count`: expected
 * ...". A message that starts with a path (dsp_error_path) and a prefix that
 * ends in a backquote join into one name: "output `entities`" and
 * "[2].type: ..." give "output `entities[2].type`: ...". Sets and returns
 * status (err may be NULL). */
dsp_status dsp_error_prefix(dsp_error *err, dsp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts one step of a path inside a value ("[2]", ".type", "[\"k\"]") in front
 * of the message: "[2]" + ".type: ..." gives "[2].type: ...". The first
 * step adds the ": ". Keeps err->path_len. */
dsp_status dsp_error_path(dsp_error *err, dsp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
