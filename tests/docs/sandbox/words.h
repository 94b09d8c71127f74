/* Tools that pass lists and write results through output parameters: every
 * convention of docs/c-headers.md that a .dsp program can call. Built into
 * libwords.so by the tests that use it (words.c). */
#ifndef WORDS_H
#define WORDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The k longest words of text (ties: first seen), longest first. Status 0;
 * 2 when k is negative. */
int top_words(const char *text, int64_t k, char ***words, size_t *n_words);

/* The words joined by sep; the caller frees the result. */
char *join(const char *const *words, size_t n_words, const char *sep);

/* How many numbers, their mean (0 for none) and whether any is negative. */
int stats(const double *xs, size_t n_xs, int64_t *count, double *mean, bool *any_negative);

/* The length in bytes of each word. */
void lengths(const char *const *words, size_t words_len, uint32_t **lens, size_t *lens_len);

/* The sum of a list of integers, as a plain return value. */
long long total(const int64_t *xs, size_t xs_count);

/* Fails with status 3 and a message when asked; 0 and "fine" otherwise. */
int may_fail(bool fail, char **message);

#endif
