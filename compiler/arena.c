/* arena.c — bump allocator; see arena.h. */
#include "arena.h"
#include "strfmt.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_MIN (64u * 1024u)

struct arena_block {
    arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

static void arena_oom(size_t size)
{
    fprintf(stderr, "dspcc: out of memory (allocating %zu bytes)\n", size);
    abort();
}

void arena_init(arena *a) { a->head = NULL; }

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void arena_adopt(arena *a, arena *child)
{
    arena_block *first = child->head;
    if (!first)
        return;
    child->head = NULL;
    if (!a->head) {
        a->head = first;
        return;
    }
    /* Behind a's current block, so a goes on filling that one. */
    arena_block *last = first;
    while (last->next)
        last = last->next;
    last->next = a->head->next;
    a->head->next = first;
}

void *arena_alloc(arena *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    if (size > SIZE_MAX - align)
        arena_oom(size);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
        b = malloc(sizeof *b + cap);
        if (!b)
            arena_oom(size);
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *arena_array(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        arena_oom(SIZE_MAX);
    return arena_alloc(a, n * size);
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    /* Formatted once on the stack and copied, which costs less than
     * measuring with a first vsnprintf; only a longer text is formatted
     * twice (code generation makes hundreds of thousands of short ones). */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = strfmt_v(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    strfmt_v(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void ptr_vec_push(arena *a, ptr_vec *v, void *item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **items = arena_array(a, cap, sizeof *items);
        if (v->len)
            memcpy(items, v->items, v->len * sizeof *items);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = item;
}
