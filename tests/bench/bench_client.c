/* bench_client.c — what libdsprt costs per LM call, against a plain libcurl
 * loop posting the same bytes to the same server, plus throughput with 64
 * requests in flight and the cost of a cache hit. A benchmark that prints
 * figures; it asserts nothing.
 *
 *   bench_client [--url BASE_URL] [--calls N] [--rounds R] [--inflight K]
 *   bench_client [--url BASE_URL] [--calls N] --only plain|plain-curlu|bare|chat|predict|predict-cache
 *
 * The plain loop is what a careful program using libcurl and cJSON (the
 * libraries libdsprt uses) must at least do per call: post the same bytes
 * on a kept-alive handle and find choices[0].message.content in the reply.
 * Wall times are compared in R interleaved rounds (N calls in all per
 * path); the verdict is the median of the per-round ratios.
 *
 * BASE_URL is an OpenAI-compatible base such as http://127.0.0.1:PORT/v1
 * (bench_runtime.sh starts build/dsp-refserver for it); without --url the
 * bench serves a canned reply from a libmicrohttpd stub of its own.
 *
 * --only runs one path alone: a warm-up, then N calls inside measured(),
 * which bench_runtime.sh hands to callgrind (--toggle-collect=measured) to
 * count the client's instructions per call. Instruction counts repeat to a
 * fraction of a percent on a loaded machine, where wall time does not.
 * "bare" is the plain loop without even parsing the reply: printed for
 * reference only, as no real client can skip finding its answer.
 * "plain-curlu" is the plain loop handing libcurl its URL parsed once
 * (CURLOPT_CURLU), as libdsprt's pooled handles do: the stricter baseline,
 * printed beside the verdicts, which stay against the plain loop as most
 * programs write it (the URL as text).
 * "predict-cache" is dsp_predict with the response cache on, as programs
 * ship: every call a new request (key, lookup, miss, queued write). */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsp/adapter.h"
#include "dsp/client.h"
#include "dsp/predict.h"
#include "../../runtime/src/lm_wire.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: what the client itself spends, free of
 * the server's share of the two cores and of scheduling noise. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the fallback stub: a canned chat completion ------------------------ */

static const char canned[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"bench\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"[[ ## category ## ]]\\nbilling"
    "\\n\\n[[ ## completed ## ]]\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":9,\"total_tokens\":129}}";

static enum MHD_Result stub_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                   const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (!*con_cls) {
        *con_cls = conn;
        return MHD_YES;
    }
    if (*data_size) {
        *data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof canned - 1, (void *)canned, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the plain libcurl loop --------------------------------------------- */

/* Programs ship with an lm whose key variable is set, so both paths send
 * this key (the fixture ignores it): libdsprt reads it from BENCH_KEY_ENV
 * at each call, as it does in a generated program. Long enough to be
 * looked for in replies (DSP_SECRET_MIN_PIECE). */
#define BENCH_KEY_ENV "DSP_BENCH_API_KEY"
#define BENCH_KEY "sk-bench-00000000000000000000000000000000"

/* What the plain loop does with each reply is the least any real client
 * must do: keep the bytes, parse them as JSON with the same library
 * libdsprt uses (cJSON) and find choices[0].message.content, checking that
 * it is a string. It copies nothing out and reads no usage, no
 * finish_reason and no other choice: those are libdsprt's extra work. */
typedef struct plain {
    CURL *e;
    struct curl_slist *h;
    char *buf; /* the reply, one buffer for the whole run */
    size_t len, cap;
    size_t content_bytes; /* summed, so the lookup cannot be optimised away */
    bool bare;            /* --only bare: the reply is not even parsed */
    CURLU *parsed;        /* --only plain-curlu: the URL given parsed, as libdsprt gives it */
} plain;

static size_t sink(char *d, size_t s, size_t n, void *u)
{
    plain *p = u;
    size_t k = s * n;
    if (p->len + k + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        while (cap < p->len + k + 1)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b)
            return 0;
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, d, k);
    p->len += k;
    return k;
}

/* One easy handle for the whole run, as a careful libcurl program would
 * keep it: the connection stays open across calls. */
static void plain_open(plain *p, const char *url, const char *body, bool parsed_url)
{
    memset(p, 0, sizeof *p);
    p->e = curl_easy_init();
    p->h = curl_slist_append(NULL, "Content-Type: application/json");
    /* The key, read once: the least a program sending one must do. */
    p->h = curl_slist_append(p->h, "Authorization: Bearer " BENCH_KEY);
    p->h = curl_slist_append(p->h, "Expect:");
    if (!p->e || !p->h) {
        fprintf(stderr, "bench: libcurl could not start\n");
        exit(1);
    }
    /* The same request bytes as libdsprt's, User-Agent included. */
    curl_easy_setopt(p->e, CURLOPT_USERAGENT, "libdsprt/0.1");
    if (parsed_url) {
        /* libcurl 7.88 parses and reassembles a URL given as text on every
         * request; given a parsed one (CURLOPT_CURLU) it does not. */
        p->parsed = curl_url();
        if (!p->parsed || curl_url_set(p->parsed, CURLUPART_URL, url, 0) != CURLUE_OK) {
            fprintf(stderr, "bench: libcurl could not parse %s\n", url);
            exit(1);
        }
        curl_easy_setopt(p->e, CURLOPT_CURLU, p->parsed);
    } else {
        curl_easy_setopt(p->e, CURLOPT_URL, url);
    }
    curl_easy_setopt(p->e, CURLOPT_HTTPHEADER, p->h);
    curl_easy_setopt(p->e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(p->e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(p->e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(p->e, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(p->e, CURLOPT_TCP_NODELAY, 1L);
    /* As libdsprt does: without it libcurl saves and restores SIGPIPE's
     * handler around every transfer (8 system calls per request), which
     * would make the baseline slower than the library it measures. */
    curl_easy_setopt(p->e, CURLOPT_NOSIGNAL, 1L);
}

static void plain_close(plain *p)
{
    curl_slist_free_all(p->h);
    curl_easy_cleanup(p->e);
    curl_url_cleanup(p->parsed);
    free(p->buf);
}

static double plain_loop(plain *p, int calls)
{
    double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        long code = 0;
        p->len = 0;
        if (curl_easy_perform(p->e) != CURLE_OK ||
            (curl_easy_getinfo(p->e, CURLINFO_RESPONSE_CODE, &code), code != 200)) {
            fprintf(stderr, "bench: plain request %d failed (HTTP %ld)\n", i, code);
            exit(1);
        }
        if (p->bare)
            continue;
        cJSON *root = cJSON_ParseWithLength(p->buf, p->len);
        const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
        const cJSON *content =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(choice, "message"), "content");
        if (!cJSON_IsString(content)) {
            fprintf(stderr, "bench: plain request %d: no choices[0].message.content in the reply\n", i);
            exit(1);
        }
        p->content_bytes += strlen(content->valuestring);
        cJSON_Delete(root);
    }
    return now_s() - t0;
}

/* ---- the predictor: a support-ticket classifier -------------------------- */

static const char *const queues[] = {"billing", "account", "orders", "general"};
static const dsp_type queue_type = {.kind = DSP_TYPE_ENUM, .enum_values = queues, .n_enum_values = 4};
static const dsp_field sig_in[] = {{"ticket_text", &dsp_type_string, "Raw text of the customer support ticket"}};
static const dsp_field sig_out[] = {{"category", &queue_type, "One of the four queues"}};
static const dsp_signature sig = {.name = "ClassifyTicket",
                                  .instructions = "Classify a customer support ticket.",
                                  .inputs = sig_in,
                                  .n_inputs = 1,
                                  .outputs = sig_out,
                                  .n_outputs = 1};
static const char ticket[] =
    "I was charged twice for my subscription this month, please refund one of the payments.";

/* Each call of a client with its cache on is a new request (a miss, whose
 * reply is then stored), as every call of a program over new inputs is:
 * the rollout id makes it one without changing a byte on the wire. */
static uint64_t next_rollout = 1;

static double predict_loop(dsp_client *c, const dsp_predictor *p, const dsp_value *in, int calls)
{
    double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        dsp_value out[1];
        memset(out, 0, sizeof out);
        dsp_error err = {0};
        dsp_predict_options o = dsp_predict_options_default();
        o.rollout_id = next_rollout++;
        if (dsp_predict_ex(c, p, &o, in, out, NULL, &err) != DSP_OK) {
            fprintf(stderr, "bench: dsp_predict %d failed: %s\n", i, err.message);
            exit(1);
        }
        dsp_values_free(out, 1);
        dsp_error_clear(&err);
    }
    return now_s() - t0;
}

static double dsp_loop(dsp_client *c, const dsp_lm_config *lm, const dsp_chat_request *req, int calls)
{
    double t0 = now_s();
    for (int i = 0; i < calls; i++) {
        dsp_chat_response r;
        dsp_error err = {0};
        if (dsp_chat(c, lm, req, &r, &err) != DSP_OK) {
            fprintf(stderr, "bench: dsp_chat %d failed: %s\n", i, err.message);
            exit(1);
        }
        dsp_chat_response_free(&r);
    }
    return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Issue 5's goal for libdsprt's per-call cost against the plain loop. */
#define GOAL 1.2
#define MAX_ROUNDS 200

/* Prints the median of per-round ratios with PASS/FAIL against the goal,
 * the middle half and the range of the rounds, and how many rounds met it. */
static void verdict(const char *what, double *ratio, int n)
{
    int under = 0;
    for (int i = 0; i < n; i++)
        under += ratio[i] <= GOAL;
    double med = median(ratio, n); /* sorts ratio */
    printf("%s %6.2fx  %s (goal <= %.1fx); middle half %.2f-%.2fx, range %.2f-%.2fx, %d of %d rounds <= %.1fx\n",
           what, med, med <= GOAL ? "PASS" : "FAIL", GOAL, ratio[n / 4], ratio[(3 * n) / 4], ratio[0], ratio[n - 1],
           under, n, GOAL);
}

typedef enum mode { MODE_ALL, MODE_PLAIN, MODE_PLAIN_CURLU, MODE_BARE, MODE_CHAT, MODE_PREDICT, MODE_PREDICT_CACHE } mode;

/* The calls callgrind counts (--toggle-collect=measured): kept out of line
 * so that the warm-up before it is not counted. */
__attribute__((noinline)) static void measured(mode m, plain *pl, dsp_client *c, const dsp_lm_config *lm,
                                               const dsp_chat_request *req, const dsp_predictor *pred,
                                               const dsp_value *in, int calls)
{
    if (m == MODE_PLAIN || m == MODE_PLAIN_CURLU || m == MODE_BARE)
        plain_loop(pl, calls);
    else if (m == MODE_CHAT)
        dsp_loop(c, lm, req, calls);
    else
        predict_loop(c, pred, in, calls);
}

int main(int argc, char **argv)
{
    const char *base = NULL;
    int calls = 6000, inflight = 64, rounds = 30;
    mode only = MODE_ALL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            base = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            only = strcmp(m, "plain") == 0 ? MODE_PLAIN
                   : strcmp(m, "plain-curlu") == 0 ? MODE_PLAIN_CURLU
                   : strcmp(m, "bare") == 0 ? MODE_BARE
                   : strcmp(m, "chat") == 0 ? MODE_CHAT
                   : strcmp(m, "predict") == 0 ? MODE_PREDICT
                   : strcmp(m, "predict-cache") == 0 ? MODE_PREDICT_CACHE
                                               : MODE_ALL;
            if (only == MODE_ALL) {
                fprintf(stderr, "bench: --only takes plain, plain-curlu, bare, chat, predict or predict-cache, not %s\n", m);
                return 2;
            }
        }
        else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atoi(argv[++i]);
        else if (strcmp(argv[i], "--inflight") == 0 && i + 1 < argc)
            inflight = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--url BASE_URL] [--calls N] [--rounds R]\n"
                    "       [--inflight K | --only plain|plain-curlu|bare|chat|predict|predict-cache]\n",
                    argv[0]);
            return 2;
        }
    }
    if (calls < 100 || inflight < 1 ||
        (only == MODE_ALL && (rounds < 4 || rounds > MAX_ROUNDS || calls / rounds < 20))) {
        fprintf(stderr, "bench: --calls must be >= 100, --inflight >= 1, --rounds 4..%d, and each round needs "
                        ">= 20 calls (calls / rounds)\n", MAX_ROUNDS);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct MHD_Daemon *d = NULL;
    char stub_base[64];
    if (!base) {
        struct sockaddr_in addr = {0};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        /* One server thread, as bench_runtime.sh runs the refserver: both
         * clients' connections are then served alike (see there). */
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, stub_handle, NULL,
                             MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
        if (!d) {
            fprintf(stderr, "bench: cannot start the stub server\n");
            return 1;
        }
        snprintf(stub_base, sizeof stub_base, "http://127.0.0.1:%u/v1",
                 MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
        base = stub_base;
        if (only == MODE_ALL)
            printf("server: libmicrohttpd stub in the bench (canned reply); build dsp-refserver for the real "
                   "figure\n");
    } else if (only == MODE_ALL) {
        printf("server: %s\n", base);
    }

    if (setenv(BENCH_KEY_ENV, BENCH_KEY, 1) != 0) {
        fprintf(stderr, "bench: cannot set %s\n", BENCH_KEY_ENV);
        return 1;
    }
    dsp_lm_config lm = {.model = "openai/refserver", .base_url = base, .api_key_env = BENCH_KEY_ENV,
                        .params = dsp_lm_params_default()};
    lm.params.temperature = 0.0;
    dsp_predictor pred = {.name = "classify", .signature = &sig, .strategy = DSP_STRATEGY_PREDICT, .lm = &lm};
    dsp_value in[1];
    memset(in, 0, sizeof in);
    dsp_error err = {0};
    dsp_messages msgs;
    dsp_messages_init(&msgs);
    dsp_prompt_spec spec = dsp_prompt_spec_of(&pred, NULL);
    char *url = NULL, *body = NULL;
    if (dsp_value_set_string(&in[0], ticket, strlen(ticket), &err) != DSP_OK ||
        dsp_chat_adapter_render(&spec, in, &msgs, &err) != DSP_OK ||
        dsp_endpoint_url(DSP_PROVIDER_OPENAI, base, &url, &err) != DSP_OK ||
        dsp_wire_request_body(DSP_PROVIDER_OPENAI, "refserver", msgs.items, msgs.len, &lm.params, &body, &err) !=
            DSP_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    /* The same messages through dsp_chat, for the HTTP + parse share alone. */
    dsp_chat_request req = {.messages = msgs.items, .n_messages = msgs.len, .params = dsp_lm_params_default()};

    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.max_in_flight = inflight;
    o.base_url = base;
    /* --only predict-cache: the configuration that ships, the cache on
     * (in a directory of its own, removed at the end). */
    char cache_dir[] = "/tmp/dsp_bench_cache_XXXXXX";
    if (only == MODE_PREDICT_CACHE) {
        if (!mkdtemp(cache_dir)) {
            fprintf(stderr, "bench: cannot create a cache directory\n");
            return 1;
        }
        o.no_cache = false;
        o.cache_dir = cache_dir;
    }
    dsp_client *c = NULL;
    if (dsp_client_new(&o, &c, &err) != DSP_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }

    plain pl;
    plain_open(&pl, url, body, only == MODE_PLAIN_CURLU);
    pl.bare = only == MODE_BARE;
    if (only != MODE_ALL) {
        /* Warm-up outside measured(): connection, lazy init, malloc arenas. */
        if (only == MODE_PLAIN || only == MODE_PLAIN_CURLU || only == MODE_BARE)
            plain_loop(&pl, 20);
        else if (only == MODE_CHAT)
            dsp_loop(c, &lm, &req, 20);
        else
            predict_loop(c, &pred, in, 20);
        /* The cache's file is made by its first flush, and its SQLite
         * connections are opened by the first lookup and flush after that:
         * both done here, as in a program past its second batch, so the
         * count is per call (opening them cost 1.8k instructions a call
         * over 300 calls). */
        for (int round = 0; only == MODE_PREDICT_CACHE && round < 2; round++) {
            if (round)
                predict_loop(c, &pred, in, 20);
            if (dsp_client_flush(c, &err) != DSP_OK) {
                fprintf(stderr, "bench: %s\n", err.message);
                return 1;
            }
        }
        measured(only, &pl, c, &lm, &req, &pred, in, calls);
        printf("calls: %d\n", calls);
        plain_close(&pl);
        dsp_client_free(c);
        if (only == MODE_PREDICT_CACHE) {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
            if (system(cmd) != 0)
                fprintf(stderr, "bench: could not remove %s\n", cache_dir);
        }
        free(url);
        free(body);
        dsp_messages_free(&msgs);
        dsp_values_free(in, 1);
        if (d)
            MHD_stop_daemon(d);
        curl_global_cleanup();
        return 0;
    }

    /* Rounds of calls interleaved one by one (plain, chat, predict, with
     * the order rotated each time): the three paths share every moment of
     * the round, so a burst of load from other processes on this 2-core
     * machine falls on all of them alike instead of on whichever path ran
     * during it. Each round gives one ratio per path; the verdict is their
     * median, and their spread says how far to trust it. */
    int per_round = calls / rounds;
    double w[3][MAX_ROUNDS], cpu[3][MAX_ROUNDS], r_chat[MAX_ROUNDS], r_pred[MAX_ROUNDS];
    double rc_chat[MAX_ROUNDS], rc_pred[MAX_ROUNDS];
    plain_loop(&pl, per_round);
    dsp_loop(c, &lm, &req, per_round);
    predict_loop(c, &pred, in, per_round);
    for (int r = 0; r < rounds; r++) {
        double wall[3] = {0}, used[3] = {0};
        for (int i = 0; i < per_round; i++) {
            for (int k = 0; k < 3; k++) {
                int path = (i + k) % 3;
                double c0 = cpu_s();
                wall[path] += path == 0   ? plain_loop(&pl, 1)
                              : path == 1 ? dsp_loop(c, &lm, &req, 1)
                                          : predict_loop(c, &pred, in, 1);
                used[path] += cpu_s() - c0;
            }
        }
        for (int path = 0; path < 3; path++) {
            w[path][r] = wall[path] / per_round * 1e6;
            cpu[path][r] = used[path] / per_round * 1e6;
        }
        r_chat[r] = w[1][r] / w[0][r];
        r_pred[r] = w[2][r] / w[0][r];
        rc_chat[r] = cpu[1][r] / cpu[0][r];
        rc_pred[r] = cpu[2][r] / cpu[0][r];
    }
    double w_plain = median(w[0], rounds), w_chat = median(w[1], rounds), w_pred = median(w[2], rounds);
    double c_plain = median(cpu[0], rounds), c_chat = median(cpu[1], rounds), c_pred = median(cpu[2], rounds);
    printf("plain:       libcurl alone, one easy handle, the same request bytes to the same URL; per reply,\n"
           "             cJSON parses it and finds choices[0].message.content (no copy, no usage)\n"
           "dsp_chat:    JSON request body from the messages, pooled handle, parse of the reply into\n"
           "             a dsp_chat_response (content copied, usage, finish checks), usage totals\n"
           "dsp_predict: dsp_chat plus rendering the prompt from the signature and the typed parse of\n"
           "             the reply's sections (an enum)\n");
    printf("request body: %zu bytes; %d rounds of %d calls per path, the paths interleaved call by call\n",
           strlen(body), rounds, per_round);
    printf("                                   wall/call   client CPU/call   (medians over rounds)\n");
    printf("plain libcurl + find content:      %7.1f us   %7.1f us\n", w_plain, c_plain);
    printf("dsp_chat (body + HTTP + parse):    %7.1f us   %7.1f us\n", w_chat, c_chat);
    printf("dsp_predict (render + chat +\n"
           "  typed parse of the reply):       %7.1f us   %7.1f us\n", w_pred, c_pred);
    /* The goal of issue 5 is on wall time: the median of the per-round
     * ratios, with the middle half and the extremes of the rounds. */
    verdict("wall ratio, dsp_chat:   ", r_chat, rounds);
    verdict("wall ratio, dsp_predict:", r_pred, rounds);
    /* Client CPU leaves out the server and the wait, so it shows the
     * library's own share more sharply than wall time (but is not the goal). */
    printf("client CPU ratio (median of rounds): dsp_chat %.2fx, dsp_predict %.2fx\n", median(rc_chat, rounds),
           median(rc_pred, rounds));
    plain_close(&pl);
    double us_dsp = w_chat;

    /* Throughput with K in flight. */
    int n = calls * 2;
    dsp_chat_request *reqs = calloc((size_t)n, sizeof *reqs);
    dsp_chat_response *resps = calloc((size_t)n, sizeof *resps);
    for (int i = 0; i < n; i++)
        reqs[i] = req;
    double t0 = now_s();
    dsp_status st = dsp_chat_batch(c, &lm, reqs, (size_t)n, resps, NULL, NULL);
    double dt = now_s() - t0;
    for (int i = 0; i < n; i++)
        dsp_chat_response_free(&resps[i]);
    if (st != DSP_OK) {
        fprintf(stderr, "bench: batch failed: %s\n", dsp_status_name(st));
        return 1;
    }
    printf("batch, %2d in flight:       %8.0f calls/s (%d calls in %.2f s; sequential: %.0f calls/s)\n", inflight,
           n / dt, n, dt, 1e6 / us_dsp);
    dsp_client_free(c);
    free(reqs);
    free(resps);

    /* A cache hit: key hash + SQLite lookup + decode. */
    char dir[] = "/tmp/dsp_bench_cache_XXXXXX";
    if (mkdtemp(dir)) {
        o.no_cache = false;
        o.cache_dir = dir;
        if (dsp_client_new(&o, &c, &err) == DSP_OK) {
            dsp_loop(c, &lm, &req, 1);
            double t = dsp_loop(c, &lm, &req, calls);
            dsp_usage_totals u = dsp_client_usage(c);
            printf("cache hit:                 %8.1f us/call (%lld hits)\n", t / calls * 1e6,
                   (long long)u.cache_hits);
            dsp_client_free(c);
        }
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: could not remove %s\n", dir);
    }
    free(url);
    free(body);
    dsp_messages_free(&msgs);
    dsp_values_free(in, 1);
    if (d)
        MHD_stop_daemon(d);
    curl_global_cleanup();
    return 0;
}
