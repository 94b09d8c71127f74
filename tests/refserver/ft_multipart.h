/* ft_multipart.h — decoding the multipart/form-data body of POST /v1/files
 * with libmicrohttpd's post processor (the only libmicrohttpd use of the
 * fine-tuning endpoints). */
#ifndef RS_FT_MULTIPART_H
#define RS_FT_MULTIPART_H

#include <stddef.h>

#include <microhttpd.h>

#include "arena.h"
#include "ft_api.h"

/* Fills up from the whole request body (in a). A body that is not
 * multipart/form-data, or that does not decode, leaves up->multipart
 * false. */
void rs_ft_decode_upload(struct MHD_Connection *conn, rs_arena *a, const char *body, size_t len, rs_ft_upload *up);

#endif
