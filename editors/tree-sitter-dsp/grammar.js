/**
 * Tree-sitter grammar for .dsp, the language of dspcc.
 *
 * It mirrors grammar/parser.y (bison, the authority) rule for rule; the
 * token shapes are those of grammar/lexer.l. The parser is generated on the
 * user's machine with their own tree-sitter CLI (see README.md); this
 * repository does not ship a generated parser.
 *
 * Differences from bison, kept small on purpose: comparisons are
 * left-associative here (bison makes them non-associative and reports
 * `a < b < c`), reserved words are contextual here where bison reserves them
 * everywhere, and `(void)` in a tool prototype is a parameter named void.
 */

// Loosest first, as in parser.y's %left/%precedence lines.
const PREC = {
  or: 1,
  and: 2,
  not: 3,
  compare: 4,
  add: 5,
  mul: 6,
  unary: 7,
  postfix: 8,
};

const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)), optional(','));
const commaSep = (rule) => optional(commaSep1(rule));

module.exports = grammar({
  name: 'dsp',

  extras: ($) => [/\s/, $.comment],

  word: ($) => $.identifier,

  rules: {
    source_file: ($) => repeat($._declaration),

    _declaration: ($) => choice(
      $.import_declaration,
      $.lm_declaration,
      $.enum_declaration,
      $.record_declaration,
      $.signature_declaration,
      $.tool_declaration,
      $.module_declaration,
      $.metric_declaration,
      $.data_declaration,
      $.optimize_declaration,
    ),

    // import "path"
    import_declaration: ($) => seq('import', field('path', $._strings)),

    // lm NAME = "provider/model" { key: value ... }
    lm_declaration: ($) => seq(
      'lm', field('name', $.identifier), '=', field('model', $._strings),
      optional(field('options', $.option_block)),
    ),

    option_block: ($) => seq('{', repeat(seq($.option, optional(','))), '}'),
    option_arguments: ($) => seq('(', repeat(seq($.option, optional(','))), ')'),
    option: ($) => seq(field('key', $.key), ':', field('value', $._value)),
    // `lm`, `data` and `metric` are allowed as keys (parser.y: key); they
    // become plain identifiers there, so they are not highlighted as
    // declarations.
    key: ($) => choice(
      $.identifier,
      alias('lm', $.identifier),
      alias('data', $.identifier),
      alias('metric', $.identifier),
    ),

    // A list of values: ensemble's `states: ["a.json", "b.json"]`, react's
    // `tools: [search, lookup]` (in a call's arguments dspcc refuses it
    // with the fix, after parsing, as parser.y does).
    _value: ($) => choice($._scalar, $.value_list),
    value_list: ($) => seq('[', optional(seq($._scalar, repeat(seq(',', $._scalar)))), ']'),
    _scalar: ($) => choice(
      $._strings,
      $.integer,
      $.float,
      $.negative_number,
      $.true,
      $.false,
      $.identifier,
      $.field_value,
    ),
    negative_number: ($) => seq('-', choice($.integer, $.float)),
    // v.field, and into records v.field.sub...
    field_value: ($) => seq(field('object', $.identifier), repeat1(seq('.', field('field', $.identifier)))),

    // enum NAME { a, b, "HR Support" }: a value is a name or a string (a label with spaces)
    enum_declaration: ($) => seq('enum', field('name', $.identifier), field('values', $.enum_values)),
    enum_values: ($) => seq('{', commaSep1($.enumerator), '}'),
    enumerator: ($) => choice($.identifier, $.string),

    // record NAME "description" { name: T "desc"  other: T }
    record_declaration: ($) => seq(
      'record', field('name', $.identifier),
      optional(field('description', $._strings)),
      '{', repeat(seq($.record_field, optional(','))), '}',
    ),
    record_field: ($) => seq(
      field('name', $.identifier), ':', field('type', $._type),
      optional(field('description', $._strings)),
    ),

    // signature NAME "instructions" { in x: T "desc"  out y: T }
    signature_declaration: ($) => seq(
      'signature', field('name', $.identifier),
      optional(field('instructions', $._strings)),
      '{', repeat($.field_declaration), '}',
    ),
    field_declaration: ($) => seq(
      field('direction', choice('in', 'out')),
      field('name', $.identifier), ':', field('type', $._type),
      optional(field('description', $._strings)),
    ),

    _type: ($) => choice($.type_identifier, $.generic_type, $.enum_type),
    type_identifier: ($) => $.identifier,
    // list<T>, optional<T>, map<string, T>
    generic_type: ($) => seq(field('name', $.type_identifier), '<', field('argument', $._type),
      optional(seq(',', field('argument', $._type))), '>'),
    enum_type: ($) => seq('enum', field('values', $.enum_values)),

    // tool char *f(const char *q, long k) from "lib.so"
    // tool f from "lib.so" header "f.h"
    tool_declaration: ($) => seq(
      'tool',
      choice(
        seq(
          optional(field('return_type', $.c_type)),
          field('name', $.identifier),
          field('parameters', $.c_parameters),
          'from', field('library', $._strings),
        ),
        seq(
          field('name', $.identifier),
          'from', field('library', $._strings),
          'header', field('header', $._strings),
        ),
      ),
    ),
    // The C type words before a name (parser.y: cwords; the last word is
    // the name).
    c_type: ($) => repeat1(choice($.c_type_word, $.pointer)),
    c_type_word: ($) => $.identifier,
    pointer: ($) => '*',
    c_parameters: ($) => seq('(', optional(seq($.c_parameter, repeat(seq(',', $.c_parameter)))), ')'),
    // A parameter may be named like a .dsp keyword (dspcc then asks to
    // rename it) and written as an array, `const char *xs[]` (parser.y:
    // cparam_words).
    c_parameter: ($) => seq(
      optional(field('type', $.c_type)),
      field('name', choice($.identifier, alias($._keyword_as_name, $.identifier))),
      optional(seq('[', ']')),
    ),
    _keyword_as_name: ($) => choice(
      'import', 'lm', 'enum', 'record', 'signature', 'in', 'out', 'tool', 'from', 'module', 'return', 'repeat',
      'if', 'else', 'metric', 'data', 'optimize', 'with', 'true', 'false', 'and', 'or', 'not',
    ),

    // module NAME(params) -> (results) { statements }
    module_declaration: ($) => seq(
      'module', field('name', $.identifier),
      field('parameters', $.parameters), '->', field('results', $.parameters),
      field('body', $.block),
    ),
    parameters: ($) => seq('(', commaSep($.parameter), ')'),
    parameter: ($) => seq(field('name', $.identifier), ':', field('type', $._type)),

    block: ($) => seq('{', repeat($._statement), '}'),
    _statement: ($) => choice($.assignment, $.repeat_statement, $.if_statement, $.return_statement),

    assignment: ($) => seq(field('left', $.identifier), '=', field('right', choice($.strategy_call, $.call))),
    // strategy(Signature, options)(bindings): a predictor call site;
    // options as in react(Sig, tools: [search, lookup], max_iters: 6).
    strategy_call: ($) => seq(
      field('strategy', $.identifier), '(', field('signature', $.identifier),
      repeat(seq(',', field('option', $.strategy_option))), ')',
      field('arguments', $.bindings),
    ),
    strategy_option: ($) => seq(
      field('name', $.identifier), ':',
      field('value', $._value),
    ),
    call: ($) => seq(field('function', $.identifier), field('arguments', $.bindings)),
    bindings: ($) => seq('(', commaSep($.binding), ')'),
    binding: ($) => seq(field('name', $.identifier), ':', field('value', $._value)),

    repeat_statement: ($) => seq('repeat', field('count', $.integer), field('body', $.block)),
    if_statement: ($) => seq(
      'if', field('left', $._value), field('operator', choice('==', '!=')), field('right', $._value),
      field('consequence', $.block),
      optional(seq('else', field('alternative', choice($.block, $.if_statement)))),
    ),
    return_statement: ($) => seq('return', choice(field('value', $.identifier), field('results', $.bindings))),

    // metric NAME(ex, pred) = expression [feedback ...] [feedback NAME: ...]...
    metric_declaration: ($) => seq(
      'metric', field('name', $.identifier),
      '(', field('example', $.identifier), ',', field('prediction', $.identifier), ')',
      '=', field('body', $._expression),
      // (dspcc's checker wants the general one first, once)
      repeat(choice(field('feedback', $.metric_feedback), field('predictor_feedback', $.predictor_feedback))),
    ),
    // `feedback "text"` or `feedback if COND: TEXT ... [else: TEXT]`; the
    // word is not reserved (parser.y reads an identifier and checks it).
    metric_feedback: ($) => seq(alias('feedback', $.identifier), $._feedback_body),
    // `feedback NAME: ...`: feedback aimed at one predictor (`k`, `Module.k`;
    // parser.y reads an expression and the checker wants such a name).
    predictor_feedback: ($) => seq(
      alias('feedback', $.identifier), field('predictor', $._expression), ':', $._feedback_body,
    ),
    _feedback_body: ($) => choice(
      field('text', $._expression),
      seq(
        repeat1(seq('if', field('condition', $._expression), ':', field('text', $._expression))),
        optional(seq('else', ':', field('text', $._expression))),
      ),
    ),

    _expression: ($) => choice($.binary_expression, $.unary_expression, $._postfix),
    binary_expression: ($) => {
      const table = [
        [PREC.or, 'or'],
        [PREC.and, 'and'],
        [PREC.compare, choice('==', '!=', '<', '<=', '>', '>=', 'in')],
        [PREC.add, choice('+', '-')],
        [PREC.mul, choice('*', '/')],
      ];
      return choice(...table.map(([p, op]) => prec.left(p, seq(
        field('left', $._expression), field('operator', op), field('right', $._expression)))));
    },
    unary_expression: ($) => choice(
      prec(PREC.not, seq(field('operator', 'not'), field('operand', $._expression))),
      prec(PREC.unary, seq(field('operator', '-'), field('operand', $._expression))),
    ),
    _postfix: ($) => choice($._primary, $.field_expression, $.call_expression),
    field_expression: ($) => prec(PREC.postfix, seq(field('object', $._postfix), '.', field('field', $.identifier))),
    call_expression: ($) => prec(PREC.postfix, seq(field('function', $._postfix), field('arguments', $.arguments))),
    arguments: ($) => seq('(', commaSep(choice($._expression, $.named_argument)), ')'),
    named_argument: ($) => seq(field('name', choice($.identifier, alias('lm', $.identifier))), ':', field('value', $._expression)),
    _primary: ($) => choice(
      $.integer, $.float, $._strings, $.true, $.false, $.identifier,
      $.parenthesized_expression, $.list_expression,
    ),
    parenthesized_expression: ($) => seq('(', $._expression, ')'),
    list_expression: ($) => seq('[', commaSep($._expression), ']'),

    // data NAME = format("path") { column -> field }
    data_declaration: ($) => seq(
      'data', field('name', $.identifier), '=', field('format', $.identifier),
      '(', field('path', $._strings), ')',
      optional(field('mapping', $.mapping_block)),
    ),
    mapping_block: ($) => seq('{', repeat(seq($.mapping, optional(','))), '}'),
    // column -> field, or column -> field: type (a gold-only field's declared type)
    mapping: ($) => seq(
      field('column', choice($.identifier, $._strings)), '->', field('field', $.identifier),
      optional(seq(':', field('type', $._type))),
    ),

    // optimize MODULE with optimizer(args) { settings }
    optimize_declaration: ($) => seq(
      'optimize', field('module', $.identifier), 'with', field('optimizer', $.identifier),
      optional(field('arguments', $.option_arguments)),
      field('settings', $.option_block),
    ),

    // Tokens (grammar/lexer.l). Adjacent strings are joined.
    _strings: ($) => repeat1($.string),
    string: ($) => seq('"', repeat(choice($.string_content, $.escape_sequence)), '"'),
    string_content: ($) => token.immediate(prec(1, /[^"\\\n]+/)),
    escape_sequence: ($) => token.immediate(/\\[nt"\\]/),
    integer: ($) => /[0-9]+/,
    float: ($) => token(choice(/[0-9]+\.[0-9]+([eE][-+]?[0-9]+)?/, /[0-9]+[eE][-+]?[0-9]+/)),
    true: ($) => 'true',
    false: ($) => 'false',
    identifier: ($) => /[A-Za-z_][A-Za-z0-9_]*/,
    comment: ($) => token(choice(
      seq('//', /[^\n]*/),
      seq('/*', /[^*]*\*+([^/*][^*]*\*+)*/, '/'),
    )),
  },
});
