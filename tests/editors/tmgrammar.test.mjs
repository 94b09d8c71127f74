// tmgrammar.test.mjs — the TextMate grammar (editors/dsp.tmLanguage.json)
// run through vscode-textmate and vscode-oniguruma, the engine and regex
// library of VS Code: every regex compiles, every example tokenizes and
// closes every region it opens, the tokens of fixture.dsp get the scopes an
// editor theme colours, and no keyword, literal or comment is left as plain
// text. Run: node --test tests/editors/ (after scripts/setup.d/editors-npm.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadGrammar, tokenize, onigScanner, root, grammarPath } from './tmgrammar.mjs';
import { lexerKeywords } from './keywords.mjs';

const grammar = await loadGrammar();
const keywords = lexerKeywords();
const fixturePath = path.join(root, 'tests/editors/fixture.dsp');
const fixture = tokenize(grammar, readFileSync(fixturePath, 'utf8'));

function examples() {
    const dir = path.join(root, 'examples');
    const files = [];
    for (const d of readdirSync(dir, { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        for (const f of readdirSync(path.join(dir, d.name)))
            if (f.endsWith('.dsp')) files.push(path.join(dir, d.name, f));
    }
    return files.sort();
}

// The token on 1-based line `line` whose text, trimmed, is `text` (the
// nth such token, counting from 0).
function tok(result, line, text, nth = 0) {
    const found = result.lines[line - 1].tokens.filter((t) => t.text.trim() === text);
    assert.ok(found.length > nth, `line ${line}: no token ${JSON.stringify(text)} (#${nth}); tokens: ` +
        JSON.stringify(result.lines[line - 1].tokens.map((t) => t.text)));
    return found[nth];
}

// Asserts the innermost scope of a fixture token.
function expectScope(line, text, scope, nth = 0) {
    const t = tok(fixture, line, text, nth);
    const inner = t.scopes[t.scopes.length - 1];
    assert.equal(inner, scope, `fixture.dsp:${line}: ${JSON.stringify(text)} has scopes ${t.scopes.join(' ')}`);
}

// Asserts that some scope of the token starts with prefix.
function expectWithin(line, text, prefix, nth = 0) {
    const t = tok(fixture, line, text, nth);
    assert.ok(t.scopes.some((s) => s.startsWith(prefix)),
        `fixture.dsp:${line}: ${JSON.stringify(text)} has scopes ${t.scopes.join(' ')}, none under ${prefix}`);
}

// Plain text: only source.dsp and meta.* regions, no scope a theme colours.
function isPlain(t) {
    return t.scopes.every((s) => s === 'source.dsp' || s.startsWith('meta.'));
}

// Text that may stay plain: white space and names that are not reserved.
function mayBePlain(text) {
    const words = text.trim() === '' ? [] : text.trim().split(/\s+/);
    return words.every((w) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(w) && !keywords.includes(w));
}

function plainViolations(result, file) {
    const bad = [];
    for (const l of result.lines)
        for (const t of l.tokens)
            if (isPlain(t) && !mayBePlain(t.text))
                bad.push(`${file}:${t.line}:${t.col}: ${JSON.stringify(t.text)} is plain text`);
    return bad;
}

function* grammarRegexes(node, where) {
    if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) yield* grammarRegexes(node[i], `${where}[${i}]`);
    } else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
            if ((k === 'match' || k === 'begin' || k === 'end') && typeof v === 'string') yield [`${where}.${k}`, v];
            else yield* grammarRegexes(v, `${where}.${k}`);
        }
    }
}

test('the grammar is JSON with scope source.dsp and every regex compiles in Oniguruma', async () => {
    const raw = JSON.parse(readFileSync(grammarPath, 'utf8'));
    assert.equal(raw.scopeName, 'source.dsp');
    assert.deepEqual(raw.fileTypes, ['dsp']);
    const regexes = [...grammarRegexes(raw, '$')];
    assert.ok(regexes.length > 40, `only ${regexes.length} regexes found`);
    for (const [where, re] of regexes) {
        try {
            (await onigScanner([re])).dispose();
        } catch (e) {
            assert.fail(`${where}: ${JSON.stringify(re)} does not compile: ${e.message}`);
        }
    }
    // Every include names a rule that exists.
    const text = readFileSync(grammarPath, 'utf8');
    for (const m of text.matchAll(/"include":\s*"#([^"]+)"/g))
        assert.ok(raw.repository[m[1]], `include #${m[1]} has no rule in the repository`);
});

test('the VS Code extension manifest names this grammar and a valid language configuration', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'editors/package.json'), 'utf8'));
    const [lang] = pkg.contributes.languages;
    const [gr] = pkg.contributes.grammars;
    assert.equal(lang.id, 'dsp');
    assert.deepEqual(lang.extensions, ['.dsp']);
    assert.equal(gr.language, 'dsp');
    assert.equal(gr.scopeName, 'source.dsp');
    assert.equal(path.resolve(root, 'editors', gr.path), grammarPath);
    const conf = JSON.parse(readFileSync(path.join(root, 'editors', lang.configuration), 'utf8'));
    assert.equal(conf.comments.lineComment, '//');
    assert.deepEqual(conf.comments.blockComment, ['/*', '*/']);
});

test('every example tokenizes, closes every region and leaves no keyword or literal plain', () => {
    const files = examples();
    assert.ok(files.length >= 3, `found only ${files.length} examples`);
    for (const file of files) {
        const rel = path.relative(root, file);
        const r = tokenize(grammar, readFileSync(file, 'utf8'));
        assert.equal(r.stoppedEarly, false, `${rel}: tokenizing stopped early`);
        assert.ok(r.endState.depth === 1, `${rel}: a region is still open at the end of the file`);
        assert.deepEqual(plainViolations(r, rel), []);
        const invalid = r.lines.flatMap((l) => l.tokens).filter((t) => t.scopes.some((s) => s.startsWith('invalid.')));
        assert.deepEqual(invalid.map((t) => `${rel}:${t.line}:${t.col}: ${t.text}`), [], `${rel}: marked invalid`);
        // Every reserved word outside comments and strings is scoped.
        for (const t of r.lines.flatMap((l) => l.tokens))
            if (keywords.includes(t.text.trim()))
                assert.ok(!isPlain(t), `${rel}:${t.line}:${t.col}: keyword ${t.text.trim()} is plain`);
    }
});

test('fixture.dsp uses every keyword of the lexer and none is plain text', () => {
    const r = fixture;
    assert.ok(r.endState.depth === 1, 'fixture.dsp: a region is still open at the end of the file');
    assert.deepEqual(plainViolations(r, 'fixture.dsp'), []);
    const seen = new Set();
    for (const t of r.lines.flatMap((l) => l.tokens)) {
        if (t.scopes.some((s) => s.startsWith('comment.') || s.startsWith('string.'))) continue;
        for (const w of t.text.split(/[^A-Za-z0-9_]+/))
            if (keywords.includes(w)) {
                assert.ok(!isPlain(t), `fixture.dsp:${t.line}:${t.col}: keyword ${w} is plain`);
                seen.add(w);
            }
    }
    assert.deepEqual(keywords.filter((k) => !seen.has(k)), [], 'keywords of grammar/lexer.l missing from fixture.dsp');
});

test('comments: line and block, over several lines, keywords inside stay comment', () => {
    expectScope(1, '//', 'punctuation.definition.comment.dsp');
    expectWithin(1, 'fixture.dsp: every construct of the language, for the editor grammar tests', 'comment.line.double-slash.dsp');
    expectScope(5, '/*', 'punctuation.definition.comment.begin.dsp');
    expectScope(6, 'over two lines with "quotes" and keywords: module return', 'comment.block.dsp');
    expectScope(6, '*/', 'punctuation.definition.comment.end.dsp');
});

test('strings: quotes, escapes, unknown escapes, adjacent strings', () => {
    expectScope(3, 'shared/signatures.dsp', 'string.quoted.double.dsp');
    expectScope(12, '"', 'punctuation.definition.string.begin.dsp');
    expectScope(12, '\\"', 'constant.character.escape.dsp');
    expectScope(12, '\\n', 'constant.character.escape.dsp');
    expectScope(12, 'Joined.', 'string.quoted.double.dsp');
    const bad = tokenize(grammar, 'signature S "a\\qb" { out x: int }');
    const q = bad.lines[0].tokens.find((t) => t.text === '\\q');
    assert.ok(q && q.scopes.includes('invalid.illegal.unknown-escape.dsp'), 'unknown escape \\q is not marked');
    // An unterminated string ends with its line, as in the lexer.
    const open = tokenize(grammar, 'lm a = "openai/x\nenum E { a }');
    assert.equal(tok(open, 2, 'enum').scopes.at(-1), 'storage.type.enum.dsp');
});

test('numbers: integers, decimals, exponents; a minus sign is an operator', () => {
    expectScope(7, '0.7', 'constant.numeric.float.dsp');
    expectScope(7, '512', 'constant.numeric.integer.dsp');
    expectScope(8, '-', 'keyword.operator.arithmetic.dsp');
    expectScope(8, '2', 'constant.numeric.integer.dsp');
    expectScope(32, '3', 'constant.numeric.integer.dsp');
    expectScope(41, '1e3', 'constant.numeric.float.dsp');
    expectScope(41, '2.5e-1', 'constant.numeric.float.dsp');
    // Digits inside a name are part of the name.
    const t = tok(fixture, 44, 'out1');
    assert.ok(!t.scopes.some((s) => s.startsWith('constant.numeric')), `out1: ${t.scopes.join(' ')}`);
});

test('declarations: keywords are storage.type, names are entity.name', () => {
    expectScope(3, 'import', 'keyword.control.import.dsp');
    expectScope(7, 'lm', 'storage.type.lm.dsp');
    expectScope(7, 'teacher', 'entity.name.variable.lm.dsp');
    expectScope(10, 'enum', 'storage.type.enum.dsp');
    expectScope(10, 'Level', 'entity.name.type.enum.dsp');
    expectScope(10, 'high', 'variable.other.enummember.dsp');
    // A value written as a string (a label with a space) is a string, not names.
    expectScope(10, 'very high', 'string.quoted.double.dsp');
    expectScope(12, 'signature', 'storage.type.signature.dsp');
    expectScope(12, 'Triage', 'entity.name.type.signature.dsp');
    expectScope(21, 'tool', 'storage.type.tool.dsp');
    expectScope(21, 'retrieve', 'entity.name.function.tool.dsp');
    expectScope(23, 'search', 'entity.name.function.tool.dsp');
    expectScope(25, 'module', 'storage.type.module.dsp');
    expectScope(25, 'Answer', 'entity.name.function.module.dsp');
    expectScope(40, 'metric', 'storage.type.metric.dsp');
    expectScope(40, 'score', 'entity.name.function.metric.dsp');
    expectScope(46, 'data', 'storage.type.data.dsp');
    expectScope(46, 'train', 'entity.name.variable.data.dsp');
    expectScope(49, 'optimize', 'storage.type.optimize.dsp');
    expectScope(49, 'with', 'keyword.other.with.dsp');
});

test('signatures: in/out, field names, types, generics and inline enums', () => {
    expectScope(13, 'in', 'storage.modifier.in.dsp');
    expectScope(13, 'text', 'variable.other.member.dsp');
    expectScope(13, 'string', 'storage.type.primitive.dsp');
    expectScope(13, 'The ticket', 'string.quoted.double.dsp');
    expectScope(14, 'optional', 'storage.type.generic.dsp');
    expectScope(14, '<', 'punctuation.definition.generic.begin.dsp');
    expectScope(14, '>', 'punctuation.definition.generic.end.dsp');
    expectScope(15, 'out', 'storage.modifier.out.dsp');
    expectScope(15, 'Level', 'entity.name.type.dsp');
    expectScope(16, 'list', 'storage.type.generic.dsp', 1);
    expectScope(16, '>', 'punctuation.definition.generic.end.dsp', 1);
    expectScope(17, 'enum', 'storage.type.enum.dsp');
    expectScope(17, 'angry', 'variable.other.enummember.dsp');
    expectScope(18, 'out', 'storage.modifier.out.dsp', 2);
    expectScope(18, 'spam', 'variable.other.member.dsp');
    for (const [ty, nth] of [['float', 0], ['int', 0], ['bool', 0]]) expectScope(18, ty, 'storage.type.primitive.dsp', nth);
    expectScope(19, '}', 'punctuation.section.block.end.dsp');
});

test('tools: C types, pointers, parameters, from and header', () => {
    expectScope(21, 'char', 'storage.type.c.dsp');
    expectScope(21, '*', 'storage.modifier.pointer.dsp');
    expectScope(21, 'const', 'storage.modifier.c.dsp');
    expectScope(21, 'query', 'variable.parameter.dsp');
    expectScope(21, 'long', 'storage.type.c.dsp');
    expectScope(21, 'k', 'variable.parameter.dsp');
    expectScope(21, 'from', 'keyword.control.from.dsp');
    expectScope(22, 'void', 'storage.type.c.dsp');
    expectScope(22, 'rouge_l', 'entity.name.function.tool.dsp');
    expectScope(23, 'header', 'keyword.other.header.dsp');
    expectScope(23, 'tools.h', 'string.quoted.double.dsp');
});

test('modules: parameters, strategies, calls, arguments, control flow', () => {
    expectScope(25, 'text', 'variable.parameter.dsp');
    expectScope(25, '->', 'keyword.operator.arrow.dsp');
    expectScope(25, 'b', 'variable.other.enummember.dsp');
    expectScope(25, 'answer', 'variable.parameter.dsp');
    expectScope(26, 'c', 'variable.other.assignment.dsp');
    expectScope(26, '=', 'keyword.operator.assignment.dsp');
    expectScope(26, 'predict', 'support.function.strategy.dsp');
    expectScope(26, 'Triage', 'entity.name.type.signature.dsp');
    expectScope(26, 'text', 'variable.parameter.argument.dsp');
    expectScope(27, 'if', 'keyword.control.conditional.dsp');
    expectScope(27, '==', 'keyword.operator.comparison.dsp');
    expectScope(27, 'level', 'variable.other.member.dsp');
    expectScope(28, 'chain_of_thought', 'support.function.strategy.dsp');
    expectScope(29, 'else', 'keyword.control.conditional.dsp');
    expectScope(29, '!=', 'keyword.operator.comparison.dsp');
    expectScope(32, 'repeat', 'keyword.control.loop.dsp');
    expectScope(33, 'true', 'constant.language.boolean.dsp');
    expectScope(36, 'retrieve', 'entity.name.function.dsp');
    expectScope(37, 'return', 'keyword.control.return.dsp');
    expectScope(38, '}', 'punctuation.section.block.end.dsp');
    // The module's region ends with its body: the next line is top level.
    assert.deepEqual(tok(fixture, 40, 'metric').scopes, ['source.dsp', 'meta.declaration.metric.dsp', 'storage.type.metric.dsp']);
});

test('metrics: builtins, operators, membership, judge, lm argument', () => {
    expectScope(40, 'ex', 'variable.parameter.dsp');
    expectScope(40, 'pred', 'variable.parameter.dsp');
    expectScope(41, 'f1', 'support.function.builtin.dsp');
    expectScope(41, '*', 'keyword.operator.arithmetic.dsp');
    expectScope(41, '+', 'keyword.operator.arithmetic.dsp');
    expectScope(41, '/', 'keyword.operator.arithmetic.dsp');
    expectScope(42, 'len', 'support.function.builtin.dsp');
    expectScope(42, '>=', 'keyword.operator.comparison.dsp');
    expectScope(42, 'approx', 'support.function.builtin.dsp');
    expectScope(43, 'or', 'keyword.operator.logical.dsp');
    expectScope(43, 'not', 'keyword.operator.logical.dsp');
    expectScope(43, 'in', 'keyword.operator.in.dsp');
    expectScope(43, 'and', 'keyword.operator.logical.dsp');
    expectScope(43, '[', 'punctuation.section.brackets.begin.dsp');
    expectScope(43, '<=', 'keyword.operator.comparison.dsp');
    expectScope(44, 'judge', 'support.function.builtin.dsp');
    expectScope(44, 'lm', 'variable.parameter.argument.dsp');
    expectScope(44, 'spam', 'variable.other.member.dsp');
    // `<` and `>` compare in a metric, they are not generic brackets.
    const r = tokenize(grammar, 'metric m(ex, pred) = (pred.a < 1) > ex.b');
    assert.equal(tok(r, 1, '<').scopes.at(-1), 'keyword.operator.comparison.dsp');
    assert.equal(tok(r, 1, '>').scopes.at(-1), 'keyword.operator.comparison.dsp');
});

test('options and data: keys, mappings, formats, optimizers', () => {
    expectScope(7, 'temperature', 'support.type.property-name.dsp');
    expectScope(7, 'false', 'constant.language.boolean.dsp');
    expectScope(46, 'jsonl', 'support.function.data-format.dsp');
    expectScope(46, 'text', 'variable.other.column.dsp');
    expectScope(46, '->', 'keyword.operator.arrow.dsp');
    expectScope(46, 'level', 'variable.other.member.dsp');
    expectScope(46, 'Ticket Level', 'string.quoted.double.dsp');
    // A mapping's declared type is a type, not a key.
    expectScope(46, 'refs', 'variable.other.member.dsp');
    expectScope(46, 'list', 'storage.type.generic.dsp');
    expectScope(46, 'string', 'storage.type.primitive.dsp');
    expectScope(47, 'csv', 'support.function.data-format.dsp');
    expectScope(49, 'mipro', 'support.function.optimizer.dsp');
    expectScope(49, 'auto', 'support.type.property-name.dsp');
    // lm, data and metric are keys inside a block, not declarations.
    expectScope(50, 'metric', 'support.type.property-name.dsp');
    expectScope(51, 'lm', 'support.type.property-name.dsp');
    expectScope(51, 'data', 'support.type.property-name.dsp');
});

test('a missing closing brace does not swallow the declarations after it', () => {
    const text = [
        'signature S {',
        '  in a: string',
        'module M(a: string) -> (b: string) {',
        '  r = predict(S)(a: a)',
        '  return r',
        '',
        'metric m(ex, pred) = exact_match(pred.b, ex.b)',
        'enum E { x, y',
        'data d = jsonl("d.jsonl")',
    ].join('\n');
    const r = tokenize(grammar, text);
    assert.equal(tok(r, 3, 'module').scopes.at(-1), 'storage.type.module.dsp');
    assert.equal(tok(r, 3, 'M').scopes.at(-1), 'entity.name.function.module.dsp');
    assert.equal(tok(r, 7, 'metric').scopes.at(-1), 'storage.type.metric.dsp');
    assert.equal(tok(r, 9, 'data').scopes.at(-1), 'storage.type.data.dsp');
    assert.equal(tok(r, 9, 'd').scopes.at(-1), 'entity.name.variable.data.dsp');
    assert.ok(r.endState.depth === 1, 'a region is still open at the end');
});

test('hostile input: bad programs and random bytes tokenize quickly', () => {
    const dir = path.join(root, 'tests/bad');
    const files = readdirSync(dir).filter((f) => f.endsWith('.dsp'));
    assert.ok(files.length > 10, `only ${files.length} files in tests/bad`);
    const start = Date.now();
    for (const f of files) {
        const r = tokenize(grammar, readFileSync(path.join(dir, f), 'latin1'));
        assert.equal(r.stoppedEarly, false, `tests/bad/${f}: tokenizing stopped early`);
    }
    // Stray characters are marked, as the lexer rejects them.
    const r = tokenize(grammar, 'enum E { a; b }\nlm x = "a" @');
    assert.equal(tok(r, 1, ';').scopes.at(-1), 'invalid.illegal.character.dsp');
    assert.equal(tok(r, 2, '@').scopes.at(-1), 'invalid.illegal.character.dsp');
    // Random bytes (a fixed seed, so a failure can be replayed).
    let seed = 12345;
    const bytes = Array.from({ length: 20000 }, () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return String.fromCharCode(seed >> 16 & 0xff);
    }).join('');
    assert.equal(tokenize(grammar, bytes).stoppedEarly, false, 'random bytes: tokenizing stopped early');
    // Deep nesting and a long line stay fast (no catastrophic backtracking).
    const deep = 'metric m(ex, pred) = ' + '('.repeat(5000) + '1' + ')'.repeat(5000);
    const long = 'signature S "' + 'x\\"'.repeat(20000) + '" { out a: ' + 'list<'.repeat(2000) + 'int' + '>'.repeat(2000) + ' }';
    tokenize(grammar, deep + '\n' + long);
    assert.ok(Date.now() - start < 20000, `took ${Date.now() - start} ms`);
});
