/* stub_http.c — stub server plumbing for the runtime's tests
 * (stub_http.h). */
#include "stub_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

stub_upload *stub_http_body(void **con_cls, const char *data, size_t *data_size, enum MHD_Result *result)
{
    stub_upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof(stub_upload));
        *result = *con_cls ? MHD_YES : MHD_NO;
        return NULL;
    }
    if (*data_size) {
        char *buf = realloc(u->buf, u->len + *data_size + 1);
        if (!buf) {
            *result = MHD_NO;
            return NULL;
        }
        u->buf = buf;
        memcpy(u->buf + u->len, data, *data_size);
        u->len += *data_size;
        u->buf[u->len] = '\0';
        *data_size = 0;
        *result = MHD_YES;
        return NULL;
    }
    return u;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    stub_upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
    }
    *con_cls = NULL;
}

struct MHD_Daemon *stub_http_start(MHD_AccessHandlerCallback handle, void *cls, unsigned *port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0; /* a free port */
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
                         NULL, handle, cls, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, completed,
                         NULL, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        MHD_stop_daemon(d);
        return NULL;
    }
    *port = info->port;
    return d;
}
