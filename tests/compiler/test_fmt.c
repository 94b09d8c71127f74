/* test_fmt.c — `dspcc fmt`'s layout: each construct in its canonical form,
 * comments kept where they were, strings and numbers byte for byte, the
 * author's parentheses, and formatting twice changing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "parse.h"

/* Formats text; fails the test on a syntax or formatter error. The result
 * is freed by the next call or by fmt_done. */
static char *last;

static char *fmt_once(const char *text)
{
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, NULL);
    source_file *src = source_from_string(&a, "t.dsp", text, strlen(text));
    ast_file *file = parse_source(&a, &d, src);
    if (d.errors) {
        fprintf(stderr, "syntax error: %s\n", ((diag_msg *)d.msgs.items[0])->line);
        arena_free(&a);
        fail();
    }
    char *out = NULL;
    size_t len = 0;
    int rc = fmt_file(&a, &d, file, &out, &len);
    if (rc != 0)
        fprintf(stderr, "%s\n", ((diag_msg *)d.msgs.items[0])->line);
    arena_free(&a);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(out), len);
    return out;
}

/* Formats, checks that formatting the result again changes nothing, and
 * returns the result. */
static const char *fmt(const char *text)
{
    free(last);
    last = fmt_once(text);
    char *again = fmt_once(last);
    if (strcmp(again, last) != 0)
        fprintf(stderr, "not idempotent:\n--- once\n%s--- twice\n%s", last, again);
    int same = strcmp(again, last) == 0;
    free(again);
    assert_true(same);
    return last;
}

static int fmt_done(void **state)
{
    (void)state;
    free(last);
    last = NULL;
    return 0;
}

#define FMT_EQ(in, want) assert_string_equal(fmt(in), want)

static void test_lm_block_one_option_a_line(void **state)
{
    (void)state;
    FMT_EQ("lm a=\"openai/gpt-4o-mini\"{temperature:0.0,max_tokens:512 api_key_env:\"K\",}",
           "lm a = \"openai/gpt-4o-mini\" {\n"
           "  temperature: 0.0\n"
           "  max_tokens: 512\n"
           "  api_key_env: \"K\"\n"
           "}\n");
    FMT_EQ("lm a = \"x/y\"", "lm a = \"x/y\"\n");
    FMT_EQ("lm a = \"x/y\" { }", "lm a = \"x/y\" {}\n");
    FMT_EQ("lm a = \"x/y\" { retries: - 2 }", "lm a = \"x/y\" {\n  retries: -2\n}\n");
}

static void test_import_and_enum(void **state)
{
    (void)state;
    FMT_EQ("import   \"lib.dsp\"\nenum E{a,b,c,}",
           "import \"lib.dsp\"\nenum E { a, b, c }\n");
    /* Too long for one line: one value a line, each with its comma. */
    FMT_EQ("enum Long { alpha_alpha_alpha, beta_beta_beta_beta, gamma_gamma_gamma_gamma, "
           "delta_delta_delta_delta }",
           "enum Long {\n"
           "  alpha_alpha_alpha,\n"
           "  beta_beta_beta_beta,\n"
           "  gamma_gamma_gamma_gamma,\n"
           "  delta_delta_delta_delta,\n"
           "}\n");
}

static void test_signature_fields_aligned_by_group(void **state)
{
    (void)state;
    FMT_EQ("signature S \"Do it.\" {in q:string \"the question\" out answer : list<string> \"a\"\n"
           "out n: int\n"
           "\n"
           "out level:enum{low,high}  \"how much\" }",
           "signature S \"Do it.\" {\n"
           "  in  q: string             \"the question\"\n"
           "  out answer: list<string>  \"a\"\n"
           "  out n: int\n"
           "\n"
           "  out level: enum { low, high }  \"how much\"\n"
           "}\n");
    FMT_EQ("signature S {}", "signature S {}\n");
}

static void test_tool_declarations(void **state)
{
    (void)state;
    FMT_EQ("tool char*  *  f(const char * a , long b) from \"lib.so\"",
           "tool char **f(const char *a, long b) from \"lib.so\"\n");
    /* An array parameter keeps its brackets, against its name. */
    FMT_EQ("tool long f(const char * xs [ ] , size_t n_xs) from \"lib.so\"",
           "tool long f(const char *xs[], size_t n_xs) from \"lib.so\"\n");
    FMT_EQ("tool double now( void )from \"t.so\"", "tool double now(void) from \"t.so\"\n");
    /* Too long: one parameter a line, no trailing comma (C has none). */
    FMT_EQ("tool char *search_documents(const char *query, long k, const char *corpus, "
           "double threshold) from \"build/libsearch.so\"",
           "tool char *search_documents(\n"
           "  const char *query,\n"
           "  long k,\n"
           "  const char *corpus,\n"
           "  double threshold\n"
           ") from \"build/libsearch.so\"\n");
    FMT_EQ("tool search  from \"lib.so\"   header \"search.h\"",
           "tool search from \"lib.so\" header \"search.h\"\n");
}

static void test_module_statements(void **state)
{
    (void)state;
    FMT_EQ("module M(q:string,)->(r:string){a=predict(S)(q:q,)\n"
           "repeat 3 { b = M(q: a.r) }\n"
           "if a.r == \"x\" { return a } else if a.n != -3 { return (r: \"y\") } "
           "else { return (r:q) } }",
           "module M(q: string) -> (r: string) {\n"
           "  a = predict(S)(q: q)\n"
           "  repeat 3 {\n"
           "    b = M(q: a.r)\n"
           "  }\n"
           "  if a.r == \"x\" {\n"
           "    return a\n"
           "  } else if a.n != -3 {\n"
           "    return (r: \"y\")\n"
           "  } else {\n"
           "    return (r: q)\n"
           "  }\n"
           "}\n");
}

static void test_module_long_header_and_call(void **state)
{
    (void)state;
    /* The arrow moves to a continuation line when that is enough. */
    FMT_EQ("module Extractor(question: string, context: string) -> (spans: list<string>, "
           "topic: optional<string>) { e = predict(X)(question: question, context: context) "
           "return e }",
           "module Extractor(question: string, context: string)\n"
           "    -> (spans: list<string>, topic: optional<string>) {\n"
           "  e = predict(X)(question: question, context: context)\n"
           "  return e\n"
           "}\n");
    /* Else results (and calls) get one item a line, with trailing commas. */
    FMT_EQ("module M(t: string) -> (answer_text: string, tags: list<string>, score: float, "
           "count: int, ok: bool, topic: optional<string>) {\n"
           "a = predict(Answer)(text: t, note: \"a fairly long note about it\", budget: 3, "
           "strict: true, ratio: 0.25)\n return a }",
           "module M(t: string) -> (\n"
           "  answer_text: string,\n"
           "  tags: list<string>,\n"
           "  score: float,\n"
           "  count: int,\n"
           "  ok: bool,\n"
           "  topic: optional<string>,\n"
           ") {\n"
           "  a = predict(Answer)(\n"
           "    text: t,\n"
           "    note: \"a fairly long note about it\",\n"
           "    budget: 3,\n"
           "    strict: true,\n"
           "    ratio: 0.25,\n"
           "  )\n"
           "  return a\n"
           "}\n");
}

static void test_metric_layouts(void **state)
{
    (void)state;
    FMT_EQ("metric m(ex,pred)=exact_match(pred.a,ex.a)",
           "metric m(ex, pred) = exact_match(pred.a, ex.a)\n");
    /* Operators spaced, unary `not` and `-`, lists, named arguments. */
    FMT_EQ("metric m(ex,pred)=not pred.ok and -pred.x<=2 or pred.l in [1,2,] or f(x:1,)",
           "metric m(ex, pred) = not pred.ok and -pred.x <= 2 or pred.l in [1, 2] or f(x: 1)\n");
    /* Long: a chain of one operator level, one operand a line. */
    FMT_EQ("metric extraction_score(ex, pred) = 0.8 * f1(pred.spans, ex.spans) + 0.2 * "
           "exact_match(pred.topic, ex.topic) - (0.1 * pred.confidence) * "
           "(f1(pred.spans, ex.spans) < 0.5)",
           "metric extraction_score(ex, pred) =\n"
           "    0.8 * f1(pred.spans, ex.spans)\n"
           "  + 0.2 * exact_match(pred.topic, ex.topic)\n"
           "  - (0.1 * pred.confidence) * (f1(pred.spans, ex.spans) < 0.5)\n");
    FMT_EQ("metric a_rather_long_metric_name(ex, pred) = exact_match(pred.category, "
           "ex.category) or f1(pred.x, ex.x)",
           "metric a_rather_long_metric_name(ex, pred) =\n"
           "    exact_match(pred.category, ex.category) or f1(pred.x, ex.x)\n");
    FMT_EQ("metric m(ex, pred) = f1(pred.answer_with_a_long_name, ex.answer_with_a_long_name) "
           "and exact_match(pred.x, ex.x) and pred.confidence > 0.5",
           "metric m(ex, pred) =\n"
           "    f1(pred.answer_with_a_long_name, ex.answer_with_a_long_name)\n"
           "    and exact_match(pred.x, ex.x)\n"
           "    and pred.confidence > 0.5\n");
    /* `or` and two-character operators do not reach column 0 or 1 either. */
    FMT_EQ("metric m(ex, pred) = f1(pred.answer_with_a_long_name, ex.answer_with_a_long_name) "
           "or exact_match(pred.x, ex.x) or pred.confidence > 0.5",
           "metric m(ex, pred) =\n"
           "    f1(pred.answer_with_a_long_name, ex.answer_with_a_long_name)\n"
           "    or exact_match(pred.x, ex.x)\n"
           "    or pred.confidence > 0.5\n");
}

static void test_parentheses_as_written(void **state)
{
    (void)state;
    /* Redundant parentheses stay: they are the author's grouping. */
    FMT_EQ("metric m(ex,pred)=((a))+(b*c)*(  d  )", "metric m(ex, pred) = ((a)) + (b * c) * (d)\n");
    FMT_EQ("metric m(ex,pred)=(f)(x)+[a](1)", "metric m(ex, pred) = (f)(x) + [a](1)\n");
    FMT_EQ("metric m(ex,pred)=f((a),((b)))", "metric m(ex, pred) = f((a), ((b)))\n");
    FMT_EQ("metric m(ex,pred)=not(a or b)", "metric m(ex, pred) = not (a or b)\n");
}

static void test_data_and_optimize(void **state)
{
    (void)state;
    FMT_EQ("data train=jsonl(\"data/train.jsonl\")\ndata dev   = csv(\"d.csv\"){text->q,\"a b\"->r,}",
           "data train = jsonl(\"data/train.jsonl\")\n"
           "data dev = csv(\"d.csv\") { text -> q, \"a b\" -> r }\n");
    /* Too long: one mapping a line, arrows aligned, no commas. */
    FMT_EQ("data train = jsonl(\"data/train.jsonl\") { question -> question, context -> context, "
           "answers -> spans, title -> topic }",
           "data train = jsonl(\"data/train.jsonl\") {\n"
           "  question -> question\n"
           "  context  -> context\n"
           "  answers  -> spans\n"
           "  title    -> topic\n"
           "}\n");
    FMT_EQ("optimize M with mipro(auto:light num_trials:12){metric:m,trainset:t lm:a seed:7}",
           "optimize M with mipro(auto: light, num_trials: 12) {\n"
           "  metric: m\n"
           "  trainset: t\n"
           "  lm: a\n"
           "  seed: 7\n"
           "}\n");
    FMT_EQ("optimize M with bootstrap_fewshot() { metric: m }",
           "optimize M with bootstrap_fewshot() {\n  metric: m\n}\n");
}

static void test_strings_and_numbers_byte_for_byte(void **state)
{
    (void)state;
    /* Escapes, non-ASCII text and number spellings are the source's. */
    FMT_EQ("lm a = \"x/y\" { note: \"tab\\there \\\"q\\\" back\\\\slash \\n é\" t: 0.50 "
           "big: 1e3 neg: -2.5e-1 }",
           "lm a = \"x/y\" {\n"
           "  note: \"tab\\there \\\"q\\\" back\\\\slash \\n é\"\n"
           "  t: 0.50\n"
           "  big: 1e3\n"
           "  neg: -2.5e-1\n"
           "}\n");
    /* Adjacent literals: parts on one line stay on it; a part on a new
     * line stays on a continuation line. */
    FMT_EQ("signature S \"one \"   \"two \"\n        \"three\" { out a: string }",
           "signature S \"one \" \"two \"\n"
           "    \"three\" {\n"
           "  out a: string\n"
           "}\n");
}

static void test_comments_kept_in_place(void **state)
{
    (void)state;
    FMT_EQ("// head\n"
           "\n"
           "\n"
           "\n"
           "import \"x.dsp\"   // after the import\n"
           "/* before lm */ lm a = \"x/y\" { temperature: 0.0, // trails the option\n"
           "// own line in the block\n"
           "max_tokens: 5\n"
           "    // last in the block\n"
           "}\n"
           "// the end\n",
           "// head\n"
           "\n"
           "import \"x.dsp\" // after the import\n"
           "/* before lm */\n"
           "lm a = \"x/y\" {\n"
           "  temperature: 0.0 // trails the option\n"
           "  // own line in the block\n"
           "  max_tokens: 5\n"
           "  // last in the block\n"
           "}\n"
           "// the end\n");
    /* Inside an expression: a block comment stays inline; a line comment
     * ends its line and the expression continues below. */
    FMT_EQ("metric m(ex, pred) = a /* why */ + b", "metric m(ex, pred) = a /* why */ + b\n");
    FMT_EQ("metric m(ex, pred) = f(a, // the first\n b)",
           "metric m(ex, pred) =\n    f(a, // the first\n    b)\n");
    FMT_EQ("enum F {\n  x, // first\n  y\n}\n", "enum F {\n  x, // first\n  y,\n}\n");
    /* A comment between `}` and `else` puts `else` on its own line. */
    FMT_EQ("module M(q: string) -> (a: string) {\n"
           "  if q == \"x\" { // yes\n"
           "    return (a: q)\n"
           "  } // after then\n"
           "  else { return (a: \"n\") }\n"
           "}\n",
           "module M(q: string) -> (a: string) {\n"
           "  if q == \"x\" { // yes\n"
           "    return (a: q)\n"
           "  } // after then\n"
           "  else {\n"
           "    return (a: \"n\")\n"
           "  }\n"
           "}\n");
    /* A multi-line block comment is kept as written. */
    FMT_EQ("module M(q: string) -> (a: string) {\n"
           "/* one\n"
           "   two */\n"
           "  r = predict(S)(q: q)\n"
           "\n"
           "\n"
           "  return r  // done\n"
           "}",
           "module M(q: string) -> (a: string) {\n"
           "  /* one\n"
           "   two */\n"
           "  r = predict(S)(q: q)\n"
           "\n"
           "  return r // done\n"
           "}\n");
}

static void test_line_comment_breaks_a_list(void **state)
{
    (void)state;
    /* A // comment cannot stay inside a one-line list: the list is broken
     * and the comment stays after its item. */
    FMT_EQ("module M(q: string) -> (a: string) {\n"
           "  a = predict(S)(q: q, // the q\n"
           " r: r)\n"
           "  return a\n"
           "}\n"
           "metric m(ex, pred) = // why\n"
           "  a + b\n",
           "module M(q: string) -> (a: string) {\n"
           "  a = predict(S)(\n"
           "    q: q, // the q\n"
           "    r: r,\n"
           "  )\n"
           "  return a\n"
           "}\n"
           "metric m(ex, pred) = // why\n"
           "    a + b\n");
}

/* The printer walks the tree in step with the file's tokens; a tree that
 * does not belong to the text is an internal error, not a wrong file. */
static void test_out_of_step_is_refused(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d, &a, NULL);
    const char *one = "lm a = \"x/y\"\n", *other = "enum E { a }\n";
    ast_file *file = parse_source(&a, &d, source_from_string(&a, "t.dsp", one, strlen(one)));
    assert_int_equal(d.errors, 0);
    file->src = source_from_string(&a, "t.dsp", other, strlen(other));
    char *out = (char *)"unchanged";
    size_t len = 7;
    assert_int_equal(fmt_file(&a, &d, file, &out, &len), -1);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(((diag_msg *)d.msgs.items[0])->text, "internal error"));
    arena_free(&a);
}

static void test_blank_lines_between_declarations(void **state)
{
    (void)state;
    /* At most one empty line is kept; none is added. */
    FMT_EQ("lm a = \"x/y\"\n\n\n\nlm b = \"x/y\"\nlm c = \"x/y\"\n",
           "lm a = \"x/y\"\n\nlm b = \"x/y\"\nlm c = \"x/y\"\n");
}

static void test_empty_and_comment_only_files(void **state)
{
    (void)state;
    FMT_EQ("", "");
    FMT_EQ("  \n\n", "");
    FMT_EQ("\n\n// only a comment   \n\n", "// only a comment\n");
    /* CRLF line ends become LF, also after // comments. */
    FMT_EQ("// one\r\nlm a = \"x/y\" // two\r\n", "// one\nlm a = \"x/y\" // two\n");
}

static void test_deep_and_long_expressions(void **state)
{
    (void)state;
    /* A long chain and deep parentheses format without trouble. */
    size_t n = 150;
    char *src = malloc(64 + n * 16);
    char *want = malloc(64 + n * 16);
    assert_non_null(src);
    assert_non_null(want);
    char *s = src, *w = want;
    s += sprintf(s, "metric m(ex,pred)=x0");
    w += sprintf(w, "metric m(ex, pred) =\n    x0");
    for (size_t i = 1; i < n; i++) {
        s += sprintf(s, "+x%zu", i);
        w += sprintf(w, "\n  + x%zu", i);
    }
    sprintf(w, "\n");
    FMT_EQ(src, want);
    s = src;
    s += sprintf(s, "metric m(ex,pred)=");
    for (int i = 0; i < 60; i++)
        *s++ = '(';
    *s++ = 'a';
    for (int i = 0; i < 60; i++)
        *s++ = ')';
    *s = '\0';
    const char *out = fmt(src);
    assert_non_null(strstr(out, "((((a))))"));
    free(src);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lm_block_one_option_a_line, fmt_done),
        cmocka_unit_test_teardown(test_import_and_enum, fmt_done),
        cmocka_unit_test_teardown(test_signature_fields_aligned_by_group, fmt_done),
        cmocka_unit_test_teardown(test_tool_declarations, fmt_done),
        cmocka_unit_test_teardown(test_module_statements, fmt_done),
        cmocka_unit_test_teardown(test_module_long_header_and_call, fmt_done),
        cmocka_unit_test_teardown(test_metric_layouts, fmt_done),
        cmocka_unit_test_teardown(test_parentheses_as_written, fmt_done),
        cmocka_unit_test_teardown(test_data_and_optimize, fmt_done),
        cmocka_unit_test_teardown(test_strings_and_numbers_byte_for_byte, fmt_done),
        cmocka_unit_test_teardown(test_comments_kept_in_place, fmt_done),
        cmocka_unit_test_teardown(test_line_comment_breaks_a_list, fmt_done),
        cmocka_unit_test(test_out_of_step_is_refused),
        cmocka_unit_test_teardown(test_blank_lines_between_declarations, fmt_done),
        cmocka_unit_test_teardown(test_empty_and_comment_only_files, fmt_done),
        cmocka_unit_test_teardown(test_deep_and_long_expressions, fmt_done),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
