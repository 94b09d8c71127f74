/* grammar/csource.h — one C source or header file, read and parsed with
 * libtree-sitter and the tree-sitter C grammar (tree-sitter-c, fetched by
 * scripts/setup.d/tree-sitter-c.sh).
 *
 * Shared by the header reader (cheader.c) and the generated-code checker
 * (tests/tools/cshape.c), so both see C the same way.
 *
 * tree-sitter parses C without running the preprocessor. The one idiom that
 * defeats it in ordinary headers is the C++ linkage guard
 *
 *     #ifdef __cplusplus          ...          #ifdef __cplusplus
 *     extern "C" {                             }
 *     #endif                                   #endif
 *
 * whose braces are split across two conditionals. cs_open blanks such
 * guards (replacing their bytes with spaces, so every line and column
 * stays where it was) before parsing; a C compiler ignores them anyway.
 */
#ifndef DSPCC_CSOURCE_H
#define DSPCC_CSOURCE_H

#include <stddef.h>
#include <tree_sitter/api.h>

/* The generated parser of tree-sitter-c (third_party/tree-sitter-c). */
const TSLanguage *tree_sitter_c(void);

typedef struct cs_file {
    char *path;       /* owned copy of the path as given */
    char *text;       /* owned: the bytes, linkage guards blanked, NUL-terminated */
    size_t len;
    TSParser *parser;
    TSTree *tree;
} cs_file;

/* Reads and parses path. On failure returns -1, leaves *f closed (safe to
 * cs_close) and writes a message such as "cannot open header: No such file
 * or directory" into err. */
int cs_open(cs_file *f, const char *path, char *err, size_t errlen);

/* Parses text (copied) as if read from path; for tests and stdin. */
int cs_open_text(cs_file *f, const char *path, const char *text, size_t len,
                 char *err, size_t errlen);

/* Frees everything cs_open allocated. Safe on a zeroed or closed file. */
void cs_close(cs_file *f);

TSNode cs_root(const cs_file *f);

/* Finds the first ERROR or MISSING node in document order. Returns 1 and
 * fills *where and msg ("syntax error near 'x'", "missing ';'") if there is
 * one, 0 if the file parsed cleanly. */
int cs_first_syntax_error(const cs_file *f, TSNode *where, char *msg, size_t msglen);

/* A malloc'd copy of a node's text, or NULL when out of memory. */
char *cs_node_text(const cs_file *f, TSNode n);

/* Whether the node's text equals s exactly. */
int cs_node_text_is(const cs_file *f, TSNode n, const char *s);

/* Whether a node has the given grammar type, e.g. "declaration". */
int cs_is(TSNode n, const char *type);

/* 1-based line and byte column of a node's first byte. */
void cs_position(TSNode n, int *line, int *col);

/* Whether a declaration-like node (declaration, function_definition) has
 * the storage class spec ("static", "extern", "inline", "typedef"). */
int cs_has_storage(const cs_file *f, TSNode decl, const char *spec);

/* Calls visit on each file-scope item (declaration, function_definition,
 * type_definition, preproc_def, ...) looking through the containers that
 * do not open a scope: #if/#ifdef/#else branches and extern "C" blocks. */
typedef void (*cs_visit_fn)(const cs_file *f, TSNode item, void *ctx);
void cs_visit_file_scope(const cs_file *f, cs_visit_fn visit, void *ctx);

/* Follows a declarator down to the name it declares. Sets *is_function when
 * the name is itself a function (`f(void)`, `*f(void)`), not a pointer to
 * one (`(*fp)(void)`), and *fdecl to that function_declarator. Returns a
 * null node when the declarator names nothing (abstract declarators). */
TSNode cs_declarator_name(TSNode declarator, int *is_function, TSNode *fdecl);

#endif
