/* test_cache_create.c — a new cache file on a file system without
 * O_TMPFILE (tmpfs before Linux 3.11, NFS, FUSE, macOS): cache_create.c
 * built here with DSP_CACHE_NO_TMPFILE takes its named-temporary path.
 * The file is made whole (rows, WAL mode, integrity) through the cache as
 * through dsp_cache_create_file, no temporary is left beside it, a file
 * another process made first is left alone, and the umask applies as it
 * does to SQLite's and to the O_TMPFILE file (mkstemp and fchmod 0644 made
 * a cache of prompts readable by all under umask 077). */
#define DSP_CACHE_NO_TMPFILE
#include "../../runtime/src/cache_create.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../support/cache_files.h"

static char tmpdir[256];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsp_cache_create_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *const schema = "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                                  "value TEXT NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID";

/* Through the cache: the first flush makes the file, whole, in WAL mode,
 * and nothing else is left in the directory; later flushes go through
 * the WAL; a reopened cache finds the rows. */
static void test_first_flush_makes_the_file_whole(void **state)
{
    (void)state;
    char other[256];
    dsp_cache *c = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_cache_open(tmpdir, &c, &err), DSP_OK);
    char path[512];
    snprintf(path, sizeof path, "%s", dsp_cache_file_path(c));
    put_text(c, "k1", "first");
    put_text(c, "k2", "two");
    put_text(c, "k1", "newest");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    assert_int_equal(dir_entries(tmpdir, other), 1);
    assert_string_equal(other, "");
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 2);
    assert_int_equal(query_int(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    put_text(c, "k3", "three");
    assert_int_equal(dsp_cache_flush(c, &err), DSP_OK);
    dsp_cache_close(c);
    dir_entries(tmpdir, other);
    assert_string_equal(other, "");
    assert_int_equal(query_int(path, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    assert_int_equal(dsp_cache_open(tmpdir, &c, &err), DSP_OK);
    dsp_chat_response r = {0};
    bool found = false;
    assert_int_equal(dsp_cache_get(c, "k1", &r, &found, &err), DSP_OK);
    assert_true(found);
    assert_string_equal(r.choices[0], "newest");
    dsp_chat_response_free(&r);
    dsp_cache_close(c);
}

/* A file made first by another process is left as it is: 0, and no
 * temporary left behind. */
static void test_an_existing_file_is_left_alone(void **state)
{
    (void)state;
    char path[512], other[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, DSP_CACHE_FILE);
    const char *keys[] = {"a", "b"}, *values[] = {"{\"choices\":[\"a\"]}", "{\"choices\":[\"b\"]}"};
    assert_int_equal(dsp_cache_create_file(path, schema, keys, values, 2, 7), 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 2);
    assert_int_equal(query_int(path, "SELECT created FROM responses WHERE key = 'b'"), 7);
    assert_int_equal(dsp_cache_create_file(path, schema, keys, values, 1, 9), 0);
    assert_int_equal(query_int(path, "SELECT count(*) FROM responses"), 2);
    dir_entries(tmpdir, other); /* the file and the WAL reading it made */
    assert_string_equal(other, "");
}

/* The umask applies: under 077 the file is the owner's alone, as SQLite's
 * own files and the O_TMPFILE file are; under 022, 0644. */
static void test_the_umask_applies(void **state)
{
    (void)state;
    const char *keys[] = {"a"}, *values[] = {"{\"choices\":[\"a\"]}"};
    mode_t masks[] = {077, 022}, want[] = {0600, 0644};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%d.sqlite3", tmpdir, i);
        mode_t old = umask(masks[i]);
        int made = dsp_cache_create_file(path, schema, keys, values, 1, 1);
        umask(old);
        assert_int_equal(made, 1);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        if ((sb.st_mode & 0777) != want[i])
            fail_msg("under umask %03o the file is %03o, not %03o", (unsigned)masks[i], (unsigned)(sb.st_mode & 0777),
                     (unsigned)want[i]);
    }
}

/* A directory that does not exist: -1, nothing made. */
static void test_no_directory_is_a_failure(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/missing/%s", tmpdir, DSP_CACHE_FILE);
    const char *keys[] = {"a"}, *values[] = {"{\"choices\":[\"a\"]}"};
    assert_int_equal(dsp_cache_create_file(path, schema, keys, values, 1, 1), -1);
    char other[256];
    assert_int_equal(dir_entries(tmpdir, other), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_flush_makes_the_file_whole, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_an_existing_file_is_left_alone, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_the_umask_applies, make_tmp, remove_tmp),
        cmocka_unit_test_setup_teardown(test_no_directory_is_a_failure, make_tmp, remove_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
