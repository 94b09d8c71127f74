/* test_sema.c — semantic checks: what the checker accepts, and the errors
 * and warnings it reports (with their exact first lines). Programs that
 * read data or import files get them in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "sema.h"
#include "sema_int.h"

typedef struct fixture {
    arena a;
    diag d;
    char dir[64];
} fixture;

static void write_file(fixture *f, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    arena_init(&f->a);
    diag_init(&f->d, &f->a, NULL);
    strcpy(f->dir, "/tmp/dspcc-sema-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    write_file(f, "qa.jsonl", "{\"question\": \"q1\", \"answer\": \"a1\", \"label\": \"high\", \"aliases\": [\"a1\", \"A1\"]}\n"
                              "{\"question\": \"q2\", \"answer\": \"a2\", \"label\": \"low\"}\n");
    write_file(f, "qa.csv", "Question,answer,label\n\"What, then?\",a1,high\nq2,a2,medium\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    const char *names[] = { "qa.jsonl", "qa.csv", "bom.csv", "bad.csv", "a.dsp", "b.dsp", "main.dsp" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    arena_free(&f->a);
    free(f);
    return 0;
}

static ir_program *check(fixture *f, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/main.dsp", f->dir);
    source_file *src = source_from_string(&f->a, path, text, strlen(text));
    return sema_check_source(&f->a, &f->d, src);
}

/* The n-th diagnostic's line without the directory part of the path. */
static const char *msg(fixture *f, size_t i)
{
    if (i >= f->d.msgs.len)
        return "(none)";
    const char *line = ((diag_msg *)f->d.msgs.items[i])->line;
    size_t n = strlen(f->dir);
    return strncmp(line, f->dir, n) == 0 ? line + n + 1 : line;
}

#define QA_SIG "signature Answer \"Answer.\" { in question: string out answer: string }\n"
#define LEVEL_SIG "signature Level { in question: string out label: enum { low, high } }\n"

static void test_flow_through_if_and_repeat(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG LEVEL_SIG
        "signature Refine { in question: string in draft: optional<string> out answer: string }\n"
        "module M(question: string) -> (answer: string) {\n"
        "  l = predict(Level)(question: question)\n"
        "  if l.label == high {\n"
        "    a = chain_of_thought(Answer)(question: question)\n"
        "  } else {\n"
        "    a = chain_of_thought(Answer)(question: \"simple: \")\n"
        "  }\n"
        "  repeat 2 {\n"
        "    r = predict(Refine)(question: question, draft: a.answer)\n"
        "  }\n"
        "  r = predict(Refine)(question: question)\n"  /* optional input may be left out */
        "  return r\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    assert_int_equal(p->n_modules, 1);
    const ir_module *m = p->modules[0];
    assert_int_equal(m->n_vars, 3);           /* l, a, r: one each */
    assert_int_equal(m->n_predictors, 5);     /* one per call site */
    assert_string_equal(m->predictors[1]->name, "M.a");
    assert_string_equal(m->predictors[2]->name, "M.a_2");
    assert_string_equal(m->predictors[4]->name, "M.r_2");
}

static void test_type_compatibility(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f,
        "enum Small { a, b }\n"
        "signature Pick { in x: string out s: Small out n: int }\n"
        "signature Use { in big: enum { a, b, c } in text: string in f: float out y: string }\n"
        "module M(x: string) -> (y: string) {\n"
        "  p = predict(Pick)(x: x)\n"
        "  u = predict(Use)(big: p.s, text: p.s, f: p.n)\n"  /* subset enum, enum->string, int->float */
        "  return u\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    p = check(f,
        "signature Pick { in x: string out s: enum { a, b, z } }\n"
        "signature Use { in big: enum { a, b, c } out y: string }\n"
        "module M(x: string) -> (y: string) {\n"
        "  p = predict(Pick)(x: x)\n"
        "  u = predict(Use)(big: p.s)\n"
        "  return u\n"
        "}\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:5:25: error: cannot pass `p.s` (enum {a, b, z}) to "
                                   "input `big` of signature `Use`, which is enum {a, b, c}");
}

static void test_optional_output_into_required_input(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f,
        "signature A { in x: string out maybe: optional<string> }\n"
        "signature B { in need: string out y: string }\n"
        "module M(x: string) -> (y: string) {\n"
        "  a = predict(A)(x: x)\n"
        "  b = predict(B)(need: a.maybe)\n"
        "  return b\n"
        "}\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:5:24: error: cannot pass `a.maybe` (optional<string>) to "
                                   "input `need` of signature `B`, which is string");
}

static void test_duplicates_and_unused_are_warnings(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "signature Answer { in q: string out a: string }\n"
        "signature Unused { in q: string out a: string }\n"
        "module M(question: string) -> (answer: string) {\n"
        "  spare = predict(Answer)(question: question)\n"
        "  r = predict(Answer)(question: question)\n"
        "  return r\n"
        "}\n");
    assert_non_null(p);  /* warnings only */
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.warnings, 3);
    assert_string_equal(msg(f, 0), "main.dsp:2:11: warning: duplicate declaration of `Answer`; this one is ignored");
    assert_string_equal(msg(f, 1), "main.dsp:1:11: note: `Answer` is first declared here as a signature");
    assert_string_equal(msg(f, 2), "main.dsp:5:3: warning: `spare` is assigned but never used");
    assert_string_equal(msg(f, 3), "main.dsp:3:11: warning: signature `Unused` is declared but never used");
}

static void test_variable_keeps_one_shape(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG LEVEL_SIG
        "module M(question: string) -> (answer: string) {\n"
        "  r = predict(Level)(question: question)\n"
        "  r = predict(Answer)(question: question)\n"
        "  return r\n"
        "}\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:5:3: error: `r` already holds the result of another call; "
                                   "a variable keeps one shape, so use a new name");
}

static void test_module_calls_module_and_tool(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "tool char *search(const char *query, long k) from \"tools/libsearch.so\"\n"
        "module Inner(question: string) -> (answer: string) {\n"
        "  r = predict(Answer)(question: question)\n"
        "  return r\n"
        "}\n"
        "module Outer(question: string) -> (answer: string, passages: string) {\n"
        "  p = search(query: question, k: 3)\n"
        "  i = Inner(question: p)\n"
        "  return (answer: i.answer, passages: p)\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    assert_int_equal(p->n_modules, 2);
    assert_string_equal(p->modules[0]->name, "Inner");  /* callees first */
    assert_int_equal(p->n_tools, 1);
    assert_string_equal(p->tools[0]->library, "tools/libsearch.so");
    assert_int_equal(p->tools[0]->params[1].type->kind, IR_INT);
    /* a tool result is a single value */
    p = check(f, "tool char *search(const char *query) from \"x.so\"\n"
                 "module M(q: string) -> (a: string) {\n"
                 "  p = search(query: q)\n"
                 "  return (a: p.text)\n"
                 "}\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:4:16: error: `p` is the single result of a tool; write `p` without `.text`");
}

#define QA_MODULE QA_SIG \
    "module M(question: string) -> (answer: string) {\n" \
    "  r = predict(Answer)(question: question)\n" \
    "  return r\n" \
    "}\n" \
    "lm l = \"openai/gpt-4o-mini\"\n"

static void test_metric_judge_and_tool(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_MODULE
        "signature Grade { in question: string in answer: string in gold: string out correct: bool out score: float }\n"
        "tool double overlap(const char *a, const char *b) from \"libm.so\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = 0.5 * judge(Grade, lm: l)(question: ex.question, answer: pred.answer, gold: ex.answer).correct\n"
        "  + 0.5 * overlap(pred.answer, ex.answer)\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    assert_int_equal(p->n_metrics, 1);
    const ir_expr *e = p->metrics[0]->expr;
    assert_int_equal(e->kind, IR_E_BINARY);
    const ir_expr *judge = e->args[0].value->args[1].value;
    assert_int_equal(judge->kind, IR_E_JUDGE);
    assert_string_equal(judge->field, "correct");
    assert_string_equal(judge->judge_lm->name, "l");
    assert_int_equal(judge->n_args, 3);
    const ir_expr *tool = e->args[1].value->args[1].value;
    assert_int_equal(tool->kind, IR_E_TOOL);
    assert_string_equal(tool->tool->name, "overlap");
}

static void test_metric_field_checks(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_MODULE
        "data train = jsonl(\"qa.jsonl\") { question -> question }\n"
        "metric m(ex, pred) = exact_match(pred.answer, ex.answer)\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:8:50: error: metric reads `ex.answer`, but data set `train` "
                                   "provides no field `answer`; map a column to it: `{ column -> answer }`");
    arena_free(&f->a);
    diag_init(&f->d, &f->a, NULL);
    p = check(f, QA_MODULE
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = pred.question == ex.question\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:8:27: error: metric reads `pred.question`, but `question` is "
                                   "an input of module `M`, not a result it produces; read it from `ex.question`");
}

static void test_metric_reads_extra_gold_fields(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_MODULE
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = pred.answer in ex.aliases\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    const ir_expr *in = p->metrics[0]->expr;
    const ir_expr *aliases = in->args[1].value;
    assert_string_equal(aliases->field, "aliases");
    assert_int_equal(aliases->type->kind, IR_LIST);  /* typed from the data's first record */
    arena_free(&f->a);
    diag_init(&f->d, &f->a, NULL);
    p = check(f, QA_MODULE
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = pred.answer in ex.alias\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:8:40: error: metric reads `ex.alias`, but examples of module "
                                   "`M` have no field `alias`; did you mean `aliases`?");
}

static void test_csv_mapping_and_enum_values(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, LEVEL_SIG
        "module M(question: string) -> (label: enum { low, high }) {\n"
        "  r = predict(Level)(question: question)\n"
        "  return r\n"
        "}\n"
        "lm l = \"anthropic/claude-3-5-haiku\"\n"
        "data train = csv(\"qa.csv\") { Question -> question, label -> label }\n"
        "metric m(ex, pred) = pred.label == ex.label\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:9:57: error: data `train` (qa.csv line 3): `label` is "
                                   "\"medium\", which is not a value of enum {low, high}");
    arena_free(&f->a);
    diag_init(&f->d, &f->a, NULL);
    p = check(f, LEVEL_SIG
        "module M(question: string) -> (label: enum { low, high }) {\n"
        "  r = predict(Level)(question: question)\n"
        "  return r\n"
        "}\n"
        "lm l = \"anthropic/claude-3-5-haiku\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = pred.label == ex.label and \"high\" == pred.label\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    assert_string_equal(p->lms[0]->api_key_env, "ANTHROPIC_API_KEY");
    assert_string_equal(p->data[0]->path, "qa.jsonl");
    assert_int_equal(p->data[0]->n_columns, 4);
}

/* The checker reads CSV as the loader does (datafile.c): a byte order mark
 * is not part of the first column, CRLF ends records, a quoted cell may
 * span lines, blank lines are skipped, and lines are counted in the file;
 * a malformed file is a check error naming file:line. */
static void test_csv_read_like_the_loader(void **state)
{
    fixture *f = *state;
    write_file(f, "bom.csv", "\xEF\xBB\xBFQuestion,answer,label\r\n\"two\r\nlines\",a1,high\r\n\r\nq3,a3,medium\r\n");
    ir_program *p = check(f, LEVEL_SIG
        "module M(question: string) -> (label: enum { low, high }) {\n"
        "  r = predict(Level)(question: question)\n"
        "  return r\n"
        "}\n"
        "lm l = \"anthropic/claude-3-5-haiku\"\n"
        "data train = csv(\"bom.csv\") { Question -> question, label -> label }\n"
        "metric m(ex, pred) = pred.label == ex.label\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_null(p);
    assert_int_equal(f->d.errors, 1);
    assert_string_equal(msg(f, 0), "main.dsp:9:57: error: data `train` (bom.csv line 5): `label` is "
                                   "\"medium\", which is not a value of enum {low, high}");
    arena_free(&f->a);
    diag_init(&f->d, &f->a, NULL);
    write_file(f, "bad.csv", "Question,\"label\nlabel");
    p = check(f, LEVEL_SIG
        "module M(question: string) -> (label: enum { low, high }) {\n"
        "  r = predict(Level)(question: question)\n"
        "  return r\n"
        "}\n"
        "data train = csv(\"bad.csv\") { Question -> question }\n");
    assert_null(p);
    assert_non_null(strstr(msg(f, 0), "bad.csv:1: a quoted cell is never closed"));
}

static void test_lm_options(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f,
        "lm local = \"compatible/qwen\" { base_url: \"http://127.0.0.1:8080/v1\", temperature: 1, "
        "top_p: 0.9, api_key_env: \"LOCAL_KEY\" }\n"
        "lm bad = \"openai/gpt-4o\" { api_key_env: \"my key\" }\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:2:41: error: api_key_env must be the NAME of an environment "
                                   "variable, like \"OPENAI_API_KEY\" (letters, digits, `_`); got \"my key\"");
    arena_free(&f->a);
    diag_init(&f->d, &f->a, NULL);
    p = check(f, "lm local = \"compatible/qwen\" { base_url: \"http://127.0.0.1:8080/v1\", "
                 "temperature: 1, top_p: 0.9, api_key_env: \"LOCAL_KEY\" }\n");
    assert_non_null(p);
    const ir_lm *lm = p->lms[0];
    assert_string_equal(lm->provider, "compatible");
    assert_string_equal(lm->base_url, "http://127.0.0.1:8080/v1");
    assert_string_equal(lm->api_key_env, "LOCAL_KEY");
    assert_int_equal(lm->n_params, 2);
    assert_string_equal(lm->params[0].key, "temperature");  /* sorted */
    assert_true(lm->params[0].f == 1.0);
    assert_string_equal(lm->params[1].key, "top_p");
}

static void test_imports_and_cycles(void **state)
{
    fixture *f = *state;
    write_file(f, "a.dsp", "import \"b.dsp\"\n" QA_SIG);
    write_file(f, "b.dsp", "import \"a.dsp\"\n");
    ir_program *p = check(f, "import \"a.dsp\"\n"
                             "module M(question: string) -> (answer: string) {\n"
                             "  r = predict(Answer)(question: question)\n"
                             "  return r\n"
                             "}\n");
    assert_null(p);
    assert_non_null(strstr(msg(f, 0), "error: import cycle: `a.dsp` imports itself through"));
    arena_free(&f->a);
    diag_init(&f->d, &f->a, NULL);
    write_file(f, "b.dsp", "signature Unused { in q: string out a: string }\n");
    p = check(f, "import \"a.dsp\"\n"
                 "module M(question: string) -> (answer: string) {\n"
                 "  r = predict(Answer)(question: question)\n"
                 "  return r\n"
                 "}\n");
    assert_non_null(p);
    assert_int_equal(f->d.warnings, 0);  /* unused imported declarations are fine */
    assert_string_equal(ir_signature_find(p, "Answer")->loc.file, "a.dsp");
    assert_string_equal(ir_signature_find(p, "Unused")->loc.file, "b.dsp");
}

static void test_paths_and_suggestions(void **state)
{
    fixture *f = *state;
    arena *a = &f->a;
    assert_string_equal(sema_path_join(a, "", "data/train.jsonl"), "data/train.jsonl");
    assert_string_equal(sema_path_join(a, "lib", "../data/./x.csv"), "data/x.csv");
    assert_string_equal(sema_path_join(a, "a/b", "../../../up.jsonl"), "../up.jsonl");
    assert_string_equal(sema_path_join(a, "lib", "/abs//p.jsonl"), "/abs/p.jsonl");
    assert_string_equal(sema_path_join(a, "/", "../etc"), "/etc");
    assert_string_equal(sema_path_join(a, "x", ".."), ".");
    const char *names[] = { "category", "reasoning", "ticket_text" };
    assert_string_equal(diag_suggest("categroy", names, 3), "category");
    assert_string_equal(diag_suggest("ticket_txt", names, 3), "ticket_text");
    assert_null(diag_suggest("zzz", names, 3));       /* nothing close: no guess */
    assert_null(diag_suggest("a", names, 3));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_flow_through_if_and_repeat),
        T(test_type_compatibility),
        T(test_optional_output_into_required_input),
        T(test_duplicates_and_unused_are_warnings),
        T(test_variable_keeps_one_shape),
        T(test_module_calls_module_and_tool),
        T(test_metric_judge_and_tool),
        T(test_metric_field_checks),
        T(test_metric_reads_extra_gold_fields),
        T(test_csv_mapping_and_enum_values),
        T(test_csv_read_like_the_loader),
        T(test_lm_options),
        T(test_imports_and_cycles),
        T(test_paths_and_suggestions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
