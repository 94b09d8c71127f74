/* tools.h — the header docs/language.md's `tool search ... header "tools.h"`
 * example names (tests/docs/dsp_blocks.sh checks it here). */
#ifndef TOOLS_H
#define TOOLS_H
#include <stddef.h>
#include <stdint.h>

/* search(query: string, k: int) -> (hits: list<string>) */
int search(const char *query, int64_t k, char ***hits, size_t *n_hits);

#endif
