/* test_interp_tools.c — the interpreter's tool calls (compiler/interp_tools.c)
 * on every convention of docs/c-headers.md: list inputs as a C array and
 * its length, outputs through pointers (strings, scalars, arrays of
 * strings, int64/uint32/float/bool), int status returns and void, and the
 * C integer types by size and signedness with range checks both ways.
 * The tools are words.c (the shared fixture, built into libwords.so) and
 * fixtures/interp_list_tools.c. The tools are described by hand-built
 * ir_tools, as sema fills them in; under `make check-asan` LeakSanitizer
 * checks that every output the tools allocate is freed exactly once. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "interp_int.h"

static const ir_type t_str = { .kind = IR_STRING }, t_int = { .kind = IR_INT }, t_float = { .kind = IR_FLOAT },
                     t_bool = { .kind = IR_BOOL };
static const ir_type t_lstr = { .kind = IR_LIST, .elem = &t_str }, t_lint = { .kind = IR_LIST, .elem = &t_int },
                     t_lfloat = { .kind = IR_LIST, .elem = &t_float }, t_lbool = { .kind = IR_LIST, .elem = &t_bool };

#define IN(n, ct, ty) { n, ct, ty, IR_PARAM_IN, NULL, NULL }
#define IN_LIST(n, ct, ty, el) { n, ct, ty, IR_PARAM_IN, el, NULL }
#define LEN(n, ct) { n, ct, NULL, IR_PARAM_LEN, NULL, NULL }
#define OUT(n, ct, ty, el) { n, ct, ty, IR_PARAM_OUT, el, NULL }
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A tool as sema describes it: the outputs are the OUT parameters. */
typedef struct tool_fix {
    ir_tool t;
    ir_field outs[8];
} tool_fix;

static char words_lib[PATH_MAX], list_lib[PATH_MAX];

static void lib_path(const char *name, char *out)
{
    const char *build = getenv("BUILD");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/tests/interp_tools/%s", build && *build ? build : "build", name);
    if (!realpath(rel, out))
        fail_msg("%s is missing: the build makes it beside the tests", rel);
}

static const ir_tool *mk(tool_fix *f, const char *lib, const char *name, const char *ret, const ir_type *type,
                         const ir_tool_param *ps, size_t n)
{
    memset(f, 0, sizeof *f);
    f->t.name = name;
    f->t.c_return = ret;
    f->t.params = ps;
    f->t.n_params = n;
    f->t.library = lib;
    for (size_t i = 0; i < n; i++)
        if (ps[i].role == IR_PARAM_OUT) {
            f->outs[f->t.n_outputs].name = ps[i].name;
            f->outs[f->t.n_outputs].type = ps[i].type;
            f->t.n_outputs++;
        }
    f->t.outputs = f->outs;
    f->t.ret_status = f->t.n_outputs > 0 && strcmp(ret, "int") == 0;
    f->t.type = f->t.n_outputs > 0 ? NULL : type;
    return &f->t;
}

typedef struct env {
    ir_program prog;
    ex_runner r;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->prog.base_dir = "/nonexistent";   /* every library path here is absolute */
    e->r.prog = &e->prog;
    it_tools_init(&e->r.tools);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    it_tools_free(&e->r.tools);
    free(e);
    return 0;
}

static dsp_value str(const char *s)
{
    dsp_value v = { 0 };
    if (dsp_value_set_string(&v, s, strlen(s), NULL) != DSP_OK)
        abort();
    return v;
}

static dsp_value str_list(const char *const *xs, size_t n)
{
    dsp_value l = dsp_value_list();
    for (size_t i = 0; i < n; i++) {
        dsp_value s = str(xs[i]);
        if (dsp_value_list_append(&l, &s, NULL) != DSP_OK)
            abort();
    }
    return l;
}

static dsp_value int_list(const int64_t *xs, size_t n)
{
    dsp_value l = dsp_value_list();
    for (size_t i = 0; i < n; i++) {
        dsp_value v = dsp_value_int(xs[i]);
        if (dsp_value_list_append(&l, &v, NULL) != DSP_OK)
            abort();
    }
    return l;
}

static dsp_value float_list(const double *xs, size_t n)
{
    dsp_value l = dsp_value_list();
    for (size_t i = 0; i < n; i++) {
        dsp_value v = dsp_value_float(xs[i]);
        if (dsp_value_list_append(&l, &v, NULL) != DSP_OK)
            abort();
    }
    return l;
}

/* Calls the tool; on failure, checks the message holds want1 and want2 and
 * that the results were left empty. */
static dsp_status call(env *e, const ir_tool *t, dsp_value *args, size_t n_args, dsp_value *outs, const char *want1,
                       const char *want2)
{
    dsp_error err = { 0 };
    assert_int_equal(it_tool_n_args(t), n_args);
    dsp_status rc = it_tool_call(&e->r, t, args, outs, &err);
    if (want1) {
        assert_int_not_equal(rc, DSP_OK);
        if (!strstr(err.message, want1) || (want2 && !strstr(err.message, want2)))
            fail_msg("error `%s` lacks `%s` / `%s`", err.message, want1, want2 ? want2 : "");
        for (size_t i = 0; i < it_tool_n_results(t); i++)
            assert_true(outs[i].kind == DSP_TYPE_STRING && outs[i].as.s.data == NULL);
    } else if (rc != DSP_OK) {
        fail_msg("tool `%s` failed: %s", t->name, err.message);
    }
    dsp_values_free(args, n_args);
    dsp_error_clear(&err);
    return rc;
}

static void assert_str_list(const dsp_value *v, const char *const *want, size_t n)
{
    assert_int_equal(v->kind, DSP_TYPE_LIST);
    assert_int_equal(v->as.list.len, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v->as.list.items[i].kind, DSP_TYPE_STRING);
        assert_string_equal(dsp_value_cstr(&v->as.list.items[i]), want[i]);
    }
}

/* ---- words.c: the shared fixture ---- */

static const ir_tool_param top_words_ps[] = {
    IN("text", "const char *", &t_str), IN("k", "int64_t", &t_int),
    OUT("words", "char ***", &t_lstr, "char *"), LEN("n_words", "size_t *"),
};

static void test_top_words(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, words_lib, "top_words", "int", NULL, top_words_ps, N(top_words_ps));
    assert_int_equal(it_tool_n_results(t), 1);
    dsp_value args[2] = { str("the quick brown fox jumps"), dsp_value_int(2) }, out[1];
    call(e, t, args, 2, out, NULL, NULL);
    const char *want[] = { "quick", "brown" };
    assert_str_list(&out[0], want, 2);
    dsp_value_free(&out[0]);

    /* k: 0 leaves a NULL array of length 0: an empty list. */
    args[0] = str("a b");
    args[1] = dsp_value_int(0);
    call(e, t, args, 2, out, NULL, NULL);
    assert_str_list(&out[0], NULL, 0);
    dsp_value_free(&out[0]);

    /* k: -1 is status 2, which fails the call. */
    args[0] = str("a b");
    args[1] = dsp_value_int(-1);
    call(e, t, args, 2, out, "tool `top_words` failed with status 2", NULL);
}

static const ir_tool_param join_ps[] = {
    IN_LIST("words", "const char *const *", &t_lstr, "const char *"), LEN("n_words", "size_t"),
    IN("sep", "const char *", &t_str),
};

static void test_join_list_in_owned_return(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, words_lib, "join", "char *", &t_str, join_ps, N(join_ps));
    const char *ws[] = { "quick", "brown" };
    dsp_value args[2] = { str_list(ws, 2), str("+") }, out[1];
    call(e, t, args, 2, out, NULL, NULL);
    assert_string_equal(dsp_value_cstr(&out[0]), "quick+brown");
    dsp_value_free(&out[0]);

    /* An empty list passes a valid array and a length of 0. */
    args[0] = dsp_value_list();
    args[1] = str("+");
    call(e, t, args, 2, out, NULL, NULL);
    assert_int_equal(out[0].kind, DSP_TYPE_STRING);
    assert_string_equal(dsp_value_cstr(&out[0]), "");
    dsp_value_free(&out[0]);
}

static const ir_tool_param stats_ps[] = {
    IN_LIST("xs", "const double *", &t_lfloat, "double"), LEN("n_xs", "size_t"),
    OUT("count", "int64_t *", &t_int, "int64_t"), OUT("mean", "double *", &t_float, "double"),
    OUT("any_negative", "bool *", &t_bool, "bool"),
};

static void test_stats_scalar_outputs(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, words_lib, "stats", "int", NULL, stats_ps, N(stats_ps));
    assert_int_equal(it_tool_n_results(t), 3);
    const double xs[] = { 1.5, -2.0, 3.5 };
    dsp_value args[1] = { float_list(xs, 3) }, out[3];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].kind, DSP_TYPE_INT);
    assert_int_equal(out[0].as.i, 3);
    assert_int_equal(out[1].kind, DSP_TYPE_FLOAT);
    assert_true(out[1].as.f == 1.0);
    assert_int_equal(out[2].kind, DSP_TYPE_BOOL);
    assert_true(out[2].as.b);
    dsp_values_free(out, 3);

    args[0] = dsp_value_list();
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.i, 0);
    assert_true(out[1].as.f == 0.0);
    assert_false(out[2].as.b);
    dsp_values_free(out, 3);

    /* Ints from a list<int> argument are passed as doubles. */
    const int64_t is[] = { 2, 4 };
    args[0] = int_list(is, 2);
    call(e, t, args, 1, out, NULL, NULL);
    assert_true(out[1].as.f == 3.0);
    dsp_values_free(out, 3);
}

static const ir_tool_param lengths_ps[] = {
    IN_LIST("words", "const char *const *", &t_lstr, "const char *"), LEN("words_len", "size_t"),
    OUT("lens", "uint32_t **", &t_lint, "uint32_t"), LEN("lens_len", "size_t *"),
};

static void test_lengths_void_uint32_array(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, words_lib, "lengths", "void", NULL, lengths_ps, N(lengths_ps));
    const char *ws[] = { "quick", "brown", "a" };
    dsp_value args[1] = { str_list(ws, 3) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].kind, DSP_TYPE_LIST);
    assert_int_equal(out[0].as.list.len, 3);
    assert_int_equal(out[0].as.list.items[0].as.i, 5);
    assert_int_equal(out[0].as.list.items[2].kind, DSP_TYPE_INT);
    assert_int_equal(out[0].as.list.items[2].as.i, 1);
    dsp_value_free(&out[0]);

    args[0] = dsp_value_list();
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].kind, DSP_TYPE_LIST);
    assert_int_equal(out[0].as.list.len, 0);
    dsp_value_free(&out[0]);
}

static const ir_tool_param total_ps[] = {
    IN_LIST("xs", "const int64_t *", &t_lint, "int64_t"), LEN("xs_count", "size_t"),
};

static void test_total_int_list_plain_return(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, words_lib, "total", "long long", &t_int, total_ps, N(total_ps));
    const int64_t xs[] = { 5, 5, -3, INT64_C(1) << 40 };
    dsp_value args[1] = { int_list(xs, 4) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].kind, DSP_TYPE_INT);
    assert_true(out[0].as.i == 7 + (INT64_C(1) << 40));
    dsp_value_free(&out[0]);
}

static const ir_tool_param may_fail_ps[] = {
    IN("fail", "bool", &t_bool), OUT("message", "char **", &t_str, "char *"),
};

static void test_may_fail_status_frees_output(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, words_lib, "may_fail", "int", NULL, may_fail_ps, N(may_fail_ps));
    dsp_value args[1] = { dsp_value_bool(false) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_string_equal(dsp_value_cstr(&out[0]), "fine");
    dsp_value_free(&out[0]);

    /* Status 3: the message the tool allocated is freed (LSan checks). */
    args[0] = dsp_value_bool(true);
    call(e, t, args, 1, out, "tool `may_fail` failed with status 3", NULL);
}

/* ---- interp_list_tools.c: C integer types and edge cases ---- */

static void test_narrow_int_range(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = { IN("x", "int8_t", &t_int) };
    const ir_tool *t = mk(&f, list_lib, "narrow", "int8_t", &t_int, ps, 1);
    dsp_value args[1] = { dsp_value_int(-128) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.i, -128);   /* sign-extended back from the narrow result */
    args[0] = dsp_value_int(127);
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.i, 127);
    args[0] = dsp_value_int(200);
    call(e, t, args, 1, out, "parameter `x` is 200, out of range for C type `int8_t` (-128 to 127)", "narrow");
    args[0] = dsp_value_int(-129);
    call(e, t, args, 1, out, "parameter `x` is -129", "int8_t");
    /* A float with a fraction is not an integer (a metric passes numbers). */
    args[0] = dsp_value_float(2.5);
    call(e, t, args, 1, out, "parameter `x` is 2.5, not an integer", "int8_t");
    args[0] = dsp_value_float(3.0);
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.i, 3);
}

static void test_unsigned_range(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = { IN("x", "uint32_t", &t_int) };
    const ir_tool *t = mk(&f, list_lib, "u32_id", "uint32_t", &t_int, ps, 1);
    dsp_value args[1] = { dsp_value_int(UINT32_MAX) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_true(out[0].as.i == UINT32_MAX);
    args[0] = dsp_value_int(-1);
    call(e, t, args, 1, out, "parameter `x` is -1, out of range for C type `uint32_t` (0 to 4294967295)", NULL);
    args[0] = dsp_value_int((int64_t)UINT32_MAX + 1);
    call(e, t, args, 1, out, "is 4294967296", "uint32_t");

    /* size_t: the whole non-negative int64 range, nothing negative. */
    static const ir_tool_param sps[] = { IN("x", "size_t", &t_int) };
    t = mk(&f, list_lib, "size_id", "size_t", &t_int, sps, 1);
    args[0] = dsp_value_int(INT64_MAX);
    call(e, t, args, 1, out, NULL, NULL);
    assert_true(out[0].as.i == INT64_MAX);
    args[0] = dsp_value_int(-5);
    call(e, t, args, 1, out, "parameter `x` is -5, out of range for C type `size_t`", NULL);

    /* A uint64_t result above INT64_MAX has no .dsp int. */
    t = mk(&f, list_lib, "too_big", "uint64_t", &t_int, NULL, 0);
    call(e, t, NULL, 0, out, "its result is 18446744073709551615 (C type `uint64_t`), above the largest .dsp int",
         "too_big");
}

static void test_list_element_range(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = { IN_LIST("xs", "const int16_t *", &t_lint, "int16_t"), LEN("n_xs", "size_t") };
    const ir_tool *t = mk(&f, list_lib, "sum16", "int16_t", &t_int, ps, N(ps));
    const int64_t ok[] = { 30000, -30000, -7 };
    dsp_value args[1] = { int_list(ok, 3) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.i, -7);
    const int64_t bad[] = { 1, 2, 40000 };
    args[0] = int_list(bad, 3);
    call(e, t, args, 1, out, "element 2 of parameter `xs` is 40000, out of range for C type `int16_t`", NULL);
}

static const ir_tool_param u32s_ps[] = {
    IN_LIST("xs", "const uint32_t *", &t_lint, "uint32_t"), LEN("n_xs", "size_t"),
    OUT("out", "uint32_t **", &t_lint, "uint32_t"), LEN("n_out", "size_t *"),
    OUT("count", "uint64_t *", &t_int, "uint64_t"),
};

static void test_uint32_arrays(void **state)
{
    env *e = *state;
    tool_fix f;
    const ir_tool *t = mk(&f, list_lib, "u32s", "int", NULL, u32s_ps, N(u32s_ps));
    const int64_t xs[] = { 0, 7, (int64_t)UINT32_MAX - 1 };
    dsp_value args[1] = { int_list(xs, 3) }, out[2];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.list.len, 3);
    assert_int_equal(out[0].as.list.items[0].as.i, 1);
    assert_int_equal(out[0].as.list.items[1].as.i, 8);
    assert_true(out[0].as.list.items[2].as.i == UINT32_MAX);
    assert_int_equal(out[1].as.i, 3);
    dsp_values_free(out, 2);

    const int64_t neg[] = { 1, -1 };
    args[0] = int_list(neg, 2);
    call(e, t, args, 1, out, "element 1 of parameter `xs` is -1", "uint32_t");
}

static void test_float_and_bool_arrays(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param fps[] = {
        IN_LIST("xs", "const float *", &t_lfloat, "float"), LEN("xs_len", "size_t"),
        OUT("out", "float **", &t_lfloat, "float"), LEN("out_len", "size_t *"),
    };
    const ir_tool *t = mk(&f, list_lib, "floats", "void", NULL, fps, N(fps));
    const double xs[] = { 1.5, -0.25 };
    dsp_value args[1] = { float_list(xs, 2) }, out[1];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.list.len, 2);
    assert_int_equal(out[0].as.list.items[0].kind, DSP_TYPE_FLOAT);
    assert_true(out[0].as.list.items[0].as.f == 3.0);
    assert_true(out[0].as.list.items[1].as.f == -0.5);
    dsp_value_free(&out[0]);
    /* A double no float holds is refused, not passed as infinity. */
    const double big[] = { 1e300 };
    args[0] = float_list(big, 1);
    call(e, t, args, 1, out, "element 0 of parameter `xs` is 1.0000000000000001e+300, out of range for C type `float`",
         NULL);

    static const ir_tool_param bps[] = {
        IN_LIST("xs", "const bool *", &t_lbool, "bool"), LEN("xs_count", "size_t"),
        OUT("out", "bool **", &t_lbool, "bool"), LEN("out_count", "size_t *"),
    };
    t = mk(&f, list_lib, "bools", "int", NULL, bps, N(bps));
    dsp_value l = dsp_value_list();
    const bool bs[] = { true, false, false };
    for (size_t i = 0; i < 3; i++) {
        dsp_value b = dsp_value_bool(bs[i]);
        assert_int_equal(dsp_value_list_append(&l, &b, NULL), DSP_OK);
    }
    args[0] = l;
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.list.len, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(out[0].as.list.items[i].kind, DSP_TYPE_BOOL);
        assert_int_equal(out[0].as.list.items[i].as.b, !bs[i]);
    }
    dsp_value_free(&out[0]);
}

static void test_uint64_output_too_big_frees_the_rest(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = {
        OUT("big", "uint64_t *", &t_int, "uint64_t"), OUT("note", "char **", &t_str, "char *"),
    };
    const ir_tool *t = mk(&f, list_lib, "huge_out", "int", NULL, ps, N(ps));
    dsp_value out[2];
    call(e, t, NULL, 0, out, "output `big` is 18446744073709551615 (C type `uint64_t`), above the largest .dsp int",
         "huge_out");
}

static void test_null_outputs(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param sps[] = { OUT("out", "char **", &t_str, "char *") };
    const ir_tool *t = mk(&f, list_lib, "null_string", "int", NULL, sps, 1);
    dsp_value args[1], out[2];
    call(e, t, NULL, 0, out, "tool `null_string` left output `out` NULL", NULL);

    static const ir_tool_param aps[] = {
        IN("with_len", "bool", &t_bool), OUT("xs", "int64_t **", &t_lint, "int64_t"), LEN("n_xs", "size_t *"),
    };
    t = mk(&f, list_lib, "null_array", "int", NULL, aps, N(aps));
    args[0] = dsp_value_bool(true);
    call(e, t, args, 1, out, "tool `null_array` left output `xs` NULL with length 3", NULL);
    args[0] = dsp_value_bool(false);
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].kind, DSP_TYPE_LIST);
    assert_int_equal(out[0].as.list.len, 0);
    dsp_value_free(&out[0]);

    /* A NULL string inside the array: an error, and the other strings,
     * the array and the next output are still freed. */
    static const ir_tool_param eps[] = {
        OUT("out", "char ***", &t_lstr, "char *"), LEN("n_out", "size_t *"), OUT("after", "char **", &t_str, "char *"),
    };
    t = mk(&f, list_lib, "null_element", "int", NULL, eps, N(eps));
    call(e, t, NULL, 0, out, "tool `null_element` left element 1 of output `out` NULL", NULL);
}

static void test_failure_frees_every_output(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = {
        IN("code", "int64_t", &t_int), OUT("msg", "char **", &t_str, "char *"),
        OUT("words", "char ***", &t_lstr, "char *"), LEN("n_words", "size_t *"),
    };
    const ir_tool *t = mk(&f, list_lib, "fails_after_alloc", "int", NULL, ps, N(ps));
    dsp_value args[1] = { dsp_value_int(-4) }, out[2];
    call(e, t, args, 1, out, "tool `fails_after_alloc` failed with status -4", NULL);
    args[0] = dsp_value_int(0);
    call(e, t, args, 1, out, NULL, NULL);
    assert_string_equal(dsp_value_cstr(&out[0]), "partial");
    const char *want[] = { "x", "y" };
    assert_str_list(&out[1], want, 2);
    dsp_values_free(out, 2);
}

static void test_void_with_outputs(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = {
        IN("x", "int64_t", &t_int), OUT("twice", "int64_t *", &t_int, "int64_t"),
        OUT("half", "double *", &t_float, "double"),
    };
    const ir_tool *t = mk(&f, list_lib, "void_out", "void", NULL, ps, N(ps));
    dsp_value args[1] = { dsp_value_int(7) }, out[2];
    call(e, t, args, 1, out, NULL, NULL);
    assert_int_equal(out[0].as.i, 14);
    assert_true(out[1].as.f == 3.5);
    dsp_values_free(out, 2);
}

/* Types the interpreter cannot pass are refused before the call. */
static void test_refused_types(void **state)
{
    env *e = *state;
    tool_fix f;
    static const ir_tool_param ps[] = { IN("x", "long double", &t_float) };
    const ir_tool *t = mk(&f, list_lib, "narrow", "int8_t", &t_int, ps, 1);
    dsp_value args[1] = { dsp_value_float(1) }, out[1];
    call(e, t, args, 1, out, "parameter `x` has C type `long double`, which the interpreter cannot pass", NULL);
    t = mk(&f, list_lib, "too_big", "struct s", &t_int, NULL, 0);
    call(e, t, NULL, 0, out, "returns C type `struct s`", NULL);
}

int main(void)
{
    lib_path("libwords.so", words_lib);
    lib_path("libinterp_list_tools.so", list_lib);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_top_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_list_in_owned_return, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_scalar_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lengths_void_uint32_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_int_list_plain_return, setup, teardown),
        cmocka_unit_test_setup_teardown(test_may_fail_status_frees_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_narrow_int_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsigned_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_element_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uint32_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_float_and_bool_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uint64_output_too_big_frees_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_frees_every_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_void_with_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
