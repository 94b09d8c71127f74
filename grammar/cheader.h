/* grammar/cheader.h — reads a C function prototype from a header and maps
 * its parameter and return types to .dsp types.
 *
 * Plain C with no dependency on the compiler's AST: the front end calls it
 * for `tool`/`metric` declarations that name a header, and turns the result
 * into its own types. The mapping rules (which C types are accepted, the
 * list and output conventions, who frees what) are in docs/c-headers.md.
 *
 *     ch_prototype p;
 *     ch_diag d;
 *     if (ch_find_function("tools/search.h", "search", &p, &d) != CH_OK) {
 *         fprintf(stderr, "%s\n", d.text);  // tools/search.h:3:20: error: ...
 *         return 1;
 *     }
 *     ... p.params[i].name, ch_dsp_type(p.params[i].kind, p.params[i].elem) ...
 *     ch_prototype_free(&p);
 */
#ifndef DSPCC_CHEADER_H
#define DSPCC_CHEADER_H

#include <stddef.h>

typedef enum ch_status {
    CH_OK = 0,
    CH_ERR_IO,          /* the header cannot be opened or read */
    CH_ERR_SYNTAX,      /* the header has a syntax error (first one reported) */
    CH_ERR_NOT_FOUND,   /* no function of that name (near names suggested) */
    CH_ERR_UNMAPPABLE,  /* a parameter or return type has no .dsp type */
    CH_ERR_NOMEM
} ch_status;

/* .dsp value kinds. CH_VOID only describes a return: nothing is returned.
 * CH_RECORD is a C struct (ch_struct): the .dsp record of its name. */
/* CH_MAP is a map<string, T>: a keys array, a values array and their count
 * (`char **x_keys; T *x_values; size_t n_x;`), elem the values' kind. */
typedef enum ch_kind { CH_VOID, CH_STRING, CH_INT, CH_FLOAT, CH_BOOL, CH_LIST, CH_RECORD, CH_OPTIONAL, CH_MAP } ch_kind;

struct ch_struct;

/* One member of a C struct, in C order. */
typedef struct ch_member {
    char *name;
    char *c_type;       /* C spelling, typedefs resolved: "double", "const char *",
                           "struct point", "struct point *", "char **" */
    ch_kind kind;       /* INT, FLOAT, BOOL; STRING (char *, const or not: a .dsp string,
                           enum name or optional<string>); RECORD (a struct by value);
                           OPTIONAL (a pointer to one struct, NULL = absent; or a scalar
                           after its flag `bool has_x;`, elem INT, FLOAT or BOOL);
                           LIST (a pointer, then its count member); MAP (`char **x_keys`,
                           then `T *x_values` (is_values) and the count) */
    ch_kind elem;       /* LIST, MAP and its values: the elements' kind (INT, FLOAT, BOOL,
                           STRING, RECORD); OPTIONAL: CH_RECORD, or the scalar's kind */
    char *field;        /* MAP: the field it holds, its name without `_keys`; else NULL (the
                           member's name is the field's) */
    int is_values;      /* the `T *x_values` of the MAP member just before it (no field) */
    char *elem_c_type;  /* LIST, a map's values: one element's C type; OPTIONAL: the struct's */
    int is_count;       /* the size_t count of the LIST member just before it */
    int is_flag;        /* the bool `has_x` saying whether the OPTIONAL scalar member x
                           right after it is present (no field of its own) */
    int borrowed;       /* a pointer to const: in a result it is the tool's, never freed */
    int elem_borrowed;  /* LIST (a map's values) of `const char *` strings; MAP: its keys */
    const struct ch_struct *st; /* RECORD, OPTIONAL, LIST or MAP (and its values) of RECORD */
    int line, col;
} ch_member;

/* A C struct defined in the header (or one it includes with quotes). */
typedef struct ch_struct {
    char *record;       /* the .dsp record it maps to: the typedef's name when the
                           prototype names it by a typedef, else the tag */
    char *c_name;       /* how C spells it: "struct point", or "Point" for an
                           untagged struct declared `typedef struct {...} Point;` */
    int tagged;
    char *file;         /* where it is defined */
    int line, col;
    ch_member *members;
    size_t n_members;
} ch_struct;

/* What a C parameter is for, seen from .dsp. */
typedef enum ch_role {
    CH_ROLE_IN,   /* a .dsp input argument, passed by value (lists: pointer + length) */
    CH_ROLE_OUT,  /* a .dsp result the function writes through this pointer */
    CH_ROLE_LEN,  /* the length of the list parameter just before it: size_t
                     for an input list, size_t * for an output list; or of the
                     map two before it */
    CH_ROLE_VALUES /* the values array of the CH_MAP parameter just before it (its
                     keys; a map's name there is the keys' without `_keys`) */
} ch_role;

typedef struct ch_param {
    char *name;       /* as written in the header */
    char *c_type;     /* C spelling with typedefs resolved, e.g. "const char *const *" */
    ch_role role;
    ch_kind kind;     /* CH_ROLE_IN/OUT: the .dsp type; CH_ROLE_LEN: CH_INT */
    ch_kind elem;     /* kind == CH_LIST: kind of the elements (CH_MAP, CH_ROLE_VALUES: of
                         the values); CH_OPTIONAL: CH_RECORD
                         (an output `T **out`, or an input `const T *p` marked by a
                         comment `optional` or `nullable` right after it: NULL is absent) */
    const ch_struct *st; /* kind or elem CH_RECORD (and CH_OPTIONAL): the struct */
    int line, col;    /* 1-based position of the parameter in the header */
} ch_param;

typedef struct ch_prototype {
    char *name;
    int line, col;        /* where the prototype starts in the header */
    char *ret_c_type;     /* "int", "char *", "void", ... */
    ch_kind ret_kind;     /* CH_VOID when nothing is returned to .dsp */
    int ret_is_status;    /* 1: the int return is a status, 0 = success, and
                             the results come through CH_ROLE_OUT params */
    int ret_owned;        /* 1: a `char *` result the caller must free() */
    int is_static;        /* 1: declared `static` (e.g. `static inline` in the
                             header): no shared object exports it */
    const ch_struct *ret_st; /* ret_kind == CH_RECORD: the struct returned by value */
    ch_param *params;     /* every C parameter, in C order */
    size_t n_params;
    ch_struct **structs;  /* every struct the prototype reaches, owned */
    size_t n_structs;
} ch_prototype;

/* A C scalar type a .dsp int, float or bool may be passed as. One table
 * for the mapping here, the interpreter (which calls through libffi by
 * size and signedness) and the C backend. Names are normalized spellings:
 * "unsigned long", "int64_t", "size_t", "double", "bool". */
typedef enum ch_scalar_class { CH_SIGNED, CH_UNSIGNED, CH_FLOATING, CH_BOOLEAN } ch_scalar_class;

typedef struct ch_scalar {
    const char *name;
    ch_scalar_class cls;
    unsigned size;            /* sizeof on this machine */
} ch_scalar;

/* The scalar type named c_type, or NULL if it is not one. */
const ch_scalar *ch_scalar_find(const char *c_type);

#define CH_DIAG_MAX 1024

/* A diagnostic that points into the header. */
typedef struct ch_diag {
    ch_status status;
    int line, col;                /* 1-based; 0 when the error has no position */
    char message[CH_DIAG_MAX];    /* "cannot map parameter type ..." */
    char text[CH_DIAG_MAX + 600]; /* "header.h:LINE:COL: error: message" */
    char path[512];               /* the file line:col is in: the header, or one it
                                     includes (a struct defined there) */
} ch_diag;

/* A parsed header, for looking up several functions in one parse. */
typedef struct ch_header ch_header;

/* Reads and parses the header. Fails with CH_ERR_IO or CH_ERR_SYNTAX. */
ch_status ch_header_open(const char *path, ch_header **out, ch_diag *diag);

/* Finds func_name and maps its prototype into *out (caller frees it with
 * ch_prototype_free). On failure *out is zeroed and diag says why. */
ch_status ch_header_find(const ch_header *h, const char *func_name, ch_prototype *out,
                         ch_diag *diag);

/* Like ch_header_open, for C text held in memory (copied); path only names
 * it in diagnostics. A .dsp file's inline prototype is read this way
 * (padded to its column, so positions map back to the .dsp file). */
ch_status ch_header_open_text(const char *path, const char *text, size_t len, ch_header **out,
                              ch_diag *diag);

void ch_header_close(ch_header *h);

/* ch_header_open + ch_header_find + ch_header_close. */
ch_status ch_find_function(const char *header_path, const char *func_name, ch_prototype *out,
                           ch_diag *diag);

/* Frees what ch_header_find allocated and zeroes *p. Safe on a zeroed one. */
void ch_prototype_free(ch_prototype *p);

/* The .dsp spelling of a type: "string", "int", "list<string>", "void";
 * "record", "list<record>" and "optional<record>" without the struct (use
 * ch_dsp_type_st for the record's name). */
const char *ch_dsp_type(ch_kind kind, ch_kind elem);

/* Like ch_dsp_type, with st's record name: "Point", "list<Point>". */
void ch_dsp_type_st(ch_kind kind, ch_kind elem, const ch_struct *st, char *buf, size_t cap);

/* The prototype as .dsp sees it, for messages and docs:
 * "search(query: string, k: int) -> (hits: list<string>)"; a plain return
 * is shown as "-> int", none as "-> ()". Length parameters are left out.
 * Truncates to fit cap; returns the length it needed, like snprintf. */
size_t ch_dsp_signature(const ch_prototype *p, char *buf, size_t cap);

#endif
