/* cache_create.c — a new cache file made whole in memory and linked into
 * place (cache.h, dsp_cache_create_file).
 *
 * Why: a program's first call in an empty cache directory made SQLite
 * create the file, a rollback journal (for the switch to WAL), the WAL and
 * its index, each a directory operation that waits on a busy disk; that
 * was most of a one-call program's extra wall time. Here SQLite builds the
 * database (table and first rows) in memory, its bytes go to one private
 * temporary file beside the cache, and link(2) gives it the cache's name:
 * atomic, so another process (or a kill -9) sees no file or the whole
 * one, and when another process made the file first link fails and the
 * caller writes its rows the usual way. Header bytes 18 and 19 set to 2
 * (SQLite's file format: "WAL") make every later open use WAL as before. */
#include "cache.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The database in memory: the table (schema_sql) and the rows. */
static unsigned char *build_image(const char *schema_sql, const char *const *keys, const char *const *values, size_t n,
                                  long long now, sqlite3_int64 *size)
{
    sqlite3 *m = NULL;
    sqlite3_stmt *put = NULL;
    unsigned char *img = NULL;
    bool ok = sqlite3_open_v2(":memory:", &m, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
              sqlite3_exec(m, schema_sql, NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_exec(m, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(m, "INSERT OR REPLACE INTO responses(key, value, created) VALUES (?1, ?2, ?3)", -1,
                                 &put, NULL) == SQLITE_OK;
    for (size_t i = 0; ok && i < n; i++) {
        sqlite3_bind_text(put, 1, keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(put, 2, values[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(put, 3, now);
        ok = sqlite3_step(put) == SQLITE_DONE;
        sqlite3_reset(put);
    }
    sqlite3_finalize(put);
    if (ok && sqlite3_exec(m, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        img = sqlite3_serialize(m, "main", size, 0);
    sqlite3_close(m);
    if (img && *size >= 100) {
        img[18] = 2; /* file format write version: WAL */
        img[19] = 2; /* read version: WAL */
        return img;
    }
    sqlite3_free(img);
    return NULL;
}

int dsp_cache_create_file(const char *path, const char *schema_sql, const char *const *keys,
                          const char *const *values, size_t n, long long now)
{
    sqlite3_int64 size = 0;
    unsigned char *img = build_image(schema_sql, keys, values, n, now, &size);
    if (!img)
        return -1;
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    int fd = -1;
    if (tmp) {
        snprintf(tmp, len, "%s.new-XXXXXX", path);
        fd = mkstemp(tmp);
    }
    int made = -1;
    if (fd >= 0) {
        bool ok = fchmod(fd, 0644) == 0;
        for (sqlite3_int64 off = 0; ok && off < size;) {
            ssize_t w = write(fd, img + off, (size_t)(size - off));
            if (w < 0 && errno == EINTR)
                continue;
            ok = w > 0;
            off += ok ? w : 0;
        }
        ok = close(fd) == 0 && ok;
        if (ok)
            made = link(tmp, path) == 0 ? 1 : errno == EEXIST ? 0 : -1;
        unlink(tmp);
    }
    free(tmp);
    sqlite3_free(img);
    return made;
}
