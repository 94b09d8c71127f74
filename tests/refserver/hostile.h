/* hostile.h — replies of a broken or hostile server, so that clients can
 * prove what they do with them: --echo-key quotes the request's API key
 * back (a client must never keep, print or store any piece of it), and
 * --inject-nul puts a NUL character into the text (a client must not cut
 * the text there silently). */
#ifndef RS_HOSTILE_H
#define RS_HOSTILE_H

#include "answer.h"

/* The API key of a request from its Authorization (Bearer) or x-api-key
 * header value (either may be NULL); NULL when there is none. */
const char *rs_request_key(const char *authorization, const char *x_api_key);

/* Rewrites a chat answer as --echo-key asks (nothing when it is off, batch, or key
 * is NULL): "error" answers 401 with a message quoting the key cut at 200
 * bytes, as a provider's log line might; "reply" puts the key into the
 * first choice's text, at the start of its first field's value. The request
 * log keeps the reply as it was before. */
void rs_echo_key(rs_arena *a, const rs_options *o, rs_api api, const char *key, rs_answer *ans);

/* --inject-nul: a 200 answer's first choice gets "\u0000hacked" at the end
 * of its first field's value (in the chat format; else at the start of its
 * text), as JSON escapes it on the wire: `billing` becomes
 * `billing\u0000hacked`. */
void rs_inject_nul(rs_arena *a, const rs_options *o, rs_api api, rs_answer *ans);

#endif
