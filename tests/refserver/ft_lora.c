/* ft_lora.c — the adapters the fixture serves (see ft_lora.h). */
#define _POSIX_C_SOURCE 200809L
#include "ft_lora.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_LORAS = 64 };

typedef struct lora {
    char *name;
    rs_ft_memory mem;
    rs_arena arena; /* owns name's copy of the data and mem */
} lora;

struct rs_lora_set {
    pthread_mutex_t lock;
    lora items[MAX_LORAS]; /* fixed: pointers into it stay valid */
    size_t n;
};

rs_lora_set *rs_lora_set_new(void)
{
    rs_lora_set *s = calloc(1, sizeof *s);
    if (s)
        pthread_mutex_init(&s->lock, NULL);
    return s;
}

void rs_lora_set_free(rs_lora_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].name);
        rs_arena_free(&s->items[i].arena);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The whole file at path, in a; NULL with *msg on failure. */
static char *slurp(rs_arena *a, const char *path, size_t *len, const char **msg)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "cannot read the LoRA adapter file %s: %s", path, strerror(errno));
        *msg = rs_buf_str(&m);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    if (!buf) {
        *msg = "out of memory";
        return NULL;
    }
    char *out = rs_alloc(a, n + 1);
    memcpy(out, buf, n);
    out[n] = '\0';
    free(buf);
    *len = n;
    return out;
}

rs_lora_rc rs_lora_load(rs_lora_set *s, const char *name, const char *path, rs_arena *a, const char **msg)
{
    *msg = NULL;
    if (!name || !*name || !path || !*path) {
        *msg = "a LoRA adapter needs a name and a path";
        return RS_LORA_BAD;
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].name, name) == 0) {
            pthread_mutex_unlock(&s->lock);
            return RS_LORA_EXISTS;
        }
    pthread_mutex_unlock(&s->lock);
    struct stat sb;
    rs_buf file;
    rs_buf_init(&file, a);
    rs_buf_printf(&file, "%s%s", path,
                  stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) ? "/adapter_memory.jsonl" : "");
    lora l;
    memset(&l, 0, sizeof l);
    rs_arena_init(&l.arena);
    size_t len = 0;
    char *data = slurp(&l.arena, rs_buf_str(&file), &len, msg);
    const char *why = NULL;
    if (data && !rs_ft_memory_parse(&l.arena, data, len, &l.mem, &why)) {
        rs_buf m;
        rs_buf_init(&m, a);
        rs_buf_printf(&m, "LoRA adapter %s: %s", rs_buf_str(&file), why);
        *msg = rs_buf_str(&m);
    }
    if (*msg) {
        rs_arena_free(&l.arena);
        return RS_LORA_BAD;
    }
    rs_lora_rc rc = RS_LORA_OK;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].name, name) == 0)
            rc = RS_LORA_EXISTS;
    if (rc == RS_LORA_OK && s->n == MAX_LORAS) {
        *msg = "this fixture serves at most 64 LoRA adapters";
        rc = RS_LORA_BAD;
    }
    if (rc == RS_LORA_OK && !(l.name = strdup(name))) {
        *msg = "out of memory";
        rc = RS_LORA_BAD;
    }
    if (rc == RS_LORA_OK)
        s->items[s->n++] = l;
    pthread_mutex_unlock(&s->lock);
    if (rc != RS_LORA_OK)
        rs_arena_free(&l.arena);
    return rc;
}

const rs_ft_memory *rs_lora_by_name(rs_lora_set *s, const char *name)
{
    const rs_ft_memory *m = NULL;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && !m; i++)
        if (strcmp(s->items[i].name, name) == 0)
            m = &s->items[i].mem;
    pthread_mutex_unlock(&s->lock);
    return m;
}

const rs_ft_memory *rs_lora_by_id(rs_lora_set *s, long id)
{
    const rs_ft_memory *m = NULL;
    pthread_mutex_lock(&s->lock);
    if (id >= 0 && (size_t)id < s->n)
        m = &s->items[id].mem;
    pthread_mutex_unlock(&s->lock);
    return m;
}
