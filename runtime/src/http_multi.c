/* http_multi.c — the multi handles of event loops (http.h): libcurl tells
 * which sockets to watch through its socket callback, they are kept in an
 * epoll set, and each wake-up hands libcurl only the sockets that are ready
 * (curl_multi_socket_action), so thousands of connections cost what the
 * active ones do, not a poll of every one. */
#include "http.h"

#include "retry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Socket events handed to libcurl per epoll_wait; more wait for the next. */
#define EVENTS_PER_WAKE 256

/* libcurl's socket callback: what to watch on s, or to stop watching it.
 * socketp marks a socket already in the epoll set (assigned on its first
 * addition), so a change is a modification, not a second addition. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    dsp_http_multi *hm = userp;
    if (what == CURL_POLL_REMOVE) {
        /* The socket may be closed already (the kernel then dropped it). */
        (void)epoll_ctl(hm->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = s;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(hm->epfd, op, s, &ev) != 0) {
        /* A descriptor number closed and reused, or dropped by the kernel
         * when it was closed: the other operation fits. */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(hm->epfd, op, s, &ev) != 0)
            return -1; /* libcurl fails the transfers on this socket */
    }
    if (!socketp)
        curl_multi_assign(hm->m, s, hm);
    return 0;
}

/* libcurl's timer callback: when it next wants to be called without a
 * socket event (timeouts, a new transfer's start). */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    dsp_http_multi *hm = userp;
    hm->timer_at = timeout_ms < 0 ? INFINITY : dsp_monotonic_s() + (double)timeout_ms / 1000.0;
    return 0;
}

dsp_http_multi *dsp_http_multi_new(void)
{
    dsp_http_multi *hm = calloc(1, sizeof *hm);
    if (!hm)
        return NULL;
    hm->m = curl_multi_init();
    if (!hm->m) {
        free(hm);
        return NULL;
    }
    hm->timer_at = INFINITY;
    hm->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (hm->epfd >= 0) {
        curl_multi_setopt(hm->m, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(hm->m, CURLMOPT_SOCKETDATA, hm);
        curl_multi_setopt(hm->m, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(hm->m, CURLMOPT_TIMERDATA, hm);
    }
    return hm;
}

void dsp_http_multi_free(dsp_http_multi *hm)
{
    if (!hm)
        return;
    curl_multi_cleanup(hm->m); /* may still tell on_socket to drop sockets */
    if (hm->epfd >= 0)
        close(hm->epfd);
    free(hm);
}

void dsp_http_multi_wait(dsp_http_multi *hm, long max_wait_ms)
{
    int running = 0;
    if (hm->epfd < 0) {
        /* No epoll: libcurl polls every socket of its transfers. */
        long tmo = -1;
        curl_multi_timeout(hm->m, &tmo);
        if (tmo < 0 || tmo > max_wait_ms)
            tmo = max_wait_ms;
        if (tmo > 0)
            curl_multi_poll(hm->m, NULL, 0, (int)tmo, NULL);
        curl_multi_perform(hm->m, &running);
        return;
    }
    long wait = max_wait_ms;
    if (hm->timer_at < INFINITY) {
        double ms = ceil((hm->timer_at - dsp_monotonic_s()) * 1000.0);
        if (ms < (double)wait)
            wait = ms > 0 ? (long)ms : 0;
    }
    struct epoll_event ev[EVENTS_PER_WAKE];
    int n = epoll_wait(hm->epfd, ev, EVENTS_PER_WAKE, (int)wait);
    for (int i = 0; i < n; i++) {
        int mask = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(hm->m, ev[i].data.fd, mask, &running);
    }
    if (hm->timer_at <= dsp_monotonic_s()) {
        hm->timer_at = INFINITY; /* libcurl sets the next one as it acts */
        curl_multi_socket_action(hm->m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}
