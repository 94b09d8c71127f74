/* retriever.c — a tiny keyword retriever, the external tool of the
 * multihop example. Built as a shared object (see Makefile here):
 *
 *   char *retrieve(const char *query, long k, const char *corpus);
 *
 * Scores every line of `corpus` (one passage per line) by how many distinct
 * query words of 3+ letters it contains, and returns the best k passages
 * joined by blank lines, malloc'ed (the caller frees it), or NULL when the
 * corpus cannot be read. Deterministic: ties keep file order.
 *
 * A relative corpus path is resolved against RETRIEVER_DIR, the example's
 * folder, which the build passes as an absolute path (-DRETRIEVER_DIR=...),
 * the way C programs bake in their data directory: the program then finds
 * its corpus whatever directory it runs in. Built without it, a relative
 * path is relative to the working directory, as fopen has it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64

/* Question words match everything; leave them out of the score. */
static const char *const stop_words[] = {
    "the", "and", "did", "does", "what", "who", "whom", "where", "when", "which", "how",
    "was", "were", "are", "for", "with", "from", "that", "this", "its", "many", "much", NULL
};

static int is_stop_word(const char *w)
{
    for (size_t i = 0; stop_words[i]; i++)
        if (strcmp(stop_words[i], w) == 0)
            return 1;
    return 0;
}

static size_t query_words(const char *q, char words[][32])
{
    size_t n = 0;
    while (*q && n < MAX_WORDS) {
        while (*q && !isalnum((unsigned char)*q))
            q++;
        size_t len = 0;
        char w[32];
        while (isalnum((unsigned char)*q)) {
            if (len < sizeof w - 1)
                w[len++] = (char)tolower((unsigned char)*q);
            q++;
        }
        w[len] = '\0';
        if (len >= 3 && !is_stop_word(w))
            memcpy(words[n++], w, len + 1);
    }
    return n;
}

static int contains_word(const char *text, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, word, wl) == 0 && (p == text || !isalnum((unsigned char)p[-1])) &&
            !isalnum((unsigned char)p[wl]))
            return 1;
    }
    return 0;
}

#ifndef RETRIEVER_DIR
#define RETRIEVER_DIR ""
#endif

/* corpus itself when it is absolute or there is no RETRIEVER_DIR, else
 * RETRIEVER_DIR/corpus; malloc'ed. */
static char *corpus_path(const char *corpus)
{
    const char *dir = RETRIEVER_DIR;
    if (corpus[0] == '/' || dir[0] == '\0')
        return strdup(corpus);
    size_t n = strlen(dir) + 1 + strlen(corpus) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, corpus);
    return p;
}

char *retrieve(const char *query, long k, const char *corpus)
{
    if (!query || !corpus)
        return NULL;
    char *path = corpus_path(corpus);
    FILE *fp = path ? fopen(path, "r") : NULL;
    free(path);
    if (!fp || k < 1)
        return fp ? (fclose(fp), NULL) : NULL;
    char words[MAX_WORDS][32];
    size_t nw = query_words(query, words);
    char **best = calloc((size_t)k, sizeof *best);
    int *score = calloc((size_t)k, sizeof *score);
    char *line = NULL;
    size_t cap = 0;
    while (best && score && getline(&line, &cap, fp) > 0) {
        line[strcspn(line, "\n")] = '\0';
        int s = 0;
        for (size_t i = 0; i < nw; i++)
            s += contains_word(line, words[i]);
        for (long i = 0; i < k; i++) {
            if (!best[i] || s > score[i]) {
                free(best[k - 1]);
                memmove(best + i + 1, best + i, (size_t)(k - 1 - i) * sizeof *best);
                memmove(score + i + 1, score + i, (size_t)(k - 1 - i) * sizeof *score);
                best[i] = strdup(line);
                score[i] = s;
                break;
            }
        }
    }
    free(line);
    fclose(fp);
    size_t total = 1;
    for (long i = 0; best && i < k; i++)
        total += best[i] ? strlen(best[i]) + 2 : 0;
    char *out = best ? malloc(total) : NULL;
    if (out) {
        out[0] = '\0';
        for (long i = 0; i < k; i++) {
            if (!best[i])
                continue;
            if (out[0])
                strcat(out, "\n\n");
            strcat(out, best[i]);
        }
    }
    for (long i = 0; best && i < k; i++)
        free(best[i]);
    free(best);
    free(score);
    return out;
}
