/* test_lm_batch_files.c — batches as files for vLLM's offline batch runner
 * (dsp_lm_batch_export, dsp_lm_batch_import): the recorded requests come
 * out as OpenAI batch input lines in key order; the runner's output lines
 * (vLLM's BatchRequestOutput: a 200 with its chat completion, a 400 with a
 * string error or an ErrorResponse, flat or nested) answer them, with CRLF
 * line ends and blank lines allowed; a reply that does not follow the API
 * is a failure, lines for other requests are counted and not used, a
 * request the file does not answer stays pending, and a line that is not
 * an object, or answers a request a second time, names its line and keeps
 * nothing of the file. A provider's results answering a request twice keep
 * neither reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/lm_batch.h"
#include "../../runtime/src/lm_batch_int.h"

#define K(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
static const char *const keys[] = {K("c"), K("a"), K("d"), K("b"), K("e")};

static void defer(dsp_lm_batch *b, const char *key, bool anthropic)
{
    char body[160];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%c\"}]}", key[0]);
    dsp_lm_batch_call call = {anthropic, "http://127.0.0.1:1/v1/chat/completions", anthropic ? "anthropic/x" : "compatible/m",
                              NULL, key, body, strlen(body)};
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_defer(b, &call, &err), DSP_OK);
}

static dsp_lm_batch *five(void)
{
    dsp_lm_batch *b = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_new(&b, &err), DSP_OK);
    for (size_t i = 0; i < 5; i++)
        defer(b, keys[i], false);
    defer(b, keys[0], false); /* the same request from another example: recorded once */
    return b;
}

static void test_export_writes_openai_batch_input_in_key_order(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    char *jsonl = NULL;
    size_t len = 0, n = 0;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_export(b, &jsonl, &len, &n, &err), DSP_OK);
    assert_int_equal(n, 5);
    assert_int_equal(len, strlen(jsonl));
    const char *want_first = "{\"custom_id\":\"" K("a") "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
                             "\"body\":{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}}\n";
    assert_memory_equal(jsonl, want_first, strlen(want_first));
    const char *order[] = {"\"content\":\"a\"", "\"content\":\"b\"", "\"content\":\"c\"", "\"content\":\"d\"",
                           "\"content\":\"e\""};
    const char *at = jsonl;
    for (size_t i = 0; i < 5; i++) {
        const char *hit = strstr(at, order[i]);
        assert_non_null(hit);
        at = hit;
    }
    assert_int_equal(jsonl[len - 1], '\n');
    free(jsonl);
    assert_int_equal(dsp_lm_batch_pending(b), 5); /* exporting sends nothing */
    dsp_lm_batch_free(b);
}

static void test_nothing_pending_exports_an_empty_file(void **state)
{
    (void)state;
    dsp_lm_batch *b = NULL;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_new(&b, &err), DSP_OK);
    char *jsonl = NULL;
    size_t len = 9, n = 9;
    assert_int_equal(dsp_lm_batch_export(b, &jsonl, &len, &n, &err), DSP_OK);
    assert_string_equal(jsonl, "");
    assert_int_equal(len, 0);
    assert_int_equal(n, 0);
    free(jsonl);
    dsp_lm_batch_free(b);
}

static void test_an_anthropic_lm_cannot_go_in_a_file(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    defer(b, K("f"), true);
    char *jsonl = NULL;
    size_t len = 0, n = 0;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_export(b, &jsonl, &len, &n, &err), DSP_ERR_INVALID);
    assert_null(jsonl);
    assert_non_null(strstr(err.message, "anthropic/x"));
    assert_non_null(strstr(err.message, "--batch"));
    dsp_lm_batch_free(b);
}

#define OK_LINE(k, text)                                                                                           \
    "{\"id\":\"vllm-1\",\"custom_id\":\"" k "\",\"response\":{\"status_code\":200,\"request_id\":\"vllm-batch-1\","  \
    "\"body\":{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{"   \
    "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" text "\",\"refusal\":null,"                    \
    "\"tool_calls\":[],\"reasoning_content\":null},\"logprobs\":null,\"finish_reason\":\"stop\","                  \
    "\"stop_reason\":null}],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":5,\"completion_tokens\":2},"           \
    "\"prompt_logprobs\":null}},\"error\":null}"

static void test_import_reads_vllm_output_lines(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    static const char out[] =
        OK_LINE(K("a"), "answer a") "\r\n"
        "\n"
        "{\"id\":\"vllm-2\",\"custom_id\":\"" K("b") "\",\"response\":{\"status_code\":400,\"request_id\":\"vllm-batch-2\","
        "\"body\":null},\"error\":\"Request must not be sent in stream mode\"}\n"
        "{\"id\":\"vllm-3\",\"custom_id\":\"" K("c") "\",\"response\":{\"status_code\":400,\"request_id\":\"vllm-batch-3\","
        "\"body\":null},\"error\":{\"object\":\"error\",\"message\":\"too long\",\"type\":\"BadRequestError\",\"code\":400}}\n"
        "{\"id\":\"vllm-4\",\"custom_id\":\"" K("d") "\",\"response\":{\"status_code\":200,\"request_id\":\"vllm-batch-4\","
        "\"body\":{\"object\":\"chat.completion\",\"choices\":[]}},\"error\":null}\n"
        OK_LINE(K("9"), "someone else's") "\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", out, sizeof out - 1, &rep, &err), DSP_OK);
    assert_int_equal(rep.lines, 5);
    assert_int_equal(rep.replies, 1);
    assert_int_equal(rep.failed, 3); /* the string error, the flat ErrorResponse, no choices */
    assert_int_equal(rep.unknown, 1);
    assert_int_equal(rep.missing, 1); /* e */
    assert_non_null(strstr(rep.first_failure, "stream mode"));
    assert_int_equal(dsp_lm_batch_pending(b), 1);
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    assert_true(dsp_lm_batch_take(b, K("a"), &resp));
    assert_int_equal(resp.n_choices, 1);
    assert_string_equal(resp.choices[0], "answer a");
    assert_int_equal(resp.usage.prompt_tokens, 3);
    assert_int_equal(resp.usage.completion_tokens, 2);
    dsp_chat_response_free(&resp);
    assert_false(dsp_lm_batch_take(b, K("9"), &resp)); /* not ours: never kept */
    assert_true(dsp_lm_batch_failed(b, K("b")));
    assert_true(dsp_lm_batch_failed(b, K("c")));
    assert_true(dsp_lm_batch_failed(b, K("d")));
    assert_false(dsp_lm_batch_failed(b, K("e")));
    /* What is still pending is what an export writes next. */
    char *jsonl = NULL;
    size_t len = 0, n = 0;
    assert_int_equal(dsp_lm_batch_export(b, &jsonl, &len, &n, &err), DSP_OK);
    assert_int_equal(n, 1);
    assert_non_null(strstr(jsonl, K("e")));
    free(jsonl);
    dsp_lm_batch_free(b);
}

/* vLLM's newer ErrorResponse nests its fields: the message and type are
 * read from there. */
static void test_a_nested_error_response_is_quoted(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    static const char out[] =
        "{\"id\":\"vllm-5\",\"custom_id\":\"" K("e") "\",\"response\":{\"status_code\":400,\"request_id\":\"r\","
        "\"body\":null},\"error\":{\"error\":{\"message\":\"maximum context length is 2048 tokens\","
        "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}}}\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", out, sizeof out - 1, &rep, &err), DSP_OK);
    assert_int_equal(rep.failed, 1);
    assert_non_null(strstr(rep.first_failure, "BadRequestError: maximum context length is 2048 tokens"));
    assert_int_equal(rep.missing, 4);
    dsp_lm_batch_free(b);
}

static void test_a_damaged_line_names_its_line(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    static const char out[] = OK_LINE(K("a"), "fine") "\n{\"id\":\"vllm-2\"}\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "runs/out.jsonl", out, sizeof out - 1, &rep, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "runs/out.jsonl:2: not a batch output line"));
    /* Nothing of the file is kept: line 1's reply was, while its request
     * stayed pending (found by tests/fuzz/fuzz_batch.c). */
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    assert_false(dsp_lm_batch_take(b, K("a"), &resp));
    assert_int_equal(dsp_lm_batch_pending(b), 5);
    static const char text[] = "not json at all\n";
    assert_int_equal(dsp_lm_batch_import(b, "x.jsonl", text, sizeof text - 1, &rep, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "x.jsonl:1:"));
    dsp_lm_batch_free(b);
}

/* A status_code no int holds: a failure with no HTTP status (casting it
 * was undefined behaviour, found by tests/fuzz/fuzz_batch.c; the ASan and
 * UBSan run of this test reports it). */
static void test_a_huge_status_code_is_a_failure(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    static const char out[] = "{\"custom_id\":\"" K("a") "\",\"response\":{\"status_code\":7.3e39,\"body\":{}}}\n"
                              "{\"custom_id\":\"" K("b") "\",\"response\":{\"status_code\":-1e30,\"body\":{}}}\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "out.jsonl", out, sizeof out - 1, &rep, &err), DSP_OK);
    assert_int_equal(rep.failed, 2);
    assert_string_equal(rep.first_failure, "no HTTP status: ");
    assert_true(dsp_lm_batch_failed(b, K("a")) && dsp_lm_batch_failed(b, K("b")));
    dsp_lm_batch_free(b);
}

/* A provider that answers a request twice (the same custom_id on two
 * result lines, even in the output and the error file): which reply is the
 * request's cannot be told, so neither is kept, whatever the order, and
 * the request goes as a normal call; other requests are read as usual. */
static void test_a_request_answered_twice_keeps_neither_reply(void **state)
{
    (void)state;
    static const char *const files[] = {
        OK_LINE(K("a"), "first") "\n" OK_LINE(K("b"), "answer b") "\n" OK_LINE(K("a"), "second") "\n"
        OK_LINE(K("c"), "answer c") "\n{\"custom_id\":\"" K("c") "\",\"response\":{\"status_code\":500},"
        "\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}\n"
        "{\"custom_id\":\"" K("d") "\",\"response\":{\"status_code\":500},\"error\":{\"code\":\"e\",\"message\":\"x\"}}\n"
        OK_LINE(K("d"), "late d") "\n" OK_LINE(K("a"), "third") "\n",
        /* the same lines, the other way round */
        OK_LINE(K("a"), "third") "\n" OK_LINE(K("d"), "late d") "\n"
        "{\"custom_id\":\"" K("d") "\",\"response\":{\"status_code\":500},\"error\":{\"code\":\"e\",\"message\":\"x\"}}\n"
        "{\"custom_id\":\"" K("c") "\",\"response\":{\"status_code\":500},"
        "\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}\n" OK_LINE(K("c"), "answer c") "\n"
        OK_LINE(K("a"), "second") "\n" OK_LINE(K("b"), "answer b") "\n" OK_LINE(K("a"), "first") "\n",
    };
    for (size_t f = 0; f < 2; f++) {
        dsp_lm_batch *b = five();
        size_t ok = 0, failed = 0;
        assert_true(dsp_lm_batch_read_results(b, false, files[f], strlen(files[f]), &ok, &failed));
        assert_int_equal(ok, 1);     /* b */
        assert_int_equal(failed, 3); /* a, c, d: once each */
        dsp_chat_response resp;
        memset(&resp, 0, sizeof resp);
        assert_true(dsp_lm_batch_take(b, K("b"), &resp));
        assert_string_equal(resp.choices[0], "answer b");
        dsp_chat_response_free(&resp);
        for (int k = 0; k < 3; k++) {
            const char *key = k == 0 ? K("a") : k == 1 ? K("c") : K("d");
            assert_false(dsp_lm_batch_take(b, key, &resp));
            assert_true(dsp_lm_batch_failed(b, key));
        }
        dsp_lm_batch_free(b);
    }
}

/* vLLM's output file answering a request twice is refused whole, naming
 * both lines: nothing of it is kept. */
static void test_an_output_file_answering_twice_is_refused(void **state)
{
    (void)state;
    dsp_lm_batch *b = five();
    static const char out[] = OK_LINE(K("a"), "first") "\n" OK_LINE(K("b"), "answer b") "\n"
                              OK_LINE(K("a"), "second") "\n";
    dsp_lm_batch_import_report rep;
    dsp_error err = {0};
    assert_int_equal(dsp_lm_batch_import(b, "runs/out.jsonl", out, sizeof out - 1, &rep, &err), DSP_ERR_PARSE);
    assert_non_null(strstr(err.message, "runs/out.jsonl:3: custom_id " K("a") " was answered already on line 1"));
    assert_non_null(strstr(err.message, "nothing of it was kept"));
    dsp_chat_response resp;
    memset(&resp, 0, sizeof resp);
    assert_false(dsp_lm_batch_take(b, K("a"), &resp));
    assert_false(dsp_lm_batch_take(b, K("b"), &resp));
    assert_int_equal(dsp_lm_batch_pending(b), 5);
    dsp_lm_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_writes_openai_batch_input_in_key_order),
        cmocka_unit_test(test_nothing_pending_exports_an_empty_file),
        cmocka_unit_test(test_an_anthropic_lm_cannot_go_in_a_file),
        cmocka_unit_test(test_import_reads_vllm_output_lines),
        cmocka_unit_test(test_a_nested_error_response_is_quoted),
        cmocka_unit_test(test_a_damaged_line_names_its_line),
        cmocka_unit_test(test_a_huge_status_code_is_a_failure),
        cmocka_unit_test(test_a_request_answered_twice_keeps_neither_reply),
        cmocka_unit_test(test_an_output_file_answering_twice_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
