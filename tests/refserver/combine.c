/* combine.c — combine two instructions (see combine.h). */
#include "combine.h"

#include <string.h>
#include <strings.h>

/* The label of a hint line `label: words` (NULL for other lines): text
 * before a colon, of at most 64 characters, the line not starting with
 * the hints' header. */
static const char *hint_label(rs_arena *a, const char *s, const char *e, const char **words)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (!colon || colon == s || colon - s > 64 || strncmp(s, "Label hints", 11) == 0)
        return NULL;
    *words = colon + 1;
    return rs_strndup(a, s, (size_t)(colon - s));
}

/* 1: a hint line of text for label names the word w (w_len bytes). */
static int names_word(const char *text, const char *label, const char *w, size_t w_len)
{
    size_t ll = strlen(label);
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        if ((size_t)(e - p) > ll && strncasecmp(p, label, ll) == 0 && p[ll] == ':')
            for (const char *q = p + ll + 1; q + w_len <= e; q++)
                if (strncasecmp(q, w, w_len) == 0 && (q[-1] == ' ' || q[-1] == ',' || q[-1] == ':') &&
                    (q + w_len == e || q[w_len] == ',' || q[w_len] == ' '))
                    return 1;
        p = *e ? e + 1 : e;
    }
    return 0;
}

static int has_line(const char *text, const char *s, size_t n)
{
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        if ((size_t)(e - p) == n && strncmp(p, s, n) == 0)
            return 1;
        p = *e ? e + 1 : e;
    }
    return 0;
}

const char *rs_combine_instructions(rs_arena *a, const rs_task *t)
{
    int ai = rs_field_index(t->in, t->n_in, "instruction_a");
    int bi = rs_field_index(t->in, t->n_in, "instruction_b");
    const char *x = ai >= 0 && t->query[ai] ? t->query[ai] : "";
    const char *y = bi >= 0 && t->query[bi] ? t->query[bi] : "";
    rs_buf b;
    rs_buf_init(&b, a);
    rs_buf_puts(&b, x);
    for (const char *p = y; *p;) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        const char *words = NULL;
        const char *label = hint_label(a, p, e, &words);
        if (e > p && !has_line(x, p, (size_t)(e - p))) {
            if (!label) {
                rs_buf_printf(&b, "\n%.*s", (int)(e - p), p);
            } else {
                size_t kept = 0;
                for (const char *w = words; w < e;) {
                    while (w < e && (*w == ' ' || *w == ','))
                        w++;
                    const char *we = w;
                    while (we < e && *we != ',')
                        we++;
                    const char *end = we;
                    while (end > w && end[-1] == ' ')
                        end--;
                    if (end > w && !names_word(x, label, w, (size_t)(end - w))) {
                        if (!kept++)
                            rs_buf_printf(&b, "\n%s:", label);
                        rs_buf_printf(&b, "%s %.*s", kept > 1 ? "," : "", (int)(end - w), w);
                    }
                    w = we;
                }
            }
        }
        p = *e ? e + 1 : e;
    }
    return rs_buf_str(&b);
}
