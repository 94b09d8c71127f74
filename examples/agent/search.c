/* search.c — BM25 (k1 = 1.2, b = 0.75) over one passage a line; see search.h.
 * Deterministic: ties keep file order. Stateless, so any number of threads
 * may call it. */
#include "search.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SEARCH_DIR
#define SEARCH_DIR "."
#endif

#define MAX_TERMS 32

typedef struct doc {
    char *text;
    size_t words;
    unsigned tf[MAX_TERMS];
} doc;

/* The next lowercased word of 2+ characters at *p into w (size 32); 0 at the end. */
static int next_word(const char **p, char w[32])
{
    for (;;) {
        while (**p && !isalnum((unsigned char)**p)) (*p)++;
        if (!**p) return 0;
        size_t n = 0;
        while (isalnum((unsigned char)**p)) {
            if (n < 31) w[n++] = (char)tolower((unsigned char)**p);
            (*p)++;
        }
        w[n] = '\0';
        if (n >= 2) return 1;
    }
}

static char *read_line(FILE *fp)
{
    size_t cap = 256, n = 0;
    char *s = malloc(cap);
    int c;
    while (s && (c = fgetc(fp)) != EOF && c != '\n') {
        if (n + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
        if (s) s[n++] = (char)c;
    }
    if (!s || (n == 0 && c == EOF)) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

char *search(const char *query, int64_t k)
{
    const char *path = getenv("AGENT_CORPUS");
    char def[4096];
    if (!path || !*path) {
        snprintf(def, sizeof def, "%s/data/passages.txt", SEARCH_DIR);
        path = def;
    }
    if (!query || k < 1) return NULL;
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;

    char terms[MAX_TERMS][32];
    size_t nt = 0;
    char w[32];
    for (const char *p = query; nt < MAX_TERMS && next_word(&p, w);) {
        size_t i = 0;
        while (i < nt && strcmp(terms[i], w) != 0) i++;
        if (i == nt) memcpy(terms[nt++], w, 32);
    }
    doc *docs = NULL;
    size_t nd = 0, cap = 0, total = 0;
    for (char *line; (line = read_line(fp)) != NULL;) {
        if (nd == cap) {
            doc *d = realloc(docs, (cap = cap ? 2 * cap : 64) * sizeof *d);
            if (!d) {
                free(line);
                break;
            }
            docs = d;
        }
        doc *d = &docs[nd++];
        memset(d, 0, sizeof *d);
        d->text = line;
        for (const char *p = line; next_word(&p, w); d->words++)
            for (size_t i = 0; i < nt; i++)
                if (strcmp(terms[i], w) == 0) d->tf[i]++;
        total += d->words;
    }
    fclose(fp);
    double avg = nd ? (double)total / (double)nd : 1;
    double idf[MAX_TERMS];
    for (size_t i = 0; i < nt; i++) {
        size_t df = 0;
        for (size_t j = 0; j < nd; j++) df += docs[j].tf[i] > 0;
        idf[i] = log(((double)nd - (double)df + 0.5) / ((double)df + 0.5) + 1.0);
    }
    double *score = calloc(nd + 1, sizeof *score);
    size_t *order = calloc(nd + 1, sizeof *order);
    char *out = NULL;
    if (score && order) {
        for (size_t j = 0; j < nd; j++) {
            order[j] = j;
            for (size_t i = 0; i < nt; i++) {
                double tf = docs[j].tf[i];
                score[j] += idf[i] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * (double)docs[j].words / avg));
            }
        }
        /* Insertion sort, stable: a short corpus, and ties keep file order. */
        for (size_t j = 1; j < nd; j++)
            for (size_t i = j; i > 0 && score[order[i]] > score[order[i - 1]]; i--) {
                size_t t = order[i];
                order[i] = order[i - 1];
                order[i - 1] = t;
            }
        size_t n = (size_t)k < nd ? (size_t)k : nd, len = 1;
        for (size_t i = 0; i < n; i++) len += strlen(docs[order[i]].text) + 2;
        out = malloc(len);
        if (out) {
            out[0] = '\0';
            for (size_t i = 0; i < n; i++) {
                if (i) strcat(out, "\n\n");
                strcat(out, docs[order[i]].text);
            }
        }
    }
    for (size_t j = 0; j < nd; j++) free(docs[j].text);
    free(docs);
    free(score);
    free(order);
    return out;
}
