/* grammar/ctype_map.h — a C type as tree-sitter-c spells it, normalized
 * (typedefs resolved, pointer levels counted) and sorted into the shapes
 * the .dsp mapping knows (docs/c-headers.md). Internal to cheader.c. */
#ifndef DSPCC_CTYPE_MAP_H
#define DSPCC_CTYPE_MAP_H

#include "cheader.h"
#include "csource.h"

#define CM_TYPE_TEXT 256
#define CM_MAX_PTR 8

typedef struct cm_type {
    char base[128];          /* "char", "int64_t", "unsigned long", "struct foo" */
    int base_const;
    int nptr;                /* pointer levels; an array parameter counts as one */
    unsigned ptr_const;      /* bit i set: pointer level i+1 (1 = nearest the base) is const */
    const char *problem;     /* set when the shape has no .dsp type: "a function pointer" */
    int unknown_name;        /* base is a name neither builtin nor a typedef of the header */
    char typedef_name[128];  /* the typedef the declaration used, "" if none */
    char spelling[CM_TYPE_TEXT]; /* a parameter's source text, for messages about problems */
    TSNode spec;             /* base is a struct: its struct_specifier (with or without a body) */
    const cs_file *spec_file;/* the file spec is in */
} cm_type;

/* How cm_build finds a typedef of the header. */
typedef struct cm_lookup {
    int (*find)(void *ctx, const char *name, const cs_file **file, TSNode *decl,
                TSNode *declarator);
    void *ctx;
} cm_lookup;

/* The type declared by decl (a parameter_declaration, declaration or
 * type_definition) through declarator, which is walked down to its name or
 * to stop (the function_declarator, when computing a return type). */
void cm_build(const cs_file *f, TSNode decl, TSNode declarator, TSNode stop,
              const cm_lookup *lk, cm_type *out);

typedef enum cm_shape {
    CM_BAD,             /* no .dsp type */
    CM_VOID,            /* void */
    CM_SCALAR,          /* an integer, floating or bool value */
    CM_STR_IN,          /* const char * */
    CM_STR_MUT,         /* char * (a returned string the caller frees) */
    CM_STR_OUT,         /* char ** */
    CM_STR_LIST_IN,     /* const char *const *, const char ** */
    CM_STR_LIST_OUT,    /* char *** */
    CM_SCALAR_LIST_IN,  /* const T * */
    CM_SCALAR_OUT,      /* T * */
    CM_SCALAR_LIST_OUT, /* T ** */
    CM_STRUCT,          /* struct T: a record by value */
    CM_STRUCT_IN,       /* const struct T *: a record in (or a list, with a length) */
    CM_STRUCT_OUT,      /* struct T *: a record the function fills */
    CM_STRUCT_PTR_OUT   /* struct T **: a list (with a length) or an optional record out */
} cm_shape;

/* Whether t's base type is a struct (tagged, or untagged through a typedef). */
int cm_is_struct(const cm_type *t);

cm_shape cm_classify(const cm_type *t);

/* CH_INT, CH_FLOAT or CH_BOOL for a scalar base type, else CH_VOID. */
ch_kind cm_scalar_kind(const cm_type *t);

/* Whether t is size_t (pointer = 0) or size_t * (pointer = 1). */
int cm_is_size(const cm_type *t, int pointer);

/* The C spelling: "const char *const *". */
void cm_format(const cm_type *t, char *buf, size_t cap);

/* What to write instead of a type with no .dsp type. */
void cm_hint(const cm_type *t, char *buf, size_t cap);

#endif
