/* tests/tools/cshape_main.c — the dsp-cshape command line (see cshape.h). */
#include "cshape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *to)
{
    fprintf(to,
            "usage: dsp-cshape [--prefix PREFIX]... FILE.c|FILE.h...\n"
            "Checks the shape of generated C: every file parses; every function declared in a\n"
            ".h is defined in one of the .c files; every external symbol defined in a .c starts\n"
            "with a PREFIX (--prefix may be given up to 4 times); no literal or comment holds an absolute path or an API key.\n"
            "Exit status: 0 clean, 1 violations (listed as file:line:col), 2 usage error.\n");
    return 2;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int add_prefix(cshape *cs, const char *p)
{
    if (cs->n_prefixes == CSHAPE_MAX_PREFIXES) {
        fprintf(stderr, "dsp-cshape: at most %d --prefix options\n", CSHAPE_MAX_PREFIXES);
        return 0;
    }
    cs->prefixes[cs->n_prefixes++] = p;
    return 1;
}

int main(int argc, char **argv)
{
    cshape cs = {0};
    const char **files = calloc((size_t)argc, sizeof *files);
    if (!files) return 2;
    size_t nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            free(files);
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--prefix") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "dsp-cshape: --prefix needs a value, e.g. --prefix tickets_\n");
                free(files);
                return 2;
            }
            const char *p = argv[++i];
            if (!add_prefix(&cs, p)) {
                free(files);
                return 2;
            }
        } else if (strncmp(argv[i], "--prefix=", 9) == 0 && argv[i][9]) {
            if (!add_prefix(&cs, argv[i] + 9)) {
                free(files);
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dsp-cshape: unknown option '%s'\n", argv[i]);
            free(files);
            return usage(stderr);
        } else if (!ends_with(argv[i], ".c") && !ends_with(argv[i], ".h")) {
            fprintf(stderr, "dsp-cshape: '%s' is neither a .c nor a .h file\n", argv[i]);
            free(files);
            return 2;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (nfiles == 0) {
        free(files);
        return usage(stderr);
    }

    cshape_symbols *syms = cshape_symbols_new();
    if (!syms) {
        free(files);
        fprintf(stderr, "dsp-cshape: out of memory\n");
        return 2;
    }
    int have_sources = 0;
    for (size_t i = 0; i < nfiles; i++) {
        cs_file f;
        char err[512];
        if (cs_open(&f, files[i], err, sizeof err) != 0) {
            cshape_report(&cs, files[i], 0, 0, "%s", err);
            continue;
        }
        int is_header = ends_with(files[i], ".h");
        TSNode where;
        char msg[256];
        if (cs_first_syntax_error(&f, &where, msg, sizeof msg)) {
            int line, col;
            cs_position(where, &line, &col);
            cshape_report(&cs, f.path, line, col, "%s", msg);
        } else {
            /* Symbols of a file that does not parse would be guesses. */
            cshape_symbols_add(syms, &cs, &f, is_header);
            have_sources |= !is_header;
        }
        cshape_check_literals(&cs, &f);
        cs_close(&f);
    }
    cshape_symbols_check(syms, &cs, have_sources);
    cshape_symbols_free(syms);
    free(files);
    if (cs.errors) {
        fprintf(stderr, "dsp-cshape: %d problem%s in %zu file%s\n", cs.errors,
                cs.errors == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s");
        return 1;
    }
    return 0;
}
