/* retry.h — internal: which failures are retried and how long to wait. */
#ifndef DSP_RETRY_H
#define DSP_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "dsp/error.h"

/* Longest wait between two attempts, whatever backoff or Retry-After say. */
#define DSP_RETRY_MAX_DELAY_S 30.0

/* True for transient failures: connection errors, timeouts, replies that
 * broke off or were not valid JSON, and HTTP 408, 409, 429 and 5xx. False for
 * everything else, notably 400, 401, 403 and 404. */
bool dsp_retry_is_transient(dsp_status status, int http_status);

/* Seconds a Retry-After value asks for: delta-seconds ("120") or an
 * HTTP-date relative to now. Negative when absent or unreadable. */
double dsp_retry_after_parse(const char *value, time_t now);

/* Seconds to wait before retry number `attempt` (0 for the first retry):
 * base * 2^attempt plus up to 50% jitter, capped; a Retry-After value >= 0
 * replaces it (capped too). rng is the caller's xorshift state (nonzero). */
double dsp_retry_delay(int attempt, double base_s, double retry_after_s, uint64_t *rng);

/* Sleeps for s seconds (not interrupted by signals). In a job of an event
 * loop (loop.h) only the job waits: the thread runs other jobs. */
void dsp_sleep_s(double s);

/* Seconds on the monotonic clock, the clock of deadlines and timers. */
double dsp_monotonic_s(void);

#endif
