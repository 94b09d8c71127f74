/* file_read.h — opening a file dspcc reads (a source or import, a data set,
 * a state, a tool's header or library, a sidecar): regular files only. A
 * FIFO blocks the open itself until some writer comes (dspcc check hung for
 * ever on `import "f"` naming a named pipe), and a directory or device is
 * no text, so each is refused before a byte is read. The open does not wait
 * (O_NONBLOCK) and the type is checked on the descriptor it gave (fstat),
 * so the file checked is the file read. */
#ifndef DSPCC_FILE_READ_H
#define DSPCC_FILE_READ_H

#include <stdio.h>

/* Opens path for reading ("rb") when it is a regular file. Otherwise
 * returns NULL with errno set (EINVAL when the file exists but is not a
 * regular file) and *why (if why is not NULL) a static reason to print
 * after the path: strerror(errno), or "is a FIFO (named pipe), not a regular
 * file" / "is a directory, ..." / "is a device, ...". */
FILE *fr_open_regular(const char *path, const char **why);

/* The same check alone, for files opened by others (dlopen): 0 when path
 * is a regular file, else -1 with *why as above. */
int fr_check_regular(const char *path, const char **why);

#endif
