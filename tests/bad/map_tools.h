/* map_tools.h — C maps (keys, values, count) for the bad programs map_*.dsp. */
#include <stddef.h>
#include <stdint.h>

struct store {
    char *name;
    char **stock_keys;
    int32_t *stock_values;
    size_t n_stock;
};
int audit(const struct store *s, char **report);

struct tagged {
    char **tags_keys;
    double *tags_values;
};
int weigh(const struct tagged *t, double *sum);

int spread(const char *const *w_keys, const double *w_values, char **out);
int scale(const char *const *w_keys, double *w_values, size_t n_w, char **out);
int tally(const char *q, char ***counts_keys, int64_t *counts_values, size_t *n_counts);

/* map_output_named_like_map.dsp: an output named like the map passed in. */
int total(const char *const *scores_keys, const double *scores_values, size_t n_scores, double *scores);
