/* cache.c — the response cache: SQLite in WAL mode, one row per request.
 *
 * Why this is safe with many processes and kill -9: every write is one
 * SQLite transaction, so a killed writer leaves either the whole row or
 * nothing; WAL lets readers go on while one process writes, and the busy
 * timeout makes concurrent writers (make -j) wait for each other instead of
 * failing. synchronous=NORMAL keeps a committed row across a process crash
 * (only a power loss can drop the last commits, never corrupt the file). */
#include "cache.h"

#include "json_write.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DSP_CACHE_BUSY_MS 30000

struct dsp_cache {
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    pthread_mutex_t lock; /* a statement is stepped by one thread at a time */
    char *path;
};

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

static dsp_status db_error(dsp_cache *c, dsp_error *err, const char *what)
{
    return dsp_error_set(err, DSP_ERR_CACHE, "response cache %s: %s: %s", c->path, what,
                         c->db ? sqlite3_errmsg(c->db) : "cannot open");
}

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS responses ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')))";

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

dsp_status dsp_cache_open(const char *dir, dsp_cache **out, dsp_error *err)
{
    *out = NULL;
    dsp_status st = make_dirs(dir, err);
    if (st != DSP_OK)
        return st;
    dsp_cache *c = calloc(1, sizeof *c);
    if (!c)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening the cache");
    pthread_mutex_init(&c->lock, NULL);
    c->path = join(dir, DSP_CACHE_FILE);
    if (!c->path) {
        dsp_cache_close(c);
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory opening the cache");
    }
    int rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        st = db_error(c, err, "cannot open");
        dsp_cache_close(c);
        return st;
    }
    sqlite3_busy_timeout(c->db, DSP_CACHE_BUSY_MS);
    rc = exec_patiently(c->db, "PRAGMA journal_mode=WAL");
    if (rc == SQLITE_OK)
        rc = exec_patiently(c->db, "PRAGMA synchronous=NORMAL");
    if (rc == SQLITE_OK)
        rc = exec_patiently(c->db, schema_sql);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "SELECT value FROM responses WHERE key = ?1", -1, &c->get, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO responses(key, value) VALUES (?1, ?2)", -1,
                                &c->put, NULL);
    if (rc != SQLITE_OK) {
        st = db_error(c, err, "cannot set up");
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
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    free(c);
}

const char *dsp_cache_file_path(const dsp_cache *c)
{
    return c->path;
}

static const char *role_name(dsp_role r)
{
    return r == DSP_ROLE_SYSTEM ? "system" : r == DSP_ROLE_ASSISTANT ? "assistant" : "user";
}

dsp_status dsp_cache_key(const char *provider, const char *base_url, const char *model, const dsp_message *msgs,
                         size_t n_msgs, const dsp_lm_params *p, uint64_t rollout_id, char out[DSP_CACHE_KEY_HEX],
                         dsp_error *err)
{
    /* Fixed key order and only the fields that are set: equal requests give
     * equal text. Version 1 of this layout; change "v" if it ever changes. */
    size_t hint = 256 + (p->json_schema ? strlen(p->json_schema) : 0) + strlen(base_url) + strlen(model);
    for (size_t i = 0; i < n_msgs; i++)
        hint += 32 + (msgs[i].content ? strlen(msgs[i].content) : 0);
    dsp_jw w;
    dsp_jw_init(&w, hint + hint / 16);
    dsp_jw_lit(&w, "{\"v\":1,\"provider\":");
    dsp_jw_str(&w, provider);
    dsp_jw_lit(&w, ",\"base_url\":");
    dsp_jw_str(&w, base_url);
    dsp_jw_lit(&w, ",\"model\":");
    dsp_jw_str(&w, model);
    dsp_jw_lit(&w, ",\"messages\":[");
    for (size_t i = 0; i < n_msgs; i++) {
        dsp_jw_lit(&w, i ? ",{\"role\":" : "{\"role\":");
        dsp_jw_str(&w, role_name(msgs[i].role));
        dsp_jw_lit(&w, ",\"content\":");
        dsp_jw_str(&w, msgs[i].content ? msgs[i].content : "");
        dsp_jw_lit(&w, "}");
    }
    dsp_jw_lit(&w, "],\"params\":{");
    const char *sep = "";
    if (p->temperature >= 0) {
        dsp_jw_lit(&w, "\"temperature\":");
        dsp_jw_double(&w, p->temperature);
        sep = ",";
    }
    if (p->max_tokens > 0) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"max_tokens\":");
        dsp_jw_int(&w, p->max_tokens);
        sep = ",";
    }
    if (p->has_top_p) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"top_p\":");
        dsp_jw_double(&w, p->top_p);
        sep = ",";
    }
    if (p->has_lora) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"lora\":[");
        dsp_jw_int(&w, p->lora_id);
        dsp_jw_lit(&w, ",");
        dsp_jw_double(&w, p->lora_scale > 0 ? p->lora_scale : 1.0);
        dsp_jw_lit(&w, ",");
        dsp_jw_str(&w, p->lora_sha256 ? p->lora_sha256 : "");
        dsp_jw_lit(&w, "]");
        sep = ",";
    }
    if (p->n > 1) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"n\":");
        dsp_jw_int(&w, p->n);
        sep = ",";
    }
    if (p->has_seed) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"seed\":");
        dsp_jw_int(&w, p->seed);
        sep = ",";
    }
    if (p->stop[0]) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"stop\":[");
        for (int i = 0; i < DSP_MAX_STOP && p->stop[i]; i++) {
            if (i)
                dsp_jw_lit(&w, ",");
            dsp_jw_str(&w, p->stop[i]);
        }
        dsp_jw_lit(&w, "]");
        sep = ",";
    }
    if (p->json_schema) {
        dsp_jw_lit(&w, sep);
        dsp_jw_lit(&w, "\"json_schema\":");
        dsp_jw_str(&w, p->json_schema);
    }
    dsp_jw_lit(&w, "},\"rollout_id\":\"");
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, rollout_id);
    dsp_jw_lit(&w, buf);
    dsp_jw_lit(&w, "\"}");
    size_t text_len = w.len;
    char *text = dsp_jw_take(&w);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory computing a cache key");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int ok = EVP_Digest(text, text_len, md, &md_len, EVP_sha256(), NULL);
    free(text);
    if (!ok || md_len != 32)
        return dsp_error_set(err, DSP_ERR_CACHE, "SHA-256 of a cache key failed (libcrypto)");
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return DSP_OK;
}

/* A stored value that does not read back (it never should) is a miss, and
 * the next put replaces it. */
static bool decode_value(const char *text, int len, dsp_chat_response *resp)
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
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
    if (ok) {
        /* Bounded before the cast (a damaged row must not make it undefined). */
        resp->usage.prompt_tokens =
            cJSON_IsNumber(pt) && pt->valuedouble >= 0 && pt->valuedouble < 9e15 ? (int64_t)pt->valuedouble : 0;
        resp->usage.completion_tokens =
            cJSON_IsNumber(ct) && ct->valuedouble >= 0 && ct->valuedouble < 9e15 ? (int64_t)ct->valuedouble : 0;
    }
    cJSON_Delete(root);
    if (!ok)
        dsp_chat_response_free(resp);
    return ok;
}

dsp_status dsp_cache_get(dsp_cache *c, const char *key, dsp_chat_response *resp, bool *found, dsp_error *err)
{
    *found = false;
    dsp_status st = DSP_OK;
    pthread_mutex_lock(&c->lock);
    sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(c->get);
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(c->get, 0);
        int len = sqlite3_column_bytes(c->get, 0);
        if (text)
            *found = decode_value(text, len, resp);
    } else if (rc != SQLITE_DONE) {
        st = db_error(c, err, "lookup failed");
    }
    sqlite3_reset(c->get);
    sqlite3_clear_bindings(c->get);
    pthread_mutex_unlock(&c->lock);
    return st;
}

dsp_status dsp_cache_put(dsp_cache *c, const char *key, const dsp_chat_response *resp, dsp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    for (size_t i = 0; choices && i < resp->n_choices; i++)
        cJSON_AddItemToArray(choices, cJSON_CreateString(resp->choices[i]));
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", (double)resp->usage.prompt_tokens);
    cJSON_AddNumberToObject(usage, "completion_tokens", (double)resp->usage.completion_tokens);
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory writing to the cache");
    dsp_status st = DSP_OK;
    pthread_mutex_lock(&c->lock);
    sqlite3_bind_text(c->put, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->put, 2, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(c->put);
    if (rc != SQLITE_DONE)
        st = db_error(c, err, "write failed");
    sqlite3_reset(c->put);
    sqlite3_clear_bindings(c->put);
    pthread_mutex_unlock(&c->lock);
    free(text);
    return st;
}
