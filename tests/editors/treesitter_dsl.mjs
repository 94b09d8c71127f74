// treesitter_dsl.mjs — evaluates editors/tree-sitter-dsp/grammar.js with a
// stand-in for the tree-sitter DSL (grammar, seq, choice, ...), so its rules
// can be inspected without the tree-sitter CLI, which cannot be installed
// here. Returns the rules as trees of { type, ... } nodes.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const node = (type, extra) => ({ type, ...extra });
// Regexes come from the grammar's own context, so instanceof RegExp fails.
const wrap = (x) => (typeof x === 'string' ? node('STRING', { value: x })
    : Object.prototype.toString.call(x) === '[object RegExp]' ? node('PATTERN', { value: x.source }) : x);

function dsl() {
    const prec = (n, r) => node('PREC', { value: n, content: wrap(r) });
    prec.left = (n, r) => node('PREC_LEFT', { value: r === undefined ? 0 : n, content: wrap(r === undefined ? n : r) });
    prec.right = (n, r) => node('PREC_RIGHT', { value: r === undefined ? 0 : n, content: wrap(r === undefined ? n : r) });
    prec.dynamic = (n, r) => node('PREC_DYNAMIC', { value: n, content: wrap(r) });
    const token = (r) => node('TOKEN', { content: wrap(r) });
    token.immediate = (r) => node('IMMEDIATE_TOKEN', { content: wrap(r) });
    return {
        seq: (...m) => node('SEQ', { members: m.map(wrap) }),
        choice: (...m) => node('CHOICE', { members: m.map(wrap) }),
        repeat: (r) => node('REPEAT', { content: wrap(r) }),
        repeat1: (r) => node('REPEAT1', { content: wrap(r) }),
        optional: (r) => node('CHOICE', { members: [wrap(r), node('BLANK')] }),
        blank: () => node('BLANK'),
        field: (name, r) => node('FIELD', { name, content: wrap(r) }),
        alias: (r, v) => node('ALIAS', { content: wrap(r), named: typeof v !== 'string', value: typeof v === 'string' ? v : v.name }),
        prec,
        token,
    };
}

export function loadTreeSitterGrammar(file) {
    const src = readFileSync(file, 'utf8');
    const $ = new Proxy({}, { get: (_, name) => node('SYMBOL', { name: String(name) }) });
    let result = null;
    const ctx = {
        ...dsl(),
        module: { exports: {} },
        grammar: (def) => {
            const rules = {};
            for (const [name, fn] of Object.entries(def.rules)) rules[name] = wrap(fn($));
            result = {
                name: def.name,
                rules,
                extras: (def.extras ? def.extras($) : []).map(wrap),
                word: def.word ? def.word($).name : null,
                conflicts: def.conflicts ? def.conflicts($) : [],
            };
            return result;
        },
    };
    vm.runInNewContext(src, ctx, { filename: file });
    if (!result) throw new Error(`${file} does not call grammar()`);
    return result;
}

// Walks every node under a rule tree.
export function* walk(n) {
    yield n;
    if (n.members) for (const m of n.members) yield* walk(m);
    if (n.content) yield* walk(n.content);
}
