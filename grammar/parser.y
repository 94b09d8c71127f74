/* parser.y — the .dsp grammar (bison, pure, reentrant, with locations).
 *
 * Builds the syntax tree of ast.h. Recovery: a syntax error inside a
 * declaration skips to the next declaration keyword; inside a module body
 * or signature, to the next statement or field; so one run reports several
 * errors. The reference for the language is docs/language.md.
 */
%define api.pure full
%define api.prefix {dsp_yy}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {struct parse_ctx *pc}

%code requires {
#include "ast.h"
struct parse_ctx;
}

%code provides {
int dsp_yylex(DSP_YYSTYPE *yylval, DSP_YYLTYPE *yylloc, void *scanner);
char *dsp_yyget_text(void *scanner);
}

%code {
#include <string.h>
#include "parse.h"

static void dsp_yyerror(DSP_YYLTYPE *loc, void *scanner, struct parse_ctx *pc, const char *msg);

#define LOC(l) ((src_loc){ pc->file, (l).first_line, (l).first_column })
#define NEW(T) ((T *)arena_alloc(pc->arena, sizeof(T)))
#define PUSH(v, x) ptr_vec_push(pc->arena, &(v), (x))

/* Expressions deeper than this are rejected: every later pass walks them
 * recursively, so the bound protects the C stack. */
#define EXPR_MAX_DEPTH 200

static ast_ident ident(struct parse_ctx *pc, const char *name, DSP_YYLTYPE l)
{
    ast_ident id = { .name = name, .loc = LOC(l) };
    return id;
}

/* A .dsp keyword standing as a word of a C declaration. */
static ast_cword *kw_word(struct parse_ctx *pc, const char *text, src_loc loc)
{
    ast_cword *w = NEW(ast_cword);
    w->text = text;
    w->loc = loc;
    return w;
}

static ast_expr *expr_new(struct parse_ctx *pc, ast_expr_kind k, DSP_YYLTYPE l)
{
    ast_expr *e = NEW(ast_expr);
    e->kind = k;
    e->loc = LOC(l);
    e->depth = 1;
    return e;
}

static ast_expr *expr_op(struct parse_ctx *pc, ast_expr_kind k, ast_op op, ast_expr *a,
                         ast_expr *b, DSP_YYLTYPE l)
{
    ast_expr *e = expr_new(pc, k, l);
    e->op = op;
    e->a = a;
    e->b = b;
    int d = a ? a->depth : 0;
    if (b && b->depth > d)
        d = b->depth;
    e->depth = d + 1;
    return e;
}

static ast_value *value_new(struct parse_ctx *pc, ast_value_kind k, DSP_YYLTYPE l)
{
    ast_value *v = NEW(ast_value);
    v->kind = k;
    v->loc = LOC(l);
    return v;
}

static ast_decl *decl_new(struct parse_ctx *pc, ast_decl_kind k, DSP_YYLTYPE l)
{
    ast_decl *d = NEW(ast_decl);
    d->kind = k;
    d->loc = LOC(l);
    return d;
}

/* The word before a metric's feedback arms must be `feedback`. */
static void feedback_word(struct parse_ctx *pc, const char *word, DSP_YYLTYPE l)
{
    if (strcmp(word, "feedback") != 0)
        diag_error(pc->diag, LOC(l), "unexpected `%s` after the metric's expression; a metric may end with "
                   "`feedback \"text\"` or `feedback if COND: \"text\" ... else: \"text\"`, then "
                   "`feedback NAME: ...` for one predictor", word);
}

/* A metric's feedback clauses into d: the general one (first, once) and
 * those for one predictor each. */
static void metric_feedback(struct parse_ctx *pc, ast_decl *d, ptr_vec *clauses)
{
    for (size_t i = 0; i < clauses->len; i++) {
        ast_pred_feedback *c = clauses->items[i];
        if (c->target) {
            ptr_vec_push(pc->arena, &d->pred_feedback, c);
        } else if (i == 0) {
            d->feedback = c->arms;
            d->feedback_loc = c->loc;
        } else {
            diag_error(pc->diag, c->loc, "a metric's general feedback (without a predictor's name) comes "
                       "first, once; write `feedback NAME: ...` for one predictor");
        }
    }
}

static char *concat(struct parse_ctx *pc, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = arena_alloc(pc->arena, la + lb + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}
}

%union {
    char *str;
    long long ival;
    double fval;
    ast_type *type;
    ast_value *value;
    ast_kv *kv;
    ast_field *field;
    ast_param *param;
    ast_binding *binding;
    ast_call *call;
    ast_sopt *sopt;
    ast_stmt *stmt;
    ast_expr *expr;
    ast_arg *arg;
    ast_decl *decl;
    ast_cword *cword;
    ast_mapping *mapping;
    ast_ident *ident;
    ast_feedback *fb;
    ast_pred_feedback *pfb;
    ptr_vec vec;
    int op;
}

%token <str> IDENT "identifier" STRING "string"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token IMPORT "import" LM "lm" ENUM "enum" RECORD "record" SIGNATURE "signature" IN "in" OUT "out"
%token TOOL "tool" FROM "from" MODULE "module" RETURN "return" REPEAT "repeat"
%token IF "if" ELSE "else" METRIC "metric" DATA "data" OPTIMIZE "optimize" WITH "with"
%token TRUE "true" FALSE "false" AND "and" OR "or" NOT "not"
%token ARROW "->" EQ "==" NE "!=" LE "<=" GE ">="

%type <str> string string_opt key column
%type <type> type
%type <value> value scalar field_path
%type <kv> kv
%type <field> field rfield
%type <param> param
%type <binding> binding
%type <call> call
%type <sopt> sopt
%type <stmt> stmt if_stmt
%type <expr> expr postfix primary
%type <arg> arg
%type <decl> decl import lm enum_decl record_decl signature tool module metric data optimize
%type <cword> cword pword
%type <mapping> mapping
%type <ident> enum_value
%type <vec> kvs lm_block enum_values fields rfields cwords pwords cparam_words cparams cparam_list params_opt params stmts
%type <vec> sopts_opt sopts scalars_opt scalars
%type <vec> bindings_opt bindings args_opt args exprs_opt exprs mappings opt_args fb_clauses_opt fb_clauses
%type <vec> fb_body fb_ifs
%type <fb> fb_if
%type <pfb> fb_clause
%type <op> cmp

%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE IN
%left '+' '-'
%left '*' '/'
%precedence UMINUS

%%

file
    : %empty
    | file decl               { if ($2) PUSH(pc->ast->decls, $2); }
    | file error
    ;

decl: import | lm | enum_decl | record_decl | signature | tool | module | metric | data | optimize ;

string
    : STRING                  { $$ = $1; }
    | string STRING           { $$ = concat(pc, $1, $2); }
    ;

string_opt
    : %empty                  { $$ = NULL; }
    | string                  { $$ = $1; }
    ;

opt_comma: %empty | ',' ;

import
    : IMPORT string           {
                                  $$ = decl_new(pc, D_IMPORT, @1);
                                  $$->str = $2;
                                  $$->str_loc = LOC(@2);
                              }
    ;

lm
    : LM IDENT '=' string lm_block {
                                  $$ = decl_new(pc, D_LM, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->str = $4;
                                  $$->str_loc = LOC(@4);
                                  $$->kvs = $5;
                              }
    ;

lm_block
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | '{' kvs '}'             { $$ = $2; }
    ;

kvs
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | kvs kv opt_comma        { $$ = $1; PUSH($$, $2); }
    ;

kv
    : key ':' value           {
                                  $$ = NEW(ast_kv);
                                  $$->key = ident(pc, $1, @1);
                                  $$->value = $3;
                              }
    ;

key
    : IDENT                   { $$ = $1; }
    | LM                      { $$ = "lm"; }
    | DATA                    { $$ = "data"; }
    | METRIC                  { $$ = "metric"; }
    ;

value
    : scalar                  { $$ = $1; }
    | '[' scalars_opt ']'     { $$ = value_new(pc, AV_LIST, @1); $$->items = $2; }
    ;

scalar
    : string                  { $$ = value_new(pc, AV_STRING, @1); $$->s = $1; }
    | INT                     { $$ = value_new(pc, AV_INT, @1); $$->i = $1; }
    | '-' INT                 { $$ = value_new(pc, AV_INT, @1); $$->i = -$2; }
    | FLOAT                   { $$ = value_new(pc, AV_FLOAT, @1); $$->f = $1; }
    | '-' FLOAT               { $$ = value_new(pc, AV_FLOAT, @1); $$->f = -$2; }
    | TRUE                    { $$ = value_new(pc, AV_BOOL, @1); $$->i = 1; }
    | FALSE                   { $$ = value_new(pc, AV_BOOL, @1); $$->i = 0; }
    | IDENT                   { $$ = value_new(pc, AV_NAME, @1); $$->s = $1; }
    | field_path              { $$ = $1; }
    ;

/* A list of values: ensemble's `states: ["a.json", "b.json"]`, react's
 * `tools: [search, lookup]`; in a call's arguments sema refuses it with
 * the fix, rather than the parser with a bare "expected". */
scalars_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | scalars                 { $$ = $1; }
    ;

scalars
    : scalar                  { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | scalars ',' scalar      { $$ = $1; PUSH($$, $3); }
    ;

/* `v.field` and, into records, `v.field.sub...`: the first field in
 * `field`, the rest in `path`. */
field_path
    : IDENT '.' IDENT         {
                                  $$ = value_new(pc, AV_FIELD, @1);
                                  $$->s = $1;
                                  $$->field = ident(pc, $3, @3);
                              }
    | field_path '.' IDENT    {
                                  $$ = $1;
                                  ast_ident *id = NEW(ast_ident);
                                  *id = ident(pc, $3, @3);
                                  PUSH($$->path, id);
                              }
    ;

enum_decl
    : ENUM IDENT '{' enum_values opt_comma '}' {
                                  $$ = decl_new(pc, D_ENUM, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->values = $4;
                              }
    ;

enum_values
    : enum_value              { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | enum_values ',' enum_value { $$ = $1; PUSH($$, $3); }
    ;

/* A value as the data spells it: a name, or a string for a label with
 * spaces or punctuation ("HR Support"). */
enum_value
    : IDENT                   { $$ = NEW(ast_ident); *$$ = ident(pc, $1, @1); }
    | STRING                  { $$ = NEW(ast_ident); *$$ = ident(pc, $1, @1); $$->quoted = 1; }
    ;

record_decl
    : RECORD IDENT string_opt '{' rfields '}' {
                                  $$ = decl_new(pc, D_RECORD, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->str = $3;
                                  $$->str_loc = LOC(@3);
                                  $$->fields = $5;
                              }
    ;

rfields
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | rfields rfield opt_comma { $$ = $1; PUSH($$, $2); }
    | rfields error           { $$ = $1; }
    ;

rfield
    : IDENT ':' type string_opt {
                                  $$ = NEW(ast_field);
                                  $$->name = ident(pc, $1, @1);
                                  $$->type = $3;
                                  $$->desc = $4;
                              }
    ;

signature
    : SIGNATURE IDENT string_opt '{' fields '}' {
                                  $$ = decl_new(pc, D_SIGNATURE, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->str = $3;
                                  $$->str_loc = LOC(@3);
                                  $$->fields = $5;
                              }
    ;

fields
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | fields field            { $$ = $1; PUSH($$, $2); }
    | fields error            { $$ = $1; }
    ;

field
    : IN IDENT ':' type string_opt {
                                  $$ = NEW(ast_field);
                                  $$->name = ident(pc, $2, @2);
                                  $$->type = $4;
                                  $$->desc = $5;
                              }
    | OUT IDENT ':' type string_opt {
                                  $$ = NEW(ast_field);
                                  $$->name = ident(pc, $2, @2);
                                  $$->is_output = 1;
                                  $$->type = $4;
                                  $$->desc = $5;
                              }
    ;

type
    : IDENT                   {
                                  $$ = NEW(ast_type);
                                  $$->kind = AT_NAME;
                                  $$->loc = LOC(@1);
                                  $$->name = $1;
                              }
    | IDENT '<' type '>'      {
                                  $$ = NEW(ast_type);
                                  $$->loc = LOC(@1);
                                  $$->name = $1;
                                  $$->elem = $3;
                                  $$->kind = strcmp($1, "list") == 0 ? AT_LIST
                                           : strcmp($1, "optional") == 0 ? AT_OPTIONAL
                                           : AT_GENERIC;
                              }
    | IDENT '<' type ',' type '>' {
                                  $$ = NEW(ast_type);
                                  $$->loc = LOC(@1);
                                  $$->name = $1;
                                  $$->key = $3;
                                  $$->elem = $5;
                                  $$->kind = strcmp($1, "map") == 0 ? AT_MAP : AT_GENERIC;
                              }
    | ENUM '{' enum_values opt_comma '}' {
                                  $$ = NEW(ast_type);
                                  $$->kind = AT_ENUM;
                                  $$->loc = LOC(@1);
                                  $$->values = $3;
                              }
    ;

tool
    : TOOL cwords '(' cparams ')' FROM string {
                                  $$ = decl_new(pc, D_TOOL, @1);
                                  $$->cfunc = ast_cdecl_from_words(pc->arena, pc->diag, &$2, LOC(@2));
                                  if ($$->cfunc)
                                      $$->name = $$->cfunc->name;
                                  else
                                      $$ = NULL;
                                  if ($$) {
                                      $$->params = $4;
                                      $$->str = $7;
                                      $$->str_loc = LOC(@7);
                                      $$->proto_end = LOC(@5);
                                  }
                              }
    | TOOL IDENT FROM string IDENT string {
                                  /* tool NAME from "lib.so" header "x.h": the prototype
                                     comes from a C header (docs/c-headers.md). */
                                  if (strcmp($5, "header") != 0) {
                                      diag_error(pc->diag, LOC(@5), "expected `header \"file.h\"` "
                                                 "after the shared object, or a C prototype "
                                                 "after `tool`");
                                      $$ = NULL;
                                  } else {
                                      $$ = decl_new(pc, D_TOOL, @1);
                                      $$->name = ident(pc, $2, @2);
                                      $$->str = $4;
                                      $$->str_loc = LOC(@4);
                                      $$->header = $6;
                                      $$->header_loc = LOC(@6);
                                  }
                              }
    ;

cwords
    : cword                   { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | cwords cword            { $$ = $1; PUSH($$, $2); }
    ;

cword
    : IDENT                   { $$ = NEW(ast_cword); $$->text = $1; $$->loc = LOC(@1); }
    | '*'                     { $$ = NEW(ast_cword); $$->text = "*"; $$->loc = LOC(@1); }
    /* `in` and `out` are .dsp keywords but common C names (`char **out`). */
    | IN                      { $$ = kw_word(pc, "in", LOC(@1)); }
    | OUT                     { $$ = kw_word(pc, "out", LOC(@1)); }
    ;

/* A parameter's words. Any .dsp keyword may stand in them, so that a C
   parameter named `data` or `from` parses (sema then asks to rename the
   ones a call could not bind), and `name[]` is a pointer, as in C. */
cparam_words
    : pwords                  { $$ = $1; }
    | pwords '[' ']'          {
                                  $$ = $1;
                                  ast_cword *name = $$.items[$$.len - 1];
                                  ast_cword *star = NEW(ast_cword);
                                  star->text = "*";
                                  star->loc = LOC(@2);
                                  $$.items[$$.len - 1] = star;
                                  PUSH($$, name);
                              }
    ;

pwords
    : pword                   { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | pwords pword            { $$ = $1; PUSH($$, $2); }
    ;

pword
    : cword                   { $$ = $1; }
    | IMPORT                  { $$ = kw_word(pc, "import", LOC(@1)); }
    | LM                      { $$ = kw_word(pc, "lm", LOC(@1)); }
    | ENUM                    { $$ = kw_word(pc, "enum", LOC(@1)); }
    | SIGNATURE               { $$ = kw_word(pc, "signature", LOC(@1)); }
    | TOOL                    { $$ = kw_word(pc, "tool", LOC(@1)); }
    | FROM                    { $$ = kw_word(pc, "from", LOC(@1)); }
    | MODULE                  { $$ = kw_word(pc, "module", LOC(@1)); }
    | RETURN                  { $$ = kw_word(pc, "return", LOC(@1)); }
    | REPEAT                  { $$ = kw_word(pc, "repeat", LOC(@1)); }
    | IF                      { $$ = kw_word(pc, "if", LOC(@1)); }
    | ELSE                    { $$ = kw_word(pc, "else", LOC(@1)); }
    | METRIC                  { $$ = kw_word(pc, "metric", LOC(@1)); }
    | DATA                    { $$ = kw_word(pc, "data", LOC(@1)); }
    | OPTIMIZE                { $$ = kw_word(pc, "optimize", LOC(@1)); }
    | WITH                    { $$ = kw_word(pc, "with", LOC(@1)); }
    | TRUE                    { $$ = kw_word(pc, "true", LOC(@1)); }
    | FALSE                   { $$ = kw_word(pc, "false", LOC(@1)); }
    | AND                     { $$ = kw_word(pc, "and", LOC(@1)); }
    | OR                      { $$ = kw_word(pc, "or", LOC(@1)); }
    | NOT                     { $$ = kw_word(pc, "not", LOC(@1)); }
    ;

cparams
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | cparam_list             { $$ = $1; }
    ;

cparam_list
    : cparam_words            {
                                  memset(&$$, 0, sizeof $$);
                                  /* `(void)` declares no parameters, as in C. */
                                  if (!($1.len == 1 && strcmp(((ast_cword *)$1.items[0])->text, "void") == 0)) {
                                      ast_cdecl *c = ast_cdecl_from_words(pc->arena, pc->diag, &$1, LOC(@1));
                                      if (c) PUSH($$, c);
                                  }
                              }
    | cparam_list ',' cparam_words {
                                  $$ = $1;
                                  ast_cdecl *c = ast_cdecl_from_words(pc->arena, pc->diag, &$3, LOC(@3));
                                  if (c) PUSH($$, c);
                              }
    ;

module
    : MODULE IDENT '(' params_opt ')' ARROW '(' params_opt ')' '{' stmts '}' {
                                  $$ = decl_new(pc, D_MODULE, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->params = $4;
                                  $$->results = $8;
                                  $$->body = $11;
                              }
    ;

params_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | params opt_comma        { $$ = $1; }
    ;

params
    : param                   { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | params ',' param        { $$ = $1; PUSH($$, $3); }
    ;

param
    : IDENT ':' type          {
                                  $$ = NEW(ast_param);
                                  $$->name = ident(pc, $1, @1);
                                  $$->type = $3;
                              }
    ;

stmts
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | stmts stmt              { $$ = $1; PUSH($$, $2); }
    | stmts error             { $$ = $1; }
    ;

stmt
    : IDENT '=' call          {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_ASSIGN;
                                  $$->loc = LOC(@1);
                                  $$->var = ident(pc, $1, @1);
                                  $$->call = $3;
                              }
    | REPEAT INT '{' stmts '}' {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_REPEAT;
                                  $$->loc = LOC(@1);
                                  $$->count = $2;
                                  $$->count_loc = LOC(@2);
                                  $$->body = $4;
                              }
    | if_stmt                 { $$ = $1; }
    | RETURN IDENT            {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_RETURN;
                                  $$->loc = LOC(@1);
                                  $$->var = ident(pc, $2, @2);
                              }
    | RETURN IDENT '.' IDENT    {
                                  /* `return r.answer`: a field is a value, not a record
                                     of results; say how to return it. */
                                  diag_error(pc->diag, LOC(@3), "`return` takes a variable holding the "
                                             "results (`return %s`) or the results by name: "
                                             "`return (RESULT: %s.%s)`", $2, $2, $4);
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_RETURN;
                                  $$->loc = LOC(@1);
                                  $$->var = ident(pc, $2, @2);
                              }
    | RETURN '(' bindings_opt ')' {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_RETURN;
                                  $$->loc = LOC(@1);
                                  $$->returns_record = 1;
                                  $$->bindings = $3;
                              }
    ;

if_stmt
    : IF value cmp value '{' stmts '}' {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_IF;
                                  $$->loc = LOC(@1);
                                  $$->lhs = $2;
                                  $$->negate = $3;
                                  $$->rhs = $4;
                                  $$->body = $6;
                              }
    | IF value cmp value '{' stmts '}' ELSE '{' stmts '}' {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_IF;
                                  $$->loc = LOC(@1);
                                  $$->lhs = $2;
                                  $$->negate = $3;
                                  $$->rhs = $4;
                                  $$->body = $6;
                                  $$->else_body = $10;
                                  $$->has_else = 1;
                              }
    | IF value cmp value '{' stmts '}' ELSE if_stmt {
                                  $$ = NEW(ast_stmt);
                                  $$->kind = ST_IF;
                                  $$->loc = LOC(@1);
                                  $$->lhs = $2;
                                  $$->negate = $3;
                                  $$->rhs = $4;
                                  $$->body = $6;
                                  PUSH($$->else_body, $9);
                                  $$->has_else = 1;
                              }
    ;

cmp
    : EQ                      { $$ = 0; }
    | NE                      { $$ = 1; }
    ;

call
    : IDENT '(' IDENT sopts_opt ')' '(' bindings_opt ')' {
                                  $$ = NEW(ast_call);
                                  $$->kind = CALL_STRATEGY;
                                  $$->loc = LOC(@1);
                                  $$->callee = ident(pc, $1, @1);
                                  $$->sig = ident(pc, $3, @3);
                                  $$->opts = $4;
                                  $$->bindings = $7;
                              }
    | IDENT '(' bindings_opt ')' {
                                  $$ = NEW(ast_call);
                                  $$->kind = CALL_PLAIN;
                                  $$->loc = LOC(@1);
                                  $$->callee = ident(pc, $1, @1);
                                  $$->bindings = $3;
                              }
    ;

/* Strategy options after the signature: `react(Sig, tools: [a, b], max_iters: 6)`. */
sopts_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | ',' sopts               { $$ = $2; }
    ;

sopts
    : sopt                    { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | sopts ',' sopt          { $$ = $1; PUSH($$, $3); }
    ;

sopt
    : IDENT ':' value         {
                                  $$ = NEW(ast_sopt);
                                  $$->key = ident(pc, $1, @1);
                                  $$->loc = LOC(@3);
                                  if ($3->kind == AV_LIST) {
                                      /* `tools: [a, b]`: names only */
                                      $$->is_list = 1;
                                      for (size_t i = 0; i < $3->items.len; i++) {
                                          const ast_value *it = $3->items.items[i];
                                          if (it->kind != AV_NAME) {
                                              diag_error(pc->diag, it->loc, "a strategy's list option `%s` "
                                                         "takes names (`%s: [search, lookup]`), not %s",
                                                         $1, $1, it->kind == AV_STRING ? "strings"
                                                         : "literals or fields");
                                              continue;
                                          }
                                          ast_ident *id = NEW(ast_ident);
                                          id->name = it->s;
                                          id->loc = it->loc;
                                          PUSH($$->names, id);
                                      }
                                  } else {
                                      $$->value = $3;
                                  }
                              }
    ;

bindings_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | bindings opt_comma      { $$ = $1; }
    ;

bindings
    : binding                 { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | bindings ',' binding    { $$ = $1; PUSH($$, $3); }
    ;

binding
    : IDENT ':' value         {
                                  $$ = NEW(ast_binding);
                                  $$->name = ident(pc, $1, @1);
                                  $$->value = $3;
                              }
    ;

metric
    : METRIC IDENT '(' IDENT ',' IDENT ')' '=' expr fb_clauses_opt {
                                  $$ = decl_new(pc, D_METRIC, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->ex = ident(pc, $4, @4);
                                  $$->pred = ident(pc, $6, @6);
                                  $$->expr = $9;
                                  metric_feedback(pc, $$, &$10);
                                  if ($9->depth > EXPR_MAX_DEPTH) {
                                      diag_error(pc->diag, LOC(@9),
                                                 "metric expression nested deeper than %d levels; "
                                                 "split it into several metrics", EXPR_MAX_DEPTH);
                                      $$ = NULL;
                                  }
                              }
    ;

 /* `feedback` is a word only here (after a metric's expression), not a
  * reserved one. */
fb_clauses_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | fb_clauses              { $$ = $1; }
    ;

fb_clauses
    : fb_clause               { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | fb_clauses fb_clause    { $$ = $1; PUSH($$, $2); }
    ;

fb_clause
    : IDENT fb_body           {
                                  feedback_word(pc, $1, @1);
                                  $$ = NEW(ast_pred_feedback);
                                  $$->arms = $2;
                                  $$->loc = LOC(@1);
                              }
    | IDENT expr ':' fb_body  {
                                  feedback_word(pc, $1, @1);
                                  $$ = NEW(ast_pred_feedback);
                                  $$->target = $2;
                                  $$->arms = $4;
                                  $$->loc = LOC(@1);
                              }
    ;

fb_body
    : expr                    {
                                  memset(&$$, 0, sizeof $$);
                                  ast_feedback *f = NEW(ast_feedback);
                                  f->text = $1;
                                  f->loc = LOC(@1);
                                  PUSH($$, f);
                              }
    | fb_ifs                  { $$ = $1; }
    | fb_ifs ELSE ':' expr    {
                                  $$ = $1;
                                  ast_feedback *f = NEW(ast_feedback);
                                  f->text = $4;
                                  f->loc = LOC(@2);
                                  PUSH($$, f);
                              }
    ;

fb_ifs
    : fb_if                   { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | fb_ifs fb_if            { $$ = $1; PUSH($$, $2); }
    ;

fb_if
    : IF expr ':' expr        {
                                  $$ = NEW(ast_feedback);
                                  $$->cond = $2;
                                  $$->text = $4;
                                  $$->loc = LOC(@1);
                              }
    ;

expr
    : expr OR expr            { $$ = expr_op(pc, AE_BINARY, OP_OR, $1, $3, @2); }
    | expr AND expr           { $$ = expr_op(pc, AE_BINARY, OP_AND, $1, $3, @2); }
    | NOT expr                { $$ = expr_op(pc, AE_UNARY, OP_NOT, $2, NULL, @1); }
    | expr EQ expr            { $$ = expr_op(pc, AE_BINARY, OP_EQ, $1, $3, @2); }
    | expr NE expr            { $$ = expr_op(pc, AE_BINARY, OP_NE, $1, $3, @2); }
    | expr '<' expr           { $$ = expr_op(pc, AE_BINARY, OP_LT, $1, $3, @2); }
    | expr LE expr            { $$ = expr_op(pc, AE_BINARY, OP_LE, $1, $3, @2); }
    | expr '>' expr           { $$ = expr_op(pc, AE_BINARY, OP_GT, $1, $3, @2); }
    | expr GE expr            { $$ = expr_op(pc, AE_BINARY, OP_GE, $1, $3, @2); }
    | expr IN expr            { $$ = expr_op(pc, AE_BINARY, OP_IN, $1, $3, @2); }
    | expr '+' expr           { $$ = expr_op(pc, AE_BINARY, OP_ADD, $1, $3, @2); }
    | expr '-' expr           { $$ = expr_op(pc, AE_BINARY, OP_SUB, $1, $3, @2); }
    | expr '*' expr           { $$ = expr_op(pc, AE_BINARY, OP_MUL, $1, $3, @2); }
    | expr '/' expr           { $$ = expr_op(pc, AE_BINARY, OP_DIV, $1, $3, @2); }
    | '-' expr %prec UMINUS   { $$ = expr_op(pc, AE_UNARY, OP_NEG, $2, NULL, @1); }
    | postfix                 { $$ = $1; }
    ;

postfix
    : primary                 { $$ = $1; }
    | postfix '.' IDENT       {
                                  $$ = expr_op(pc, AE_FIELD, OP_NONE, $1, NULL, @3);
                                  $$->s = $3;
                              }
    | postfix '(' args_opt ')' {
                                  $$ = expr_op(pc, AE_CALL, OP_NONE, $1, NULL, @1);
                                  $$->args = $3;
                                  for (size_t i = 0; i < $3.len; i++) {
                                      ast_arg *a = $3.items[i];
                                      if (a->value->depth >= $$->depth)
                                          $$->depth = a->value->depth + 1;
                                  }
                              }
    ;

primary
    : INT                     { $$ = expr_new(pc, AE_INT, @1); $$->i = $1; }
    | FLOAT                   { $$ = expr_new(pc, AE_FLOAT, @1); $$->f = $1; }
    | string                  { $$ = expr_new(pc, AE_STRING, @1); $$->s = $1; }
    | TRUE                    { $$ = expr_new(pc, AE_BOOL, @1); $$->i = 1; }
    | FALSE                   { $$ = expr_new(pc, AE_BOOL, @1); $$->i = 0; }
    | IDENT                   { $$ = expr_new(pc, AE_NAME, @1); $$->s = $1; }
    | '(' expr ')'            { $$ = $2; }
    | '[' exprs_opt ']'       {
                                  $$ = expr_new(pc, AE_LIST, @1);
                                  $$->args = $2;
                                  for (size_t i = 0; i < $2.len; i++) {
                                      ast_expr *x = $2.items[i];
                                      if (x->depth >= $$->depth)
                                          $$->depth = x->depth + 1;
                                  }
                              }
    ;

exprs_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | exprs opt_comma         { $$ = $1; }
    ;

exprs
    : expr                    { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | exprs ',' expr          { $$ = $1; PUSH($$, $3); }
    ;

args_opt
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | args opt_comma          { $$ = $1; }
    ;

args
    : arg                     { memset(&$$, 0, sizeof $$); PUSH($$, $1); }
    | args ',' arg            { $$ = $1; PUSH($$, $3); }
    ;

arg
    : expr                    { $$ = NEW(ast_arg); $$->value = $1; }
    | IDENT ':' expr          {
                                  $$ = NEW(ast_arg);
                                  $$->name = ident(pc, $1, @1);
                                  $$->value = $3;
                              }
    | LM ':' expr             {
                                  $$ = NEW(ast_arg);
                                  $$->name = ident(pc, "lm", @1);
                                  $$->value = $3;
                              }
    ;

data
    : DATA IDENT '=' IDENT '(' string ')' {
                                  $$ = decl_new(pc, D_DATA, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->format = ident(pc, $4, @4);
                                  $$->str = $6;
                                  $$->str_loc = LOC(@6);
                              }
    | DATA IDENT '=' IDENT '(' string ')' '{' mappings '}' {
                                  $$ = decl_new(pc, D_DATA, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->format = ident(pc, $4, @4);
                                  $$->str = $6;
                                  $$->str_loc = LOC(@6);
                                  $$->mapping = $9;
                                  $$->has_mapping = 1;
                              }
    ;

mappings
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | mappings mapping opt_comma { $$ = $1; PUSH($$, $2); }
    ;

mapping
    : column ARROW IDENT      {
                                  $$ = NEW(ast_mapping);
                                  $$->column = $1;
                                  $$->loc = LOC(@1);
                                  $$->field = ident(pc, $3, @3);
                              }
    | column ARROW IDENT ':' type {
                                  $$ = NEW(ast_mapping);
                                  $$->column = $1;
                                  $$->loc = LOC(@1);
                                  $$->field = ident(pc, $3, @3);
                                  $$->type = $5;
                              }
    ;

column
    : IDENT                   { $$ = $1; }
    | string                  { $$ = $1; }
    ;

optimize
    : OPTIMIZE IDENT WITH IDENT opt_args '{' kvs '}' {
                                  $$ = decl_new(pc, D_OPTIMIZE, @1);
                                  $$->name = ident(pc, $2, @2);
                                  $$->optimizer = ident(pc, $4, @4);
                                  $$->opt_args = $5;
                                  $$->kvs = $7;
                              }
    ;

opt_args
    : %empty                  { memset(&$$, 0, sizeof $$); }
    | '(' kvs ')'             { $$ = $2; }
    ;

%%

static void dsp_yyerror(DSP_YYLTYPE *loc, void *scanner, struct parse_ctx *pc, const char *msg)
{
    (void)scanner;
    pc->syntax_errors++;
    /* Only called for bison's own failures; a full stack is the one a user can hit. */
    if (strcmp(msg, "memory exhausted") == 0)
        msg = "nested too deeply for the parser (an `else if` chain or a type nested over a "
              "thousand levels); split it up";
    diag_error(pc->diag, LOC(*loc), "%s", msg);
}

/* A grammar symbol as a user reads it: `lm`, `:`, or a word for a class of
 * tokens ("identifier"). */
static void symbol_text(yysymbol_kind_t sym, char *buf, size_t size)
{
    const char *name = yysymbol_name(sym);
    size_t n = strlen(name);
    if (n >= 2 && (name[0] == '"' || name[0] == '\'')) {
        name++;
        n -= 2;
    }
    static const char *const classes[] = { "identifier", "string", "integer", "number",
                                           "end of file", "invalid token" };
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (n == strlen(classes[i]) && strncmp(name, classes[i], n) == 0) {
            snprintf(buf, size, "%s", classes[i]);
            return;
        }
    snprintf(buf, size, "`%.*s`", (int)n, name);
}

/* A keyword token (`out`, `in`, `data`, ...): the %token lines declare
 * them in one run, from `import` to `not`. */
static int reserved_word(yysymbol_kind_t sym)
{
    return sym >= YYSYMBOL_IMPORT && sym <= YYSYMBOL_NOT;
}

static int expects(const yypcontext_t *ctx, yysymbol_kind_t tok)
{
    yysymbol_kind_t all[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, all, YYNTOKENS);
    for (int i = 0; i < n; i++)
        if (all[i] == tok)
            return 1;
    return 0;
}

static int expects_ident(const yypcontext_t *ctx)
{
    return expects(ctx, YYSYMBOL_IDENT);
}

/* gcc-style: "expected `:` before identifier `int`". */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, struct parse_ctx *pc)
{
    pc->syntax_errors++;
    enum { MAX_EXPECTED = 5 };
    yysymbol_kind_t expected[MAX_EXPECTED];
    int n = yypcontext_expected_tokens(ctx, expected, MAX_EXPECTED);
    yysymbol_kind_t tok = yypcontext_token(ctx);
    char found[96], text[64] = "";
    symbol_text(tok, found, sizeof found);
    if (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_INT || tok == YYSYMBOL_FLOAT) {
        snprintf(text, sizeof text, " `%.40s`", dsp_yyget_text(scanner));
    }
    char msg[512];
    size_t len = 0;
    if (n > 0 && n < MAX_EXPECTED) {
        len += (size_t)snprintf(msg, sizeof msg, "expected ");
        for (int i = 0; i < n && len < sizeof msg; i++) {
            char e[96];
            symbol_text(expected[i], e, sizeof e);
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s",
                                    i == 0 ? "" : i + 1 == n ? " or " : ", ", e);
        }
        if (len < sizeof msg)
            snprintf(msg + len, sizeof msg - len, " before %s%s", found, text);
    } else {
        snprintf(msg, sizeof msg, "unexpected %s%s", found, text);
    }
    /* A reserved word where a name was expected (`r.out`, a field `in`, a C
     * tool's output parameter `out` read as `v.out`): say why and the fix,
     * rather than only that an identifier was expected. */
    if (reserved_word(tok) && expects_ident(ctx) && expects(ctx, YYSYMBOL_STRING) && !expects(ctx, YYSYMBOL_INT)) {
        /* An enum value or a data column (no number goes there) may be a
         * string: `"in"`. */
        len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "; %s is a reserved word, so it cannot be a name here: write it as "
                 "a string (\"%s\")", found, dsp_yyget_text(scanner));
    } else if (reserved_word(tok) && expects_ident(ctx)) {
        len = strlen(msg);
        snprintf(msg + len, sizeof msg - len,
                 "; %s is a reserved word, so it cannot name a field, parameter or declaration: "
                 "rename it (a C tool's parameter can be renamed in its prototype)", found);
    }
    diag_error(pc->diag, LOC(*yypcontext_location(ctx)), "%s", msg);
    return 0;
}
