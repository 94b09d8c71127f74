/* bench_raw_multi — the baseline of make bench-inflight: a plain libcurl
 * multi loop that keeps IN_FLIGHT requests on the wire until REQUESTS have
 * been answered, each POSTing the same body (the one the generated program
 * sends) and finding the reply's content with cJSON, as any client must.
 * No retries, no cache, no typed parsing: the least a client can do.
 *
 *   bench_raw_multi URL BODY_FILE IN_FLIGHT REQUESTS
 *
 * Prints one line: "wall_s W rss_kib R ok N cpu_s C" (R: this process's
 * peak resident set, C its user and system CPU time, from getrusage). */
#include <curl/curl.h>
#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct xfer {
    CURL *e;
    char *buf;
    size_t len, cap;
} xfer;

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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_raw_multi URL BODY_FILE IN_FLIGHT REQUESTS\n");
        return 2;
    }
    size_t body_len = 0;
    char *body = read_file(argv[2], &body_len);
    long in_flight = strtol(argv[3], NULL, 10), total = strtol(argv[4], NULL, 10);
    if (!body || in_flight <= 0 || total <= 0) {
        fprintf(stderr, "bench_raw_multi: cannot read %s, or a count is not positive\n", argv[2]);
        return 2;
    }
    if (in_flight > total)
        in_flight = total;
    double t0 = now_s();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    xfer *xs = calloc((size_t)in_flight, sizeof *xs);
    long started = 0, done = 0, ok = 0;
    for (long i = 0; i < in_flight; i++) {
        CURL *e = curl_easy_init();
        xs[i].e = e;
        curl_easy_setopt(e, CURLOPT_URL, argv[1]);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &xs[i]);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&xs[i]);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(m, e);
        started++;
    }
    while (done < total) {
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
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
            curl_multi_remove_handle(m, e);
            if (started < total) {
                curl_multi_add_handle(m, e); /* the same handle: its connection is reused */
                started++;
            }
        }
        if (done < total)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
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
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    free(body);
    return ok == total ? 0 : 1;
}
