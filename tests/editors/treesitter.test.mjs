// treesitter.test.mjs — editors/tree-sitter-dsp without the tree-sitter CLI
// (which cannot be installed here): grammar.js is evaluated with a stand-in
// for the DSL (treesitter_dsl.mjs), its rules are checked for consistency
// with themselves, with queries/highlights.scm and with grammar/parser.y,
// and an Earley recognizer built from the same rules must accept every
// program dspcc parses and reject the syntax errors of tests/bad/. Earley
// accepts any context-free grammar, so this checks the language grammar.js
// describes, not the LR conflicts `tree-sitter generate` might report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { root } from './tmgrammar.mjs';
import { loadTreeSitterGrammar, walk } from './treesitter_dsl.mjs';

const dir = path.join(root, 'editors/tree-sitter-dsp');
const g = loadTreeSitterGrammar(path.join(dir, 'grammar.js'));
const read = (rel) => readFileSync(path.join(root, rel), 'utf8');

// ---- Terminals -----------------------------------------------------------

// Rules that are tokens: built of strings and patterns only.
function isTokenRule(name) {
    const r = g.rules[name];
    if (!r) return false;
    let hasPattern = false;
    for (const n of walk(r)) {
        if (n.type === 'SYMBOL') return false;
        if (n.type === 'PATTERN') hasPattern = true;
    }
    return hasPattern;
}

function toRegex(n) {
    switch (n.type) {
    case 'STRING': return n.value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    case 'PATTERN': return `(?:${n.value})`;
    case 'SEQ': return n.members.map(toRegex).join('');
    case 'CHOICE': return `(?:${n.members.map((m) => (m.type === 'BLANK' ? '' : toRegex(m))).join('|')})`;
    case 'REPEAT': return `(?:${toRegex(n.content)})*`;
    case 'REPEAT1': return `(?:${toRegex(n.content)})+`;
    case 'TOKEN': case 'IMMEDIATE_TOKEN': case 'PREC': case 'PREC_LEFT': case 'PREC_RIGHT': case 'PREC_DYNAMIC':
        return toRegex(n.content);
    default: throw new Error(`cannot make a regex of ${n.type}`);
    }
}

const tokenRegex = {};
for (const name of Object.keys(g.rules)) if (isTokenRule(name)) tokenRegex[name] = new RegExp(toRegex(g.rules[name]), 'y');

const literals = new Set();
for (const r of Object.values(g.rules)) for (const n of walk(r)) if (n.type === 'STRING') literals.add(n.value);
const punct = [...literals].filter((s) => !/^[A-Za-z_]/.test(s) && s !== '"').sort((a, b) => b.length - a.length);

// A lexer made of grammar.js's own token rules: white space and comments are
// extras; inside a string only string_content and escape_sequence.
function lex(text) {
    const toks = [];
    let i = 0;
    const at = (re) => { re.lastIndex = i; const m = re.exec(text); return m && m.index === i ? m[0] : null; };
    while (i < text.length) {
        const ws = at(/\s+/y);
        if (ws) { i += ws.length; continue; }
        const c = tokenRegex.comment && at(tokenRegex.comment);
        if (c) { i += c.length; continue; }
        if (text[i] === '"') {
            toks.push({ kind: 'str', text: '"', at: i });
            i++;
            for (;;) {
                if (i >= text.length || text[i] === '\n') return { error: `unterminated string at ${i}` };
                if (text[i] === '"') { toks.push({ kind: 'str', text: '"', at: i }); i++; break; }
                const e = at(tokenRegex.escape_sequence);
                if (e) { toks.push({ kind: 'escape_sequence', text: e, at: i }); i += e.length; continue; }
                const s = at(tokenRegex.string_content);
                if (s) { toks.push({ kind: 'string_content', text: s, at: i }); i += s.length; continue; }
                return { error: `bad escape at ${i}` };
            }
            continue;
        }
        // Longest of the number and name tokens, then punctuation.
        let best = null;
        for (const kind of ['float', 'integer', 'identifier']) {
            const m = at(tokenRegex[kind]);
            if (m && (!best || m.length > best.text.length)) best = { kind, text: m, at: i };
        }
        const p = punct.find((s) => text.startsWith(s, i));
        if (best && (!p || best.text.length >= p.length)) { toks.push(best); i += best.text.length; continue; }
        if (p) { toks.push({ kind: 'str', text: p, at: i }); i += p.length; continue; }
        return { error: `unexpected ${JSON.stringify(text[i])} at ${i}` };
    }
    return { toks };
}

// ---- The rules as BNF, and an Earley recognizer --------------------------

const prods = new Map();   // nonterminal -> [[symbol]]
let fresh = 0;
function newNT(alts) { const name = `#${fresh++}`; prods.set(name, alts); return { t: 'nt', name }; }
function conv(n) {
    switch (n.type) {
    case 'SYMBOL':
        if (!g.rules[n.name]) throw new Error(`unknown rule $.${n.name}`);
        return isTokenRule(n.name) ? { t: 'tok', name: n.name } : { t: 'nt', name: n.name };
    case 'STRING': return { t: 'str', value: n.value };
    case 'BLANK': return newNT([[]]);
    case 'SEQ': return newNT([n.members.map(conv)]);
    case 'CHOICE': return newNT(n.members.map((m) => (m.type === 'BLANK' ? [] : [conv(m)])));
    case 'REPEAT': { const x = conv(n.content); const r = newNT([[]]); prods.get(r.name).push([r, x]); return r; }
    case 'REPEAT1': { const x = conv(n.content); const r = newNT([[x]]); prods.get(r.name).push([r, x]); return r; }
    case 'FIELD': case 'ALIAS': case 'TOKEN': case 'IMMEDIATE_TOKEN':
    case 'PREC': case 'PREC_LEFT': case 'PREC_RIGHT': case 'PREC_DYNAMIC':
        return conv(n.content);
    default: throw new Error(`rule node ${n.type} not handled`);
    }
}
for (const [name, r] of Object.entries(g.rules)) if (!isTokenRule(name)) prods.set(name, [[conv(r)]]);

const nullable = new Set();
for (let changed = true; changed;) {
    changed = false;
    for (const [nt, alts] of prods)
        if (!nullable.has(nt) && alts.some((a) => a.every((s) => s.t === 'nt' && nullable.has(s.name)))) {
            nullable.add(nt);
            changed = true;
        }
}

function matches(sym, tok) {
    if (sym.t === 'str') return (tok.kind === 'str' || tok.kind === 'identifier') && tok.text === sym.value;
    return tok.kind === sym.name;
}

// True when the tokens derive `start`. Keywords are contextual, as with
// tree-sitter's keyword extraction: a word matches a literal or identifier.
function recognize(toks, start = 'source_file') {
    const chart = Array.from({ length: toks.length + 1 }, () => ({ items: [], keys: new Set() }));
    // A bound on the work, so a grammar that went ambiguous fails the test
    // instead of running for hours.
    let budget = 2000000;
    const add = (i, it) => {
        const k = `${it.nt}|${it.p}|${it.dot}|${it.origin}`;
        if (!chart[i].keys.has(k)) {
            if (--budget < 0) throw new Error('the recognizer gave up: over 2M items (is grammar.js ambiguous?)');
            chart[i].keys.add(k);
            chart[i].items.push(it);
        }
    };
    prods.get(start).forEach((_, p) => add(0, { nt: start, p, dot: 0, origin: 0 }));
    for (let i = 0; i <= toks.length; i++) {
        const set = chart[i].items;
        for (let j = 0; j < set.length; j++) {
            const it = set[j];
            const rhs = prods.get(it.nt)[it.p];
            if (it.dot < rhs.length) {
                const s = rhs[it.dot];
                if (s.t === 'nt') {
                    prods.get(s.name).forEach((_, p) => add(i, { nt: s.name, p, dot: 0, origin: i }));
                    if (nullable.has(s.name)) add(i, { ...it, dot: it.dot + 1 });
                } else if (i < toks.length && matches(s, toks[i])) {
                    add(i + 1, { ...it, dot: it.dot + 1 });
                }
            } else {
                for (const w of chart[it.origin].items) {
                    const r = prods.get(w.nt)[w.p];
                    if (w.dot < r.length && r[w.dot].t === 'nt' && r[w.dot].name === it.nt) add(i, { ...w, dot: w.dot + 1 });
                }
            }
        }
        if (i < toks.length && chart[i + 1].items.length === 0)
            return { ok: false, at: toks[i] };
    }
    const ok = chart[toks.length].items.some((it) => it.nt === start && it.origin === 0 && it.dot === prods.get(start)[it.p].length);
    return { ok, at: ok ? null : { text: 'end of file' } };
}

function parseFile(file) {
    const text = readFileSync(file, 'latin1');
    const l = lex(text);
    if (l.error) return { ok: false, why: l.error };
    const r = recognize(l.toks);
    if (r.ok) return { ok: true };
    const line = r.at && r.at.at !== undefined ? text.slice(0, r.at.at).split('\n').length : '?';
    return { ok: false, why: `stuck at ${JSON.stringify(r.at.text)} (line ${line})` };
}

// ---- Tests ---------------------------------------------------------------

test('tree-sitter: every rule grammar.js names exists and every rule is used', () => {
    assert.equal(g.name, 'dsp');
    assert.equal(g.word, 'identifier');
    const used = new Set(['source_file', g.word]);
    for (const e of g.extras) for (const n of walk(e)) if (n.type === 'SYMBOL') used.add(n.name);
    for (const [name, r] of Object.entries(g.rules))
        for (const n of walk(r))
            if (n.type === 'SYMBOL') {
                assert.ok(g.rules[n.name], `rule ${name} names $.${n.name}, which is not defined`);
                used.add(n.name);
            }
    assert.deepEqual(Object.keys(g.rules).filter((r) => !used.has(r)), [], 'rules nothing uses');
});

test('tree-sitter: the tokens agree with grammar/lexer.l on samples', () => {
    const full = (name, s) => { const re = new RegExp(`^(?:${toRegex(g.rules[name])})$`); return re.test(s); };
    for (const s of ['a', '_x1', 'chain_of_thought', 'Z']) assert.ok(full('identifier', s), `identifier ${s}`);
    for (const s of ['1a', 'é']) assert.ok(!full('identifier', s), `not an identifier: ${s}`);
    for (const s of ['0', '42']) assert.ok(full('integer', s), `integer ${s}`);
    for (const s of ['0.25', '1e3', '2.5e-1', '1E+9']) assert.ok(full('float', s), `float ${s}`);
    for (const s of ['1.', '.5', '1e', '-1']) assert.ok(!full('float', s), `not a float: ${s}`);
    for (const s of ['// x', '/* a\n * b */', '/**/', '/* ** */']) assert.ok(full('comment', s), `comment ${JSON.stringify(s)}`);
    for (const s of ['/* a */ b */', '/* open']) assert.ok(!full('comment', s), `not one comment: ${s}`);
    for (const s of ['\\n', '\\t', '\\"', '\\\\']) assert.ok(full('escape_sequence', s), `escape ${s}`);
    assert.ok(!full('escape_sequence', '\\q'));
});

test('tree-sitter: grammar.js has every declaration and operator of parser.y', () => {
    const y = read('grammar/parser.y');
    const rulesPart = y.split('\n%%\n')[1];
    assert.ok(rulesPart, 'cannot find the rules section of grammar/parser.y');
    const decl = /^decl:\s*(.*?);/m.exec(rulesPart);
    assert.ok(decl, 'no decl: rule in parser.y');
    for (const d of decl[1].split('|').map((s) => s.trim().replace(/_decl$/, '')))
        assert.ok(g.rules[`${d}_declaration`], `parser.y declares ${d}; grammar.js has no ${d}_declaration`);
    // Character tokens ('{', '<', ...) and named operator tokens ("->", ...).
    const chars = new Set([...rulesPart.replace(/\{[^{}]*(\{[^{}]*\}[^{}]*)*\}/g, '').matchAll(/'(.)'/g)].map((m) => m[1]));
    const named = [...y.matchAll(/%token\s+([^\n]*)/g)].flatMap((m) => [...m[1].matchAll(/"([^"A-Za-z]+)"/g)].map((x) => x[1]));
    assert.ok(chars.size >= 10 && named.length >= 5, `parsed ${chars.size} character tokens, ${named.length} operators`);
    for (const t of [...chars, ...named]) assert.ok(literals.has(t), `parser.y token ${t} missing from grammar.js`);
});

test('tree-sitter: highlights.scm names only nodes, fields and literals of grammar.js', () => {
    const scm = read('editors/tree-sitter-dsp/queries/highlights.scm').replace(/;.*$/gm, '');
    // Balanced brackets outside strings.
    let depth = 0;
    for (const ch of scm.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
        if (ch === '(' || ch === '[') depth++;
        if (ch === ')' || ch === ']') depth--;
        assert.ok(depth >= 0, 'unbalanced brackets in highlights.scm');
    }
    assert.equal(depth, 0, 'unbalanced brackets in highlights.scm');
    const named = new Set(Object.keys(g.rules).filter((r) => !r.startsWith('_')));
    const fields = new Set();
    for (const r of Object.values(g.rules))
        for (const n of walk(r)) {
            if (n.type === 'ALIAS' && n.named) named.add(n.value);
            if (n.type === 'FIELD') fields.add(n.name);
        }
    const noStrings = scm.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const m of noStrings.matchAll(/\(\s*([A-Za-z_][A-Za-z0-9_]*)/g))
        assert.ok(named.has(m[1]), `highlights.scm: (${m[1]}) is not a node of grammar.js`);
    for (const m of noStrings.matchAll(/([A-Za-z_][A-Za-z0-9_]*):/g))
        assert.ok(fields.has(m[1]), `highlights.scm: field ${m[1]}: is not a field of grammar.js`);
    for (const m of scm.replace(/\(#[^)]*\)/g, '').matchAll(/"((?:[^"\\]|\\.)*)"/g))
        assert.ok(literals.has(m[1].replace(/\\(.)/g, '$1')), `highlights.scm: "${m[1]}" is not a literal of grammar.js`);
});

test('tree-sitter: grammar.js accepts the examples, the fixture and every program dspcc parses', () => {
    const files = [
        ...['extract/extract.dsp', 'multihop/multihop.dsp', 'tickets/tickets.dsp'].map((f) => `examples/${f}`),
        'tests/editors/fixture.dsp',
        'tests/compiler/fixtures/codegen/flow.dsp',
        'tests/compiler/fixtures/header_tool/ok.dsp',
        // Errors after parsing (types, names, data) and limits that are not
        // grammar (nesting depth, bytes inside strings).
        ...readdirSync(path.join(root, 'tests/bad'))
            .filter((f) => f.endsWith('.dsp') && (!/^syntax_|^binary_/.test(f) || /too_deep|invalid_utf8/.test(f)))
            .map((f) => `tests/bad/${f}`),
    ];
    assert.ok(files.length > 40, `only ${files.length} programs`);
    const failed = [];
    for (const f of files) {
        let r;
        try { r = parseFile(path.join(root, f)); } catch (e) { r = { ok: false, why: e.message }; }
        if (!r.ok) failed.push(`${f}: ${r.why}`);
    }
    assert.deepEqual(failed, []);
});

test('tree-sitter: grammar.js rejects the syntax errors of tests/bad', () => {
    const bad = readdirSync(path.join(root, 'tests/bad'))
        .filter((f) => /^syntax_|^binary_/.test(f) && f.endsWith('.dsp') && !/too_deep|invalid_utf8/.test(f));
    assert.ok(bad.length >= 6, `only ${bad.length} syntax error programs`);
    for (const f of bad) assert.equal(parseFile(path.join(root, 'tests/bad', f)).ok, false, `tests/bad/${f} was accepted`);
    // And small ones that the lexer accepts but bison does not.
    const cases = {
        'metric without body': 'metric m(ex, pred) =',
        'module without arrow': 'module M(a: string) (b: string) { return (b: a) }',
        'repeat without count': 'module M(a: string) -> (b: string) { repeat { x = f() } return x }',
        'unbound call argument': 'module M(a: string) -> (b: string) { x = f(a) return x }',
        'enum without values': 'enum E { }',
        'tool without from': 'tool char *f(const char *a)',
    };
    for (const [what, src] of Object.entries(cases)) {
        const l = lex(src);
        assert.ok(!l.error, `${what}: ${l.error}`);
        assert.equal(recognize(l.toks).ok, false, `${what} was accepted: ${src}`);
    }
});
