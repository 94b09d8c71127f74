/* cache_quarantine.c — a cache file SQLite cannot read is moved aside
 * (cache.h, dsp_cache_quarantine).
 *
 * Why: a new cache file is written without fsync (cache_create.c), so a
 * power loss seconds after it was made can leave it unreadable. It holds
 * only cached replies, but a run that stops on it, naming the file and
 * asking the user to delete it, costs a person's attention for nothing; one
 * that deletes it silently could lose rows that are still there. Renaming
 * it (and its -wal and -shm, which belong to it: a WAL left beside a new
 * file could be replayed into it) keeps every byte for whoever wants them,
 * and the run goes on with a new file.
 *
 * Several processes may share the directory and find the same damaged
 * file at once: the rename happens under an exclusive flock on the
 * directory, and only while the file at path is still the one found
 * damaged (same device and inode), so a process that comes second never
 * moves the new file the first one made. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* path + suffix (-wal, -shm, or "") renamed to moved + suffix; a missing
 * one is no error. */
static bool move_one(const char *path, const char *moved, const char *suffix)
{
    char from[4096], to[4096];
    if ((size_t)snprintf(from, sizeof from, "%s%s", path, suffix) >= sizeof from ||
        (size_t)snprintf(to, sizeof to, "%s%s", moved, suffix) >= sizeof to)
        return false;
    return rename(from, to) == 0 || errno == ENOENT;
}

int dsp_cache_quarantine(const char *path, dev_t dev, ino_t ino, char *moved, size_t moved_size, char *why,
                         size_t why_size)
{
    moved[0] = '\0';
    why[0] = '\0';
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    if (dfd < 0 || flock(dfd, LOCK_EX) != 0) {
        snprintf(why, why_size, "cannot lock its directory: %s", strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    int done = 0;
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_dev != dev || sb.st_ino != ino) {
        done = 0; /* another process moved it (and may have made a new one) */
    } else {
        /* responses.sqlite3.damaged-20261207T120000Z, -2, -3 ... when taken */
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
        done = -1;
        for (int i = 1; i < 100 && done < 0; i++) {
            char name[4096];
            if ((size_t)snprintf(name, sizeof name, i == 1 ? "%s.damaged-%s" : "%s.damaged-%s-%d", path, stamp, i) >=
                sizeof name)
                break;
            if (access(name, F_OK) == 0)
                continue;
            snprintf(moved, moved_size, "%s", name);
            /* The WAL and its index first: the main file goes last, so a
             * process that opens path meanwhile never pairs a new file
             * with the old WAL. */
            if (move_one(path, moved, "-wal") && move_one(path, moved, "-shm") && move_one(path, moved, ""))
                done = 1;
            else {
                snprintf(why, why_size, "cannot rename it to %s: %s", moved, strerror(errno));
                break;
            }
        }
        if (done < 0 && !why[0])
            snprintf(why, why_size, "no free name to move it to");
    }
    flock(dfd, LOCK_UN);
    close(dfd);
    return done;
}
