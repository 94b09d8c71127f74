/* fuzz_tools.c — libFuzzer harness for native tool calls' arguments: the
 * JSON an LM writes for a tool bound to its typed parameters
 * (dsp_tool_bind_args, react.c), then each record argument passed into a
 * C struct and read back (dsp_cstruct_in/_out, cstruct.c), as a tool
 * declared from a C header gets it. The input is the arguments' text.
 * Arguments bind or are refused with a message naming the tool; a record
 * that fits its struct reads back as the same value, one that does not
 * (an int past uint8_t) is refused naming its path, and so is the map
 * argument through a tool's keys and values; nothing crashes, trips
 * a sanitizer or leaks. Seeds: tests/fuzz/corpus/fuzz_tools.
 * The struct tables are written as a generated program writes them
 * (offsetof), as in tests/runtime/test_cstruct.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/cstruct.h"
#include "dsp/react.h"

/* A broken promise: says which, and aborts (libFuzzer saves the input). */
#define die_if(bad)                                                                  \
    do {                                                                             \
        if (bad) {                                                                   \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #bad);        \
            abort();                                                                 \
        }                                                                            \
    } while (0)

struct point {
    double lat;
    double lon; /* double: what goes in comes back (test_cstruct.c covers float) */
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
    { .name = "lon", .kind = DSP_CM_FLOAT, .offset = offsetof(struct point, lon), .size = sizeof(double), .field = 1,
      .ctype = "double" },
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

static const dsp_type ints_t = { .kind = DSP_TYPE_LIST, .elem = &dsp_type_int };
static const dsp_type opt_bool_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &dsp_type_bool };
static const dsp_type map_t = { .kind = DSP_TYPE_MAP, .elem = &dsp_type_int };
static const dsp_type opt_place_t = { .kind = DSP_TYPE_OPTIONAL, .elem = &place_t };
static const dsp_field params[] = {
    { "q", &dsp_type_string, NULL }, { "k", &dsp_type_int, NULL },     { "w", &dsp_type_float, NULL },
    { "flag", &opt_bool_t, NULL },   { "kind", &kind_t, NULL },        { "ids", &ints_t, NULL },
    { "counts", &map_t, NULL },      { "place", &place_t, NULL },      { "route", &points_t, NULL },
    { "maybe", &opt_place_t, NULL },
};
#define N_PARAMS (sizeof params / sizeof params[0])
enum { P_COUNTS = 6, P_PLACE = 7, P_ROUTE = 8, P_MAYBE = 9 };
static const dsp_tool tool = { .name = "fz", .params = params, .n_params = N_PARAMS };

/* A record into its struct and back: the same value, or refused naming
 * the path. */
static void round_trip(const dsp_value *v)
{
    struct place c;
    memset(&c, 0, sizeof c);
    dsp_error err = { 0 };
    if (dsp_cstruct_in(&place_s, v, &c, "fz", "parameter `place`", &err) != DSP_OK) {
        die_if(err.message[0] == '\0' || strstr(err.message, "fz") == NULL);
        dsp_error_clear(&err);
        return;
    }
    dsp_value back = { 0 };
    dsp_status st = dsp_cstruct_out(&place_s, &c, &back, "fz", "result", &err);
    die_if(st != DSP_OK || !dsp_value_equal(v, &back));
    dsp_value_free(&back);
    dsp_cstruct_release(&place_s, &c, DSP_CSTRUCT_PASSED);
    dsp_error_clear(&err);
}

static void route_trip(const dsp_value *v)
{
    void *a = NULL;
    dsp_error err = { 0 };
    if (dsp_cstruct_array_in(&point_s, v, &a, "fz", "route", &err) != DSP_OK) {
        die_if(err.message[0] == '\0');
        dsp_error_clear(&err);
        return;
    }
    dsp_value back = { 0 };
    die_if(dsp_cstruct_array_out(&point_s, a, v->as.list.len, &back, "fz", "result", &err) != DSP_OK);
    die_if(!dsp_value_equal(v, &back));
    dsp_value_free(&back);
    dsp_cstruct_array_free(&point_s, a, v->as.list.len, DSP_CSTRUCT_PASSED);
    dsp_error_clear(&err);
}

/* The map argument as a tool's keys and int16_t values (dsp_cmap_in, as
 * `const char *const *counts_keys, const int16_t *counts_values, size_t
 * n_counts`) and back (dsp_cmap_out): the same value, or refused naming
 * the key. */
static const dsp_cmember counts_m[2] = {
    { .name = "counts", .kind = DSP_CM_MAP },
    { .name = "counts_values", .kind = DSP_CM_MAP_VALUES, .elem = DSP_CM_SIGNED, .size = sizeof(int16_t),
      .ctype = "int16_t" },
};

static void counts_trip(const dsp_value *v)
{
    const char **keys = NULL;
    int16_t *vals = NULL;
    size_t n = 0;
    dsp_error err = { 0 };
    if (dsp_cmap_in(counts_m, &map_t, v, &keys, &vals, &n, "fz", "parameter `counts`", &err) != DSP_OK) {
        die_if(strstr(err.message, "field `counts[\"") == NULL || keys || vals);
        dsp_error_clear(&err);
        return;
    }
    dsp_value back = { 0 };
    die_if(dsp_cmap_out(counts_m, &map_t, keys, vals, n, &back, "fz", "result", &err) != DSP_OK);
    die_if(!dsp_value_equal(v, &back));
    dsp_value_free(&back);
    dsp_cmap_release(counts_m, keys, vals, n, DSP_CSTRUCT_PASSED);
    dsp_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees a read past it. */
    char *json = malloc(size ? size : 1);
    if (!json)
        return 0;
    memcpy(json, data, size);
    dsp_value args[N_PARAMS];
    memset(args, 0, sizeof args);
    char *problem = NULL;
    dsp_status st = dsp_tool_bind_args(&tool, json, size, args, &problem);
    free(json);
    if (st != DSP_OK) {
        die_if(!problem || strstr(problem, "tool `fz`") == NULL);
        free(problem);
        return 0;
    }
    die_if(problem != NULL);
    for (size_t i = 0; i < N_PARAMS; i++)
        die_if(args[i].kind != params[i].type->kind);
    round_trip(&args[P_PLACE]);
    route_trip(&args[P_ROUTE]);
    counts_trip(&args[P_COUNTS]);
    if (args[P_MAYBE].as.some)
        round_trip(args[P_MAYBE].as.some);
    dsp_values_free(args, N_PARAMS);
    return 0;
}
