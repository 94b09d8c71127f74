/* A retrieval tool's public header, as a library would ship it. */
#ifndef SEARCH_H
#define SEARCH_H
#include <stdbool.h>
#include <stdint.h>

typedef const char *text;

/* Returns the k best passages joined by newlines; the caller frees it. */
char *search(text query, int64_t k, double min_score, bool exact);

struct index;
int open_index(struct index *ix, const char *path);
int rank(const char *const *docs, size_t n_docs);

/* Logs a line; nothing comes back. */
void notify(const char *line);

/* Fine in a header tree-sitter reads, not in a C compiler. */
int64_t clip(int64_t x, int64_t default);
#endif
