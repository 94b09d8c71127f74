/* reqlog.h — the --log file: one JSON object per line and request.
 *
 * Fields: method, path, status, model, n_messages, prompt, reply, fault,
 * and for chat requests `request`, the body as received (null for other
 * requests), so a test can compare what a client sent byte for byte, and
 * `auth`, whether it carried an Authorization or x-api-key header. Header
 * values are never written, so no key can leak into a log.
 */
#ifndef RS_REQLOG_H
#define RS_REQLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "answer.h"

typedef struct rs_reqlog rs_reqlog;

/* NULL path: a log that writes nothing. */
bool rs_reqlog_open(const char *path, rs_reqlog **out);
/* body: the chat request's body (len bytes), or NULL. */
void rs_reqlog_write(rs_reqlog *l, const char *method, const char *path, const rs_answer *ans, const char *body,
                     size_t len);
void rs_reqlog_close(rs_reqlog *l);

#endif
