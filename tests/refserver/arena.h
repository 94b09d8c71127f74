/* arena.h — per-request bump allocator of the reference server.
 *
 * Every request parses a prompt into many small strings and vectors that all
 * die together when the reply is sent, so one arena per request keeps the
 * parsing code free of ownership bookkeeping and makes leaks impossible.
 * Allocation failure aborts the process: this is a test fixture, and a
 * fixture that half-answers under memory pressure would mislead tests.
 */
#ifndef RS_ARENA_H
#define RS_ARENA_H

#include <stddef.h>

typedef struct rs_arena_chunk rs_arena_chunk;

typedef struct rs_arena {
    rs_arena_chunk *head;
} rs_arena;

void rs_arena_init(rs_arena *a);
void rs_arena_free(rs_arena *a);
/* Zeroed, aligned for any type; never NULL. */
void *rs_alloc(rs_arena *a, size_t size);
char *rs_strndup(rs_arena *a, const char *s, size_t n);
char *rs_strdup(rs_arena *a, const char *s);
/* Grows an array allocated in the arena (the old block is simply abandoned). */
void *rs_grow(rs_arena *a, void *old, size_t old_size, size_t new_size);

/* A growable string in the arena. */
typedef struct rs_buf {
    rs_arena *arena;
    char *data;
    size_t len, cap;
} rs_buf;

void rs_buf_init(rs_buf *b, rs_arena *a);
void rs_buf_add(rs_buf *b, const char *s, size_t n);
void rs_buf_puts(rs_buf *b, const char *s);
void rs_buf_printf(rs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents (never NULL). */
const char *rs_buf_str(rs_buf *b);

#endif
