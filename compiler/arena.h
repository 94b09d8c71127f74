/* arena.h — bump allocator for the compiler.
 *
 * A whole front-end run (AST, diagnostics, IR) allocates from one arena and
 * frees it in one call, so passes never track individual ownership.
 * Allocation failure aborts with a message: the compiler cannot continue
 * without memory and a partially built AST would be worse than stopping.
 */
#ifndef DSPCC_ARENA_H
#define DSPCC_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;
} arena;

void arena_init(arena *a);
void arena_free(arena *a);
/* Moves everything child holds into a (it lives until a is freed) and
 * leaves child empty: work done on other threads, each in an arena of its
 * own, joins the caller's when it is done. */
void arena_adopt(arena *a, arena *child);

/* Zeroed, aligned for any object. */
void *arena_alloc(arena *a, size_t size);
/* Zeroed array of n elements, with overflow check. */
void *arena_array(arena *a, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A growable array of pointers whose storage lives in the arena. */
typedef struct ptr_vec {
    void **items;
    size_t len, cap;
} ptr_vec;

void ptr_vec_push(arena *a, ptr_vec *v, void *item);

#endif
