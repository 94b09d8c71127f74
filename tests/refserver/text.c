/* text.c — tokens, stems, TF-IDF and hashing (see text.h). */
#include "text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Common function words; they carry no signal about a label and would make
 * every ticket look like every other one. Sorted for bsearch. */
static const char *const k_stop[] = {
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does",
    "doing", "for", "from", "had", "has", "have", "having", "he", "her", "here", "him",
    "his", "how", "i", "if", "im", "in", "into", "is", "it", "its", "just", "me", "might",
    "more", "most", "much", "my", "myself", "need", "no", "not", "now", "of", "on", "one",
    "or", "our", "out", "please", "plz", "pls", "she", "should", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "to", "too", "u", "up", "very", "want", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "why", "will", "with", "would", "ya", "you",
    "your",
};

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_stop(const char *w, size_t len)
{
    if (len > 8) /* longer than every stop word */
        return 0;
    return bsearch(&w, k_stop, sizeof k_stop / sizeof k_stop[0], sizeof k_stop[0], cmp_cstr) != NULL;
}

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

size_t rs_stem(const char *w, size_t len, char *buf, size_t size)
{
    if (len == 0 || size < 2)
        return 0;
    if (len >= size)
        len = size - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)w[i];
        buf[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    buf[len] = '\0';
    if (is_stop(buf, len))
        return 0;
    /* A deliberately light stemmer: enough that "orders"/"order" and
     * "charged"/"charge" meet, without a dictionary. */
    if (len > 5 && strcmp(buf + len - 3, "ing") == 0)
        len -= 3;
    else if (len > 4 && strcmp(buf + len - 2, "ed") == 0)
        len -= 2;
    else if (len > 3 && buf[len - 1] == 's' && buf[len - 2] != 's' && buf[len - 2] != 'u')
        len -= 1;
    /* "charge", "charges" and "charged" all end as "charg". */
    if (len > 4 && buf[len - 1] == 'e')
        len -= 1;
    buf[len] = '\0';
    return len;
}

void rs_vocab_init(rs_vocab *v, rs_arena *a)
{
    memset(v, 0, sizeof *v);
    v->arena = a;
    v->cap = 256;
    v->slots = rs_alloc(a, v->cap * sizeof *v->slots);
}

static uint32_t fnv(const char *w, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static void vocab_rehash(rs_vocab *v)
{
    size_t cap = v->cap * 2;
    rs_vocab_slot *slots = rs_alloc(v->arena, cap * sizeof *slots);
    for (size_t i = 0; i < v->cap; i++) {
        if (!v->slots[i].word)
            continue;
        size_t j = fnv(v->slots[i].word, v->slots[i].len) & (cap - 1);
        while (slots[j].word)
            j = (j + 1) & (cap - 1);
        slots[j] = v->slots[i];
    }
    v->slots = slots;
    v->cap = cap;
}

uint32_t rs_vocab_find(const rs_vocab *v, const char *w, size_t len)
{
    size_t j = fnv(w, len) & (v->cap - 1);
    while (v->slots[j].word) {
        if (v->slots[j].len == len && memcmp(v->slots[j].word, w, len) == 0)
            return v->slots[j].id;
        j = (j + 1) & (v->cap - 1);
    }
    return UINT32_MAX;
}

uint32_t rs_vocab_intern(rs_vocab *v, const char *w, size_t len)
{
    size_t j = fnv(w, len) & (v->cap - 1);
    while (v->slots[j].word) {
        if (v->slots[j].len == len && memcmp(v->slots[j].word, w, len) == 0)
            return v->slots[j].id;
        j = (j + 1) & (v->cap - 1);
    }
    if (v->n == v->words_cap) {
        size_t cap = v->words_cap ? v->words_cap * 2 : 128;
        v->words = rs_grow(v->arena, v->words, v->n * sizeof *v->words, cap * sizeof *v->words);
        v->df = rs_grow(v->arena, v->df, v->n * sizeof *v->df, cap * sizeof *v->df);
        v->surface = rs_grow(v->arena, v->surface, v->n * sizeof *v->surface, cap * sizeof *v->surface);
        v->words_cap = cap;
    }
    uint32_t id = (uint32_t)v->n++;
    v->slots[j].word = rs_strndup(v->arena, w, len);
    v->slots[j].len = (uint32_t)len;
    v->slots[j].id = id;
    v->words[id] = v->slots[j].word;
    v->df[id] = 0;
    v->surface[id] = NULL;
    if (v->n * 2 > v->cap)
        vocab_rehash(v);
    return id;
}

void rs_tokenize(rs_vocab *v, const char *text, size_t len, rs_tokens *out)
{
    size_t cap = 16, n = 0;
    uint32_t *ids = rs_alloc(v->arena, cap * sizeof *ids);
    char buf[64];
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_word_char((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && is_word_char((unsigned char)text[i]))
            i++;
        if (i == start)
            break;
        size_t sl = rs_stem(text + start, i - start, buf, sizeof buf);
        if (sl < 2 && !(sl == 1 && buf[0] >= '0' && buf[0] <= '9'))
            continue;
        if (n == cap) {
            ids = rs_grow(v->arena, ids, n * sizeof *ids, cap * 2 * sizeof *ids);
            cap *= 2;
        }
        uint32_t id = rs_vocab_intern(v, buf, sl);
        if (!v->surface[id]) {
            char *w = rs_strndup(v->arena, text + start, i - start);
            for (char *c = w; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            v->surface[id] = w;
        }
        ids[n++] = id;
    }
    out->ids = ids;
    out->n = n;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void rs_vec_counts(rs_arena *a, const rs_tokens *toks, rs_vec *out)
{
    uint32_t *sorted = rs_alloc(a, (toks->n + 1) * sizeof *sorted);
    memcpy(sorted, toks->ids, toks->n * sizeof *sorted);
    qsort(sorted, toks->n, sizeof *sorted, cmp_u32);
    out->ids = rs_alloc(a, (toks->n + 1) * sizeof *out->ids);
    out->w = rs_alloc(a, (toks->n + 1) * sizeof *out->w);
    out->n = 0;
    for (size_t i = 0; i < toks->n; i++) {
        if (out->n && out->ids[out->n - 1] == sorted[i]) {
            out->w[out->n - 1] += 1.0f;
        } else {
            out->ids[out->n] = sorted[i];
            out->w[out->n] = 1.0f;
            out->n++;
        }
    }
}

void rs_vocab_count_df(rs_vocab *v, const rs_vec *vec)
{
    for (size_t i = 0; i < vec->n; i++)
        v->df[vec->ids[i]]++;
}

void rs_vec_tfidf(rs_vec *vec, const rs_vocab *v, size_t n_docs)
{
    double norm = 0;
    for (size_t i = 0; i < vec->n; i++) {
        double idf = log((1.0 + (double)n_docs) / (1.0 + (double)v->df[vec->ids[i]])) + 1.0;
        double w = (1.0 + log(vec->w[i])) * idf;
        vec->w[i] = (float)w;
        norm += w * w;
    }
    if (norm > 0) {
        float inv = (float)(1.0 / sqrt(norm));
        for (size_t i = 0; i < vec->n; i++)
            vec->w[i] *= inv;
    }
}

float rs_vec_dot(const rs_vec *a, const rs_vec *b)
{
    size_t i = 0, j = 0;
    float s = 0;
    while (i < a->n && j < b->n) {
        if (a->ids[i] == b->ids[j])
            s += a->w[i++] * b->w[j++];
        else if (a->ids[i] < b->ids[j])
            i++;
        else
            j++;
    }
    return s;
}

uint64_t rs_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t rs_hash(const void *data, size_t len, uint64_t seed)
{
    /* Eight bytes a step: every request hashes its whole prompt. */
    const unsigned char *p = data;
    uint64_t h = rs_mix(seed ^ len);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ rs_mix(w)) * 0x9fb21c651e98df25ull;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    return rs_mix(h ^ rs_mix(w ^ 0xa5));
}

double rs_rand01(uint64_t *state)
{
    *state = rs_mix(*state);
    return (double)(*state >> 11) * (1.0 / 9007199254740992.0);
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

long rs_count_words(const char *s)
{
    long n = 0;
    int in_word = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        int sp = is_space(*p);
        n += !sp && !in_word;
        in_word = !sp;
    }
    return n;
}
