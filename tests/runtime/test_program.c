/* test_program.c — a generated program's run, shadow and batch functions
 * (dsp/program.h) on a fake program: no LM, a module that doubles its
 * input, or on the "shadow" client answers differently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/program.h"

typedef struct in_t {
    int x;
    const char *label; /* NULL is refused, as a generated program refuses a NULL string */
} in_t;

typedef struct out_t {
    long long doubled;
    char *label;       /* owned */
    char *reasoning;   /* owned; free text */
} out_t;

/* The client that plays the shadow, and how it differs: 1 its number,
 * 2 only its reasoning, 3 it fails. */
static dsp_client *g_shadow;
static int g_shadow_mode;
static int g_frees;

static dsp_status fake_args(const void *in_, dsp_value *args, dsp_error *err)
{
    const in_t *in = in_;
    if (!in->label) return dsp_error_set(err, DSP_ERR_INVALID, "x_run: input `label` is NULL");
    args[0] = dsp_value_int(in->x);
    return dsp_value_set_string(&args[1], in->label, strlen(in->label), err);
}

static dsp_status fake_run(dsp_client *client, const dsp_value *args, dsp_value *res, dsp_error *err)
{
    int shadow = client == g_shadow;
    if (shadow && g_shadow_mode == 3) return dsp_error_set(err, DSP_ERR_HTTP, "shadow endpoint down");
    if (args[0].as.i < 0) return dsp_error_set(err, DSP_ERR_INVALID, "negative %lld", (long long)args[0].as.i);
    res[0] = dsp_value_int(2 * args[0].as.i + (shadow && g_shadow_mode == 1));
    dsp_status st = dsp_value_copy(&res[1], &args[1], err);
    const char *why = shadow && g_shadow_mode == 2 ? "other words" : "because";
    if (st == DSP_OK) st = dsp_value_set_string(&res[2], why, strlen(why), err);
    if (st != DSP_OK) dsp_values_free(res, 3);
    return st;
}

static void fake_free(void *out_)
{
    out_t *out = out_;
    g_frees++;
    free(out->label);
    free(out->reasoning);
    memset(out, 0, sizeof *out);
}

static dsp_status fake_output(const dsp_value *res, void *out_, dsp_error *err)
{
    out_t *out = out_;
    out->label = strdup(dsp_value_cstr(&res[1]));
    if (!out->label) return dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
    /* A result that does not convert, after one that did: the runtime
     * must free the part already made. */
    if (res[0].as.i == 84) return dsp_error_set(err, DSP_ERR_PARSE, "84 does not fit");
    out->doubled = res[0].as.i;
    out->reasoning = strdup(dsp_value_cstr(&res[2]));
    return out->reasoning ? DSP_OK : dsp_error_set(err, DSP_ERR_NOMEM, "out of memory");
}

static const unsigned char k_decides[3] = {1, 1, 0};
static const dsp_program k_fake = {
    "x", "X", 2, 3, sizeof(in_t), sizeof(out_t), fake_args, fake_run, fake_output, fake_free, k_decides,
};

static dsp_client *new_client(void)
{
    dsp_client_options o = dsp_client_options_default();
    o.no_cache = true;
    dsp_client *c = NULL;
    assert_int_equal(dsp_client_new(&o, &c, NULL), DSP_OK);
    return c;
}

static void run_fills_or_empties_the_output(void **state)
{
    (void)state;
    dsp_client *c = new_client();
    dsp_error err = {0};
    out_t out;
    in_t in = {21, "billing"};
    assert_int_equal(dsp_program_run(&k_fake, c, &in, &out, &err, -1), 0);
    assert_int_equal(out.doubled, 42);
    assert_string_equal(out.label, "billing");
    fake_free(&out);
    /* The module fails: the error is the module's, the output empty. */
    in.x = -1;
    memset(&out, 0x55, sizeof out);
    assert_int_equal(dsp_program_run(&k_fake, c, &in, &out, &err, -1), DSP_ERR_INVALID);
    assert_string_equal(err.message, "negative -1");
    assert_null(out.label);
    /* The input is refused before the module runs. */
    in = (in_t){1, NULL};
    assert_int_equal(dsp_program_run(&k_fake, c, &in, &out, &err, -1), DSP_ERR_INVALID);
    assert_string_equal(err.message, "x_run: input `label` is NULL");
    /* A result that does not convert: what was made is freed, out is empty. */
    in = (in_t){42, "b"};
    g_frees = 0;
    assert_int_equal(dsp_program_run(&k_fake, c, &in, &out, &err, -1), DSP_ERR_PARSE);
    assert_int_equal(g_frees, 1);
    assert_null(out.label);
    /* NULL arguments name the function. */
    assert_int_equal(dsp_program_run(&k_fake, NULL, &in, &out, &err, -1), DSP_ERR_INVALID);
    assert_string_equal(err.message, "x_run: client, in and out must not be NULL");
    dsp_error_clear(&err);
    dsp_client_free(c);
}

/* One err serves a loop of runs: each run replaces what it holds, freeing
 * an earlier failure's raw reply (ASan sees no leak), so after a run that
 * succeeds err says DSP_OK, not the failure before it (a program of C
 * tools alone makes no predictor call that would reset it). */
static void err_says_what_this_run_did(void **state)
{
    (void)state;
    dsp_client *c = new_client();
    dsp_error err = {0};
    dsp_error_set(&err, DSP_ERR_PARSE, "an earlier reply did not parse");
    dsp_error_set_raw(&err, "not json", 8);
    out_t out;
    in_t in = {21, "billing"};
    assert_int_equal(dsp_program_run(&k_fake, c, &in, &out, &err, -1), 0);
    assert_int_equal(err.status, DSP_OK);
    assert_string_equal(err.message, "");
    assert_null(err.raw);
    fake_free(&out);
    /* Refused at once: the earlier raw reply is not this failure's. */
    dsp_error_set_raw(&err, "not json", 8);
    in = (in_t){1, NULL};
    assert_int_equal(dsp_program_run(&k_fake, c, &in, &out, &err, -1), DSP_ERR_INVALID);
    assert_null(err.raw);
    dsp_error_set_raw(&err, "not json", 8);
    in = (in_t){21, "billing"};
    dsp_client *shadow = new_client(); /* not g_shadow: it answers as the primary */
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, shadow, NULL, NULL, NULL, &err), 0);
    assert_int_equal(err.status, DSP_OK);
    assert_null(err.raw);
    fake_free(&out);
    dsp_error_clear(&err);
    dsp_client_free(shadow);
    dsp_client_free(c);
}

typedef struct seen {
    int calls;
    long long shadow_doubled; /* -1: reported without an output */
    char why[DSP_ERROR_MESSAGE_MAX];
} seen;

static void on_disagree(void *ctx, const void *in, const void *primary, const void *shadow, const dsp_error *e)
{
    (void)in;
    seen *s = ctx;
    s->calls++;
    assert_int_equal(((const out_t *)primary)->doubled, 20);
    s->shadow_doubled = shadow ? ((const out_t *)shadow)->doubled : -1;
    snprintf(s->why, sizeof s->why, "%s", e->message);
}

static void shadow_compares_what_decides(void **state)
{
    (void)state;
    dsp_client *c = new_client();
    g_shadow = new_client();
    dsp_error err = {0};
    in_t in = {10, "billing"};
    out_t out;
    int agreed = -1;
    /* The same number and label, another reasoning: free text is not compared. */
    g_shadow_mode = 2;
    seen s = {0, 0, ""};
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, g_shadow, on_disagree, &s, &agreed, &err), 0);
    assert_int_equal(agreed, 1);
    assert_int_equal(s.calls, 0);
    assert_int_equal(out.doubled, 20);
    fake_free(&out);
    /* Another number: reported once with the shadow's output; the primary's is returned. */
    g_shadow_mode = 1;
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, g_shadow, on_disagree, &s, &agreed, &err), 0);
    assert_int_equal(agreed, 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.shadow_doubled, 21);
    assert_int_equal(out.doubled, 20);
    fake_free(&out);
    /* The shadow fails: reported without an output, the call still succeeds. */
    g_shadow_mode = 3;
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, g_shadow, on_disagree, &s, &agreed, &err), 0);
    assert_int_equal(agreed, 0);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.shadow_doubled, -1);
    assert_string_equal(s.why, "shadow endpoint down");
    fake_free(&out);
    /* No callback, or no shadow: a plain run. */
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, g_shadow, NULL, NULL, NULL, &err), 0);
    fake_free(&out);
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, NULL, on_disagree, &s, &agreed, &err), 0);
    assert_int_equal(agreed, 0);
    assert_int_equal(s.calls, 2);
    fake_free(&out);
    /* The primary fails: its error, nothing reported. */
    in.x = -5;
    assert_int_equal(dsp_program_run_shadow(&k_fake, c, &in, &out, g_shadow, on_disagree, &s, &agreed, &err),
                     DSP_ERR_INVALID);
    assert_int_equal(s.calls, 2);
    assert_int_equal(dsp_program_run_shadow(&k_fake, NULL, &in, &out, g_shadow, on_disagree, &s, &agreed, &err),
                     DSP_ERR_INVALID);
    assert_string_equal(err.message, "x_run_shadow: client, in and out must not be NULL");
    dsp_error_clear(&err);
    dsp_client_free(g_shadow);
    g_shadow = NULL;
    dsp_client_free(c);
}

static void batch_fills_each_slot(void **state)
{
    (void)state;
    dsp_client *c = new_client();
    enum { N = 100 };
    in_t in[N];
    out_t out[N];
    int statuses[N];
    dsp_error errs[N];
    /* As a caller leaves them: not zeroed. Each is an output, overwritten. */
    memset(errs, 0xa5, sizeof errs);
    for (int i = 0; i < N; i++)
        in[i] = (in_t){i % 7 == 3 ? -i : i == 42 ? 1 : i, "p"}; /* 42 would double to 84, which fake_output refuses */
    int rc = dsp_program_run_batch(&k_fake, c, in, N, out, statuses, errs, 4);
    assert_int_equal(rc, DSP_ERR_INVALID); /* the first failure by index, row 3 */
    for (int i = 0; i < N; i++) {
        if (i % 7 == 3) {
            assert_int_equal(statuses[i], DSP_ERR_INVALID);
            char want[32];
            snprintf(want, sizeof want, "negative %d", -i);
            assert_string_equal(errs[i].message, want);
            assert_null(out[i].label);
        } else {
            assert_int_equal(statuses[i], 0);
            assert_int_equal(errs[i].status, DSP_OK);
            assert_null(errs[i].raw);
            assert_int_equal(out[i].doubled, 2LL * in[i].x);
            fake_free(&out[i]);
        }
        dsp_error_clear(&errs[i]);
    }
    /* statuses and errs are optional. */
    for (int i = 0; i < N; i++)
        in[i].x = i == 42 ? 1 : i;
    assert_int_equal(dsp_program_run_batch(&k_fake, c, in, N, out, NULL, NULL, 0), 0);
    assert_int_equal(out[94].doubled, 188);
    for (int i = 0; i < N; i++)
        fake_free(&out[i]);
    /* NULL arguments are an error naming the function. */
    dsp_error e = {0};
    assert_int_equal(dsp_program_run_batch(&k_fake, NULL, in, 1, out, NULL, &e, 0), DSP_ERR_INVALID);
    assert_string_equal(e.message, "x_run_batch: client, in and out must not be NULL");
    dsp_error_clear(&e);
    assert_int_equal(dsp_program_run_batch(&k_fake, c, NULL, 1, out, NULL, &e, 0), DSP_ERR_INVALID);
    dsp_error_clear(&e);
    assert_int_equal(dsp_program_run_batch(&k_fake, c, NULL, 0, NULL, NULL, NULL, 0), 0); /* nothing to run */
    dsp_client_free(c);
}

/* A module of more parameters and results than fit on the stack. */
enum { WIDE = 9 };
static dsp_status wide_args(const void *in_, dsp_value *args, dsp_error *err)
{
    (void)err;
    const int *in = in_;
    for (int i = 0; i < WIDE; i++) args[i] = dsp_value_int(in[i]);
    return DSP_OK;
}
static dsp_status wide_run(dsp_client *client, const dsp_value *args, dsp_value *res, dsp_error *err)
{
    (void)client;
    for (int i = 0; i < WIDE; i++) res[i] = args[WIDE - 1 - i];
    return dsp_value_set_string(&res[WIDE], "tail", 4, err);
}
static dsp_status wide_output(const dsp_value *res, void *out_, dsp_error *err)
{
    (void)err;
    long long *out = out_;
    for (int i = 0; i < WIDE; i++) out[i] = res[i].as.i;
    out[WIDE] = (long long)res[WIDE].as.s.len;
    return DSP_OK;
}
static void wide_free(void *out)
{
    (void)out;
}
static const unsigned char k_wide_decides[WIDE + 1] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
static const dsp_program k_wide = {
    "w", "W", WIDE, WIDE + 1, WIDE * sizeof(int), (WIDE + 1) * sizeof(long long),
    wide_args, wide_run, wide_output, wide_free, k_wide_decides,
};

static void wide_programs_use_the_heap(void **state)
{
    (void)state;
    dsp_client *c = new_client();
    int in[WIDE];
    long long out[WIDE + 1];
    for (int i = 0; i < WIDE; i++) in[i] = i * 10;
    assert_int_equal(dsp_program_run(&k_wide, c, in, out, NULL, -1), 0);
    assert_int_equal(out[0], 80);
    assert_int_equal(out[WIDE - 1], 0);
    assert_int_equal(out[WIDE], 4);
    int agreed = 0;
    assert_int_equal(dsp_program_run_shadow(&k_wide, c, in, out, c, NULL, NULL, &agreed, NULL), 0);
    assert_int_equal(agreed, 1);
    dsp_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_fills_or_empties_the_output),
        cmocka_unit_test(err_says_what_this_run_did),
        cmocka_unit_test(shadow_compares_what_decides),
        cmocka_unit_test(batch_fills_each_slot),
        cmocka_unit_test(wide_programs_use_the_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
