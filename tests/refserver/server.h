/* server.h — the HTTP side of dsp-refserver (libmicrohttpd). */
#ifndef RS_SERVER_H
#define RS_SERVER_H

#include <stddef.h>

#include "options.h"

typedef struct rs_server rs_server;

/* Binds 127.0.0.1:o->port and serves on worker threads. On failure writes
 * a message into err and returns NULL. */
rs_server *rs_server_start(const rs_options *o, char *err, size_t err_size);
unsigned rs_server_port(const rs_server *s);
/* Resumes delayed connections, stops the threads and frees everything. */
void rs_server_stop(rs_server *s);

#endif
