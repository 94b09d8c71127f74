/* ft_api.h — OpenAI's fine-tuning endpoints, as the fixture serves them:
 *
 *   POST /v1/files                          multipart: purpose=fine-tune, file=<JSONL>
 *   POST /v1/fine_tuning/jobs               {"training_file","model","suffix","seed",
 *                                            "hyperparameters":{"n_epochs"}}
 *   GET  /v1/fine_tuning/jobs               the jobs, newest first
 *   GET  /v1/fine_tuning/jobs/{id}
 *   POST /v1/fine_tuning/jobs/{id}/cancel
 *
 * Requests are validated and errors shaped like OpenAI's. Free of
 * libmicrohttpd: server.c decodes the multipart body (ft_multipart.c). */
#ifndef RS_FT_API_H
#define RS_FT_API_H

#include <stdbool.h>
#include <stddef.h>

#include "answer.h"
#include "arena.h"
#include "ft_store.h"

/* A decoded multipart/form-data upload. */
typedef struct rs_ft_upload {
    bool multipart;       /* the body was multipart/form-data */
    const char *purpose;  /* NULL when absent */
    const char *filename; /* of the file part; NULL when absent */
    const char *data;     /* the file part's bytes; NULL when absent */
    size_t len;
} rs_ft_upload;

/* True for the paths this module serves. */
bool rs_ft_route(const char *url);

/* The answer to one request on those paths. up: the decoded upload of a
 * POST /v1/files (NULL otherwise). *allow (allow may be NULL): the methods
 * a 405 names for its Allow header, else NULL. */
void rs_ft_answer(rs_ft_store *s, rs_arena *a, const char *method, const char *url, const char *body, size_t len,
                  const rs_ft_upload *up, rs_answer *out, const char **allow);

#endif
