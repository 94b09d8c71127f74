/* test_buffer_bounds.c — the per-call stack buffers at their edges: text
 * buffers in caller storage (textbuf.c), request bodies in the client's
 * 8 KiB body buffer (lm_openai.c, lm_anthropic.c), prompt messages in the
 * render's 4 KiB buffer (adapter_common.c) and reply sections in the chat
 * parser's table of 8 (adapter_chat.c). Each is driven one below, at and one
 * above its size, with multi-byte UTF-8 and control characters across the
 * edge; storage is a heap block of exactly its size so that ASan sees any
 * byte written or read past it, and LeakSanitizer any heap copy not freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/adapter.h"
#include "dsp/predict.h"
#include "../../runtime/src/lm_wire.h"
#include "../../runtime/src/textbuf.h"

/* The sizes the runtime uses (client.c DSP_BODY_INLINE, adapter_common.c's
 * render store, adapter_chat.c's section table). */
#define BODY_INLINE 8192
#define RENDER_INLINE 4096
#define SECTIONS_INLINE 8

/* Text of exactly n bytes mixing ASCII, 2- to 4-byte UTF-8 sequences and
 * characters JSON escapes, so that some sequence straddles any edge. */
static char *mixed_text(size_t n, unsigned salt)
{
    static const char *const atoms[] = {"ab", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\"", "\\",
                                        "\n", "\t", "\x01", "c"};
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t len = 0;
    unsigned i = salt;
    while (len < n) {
        const char *a = atoms[i++ % (sizeof atoms / sizeof atoms[0])];
        size_t k = strlen(a);
        if (len + k > n)
            a = "x", k = 1;
        memcpy(s + len, a, k);
        len += k;
    }
    s[n] = '\0';
    return s;
}

/* ---- textbuf in caller storage ------------------------------------------ */

static void test_textbuf_edges(void **state)
{
    (void)state;
    enum { CAP = 64 };
    for (size_t n = CAP - 3; n <= CAP + 2; n++) {
        char *text = mixed_text(n, (unsigned)n);
        char *store = malloc(CAP);
        assert_non_null(store);
        dsp_textbuf b;
        dsp_tb_init_in(&b, store, CAP);
        /* In two pieces, split at every point, so the edge falls inside a
         * put as well as between them. */
        for (size_t cut = 0; cut <= n; cut++) {
            dsp_tb_put(&b, text, cut);
            dsp_tb_put(&b, text + cut, n - cut);
            assert_true(dsp_tb_ok(&b));
            assert_int_equal(b.len, n);
            if (n < CAP)
                assert_ptr_equal(b.data, store); /* it fits with its NUL */
            else
                assert_ptr_not_equal(b.data, store);
            size_t len = 0;
            char *out = dsp_tb_take(&b, &len);
            assert_non_null(out);
            assert_int_equal(len, n);
            assert_memory_equal(out, text, n + 1);
            free(out);
            assert_ptr_equal(b.data, store); /* back in the storage */
        }
        /* printf straight across the edge: the first pass writes what fits,
         * the second the whole. */
        dsp_tb_put(&b, text, n / 2);
        dsp_tb_printf(&b, "%s|%d", text + n / 2, 42);
        char *out = dsp_tb_take(&b, NULL);
        assert_non_null(out);
        assert_int_equal(strlen(out), n + 3);
        assert_memory_equal(out, text, n);
        assert_string_equal(out + n, "|42");
        free(out);
        dsp_tb_free(&b);
        free(store);
        free(text);
    }
}

/* Storage of no bytes (or none at all) is a heap-only buffer: nothing is
 * written to it, not even the NUL. */
static void test_textbuf_without_storage(void **state)
{
    (void)state;
    char *one = malloc(1);
    assert_non_null(one);
    dsp_textbuf b;
    dsp_tb_init_in(&b, one + 1, 0); /* one past the end: ASan reports a write */
    dsp_tb_puts(&b, "abc");
    char *out = dsp_tb_take(&b, NULL);
    assert_string_equal(out, "abc");
    free(out);
    dsp_tb_free(&b);
    dsp_tb_init_in(&b, NULL, 16);
    dsp_tb_printf(&b, "%d", 7);
    out = dsp_tb_take(&b, NULL);
    assert_string_equal(out, "7");
    free(out);
    dsp_tb_free(&b);
    free(one);
}

/* ---- request bodies in the client's body buffer ------------------------- */


/* True when some string in the tree is text, byte for byte. */
static bool has_string(const cJSON *j, const char *text)
{
    if (cJSON_IsString(j) && strcmp(j->valuestring, text) == 0)
        return true;
    for (const cJSON *c = j->child; c; c = c->next)
        if (has_string(c, text))
            return true;
    return false;
}

/* Writes the body for msgs as the client does (into storage of exactly
 * BODY_INLINE bytes) and as the heap-only path does; both must be the same
 * text, valid JSON, with the user message's bytes intact. */
static size_t body_case(dsp_provider provider, const dsp_message *msgs, const char *text)
{
    dsp_lm_params p = dsp_lm_params_default();
    char *store = malloc(BODY_INLINE);
    assert_non_null(store);
    dsp_jw w;
    dsp_jw_init_in(&w, store, BODY_INLINE);
    dsp_error err = {0};
    assert_int_equal(dsp_wire_request_write(&w, provider, "m", msgs, 2, &p, &err), DSP_OK);
    char *heap = NULL;
    assert_int_equal(dsp_wire_request_body(provider, "m", msgs, 2, &p, &heap, &err), DSP_OK);
    assert_int_equal(w.len, strlen(heap));
    assert_memory_equal(w.buf, heap, w.len + 1);
    if (w.len + 1 <= BODY_INLINE / 2)
        assert_ptr_equal(w.buf, store);
    cJSON *j = cJSON_Parse(w.buf);
    assert_non_null(j);
    assert_true(has_string(j, text));
    cJSON_Delete(j);
    size_t len = w.len;
    dsp_jw_free(&w);
    free(heap);
    free(store);
    return len;
}

static void bodies_around_edge(dsp_provider provider)
{
    /* The body's length for a text of n bytes grows with n (plus escapes):
     * find the n whose body is closest to the edge, then go around it. */
    dsp_message msgs[2] = {{.role = DSP_ROLE_SYSTEM, .content = (char *)"sys"}, {.role = DSP_ROLE_USER, .content = NULL}};
    size_t hits = 0;
    for (size_t n = BODY_INLINE / 2; n < BODY_INLINE; n++) {
        char *text = mixed_text(n, 3);
        msgs[1].content = text;
        size_t len = body_case(provider, msgs, text);
        if (len + 1 >= BODY_INLINE - 2 && len + 1 <= BODY_INLINE + 2)
            hits++;
        free(text);
        if (len > BODY_INLINE + 64)
            break;
        if (len + 64 < BODY_INLINE)
            n += (BODY_INLINE - len) / 8; /* far below: a larger step */
    }
    /* Some of the cases landed right at the edge (the escapes make a step of
     * up to 6 bytes, so not every length is hit). */
    assert_true(hits >= 1);
}

static void test_openai_body_edges(void **state)
{
    (void)state;
    bodies_around_edge(DSP_PROVIDER_OPENAI);
}

static void test_anthropic_body_edges(void **state)
{
    (void)state;
    bodies_around_edge(DSP_PROVIDER_ANTHROPIC);
}

static void test_gemini_body_edges(void **state)
{
    (void)state;
    bodies_around_edge(DSP_PROVIDER_GEMINI);
}

static void test_bedrock_body_edges(void **state)
{
    (void)state;
    bodies_around_edge(DSP_PROVIDER_BEDROCK);
}

/* ---- prompt messages in the render's buffer ----------------------------- */

static const dsp_field one_in[] = {{"text", &dsp_type_string, NULL}};
static const dsp_field one_out[] = {{"answer", &dsp_type_string, NULL}};
static const dsp_signature one_sig = {"Echo", "Echo.", one_in, 1, one_out, 1};
static const dsp_predictor one = {"echo", &one_sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL};

static void test_render_message_edges(void **state)
{
    (void)state;
    dsp_prompt_spec spec = dsp_prompt_spec_of(&one, NULL);
    /* The user message is head + text + tail: measure them with one byte. */
    dsp_value v;
    assert_int_equal(dsp_value_set_string(&v, "Q", 1, NULL), DSP_OK);
    dsp_messages m;
    dsp_messages_init(&m);
    assert_int_equal(dsp_chat_adapter_render(&spec, &v, &m, NULL), DSP_OK);
    const char *u = m.items[m.len - 1].content;
    const char *q = strchr(u, 'Q');
    assert_non_null(q);
    size_t head = (size_t)(q - u), tail = strlen(q + 1);
    char *head_s = strndup(u, head), *tail_s = strdup(q + 1);
    dsp_messages_free(&m);
    dsp_value_free(&v);
    /* Messages of RENDER_INLINE - 2 to RENDER_INLINE + 2 bytes (with the
     * NUL: one below, at and above the buffer). */
    for (size_t total = RENDER_INLINE - 3; total <= RENDER_INLINE + 2; total++) {
        size_t n = total - head - tail;
        for (unsigned salt = 0; salt < 10; salt++) {
            /* A string input is the text itself: no control characters at
             * its ends, which a renderer may trim, and whole UTF-8
             * sequences (an input that is not UTF-8 is refused). */
            char *inner = mixed_text(n - 2, salt);
            char *text = malloc(n + 1);
            assert_non_null(text);
            text[0] = 'x';
            memcpy(text + 1, inner, n - 2);
            text[n - 1] = 'y';
            text[n] = '\0';
            free(inner);
            assert_int_equal(dsp_value_set_string(&v, text, n, NULL), DSP_OK);
            dsp_messages_init(&m);
            assert_int_equal(dsp_chat_adapter_render(&spec, &v, &m, NULL), DSP_OK);
            u = m.items[m.len - 1].content;
            assert_int_equal(strlen(u), total);
            assert_memory_equal(u, head_s, head);
            assert_memory_equal(u + head, text, n);
            assert_string_equal(u + head + n, tail_s);
            dsp_messages_free(&m);
            dsp_value_free(&v);
            free(text);
        }
    }
    free(head_s);
    free(tail_s);
}

/* ---- reply sections in the parser's table ------------------------------- */

static void test_sections_edges(void **state)
{
    (void)state;
    enum { MAX = SECTIONS_INLINE + 1 };
    static dsp_field out[MAX];
    static char names[MAX][16];
    for (int i = 0; i < MAX; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        out[i] = (dsp_field){names[i], &dsp_type_string, NULL};
    }
    for (size_t n = SECTIONS_INLINE - 1; n <= SECTIONS_INLINE + 1; n++) {
        dsp_signature sig = {"Many", NULL, NULL, 0, out, n};
        dsp_predictor p = {"many", &sig, DSP_STRATEGY_PREDICT, NULL, 0, NULL};
        dsp_prompt_spec spec = dsp_prompt_spec_of(&p, NULL);
        char reply[2048];
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(reply + len, sizeof reply - len, "[[ ## f%zu ## ]]\nv\xc3\xa9%zu\n\n", i, i);
        /* An exact-size copy: the parser must not read past the reply. */
        char *exact = malloc(len);
        assert_non_null(exact);
        memcpy(exact, reply, len);
        dsp_value got[MAX];
        memset(got, 0, sizeof got);
        dsp_error err = {0};
        assert_int_equal(dsp_chat_adapter_parse(&spec, exact, len, got, &err), DSP_OK);
        for (size_t i = 0; i < n; i++) {
            char want[16];
            snprintf(want, sizeof want, "v\xc3\xa9%zu", i);
            assert_int_equal(got[i].as.s.len, strlen(want));
            assert_string_equal(got[i].as.s.data, want);
        }
        dsp_values_free(got, n);
        /* The last one missing is named, whichever table held them. */
        size_t cut = (size_t)(strstr(reply, names[n - 1]) - reply) - 6;
        memset(got, 0, sizeof got);
        assert_int_equal(dsp_chat_adapter_parse(&spec, exact, cut, got, &err), DSP_ERR_PARSE);
        char needle[24];
        snprintf(needle, sizeof needle, "`%s`", names[n - 1]);
        assert_non_null(strstr(err.message, needle));
        dsp_error_clear(&err);
        free(exact);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_textbuf_edges),
        cmocka_unit_test(test_textbuf_without_storage),
        cmocka_unit_test(test_openai_body_edges),
        cmocka_unit_test(test_anthropic_body_edges),
        cmocka_unit_test(test_gemini_body_edges),
        cmocka_unit_test(test_bedrock_body_edges),
        cmocka_unit_test(test_render_message_edges),
        cmocka_unit_test(test_sections_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
