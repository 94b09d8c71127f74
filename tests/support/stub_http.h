/* stub_http.h — the plumbing of the in-process libmicrohttpd stub servers
 * the runtime's tests answer LM calls with: a daemon on a free port of
 * 127.0.0.1 and the collection of each request's body. What a stub
 * replies is the test's own handler. */
#ifndef TESTS_STUB_HTTP_H
#define TESTS_STUB_HTTP_H

#include <microhttpd.h>
#include <stddef.h>

/* A request's body, NUL-terminated once any byte has arrived (buf is NULL
 * for an empty body). */
typedef struct stub_upload {
    char *buf;
    size_t len;
} stub_upload;

/* The first part of an access handler: collects the body across MHD's
 * calls. Returns the body once it is complete; until then NULL, with
 * *result what the handler must return to MHD. */
stub_upload *stub_http_body(void **con_cls, const char *data, size_t *data_size, enum MHD_Result *result);

/* Starts a daemon on 127.0.0.1 with a free port (set in *port), a thread
 * per connection and a 10 s connection timeout, that frees each request's
 * body when the request ends. NULL if it cannot start. */
struct MHD_Daemon *stub_http_start(MHD_AccessHandlerCallback handle, void *cls, unsigned *port);

#endif
