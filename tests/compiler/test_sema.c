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
    const char *names[] = { "qa.jsonl", "qa.csv", "bom.csv", "bad.csv", "a.dsp", "b.dsp", "main.dsp",
                            "tools.h" };
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

/* A metric no optimize block uses is checked against every module, so
 * `dspcc eval --metric` can use it; one that fits none is a warning. */
static void test_unused_metric_fits_the_last_module(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "module M(question: string) -> (answer: string) {\n"
        "  r = predict(Answer)(question: question)\n"
        "  return r\n"
        "}\n"
        "metric fits(ex, pred) = f1(pred.answer, ex.answer)\n"
        "metric misfit(ex, pred) = pred.nope == 1\n");
    assert_non_null(p);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.warnings, 1);
    assert_string_equal(msg(f, 0), "main.dsp:7:8: warning: metric `misfit` is never used by an `optimize` "
                                   "block, and it does not fit module `M`:");
    /* Why, at its place (it said "use it in an `optimize` block to see why"). */
    assert_string_equal(msg(f, 1), "main.dsp:7:32: note: metric reads `pred.nope`, but module `M` produces "
                                   "no field `nope`");
    assert_int_equal(p->n_metrics, 1);
    assert_string_equal(p->metrics[0]->name, "fits");
    assert_string_equal(p->metrics[0]->module, "M");
}

/* ... also a module other than the last: `dspcc eval --module First` can
 * be scored with it (it was checked against the last module only, and eval
 * then said the program had no such metric). */
static void test_unused_metric_fits_any_module(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "module First(question: string) -> (answer: string) {\n"
        "  r = predict(Answer)(question: question)\n"
        "  return r\n"
        "}\n"
        "module Last(question: string) -> (reply: string) {\n"
        "  r = predict(Answer)(question: question)\n"
        "  return (reply: r.answer)\n"
        "}\n"
        "metric on_answer(ex, pred) = f1(pred.answer, ex.answer)\n"
        "metric on_nothing(ex, pred) = pred.nope == 1\n");
    assert_non_null(p);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.warnings, 1);
    assert_string_equal(msg(f, 0), "main.dsp:11:8: warning: metric `on_nothing` is never used by an "
                                   "`optimize` block, and it does not fit any module, such as `Last`:");
    assert_string_equal(msg(f, 1), "main.dsp:11:36: note: metric reads `pred.nope`, but module `Last` "
                                   "produces no field `nope`");
    assert_int_equal(p->n_metrics, 1);
    assert_string_equal(p->metrics[0]->name, "on_answer");
    assert_string_equal(p->metrics[0]->module, "First");
}

/* A program without optimize blocks runs on its first lm and is scored on
 * its data sets (`dspcc eval --data dev`): neither is "never used". A
 * second lm is. */
static void test_first_lm_and_data_of_a_program_without_optimize(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "module M(question: string) -> (answer: string) {\n"
        "  r = predict(Answer)(question: question)\n"
        "  return r\n"
        "}\n"
        "lm task = \"openai/gpt-4o-mini\"\n"
        "lm spare = \"openai/gpt-4o-mini\"\n"
        "data dev = jsonl(\"qa.jsonl\")\n");
    assert_non_null(p);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.warnings, 1);
    assert_string_equal(msg(f, 0), "main.dsp:7:4: warning: lm `spare` is declared but never used");
}

/* The step's instructions list each tool with its comment as a sentence:
 * a comment's own full stop ends it (it read "the query.. Arguments"). */
static void test_react_tool_list_has_one_full_stop(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "// Finds passages that share words with the query.\n"
        "tool char *search(const char *query, int64_t k) from \"libtools.so\"\n"
        "// Looks up one article by its exact title\n"
        "tool char *lookup(const char *title) from \"libtools.so\"\n"
        "module M(question: string) -> (answer: string) {\n"
        "  r = react(Answer, tools: [search, lookup])(question: question)\n"
        "  return (answer: r.answer)\n"
        "}\n");
    assert_non_null(p);
    const char *ins = p->modules[0]->predictors[0]->signature->instructions;
    assert_non_null(strstr(ins, "(1) search: Finds passages that share words with the query. Arguments: "));
    assert_non_null(strstr(ins, "(2) lookup: Looks up one article by its exact title. Arguments: "));
    assert_null(strstr(ins, ".."));
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

/* A parameter named like a value of the enum it is compared with: the
 * parameter wins, silently before; now a warning says how to write the
 * value. A string literal is the value and warns of nothing. */
static void test_param_named_like_enum_value(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, LEVEL_SIG
        "module M(question: string, high: string) -> (label: enum { low, high }) {\n"
        "  r = predict(Level)(question: question)\n"
        "  if r.label == high {\n"
        "    r = predict(Level)(question: high)\n"
        "  } else if r.label == \"high\" {\n"
        "    r = predict(Level)(question: question)\n"
        "  }\n"
        "  return r\n"
        "}\n");
    assert_non_null(p);
    assert_int_equal(f->d.errors, 0);
    assert_int_equal(f->d.warnings, 1);
    assert_string_equal(msg(f, 0), "main.dsp:4:17: warning: `high` is both a parameter and a value of enum "
                                   "{low, high}; it reads the parameter here: write \"high\" for the value, "
                                   "or rename the parameter");
}

/* A branch that gives the variable another shape is the one error: after
 * the `if` the variable is still known (no "unknown name" on each read,
 * no "never used" warning). */
static void test_variable_shape_in_branch_no_cascade(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, QA_SIG
        "module M(question: string) -> (answer: string) {\n"
        "  if question == \"x\" {\n"
        "    a = predict(Answer)(question: question)\n"
        "  } else {\n"
        "    a = chain_of_thought(Answer)(question: question)\n"
        "  }\n"
        "  b = predict(Answer)(question: a.answer)\n"
        "  return (answer: b.answer)\n"
        "}\n");
    assert_null(p);
    assert_string_equal(msg(f, 0), "main.dsp:6:5: error: `a` already holds the result of another call; "
                                   "a variable keeps one shape, so use a new name");
    assert_string_equal(msg(f, 1), "main.dsp:4:5: note: `a` is first assigned here");
    assert_int_equal(f->d.errors, 1);
    assert_int_equal(f->d.warnings, 0);
    assert_string_equal(msg(f, 2), "(none)");
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
    static const char *const lm_opts[] = { "tpm", "temperature", "top_p", "timeout_ms" };
    assert_string_equal(diag_suggest("temp", lm_opts, 4), "temperature"); /* cut short, not `tpm` */
    assert_string_equal(diag_suggest("tmp", lm_opts, 4), "tpm");
    assert_string_equal(diag_suggest("timeout", lm_opts, 4), "timeout_ms");
    assert_null(diag_suggest("a", names, 3));
}


/* ---- tools that pass lists and write results through pointers ---- */

/* Checks text from scratch: diagnostics of an earlier check are dropped. */
static ir_program *recheck(fixture *f, const char *text)
{
    diag_init(&f->d, &f->a, NULL);
    return check(f, text);
}

static const ir_tool_param *param(const ir_tool *t, const char *name)
{
    for (size_t i = 0; i < t->n_params; i++)
        if (strcmp(t->params[i].name, name) == 0)
            return &t->params[i];
    fail_msg("tool %s has no parameter %s", t->name, name);
    return NULL;
}

static const ir_var *var(const ir_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_vars; i++)
        if (strcmp(m->vars[i].name, name) == 0)
            return &m->vars[i];
    fail_msg("module %s has no variable %s", m->name, name);
    return NULL;
}

static void expect_param(const ir_tool *t, const char *name, ir_param_role role, const char *ctype,
                         const char *elem_ctype, const char *type)
{
    const ir_tool_param *p = param(t, name);
    char buf[128];
    assert_int_equal(p->role, role);
    assert_string_equal(p->ctype, ctype);
    if (elem_ctype)
        assert_string_equal(p->elem_ctype, elem_ctype);
    else
        assert_null(p->elem_ctype);
    if (type)
        assert_string_equal(ir_type_str(p->type, buf, sizeof buf), type);
    else
        assert_null(p->type);
}

static void test_tool_list_inputs(void **state)
{
    fixture *f = *state;
    ir_program *p = recheck(f,
        "tool long pick(const char *const *words, size_t n_words, const int64_t *ids, size_t ids_len,\n"
        "               const double *scores, size_t scores_count, const bool *flags, size_t n_flags,\n"
        "               const char **more, size_t n_more, const char *sep) from \"x.so\"\n"
        "module M(words: list<string>, ids: list<int>, scores: list<float>, flags: list<bool>)\n"
        "    -> (n: int) {\n"
        "  k = pick(words: words, ids: ids, scores: scores, flags: flags, more: words, sep: \",\")\n"
        "  return (n: k)\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    const ir_tool *t = p->tools[0];
    assert_int_equal(t->n_params, 11);
    expect_param(t, "words", IR_PARAM_IN, "const char *const *", "const char *", "list<string>");
    expect_param(t, "n_words", IR_PARAM_LEN, "size_t", NULL, NULL);
    expect_param(t, "ids", IR_PARAM_IN, "const int64_t *", "int64_t", "list<int>");
    expect_param(t, "ids_len", IR_PARAM_LEN, "size_t", NULL, NULL);
    expect_param(t, "scores", IR_PARAM_IN, "const double *", "double", "list<float>");
    expect_param(t, "scores_count", IR_PARAM_LEN, "size_t", NULL, NULL);
    expect_param(t, "flags", IR_PARAM_IN, "const bool *", "bool", "list<bool>");
    expect_param(t, "more", IR_PARAM_IN, "const char **", "const char *", "list<string>");
    expect_param(t, "sep", IR_PARAM_IN, "const char *", NULL, "string");
    assert_int_equal(t->n_outputs, 0);
    assert_int_equal(t->ret_status, 0);
    assert_string_equal(t->c_return, "long");
    assert_int_equal(t->type->kind, IR_INT);
    /* The call binds the six inputs, in C order; k is a single value. */
    const ir_step *st = &p->modules[0]->steps[0];
    assert_int_equal(st->kind, IR_STEP_TOOL);
    assert_int_equal(st->n_bindings, 6);
    assert_string_equal(st->bindings[0].field, "words");
    assert_string_equal(st->bindings[5].field, "sep");
    const ir_var *k = var(p->modules[0], "k");
    assert_int_equal(k->n_fields, 0);
    assert_int_equal(k->type->kind, IR_INT);
    assert_int_equal(ir_var_slots(k), 1);
}

static void test_tool_outputs(void **state)
{
    fixture *f = *state;
    ir_program *p = recheck(f,
        "tool int all(const char *text, char **s, int64_t *i, double *x, bool *b,\n"
        "             char ***words, size_t *n_words, int64_t **ids, size_t *n_ids,\n"
        "             double **xs, size_t *xs_len, bool **bs, size_t *bs_count) from \"x.so\"\n"
        "tool void lens(const char *const *words, size_t n_words, uint32_t **lens, size_t *n_lens) from \"x.so\"\n"
        "module M(text: string) -> (s: string, n: int, words: list<string>, lens: list<int>,\n"
        "                           x: float, flag: bool) {\n"
        "  a = all(text: text)\n"
        "  l = lens(words: a.words)\n"
        "  return (s: a.s, n: a.i, words: a.words, lens: l.lens, x: a.x, flag: a.b)\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    const ir_tool *t = p->tools[0];
    assert_int_equal(t->ret_status, 1);
    assert_string_equal(t->c_return, "int");
    assert_null(t->type);
    expect_param(t, "text", IR_PARAM_IN, "const char *", NULL, "string");
    expect_param(t, "s", IR_PARAM_OUT, "char **", "char *", "string");
    expect_param(t, "i", IR_PARAM_OUT, "int64_t *", "int64_t", "int");
    expect_param(t, "x", IR_PARAM_OUT, "double *", "double", "float");
    expect_param(t, "b", IR_PARAM_OUT, "bool *", "bool", "bool");
    expect_param(t, "words", IR_PARAM_OUT, "char ***", "char *", "list<string>");
    expect_param(t, "n_words", IR_PARAM_LEN, "size_t *", NULL, NULL);
    expect_param(t, "ids", IR_PARAM_OUT, "int64_t **", "int64_t", "list<int>");
    expect_param(t, "xs", IR_PARAM_OUT, "double **", "double", "list<float>");
    expect_param(t, "xs_len", IR_PARAM_LEN, "size_t *", NULL, NULL);
    expect_param(t, "bs", IR_PARAM_OUT, "bool **", "bool", "list<bool>");
    /* The outputs are a record in C order, named like the parameters. */
    const char *outs[] = { "s", "i", "x", "b", "words", "ids", "xs", "bs" };
    assert_int_equal(t->n_outputs, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(t->outputs[i].name, outs[i]);
        assert_ptr_equal(t->outputs[i].type, param(t, outs[i])->type);
    }
    /* void with outputs: no status. */
    const ir_tool *l = p->tools[1];
    assert_int_equal(l->ret_status, 0);
    assert_string_equal(l->c_return, "void");
    assert_null(l->type);
    expect_param(l, "lens", IR_PARAM_OUT, "uint32_t **", "uint32_t", "list<int>");
    /* A tool var with outputs is a record; `a.words` is a field. */
    const ir_module *m = p->modules[0];
    const ir_var *a = var(m, "a");
    assert_int_equal(a->kind, IR_VAR_TOOL);
    assert_int_equal(a->n_fields, 8);
    assert_int_equal(ir_var_slots(a), 8);
    assert_string_equal(a->fields[4].name, "words");
    const ir_step *call = &m->steps[1];
    assert_int_equal(call->n_bindings, 1);
    assert_int_equal(call->bindings[0].value.kind, IR_VAL_FIELD);
    assert_string_equal(call->bindings[0].value.name, "a");
    assert_string_equal(call->bindings[0].value.field, "words");
    const ir_step *ret = &m->steps[m->n_steps - 1];
    assert_int_equal(ret->bindings[3].value.kind, IR_VAL_FIELD);
    assert_string_equal(ret->bindings[3].value.field, "lens");
    /* `return a` takes the record's fields by name. */
    p = recheck(f,
        "tool int st(const double *xs, size_t n_xs, int64_t *count, double *mean) from \"x.so\"\n"
        "module M(xs: list<float>) -> (count: int, mean: float) {\n"
        "  r = st(xs: xs)\n"
        "  return r\n"
        "}\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    assert_int_equal(p->modules[0]->steps[1].n_bindings, 2);
}

/* A header and an inline prototype go through one mapping: the same text
 * gives the same tool. */
static void test_tool_header_equals_inline(void **state)
{
    fixture *f = *state;
    static const char *const protos[] = {
        "int stats(const double *xs, size_t n_xs, int64_t *count, double *mean, bool *any_negative)",
        "char *join(const char *const *words, size_t n_words, const char *sep)",
        "void lengths(const char *const *words, size_t words_len, uint32_t **lens, size_t *lens_len)",
        "long long total(const int64_t *xs, size_t xs_count)",
        "int may_fail(bool fail, char **message)",
        "const char *name(unsigned short id, const char *const prefix)",
    };
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        char header[512], inl[512];
        snprintf(header, sizeof header, "#include <stdbool.h>\n%s;\n", protos[i]);
        write_file(f, "tools.h", header);
        const char *name = strchr(protos[i], '(');
        while (name[-1] != ' ' && name[-1] != '*')
            name--;
        char fn[32];
        snprintf(fn, sizeof fn, "%.*s", (int)(strchr(name, '(') - name), name);
        char text[700];
        snprintf(text, sizeof text, "tool %s from \"x.so\" header \"tools.h\"\n", fn);
        ir_program *h = recheck(f, text);
        assert_int_equal(f->d.errors, 0);
        snprintf(inl, sizeof inl, "tool %s from \"x.so\"\n", protos[i]);
        ir_program *n = recheck(f, inl);
        assert_int_equal(f->d.errors, 0);
        assert_non_null(h);
        assert_non_null(n);
        const ir_tool *a = h->tools[0], *b = n->tools[0];
        assert_string_equal(a->c_return, b->c_return);
        assert_int_equal(a->ret_status, b->ret_status);
        assert_true(ir_type_equal(a->type, b->type) || (!a->type && !b->type));
        assert_int_equal(a->n_params, b->n_params);
        assert_int_equal(a->n_outputs, b->n_outputs);
        for (size_t k = 0; k < a->n_params; k++) {
            const ir_tool_param *x = &a->params[k], *y = &b->params[k];
            assert_string_equal(x->name, y->name);
            assert_string_equal(x->ctype, y->ctype);
            assert_int_equal(x->role, y->role);
            assert_true((!x->type && !y->type) || ir_type_equal(x->type, y->type));
            assert_true((!x->elem_ctype && !y->elem_ctype) ||
                        (x->elem_ctype && y->elem_ctype && strcmp(x->elem_ctype, y->elem_ctype) == 0));
        }
        if (i == 5) {  /* the outermost const says nothing about the call */
            assert_string_equal(a->params[1].ctype, "const char *");
            assert_string_equal(a->c_return, "const char *");
        }
    }
}

/* The first diagnostic of a program that must be refused. */
static const char *first_error(fixture *f, const char *text)
{
    ir_program *p = recheck(f, text);
    assert_null(p);
    return msg(f, 0);
}

static void test_tool_errors(void **state)
{
    fixture *f = *state;
#define LIST_TOOL "tool int top(const char *text, int64_t k, char ***words, size_t *n_words) from \"x.so\"\n"
    assert_string_equal(first_error(f, LIST_TOOL
        "module M(t: string) -> (w: list<string>) {\n"
        "  r = top(text: t, k: 2, words: t)\n"
        "  return (w: r.words)\n"
        "}\n"),
        "main.dsp:3:26: error: `words` is an output of tool `top`, not an input; only inputs are bound in a call");
    assert_string_equal(first_error(f,
        "tool long total(const int64_t *xs, size_t n_xs) from \"x.so\"\n"
        "module M(xs: list<int>) -> (n: int) {\n"
        "  r = total(xs: xs, n_xs: 3)\n"
        "  return (n: r)\n"
        "}\n"),
        "main.dsp:3:21: error: `n_xs` is the length of list `xs` of tool `total`; it is filled in from "
        "the list, so bind only `xs`");
    assert_string_equal(first_error(f,
        "tool long total(const int64_t *xs, size_t n_xs) from \"x.so\"\n"
        "module M(x: string) -> (n: int) {\n"
        "  r = total(xs: x)\n"
        "  return (n: r)\n"
        "}\n"),
        "main.dsp:3:17: error: cannot pass `x` (string) to input `xs` of tool `total`, which is list<int>");
    assert_string_equal(first_error(f,
        "tool long total(const int64_t *xs, size_t n_xs) from \"x.so\"\n"
        "module M(xs: list<float>) -> (n: int) {\n"
        "  r = total(xs: xs)\n"
        "  return (n: r)\n"
        "}\n"),
        "main.dsp:3:17: error: cannot pass `xs` (list<float>) to input `xs` of tool `total`, which is list<int>");
    assert_string_equal(first_error(f, LIST_TOOL
        "module M(t: string) -> (w: list<string>) {\n"
        "  r = top(text: t, k: 2)\n"
        "  return (w: r)\n"
        "}\n"),
        "main.dsp:4:14: error: `r` holds the outputs of tool `top` (words); pick one, e.g. `r.words`");
    assert_string_equal(first_error(f, LIST_TOOL
        "module M(t: string) -> (w: list<string>) {\n"
        "  r = top(text: t, k: 2)\n"
        "  return (w: r.word)\n"
        "}\n"),
        "main.dsp:4:16: error: unknown field `word` of `r` (the outputs of tool `top`); did you mean `words`?");
    assert_string_equal(first_error(f, "tool int f(const char *const *xs, long k) from \"x.so\"\n"),
        "main.dsp:1:12: error: list parameter 'xs' of 'f' must be followed by its length, 'size_t n_xs'");
    assert_string_equal(first_error(f, "tool int f(char ***xs, size_t n) from \"x.so\"\n"),
        "main.dsp:1:12: error: output list parameter 'xs' of 'f' must be followed by 'size_t *n_xs', "
        "where 'f' stores the number of elements");
    assert_string_equal(first_error(f, "tool int f(char *text) from \"x.so\"\n"),
        "main.dsp:1:12: error: cannot map parameter type 'char *' of 'f' to a .dsp type; use 'const "
        "char *' for an input string, or 'char **' for a string the function allocates with malloc "
        "and returns");
    assert_string_equal(first_error(f, "tool double f(double *mean) from \"x.so\"\n"),
        "main.dsp:1:6: error: 'f' has output parameters, so it must return int (a status, 0 = "
        "success) or void, not 'double'");
    assert_string_equal(first_error(f, "tool void f(const char *text) from \"x.so\"\n"),
        "main.dsp:1:6: error: tool `f` returns nothing and has no output parameters, so a .dsp "
        "program has nothing to use; return a value, or write results through pointers (`char "
        "**out`, `int64_t *out`, ...) and return an int status");
    assert_string_equal(first_error(f, "tool int f(const char *text, char **out) from \"x.so\"\n"),
        "main.dsp:1:30: error: parameter `out` of `f` is named like a .dsp keyword, so a call could "
        "not read it; rename it in the prototype (C does not care about parameter names)");
    assert_string_equal(first_error(f, "tool int f(long a,\n           long a) from \"x.so\"\n"),
        "main.dsp:2:17: error: parameter `a` is declared twice");
    /* The same rules for a header, pointing into it. */
    write_file(f, "tools.h", "#include <stdint.h>\n\nvoid f(const char *text);\n"
                             "int g(const int64_t *xs);\n");
    assert_string_equal(first_error(f, "tool f from \"x.so\" header \"tools.h\"\n"),
        "tools.h:3:1: error: tool `f` returns nothing and has no output parameters, so a .dsp "
        "program has nothing to use; return a value, or write results through pointers (`char "
        "**out`, `int64_t *out`, ...) and return an int status");
    assert_string_equal(first_error(f, "tool g from \"x.so\" header \"tools.h\"\n"),
        "tools.h:4:7: error: list parameter 'xs' of 'g' must be followed by its length, 'size_t n_xs'");
#undef LIST_TOOL
}

/* Names the generated C cannot declare are refused (C keywords, which
 * tree-sitter reads as names); a name the generated C would declare twice
 * (the C library's, dsp_, cg_) is a warning: the interpreter is fine. */
static void test_tool_names_c_cannot_take(void **state)
{
    fixture *f = *state;
    assert_string_equal(first_error(f, "tool int while(int x) from \"x.so\"\n"),
        "main.dsp:1:10: error: tool `while` is named like a C keyword, which no C function can be; name "
        "the function something else");
    assert_string_equal(first_error(f, "tool int f(int64_t x, int64_t default) from \"x.so\"\n"),
        "main.dsp:1:23: error: parameter `default` of `f` is named like a C keyword, so the generated C "
        "could not declare it; rename it in the prototype");
    /* `char **xs` before `size_t n_xs` was meant as a list of strings. */
    assert_string_equal(first_error(f, "tool int64_t g(char **xs, size_t n_xs) from \"x.so\"\n"),
        "main.dsp:1:16: error: parameter 'xs' of 'g' is followed by its length like an input list, but "
        "'char **' is a string the function writes; write 'const char *const *xs' for an input list of "
        "strings");
    /* `restrict` qualifies the type, so this parameter has no name. */
    assert_string_equal(first_error(f, "tool int f(int64_t restrict) from \"x.so\"\n"),
        "main.dsp:1:12: error: parameter 1 of 'f' has no name; .dsp passes arguments by name, so name it in "
        "the prototype");
    write_file(f, "dup.h", "#include <stdint.h>\nint64_t f(int64_t a,\n          int64_t a);\n");
    assert_string_equal(first_error(f, "tool f from \"x.so\" header \"dup.h\"\n"),
        "dup.h:3:11: error: parameter `a` of `f` is declared twice");
    write_file(f, "kw.h", "#include <stdbool.h>\nint g(bool bool);\n");
    assert_string_equal(first_error(f, "tool g from \"x.so\" header \"kw.h\"\n"),
        "kw.h:2:7: error: parameter `bool` of `g` is named like a C keyword, so the generated C could not "
        "declare it; rename it in the prototype");
    /* A static function is found but cannot be called: no library exports it. */
    write_file(f, "si.h", "#include <stdint.h>\nstatic inline int64_t twice(int64_t x) { return 2 * x; }\n");
    ir_program *p = recheck(f, "tool twice from \"x.so\" header \"si.h\"\n"
                               "module M(x: int) -> (y: int) {\n  r = twice(x: x)\n  return (y: r)\n}\n");
    assert_non_null(p);
    assert_int_equal(f->d.warnings, 1);
    assert_string_equal(msg(f, 0), "si.h:2:1: warning: `twice` is declared `static` in `si.h`, so no shared "
                                   "object exports it: `dspcc eval` and the generated C would find no symbol; "
                                   "declare an exported function");
    p = recheck(f, "tool int free(const char *s) from \"x.so\"\n"
                               "tool int64_t cg_step(int64_t x) from \"x.so\"\n"
                               "tool int64_t freely(int64_t x) from \"x.so\"\n"
                               "module M(a: string) -> (y: int, z: int, w: int) {\n"
                               "  r = free(s: a)\n  q = cg_step(x: 1)\n  u = freely(x: 2)\n"
                               "  return (y: r, z: q, w: u)\n}\n");
    assert_non_null(p);
    assert_int_equal(f->d.warnings, 2);
    assert_string_equal(msg(f, 0), "main.dsp:1:10: warning: tool `free` is named like a function of <stdlib.h>, "
                                   "which the generated C includes: unless the two prototypes match, the generated "
                                   "C will not compile; give the C function another name, or wrap it");
    assert_string_equal(msg(f, 1), "main.dsp:2:14: warning: tool `cg_step` starts with `cg_`, which names the "
                                   "runtime's and the generated C's own functions; give the C function another "
                                   "name if the generated C does not compile");
}

/* A tool whose declaration failed is still a name: its calls and the uses
 * of what they assign say nothing more. */
static void test_tool_error_does_not_cascade(void **state)
{
    fixture *f = *state;
    ir_program *p = recheck(f,
        "tool int top(const char *text, char ***words) from \"x.so\"\n"
        "tool char *join(const char *const *words, size_t n_words) from \"x.so\"\n"
        "module M(t: string) -> (w: list<string>, j: string) {\n"
        "  r = top(text: t)\n"
        "  j = join(words: r.words)\n"
        "  if j == \"x\" {\n"
        "    r = top(text: j)\n"
        "  }\n"
        "  return (w: r.words, j: j)\n"
        "}\n");
    assert_null(p);
    assert_int_equal(f->d.errors, 1);
    assert_int_equal(f->d.warnings, 0);
    assert_string_equal(msg(f, 0), "main.dsp:1:32: error: output list parameter 'words' of 'top' "
                                   "must be followed by 'size_t *n_words', where 'top' stores the "
                                   "number of elements");
}

static void test_metric_tools(void **state)
{
    fixture *f = *state;
    /* List inputs: a gold list from the data, a list literal. */
    ir_program *p = recheck(f, QA_MODULE
        "tool double best(const char *answer, const char *const *aliases, size_t n_aliases,\n"
        "                 const double *weights, size_t n_weights) from \"libm.so\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = best(pred.answer, ex.aliases, [1, 0.5])\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    const ir_expr *e = p->metrics[0]->expr;
    assert_int_equal(e->kind, IR_E_TOOL);
    assert_int_equal(e->n_args, 3);
    assert_string_equal(e->args[1].name, "aliases");
    assert_int_equal(e->args[1].value->type->kind, IR_LIST);
    assert_string_equal(e->args[2].name, "weights");
    assert_int_equal(e->args[2].value->kind, IR_E_LIST);
    /* A tool with outputs scores only as the whole metric... */
    assert_string_equal(first_error(f, QA_MODULE
        "tool int grade(const char *answer, double *score) from \"libm.so\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = grade(pred.answer) * 2\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n"),
        "main.dsp:9:22: error: tool `grade` writes its results through output parameters (score); "
        "a metric needs a tool that returns its score, e.g. `double grade(...)`, or, as the whole metric, one "
        "that writes a score and a feedback text, e.g. `int grade(..., double *score, char **feedback)` (and "
        "`char **feedback_NAME` for predictor NAME)");
    /* ... with one number or bool output and at most one text. */
    assert_non_null(strstr(first_error(f, QA_MODULE
        "tool int grade(const char *answer, char **a, char **b) from \"libm.so\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = grade(pred.answer)\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n"),
        "as the whole metric, one that writes a score and a feedback text"));
    p = recheck(f, QA_MODULE
        "tool int grade(const char *answer, const char *gold, double *score, char **feedback) from \"libm.so\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = grade(pred.answer, ex.answer)\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n");
    assert_non_null(p);
    e = p->metrics[0]->expr;
    assert_int_equal(e->kind, IR_E_TOOL);
    assert_int_equal(e->type->kind, IR_FLOAT);
    assert_int_equal(e->n_args, 2);
    /* Its length is not an argument. */
    assert_string_equal(first_error(f, QA_MODULE
        "tool double n(const double *xs, size_t n_xs) from \"libm.so\"\n"
        "data train = jsonl(\"qa.jsonl\")\n"
        "metric m(ex, pred) = n([1, 2], 2)\n"
        "optimize M with bootstrap_fewshot { metric: m trainset: train lm: l }\n"),
        "main.dsp:9:22: error: tool `n` takes 1 argument, got 2");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_flow_through_if_and_repeat),
        T(test_type_compatibility),
        T(test_optional_output_into_required_input),
        T(test_duplicates_and_unused_are_warnings),
        T(test_unused_metric_fits_the_last_module),
        T(test_unused_metric_fits_any_module),
        T(test_first_lm_and_data_of_a_program_without_optimize),
        T(test_react_tool_list_has_one_full_stop),
        T(test_variable_keeps_one_shape),
        T(test_variable_shape_in_branch_no_cascade),
        T(test_param_named_like_enum_value),
        T(test_module_calls_module_and_tool),
        T(test_metric_judge_and_tool),
        T(test_metric_field_checks),
        T(test_metric_reads_extra_gold_fields),
        T(test_csv_mapping_and_enum_values),
        T(test_csv_read_like_the_loader),
        T(test_lm_options),
        T(test_imports_and_cycles),
        T(test_paths_and_suggestions),
        T(test_tool_list_inputs),
        T(test_tool_outputs),
        T(test_tool_header_equals_inline),
        T(test_tool_errors),
        T(test_tool_error_does_not_cascade),
        T(test_tool_names_c_cannot_take),
        T(test_metric_tools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
