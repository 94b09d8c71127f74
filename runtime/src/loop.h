/* loop.h — internal: the event loop behind dsp_loop_run_each (dsp/batch.h).
 *
 * One thread runs each job of a batch as a fiber (fiber.h) and drives all
 * their HTTP transfers through one curl_multi handle. Code inside a job
 * stays synchronous: when it would block (a transfer, a backoff sleep, a
 * wait for one of the client's request slots) it calls the functions
 * below, which park its fiber and run others until the awaited event
 * arrives. Outside a loop's fiber they are not called: callers check
 * dsp_loop_active() and block as before. */
#ifndef DSP_LOOP_H
#define DSP_LOOP_H

#include <stdbool.h>

#include <curl/curl.h>

#include "http.h"

/* True when the calling code runs in a fiber of an event loop. */
bool dsp_loop_active(void);

/* Runs the transfer set up on e (one of h's handles) on the loop's multi
 * handle and returns its result, as curl_easy_perform would; other fibers
 * run meanwhile. The loop's first transfer borrows the multi handle from
 * h (dsp_http_multi_take) and the loop gives it back at its end, so the
 * connections it keeps serve the client's next batch too. e is removed
 * from the multi handle before this returns. */
CURLcode dsp_loop_perform(dsp_http *h, CURL *e);

/* The memory the calling job's stack holds resident (dsp_fiber_resident):
 * what each job in flight costs beyond its heap; 0 outside a loop. */
size_t dsp_loop_stack_resident(void);

/* Runs fn(arg) on the loop's own stack, not the calling job's, and returns
 * once it has; no other job runs meanwhile. For a deep call a job makes
 * once: every page of a job's stack that a call touched stays resident for
 * as long as the job lives, for each job in flight (libcurl parsing the URL
 * of a new pooled handle touches a page more: 16 MiB at 4,096 in flight).
 * fn runs as code outside a job does: dsp_loop_active() is false in it, so
 * what it calls blocks the loop rather than parking (keep it short).
 * Outside a loop's job it calls fn(arg) as it is. */
void dsp_loop_run_aside(void (*fn)(void *arg), void *arg);

/* Parks the fiber for s seconds (backoff between attempts). */
void dsp_loop_sleep(double s);

/* Parks the fiber until the monotonic time `until` (dsp_monotonic_s) or
 * until dsp_loop_wake_waiter picks it, whichever comes first. Waiters are
 * woken oldest first. */
void dsp_loop_wait(double until);

/* Parks the fiber until fd can be read (for_write: written) or until the
 * monotonic time `until`, whichever comes first; true when it can. For
 * sockets other than libcurl's (the shared cache's connections to Redis):
 * while one job waits on its server, the loop drives every other job's
 * transfers and timers. *queued_s (may be NULL) gets how long the job then
 * waited for its turn after the socket was ready: the loop's time, not
 * the peer's. */
bool dsp_loop_wait_fd(int fd, bool for_write, double until, double *queued_s);

/* Wakes the fiber of this thread's loop that has waited longest in
 * dsp_loop_wait, if any (a request slot just came free). Does nothing
 * outside a loop. */
void dsp_loop_wake_waiter(void);

#endif
