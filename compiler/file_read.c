/* file_read.c — regular files only (see file_read.h). */
#include "file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_reason(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "is a FIFO (named pipe), not a regular file";
    if (S_ISDIR(mode))
        return "is a directory, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "is a device, not a regular file";
    if (S_ISSOCK(mode))
        return "is a socket, not a regular file";
    return "is not a regular file";
}

static void set_why(const char **why, const char *reason)
{
    if (why)
        *why = reason;
}

FILE *fr_open_regular(const char *path, const char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        set_why(why, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        set_why(why, strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        set_why(why, kind_reason(st.st_mode));
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    /* Reads of a regular file never wait; blocking mode is restored only so
     * that stdio sees the descriptor as any other. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
        set_why(why, strerror(e));
    }
    return f;
}

int fr_check_regular(const char *path, const char **why)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        set_why(why, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        set_why(why, kind_reason(st.st_mode));
        errno = EINVAL;
        return -1;
    }
    return 0;
}
