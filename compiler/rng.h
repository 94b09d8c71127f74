/* rng.h — a small seeded PRNG for the optimizers (xoshiro256**, seeded
 * through splitmix64).
 *
 * Every random choice an optimizer makes goes through one of these, never
 * rand(), so the same seed gives the same demos, candidates and trials on
 * every machine and C library. The state is a plain value: copy it to fork
 * a stream, or derive an independent stream with rng_derive().
 */
#ifndef DSPCC_RNG_H
#define DSPCC_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seeds the generator; any seed (0 included) gives a valid state. */
void rng_seed(rng *r, uint64_t seed);
/* A stream for (seed, stream): different streams of one seed are independent
 * enough for picking demos per round or proposals per predictor. */
void rng_derive(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng *r);
/* Uniform in [0, n) without modulo bias; n == 0 returns 0. */
size_t rng_below(rng *r, size_t n);
/* Fisher-Yates shuffle of n indices. */
void rng_shuffle(rng *r, size_t *a, size_t n);

#endif
