/* cmd_build.c — `dspcc build FILE.dsp -o OUT.c`: the C backend's driver.
 * Checks the program, takes its prompts from an optimized state (--state)
 * or the signatures (--no-opt), and writes OUT.c, OUT.h and, with -MD -MF,
 * a Make dependency file. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arena.h"
#include "file_read.h"
#include "cg.h"
#include "cli_common.h"
#include "cli_options.h"
#include "cmd.h"
#include "diag.h"
#include "file_write.h"
#include "sema.h"
#include "state.h"

#ifndef DSPCC_VERSION
#define DSPCC_VERSION "unknown"
#endif

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fr_open_regular(path, NULL);
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
            } else {
                buf = p;
            }
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Hex SHA-256 of a file, via libcrypto. */
static int sha256_file(const char *path, char hex[65])
{
    size_t len = 0;
    char *data = read_all(path, &len);
    if (!data) return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    free(data);
    if (!ok || mdlen != 32) return -1;
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Writes an output through file_write.h (never half a file; not fsync'ed:
 * the next build makes it again). */
static int write_file(const char *path, const char *data, size_t len)
{
    char why[FW_WHY_MAX];
    if (fw_write_file_ex(path, data, len, 0644, 0, why) != 0) {
        fprintf(stderr, "dspcc build: %s\n", why);
        return -1;
    }
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The source as named in generated files: relative, never absolute (the
 * output must be byte-identical across machines). */
static const char *display_path(arena *a, const char *path)
{
    if (path[0] != '/') return path;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) {
        size_t n = strlen(cwd);
        if (strncmp(path, cwd, n) == 0 && path[n] == '/') return arena_strdup(a, path + n + 1);
    }
    return base_name(path);
}

/* ---- depfile --------------------------------------------------------- */

typedef struct strlist {
    const char **v;
    size_t n, cap;
} strlist;

static void sl_add(arena *a, strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        const char **v = arena_array(a, cap, sizeof *v);
        if (l->n) memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
}

static const char *join(arena *a, const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !dir[0]) return rel;
    size_t n = strlen(dir);
    return arena_printf(a, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", rel);
}

static void dep_escape(strbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '#' || *s == '\\') sb_put(b, "\\", 1);
        if (*s == '$') sb_put(b, "$", 1);
        sb_put(b, s, 1);
    }
}

static int write_depfile(arena *a, const char *dep_path, const char *c_path, const char *h_path,
                         const char *dsp_path, const ir_program *p, const char *state_path,
                         const char *shadow_path)
{
    const char *dir = p->base_dir;
    strlist deps = {0};
    sl_add(a, &deps, dsp_path);
    /* Imported files: every declaration's location names its file. */
#define LOC(x) \
    if ((x)->loc.file) sl_add(a, &deps, join(a, dir, (x)->loc.file))
    for (size_t i = 0; i < p->n_signatures; i++) LOC(p->signatures[i]);
    for (size_t i = 0; i < p->n_lms; i++) LOC(p->lms[i]);
    for (size_t i = 0; i < p->n_tools; i++) LOC(p->tools[i]);
    for (size_t i = 0; i < p->n_modules; i++) LOC(p->modules[i]);
    for (size_t i = 0; i < p->n_metrics; i++) LOC(p->metrics[i]);
    for (size_t i = 0; i < p->n_data; i++) LOC(p->data[i]);
    for (size_t i = 0; i < p->n_optimizes; i++) LOC(p->optimizes[i]);
#undef LOC
    for (size_t i = 0; i < p->n_data; i++) sl_add(a, &deps, join(a, dir, p->data[i]->path));
    /* A tool's header: the generated C copies its structs and prototype. */
    for (size_t i = 0; i < p->n_tools; i++)
        for (size_t j = 0; j < p->tools[i]->n_headers; j++) sl_add(a, &deps, p->tools[i]->headers[j]);
    if (state_path) sl_add(a, &deps, state_path);
    if (shadow_path) sl_add(a, &deps, shadow_path);

    strbuf b = {0};
    dep_escape(&b, c_path);
    sb_put(&b, " ", 1);
    dep_escape(&b, h_path);
    sb_put(&b, ":", 1);
    for (size_t i = 0; i < deps.n; i++) {
        sb_puts(&b, " \\\n  ");
        dep_escape(&b, deps.v[i]);
    }
    sb_put(&b, "\n", 1);
    /* Like gcc -MP: a deleted input does not break the next make. */
    for (size_t i = 0; i < deps.n; i++) {
        sb_put(&b, "\n", 1);
        dep_escape(&b, deps.v[i]);
        sb_puts(&b, ":\n");
    }
    int rc = b.oom ? -1 : write_file(dep_path, b.p, b.len);
    if (b.oom) fprintf(stderr, "dspcc build: out of memory writing %s\n", dep_path);
    sb_free(&b);
    return rc;
}

/* ---- the command ----------------------------------------------------- */

static const ir_module *pick_module(const ir_program *p, const char *name)
{
    if (name) return ir_module_find(p, name);
    if (p->n_optimizes) return p->optimizes[0]->module;
    return p->n_modules ? p->modules[p->n_modules - 1] : NULL;
}

/* A state built into the program must be for it: its module and
 * predictors. Another version of the .dsp is only a warning. */
static int check_state(const char *path, const st_state *st, const ir_program *p, const ir_module *m,
                       const char *input, const char *sha)
{
    if (strcmp(st->program, m->name) != 0) {
        fprintf(stderr, "dspcc build: %s optimizes %s, but the program built is %s\n", path, st->program, m->name);
        return 0;
    }
    for (size_t i = 0; i < st->n_predictors; i++)
        if (!ir_predictor_find(p, st->predictors[i].name)) {
            fprintf(stderr, "dspcc build: %s has prompts for `%s`, which %s does not have; re-run dspcc optimize\n",
                    path, st->predictors[i].name, input);
            return 0;
        }
    if (strcmp(st->source_sha256, sha) != 0)
        fprintf(stderr, "dspcc build: warning: %s was optimized for another version of %s "
                        "(SHA-256 differs); re-run dspcc optimize to refresh it\n",
                path, input);
    return 1;
}

enum { OPT_STATE = 256, OPT_SHADOW_STATE, OPT_PROGRAM, OPT_BASE_URL, OPT_NO_OPT, OPT_ALLOW_REGRESSION, OPT_EMBED };

static const struct option options[] = {
    { "output", required_argument, NULL, 'o' },
    { "state", required_argument, NULL, OPT_STATE },
    { "shadow-state", required_argument, NULL, OPT_SHADOW_STATE },
    { "program", required_argument, NULL, OPT_PROGRAM },
    { "module", required_argument, NULL, OPT_PROGRAM }, /* eval's spelling */
    { "base-url", required_argument, NULL, OPT_BASE_URL },
    { "no-opt", no_argument, NULL, OPT_NO_OPT },
    { "allow-regression", no_argument, NULL, OPT_ALLOW_REGRESSION },
    { "quiet", no_argument, NULL, 'q' },
    { "embed-runtime", no_argument, NULL, OPT_EMBED },
    CLI_OPTIONS_END,
};

static int run(int argc, char **argv)
{
    const char *input = NULL, *out_c = NULL, *state_path = NULL, *dep_path = NULL, *program = NULL;
    const char *shadow_path = NULL;
    const char *base_url = NULL;
    int no_opt = 0, md = 0, embed = 0, allow_regression = 0, quiet = 0;
    cli_opts o;
    /* -M: GCC's -MD and -MF FILE (as getopt reads them, -M with D or F). */
    cli_opts_init(&o, &cmd_build, argc, argv, "o:qM:", options);
    int opt;
    while ((opt = cli_opts_next(&o)) != CLI_OPTS_END) {
        switch (opt) {
        case 'o': out_c = o.value; break;
        case OPT_STATE: state_path = o.value; break;
        case OPT_SHADOW_STATE: shadow_path = o.value; break;
        case OPT_PROGRAM: program = o.value; break;
        /* Only the optimizer talks to an LM during a build; with a state
         * or --no-opt there is nothing to send. */
        case OPT_BASE_URL: base_url = o.value; break;
        case OPT_NO_OPT: no_opt = 1; break;
        case OPT_ALLOW_REGRESSION: allow_regression = 1; break;
        case 'q': quiet = 1; break; /* the optimize run's progress lines */
        case OPT_EMBED: embed = 1; break;
        case 'M':
            if (strcmp(o.value, "D") == 0) {
                md = 1;
            } else if (o.value[0] == 'F') { /* -MF FILE, or -MFFILE as GCC takes it too */
                if (o.value[1])
                    dep_path = o.value + 1;
                else if (!cli_opts_take_value(&o, "-MF", &dep_path))
                    return 2;
            } else {
                char opt[64];
                snprintf(opt, sizeof opt, "-M%s", o.value);
                cli_opts_unknown(&o, opt);
                return 2;
            }
            break;
        default: return opt == CLI_OPTS_HELP ? 0 : 2;
        }
    }
    if (!cli_opts_file(&o, &input))
        return 2;
    if (!input || !out_c) {
        fputs("dspcc build: usage: dspcc build FILE.dsp -o OUT.c [--no-opt | --state STATE] [-MD -MF FILE.d]\n",
              stderr);
        return 2;
    }
    size_t ol = strlen(out_c);
    if (ol < 3 || strcmp(out_c + ol - 2, ".c") != 0) {
        fprintf(stderr, "dspcc build: the output must be a .c file (got %s); the header goes beside it\n", out_c);
        return 2;
    }
    if (base_url && !cli_check_url("build", base_url))
        return 2;
    if (md && !dep_path) {
        fputs("dspcc build: -MD needs -MF FILE.d\n", stderr);
        return 2;
    }
    if (no_opt && state_path) {
        fputs("dspcc build: --no-opt and --state exclude each other\n", stderr);
        return 2;
    }
    if (allow_regression && (no_opt || state_path)) {
        fprintf(stderr, "dspcc build: --allow-regression applies when the build optimizes; with %s the "
                        "program is already chosen (pass it to dspcc optimize instead)\n",
                no_opt ? "--no-opt" : "--state");
        return 2;
    }
    if (!cli_check_output("build", "-o", out_c) || (dep_path && !cli_check_output("build", "-MF", dep_path)))
        return 1;
    char *made_state = NULL;
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, stderr);
    int status = 1;
    st_state st, shadow;
    memset(&st, 0, sizeof st);
    memset(&shadow, 0, sizeof shadow);
    int have_state = 0, have_shadow = 0;
    strbuf c = {0}, h = {0};
    ir_program *p = sema_check_file(&a, &d, input);
    if (!p) goto out;
    const ir_module *m = pick_module(p, program);
    if (!m) {
        if (!program) {
            fprintf(stderr, "dspcc build: %s: the program declares no module\n", input);
        } else {
            fprintf(stderr, "dspcc build: %s has no module `%s` (--program); its modules:", input, program);
            for (size_t i = 0; i < p->n_modules; i++)
                fprintf(stderr, "%s %s", i ? "," : "", p->modules[i]->name);
            fputs(p->n_modules ? "\n" : " none\n", stderr);
        }
        goto out;
    }
    /* Without --no-opt or --state the build runs the optimize block first,
     * through `dspcc optimize` in this process, and keeps its state and
     * report beside the output (OUT.state.json, OUT.report.html) for
     * review. With a warm cache a rebuild makes no LM calls. A module of C
     * tools only has no prompt to optimize: it is built as it is. */
    if (!no_opt && !state_path && ir_module_first_predictor(m)) {
        size_t stem = ol - 2;
        made_state = malloc(stem + 32);
        char *report = malloc(stem + 32);
        if (!made_state || !report) {
            free(report);
            fputs("dspcc build: out of memory\n", stderr);
            goto out; /* frees made_state */
        }
        snprintf(made_state, stem + 32, "%.*s.state.json", (int)stem, out_c);
        snprintf(report, stem + 32, "%.*s.report.html", (int)stem, out_c);
        char *oargv[14];
        int oargc = 0;
        oargv[oargc++] = (char *)"optimize";
        oargv[oargc++] = (char *)input;
        oargv[oargc++] = (char *)"-o";
        oargv[oargc++] = made_state;
        oargv[oargc++] = (char *)"--report";
        oargv[oargc++] = report;
        if (base_url) {
            oargv[oargc++] = (char *)"--base-url";
            oargv[oargc++] = (char *)base_url;
        }
        if (program) {
            oargv[oargc++] = (char *)"--module";
            oargv[oargc++] = (char *)program;
        }
        if (allow_regression)
            oargv[oargc++] = (char *)"--allow-regression";
        if (quiet)
            oargv[oargc++] = (char *)"-q";
        oargv[oargc] = NULL;
        int rc = cmd_optimize.run(oargc, oargv);
        free(report);
        if (rc != 0) {
            fprintf(stderr, "dspcc build: optimization failed; nothing written (or build the baseline with --no-opt)\n");
            status = rc;
            goto out;
        }
        state_path = made_state;
    }

    char sha[65];
    if (sha256_file(input, sha) != 0) {
        fprintf(stderr, "dspcc build: cannot read %s: %s\n", input, strerror(errno));
        goto out;
    }
    dsp_error err = {0};
    if (shadow_path) {
        if (st_read_file(shadow_path, &shadow, &err) != DSP_OK) {
            fprintf(stderr, "dspcc build: %s\n", err.message);
            goto out;
        }
        have_shadow = 1;
        if (!check_state(shadow_path, &shadow, p, m, input, sha)) goto out;
    }
    if (state_path) {
        if (st_read_file(state_path, &st, &err) != DSP_OK) {
            fprintf(stderr, "dspcc build: %s\n", err.message);
            goto out;
        }
        have_state = 1;
        if (!check_state(state_path, &st, p, m, input, sha)) goto out;
    }

    const char *out_h = arena_printf(&a, "%.*s.h", (int)(ol - 2), out_c);
    cg_input in = {
        .prog = p,
        .module = m,
        .state = have_state ? &st : NULL,
        .shadow_state = have_shadow ? &shadow : NULL,
        .source_path = display_path(&a, input),
        .source_sha256 = sha,
        .version = DSPCC_VERSION,
        .c_name = base_name(out_c),
        .h_name = base_name(out_h),
        .embed_runtime = embed,
    };
    if (cg_generate(&in, &c, &h, &err) != DSP_OK) {
        fprintf(stderr, "dspcc build: %s: %s\n", input, err.message);
        goto out;
    }
    if (write_file(out_h, h.p, h.len) != 0 || write_file(out_c, c.p, c.len) != 0) goto out;
    /* A state this build made is an output, not an input. */
    if (dep_path && write_depfile(&a, dep_path, out_c, out_h, input, p, made_state ? NULL : state_path,
                                  shadow_path) != 0)
        goto out;
    status = 0;
out:
    sb_free(&c);
    sb_free(&h);
    if (have_state) st_free(&st);
    if (have_shadow) st_free(&shadow);
    arena_free(&a);
    free(made_state);
    return status;
}

const dspcc_cmd cmd_build = {
    "build",
    "generate C (OUT.c and OUT.h) with the prompts baked in",
    "usage: dspcc build FILE.dsp -o OUT.c [--no-opt | --state STATE.json] [--shadow-state S.json] [-MD -MF FILE.d]\n"
    "                   [--program MODULE] [--base-url URL] [--embed-runtime] [--allow-regression] [-q]\n\n"
    "Writes OUT.c and OUT.h: the program (the optimize block's module, or\n"
    "--program) as a C function with its instructions, demos and LM settings\n"
    "in static const tables. Link them with libdsprt:\n"
    "    cc app.c OUT.c $(pkg-config --cflags --libs dsprt)\n\n"
    "Without --state or --no-opt it first runs the optimize block (as\n"
    "`dspcc optimize` does) and keeps OUT.state.json and OUT.report.html;\n"
    "a program of C tools only (no LM call) is built as it is.\n\n"
    "  -o, --output OUT.c  the C file to write; OUT.h is written beside it\n"
    "  --state STATE.json  prompts from `dspcc optimize -o STATE.json`\n"
    "  --shadow-state S.json  also build the variant S (e.g. the fine-tuned\n"
    "                      student) for shadow mode: NAME_shadow_variant\n"
    "  --no-opt            the unoptimized baseline: signature instructions, no demos\n"
    "  --allow-regression  when the build optimizes, ship the optimizer's program even\n"
    "                      if it does not beat the unoptimized one (as dspcc optimize)\n"
    "  -q, --quiet         when the build optimizes, no progress lines on stderr\n"
    "  -MD -MF FILE.d      also write a Make dependency file (the .dsp, imports, data,\n"
    "                      tool headers)\n"
    "  --program MODULE    the module to generate (default: the optimized one, else the last);\n"
    "                      also spelled --module, as in eval, prompt and optimize\n"
    "  --base-url URL      the endpoint for optimization during the build\n"
    "  --embed-runtime     put libdsprt itself into OUT.c/OUT.h (one file to drop in;\n"
    "                      link -lcurl -lcjson -lsqlite3 -lhiredis -lcrypto -lz -lpthread -lm)\n\n"
    "At run time DSPCC_BASE_URL points the generated program at another endpoint;\n"
    "API keys are read from the environment variables the lm declarations name.\n\n"
    "Exit status: 0 written, 1 errors in the input, 2 bad usage.\n",
    run,
};
