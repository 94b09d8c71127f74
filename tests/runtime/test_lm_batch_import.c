/* test_lm_batch_import.c — dsp_lm_batch_import reads a batch output file
 * (OpenAI's Batch API, vLLM's batch runner) all or nothing: a bad line is
 * an error naming it and keeps nothing of the lines before it (found by
 * tests/fuzz/fuzz_batch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dsp/lm_batch.h"
#include "../../runtime/src/lm_batch_int.h"

#define REPLY_LINE(id)                                                                                              \
    "{\"id\":\"r\",\"custom_id\":\"" id "\",\"response\":{\"status_code\":200,\"body\":{\"choices\":[{\"index\":0," \
    "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":"           \
    "{\"prompt_tokens\":3,\"completion_tokens\":1}}},\"error\":null}\n"
#define ERROR_LINE(id) "{\"id\":\"r\",\"custom_id\":\"" id "\",\"response\":null,\"error\":\"Request failed\"}\n"

static dsp_lm_batch *two_pending(void)
{
    dsp_lm_batch *b = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_new(&b, &err), DSP_OK);
    static const char *const keys[] = {"k0", "k1"};
    for (size_t i = 0; i < 2; i++) {
        dsp_lm_batch_call call = {.url = "http://x/v1/chat/completions", .model_spec = "openai/m", .key = keys[i],
                                  .body = "{}", .len = 2};
        assert_int_equal(dsp_lm_batch_defer(b, &call, &err), DSP_OK);
    }
    return b;
}

static void a_whole_file_is_kept(void **state)
{
    (void)state;
    dsp_lm_batch *b = two_pending();
    static const char text[] = REPLY_LINE("k0") ERROR_LINE("k1");
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", text, strlen(text), &rep, &err), DSP_OK);
    assert_int_equal(rep.lines, 2);
    assert_int_equal(rep.replies, 1);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(rep.missing, 0);
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    assert_true(dsp_lm_batch_take(b, "k0", &resp));
    assert_string_equal(resp.choices[0], "hi");
    dsp_chat_response_free(&resp);
    assert_true(dsp_lm_batch_failed(b, "k1"));
    dsp_lm_batch_free(b);
}

static void a_bad_line_keeps_nothing_before_it(void **state)
{
    (void)state;
    dsp_lm_batch *b = two_pending();
    static const char text[] = REPLY_LINE("k0") ERROR_LINE("k1") "{\"custom_id\": truncated\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", text, strlen(text), &rep, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "out.jsonl:3: not a batch output line"));
    dsp_error_clear(&err);
    /* Before the fix k0 had its reply and k1 was marked failed while both
     * stayed pending. */
    assert_int_equal(dsp_lm_batch_pending(b), 2);
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    assert_false(dsp_lm_batch_take(b, "k0", &resp));
    assert_false(dsp_lm_batch_failed(b, "k1"));
    /* The file mended is read whole. */
    static const char mended[] = REPLY_LINE("k0") ERROR_LINE("k1");
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", mended, strlen(mended), &rep, &err), DSP_OK);
    assert_int_equal(rep.replies, 1);
    assert_true(dsp_lm_batch_take(b, "k0", &resp));
    dsp_chat_response_free(&resp);
    dsp_lm_batch_free(b);
}

/* A status_code no int holds (found by fuzz_batch: casting it was undefined
 * behaviour, which the ASan+UBSan run of this test reports) is a failure
 * saying it has no HTTP status. */
static void a_huge_status_code_is_a_failure(void **state)
{
    (void)state;
    dsp_lm_batch *b = two_pending();
    static const char text[] = "{\"custom_id\":\"k0\",\"response\":{\"status_code\":7.3e39,\"body\":{}}}\n"
                               "{\"custom_id\":\"k1\",\"response\":{\"status_code\":503,\"body\":{}}}\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", text, strlen(text), &rep, &err), DSP_OK);
    assert_int_equal(rep.failed, 2);
    assert_string_equal(rep.first_failure, "no HTTP status: ");
    assert_true(dsp_lm_batch_failed(b, "k0") && dsp_lm_batch_failed(b, "k1"));
    dsp_lm_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_whole_file_is_kept),
        cmocka_unit_test(a_bad_line_keeps_nothing_before_it),
        cmocka_unit_test(a_huge_status_code_is_a_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
