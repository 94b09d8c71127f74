/* stub_script.c — the scripted stub LM of stub_script.h. */
#include "stub_script.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "stub_http.h"

static struct {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    const char *const *script;
    size_t n, next;
    char *bodies[STUB_SCRIPT_KEEP];
} S = { NULL, PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, { NULL } };

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version;
    enum MHD_Result more;
    stub_upload *u = stub_http_body(con_cls, data, data_size, &more);
    if (!u)
        return more;
    pthread_mutex_lock(&S.lock);
    size_t i = S.next++;
    if (i < STUB_SCRIPT_KEEP)
        S.bodies[i] = strndup(u->buf ? u->buf : "", u->len);
    const char *content = i < S.n ? S.script[i] : NULL;
    pthread_mutex_unlock(&S.lock);
    if (!content || strcmp(content, "HTTP500") == 0)
        return respond(conn, 500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    if (strncmp(content, "BODY:", 5) == 0)
        return respond(conn, 200, content + 5);
    cJSON *root = cJSON_CreateObject();
    cJSON *c = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddStringToObject(c, "finish_reason", "stop");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), c);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    enum MHD_Result r = respond(conn, 200, body);
    cJSON_free(body);
    return r;
}

unsigned stub_script_start(void)
{
    unsigned port = 0;
    S.d = stub_http_start(handle, NULL, &port);
    return S.d ? port : 0;
}

void stub_script_play(const char *const *replies, size_t n)
{
    pthread_mutex_lock(&S.lock);
    S.script = replies;
    S.n = n;
    S.next = 0;
    for (size_t i = 0; i < STUB_SCRIPT_KEEP; i++) {
        free(S.bodies[i]);
        S.bodies[i] = NULL;
    }
    pthread_mutex_unlock(&S.lock);
}

void stub_script_stop(void)
{
    if (S.d)
        MHD_stop_daemon(S.d);
    S.d = NULL;
    stub_script_play(NULL, 0);
}

static unsigned port;
static char base[64];

int stub_script_setup(void **state)
{
    (void)state;
    unsetenv("DSPCC_BASE_URL");
    port = stub_script_start();
    snprintf(base, sizeof base, "http://127.0.0.1:%u/v1", port);
    return port ? 0 : -1;
}

int stub_script_teardown(void **state)
{
    (void)state;
    stub_script_stop();
    return 0;
}

dsp_client *stub_script_client(dsp_lm_config *lm)
{
    memset(lm, 0, sizeof *lm);
    lm->model = "openai/stub";
    lm->base_url = base;
    lm->params = dsp_lm_params_default();
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
    o.max_in_flight = 1; /* one request at a time: the script is read in the loop's order */
    dsp_client *c = NULL;
    return dsp_client_new(&o, &c, NULL) == DSP_OK ? c : NULL;
}

size_t stub_script_requests(void)
{
    pthread_mutex_lock(&S.lock);
    size_t n = S.next;
    pthread_mutex_unlock(&S.lock);
    return n;
}

const char *stub_script_body(size_t i)
{
    return i < STUB_SCRIPT_KEEP && S.bodies[i] ? S.bodies[i] : "";
}
