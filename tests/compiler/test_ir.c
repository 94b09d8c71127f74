/* test_ir.c — the checked IR as consumers see it: call bindings in input
 * order, chain_of_thought outputs, expanded returns, step trees, type
 * helpers, and the JSON dump (sorted keys, no absolute paths, stable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir_json.h"
#include "parse.h"
#include "sema.h"

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

static ir_program *check(fixture *f, const char *text)
{
    source_file *src = source_from_string(&f->a, "ir.dsp", text, strlen(text));
    ir_program *p = sema_check_source(&f->a, &f->d, src);
    assert_int_equal(f->d.errors, 0);
    assert_non_null(p);
    return p;
}

static const char *PROGRAM =
    "enum Level { low, high }\n"
    "signature Triage \"Triage.\" { in text: string in lang: optional<string> out level: Level }\n"
    "signature Answer { in text: string in level: Level out answer: string }\n"
    "module M(text: string) -> (answer: string, level: Level, why: string) {\n"
    "  t = chain_of_thought(Triage)(text: text)\n"
    "  if t.level != low {\n"
    "    repeat 3 { a = predict(Answer)(level: t.level, text: \"urgent\") }\n"
    "  } else {\n"
    "    a = predict(Answer)(level: low, text: text)\n"
    "  }\n"
    "  return (why: t.reasoning, level: t.level, answer: a.answer)\n"
    "}\n";

static void test_module_steps(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, PROGRAM);
    const ir_module *m = ir_module_find(p, "M");
    assert_non_null(m);
    assert_int_equal(m->n_steps, 3);

    const ir_step *s0 = &m->steps[0];
    assert_int_equal(s0->kind, IR_STEP_PREDICT);
    assert_string_equal(s0->var, "t");
    assert_string_equal(s0->predictor->name, "M.t");
    assert_string_equal(s0->predictor->strategy, "chain_of_thought");
    assert_int_equal(s0->predictor->n_outputs, 2);
    assert_string_equal(s0->predictor->outputs[0].name, "reasoning");
    assert_string_equal(s0->predictor->outputs[1].name, "level");
    assert_int_equal(s0->n_bindings, 1);  /* the optional `lang` is absent */
    assert_int_equal(s0->bindings[0].value.kind, IR_VAL_PARAM);

    const ir_step *s1 = &m->steps[1];
    assert_int_equal(s1->kind, IR_STEP_IF);
    assert_true(s1->negate);
    assert_int_equal(s1->lhs.kind, IR_VAL_FIELD);
    assert_int_equal(s1->rhs.kind, IR_VAL_ENUM);
    assert_string_equal(s1->rhs.s, "low");
    assert_int_equal(s1->n_body, 1);
    assert_int_equal(s1->body[0].kind, IR_STEP_REPEAT);
    assert_int_equal(s1->body[0].count, 3);
    const ir_step *inner = &s1->body[0].body[0];
    /* bindings follow the signature's input order, not the call's */
    assert_string_equal(inner->bindings[0].field, "text");
    assert_int_equal(inner->bindings[0].value.kind, IR_VAL_STRING);
    assert_string_equal(inner->bindings[1].field, "level");
    assert_int_equal(s1->n_else, 1);
    assert_int_equal(s1->else_body[0].bindings[1].value.kind, IR_VAL_ENUM);

    const ir_step *ret = &m->steps[2];
    assert_int_equal(ret->kind, IR_STEP_RETURN);
    /* return bindings follow the declared result order */
    assert_string_equal(ret->bindings[0].field, "answer");
    assert_string_equal(ret->bindings[1].field, "level");
    assert_string_equal(ret->bindings[2].field, "why");
    assert_string_equal(ret->bindings[2].value.field, "reasoning");

    assert_int_equal(m->n_vars, 2);
    assert_string_equal(m->vars[0].name, "t");
    assert_int_equal(m->vars[0].n_fields, 2);
    assert_non_null(ir_predictor_find(p, "M.a_2"));
    assert_null(ir_predictor_find(p, "M.a_3"));
}

static void test_return_var_expands_to_fields(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f,
        "signature S { in q: string out a: string out b: int out extra: bool }\n"
        "module M(q: string) -> (b: float, a: string) {\n"
        "  r = predict(S)(q: q)\n"
        "  return r\n"
        "}\n");
    const ir_step *ret = &p->modules[0]->steps[1];
    assert_int_equal(ret->n_bindings, 2);
    assert_string_equal(ret->bindings[0].field, "b");
    assert_string_equal(ret->bindings[0].value.name, "r");
    assert_string_equal(ret->bindings[0].value.field, "b");
    assert_int_equal(ret->bindings[0].value.type->kind, IR_INT);  /* int flows into float */
}

static void test_type_helpers(void **state)
{
    fixture *f = *state;
    ir_program *p = check(f, PROGRAM);
    const ir_type *level = p->enums[0];
    char buf[128];
    assert_string_equal(ir_type_str(level, buf, sizeof buf), "Level");
    const ir_signature *tri = ir_signature_find(p, "Triage");
    assert_string_equal(ir_type_str(tri->inputs[1].type, buf, sizeof buf), "optional<string>");
    ir_type anon = { .kind = IR_ENUM, .values = (const char *const[]){ "high", "low" }, .n_values = 2 };
    assert_true(ir_type_equal(level, &anon));  /* structural, order-free */
    assert_string_equal(ir_type_str(&anon, buf, sizeof buf), "enum {high, low}");
    assert_string_equal(ir_type_str(&anon, buf, 8), "enum {h");  /* truncates safely */
    ir_type list = { .kind = IR_LIST, .elem = level };
    assert_false(ir_type_equal(&list, level));
    assert_true(ir_enum_has(level, "high"));
    assert_false(ir_enum_has(level, "medium"));
}

static int keys_sorted(const cJSON *item)
{
    for (const cJSON *c = item->child; c; c = c->next) {
        if (cJSON_IsObject(item) && c->next && strcmp(c->string, c->next->string) >= 0)
            return 0;
        if (!keys_sorted(c))
            return 0;
    }
    return 1;
}

static void test_json_dump_of_example(void **state)
{
    fixture *f = *state;
    ir_program *p = sema_check_file(&f->a, &f->d, "examples/tickets/tickets.dsp");
    assert_non_null(p);
    char *json = ir_to_json(p);
    assert_non_null(json);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    assert_true(keys_sorted(root));
    assert_null(strstr(json, "/work/"));  /* no absolute paths */
    assert_null(strstr(json, "examples/tickets"));  /* relative to the .dsp's directory */
    cJSON *data = cJSON_GetObjectItem(root, "data");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "path")->valuestring,
                        "data/train.jsonl");
    cJSON *opt = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "optimize"), 0);
    assert_string_equal(cJSON_GetObjectItem(opt, "optimizer")->valuestring, "mipro");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(opt, "params"), "auto")->valuestring,
                        "light");
    assert_int_equal(cJSON_GetObjectItem(opt, "seed")->valueint, 7);
    cJSON_Delete(root);

    /* the same program checked again dumps the same bytes */
    arena b;
    arena_init(&b);
    diag d;
    diag_init(&d, &b, NULL);
    ir_program *p2 = sema_check_file(&b, &d, "examples/tickets/tickets.dsp");
    char *json2 = ir_to_json(p2);
    assert_string_equal(json, json2);
    free(json2);
    arena_free(&b);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_module_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_return_var_expands_to_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_dump_of_example, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
