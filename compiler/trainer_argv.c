/* trainer_argv.c — a local trainer's command template as argv (see
 * trainer_argv.h). */
#include "trainer_argv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MAX_WORDS = 256 };

static int bad(char why[TRAINER_WHY_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, TRAINER_WHY_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends s[0..n) to the word being built in a. */
static char *word_add(arena *a, char *w, const char *s, size_t n)
{
    size_t l = w ? strlen(w) : 0;
    char *r = arena_alloc(a, l + n + 1);
    if (l)
        memcpy(r, w, l);
    memcpy(r + l, s, n);
    r[l + n] = '\0';
    return r;
}

static const char *placeholder(const trainer_values *v, const char *name, size_t n)
{
    static const char *const names[] = { "data", "base_model", "output", "epochs", "seed" };
    const char *vals[] = { v->data, v->base_model, v->output, v->epochs, v->seed };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncmp(names[i], name, n) == 0)
            return vals[i];
    return NULL;
}

int trainer_argv(const char *tmpl, const trainer_values *v, arena *a, char ***argv, char why[TRAINER_WHY_MAX])
{
    char **out = arena_array(a, MAX_WORDS + 1, sizeof *out);
    size_t n = 0;
    int seen_data = 0, seen_output = 0;
    const char *p = tmpl;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (n == MAX_WORDS)
            return bad(why, "trainer: more than %d words", MAX_WORDS);
        char *w = word_add(a, NULL, "", 0);
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if (*p == '\'' || *p == '"') {
                char q = *p++;
                const char *start = p;
                while (*p && *p != q)
                    p++;
                if (!*p)
                    return bad(why, "trainer: the quote %c opened at column %zu is not "
                                                               "closed",
                                         q, (size_t)(start - tmpl));
                /* Placeholders work inside quotes too: quoting groups
                 * words, it does not change what is substituted. */
                w = word_add(a, w, "\x01", 1);
                w = word_add(a, w, start, (size_t)(p - start));
                w = word_add(a, w, "\x02", 1);
                p++;
            } else if (*p == '\\' && p[1]) {
                w = word_add(a, w, "\x03", 1);
                w = word_add(a, w, p + 1, 1);
                p += 2;
            } else {
                w = word_add(a, w, p, 1);
                p++;
            }
        }
        /* Substitute, dropping the markers (a backslash-escaped brace is
         * literal). */
        char *r = word_add(a, NULL, "", 0);
        for (const char *s = w; *s;) {
            if (*s == '\x01' || *s == '\x02') {
                s++;
            } else if (*s == '\x03') {
                r = word_add(a, r, s + 1, 1);
                s += 2;
            } else if (*s == '{') {
                const char *e = strchr(s, '}');
                const char *val = e ? placeholder(v, s + 1, (size_t)(e - s - 1)) : NULL;
                if (!val)
                    return bad(why, "trainer: unknown placeholder %.*s; the placeholders are {data}, "
                                         "{base_model}, {output}, {epochs} and {seed} (write \\{ for a brace)",
                                         e ? (int)(e - s + 1) : (int)strlen(s), s);
                seen_data |= strncmp(s, "{data}", 6) == 0;
                seen_output |= strncmp(s, "{output}", 8) == 0;
                r = word_add(a, r, val, strlen(val));
                s = e + 1;
            } else {
                r = word_add(a, r, s, 1);
                s++;
            }
        }
        out[n++] = r;
    }
    if (n == 0)
        return bad(why, "trainer: the command is empty");
    if (!seen_data || !seen_output)
        return bad(why, "trainer: the command must name {data} (the training JSONL) and {output} (the "
                             "directory the adapter goes to)%s",
                             !seen_data && !seen_output ? "" : !seen_data ? "; {data} is missing"
                                                                           : "; {output} is missing");
    out[n] = NULL;
    *argv = out;
    return 0;
}
