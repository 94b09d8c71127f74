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
 * caller writes its rows the usual way. On Linux the temporary has no name
 * at all (O_TMPFILE; linkat names it), so it is one directory entry and
 * nothing to remove; elsewhere it is a named one, removed after. Header
 * bytes 18 and 19 set to 2 (SQLite's file format: "WAL") make every later
 * open use WAL as before. */
#define _GNU_SOURCE /* O_TMPFILE (Linux); without it, the named temporary */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

static bool write_all(int fd, const unsigned char *p, sqlite3_int64 size)
{
    for (sqlite3_int64 off = 0; off < size;) {
        ssize_t w = write(fd, p + off, (size_t)(size - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

/* Linux: an unnamed file in path's directory (O_TMPFILE), given its name
 * by linkat through /proc: one directory entry, nothing to remove after.
 * Returns as dsp_cache_create_file, or -2 when the system cannot (no
 * O_TMPFILE on this file system, no /proc): then a named temporary. */
static int create_unnamed(const char *path, const unsigned char *img, sqlite3_int64 size)
{
    /* Tests build this file with DSP_CACHE_NO_TMPFILE to take the path of
     * file systems without O_TMPFILE (tests/runtime/test_cache_create.c). */
#if defined(O_TMPFILE) && !defined(DSP_CACHE_NO_TMPFILE)
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int fd = dir ? open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644) : -1;
    free(dir);
    if (fd < 0)
        return -2;
    int made = -2;
    if (write_all(fd, img, size)) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        made = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 1 : errno == EEXIST ? 0 : -2;
    }
    close(fd);
    return made;
#else
    (void)path;
    (void)img;
    (void)size;
    return -2;
#endif
}

/* A new file named path.new-RANDOM, opened for writing, its name in tmp;
 * -1 when none can be made. Made with mode 0644 as SQLite makes a
 * database, so the umask applies as it does to the O_TMPFILE file
 * (mkstemp's 0600 widened by fchmod to 0644 ignored it: a cache of
 * prompts readable by all under umask 077). */
static int open_named(const char *path, char *tmp, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long r = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30) ^
                           ((unsigned long long)getpid() << 12);
    for (int i = 0; i < 100; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(tmp, len, "%s.new-%012llx", path, (r >> 16) & 0xffffffffffffull);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int dsp_cache_create_file(const char *path, const char *schema_sql, const char *const *keys,
                          const char *const *values, size_t n, long long now)
{
    sqlite3_int64 size = 0;
    unsigned char *img = build_image(schema_sql, keys, values, n, now, &size);
    if (!img)
        return -1;
    int made = create_unnamed(path, img, size);
    if (made != -2) {
        sqlite3_free(img);
        return made;
    }
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    int fd = tmp ? open_named(path, tmp, len) : -1;
    made = -1;
    if (fd >= 0) {
        bool ok = write_all(fd, img, size);
        ok = close(fd) == 0 && ok;
        if (ok)
            made = link(tmp, path) == 0 ? 1 : errno == EEXIST ? 0 : -1;
        unlink(tmp);
    }
    free(tmp);
    sqlite3_free(img);
    return made;
}
