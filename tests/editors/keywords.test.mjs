// keywords.test.mjs — every reserved word of grammar/lexer.l (the source of
// truth) appears in each editor grammar: the TextMate grammar, the Vim
// syntax, the tree-sitter grammar.js (as a terminal of its rules) and the
// tree-sitter highlight queries (as a "literal"). A keyword added to the
// lexer fails this test until every editor file knows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lexerKeywords, stdlibOptimizers } from './keywords.mjs';
import { root } from './tmgrammar.mjs';
import { loadTreeSitterGrammar, walk } from './treesitter_dsl.mjs';

const keywords = lexerKeywords();
const read = (rel) => readFileSync(path.join(root, rel), 'utf8');

test('keywords: grammar/lexer.l yields the reserved words of docs/language.md', () => {
    // The list docs/language.md gives; the lexer is the authority, this only
    // proves the extraction works (a broken regex would find nothing).
    for (const w of ['import', 'lm', 'signature', 'module', 'metric', 'optimize', 'in', 'not'])
        assert.ok(keywords.includes(w), `${w} not extracted from grammar/lexer.l`);
    assert.ok(keywords.length >= 22, `only ${keywords.length} keywords extracted`);
    assert.equal(new Set(keywords).size, keywords.length);
});

test('keywords: each is in a regex of editors/dsp.tmLanguage.json', () => {
    const regexes = [];
    const visit = (n) => {
        if (Array.isArray(n)) n.forEach(visit);
        else if (n && typeof n === 'object')
            for (const [k, v] of Object.entries(n))
                if (['match', 'begin', 'end'].includes(k) && typeof v === 'string') regexes.push(v);
                else visit(v);
    };
    visit(JSON.parse(read('editors/dsp.tmLanguage.json')));
    const missing = keywords.filter((w) => !regexes.some((re) => new RegExp(`(^|[^A-Za-z0-9_])${w}([^A-Za-z0-9_]|$)`).test(re)));
    assert.deepEqual(missing, []);
});

test('keywords: each is in a syn item of editors/vim/syntax/dsp.vim', () => {
    const syn = read('editors/vim/syntax/dsp.vim').split('\n').filter((l) => /^\s*syn\s+(keyword|match|region)\b/.test(l));
    const missing = keywords.filter((w) => !syn.some((l) => new RegExp(`(^|[^A-Za-z0-9_])${w}([^A-Za-z0-9_]|$)`).test(l)));
    assert.deepEqual(missing, []);
});

test('keywords: each is a terminal of editors/tree-sitter-dsp/grammar.js', () => {
    const g = loadTreeSitterGrammar(path.join(root, 'editors/tree-sitter-dsp/grammar.js'));
    const strings = new Set();
    for (const r of Object.values(g.rules))
        for (const n of walk(r)) if (n.type === 'STRING') strings.add(n.value);
    assert.deepEqual(keywords.filter((w) => !strings.has(w)), []);
});

test('keywords: each is captured by editors/tree-sitter-dsp/queries/highlights.scm', () => {
    // As a "literal", or as (node) when grammar.js makes the word a named
    // node of its own (true: $ => 'true').
    const g = loadTreeSitterGrammar(path.join(root, 'editors/tree-sitter-dsp/grammar.js'));
    const scm = read('editors/tree-sitter-dsp/queries/highlights.scm').replace(/;.*$/gm, '');
    const captured = (w) => scm.includes(`"${w}"`) ||
        (scm.includes(`(${w})`) && g.rules[w] && g.rules[w].type === 'STRING' && g.rules[w].value === w);
    assert.deepEqual(keywords.filter((w) => !captured(w)), []);
});

test('optimizers: each of stdlib/optimizers.c is highlighted by the TextMate, Sublime and Vim grammars', () => {
    const names = stdlibOptimizers();
    for (const w of ['labeled_fewshot', 'mipro', 'copro'])
        assert.ok(names.includes(w), `${w} not extracted from stdlib/optimizers.c`);
    const word = (w) => new RegExp(`(^|[^A-Za-z0-9_])${w}([^A-Za-z0-9_]|$)`);
    const tm = read('editors/dsp.tmLanguage.json');
    const sublime = read('editors/sublime/DSP.tmLanguage');
    const vim = read('editors/vim/syntax/dsp.vim').split('\n').filter((l) => /dspOptimizer/.test(l)).join('\n');
    assert.deepEqual(names.filter((w) => !word(w).test(tm)), [], 'missing in editors/dsp.tmLanguage.json');
    assert.deepEqual(names.filter((w) => !word(w).test(sublime)), [], 'missing in editors/sublime/DSP.tmLanguage');
    assert.deepEqual(names.filter((w) => !word(w).test(vim)), [], 'missing in editors/vim/syntax/dsp.vim');
});
