/* cg_share.c — one table for tables that are the same. Predictors that use
 * the same signature, fields and lm (and long strings that repeat) would
 * otherwise each get a copy; a table is emitted once and every later user
 * names the first one's symbol. Tables are compared by their C text after
 * the symbol (so by content, never by where they came from): equal text is
 * an equal table. The first one's name is kept, so the output stays the
 * same from build to build. */
#include <stdint.h>
#include <string.h>

#include "cg.h"

typedef struct share_entry {
    uint64_t hash;
    const char *key; /* type, NUL, text before, NUL, body */
    size_t len;
    const char *sym;
} share_entry;

struct cg_share {
    share_entry *e;
    size_t n, cap; /* cap a power of two, at most half full */
};

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void grow(cg_ctx *g, struct cg_share *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    share_entry *e = arena_array(g->a, cap, sizeof *e);
    memset(e, 0, cap * sizeof *e);
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->e[i].key) continue;
        size_t at = s->e[i].hash & (cap - 1);
        while (e[at].key) at = (at + 1) & (cap - 1);
        e[at] = s->e[i];
    }
    s->e = e;
    s->cap = cap;
}

/* The slot of key (type, pre, body) in the table: its entry, or the empty
 * slot where it belongs. */
static share_entry *slot(cg_ctx *g, const char *type, const char *pre, const char *body, size_t body_len, uint64_t *h,
                         size_t *len)
{
    if (!g->share) {
        g->share = arena_alloc(g->a, sizeof *g->share);
        memset(g->share, 0, sizeof *g->share);
    }
    struct cg_share *s = g->share;
    if (2 * (s->n + 1) > s->cap) grow(g, s);
    size_t lt = strlen(type) + 1, lp = strlen(pre) + 1;
    *len = lt + lp + body_len;
    *h = fnv1a(fnv1a(fnv1a(0xcbf29ce484222325ull, type, lt), pre, lp), body, body_len);
    size_t at = *h & (s->cap - 1);
    for (; s->e[at].key; at = (at + 1) & (s->cap - 1)) {
        const share_entry *x = &s->e[at];
        if (x->hash == *h && x->len == *len && memcmp(x->key, type, lt) == 0 && memcmp(x->key + lt, pre, lp) == 0 &&
            memcmp(x->key + lt + lp, body, body_len) == 0)
            break;
    }
    return &s->e[at];
}

const char *cg_share_find(cg_ctx *g, const char *type, const char *pre, const char *body, size_t body_len)
{
    uint64_t h;
    size_t len;
    return slot(g, type, pre, body, body_len, &h, &len)->sym;
}

const char *cg_share_sym(cg_ctx *g, const char *type, const char *pre, const char *body, size_t body_len,
                         const char *sym)
{
    uint64_t h;
    size_t len;
    share_entry *e = slot(g, type, pre, body, body_len, &h, &len);
    if (e->key) return e->sym;
    size_t lt = strlen(type) + 1, lp = strlen(pre) + 1;
    char *key = arena_alloc(g->a, len);
    memcpy(key, type, lt);
    memcpy(key + lt, pre, lp);
    memcpy(key + lt + lp, body, body_len);
    *e = (share_entry){ h, key, len, arena_strdup(g->a, sym) };
    g->share->n++;
    return NULL;
}

const char *cg_share_emit(cg_ctx *g, strbuf *c, const char *pre, const char *type, const char *sym, strbuf *body)
{
    const char *text = body->p ? body->p : "";
    if (body->oom) c->oom = 1;
    const char *had = cg_share_sym(g, type, pre, text, body->len, sym);
    if (!had) {
        sb_puts(c, pre);
        sb_printf(c, "static const %s %s", type, sym);
        sb_put(c, text, body->len);
    }
    sb_free(body);
    return had ? had : sym;
}
