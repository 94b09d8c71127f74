/* test_parser.c — the bison grammar: the tree it builds for each construct,
 * source locations on nodes, and recovery from several syntax errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

typedef struct fixture {
    arena a;
    diag d;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    arena_init(&f->a);
    diag_init(&f->d, &f->a, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    arena_free(&f->a);
    free(f);
    return 0;
}

static ast_file *parse(fixture *f, const char *text)
{
    source_file *src = source_from_string(&f->a, "p.dsp", text, strlen(text));
    return parse_source(&f->a, &f->d, src);
}

static const char *msg(fixture *f, size_t i)
{
    return i < f->d.msgs.len ? ((diag_msg *)f->d.msgs.items[i])->line : "(none)";
}

static void test_signature_fields_types_descriptions(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f,
        "signature S \"Do it.\" \"Carefully.\" {\n"
        "  in  a: string \"the a\"\n"
        "  in  b: list<optional<int>>\n"
        "  out c: enum { x, y, z }\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(file->decls.len, 1);
    ast_decl *d = file->decls.items[0];
    assert_int_equal(d->kind, D_SIGNATURE);
    assert_string_equal(d->name.name, "S");
    assert_string_equal(d->str, "Do it.Carefully.");  /* adjacent strings join */
    assert_int_equal(d->fields.len, 3);
    ast_field *a = d->fields.items[0], *b = d->fields.items[1], *c = d->fields.items[2];
    assert_string_equal(a->desc, "the a");
    assert_int_equal(a->name.loc.line, 2);
    assert_int_equal(a->name.loc.col, 7);
    assert_int_equal(b->type->kind, AT_LIST);
    assert_int_equal(b->type->elem->kind, AT_OPTIONAL);
    assert_string_equal(b->type->elem->elem->name, "int");
    assert_null(b->desc);
    assert_true(c->is_output);
    assert_int_equal(c->type->kind, AT_ENUM);
    assert_int_equal(c->type->values.len, 3);
}

static void test_module_statements(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f,
        "module M(q: string, n: int) -> (a: string) {\n"
        "  r = chain_of_thought(S)(q: q, n: 3)\n"
        "  t = lookup(query: r.a)\n"
        "  repeat 2 { r = predict(S)(q: t) }\n"
        "  if r.label == high { x = Other(q: \"s\") } else if r.label != low { x = Other(q: q) }\n"
        "  return (a: r.a)\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    ast_decl *m = file->decls.items[0];
    assert_int_equal(m->kind, D_MODULE);
    assert_int_equal(m->params.len, 2);
    assert_int_equal(m->results.len, 1);
    assert_int_equal(m->body.len, 5);
    ast_stmt *s0 = m->body.items[0];
    assert_int_equal(s0->kind, ST_ASSIGN);
    assert_int_equal(s0->call->kind, CALL_STRATEGY);
    assert_string_equal(s0->call->callee.name, "chain_of_thought");
    assert_string_equal(s0->call->sig.name, "S");
    assert_int_equal(s0->call->bindings.len, 2);
    ast_binding *b1 = s0->call->bindings.items[1];
    assert_int_equal(b1->value->kind, AV_INT);
    ast_stmt *s1 = m->body.items[1];
    assert_int_equal(s1->call->kind, CALL_PLAIN);
    ast_binding *b = s1->call->bindings.items[0];
    assert_int_equal(b->value->kind, AV_FIELD);
    assert_string_equal(b->value->s, "r");
    assert_string_equal(b->value->field.name, "a");
    ast_stmt *s2 = m->body.items[2];
    assert_int_equal(s2->kind, ST_REPEAT);
    assert_int_equal(s2->count, 2);
    assert_int_equal(s2->body.len, 1);
    ast_stmt *s3 = m->body.items[3];
    assert_int_equal(s3->kind, ST_IF);
    assert_int_equal(s3->negate, 0);
    assert_true(s3->has_else);
    ast_stmt *elif = s3->else_body.items[0];
    assert_int_equal(elif->kind, ST_IF);
    assert_int_equal(elif->negate, 1);
    ast_stmt *s4 = m->body.items[4];
    assert_int_equal(s4->kind, ST_RETURN);
    assert_true(s4->returns_record);
}

static void test_metric_precedence(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f, "metric m(ex, pred) = not a or b and 1 + 2 * 3 >= 4\n");
    assert_int_equal(f->d.errors, 0);
    ast_decl *d = file->decls.items[0];
    ast_expr *e = d->expr;
    /* or(not a, and(b, >=(+(1, *(2, 3)), 4))) */
    assert_int_equal(e->op, OP_OR);
    assert_int_equal(e->a->op, OP_NOT);
    assert_int_equal(e->b->op, OP_AND);
    ast_expr *ge = e->b->b;
    assert_int_equal(ge->op, OP_GE);
    assert_int_equal(ge->a->op, OP_ADD);
    assert_int_equal(ge->a->b->op, OP_MUL);
}

static void test_metric_calls_lists_judge(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f,
        "metric m(ex, pred) = pred.c in [a, b] and judge(J, lm: t)(q: ex.q).ok\n");
    assert_int_equal(f->d.errors, 0);
    ast_expr *e = ((ast_decl *)file->decls.items[0])->expr;
    assert_int_equal(e->op, OP_AND);
    assert_int_equal(e->a->op, OP_IN);
    assert_int_equal(e->a->b->kind, AE_LIST);
    assert_int_equal(e->a->b->args.len, 2);
    ast_expr *field = e->b;
    assert_int_equal(field->kind, AE_FIELD);
    assert_string_equal(field->s, "ok");
    ast_expr *call = field->a;
    assert_int_equal(call->kind, AE_CALL);
    ast_arg *arg = call->args.items[0];
    assert_string_equal(arg->name.name, "q");
    ast_expr *head = call->a;
    assert_int_equal(head->kind, AE_CALL);
    ast_arg *lm = head->args.items[1];
    assert_string_equal(lm->name.name, "lm");
}

static void test_lm_data_optimize_import_tool(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f,
        "import \"common.dsp\"\n"
        "lm t = \"openai/gpt-4o-mini\" { temperature: 0.5, max_tokens: 10 api_key_env: \"K\" }\n"
        "data d = csv(\"x.csv\") { \"Question Text\" -> question, answer -> answer }\n"
        "tool char * search(const char *query, long k) from \"lib.so\"\n"
        "tool double score(void) from \"lib.so\"\n"
        "optimize M with mipro(auto: light) { metric: m trainset: d lm: t seed: 3 }\n");
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(file->decls.len, 6);
    ast_decl *imp = file->decls.items[0], *lm = file->decls.items[1], *data = file->decls.items[2];
    ast_decl *tool = file->decls.items[3], *tool2 = file->decls.items[4], *opt = file->decls.items[5];
    assert_string_equal(imp->str, "common.dsp");
    assert_int_equal(lm->kvs.len, 3);
    assert_true(data->has_mapping);
    ast_mapping *m0 = data->mapping.items[0];
    assert_string_equal(m0->column, "Question Text");
    assert_string_equal(m0->field.name, "question");
    assert_string_equal(tool->name.name, "search");
    assert_string_equal(tool->cfunc->ctype, "char *");
    assert_int_equal(tool->params.len, 2);
    assert_string_equal(((ast_cdecl *)tool->params.items[0])->ctype, "const char *");
    assert_int_equal(tool2->params.len, 0);
    assert_string_equal(opt->optimizer.name, "mipro");
    assert_int_equal(opt->opt_args.len, 1);
    assert_int_equal(opt->kvs.len, 4);
}

static void test_tool_from_header_form(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f, "tool search from \"build/libtools.so\" header \"tools.h\"\n");
    assert_int_equal(f->d.errors, 0);
    ast_decl *d = file->decls.items[0];
    assert_int_equal(d->kind, D_TOOL);
    assert_string_equal(d->name.name, "search");
    assert_null(d->cfunc);
    assert_string_equal(d->str, "build/libtools.so");
    assert_string_equal(d->header, "tools.h");
    assert_int_equal(d->header_loc.col, 45);
}

static void test_recovery_reports_several_errors(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f,
        "signature A { in q string out a: string }\n"
        "signature B { in q: string out a: string }\n"
        "module M(q: string) -> (a: string) {\n"
        "  r = = predict(B)(q: q)\n"
        "  s = predict(B)(q: q)\n"
        "  return s\n"
        "}\n"
        "lm = \"x/y\"\n"
        "signature C { in q: string out a: string }\n");
    assert_int_equal(f->d.errors, 3);
    assert_string_equal(msg(f, 0), "p.dsp:1:20: error: expected `:` before identifier `string`");
    assert_string_equal(msg(f, 1), "p.dsp:4:7: error: expected identifier before `=`");
    assert_string_equal(msg(f, 2), "p.dsp:8:4: error: expected identifier before `=`");
    /* B, M and C survive; the module keeps the statements after the error. */
    int seen_c = 0;
    for (size_t i = 0; i < file->decls.len; i++) {
        ast_decl *d = file->decls.items[i];
        if (d->kind == D_MODULE)
            assert_int_equal(d->body.len, 2);
        seen_c |= d->kind == D_SIGNATURE && strcmp(d->name.name, "C") == 0;
    }
    assert_true(seen_c);
}

static void test_tool_without_name_is_an_error(void **state)
{
    fixture *f = *state;
    parse(f, "tool char *search(const char *) from \"lib.so\"\n");
    assert_int_equal(f->d.errors, 1);
    assert_non_null(strstr(msg(f, 0), "has no name"));
}

static void test_deep_expressions_are_rejected(void **state)
{
    fixture *f = *state;
    size_t n = 300;
    char *src = malloc(64 + n * 4);
    size_t len = (size_t)sprintf(src, "metric m(ex, pred) = 1");
    for (size_t i = 0; i < n; i++, len += 4)
        memcpy(src + len, " + 1", 4);
    src[len] = '\0';
    ast_file *file = parse(f, src);
    free(src);
    assert_int_equal(f->d.errors, 1);
    assert_non_null(strstr(msg(f, 0), "nested deeper than"));
    assert_int_equal(file->decls.len, 0);
}

static void test_empty_and_comment_only(void **state)
{
    fixture *f = *state;
    ast_file *file = parse(f, "");
    assert_int_equal(file->decls.len, 0);
    file = parse(f, "// nothing here\n/* at all */\n");
    assert_int_equal(file->decls.len, 0);
    assert_int_equal(file->comments.len, 2);
    assert_int_equal(f->d.errors, 0);
}

/* What a user sees: gcc's three lines, the caret under the column even
 * after multi-byte characters, long lines cut to a window. */
static void test_diagnostic_format(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    diag d;
    diag_init(&d, &a, out);
    const char *src = "signature S \"caf\xc3\xa9\" { in x string }\n";
    parse_source(&a, &d, source_from_string(&a, "f.dsp", src, strlen(src)));
    fclose(out);
    assert_string_equal(text,
        "f.dsp:1:28: error: expected `:` before identifier `string`\n"
        "    1 | signature S \"caf\xc3\xa9\" { in x string }\n"
        "      | " "                          " "^\n");  /* 26 columns: é is one */
    free(text);

    size_t n = 5000;
    char *big = malloc(n + 64);
    memset(big, ' ', n);
    memcpy(big + n, "@ x", 4);
    out = open_memstream(&text, &len);
    diag_init(&d, &a, out);
    parse_source(&a, &d, source_from_string(&a, "g.dsp", big, n + 3));
    fclose(out);
    free(big);
    const char *second = strchr(text, '\n') + 1;
    const char *third = strchr(second, '\n') + 1;
    assert_true(third - second < 200);             /* a window, not 5000 columns */
    assert_non_null(strstr(second, "...     "));   /* marked as cut */
    assert_int_equal(strchr(third, '^') - third, strchr(second, '@') - second);
    free(text);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signature_fields_types_descriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_statements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_calls_lists_judge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lm_data_optimize_import_tool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_from_header_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_reports_several_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_without_name_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_expressions_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_comment_only, setup, teardown),
        cmocka_unit_test(test_diagnostic_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
