/* cmd_fmt.c — `dspcc fmt [--check] FILE...|-`: rewrites .dsp files in the
 * canonical layout (fmt.h). A file with syntax errors is refused with its
 * diagnostics and left untouched; a file is replaced atomically (a
 * temporary file in the same directory, then rename), keeping its mode. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "cli_options.h"
#include "cmd.h"
#include "diag.h"
#include "file_write.h"
#include "fmt.h"
#include "parse.h"

/* Reads all of stdin into the arena; NULL (reported) on failure. */
static source_file *read_stdin(arena *a, diag *d)
{
    return source_read_stream(a, d, stdin, "<stdin>", "standard input", src_loc_make(NULL, 0, 0));
}

/* Writes text over path atomically (file_write.h), keeping its mode. */
static int write_atomically(const char *path, const char *text, size_t len)
{
    /* Through a symbolic link, the file it names is the one replaced. */
    char *real = realpath(path, NULL);
    const char *target = real ? real : path;
    struct stat st;
    int rc = 0;
    char why[FW_WHY_MAX];
    if (stat(target, &st) != 0) {
        fprintf(stderr, "dspcc fmt: cannot stat `%s`: %s\n", path, strerror(errno));
        rc = -1;
    } else if (fw_write_file(target, text, len, st.st_mode & 07777, why) != 0) {
        fprintf(stderr, "dspcc fmt: %s; `%s` is left as it was\n", why, path);
        rc = -1;
    }
    free(real);
    return rc;
}

/* 0: formatted (or already canonical), 1: would change (--check) or an
 * error. */
static int fmt_one(const char *path, int check)
{
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, stderr);
    int from_stdin = strcmp(path, "-") == 0;
    source_file *src = from_stdin ? read_stdin(&a, &d) : source_load(&a, &d, path,
                                                                      src_loc_make(NULL, 0, 0));
    int status = 1;
    if (!src)
        goto out;
    ast_file *file = parse_source(&a, &d, src);
    if (d.errors) {
        fprintf(stderr, "dspcc fmt: `%s` has syntax errors; not formatted\n", src->path);
        goto out;
    }
    char *text;
    size_t len;
    if (fmt_file(&a, &d, file, &text, &len) != 0)
        goto out;
    int same = len == src->len && memcmp(text, src->text, len) == 0;
    if (check) {
        if (!same)
            printf("%s\n", src->path);
        status = same ? 0 : 1;
    } else if (from_stdin) {
        status = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : 1;
        if (status)
            fputs("dspcc fmt: cannot write standard output\n", stderr);
    } else {
        status = same ? 0 : write_atomically(path, text, len) == 0 ? 0 : 1;
    }
    free(text);
out:
    arena_free(&a);
    return status;
}

enum { OPT_CHECK = 256 };

static const struct option options[] = {
    { "check", no_argument, NULL, OPT_CHECK },
    CLI_OPTIONS_END,
};

static int run(int argc, char **argv)
{
    int check = 0, status = 0, nstdin = 0;
    cli_opts o;
    cli_opts_init(&o, &cmd_fmt, argc, argv, "", options);
    int c;
    while ((c = cli_opts_next(&o)) != CLI_OPTS_END) {
        if (c != OPT_CHECK)
            return c == CLI_OPTS_HELP ? 0 : 2;
        check = 1;
    }
    for (int i = 0; i < o.n_operands; i++)
        nstdin += strcmp(o.operands[i], "-") == 0;
    if (o.n_operands == 0) {
        fputs("dspcc fmt: no input file; usage: dspcc fmt [--check] FILE.dsp... (- for stdin)\n",
              stderr);
        return 2;
    }
    if (nstdin > 1) {
        fputs("dspcc fmt: `-` (standard input) may be given once\n", stderr);
        return 2;
    }
    for (int i = 0; i < o.n_operands; i++)
        if (fmt_one(o.operands[i], check) != 0)
            status = 1;
    return status;
}

const dspcc_cmd cmd_fmt = {
    "fmt",
    "rewrite .dsp files in the canonical layout",
    "usage: dspcc fmt [--check] FILE.dsp...\n"
    "       dspcc fmt [--check] -\n\n"
    "Rewrites each file in the canonical layout (docs/language.md, \"Formatting\"),\n"
    "keeping every comment, string and number as written. A file with syntax\n"
    "errors is refused with its diagnostics and left untouched. Files are replaced\n"
    "atomically and keep their permissions. `-` reads standard input and writes\n"
    "the result to standard output.\n\n"
    "  --check    change nothing; print the files that are not formatted\n\n"
    "Exit status: 0 done (with --check: all formatted), 1 errors or (with --check)\n"
    "files that would change, 2 bad usage.\n",
    run,
};
