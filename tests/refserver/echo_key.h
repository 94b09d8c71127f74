/* echo_key.h — --echo-key: the fixture plays a broken or hostile server that
 * quotes the request's API key back, so that clients can prove they never
 * keep, print or store any piece of it. */
#ifndef RS_ECHO_KEY_H
#define RS_ECHO_KEY_H

#include "answer.h"

/* The API key of a request from its Authorization (Bearer) or x-api-key
 * header value (either may be NULL); NULL when there is none. */
const char *rs_request_key(const char *authorization, const char *x_api_key);

/* Rewrites a chat answer as --echo-key asks (nothing when it is off or key
 * is NULL): "error" answers 401 with a message quoting the key cut at 200
 * bytes, as a provider's log line might; "reply" puts the key into the
 * first choice's text, at the start of its first field's value. The request
 * log keeps the reply as it was before. */
void rs_echo_key(rs_arena *a, const rs_options *o, rs_api api, const char *key, rs_answer *ans);

#endif
