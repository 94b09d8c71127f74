/* reqlog.h — the --log file: one JSON object per line and request.
 *
 * Fields: method, path, status, model, n_messages, prompt, reply, fault.
 * Request headers are never written, so no Authorization or x-api-key
 * value can leak into a log.
 */
#ifndef RS_REQLOG_H
#define RS_REQLOG_H

#include <stdbool.h>

#include "answer.h"

typedef struct rs_reqlog rs_reqlog;

/* NULL path: a log that writes nothing. */
bool rs_reqlog_open(const char *path, rs_reqlog **out);
void rs_reqlog_write(rs_reqlog *l, const char *method, const char *path, const rs_answer *ans);
void rs_reqlog_close(rs_reqlog *l);

#endif
