/* test_dataset.c — data sets typed per a module's fields: JSONL and CSV
 * (RFC 4180 quoting), declared mappings, optional and missing values, and
 * bad rows reported with file:line and the column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dataset_int.h"
#include "exec_fixture.h"

static const char *PROGRAM =
    "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
    "enum Label { billing, account }\n"
    "signature S { in text: string in n: int in tags: list<string> in note: optional<string> out label: Label }\n"
    "module M(text: string, n: int, tags: list<string>, note: optional<string>) -> (label: Label) {\n"
    "  r = predict(S)(text: text, n: n, tags: tags, note: note)\n"
    "  return r\n"
    "}\n"
    "metric acc(ex, pred) = exact_match(pred.label, ex.label)\n"
    "data train = jsonl(\"train.jsonl\") { body -> text, n -> n, tags -> tags, note -> note, cat -> label }\n"
    "data sheet = csv(\"sheet.csv\") { body -> text, n -> n, tags -> tags, cat -> label }\n"
    "optimize M with labeled_fewshot(k: 1) { metric: acc trainset: train valset: sheet lm: local }\n";

static const char *TRAIN =
    "{\"body\": \"refund please\", \"n\": 3, \"tags\": [\"a\", \"b\"], \"note\": \"vip\", \"cat\": \"billing\", \"x\": 1}\n"
    "\n"
    "{\"body\": \"reset password\", \"n\": 1, \"tags\": [], \"note\": null, \"cat\": \"account\"}\n";

static const char *SHEET =
    "body,n,tags,cat\r\n"
    "\"Hello, \"\"world\"\"\",2,\"[\"\"x\"\"]\",billing\r\n"
    "\"two\nlines\",5,[],account\n";

typedef struct fx {
    xfix *f;
    ir_program *p;
    const ir_module *m;
} fx;

static int setup(void **state)
{
    fx *x = calloc(1, sizeof *x);
    x->f = xfix_new();
    xfix_write(x->f, "train.jsonl", TRAIN);
    xfix_write(x->f, "sheet.csv", SHEET);
    x->p = xfix_program(x->f, PROGRAM);
    if (!x->p)
        return -1;
    x->m = ir_module_find(x->p, "M");
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    xfix_free(x->f);
    free(x);
    return 0;
}

static void test_jsonl_typed(void **state)
{
    fx *x = *state;
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_open(x->p, x->m, "train", &d, &err), DSP_OK);
    assert_int_equal(d.n_rows, 2);
    assert_int_equal(d.n_fields, 5);
    assert_int_equal(d.n_inputs, 4);
    assert_int_equal(ex_dataset_field(&d, "label"), 4);
    assert_int_equal(ex_dataset_field(&d, "nope"), -1);
    const ex_example *r0 = &d.rows[0];
    assert_int_equal(r0->line, 1);
    assert_string_equal(r0->values[0].as.s.data, "refund please");
    assert_int_equal(r0->values[1].as.i, 3);
    assert_int_equal(r0->values[2].as.list.len, 2);
    assert_string_equal(r0->values[2].as.list.items[1].as.s.data, "b");
    assert_true(r0->present[3]);
    assert_int_equal(r0->values[3].kind, DSP_TYPE_OPTIONAL);
    assert_string_equal(r0->values[3].as.some->as.s.data, "vip");
    assert_int_equal(r0->values[4].as.e, 0);
    const ex_example *r1 = &d.rows[1];
    assert_int_equal(r1->line, 3);  /* the blank line is skipped, lines still count */
    assert_false(r1->present[3]);   /* null */
    assert_int_equal(r1->values[4].as.e, 1);
    ex_dataset_free(&d);
}

/* Numbers keep every bit: a float that needs 17 digits, inside a list too,
 * and an id-like integer read into a string field. */
static void test_jsonl_numbers_exact(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    xfix_write(f, "n.jsonl",
               "{\"x\": 0.30000000000000004, \"xs\": [0.1, 0.30000000000000004], \"id\": 9007199254740992, "
               "\"y\": 1}\n");
    ir_program *p = xfix_program(f,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "signature S { in x: float in xs: list<float> in id: string out y: int }\n"
        "module M(x: float, xs: list<float>, id: string) -> (y: int) {\n"
        "  r = predict(S)(x: x, xs: xs, id: id)\n"
        "  return r\n"
        "}\n"
        "metric m(ex, pred) = pred.y == ex.y\n"
        "data d = jsonl(\"n.jsonl\") { x -> x, xs -> xs, id -> id, y -> y }\n"
        "optimize M with labeled_fewshot(k: 1) { metric: m trainset: d lm: local }\n");
    assert_non_null(p);
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_open(p, ir_module_find(p, "M"), "d", &d, &err), DSP_OK);
    const ex_example *r = &d.rows[0];
    assert_true(r->values[0].as.f == 0.30000000000000004);
    assert_true(r->values[0].as.f != 0.3);
    assert_int_equal(r->values[1].as.list.len, 2);
    assert_true(r->values[1].as.list.items[1].as.f == 0.30000000000000004);
    assert_string_equal(r->values[2].as.s.data, "9007199254740992");
    ex_dataset_free(&d);
    xfix_free(f);
}

/* Numbers inside JSON objects (a record's fields, a map's values) keep
 * their keys and every bit: the exact copy of a number replaces it under
 * the same key. */
static void test_jsonl_numbers_in_objects(void **state)
{
    (void)state;
    xfix *f = xfix_new();
    xfix_write(f, "o.jsonl", "{\"p\": {\"lat\": 0.30000000000000004, \"n\": 2}, \"m\": {\"k\": 1.5}, \"y\": 1}\n");
    ir_program *p = xfix_program(f,
        "lm local = \"compatible/test\" { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "record P { lat: float  n: int }\n"
        "signature S { in p: P in m: map<string, float> out y: int }\n"
        "module M(p: P, m: map<string, float>) -> (y: int) {\n"
        "  r = predict(S)(p: p, m: m)\n"
        "  return r\n"
        "}\n"
        "metric mm(ex, pred) = pred.y == ex.y\n"
        "data d = jsonl(\"o.jsonl\")\n"
        "optimize M with labeled_fewshot(k: 1) { metric: mm trainset: d lm: local }\n");
    assert_non_null(p);
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_open(p, ir_module_find(p, "M"), "d", &d, &err), DSP_OK);
    const ex_example *r = &d.rows[0];
    assert_true(r->values[0].as.record.fields[0].as.f == 0.30000000000000004);
    assert_int_equal(r->values[0].as.record.fields[1].as.i, 2);
    assert_int_equal(r->values[1].as.map.len, 1);
    assert_string_equal(r->values[1].as.map.keys[0], "k");
    assert_true(r->values[1].as.map.vals[0].as.f == 1.5);
    ex_dataset_free(&d);
    xfix_free(f);
}

static void test_csv_quoting(void **state)
{
    fx *x = *state;
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_open(x->p, x->m, "sheet", &d, &err), DSP_OK);
    assert_int_equal(d.n_rows, 2);
    assert_string_equal(d.rows[0].values[0].as.s.data, "Hello, \"world\"");
    assert_int_equal(d.rows[0].values[1].as.i, 2);
    assert_string_equal(d.rows[0].values[2].as.list.items[0].as.s.data, "x");
    assert_false(d.rows[0].present[3]);  /* not mapped */
    assert_string_equal(d.rows[1].values[0].as.s.data, "two\nlines");
    assert_int_equal(d.rows[1].line, 3);
    assert_int_equal(d.rows[1].values[4].as.e, 1);
    ex_dataset_free(&d);
}

static void test_csv_byte_order_mark(void **state)
{
    fx *x = *state;
    xfix_write(x->f, "bom.csv", "\xEF\xBB\xBFtext,n,tags\nhello,4,[]\n");
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(x->p, x->m, xfix_path(x->f, "bom.csv"), &d, &err), DSP_OK);
    assert_string_equal(d.rows[0].values[0].as.s.data, "hello");
    assert_int_equal(d.rows[0].values[1].as.i, 4);
    ex_dataset_free(&d);
}

static void expect_load_error(fx *x, const char *file, const char *text, const char *want1, const char *want2)
{
    xfix_write(x->f, file, text);
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_load_path(x->p, x->m, xfix_path(x->f, file), &d, &err), DSP_ERR_INVALID);
    if (!strstr(err.message, want1) || (want2 && !strstr(err.message, want2)))
        fail_msg("error `%s` lacks `%s` / `%s`", err.message, want1, want2 ? want2 : "");
    assert_int_equal(d.n_rows, 0);
    assert_null(d.rows);
}

static void test_bad_rows_name_file_line_column(void **state)
{
    fx *x = *state;
    const char *ok = "{\"text\": \"a\", \"n\": 1, \"tags\": [], \"label\": \"billing\"}\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", ok, "{\"text\": \"a\", \"n\": 1, \"tags\": [], \"label\": \"shipping\"}\n");
    expect_load_error(x, "bad_enum.jsonl", buf, "bad_enum.jsonl:2: column `label`", "\"shipping\" is not one of");
    snprintf(buf, sizeof buf, "%s%s", ok, "{\"text\": \"a\", \"n\": \"many\", \"tags\": []}\n");
    expect_load_error(x, "bad_int.jsonl", buf, "bad_int.jsonl:2: column `n`", NULL);
    snprintf(buf, sizeof buf, "%s%s", ok, "[1, 2]\n");
    expect_load_error(x, "not_object.jsonl", buf, "not_object.jsonl:2", "not a JSON object");
    snprintf(buf, sizeof buf, "%s%s", ok, "{\"n\": 1, \"tags\": []}\n");
    expect_load_error(x, "missing.jsonl", buf, "missing.jsonl:2: column `text`", "missing");
    expect_load_error(x, "bad.csv", "text,n,tags\na,1,[]\nb,2\n", "bad.csv:3", "2 cells, but the header has 3");
    expect_load_error(x, "open.csv", "text,n,tags\n\"a,1,[]\n", "open.csv:2", "never closed");
    expect_load_error(x, "after.csv", "text,n,tags\n\"a\"x,1,[]\n", "after.csv:2", "after the closing quote");
    expect_load_error(x, "enum.csv", "text,n,tags,label\na,1,[],Billing\n", "enum.csv:2: column `label`", "not one of");
    expect_load_error(x, "empty.jsonl", "\n\n", "no rows", NULL);
    expect_load_error(x, "data.txt", "x", "cannot tell the format", NULL);
}

static void test_open_unknown_and_missing(void **state)
{
    fx *x = *state;
    ex_dataset d;
    dsp_error err = { 0 };
    assert_int_equal(ex_dataset_open(x->p, x->m, "tran", &d, &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "no data set named `tran`"));
    assert_non_null(strstr(err.message, "train, sheet"));
    assert_int_equal(ex_dataset_open(x->p, x->m, "/nonexistent/x.jsonl", &d, &err), DSP_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/x.jsonl"));
}

static void test_csv_reader_records(void **state)
{
    (void)state;
    const char *text = "a,\"b\"\"c\",\r\n\r\n\"\",x";
    csv_reader r;
    csv_reader_init(&r, text, strlen(text), "t.csv");
    csv_record rec;
    int done;
    dsp_error err = { 0 };
    assert_int_equal(csv_next(&r, &rec, &done, &err), DSP_OK);
    assert_false(done);
    assert_int_equal(rec.n_cells, 3);
    assert_string_equal(rec.cells[0], "a");
    assert_string_equal(rec.cells[1], "b\"c");
    assert_string_equal(rec.cells[2], "");
    csv_record_free(&rec);
    assert_int_equal(csv_next(&r, &rec, &done, &err), DSP_OK);
    assert_int_equal(rec.line, 3);
    assert_int_equal(rec.n_cells, 2);
    assert_string_equal(rec.cells[0], "");
    assert_string_equal(rec.cells[1], "x");
    csv_record_free(&rec);
    assert_int_equal(csv_next(&r, &rec, &done, &err), DSP_OK);
    assert_true(done);
}

/* Random text made of CSV's special characters: every record comes back
 * or a clear error does, and the reader always reaches the end (ASan
 * checks the memory). */
static void test_csv_reader_random_text(void **state)
{
    (void)state;
    static const char alphabet[] = { 'a', ',', '"', '\n', '\r', ' ', '\0' };
    unsigned seed = 12345;
    char text[64];
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(round % 60);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % sizeof alphabet];
        }
        csv_reader r;
        csv_reader_init(&r, text, len, "r.csv");
        int done = 0, records = 0;
        dsp_error err = { 0 };
        while (!done && records <= 64) {
            csv_record rec;
            dsp_status st = csv_next(&r, &rec, &done, &err);
            if (st != DSP_OK) {
                assert_non_null(strstr(err.message, "r.csv:"));
                break;
            }
            if (!done)
                assert_true(rec.n_cells >= 1);
            csv_record_free(&rec);
            records++;
        }
        assert_true(records <= 64);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_typed),
        cmocka_unit_test(test_jsonl_numbers_exact),
        cmocka_unit_test(test_jsonl_numbers_in_objects),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_byte_order_mark),
        cmocka_unit_test(test_bad_rows_name_file_line_column),
        cmocka_unit_test(test_open_unknown_and_missing),
        cmocka_unit_test(test_csv_reader_records),
        cmocka_unit_test(test_csv_reader_random_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
