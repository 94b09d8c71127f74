/* text.h — word tokens, TF-IDF vectors and hashing for the learner.
 *
 * Tokens are lower-cased ASCII letter/digit runs, lightly stemmed (plural
 * "s", "ing", "ed") and without common English stop words, interned per
 * request in a vocabulary so vectors are sorted arrays of small ids.
 */
#ifndef RS_TEXT_H
#define RS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct rs_vocab_slot {
    const char *word;
    uint32_t len;
    uint32_t id;
} rs_vocab_slot;

typedef struct rs_vocab {
    rs_arena *arena;
    rs_vocab_slot *slots; /* open addressing, cap a power of two */
    size_t cap, n;
    const char **words;   /* id -> word */
    uint32_t *df;         /* id -> document frequency (filled by callers) */
    const char **surface; /* id -> first lower-cased spelling seen, for prose */
    size_t words_cap;
} rs_vocab;

void rs_vocab_init(rs_vocab *v, rs_arena *a);
uint32_t rs_vocab_intern(rs_vocab *v, const char *w, size_t len);
/* UINT32_MAX when the word was never interned. */
uint32_t rs_vocab_find(const rs_vocab *v, const char *w, size_t len);

typedef struct rs_tokens {
    uint32_t *ids;
    size_t n;
} rs_tokens;

/* Content words of text, in order (stop words dropped, stems interned). */
void rs_tokenize(rs_vocab *v, const char *text, size_t len, rs_tokens *out);
/* Normalizes one word the same way into buf (returns its length, 0 if the
 * word is a stop word or empty). */
size_t rs_stem(const char *w, size_t len, char *buf, size_t size);

/* A sparse vector: ids ascending, unit length after rs_vec_normalize. */
typedef struct rs_vec {
    uint32_t *ids;
    float *w;
    size_t n;
} rs_vec;

/* Term counts of toks as a vector (ids ascending). */
void rs_vec_counts(rs_arena *a, const rs_tokens *toks, rs_vec *out);
/* Adds 1 to v->df of every distinct id of vec. */
void rs_vocab_count_df(rs_vocab *v, const rs_vec *vec);
/* Turns counts into tf-idf weights ((1+log tf) * idf, idf = ln((1+N)/(1+df))+1)
 * and scales to unit length. */
void rs_vec_tfidf(rs_vec *vec, const rs_vocab *v, size_t n_docs);
float rs_vec_dot(const rs_vec *a, const rs_vec *b);

uint64_t rs_hash(const void *data, size_t len, uint64_t seed);
uint64_t rs_mix(uint64_t x);
/* A uniform double in [0,1) from a 64-bit state, advancing it. */
double rs_rand01(uint64_t *state);

/* Whitespace-separated words of s (NULL: 0): the fixture's token estimate
 * and its measure of answer length. */
long rs_count_words(const char *s);

#endif
