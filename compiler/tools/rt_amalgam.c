/* rt_amalgam.c — a build tool: turns libdsprt's sources into two text
 * blobs that `dspcc build --embed-runtime` writes into generated code, so
 * an application can drop in one .c and .h (plus libcurl, cJSON, SQLite
 * and libcrypto) instead of linking libdsprt.
 *
 *   rt_amalgam OUT.c PUBLIC.h... -- INTERNAL.h... -- SOURCE.c...
 *
 * cg_rt_public: the public headers in the order given, project #includes
 * removed (they are all there), include guards kept.
 * cg_rt_private: the internal headers, their function declarations made
 * `static` (a later definition without `static` then has internal linkage,
 * C17 6.2.2), then every source. File-scope names that two sources both
 * define (static helpers, struct tags, typedefs) are renamed per file with
 * #define/#undef, so the sources compile as one translation unit.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 65536;
        while (cap < t->len + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            fputs("rt_amalgam: out of memory\n", stderr);
            exit(1);
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "rt_amalgam: cannot open %s\n", path);
        exit(1);
    }
    text t = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) put(&t, buf, n);
    fclose(f);
    if (!t.p) put(&t, "", 0);
    return t.p;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The headers given on the command line; an `#include "x.h"` of one of
 * them is replaced by its text the first time (so order of dependencies
 * needs no care) and dropped after. */
typedef struct hdr {
    const char *path;
    int internal;
    int emitted;
} hdr;

static hdr *g_hdrs;
static size_t g_n_hdrs;

static void copy_lines(text *out, const char *s, int static_decls);

static void emit_header(text *out, hdr *h)
{
    h->emitted = 1;
    char *s = slurp(h->path);
    puts_(out, "/* ---- ");
    puts_(out, base(h->path));
    puts_(out, " ---- */\n");
    copy_lines(out, s, h->internal);
    free(s);
}

static void copy_lines(text *out, const char *s, int static_decls)
{
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) + 1 : strlen(s);
        if (strncmp(s, "#include \"", 10) == 0) {
            const char *q = memchr(s + 10, '"', n - 10);
            if (q) {
                char inc[256];
                snprintf(inc, sizeof inc, "%.*s", (int)(q - (s + 10)), s + 10);
                for (size_t i = 0; i < g_n_hdrs; i++)
                    if (!g_hdrs[i].emitted && strcmp(base(g_hdrs[i].path), base(inc)) == 0)
                        emit_header(out, &g_hdrs[i]);
            }
            s += n;
            continue;
        }
        if (static_decls && (isalpha((unsigned char)s[0]) || s[0] == '_') && strncmp(s, "typedef", 7) != 0 &&
            strncmp(s, "struct", 6) != 0 && strncmp(s, "enum", 4) != 0 && strncmp(s, "union", 5) != 0 &&
            strncmp(s, "static", 6) != 0 && strncmp(s, "extern", 6) != 0 && memchr(s, '(', n))
            puts_(out, "static ");
        put(out, s, n);
        s += n;
    }
}

/* File-scope names a source defines: static functions and variables,
 * struct/enum/union tags and typedef names. */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void add_name(names *l, const char *s, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == n && strncmp(l->v[i], s, n) == 0) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) exit(1);
    }
    char *c = malloc(n + 1);
    if (!c) exit(1);
    memcpy(c, s, n);
    c[n] = '\0';
    l->v[l->n++] = c;
}

static int is_id(int c) { return isalnum(c) || c == '_'; }

static void scan_names(const char *s, names *out, names *statics)
{
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (strncmp(s, "static ", 7) == 0) {
            /* the identifier before the first ( [ = ; */
            size_t stop = strcspn(s, "([=;\n");
            size_t k = stop;
            while (k > 0 && isspace((unsigned char)s[k - 1])) k--;
            size_t end = k;
            while (k > 0 && is_id((unsigned char)s[k - 1])) k--;
            if (end > k) {
                add_name(out, s + k, end - k);
                add_name(statics, s + k, end - k);
            }
        } else {
            const char *p = s;
            if (strncmp(p, "typedef ", 8) == 0) p += 8;
            const char *kw[] = {"struct ", "enum ", "union "};
            for (int i = 0; i < 3; i++)
                if (strncmp(p, kw[i], strlen(kw[i])) == 0) {
                    p += strlen(kw[i]);
                    size_t k = 0;
                    while (is_id((unsigned char)p[k])) k++;
                    if (k) add_name(out, p, k);
                }
            if (s[0] == '}' && s[1] == ' ') {
                size_t k = 2;
                while (is_id((unsigned char)s[k])) k++;
                if (k > 2 && s[k] == ';') add_name(out, s + 2, k - 2);
            }
        }
        s += n + (e ? 1 : 0);
    }
}

/* Whether name follows `.` or `->` in s: a member the object-like
 * #define renaming a static of that name would rename too. */
static int used_as_member(const char *s, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(s, name); p; p = strstr(p + 1, name)) {
        if (is_id((unsigned char)p[n]) || p == s) continue;
        const char *q = p;
        while (q > s && (q[-1] == ' ' || q[-1] == '\n')) q--;
        if (q > s && (q[-1] == '.' || (q[-1] == '>' && q - 1 > s && q[-2] == '-'))) return 1;
    }
    return 0;
}

static void emit_array(FILE *f, const char *name, const text *t)
{
    fprintf(f, "const char %s[%zu] = {", name, t->len + 1);
    for (size_t i = 0; i < t->len; i++) {
        if (i % 20 == 0) fputs("\n   ", f);
        fprintf(f, " %d,", (unsigned char)t->p[i]);
    }
    fprintf(f, "\n    0\n};\nconst size_t %s_len = %zu;\n\n", name, t->len);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: rt_amalgam OUT.c PUBLIC.h... -- INTERNAL.h... -- SOURCE.c...\n", stderr);
        return 2;
    }
    text pub = {0}, priv = {0}, kept = {0}; /* kept: " name name ": statics left as named */
    int section = 0;
    const char **srcs = calloc((size_t)argc, sizeof *srcs);
    g_hdrs = calloc((size_t)argc, sizeof *g_hdrs);
    size_t n_srcs = 0;
    if (!srcs || !g_hdrs) return 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            section++;
        } else if (section == 2) {
            srcs[n_srcs++] = argv[i];
        } else {
            g_hdrs[g_n_hdrs].path = argv[i];
            g_hdrs[g_n_hdrs++].internal = section == 1;
        }
    }
    for (size_t i = 0; i < g_n_hdrs; i++)
        if (!g_hdrs[i].emitted) emit_header(g_hdrs[i].internal ? &priv : &pub, &g_hdrs[i]);
    /* Names defined by more than one source, and every static function
     * and variable: the program's own functions (C tools named `priced`,
     * say) share the translation unit with them. */
    names *per = calloc(n_srcs ? n_srcs : 1, sizeof *per);
    names *stat = calloc(n_srcs ? n_srcs : 1, sizeof *stat);
    char **texts = calloc(n_srcs ? n_srcs : 1, sizeof *texts);
    for (size_t k = 0; k < n_srcs; k++) {
        texts[k] = slurp(srcs[k]);
        scan_names(texts[k], &per[k], &stat[k]);
    }
    for (size_t k = 0; k < n_srcs; k++) {
        names dup = {0};
        for (size_t a = 0; a < stat[k].n; a++) {
            const char *v = stat[k].v[a];
            int member = used_as_member(pub.p ? pub.p : "", v) || used_as_member(priv.p ? priv.p : "", v);
            for (size_t o = 0; o < n_srcs && !member; o++) member = used_as_member(texts[o], v);
            if (!member) {
                add_name(&dup, v, strlen(v));
            } else {
                puts_(&kept, kept.len ? "" : " ");
                puts_(&kept, v);
                puts_(&kept, " ");
            }
            free(stat[k].v[a]);
        }
        free(stat[k].v);
        for (size_t a = 0; a < per[k].n; a++)
            for (size_t o = 0; o < n_srcs; o++) {
                if (o == k) continue;
                for (size_t b = 0; b < per[o].n; b++)
                    if (strcmp(per[k].v[a], per[o].v[b]) == 0) add_name(&dup, per[k].v[a], strlen(per[k].v[a]));
            }
        char stem[256];
        snprintf(stem, sizeof stem, "%s", base(srcs[k]));
        char *dot = strrchr(stem, '.');
        if (dot) *dot = '\0';
        puts_(&priv, "/* ---- ");
        puts_(&priv, base(srcs[k]));
        puts_(&priv, " ---- */\n");
        char line[600];
        for (size_t d = 0; d < dup.n; d++) {
            snprintf(line, sizeof line, "#define %s rt_%s_%s\n", dup.v[d], stem, dup.v[d]);
            puts_(&priv, line);
        }
        copy_lines(&priv, texts[k], 0);
        for (size_t d = 0; d < dup.n; d++) {
            snprintf(line, sizeof line, "#undef %s\n", dup.v[d]);
            puts_(&priv, line);
            free(dup.v[d]);
        }
        free(dup.v);
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        fprintf(stderr, "rt_amalgam: cannot write %s\n", argv[1]);
        return 1;
    }
    fputs("/* Generated by compiler/tools/rt_amalgam.c from libdsprt's sources. */\n#include <stddef.h>\n\n", f);
    emit_array(f, "cg_rt_public", &pub);
    emit_array(f, "cg_rt_private", &priv);
    if (!kept.p) puts_(&kept, " ");
    emit_array(f, "cg_rt_kept_statics", &kept);
    for (size_t k = 0; k < n_srcs; k++) {
        for (size_t a = 0; a < per[k].n; a++) free(per[k].v[a]);
        free(per[k].v);
        free(texts[k]);
    }
    free(per);
    free(stat);
    free(texts);
    free(srcs);
    free(g_hdrs);
    free(pub.p);
    free(priv.p);
    free(kept.p);
    return fclose(f) != 0;
}
