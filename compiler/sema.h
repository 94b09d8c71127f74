/* sema.h — semantic analysis: syntax trees in, checked IR out.
 *
 * Loads the main file and its imports, resolves every name, checks every
 * field flow, and reports problems through the diagnostic engine. Returns
 * the program when there were no errors (warnings are fine), else NULL.
 * Everything is allocated in `a`.
 */
#ifndef DSPCC_SEMA_H
#define DSPCC_SEMA_H

#include "arena.h"
#include "diag.h"
#include "ir.h"

ir_program *sema_check_file(arena *a, diag *d, const char *path);

/* The same over an in-memory source (tests); imports are resolved
 * relative to src->dir. */
ir_program *sema_check_source(arena *a, diag *d, const source_file *src);

#endif
