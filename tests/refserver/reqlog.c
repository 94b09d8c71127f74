/* reqlog.c — JSON-lines request log (see reqlog.h). */
#include "reqlog.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct rs_reqlog {
    FILE *f;
    pthread_mutex_t mu;
};

bool rs_reqlog_open(const char *path, rs_reqlog **out)
{
    *out = NULL;
    if (!path)
        return true;
    rs_reqlog *l = calloc(1, sizeof *l);
    if (!l)
        return false;
    l->f = fopen(path, "a");
    if (!l->f) {
        free(l);
        return false;
    }
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return true;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

void rs_reqlog_write(rs_reqlog *l, const char *method, const char *path, const rs_answer *ans, const char *body,
                     size_t len)
{
    if (!l)
        return;
    cJSON *o = cJSON_CreateObject();
    add_str(o, "method", method);
    add_str(o, "path", path);
    cJSON_AddNumberToObject(o, "status", ans->status);
    add_str(o, "model", ans->model);
    cJSON_AddNumberToObject(o, "n_messages", (double)ans->n_messages);
    add_str(o, "prompt", ans->prompt);
    add_str(o, "reply", ans->reply);
    add_str(o, "fault", ans->fault ? rs_fault_name(ans->fault) : NULL);
    /* cJSON needs a NUL-terminated string; the body may hold NULs (a
     * fuzzed request), which then end the logged text early. */
    char *req = body ? malloc(len + 1) : NULL;
    if (req) {
        memcpy(req, body, len);
        req[len] = '\0';
    }
    add_str(o, "request", req);
    free(req);
    if (body)
        cJSON_AddBoolToObject(o, "auth", ans->auth);
    if (body && ans->auth_header)
        add_str(o, "auth_header", ans->auth_header);
    if (ans->in_flight > 0) {
        cJSON_AddNumberToObject(o, "in_flight", ans->in_flight);
        cJSON_AddNumberToObject(o, "t_ms", floor(ans->t_ms * 1000.0) / 1000.0);
        cJSON_AddNumberToObject(o, "mono_ms", floor(ans->mono_ms * 1000.0) / 1000.0);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return;
    pthread_mutex_lock(&l->mu);
    fputs(s, l->f);
    fputc('\n', l->f);
    /* Tests read the log while the server runs. */
    fflush(l->f);
    pthread_mutex_unlock(&l->mu);
    cJSON_free(s);
}

void rs_reqlog_close(rs_reqlog *l)
{
    if (!l)
        return;
    fclose(l->f);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
