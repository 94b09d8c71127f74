/* test_request_bytes.c — the exact bytes of the request line and header
 * block dsp_chat sends, read off the socket by a plain TCP server in this
 * file (not an HTTP library, which would normalise them): OpenAI with a
 * key, Anthropic, several calls on a kept-alive pooled handle, a second
 * client's key, requests sent from the event loop (dsp_chat_batch) and a
 * URL libcurl cannot parse; and the check that refuses a key holding a
 * control character.
 * How the transport sets libcurl up (its options, where the User-Agent
 * line comes from) may change to save work; these bytes may not. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsp/client.h"
#include "../../runtime/src/client_settings.h"

#define KEY_A "sk-bytes-AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_B "sk-bytes-BBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define MAX_SEEN 16

static const char openai_reply[] = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
                                   "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}";
static const char anthropic_reply[] = "{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"stop_reason\":\"end_turn\","
                                      "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";

/* What the server saw: each request's head (request line and headers, up
 * to the blank line) and body, in the order they came. */
typedef struct server {
    int fd;
    unsigned short port;
    pthread_t thread;
    pthread_mutex_t lock;
    char *heads[MAX_SEEN];
    char *bodies[MAX_SEEN];
    int n_seen;
    int n_conns; /* connections accepted */
} server;

static server SV;

typedef struct conn_arg {
    int fd;
} conn_arg;

/* Reads requests off one connection until the client closes it, answering
 * each with a canned reply of the API its path names. */
/* Reads more of the connection into buf; false when it closed, failed or
 * filled buf. */
static bool read_more(int fd, char *buf, size_t *len, size_t cap)
{
    if (*len == cap)
        return false;
    ssize_t n = recv(fd, buf + *len, cap - *len, 0);
    if (n <= 0)
        return false;
    *len += (size_t)n;
    return true;
}

static void *serve_conn(void *arg)
{
    int fd = ((conn_arg *)arg)->fd;
    free(arg);
    char buf[65536];
    size_t len = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL))
            if (!read_more(fd, buf, &len, sizeof buf))
                goto done;
        size_t head_len = (size_t)(end - buf) + 4;
        size_t body_len = 0;
        for (char *p = buf; p < buf + head_len; p = strstr(p, "\r\n") + 2)
            if (strncasecmp(p, "Content-Length:", 15) == 0)
                body_len = strtoul(p + 15, NULL, 10);
        while (len < head_len + body_len)
            if (!read_more(fd, buf, &len, sizeof buf))
                goto done;
        pthread_mutex_lock(&SV.lock);
        if (SV.n_seen < MAX_SEEN) {
            SV.heads[SV.n_seen] = strndup(buf, head_len);
            SV.bodies[SV.n_seen] = strndup(buf + head_len, body_len);
            SV.n_seen++;
        }
        pthread_mutex_unlock(&SV.lock);
        const char *reply = memmem(buf, head_len, "/messages ", 10) ? anthropic_reply : openai_reply;
        char out[1024];
        int n = snprintf(out, sizeof out,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         strlen(reply), reply);
        if (send(fd, out, (size_t)n, MSG_NOSIGNAL) != n)
            goto done;
        memmove(buf, buf + head_len + body_len, len - head_len - body_len);
        len -= head_len + body_len;
    }
done:
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(SV.fd, NULL, NULL);
        if (fd < 0)
            return NULL; /* the listening socket was shut down */
        pthread_mutex_lock(&SV.lock);
        SV.n_conns++;
        pthread_mutex_unlock(&SV.lock);
        conn_arg *a = malloc(sizeof *a);
        pthread_t t;
        if (!a) {
            close(fd);
            continue;
        }
        a->fd = fd;
        if (pthread_create(&t, NULL, serve_conn, a) != 0) {
            free(a);
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}

static int start(void **state)
{
    (void)state;
    memset(&SV, 0, sizeof SV);
    pthread_mutex_init(&SV.lock, NULL);
    SV.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (SV.fd < 0 || bind(SV.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(SV.fd, 64) != 0 ||
        getsockname(SV.fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    SV.port = ntohs(a.sin_port);
    if (pthread_create(&SV.thread, NULL, accept_loop, NULL) != 0)
        return -1;
    setenv("DSP_BYTES_KEY_A", KEY_A, 1);
    setenv("DSP_BYTES_KEY_B", KEY_B, 1);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    shutdown(SV.fd, SHUT_RDWR);
    close(SV.fd);
    pthread_join(SV.thread, NULL);
    for (int i = 0; i < SV.n_seen; i++) {
        free(SV.heads[i]);
        free(SV.bodies[i]);
    }
    pthread_mutex_destroy(&SV.lock);
    return 0;
}

static dsp_client *client(void)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_retries = 0;
    dsp_client *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_client_new(&o, &c, &err), DSP_OK);
    return c;
}

static char base_url[64];

static dsp_lm_config lm_for(const char *model, const char *key_env)
{
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%u/v1", SV.port);
    dsp_lm_config lm;
    memset(&lm, 0, sizeof lm);
    lm.model = model;
    lm.base_url = base_url;
    lm.api_key_env = key_env;
    lm.params = dsp_lm_params_default();
    return lm;
}

static dsp_message msgs[] = {{.role = DSP_ROLE_SYSTEM, .content = "Be brief."},
                             {.role = DSP_ROLE_USER, .content = "Say hi."}};

static dsp_chat_request request(void)
{
    dsp_chat_request r;
    memset(&r, 0, sizeof r);
    r.messages = msgs;
    r.n_messages = 2;
    r.params = dsp_lm_params_default();
    return r;
}

/* The head request i must have had: what libcurl 7.88 wrote when the
 * transport gave it CURLOPT_USERAGENT and the lines of `extra`, in this
 * order; checked against the body the server got. */
static void assert_head(int i, const char *path, const char *extra)
{
    assert_true(i < SV.n_seen);
    char want[2048];
    snprintf(want, sizeof want,
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: libdsprt/0.1\r\nAccept: */*\r\n%s"
             "Content-Length: %zu\r\n\r\n",
             path, SV.port, extra, strlen(SV.bodies[i]));
    assert_string_equal(SV.heads[i], want);
}

static void chat_ok(dsp_client *c, const dsp_lm_config *lm)
{
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, lm, &req, &resp, &err), DSP_OK);
    assert_int_equal(resp.n_choices, 1);
    assert_string_equal(resp.choices[0], "hi");
    dsp_chat_response_free(&resp);
}

static const char openai_extra_a[] = "Content-Type: application/json\r\nAuthorization: Bearer " KEY_A "\r\n";

/* Three calls on one client: the pooled handle sends the same head each
 * time, on one kept-alive connection, and the body dsp_chat_request_body
 * shows. */
static void test_openai_head_on_a_kept_handle(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("openai/gpt-bytes", "DSP_BYTES_KEY_A");
    for (int i = 0; i < 3; i++)
        chat_ok(c, &lm);
    dsp_client_free(c);
    assert_int_equal(SV.n_seen, 3);
    assert_int_equal(SV.n_conns, 1);
    dsp_chat_request req = request();
    char *body = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_chat_request_body(&lm, &req, &body, &err), DSP_OK);
    for (int i = 0; i < 3; i++) {
        assert_head(i, "/v1/chat/completions", openai_extra_a);
        assert_string_equal(SV.bodies[i], body);
    }
    free(body);
}

/* Anthropic's headers, then an OpenAI call with another key on the same
 * client: nothing of one call's headers stays on the handle for the next. */
static void test_headers_do_not_carry_over(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config an = lm_for("anthropic/claude-bytes", "DSP_BYTES_KEY_A");
    dsp_lm_config oa = lm_for("openai/gpt-bytes", "DSP_BYTES_KEY_B");
    dsp_lm_config none = lm_for("compatible/local-bytes", NULL);
    chat_ok(c, &an);
    chat_ok(c, &oa);
    chat_ok(c, &none);
    dsp_client_free(c);
    assert_int_equal(SV.n_seen, 3);
    assert_head(0, "/v1/messages",
                "Content-Type: application/json\r\nanthropic-version: 2023-06-01\r\nx-api-key: " KEY_A "\r\n");
    assert_head(1, "/v1/chat/completions",
                "Content-Type: application/json\r\nAuthorization: Bearer " KEY_B "\r\n");
    assert_head(2, "/v1/chat/completions", "Content-Type: application/json\r\n");
}

/* Requests a batch sends from its event loop carry the same head. */
static void test_batch_heads(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config lm = lm_for("openai/gpt-bytes", "DSP_BYTES_KEY_A");
    dsp_chat_request reqs[4] = {request(), request(), request(), request()};
    dsp_chat_response resps[4];
    dsp_status sts[4];
    assert_int_equal(dsp_chat_batch(c, &lm, reqs, 4, resps, sts, NULL), DSP_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sts[i], DSP_OK);
        assert_string_equal(resps[i].choices[0], "hi");
        dsp_chat_response_free(&resps[i]);
    }
    chat_ok(c, &lm); /* and a plain call after the batch */
    dsp_client_free(c);
    assert_int_equal(SV.n_seen, 5);
    for (int i = 0; i < 5; i++)
        assert_head(i, "/v1/chat/completions", openai_extra_a);
}

/* A URL libcurl cannot parse fails as it did when libcurl was given it as
 * text (the transport hands libcurl a parsed URL otherwise), naming it;
 * the pooled handle then serves a good URL again. */
static void test_unparsable_url_then_a_good_one(void **state)
{
    (void)state;
    dsp_client *c = client();
    dsp_lm_config bad = lm_for("openai/gpt-bytes", "DSP_BYTES_KEY_A");
    bad.base_url = "http://127.0.0.1:99999/v1";
    dsp_chat_request req = request();
    dsp_chat_response resp;
    dsp_error err = {0};
    assert_int_equal(dsp_chat(c, &bad, &req, &resp, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "cannot use URL http://127.0.0.1:99999/v1/chat/completions"));
    assert_null(strstr(err.message, KEY_A));
    dsp_error_clear(&err);
    dsp_lm_config good = lm_for("openai/gpt-bytes", "DSP_BYTES_KEY_A");
    chat_ok(c, &good);
    assert_int_equal(dsp_chat(c, &bad, &req, &resp, &err), DSP_ERR_INVALID);
    dsp_error_clear(&err);
    chat_ok(c, &good);
    dsp_client_free(c);
    assert_int_equal(SV.n_seen, 2);
    assert_head(0, "/v1/chat/completions", openai_extra_a);
    assert_head(1, "/v1/chat/completions", openai_extra_a);
}

/* A key holding a control character (a trailing newline, most often) is
 * refused wherever it sits; bytes from 0x80 up (UTF-8) and the rest of
 * printable ASCII are not control characters. */
static void test_key_with_a_control_character_is_refused(void **state)
{
    (void)state;
    char key[41];
    const char *got = NULL;
    dsp_error err = {0};
    for (unsigned bad = 0; bad < 0x100; bad++) {
        bool control = bad < 0x20 || bad == 0x7f;
        if (bad == 0)
            continue;
        for (size_t at = 0; at < sizeof key - 1; at++) {
            memset(key, 'k', sizeof key - 1);
            key[sizeof key - 1] = '\0';
            key[at] = (char)bad;
            dsp_status st = dsp_api_key_check("DSP_BYTES_KEY", key, "openai/x", &got, &err);
            if (control) {
                assert_int_equal(st, DSP_ERR_ENV);
                assert_null(got);
                assert_non_null(strstr(err.message, "DSP_BYTES_KEY holds a control character"));
            } else {
                assert_int_equal(st, DSP_OK);
                assert_ptr_equal(got, key);
            }
            dsp_error_clear(&err);
        }
    }
    /* Every length around a word's 8 bytes, with a newline last. */
    for (size_t n = 1; n < sizeof key; n++) {
        memset(key, 'k', n);
        key[n - 1] = '\n';
        key[n] = '\0';
        assert_int_equal(dsp_api_key_check("DSP_BYTES_KEY", key, "openai/x", &got, &err), DSP_ERR_ENV);
        dsp_error_clear(&err);
        key[n - 1] = '~';
        assert_int_equal(dsp_api_key_check("DSP_BYTES_KEY", key, "openai/x", &got, &err), DSP_OK);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, start, stop)
    const struct CMUnitTest tests[] = {
        T(test_openai_head_on_a_kept_handle),
        T(test_headers_do_not_carry_over),
        T(test_batch_heads),
        T(test_unparsable_url_then_a_good_one),
        cmocka_unit_test(test_key_with_a_control_character_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
