/* ft_multipart.c — multipart uploads through MHD's post processor (see
 * ft_multipart.h). */
#include "ft_multipart.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

typedef struct form {
    rs_buf purpose, file;
    bool has_purpose, has_file;
    const char *filename;
    rs_arena *a;
} form;

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                const char *content_type, const char *transfer_encoding, const char *data,
                                uint64_t off, size_t size)
{
    (void)kind, (void)content_type, (void)transfer_encoding, (void)off;
    form *f = cls;
    /* A part whose Content-Disposition is missing or garbled has no name:
     * MHD passes NULL. It is no field of ours. */
    if (!key)
        return MHD_YES;
    if (strcmp(key, "purpose") == 0) {
        f->has_purpose = true;
        if (size > 0) /* MHD may pass no data for an empty value */
            rs_buf_add(&f->purpose, data, size);
    } else if (strcmp(key, "file") == 0) {
        f->has_file = true;
        if (filename && !f->filename)
            f->filename = rs_strdup(f->a, filename);
        if (size > 0)
            rs_buf_add(&f->file, data, size);
    }
    return MHD_YES;
}

void rs_ft_decode_upload(struct MHD_Connection *conn, rs_arena *a, const char *body, size_t len, rs_ft_upload *up)
{
    memset(up, 0, sizeof *up);
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0 || !body)
        return;
    form f = {.a = a};
    rs_buf_init(&f.purpose, a);
    rs_buf_init(&f.file, a);
    struct MHD_PostProcessor *pp = MHD_create_post_processor(conn, 65536, on_field, &f);
    if (!pp)
        return;
    enum MHD_Result ok = MHD_post_process(pp, body, len);
    MHD_destroy_post_processor(pp);
    if (ok != MHD_YES)
        return;
    up->multipart = true;
    up->purpose = f.has_purpose ? rs_buf_str(&f.purpose) : NULL;
    up->filename = f.filename;
    if (f.has_file) {
        up->data = rs_buf_str(&f.file);
        up->len = f.file.len;
    }
}
