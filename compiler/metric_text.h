/* metric_text.h — the text functions behind the metric builtins, pure so
 * they can be tested alone. Internal to metric_eval.c. */
#ifndef DSPCC_METRIC_TEXT_H
#define DSPCC_METRIC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Equal ignoring ASCII case and surrounding white space. */
bool mt_text_equal(const char *a, const char *b);
/* needle occurs in hay, ignoring ASCII case; an empty needle always does. */
bool mt_text_contains(const char *hay, const char *needle);
/* SQuAD token F1: lower-case, drop punctuation and the articles a/an/the,
 * split on white space, F1 of the token multisets. Two texts with no
 * tokens score 1 when both are empty, else 0. Returns -1 when out of
 * memory. */
double mt_f1(const char *pred, const char *gold);
/* Equal after SQuAD normalization (the tokens mt_f1 compares): "The Beatles"
 * equals "beatles". Returns -1 when out of memory, else 1 or 0. */
int mt_norm_equal(const char *a, const char *b);

#endif
