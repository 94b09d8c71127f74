/* text_check.h — internal: the text rule's checks on a reply body, in one
 * pass (the public ones, dsp_text_invalid_at and dsp_json_nul_at, are in
 * dsp/value.h). */
#ifndef DSP_TEXT_CHECK_H
#define DSP_TEXT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Whether json[0..len) passes both dsp_json_nul_at and dsp_text_invalid_at
 * (no NUL byte, no \u0000 escape, valid UTF-8), in one pass over it: the
 * common case of every reply, for which the two separate scans cost twice
 * as much. When it is false, those two say where and why. */
bool dsp_json_text_plain(const char *json, size_t len);

#endif
