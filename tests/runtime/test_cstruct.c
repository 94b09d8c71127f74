/* test_cstruct.c — records into C structs and back (dsp/cstruct.h), with
 * tables written the way a generated program writes them (offsetof). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/cstruct.h"

struct point {
    double lat;
    float lon;
};

struct place {
    char *name;            /* string */
    const char *kind;      /* enum Kind, by name */
    uint8_t rank;          /* int */
    bool open;
    struct point at;       /* nested record */
    double *scores;        /* list<float> */
    size_t n_scores;
    struct point *hops;    /* list<Point> */
    size_t n_hops;
    char *note;            /* optional<string> */
    struct point *alt;     /* optional<Point> */
    char **tags;           /* list<string> */
    size_t n_tags;
};

static const char *const kind_names[] = { "city", "town" };
static const dsp_type kind_t = { .kind = DSP_TYPE_ENUM, .enum_values = kind_names, .n_enum_values = 2, .name = "Kind" };
static const dsp_field point_f[] = { { "lat", &dsp_type_float, NULL }, { "lon", &dsp_type_float, NULL } };
static const dsp_type point_t = { .kind = DSP_TYPE_RECORD, .fields = point_f, .n_fields = 2, .name = "Point" };
static const dsp_type floats_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_float };
static const dsp_type points_t = { .kind = DSP_TYPE_LIST, .elem = &point_t };
static const dsp_type strings_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_string };
static const dsp_type opt_str_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_string };
static const dsp_type opt_point_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &point_t };
/* The record's order differs from the struct's: members find fields by index. */
static const dsp_field place_f[] = {
    { "at", &point_t, NULL },     { "name", &dsp_type_string, NULL }, { "kind", &kind_t, NULL },
    { "rank", &dsp_type_int, NULL }, { "open", &dsp_type_bool, NULL }, { "scores", &floats_t, NULL },
    { "hops", &points_t, NULL },  { "note", &opt_str_t, NULL },      { "alt", &opt_point_t, NULL },
    { "tags", &strings_t, NULL },
};
static const dsp_type place_t = { .kind = DSP_TYPE_RECORD, .fields = place_f, .n_fields = 10, .name = "Place" };

static const dsp_cmember point_m[] = {
    { .name = "lat", .kind = DSP_CM_FLOAT, .offset = offsetof(struct point, lat), .size = sizeof(double), .field = 0,
      .ctype = "double" },
    { .name = "lon", .kind = DSP_CM_FLOAT, .offset = offsetof(struct point, lon), .size = sizeof(float), .field = 1,
      .ctype = "float" },
};
static const dsp_cstruct point_s = { "struct point", sizeof(struct point), &point_t, point_m, 2 };

static const dsp_cmember place_m[] = {
    { .name = "name", .kind = DSP_CM_STRING, .offset = offsetof(struct place, name), .field = 1 },
    { .name = "kind", .kind = DSP_CM_STRING, .offset = offsetof(struct place, kind), .field = 2, .borrowed = true },
    { .name = "rank", .kind = DSP_CM_UNSIGNED, .offset = offsetof(struct place, rank), .size = 1, .field = 3,
      .ctype = "uint8_t" },
    { .name = "open", .kind = DSP_CM_BOOL, .offset = offsetof(struct place, open), .size = sizeof(bool), .field = 4 },
    { .name = "at", .kind = DSP_CM_STRUCT, .offset = offsetof(struct place, at), .field = 0, .sub = &point_s },
    { .name = "scores", .kind = DSP_CM_LIST, .offset = offsetof(struct place, scores), .size = sizeof(double),
      .field = 5, .elem = DSP_CM_FLOAT, .count_offset = offsetof(struct place, n_scores), .ctype = "double" },
    { .name = "n_scores", .kind = DSP_CM_COUNT, .offset = offsetof(struct place, n_scores) },
    { .name = "hops", .kind = DSP_CM_LIST, .offset = offsetof(struct place, hops), .size = sizeof(struct point),
      .field = 6, .elem = DSP_CM_STRUCT, .sub = &point_s, .count_offset = offsetof(struct place, n_hops) },
    { .name = "n_hops", .kind = DSP_CM_COUNT, .offset = offsetof(struct place, n_hops) },
    { .name = "note", .kind = DSP_CM_STRING, .offset = offsetof(struct place, note), .field = 7 },
    { .name = "alt", .kind = DSP_CM_STRUCT_PTR, .offset = offsetof(struct place, alt), .field = 8, .sub = &point_s },
    { .name = "tags", .kind = DSP_CM_LIST, .offset = offsetof(struct place, tags), .size = sizeof(char *),
      .field = 9, .elem = DSP_CM_STRING, .count_offset = offsetof(struct place, n_tags) },
    { .name = "n_tags", .kind = DSP_CM_COUNT, .offset = offsetof(struct place, n_tags) },
};
static const dsp_cstruct place_s = { "struct place", sizeof(struct place), &place_t, place_m,
                                     sizeof place_m / sizeof place_m[0] };

static dsp_value str(const char *s)
{
    dsp_value v = { 0 };
    assert_int_equal(dsp_value_set_string(&v, s, strlen(s), NULL), DSP_OK);
    return v;
}

static dsp_value point(double lat, double lon)
{
    dsp_value v;
    assert_int_equal(dsp_value_record(&v, 2, NULL), DSP_OK);
    v.as.record.fields[0] = dsp_value_float(lat);
    v.as.record.fields[1] = dsp_value_float(lon);
    return v;
}

static dsp_value place(int64_t rank)
{
    dsp_value v, x;
    assert_int_equal(dsp_value_record(&v, 10, NULL), DSP_OK);
    dsp_value *f = v.as.record.fields;
    f[0] = point(52.5, 13.25);
    f[1] = str("Berlin");
    f[2] = dsp_value_enum(1);
    f[3] = dsp_value_int(rank);
    f[4] = dsp_value_bool(true);
    f[5] = dsp_value_list();
    x = dsp_value_float(0.5);
    assert_int_equal(dsp_value_list_append(&f[5], &x, NULL), DSP_OK);
    x = dsp_value_float(2);
    assert_int_equal(dsp_value_list_append(&f[5], &x, NULL), DSP_OK);
    f[6] = dsp_value_list();
    x = point(1, 2);
    assert_int_equal(dsp_value_list_append(&f[6], &x, NULL), DSP_OK);
    x = point(3, 4);
    assert_int_equal(dsp_value_list_append(&f[6], &x, NULL), DSP_OK);
    f[7] = dsp_value_none();
    x = point(-1, -2);
    assert_int_equal(dsp_value_some(&f[8], &x, NULL), DSP_OK);
    f[9] = dsp_value_list();
    x = str("old");
    assert_int_equal(dsp_value_list_append(&f[9], &x, NULL), DSP_OK);
    return v;
}

static void record_fills_struct_and_reads_back(void **state)
{
    (void)state;
    dsp_value v = place(200);
    struct place p;
    memset(&p, 0, sizeof p);
    dsp_error e = { 0 };
    assert_int_equal(dsp_cstruct_in(&place_s, &v, &p, "t", "parameter `p`", &e), DSP_OK);
    assert_string_equal(p.name, "Berlin");
    assert_string_equal(p.kind, "town");
    assert_int_equal(p.rank, 200);
    assert_true(p.open);
    assert_true(p.at.lat == 52.5 && p.at.lon == 13.25f);
    assert_int_equal(p.n_scores, 2);
    assert_true(p.scores[0] == 0.5 && p.scores[1] == 2);
    assert_int_equal(p.n_hops, 2);
    assert_true(p.hops[1].lat == 3 && p.hops[1].lon == 4);
    assert_null(p.note);
    assert_non_null(p.alt);
    assert_true(p.alt->lat == -1);
    assert_int_equal(p.n_tags, 1);
    assert_string_equal(p.tags[0], "old");

    dsp_value back;
    assert_int_equal(dsp_cstruct_out(&place_s, &p, &back, "t", "output `p`", &e), DSP_OK);
    assert_true(dsp_value_equal(&v, &back));
    dsp_value_free(&back);
    /* What dsp_cstruct_in made (arrays, the pointed-to struct) is freed;
     * the strings point into v and stay. */
    dsp_cstruct_release(&place_s, &p, DSP_CSTRUCT_PASSED);
    assert_null(p.scores);
    assert_null(p.hops);
    assert_null(p.alt);
    assert_string_equal(p.name, "Berlin");
    dsp_value_free(&v);
}

static void out_of_range_names_the_path(void **state)
{
    (void)state;
    dsp_value v = place(300);
    struct place p;
    memset(&p, 0, sizeof p);
    dsp_error e = { 0 };
    assert_int_equal(dsp_cstruct_in(&place_s, &v, &p, "t", "parameter `p`", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: field `rank` of parameter `p` is 300, out of range for C type "
                                   "`uint8_t` (0 to 255)");
    dsp_value_free(&v);

    /* Deep inside a list of records; what was built so far is freed. */
    v = place(1);
    v.as.record.fields[6].as.list.items[1].as.record.fields[1] = dsp_value_float(1e300);
    memset(&p, 0, sizeof p);
    assert_int_equal(dsp_cstruct_in(&place_s, &v, &p, "t", "parameter `p`", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: field `hops[1].lon` of parameter `p` is 1.0000000000000001e+300, out "
                                   "of range for C type `float`");
    assert_null(p.scores);
    dsp_value_free(&v);
}

/* What a tool gives back: every non-const pointer malloc'ed by it. */
static void tool_fill(struct place *p, const char *kind)
{
    memset(p, 0, sizeof *p);
    p->name = strdup("Lyon");
    p->kind = kind;
    p->rank = 255;
    p->at.lat = 45.75;
    p->n_scores = 0;
    p->hops = calloc(1, sizeof *p->hops);
    p->hops[0].lon = 4.5f;
    p->n_hops = 1;
    p->note = strdup("by the river");
    p->tags = calloc(2, sizeof *p->tags);
    p->tags[0] = strdup("a");
    p->tags[1] = strdup("b");
    p->n_tags = 2;
}

static void tool_struct_is_read_and_freed(void **state)
{
    (void)state;
    struct place p;
    tool_fill(&p, "city");
    dsp_value v;
    dsp_error e = { 0 };
    assert_int_equal(dsp_cstruct_out(&place_s, &p, &v, "t", "output `p`", &e), DSP_OK);
    char *json = NULL;
    assert_int_equal(dsp_value_to_json(&v, &place_t, &json, NULL, &e), DSP_OK);
    /* An absent optional (alt) is left out. */
    assert_string_equal(json, "{\"at\":{\"lat\":45.75,\"lon\":0},\"name\":\"Lyon\",\"kind\":\"city\",\"rank\":255,"
                              "\"open\":false,\"scores\":[],\"hops\":[{\"lat\":0,\"lon\":4.5}],\"note\":"
                              "\"by the river\",\"tags\":[\"a\",\"b\"]}");
    free(json);
    dsp_value_free(&v);
    /* Under ASan this frees every allocation the tool made, once. */
    dsp_cstruct_release(&place_s, &p, DSP_CSTRUCT_FROM_TOOL);
    assert_null(p.name);
    assert_null(p.tags);
    assert_string_equal(p.kind, "city"); /* const: the tool's */
}

static void tool_mistakes_name_the_path(void **state)
{
    (void)state;
    struct place p;
    dsp_value v;
    dsp_error e = { 0 };
    tool_fill(&p, "village");
    assert_int_equal(dsp_cstruct_out(&place_s, &p, &v, "t", "output `p`", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: field `kind` of output `p` is \"village\", not a value of Kind (one "
                                   "of: city; town)");
    dsp_cstruct_release(&place_s, &p, DSP_CSTRUCT_FROM_TOOL);

    tool_fill(&p, "city");
    free(p.tags[1]);
    p.tags[1] = NULL;
    assert_int_equal(dsp_cstruct_out(&place_s, &p, &v, "t", "its result", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` left field `tags[1]` of its result NULL");
    dsp_cstruct_release(&place_s, &p, DSP_CSTRUCT_FROM_TOOL);

    tool_fill(&p, "city");
    p.n_scores = 3;
    assert_int_equal(dsp_cstruct_out(&place_s, &p, &v, "t", "output `p`", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` left field `scores` of output `p` NULL with length 3");
    p.n_scores = 0;
    dsp_cstruct_release(&place_s, &p, DSP_CSTRUCT_FROM_TOOL);
}

static void arrays_of_structs(void **state)
{
    (void)state;
    dsp_value list = dsp_value_list(), x = point(7, 8);
    assert_int_equal(dsp_value_list_append(&list, &x, NULL), DSP_OK);
    x = point(9, 1e300);
    assert_int_equal(dsp_value_list_append(&list, &x, NULL), DSP_OK);
    void *a = NULL;
    dsp_error e = { 0 };
    assert_int_equal(dsp_cstruct_array_in(&point_s, &list, &a, "t", "pts", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: field `lon` of element 1 of parameter `pts` is "
                                   "1.0000000000000001e+300, out of range for C type `float`");
    assert_null(a);
    list.as.list.len = 1;
    assert_int_equal(dsp_cstruct_array_in(&point_s, &list, &a, "t", "pts", &e), DSP_OK);
    dsp_value back;
    assert_int_equal(dsp_cstruct_array_out(&point_s, a, 1, &back, "t", "output `pts`", &e), DSP_OK);
    assert_int_equal(back.as.list.len, 1);
    assert_true(dsp_value_equal(&back.as.list.items[0], &list.as.list.items[0]));
    dsp_value_free(&back);
    dsp_cstruct_array_free(&point_s, a, 1, DSP_CSTRUCT_PASSED);
    assert_int_equal(dsp_cstruct_array_out(&point_s, NULL, 2, &back, "t", "output `pts`", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t` left output `pts` NULL with length 2");
    list.as.list.len = 2;
    dsp_value_free(&list);

    /* `T **out` without a length: one struct or NULL, an optional. */
    struct point *one = malloc(sizeof *one);
    one->lat = 1.5;
    one->lon = 2.5f;
    assert_int_equal(dsp_cstruct_optional_out(&point_s, one, &back, "t", "output `p`", &e), DSP_OK);
    assert_int_equal(back.kind, DSP_TYPE_OPTIONAL);
    assert_true(back.as.some->as.record.fields[1].as.f == 2.5);
    dsp_value_free(&back);
    dsp_cstruct_array_free(&point_s, one, 1, DSP_CSTRUCT_FROM_TOOL);
    assert_int_equal(dsp_cstruct_optional_out(&point_s, NULL, &back, "t", "output `p`", &e), DSP_OK);
    assert_int_equal(back.kind, DSP_TYPE_OPTIONAL);
    assert_null(back.as.some);
}

/* `const T *p` marked optional: a struct when present (an optional
 * holding a record, or a bare record), NULL to pass when absent. */
static void optional_record_in(void **state)
{
    (void)state;
    struct point p = { 0, 0 };
    bool present = true;
    dsp_error e = { 0 };
    dsp_value none = dsp_value_none();
    assert_int_equal(dsp_cstruct_optional_in(&point_s, &none, &p, &present, "t", "parameter `by`", &e), DSP_OK);
    assert_false(present);
    assert_true(p.lat == 0 && p.lon == 0);

    dsp_value x = point(3, 4), some;
    assert_int_equal(dsp_value_some(&some, &x, &e), DSP_OK);
    assert_int_equal(dsp_cstruct_optional_in(&point_s, &some, &p, &present, "t", "parameter `by`", &e), DSP_OK);
    assert_true(present);
    assert_true(p.lat == 3 && p.lon == 4);
    dsp_cstruct_release(&point_s, &p, DSP_CSTRUCT_PASSED);
    dsp_value_free(&some);

    present = false;
    x = point(5, 6); /* dsp_value_some took the first */
    assert_int_equal(dsp_cstruct_optional_in(&point_s, &x, &p, &present, "t", "parameter `by`", &e), DSP_OK);
    assert_true(present);
    assert_true(p.lat == 5 && p.lon == 6);
    dsp_value_free(&x);

    x = point(0, 1e300);
    assert_int_equal(dsp_value_some(&some, &x, &e), DSP_OK);
    assert_int_equal(dsp_cstruct_optional_in(&point_s, &some, &p, &present, "t", "parameter `by`", &e),
                     DSP_ERR_INVALID);
    assert_false(present);
    assert_string_equal(e.message, "tool `t`: field `lon` of parameter `by` is 1.0000000000000001e+300, out of "
                                   "range for C type `float`");
    dsp_value_free(&some);
}

/* `bool has_x; T x;`: an optional<int|float|bool> member after its flag. */
struct reading {
    bool has_temp;
    float temp;
    bool has_rain;
    int16_t rain;
    bool has_windy;
    bool windy;
};
static const dsp_type opt_float_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_float };
static const dsp_type opt_int_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_int };
static const dsp_type opt_bool_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_bool };
static const dsp_field reading_f[] = { { "temp", &opt_float_t, NULL }, { "rain", &opt_int_t, NULL },
                                       { "windy", &opt_bool_t, NULL } };
static const dsp_type reading_t = { .kind = DSP_TYPE_RECORD, .fields = reading_f, .n_fields = 3, .name = "Reading" };
static const dsp_cmember reading_m[] = {
    { .name = "has_temp", .kind = DSP_CM_PRESENT, .offset = offsetof(struct reading, has_temp), .size = 1 },
    { .name = "temp", .kind = DSP_CM_FLOAT, .offset = offsetof(struct reading, temp), .size = sizeof(float),
      .field = 0, .count_offset = offsetof(struct reading, has_temp), .ctype = "float" },
    { .name = "has_rain", .kind = DSP_CM_PRESENT, .offset = offsetof(struct reading, has_rain), .size = 1 },
    { .name = "rain", .kind = DSP_CM_SIGNED, .offset = offsetof(struct reading, rain), .size = sizeof(int16_t),
      .field = 1, .count_offset = offsetof(struct reading, has_rain), .ctype = "int16_t" },
    { .name = "has_windy", .kind = DSP_CM_PRESENT, .offset = offsetof(struct reading, has_windy), .size = 1 },
    { .name = "windy", .kind = DSP_CM_BOOL, .offset = offsetof(struct reading, windy), .size = sizeof(bool),
      .field = 2, .count_offset = offsetof(struct reading, has_windy) },
};
static const dsp_cstruct reading_s = { "struct reading", sizeof(struct reading), &reading_t, reading_m, 6 };

static void optional_scalar_members(void **state)
{
    (void)state;
    dsp_value v, x;
    dsp_error e = { 0 };
    assert_int_equal(dsp_value_record(&v, 3, NULL), DSP_OK);
    x = dsp_value_float(1.5);
    assert_int_equal(dsp_value_some(&v.as.record.fields[0], &x, NULL), DSP_OK);
    v.as.record.fields[1] = dsp_value_none();
    x = dsp_value_bool(false);
    assert_int_equal(dsp_value_some(&v.as.record.fields[2], &x, NULL), DSP_OK);
    struct reading r;
    memset(&r, 0xff, sizeof r); /* the flags are written either way */
    r.rain = 7;
    assert_int_equal(dsp_cstruct_in(&reading_s, &v, &r, "t", "parameter `r`", &e), DSP_OK);
    assert_true(r.has_temp && r.temp == 1.5f);
    assert_false(r.has_rain);
    assert_true(r.has_windy && !r.windy);
    dsp_value back;
    assert_int_equal(dsp_cstruct_out(&reading_s, &r, &back, "t", "output `r`", &e), DSP_OK);
    assert_true(dsp_value_equal(&back, &v));
    assert_null(back.as.record.fields[1].as.some);
    dsp_value_free(&back);

    /* A present value is range-checked as a required one is. */
    dsp_value_free(&v.as.record.fields[1]);
    x = dsp_value_int(40000);
    assert_int_equal(dsp_value_some(&v.as.record.fields[1], &x, NULL), DSP_OK);
    assert_int_equal(dsp_cstruct_in(&reading_s, &v, &r, "t", "parameter `r`", &e), DSP_ERR_INVALID);
    assert_string_equal(e.message, "tool `t`: field `rain` of parameter `r` is 40000, out of range for C type "
                                   "`int16_t` (-32768 to 32767)");
    dsp_value_free(&v);

    /* A tool that clears a flag leaves the field absent, whatever the value says. */
    struct reading t = { false, 99, true, -3, false, true };
    assert_int_equal(dsp_cstruct_out(&reading_s, &t, &back, "t", "output `r`", &e), DSP_OK);
    assert_null(back.as.record.fields[0].as.some);
    assert_int_equal(back.as.record.fields[1].as.some->as.i, -3);
    assert_null(back.as.record.fields[2].as.some);
    dsp_value_free(&back);
}

/* ---- maps: `char **x_keys; T *x_values; size_t n_x;` and parameters ---- */

struct stock {
    char **count_keys;          /* map<string, int> */
    int16_t *count_values;
    size_t n_count;
    const char *const *at_keys; /* map<string, Point>: the tool's own */
    const struct point *at_values;
    size_t at_len;
};

static const dsp_type int_map_t = { .kind = DSP_TYPE_MAP, .elem = &dsp_type_int };
static const dsp_type point_map_t = { .kind = DSP_TYPE_MAP, .elem = &point_t };
static const dsp_type str_map_t = { .kind = DSP_TYPE_MAP, .elem = &dsp_type_string };
static const dsp_field stock_f[] = { { "at", &point_map_t, NULL }, { "count", &int_map_t, NULL } };
static const dsp_type stock_t = { .kind = DSP_TYPE_RECORD, .fields = stock_f, .n_fields = 2, .name = "Stock" };
static const dsp_cmember stock_m[] = {
    { .name = "count_keys", .kind = DSP_CM_MAP, .offset = offsetof(struct stock, count_keys), .field = 1,
      .count_offset = offsetof(struct stock, n_count) },
    { .name = "count_values", .kind = DSP_CM_MAP_VALUES, .offset = offsetof(struct stock, count_values),
      .size = sizeof(int16_t), .elem = DSP_CM_SIGNED, .ctype = "int16_t" },
    { .name = "n_count", .kind = DSP_CM_COUNT, .offset = offsetof(struct stock, n_count) },
    { .name = "at_keys", .kind = DSP_CM_MAP, .offset = offsetof(struct stock, at_keys), .field = 0, .borrowed = true,
      .elem_borrowed = true, .count_offset = offsetof(struct stock, at_len) },
    { .name = "at_values", .kind = DSP_CM_MAP_VALUES, .offset = offsetof(struct stock, at_values),
      .size = sizeof(struct point), .elem = DSP_CM_STRUCT, .sub = &point_s, .borrowed = true },
    { .name = "at_len", .kind = DSP_CM_COUNT, .offset = offsetof(struct stock, at_len) },
};
static const dsp_cstruct stock_s = { "struct stock", sizeof(struct stock), &stock_t, stock_m, 6 };

static void put(dsp_value *m, const char *key, dsp_value v)
{
    assert_int_equal(dsp_value_map_put(m, key, &v, NULL), DSP_OK);
}

static char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    assert_non_null(d);
    strcpy(d, s);
    return d;
}

static void map_members_in_and_out(void **state)
{
    (void)state;
    dsp_value rec;
    assert_int_equal(dsp_value_record(&rec, 2, NULL), DSP_OK);
    rec.as.record.fields[0] = dsp_value_map();
    put(&rec.as.record.fields[0], "home", point(1.5, -2));
    rec.as.record.fields[1] = dsp_value_map();
    put(&rec.as.record.fields[1], "pens", dsp_value_int(3));
    put(&rec.as.record.fields[1], "ink", dsp_value_int(-7));
    struct stock c;
    memset(&c, 0, sizeof c);
    dsp_error err = {0};
    assert_int_equal(dsp_cstruct_in(&stock_s, &rec, &c, "t", "parameter `s`", &err), DSP_OK);
    assert_int_equal(c.n_count, 2);
    assert_string_equal(c.count_keys[1], "ink");
    assert_int_equal(c.count_values[1], -7);
    assert_int_equal(c.at_len, 1);
    assert_true(c.at_values[0].lat == 1.5);
    dsp_value back;
    assert_int_equal(dsp_cstruct_out(&stock_s, &c, &back, "t", "output `s`", &err), DSP_OK);
    assert_true(dsp_value_equal(&back, &rec));
    dsp_value_free(&back);
    dsp_cstruct_release(&stock_s, &c, DSP_CSTRUCT_PASSED);
    assert_null(c.count_keys);
    assert_null(c.at_values);

    /* A value that does not fit its C type names the key. */
    put(&rec.as.record.fields[1], "clips", dsp_value_int(70000));
    assert_int_equal(dsp_cstruct_in(&stock_s, &rec, &c, "t", "parameter `s`", &err), DSP_ERR_INVALID);
    assert_non_null(strstr(err.message, "field `count[\"clips\"]` of parameter `s` is 70000, out of range for C "
                                        "type `int16_t`"));
    assert_null(c.count_keys);
    dsp_error_clear(&err);
    dsp_value_free(&rec);

    /* A tool's map: its keys and values freed, the const one only read. */
    static const char *const at_keys[] = { "a", NULL };
    static const struct point at_values[] = { { 1, 2 }, { 3, 4 } };
    memset(&c, 0, sizeof c);
    c.count_keys = malloc(2 * sizeof *c.count_keys);
    c.count_values = malloc(2 * sizeof *c.count_values);
    c.count_keys[0] = dup_str("x");
    c.count_keys[1] = dup_str("y");
    c.count_values[0] = 1;
    c.count_values[1] = 2;
    c.n_count = 2;
    c.at_keys = at_keys;
    c.at_values = at_values;
    c.at_len = 1;
    assert_int_equal(dsp_cstruct_out(&stock_s, &c, &back, "t", "output `s`", &err), DSP_OK);
    assert_int_equal(back.as.record.fields[1].as.map.len, 2);
    assert_int_equal(dsp_value_map_get(&back.as.record.fields[1], "y")->as.i, 2);
    dsp_value_free(&back);
    c.at_len = 2; /* the tool's NULL key */
    assert_int_equal(dsp_cstruct_out(&stock_s, &c, &back, "t", "output `s`", &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "tool `t` left key 1 of field `at` of output `s` NULL");
    dsp_error_clear(&err);
    free(c.count_keys[1]);
    c.count_keys[1] = dup_str("x"); /* a key given twice */
    c.at_len = 1;
    assert_int_equal(dsp_cstruct_out(&stock_s, &c, &back, "t", "output `s`", &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "tool `t` gave key \"x\" twice in field `count` of output `s`; a map's keys "
                                     "are distinct");
    dsp_error_clear(&err);
    /* Freeing the static `at` arrays would be an error ASan reports. */
    dsp_cstruct_release(&stock_s, &c, DSP_CSTRUCT_FROM_TOOL);
    assert_null(c.count_keys);
    assert_null(c.count_values);
}

static void map_parameters(void **state)
{
    (void)state;
    const dsp_cmember strs[2] = { { .name = "m", .kind = DSP_CM_MAP },
                                  { .name = "m_values", .kind = DSP_CM_MAP_VALUES, .elem = DSP_CM_STRING,
                                    .size = sizeof(char *) } };
    dsp_value m = dsp_value_map();
    put(&m, "k1", str("one"));
    put(&m, "k2", str("two"));
    const char **keys = NULL;
    const char **vals = NULL;
    size_t n = 0;
    dsp_error err = {0};
    assert_int_equal(dsp_cmap_in(strs, &str_map_t, &m, &keys, &vals, &n, "t", "parameter `m`", &err), DSP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], "k1");
    assert_string_equal(vals[1], "two");
    dsp_cmap_release(strs, keys, vals, n, DSP_CSTRUCT_PASSED);
    dsp_value_free(&m);
    m = dsp_value_map(); /* empty: arrays all the same, never NULL */
    assert_int_equal(dsp_cmap_in(strs, &str_map_t, &m, &keys, &vals, &n, "t", "parameter `m`", &err), DSP_OK);
    assert_int_equal(n, 0);
    assert_non_null(keys);
    assert_non_null(vals);
    dsp_cmap_release(strs, keys, vals, n, DSP_CSTRUCT_PASSED);

    /* Out: the tool's malloc'ed keys and strings, all freed. */
    char **tk = malloc(sizeof *tk), **tv = malloc(sizeof *tv);
    tk[0] = dup_str("a");
    tv[0] = dup_str("b");
    dsp_value out;
    assert_int_equal(dsp_cmap_out(strs, &str_map_t, tk, tv, 1, &out, "t", "output `m`", &err), DSP_OK);
    assert_string_equal(dsp_value_cstr(dsp_value_map_get(&out, "a")), "b");
    dsp_value_free(&out);
    dsp_cmap_release(strs, tk, tv, 1, DSP_CSTRUCT_FROM_TOOL);
    assert_int_equal(dsp_cmap_out(strs, &str_map_t, NULL, NULL, 0, &out, "t", "output `m`", &err), DSP_OK);
    assert_int_equal(out.as.map.len, 0);
    dsp_value_free(&out);
    assert_int_equal(dsp_cmap_out(strs, &str_map_t, NULL, NULL, 3, &out, "t", "output `m`", &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "tool `t` left the keys of output `m` NULL with length 3");
    dsp_error_clear(&err);
    tk = malloc(sizeof *tk);
    tv = calloc(1, sizeof *tv);
    tk[0] = dup_str("k");
    assert_int_equal(dsp_cmap_out(strs, &str_map_t, tk, tv, 1, &out, "t", "output `m`", &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "tool `t` left field `m[\"k\"]` of output `m` NULL");
    dsp_error_clear(&err);
    dsp_cmap_release(strs, tk, tv, 1, DSP_CSTRUCT_FROM_TOOL);

    /* A value past its C type names the parameter's key. */
    const dsp_cmember i8s[2] = { { .name = "n", .kind = DSP_CM_MAP },
                                 { .name = "n_values", .kind = DSP_CM_MAP_VALUES, .elem = DSP_CM_SIGNED,
                                   .size = sizeof(int8_t), .ctype = "int8_t" } };
    dsp_value_free(&m);
    m = dsp_value_map();
    put(&m, "ok", dsp_value_int(1));
    put(&m, "big", dsp_value_int(300));
    int8_t *nv = NULL;
    assert_int_equal(dsp_cmap_in(i8s, &int_map_t, &m, &keys, &nv, &n, "t", "parameter `n`", &err), DSP_ERR_INVALID);
    assert_string_equal(err.message, "tool `t`: field `n[\"big\"]` of parameter `n` is 300, out of range for C type "
                                     "`int8_t` (-128 to 127)");
    assert_null(keys);
    assert_null(nv);
    dsp_error_clear(&err);
    dsp_value_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_fills_struct_and_reads_back),
        cmocka_unit_test(out_of_range_names_the_path),
        cmocka_unit_test(tool_struct_is_read_and_freed),
        cmocka_unit_test(tool_mistakes_name_the_path),
        cmocka_unit_test(arrays_of_structs),
        cmocka_unit_test(optional_record_in),
        cmocka_unit_test(optional_scalar_members),
        cmocka_unit_test(map_members_in_and_out),
        cmocka_unit_test(map_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
