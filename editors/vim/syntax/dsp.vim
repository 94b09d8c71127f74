" Vim syntax file
" Language:    dsp (dspcc LM task specifications, *.dsp)
" Maintainer:  the dspcc project (editors/README.md)
" Reference:   docs/language.md; the keywords are those of grammar/lexer.l,
"              checked by tests/editors/keywords.test.mjs.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
" Names are ASCII letters, digits and underscores, as in the lexer.
syn iskeyword @,48-57,_,192-255

" Numbers: 42, 0.25, 1e3, 2.5e-1 (a minus sign is an operator). Of the
" matches that start at the same place the last defined wins, so the
" longer number forms come after the integer.
syn match   dspInteger       "\<\d\+"
syn match   dspFloat         "\<\d\+[eE][-+]\=\d\+"
syn match   dspFloat         "\<\d\+\.\d\+\%([eE][-+]\=\d\+\)\="

" Reserved words of grammar/lexer.l, grouped by job. `lm`, `data` and
" `metric` are also keys of option blocks (`lm: teacher`), and `in` is also
" membership in metrics, so those are matches that look at what follows; a
" keyword item would win over any match at the same place.
syn keyword dspInclude       import
syn keyword dspKeyword       from with
syn keyword dspStatement     return
syn keyword dspRepeat        repeat
syn keyword dspConditional   if else
syn keyword dspBoolean       true false
syn keyword dspOperatorWord  and or not
syn match   dspOperatorWord  "\<in\>"
syn keyword dspDeclaration   tool
syn match   dspDeclaration   "\<\%(lm\|enum\|record\|signature\|module\|metric\|data\|optimize\)\>\%(\s*:\)\@!" nextgroup=dspDeclName skipwhite skipempty
syn match   dspDirection     "\<\%(in\|out\)\>\ze\s\+\h\w*\s*:" nextgroup=dspFieldName skipwhite

" The name a declaration introduces, and the field a signature line declares.
syn match   dspDeclName      contained "\<\h\w*\>"
syn match   dspFieldName     contained "\<\h\w*\>"

" Keys of lm/optimize blocks and named arguments: `lm:`, `data:`, `metric:`
" included.
syn match   dspKey           "\<\h\w*\>\ze\s*:"

" Calls; then types, strategies, builtin metric functions, data formats and
" optimizers (later matches win at the same place).
syn match   dspCall          "\<\h\w*\>\ze\s*("
syn keyword dspType          string int float bool list optional map
syn match   dspStrategy      "\<\%(predict\|chain_of_thought\|react\|best_of_n\|refine\|majority\|multi_chain_comparison\)\>\ze\s*("
syn match   dspBuiltin       "\<\%(exact_match\|contains\|f1\|approx\|abs\|min\|max\|len\|judge\)\>\ze\s*("
syn match   dspDataFormat    "\<\%(jsonl\|csv\)\>\ze\s*("
syn keyword dspOptimizer     labeled_fewshot knn_fewshot bootstrap_fewshot random_search mipro better_together copro gepa simba ensemble
syn match   dspHeaderWord    "\<header\>\ze\s*\""

" Characters the lexer rejects, then operators (defined later, so `!=` is an
" operator and a lone `!` an error).
syn match   dspError         "[;@#$%^&|~`?!\\']"
syn match   dspOperator      "->\|==\|!=\|<=\|>=\|[<>=+*/-]"

" Comments and strings come last: they win over everything that starts at
" the same place (`//` is not two divisions).
" Comments: // to the end of the line, /* block */ (not nested).
syn keyword dspTodo          contained TODO FIXME XXX NOTE
syn match   dspLineComment   "//.*$" contains=dspTodo,@Spell
syn region  dspBlockComment  start="/\*" end="\*/" contains=dspTodo,@Spell

" Strings: one line, escapes \n \t \" \\; anything else after \ is an error.
syn match   dspEscape        contained "\\[nt\"\\]"
syn match   dspBadEscape     contained "\\[^nt\"\\]"
syn region  dspString        start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ oneline contains=dspEscape,dspBadEscape,@Spell


hi def link dspTodo          Todo
hi def link dspLineComment   Comment
hi def link dspBlockComment  Comment
hi def link dspString        String
hi def link dspEscape        SpecialChar
hi def link dspBadEscape     Error
hi def link dspFloat         Float
hi def link dspInteger       Number
hi def link dspInclude       Include
hi def link dspDeclaration   Structure
hi def link dspDirection     StorageClass
hi def link dspStatement     Statement
hi def link dspRepeat        Repeat
hi def link dspConditional   Conditional
hi def link dspKeyword       Keyword
hi def link dspBoolean       Boolean
hi def link dspOperatorWord  Operator
hi def link dspDeclName      Function
hi def link dspFieldName     Identifier
hi def link dspType          Type
hi def link dspStrategy      Function
hi def link dspBuiltin       Function
hi def link dspDataFormat    Function
hi def link dspOptimizer     Constant
hi def link dspHeaderWord    Keyword
hi def link dspKey           Identifier
hi def link dspCall          Function
hi def link dspOperator      Operator
hi def link dspError         Error

let b:current_syntax = 'dsp'

let &cpo = s:cpo_save
unlet s:cpo_save
