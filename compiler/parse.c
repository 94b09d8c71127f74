/* parse.c — loads source files and runs the scanner and parser over them. */
#include "parse.h"
#include "file_read.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "parser.h"
#include "lexer.h"

static const char *dir_of(arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return "";
    if (slash == path)
        return "/";
    return arena_strndup(a, path, (size_t)(slash - path));
}

source_file *source_from_string(arena *a, const char *path, const char *text, size_t len)
{
    source_file *f = arena_alloc(a, sizeof *f);
    f->path = arena_strdup(a, path);
    f->dir = dir_of(a, path);
    f->rel_dir = "";
    const char *slash = strrchr(f->path, '/');
    f->rel_path = slash ? slash + 1 : f->path;
    f->text = arena_strndup(a, text, len);
    f->len = len;
    return f;
}

source_file *source_load(arena *a, diag *d, const char *path, src_loc from)
{
    const char *why;
    FILE *fp = fr_open_regular(path, &why);
    if (!fp) {
        diag_error(d, from, errno == EINVAL ? "`%s` %s; a source must be a file" : "cannot open `%s`: %s", path,
                   why);
        return NULL;
    }
    char what[PATH_MAX + 8];
    snprintf(what, sizeof what, "`%s`", path);
    source_file *f = source_read_stream(a, d, fp, path, what, from);
    fclose(fp);
    return f;
}

source_file *source_read_stream(arena *a, diag *d, FILE *fp, const char *path, const char *what,
                                src_loc from)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > SOURCE_MAX_BYTES + 65536) {
                diag_error(d, from, "%s is larger than %u bytes; is it really a .dsp file?", what,
                           SOURCE_MAX_BYTES);
                free(buf);
                return NULL;
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                diag_error(d, from, "out of memory reading %s", what);
                free(buf);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        diag_error(d, from, "cannot read %s", what);
        free(buf);
        return NULL;
    }
    /* A UTF-8 byte order mark (some Windows editors write one) is not
     * part of the program; columns on line 1 then count from after it. */
    size_t skip = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    source_file *f = source_from_string(a, path, buf ? buf + skip : "", len - skip);
    free(buf);
    return f;
}

ast_file *parse_source(arena *a, diag *d, const source_file *src)
{
    ast_file *file = arena_alloc(a, sizeof *file);
    file->src = src;
    parse_ctx pc = { .arena = a, .diag = d, .file = src, .ast = file, .line = 1, .col = 1 };
    yyscan_t scanner;
    if (dsp_yylex_init_extra(&pc, &scanner) != 0) {
        diag_error(d, src_loc_make(src, 0, 0), "cannot start the scanner: out of memory");
        return file;
    }
    YY_BUFFER_STATE buf = dsp_yy_scan_bytes(src->text, (int)src->len, scanner);
    /* 1: syntax errors, 2: the parser's stack is full; both already reported. */
    (void)dsp_yyparse(scanner, &pc);
    dsp_yy_delete_buffer(buf, scanner);
    dsp_yylex_destroy(scanner);
    return file;
}
