/* metric_text.c — text comparison for metrics (see metric_text.h). The F1
 * follows the SQuAD evaluation script so scores compare with published
 * ones. */
#include "metric_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = strlen(p);
    while (len && isspace((unsigned char)*p)) {
        p++;
        len--;
    }
    while (len && isspace((unsigned char)p[len - 1]))
        len--;
    *s = p;
    *n = len;
}

bool mt_text_equal(const char *a, const char *b)
{
    size_t na, nb;
    trim(&a, &na);
    trim(&b, &nb);
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

bool mt_text_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle), h = strlen(hay);
    if (n == 0)
        return true;
    for (size_t i = 0; i + n <= h; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)hay[i + k]) == tolower((unsigned char)needle[k]))
            k++;
        if (k == n)
            return true;
    }
    return false;
}

typedef struct tokens {
    char *buf;                  /* normalized text, tokens NUL-separated */
    char **tok;
    size_t n;
} tokens;

static int is_article(const char *t)
{
    return strcmp(t, "a") == 0 || strcmp(t, "an") == 0 || strcmp(t, "the") == 0;
}

/* SQuAD normalize_answer: lower, remove punctuation, remove articles, fix
 * white space; then split. */
static int tokenize(const char *s, tokens *out)
{
    size_t len = strlen(s);
    memset(out, 0, sizeof *out);
    out->buf = malloc(len + 1);
    out->tok = malloc((len / 2 + 2) * sizeof *out->tok);
    if (!out->buf || !out->tok)
        return 0;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 128 && ispunct(c))
            continue;
        out->buf[w++] = (char)(c < 128 ? tolower(c) : c);
    }
    out->buf[w] = '\0';
    char *p = out->buf;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            break;
        char *start = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
        if (!is_article(start))
            out->tok[out->n++] = start;
    }
    return 1;
}

static void tokens_free(tokens *t)
{
    free(t->buf);
    free(t->tok);
}

double mt_f1(const char *pred, const char *gold)
{
    tokens p, g;
    int ok = tokenize(pred, &p) & tokenize(gold, &g);
    double f1 = -1;
    if (ok) {
        if (p.n == 0 || g.n == 0) {
            f1 = p.n == g.n ? 1.0 : 0.0;
        } else {
            /* Multiset intersection: each gold token matches at most once. */
            char *used = calloc(g.n, 1);
            size_t common = 0;
            if (used) {
                for (size_t i = 0; i < p.n; i++)
                    for (size_t j = 0; j < g.n; j++)
                        if (!used[j] && strcmp(p.tok[i], g.tok[j]) == 0) {
                            used[j] = 1;
                            common++;
                            break;
                        }
                free(used);
                if (common == 0) {
                    f1 = 0;
                } else {
                    double prec = (double)common / (double)p.n, rec = (double)common / (double)g.n;
                    f1 = 2 * prec * rec / (prec + rec);
                }
            }
        }
    }
    tokens_free(&p);
    tokens_free(&g);
    return f1;
}

int mt_norm_equal(const char *a, const char *b)
{
    tokens x, y;
    int ok = tokenize(a, &x) & tokenize(b, &y);
    int eq = -1;
    if (ok) {
        eq = x.n == y.n;
        for (size_t i = 0; eq && i < x.n; i++)
            eq = strcmp(x.tok[i], y.tok[i]) == 0;
    }
    tokens_free(&x);
    tokens_free(&y);
    return eq;
}
