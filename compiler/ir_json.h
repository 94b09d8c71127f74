/* ir_json.h — the checked IR as stable JSON (`dspcc dump-ir`).
 *
 * Stable: object keys sorted, arrays in declaration order, no addresses,
 * paths relative to the main .dsp file's directory, so the output can be
 * committed as a golden file and diffed.
 */
#ifndef DSPCC_IR_JSON_H
#define DSPCC_IR_JSON_H

#include "ir.h"

/* A malloc'ed, NUL-terminated JSON text ending in a newline; NULL when out
 * of memory. The caller frees it with free(). */
char *ir_to_json(const ir_program *p);

#endif
