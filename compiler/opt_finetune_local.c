/* opt_finetune_local.c — better_together's weight step on a local LoRA
 * trainer (see opt_finetune.h).
 *
 * The trainer is a command the user owns (a PEFT or Unsloth script,
 * llama.cpp's finetune), given as a template on the lm:
 *
 *   trainer: "python3 train.py --data {data} --model {base_model} --out {output}"
 *
 * The template is split into words first (spaces separate words; '...' and
 * "..." group them; a backslash outside single quotes takes the next
 * character as it is), then the placeholders are replaced inside each word.
 * A value is never split again and never reaches a shell, so a path with
 * spaces or a `;` stays one argument. The program is run with execvp in the
 * .dsp file's directory.
 *
 * The adapter goes to ADAPTERS/KEY, KEY being the first 16 hex digits of
 * the SHA-256 of (trainer template, base model, epochs, seed, data bytes).
 * The trainer writes into a fresh ADAPTERS/KEY.partial-XXXXXX directory,
 * renamed to ADAPTERS/KEY only when it exits 0 having written a file, so a
 * crash half way leaves nothing that looks trained. ADAPTERS/KEY.json then
 * records the adapter's SHA-256 (dsp_adapter_sha256): a re-run with the same
 * key whose adapter still has that hash trains nothing; a changed or
 * missing adapter is trained again.
 */
#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsp/lora.h"
#include "file_read.h"
#include "file_write.h"
#include "opt_finetune.h"
#include "trainer_argv.h"

enum { TAIL_LINES = 12 };

#define say(o, ...) opt_ft_say((o)->progress, (o)->progress_ctx, __VA_ARGS__)

/* ---- running it ------------------------------------------------------- */

typedef struct tail {
    char lines[TAIL_LINES][256];
    size_t n, next;
    char cur[256];
    size_t cur_len;
} tail;

static void tail_line(tail *t)
{
    snprintf(t->lines[t->next], sizeof t->lines[0], "%.*s", (int)t->cur_len, t->cur);
    t->next = (t->next + 1) % TAIL_LINES;
    if (t->n < TAIL_LINES)
        t->n++;
    t->cur_len = 0;
}

static void tail_feed(tail *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            tail_line(t);
        else if (t->cur_len + 1 < sizeof t->cur)
            t->cur[t->cur_len++] = s[i];
    }
}

static const char *tail_text(const tail *t, arena *a)
{
    char *s = "";
    for (size_t i = 0; i < t->n; i++)
        s = arena_printf(a, "%s\n    %s", s, t->lines[(t->next + TAIL_LINES - t->n + i) % TAIL_LINES]);
    if (t->cur_len)
        s = arena_printf(a, "%s\n    %.*s", s, (int)t->cur_len, t->cur);
    return *s ? s : " (it printed nothing)";
}

/* Runs argv in dir, its output (stdout and stderr) copied live to ours as
 * `trainer| ` lines; *status is waitpid's. */
static dsp_status run(const opt_ft_local_options *o, char **argv, const char *dir, int *status, tail *t,
                      dsp_error *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return dsp_error_set(err, DSP_ERR_IO, "trainer: pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return dsp_error_set(err, DSP_ERR_IO, "trainer: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[1]);
        if (dir && *dir && chdir(dir) != 0) {
            fprintf(stderr, "cannot enter %s: %s\n", dir, strerror(errno));
            _exit(127);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    int at_line_start = 1;
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        tail_feed(t, buf, (size_t)n);
        if (o->quiet)
            continue;
        for (ssize_t i = 0; i < n; i++) {
            if (at_line_start)
                fputs("trainer| ", stderr);
            fputc(buf[i], stderr);
            at_line_start = buf[i] == '\n';
        }
    }
    if (!at_line_start && !o->quiet)
        fputc('\n', stderr);
    close(fds[0]);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return dsp_error_set(err, DSP_ERR_IO, "trainer: waitpid: %s", strerror(errno));
    return DSP_OK;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(path);
}

/* Removes a directory this module made (an old or partial adapter). */
static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int has_file(const char *dir)
{
    char hex[65];
    dsp_error e = { 0 };
    int ok = dsp_adapter_sha256(dir, hex, &e) == DSP_OK;
    dsp_error_clear(&e);
    return ok;
}

/* ---- paths ------------------------------------------------------------ */

/* path relative to the directory from (both made absolute first). */
static const char *relative_to(arena *a, const char *from, const char *path)
{
    char fa[PATH_MAX], pa[PATH_MAX];
    if (!realpath(from && *from ? from : ".", fa) || !realpath(path, pa))
        return arena_strdup(a, path);
    size_t i = 0, common = 0;
    while (fa[i] && fa[i] == pa[i]) {
        i++;
        if (fa[i] == '/' || (fa[i] == '\0' && (pa[i] == '/' || pa[i] == '\0')))
            common = i;
    }
    if (fa[i] == '\0' && (pa[i] == '/' || pa[i] == '\0'))
        common = i;
    if (strcmp(fa, "/") == 0)
        common = 0;
    char *up = "";
    for (const char *s = fa + common; *s; s++)
        if (*s == '/')
            up = arena_printf(a, "%s../", up);
    const char *rest = pa + common;
    while (*rest == '/')
        rest++;
    return *up || *rest ? arena_printf(a, "%s%s", up, rest) : ".";
}

static dsp_status key_of(const opt_ft_local_options *o, const opt_finetune_args *args, const char *jsonl, size_t len,
                         char hex[65], dsp_error *err)
{
    char head[8192];
    int n = snprintf(head, sizeof head, "dspcc lora 1\ntrainer %s\nbase_model %s\nn_epochs %d\nseed %llu\n",
                     o->trainer, o->base_model, args->n_epochs, (unsigned long long)args->seed);
    if (!opt_ft_key(head, n < (int)sizeof head ? n : -1, jsonl, len, hex))
        return dsp_error_set(err, DSP_ERR_INVALID, "trainer: cannot hash the training data (trainer too long?)");
    return DSP_OK;
}

/* The SHA-256 ADAPTERS/KEY.json records, or NULL. */
static const char *recorded_sha(arena *a, const char *record)
{
    const char *why;
    FILE *f = fr_open_regular(record, &why);
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "sha256"));
    const char *out = s && strlen(s) == 64 ? arena_strdup(a, s) : NULL;
    cJSON_Delete(root);
    return out;
}

static dsp_status write_record(const char *record, const opt_ft_local_options *o, const char *sha,
                               const char *data_path, dsp_error *err)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (root && cJSON_AddNumberToObject(root, "dspcc_lora", 1) && cJSON_AddStringToObject(root, "sha256", sha) &&
        cJSON_AddStringToObject(root, "base_model", o->base_model) &&
        cJSON_AddStringToObject(root, "trainer", o->trainer) && cJSON_AddStringToObject(root, "data", data_path))
        text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    size_t len = strlen(text);
    char why[FW_WHY_MAX];
    int rc = fw_write_file(record, text, len, 0644, why);
    cJSON_free(text);
    return rc == 0 ? DSP_OK : dsp_error_set(err, DSP_ERR_IO, "%s", why);
}

static void fill_out(arena *a, const opt_ft_local_options *o, const char *dir, const char *sha, int resumed,
                     opt_finetune_outcome *out)
{
    out->adapter_sha256 = arena_strdup(a, sha);
    out->adapter_path = relative_to(a, o->base_dir, dir);
    /* The name the server knows it by: the hash in it, so that a retrained
     * adapter is never mistaken for the old one (nor its cached replies). */
    out->adapter_name = arena_printf(a, "dspcc-%.16s", sha);
    char abs[PATH_MAX];
    out->adapter_abs = realpath(dir, abs) ? arena_strdup(a, abs) : arena_strdup(a, dir);
    out->model = out->adapter_name;
    out->job_id = NULL;
    out->resumed = resumed;
}

dsp_status opt_ft_run_local(const opt_ft_local_options *o, arena *a, const char *jsonl, size_t len,
                            const opt_finetune_args *args, opt_finetune_outcome *out, dsp_error *err)
{
    memset(out, 0, sizeof *out);
    char why[FW_WHY_MAX];
    if (fw_write_file(o->data_path, jsonl, len, 0644, why) != 0)
        return dsp_error_set(err, DSP_ERR_IO, "%s", why);
    char key[65];
    dsp_status st = key_of(o, args, jsonl, len, key, err);
    if (st != DSP_OK)
        return st;
    if (mkdir(o->adapters_dir, 0755) != 0 && errno != EEXIST)
        return dsp_error_set(err, DSP_ERR_IO, "trainer: cannot create %s: %s", o->adapters_dir, strerror(errno));
    const char *dir = arena_printf(a, "%s/%.16s", o->adapters_dir, key);
    const char *record = arena_printf(a, "%s.json", dir);
    const char *want = recorded_sha(a, record);
    if (want) {
        char hex[65];
        dsp_error e = { 0 };
        if (dsp_adapter_sha256(dir, hex, &e) == DSP_OK && strcmp(hex, want) == 0) {
            fill_out(a, o, dir, hex, 1, out);
            say(o, "LoRA adapter %s, trained earlier on this data (SHA-256 %.16s... as recorded in %s): not "
                   "training again",
                dir, hex, record);
            return DSP_OK;
        }
        say(o, "LoRA adapter %s %s (recorded SHA-256 %.16s...): training again", dir,
            e.message[0] ? "is missing or unreadable" : "has changed since it was trained", want);
        dsp_error_clear(&e);
    }
    /* Absolute paths: the trainer runs in the .dsp's directory. */
    char data_abs[PATH_MAX];
    if (!realpath(o->data_path, data_abs))
        return dsp_error_set(err, DSP_ERR_IO, "trainer: %s: %s", o->data_path, strerror(errno));
    char *tmp = arena_printf(a, "%s.partial-XXXXXX", dir);
    if (!mkdtemp(tmp))
        return dsp_error_set(err, DSP_ERR_IO, "trainer: cannot create a directory beside %s: %s", dir,
                             strerror(errno));
    char out_abs[PATH_MAX];
    if (!realpath(tmp, out_abs)) {
        rm_tree(tmp);
        return dsp_error_set(err, DSP_ERR_IO, "trainer: %s: %s", tmp, strerror(errno));
    }
    trainer_values v = { data_abs, o->base_model, out_abs, arena_printf(a, "%d", args->n_epochs > 0 ? args->n_epochs : 3),
                                arena_printf(a, "%llu", (unsigned long long)args->seed) };
    char **argv = NULL;
    char bad[TRAINER_WHY_MAX];
    if (trainer_argv(o->trainer, &v, a, &argv, bad) != 0) {
        rm_tree(tmp);
        return dsp_error_set(err, DSP_ERR_INVALID, "lm `%s`: %s", o->lm_name, bad);
    }
    say(o, "training a LoRA adapter of %s on %zu examples with %s (in %s)", o->base_model, args->n_examples, argv[0],
        o->base_dir && *o->base_dir ? o->base_dir : ".");
    tail t;
    memset(&t, 0, sizeof t);
    int status = 0;
    st = run(o, argv, o->base_dir, &status, &t, err);
    if (st == DSP_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        const char *how = WIFEXITED(status)
                              ? arena_printf(a, "exited with status %d", WEXITSTATUS(status))
                              : arena_printf(a, "was killed by signal %d (%s)", WTERMSIG(status),
                                             strsignal(WTERMSIG(status)));
        st = dsp_error_set(err, DSP_ERR_INVALID,
                           "the trainer of lm `%s` (%s) %s; no adapter was kept (the training data is in %s). Its "
                           "last lines:%s",
                           o->lm_name, argv[0], how, o->data_path, tail_text(&t, a));
    } else if (st == DSP_OK && !has_file(tmp)) {
        st = dsp_error_set(err, DSP_ERR_INVALID,
                           "the trainer of lm `%s` (%s) exited 0 but wrote no adapter in {output} (%s); it must "
                           "write the adapter's files into that directory. Its last lines:%s",
                           o->lm_name, argv[0], out_abs, tail_text(&t, a));
    }
    if (st != DSP_OK) {
        rm_tree(tmp);
        return st;
    }
    rm_tree(dir);
    if (rename(tmp, dir) != 0) {
        st = dsp_error_set(err, DSP_ERR_IO, "trainer: cannot rename %s to %s: %s", tmp, dir, strerror(errno));
        rm_tree(tmp);
        return st;
    }
    char hex[65];
    if ((st = dsp_adapter_sha256(dir, hex, err)) != DSP_OK)
        return st;
    if ((st = write_record(record, o, hex, o->data_path, err)) != DSP_OK)
        return st;
    fill_out(a, o, dir, hex, 0, out);
    say(o, "LoRA adapter %s (SHA-256 %s) trained on %zu examples", out->adapter_path, hex, args->n_examples);
    return DSP_OK;
}
