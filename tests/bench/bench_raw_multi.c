/* bench_raw_multi — the baseline of make bench-inflight: a plain libcurl
 * multi loop that keeps IN_FLIGHT requests on the wire until REQUESTS have
 * been answered, each POSTing the same body (the one the generated program
 * sends) and finding the reply's content with cJSON, as any client must.
 * No retries, no cache, no typed parsing: the least a client can do.
 *
 * It waits the way libcurl documents for many connections and the event
 * loop of libdsprt does (http_multi.c): the sockets in an epoll set,
 * curl_multi_socket_action on the ready ones and on libcurl's timer. With
 * PER_MULTI > 0 the transfers are spread over multi handles of PER_MULTI
 * transfers each, as libdsprt spreads its own (libcurl 7.88 walks a multi
 * handle's connection cache once or twice per transfer, so one multi handle
 * for thousands of connections costs a walk over thousands per request);
 * 0 (the default) keeps them all on one multi handle.
 *
 *   bench_raw_multi URL BODY_FILE IN_FLIGHT REQUESTS [PER_MULTI]
 *
 * Prints one line: "wall_s W rss_kib R ok N cpu_s C" (R: this process's
 * peak resident set, C its user and system CPU time, from getrusage). */
#include <curl/curl.h>
#include <cjson/cJSON.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct xfer {
    CURL *e;
    char *buf;
    size_t len, cap;
    uint32_t shard; /* the multi handle it runs on, always the same */
} xfer;

typedef struct shard {
    CURLM *m;
    uint32_t idx;
    int epfd;
    double timer_at; /* INFINITY: no timer */
} shard;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    xfer *x = userp;
    size_t n = size * nmemb;
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        char *b = realloc(x->buf, cap);
        if (!b)
            return 0;
        x->buf = b;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

/* Whether the reply holds choices[0].message.content as a string. */
static int has_content(const xfer *x)
{
    cJSON *root = cJSON_ParseWithLength(x->buf ? x->buf : "", x->len);
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
    int ok = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "content"));
    cJSON_Delete(root);
    return ok;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
        got = fread(b + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

/* libcurl's socket callback: the socket into, changed in or out of the
 * epoll set, its event naming the shard. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    shard *sh = userp;
    if (what == CURL_POLL_REMOVE) {
        (void)epoll_ctl(sh->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.u64 = (uint64_t)sh->idx << 32 | (uint32_t)s;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(sh->epfd, op, s, &ev) != 0) {
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(sh->epfd, op, s, &ev) != 0)
            return -1;
    }
    if (!socketp)
        curl_multi_assign(sh->m, s, sh);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    shard *sh = userp;
    sh->timer_at = timeout_ms < 0 ? INFINITY : now_s() + (double)timeout_ms / 1000.0;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: bench_raw_multi URL BODY_FILE IN_FLIGHT REQUESTS [PER_MULTI]\n");
        return 2;
    }
    size_t body_len = 0;
    char *body = read_file(argv[2], &body_len);
    long in_flight = strtol(argv[3], NULL, 10), total = strtol(argv[4], NULL, 10);
    long per_multi = argc == 6 ? strtol(argv[5], NULL, 10) : 0;
    if (!body || in_flight <= 0 || total <= 0 || per_multi < 0) {
        fprintf(stderr, "bench_raw_multi: cannot read %s, or a count is not positive\n", argv[2]);
        return 2;
    }
    if (in_flight > total)
        in_flight = total;
    if (per_multi == 0 || per_multi > in_flight)
        per_multi = in_flight;
    double t0 = now_s();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("bench_raw_multi: epoll_create1");
        return 1;
    }
    long n_shards = (in_flight + per_multi - 1) / per_multi;
    shard *shards = calloc((size_t)n_shards, sizeof *shards);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    /* The header lines libdsprt sends, its User-Agent included (here a
     * line of the list: CURLOPT_USERAGENT, as libdsprt gives it, has
     * libcurl format the line anew per request, about 3k instructions). */
    hdrs = curl_slist_append(hdrs, "User-Agent: libdsprt/0.1");
    xfer *xs = calloc((size_t)in_flight, sizeof *xs);
    if (!shards || !xs) {
        fprintf(stderr, "bench_raw_multi: out of memory\n");
        return 1;
    }
    for (long s = 0; s < n_shards; s++) {
        shard *sh = &shards[s];
        sh->m = curl_multi_init();
        sh->idx = (uint32_t)s;
        sh->epfd = epfd;
        sh->timer_at = INFINITY;
        curl_multi_setopt(sh->m, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(sh->m, CURLMOPT_SOCKETDATA, sh);
        curl_multi_setopt(sh->m, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(sh->m, CURLMOPT_TIMERDATA, sh);
    }
    long started = 0, done = 0, ok = 0;
    for (long i = 0; i < in_flight; i++) {
        CURL *e = curl_easy_init();
        xs[i].e = e;
        xs[i].shard = (uint32_t)(i / per_multi);
        curl_easy_setopt(e, CURLOPT_URL, argv[1]);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &xs[i]);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&xs[i]);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(shards[xs[i].shard].m, e);
        started++;
    }
    struct epoll_event ev[256];
    int running = 0;
    while (done < total) {
        double timer_at = INFINITY;
        for (long s = 0; s < n_shards; s++)
            if (shards[s].timer_at < timer_at)
                timer_at = shards[s].timer_at;
        int wait = 1000;
        if (timer_at < INFINITY) {
            double ms = ceil((timer_at - now_s()) * 1000.0);
            wait = ms <= 0 ? 0 : ms < 1000 ? (int)ms : 1000;
        }
        int n = epoll_wait(epfd, ev, 256, wait);
        for (int i = 0; i < n; i++) {
            int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                       (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                       (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(shards[ev[i].data.u64 >> 32].m, (curl_socket_t)(uint32_t)ev[i].data.u64, mask,
                                     &running);
        }
        double now = now_s();
        for (long s = 0; s < n_shards; s++)
            if (shards[s].timer_at <= now) {
                shards[s].timer_at = INFINITY;
                curl_multi_socket_action(shards[s].m, CURL_SOCKET_TIMEOUT, 0, &running);
            }
        for (long s = 0; s < n_shards; s++) {
            CURLMsg *msg;
            int left;
            while ((msg = curl_multi_info_read(shards[s].m, &left))) {
                if (msg->msg != CURLMSG_DONE)
                    continue;
                CURL *e = msg->easy_handle;
                CURLcode rc = msg->data.result;
                void *p = NULL;
                curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
                xfer *x = p;
                long status = 0;
                curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
                int good = rc == CURLE_OK && status == 200 && has_content(x);
                if (!good && ok == done) /* the first failure says why */
                    fprintf(stderr, "bench_raw_multi: request %ld: %s, HTTP %ld\n", done, curl_easy_strerror(rc),
                            status);
                ok += good;
                done++;
                x->len = 0;
                curl_multi_remove_handle(shards[s].m, e);
                if (started < total) {
                    /* The same handle on the same multi handle, whose
                     * connection cache holds the connection it used. */
                    curl_multi_add_handle(shards[s].m, e);
                    started++;
                }
            }
        }
    }
    double wall = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("wall_s %.4f rss_kib %ld ok %ld cpu_s %.4f\n", wall, ru.ru_maxrss, ok, cpu);
    for (long i = 0; i < in_flight; i++) {
        curl_easy_cleanup(xs[i].e);
        free(xs[i].buf);
    }
    free(xs);
    for (long s = 0; s < n_shards; s++)
        curl_multi_cleanup(shards[s].m);
    free(shards);
    close(epfd);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    free(body);
    return ok == total ? 0 : 1;
}
