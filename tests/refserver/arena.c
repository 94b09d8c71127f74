/* arena.c — bump allocator and arena strings (see arena.h). */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_arena_chunk {
    rs_arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

enum { RS_CHUNK_MIN = 16384 };

void rs_arena_init(rs_arena *a) { a->head = NULL; }

void rs_arena_free(rs_arena *a)
{
    rs_arena_chunk *c = a->head;
    while (c) {
        rs_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

void *rs_alloc(rs_arena *a, size_t size)
{
    size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    rs_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > RS_CHUNK_MIN ? size : RS_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) {
            fputs("dsp-refserver: out of memory\n", stderr);
            abort();
        }
        c->used = 0;
        c->cap = cap;
        /* A big one-off block goes behind the current chunk so the
         * current chunk's free space is not wasted. */
        if (a->head && cap > RS_CHUNK_MIN) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *rs_strndup(rs_arena *a, const char *s, size_t n)
{
    char *d = rs_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *rs_strdup(rs_arena *a, const char *s) { return rs_strndup(a, s, strlen(s)); }

void *rs_grow(rs_arena *a, void *old, size_t old_size, size_t new_size)
{
    void *p = rs_alloc(a, new_size);
    if (old && old_size)
        memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

void rs_buf_init(rs_buf *b, rs_arena *a)
{
    b->arena = a;
    b->data = NULL;
    b->len = b->cap = 0;
}

static void buf_reserve(rs_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = rs_grow(b->arena, b->data, b->len, cap);
    b->cap = cap;
}

void rs_buf_add(rs_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rs_buf_puts(rs_buf *b, const char *s) { rs_buf_add(b, s, strlen(s)); }

void rs_buf_printf(rs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *rs_buf_str(rs_buf *b)
{
    if (!b->data)
        buf_reserve(b, 0), b->data[0] = '\0';
    return b->data;
}
