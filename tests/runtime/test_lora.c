/* test_lora.c — LoRA adapters in libdsprt: the SHA-256 of a file and of a
 * directory (dsp/lora.h's definition), refusing links, verifying deployed
 * copies, and llama.cpp's per-request adapter selection in request bodies
 * and cache keys. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/src/cache.h"
#include "../../runtime/src/lm_wire.h"
#include "dsp/lora.h"

static char g_dir[64];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *at(const char *rel)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/dsp-lora-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_file_hash_is_sha256sum(void **state)
{
    (void)state;
    put("one.bin", "abc");
    char hex[65];
    dsp_error err = { 0 };
    assert_int_equal(dsp_adapter_sha256(at("one.bin"), hex, &err), DSP_OK);
    /* FIPS 180-2's test vector for "abc". */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_dir_hash_follows_paths_sizes_and_bytes(void **state)
{
    (void)state;
    char d[256];
    snprintf(d, sizeof d, "%s/ad", g_dir);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(mkdir(at("ad/sub"), 0755), 0);
    put("ad/b.json", "{}\n");
    put("ad/a.safetensors", "weights");
    put("ad/sub/c", "");
    char hex[65], again[65];
    dsp_error err = { 0 };
    assert_int_equal(dsp_adapter_sha256(d, hex, &err), DSP_OK);
    /* By hand: "a.safetensors\0" "7\0" "weights" "b.json\0" "3\0" "{}\n" "sub/c\0" "0\0". */
    static const char manual[] = "a.safetensors\0" "7\0" "weights" "b.json\0" "3\0" "{}\n" "sub/c\0" "0\0";
    put("manual", "");
    FILE *f = fopen(at("manual"), "wb");
    fwrite(manual, 1, sizeof manual - 1, f);
    fclose(f);
    char want[65];
    assert_int_equal(dsp_adapter_sha256(at("manual"), want, &err), DSP_OK);
    assert_string_equal(hex, want);
    /* The same bytes again give the same hash; one changed byte does not. */
    assert_int_equal(dsp_adapter_sha256(d, again, &err), DSP_OK);
    assert_string_equal(hex, again);
    put("ad/b.json", "{}\r");
    assert_int_equal(dsp_adapter_sha256(d, again, &err), DSP_OK);
    assert_string_not_equal(hex, again);
}

static void test_links_and_empty_dirs_are_refused(void **state)
{
    (void)state;
    assert_int_equal(mkdir(at("linked"), 0755), 0);
    put("target", "x");
    char target[256];
    snprintf(target, sizeof target, "%s", at("target"));
    assert_int_equal(symlink(target, at("linked/w")), 0);
    char hex[65];
    dsp_error err = { 0 };
    assert_int_equal(dsp_adapter_sha256(at("linked"), hex, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_int_equal(mkdir(at("empty"), 0755), 0);
    assert_int_equal(dsp_adapter_sha256(at("empty"), hex, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "holds no files"));
}

static void test_verify_names_missing_and_changed(void **state)
{
    (void)state;
    put("v.bin", "abc");
    dsp_error err = { 0 };
    const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_int_equal(dsp_adapter_verify(g_dir, "v.bin", abc, &err), DSP_OK);
    put("v.bin", "abd");
    assert_int_equal(dsp_adapter_verify(g_dir, "v.bin", abc, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "has changed"));
    assert_non_null(strstr(err.message, abc));
    assert_int_equal(dsp_adapter_verify(g_dir, "gone.bin", abc, &err), DSP_ERR_IO);
    assert_non_null(strstr(err.message, "gone.bin is missing"));
}

static void test_llama_cpp_selection_in_body_and_cache_key(void **state)
{
    (void)state;
    static const dsp_message msgs[] = { {.role = DSP_ROLE_USER, .content = "hi" } };
    dsp_lm_params p = dsp_lm_params_default();
    char *body = NULL;
    dsp_error err = { 0 };
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "base", msgs, 1, &p, &body, &err), DSP_OK);
    assert_null(strstr(body, "lora"));
    free(body);
    p.has_lora = true;
    p.lora_id = 2;
    p.lora_sha256 = "aa";
    assert_int_equal(dsp_wire_request_body(DSP_PROVIDER_OPENAI, "base", msgs, 1, &p, &body, &err), DSP_OK);
    cJSON *j = cJSON_Parse(body);
    cJSON *sel = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "lora"), 0);
    assert_int_equal(cJSON_GetObjectItem(sel, "id")->valueint, 2);
    assert_true(cJSON_GetObjectItem(sel, "scale")->valuedouble == 1.0);
    assert_null(strstr(body, "aa\"")); /* the hash keys the cache, it is not sent */
    cJSON_Delete(j);
    free(body);
    /* Another adapter at the same id is another cache entry. */
    char k1[DSP_CACHE_KEY_HEX], k2[DSP_CACHE_KEY_HEX];
    assert_int_equal(dsp_cache_key("openai", "http://x/v1", "base", msgs, 1, &p, 0, k1, &err), DSP_OK);
    p.lora_sha256 = "bb";
    assert_int_equal(dsp_cache_key("openai", "http://x/v1", "base", msgs, 1, &p, 0, k2, &err), DSP_OK);
    assert_string_not_equal(k1, k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_hash_is_sha256sum),
        cmocka_unit_test(test_dir_hash_follows_paths_sizes_and_bytes),
        cmocka_unit_test(test_links_and_empty_dirs_are_refused),
        cmocka_unit_test(test_verify_names_missing_and_changed),
        cmocka_unit_test(test_llama_cpp_selection_in_body_and_cache_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
