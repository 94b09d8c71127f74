/* cache_remote.h — internal: a shared response cache in Redis beside the
 * local SQLite file (DSPCC_CACHE_URL=redis://HOST:PORT, or rediss:// for
 * TLS), so machines that
 * ask the same requests share the replies, as ccache and sccache share
 * objects. Best effort by design: a Redis that cannot be reached, answers
 * an error or is too slow (one command, or all of them summed) is dropped
 * for the rest of the run with one warning, and the local cache goes on
 * alone. */
#ifndef DSP_CACHE_REMOTE_H
#define DSP_CACHE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "dsp/client.h"
#include "dsp/error.h"

/* Short on purpose: a cache that makes a call slower than the LM is no cache. */
#define DSP_REMOTE_CONNECT_MS 500
#define DSP_REMOTE_COMMAND_MS 1000
/* A Redis on the network answers in a few ms, one in another region
 * within 200 (a cache that slow still saves LM calls). The time commands
 * take beyond DSP_REMOTE_FAST_MS (each, per 64 in a pipeline) fills a
 * bucket of DSP_REMOTE_LATE_BUDGET_MS that drains as time passes, all of
 * it in DSP_REMOTE_LATE_REFILL_MS; when it overflows the remote is
 * dropped with one warning. So a server answering each command just under
 * its deadline costs seconds, not one second per lookup (at most the
 * budget and one command per pooled connection), while a long-running
 * program keeps its shared cache through spikes minutes apart: only a
 * server late for more than 1% of the time is dropped. */
#define DSP_REMOTE_FAST_MS 200
#define DSP_REMOTE_LATE_BUDGET_MS 3000
#define DSP_REMOTE_LATE_REFILL_MS (5 * 60 * 1000)
/* The largest value shared; larger replies stay local, and a larger value
 * found in Redis is a miss (read no further than this). */
#define DSP_REMOTE_MAX_VALUE (4u << 20)
/* Every key is this prefix and the local cache's key (SHA-256 hex). */
#define DSP_REMOTE_KEY_PREFIX "dspcc:v2:"
/* Connections open at most: lookups from that many threads run at once. */
#define DSP_REMOTE_POOL 8

typedef struct dsp_remote_cache dsp_remote_cache;

/* Checks url (redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]) and connects.
 * A malformed url is an error (DSP_ERR_ENV, naming what is wrong); an
 * unreachable server is not: *out is then a remote that warned once and
 * does nothing. warn (NULL: a line on stderr) says why, without the
 * password. */
dsp_status dsp_remote_cache_open(const char *url, dsp_warn_fn warn, void *warn_ctx, dsp_remote_cache **out,
                                 dsp_error *err);
void dsp_remote_cache_close(dsp_remote_cache *r);

/* The value stored under key, malloc'ed and NUL-terminated, or NULL (a
 * miss, a value over the bound, or a remote that is down). */
char *dsp_remote_cache_get(dsp_remote_cache *r, const char *key);

/* Stores n values in one round trip (pipelined); values over the bound
 * are skipped. */
void dsp_remote_cache_put_many(dsp_remote_cache *r, const char *const *keys, const char *const *values, size_t n);

/* For tests: the clock (milliseconds, any origin; the default is
 * CLOCK_MONOTONIC) that times each command's lateness and drains the late
 * bucket, so a test can make a server late, and let hours pass, without
 * waiting. Deadlines stay on the real clock. Set it before any lookup. */
typedef long (*dsp_remote_clock_fn)(void *ctx);
void dsp_remote_cache_set_clock(dsp_remote_cache *r, dsp_remote_clock_fn now_ms, void *ctx);

/* Reading the server's bytes (the fuzz harness tests/fuzz/fuzz_redis.c
 * calls these as dsp_remote_cache_get does). */

/* The next reply in rd, fed what arrived so far: 1 with *reply (a
 * redisReply), 0 when more bytes are needed, -1 with why when the bytes
 * are not a reply one of our commands gets (not Redis's protocol, an
 * array, or larger than any value). */
int dsp_remote_reply_next(redisReader *rd, void **reply, char *why, size_t why_size);

/* The row stored under key that a GETRANGE reply holds (malloc'ed,
 * NUL-terminated), or NULL: a miss (not a string, over the bound, or
 * another key's row). */
char *dsp_remote_row_value(const redisReply *reply, const char *key);

#endif
