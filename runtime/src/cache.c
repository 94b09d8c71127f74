/* cache.c — the response cache: SQLite in WAL mode, one row per request.
 *
 * Off the hot path: a put only queues the row in memory; the queue is
 * written as one transaction (a flush) once it holds DSP_CACHE_FLUSH_ROWS
 * rows, at the first put or get DSP_CACHE_FLUSH_MS after its oldest row,
 * when dsp_cache_flush is called (the client does at the end of every
 * batch) and at dsp_cache_close. Until then a get finds queued rows in
 * memory. Reads go through a second connection with a lock of their own,
 * so they never wait for a flush (WAL lets a reader go on while a writer
 * commits).
 *
 * Why this is safe with many processes and kill -9: every flush is one
 * SQLite transaction, so a killed writer leaves either all of its rows or
 * none; rows queued since the last flush are lost (the next run asks the LM
 * again), never half written. The busy timeout makes concurrent writers
 * (make -j) wait for each other instead of failing. synchronous=NORMAL
 * keeps a committed flush across a process crash (only a power loss can
 * drop the last commits, never corrupt the file).
 *
 * First use is cheap: nothing is opened until a lookup finds a file or a
 * flush needs one, and the first flush into a directory with no file
 * makes the file whole, rows included (cache_create.c), where SQLite's own
 * creation cost four new files and six fsyncs before a one-call program
 * could exit. */
#include "loop.h"
#include "cache.h"

#include "cache_remote.h"
#include "json_write.h"
#include "lm_wire.h"
#include "sha256.h"

#include <alloca.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DSP_CACHE_BUSY_MS 30000
/* How many prepared digests a cache keeps, and the shortest start worth one. */
#define DSP_CACHE_KEY_MEMOS 8
#define DSP_CACHE_MEMO_MIN 256
/* Rows per multi-row insert (put_many). */
#define DSP_CACHE_PUT_ROWS 16

/* A row waiting for the next flush. */
typedef struct queued_row {
    uint64_t tag; /* key_tag(key): most rows are told apart without a strcmp */
    char key[DSP_CACHE_KEY_HEX];
    char *value; /* the stored JSON text */
    bool shared; /* read from the shared cache: not sent back to it */
} queued_row;

struct dsp_cache {
    sqlite3 *db;          /* writes (flushes) */
    sqlite3 *rdb;         /* reads: a connection of their own */
    /* The reader's snapshot: lookups share one read transaction (BEGIN
     * ... COMMIT on rdb) instead of each starting and ending its own, which
     * was a third of a lookup's work. It ends (under rlock) before every
     * flush's commit (dsp_cache_flush: so a checkpoint can copy the whole
     * WAL), when this cache's writer has committed since it began (wgen
     * moved: a lookup racing a flush on another thread), at the first
     * lookup once it is DSP_CACHE_SNAPSHOT_MS old, and at close: a lookup
     * sees this process's flushed rows at once and other processes' within
     * a second. A client idle after its last lookup keeps it until its
     * next flush (every batch ends with one) or close. */
    sqlite3_stmt *rbegin, *rend;
    bool rheld;          /* the snapshot is open */
    double rheld_s;      /* when it began (monotonic) */
    unsigned long rgen;  /* wgen when it began */
    atomic_ulong wgen;   /* flushes this cache's writer committed */
    sqlite3_stmt *get, *put, *begin, *commit, *rollback;
    /* DSP_CACHE_PUT_ROWS rows in one statement, prepared at the first
     * flush of that many: SQLite's work per statement (its transaction
     * and statement bookkeeping, a cursor opened and closed) was about a
     * fifth of a row's insert. Preparing it costs about as much as 100
     * rows save, so a flush's remainder goes through put, row by row. */
    sqlite3_stmt *put_many;
    pthread_mutex_t wlock; /* the writer connection, one flush at a time */
    pthread_mutex_t rlock; /* the reader's statement, one step at a time */
    pthread_mutex_t qlock; /* the queue */
    queued_row *queue;
    size_t n_queued, cap_queued;
    double oldest_s;      /* when the oldest queued row was queued (monotonic) */
    /* Digests prepared once: the SHA-256 state after the key text's start
     * (everything before the last message's content: the model, the
     * instructions, the demos), for the last few such starts. Calls of one
     * predictor share it, so each hashes its own input alone. */
    pthread_mutex_t klock;
    pthread_mutex_t olock; /* opening the file (ensure_open) */
    dsp_warn_fn warn;      /* a damaged file moved aside; NULL: stderr */
    void *warn_ctx;
    atomic_bool wready;    /* db is open */
    atomic_bool rready;    /* rdb is open */
    struct key_memo {
        char *raw; /* the start's inputs as they came (raw_start), not as JSON; NULL: unused */
        size_t len;
        dsp_sha256 ctx;
    } memo[DSP_CACHE_KEY_MEMOS];
    unsigned next_memo;
    char *path;
    struct dsp_remote_cache *remote; /* the shared cache, or NULL */
};

/* The first 8 bytes of key (fewer when it is shorter, the rest zero) as a
 * number: a lookup compares these before the whole key, and the up to
 * DSP_CACHE_FLUSH_ROWS queued rows it scans differ in them. */
static uint64_t key_tag(const char *key)
{
    char b[8] = {0};
    for (size_t i = 0; i < sizeof b && key[i]; i++)
        b[i] = key[i];
    uint64_t t;
    memcpy(&t, b, sizeof t);
    return t;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

dsp_status dsp_cache_resolve_dir(const char *opt_dir, char **out, dsp_error *err)
{
    *out = NULL;
    const char *env;
    char *dir = NULL;
    if (opt_dir && *opt_dir)
        dir = strdup(opt_dir);
    else if ((env = getenv("DSPCC_CACHE_DIR")) && *env)
        dir = strdup(env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        dir = join(env, "dspcc");
    else if ((env = getenv("HOME")) && *env)
        dir = join(env, ".cache/dspcc");
    else
        return dsp_error_set(err, DSP_ERR_ENV,
                             "no cache directory: set DSPCC_CACHE_DIR (or XDG_CACHE_HOME or HOME), "
                             "or disable the cache");
    if (!dir)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory resolving the cache directory");
    *out = dir;
    return DSP_OK;
}

/* mkdir -p, private to the user: prompts may be confidential. */
static dsp_status make_dirs(const char *dir, dsp_error *err)
{
    char *p = strdup(dir);
    if (!p)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory creating %s", dir);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                int e = errno;
                free(p);
                return dsp_error_set(err, DSP_ERR_IO, "cannot create cache directory %s: %s", dir, strerror(e));
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dsp_error_set(err, DSP_ERR_IO, "cache directory %s is not a directory", dir);
    return DSP_OK;
}

/* Whether db's last error says the file is no database, or a damaged one. */
static bool db_damaged(sqlite3 *db)
{
    int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_CANTOPEN;
    return code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
}

static dsp_status db_error(dsp_cache *c, sqlite3 *db, dsp_error *err, const char *what)
{
    bool damaged = db_damaged(db);
    return dsp_error_set(err, DSP_ERR_CACHE, "response cache %s: %s: %s%s", c->path, what,
                         db ? sqlite3_errmsg(db) : "cannot open",
                         damaged ? " (it holds only cached replies: delete it, with its -wal and -shm files, "
                                   "to start an empty cache)"
                                 : "");
}

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS responses ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')))"
    /* A new file keeps its rows in the key's own b-tree: one insert writes
     * one b-tree, not a rowid table and an index (files made before keep
     * their layout; the statements below work on both). */
    " WITHOUT ROWID";

/* Switching to WAL (and creating the table) needs a moment alone with the
 * file; when other processes open the same new cache at the same time,
 * SQLite can answer BUSY without calling the busy handler, so try again
 * for a while (about 2 s) before giving up. */
static int exec_patiently(sqlite3 *db, const char *sql)
{
    int rc = SQLITE_BUSY;
    for (int i = 0; i < 100; i++) {
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        usleep(20000);
    }
    return rc;
}

/* Opens the writer on c->path, creating the file (and its table) if it
 * is missing. A new file's setup (the switch to WAL and the table: two
 * small transactions) is written without fsync: it is what made a
 * program's first call cost several fdatasyncs. A process killed during
 * it leaves SQLite's own journal, which the next open rolls back
 * (synchronous only matters to a power loss, and a power loss in the
 * seconds after a cache file was made can at worst leave that new
 * file unreadable: it is moved aside, with a warning, and a new one
 * started). Rows are written with
 * synchronous=NORMAL, as always. Called with olock held. */
static dsp_status open_writer(dsp_cache *c, dsp_error *err)
{
    int rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK)
        return db_error(c, c->db, err, "cannot open");
    sqlite3_busy_timeout(c->db, DSP_CACHE_BUSY_MS);
    /* The last connection to close leaves the WAL as it is instead of
     * copying it into the file: that checkpoint fsyncs twice, and a
     * one-call program paid it at exit. The rows are in the WAL (committed:
     * they survive kill -9); a writer checkpoints once the WAL holds 1000
     * pages, and any later open reads them. */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    rc = exec_patiently(c->db, "PRAGMA synchronous=OFF");
    if (rc == SQLITE_OK)
        rc = exec_patiently(c->db, "PRAGMA journal_mode=WAL");
    if (rc == SQLITE_OK)
        rc = exec_patiently(c->db, schema_sql);
    if (rc == SQLITE_OK)
        rc = exec_patiently(c->db, "PRAGMA synchronous=NORMAL");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO responses(key, value, created) VALUES (?1, ?2, ?3)", -1,
                                &c->put, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "BEGIN IMMEDIATE", -1, &c->begin, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "COMMIT", -1, &c->commit, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "ROLLBACK", -1, &c->rollback, NULL);
    if (rc != SQLITE_OK)
        return db_error(c, c->db, err, "cannot set up");
    return DSP_OK;
}

/* Opens the reader on an existing file in WAL mode (olock held). */
static dsp_status open_reader(dsp_cache *c, dsp_error *err)
{
    int rc = sqlite3_open_v2(c->path, &c->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c->rdb, DSP_CACHE_BUSY_MS);
        rc = sqlite3_prepare_v2(c->rdb, "SELECT value FROM responses WHERE key = ?1", -1, &c->get, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->rdb, "BEGIN", -1, &c->rbegin, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->rdb, "COMMIT", -1, &c->rend, NULL);
    if (rc != SQLITE_OK)
        return db_error(c, c->rdb, err, "cannot set up reading");
    return DSP_OK;
}

static void close_writer(dsp_cache *c)
{
    sqlite3_finalize(c->put);
    sqlite3_finalize(c->put_many);
    sqlite3_finalize(c->begin);
    sqlite3_finalize(c->commit);
    sqlite3_finalize(c->rollback);
    sqlite3_close(c->db);
    c->put = c->put_many = c->begin = c->commit = c->rollback = NULL;
    c->db = NULL;
}

/* Ends the lookup snapshot, if one is open (rlock held). */
static void end_snapshot(dsp_cache *c)
{
    if (c->rheld) {
        (void)sqlite3_step(c->rend);
        sqlite3_reset(c->rend);
        c->rheld = false;
    }
}

static void close_reader(dsp_cache *c)
{
    end_snapshot(c);
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->rbegin);
    sqlite3_finalize(c->rend);
    sqlite3_close(c->rdb);
    c->get = c->rbegin = c->rend = NULL;
    c->rdb = NULL;
}

/* The file found (found) cannot be read (what: SQLite's words): moved
 * aside with a warning naming both paths, and the writer opened on a new
 * one. failed, and err as it is, when it cannot be moved. (olock held.) */
static dsp_status quarantine(dsp_cache *c, const struct stat *found, const char *what, dsp_status failed,
                             dsp_error *err)
{
    char moved[4096], why[300];
    int q = dsp_cache_quarantine(c->path, found->st_dev, found->st_ino, moved, sizeof moved, why, sizeof why);
    if (q < 0) {
        if (err) {
            size_t used = strlen(err->message);
            snprintf(err->message + used, sizeof err->message - used, "; moving it aside failed: %s", why);
        }
        return failed;
    }
    if (q == 1) {
        static const char fmt[] = "response cache %s could not be read (%s); it was moved aside to %s (with its "
                                  "-wal and -shm files, if any) and a new, empty cache started; the moved file "
                                  "holds only cached replies: delete it when you no longer want them";
        int n = snprintf(NULL, 0, fmt, c->path, what, moved);
        char *msg = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (msg) {
            snprintf(msg, (size_t)n + 1, fmt, c->path, what, moved);
            if (c->warn)
                c->warn(c->warn_ctx, msg);
            else
                fprintf(stderr, "warning: %s\n", msg);
        }
        free(msg);
    }
    dsp_error_clear(err);
    return open_writer(c, err);
}

/* Opens the writer (for a flush) or the reader (for a lookup) once it is
 * needed. A lookup in a cache with no file is a miss (*absent) and
 * creates nothing: a program's first call makes no file before its
 * request, and one that never stores a reply never makes one. The reader
 * comes after the writer, whose setup waits out another process still
 * making the file and makes sure the table is there. */
static dsp_status ensure_open(dsp_cache *c, bool writer, bool *absent, dsp_error *err)
{
    *absent = false;
    atomic_bool *ready = writer ? &c->wready : &c->rready;
    if (atomic_load_explicit(ready, memory_order_acquire))
        return DSP_OK;
    pthread_mutex_lock(&c->olock);
    dsp_status st = DSP_OK;
    if (!atomic_load_explicit(ready, memory_order_relaxed)) {
        struct stat sb;
        if (!writer && stat(c->path, &sb) != 0 && errno == ENOENT) {
            *absent = true;
        } else {
            if (!atomic_load_explicit(&c->wready, memory_order_relaxed)) {
                struct stat found;
                bool had = stat(c->path, &found) == 0;
                if ((st = open_writer(c, err)) != DSP_OK && had && db_damaged(c->db)) {
                    char what[200];
                    snprintf(what, sizeof what, "%s", sqlite3_errmsg(c->db));
                    close_writer(c);
                    st = quarantine(c, &found, what, st, err);
                }
                if (st == DSP_OK)
                    atomic_store_explicit(&c->wready, true, memory_order_release);
                else
                    close_writer(c);
            }
            if (st == DSP_OK && !writer) {
                if ((st = open_reader(c, err)) == DSP_OK)
                    atomic_store_explicit(&c->rready, true, memory_order_release);
                else
                    close_reader(c);
            }
        }
    }
    pthread_mutex_unlock(&c->olock);
    return st;
}

dsp_status dsp_cache_open(const char *dir, dsp_cache **out, dsp_error *err)
{
    return dsp_cache_open_warn(dir, NULL, NULL, out, err);
}

dsp_status dsp_cache_open_warn(const char *dir, dsp_warn_fn warn, void *warn_ctx, dsp_cache **out, dsp_error *err)
{
    *out = NULL;
    dsp_status st = make_dirs(dir, err);
    if (st != DSP_OK)
        return st;
    dsp_cache *c = calloc(1, sizeof *c);
    if (!c)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening the cache");
    pthread_mutex_init(&c->wlock, NULL);
    pthread_mutex_init(&c->rlock, NULL);
    pthread_mutex_init(&c->qlock, NULL);
    pthread_mutex_init(&c->klock, NULL);
    pthread_mutex_init(&c->olock, NULL);
    atomic_init(&c->wready, false);
    atomic_init(&c->rready, false);
    atomic_init(&c->wgen, 0);
    c->warn = warn;
    c->warn_ctx = warn_ctx;
    c->path = join(dir, DSP_CACHE_FILE);
    if (!c->path) {
        dsp_cache_close(c);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening the cache");
    }
    /* An existing file is opened now, so a damaged one is moved aside
     * here; a missing one is created by the first flush (ensure_open). */
    bool absent;
    st = ensure_open(c, false, &absent, err);
    if (st != DSP_OK) {
        dsp_cache_close(c);
        return st;
    }
    *out = c;
    return DSP_OK;
}

void dsp_cache_close(dsp_cache *c)
{
    if (!c)
        return;
    if (c->path)
        (void)dsp_cache_flush(c, NULL);
    dsp_remote_cache_close(c->remote);
    for (size_t i = 0; i < c->n_queued; i++)
        free(c->queue[i].value);
    free(c->queue);
    close_reader(c);
    close_writer(c);
    pthread_mutex_destroy(&c->wlock);
    pthread_mutex_destroy(&c->olock);
    pthread_mutex_destroy(&c->rlock);
    pthread_mutex_destroy(&c->qlock);
    pthread_mutex_destroy(&c->klock);
    for (size_t i = 0; i < DSP_CACHE_KEY_MEMOS; i++)
        free(c->memo[i].raw);
    free(c->path);
    free(c);
}

void dsp_cache_set_remote(dsp_cache *c, struct dsp_remote_cache *remote)
{
    if (!c) {
        dsp_remote_cache_close(remote);
        return;
    }
    dsp_remote_cache_close(c->remote);
    c->remote = remote;
}

const char *dsp_cache_file_path(const dsp_cache *c)
{
    return c->path;
}

static const char *role_name(dsp_role r)
{
    return r == DSP_ROLE_SYSTEM ? "system" : r == DSP_ROLE_ASSISTANT ? "assistant" : r == DSP_ROLE_TOOL ? "tool" : "user";
}

/* The tool calls of a stored reply or a key's turn: [[id, name, arguments], ...]
 * with null for what is missing. */
static void cache_write_calls(dsp_jw *w, const dsp_tool_call *calls, size_t n)
{
    dsp_jw_lit(w, "[");
    for (size_t i = 0; i < n; i++) {
        const char *f[3] = { calls[i].id, calls[i].name, calls[i].arguments };
        dsp_jw_lit(w, i ? ",[" : "[");
        for (int k = 0; k < 3; k++) {
            dsp_jw_lit(w, k ? "," : "");
            if (f[k])
                dsp_jw_str(w, f[k]);
            else
                dsp_jw_lit(w, "null");
        }
        dsp_jw_lit(w, "]");
    }
    dsp_jw_lit(w, "]");
}

/* Native tool calling's part of a turn in the key: only written when set,
 * so the keys of every other request are as they were. */
static void cache_key_tool_turn(dsp_jw *w, const dsp_message *m)
{
    if (m->n_tool_calls) {
        dsp_jw_lit(w, ",\"tool_calls\":");
        cache_write_calls(w, m->tool_calls, m->n_tool_calls);
    }
    if (m->tool_call_id) {
        dsp_jw_lit(w, ",\"tool_call_id\":");
        dsp_jw_str(w, m->tool_call_id);
        dsp_jw_lit(w, m->tool_error ? ",\"is_error\":true" : "");
    }
}

/* Whether a turn carries tool calls or a tool result (the prepared digest
 * of a key's start compares roles and contents only: not for these). */
static bool has_tool_turns(const dsp_message *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (msgs[i].n_tool_calls || msgs[i].tool_call_id)
            return true;
    return false;
}

/* The key text up to the last message's content (its start): provider,
 * endpoint, model and every message before, then the last one's role. */
static void write_start(dsp_jw *w, const char *provider, const char *base_url, const char *model,
                        const dsp_message *msgs, size_t n_msgs)
{
    dsp_jw_lit(w, "{\"v\":1,\"provider\":");
    dsp_jw_str(w, provider);
    dsp_jw_lit(w, ",\"base_url\":");
    dsp_jw_str(w, base_url);
    dsp_jw_lit(w, ",\"model\":");
    dsp_jw_str(w, model);
    dsp_jw_lit(w, ",\"messages\":[");
    for (size_t i = 0; i < n_msgs; i++) {
        dsp_jw_lit(w, i ? ",{\"role\":" : "{\"role\":");
        dsp_jw_str(w, role_name(msgs[i].role));
        dsp_jw_lit(w, ",\"content\":");
        if (i + 1 == n_msgs)
            return;
        dsp_jw_str(w, msgs[i].content ? msgs[i].content : "");
        cache_key_tool_turn(w, &msgs[i]);
        dsp_jw_lit(w, "}");
    }
}

/* The rest of the key text: the last message's content (when there is
 * one), the parameters and the rollout id. */
static void write_rest(dsp_jw *w, const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id)
{
    if (n_msgs) {
        dsp_jw_str(w, msgs[n_msgs - 1].content ? msgs[n_msgs - 1].content : "");
        cache_key_tool_turn(w, &msgs[n_msgs - 1]);
        dsp_jw_lit(w, "}");
    }
    dsp_jw_lit(w, "],\"params\":{");
    const char *sep = "";
    if (p->temperature >= 0) {
        dsp_jw_lit(w, "\"temperature\":");
        dsp_jw_double(w, p->temperature);
        sep = ",";
    }
    if (p->max_tokens > 0) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"max_tokens\":");
        dsp_jw_int(w, p->max_tokens);
        sep = ",";
    }
    if (p->has_top_p) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"top_p\":");
        dsp_jw_double(w, p->top_p);
        sep = ",";
    }
    if (p->has_lora) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"lora\":[");
        dsp_jw_int(w, p->lora_id);
        dsp_jw_lit(w, ",");
        dsp_jw_double(w, p->lora_scale > 0 ? p->lora_scale : 1.0);
        dsp_jw_lit(w, ",");
        dsp_jw_str(w, p->lora_sha256 ? p->lora_sha256 : "");
        dsp_jw_lit(w, "]");
        sep = ",";
    }
    if (p->n > 1) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"n\":");
        dsp_jw_int(w, p->n);
        sep = ",";
    }
    if (p->has_seed) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"seed\":");
        dsp_jw_int(w, p->seed);
        sep = ",";
    }
    if (p->stop[0]) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"stop\":[");
        for (int i = 0; i < DSP_MAX_STOP && p->stop[i]; i++) {
            if (i)
                dsp_jw_lit(w, ",");
            dsp_jw_str(w, p->stop[i]);
        }
        dsp_jw_lit(w, "]");
        sep = ",";
    }
    if (p->json_schema) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"json_schema\":");
        dsp_jw_str(w, p->json_schema);
        sep = ",";
    }
    if (p->tools) {
        dsp_jw_lit(w, sep);
        dsp_jw_lit(w, "\"tools\":");
        dsp_jw_str(w, p->tools);
    }
    dsp_jw_lit(w, "},\"rollout_id\":\"");
    /* The decimal digits, written by hand: snprintf cost more than the
     * rest of this function. */
    char buf[24];
    size_t at = sizeof buf;
    do {
        buf[--at] = (char)('0' + rollout_id % 10);
        rollout_id /= 10;
    } while (rollout_id);
    dsp_jw_raw(w, buf + at, sizeof buf - at);
    dsp_jw_lit(w, "\"}");
}

/* The inputs of the key text's start, as they came: each string with its
 * NUL, each message's role as one byte, the last message's role alone.
 * Comparing these costs a memcmp; writing the start as JSON costs an
 * escape scan of every byte. */
static size_t raw_start_len(const char *provider, const char *base_url, const char *model, const dsp_message *msgs,
                            size_t n_msgs)
{
    size_t n = strlen(provider) + strlen(base_url) + strlen(model) + 3 + n_msgs;
    for (size_t i = 0; i + 1 < n_msgs; i++)
        n += (msgs[i].content ? strlen(msgs[i].content) : 0) + 1;
    return n;
}

static char *put_raw(char *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return p + n;
}

static void raw_start(char *p, const char *provider, const char *base_url, const char *model,
                      const dsp_message *msgs, size_t n_msgs)
{
    p = put_raw(p, provider);
    p = put_raw(p, base_url);
    p = put_raw(p, model);
    for (size_t i = 0; i < n_msgs; i++) {
        *p++ = (char)('0' + (int)msgs[i].role);
        if (i + 1 < n_msgs)
            p = put_raw(p, msgs[i].content ? msgs[i].content : "");
    }
}

/* Whether raw[0..len) holds these inputs (see raw_start). */
static bool raw_same(const char *raw, size_t len, const char *provider, const char *base_url, const char *model,
                     const dsp_message *msgs, size_t n_msgs)
{
    const char *end = raw + len;
#define RAW_EAT(s)                                                                                                     \
    do {                                                                                                               \
        size_t k_ = strlen(s) + 1;                                                                                     \
        if ((size_t)(end - raw) < k_ || memcmp(raw, (s), k_) != 0)                                                     \
            return false;                                                                                              \
        raw += k_;                                                                                                     \
    } while (0)
    RAW_EAT(provider);
    RAW_EAT(base_url);
    RAW_EAT(model);
    for (size_t i = 0; i < n_msgs; i++) {
        if (raw == end || *raw++ != (char)('0' + (int)msgs[i].role))
            return false;
        if (i + 1 < n_msgs)
            RAW_EAT(msgs[i].content ? msgs[i].content : "");
    }
#undef RAW_EAT
    return raw == end;
}

/* Whether a prepared digest of these inputs' start is kept: if so, *ctx
 * is a copy of it. */
static bool memo_find(dsp_cache *c, const char *provider, const char *base_url, const char *model,
                      const dsp_message *msgs, size_t n_msgs, size_t raw_len, dsp_sha256 *ctx)
{
    bool found = false;
    pthread_mutex_lock(&c->klock);
    for (size_t i = 0; i < DSP_CACHE_KEY_MEMOS && !found; i++) {
        const struct key_memo *m = &c->memo[i];
        if (m->raw && m->len == raw_len && raw_same(m->raw, m->len, provider, base_url, model, msgs, n_msgs)) {
            *ctx = m->ctx;
            found = true;
        }
    }
    pthread_mutex_unlock(&c->klock);
    return found;
}

/* Keeps a copy of ctx (the digest of the start) under these inputs,
 * replacing the oldest memo; out of memory, keeps nothing. */
static void memo_keep(dsp_cache *c, const dsp_sha256 *ctx, const char *provider, const char *base_url,
                      const char *model, const dsp_message *msgs, size_t n_msgs, size_t raw_len)
{
    struct key_memo fresh = { malloc(raw_len), raw_len, *ctx };
    if (!fresh.raw)
        return;
    raw_start(fresh.raw, provider, base_url, model, msgs, n_msgs);
    pthread_mutex_lock(&c->klock);
    struct key_memo *slot = &c->memo[c->next_memo++ % DSP_CACHE_KEY_MEMOS];
    char *old = slot->raw;
    *slot = fresh;
    pthread_mutex_unlock(&c->klock);
    free(old);
}

static dsp_status cache_key(dsp_cache *c, const char *provider, const char *base_url, const char *model,
                            const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id,
                            char out[DSP_CACHE_KEY_HEX], dsp_error *err)
{
    /* Fixed key order and only the fields that are set: equal requests give
     * equal text. Version 1 of this layout; change "v" if it ever changes.
     * With a cache, the digest of the text's start (everything before the
     * last message's content) is prepared once for the inputs it came from
     * and reused while they are the same: the same bytes are hashed to the
     * same key either way, but a call writes and hashes only its own rest. */
    size_t raw_len = c && n_msgs ? raw_start_len(provider, base_url, model, msgs, n_msgs) : 0;
    bool memo = raw_len >= DSP_CACHE_MEMO_MIN && !has_tool_turns(msgs, n_msgs);
    dsp_sha256 ctx;
    bool have = memo && memo_find(c, provider, base_url, model, msgs, n_msgs, raw_len, &ctx);
    size_t hint = 256 + (p->json_schema ? strlen(p->json_schema) : 0);
    if (n_msgs && msgs[n_msgs - 1].content)
        hint += strlen(msgs[n_msgs - 1].content);
    if (!have) {
        hint += strlen(base_url) + strlen(model);
        for (size_t i = 0; i < n_msgs; i++)
            hint += 32 + (msgs[i].content ? strlen(msgs[i].content) : 0);
    }
    /* The text is hashed and dropped: on the stack unless it is larger. */
    enum { STORE = 8192 };
    char *store = dsp_loop_active() ? NULL : alloca(STORE); /* in a job, not on its resident stack */
    dsp_jw w;
    if (!store || hint + hint / 16 > STORE)
        dsp_jw_init(&w, hint + hint / 16);
    else
        dsp_jw_init_in(&w, store, STORE);
    size_t start = 0;
    if (!have) {
        write_start(&w, provider, base_url, model, msgs, n_msgs);
        start = w.len;
    }
    write_rest(&w, msgs, n_msgs, p, rollout_id);
    bool ok = dsp_jw_finish(&w);
    if (!ok) {
        dsp_jw_free(&w);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory computing a cache key");
    }
    if (!have) {
        dsp_sha256_init(&ctx);
        dsp_sha256_update(&ctx, w.buf, start);
        if (memo)
            memo_keep(c, &ctx, provider, base_url, model, msgs, n_msgs, raw_len);
    }
    unsigned char digest[32];
    dsp_sha256_update(&ctx, w.buf + start, w.len - start);
    dsp_sha256_final(&ctx, digest);
    dsp_jw_free(&w);
    dsp_cache_key_hex(digest, out);
    return DSP_OK;
}

/* Both hex digits of every byte value, byte b's at 2b: one 2-byte copy a
 * byte, where a digit at a time cost twice the instructions. */
static const char hex_pairs[] =
    "000102030405060708090a0b0c0d0e0f"
    "101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f"
    "303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f"
    "505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f"
    "707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f"
    "909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
    "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
    "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void dsp_cache_key_hex(const unsigned char digest[32], char out[DSP_CACHE_KEY_HEX])
{
    for (unsigned i = 0; i < 32; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * digest[i], 2);
    out[64] = '\0';
}

dsp_status dsp_cache_key(const char *provider, const char *base_url, const char *model, const dsp_message *msgs,
                         size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id, char out[DSP_CACHE_KEY_HEX],
                         dsp_error *err)
{
    return cache_key(NULL, provider, base_url, model, msgs, n_msgs, p, rollout_id, out, err);
}

dsp_status dsp_cache_key_in(dsp_cache *c, const char *provider, const char *base_url, const char *model,
                            const dsp_message *msgs, size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id,
                            char out[DSP_CACHE_KEY_HEX], dsp_error *err)
{
    return cache_key(c, provider, base_url, model, msgs, n_msgs, p, rollout_id, out, err);
}

/* A stored value that does not read back (it never should) is a miss, and
 * the next put replaces it. */
bool dsp_cache_decode_row(const char *text, int len, dsp_chat_response *resp)
{
    cJSON *root = cJSON_ParseWithLength(text, (size_t)len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    int n = cJSON_GetArraySize(choices);
    bool ok = cJSON_IsArray(choices) && n > 0;
    if (ok) {
        resp->choices = calloc((size_t)n, sizeof *resp->choices);
        ok = resp->choices != NULL;
    }
    const cJSON *ch;
    size_t i = 0;
    if (ok) {
        resp->n_choices = (size_t)n;
        for (ch = choices ? choices->child : NULL; ch; ch = ch->next) {
            if (!cJSON_IsString(ch) || !(resp->choices[i++] = strdup(ch->valuestring))) {
                ok = false;
                break;
            }
        }
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(root, "tool_calls");
    int nc = cJSON_GetArraySize(calls);
    if (ok && cJSON_IsArray(calls) && nc > 0) {
        ok = (resp->tool_calls = calloc((size_t)nc, sizeof *resp->tool_calls)) != NULL;
        const cJSON *call;
        for (call = calls->child; ok && call; call = call->next) {
            dsp_tool_call *tc = &resp->tool_calls[resp->n_tool_calls++];
            char **f[3] = { &tc->id, &tc->name, &tc->arguments };
            ok = cJSON_IsArray(call) && cJSON_GetArraySize(call) == 3;
            for (int k = 0; ok && k < 3; k++) {
                const cJSON *v = cJSON_GetArrayItem(call, k);
                ok = cJSON_IsNull(v) || (cJSON_IsString(v) && (*f[k] = strdup(v->valuestring)) != NULL);
            }
        }
    }
    if (ok) {
        /* A damaged row's counts read as 0, as a reply's do. */
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
        resp->usage.prompt_tokens = dsp_reply_count(usage, "prompt_tokens");
        resp->usage.completion_tokens = dsp_reply_count(usage, "completion_tokens");
    }
    cJSON_Delete(root);
    if (!ok)
        dsp_chat_response_free(resp);
    return ok;
}

/* Sends rows[0..n) to the shared cache in one round trip, all but those
 * that came from it. */
static void share_rows(dsp_cache *c, const queued_row *rows, size_t n)
{
    if (!c->remote || n == 0)
        return;
    const char **keys = malloc(n * sizeof *keys);
    const char **values = malloc(n * sizeof *values);
    size_t m = 0;
    for (size_t i = 0; keys && values && i < n; i++) {
        if (!rows[i].shared) {
            keys[m] = rows[i].key;
            values[m++] = rows[i].value;
        }
    }
    dsp_remote_cache_put_many(c->remote, keys, values, m);
    free(keys);
    free(values);
}

/* Makes the missing cache file with rows[0..n) (olock held while it is
 * made, so a lookup in this process waits for the whole file): 1 when
 * made, 0 when it exists or the writer is open, -1 when it could not be
 * made (the writer then tries and reports why). */
static int create_file(dsp_cache *c, const queued_row *rows, size_t n, sqlite3_int64 now)
{
    int made = 0;
    pthread_mutex_lock(&c->olock);
    struct stat sb;
    if (!atomic_load_explicit(&c->wready, memory_order_relaxed) && stat(c->path, &sb) != 0 && errno == ENOENT) {
        const char **keys = malloc((n + 1) * sizeof *keys);
        const char **values = malloc((n + 1) * sizeof *values);
        for (size_t i = 0; keys && values && i < n; i++) {
            keys[i] = rows[i].key;
            values[i] = rows[i].value;
        }
        made = keys && values ? dsp_cache_create_file(c->path, schema_sql, keys, values, n, (long long)now) : -1;
        free(keys);
        free(values);
    }
    pthread_mutex_unlock(&c->olock);
    return made;
}

/* The statement inserting DSP_CACHE_PUT_ROWS rows (row j's key and value
 * are parameters 2j+1 and 2j+2, the time the last), prepared at its first
 * use; NULL when SQLite cannot prepare it. Called with wlock held. */
static sqlite3_stmt *put_many(dsp_cache *c)
{
    if (c->put_many)
        return c->put_many;
    char sql[80 + DSP_CACHE_PUT_ROWS * 24];
    size_t at = (size_t)snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO responses(key, value, created) VALUES ");
    for (unsigned j = 0; j < DSP_CACHE_PUT_ROWS; j++)
        at += (size_t)snprintf(sql + at, sizeof sql - at, "%s(?%u, ?%u, ?%u)", j ? ", " : "", 2 * j + 1, 2 * j + 2,
                               2 * DSP_CACHE_PUT_ROWS + 1);
    if (at >= sizeof sql || sqlite3_prepare_v2(c->db, sql, (int)at, &c->put_many, NULL) != SQLITE_OK)
        c->put_many = NULL;
    return c->put_many;
}

/* Writes the first n queued rows in one transaction, then drops them from
 * the queue (until then gets find them there). Called with wlock held.
 * With a shared cache the rows, their values with them, go to *share (n
 * in *n_share) for the caller to send once wlock is released: a job of an
 * event loop waiting on Redis (cache_remote.c) must not hold a lock that
 * another job of the same thread may take. */
static dsp_status write_queued(dsp_cache *c, queued_row **share, size_t *n_share, dsp_error *err)
{
    pthread_mutex_lock(&c->qlock);
    size_t n = c->n_queued;
    queued_row *rows = n ? malloc(n * sizeof *rows) : NULL;
    if (rows)
        memcpy(rows, c->queue, n * sizeof *rows); /* the values stay the queue's until they leave it */
    pthread_mutex_unlock(&c->qlock);
    if (n == 0)
        return DSP_OK;
    if (!rows)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing to the cache");
    /* The time is bound, not the column's strftime default: SQLite would
     * evaluate that date function once per row. */
    sqlite3_int64 now = (sqlite3_int64)time(NULL);
    /* No file yet: made whole with these rows (cache_create.c), one
     * directory entry instead of SQLite's four. */
    int made = atomic_load_explicit(&c->wready, memory_order_acquire) ? 0 : create_file(c, rows, n, now);
    bool absent;
    dsp_status st = made == 1 ? DSP_OK : ensure_open(c, true, &absent, err);
    int rc = made == 1 ? SQLITE_OK : SQLITE_ERROR;
    if (st == DSP_OK && made != 1) {
        rc = sqlite3_step(c->begin);
        sqlite3_reset(c->begin);
        if (rc != SQLITE_DONE)
            st = db_error(c, c->db, err, "write failed");
    }
    for (size_t i = 0; st == DSP_OK && made != 1 && i < n;) {
        /* In queue order, so the newest queued row of a key is kept. */
        size_t m = n - i >= DSP_CACHE_PUT_ROWS ? DSP_CACHE_PUT_ROWS : 1;
        sqlite3_stmt *put = m > 1 ? put_many(c) : c->put;
        if (!put) {
            st = db_error(c, c->db, err, "write failed");
            break;
        }
        /* Every parameter is bound again before each step: the bindings
         * are not cleared after it. */
        for (size_t j = 0; j < m; j++) {
            sqlite3_bind_text(put, (int)(2 * j + 1), rows[i + j].key, -1, SQLITE_STATIC);
            sqlite3_bind_text(put, (int)(2 * j + 2), rows[i + j].value, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(put, (int)(2 * m + 1), now);
        if (sqlite3_step(put) != SQLITE_DONE)
            st = db_error(c, c->db, err, "write failed");
        sqlite3_reset(put);
        i += m;
    }
    if (rc == SQLITE_DONE) {
        sqlite3_stmt *end = st == DSP_OK ? c->commit : c->rollback;
        if (sqlite3_step(end) != SQLITE_DONE && st == DSP_OK)
            st = db_error(c, c->db, err, "write failed");
        sqlite3_reset(end);
    }
    /* Before the rows leave the queue: a lookup that no longer finds them
     * there sees the count moved and takes a new snapshot, which holds them. */
    atomic_fetch_add_explicit(&c->wgen, 1, memory_order_release);
    bool shared = c->remote != NULL;
    if (shared) {
        *share = rows;
        *n_share = n;
    } else {
        free(rows);
    }
    /* Written or not, the rows leave the queue: a row that cannot be
     * written is asked of the LM again next run, as before. */
    pthread_mutex_lock(&c->qlock);
    for (size_t i = 0; !shared && i < n; i++)
        free(c->queue[i].value);
    memmove(c->queue, c->queue + n, (c->n_queued - n) * sizeof *c->queue);
    c->n_queued -= n;
    c->oldest_s = mono_s();
    pthread_mutex_unlock(&c->qlock);
    return st;
}

dsp_status dsp_cache_flush(dsp_cache *c, dsp_error *err)
{
    if (!c)
        return DSP_OK;
    queued_row *share = NULL;
    size_t n_share = 0;
    /* The lookup snapshot ends before the commit: a checkpoint (run by a
     * commit once the WAL holds 1000 pages) can then copy the whole WAL
     * into the file, and SQLite starts it over at the next flush; a
     * snapshot held across commits kept it growing with every reply. A
     * process idle after a batch holds none either. */
    if (atomic_load_explicit(&c->rready, memory_order_acquire)) {
        pthread_mutex_lock(&c->rlock);
        end_snapshot(c);
        pthread_mutex_unlock(&c->rlock);
    }
    pthread_mutex_lock(&c->wlock);
    dsp_status st = write_queued(c, &share, &n_share, err);
    pthread_mutex_unlock(&c->wlock);
    share_rows(c, share, n_share);
    for (size_t i = 0; i < n_share; i++)
        free(share[i].value);
    free(share);
    return st;
}

/* Whether the queue is due for a flush (qlock held). */
static bool due(const dsp_cache *c)
{
    return c->n_queued >= DSP_CACHE_FLUSH_ROWS ||
           (c->n_queued > 0 && mono_s() - c->oldest_s >= DSP_CACHE_FLUSH_MS / 1000.0);
}

static dsp_status enqueue(dsp_cache *c, const char *key, char *text, bool shared, dsp_error *err);

dsp_status dsp_cache_get(dsp_cache *c, const char *key, dsp_chat_response *resp, bool *found, dsp_error *err)
{
    return dsp_cache_get_checked(c, key, resp, found, NULL, NULL, err);
}

dsp_status dsp_cache_get_checked(dsp_cache *c, const char *key, dsp_chat_response *resp, bool *found,
                                 dsp_cache_accept_fn accept, void *accept_ctx, dsp_error *err)
{
    *found = false;
    /* The newest queued row for key wins: it replaces any stored one. */
    pthread_mutex_lock(&c->qlock);
    bool flush = due(c);
    uint64_t tag = key_tag(key);
    for (size_t i = c->n_queued; i-- > 0;) {
        if (c->queue[i].tag == tag && strcmp(c->queue[i].key, key) == 0) {
            *found = dsp_cache_decode_row(c->queue[i].value, (int)strlen(c->queue[i].value), resp);
            break;
        }
    }
    pthread_mutex_unlock(&c->qlock);
    if (flush)
        (void)dsp_cache_flush(c, NULL);
    if (*found && accept && !accept(accept_ctx, resp)) {
        dsp_chat_response_free(resp); /* replaced by the answer the caller gets instead */
        *found = false;
    }
    if (*found)
        return DSP_OK;
    bool absent;
    dsp_status st = ensure_open(c, false, &absent, err);
    if (st == DSP_OK && !absent) {
        pthread_mutex_lock(&c->rlock);
        unsigned long gen = atomic_load_explicit(&c->wgen, memory_order_acquire);
        if (c->rheld && (gen != c->rgen || mono_s() - c->rheld_s >= DSP_CACHE_SNAPSHOT_MS / 1000.0))
            end_snapshot(c);
        if (!c->rheld) {
            /* Deferred: the snapshot is taken by the lookup's first read. */
            if (sqlite3_step(c->rbegin) == SQLITE_DONE) {
                c->rheld = true;
                c->rheld_s = mono_s();
                c->rgen = gen;
            }
            sqlite3_reset(c->rbegin);
        }
        sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(c->get);
        if (rc == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(c->get, 0);
            int len = sqlite3_column_bytes(c->get, 0);
            if (text)
                *found = dsp_cache_decode_row(text, len, resp);
        } else if (rc != SQLITE_DONE) {
            st = db_error(c, c->rdb, err, "lookup failed");
        }
        sqlite3_reset(c->get);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            end_snapshot(c); /* a busy or damaged file: the next lookup starts afresh */
        /* The key is bound again before every step: not cleared after. */
        pthread_mutex_unlock(&c->rlock);
    }
    /* A row stored before replies were checked heals: a miss, replaced by
     * the answer the caller gets instead. */
    if (*found && accept && !accept(accept_ctx, resp)) {
        dsp_chat_response_free(resp);
        *found = false;
    }
    if (st == DSP_OK && !*found && c->remote) {
        /* Another machine's reply: kept in the local file too, so the next
         * run needs no network for it. */
        char *text = dsp_remote_cache_get(c->remote, key);
        if (text && (*found = dsp_cache_decode_row(text, (int)strlen(text), resp)) && accept &&
            !accept(accept_ctx, resp)) {
            dsp_chat_response_free(resp);
            *found = false;
        }
        if (*found)
            st = enqueue(c, key, text, true, err);
        else
            free(text);
    }
    return st;
}

dsp_status dsp_cache_put(dsp_cache *c, const char *key, const dsp_chat_response *resp, dsp_error *err)
{
    if (strlen(key) >= DSP_CACHE_KEY_HEX)
        return dsp_error_set(err, DSP_ERR_INVALID, "a cache key is at most %d characters", DSP_CACHE_KEY_HEX - 1);
    /* {"choices":[...],"usage":{"prompt_tokens":N,"completion_tokens":M}} */
    size_t hint = 96;
    for (size_t i = 0; i < resp->n_choices; i++)
        hint += 8 + strlen(resp->choices[i]) + strlen(resp->choices[i]) / 8;
    dsp_jw w;
    dsp_jw_init(&w, hint);
    dsp_jw_lit(&w, "{\"choices\":[");
    for (size_t i = 0; i < resp->n_choices; i++) {
        if (i)
            dsp_jw_lit(&w, ",");
        dsp_jw_str(&w, resp->choices[i]);
    }
    dsp_jw_lit(&w, "]");
    if (resp->n_tool_calls) {
        dsp_jw_lit(&w, ",\"tool_calls\":");
        cache_write_calls(&w, resp->tool_calls, resp->n_tool_calls);
    }
    dsp_jw_lit(&w, ",\"usage\":{\"prompt_tokens\":");
    dsp_jw_int(&w, resp->usage.prompt_tokens);
    dsp_jw_lit(&w, ",\"completion_tokens\":");
    dsp_jw_int(&w, resp->usage.completion_tokens);
    dsp_jw_lit(&w, "}}");
    char *text = dsp_jw_take(&w);
    dsp_jw_free(&w);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing to the cache");
    return enqueue(c, key, text, false, err);
}

/* Queues text (owned from now on) under key; flushes when due. */
static dsp_status enqueue(dsp_cache *c, const char *key, char *text, bool shared, dsp_error *err)
{
    pthread_mutex_lock(&c->qlock);
    if (c->n_queued == c->cap_queued) {
        size_t cap = c->cap_queued ? c->cap_queued * 2 : DSP_CACHE_FLUSH_ROWS;
        queued_row *q = realloc(c->queue, cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&c->qlock);
            free(text);
            return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing to the cache");
        }
        c->queue = q;
        c->cap_queued = cap;
    }
    if (c->n_queued == 0)
        c->oldest_s = mono_s();
    queued_row *r = &c->queue[c->n_queued++];
    memcpy(r->key, key, strlen(key) + 1); /* shorter than DSP_CACHE_KEY_HEX: checked above */
    r->tag = key_tag(key);
    r->value = text;
    r->shared = shared;
    bool flush = due(c);
    pthread_mutex_unlock(&c->qlock);
    return flush ? dsp_cache_flush(c, err) : DSP_OK;
}
