/* delay.h — a timer thread that resumes suspended HTTP connections.
 *
 * Latency and hangs must not block the HTTP worker threads (a sleeping
 * worker would stall every other connection it serves), so the server
 * suspends the connection and this thread resumes it when its time is up.
 */
#ifndef RS_DELAY_H
#define RS_DELAY_H

#include <stdbool.h>

struct MHD_Connection;
typedef struct rs_delay rs_delay;

bool rs_delay_start(rs_delay **out);
/* Resumes conn (already suspended) after ms milliseconds. */
void rs_delay_add(rs_delay *d, struct MHD_Connection *conn, unsigned ms);
/* Resumes everything and ends the thread; later adds resume at once. */
void rs_delay_stop(rs_delay *d);
/* After the HTTP daemon is gone. */
void rs_delay_free(rs_delay *d);

#endif
