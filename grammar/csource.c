/* grammar/csource.c — reading and parsing one C file with tree-sitter-c.
 * See csource.h for why C++ linkage guards are blanked before parsing. */
#include "csource.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copies the bytes of [s, s+n) into out without comments and whitespace,
 * so `extern "C" {  // x` compares equal to `extern"C"{`. Returns 0 when
 * the result does not fit (then it cannot be one of the short idioms). */
static int squeeze(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == '*' && s[k + 1] == '/') { end = s + k; break; }
            i = end ? (size_t)(end - s) + 2 : n;
            continue;
        }
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
            while (i < n && s[i] != '\n') i++;
            continue;
        }
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
            s[i] == '\f' || s[i] == '\v') {
            i++;
            continue;
        }
        if (o + 1 >= cap) return 0;
        out[o++] = s[i++];
    }
    out[o] = '\0';
    return 1;
}

/* If the line at [s, e) is a preprocessor directive, copies its name
 * ("ifdef", "endif") into name and returns a pointer to its argument. */
static const char *directive(const char *s, const char *e, char *name, size_t cap)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    if (s >= e || *s != '#') return NULL;
    s++;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    size_t n = 0;
    while (s < e && ((*s >= 'a' && *s <= 'z')) && n + 1 < cap) name[n++] = *s++;
    name[n] = '\0';
    return n ? s : NULL;
}

static int is_cplusplus_test(const char *name, const char *arg, const char *e)
{
    char sq[64];
    if (!squeeze(arg, (size_t)(e - arg), sq, sizeof sq)) return 0;
    if (strcmp(name, "ifdef") == 0) return strcmp(sq, "__cplusplus") == 0;
    if (strcmp(name, "if") == 0)
        return strcmp(sq, "defined(__cplusplus)") == 0 || strcmp(sq, "defined__cplusplus") == 0;
    return 0;
}

static const char *line_end(const char *s, const char *end)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    return nl ? nl : end;
}

/* Blanks every `#ifdef __cplusplus` block whose whole body is `extern "C" {`
 * or `}`, keeping newlines so positions do not move. */
static void blank_linkage_guards(char *text, size_t len)
{
    char *end = text + len;
    for (char *line = text; line < end;) {
        char *le = (char *)line_end(line, end);
        char name[16];
        const char *arg = directive(line, le, name, sizeof name);
        if (arg && is_cplusplus_test(name, arg, le)) {
            /* The body runs to the next directive, which must be #endif. */
            char *body = le < end ? le + 1 : end;
            char *l2 = body;
            char *close = NULL, *close_end = NULL;
            while (l2 < end) {
                char *l2e = (char *)line_end(l2, end);
                char n2[16];
                if (directive(l2, l2e, n2, sizeof n2)) {
                    if (strcmp(n2, "endif") == 0) { close = l2; close_end = l2e; }
                    break;
                }
                l2 = l2e < end ? l2e + 1 : end;
            }
            char sq[32];
            if (close && squeeze(body, (size_t)(close - body), sq, sizeof sq) &&
                (strcmp(sq, "extern\"C\"{") == 0 || strcmp(sq, "}") == 0)) {
                for (char *p = line; p < close_end; p++)
                    if (*p != '\n' && *p != '\r') *p = ' ';
                line = close_end < end ? close_end + 1 : end;
                continue;
            }
        }
        line = le < end ? le + 1 : end;
    }
}

int cs_open_text(cs_file *f, const char *path, const char *text, size_t len,
                 char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->text = malloc(len + 1);
    if (!f->path || !f->text) {
        snprintf(err, errlen, "out of memory reading %zu bytes", len);
        cs_close(f);
        return -1;
    }
    memcpy(f->text, text, len);
    f->text[len] = '\0';
    f->len = len;
    blank_linkage_guards(f->text, f->len);
    if (len > UINT32_MAX) {
        snprintf(err, errlen, "file is too large to parse (%zu bytes)", len);
        cs_close(f);
        return -1;
    }
    f->parser = ts_parser_new();
    if (!f->parser || !ts_parser_set_language(f->parser, tree_sitter_c())) {
        snprintf(err, errlen, "cannot load the tree-sitter C grammar (ABI %u) into libtree-sitter",
                 ts_language_version(tree_sitter_c()));
        cs_close(f);
        return -1;
    }
    f->tree = ts_parser_parse_string(f->parser, NULL, f->text, (uint32_t)f->len);
    if (!f->tree) {
        snprintf(err, errlen, "tree-sitter could not parse the file");
        cs_close(f);
        return -1;
    }
    return 0;
}

int cs_open(cs_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    /* Regular files only, checked on the descriptor before any read: the
     * open does not wait, so a FIFO named as a header cannot hang dspcc. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot open: %s",
                 S_ISFIFO(st.st_mode)  ? "it is a FIFO (named pipe), not a regular file"
                 : S_ISDIR(st.st_mode) ? "it is a directory, not a regular file"
                                       : "it is not a regular file");
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        close(fd);
        return -1;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (len < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading the file");
        return -1;
    }
    if (bad) {
        free(buf);
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        return -1;
    }
    int rc = cs_open_text(f, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

void cs_close(cs_file *f)
{
    if (f->tree) ts_tree_delete(f->tree);
    if (f->parser) ts_parser_delete(f->parser);
    free(f->text);
    free(f->path);
    memset(f, 0, sizeof *f);
}

TSNode cs_root(const cs_file *f)
{
    return ts_tree_root_node(f->tree);
}

int cs_is(TSNode n, const char *type)
{
    return !ts_node_is_null(n) && strcmp(ts_node_type(n), type) == 0;
}

void cs_position(TSNode n, int *line, int *col)
{
    TSPoint p = ts_node_start_point(n);
    *line = (int)p.row + 1;
    *col = (int)p.column + 1;
}

char *cs_node_text(const cs_file *f, TSNode n)
{
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    if (b < a || b > f->len) b = a;
    char *s = malloc(b - a + 1);
    if (!s) return NULL;
    memcpy(s, f->text + a, b - a);
    s[b - a] = '\0';
    return s;
}

int cs_node_text_is(const cs_file *f, TSNode n, const char *s)
{
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    size_t sl = strlen(s);
    return b >= a && b <= f->len && (size_t)(b - a) == sl && memcmp(f->text + a, s, sl) == 0;
}

int cs_first_syntax_error(const cs_file *f, TSNode *where, char *msg, size_t msglen)
{
    TSNode root = cs_root(f);
    if (!ts_node_has_error(root)) return 0;
    /* Walk with a cursor, not recursion: a hostile file may nest deeply. */
    TSTreeCursor c = ts_tree_cursor_new(root);
    int found = 0;
    for (;;) {
        TSNode n = ts_tree_cursor_current_node(&c);
        if (ts_node_is_missing(n) || cs_is(n, "ERROR")) {
            *where = n;
            found = 1;
            break;
        }
        if (ts_node_has_error(n) && ts_tree_cursor_goto_first_child(&c)) continue;
        int moved = 0;
        while (!(moved = ts_tree_cursor_goto_next_sibling(&c)))
            if (!ts_tree_cursor_goto_parent(&c)) break;
        if (!moved) break;
    }
    ts_tree_cursor_delete(&c);
    if (!found) { /* has_error yet no node found: point at the root */
        *where = root;
        snprintf(msg, msglen, "syntax error");
        return 1;
    }
    if (ts_node_is_missing(*where)) {
        snprintf(msg, msglen, "syntax error: missing '%s'", ts_node_type(*where));
        return 1;
    }
    /* Quote the start of the unparsable text: up to the line's end, 40 bytes. */
    uint32_t a = ts_node_start_byte(*where), b = ts_node_end_byte(*where);
    size_t n = 0;
    while (a + n < b && a + n < f->len && f->text[a + n] != '\n' && f->text[a + n] != '\r' && n < 40)
        n++;
    if (n == 0)
        snprintf(msg, msglen, "syntax error");
    else
        snprintf(msg, msglen, "syntax error near '%.*s'", (int)n, f->text + a);
    return 1;
}

int cs_has_storage(const cs_file *f, TSNode decl, const char *spec)
{
    uint32_t n = ts_node_named_child_count(decl);
    for (uint32_t i = 0; i < n; i++) {
        TSNode c = ts_node_named_child(decl, i);
        if (cs_is(c, "storage_class_specifier") && cs_node_text_is(f, c, spec)) return 1;
    }
    return 0;
}

static int is_container(TSNode n)
{
    static const char *const kinds[] = {
        "translation_unit", "preproc_if", "preproc_ifdef", "preproc_else",
        "preproc_elif", "preproc_elifdef", "linkage_specification", "declaration_list",
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (cs_is(n, kinds[i])) return 1;
    return 0;
}

static void visit_children(const cs_file *f, TSNode n, cs_visit_fn visit, void *ctx, int depth)
{
    uint32_t count = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_named_child(n, i);
        /* Conditionals nest only as deep as the file's #if nesting; the cap
         * keeps a hostile file from exhausting the stack. */
        if (is_container(c) && depth < 256)
            visit_children(f, c, visit, ctx, depth + 1);
        else
            visit(f, c, ctx);
    }
}

void cs_visit_file_scope(const cs_file *f, cs_visit_fn visit, void *ctx)
{
    visit_children(f, cs_root(f), visit, ctx, 0);
}

TSNode cs_declarator_name(TSNode n, int *is_function, TSNode *fdecl)
{
    TSNode prev = {0};
    int have_prev = 0;
    *is_function = 0;
    for (int guard = 0; !ts_node_is_null(n) && guard < 1000; guard++) {
        const char *t = ts_node_type(n);
        if (strcmp(t, "identifier") == 0 || strcmp(t, "type_identifier") == 0 ||
            strcmp(t, "field_identifier") == 0 || strcmp(t, "primitive_type") == 0) {
            if (have_prev && cs_is(prev, "function_declarator")) {
                *is_function = 1;
                if (fdecl) *fdecl = prev;
            }
            return n;
        }
        TSNode next;
        if (strcmp(t, "parenthesized_declarator") == 0) {
            /* `(f)(void)` still declares f itself; do not count the parens. */
            next = ts_node_named_child(n, 0);
        } else {
            next = ts_node_child_by_field_name(n, "declarator", (uint32_t)strlen("declarator"));
            prev = n;
            have_prev = 1;
        }
        n = next;
    }
    TSNode null = {0};
    return null;
}
