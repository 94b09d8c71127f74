/* search.h — the agent example's tool: BM25 over a file of passages.
 *
 * Returns the best k passages for query, best first, separated by blank
 * lines, malloc'ed (the caller frees it); NULL when the corpus cannot be
 * read or k < 1. The corpus is the file $AGENT_CORPUS names, one passage a
 * line; without it, data/passages.txt of the example's folder. Read on every
 * call, so the same program searches a larger corpus without a rebuild. */
#ifndef AGENT_SEARCH_H
#define AGENT_SEARCH_H

#include <stdint.h>

char *search(const char *query, int64_t k);

#endif
