/* random_reply.h — replies made of random pieces for the adapters' parser
 * robustness tests: each round strings together fewer than max_pieces of
 * the given pieces (xorshift64 on *x, so a seed gives the same rounds). */
#ifndef TESTS_RANDOM_REPLY_H
#define TESTS_RANDOM_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void random_reply_step(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
}

/* Fills buf (not NUL-terminated) and returns its length; stops early
 * rather than overflow size. */
static inline size_t random_reply(uint64_t *x, const char *const *pieces, size_t n_pieces, int max_pieces, char *buf,
                                  size_t size)
{
    size_t len = 0;
    int n = (int)(*x % (uint64_t)max_pieces);
    for (int i = 0; i < n; i++) {
        random_reply_step(x);
        const char *piece = pieces[*x % n_pieces];
        size_t pl = strlen(piece);
        if (len + pl >= size)
            break;
        memcpy(buf + len, piece, pl);
        len += pl;
    }
    random_reply_step(x);
    return len;
}

#endif
