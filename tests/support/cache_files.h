/* cache_files.h — helpers of the response cache's tests (test_cache.c,
 * test_cache_create.c): what a cache directory holds, a number SQLite reads
 * from a cache file, and a row put in a cache. Include after cmocka.h. */
#ifndef DSP_TEST_CACHE_FILES_H
#define DSP_TEST_CACHE_FILES_H

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/src/cache.h"

/* Entries of dir other than "." and "..", as a count; *other gets the
 * first one that is not the cache file, its WAL or its WAL index. */
static int dir_entries(const char *dir, char other[256])
{
    other[0] = '\0';
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (strcmp(e->d_name, DSP_CACHE_FILE) != 0 && strcmp(e->d_name, DSP_CACHE_FILE "-wal") != 0 &&
            strcmp(e->d_name, DSP_CACHE_FILE "-shm") != 0 && !other[0])
            snprintf(other, 256, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* The first column of sql's first row on the file at path, -1 if none. */
static long long query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* Queues a reply of one choice, text, under key. */
static void put_text(dsp_cache *c, const char *key, const char *text)
{
    char *choice = (char *)text;
    dsp_chat_response r = {.choices = &choice, .n_choices = 1, .usage = {11, 22}};
    dsp_error err = {0};
    assert_int_equal(dsp_cache_put(c, key, &r, &err), DSP_OK);
}

#endif
