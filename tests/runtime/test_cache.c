/* test_cache.c — the response cache: keys, hit after miss, where it lives,
 * two processes writing at once, and a writer killed with SIGKILL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/src/cache.h"
#include "../support/cache_files.h"

static const dsp_message msgs[] = {
    {.role = DSP_ROLE_SYSTEM, .content = "sys"},
    {.role = DSP_ROLE_USER, .content = "question"},
};

static void key_of(const char *base, const char *model, const dsp_message *m, size_t n, const dsp_lm_params *p,
                   uint64_t rollout, char out[DSP_CACHE_KEY_HEX])
{
    dsp_error err = {0};
    assert_int_equal(dsp_cache_key("openai", base, model, m, n, p, rollout, out, &err), DSP_OK);
}

static void test_key_is_canonical_and_sensitive(void **state)
{
    (void)state;
    dsp_lm_params p = dsp_lm_params_default();
    char a[DSP_CACHE_KEY_HEX], b[DSP_CACHE_KEY_HEX];
    key_of("http://x/v1", "m", msgs, 2, &p, 0, a);
    key_of("http://x/v1", "m", msgs, 2, &p, 0, b);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_equal(a, b);
    /* Each input changes the key. */
    key_of("http://x/v1", "m", msgs, 2, &p, 1, b);
    assert_string_not_equal(a, b);
    key_of("http://y/v1", "m", msgs, 2, &p, 0, b);
    assert_string_not_equal(a, b);
    key_of("http://x/v1", "m2", msgs, 2, &p, 0, b);
    assert_string_not_equal(a, b);
    key_of("http://x/v1", "m", msgs, 1, &p, 0, b);
    assert_string_not_equal(a, b);
    dsp_message swapped[] = {{.role = DSP_ROLE_USER, .content = "sys"}, {.role = DSP_ROLE_USER, .content = "question"}};
    key_of("http://x/v1", "m", swapped, 2, &p, 0, b);
    assert_string_not_equal(a, b);
    dsp_lm_params q = p;
    q.temperature = 0.0;
    key_of("http://x/v1", "m", msgs, 2, &q, 0, b);
    assert_string_not_equal(a, b);
    q = p;
    q.has_seed = true;
    key_of("http://x/v1", "m", msgs, 2, &q, 0, b);
    assert_string_not_equal(a, b);
    q = p;
    q.json_schema = "{}";
    key_of("http://x/v1", "m", msgs, 2, &q, 0, b);
    assert_string_not_equal(a, b);
    /* Native tool calling: the tools, each turn's calls and each result's id. */
    q = p;
    q.tools = "[]";
    key_of("http://x/v1", "m", msgs, 2, &q, 0, b);
    assert_string_not_equal(a, b);
    dsp_tool_call call = { "call_1", "add", "{}" }, other = { "call_1", "add", "{\"a\":1}" };
    dsp_message turns[3] = { msgs[0], msgs[1], { .role = DSP_ROLE_ASSISTANT, .content = "", .tool_calls = &call,
                                                 .n_tool_calls = 1 } };
    char c1[DSP_CACHE_KEY_HEX], c2[DSP_CACHE_KEY_HEX];
    key_of("http://x/v1", "m", turns, 3, &p, 0, c1);
    turns[2].tool_calls = &other;
    key_of("http://x/v1", "m", turns, 3, &p, 0, c2);
    assert_string_not_equal(c1, c2);
    dsp_message res1[3] = { msgs[0], msgs[1], { .role = DSP_ROLE_TOOL, .content = "5", .tool_call_id = "call_1" } };
    dsp_message res2[3] = { msgs[0], msgs[1], { .role = DSP_ROLE_TOOL, .content = "5", .tool_call_id = "call_2" } };
    key_of("http://x/v1", "m", res1, 3, &p, 0, c1);
    key_of("http://x/v1", "m", res2, 3, &p, 0, c2);
    assert_string_not_equal(c1, c2);
}

static char tmpdir[256];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp_cache_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Keys are the same from one version of dspcc to the next: a changed key
 * would miss every reply stored before. These were computed by the
 * session-3 implementation (the whole text written, then hashed). */
static void test_keys_are_stable_across_versions(void **state)
{
    (void)state;
    static const char *const want[] = {
        "562a726326f9bd2ac7121a670ecc1eb943ca3cc203e798f9cae7e5aeccb15e87",
        "d7271e892ca3f120e19e937d543c1b32e69ee45cad920a10b5abb4f3f1daa115",
        "43b497511d96efd0b8df576cf6012b41fc92759841a936b9d75a6ed25a05683e",
    };
    dsp_message m[3] = {{.role = DSP_ROLE_SYSTEM, .content = "Your input fields are:\n1. `q` (str)"},
                        {.role = DSP_ROLE_USER, .content = "[[ ## q ## ]]\nWhat is 2+2? \"quoted\"\n"},
                        {.role = DSP_ROLE_ASSISTANT, .content = "4 \xc3\xa9"}};
    dsp_lm_params p = dsp_lm_params_default();
    p.temperature = 0.5;
    p.max_tokens = 300;
    char k[DSP_CACHE_KEY_HEX];
    dsp_error err = {0};
    assert_int_equal(dsp_cache_key("openai", "http://127.0.0.1:1/v1", "gpt-4o-mini", m, 3, &p, UINT64_MAX, k, &err),
                     DSP_OK);
    assert_string_equal(k, want[0]);
    assert_int_equal(dsp_cache_key("openai", "http://127.0.0.1:1/v1", "gpt-4o-mini", m, 3, &p, 0, k, &err), DSP_OK);
    assert_string_equal(k, want[1]);
    assert_int_equal(dsp_cache_key("anthropic", "https://api.anthropic.com", "claude", m, 0, &p, 7, k, &err), DSP_OK);
    assert_string_equal(k, want[2]);
}

static void test_hit_after_miss_creates_dirs(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/a/b/c", tmpdir);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    struct stat st;
    /* Prompts may be private: the directory is the user's alone. */
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
    /* The file is made by the first flush, not by opening or a miss: a
     * program's first call pays no file creation before its request. */
    assert_int_equal(stat(dsp_cache_file_path(c), &st), -1);
    dsp_chat_response r = {0};
    bool found = true;
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_false(found);
    assert_int_equal(stat(dsp_cache_file_path(c), &st), -1);
    put_text(c, "k1", "answer with \"quotes\" and\nnewline");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    assert_int_equal(stat(dsp_cache_file_path(c), &st), 0);
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_int_equal(r.n_choices, 1);
    assert_string_equal(r.choices[0], "answer with \"quotes\" and\nnewline");
    assert_int_equal(r.usage.prompt_tokens, 11);
    assert_int_equal(r.usage.completion_tokens, 22);
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
    /* Reopened: still there. */
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_true(found);
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

/* A reply's tool calls are stored with it, a missing field as missing. */
static void test_tool_calls_round_trip(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/tools", tmpdir);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    char *choice = "thinking";
    dsp_tool_call calls[2] = { { "call_1", "search", "{\"q\": \"x\"" }, { NULL, "add", NULL } };
    dsp_chat_response in = { .choices = &choice, .n_choices = 1, .tool_calls = calls, .n_tool_calls = 2 };
    assert_int_equal(dsp_cache_put(c, "t1", &in, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "t1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "thinking");
    assert_int_equal(r.n_tool_calls, 2);
    assert_string_equal(r.tool_calls[0].id, "call_1");
    assert_string_equal(r.tool_calls[0].arguments, "{\"q\": \"x\"");
    assert_null(r.tool_calls[1].id);
    assert_string_equal(r.tool_calls[1].name, "add");
    assert_null(r.tool_calls[1].arguments);
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

static void test_open_fails_clearly_on_a_file(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/plainfile", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(path, &c, &err), DSP_ERR_IO);
    assert_null(c);
    assert_non_null(strstr(err.message, path));
}

typedef struct warnings {
    int n;
    char last[2048];
} warnings;

static void on_warn(void *ctx, const char *msg)
{
    warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static void write_garbage(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs(text, f);
    fclose(f);
}

/* A cache file SQLite cannot read (a power loss just after a new file was
 * made can leave zeros or garbage): moved aside, with its -wal and -shm,
 * with one warning naming both paths; the run goes on with a new, empty
 * cache that works; the moved file keeps every byte; the next open finds
 * the new file and says nothing. */
static void test_unreadable_file_is_moved_aside(void **state)
{
    (void)state;
    char path[400], wal[420], shm[420];
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    write_garbage(path, "this is not an SQLite database. ");
    write_garbage(wal, "nor is this its WAL. ");
    write_garbage(shm, "nor its index. ");
    warnings w = {0};
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open_warn(tmpdir, on_warn, &w, &c, &err), DSP_OK);
    assert_non_null(c);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, path));
    assert_non_null(strstr(w.last, "not a database"));
    const char *to = strstr(w.last, "moved aside to ");
    assert_non_null(to);
    char moved[600];
    sscanf(to + strlen("moved aside to "), "%599s", moved);
    assert_non_null(strstr(moved, DSP_CACHE_FILE ".damaged-"));
    /* every byte kept, the WAL and its index beside it */
    char moved_wal[620], moved_shm[620];
    snprintf(moved_wal, sizeof moved_wal, "%s-wal", moved);
    snprintf(moved_shm, sizeof moved_shm, "%s-shm", moved);
    struct stat sb;
    assert_int_equal(stat(moved, &sb), 0);
    assert_int_equal(sb.st_size, 200 * (long)strlen("this is not an SQLite database. "));
    assert_int_equal(stat(moved_wal, &sb), 0);
    assert_int_equal(sb.st_size, 200 * (long)strlen("nor is this its WAL. "));
    assert_int_equal(stat(moved_shm, &sb), 0);
    /* the new cache works */
    put_text(c, "k1", "fresh");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "fresh");
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
    w.n = 0;
    assert_int_equal(dsp_cache_open_warn(tmpdir, on_warn, &w, &c, &err), DSP_OK);
    assert_int_equal(w.n, 0);
    found = false;
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_true(found);
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

/* A file that cannot be moved (every name it could take is taken: the
 * check runs as root too, whom a read-only directory would not stop)
 * stays an error naming it and saying why it was not moved. */
static void test_unmovable_unreadable_file_is_a_clear_error(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    write_garbage(path, "this is not an SQLite database. ");
    /* The names of this second and the next two, each with every suffix. */
    time_t now = time(NULL);
    for (int s = 0; s < 3; s++) {
        time_t t = now + s;
        struct tm tm;
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&t, &tm));
        for (int i = 1; i < 100; i++) {
            char name[600];
            if (i == 1)
                snprintf(name, sizeof name, "%s.damaged-%s", path, stamp);
            else
                snprintf(name, sizeof name, "%s.damaged-%s-%d", path, stamp, i);
            FILE *f = fopen(name, "w");
            assert_non_null(f);
            fclose(f);
        }
    }
    warnings w = {0};
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open_warn(tmpdir, on_warn, &w, &c, &err), DSP_ERR_CACHE);
    assert_null(c);
    assert_int_equal(w.n, 0);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "not a database"));
    assert_non_null(strstr(err.message, "moving it aside failed: no free name"));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0); /* left where it was */
}

static void test_resolve_dir_precedence(void **state)
{
    (void)state;
    char *d = NULL;
    dsp_error err = {0};
    setenv("DSPCC_CACHE_DIR", "/tmp/from_env", 1);
    setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
    assert_int_equal(dsp_cache_resolve_dir("/tmp/opt", &d, &err), DSP_OK);
    assert_string_equal(d, "/tmp/opt");
    free(d);
    assert_int_equal(dsp_cache_resolve_dir(NULL, &d, &err), DSP_OK);
    assert_string_equal(d, "/tmp/from_env");
    free(d);
    unsetenv("DSPCC_CACHE_DIR");
    assert_int_equal(dsp_cache_resolve_dir(NULL, &d, &err), DSP_OK);
    assert_string_equal(d, "/tmp/xdg/dspcc");
    free(d);
    unsetenv("XDG_CACHE_HOME");
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", "/home/someone", 1);
    assert_int_equal(dsp_cache_resolve_dir(NULL, &d, &err), DSP_OK);
    assert_string_equal(d, "/home/someone/.cache/dspcc");
    free(d);
    unsetenv("HOME");
    assert_int_equal(dsp_cache_resolve_dir(NULL, &d, &err), DSP_ERR_ENV);
    assert_non_null(strstr(err.message, "DSPCC_CACHE_DIR"));
    if (home) {
        setenv("HOME", home, 1);
        free(home);
    }
}

/* Child process body: open the cache and write n rows named prefix-i.
 * ready_fd >= 0 gets one byte once the first row is in the file (flushed),
 * so a parent can kill the writer mid-run without racing the cache's
 * creation. */
static void child_write(const char *dir, const char *prefix, int n, int forever, int ready_fd)
{
    dsp_cache *c = NULL;
    dsp_error err = {0};
    if (dsp_cache_open(dir, &c, &err) != DSP_OK)
        _exit(2);
    /* A large value makes a kill land mid-write more often. */
    static char big[64 * 1024];
    memset(big, 'x', sizeof big - 1);
    for (int i = 0; forever || i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s-%d", prefix, i);
        char *choice = big;
        dsp_chat_response r = {.choices = &choice, .n_choices = 1, .usage = {i, i}};
        if (dsp_cache_put(c, key, &r, &err) != DSP_OK)
            _exit(3);
        if (i == 0 && ready_fd >= 0 && dsp_cache_flush(c, &err) != DSP_OK)
            _exit(5);
        if (i == 0 && ready_fd >= 0) {
            if (write(ready_fd, "r", 1) != 1)
                _exit(4);
            close(ready_fd);
        }
    }
    dsp_cache_close(c);
    _exit(0);
}

static int count_rows(const char *dir, char *integrity, size_t isz)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, DSP_CACHE_FILE);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(integrity, isz, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM responses", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void test_two_processes_write_at_once(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/shared", tmpdir);
    const int n = 150;
    pid_t a = fork();
    assert_true(a >= 0);
    if (a == 0)
        child_write(dir, "a", n, 0, -1);
    pid_t b = fork();
    assert_true(b >= 0);
    if (b == 0)
        child_write(dir, "b", n, 0, -1);
    int sa, sb;
    assert_int_equal(waitpid(a, &sa, 0), a);
    assert_int_equal(waitpid(b, &sb, 0), b);
    assert_true(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
    assert_true(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
    char integrity[64];
    assert_int_equal(count_rows(dir, integrity, sizeof integrity), 2 * n);
    assert_string_equal(integrity, "ok");
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "b-149", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_int_equal(r.usage.prompt_tokens, 149);
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

/* The parent's side of a kill: waits (up to 30 s) for the child's byte on
 * ready[0], then ns nanoseconds more, and kills it with SIGKILL. */
static void kill_when_ready(pid_t w, int ready[2], long ns)
{
    close(ready[1]);
    struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 30000), 1);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
    assert_int_equal(kill(w, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(w, &st, 0), w);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_sigkill_mid_write_leaves_consistent_cache(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/killed", tmpdir);
    char integrity[64];
    for (int round = 0; round < 3; round++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t w = fork();
        assert_true(w >= 0);
        if (w == 0) {
            close(ready[0]);
            child_write(dir, round == 0 ? "r0" : round == 1 ? "r1" : "r2", 0, 1, ready[1]);
        }
        /* Wait for its first row (a loaded machine may take a while to
         * start it), let it write for a while, then kill it without warning. */
        kill_when_ready(w, ready, (60 + 40 * round) * 1000000L);
        int rows = count_rows(dir, integrity, sizeof integrity);
        assert_string_equal(integrity, "ok");
        assert_true(rows > 0);
    }
    /* Every row that is there reads back whole through the cache. */
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "r0-0", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_int_equal(strlen(r.choices[0]), 64 * 1024 - 1);
    dsp_chat_response_free(&r);
    /* And it still takes writes. */
    put_text(c, "after-kill", "fine");
    assert_int_equal(dsp_cache_get(c, "after-kill", &r, &found, &err), DSP_OK);
    assert_true(found);
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

/* A cache prepares the digest of a request's start once (per predictor)
 * and hashes only the rest per call: the keys are the very same. */
static void test_prepared_digest_gives_the_same_keys(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/memo", tmpdir);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    static char sys[3000];
    memset(sys, 's', sizeof sys - 1);
    dsp_lm_params p = dsp_lm_params_default();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 12; i++) { /* more starts than the cache keeps */
            sys[0] = (char)('a' + i);
            char user[32];
            snprintf(user, sizeof user, "input %d/%d", round, i);
            dsp_message m[2] = {{.role = DSP_ROLE_SYSTEM, .content = sys}, {.role = DSP_ROLE_USER, .content = user}};
            char plain[DSP_CACHE_KEY_HEX], prepared[DSP_CACHE_KEY_HEX];
            assert_int_equal(dsp_cache_key("openai", "http://x/v1", "m", m, 2, &p, 0, plain, &err), DSP_OK);
            assert_int_equal(dsp_cache_key_in(c, "openai", "http://x/v1", "m", m, 2, &p, 0, prepared, &err), DSP_OK);
            assert_string_equal(plain, prepared);
            /* A different model with the same messages is another key. */
            assert_int_equal(dsp_cache_key_in(c, "openai", "http://x/v1", "n", m, 2, &p, 0, prepared, &err), DSP_OK);
            assert_string_not_equal(plain, prepared);
        }
    }
    /* The prepared start is found by what it was made of: the same bytes
     * moved between messages, another role of the last message, or a demo
     * that differs are other starts, each with the plain key. */
    char *demo_a = sys + 1000, *demo_b = sys + 999;
    dsp_message variants[][4] = {
        {{.role = DSP_ROLE_SYSTEM, .content = sys}, {.role = DSP_ROLE_USER, .content = demo_a}, {.role = DSP_ROLE_ASSISTANT, .content = "x"}, {.role = DSP_ROLE_USER, .content = "q"}},
        {{.role = DSP_ROLE_SYSTEM, .content = sys}, {.role = DSP_ROLE_USER, .content = demo_b}, {.role = DSP_ROLE_ASSISTANT, .content = "x"}, {.role = DSP_ROLE_USER, .content = "q"}},
        {{.role = DSP_ROLE_SYSTEM, .content = sys}, {.role = DSP_ROLE_USER, .content = demo_a}, {.role = DSP_ROLE_ASSISTANT, .content = "x"}, {.role = DSP_ROLE_ASSISTANT, .content = "q"}},
        {{.role = DSP_ROLE_SYSTEM, .content = sys}, {.role = DSP_ROLE_USER, .content = demo_a}, {.role = DSP_ROLE_ASSISTANT, .content = "xq"}, {.role = DSP_ROLE_USER, .content = ""}},
        {{.role = DSP_ROLE_USER, .content = sys}, {.role = DSP_ROLE_USER, .content = demo_a}, {.role = DSP_ROLE_ASSISTANT, .content = "x"}, {.role = DSP_ROLE_USER, .content = "q"}},
    };
    char seen[5][DSP_CACHE_KEY_HEX];
    for (int round = 0; round < 2; round++)
        for (int v = 0; v < 5; v++) {
            char plain[DSP_CACHE_KEY_HEX], prepared[DSP_CACHE_KEY_HEX];
            assert_int_equal(dsp_cache_key("openai", "http://x/v1", "m", variants[v], 4, &p, 0, plain, &err), DSP_OK);
            assert_int_equal(dsp_cache_key_in(c, "openai", "http://x/v1", "m", variants[v], 4, &p, 0, prepared, &err),
                             DSP_OK);
            assert_string_equal(plain, prepared);
            for (int u = 0; u < v; u++)
                assert_string_not_equal(seen[u], plain);
            memcpy(seen[v], plain, sizeof plain);
        }
    dsp_cache_close(c);
}

/* Puts are queued and written together: a get finds a queued row at once;
 * another connection (another process) sees it after the flush. */
static void test_puts_are_queued_until_a_flush(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/queued", tmpdir);
    dsp_cache *c = NULL, *other = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    assert_int_equal(dsp_cache_open(dir, &other, &err), DSP_OK);
    put_text(c, "q1", "first");
    put_text(c, "q1", "second"); /* the newest queued row wins */
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "q1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "second");
    dsp_chat_response_free(&r);
    assert_int_equal(dsp_cache_get(other, "q1", &r, &found, &err), DSP_OK);
    assert_false(found);
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    /* other's lookups share a read snapshot, taken before the flush: it
     * ends at other's own flush (or DSP_CACHE_SNAPSHOT_MS after it began). */
    assert_int_equal(dsp_cache_flush(other, &err), DSP_OK);
    assert_int_equal(dsp_cache_get(other, "q1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "second");
    dsp_chat_response_free(&r);
    /* DSP_CACHE_FLUSH_ROWS queued rows flush themselves. */
    for (int i = 0; i < DSP_CACHE_FLUSH_ROWS; i++) {
        char key[32];
        snprintf(key, sizeof key, "n-%d", i);
        put_text(c, key, "x");
    }
    assert_int_equal(dsp_cache_flush(other, &err), DSP_OK);
    assert_int_equal(dsp_cache_get(other, "n-0", &r, &found, &err), DSP_OK);
    assert_true(found);
    dsp_chat_response_free(&r);
    /* So does a queue older than DSP_CACHE_FLUSH_MS, at the next access. */
    put_text(c, "late", "y");
    struct timespec ts = {DSP_CACHE_FLUSH_MS / 1000, (DSP_CACHE_FLUSH_MS % 1000) * 1000000L + 50000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(dsp_cache_get(c, "nothing", &r, &found, &err), DSP_OK);
    assert_false(found);
    /* other flushed nothing since its last lookup, over a second ago: its
     * snapshot has ended, and the row is seen. */
    assert_int_equal(dsp_cache_get(other, "late", &r, &found, &err), DSP_OK);
    assert_true(found);
    dsp_chat_response_free(&r);
    dsp_cache_close(other);
    dsp_cache_close(c);
}

/* A cache's lookups share a read snapshot (cache.c): a row it flushed
 * itself is found at the next lookup, though it has left the queue for
 * the file since the snapshot was taken; and a row another process (a
 * cache of its own) flushed is found once the snapshot is
 * DSP_CACHE_SNAPSHOT_MS old, with no flush of its own. */
static void test_lookups_see_flushed_rows(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/snapshot", tmpdir);
    dsp_cache *c = NULL, *other = NULL;
    dsp_error err = {0};
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    put_text(c, "s0", "makes the file");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    assert_int_equal(dsp_cache_open(dir, &other, &err), DSP_OK);
    for (int i = 1; i <= 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "s%d", i);
        assert_int_equal(dsp_cache_get(c, key, &r, &found, &err), DSP_OK); /* a miss: the snapshot is taken */
        assert_false(found);
        assert_int_equal(dsp_cache_get(other, key, &r, &found, &err), DSP_OK);
        assert_false(found);
        put_text(c, key, "stored");
        /* Flushed the way a program's rows are: by the 64th queued row. */
        for (int j = 1; j < DSP_CACHE_FLUSH_ROWS; j++) {
            char fill[32];
            snprintf(fill, sizeof fill, "fill-%d-%d", i, j);
            put_text(c, fill, "x");
        }
        assert_int_equal(dsp_cache_get(c, key, &r, &found, &err), DSP_OK);
        assert_true(found);
        assert_string_equal(r.choices[0], "stored");
        dsp_chat_response_free(&r);
    }
    struct timespec ts = {DSP_CACHE_SNAPSHOT_MS / 1000, (DSP_CACHE_SNAPSHOT_MS % 1000) * 1000000L + 50000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(dsp_cache_get(other, "s3", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "stored");
    dsp_chat_response_free(&r);
    dsp_cache_close(other);
    dsp_cache_close(c);
}

/* Lookups between flushes, as a program's calls make them, leave SQLite
 * free to start its WAL over once a checkpoint has copied it into the
 * file: the WAL stays near its 1000-page checkpoint size instead of
 * growing with every reply written. */
static void test_wal_stays_bounded(void **state)
{
    (void)state;
    char dir[400], wal[520];
    snprintf(dir, sizeof dir, "%s/wal", tmpdir);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    put_text(c, "w0", "makes the file");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    snprintf(wal, sizeof wal, "%s-wal", dsp_cache_file_path(c));
    static char text[2048];
    memset(text, 'r', sizeof text - 1);
    /* 100 flushes of 64 rows of 2 KiB: about 13 MB through the WAL. */
    for (int f = 0; f < 100; f++) {
        for (int i = 0; i < DSP_CACHE_FLUSH_ROWS; i++) {
            char key[32];
            snprintf(key, sizeof key, "w-%d-%d", f, i);
            dsp_chat_response r = {0};
            bool found = true;
            assert_int_equal(dsp_cache_get(c, key, &r, &found, &err), DSP_OK);
            assert_false(found);
            put_text(c, key, text);
        }
    }
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size < 8 * 1024 * 1024);
    dsp_cache_close(c);
}

/* A flush writes its rows several to a statement (cache.c, put_many) and
 * the rest one by one: every row arrives, and a key queued more than once
 * keeps its newest value, whether its copies share a statement or not. */
static void test_a_large_flush_keeps_the_newest_row(void **state)
{
    (void)state;
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/many", tmpdir);
    dsp_cache *c = NULL, *other = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    put_text(c, "first", "makes the file");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    /* 37 rows: two statements of 16 and five single rows. "a" is queued
     * twice in the first statement, "b" in the first and the second, "c"
     * in the second and among the single rows; "first" is replaced. */
    static const char *const order[37] = {
        "a", "x1", "b", "x2", "a", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "c", "x14", "b", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
        "x28", "c", "first", "x29", "x30",
    };
    for (int i = 0; i < 37; i++) {
        char value[32];
        snprintf(value, sizeof value, "%s@%d", order[i], i);
        put_text(c, order[i], value);
    }
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    snprintf(path, sizeof path, "%s", dsp_cache_file_path(c));
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 34); /* x1..x30, a, b, c, first */
    assert_int_equal(dsp_cache_open(dir, &other, &err), DSP_OK);
    static const char *const keys[] = {"a", "b", "c", "first", "x1", "x13", "x14", "x30"};
    static const char *const want[] = {"a@4", "b@18", "c@33", "first@34", "x1@1", "x13@15", "x14@17", "x30@36"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        dsp_chat_response r = {0};
        bool found = false;
        assert_int_equal(dsp_cache_get(other, keys[i], &r, &found, &err), DSP_OK);
        assert_true(found);
        assert_string_equal(r.choices[0], want[i]);
        dsp_chat_response_free(&r);
    }
    dsp_cache_close(other);
    dsp_cache_close(c);
}

/* One value of a query on the cache file, through a connection of our own. */
/* A new file keys its rows without a rowid table, each row stamped with
 * the time it was written; a file made by an older dspcc (a rowid table
 * and its key index) keeps its layout and is read and written as before. */
static void test_new_and_old_file_layouts(void **state)
{
    (void)state;
    char dir[400], old_dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/new", tmpdir);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    long long t0 = (long long)time(NULL);
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    put_text(c, "n1", "one");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    snprintf(path, sizeof path, "%s", dsp_cache_file_path(c));
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'responses' AND sql LIKE "
                                     "'%WITHOUT ROWID'"), 1);
    long long created = query_int(path, "SELECT created FROM responses WHERE key = 'n1'");
    assert_true(created >= t0 && created <= (long long)time(NULL));
    dsp_cache_close(c);

    snprintf(old_dir, sizeof old_dir, "%s/old", tmpdir);
    assert_int_equal(mkdir(old_dir, 0700), 0);
    snprintf(path, sizeof path, "%s/%s", old_dir, DSP_CACHE_FILE);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, created INTEGER "
                                  "NOT NULL DEFAULT (strftime('%s','now')));"
                                  "INSERT INTO responses(key, value) VALUES ('o1', "
                                  "'{\"choices\":[\"stored before\"],\"usage\":{\"prompt_tokens\":1,"
                                  "\"completion_tokens\":2}}')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(dsp_cache_open(old_dir, &c, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "o1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "stored before");
    dsp_chat_response_free(&r);
    put_text(c, "o2", "two");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    dsp_cache_close(c);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'responses' AND sql LIKE "
                                     "'%WITHOUT ROWID'"), 0);
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 2);
    assert_true(query_int(path, "SELECT created FROM responses WHERE key = 'o2'") >= t0);
    assert_int_equal(dsp_cache_open(old_dir, &c, &err), DSP_OK);
    assert_int_equal(dsp_cache_get(c, "o2", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "two");
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

/* A new cache's file is made whole by its first flush (built in memory,
 * linked into place): no journal and no temporary left beside it, WAL
 * mode as before, the newest row of a key kept, later flushes written
 * through the WAL; made by another process first, it is left alone. */
static void test_new_file_is_made_whole(void **state)
{
    (void)state;
    char dir[400], path[500], other[256];
    snprintf(dir, sizeof dir, "%s/made", tmpdir);
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    snprintf(path, sizeof path, "%s", dsp_cache_file_path(c));
    put_text(c, "k1", "first");
    put_text(c, "k2", "two");
    put_text(c, "k1", "newest");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    assert_int_equal(dir_entries(dir, other), 1);
    assert_string_equal(other, "");
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 2);
    assert_int_equal(query_int(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "newest");
    dsp_chat_response_free(&r);
    put_text(c, "k3", "three");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    dsp_cache_close(c);
    dir_entries(dir, other);
    assert_string_equal(other, "");
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 3);
    assert_int_equal(query_int(path, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);

    const char *keys[] = { "x" }, *values[] = { "{\"choices\":[\"x\"]}" };
    assert_int_equal(dsp_cache_create_file(path, "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                                                 "value TEXT NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID",
                                           keys, values, 1, 0),
                     0);
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 3);
    dir_entries(dir, other);
    assert_string_equal(other, "");
}

/* The documented durability: after a kill -9, every row flushed before it
 * is in the file, and rows queued since are not (nor half of one). */
static void test_sigkill_keeps_what_was_flushed(void **state)
{
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/flushed", tmpdir);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t w = fork();
    assert_true(w >= 0);
    if (w == 0) {
        close(ready[0]);
        dsp_cache *c = NULL;
        dsp_error err = {0};
        if (dsp_cache_open(dir, &c, &err) != DSP_OK)
            _exit(2);
        for (int i = 0; i < 15; i++) {
            char key[32], text[32];
            snprintf(key, sizeof key, "k-%d", i);
            snprintf(text, sizeof text, "v-%d", i);
            char *choice = text;
            dsp_chat_response r = {.choices = &choice, .n_choices = 1};
            if (dsp_cache_put(c, key, &r, &err) != DSP_OK)
                _exit(3);
            if (i == 9 && dsp_cache_flush(c, &err) != DSP_OK)
                _exit(4);
        }
        if (write(ready[1], "r", 1) != 1)
            _exit(5);
        pause(); /* killed here, 5 rows queued */
        _exit(6);
    }
    kill_when_ready(w, ready, 0);
    char integrity[64];
    assert_int_equal(count_rows(dir, integrity, sizeof integrity), 10);
    assert_string_equal(integrity, "ok");
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(dir, &c, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "k-9", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "v-9");
    dsp_chat_response_free(&r);
    assert_int_equal(dsp_cache_get(c, "k-10", &r, &found, &err), DSP_OK);
    assert_false(found);
    dsp_cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_is_canonical_and_sensitive),
        cmocka_unit_test_setup_teardown(test_hit_after_miss_creates_dirs, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_tool_calls_round_trip, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_open_fails_clearly_on_a_file, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_unreadable_file_is_moved_aside, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_unmovable_unreadable_file_is_a_clear_error, make_tmp, remove_tmp),
        cmocka_unit_test(test_resolve_dir_precedence),
        cmocka_unit_test_setup_teardown(test_two_processes_write_at_once, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_sigkill_mid_write_leaves_consistent_cache, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_prepared_digest_gives_the_same_keys, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_puts_are_queued_until_a_flush, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_lookups_see_flushed_rows, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_a_large_flush_keeps_the_newest_row, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_wal_stays_bounded, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_sigkill_keeps_what_was_flushed, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_new_and_old_file_layouts, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_new_file_is_made_whole, make_tmp, remove_tmp),
        cmocka_unit_test(test_keys_are_stable_across_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
