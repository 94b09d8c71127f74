/* tests/tools/cshape_literals.c — no absolute path and no API key in the
 * literals and comments of generated C.
 *
 * Generated code must be byte-identical across machines (so no paths of
 * the machine that generated it) and must never carry a credential. The
 * detectors are heuristics tuned to flag what those mistakes look like
 * while leaving alone what generated code legitimately holds: relative data
 * paths, URL paths such as "/v1/chat/completions", and lowercase hex
 * content hashes. */
#include "cshape.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Top-level directories that only ever start a machine-specific path. */
static const char *const unix_roots[] = {
    "home", "Users", "root", "tmp", "var", "etc", "opt", "usr", "mnt", "srv",
    "private", "media", "nix", "snap", "work", "workspace", "build",
};

static int path_char_before(char c)
{
    /* "https://host.com/home/x" is a URL, not a path: a slash right after a
     * host name or word does not start one. */
    return isalnum((unsigned char)c) || c == '.' || c == '_';
}

size_t cshape_find_abs_path(const char *s, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        int boundary = i == 0 || !path_char_before(s[i - 1]);
        if (!boundary) continue;
        if (s[i] == '/') {
            for (size_t k = 0; k < sizeof unix_roots / sizeof unix_roots[0]; k++) {
                size_t rl = strlen(unix_roots[k]);
                if (i + 1 + rl < n && strncmp(s + i + 1, unix_roots[k], rl) == 0 &&
                    s[i + 1 + rl] == '/') {
                    size_t e = i;
                    while (e < n && s[e] != '"' && s[e] != ' ' && s[e] != '\n') e++;
                    *at = i;
                    return e - i;
                }
            }
        } else if (isalpha((unsigned char)s[i]) && i + 2 < n && s[i + 1] == ':' &&
                   (s[i + 2] == '\\' || s[i + 2] == '/') &&
                   (i == 0 || !isalpha((unsigned char)s[i - 1]))) {
            /* C:\ or C:/ -- but "http://" is not a drive: its 'p' follows 't'. */
            if (s[i + 2] == '/' && i + 3 < n && s[i + 3] == '/') continue; /* scheme:// */
            size_t e = i;
            while (e < n && s[e] != '"' && s[e] != ' ' && s[e] != '\n') e++;
            *at = i;
            return e - i;
        }
    }
    return 0;
}

static int key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static double entropy(const char *s, size_t n)
{
    size_t counts[256] = {0};
    for (size_t i = 0; i < n; i++) counts[(unsigned char)s[i]]++;
    double h = 0;
    for (size_t i = 0; i < 256; i++) {
        if (!counts[i]) continue;
        double p = (double)counts[i] / (double)n;
        h -= p * log2(p);
    }
    return h;
}

typedef struct key_prefix {
    const char *prefix;
    size_t min_rest;   /* key characters required after the prefix */
    const char *why;
} key_prefix;

static const key_prefix key_prefixes[] = {
    {"sk-", 20, "an OpenAI or Anthropic API key (sk-...)"},
    {"AKIA", 16, "an AWS access key id"},
    {"ghp_", 20, "a GitHub token"},
    {"gho_", 20, "a GitHub token"},
    {"ghs_", 20, "a GitHub token"},
    {"github_pat_", 20, "a GitHub token"},
    {"xoxb-", 10, "a Slack token"},
    {"xoxp-", 10, "a Slack token"},
    {"AIza", 30, "a Google API key"},
    {"hf_", 30, "a Hugging Face token"},
};

size_t cshape_find_secret(const char *s, size_t n, size_t *at, const char **why)
{
    const char *pem = "-----BEGIN ";
    for (size_t i = 0; i + strlen(pem) <= n; i++) {
        if (strncmp(s + i, pem, strlen(pem)) == 0) {
            const char *end = s + n;
            const char *p = s + i + strlen(pem);
            for (; p + 11 <= end; p++)
                if (strncmp(p, "PRIVATE KEY", 11) == 0) {
                    *at = i;
                    *why = "a PEM private key";
                    return (size_t)(p + 11 - (s + i));
                }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && key_char(s[i - 1])) continue; /* only at a token's start */
        size_t e = i;
        while (e < n && key_char(s[e])) e++;
        size_t len = e - i;
        for (size_t k = 0; k < sizeof key_prefixes / sizeof key_prefixes[0]; k++) {
            size_t pl = strlen(key_prefixes[k].prefix);
            if (len >= pl + key_prefixes[k].min_rest &&
                strncmp(s + i, key_prefixes[k].prefix, pl) == 0) {
                *at = i;
                *why = key_prefixes[k].why;
                return len;
            }
        }
        /* A long random-looking token. Words joined by _ or - (identifiers,
         * prompt text) are split there; lowercase hex (content hashes) has no
         * capitals and passes. */
        for (size_t a = i; a < e;) {
            size_t b = a;
            while (b < e && isalnum((unsigned char)s[b])) b++;
            size_t up = 0, lo = 0, dig = 0;
            for (size_t q = a; q < b; q++) {
                if (isupper((unsigned char)s[q])) up++;
                else if (islower((unsigned char)s[q])) lo++;
                else dig++;
            }
            if (b - a >= 32 && up >= 3 && lo >= 3 && dig >= 3 && entropy(s + a, b - a) >= 4.0) {
                *at = a;
                *why = "a long random token (an API key?)";
                return b - a;
            }
            a = b < e ? b + 1 : e;
        }
        i = e;
    }
    return 0;
}

/* Line and column of byte `off` of the file (the node starts at `start`). */
static void position_at(const cs_file *f, TSNode start, uint32_t off, int *line, int *col)
{
    TSPoint p = ts_node_start_point(start);
    int l = (int)p.row + 1, c = (int)p.column + 1;
    for (uint32_t i = ts_node_start_byte(start); i < off && i < f->len; i++) {
        if (f->text[i] == '\n') { l++; c = 1; }
        else c++;
    }
    *line = l;
    *col = c;
}

/* Checks the bytes [a, b) of the file, which belong to node n. Returns 1 if
 * it reported something. */
static int check_span(cshape *cs, const cs_file *f, TSNode n, uint32_t a, uint32_t b,
                      const char *what)
{
    if (b > f->len || b <= a) return 0;
    const char *s = f->text + a;
    size_t len = b - a, at, hit;
    int line, col, reported = 0;
    const char *why;
    if ((hit = cshape_find_abs_path(s, len, &at)) != 0) {
        position_at(f, n, a + (uint32_t)at, &line, &col);
        int show = hit > 40 ? 40 : (int)hit;
        cshape_report(cs, f->path, line, col, "%s holds an absolute path '%.*s%s'; generated code "
                      "must be the same on every machine, so use a path relative to the .dsp file",
                      what, show, s + at, hit > 40 ? "..." : "");
        reported = 1;
    }
    if ((hit = cshape_find_secret(s, len, &at, &why)) != 0) {
        position_at(f, n, a + (uint32_t)at, &line, &col);
        /* Never print the secret itself: only enough to find it. */
        cshape_report(cs, f->path, line, col, "%s holds what looks like %s ('%.6s...', %zu "
                      "characters); keys belong in the environment, never in code",
                      what, why, s + at, hit);
        reported = 1;
    }
    return reported;
}

static int check_node(cshape *cs, const cs_file *f, TSNode n)
{
    const char *t = ts_node_type(n);
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    if (strcmp(t, "string_literal") == 0 || strcmp(t, "system_lib_string") == 0 ||
        strcmp(t, "raw_string_literal") == 0 || strcmp(t, "char_literal") == 0)
        return check_span(cs, f, n, a, b, "string literal");
    if (strcmp(t, "number_literal") == 0)
        return check_span(cs, f, n, a, b, "number literal");
    if (strcmp(t, "comment") == 0)
        return check_span(cs, f, n, a, b, "comment");
    return 0;
}

/* "/ho" "me/x": the pieces of a concatenated string are checked one by one
 * and then joined, so a path split across pieces is still found. */
static void check_concatenated(cshape *cs, const cs_file *f, TSNode n)
{
    uint32_t count = ts_node_named_child_count(n);
    size_t cap = ts_node_end_byte(n) - ts_node_start_byte(n) + 1, len = 0;
    char *joined = malloc(cap);
    if (!joined) return;
    int any = 0;
    for (uint32_t i = 0; i < count; i++) {
        TSNode piece = ts_node_named_child(n, i);
        if (!cs_is(piece, "string_literal")) continue;
        any |= check_node(cs, f, piece);
        uint32_t a = ts_node_start_byte(piece), b = ts_node_end_byte(piece);
        /* The contents between the quotes, without the quotes. */
        while (a < b && f->text[a] != '"') a++;
        if (b > a + 1 && len + (b - a - 2) < cap) {
            memcpy(joined + len, f->text + a + 1, b - a - 2);
            len += b - a - 2;
        }
    }
    if (!any) {
        size_t at;
        const char *why;
        int line, col;
        cs_position(n, &line, &col);
        if (cshape_find_abs_path(joined, len, &at))
            cshape_report(cs, f->path, line, col, "concatenated string holds an absolute path; "
                          "generated code must be the same on every machine");
        if (cshape_find_secret(joined, len, &at, &why))
            cshape_report(cs, f->path, line, col, "concatenated string holds what looks like %s; "
                          "keys belong in the environment, never in code", why);
    }
    free(joined);
}

void cshape_check_literals(cshape *cs, const cs_file *f)
{
    TSTreeCursor c = ts_tree_cursor_new(cs_root(f));
    for (;;) {
        TSNode n = ts_tree_cursor_current_node(&c);
        int descend = 1;
        if (cs_is(n, "concatenated_string")) {
            check_concatenated(cs, f, n);
            descend = 0;
        } else if (check_node(cs, f, n) || ts_node_child_count(n) == 0) {
            descend = 0;
        } else if (cs_is(n, "string_literal") || cs_is(n, "comment") || cs_is(n, "number_literal")) {
            descend = 0;
        }
        if (descend && ts_tree_cursor_goto_first_child(&c)) continue;
        int moved = 0;
        while (!(moved = ts_tree_cursor_goto_next_sibling(&c)))
            if (!ts_tree_cursor_goto_parent(&c)) break;
        if (!moved) break;
    }
    ts_tree_cursor_delete(&c);
}
