/* secret.h — internal: keeping an API key, and every piece of it, out of
 * what libdsprt returns, stores or prints. A provider's error may quote the
 * key cut short (a log line cut at 200 bytes leaves `sk-proj-Ab...`), and a
 * broken or hostile server may echo it in a reply, so whole-key matching is
 * not enough: any run of DSP_SECRET_MIN_PIECE or more bytes that also occurs
 * in the key counts (a key shorter than that counts only whole, and one
 * shorter than DSP_SECRET_MIN_KEY not at all: `x`, set for a local server
 * that wants none, would blank every x of every error message). */
#ifndef DSP_SECRET_H
#define DSP_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "dsp/error.h"

#define DSP_SECRET_MIN_PIECE 8
#define DSP_SECRET_MIN_KEY 4

/* Overwrites with '*' every byte of s[0..len) that lies in a piece of key. */
void dsp_secret_redact(char *s, size_t len, const char *key);

/* Whether s[0..len) holds a piece of key. */
bool dsp_secret_found(const char *s, size_t len, const char *key);

/* dsp_secret_redact on err's message and raw text (err may be NULL). */
void dsp_secret_redact_error(dsp_error *err, const char *key);

#endif
