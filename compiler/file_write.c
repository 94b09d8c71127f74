/* file_write.c — atomic whole-file writes (file_write.h). */
#include "file_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fw_write_file(const char *path, const char *data, size_t len, mode_t mode, char why[FW_WHY_MAX])
{
    return fw_write_file_ex(path, data, len, mode, 1, why);
}

int fw_write_file_ex(const char *path, const char *data, size_t len, mode_t mode, int durable, char why[FW_WHY_MAX])
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(why, FW_WHY_MAX, "cannot write %s: out of memory", path);
        return -1;
    }
    snprintf(tmp, n, "%.*s.%s.XXXXXX", (int)dir_len, path, path + dir_len);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, FW_WHY_MAX, "cannot write %s: cannot create a temporary file beside it: %s", path,
                 strerror(errno));
        free(tmp);
        return -1;
    }
    const char *step = "write";
    int ok = 1;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (w == 0)
            errno = EIO;
        off += ok ? (size_t)w : 0;
    }
    /* mkstemp makes the file 0600. */
    if (ok && fchmod(fd, mode) != 0) {
        ok = 0;
        step = "chmod";
    }
    if (ok && durable && fsync(fd) != 0) {
        ok = 0;
        step = "fsync";
    }
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        step = "close";
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        step = "rename";
        saved = errno;
    }
    if (!ok) {
        snprintf(why, FW_WHY_MAX, "cannot write %s (%s): %s", path, step, strerror(saved ? saved : EIO));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}
