/* file_write.h — writing a whole file so that no reader (or make) ever sees
 * half of it: the bytes go to a temporary file beside it, `.NAME.XXXXXX`
 * from mkstemp (unique, so two processes writing one path at once never
 * share it), are fsync'ed, and the temporary is renamed over the path. A
 * kill -9 at any moment leaves the old file or the new one, and at worst a
 * stray hidden temporary. Used for everything dspcc writes: generated C,
 * depfiles, states, reports, formatted sources, fine-tuning files. */
#ifndef DSPCC_FILE_WRITE_H
#define DSPCC_FILE_WRITE_H

#include <stddef.h>
#include <sys/types.h>

/* Room for a message of fw_write_file. */
#define FW_WHY_MAX 1024

/* mode: the file's permission bits (0644 for an ordinary file). Returns 0,
 * or -1 with why filled ("cannot write PATH (rename): No space left on
 * device") and the temporary removed. Plain C with no runtime types, so the
 * front end (dspcc fmt) uses it too. */
int fw_write_file(const char *path, const char *data, size_t len, mode_t mode, char why[FW_WHY_MAX]);

/* The same with durable 0: no fsync, for files made again from their
 * sources by the next build (generated C, depfiles), as a C compiler
 * writes its objects. The rename still makes it the old file or the new
 * one, whole, across kill -9; only a power loss soon after can leave it
 * empty (make then rebuilds it when the source is newer, or
 * `dspcc build` again). An fsync of each output cost more wall time than
 * generating it on a busy disk. */
int fw_write_file_ex(const char *path, const char *data, size_t len, mode_t mode, int durable, char why[FW_WHY_MAX]);

#endif
