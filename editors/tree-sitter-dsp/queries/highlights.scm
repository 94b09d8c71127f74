; Highlights for .dsp, with Neovim's capture names (Helix and Zed fall back
; by prefix). Where two patterns match one node the later one wins, as in
; Neovim, so general patterns come before specific ones.
; Every reserved word of grammar/lexer.l appears below
; (tests/editors/keywords.test.mjs checks it).

(comment) @comment @spell

; Declarations
[
  "lm"
  "enum"
  "record"
  "signature"
  "tool"
  "module"
  "metric"
  "data"
  "optimize"
] @keyword

"import" @keyword.import
[
  "from"
  "with"
  "header"
] @keyword
[
  "in"
  "out"
] @keyword.modifier
"return" @keyword.return
"repeat" @keyword.repeat
[
  "if"
  "else"
] @keyword.conditional
[
  "and"
  "or"
  "not"
] @keyword.operator
(binary_expression operator: "in" @keyword.operator)

; Names being declared
(lm_declaration name: (identifier) @constant)
(data_declaration name: (identifier) @constant)
(enum_declaration name: (identifier) @type.definition)
(signature_declaration name: (identifier) @type.definition)
(record_declaration name: (identifier) @type.definition)
(record_field name: (identifier) @variable.member)
(module_declaration name: (identifier) @function)
(metric_declaration name: (identifier) @function)
(tool_declaration name: (identifier) @function)
(metric_declaration example: (identifier) @variable.parameter)
(metric_declaration prediction: (identifier) @variable.parameter)
(parameter name: (identifier) @variable.parameter)
(c_parameter name: (identifier) @variable.parameter)
(field_declaration name: (identifier) @variable.member)
(enumerator) @constant

; Types
(type_identifier) @type
((type_identifier) @type.builtin
  (#any-of? @type.builtin "string" "int" "float" "bool" "list" "optional"))
(c_type_word) @type.builtin
(pointer) @operator

; Calls
(strategy_call
  strategy: (identifier) @function.builtin
  signature: (identifier) @type)
(call function: (identifier) @function.call)
(call_expression function: (identifier) @function.call)
((call_expression function: (identifier) @function.builtin)
  (#any-of? @function.builtin "exact_match" "contains" "f1" "approx" "abs" "min" "max" "len" "judge"))
(data_declaration format: (identifier) @function.builtin)
(optimize_declaration module: (identifier) @function)
(optimize_declaration optimizer: (identifier) @function.builtin)
(binding name: (identifier) @variable.parameter)
(named_argument name: _ @variable.parameter)

; Keys, fields, mappings
(key (identifier) @property)
(field_expression field: (identifier) @variable.member)
(field_value field: (identifier) @variable.member)
(mapping column: (identifier) @property)
(mapping field: (identifier) @variable.member)

; Literals
(string) @string
(escape_sequence) @string.escape
(integer) @number
(float) @number.float
[
  (true)
  (false)
] @boolean

; Operators and punctuation
[
  "="
  "=="
  "!="
  "<="
  ">="
  ">"
  "<"
  "+"
  "-"
  "*"
  "/"
  "->"
] @operator
[
  ","
  ":"
  "."
] @punctuation.delimiter
[
  "("
  ")"
  "{"
  "}"
  "["
  "]"
] @punctuation.bracket
