/* http_multi.c — the multi handles of event loops (http.h): libcurl tells
 * which sockets to watch through its socket callback, they are kept in an
 * epoll set, and each wake-up hands libcurl only the sockets that are ready
 * (curl_multi_socket_action), so thousands of connections cost what the
 * active ones do, not a poll of every one.
 *
 * The transfers are spread over several libcurl multi handles ("shards")
 * of at most SHARD_TRANSFERS each, under the one epoll set. libcurl
 * (7.88, Debian 12) walks its connection cache in a list per host: to find
 * an idle connection for each new transfer (ConnectionExists) and, in
 * curl_multi_remove_handle, to find the connection the transfer last used.
 * With every connection in one cache, each request cost a walk over up to
 * all of them: at 4,096 in flight against one host, 55% of the loop's CPU
 * (perf). A shard's cache holds the connections of its own transfers, so
 * the walks stay short however many requests are in flight. */
#include "http.h"

#include "retry.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Socket events handed to libcurl per epoll_wait; more wait for the next. */
#define EVENTS_PER_WAKE 256

/* Transfers one shard runs at once before the next shard takes new ones:
 * a connection-cache walk visits at most about this many connections, and
 * a loop of N transfers in flight keeps N / SHARD_TRANSFERS multi handles. */
#define SHARD_TRANSFERS 64

typedef struct shard {
    CURLM *m;
    struct dsp_http_multi *hm;
    uint32_t idx;    /* its index in hm->shards (epoll's data names it) */
    size_t running;  /* transfers added and not taken out yet */
    double timer_at; /* when libcurl next wants to act unprompted (dsp_monotonic_s); INFINITY: never */
} shard;

struct dsp_http_multi {
    shard **shards;
    size_t n_shards, cap_shards;
    int epfd; /* -1: no epoll; one shard, whose waits poll every socket (curl_multi_poll) */
    size_t done_from; /* the shard dsp_http_multi_done looks at next */
};

/* libcurl's socket callback: what to watch on s, or to stop watching it.
 * socketp marks a socket already in the epoll set (assigned on its first
 * addition), so a change is a modification, not a second addition. The
 * event's data holds the shard's index and the socket. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    shard *sh = userp;
    int epfd = sh->hm->epfd;
    if (what == CURL_POLL_REMOVE) {
        /* The socket may be closed already (the kernel then dropped it). */
        (void)epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.u64 = (uint64_t)sh->idx << 32 | (uint32_t)s;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(epfd, op, s, &ev) != 0) {
        /* A descriptor number closed and reused, or dropped by the kernel
         * when it was closed: the other operation fits. */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(epfd, op, s, &ev) != 0)
            return -1; /* libcurl fails the transfers on this socket */
    }
    if (!socketp)
        curl_multi_assign(sh->m, s, sh);
    return 0;
}

/* libcurl's timer callback: when it next wants to be called without a
 * socket event (timeouts, a new transfer's start). */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    shard *sh = userp;
    sh->timer_at = timeout_ms < 0 ? INFINITY : dsp_monotonic_s() + (double)timeout_ms / 1000.0;
    return 0;
}

/* A new shard at the end of hm->shards; false when none can be made. */
static bool add_shard(dsp_http_multi *hm)
{
    if (hm->n_shards == hm->cap_shards) {
        size_t cap = hm->cap_shards ? hm->cap_shards * 2 : 4;
        shard **shards = realloc(hm->shards, cap * sizeof *shards);
        if (!shards)
            return false;
        hm->shards = shards;
        hm->cap_shards = cap;
    }
    shard *sh = calloc(1, sizeof *sh);
    if (!sh)
        return false;
    sh->m = curl_multi_init();
    if (!sh->m) {
        free(sh);
        return false;
    }
    sh->hm = hm;
    sh->idx = (uint32_t)hm->n_shards;
    sh->timer_at = INFINITY;
    if (hm->epfd >= 0) {
        curl_multi_setopt(sh->m, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(sh->m, CURLMOPT_SOCKETDATA, sh);
        curl_multi_setopt(sh->m, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(sh->m, CURLMOPT_TIMERDATA, sh);
    }
    hm->shards[hm->n_shards++] = sh;
    return true;
}

dsp_http_multi *dsp_http_multi_new(void)
{
    dsp_http_multi *hm = calloc(1, sizeof *hm);
    if (!hm)
        return NULL;
    hm->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!add_shard(hm)) {
        dsp_http_multi_free(hm);
        return NULL;
    }
    return hm;
}

void dsp_http_multi_free(dsp_http_multi *hm)
{
    if (!hm)
        return;
    for (size_t i = 0; i < hm->n_shards; i++) {
        curl_multi_cleanup(hm->shards[i]->m); /* may still tell on_socket to drop sockets */
        free(hm->shards[i]);
    }
    free(hm->shards);
    if (hm->epfd >= 0)
        close(hm->epfd);
    free(hm);
}

CURLMcode dsp_http_multi_add(dsp_http_multi *hm, CURL *e)
{
    /* The first shard with room: transfers stay packed in the fewest
     * shards, so a new one finds the idle connection a finished one left
     * (each shard keeps the connections its transfers used). Without
     * epoll, one shard takes them all. */
    shard *pick = NULL;
    for (size_t i = 0; i < hm->n_shards && !pick; i++)
        if (hm->shards[i]->running < SHARD_TRANSFERS)
            pick = hm->shards[i];
    if (!pick && hm->epfd >= 0 && add_shard(hm))
        pick = hm->shards[hm->n_shards - 1];
    if (!pick) { /* no new shard could be made: the least busy */
        pick = hm->shards[0];
        for (size_t i = 1; i < hm->n_shards; i++)
            if (hm->shards[i]->running < pick->running)
                pick = hm->shards[i];
    }
    CURLMcode rc = curl_multi_add_handle(pick->m, e);
    if (rc == CURLM_OK)
        pick->running++;
    return rc;
}

CURL *dsp_http_multi_done(dsp_http_multi *hm, CURLcode *result)
{
    for (size_t k = 0; k < hm->n_shards; k++) {
        shard *sh = hm->shards[hm->done_from];
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(sh->m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            *result = msg->data.result; /* msg is gone once e leaves the multi handle */
            curl_multi_remove_handle(sh->m, e);
            sh->running--;
            return e;
        }
        hm->done_from = (hm->done_from + 1) % hm->n_shards;
    }
    return NULL;
}

int dsp_http_multi_epoll_fd(const dsp_http_multi *hm)
{
    return hm->epfd;
}

double dsp_http_multi_next_timer(const dsp_http_multi *hm)
{
    double timer_at = INFINITY;
    for (size_t i = 0; i < hm->n_shards; i++)
        if (hm->shards[i]->timer_at < timer_at)
            timer_at = hm->shards[i]->timer_at;
    return timer_at;
}

void dsp_http_multi_wait(dsp_http_multi *hm, long max_wait_ms)
{
    int running = 0;
    if (hm->epfd < 0) {
        /* No epoll: libcurl polls every socket of its transfers. */
        CURLM *m = hm->shards[0]->m;
        long tmo = -1;
        curl_multi_timeout(m, &tmo);
        if (tmo < 0 || tmo > max_wait_ms)
            tmo = max_wait_ms;
        if (tmo > 0)
            curl_multi_poll(m, NULL, 0, (int)tmo, NULL);
        curl_multi_perform(m, &running);
        return;
    }
    double timer_at = dsp_http_multi_next_timer(hm);
    long wait = max_wait_ms;
    if (timer_at < INFINITY) {
        double ms = ceil((timer_at - dsp_monotonic_s()) * 1000.0);
        if (ms < (double)wait)
            wait = ms > 0 ? (long)ms : 0;
    }
    struct epoll_event ev[EVENTS_PER_WAKE];
    int n = epoll_wait(hm->epfd, ev, EVENTS_PER_WAKE, (int)wait);
    for (int i = 0; i < n; i++) {
        int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        uint32_t idx = (uint32_t)(ev[i].data.u64 >> 32);
        curl_socket_t s = (curl_socket_t)(uint32_t)ev[i].data.u64;
        if (idx < hm->n_shards)
            curl_multi_socket_action(hm->shards[idx]->m, s, mask, &running);
    }
    /* The shards' timers as the socket actions left them. */
    double now = dsp_monotonic_s();
    for (size_t i = 0; i < hm->n_shards; i++) {
        shard *sh = hm->shards[i];
        if (sh->timer_at <= now) {
            sh->timer_at = INFINITY; /* libcurl sets the next one as it acts */
            curl_multi_socket_action(sh->m, CURL_SOCKET_TIMEOUT, 0, &running);
        }
    }
}
