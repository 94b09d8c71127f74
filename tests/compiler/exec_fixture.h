/* exec_fixture.h — what the interpreter's unit tests share: a temporary
 * directory to write a program and its data into, checking the program, a
 * client that never reaches a network (no LM is called by these tests). */
#ifndef DSPCC_TEST_EXEC_FIXTURE_H
#define DSPCC_TEST_EXEC_FIXTURE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "diag.h"
#include "exec.h"
#include "sema.h"

typedef struct xfix {
    char dir[64];
    arena a;
    diag d;
    dsp_client *client;
} xfix;

static inline void xfix_write(const xfix *f, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        abort();
    fputs(text, fp);
    fclose(fp);
}

static inline const char *xfix_path(xfix *f, const char *name)
{
    return arena_printf(&f->a, "%s/%s", f->dir, name);
}

static inline xfix *xfix_new(void)
{
    xfix *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    snprintf(f->dir, sizeof f->dir, "/tmp/dspcc-exec-XXXXXX");
    if (!mkdtemp(f->dir))
        abort();
    arena_init(&f->a);
    diag_init(&f->d, &f->a, NULL);  /* warnings stay quiet; errors are printed below */
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    o.base_url = "http://127.0.0.1:9/v1"; /* discard port: never answers */
    o.max_retries = 0;
    if (dsp_client_new(&o, &f->client, NULL) != DSP_OK)
        abort();
    return f;
}

static inline void xfix_free(xfix *f)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    dsp_client_free(f->client);
    arena_free(&f->a);
    free(f);
}

/* Writes main.dsp and checks it; NULL when it has errors. */
static inline ir_program *xfix_program(xfix *f, const char *text)
{
    xfix_write(f, "main.dsp", text);
    ir_program *p = sema_check_file(&f->a, &f->d, xfix_path(f, "main.dsp"));
    if (!p)
        for (size_t i = 0; i < f->d.msgs.len; i++)
            fprintf(stderr, "%s\n", ((const diag_msg *)f->d.msgs.items[i])->line);
    return p;
}

/* The absolute path of the tools library the build puts beside the tests. */
static inline const char *xfix_tools_lib(xfix *f)
{
    const char *build = getenv("BUILD");
    char rel[PATH_MAX], abs[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/tests/compiler/libinterp_tools.so", build && *build ? build : "build");
    if (!realpath(rel, abs))
        return arena_strdup(&f->a, rel);
    return arena_strdup(&f->a, abs);
}

#endif
