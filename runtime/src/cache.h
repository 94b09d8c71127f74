/* cache.h — internal: the response cache, an SQLite file shared by every
 * process (and thread) that uses the same cache directory. */
#ifndef DSP_CACHE_H
#define DSP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dsp/chat.h"
#include "dsp/client.h"
#include "dsp/error.h"

#define DSP_CACHE_FILE "responses.sqlite3"
#define DSP_CACHE_KEY_HEX 65 /* 64 hex digits of SHA-256 and a NUL */
/* Puts are queued and written together (cache.c): when this many wait,
 * or this long after the oldest was queued (checked at the next put or
 * get), at dsp_cache_flush and at dsp_cache_close. */
#define DSP_CACHE_FLUSH_ROWS 64
#define DSP_CACHE_FLUSH_MS 1000
/* Lookups share one SQLite read snapshot (cache.c) for up to this long;
 * it ends sooner at every flush of this cache (so its own rows are seen at
 * once). Rows another process flushed are seen within this time. */
#define DSP_CACHE_SNAPSHOT_MS 1000

typedef struct dsp_cache dsp_cache;

/* The directory to use: opt_dir if given, else $DSPCC_CACHE_DIR, else
 * $XDG_CACHE_HOME/dspcc, else $HOME/.cache/dspcc. *out is owned. */
dsp_status dsp_cache_resolve_dir(const char *opt_dir, char **out, dsp_error *err);

/* Opens (creating the directory and file if missing) the cache in dir. A
 * file SQLite cannot read (not a database, or damaged: a power loss just
 * after it was made) is moved aside (dsp_cache_quarantine) with a warning
 * naming both paths through warn (NULL: a line on stderr), and a new one
 * started. */
dsp_status dsp_cache_open_warn(const char *dir, dsp_warn_fn warn, void *warn_ctx, dsp_cache **out, dsp_error *err);
/* The same, warning on stderr. */
dsp_status dsp_cache_open(const char *dir, dsp_cache **out, dsp_error *err);
void dsp_cache_close(dsp_cache *c);
const char *dsp_cache_file_path(const dsp_cache *c);

/* A SHA-256 digest as the 64 lowercase hex digits of a cache key. */
void dsp_cache_key_hex(const unsigned char digest[32], char out[DSP_CACHE_KEY_HEX]);

/* SHA-256 (hex) of a canonical JSON text of everything that determines the
 * reply. The API key is not an input, so it can never reach the file. */
dsp_status dsp_cache_key(const char *provider, const char *base_url, const char *model, const dsp_message *msgs,
                         size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id, char out[DSP_CACHE_KEY_HEX],
                         dsp_error *err);

/* The same key, with the SHA-256 method c fetched once and the digest of
 * the request's start (all but the last message's content) prepared once
 * per predictor, not per call. */
dsp_status dsp_cache_key_in(dsp_cache *c, const char *provider, const char *base_url, const char *model,
                            const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id,
                            char out[DSP_CACHE_KEY_HEX], dsp_error *err);

/* Looks key up (queued rows first); on a hit fills resp (zeroed by the
 * caller) and sets *found. */
dsp_status dsp_cache_get(dsp_cache *c, const char *key, dsp_chat_response *resp, bool *found, dsp_error *err);
/* The same, where a row from the shared cache is a hit (and is kept in the
 * local file) only if accept(ctx, resp) says it is usable (NULL: any
 * parsed row): a shared row holding a piece of the key, or one the caller
 * could not use, never reaches the local file. A local row accept refuses
 * is a miss too (a row stored before replies were checked heals on read).
 * accept runs once per row returned: it may keep what it parsed. */
typedef bool (*dsp_cache_accept_fn)(void *ctx, const dsp_chat_response *resp);
dsp_status dsp_cache_get_checked(dsp_cache *c, const char *key, dsp_chat_response *resp, bool *found,
                                 dsp_cache_accept_fn accept, void *accept_ctx, dsp_error *err);
/* Queues the row (keys up to DSP_CACHE_KEY_HEX - 1 characters); it is
 * durable once flushed. */
dsp_status dsp_cache_put(dsp_cache *c, const char *key, const dsp_chat_response *resp, dsp_error *err);

/* A row's text (the local file's value, or a shared cache's) into resp
 * (zeroed by the caller): false, resp left empty, when it is not a row
 * ({"choices":[strings...],"tool_calls":[[id,name,arguments]...],"usage":{...}}). */
bool dsp_cache_decode_row(const char *text, int len, dsp_chat_response *resp);
/* Puts a shared cache (cache_remote.h) beside the file, owned from now on
 * (NULL: none): a get that misses locally asks it, and a hit is stored
 * locally too; every flush sends it the flushed rows. */
struct dsp_remote_cache;
void dsp_cache_set_remote(dsp_cache *c, struct dsp_remote_cache *remote);

/* cache_create.c: makes the cache file at path whole, with the table
 * (schema_sql) and the rows keys[i] -> values[i] written at `now`, without
 * a journal or a WAL: built in memory, written to a temporary file beside
 * it and linked into place. Returns 1 when made, 0 when path already
 * exists (nothing written: write the rows to it the usual way), -1 on any
 * other failure (nothing left behind). */
int dsp_cache_create_file(const char *path, const char *schema_sql, const char *const *keys,
                          const char *const *values, size_t n, long long now);

/* cache_quarantine.c: renames the file at path, and its -wal and -shm,
 * to path.damaged-TIMESTAMP (+ -wal, -shm), the name in moved, if it is
 * still the file dev and ino name. 1 when moved, 0 when another process
 * had moved it already, -1 with why when it cannot be moved. */
int dsp_cache_quarantine(const char *path, dev_t dev, ino_t ino, char *moved, size_t moved_size, char *why,
                         size_t why_size);

/* Writes every queued row in one transaction. */
dsp_status dsp_cache_flush(dsp_cache *c, dsp_error *err);

#endif
